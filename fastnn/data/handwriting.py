"""The 36-class training data: NIST36 when present, else the real handwriting in the data root."""
import numpy as np

from . import DataError, concat, group_split
from .formats import find_nist36, load_nist36, load_npz36

SOURCES = ("unipen", "chars74k", "photo_crops")
SPLIT_SALT = 20261123  # fixed: the writer-disjoint split must not change with --seed


def load_handwriting36(root, sources=SOURCES):
    """{'train','valid','test'} writer-disjoint 80/10/10 split of each source, concatenated."""
    parts = {"train": [], "valid": [], "test": []}
    for i, name in enumerate(sources):
        ds = load_npz36(root, name)
        for key, part in zip(parts, group_split(ds, (0.8, 0.1, 0.1), np.random.default_rng(SPLIT_SALT + i))):
            part.name = name
            parts[key].append(part)
    out = {k: concat(v, f"handwriting36-{k}") for k, v in parts.items()}
    for ds in out.values():
        ds.info["split"] = "writer-disjoint 80/10/10 per source (fixed salt)"
    return out


def load_36class(root):
    """NIST36 if its files are in the data root, otherwise the shared real handwriting sets."""
    if find_nist36(root):
        return load_nist36(root), "nist36"
    try:
        return load_handwriting36(root), "handwriting36"
    except DataError as exc:
        raise DataError(f"no 36-class data: NIST36 .mat files are not under {root} and {exc}") from exc
