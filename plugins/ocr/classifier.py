"""The 36-class glyph classifier for OCR: training data, backends (numba MLP, torch CNN) and a cache.

Training data: NIST36 when present, else UNIPEN + Chars74K + photo crops (writer-disjoint splits)
plus MNIST training digits, all rendered to the canonical glyph style. The sample pages are never used.
A 37th class, REJECT, is two characters written so close that they touch: the segmentation repairs
ask the classifier whether a box holds one character.
"""
import hashlib
import json
import os
import time

import numpy as np

from fastnn.atomic import atomic_path
from fastnn.config import CACHE_DIR
from fastnn.data import CLASSES36, DataError
from fastnn.data.formats import load_mnist
from fastnn.data.handwriting import load_36class

from . import glyph

GLYPH_VERSION = "skeleton-pen2.5-v1+pairs+wide"
MNIST_DIGITS = 12000  # MNIST adds digit writers; capped so digits do not swamp letters
PAIR_FRACTION = 0.12  # touching pairs added to the train and test splits, as a fraction of their size
WIDE_FRACTION = 0.08  # and single characters stretched wide: width alone must not mean "two"
REJECT = 36  # class index of "not one character"
MLP_LR = 5e-4  # the MLP backend's starting learning rate (Adam), decayed to 0 on a half cosine
N_OUT = 37


