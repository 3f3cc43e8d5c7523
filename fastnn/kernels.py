"""JIT-compiled numba kernels for dense networks.

Each kernel is a private ``_njit`` function; the public wrappers below check their input and allocate
outputs. Activation codes: 0 identity, 1 sigmoid, 2 tanh, 3 relu, 4 softmax (row-wise).
Loss codes: 0 cross-entropy on softmax output, 1 total squared error.
Losses are totals over the batch, as the course seeds define them.
"""
import numpy as np
from numba import njit, types
from numba.extending import intrinsic, overload

from .config import njit_options

ACTIVATIONS = {"identity": 0, "linear": 0, "sigmoid": 1, "tanh": 2, "relu": 3, "softmax": 4}
LOSSES = {"cross_entropy": 0, "squared_error": 1}
_NJIT = njit_options()


# --------------------------------------------------------------------------- private kernels
@intrinsic
def _bits_to_float(typingctx, bits):
    """Reinterpret an integer's bits as the float of its width, int64 -> float64 and int32 -> float32
    (LLVM bitcast; vectorises)."""
    target = {types.int64: types.float64, types.int32: types.float32}.get(bits)
    if target is None:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(signature.return_type))
    return target(bits), codegen


_LOG2E = 1.4426950408889634
_LN2_HI = 0.6931471803691238
_LN2_LO = 1.9082149292705877e-10


# no 'reassoc' here: it would undo the Cody-Waite split
@njit(cache=True, fastmath={"nsz", "contract"}, nogil=True, error_model="numpy")
def _exp(x):
    """exp(x) to ~1 ulp in float64 with no libm call, so loops over it vectorise (numba here has no
    SVML). Cody-Waite reduction x = n ln2 + r, |r| <= ln2/2, then a degree-13 Taylor polynomial."""
    xc = min(max(x, -708.0), 709.0)
    n = np.floor(xc * _LOG2E + 0.5)
    r = (xc - n * _LN2_HI) - n * _LN2_LO
    p = 1.0 / 6227020800.0
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    y = p * _bits_to_float((np.int64(n) + 1023) << 52)
    return y if x == x else x  # NaN propagates


_F32 = np.float32
_EXP32_POLY = tuple(_F32(c) for c in (1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2,
                                      1.6666665459e-1, 5.0000001201e-1))


@njit(cache=True, fastmath={"nsz", "contract"}, nogil=True, error_model="numpy")
def _exp32(x):
    """exp(x) to ~1 ulp in float32: _exp's reduction with float32 constants and Cephes expf's degree-5
    minimax polynomial. All-float32 arithmetic keeps 16 lanes per AVX-512 vector (float64 has 8)."""
    c5, c4, c3, c2, c1, c0 = _EXP32_POLY
    xc = min(max(x, _F32(-87.33)), _F32(88.37))  # 2**n stays a normal float32
    n = np.floor(xc * _F32(_LOG2E) + _F32(0.5))
    r = (xc - n * _F32(0.693359375)) + n * _F32(2.12194440e-4)
    p = ((((c5 * r + c4) * r + c3) * r + c2) * r + c1) * r + c0
    y = (p * (r * r) + r + _F32(1.0)) * _bits_to_float(np.int32((np.int32(n) + np.int32(127)) << np.int32(23)))
    y = y if x >= _F32(-87.33) else _F32(0.0)  # below float32's normal range: flush to 0
    return y if x == x else x


def _exp_of(x):
    """exp in the precision of x: _exp32 for float32, _exp otherwise (chosen when numba compiles)."""
    return np.exp(x)


@overload(_exp_of, inline="always")
def _exp_of_typed(x):
    if x == types.float32:
        return lambda x: _exp32(x)
    return lambda x: _exp(x)


def _sigmoid(z):
    """1 / (1 + exp(-z)) in the precision of z (float32 stays float32 inside jitted loops)."""
    return 1.0 / (1.0 + np.exp(-z))


@overload(_sigmoid, inline="always")
def _sigmoid_typed(z):
    # exp's argument is clamped inside _exp/_exp32, so large |z| saturates cleanly to 0 or 1.
    if z == types.float32:
        return lambda z: _F32(1.0) / (_F32(1.0) + _exp32(-z))
    return lambda z: 1.0 / (1.0 + _exp(-z))


@njit(**_NJIT)
def _softmax_rows_inplace(Z):
    for r in range(Z.shape[0]):
        m = Z[r, 0]
        for c in range(1, Z.shape[1]):
            if Z[r, c] > m:
                m = Z[r, c]
        s = 0.0
        for c in range(Z.shape[1]):
            e = _exp_of(Z[r, c] - m)
            Z[r, c] = e
            s += e
        inv = 1.0 / s
        for c in range(Z.shape[1]):
            Z[r, c] *= inv


