"""fastnn.blas: numpy's cblas gemm called from numba, against numpy's matmul."""
import os

import numpy as np
import pytest

from fastnn import blas
from fastnn.model import mlp
from fastnn.optim import SGD, Adam, Momentum
from fastnn.train import fit


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("trans_a,trans_b", [(False, False), (True, False), (False, True), (True, True)])
@pytest.mark.parametrize("native", [True, False])
def test_gemm_matches_numpy(rng, dtype, trans_a, trans_b, native):
    A = rng.standard_normal((5, 7) if trans_a else (7, 5)).astype(dtype)
    B = rng.standard_normal((9, 5) if trans_b else (5, 9)).astype(dtype)
    C0 = rng.standard_normal((7, 9)).astype(dtype)
    want = 0.5 * (A.T if trans_a else A) @ (B.T if trans_b else B) - 2.0 * C0
    C = C0.copy()
    fn = blas.gemm_address(dtype) if native else 0  # 0: the np.dot fallback
    blas._gemm(fn, A, B, C, 0.5, -2.0, trans_a, trans_b)
    np.testing.assert_allclose(C, want, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-5)


@pytest.mark.parametrize("trans_a,trans_b", [(False, False), (True, False), (False, True), (True, True)])
@pytest.mark.parametrize("m,n,k", [(36, 100, 1024), (32, 64, 1024), (36, 1024, 32), (3, 5, 7), (300, 40, 1024)])
def test_tiled_gemm_matches_float64_product(rng, trans_a, trans_b, m, n, k):
    """Column blocks (products over SMALL_GEMM), the whole-call path (small, or too many rows), on views."""
    A = rng.standard_normal((k, m) if trans_a else (m, k)).astype(np.float32)
    Bfull = rng.standard_normal((n + 3, k) if trans_b else (k, n + 3)).astype(np.float32)
    B = Bfull[1:n + 1] if trans_b else Bfull[:, 1:n + 1]
    out = np.full((m, n + 2), 7.0, np.float32)
    C = out[:, 1:n + 1]
    C0 = rng.standard_normal((m, n)).astype(np.float32)
    C[:] = C0
    opA = (A.T if trans_a else A).astype(np.float64)
    opB = (B.T if trans_b else B).astype(np.float64)
    blas._gemm_tiled(blas.SGEMM, A, B, C, 0.5, -2.0, trans_a, trans_b)
    np.testing.assert_allclose(C, 0.5 * opA @ opB - 2.0 * C0, rtol=1e-4, atol=1e-3)
    assert (out[:, 0] == 7).all() and (out[:, -1] == 7).all()


def test_gemm_on_strided_views_leaves_the_rest(rng):
    W = rng.standard_normal((10, 8)).astype(np.float32)
    X = rng.standard_normal((3, 10)).astype(np.float32)
    out = np.full((3, 8), 7.0, np.float32)
    blas._gemm(blas.SGEMM, X, W[:, 2:6], out[:, 2:6], 1.0, 0.0, False, False)
    np.testing.assert_allclose(out[:, 2:6], X @ W[:, 2:6], rtol=1e-5)
    assert (out[:, :2] == 7).all() and (out[:, 6:] == 7).all()
    G = np.zeros((4, 8), np.float32)  # rows 3..7 of X.T @ Y via a column slice of X and transposition
    Y = rng.standard_normal((3, 8)).astype(np.float32)
    blas._gemm(blas.SGEMM, X[:, 3:7], Y, G, 1.0, 0.0, True, False)
    np.testing.assert_allclose(G, X[:, 3:7].T @ Y, rtol=1e-5, atol=1e-6)


def test_numpy_blas_found_and_wrapper_checks():
    assert blas.SGEMM != 0 and blas.DGEMM != 0  # numpy's wheels bundle an ILP64 OpenBLAS
    np.testing.assert_allclose(blas.gemm(np.eye(2), np.arange(4.0).reshape(2, 2)), [[0, 1], [2, 3]])
    with pytest.raises(TypeError, match="float32 or float64"):
        blas.gemm(np.eye(2, dtype=int), np.eye(2, dtype=int))
    with pytest.raises(ValueError, match="shape mismatch"):
        blas.gemm(np.eye(2), np.eye(3))


@pytest.mark.parametrize("opt", [SGD(0.01), Momentum(0.01), Adam(1e-3)], ids=["sgd", "momentum", "adam"])
def test_fit_on_one_or_two_blas_threads_gives_the_same_weights(rng, opt):
    X = rng.random((384, 1024), dtype=np.float32)
    y = rng.integers(0, 36, 384)
    nets = []
    for threads in (1, 2):  # batch 128: BLAS may use `threads`
        net = mlp([1024, 128, 128, 36], rng=np.random.default_rng(1))
        fit(net, X, y, type(opt)(opt.lr), 2, 128, np.random.default_rng(2), threads=threads)
        nets.append(net.flat.copy())
    np.testing.assert_allclose(nets[0], nets[1], rtol=1e-4, atol=1e-6)


def test_blas_threads_one_below_batch_128():
    from threadpoolctl import threadpool_info

    from fastnn.train import blas_threads

    def numpy_blas_threads():
        return [i["num_threads"] for i in threadpool_info() if i.get("internal_api") == "openblas"]
    with blas_threads(32, 2):
        assert set(numpy_blas_threads()) == {1}
    with blas_threads(256, 2):
        assert max(numpy_blas_threads()) == 2 or os.cpu_count() == 1


def test_autoencoder_targets_gathered_once_give_the_same_weights(rng):
    from fastnn.model import Dense, Sequential
    X = rng.random((90, 64), dtype=np.float32)
    nets = []
    for Y in (X, X.copy()):  # Y is X: the kernel reuses the gathered inputs as targets
        net = Sequential([Dense(64, 8, "relu"), Dense(8, 64, "sigmoid")], loss="squared_error",
                         rng=np.random.default_rng(3))
        fit(net, X, Y, Momentum(1e-3), 2, 16, np.random.default_rng(4))
        nets.append(net.flat.copy())
    np.testing.assert_array_equal(nets[0], nets[1])
