"""A training epoch on two threads for nets whose first layer (and maybe top layer) holds most weights.

split_epoch splits every layer's columns between two threads and meets between every step: six barriers
per batch for a 1024-64-36 net. Here the two halves meet once per batch (twice when the top layer is
split too):

- the first layer is split by input rows: half h gathers its half of the batch's input columns, computes
  its partial product with its rows of W1, and later computes and applies the gradient of those rows;
- the sums of the two partial products, the small layers above and the loss are computed by *both*
  halves, each on its own copy of those layers' weights and optimiser state (the same operations on the
  same numbers, so the copies stay equal; half 0's copy is the model's own), so nobody waits for them;
- a wide top layer (an autoencoder's 32 -> 1024) is split by output columns, the halves meeting once
  more to add their parts of the gradient that flows down from it.

Work is handed out by ticket as in split_epoch: a thread alone runs every unit in order. The numbers are
engine._train_epoch's up to float rounding (the first layer's product is summed in two halves).
"""
import numpy as np
from numba import njit, prange

from .blas import _gemm_tiled
from .config import njit_options
from .engine import _gather_cols, _gather_rows, _offsets, _update_range
from .kernels import (
    ACTIVATIONS,
    _bias_activate_inplace,
    _column_sums,
    _count_correct,
    _loss_and_delta,
    _mul_activation_grad_inplace,
)
from .split_epoch import SCHED_YIELD, _atomic_add, _wait_for_units

_NJIT = njit_options()
SOFTMAX = ACTIVATIONS["softmax"]
TOP_SPLIT_MIN = 256  # a top layer at least this wide (squared error, no softmax) is split by columns
SHARED_WORK = 8  # the pair kernel suits a net whose first (and split top) layer has >= 8x the rest's weights


def top_split(sizes, acts, loss):
    """Whether the pair kernel splits the top layer by columns (wide, element-wise loss)."""
    L = len(sizes) - 1
    return L >= 2 and sizes[L] >= TOP_SPLIT_MIN and acts[L - 1] != SOFTMAX and loss == 1


def suits(sizes, acts, loss):
    """True when the layers both halves compute (all but the first and a split top) are small."""
    L = len(sizes) - 1
    split = top_split(sizes, acts, loss)
    own = sizes[0] * sizes[1] + (sizes[L - 1] * sizes[L] if split else 0)
    both = sum(sizes[i] * sizes[i + 1] for i in range(1, L - (1 if split else 0)))
    return sizes[0] >= 64 and both * SHARED_WORK <= own


@njit(**_NJIT)
def _gradient_step(fn, A, D, lo, rows, width, c0, c1, params, grads, opt, lr, s1, s2, hyper, step):
    """The optimiser step on columns c0:c1 of the (rows, width) weight matrix stored from lo, whose
    gradient is A^T D. SGD and momentum fold the step into the GEMM (W or M = beta * itself - lr * A^T D):
    no gradient is stored and no pass over it follows. Adam stores the gradient and steps."""
    W = params[lo:lo + rows * width].reshape((rows, width))[:, c0:c1]
    if opt == 0:
        _gemm_tiled(fn, A, D, W, -lr, 1.0, True, False)
        return
    if opt == 1:
        _gemm_tiled(fn, A, D, s1[lo:lo + rows * width].reshape((rows, width))[:, c0:c1], -lr, hyper[0], True,
                    False)
        for r in range(rows):
            p, m = params[lo + r * width + c0:lo + r * width + c1], s1[lo + r * width + c0:lo + r * width + c1]
            for i in range(p.shape[0]):
                p[i] += m[i]
        return
    _gemm_tiled(fn, A, D, grads[lo:lo + rows * width].reshape((rows, width))[:, c0:c1], 1.0, 0.0, True, False)
    for r in range(rows):
        _update_range(params, grads, opt, lr, s1, s2, hyper, step, lo + r * width + c0, lo + r * width + c1)


