"""Torch backends as tasks: `torch-fc`, `cnn --dataset ...`, `finetune` (Flowers 17). torch is imported
only when a task runs, so the plugin loads (and the tasks are listed) without the torch extra."""
import time

import numpy as np

from fastnn.hookspecs import hookimpl
from fastnn.tasks import Task, TaskError

DATASETS = ("nist36", "handwriting36", "mnist", "emnist", "cifar10")


def _common_args(p):
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--max-train", type=int, default=0, help="use at most this many training samples (0: all)")


def _limit(data, n, rng):
    if n and n < len(data["train"][1]):
        idx = rng.permutation(len(data["train"][1]))[:n]
        data["train"] = (data["train"][0][idx], data["train"][1][idx])
    return data


def _load(name, ctx):
    from fastnn.data import DataError

    from . import datasets
    try:
        return datasets.load(name, ctx.data_root)
    except DataError as exc:
        raise TaskError(str(exc)) from exc


# --------------------------------------------------------------------------- torch-fc
def fc_args(p):
    _common_args(p)
    p.add_argument("--dataset", default="auto", choices=["auto", "nist36", "handwriting36"])
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--lr", type=float, default=0.01, help="SGD on the summed batch loss, as the numba mlp")
    p.add_argument("--batch-size", type=int, default=32)


def run_fc(ctx):
    from fastnn.data.formats import find_nist36

    from . import common, models
    torch = common.require_torch()
    a = ctx.args
    name = a.dataset if a.dataset != "auto" else ("nist36" if find_nist36(ctx.data_root) else "handwriting36")
    data, classes, split = _load(name, ctx)
    data = {k: (1.0 - x, y) for k, (x, y) in data.items()}  # back to ink-dark, exactly what `mlp` sees
    data = _limit(data, a.max_train, ctx.rng)
    dev = common.device(a.device)
    net = models.fc36()
    _init_like_fastnn(net, ctx.seed, torch)
    with ctx.tqdm(total=a.epochs, desc="torch-fc") as bar:
        hist = common.train(net, data, dev, a.epochs, a.lr, a.batch_size, np.random.default_rng(ctx.seed), bar,
                            optimiser="sgd", loss_reduction="sum")
    metrics = common.report(ctx, "torch_fc", net, data, classes, hist, dev, {"dataset": name, "split": split})
    ctx.write_metrics(metrics)
    print(f"torch-fc on {name}: train {metrics['train_acc']:.3f} valid {metrics['valid_acc']:.3f} "
          f"test {metrics['test_acc']:.3f} ({metrics['epoch_seconds'] * 1e3:.0f} ms/epoch)")
    return metrics


def _init_like_fastnn(net, seed, torch):
    """Xavier-uniform weights and zero biases drawn exactly as fastnn.model.mlp draws them."""
    from fastnn.model import mlp
    ref = mlp([1024, 64, 36], rng=np.random.default_rng(seed))
    with torch.no_grad():
        for lin, layer in zip([m for m in net if isinstance(m, torch.nn.Linear)], ref.layers):
            lin.weight.copy_(torch.from_numpy(layer.W.T.copy()))
            lin.bias.zero_()


# --------------------------------------------------------------------------- cnn
CNN_EPOCHS = {"handwriting36": 16}  # many writers, few samples each: it keeps improving past 6 epochs
def cnn_args(p):
    _common_args(p)
    p.add_argument("--dataset", default="handwriting36", choices=DATASETS)
    p.add_argument("--epochs", type=int, default=None,
                   help="default: %s, else 6" % ", ".join(f"{k} {v}" for k, v in CNN_EPOCHS.items()))
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--ddp", action="store_true", help="train in 2 processes with torch.distributed (gloo)")
    p.add_argument("--world-size", type=int, default=2)
    p.add_argument("--eval-pages", action="store_true",
                   help="(emnist) classify the ocr task's character boxes of the sample pages")


def run_cnn(ctx):
    from . import common, models
    common.require_torch()
    a = ctx.args
    data, classes, split = _load(a.dataset, ctx)
    data = _limit(data, a.max_train, ctx.rng)
    dev = common.device(a.device)
    x0 = data["train"][0]
    net = models.small_cnn(x0.shape[1], len(classes), x0.shape[2])
    epochs = a.epochs or CNN_EPOCHS.get(a.dataset, 6)
    # handwriting: small rotations, shears and scalings are what writers vary; photos (CIFAR): shifts
    augment = common.affine_augment() if x0.shape[1] == 1 else common.shift_augment(2)
    t0 = time.perf_counter()
    if a.ddp:
        from .ddp import train_ddp
        hist, same = train_ddp(net, data, epochs, a.lr, a.batch_size, ctx.seed, a.world_size, ctx.out)
        extra = {"ddp_world_size": a.world_size, "ddp_ranks_identical": same}
    else:
        with ctx.tqdm(total=epochs, desc=f"cnn {a.dataset}") as bar:
            hist = common.train(net, data, dev, epochs, a.lr, a.batch_size, np.random.default_rng(ctx.seed),
                                bar, augment=augment, label_smoothing=0.05)
        extra = {}
    extra.update({"dataset": a.dataset, "split": split, "train_seconds": time.perf_counter() - t0})
    metrics = common.report(ctx, f"cnn_{a.dataset}", net, data, classes, hist, dev if not a.ddp else "cpu", extra)
    if len(classes) == 36:
        metrics["test_acc_merging_twins"] = twin_accuracy(net, data["test"], classes, dev if not a.ddp else "cpu")
    if a.eval_pages:
        from .pages import eval_pages
        metrics["pages"] = eval_pages(ctx, net, classes, dev if not a.ddp else "cpu")
    ctx.write_metrics(metrics)
    print(f"cnn on {a.dataset}: test accuracy {metrics['test_acc']:.4f} after {metrics['epochs']} epochs "
          f"({metrics['epoch_seconds']:.1f} s/epoch)")
    return metrics


TWINS = ("O0", "I1", "S5", "Z2", "B8", "G6")  # shapes that isolated characters cannot tell apart


def twin_accuracy(net, test, classes, dev):
    """Test accuracy counting letter/digit twins (O/0, I/1, S/5, Z/2, B/8, G/6) as one class: what the
    network gets right up to the ambiguity that only a word's context resolves."""
    from . import common
    x, y = test
    canon = np.arange(len(classes))
    for a, b in TWINS:
        canon[classes.index(b)] = classes.index(a)
    return float((canon[common.predict(net, x, dev)] == canon[y]).mean())


# --------------------------------------------------------------------------- finetune
def finetune_args(p):
    _common_args(p)
    p.add_argument("--epochs", type=int, default=25, help="epochs for the scratch CNN")
    p.add_argument("--finetune-epochs", type=int, default=8)
    p.add_argument("--size", type=int, default=128, help="scratch CNN input size (squeezenet uses 224)")


def run_finetune(ctx):
    from .flowers import run
    return run(ctx)


@hookimpl
def register_tasks(register):
    register(Task("torch-fc", "the NIST36 1024-64-36 network in torch (matches the numba mlp)", run_fc, fc_args))
    register(Task("cnn", "a CNN per dataset: nist36, handwriting36, mnist, emnist, cifar10", run_cnn, cnn_args))
    register(Task("finetune", "Flowers 17: squeezenet1_1 fine-tuning vs a scratch CNN", run_finetune,
                  finetune_args))
