"""The two-thread epoch kernel gives engine._train_epoch's numbers, on any thread count."""
import numba
import numpy as np
import pytest

from fastnn import engine, split_epoch
from fastnn.blas import gemm_address
from fastnn.model import mlp
from fastnn.optim import SGD
from fastnn.train import TrainingDiverged, epoch_kernel, fit

HYPER = np.array([0.9, 0.999, 1e-8])


def _epoch(kernel, net, X, Y, order, batch, opt, lr, autoencoder=False):
    s1, s2 = np.zeros_like(net.flat), np.zeros_like(net.flat)
    return kernel(net.flat, net.grad_flat, net.sizes, net.acts, net.loss_code, X, Y, order, batch, opt, lr, s1,
                  s2, HYPER, 0, gemm_address(net.dtype), autoencoder)


CASES = [  # sizes, hidden, loss, batch: odd widths (a layer of 1 or 3 units), partial last batches
    ([1024, 64, 36], "sigmoid", "cross_entropy", 32),
    ([50, 7, 1, 3], "relu", "cross_entropy", 5),
    ([20, 3, 20], "tanh", "squared_error", 7),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("opt", [0, 1, 2], ids=["sgd", "momentum", "adam"])
@pytest.mark.parametrize("sizes,hidden,loss,batch", CASES)
def test_split_epoch_matches_the_serial_epoch(rng, sizes, hidden, loss, batch, opt, dtype):
    n = 203
    X = rng.random((n, sizes[0])).astype(dtype)
    Y = X if loss == "squared_error" else np.eye(sizes[-1], dtype=dtype)[rng.integers(0, sizes[-1], n)]
    order = rng.permutation(n).astype(np.int64)
    out, flats = [], []
    for kernel in (engine._train_epoch, split_epoch._train_epoch_split):
        output = "sigmoid" if loss == "squared_error" else "softmax"
        net = mlp(sizes, hidden=hidden, output=output, loss=loss, rng=np.random.default_rng(1), dtype=dtype)
        out.append(_epoch(kernel, net, X, Y, order, batch, opt, 0.01, Y is X))
        flats.append(net.flat.copy())
    tol = 1e-5 if dtype == np.float32 else 1e-12
    assert out[0][1:] == out[1][1:]  # correct count, optimiser steps, no bad batch
    assert out[1][0] == pytest.approx(out[0][0], rel=tol)
    np.testing.assert_allclose(flats[1], flats[0], rtol=tol, atol=tol)


def test_split_epoch_on_one_thread_runs_every_unit_itself(rng):
    X = rng.random((97, 30))
    Y = np.eye(4)[rng.integers(0, 4, 97)]
    order = rng.permutation(97).astype(np.int64)
    before = numba.get_num_threads()
    flats = []
    try:
        for threads in (1, before):
            numba.set_num_threads(threads)
            net = mlp([30, 6, 4], rng=np.random.default_rng(3), dtype=np.float64)
            _epoch(split_epoch._train_epoch_split, net, X, Y, order, 8, 1, 0.05)
            flats.append(net.flat.copy())
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(flats[0], flats[1])


def test_split_epoch_stops_at_the_first_non_finite_batch(rng):
    X = rng.random((64, 10))
    X[40] = np.nan  # in batch 5 of 8 rows (order is the identity)
    Y = rng.random((64, 3))
    order = np.arange(64, dtype=np.int64)
    nets = []
    for kernel in (engine._train_epoch, split_epoch._train_epoch_split):
        net = mlp([10, 5, 3], hidden="identity", output="identity", loss="squared_error",
                  rng=np.random.default_rng(0), dtype=np.float64)
        _, _, steps, bad = _epoch(kernel, net, X, Y, order, 8, 0, 0.001)
        assert (steps, bad) == (5, 5), kernel
        assert np.isfinite(net.flat).all()
        nets.append(net.flat.copy())
    np.testing.assert_allclose(nets[1], nets[0], rtol=1e-12)


def test_fit_picks_the_split_kernel_for_small_batches_on_two_threads(rng):
    if numba.get_num_threads() < 2:
        pytest.skip("one numba thread here")
    assert epoch_kernel(32, 2)[0] is split_epoch._train_epoch_split
    assert epoch_kernel(32, 1)[0] is engine._train_epoch
    assert epoch_kernel(256, 2)[0] is engine._train_epoch
    # a learning rate far too high: squared error overflows and fit names the batch
    X = rng.random((40, 10)) * 1e3
    net = mlp([10, 4, 10], hidden="identity", output="identity", loss="squared_error", rng=rng, dtype=np.float64)
    with pytest.raises(TrainingDiverged, match="batch"):
        fit(net, X, X, SGD(1e3), 3, 8, rng, threads=2)