@njit(**_NJIT)
def _start(k, h, params, sizes, X, Y, order, batch, fn, targets_are_inputs, split, w_off, xbuf, ybuf, part):
    """Half h of batch k: gather its input columns (and its targets), multiply them by its rows of W1."""
    n, n_in, c, L = order.shape[0], sizes[0], sizes[1], sizes.shape[0] - 1
    start = k * batch
    bs = min(batch, n - start)
    i0, i1 = h * n_in // 2, (h + 1) * n_in // 2
    xb = xbuf[h, :bs * (i1 - i0)].reshape((bs, i1 - i0))
    _gather_cols(X, order, start, i0, xb)
    T = X if targets_are_inputs else Y
    if split:
        t0, t1 = h * sizes[L] // 2, (h + 1) * sizes[L] // 2
        if not (targets_are_inputs and n_in == sizes[L]):  # else its input columns are its targets
            _gather_cols(T, order, start, t0, ybuf[h, :bs * (t1 - t0)].reshape((bs, t1 - t0)))
    else:
        _gather_rows(T, order, start, ybuf[h, :bs * sizes[L]].reshape((bs, sizes[L])))
    P = part[k % 2, h, :bs * c].reshape((bs, c))
    if i1 > i0:
        W = params[w_off[0]:w_off[0] + n_in * c].reshape((n_in, c))
        _gemm_tiled(fn, xb, W[i0:i1, :], P, 1.0, 0.0, False, False)
    else:
        P[:, :] = 0.0


@njit(**_NJIT)
def _middle(k, h, params, mine, sizes, acts, loss, order, batch, fn, targets_are_inputs, split, w_off, b_off,
            a_off, abuf, dbuf, xbuf, ybuf, part, top, dtop, q, half_loss):
    """Half h of batch k, from the two partial products up to the loss. Returns (loss, correct) of the
    whole batch when the top layer is not split; with a split top, its half's loss goes to half_loss and
    its part of the gradient below the top layer to q[h]."""
    n, L, c = order.shape[0], sizes.shape[0] - 1, sizes[1]
    bs = min(batch, n - k * batch)
    A = abuf[h, a_off[1]:a_off[1] + bs * c].reshape((bs, c))
    P0 = part[k % 2, 0, :bs * c].reshape((bs, c))
    P1 = part[k % 2, 1, :bs * c].reshape((bs, c))
    for r in range(bs):
        for j in range(c):
            A[r, j] = P0[r, j] + P1[r, j]
    _bias_activate_inplace(A, mine[b_off[0]:b_off[0] + c], acts[0])
    both = L - 1 if split else L  # layers 1..both-1 are computed by both halves
    for layer in range(1, both):
        a, c = sizes[layer], sizes[layer + 1]
        W = mine[w_off[layer]:w_off[layer] + a * c].reshape((a, c))
        A_in = abuf[h, a_off[layer]:a_off[layer] + bs * a].reshape((bs, a))
        A_out = abuf[h, a_off[layer + 1]:a_off[layer + 1] + bs * c].reshape((bs, c))
        _gemm_tiled(fn, A_in, W, A_out, 1.0, 0.0, False, False)
        _bias_activate_inplace(A_out, mine[b_off[layer]:b_off[layer] + c], acts[layer])
    if not split:
        n_out = sizes[L]
        A_last = abuf[h, a_off[L]:a_off[L] + bs * n_out].reshape((bs, n_out))
        Yb = ybuf[h, :bs * n_out].reshape((bs, n_out))
        delta = dbuf[h, 0, :bs * n_out].reshape((bs, n_out))
        total = _loss_and_delta(A_last, Yb, loss, delta)
        if loss == 1:
            _mul_activation_grad_inplace(delta, A_last, acts[L - 1])
        return total, (_count_correct(A_last, Yb) if loss == 0 else 0)
    a, c = sizes[L - 1], sizes[L]
    t0, t1 = h * c // 2, (h + 1) * c // 2
    A_in = abuf[h, a_off[L - 1]:a_off[L - 1] + bs * a].reshape((bs, a))
    out = top[h, :bs * (t1 - t0)].reshape((bs, t1 - t0))
    d = dtop[h, :bs * (t1 - t0)].reshape((bs, t1 - t0))
    Q = q[h, :bs * a].reshape((bs, a))
    if t1 == t0:
        half_loss[h] = 0.0
        Q[:, :] = 0.0
        return 0.0, 0
    W = params[w_off[L - 1]:w_off[L - 1] + a * c].reshape((a, c))
    _gemm_tiled(fn, A_in, W[:, t0:t1], out, 1.0, 0.0, False, False)
    _bias_activate_inplace(out, params[b_off[L - 1] + t0:b_off[L - 1] + t1], acts[L - 1])
    if targets_are_inputs and sizes[0] == c:
        T = xbuf[h, :bs * (t1 - t0)].reshape((bs, t1 - t0))
    else:
        T = ybuf[h, :bs * (t1 - t0)].reshape((bs, t1 - t0))
    half_loss[h] = _loss_and_delta(out, T, loss, d)
    _mul_activation_grad_inplace(d, out, acts[L - 1])
    _gemm_tiled(fn, d, W[:, t0:t1], Q, 1.0, 0.0, False, True)
    return 0.0, 0


