"""Loaders for the on-disk formats: NIST36 .mat, idx(.gz), the 36-class .npz sets, pages."""
import gzip
import hashlib
import json
import os
import struct

import numpy as np

from . import CLASSES36, DataError, Dataset, require

NIST36_FILES = {
    "train": ("nist36_train.mat", 81169904, "e34d2eb6301f7f83fc2b28bb07c1c1742099f319b1415d282c8f7b5a68a9394b", 10800),
    "valid": ("nist36_valid.mat", 27082371, "941c15d9682438673da199b7cedf66ffe0eb003ec02a7ff60b1073e87bb0e66b", 3600),
    "test": ("nist36_test.mat", 13541540, "92d7fc9ea1d13594f48fbc2205bba2eb077c62acf6011c44709a9e06314256a4", 1800),
}
NIST36_HOW = ("Copy the course's nist36_train.mat, nist36_valid.mat and nist36_test.mat into DATA/nist36/ "
              "(or DATA/), or pass --data.")


def sha256(path, chunk=1 << 20):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def find_nist36(root):
    """Folder holding the NIST36 .mat files, or None."""
    for folder in (os.path.join(root, "nist36"), root):
        if os.path.exists(os.path.join(folder, NIST36_FILES["train"][0])):
            return folder
    return None


def load_nist36_split(path, split):
    """One NIST36 .mat split -> Dataset (rows un-transposed to upright 32x32). Schema checked."""
    import scipy.io
    fname, size, digest, rows = NIST36_FILES[split]
    require(path, NIST36_HOW)
    try:
        mat = scipy.io.loadmat(path)
    except Exception as exc:
        raise DataError(f"{path}: not a readable .mat file ({exc}). {NIST36_HOW}") from exc
    dkey, lkey = f"{split}_data", f"{split}_labels"
    for key in (dkey, lkey):
        if key not in mat:
            raise DataError(f"{path}: key {key!r} missing (found {sorted(k for k in mat if not k.startswith('__'))})")
    data, onehot = np.asarray(mat[dkey]), np.asarray(mat[lkey])
    if data.ndim != 2 or data.shape[1] != 1024:
        raise DataError(f"{path}: {dkey} must be (n, 1024), got {data.shape}")
    if onehot.shape != (data.shape[0], 36):
        raise DataError(f"{path}: {lkey} must be ({data.shape[0]}, 36) one-hot, got {onehot.shape}")
    if not np.isfinite(data).all() or data.min() < 0 or data.max() > 1:
        raise DataError(f"{path}: {dkey} must be finite values in [0, 1]")
    if not np.allclose(onehot.sum(axis=1), 1) or not np.isin(onehot, (0, 1)).all():
        raise DataError(f"{path}: {lkey} rows must be one-hot")
    official = os.path.getsize(path) == size and sha256(path) == digest
    images = data.reshape(-1, 32, 32).transpose(0, 2, 1).astype(np.float32)  # stored column-major
    return Dataset(np.ascontiguousarray(images), onehot.argmax(1).astype(np.int64), list(CLASSES36),
                   f"nist36-{split}", info={"official": official, "path": path, "expected_rows": rows})


def load_nist36(root):
    """{'train', 'valid', 'test'} Datasets from the folder holding the three files."""
    folder = find_nist36(root)
    if folder is None:
        raise DataError(f"NIST36 not found under {root}. {NIST36_HOW}")
    return {s: load_nist36_split(os.path.join(folder, f[0]), s) for s, f in NIST36_FILES.items()}


def read_idx(path):
    """Parse an idx file (optionally .gz) -> numpy array. Validates magic and size."""
    require(path, "MNIST/EMNIST idx files go in DATA/mnist/ (train-images-idx3-ubyte.gz ...).")
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc})") from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 8:
        raise DataError(f"{path}: not an unsigned-byte idx file (bad magic)")
    ndim = raw[3]
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    body = np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise DataError(f"{path}: expected {int(np.prod(dims))} bytes of data for shape {dims}, got {body.size}")
    return body.reshape(dims)


