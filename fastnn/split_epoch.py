"""A training epoch on two threads that split every layer between them.

Mini-batch SGD is sequential, so threads cannot take different batches, and at batch 32 each GEMM is too
small for BLAS to share out well. Instead each of two threads owns half of every layer's output columns
(forward, weight gradients, update) and half of the batch rows (gather, loss); they meet between steps.
Work is handed out by ticket: a thread takes the next unit, waits until every unit of the earlier steps
is done, runs it and reports. A thread alone runs all units in order, so nothing can deadlock if the
runtime gives the loop one thread. The numbers are those of engine._train_epoch (same operations, GEMMs
over column blocks).
"""
import ctypes

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

from .blas import _gemm_tiled
from .config import njit_options
from .engine import _gather_rows, _update_range, _workspace
from .kernels import (
    ACTIVATIONS,
    _activate_inplace,
    _count_correct,
    _loss_and_delta,
    _mul_activation_grad_inplace,
    _softmax_rows_inplace,
)

_NJIT = njit_options()
SOFTMAX = ACTIVATIONS["softmax"]


def _int64_cell(context, builder, aryty, ary, idx):
    arr = context.make_array(aryty)(context, builder, ary)
    return cgutils.get_item_pointer(context, builder, aryty, arr, [idx])


@intrinsic
def _atomic_add(typingctx, arr, idx, val):
    """arr[idx] += val atomically (sequentially consistent); returns the old value."""
    if not (isinstance(arr, types.Array) and arr.dtype == types.int64):
        return None
    sig = types.int64(arr, types.intp, types.int64)

    def codegen(context, builder, signature, args):
        ptr = _int64_cell(context, builder, signature.args[0], args[0], args[1])
        return builder.atomic_rmw("add", ptr, args[2], "seq_cst")
    return sig, codegen


@intrinsic
def _atomic_load(typingctx, arr, idx):
    """arr[idx] read with acquire ordering: never hoisted out of a wait loop."""
    if not (isinstance(arr, types.Array) and arr.dtype == types.int64):
        return None
    sig = types.int64(arr, types.intp)

    def codegen(context, builder, signature, args):
        ptr = _int64_cell(context, builder, signature.args[0], args[0], args[1])
        return builder.load_atomic(ptr, "acquire", 8)
    return sig, codegen


@intrinsic
def _call_void(typingctx, addr):
    """Call the C function `void f(void)` at address addr (an int64), e.g. sched_yield."""
    sig = types.void(types.int64)

    def codegen(context, builder, signature, args):
        fnty = ir.FunctionType(ir.IntType(32), [])
        builder.call(builder.inttoptr(args[0], fnty.as_pointer()), [])
        return context.get_dummy_value()
    return sig, codegen


def _sched_yield_address():
    try:
        return ctypes.cast(ctypes.CDLL(None).sched_yield, ctypes.c_void_p).value or 0
    except (AttributeError, OSError):
        return 0


SCHED_YIELD = _sched_yield_address()
SPINS_BEFORE_YIELD = 2000  # a partner thread that is not running (a busy VM, a shared core) gets the CPU


@njit(**_NJIT)
def _bias_activate_cols(Z, b, act, c0, c1):
    """Columns c0:c1 of Z += b, then the activation (not softmax); row slices keep unit stride for SIMD."""
    for r in range(Z.shape[0]):
        row = Z[r]
        for c in range(c0, c1):
            row[c] += b[c]
        _activate_inplace(row[c0:c1].reshape((1, c1 - c0)), act)


@njit(**_NJIT)
def _mul_activation_grad_cols(G, A, act, c0, c1):
    for r in range(G.shape[0]):
        _mul_activation_grad_inplace(G[r, c0:c1].reshape((1, c1 - c0)), A[r, c0:c1].reshape((1, c1 - c0)), act)


@njit(**_NJIT)
def _column_sums_cols(D, out, c0, c1):
    for c in range(c0, c1):
        out[c] = 0.0
    for r in range(D.shape[0]):
        row = D[r]
        for c in range(c0, c1):
            out[c] += row[c]