@njit(**_NJIT)
def _finish(k, h, params, grads, mine, my_grads, my_s1, my_s2, sizes, acts, loss, order, batch, opt, lr, s1,
            s2, hyper, step, fn, targets_are_inputs, split, w_off, b_off, a_off, abuf, dbuf, xbuf, ybuf, part,
            top, dtop, q, half_loss, status):
    """Half h of batch k after its loss: check it, backpropagate and update (its copy of the shared
    layers, its rows of W1, its columns of a split top layer)."""
    n, L, n_in = order.shape[0], sizes.shape[0] - 1, sizes[0]
    bs = min(batch, n - k * batch)
    if split:
        correct = 0
        # each half tested: np.isfinite of their fast-math sum came out True for NaN in split_epoch
        finite = np.isfinite(half_loss[0]) and np.isfinite(half_loss[1])
        total = half_loss[0] + half_loss[1]
    else:
        total, correct = _middle(k, h, params, mine, sizes, acts, loss, order, batch, fn, targets_are_inputs,
                                 split, w_off, b_off, a_off, abuf, dbuf, xbuf, ybuf, part, top, dtop, q,
                                 half_loss)
        finite = np.isfinite(total)
    if not finite:
        if h == 0:
            status[2] = k
        return False
    if h == 0:
        status[0] += total
        status[1] += correct
    step = step + k + 1
    cur, nxt = 0, 1
    below = L - 1  # the top layer that both halves compute
    if split:  # the top layer's columns of this half; the gradient below it sums both halves' parts
        a, c = sizes[L - 1], sizes[L]
        t0, t1 = h * c // 2, (h + 1) * c // 2
        A_in = abuf[h, a_off[L - 1]:a_off[L - 1] + bs * a].reshape((bs, a))
        d = dbuf[h, 0, :bs * a].reshape((bs, a))
        Q0, Q1 = q[0, :bs * a].reshape((bs, a)), q[1, :bs * a].reshape((bs, a))
        for r in range(bs):
            for j in range(a):
                d[r, j] = Q0[r, j] + Q1[r, j]
        _mul_activation_grad_inplace(d, A_in, acts[L - 2])
        if t1 > t0:
            dt = dtop[h, :bs * (t1 - t0)].reshape((bs, t1 - t0))
            _gradient_step(fn, A_in, dt, w_off[L - 1], a, c, t0, t1, params, grads, opt, lr, s1, s2, hyper, step)
            _column_sums(dt, grads[b_off[L - 1] + t0:b_off[L - 1] + t1])
            _update_range(params, grads, opt, lr, s1, s2, hyper, step, b_off[L - 1] + t0, b_off[L - 1] + t1)
        below = L - 2
    for layer in range(below, 0, -1):  # the layers both halves compute, on their own copies
        a, c = sizes[layer], sizes[layer + 1]
        W = mine[w_off[layer]:w_off[layer] + a * c].reshape((a, c))
        A_in = abuf[h, a_off[layer]:a_off[layer] + bs * a].reshape((bs, a))
        d = dbuf[h, cur, :bs * c].reshape((bs, c))
        gX = dbuf[h, nxt, :bs * a].reshape((bs, a))
        _gemm_tiled(fn, d, W, gX, 1.0, 0.0, False, True)
        _mul_activation_grad_inplace(gX, A_in, acts[layer - 1])
        _column_sums(d, my_grads[b_off[layer]:b_off[layer] + c])
        _gemm_tiled(fn, A_in, d, my_grads[w_off[layer]:w_off[layer] + a * c].reshape((a, c)), 1.0, 0.0, True,
                    False)
        _update_range(mine, my_grads, opt, lr, my_s1, my_s2, hyper, step, w_off[layer], b_off[layer] + c)
        cur, nxt = nxt, cur
    c = sizes[1]
    d = dbuf[h, cur, :bs * c].reshape((bs, c))
    _column_sums(d, my_grads[b_off[0]:b_off[0] + c])
    _update_range(mine, my_grads, opt, lr, my_s1, my_s2, hyper, step, b_off[0], b_off[0] + c)
    i0, i1 = h * n_in // 2, (h + 1) * n_in // 2
    if i1 > i0:
        xb = xbuf[h, :bs * (i1 - i0)].reshape((bs, i1 - i0))
        _gradient_step(fn, xb, d, w_off[0] + i0 * c, i1 - i0, c, 0, c, params, grads, opt, lr, s1, s2, hyper,
                       step)
    return True


