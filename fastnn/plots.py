"""PNG figures shared by tasks (matplotlib, no display needed)."""
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def _save(fig, path):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def curves(path, series, ylabel, title):
    """series: {label: list of values per epoch}."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, values in series.items():
        ax.plot(np.arange(1, len(values) + 1), values, label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(fig, path)


def image_grid(path, images, title, ncols=8, labels=None):
    """images (n, H, W) shown in a grid, each scaled to its own range."""
    n = len(images)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * 1.1, nrows * 1.2 + 0.4))
    for i, ax in enumerate(np.atleast_1d(axes).ravel()):
        ax.axis("off")
        if i < n:
            ax.imshow(images[i], cmap="gray")
            if labels is not None:
                ax.set_title(str(labels[i]), fontsize=7)
    fig.suptitle(title)
    return _save(fig, path)


def confusion(path, matrix, classes, title):
    fig, ax = plt.subplots(figsize=(8, 7))
    im = ax.imshow(matrix, cmap="viridis")
    ax.set_xticks(range(len(classes)), classes, fontsize=7)
    ax.set_yticks(range(len(classes)), classes, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.colorbar(im, ax=ax)
    return _save(fig, path)


def confusion_matrix(true, pred, n):
    m = np.zeros((n, n), np.int64)
    np.add.at(m, (true, pred), 1)
    return m


def top_confusions(matrix, classes, k=10):
    off = matrix.copy()
    np.fill_diagonal(off, 0)
    idx = np.dstack(np.unravel_index(np.argsort(off.ravel())[::-1][:k], off.shape))[0]
    return [{"true": classes[i], "pred": classes[j], "count": int(off[i, j])} for i, j in idx if off[i, j] > 0]
