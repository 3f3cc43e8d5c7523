"""Task `finetune` (seed Q7.2.1): Flowers 17, squeezenet1_1 fine-tuned from ImageNet weights vs a scratch CNN."""
import hashlib
import os

import numpy as np
from PIL import Image

from fastnn.tasks import TaskError

from . import common, models

SQUEEZENET_FILE = "squeezenet1_1-b8a52dc0.pth"
SQUEEZENET_SHA256 = "b8a52dc049b60e4b6ab68ad0df457362afab8b6304b2febdc1650a5dab4d7e7b"
CLASSES = ["Daffodil", "Snowdrop", "Lily of the Valley", "Bluebell", "Crocus", "Iris", "Tigerlily", "Tulip",
           "Fritillary", "Sunflower", "Daisy", "Colt's Foot", "Dandelion", "Cowslip", "Buttercup", "Windflower",
           "Pansy"]
MEAN, STD = np.array([0.485, 0.456, 0.406], np.float32), np.array([0.229, 0.224, 0.225], np.float32)


def load_split(root, split, side):
    """Images of flowers17/<split>/<k>/ resized (shorter side `side`, centre-cropped square) and labels k.

    Labels come from the folder names as integers, not from a string sort of them (ImageFolder would
    order '0', '1', '10', ... and shift the classes)."""
    folder = os.path.join(root, "flowers17", split)
    if not os.path.isdir(folder):
        raise TaskError(f"missing data folder {folder}: Flowers 17 ships in the shared data folder; pass --data")
    xs, ys = [], []
    for name in sorted(os.listdir(folder), key=lambda n: int(n) if n.isdigit() else 1 << 30):
        if not name.isdigit():
            continue
        for f in sorted(os.listdir(os.path.join(folder, name))):
            try:
                with Image.open(os.path.join(folder, name, f)) as im:
                    im = im.convert("RGB")
                    s = side / min(im.size)
                    im = im.resize((max(side, round(im.width * s)), max(side, round(im.height * s))), Image.BILINEAR)
                    left, top = (im.width - side) // 2, (im.height - side) // 2
                    xs.append(np.asarray(im.crop((left, top, left + side, top + side)), np.uint8))
                    ys.append(int(name))
            except OSError:
                continue  # an unreadable image is skipped, not fatal
    if not xs:
        raise TaskError(f"no images found under {folder}")
    return np.stack(xs), np.array(ys, np.int64)


def to_tensor_array(x):
    return ((x.astype(np.float32) / 255.0 - MEAN) / STD).transpose(0, 3, 1, 2).copy()


def flower_augment(crop):
    """Random resized crop (scale 0.6-1) to `crop` px, horizontal flip, brightness/contrast jitter."""
    torch = common.require_torch()
    import torch.nn.functional as F

    def aug(x, gen):
        n, _, h, w = x.shape
        s = torch.empty(n).uniform_(0.6, 1.0, generator=gen).sqrt()
        cx = torch.empty(n).uniform_(-1, 1, generator=gen) * (1 - s)
        cy = torch.empty(n).uniform_(-1, 1, generator=gen) * (1 - s)
        flip = torch.where(torch.rand(n, generator=gen) < 0.5, -1.0, 1.0)
        theta = torch.zeros(n, 2, 3)
        theta[:, 0, 0], theta[:, 1, 1] = s * flip, s
        theta[:, 0, 2], theta[:, 1, 2] = cx, cy
        grid = F.affine_grid(theta, (n, 3, crop, crop), align_corners=False)
        out = F.grid_sample(x, grid, align_corners=False, padding_mode="reflection")
        gain = 1 + 0.2 * (torch.rand(n, 1, 1, 1, generator=gen) * 2 - 1)
        return out * gain
    return aug


def pretrained_path():
    torch = common.require_torch()
    return os.path.join(torch.hub.get_dir(), "checkpoints", SQUEEZENET_FILE)


