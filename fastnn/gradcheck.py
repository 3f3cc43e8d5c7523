"""Finite-difference gradient checking: (f(x+eps) - f(x-eps)) / 2eps for every scalar parameter.

Three paths, all computed in float64 on a copy of the model:
- ``naive``: perturb one scalar, run the whole forward pass; works for any layer stack.
- ``incremental``: for a hidden layer + softmax/cross-entropy output, perturbing W1[i, j] or b1[j]
  changes only hidden unit j, and W2[j, k] or b2[k] only logit k, so each loss difference is updated
  from cached activations in O(batch x classes), parallel over hidden units. Same central differences,
  evaluated with expm1/log1p so less rounding noise than the naive path.
- ``directional``: random directions u, comparing (f(x+eps u) - f(x-eps u)) / 2eps with g.u
  (like torch.autograd.gradcheck's fast_mode) for large nets.
"""
import time
from dataclasses import dataclass, field

import numpy as np
from numba import njit, prange

from . import engine
from .config import njit_options
from .kernels import _loss_and_delta, _sigmoid

_PAR = njit_options(parallel=True)
_NJIT = njit_options()


@dataclass
class TensorCheck:
    name: str
    shape: tuple
    checked: int
    max_abs_error: float
    rel_error: float  # ||analytic - numeric|| / max(||analytic||, ||numeric||)
    worst_index: tuple
    analytic_at_worst: float
    numeric_at_worst: float


@dataclass
class GradCheckResult:
    method: str
    eps: float
    tensors: list = field(default_factory=list)
    seconds: float = 0.0
    directional: list = field(default_factory=list)  # (analytic g.u, numeric) pairs

    @property
    def params_checked(self):
        return sum(t.checked for t in self.tensors) or len(self.directional)

    @property
    def max_rel_error(self):
        errs = [t.rel_error for t in self.tensors]
        errs += [abs(a - n) / max(abs(a), abs(n), 1e-300) for a, n in self.directional]
        return max(errs) if errs else 0.0

    def table(self):
        """Plain-text table, one row per tensor."""
        rows = [f"{'tensor':<12} {'shape':<12} {'checked':>8} {'max abs err':>12} {'rel err':>10}  worst"]
        for t in self.tensors:
            rows.append(f"{t.name:<12} {str(t.shape):<12} {t.checked:>8} {t.max_abs_error:>12.3e} "
                        f"{t.rel_error:>10.3e}  {t.worst_index} ({t.analytic_at_worst:.6g} vs "
                        f"{t.numeric_at_worst:.6g})")
        for i, (a, n) in enumerate(self.directional):
            rows.append(f"direction {i}: analytic {a:.10g} numeric {n:.10g}")
        return "\n".join(rows)


# --------------------------------------------------------------------------- naive path
@njit(**_NJIT)
def _total_loss(params, sizes, acts, loss, X, Y):
    out = np.empty((X.shape[0], sizes[-1]), params.dtype)
    engine._forward_all(params, sizes, acts, X, out, X.shape[0], 0)  # 0: numba's own np.dot
    return _loss_and_delta(out, Y, loss, np.empty_like(out))


@njit(**_PAR)
def _naive_numeric(params, sizes, acts, loss, X, Y, indices, eps):
    """Central differences for params[indices], each from two full forward passes (parallel)."""
    out = np.empty(indices.shape[0])
    for t in prange(indices.shape[0]):
        p = params.copy()
        i = indices[t]
        p[i] = params[i] + eps
        fp = _total_loss(p, sizes, acts, loss, X, Y)
        p[i] = params[i] - eps
        fm = _total_loss(p, sizes, acts, loss, X, Y)
        out[t] = (fp - fm) / (2 * eps)
    return out


# --------------------------------------------------------------------------- incremental path
@njit(**_NJIT)
def _act(z, act):
    """One activation value by kernel code (the layer kernels loop per activation instead)."""
    if act == 1:
        return _sigmoid(z)
    if act == 2:
        return np.tanh(z)
    if act == 3:
        return z if z > 0 else 0.0
    return z


@njit(**_NJIT)
def _log1p(x):
    # Series where it is exact to rounding (|x| < 1e-5 -> error < x^5/5), else the libm call.
    if abs(x) < 1e-5:
        return x * (1.0 - x * (0.5 - x * (1.0 / 3.0 - x * 0.25)))
    return np.log1p(x)


