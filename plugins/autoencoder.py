"""Task `autoencoder` (seed Q5): 1024-32-32-32-1024 relu/sigmoid, total squared error, momentum."""
import time

import numpy as np

from fastnn import plots
from fastnn.hookspecs import hookimpl
from fastnn.model import Dense, Sequential
from fastnn.optim import Adam, Momentum
from fastnn.tasks import Task, TaskError
from fastnn.train import TrainingDiverged, fit

from . import compression


def add_arguments(p):
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--lr", type=float, default=3e-5, help="momentum SGD step on the summed batch loss (seeds)")
    p.add_argument("--batch-size", type=int, default=36)
    p.add_argument("--improved", action="store_true",
                   help="beyond the seeds: ink-bright inputs (1 - x, sparse, so fewer relu units die), Adam "
                        "with a step-decay schedule, batch 64, dead relu units revived after each epoch; "
                        "same network and 32-d code")
    p.add_argument("--classes", default=compression.DEFAULT_CLASSES, help="5 classes shown in the figure")


def network(rng):
    return Sequential([Dense(1024, 32, "relu", "enc1"), Dense(32, 32, "relu", "enc2"),
                       Dense(32, 32, "relu", "dec1"), Dense(32, 1024, "sigmoid", "out")],
                      loss="squared_error", rng=rng)


def revive_dead_units(model, X, rng):
    """Re-draw the incoming weights of relu units that output 0 for every sample of X (they get no
    gradient and never recover); returns how many were revived."""
    A, count = X, 0
    for layer in model.layers[:-1]:
        Z = A @ layer.W + layer.b
        dead = (Z <= 0).all(axis=0)
        if dead.any():
            a = np.sqrt(6.0 / (layer.n_in + layer.n_out))
            layer.W[:, dead] = rng.uniform(-a, a, (layer.n_in, int(dead.sum())))
            layer.b[dead] = 0.1
            count += int(dead.sum())
        A = np.maximum(A @ layer.W + layer.b, 0)
    return count


def run(ctx):
    a = ctx.args
    X, data, dataset = compression.load(ctx)
    model = network(np.random.default_rng(ctx.seed))
    opt = Adam(3e-3) if a.improved else Momentum(a.lr, 0.9)
    batch = 64 if a.improved else a.batch_size
    # improved mode codes 1 - x (ink bright); reconstructions are mapped back before PSNR and plots
    flip = (lambda v: 1.0 - v) if a.improved else (lambda v: v)
    Xtr, Xva = flip(X["train"]), flip(X["valid"])
    t0 = time.perf_counter()
    history = {"train_loss": [], "valid_loss": [], "seconds": []}
    revived = 0
    with ctx.tqdm(total=a.epochs, desc="autoencoder") as bar:
        for epoch in range(a.epochs):
            if a.improved and epoch in (int(a.epochs * 0.6), int(a.epochs * 0.85)):
                opt.lr *= 0.3  # step decay
            try:
                h = fit(model, Xtr, Xtr, opt, 1, batch, ctx.rng, valid=(Xva, Xva))
            except TrainingDiverged as exc:
                raise TaskError(f"{exc}; try a smaller --lr") from exc
            for k in history:
                history[k].append(h[k][0])
            if a.improved:
                revived += revive_dead_units(model, Xtr[:4096], ctx.rng)
            bar.update(1)
            bar.set_postfix(loss=f"{h['train_loss'][0]:.2f}")
    seconds = time.perf_counter() - t0
    plots.curves(ctx.path("autoencoder_loss.png"), {"train": history["train_loss"], "valid": history["valid_loss"]},
                 "squared error per image", f"autoencoder on {dataset}")
    recon = flip(model.outputs(Xva))
    psnr = compression.psnr_per_image(X["valid"], recon)
    idx = compression.pick_samples(data["valid"], a.classes)
    compression.sample_figure(ctx, "autoencoder", X["valid"][idx], recon[idx],
                              [data["valid"].classes[k] for k in data["valid"].labels[idx]],
                              f"autoencoder: mean PSNR {psnr.mean():.2f} dB")
    model.save(ctx.path("autoencoder.npz"))
    metrics = {"dataset": dataset, "psnr_mean": float(psnr.mean()), "psnr_samples": psnr[idx].tolist(),
               "epochs": a.epochs, "params": model.n_params, "seconds": seconds,
               "epoch_seconds": float(np.median(history["seconds"])), "optimiser": opt.name,
               "final_train_loss": history["train_loss"][-1], "valid_images": len(X["valid"]),
               "improved": bool(a.improved), "batch_size": batch, "revived_units": revived}
    ctx.write_metrics(metrics)
    print(f"autoencoder on {dataset}: mean validation PSNR {psnr.mean():.2f} dB after {a.epochs} epochs "
          f"({opt.name}), {model.n_params} parameters, {seconds:.1f} s")
    return metrics


@hookimpl
def register_tasks(register):
    register(Task("autoencoder", "1024-32-32-32-1024 autoencoder with momentum, PSNR", run, add_arguments))
