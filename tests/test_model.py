import numpy as np
import pytest

from fastnn.model import Dense, Sequential, mlp
from fastnn.optim import SGD, Adam, Momentum
from fastnn.train import TrainingDiverged, batches, fit


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def torch_reference(torch, model, X, Y):
    """Loss and gradients of the same network computed by torch autograd in float64."""
    params, h = [], torch.tensor(X, dtype=torch.float64)
    for layer in model.layers:
        W = torch.tensor(layer.W, dtype=torch.float64, requires_grad=True)
        b = torch.tensor(layer.b, dtype=torch.float64, requires_grad=True)
        params += [W, b]
        z = h @ W + b
        h = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu, "identity": lambda v: v,
             "softmax": lambda v: v}[layer.activation](z)
    T = torch.tensor(Y, dtype=torch.float64)
    if model.loss_name == "cross_entropy":
        loss = -(T * torch.log_softmax(h, dim=1)).sum()
    else:
        loss = ((h - T) ** 2).sum()
    loss.backward()
    return loss.item(), [p.grad.numpy() for p in params]


@pytest.mark.parametrize("hidden,loss,out", [("sigmoid", "cross_entropy", "softmax"),
                                             ("relu", "cross_entropy", "softmax"),
                                             ("sigmoid", "squared_error", "sigmoid"),
                                             ("relu", "squared_error", "identity"),
                                             ("tanh", "squared_error", "sigmoid")])
def test_forward_backward_match_torch(torch, rng, hidden, loss, out):
    model = mlp([20, 16, 12, 5], hidden=hidden, output=out, loss=loss, dtype=np.float64, rng=rng)
    X = rng.standard_normal((9, 20))
    Y = np.eye(5)[rng.integers(0, 5, 9)] if loss == "cross_entropy" else rng.random((9, 5))
    want_loss, want_grads = torch_reference(torch, model, X, Y)
    model.forward(X)
    got_loss = model.backward(Y)
    assert got_loss == pytest.approx(want_loss, rel=1e-10)
    for (name, g), w in zip(model.gradients(), want_grads):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12, err_msg=name)
    # the fused whole-network kernel gives the same numbers
    fused_loss, flat = model.loss_and_grads(X, Y)
    assert fused_loss == pytest.approx(want_loss, rel=1e-10)
    np.testing.assert_allclose(flat, np.concatenate([w.ravel() for w in want_grads]), rtol=1e-10, atol=1e-12)


def test_sgd_epoch_matches_python_loop(rng):
    """The fused epoch kernel does exactly what a per-batch Python loop over the layer API does."""
    X = rng.random((50, 8))
    y = rng.integers(0, 3, 50)
    a = mlp([8, 6, 3], dtype=np.float64, rng=np.random.default_rng(0))
    b = mlp([8, 6, 3], dtype=np.float64, rng=np.random.default_rng(0))
    fit(a, X, y, SGD(0.1), epochs=1, batch_size=16, rng=np.random.default_rng(7))
    opt = SGD(0.1)
    for idx in batches(50, 16, np.random.default_rng(7)):
        b.forward(X[idx])
        b.backward(y[idx])
        opt.step(b)
    np.testing.assert_allclose(a.flat, b.flat, rtol=1e-12)


def test_momentum_update_follows_the_formula(rng):
    model = mlp([4, 3], output="softmax", dtype=np.float64, rng=rng)
    opt = Momentum(0.5, momentum=0.9)
    g1, g2 = rng.standard_normal(model.n_params), rng.standard_normal(model.n_params)
    w0 = model.flat.copy()
    model.grad_flat[...] = g1
    opt.step(model)
    M1 = -0.5 * g1
    np.testing.assert_allclose(model.flat, w0 + M1, rtol=1e-14)
    model.grad_flat[...] = g2
    opt.step(model)
    M2 = 0.9 * M1 - 0.5 * g2
    np.testing.assert_allclose(model.flat, w0 + M1 + M2, rtol=1e-14)


def test_adam_matches_torch(torch, rng):
    model = mlp([4, 3], output="softmax", dtype=np.float64, rng=rng)
    p = torch.tensor(model.flat.copy(), requires_grad=True)
    topt = torch.optim.Adam([p], lr=0.01)
    opt = Adam(0.01)
    for _ in range(3):
        g = rng.standard_normal(model.n_params)
        model.grad_flat[...] = g
        opt.step(model)
        p.grad = torch.tensor(g)
        topt.step()
    np.testing.assert_allclose(model.flat, p.detach().numpy(), rtol=1e-10)