@njit(**_PAR)
def _incremental_first_layer(X, Z1, H, W2, E, S, Y_idx, act, eps, out_W, out_b):
    """Numeric gradients of W1 (n_in, n_hidden) and b1 through hidden unit j only."""
    n, n_in = X.shape
    n_hidden, n_cls = W2.shape
    # sigmoid(z + t) = 1 / (1 + exp(-z) exp(-t)): both factors are cached, so no exp in the loop.
    exp_mz = np.exp(-Z1)
    Xb = np.ones((n, n_in + 1))
    Xb[:, :n_in] = X
    exp_mt = np.exp(-eps * Xb)
    exp_pt = np.exp(eps * Xb)
    for j in prange(n_hidden):
        w = W2[j]
        wmax = np.max(np.abs(w))
        # Moments of the cached softmax terms along this unit's outgoing weights.
        mom = np.empty((n, 4))
        for b in range(n):
            m1 = m2 = m3 = m4 = 0.0
            for k in range(n_cls):
                e, wk = E[b, k], w[k]
                m1 += e * wk
                m2 += e * wk * wk
                m3 += e * wk * wk * wk
                m4 += e * wk * wk * wk * wk
            mom[b, 0], mom[b, 1], mom[b, 2], mom[b, 3] = m1, m2, m3, m4
        for i in range(n_in + 1):  # i == n_in is the bias b1[j]
            diff = 0.0
            for b in range(n):
                t = eps * Xb[b, i]
                if t == 0.0:
                    continue
                z, h = Z1[b, j], H[b, j]
                if act == 1:
                    dp = 1.0 / (1.0 + exp_mz[b, j] * exp_mt[b, i]) - h
                    dm = 1.0 / (1.0 + exp_mz[b, j] * exp_pt[b, i]) - h
                else:
                    dp = _act(z + t, act) - h
                    dm = _act(z - t, act) - h
                if max(abs(dp), abs(dm)) * wmax < 1e-3:
                    mb = mom[b]
                    sp = dp * (mb[0] + dp * (mb[1] / 2 + dp * (mb[2] / 6 + dp * mb[3] / 24)))
                    sm = dm * (mb[0] + dm * (mb[1] / 2 + dm * (mb[2] / 6 + dm * mb[3] / 24)))
                else:
                    sp = sm = 0.0
                    for k in range(n_cls):
                        sp += E[b, k] * np.expm1(dp * w[k])
                        sm += E[b, k] * np.expm1(dm * w[k])
                diff += _log1p(sp / S[b]) - _log1p(sm / S[b]) - (dp - dm) * w[Y_idx[b]]
            if i < n_in:
                out_W[i, j] = diff / (2 * eps)
            else:
                out_b[j] = diff / (2 * eps)


@njit(**_PAR)
def _incremental_second_layer(H, E, S, Y_idx, eps, out_W, out_b):
    """Numeric gradients of W2 (n_hidden, n_cls) and b2: only logit k moves."""
    n, n_hidden = H.shape
    n_cls = E.shape[1]
    for k in prange(n_cls):
        for j in range(n_hidden + 1):
            diff = 0.0
            for b in range(n):
                t = eps * (H[b, j] if j < n_hidden else 1.0)
                ek = E[b, k]
                lp = np.log1p(ek * np.expm1(t) / S[b])
                lm = np.log1p(ek * np.expm1(-t) / S[b])
                diff += lp - lm
                if Y_idx[b] == k:
                    diff -= 2 * t
            if j < n_hidden:
                out_W[j, k] = diff / (2 * eps)
            else:
                out_b[k] = diff / (2 * eps)


def _supports_incremental(model):
    return (len(model.layers) == 2 and model.loss_name == "cross_entropy"
            and model.layers[0].activation in ("identity", "linear", "sigmoid", "tanh", "relu"))


def _incremental(model64, X, Y, eps):
    l1, l2 = model64.layers
    Z1 = X @ l1.W + l1.b
    H = _hidden(Z1, int(model64.acts[0]))
    logits = H @ l2.W + l2.b
    E = np.exp(logits - logits.max(axis=1, keepdims=True))
    S = E.sum(axis=1)
    y_idx = Y.argmax(axis=1).astype(np.int64)
    if not np.allclose(Y.sum(axis=1), 1) or not np.all(Y.max(axis=1) == 1):
        raise ValueError("the incremental gradient check needs one-hot targets")
    gW1, gb1 = np.empty_like(l1.W), np.empty_like(l1.b)
    gW2, gb2 = np.empty_like(l2.W), np.empty_like(l2.b)
    _incremental_first_layer(X, Z1, H, np.ascontiguousarray(l2.W), E, S, y_idx, int(model64.acts[0]),
                             eps, gW1, gb1)
    _incremental_second_layer(H, E, S, y_idx, eps, gW2, gb2)
    return [gW1, gb1, gW2, gb2]


