"""GEMM from numba straight into numpy's own OpenBLAS, with alpha/beta and strided sub-matrices.

numba's np.dot reaches BLAS through scipy's OpenBLAS build, which is ~25 % slower per call at the small
shapes of mini-batch training than numpy's, only takes contiguous arrays, and cannot accumulate
(C = alpha op(A) op(B) + beta C). `_gemm` calls numpy's ILP64 cblas_?gemm by address; the address is an
argument (not a global), so every kernel that uses it stays cacheable. Where numpy's OpenBLAS is not
found (another BLAS vendor), `gemm_address` is 0 and `_gemm` falls back to np.dot.
"""
import ctypes

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from .config import njit_options

_NJIT = njit_options()
_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112
# OpenBLAS (0.3.17+, x86-64) runs products with m*n*k <= 100**3 through small-matrix kernels that skip
# packing: measured here ~110 GFLOP/s on one core at 16 output columns vs ~80 packed. A mini-batch
# GEMM is a few times that size, so _gemm_tiled cuts it into column blocks under the limit.
SMALL_GEMM = 1_000_000
TILE_COLS = 16  # one AVX-512 vector of float32
_LIBS = []  # keep the loaded library alive


def _find_gemm():
    """(sgemm, dgemm) addresses of numpy's ILP64 cblas, or (0, 0)."""
    try:
        from threadpoolctl import threadpool_info
        paths = [i["filepath"] for i in threadpool_info() if i.get("internal_api") == "openblas"]
    except Exception:  # threadpoolctl missing or confused: use the portable path
        return 0, 0
    for path in sorted(paths, key=lambda p: "numpy" not in p):  # numpy's own build first
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in ("scipy_cblas_", "cblas_"):  # numpy >= 2.0 / numpy 1.26 wheels; both ILP64
            s, d = getattr(lib, prefix + "sgemm64_", None), getattr(lib, prefix + "dgemm64_", None)
            if s is not None and d is not None:
                _LIBS.append(lib)
                return ctypes.cast(s, ctypes.c_void_p).value, ctypes.cast(d, ctypes.c_void_p).value
    return 0, 0


SGEMM, DGEMM = _find_gemm()


def gemm_address(dtype):
    """Address of numpy's cblas gemm for float32/float64 (0 when unavailable)."""
    return SGEMM if np.dtype(dtype) == np.float32 else DGEMM


@intrinsic
def _cblas_gemm(typingctx, fn, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc):
    """Call the ILP64 cblas_?gemm at address fn (row-major); a, b, c are arrays of the gemm's dtype,
    their first element is where each matrix starts."""
    sig = types.void(fn, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)

    def codegen(context, builder, signature, args):
        i32, i64, ptr = ir.IntType(32), ir.IntType(64), ir.IntType(8).as_pointer()
        dtype = signature.args[12].dtype
        fl = context.get_value_type(dtype)
        fnty = ir.FunctionType(ir.VoidType(), [i32, i32, i32, i64, i64, i64, fl, ptr, i64, ptr, i64, fl, ptr, i64])
        f = builder.inttoptr(context.cast(builder, args[0], signature.args[0], types.int64), fnty.as_pointer())

        def data(i):
            arr = context.make_array(signature.args[i])(context, builder, args[i])
            return builder.bitcast(arr.data, ptr)

        def integer(i, nbits):
            return context.cast(builder, args[i], signature.args[i], types.int32 if nbits == 32 else types.int64)

        def scalar(i):
            return context.cast(builder, args[i], signature.args[i], dtype)
        builder.call(f, [ir.Constant(i32, _ROW_MAJOR), integer(1, 32), integer(2, 32), integer(3, 64),
                         integer(4, 64), integer(5, 64), scalar(6), data(7), integer(8, 64), data(9),
                         integer(10, 64), scalar(11), data(12), integer(13, 64)])
        return context.get_dummy_value()
    return sig, codegen