def test_batches_cover_everything_and_keep_last_partial(rng):
    parts = batches(10, 4, rng)
    assert [len(p) for p in parts] == [4, 4, 2]
    assert sorted(np.concatenate(parts)) == list(range(10))
    assert not np.array_equal(np.concatenate(parts), np.concatenate(batches(10, 4, rng)))


def test_training_learns_a_separable_problem(rng):
    X = rng.standard_normal((400, 2))
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    model = mlp([2, 8, 2], rng=rng)
    hist = fit(model, X, y, SGD(0.05), epochs=30, batch_size=16, rng=rng, valid=(X, y))
    assert hist["train_loss"][-1] < hist["train_loss"][0]
    assert hist["valid_acc"][-1] > 0.95
    assert len(hist["seconds"]) == 30


def test_same_seed_same_result():
    X = np.random.default_rng(0).random((64, 5))
    y = np.arange(64) % 3
    runs = []
    for _ in range(2):
        rng = np.random.default_rng(42)
        m = mlp([5, 4, 3], rng=rng)
        fit(m, X, y, SGD(0.1), epochs=2, batch_size=8, rng=rng)
        runs.append(m.flat.copy())
    np.testing.assert_array_equal(runs[0], runs[1])


def test_divergence_names_epoch_and_batch(rng):
    X = rng.standard_normal((64, 3)) * 1e3
    model = mlp([3, 4, 2], hidden="relu", output="identity", loss="squared_error", rng=rng)
    with pytest.raises(TrainingDiverged, match=r"epoch \d+, batch \d+"):
        fit(model, X, rng.standard_normal((64, 2)) * 1e3, SGD(10.0), epochs=5, batch_size=8, rng=rng)
    assert np.isfinite(model.flat).all()


def test_callbacks_can_stop_training(rng):
    model = mlp([3, 2], output="softmax", rng=rng)
    hist = fit(model, rng.random((10, 3)), np.zeros(10, int), SGD(0.1), 10, 5, rng,
               callbacks=[lambda epoch, h, m: epoch == 2])
    assert len(hist["train_loss"]) == 3


def test_bad_training_input(rng):
    model = mlp([3, 2], output="softmax", rng=rng)
    X = rng.random((4, 3))
    X[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"inputs contains 1 non-finite value\(s\), first at index \(2, 1\)"):
        fit(model, X, np.zeros(4, int), SGD(0.1), 1, 2, rng)
    with pytest.raises(TypeError, match="floating point"):
        model.outputs(np.ones((2, 3), dtype=np.int64))
    with pytest.raises(ValueError, match=r"shape \(n, 3\)"):
        model.outputs(np.ones((2, 4)))
    with pytest.raises(ValueError, match="labels must lie"):
        fit(model, rng.random((4, 3)), np.array([0, 1, 2, 5]), SGD(0.1), 1, 2, rng)
    with pytest.raises(ValueError, match="outputs 5 but"):
        Sequential([Dense(3, 5), Dense(4, 2, "softmax")])


def test_save_load_roundtrip_and_validation(tmp_path, rng):
    model = mlp([6, 4, 3], rng=rng)
    path = model.save(tmp_path / "m.npz", classes="ABC")
    loaded = Sequential.load(path)
    np.testing.assert_array_equal(loaded.flat, model.flat)
    assert loaded.spec()["layers"] == model.spec()["layers"] and loaded.extra == {"classes": "ABC"}
    assert not list(tmp_path.glob("*.tmp*"))
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a fastnn model file"):
        Sequential.load(tmp_path / "bad.npz")
    np.savez(tmp_path / "short.npz", params=np.zeros(3, np.float32), spec=np.array(
        '{"format": "fastnn-sequential-v1", "loss": "cross_entropy", "dtype": "float32", '
        '"layers": [["a", 6, 4, "sigmoid"], ["b", 4, 3, "softmax"]]}'))
    with pytest.raises(ValueError, match="does not match the layers"):
        Sequential.load(tmp_path / "short.npz")