def load_pretrained(net, path):
    """ImageNet weights into squeezenet (all but the new classifier). Returns whether the file is official."""
    torch = common.require_torch()
    with open(path, "rb") as fh:
        official = hashlib.sha256(fh.read()).hexdigest() == SQUEEZENET_SHA256
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise TaskError(f"{path}: not a loadable state_dict ({exc})") from exc
    state = {k: v for k, v in state.items() if not k.startswith("classifier.1.")}
    missing, unexpected = net.load_state_dict(state, strict=False)
    if unexpected or set(missing) - {"classifier.1.weight", "classifier.1.bias"}:
        raise TaskError(f"{path}: not squeezenet1_1 weights (missing {missing}, unexpected {unexpected})")
    return official


def run(ctx):
    a = ctx.args
    dev = common.device(a.device)
    rng = np.random.default_rng(ctx.seed)
    pad = a.size + a.size // 8
    data = {s: load_split(ctx.data_root, src, pad) for s, src in (("train", "train"), ("valid", "val"),
                                                                   ("test", "test"))}
    data = {k: (to_tensor_array(x), y) for k, (x, y) in data.items()}
    data["train"] = _limit_train(data["train"], a.max_train, rng)
    center = {k: (_center(x, a.size), y) for k, (x, y) in data.items()}
    center["train"] = data["train"]
    scratch = models.scratch_flowers(len(CLASSES))
    with ctx.tqdm(total=a.epochs, desc="scratch cnn") as bar:
        hist = common.train(scratch, center, dev, a.epochs, 2e-3, 32, rng, bar, augment=flower_augment(a.size))
    scratch_metrics = common.report(ctx, "scratch", scratch, center, CLASSES, hist, dev)
    metrics = {"dataset": "flowers17", "scratch": scratch_metrics, "classes": CLASSES}
    path = pretrained_path()
    if os.path.exists(path):
        net = models.squeezenet_finetune(len(CLASSES))
        official = load_pretrained(net, path)
        big = {k: (_resize(x, 224), y) for k, (x, y) in center.items()}
        big["train"] = (_resize(data["train"][0], 256), data["train"][1])
        with ctx.tqdm(total=a.finetune_epochs, desc="squeezenet fine-tune") as bar:
            fh = common.train(net, big, dev, a.finetune_epochs, 1e-3, 32, rng, bar, augment=flower_augment(224))
        ft = common.report(ctx, "squeezenet", net, big, CLASSES, fh, dev)
        metrics.update({k: ft[k] for k in ("train_acc", "valid_acc", "test_acc", "epochs", "epoch_seconds")})
        metrics.update(pretrained=True, pretrained_official_sha256=official, finetune=ft)
    else:
        print(f"ImageNet weights for squeezenet1_1 not found at {path} (torchvision's hub cache, $TORCH_HOME); "
              "fine-tuning skipped, the scratch CNN's results are reported. Copy "
              f"{SQUEEZENET_FILE} there to fine-tune.")
        metrics.update({k: scratch_metrics[k] for k in ("train_acc", "valid_acc", "test_acc", "epochs",
                                                         "epoch_seconds")})
        metrics.update(pretrained=False, pretrained_missing=path)
    ctx.write_metrics(metrics)
    print(f"flowers17: scratch CNN test accuracy {scratch_metrics['test_acc']:.3f}"
          + (f", squeezenet fine-tuned {metrics['test_acc']:.3f}" if metrics["pretrained"] else ""))
    return metrics


def _limit_train(train, n, rng):
    if n and n < len(train[1]):
        idx = rng.permutation(len(train[1]))[:n]
        return train[0][idx], train[1][idx]
    return train


def _center(x, size):
    off = (x.shape[2] - size) // 2
    return np.ascontiguousarray(x[:, :, off:off + size, off:off + size])


def _resize(x, size):
    torch = common.require_torch()
    import torch.nn.functional as F
    return F.interpolate(torch.from_numpy(x), size=(size, size), mode="bilinear", align_corners=False).numpy()
