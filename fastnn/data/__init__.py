"""Data layer: find the data root, load every supported format into one canonical form.

Canonical form (``Dataset``): images float32 in [0, 1], dark ink on light paper, upright, shape
(n, H, W); integer labels; class names; optional group ids (writers) for disjoint splits.
Data root: the ``--data`` flag, else ``$FASTNN_DATA``, else ``../shared/data`` (relative to the
current directory, the layout of a checkout next to the shared data folder).
"""
import os
from dataclasses import dataclass, field

import numpy as np

DEFAULT_ROOT = os.path.join("..", "shared", "data")
CLASSES36 = [chr(ord("A") + i) for i in range(26)] + [str(d) for d in range(10)]


class DataError(RuntimeError):
    """A data file is missing, corrupt or of the wrong shape; the message says how to fix it."""


def resolve_root(flag=None):
    """--data flag > $FASTNN_DATA > ../shared/data. Returns an absolute path (which may not exist)."""
    root = flag or os.environ.get("FASTNN_DATA") or DEFAULT_ROOT
    return os.path.abspath(os.path.expanduser(root))


def require(path, how):
    """Return path if it exists, else raise DataError naming it and how to supply it."""
    if not os.path.exists(path):
        raise DataError(f"missing data file {path}. {how}")
    return path


@dataclass
class Dataset:
    images: np.ndarray  # (n, H, W) float32, ink dark, upright
    labels: np.ndarray  # (n,) int64
    classes: list
    name: str
    groups: np.ndarray = None  # (n,) writer / group ids for disjoint splits
    info: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.images.ndim != 3 or len(self.images) != len(self.labels):
            raise DataError(f"{self.name}: images {self.images.shape} and labels {self.labels.shape} disagree")

    def __len__(self):
        return len(self.labels)

    def subset(self, idx, name=None):
        return Dataset(self.images[idx], self.labels[idx], self.classes, name or self.name,
                       None if self.groups is None else self.groups[idx], dict(self.info))

    def flat(self):
        """(n, H*W) float32 rows, row-major upright."""
        return self.images.reshape(len(self), -1)


def concat(parts, name):
    """One Dataset from several with the same classes; groups are prefixed by source name."""
    groups = np.concatenate([np.char.add(f"{p.name}:", (p.groups if p.groups is not None
                                                        else np.arange(len(p))).astype(str)) for p in parts])
    return Dataset(np.concatenate([p.images for p in parts]), np.concatenate([p.labels for p in parts]),
                   parts[0].classes, name, groups,
                   {"sources": {p.name: len(p) for p in parts}})


def group_split(ds, fractions=(0.8, 0.1, 0.1), rng=None, salt=0):
    """Split by group (writer) so no writer is in two parts. Deterministic for a given rng/salt."""
    rng = rng if rng is not None else np.random.default_rng(salt)
    groups = ds.groups if ds.groups is not None else np.arange(len(ds)).astype(str)
    uniq = np.unique(groups)
    uniq = uniq[rng.permutation(len(uniq))]
    bounds = np.cumsum(np.array(fractions) / np.sum(fractions))[:-1]
    cut = (bounds * len(uniq)).round().astype(int)
    parts = np.split(uniq, cut)
    return [ds.subset(np.flatnonzero(np.isin(groups, g)), f"{ds.name}[{i}]") for i, g in enumerate(parts)]
