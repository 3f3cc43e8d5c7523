"""Benchmarks: every framework in its own process (benchmarks/run.py), pinned to the same thread
count (BLAS, numba, torch), JIT compiled
before timing (compile time reported separately in extra_info)."""
import os

THREADS = int(os.environ.get("FASTNN_BENCH_THREADS", "1"))
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = str(THREADS)  # before any BLAS library loads (threadpoolctl sees only loaded ones)

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import scipy.linalg.cython_blas  # noqa: E402,F401  (numba's BLAS: load it so the limit below reaches it)


@pytest.fixture(scope="session", autouse=True)
def pinned_threads():
    import numba
    from threadpoolctl import threadpool_limits
    numba.set_num_threads(min(THREADS, numba.config.NUMBA_NUM_THREADS))
    if "torch" in os.environ.get("FASTNN_BENCH_FRAMEWORK", "torch"):
        try:
            import torch
            torch.set_num_threads(THREADS)
        except ImportError:
            pass
    with threadpool_limits(THREADS):
        yield THREADS


@pytest.fixture(scope="session")
def nist_like():
    """10,800 samples of 1024 features, 36 classes (the NIST36 training set's shape), float32."""
    rng = np.random.default_rng(0)
    X = rng.random((10800, 1024), dtype=np.float32)
    y = rng.integers(0, 36, 10800)
    return X, y