@njit(**_NJIT)
def _activate_inplace(Z, act):
    # one loop per activation: no branch inside the loop, so it vectorises
    if act == 4:
        _softmax_rows_inplace(Z)
    elif act == 1:
        for r in range(Z.shape[0]):
            for c in range(Z.shape[1]):
                Z[r, c] = _sigmoid(Z[r, c])
    elif act == 2:
        for r in range(Z.shape[0]):
            for c in range(Z.shape[1]):
                Z[r, c] = np.tanh(Z[r, c])
    elif act == 3:
        for r in range(Z.shape[0]):
            for c in range(Z.shape[1]):
                Z[r, c] = max(Z[r, c], 0.0)


@njit(**_NJIT)
def _bias_activate_inplace(Z, b, act):
    n, m = Z.shape
    for r in range(n):
        for c in range(m):
            Z[r, c] += b[c]
    _activate_inplace(Z, act)


@njit(**_NJIT)
def _mul_activation_grad_inplace(G, A, act):
    """G *= f'(z), with f' written in terms of the post-activation A."""
    n, m = G.shape
    if act == 1:
        for r in range(n):
            for c in range(m):
                G[r, c] *= A[r, c] * (1.0 - A[r, c])
    elif act == 2:
        for r in range(n):
            for c in range(m):
                G[r, c] *= 1.0 - A[r, c] * A[r, c]
    elif act == 3:
        for r in range(n):
            for c in range(m):
                G[r, c] = G[r, c] if A[r, c] > 0 else 0.0


@njit(**_NJIT)
def _dense_forward(X, W, b, act, out):
    np.dot(X, W, out)
    _bias_activate_inplace(out, b, act)


@njit(**_NJIT)
def _column_sums(D, out):
    out[:] = 0
    for r in range(D.shape[0]):
        for c in range(D.shape[1]):
            out[c] += D[r, c]


@njit(**_NJIT)
def _dense_backward(X, W, delta, gW, gb, gX, need_gX):
    """delta is dLoss/dZ for this layer. Fills gW, gb and, if asked, gX = delta @ W.T."""
    np.dot(X.T, delta, gW)
    _column_sums(delta, gb)
    if need_gX:
        np.dot(delta, W.T, gX)


@njit(**_NJIT)
def _loss_and_delta(A, Y, loss, delta):
    """Total loss for output A against targets Y; delta = dLoss/dZ of the output layer.

    Cross-entropy assumes A is the softmax output (delta = A - Y); squared error is sum (A - Y)^2 and
    its delta is the gradient w.r.t. A (the caller multiplies by the activation derivative).
    """
    total = 0.0
    n, m = A.shape
    for r in range(n):
        if loss == 0:
            nonzero, last = 0, 0
            for c in range(m):
                y = Y[r, c]
                delta[r, c] = A[r, c] - y
                if y != 0:
                    nonzero += 1
                    last = c
            if nonzero == 1:  # a one-hot row: one log (the loop below would take all m, branch-free)
                total -= Y[r, last] * np.log(max(A[r, last], 1e-300))
            elif nonzero > 1:
                for c in range(m):
                    y = Y[r, c]
                    if y != 0:
                        total -= y * np.log(max(A[r, c], 1e-300))
        else:
            for c in range(m):
                d = A[r, c] - Y[r, c]
                total += d * d
                delta[r, c] = 2.0 * d
    return total


@njit(**_NJIT)
def _all_finite(flat):
    """True when no element is NaN or inf, in one vectorised pass: v * 0 is NaN exactly for those."""
    acc = 0.0
    for i in range(flat.shape[0]):
        acc += flat[i] * 0.0
    return acc == 0.0


@njit(**_NJIT)
def _count_correct(A, Y):
    hits = 0
    for r in range(A.shape[0]):
        pa = 0
        py = 0
        for c in range(1, A.shape[1]):
            if A[r, c] > A[r, pa]:
                pa = c
            if Y[r, c] > Y[r, py]:
                py = c
        if pa == py:
            hits += 1
    return hits


# --------------------------------------------------------------------------- public wrappers
def _float_array(x, name):
    x = np.asarray(x)
    if x.dtype not in (np.float32, np.float64):
        raise TypeError(f"{name} must be float32 or float64, got {x.dtype}")
    return np.ascontiguousarray(x)


def activation_code(name):
    """Map an activation name ('sigmoid', 'tanh', 'relu', 'identity', 'softmax') to its kernel code."""
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; choose from {sorted(ACTIVATIONS)}") from None


def activate(Z, name):
    """Apply an activation to a 2-D array and return a new array."""
    out = _float_array(Z, "Z").copy()
    if out.ndim != 2:
        raise ValueError(f"Z must be 2-D, got shape {out.shape}")
    _activate_inplace(out, activation_code(name))
    return out


def activation_grad(A, name):
    """Derivative of the activation as a function of its output A (not defined for softmax)."""
    code = activation_code(name)
    if code == 4:
        raise ValueError("softmax's derivative is a Jacobian; use it fused with cross-entropy")
    A = _float_array(A, "A")
    G = np.ones_like(A)
    _mul_activation_grad_inplace(G, A, code)
    return G