@njit(**_NJIT)
def _run_unit(g, h, params, grads, copies, sizes, acts, loss, X, Y, order, batch, opt, lr, s1, s2, hyper, step,
              fn, targets_are_inputs, split, w_off, b_off, a_off, abuf, dbuf, xbuf, ybuf, part, top, dtop, q,
              half_loss, status):
    """Half h of step g. Without a split top, step k finishes batch k-1 and starts batch k; with one,
    step 2k finishes k-1 and starts k, step 2k+1 runs batch k's middle."""
    if status[2] >= 0:  # an earlier batch's loss was not finite: the epoch has stopped
        return
    n_batches = (order.shape[0] + batch - 1) // batch
    phases = 2 if split else 1
    k, phase = g // phases, g % phases
    mine = params if h == 0 else copies[0]
    my_grads = grads if h == 0 else copies[1]
    my_s1 = s1 if h == 0 else copies[2]
    my_s2 = s2 if h == 0 else copies[3]
    if phase == 1:
        _middle(k, h, params, mine, sizes, acts, loss, order, batch, fn, targets_are_inputs, split, w_off,
                b_off, a_off, abuf, dbuf, xbuf, ybuf, part, top, dtop, q, half_loss)
        return
    if k > 0:
        if not _finish(k - 1, h, params, grads, mine, my_grads, my_s1, my_s2, sizes, acts, loss, order, batch,
                       opt, lr, s1, s2, hyper, step, fn, targets_are_inputs, split, w_off, b_off, a_off, abuf,
                       dbuf, xbuf, ybuf, part, top, dtop, q, half_loss, status):
            return
    if k < n_batches:
        _start(k, h, params, sizes, X, Y, order, batch, fn, targets_are_inputs, split, w_off, xbuf, ybuf, part)


