"""Training loop, devices, checkpoints and reports shared by the torch tasks."""
import time

import numpy as np

from fastnn import plots
from fastnn.atomic import atomic_path
from fastnn.tasks import TaskError


def require_torch():
    try:
        import torch
        import torchvision  # noqa: F401
    except ImportError as exc:
        raise TaskError(f"this task needs the torch extra ({exc}); run `python scripts/install_torch.py`") from exc
    return torch


def device(name):
    """'auto' -> cuda when available, else cpu; 'cuda' without a GPU is an error."""
    torch = require_torch()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise TaskError("--device cuda asked for, but torch sees no CUDA device")
    return torch.device(name)


def save_state(model, path):
    """state_dict written atomically (temp file, then rename)."""
    torch = require_torch()
    with atomic_path(path, ".pt") as tmp:
        torch.save(model.state_dict(), tmp)
    return path


def load_state(model, path):
    """Load a state_dict with weights_only=True; a wrong or corrupt file is a clear TaskError."""
    torch = require_torch()
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(state)
    except FileNotFoundError:
        raise TaskError(f"checkpoint {path} not found") from None
    except Exception as exc:
        raise TaskError(f"{path}: not a checkpoint of this model ({type(exc).__name__}: {exc})") from exc
    return model


def channels_last(t):
    """Image batches (n, C, H, W) and conv models in NHWC layout: on CPU oneDNN runs the small CNNs here
    about 2x faster that way (a training batch of 128 for the OCR glyph CNN: 136 -> 63-77 ms). Other tensors
    and models without 4-d weights pass through unchanged."""
    torch = require_torch()
    if isinstance(t, torch.Tensor):
        return t.contiguous(memory_format=torch.channels_last) if t.dim() == 4 else t
    return t.to(memory_format=torch.channels_last)


def predict(model, x, dev, batch=512):
    torch = require_torch()
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            xb = channels_last(torch.as_tensor(x[i:i + batch]).to(dev))
            out.append(model(xb).argmax(1).cpu().numpy())
    return np.concatenate(out) if out else np.zeros(0, np.int64)


def train(model, data, dev, epochs, lr, batch, rng, progress=None, optimiser="adamw", augment=None,
          loss_reduction="mean", sampler_rank=None, label_smoothing=0.0):
    """Mini-batch training on numpy arrays. Returns per-epoch history (loss, train/valid accuracy, seconds).

    sampler_rank: (rank, world) to train on this rank's DistributedSampler shard.
    """
    torch = require_torch()
    import torch.nn.functional as F
    x, y = data["train"]
    X, Y = torch.as_tensor(x), torch.as_tensor(y)
    channels_last(model.to(dev))
    if optimiser == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=lr)
        sched = None
    else:
        opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
        steps = epochs * ((len(X) + batch - 1) // batch)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    gen = torch.Generator().manual_seed(int(rng.integers(2**31)))
    hist = {k: [] for k in ("train_loss", "train_acc", "valid_acc", "seconds")}
    for epoch in range(epochs):
        t0 = time.perf_counter()
        model.train()
        if sampler_rank is not None:
            from torch.utils.data import DistributedSampler
            sampler = DistributedSampler(range(len(X)), num_replicas=sampler_rank[1], rank=sampler_rank[0],
                                         shuffle=True, seed=int(rng.integers(2**31)))
            sampler.set_epoch(epoch)
            order = torch.as_tensor(list(iter(sampler)))
        else:
            order = torch.randperm(len(X), generator=gen)
        total, correct = 0.0, 0
        for i in range(0, len(order), batch):
            idx = order[i:i + batch]
            xb, yb = X[idx], Y[idx]
            if augment is not None:
                xb = augment(xb, gen)
            xb, yb = channels_last(xb.to(dev)), yb.to(dev)
            out = model(xb)
            loss = F.cross_entropy(out, yb, reduction=loss_reduction, label_smoothing=label_smoothing)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
            total += loss.item() * (1 if loss_reduction == "sum" else len(idx))
            correct += int((out.argmax(1) == yb).sum())
        hist["seconds"].append(time.perf_counter() - t0)
        hist["train_loss"].append(total / len(order))
        hist["train_acc"].append(correct / len(order))
        xv, yv = data["valid"]
        hist["valid_acc"].append(float((predict(model, xv, dev) == yv).mean()) if len(yv) else None)
        if progress is not None:
            progress.update(1)
            progress.set_postfix(valid=f"{hist['valid_acc'][-1]:.3f}")
    return hist


def report(ctx, name, model, data, classes, hist, dev, extra=None):
    """Curves, confusion matrix, checkpoint and metrics.json for a trained classifier."""
    plots.curves(ctx.path(f"{name}_accuracy.png"), {"train": hist["train_acc"], "valid": hist["valid_acc"]},
                 "accuracy", name)
    plots.curves(ctx.path(f"{name}_loss.png"), {"train": hist["train_loss"]}, "loss", name)
    xt, yt = data["test"]
    pred = predict(model, xt, dev)
    cm = plots.confusion_matrix(yt, pred, len(classes))
    plots.confusion(ctx.path(f"{name}_confusion.png"), cm, classes, f"{name}: test confusion")
    save_state(model, ctx.path(f"{name}.pt"))
    metrics = {"train_acc": hist["train_acc"][-1], "valid_acc": hist["valid_acc"][-1],
               "test_acc": float((pred == yt).mean()), "epochs": len(hist["seconds"]),
               "epoch_seconds": float(np.median(hist["seconds"])), "device": str(dev),
               "train_samples": int(len(data["train"][1])), "test_samples": int(len(yt)),
               "top_confusions": plots.top_confusions(cm, classes, 5), "history": hist}
    metrics.update(extra or {})
    return metrics


def shift_augment(max_shift=2):
    """Random integer translations (padding-free roll) of a batch (n, C, H, W)."""
    torch = require_torch()

    def aug(x, gen):
        dy, dx = (torch.randint(-max_shift, max_shift + 1, (2,), generator=gen)).tolist()
        return torch.roll(x, shifts=(dy, dx), dims=(2, 3))
    return aug


def affine_augment(rotate=0.15, shear=0.2, scale=0.12, shift=0.1):
    """Random small affine maps (rotation and shear in radians, relative scale, shift as a fraction of
    the half-width) of a batch (n, C, H, W); what falls outside is zero (the background)."""
    torch = require_torch()
    import torch.nn.functional as F

    def aug(x, gen):
        n = x.shape[0]
        u = torch.rand(n, 5, generator=gen) * 2 - 1
        ang, sh = u[:, 0] * rotate, u[:, 1] * shear
        sx, sy = 1 + u[:, 2] * scale, 1 + u[:, 3] * scale
        cos, sin = torch.cos(ang), torch.sin(ang)
        theta = torch.zeros(n, 2, 3)
        theta[:, 0, 0] = cos / sx
        theta[:, 0, 1] = (-sin + sh) / sx
        theta[:, 1, 0] = sin / sy
        theta[:, 1, 1] = cos / sy
        theta[:, :, 2] = (torch.rand(n, 2, generator=gen) * 2 - 1) * shift
        grid = F.affine_grid(theta, x.shape, align_corners=False)
        return F.grid_sample(x, grid, align_corners=False, padding_mode="zeros")
    return aug