def _fingerprint(paths):
    """Hash of the glyph style and the data files' contents (~20 MB, milliseconds): a re-copied data
    folder with new mtimes keeps its cached classifier; changed data retrains it."""
    h = hashlib.sha256(GLYPH_VERSION.encode())
    for p in sorted(paths, key=os.path.basename):
        h.update(os.path.basename(p).encode())
        with open(p, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()[:16]


def _data_files(root):
    files = []
    for dirpath, _, names in os.walk(root):
        for n in names:
            if n.endswith((".npz", ".mat")) or "idx" in n:
                if "strokes" not in n and "flowers" not in dirpath:
                    files.append(os.path.join(dirpath, n))
    return files


def training_glyphs(root, cache_dir=CACHE_DIR, progress=None, mnist_digits=MNIST_DIGITS):
    """{'train','valid','test'} -> (glyphs (n,32,32), labels, source names); cached on disk."""
    data, dataset = load_36class(root)
    key = _fingerprint(_data_files(root)) + f"-{dataset}-m{mnist_digits}"
    path = os.path.join(cache_dir, f"glyphs-{key}.npz")
    if os.path.exists(path):
        try:
            with np.load(path, allow_pickle=False) as z:
                out = {s: (z[f"{s}_x"], z[f"{s}_y"], z[f"{s}_src"]) for s in ("train", "valid", "test")}
            return out, dataset, key
        except (OSError, KeyError, ValueError):
            pass  # a broken cache is rebuilt
    if mnist_digits and dataset == "handwriting36":
        try:
            mn = load_mnist(root, "train")
            sel = np.random.default_rng(0).permutation(len(mn))[:mnist_digits]
            imgs = mn.images[sel]
            labels = mn.labels[sel] + 26  # digits follow A-Z in the 36-class order
            data["train"].images = np.concatenate([data["train"].images,
                                                   np.pad(imgs, ((0, 0), (2, 2), (2, 2)), constant_values=1)])
            data["train"].labels = np.concatenate([data["train"].labels, labels])
            data["train"].groups = np.concatenate([data["train"].groups, np.array(["mnist:0"] * len(sel))])
        except DataError:
            pass  # MNIST is optional
    pair_rng = np.random.default_rng(1)
    n_pairs = {s: int(PAIR_FRACTION * len(d)) if s != "valid" else 0 for s, d in data.items()}
    n_wide = {s: int(WIDE_FRACTION * len(d)) if s != "valid" else 0 for s, d in data.items()}
    total = sum(len(d) + n_pairs[s] + n_wide[s] for s, d in data.items())
    bar = progress(total=total, desc="rendering training glyphs") if progress else None
    out = {}
    for split, ds in data.items():
        src = np.array([g.split(":")[0] for g in ds.groups]) if ds.groups is not None else \
            np.array([dataset] * len(ds))
        x, y = glyph.render_dataset(ds.images, bar), ds.labels.astype(np.int64)
        if n_pairs[split]:  # pairs of one split's characters: writer-disjoint like the characters
            pairs = _pair_glyphs(ds.images, n_pairs[split], pair_rng, bar)
            x = np.concatenate([x, pairs])
            y = np.concatenate([y, np.full(len(pairs), REJECT)])
            src = np.concatenate([src, np.array(["touching_pairs"] * len(pairs))])
        if n_wide[split]:
            pick = pair_rng.choice(len(ds), n_wide[split], replace=False)
            stretches = [glyph.wide_stretch(img, pair_rng) for img in ds.images[pick]]
            wide = glyph.render_dataset(ds.images[pick], bar, stretches)
            x = np.concatenate([x, wide])
            y = np.concatenate([y, ds.labels[pick].astype(np.int64)])
            src = np.concatenate([src, np.array(["wide_singles"] * len(pick))])
        out[split] = (x, y, src)
    if bar:
        bar.close()
    with atomic_path(path, ".npz") as tmp:
        np.savez(tmp, **{f"{s}_{k}": v for s, t in out.items() for k, v in zip(("x", "y", "src"), t)})
    return out, dataset, key


def _pair_glyphs(images, n, rng, progress=None):
    """n canonical glyphs of random pairs of `images` written touching (the REJECT class)."""
    out = np.empty((n, glyph.SIZE, glyph.SIZE), np.float32)
    for i in range(n):
        a, b = rng.integers(0, len(images), 2)
        out[i] = glyph.render_mask(glyph.touching_pair(images[a], images[b], rng))
        if progress is not None:
            progress.update(1)
    return out


# --------------------------------------------------------------------------- backends
def torch_available():
    try:
        import torch  # noqa: F401
        return True
    except ImportError:
        return False


class Reader:
    """What OCR asks of a backend: read(glyphs) -> (probabilities of the 36 characters, P(one character))."""
    revision = ""  # bumped when training changes, so a model cached by older code is not used

    def read(self, glyphs):
        p = self._softmax(glyphs)
        p36 = p[:, :REJECT]
        one = p36.sum(1)
        return p36 / np.maximum(one, 1e-12)[:, None], one

    def predict_proba(self, glyphs):
        """Probabilities of the 36 characters (given that the glyph is one)."""
        return self.read(glyphs)[0]


class MLPBackend(Reader):
    """numba core: 1024-512-256-37 relu MLP trained with Adam on the canonical glyphs, the learning rate
    falling from 5e-4 to 0 on a half cosine (at a constant rate validation accuracy swung 0.78-0.81)."""
    name = "mlp"
    revision = "2"

    def __init__(self, model=None):
        self.model = model

    def fit(self, splits, rng, epochs=30, progress=None):
        from fastnn.model import mlp
        from fastnn.optim import Adam
        from fastnn.train import fit
        x, y, _ = splits["train"]
        xv, yv, _ = splits["valid"]
        self.model = mlp([1024, 512, 256, N_OUT], hidden="relu", rng=rng)
        bar = progress(total=epochs, desc="training mlp") if progress else None
        hist = {"valid_acc": []}
        opt = Adam(MLP_LR)
        for epoch in range(epochs):
            opt.lr = MLP_LR * 0.5 * (1 + np.cos(np.pi * epoch / epochs))
            # mild shift augmentation: each epoch sees the glyphs moved by up to 1 px
            dy, dx = rng.integers(-1, 2, 2)
            Xa = np.roll(np.roll(x, dy, 1), dx, 2).reshape(len(x), -1)
            h = fit(self.model, Xa, y, opt, 1, 64, rng, valid=(xv.reshape(len(xv), -1), yv))
            hist["valid_acc"].append(h["valid_acc"][0])
            if bar:
                bar.update(1)
        if bar:
            bar.close()
        return hist

    def _softmax(self, glyphs):
        return self.model.outputs(np.asarray(glyphs, np.float32).reshape(len(glyphs), -1))

    def save(self, path):
        self.model.save(path, backend=self.name)

    @classmethod
    def load(cls, path):
        from fastnn.model import Sequential
        return cls(Sequential.load(path))


class CNNBackend(Reader):
    """torch: a small VGG-style CNN with batch-norm, trained with random affine augmentation."""
    name = "cnn"

    def __init__(self, net=None, device="cpu"):
        self.net, self.device = net, device

    @staticmethod
    def build():
        from torch import nn

        def block(i, o):
            return [nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True)]
        return nn.Sequential(*block(1, 32), nn.MaxPool2d(2), *block(32, 64), nn.MaxPool2d(2),
                             *block(64, 128), nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.3),
                             nn.Linear(128 * 16, 256), nn.ReLU(inplace=True), nn.Dropout(0.3), nn.Linear(256, N_OUT))

    def fit(self, splits, rng, epochs=8, progress=None, batch=128):
        import torch
        import torch.nn.functional as F

        from ..torch_tasks.common import affine_augment, channels_last
        torch.manual_seed(int(rng.integers(2**31)))
        x, y, _ = splits["train"]
        X = torch.from_numpy(1.0 - x[:, None])  # ink as 1: zero padding is paper
        Y = torch.from_numpy(y)
        self.net = channels_last(self.build())
        opt = torch.optim.AdamW(self.net.parameters(), lr=2e-3, weight_decay=1e-4)
        steps = epochs * ((len(X) + batch - 1) // batch)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
        bar = progress(total=steps, desc="training cnn") if progress else None
        hist = {"valid_acc": [], "seconds": []}
        gen = torch.Generator().manual_seed(int(rng.integers(2**31)))
        augment = affine_augment()
        for epoch in range(epochs):
            t0 = time.perf_counter()
            self.net.train()
            perm = torch.randperm(len(X), generator=gen)
            for i in range(0, len(X), batch):
                idx = perm[i:i + batch]
                xb = channels_last(augment(X[idx], gen))
                loss = F.cross_entropy(self.net(xb), Y[idx], label_smoothing=0.05)
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                if bar:
                    bar.update(1)
            hist["seconds"].append(time.perf_counter() - t0)
            xv, yv, _ = splits["valid"]
            hist["valid_acc"].append(float((self.predict_proba(xv).argmax(1) == yv).mean()))
        if bar:
            bar.close()
        return hist

    def _softmax(self, glyphs):
        import torch

        from ..torch_tasks.common import channels_last
        self.net.eval()
        with torch.no_grad():
            x = channels_last(torch.from_numpy(1.0 - np.asarray(glyphs, np.float32)[:, None]))
            out = [torch.softmax(self.net(x[i:i + 1024]), 1) for i in range(0, len(x), 1024)]
        return torch.cat(out).numpy() if out else np.zeros((0, N_OUT), np.float32)

    def save(self, path):
        import torch
        with atomic_path(path, ".pt") as tmp:
            torch.save(self.net.state_dict(), tmp)

    @classmethod
    def load(cls, path):
        import torch

        from ..torch_tasks.common import channels_last
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            net = cls.build()
            net.load_state_dict(state)
            channels_last(net)
        except Exception as exc:
            raise DataError(f"{path}: not a valid glyph CNN checkpoint ({exc}); delete it to retrain") from exc
        return cls(net)


BACKENDS = {"mlp": (MLPBackend, "npz"), "cnn": (CNNBackend, "pt")}


def per_source_accuracy(backend, split):
    """Held-out accuracy per source set (the reading, argmax of the 36 characters); for the touching
    pairs, the fraction rejected (P(one character) < 0.5); `one_char_rejected`: characters rejected
    (`wide_singles_rejected`: of those stretched wide)."""
    x, y, src = split
    p, one = backend.read(x)
    pred, rejected = p.argmax(1), one < 0.5
    out = {s: float(rejected[src == s].mean() if s == "touching_pairs" else (pred[src == s] == y[src == s]).mean())
           for s in np.unique(src)}
    chars = y != REJECT
    out["all"] = float((pred[chars] == y[chars]).mean())
    out["one_char_rejected"] = float(rejected[chars].mean())
    if (src == "wide_singles").any():
        out["wide_singles_rejected"] = float(rejected[src == "wide_singles"].mean())
    return out


def get_classifier(root, which="auto", cache_dir=CACHE_DIR, progress=None, seed=0, retrain=False, epochs=None):
    """A trained backend: from the cache when present, else trained now and cached. Returns (backend, info)."""
    if which == "auto":
        which = "cnn" if torch_available() else "mlp"
    if which not in BACKENDS:
        raise ValueError(f"unknown model {which!r}; choose auto, mlp or cnn")
    if which == "cnn" and not torch_available():
        raise DataError("--model cnn needs torch: run `python scripts/install_torch.py` (or use --model mlp)")
    cls, ext = BACKENDS[which]
    splits, dataset, key = training_glyphs(root, cache_dir, progress)
    config = f"{which}{cls.revision}-{key}-s{seed}-e{epochs}"
    path = os.path.join(cache_dir, f"ocr-{config}.{ext}")
    meta_path = path + ".json"
    if os.path.exists(path) and os.path.exists(meta_path) and not retrain:
        with open(meta_path) as fh:
            info = json.load(fh)
        return cls.load(path), info
    rng = np.random.default_rng(seed)
    backend = cls()
    t0 = time.perf_counter()
    kw = {"epochs": epochs} if epochs else {}
    hist = backend.fit(splits, rng, progress=progress, **kw)
    info = {"model": which, "dataset": dataset, "train_seconds": time.perf_counter() - t0,
            "train_samples": int(len(splits["train"][1])), "valid_acc_history": hist["valid_acc"],
            "held_out_test_acc": per_source_accuracy(backend, splits["test"]),
            "classes": "".join(CLASSES36), "cache_key": config}
    os.makedirs(cache_dir, exist_ok=True)
    backend.save(path)
    with atomic_path(meta_path) as tmp, open(tmp, "w") as fh:
        json.dump(info, fh, indent=2)
    return backend, info