def load_mnist(root, split="train", folder="mnist", prefix=None, transpose=False, classes=None):
    """MNIST (or EMNIST with prefix/transpose) -> Dataset with ink dark, upright."""
    tag = "train" if split == "train" else "t10k"
    base = os.path.join(root, folder)
    pre = prefix or ""
    img = read_idx(_gz_or_plain(os.path.join(base, f"{pre}{tag}-images-idx3-ubyte")))
    lab = read_idx(_gz_or_plain(os.path.join(base, f"{pre}{tag}-labels-idx1-ubyte")))
    if img.ndim != 3 or lab.ndim != 1 or len(img) != len(lab):
        raise DataError(f"{base}: images {img.shape} and labels {lab.shape} do not match")
    if transpose:  # EMNIST stores images transposed
        img = img.transpose(0, 2, 1)
    images = 1.0 - img.astype(np.float32) / 255.0  # light-on-dark -> dark ink on white
    classes = classes or [str(i) for i in range(int(lab.max()) + 1)]
    return Dataset(images, lab.astype(np.int64), classes, f"{folder}-{split}")


def _gz_or_plain(path):
    return path + ".gz" if os.path.exists(path + ".gz") or not os.path.exists(path) else path


NPZ36 = {
    "unipen": ("unipen_1a1b/unipen36_32x32.npz", "writer"),
    "chars74k": ("chars74k_hnd/chars74k_hnd36_32x32.npz", "writer"),
    "photo_crops": ("photo_crops36/crops36_32x32.npz", None),
}


def load_npz36(root, name):
    """One of the shared 36-class .npz sets -> Dataset (photo crops are contrast-normalised)."""
    rel, group_key = NPZ36[name]
    path = require(os.path.join(root, rel), f"It ships in the shared data folder ({rel}); pass --data.")
    try:
        with np.load(path, allow_pickle=False) as z:
            images, labels = z["images"], z["labels"]
            groups = z[group_key].astype(str) if group_key else None
            if name == "photo_crops":
                # no writer ids: crops of one file index are one 'writer' for splitting purposes
                groups = np.array([f.rsplit("_", 1)[-1].split(".")[0] for f in z["filenames"]])
    except (OSError, KeyError, ValueError) as exc:
        raise DataError(f"{path}: corrupt or unexpected .npz ({exc})") from exc
    if images.ndim != 3 or images.shape[1:] != (32, 32) or len(images) != len(labels):
        raise DataError(f"{path}: expected images (n, 32, 32) with n labels, got {images.shape}, {labels.shape}")
    if labels.min() < 0 or labels.max() > 35:
        raise DataError(f"{path}: labels must be in 0..35")
    x = images.astype(np.float32) / 255.0
    if name == "photo_crops":
        x = normalise_contrast(x)
    return Dataset(x, labels.astype(np.int64), list(CLASSES36), name, groups)


def normalise_contrast(x, lo_pct=2, hi_pct=60):
    """Per image: map the ink level to 0 and the paper level to 1 (clipped)."""
    flat = x.reshape(len(x), -1)
    lo = np.percentile(flat, lo_pct, axis=1)[:, None]
    hi = np.percentile(flat, hi_pct, axis=1)[:, None]
    out = (flat - lo) / np.maximum(hi - lo, 1e-3)
    return np.clip(out, 0, 1).reshape(x.shape).astype(np.float32)


def load_pages(root):
    """[(path, ground truth dict or None)] for the sample pages in DATA/images."""
    folder = os.path.join(root, "images")
    require(folder, "The four sample pages ship in the shared data folder (images/); pass --data.")
    gt_path = os.path.join(folder, "ground_truth.json")
    truth = {}
    if os.path.exists(gt_path):
        try:
            with open(gt_path) as fh:
                truth = json.load(fh)
        except ValueError as exc:
            raise DataError(f"{gt_path}: not valid JSON ({exc})") from exc
    names = sorted(f for f in os.listdir(folder) if f.lower().endswith((".jpg", ".jpeg", ".png")))
    if not names:
        raise DataError(f"no page images (.jpg/.png) in {folder}")
    return [(os.path.join(folder, n), truth.get(n)) for n in names]
