"""Mini-batch training with per-epoch history and callbacks."""
import functools
import time

import numpy as np

from . import engine, pair_epoch, split_epoch
from .blas import gemm_address
from .kernels import _all_finite

SMALL_BATCH = 128


def blas_threads(batch_size, threads=None):
    """The BLAS thread-limit context for an epoch (see epoch_kernel). Measured here on 2 cores: batch 256
    epochs take ~30 ms on two BLAS threads and ~45 ms on one; a batch-32 GEMM gains nothing from two."""
    return _blas_limit(epoch_kernel(batch_size, threads)[1])


def epoch_kernel(batch_size, threads=None, model=None):
    """(epoch kernel, BLAS thread limit) for training `model` (None: any net) on `threads` threads
    (None: numba's count). On two threads or more:
    - a net whose first layer (and a wide top layer) holds most weights runs pair_epoch's kernel, below
      batch 128 or when there are exactly two threads: batch-32 epoch of 1024-64-36 ~22 ms, autoencoder
      ~30 ms on two threads here, against ~43 and ~60 on one;
    - other nets below batch 128 run split_epoch's kernel: two threads share every layer (batch-32
      epoch 47 -> 31-42 ms);
    each calling BLAS on one thread. Otherwise BLAS splits each GEMM itself."""
    import numba
    n = numba.get_num_threads() if threads is None else min(threads, numba.get_num_threads())
    small = batch_size < SMALL_BATCH
    if n >= 2 and (small or n == 2) and model is not None and pair_epoch.suits(
            list(model.sizes), list(model.acts), model.loss_code):
        return pair_epoch._train_epoch_pair, 1
    if small and n >= 2:
        return split_epoch._train_epoch_split, 1
    return engine._train_epoch, (1 if small else threads)


def _blas_limit(limit):
    import contextlib
    return _blas_controller().limit(limits=limit, user_api="blas") if limit else contextlib.nullcontext()


@functools.lru_cache(maxsize=None)
def _blas_controller():
    """One threadpoolctl controller: finding the BLAS libraries costs ~0.7 ms, setting a limit ~0.01."""
    import scipy.linalg.cython_blas  # noqa: F401  (numba's fallback BLAS must be loaded for the limit to reach it)
    from threadpoolctl import ThreadpoolController
    return ThreadpoolController()


class TrainingDiverged(RuntimeError):
    """The loss became NaN or inf."""


def batches(n, batch_size, rng):
    """Index arrays of random mini-batches covering range(n) once; the last partial batch is kept."""
    if batch_size < 1:
        raise ValueError(f"batch size must be >= 1, got {batch_size}")
    order = rng.permutation(n)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]


def check_finite(name, array):
    """Raise ValueError naming the array if it holds NaN or inf."""
    array = np.asarray(array)
    if array.dtype in (np.float32, np.float64) and array.size and _all_finite(array.reshape(-1)):
        return  # the common case: one pass, no temporary mask of the whole array
    bad = ~np.isfinite(array)
    if bad.any():
        idx = tuple(int(i) for i in np.unravel_index(np.argmax(bad), array.shape))
        raise ValueError(f"{name} contains {int(bad.sum())} non-finite value(s), first at index {idx}")


def _targets(model, Y, n):
    Y = model._as_target(Y, np.empty((n, model.sizes[-1]), model.dtype))
    check_finite("targets", Y)
    return Y


def evaluate(model, X, Y):
    """(mean loss per sample, accuracy) on a data set; accuracy is None for regression targets."""
    out = model.outputs(X)
    T = _targets(model, Y, len(X))
    loss = model.loss(X, T) / max(len(X), 1)
    acc = float(np.mean(out.argmax(1) == T.argmax(1))) if model.loss_name == "cross_entropy" else None
    return loss, acc


def fit(model, X, Y, optimiser, epochs, batch_size, rng, valid=None, callbacks=(), progress=None, threads=None):
    """Train in place. Returns history: dict of per-epoch lists (train_loss, train_acc, valid_loss,
    valid_acc, seconds). Losses are averaged over samples. A callback(epoch, history, model) returning
    True stops training. progress: an optional callable(epoch, history) or a tqdm bar to update.
    threads: threads to train on (None: numba's and BLAS's defaults); see epoch_kernel."""
    autoencoder = Y is X
    X = model._as_input(X)
    check_finite("inputs", X)
    Y = _targets(model, Y, len(X))
    autoencoder = autoencoder and Y.shape == X.shape  # the same array: no second gather of targets
    if valid is not None:
        Xv = model._as_input(valid[0])
        check_finite("validation inputs", Xv)
        Yv = _targets(model, valid[1], len(Xv))
    optimiser.bind(model)
    opt_code = engine.OPTIMISERS[optimiser.name]
    history = {k: [] for k in ("train_loss", "train_acc", "valid_loss", "valid_acc", "seconds")}
    n = len(X)
    kernel, limit = epoch_kernel(batch_size, threads, model)
    for epoch in range(epochs):
        t0 = time.perf_counter()
        order = rng.permutation(n).astype(np.int64)
        with _blas_limit(limit):  # the split kernel's two threads each call BLAS on one thread
            total, correct, optimiser.steps, bad = kernel(
                model.flat, model.grad_flat, model.sizes, model.acts, model.loss_code, X, Y, order,
                int(batch_size), opt_code, optimiser.lr, optimiser.s1, optimiser.s2, optimiser.hyper(),
                optimiser.steps, gemm_address(model.dtype), autoencoder)
        seconds = time.perf_counter() - t0
        if bad >= 0:
            raise TrainingDiverged(f"loss became non-finite at epoch {epoch + 1}, batch {bad + 1} "
                                   f"(learning rate {optimiser.lr:g} may be too high)")
        history["train_loss"].append(total / n)
        history["train_acc"].append(correct / n if model.loss_name == "cross_entropy" else None)
        history["seconds"].append(seconds)
        if valid is not None:
            vl, va = evaluate(model, Xv, Yv)
            history["valid_loss"].append(vl)
            history["valid_acc"].append(va)
        if progress is not None:
            if hasattr(progress, "update"):
                progress.update(1)
                progress.set_postfix(loss=f"{total / n:.4f}")
            else:
                progress(epoch, history)
        if any(cb(epoch, history, model) for cb in callbacks):
            break
    return history
