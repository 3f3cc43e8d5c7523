"""One place for numba settings shared by every kernel."""
import os

# Fast-math flags without 'nnan'/'ninf': NaN and inf must propagate so bad input is caught.
FASTMATH = {"contract", "arcp", "nsz", "afn", "reassoc"}

# Where trained models and numba caches go unless the user says otherwise.
CACHE_DIR = os.environ.get("FASTNN_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "fastnn"))


def njit_options(parallel=False):
    """Keyword arguments for numba.njit used by every fastnn kernel."""
    # error_model="numpy": division by zero gives inf/nan instead of a Python check that blocks SIMD
    return {"cache": True, "fastmath": FASTMATH, "nogil": True, "parallel": parallel, "error_model": "numpy"}
