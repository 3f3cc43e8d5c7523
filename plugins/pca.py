"""Task `pca` (seed Q6): 32 principal components of the training images as a linear autoencoder."""
import time

import numpy as np

from fastnn.hookspecs import hookimpl
from fastnn.tasks import Task

from . import compression
from .autoencoder import network


def add_arguments(p):
    p.add_argument("--components", type=int, default=32)
    p.add_argument("--classes", default=compression.DEFAULT_CLASSES)


def fit_pca(X, k):
    """(mean, projection matrix (d, k), singular values) from the SVD of the centred data."""
    mean = X.mean(0)
    _, s, vt = np.linalg.svd(X - mean, full_matrices=False)
    return mean, vt[:k].T, s


def reconstruct(X, mean, P):
    return (X - mean) @ P @ P.T + mean


def run(ctx):
    a = ctx.args
    X, data, dataset = compression.load(ctx)
    t0 = time.perf_counter()
    mean, P, s = fit_pca(X["train"].astype(np.float64), a.components)
    recon = reconstruct(X["test"].astype(np.float64), mean, P)
    seconds = time.perf_counter() - t0
    psnr = compression.psnr_per_image(X["test"], recon)
    idx = compression.pick_samples(data["valid"], a.classes)
    compression.sample_figure(ctx, "pca", X["valid"][idx], reconstruct(X["valid"][idx], mean, P),
                              [data["valid"].classes[k] for k in data["valid"].labels[idx]],
                              f"PCA ({a.components} components)")
    metrics = {"dataset": dataset, "components": a.components, "projection_shape": list(P.shape),
               "projection_rank": int(np.linalg.matrix_rank(P)), "psnr_mean": float(psnr.mean()),
               "params": int(P.size), "params_with_mean": int(P.size + mean.size),
               "autoencoder_params": network(np.random.default_rng(0)).n_params,
               "explained_variance": float((s[:a.components] ** 2).sum() / (s ** 2).sum()),
               "seconds": seconds, "test_images": len(X["test"])}
    ctx.write_metrics(metrics)
    print(f"pca on {dataset}: projection {P.shape} rank {metrics['projection_rank']}, mean test PSNR "
          f"{psnr.mean():.2f} dB, {P.size} parameters (autoencoder: {metrics['autoencoder_params']})")
    return metrics


@hookimpl
def register_tasks(register):
    register(Task("pca", "PCA baseline: 32 components, reconstruction PSNR", run, add_arguments))
