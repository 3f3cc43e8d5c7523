import numpy as np
import pytest

from fastnn import kernels
from tests import reference as ref

ACTS = ["identity", "sigmoid", "tanh", "relu"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ACTS + ["softmax"])
def test_dense_forward_matches_reference(rng, dtype, name):
    X = rng.standard_normal((5, 7)).astype(dtype)
    W = rng.standard_normal((7, 4)).astype(dtype)
    b = rng.standard_normal(4).astype(dtype)
    got = kernels.dense_forward(X, W, b, name)
    assert got.dtype == dtype
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, ref.dense_forward(X, W, b, name), rtol=tol, atol=tol)


@pytest.mark.parametrize("name", ACTS)
def test_dense_backward_matches_reference(rng, name):
    X = rng.standard_normal((6, 5))
    W = rng.standard_normal((5, 3))
    b = rng.standard_normal(3)
    A = kernels.dense_forward(X, W, b, name)
    G = rng.standard_normal(A.shape)
    gW, gb, gX = kernels.dense_backward(X, W, A, G, name)
    rW, rb, rX = ref.dense_backward(X, W, A, G, name)
    for got, want in ((gW, rW), (gb, rb), (gX, rX)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_backward_can_skip_input_gradient(rng):
    X, W = rng.standard_normal((4, 3)), rng.standard_normal((3, 2))
    A = kernels.dense_forward(X, W, np.zeros(2), "relu")
    assert kernels.dense_backward(X, W, A, np.ones_like(A), "relu", need_grad_X=False)[2] is None


def test_softmax_is_stable_for_huge_logits():
    Z = np.array([[1000.0, 1001.0, 1002.0], [-1000.0, -1000.0, -1000.0]])
    P = kernels.softmax(Z)
    assert np.isfinite(P).all()
    np.testing.assert_allclose(P[0], ref.softmax(Z - 1000)[0], rtol=1e-12)
    np.testing.assert_allclose(P[1], [1 / 3] * 3, rtol=1e-12)


def test_sigmoid_saturates_without_overflow():
    out = kernels.activate(np.array([[-800.0, 800.0, 0.0]]), "sigmoid")
    np.testing.assert_allclose(out, [[0.0, 1.0, 0.5]], atol=1e-300)


@pytest.mark.parametrize("name", ACTS)
def test_activation_grad_from_output(rng, name):
    Z = rng.standard_normal((3, 4))
    A = kernels.activate(Z, name)
    want = np.vectorize(lambda a: ref.act_grad_from_output(a, name))(A)
    np.testing.assert_allclose(kernels.activation_grad(A, name), want, rtol=1e-12)


def test_cross_entropy_and_accuracy_hand_computed():
    P = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]])
    labels = np.array([0, 1])
    loss, delta = kernels.cross_entropy(P, labels)
    assert loss == pytest.approx(-np.log(0.7) - np.log(0.3), rel=1e-14)
    np.testing.assert_allclose(delta, [[-0.3, 0.2, 0.1], [0.1, -0.7, 0.6]], atol=1e-15)
    assert kernels.accuracy(P, labels) == 0.5
    assert kernels.accuracy(P, kernels.one_hot(labels, 3)) == 0.5
    assert loss == pytest.approx(ref.cross_entropy(P, kernels.one_hot(labels, 3, np.float64)))


def test_squared_error_hand_computed():
    loss, grad = kernels.squared_error(np.array([[1.0, 2.0]]), np.array([[0.0, 4.0]]))
    assert loss == 5.0
    np.testing.assert_array_equal(grad, [[2.0, -4.0]])


def test_xavier_uniform_variance(rng):
    W = kernels.xavier_uniform(400, 600, rng, np.float64)
    assert abs(W.var() - 2 / 1000) < 1e-4
    assert np.abs(W).max() <= np.sqrt(6 / 1000)


def test_bad_inputs_raise_clear_errors(rng):
    with pytest.raises(ValueError, match="shape mismatch"):
        kernels.dense_forward(np.ones((2, 3)), np.ones((4, 2)), np.ones(2))
    with pytest.raises(TypeError, match="float32 or float64"):
        kernels.dense_forward(np.ones((2, 3), int), np.ones((3, 2)), np.ones(2))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\)"):
        kernels.one_hot(np.array([0, 3]), 3)
    with pytest.raises(ValueError, match="unknown activation"):
        kernels.activate(np.ones((1, 1)), "swish")


def test_fast_exp_matches_numpy():
    from fastnn.kernels import _exp
    x = np.concatenate([np.linspace(-700, 700, 20001), np.random.default_rng(0).standard_normal(10000) * 5])
    got = np.array([_exp(v) for v in x])
    np.testing.assert_allclose(got, np.exp(x), rtol=4e-16 * 8)
    assert _exp(-1e6) < 1e-300 and np.isfinite(_exp(1e6)) and np.isnan(_exp(np.nan))


def test_fast_exp32_matches_float64_exp():
    from numba import njit

    from fastnn.kernels import _exp32

    @njit
    def exp_all(x):
        out = np.empty_like(x)
        for i in range(x.shape[0]):
            out[i] = _exp32(x[i])
        return out
    x = np.concatenate([np.linspace(-87, 88, 100001),
                        np.random.default_rng(0).standard_normal(10000) * 5]).astype(np.float32)
    got = exp_all(x)
    assert got.dtype == np.float32
    want = np.exp(x.astype(np.float64))
    assert np.max(np.abs(got - want) / want) < 2 * np.finfo(np.float32).eps
    edge = exp_all(np.array([-1e6, 1e6, np.nan], np.float32))
    assert edge[0] == 0 and np.isfinite(edge[1]) and np.isnan(edge[2])


def test_float32_sigmoid_and_softmax_match_float64(rng):
    Z = (rng.standard_normal((9, 300)) * 20).astype(np.float32)
    for name in ("sigmoid", "softmax"):
        got = kernels.activate(Z, name)
        assert got.dtype == np.float32
        Z64 = Z.astype(np.float64)
        want = ref.softmax(Z64) if name == "softmax" else 1 / (1 + np.exp(-Z64))
        arg = Z64 - Z64.max(1, keepdims=True) if name == "softmax" else Z64
        # float32 rounds exp's argument: relative error grows with |argument| (a few ulp per unit)
        bound = 4 * np.finfo(np.float32).eps * (1 + np.abs(arg)) * want
        assert np.all(np.abs(got - want) <= bound + 1.2e-38)  # + float32's smallest normal: flushed to 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_all_finite_matches_isfinite(rng, dtype):
    from fastnn.kernels import _all_finite
    x = (rng.standard_normal(4099) * 1e30).astype(dtype)
    assert _all_finite(x) and np.isfinite(x).all()
    for bad in (np.nan, np.inf, -np.inf):
        for where in (0, 2048, 4098):
            y = x.copy()
            y[where] = bad
            assert not _all_finite(y)