def softmax(Z):
    """Numerically stable row-wise softmax (max subtracted per row)."""
    return activate(Z, "softmax")


def dense_forward(X, W, b, activation="identity"):
    """act(X @ W + b) for X (n, n_in), W (n_in, n_out), b (n_out,)."""
    X, W, b = _float_array(X, "X"), _float_array(W, "W"), _float_array(b, "b")
    _check_dense_shapes(X, W, b)
    out = np.empty((X.shape[0], W.shape[1]), dtype=W.dtype)
    _dense_forward(X.astype(W.dtype, copy=False), W, b.astype(W.dtype, copy=False),
                   activation_code(activation), out)
    return out


def dense_backward(X, W, A, grad_A, activation="identity", need_grad_X=True, delta=None):
    """Backward pass of one dense layer.

    X is the layer input, A its post-activation output, grad_A = dLoss/dA. Pass ``delta`` (dLoss/dZ)
    instead of grad_A when it is already known (softmax + cross-entropy). Returns (gW, gb, gX or None).
    """
    X, W = _float_array(X, "X"), _float_array(W, "W")
    if delta is None:
        delta = _float_array(grad_A, "grad_A").copy()
        _mul_activation_grad_inplace(delta, _float_array(A, "A"), activation_code(activation))
    delta = np.ascontiguousarray(delta, dtype=W.dtype)
    if delta.shape != (X.shape[0], W.shape[1]):
        raise ValueError(f"gradient shape {delta.shape} does not match output {(X.shape[0], W.shape[1])}")
    gW, gb = np.empty_like(W), np.empty(W.shape[1], dtype=W.dtype)
    gX = np.empty((X.shape[0], W.shape[0]), dtype=W.dtype) if need_grad_X else np.empty((0, 0), W.dtype)
    _dense_backward(X.astype(W.dtype, copy=False), W, delta, gW, gb, gX, need_grad_X)
    return gW, gb, (gX if need_grad_X else None)


def cross_entropy(probs, Y):
    """Total cross-entropy -sum(Y log probs) and its gradient w.r.t. the softmax input (probs - Y)."""
    P, Y = _float_array(probs, "probs"), one_hot_like(Y, probs)
    delta = np.empty_like(P)
    return float(_loss_and_delta(P, Y.astype(P.dtype, copy=False), 0, delta)), delta


def squared_error(A, Y):
    """Total squared error sum (A - Y)^2 and its gradient w.r.t. A."""
    A, Y = _float_array(A, "A"), _float_array(Y, "Y")
    if A.shape != Y.shape:
        raise ValueError(f"prediction shape {A.shape} != target shape {Y.shape}")
    delta = np.empty_like(A)
    return float(_loss_and_delta(A, Y.astype(A.dtype, copy=False), 1, delta)), delta


def accuracy(A, Y):
    """Fraction of rows whose argmax matches the label (one-hot or integer)."""
    A = _float_array(A, "A")
    Y = one_hot_like(Y, A)
    return _count_correct(A, Y.astype(A.dtype, copy=False)) / max(A.shape[0], 1)


def one_hot(labels, n_classes, dtype=np.float32):
    """Integer labels (n,) -> one-hot (n, n_classes); rejects labels out of range."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(f"labels must be a 1-D integer array, got {labels.dtype} {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"labels must lie in [0, {n_classes}), got range [{labels.min()}, {labels.max()}]")
    out = np.zeros((labels.size, n_classes), dtype=dtype)
    out[np.arange(labels.size), labels] = 1
    return out


def one_hot_like(Y, A):
    """Accept one-hot (n, c) or integer (n,) labels for predictions A (n, c)."""
    Y = np.asarray(Y)
    A = np.asarray(A)
    if Y.ndim == 1:
        Y = one_hot(Y, A.shape[1], A.dtype)
    if Y.shape != A.shape:
        raise ValueError(f"label shape {Y.shape} does not match prediction shape {A.shape}")
    return np.ascontiguousarray(Y)


def xavier_uniform(n_in, n_out, rng, dtype=np.float32):
    """Glorot/Xavier uniform: U(-a, a) with a = sqrt(6/(n_in+n_out)), so Var = 2/(n_in+n_out)."""
    a = np.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-a, a, size=(n_in, n_out)).astype(dtype)


def _check_dense_shapes(X, W, b):
    if X.ndim != 2 or W.ndim != 2 or b.ndim != 1:
        raise ValueError(f"expected X 2-D, W 2-D, b 1-D; got {X.shape}, {W.shape}, {b.shape}")
    if X.shape[1] != W.shape[0] or b.shape[0] != W.shape[1]:
        raise ValueError(f"shape mismatch: X {X.shape} @ W {W.shape} + b {b.shape}")