@njit(**_NJIT)
def _hidden(Z, act):
    # Same scalar function as the perturbed values, so h cancels exactly in act(z + t) - h.
    H = np.empty_like(Z)
    for r in range(Z.shape[0]):
        for c in range(Z.shape[1]):
            H[r, c] = _act(Z[r, c], act)
    return H


# --------------------------------------------------------------------------- public API
def _float64_copy(model):
    from .model import Dense, Sequential
    layers = [Dense(l.n_in, l.n_out, l.activation, l.name) for l in model.layers]
    copy = Sequential(layers, loss=model.loss_name, dtype=np.float64, rng=np.random.default_rng(0))
    copy.flat[...] = model.flat
    return copy


def _compare(name, analytic, numeric, positions=None):
    a = analytic.ravel() if positions is None else analytic.ravel()[positions]
    diff = np.abs(a - numeric)
    worst = int(np.argmax(diff)) if diff.size else 0
    flat_worst = worst if positions is None else int(positions[worst])
    scale = max(np.linalg.norm(a), np.linalg.norm(numeric), 1e-300)
    return TensorCheck(name, tuple(analytic.shape), int(a.size), float(diff.max(initial=0.0)),
                       float(np.linalg.norm(a - numeric) / scale),
                       tuple(int(v) for v in np.unravel_index(flat_worst, analytic.shape)),
                       float(a[worst]) if diff.size else 0.0,
                       float(numeric[worst]) if diff.size else 0.0)


def check_gradients(model, X, Y, eps=1e-6, method="auto", subset=None, n_directions=8, rng=None):
    """Compare the analytic gradients of the total loss with central differences over every parameter.

    method: 'auto' (incremental where the network allows, else naive), 'incremental', 'naive',
    'directional'. subset: optional number of scalars per tensor to check (naive path only; random
    but seeded by rng). Returns a GradCheckResult.
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    m64 = _float64_copy(model)
    X = m64._as_input(X).astype(np.float64)
    Y = m64._as_target(Y, np.empty((X.shape[0], m64.sizes[-1])))
    if not np.isfinite(X).all() or not np.isfinite(Y).all():
        raise ValueError("gradient check inputs contain NaN or inf")
    if method == "auto":
        method = "incremental" if _supports_incremental(m64) and subset is None else "naive"
    t0 = time.perf_counter()
    _, flat_grad = m64.loss_and_grads(X, Y)
    analytic = [g.copy() for _, g in m64.gradients()]
    names = [n for n, _ in m64.parameters()]
    result = GradCheckResult(method, eps)
    if method == "incremental":
        if not _supports_incremental(m64):
            raise ValueError("the incremental path needs a 2-layer network with softmax cross-entropy; "
                             "use method='naive'")
        numeric = _incremental(m64, X, Y, eps)
        result.tensors = [_compare(n, a, num.ravel()) for n, a, num in zip(names, analytic, numeric)]
    elif method == "naive":
        offset = 0
        for name, a in zip(names, analytic):
            if subset is None or subset >= a.size:
                pos = np.arange(a.size)
            else:
                pos = np.sort(rng.choice(a.size, size=subset, replace=False))
            num = _naive_numeric(m64.flat, m64.sizes, m64.acts, m64.loss_code, X, Y,
                                 (pos + offset).astype(np.int64), eps)
            result.tensors.append(_compare(name, a, num, None if subset is None else pos))
            offset += a.size
    elif method == "directional":
        flat_grad = flat_grad.copy()
        for _ in range(n_directions):
            u = rng.standard_normal(m64.flat.size)
            u /= np.linalg.norm(u)
            base = m64.flat.copy()
            m64.flat[...] = base + eps * u
            fp = m64.loss(X, Y)
            m64.flat[...] = base - eps * u
            fm = m64.loss(X, Y)
            m64.flat[...] = base
            result.directional.append((float(flat_grad @ u), (fp - fm) / (2 * eps)))
    else:
        raise ValueError(f"unknown method {method!r}; choose auto, incremental, naive or directional")
    result.seconds = time.perf_counter() - t0
    return result