@njit(**_NJIT)
def _update_rows(params, grads, opt, lr, s1, s2, hyper, step, w_lo, b_lo, a, c, h):
    """Optimiser step on half h of one layer: a contiguous block of W's rows and half of b."""
    r0, r1 = h * a // 2, (h + 1) * a // 2
    _update_range(params, grads, opt, lr, s1, s2, hyper, step, w_lo + r0 * c, w_lo + r1 * c)
    _update_range(params, grads, opt, lr, s1, s2, hyper, step, b_lo + h * c // 2, b_lo + (h + 1) * c // 2)


@njit(**_NJIT)
def _run_unit(k, ph, h, params, grads, sizes, acts, loss, X, Y, order, batch, opt, lr, s1, s2, hyper, step,
              fn, targets_are_inputs, w_off, b_off, a_off, abuf, dbuf1, dbuf2, ybuf, half_loss, half_correct,
              status):
    """Half h of step ph of batch k. Steps: 0 gather (and the previous batch's first-layer update),
    1..L forward layer ph-1, L+1 loss, L+2.. backward from the top layer down."""
    if status[2] >= 0:  # an earlier batch's loss was not finite: the epoch has stopped
        return
    L = sizes.shape[0] - 1
    n, n_in, n_out = order.shape[0], sizes[0], sizes[L]
    if ph == 0 and k > 0:  # deferred: the other half of its gradient was still being computed then
        _update_rows(params, grads, opt, lr, s1, s2, hyper, step + k, w_off[0], b_off[0], n_in, sizes[1], h)
    start = k * batch
    if start >= n:  # the tail step after the last batch
        return
    bs = min(batch, n - start)
    r0, r1 = h * bs // 2, (h + 1) * bs // 2
    A0 = abuf[0:bs * n_in].reshape((bs, n_in))
    Yb = A0 if targets_are_inputs else ybuf[:bs * n_out].reshape((bs, n_out))
    if ph == 0:
        _gather_rows(X, order, start + r0, abuf[r0 * n_in:r1 * n_in].reshape((r1 - r0, n_in)))
        if not targets_are_inputs:
            _gather_rows(Y, order, start + r0, ybuf[r0 * n_out:r1 * n_out].reshape((r1 - r0, n_out)))
        return
    if ph <= L:
        layer = ph - 1
        a, c = sizes[layer], sizes[layer + 1]
        c0, c1 = h * c // 2, (h + 1) * c // 2
        if c1 > c0:
            W = params[w_off[layer]:w_off[layer] + a * c].reshape((a, c))
            b = params[b_off[layer]:b_off[layer] + c]
            A_in = abuf[a_off[layer]:a_off[layer] + bs * a].reshape((bs, a))
            A_out = abuf[a_off[layer + 1]:a_off[layer + 1] + bs * c].reshape((bs, c))
            _gemm_tiled(fn, A_in, W[:, c0:c1], A_out[:, c0:c1], 1.0, 0.0, False, False)
            act = acts[layer]
            # softmax needs whole rows: it runs in the loss step, which owns rows
            _bias_activate_cols(A_out, b, 0 if act == SOFTMAX else act, c0, c1)
        return
    # the delta of the layer j steps below the top lives in dbuf1 for even j, dbuf2 for odd j
    if ph == L + 1:
        lo = a_off[L] + r0 * n_out
        rows = abuf[lo:lo + (r1 - r0) * n_out].reshape((r1 - r0, n_out))
        Yr = Yb[r0:r1] if targets_are_inputs else ybuf[r0 * n_out:r1 * n_out].reshape((r1 - r0, n_out))
        delta = dbuf1[r0 * n_out:r1 * n_out].reshape((r1 - r0, n_out))
        if acts[L - 1] == SOFTMAX:
            _softmax_rows_inplace(rows)
        half_loss[h] = _loss_and_delta(rows, Yr, loss, delta)
        if loss == 1:
            _mul_activation_grad_inplace(delta, rows, acts[L - 1])
        half_correct[h] = _count_correct(rows, Yr) if loss == 0 else 0  # reported for cross-entropy only
        return
    batch_loss = half_loss[0] + half_loss[1]
    j = ph - (L + 2)
    layer = L - 1 - j
    # each half tested: np.isfinite of their fast-math sum came out True for NaN here
    if not (np.isfinite(half_loss[0]) and np.isfinite(half_loss[1])):
        if h == 0 and j == 0:
            status[2] = k
        return
    if h == 0 and j == 0:
        status[0] += batch_loss
        status[1] += half_correct[0] + half_correct[1]
    a, c = sizes[layer], sizes[layer + 1]
    if layer + 1 < L:  # the layer above: its input gradient, which read its weights, is done
        _update_rows(params, grads, opt, lr, s1, s2, hyper, step + k + 1, w_off[layer + 1], b_off[layer + 1],
                     c, sizes[layer + 2], h)
    d = (dbuf1 if j % 2 == 0 else dbuf2)[:bs * c].reshape((bs, c))
    A_in = abuf[a_off[layer]:a_off[layer] + bs * a].reshape((bs, a))
    c0, c1 = h * c // 2, (h + 1) * c // 2
    if c1 > c0:
        gW = grads[w_off[layer]:w_off[layer] + a * c].reshape((a, c))
        _column_sums_cols(d, grads[b_off[layer]:b_off[layer] + c], c0, c1)
        _gemm_tiled(fn, A_in, d[:, c0:c1], gW[:, c0:c1], 1.0, 0.0, True, False)
    if layer > 0:
        W = params[w_off[layer]:w_off[layer] + a * c].reshape((a, c))
        gX = (dbuf2 if j % 2 == 0 else dbuf1)[:bs * a].reshape((bs, a))
        q0, q1 = h * a // 2, (h + 1) * a // 2
        if q1 > q0:
            _gemm_tiled(fn, d, W[q0:q1, :], gX[:, q0:q1], 1.0, 0.0, False, True)
            _mul_activation_grad_cols(gX, A_in, acts[layer - 1], q0, q1)


@njit(**_NJIT)
def _wait_for_units(counters, done, yield_fn):
    """Spin until `done` units have reported (counters[1]), yielding the CPU every few thousand spins."""
    spins = 0
    while _atomic_load(counters, 1) < done:
        spins += 1
        if spins >= SPINS_BEFORE_YIELD and yield_fn != 0:
            _call_void(yield_fn)
            spins = 0


@njit(**njit_options(parallel=True))
def _work_in_pairs(yield_fn, total, steps, params, grads, sizes, acts, loss, X, Y, order, batch, opt, lr, s1, s2,
                   hyper, step, fn, targets_are_inputs, w_off, b_off, a_off, abuf, dbuf1, dbuf2, ybuf, half_loss,
                   half_correct, status, counters):
    """Two threads take tickets 0..total-1 (two per step) until none is left."""
    for _ in prange(2):
        while True:
            t = _atomic_add(counters, 0, 1)
            if t >= total:
                break
            g = t // 2
            _wait_for_units(counters, 2 * g, yield_fn)
            k = g // steps
            _run_unit(k, g - k * steps, t - 2 * g, params, grads, sizes, acts, loss, X, Y, order, batch, opt,
                      lr, s1, s2, hyper, step, fn, targets_are_inputs, w_off, b_off, a_off, abuf, dbuf1, dbuf2,
                      ybuf, half_loss, half_correct, status)
            _atomic_add(counters, 1, 1)


def _train_epoch_split(params, grads, sizes, acts, loss, X, Y, order, batch, opt, lr, s1, s2, hyper, step, fn,
                       targets_are_inputs):
    """engine._train_epoch on two threads (see the module docstring); same arguments and results."""
    # sched_yield's address is an argument: a constant would be frozen into numba's on-disk cache
    return _split_epoch(params, grads, sizes, acts, loss, X, Y, order, batch, opt, lr, s1, s2, hyper, step, fn,
                        targets_are_inputs, SCHED_YIELD)


@njit(**_NJIT)
def _split_epoch(params, grads, sizes, acts, loss, X, Y, order, batch, opt, lr, s1, s2, hyper, step, fn,
                 targets_are_inputs, yield_fn):
    w_off, b_off, a_off, abuf, dbuf1, dbuf2 = _workspace(params, sizes, batch)
    ybuf = np.empty(batch * sizes[-1], params.dtype)
    n_batches = (order.shape[0] + batch - 1) // batch
    steps = 2 * sizes.shape[0]  # gather, L forward, loss, L backward
    half_loss = np.zeros(2)
    half_correct = np.zeros(2, np.int64)
    status = np.array([0.0, 0.0, -1.0])  # loss, correct, first non-finite batch
    tickets = (n_batches * steps + 1) * 2  # + a tail step: the last batch's first-layer update
    _work_in_pairs(yield_fn, tickets, steps, params, grads, sizes, acts, loss, X, Y, order, batch, opt, lr, s1,
                   s2, hyper, step, fn, targets_are_inputs, w_off, b_off, a_off, abuf, dbuf1, dbuf2, ybuf,
                   half_loss, half_correct, status, np.zeros(2, np.int64))
    bad = int(status[2])
    return status[0], int(status[1]), step + (n_batches if bad < 0 else bad), bad