@njit(**_NJIT)
def _leading(a):
    """Row stride (elements) of a 2-D array whose rows are contiguous."""
    return a.strides[0] // a.itemsize if a.shape[0] > 1 else a.shape[1]


@njit(**_NJIT)
def _gemm(fn, A, B, C, alpha, beta, trans_a, trans_b):
    """C = alpha * op(A) @ op(B) + beta * C, op = transpose where asked. A, B, C may be views with
    contiguous rows (e.g. W[:, j0:j1]); fn = gemm_address(dtype), 0 for the np.dot fallback."""
    m, n = C.shape
    k = A.shape[0] if trans_a else A.shape[1]
    if m == 0 or n == 0:
        return
    if fn != 0 and k > 0 and A.strides[1] == A.itemsize and B.strides[1] == B.itemsize \
            and C.strides[1] == C.itemsize:
        _cblas_gemm(fn, _TRANS if trans_a else _NO_TRANS, _TRANS if trans_b else _NO_TRANS, m, n, k,
                    alpha, A, _leading(A), B, _leading(B), beta, C, _leading(C))
        return
    a = np.ascontiguousarray(A.T) if trans_a else np.ascontiguousarray(A)
    b = np.ascontiguousarray(B.T) if trans_b else np.ascontiguousarray(B)
    prod = np.dot(a, b)
    for i in range(m):
        for j in range(n):
            C[i, j] = alpha * prod[i, j] + (beta * C[i, j] if beta != 0.0 else 0.0)


@njit(**_NJIT)
def _gemm_tiled(fn, A, B, C, alpha, beta, trans_a, trans_b):
    """_gemm over column blocks of C (multiples of TILE_COLS, as wide as keeps m*n*k <= SMALL_GEMM):
    every element of C is still one dot product over k, in OpenBLAS's small-matrix kernels. Products
    whose 16-column blocks would still be too large (large batches) go to _gemm whole."""
    m, n = C.shape
    k = A.shape[0] if trans_a else A.shape[1]
    cap = SMALL_GEMM // max(m * k, 1) // TILE_COLS * TILE_COLS  # widest block under the limit
    if m * n * k <= SMALL_GEMM or fn == 0 or cap == 0:
        _gemm(fn, A, B, C, alpha, beta, trans_a, trans_b)
        return
    tiles = (n + cap - 1) // cap
    nb = ((n + tiles - 1) // tiles + TILE_COLS - 1) // TILE_COLS * TILE_COLS  # even blocks
    for j0 in range(0, n, nb):
        j1 = min(n, j0 + nb)
        if trans_b:
            _gemm(fn, A, B[j0:j1, :], C[:, j0:j1], alpha, beta, trans_a, trans_b)
        else:
            _gemm(fn, A, B[:, j0:j1], C[:, j0:j1], alpha, beta, trans_a, trans_b)


def gemm(A, B, C=None, alpha=1.0, beta=0.0, trans_a=False, trans_b=False):
    """C = alpha * op(A) @ op(B) + beta * C with numpy's BLAS, in place when C is given."""
    A, B = np.asarray(A), np.asarray(B)
    if A.dtype != B.dtype or A.dtype not in (np.float32, np.float64) or A.ndim != 2 or B.ndim != 2:
        raise TypeError(f"gemm needs two 2-D float32 or float64 arrays of one dtype, got {A.dtype}, {B.dtype}")
    m = A.shape[1] if trans_a else A.shape[0]
    k = A.shape[0] if trans_a else A.shape[1]
    kb, n = (B.shape[1], B.shape[0]) if trans_b else B.shape
    if k != kb:
        raise ValueError(f"gemm shape mismatch: op(A) is {m}x{k}, op(B) is {kb}x{n}")
    if C is None:
        C = np.zeros((m, n), A.dtype)
    elif C.shape != (m, n) or C.dtype != A.dtype:
        raise ValueError(f"gemm output must be {m}x{n} {A.dtype}, got {C.shape} {C.dtype}")
    _gemm(gemm_address(A.dtype), A, B, C, alpha, beta, trans_a, trans_b)
    return C
