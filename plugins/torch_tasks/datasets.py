"""Datasets for the torch tasks, as numpy arrays (n, C, H, W) float32 in [0, 1] with ink/foreground bright."""
import os

import numpy as np

from fastnn.data import CLASSES36, DataError
from fastnn.data.formats import load_mnist, load_nist36, read_idx
from fastnn.data.handwriting import load_handwriting36

EMNIST_BALANCED = [str(d) for d in range(10)] + [chr(ord("A") + i) for i in range(26)] + list("abdefghnqrt")
HOW = {
    "emnist": "Put torchvision's EMNIST layout under DATA/EMNIST/raw/ (emnist-balanced-train-images-idx3-ubyte"
              "[.gz] and the labels/test files), e.g. torchvision.datasets.EMNIST(DATA, 'balanced', download=True) "
              "on a machine with internet.",
    "cifar10": "Put torchvision's CIFAR-10 layout under DATA/cifar-10-batches-py/ "
               "(torchvision.datasets.CIFAR10(DATA, download=True) elsewhere).",
}


def _split(x, y, n_valid, seed=0):
    perm = np.random.default_rng(seed).permutation(len(x))
    v, t = perm[:n_valid], perm[n_valid:]
    return (x[t], y[t]), (x[v], y[v])


def _channels(images):
    return np.ascontiguousarray((1.0 - images)[:, None].astype(np.float32))  # ink bright, 1 channel


def load(name, root):
    """{'train','valid','test': (x, y)}, classes, description of the split."""
    if name == "nist36":
        d = load_nist36(root)
        return {k: (_channels(v.images), v.labels) for k, v in d.items()}, list(CLASSES36), "official NIST36 split"
    if name == "handwriting36":
        d = load_handwriting36(root)
        return ({k: (_channels(v.images), v.labels) for k, v in d.items()}, list(CLASSES36),
                "writer-disjoint 80/10/10 per source (UNIPEN, Chars74K, photo crops)")
    if name == "mnist":
        tr, te = load_mnist(root, "train"), load_mnist(root, "test")
        train, valid = _split(_channels(tr.images), tr.labels, 5000)
        return ({"train": train, "valid": valid, "test": (_channels(te.images), te.labels)},
                [str(i) for i in range(10)], "official 60k/10k; 5k of train held out for validation")
    if name == "emnist":
        base = os.path.join(root, "EMNIST", "raw")
        parts = {}
        for split, tag in (("train", "train"), ("test", "test")):
            try:
                imgs = read_idx(_idx(base, f"emnist-balanced-{tag}-images-idx3-ubyte"))
                labs = read_idx(_idx(base, f"emnist-balanced-{tag}-labels-idx1-ubyte"))
            except DataError as exc:
                raise DataError(f"{exc} {HOW['emnist']}") from exc
            # EMNIST's raw arrays are transposed; bright ink already
            parts[split] = (np.ascontiguousarray(imgs.transpose(0, 2, 1)[:, None] / 255.0, np.float32),
                            labs.astype(np.int64))
        train, valid = _split(*parts["train"], n_valid=min(5000, len(parts["train"][0]) // 10))
        return {"train": train, "valid": valid, "test": parts["test"]}, EMNIST_BALANCED, "official balanced split"
    if name == "cifar10":
        folder = os.path.join(root, "cifar-10-batches-py")
        if not os.path.isdir(folder):
            raise DataError(f"missing data folder {folder}. {HOW['cifar10']}")
        from torchvision.datasets import CIFAR10  # the format is torchvision's own (pickled batches)
        tr, te = CIFAR10(root, train=True, download=False), CIFAR10(root, train=False, download=False)
        xtr = tr.data.transpose(0, 3, 1, 2).astype(np.float32) / 255.0
        train, valid = _split(xtr, np.array(tr.targets), 5000)
        return ({"train": train, "valid": valid,
                 "test": (te.data.transpose(0, 3, 1, 2).astype(np.float32) / 255.0, np.array(te.targets))},
                list(tr.classes), "official 50k/10k; 5k of train held out for validation")
    raise DataError(f"unknown dataset {name!r}")


def _idx(base, stem):
    plain = os.path.join(base, stem)
    return plain if os.path.exists(plain) else plain + ".gz"
