import numpy as np
import pytest

from fastnn.gradcheck import check_gradients
from fastnn.model import mlp


@pytest.mark.parametrize("hidden", ["sigmoid", "tanh", "relu"])
def test_incremental_equals_naive(rng, hidden):
    model = mlp([30, 12, 7], hidden=hidden, dtype=np.float64, rng=rng)
    X, y = rng.random((9, 30)), rng.integers(0, 7, 9)
    fast = check_gradients(model, X, y, method="incremental")
    slow = check_gradients(model, X, y, method="naive")
    assert fast.params_checked == slow.params_checked == model.n_params
    for f, s in zip(fast.tensors, slow.tensors):
        assert f.name == s.name
        assert f.rel_error < 1e-7 and s.rel_error < 1e-6


def test_incremental_numbers_equal_naive_numbers(rng):
    """Same central differences: the numeric gradients agree to the naive path's rounding noise."""
    from fastnn import gradcheck as gc
    model = mlp([10, 5, 4], dtype=np.float64, rng=rng)
    X, y = rng.random((6, 10)), rng.integers(0, 4, 6)
    m64 = gc._float64_copy(model)
    Y = np.eye(4)[y]
    inc = np.concatenate([a.ravel() for a in gc._incremental(m64, X, Y, 1e-6)])
    naive = gc._naive_numeric(m64.flat, m64.sizes, m64.acts, m64.loss_code, X, Y,
                              np.arange(m64.n_params, dtype=np.int64), 1e-6)
    np.testing.assert_allclose(inc, naive, atol=1e-8)


def test_spec_network_passes_at_float64(rng):
    model = mlp([1024, 64, 36], dtype=np.float64, rng=rng)
    X, y = rng.random((32, 1024)), rng.integers(0, 36, 32)
    res = check_gradients(model, X, y)
    assert res.method == "incremental" and res.params_checked == 67940
    assert res.max_rel_error <= 1e-6
    assert "layer1.W" in res.table()


def test_checker_catches_a_wrong_gradient(rng, monkeypatch):
    model = mlp([8, 5, 3], dtype=np.float64, rng=rng)
    X, y = rng.random((4, 8)), rng.integers(0, 3, 4)
    real = type(model).loss_and_grads

    def broken(self, X, Y):
        loss, g = real(self, X, Y)
        g[3] *= 1.5
        return loss, g
    monkeypatch.setattr(type(model), "loss_and_grads", broken)
    res = check_gradients(model, X, y)
    assert res.tensors[0].rel_error > 1e-3 and res.tensors[0].worst_index == (0, 3)


def test_directional_and_generic_paths(rng):
    model = mlp([6, 5, 4, 3], hidden="tanh", output="sigmoid", loss="squared_error",
                dtype=np.float64, rng=rng)
    X, Y = rng.random((5, 6)), rng.random((5, 3))
    assert check_gradients(model, X, Y).method == "naive"
    assert check_gradients(model, X, Y).max_rel_error < 1e-6
    res = check_gradients(model, X, Y, method="directional", n_directions=4)
    assert len(res.directional) == 4 and res.max_rel_error < 1e-6
    with pytest.raises(ValueError, match="incremental path needs"):
        check_gradients(model, X, Y, method="incremental")


def test_subset_mode_checks_fewer(rng):
    model = mlp([20, 10, 4], dtype=np.float64, rng=rng)
    res = check_gradients(model, rng.random((3, 20)), np.array([0, 1, 2]), method="naive", subset=5)
    assert [t.checked for t in res.tensors] == [5, 5, 5, 4]
