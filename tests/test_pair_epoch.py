"""The pair epoch kernel gives engine._train_epoch's numbers (up to the rounding of a first-layer product
summed in two halves), on any thread count, with or without a split top layer."""
import numba
import numpy as np
import pytest

from fastnn import engine, pair_epoch, split_epoch
from fastnn.blas import gemm_address
from fastnn.model import mlp
from fastnn.optim import SGD, Momentum
from fastnn.train import TrainingDiverged, epoch_kernel, fit

HYPER = np.array([0.9, 0.999, 1e-8])


def _epoch(net, X, Y, order, batch, opt, lr, autoencoder=False, split=None, kernel=None):
    s1, s2 = np.zeros_like(net.flat), np.zeros_like(net.flat)
    args = (net.flat, net.grad_flat, net.sizes, net.acts, net.loss_code, X, Y, order, batch, opt, lr, s1, s2,
            HYPER, 0, gemm_address(net.dtype), autoencoder)
    if kernel is not None:
        return kernel(*args)
    return pair_epoch._pair_epoch(*args, bool(split), pair_epoch.SCHED_YIELD)


CASES = [  # sizes, hidden, loss, batch, split top: odd widths, partial last batches, single layers
    ([1024, 64, 36], "sigmoid", "cross_entropy", 32, False),
    ([50, 7, 1, 3], "relu", "cross_entropy", 5, False),
    ([31, 6, 5, 31], "relu", "squared_error", 6, True),   # an autoencoder: targets are the inputs
    ([20, 3, 20], "tanh", "squared_error", 7, True),
    ([20, 3, 20], "tanh", "squared_error", 7, False),
    ([30, 5], "identity", "cross_entropy", 4, False),
    ([1, 4, 3], "sigmoid", "cross_entropy", 3, False),  # one input: half 0 has no rows of W1
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("opt", [0, 1, 2], ids=["sgd", "momentum", "adam"])
@pytest.mark.parametrize("sizes,hidden,loss,batch,split", CASES)
def test_pair_epoch_matches_the_serial_epoch(rng, sizes, hidden, loss, batch, split, opt, dtype):
    n = 203
    X = rng.random((n, sizes[0])).astype(dtype)
    autoencoder = loss == "squared_error" and sizes[0] == sizes[-1] and sizes[0] == 31
    Y = X if autoencoder else (rng.random((n, sizes[-1])).astype(dtype) if loss == "squared_error"
                               else np.eye(sizes[-1], dtype=dtype)[rng.integers(0, sizes[-1], n)])
    order = rng.permutation(n).astype(np.int64)
    output = "sigmoid" if loss == "squared_error" else "softmax"
    nets = [mlp(sizes, hidden=hidden, output=output, loss=loss, rng=np.random.default_rng(1), dtype=dtype)
            for _ in range(2)]
    want = _epoch(nets[0], X, Y, order, batch, opt, 0.01, autoencoder, kernel=engine._train_epoch)
    got = _epoch(nets[1], X, Y, order, batch, opt, 0.01, autoencoder, split)
    assert got[4], "half 1's copy of the shared layers drifted from the model's"
    assert got[1:4] == want[1:]  # correct count, optimiser steps, no bad batch
    tol = 1e-4 if dtype == np.float32 else 1e-12
    assert got[0] == pytest.approx(want[0], rel=tol)
    np.testing.assert_allclose(nets[1].flat, nets[0].flat, rtol=tol, atol=tol)


def test_pair_epoch_on_one_thread_runs_every_unit_itself(rng):
    X = rng.random((97, 40))
    order = rng.permutation(97).astype(np.int64)
    before = numba.get_num_threads()
    flats = []
    try:
        for threads in (1, before):
            numba.set_num_threads(threads)
            net = mlp([40, 6, 40], hidden="relu", output="sigmoid", loss="squared_error",
                      rng=np.random.default_rng(3), dtype=np.float64)
            _epoch(net, X, X, order, 8, 1, 0.05, True, True)
            flats.append(net.flat.copy())
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(flats[0], flats[1])


@pytest.mark.parametrize("split", [False, True])
def test_pair_epoch_stops_at_the_first_non_finite_batch(rng, split):
    X = rng.random((64, 10))
    X[40] = np.nan  # in batch 5 of 8 rows (order is the identity)
    Y = rng.random((64, 10))
    order = np.arange(64, dtype=np.int64)
    nets = []
    for kernel in (engine._train_epoch, None):
        net = mlp([10, 5, 10], hidden="identity", output="identity", loss="squared_error",
                  rng=np.random.default_rng(0), dtype=np.float64)
        _, _, steps, bad = _epoch(net, X, Y, order, 8, 0, 0.001, split=split, kernel=kernel)[:4]
        assert (steps, bad) == (5, 5), kernel
        assert np.isfinite(net.flat).all()
        nets.append(net.flat.copy())
    np.testing.assert_allclose(nets[1], nets[0], rtol=1e-12)


def test_which_nets_the_pair_kernel_suits_and_splits():
    ae = ([1024, 32, 32, 32, 1024], [3, 3, 3, 1], 1)
    assert pair_epoch.suits(*ae) and pair_epoch.top_split(*ae)
    assert pair_epoch.suits([1024, 64, 36], [1, 4], 0) and not pair_epoch.top_split([1024, 64, 36], [1, 4], 0)
    assert not pair_epoch.suits([1024, 512, 512, 36], [1, 1, 4], 0)  # wide hidden layers: split_epoch
    assert not pair_epoch.suits([20, 3, 20], [2, 1], 1)  # too small to be worth two threads


def test_fit_trains_on_the_pair_kernel_with_two_threads(rng):
    if numba.get_num_threads() < 2:
        pytest.skip("one numba thread here")
    net = mlp([1024, 64, 36], rng=rng)
    assert epoch_kernel(32, 2, net)[0] is pair_epoch._train_epoch_pair
    assert epoch_kernel(256, 2, net)[0] is pair_epoch._train_epoch_pair
    assert epoch_kernel(32, 2)[0] is split_epoch._train_epoch_split
    assert epoch_kernel(32, 1, net)[0] is engine._train_epoch
    # the same weights as one thread, through fit
    X = rng.random((300, 1024)).astype(np.float32)
    y = rng.integers(0, 36, 300)
    flats = []
    for threads in (1, 2):
        net = mlp([1024, 64, 36], rng=np.random.default_rng(5))
        fit(net, X, y, Momentum(0.01), 2, 32, np.random.default_rng(6), threads=threads)
        flats.append(net.flat.copy())
    np.testing.assert_allclose(flats[1], flats[0], rtol=1e-4, atol=1e-5)
    # a learning rate far too high: squared error overflows and fit names the batch
    X = rng.random((40, 1024)) * 1e3
    net = mlp([1024, 4, 1024], hidden="identity", output="identity", loss="squared_error", rng=rng,
              dtype=np.float64)
    assert epoch_kernel(8, 2, net)[0] is pair_epoch._train_epoch_pair
    with pytest.raises(TrainingDiverged, match="batch"):
        fit(net, X, X, SGD(1e3), 3, 8, rng, threads=2)