@njit(**njit_options(parallel=True))
def _work_in_pairs(yield_fn, total, params, grads, copies, sizes, acts, loss, X, Y, order, batch, opt, lr, s1,
                   s2, hyper, step, fn, targets_are_inputs, split, w_off, b_off, a_off, abuf, dbuf, xbuf, ybuf,
                   part, top, dtop, q, half_loss, status, counters):
    """Two threads take tickets 0..total-1 (two per step) until none is left."""
    for _ in prange(2):
        while True:
            t = _atomic_add(counters, 0, 1)
            if t >= total:
                break
            g = t // 2
            _wait_for_units(counters, 2 * g, yield_fn)
            _run_unit(g, t - 2 * g, params, grads, copies, sizes, acts, loss, X, Y, order, batch, opt, lr, s1,
                      s2, hyper, step, fn, targets_are_inputs, split, w_off, b_off, a_off, abuf, dbuf, xbuf,
                      ybuf, part, top, dtop, q, half_loss, status)
            _atomic_add(counters, 1, 1)


@njit(**_NJIT)
def _pair_epoch(params, grads, sizes, acts, loss, X, Y, order, batch, opt, lr, s1, s2, hyper, step, fn,
                targets_are_inputs, split, yield_fn):
    L = sizes.shape[0] - 1
    w_off, b_off = _offsets(sizes)
    a_off = np.zeros(L + 1, np.int64)  # activations of layers 1..L per half (the input is never whole)
    width = 0
    for layer in range(1, L + 1):
        if layer < L:
            a_off[layer + 1] = a_off[layer] + batch * sizes[layer]
        width = max(width, sizes[layer])
    dt = params.dtype
    n_in, n_out = sizes[0], sizes[L]
    half_in, half_out = (n_in + 1) // 2, (n_out + 1) // 2
    abuf = np.empty((2, a_off[L] + batch * n_out), dt)
    dbuf = np.empty((2, 2, batch * width), dt)
    xbuf = np.empty((2, batch * half_in), dt)
    ybuf = np.empty((2, batch * n_out), dt)
    part = np.empty((2, 2, batch * sizes[1]), dt)
    top = np.empty((2, batch * half_out), dt)
    dtop = np.empty((2, batch * half_out), dt)
    q = np.empty((2, batch * sizes[max(L - 1, 0)]), dt)
    copies = np.empty((4, params.shape[0]), dt)  # half 1's parameters, gradients and optimiser state
    copies[0, :] = params
    copies[1, :] = grads
    copies[2, :] = s1
    copies[3, :] = s2
    half_loss = np.zeros(2)
    status = np.array([0.0, 0.0, -1.0])  # loss, correct, first non-finite batch
    n_batches = (order.shape[0] + batch - 1) // batch
    tickets = ((2 if split else 1) * n_batches + 1) * 2
    _work_in_pairs(yield_fn, tickets, params, grads, copies, sizes, acts, loss, X, Y, order, batch, opt, lr,
                   s1, s2, hyper, step, fn, targets_are_inputs, split, w_off, b_off, a_off, abuf, dbuf, xbuf,
                   ybuf, part, top, dtop, q, half_loss, status, np.zeros(2, np.int64))
    bad = int(status[2])
    # half 1's copy of the layers both halves compute must still equal the model's (exactly)
    same = True
    for i in range(b_off[0], b_off[0] + sizes[1]):
        same = same and copies[0, i] == params[i]
    if L > 1:  # layers 1..L-1, or 1..L-2 under a split top
        for i in range(w_off[1], w_off[L - 1] if split else params.shape[0]):
            same = same and copies[0, i] == params[i]
    return status[0], int(status[1]), step + (n_batches if bad < 0 else bad), bad, same


def _train_epoch_pair(params, grads, sizes, acts, loss, X, Y, order, batch, opt, lr, s1, s2, hyper, step, fn,
                      targets_are_inputs, split=None):
    """engine._train_epoch on two threads (see the module docstring); same arguments and results.
    split: split the top layer by columns (None: when top_split says so)."""
    if split is None:
        split = top_split(list(sizes), list(acts), loss)
    # sched_yield's address is an argument: a constant would be frozen into numba's on-disk cache
    return _pair_epoch(params, grads, sizes, acts, loss, X, Y, order, batch, opt, lr, s1, s2, hyper, step, fn,
                       targets_are_inputs, bool(split), SCHED_YIELD)[:4]
