"""Groups epoch-b32, epoch-b256, gradcheck, ae-epoch: fastnn vs numpy, torch and sklearn."""
import time
import warnings

import numpy as np
import pytest

from benchmarks import peers
from fastnn.gradcheck import check_gradients
from fastnn.model import Dense, Sequential, mlp
from fastnn.optim import SGD, Momentum
from fastnn.train import fit


def _compile_seconds(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


@pytest.mark.parametrize("batch", [32, 256])
def test_epoch_fastnn(benchmark, nist_like, batch, pinned_threads):
    X, y = nist_like
    benchmark.group = f"epoch-b{batch}"
    benchmark.name = "fastnn"
    rng = np.random.default_rng(0)
    model = mlp([1024, 64, 36], rng=rng)
    compile_s = _compile_seconds(lambda: fit(model, X[:64], y[:64], SGD(0.01), 1, batch, rng, threads=pinned_threads))
    benchmark.extra_info.update(compile_seconds=compile_s, threads=pinned_threads)
    benchmark.pedantic(lambda: fit(model, X, y, SGD(0.01), 1, batch, rng, threads=pinned_threads), rounds=7,
                       warmup_rounds=1)


@pytest.mark.parametrize("batch", [32, 256])
def test_epoch_numpy(benchmark, nist_like, batch, pinned_threads):
    X, y = nist_like
    benchmark.group = f"epoch-b{batch}"
    benchmark.name = "numpy"
    rng = np.random.default_rng(0)
    params = [p.copy() for _, p in mlp([1024, 64, 36], rng=rng).parameters()]
    Y = np.eye(36, dtype=np.float32)[y]
    benchmark.extra_info.update(threads=pinned_threads)
    benchmark.pedantic(lambda: peers.numpy_mlp_epoch(params, X, Y, batch, 0.01, rng), rounds=7, warmup_rounds=1)


@pytest.mark.parametrize("batch", [32, 256])
@pytest.mark.parametrize("variant", ["torch", "torch-manual"])
def test_epoch_torch(benchmark, nist_like, batch, variant, pinned_threads):
    torch = pytest.importorskip("torch")
    X, y = nist_like
    benchmark.group = f"epoch-b{batch}"
    benchmark.name = variant
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    if variant == "torch":
        net = torch.nn.Sequential(torch.nn.Linear(1024, 64), torch.nn.Sigmoid(), torch.nn.Linear(64, 36))
        opt = torch.optim.SGD(net.parameters(), lr=0.01)
        lossf = torch.nn.CrossEntropyLoss(reduction="sum")

        def epoch():
            perm = torch.randperm(len(Xt))
            for i in range(0, len(Xt), batch):
                idx = perm[i:i + batch]
                opt.zero_grad()
                lossf(net(Xt[idx]), yt[idx]).backward()
                opt.step()
    else:
        W1, b1 = torch.randn(1024, 64) * 0.05, torch.zeros(64)
        W2, b2 = torch.randn(64, 36) * 0.05, torch.zeros(36)
        Yt = torch.nn.functional.one_hot(yt, 36).float()

        def epoch():
            with torch.no_grad():
                perm = torch.randperm(len(Xt))
                for i in range(0, len(Xt), batch):
                    idx = perm[i:i + batch]
                    x, t = Xt[idx], Yt[idx]
                    h = torch.sigmoid(x @ W1 + b1)
                    d2 = torch.softmax(h @ W2 + b2, 1) - t
                    d1 = (d2 @ W2.T) * h * (1 - h)
                    W2.sub_(0.01 * (h.T @ d2))
                    b2.sub_(0.01 * d2.sum(0))
                    W1.sub_(0.01 * (x.T @ d1))
                    b1.sub_(0.01 * d1.sum(0))
    benchmark.extra_info.update(threads=pinned_threads)
    benchmark.pedantic(epoch, rounds=5, warmup_rounds=1)


@pytest.mark.parametrize("batch", [32, 256])
def test_epoch_sklearn(benchmark, nist_like, batch, pinned_threads):
    sk = pytest.importorskip("sklearn.neural_network")
    X, y = nist_like
    benchmark.group = f"epoch-b{batch}"
    benchmark.name = "sklearn"
    clf = sk.MLPClassifier((64,), activation="logistic", solver="sgd", batch_size=batch, max_iter=1,
                           learning_rate_init=0.01, momentum=0.0, alpha=0.0, shuffle=True, random_state=0)
    benchmark.extra_info.update(threads=pinned_threads, note="MLPClassifier.partial_fit, one epoch")
    classes = np.arange(36)

    def epoch():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.partial_fit(X, y, classes=classes)
    benchmark.pedantic(epoch, rounds=5, warmup_rounds=1)


def _gradcheck_setup():
    rng = np.random.default_rng(0)
    model = mlp([1024, 64, 36], dtype=np.float64, rng=rng)
    X, y = rng.random((32, 1024)), rng.integers(0, 36, 32)
    return model, X, y


def test_gradcheck_fastnn(benchmark, pinned_threads):
    benchmark.group, benchmark.name = "gradcheck", "fastnn"
    model, X, y = _gradcheck_setup()
    compile_s = _compile_seconds(lambda: check_gradients(model, X[:2], y[:2]))
    res = benchmark.pedantic(lambda: check_gradients(model, X, y), rounds=7, warmup_rounds=1)
    benchmark.extra_info.update(compile_seconds=compile_s, params_checked=res.params_checked,
                                max_rel_error=res.max_rel_error, threads=pinned_threads)


SUBSET = 400


def test_gradcheck_numpy_naive(benchmark, pinned_threads):
    """Times SUBSET parameters and reports the time extrapolated to all 67,940 in extra_info."""
    benchmark.group, benchmark.name = "gradcheck", "numpy-naive"
    model, X, y = _gradcheck_setup()
    params = [p.copy() for _, p in model.parameters()]
    Y = np.eye(36)[y]
    rng = np.random.default_rng(1)
    idx = [(t, int(i)) for t, p in enumerate(params)
           for i in rng.choice(p.size, min(p.size, SUBSET // 4), replace=False)]
    benchmark.pedantic(lambda: peers.numpy_naive_gradcheck(params, X, Y, 1e-6, idx), rounds=3)
    per_param = benchmark.stats.stats.median / len(idx)
    benchmark.extra_info.update(subset=len(idx), extrapolated_full_seconds=per_param * model.n_params,
                                note=f"timed {len(idx)} parameters, extrapolated per parameter to 67,940",
                                threads=pinned_threads)


def test_gradcheck_torch(benchmark, pinned_threads):
    torch = pytest.importorskip("torch")
    benchmark.group, benchmark.name = "gradcheck", "torch-gradcheck"
    model, X, y = _gradcheck_setup()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    W2 = torch.tensor(model.layers[1].W)
    b1, b2 = torch.tensor(model.layers[0].b), torch.tensor(model.layers[1].b)
    W1full = torch.tensor(model.layers[0].W)
    rows = 4  # gradcheck a 4-row slice of W1 (256 parameters) and extrapolate

    def f(w1_rows):
        W1 = torch.cat([w1_rows, W1full[rows:]])
        h = torch.sigmoid(Xt @ W1 + b1)
        return torch.nn.functional.cross_entropy(h @ W2 + b2, yt, reduction="sum")
    inp = W1full[:rows].clone().requires_grad_(True)
    ok = benchmark.pedantic(lambda: torch.autograd.gradcheck(f, (inp,), eps=1e-6, atol=1e-5), rounds=3)
    n = inp.numel()
    benchmark.extra_info.update(ok=bool(ok), subset=n, threads=pinned_threads,
                                extrapolated_full_seconds=benchmark.stats.stats.median / n * model.n_params,
                                note=f"timed {n} parameters of W1, extrapolated per parameter to 67,940")


def _ae(rng, dtype=np.float32):
    return Sequential([Dense(1024, 32, "relu"), Dense(32, 32, "relu"), Dense(32, 32, "relu"),
                       Dense(32, 1024, "sigmoid")], loss="squared_error", dtype=dtype, rng=rng)


def test_ae_epoch_fastnn(benchmark, nist_like, pinned_threads):
    benchmark.group, benchmark.name = "ae-epoch", "fastnn"
    X, _ = nist_like
    rng = np.random.default_rng(0)
    model, opt = _ae(rng), Momentum(3e-5)
    compile_s = _compile_seconds(lambda: fit(model, X[:72], X[:72], opt, 1, 36, rng, threads=pinned_threads))
    benchmark.extra_info.update(compile_seconds=compile_s, threads=pinned_threads)
    benchmark.pedantic(lambda: fit(model, X, X, opt, 1, 36, rng, threads=pinned_threads), rounds=7,
                       warmup_rounds=1)


def test_ae_epoch_numpy(benchmark, nist_like, pinned_threads):
    benchmark.group, benchmark.name = "ae-epoch", "numpy"
    X, _ = nist_like
    rng = np.random.default_rng(0)
    model = _ae(rng)
    params = [(l.W.copy(), l.b.copy()) for l in model.layers]
    M = [(np.zeros_like(W), np.zeros_like(b)) for W, b in params]
    benchmark.extra_info.update(threads=pinned_threads)
    benchmark.pedantic(lambda: peers.numpy_ae_epoch(params, M, X, 36, 3e-5, rng), rounds=5, warmup_rounds=1)


def test_ae_epoch_torch(benchmark, nist_like, pinned_threads):
    torch = pytest.importorskip("torch")
    benchmark.group, benchmark.name = "ae-epoch", "torch"
    X, _ = nist_like
    Xt = torch.from_numpy(X)
    net = torch.nn.Sequential(torch.nn.Linear(1024, 32), torch.nn.ReLU(), torch.nn.Linear(32, 32), torch.nn.ReLU(),
                              torch.nn.Linear(32, 32), torch.nn.ReLU(), torch.nn.Linear(32, 1024), torch.nn.Sigmoid())
    opt = torch.optim.SGD(net.parameters(), lr=3e-5, momentum=0.9)

    def epoch():
        perm = torch.randperm(len(Xt))
        for i in range(0, len(Xt), 36):
            x = Xt[perm[i:i + 36]]
            opt.zero_grad()
            ((net(x) - x) ** 2).sum().backward()
            opt.step()
    benchmark.extra_info.update(threads=pinned_threads)
    benchmark.pedantic(epoch, rounds=5, warmup_rounds=1)


def test_cnn_epoch_torch(benchmark, nist_like, pinned_threads):
    """One epoch of the `cnn` task's network on NIST36-sized data (10,800 x 1 x 32 x 32, 36 classes)."""
    torch = pytest.importorskip("torch")
    from fastnn_plugins.torch_tasks import common, models
    benchmark.group, benchmark.name = "cnn-epoch-nist36", "torch-cnn"
    X, y = nist_like
    data = {"train": (X.reshape(-1, 1, 32, 32), y), "valid": (X[:0].reshape(0, 1, 32, 32), y[:0])}
    net = models.small_cnn(1, 36, 32)
    run = lambda: common.train(net, data, torch.device("cpu"), 1, 1e-3, 128, np.random.default_rng(0))  # noqa: E731
    benchmark.extra_info.update(threads=pinned_threads, batch=128)
    benchmark.pedantic(run, rounds=3, warmup_rounds=1)
