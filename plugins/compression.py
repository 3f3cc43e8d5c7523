"""Shared pieces of the `autoencoder` and `pca` tasks: data, PSNR, sample figures, the combined plot."""
import os

import numpy as np
from skimage.metrics import peak_signal_noise_ratio

from fastnn import plots
from fastnn.data.handwriting import load_36class

DEFAULT_CLASSES = "A,B,C,1,2"


def load(ctx):
    data, name = load_36class(ctx.data_root)
    return {k: v.flat().astype(np.float32) for k, v in data.items()}, data, name


def psnr_per_image(truth, recon):
    """PSNR of each row (data range 1), via skimage."""
    return np.array([peak_signal_noise_ratio(t, np.clip(r, 0, 1), data_range=1.0) for t, r in zip(truth, recon)])


def pick_samples(ds, classes=DEFAULT_CLASSES, per_class=2):
    """Indices of per_class validation images for each named class (first ones, deterministic)."""
    idx = []
    for c in classes.split(","):
        k = ds.classes.index(c.strip().upper())
        idx += list(np.flatnonzero(ds.labels == k)[:per_class])
    return np.array(idx)


def sample_figure(ctx, name, truth, recon, labels, title):
    """Originals next to reconstructions; also stores them so a combined figure can be made later."""
    side = int(np.sqrt(truth.shape[1]))
    pairs = np.stack([truth.reshape(-1, side, side), np.clip(recon, 0, 1).reshape(-1, side, side)], 1)
    plots.image_grid(ctx.path(f"{name}_reconstructions.png"), pairs.reshape(-1, side, side), title, ncols=4,
                     labels=[f"{lab} {kind}" for lab in labels for kind in ("in", "out")])
    np.savez(ctx.path(f"{name}_samples.npz"), truth=truth, recon=recon, labels=np.array(labels))
    combined(ctx)


def combined(ctx):
    """If both tasks have run into this folder: originals, autoencoder and PCA side by side."""
    paths = [ctx.path(f"{n}_samples.npz") for n in ("autoencoder", "pca")]
    if not all(os.path.exists(p) for p in paths):
        return None
    ae, pca = (np.load(p, allow_pickle=False) for p in paths)
    if ae["truth"].shape != pca["truth"].shape or not np.allclose(ae["truth"], pca["truth"]):
        return None
    side = int(np.sqrt(ae["truth"].shape[1]))
    rows = np.stack([ae["truth"], np.clip(ae["recon"], 0, 1), np.clip(pca["recon"], 0, 1)], 1)
    labels = [f"{lab} {k}" for lab in ae["labels"] for k in ("in", "AE", "PCA")]
    return plots.image_grid(ctx.path("combined_reconstructions.png"), rows.reshape(-1, side, side),
                            "original | autoencoder | PCA (32-d codes)", ncols=6, labels=labels)
