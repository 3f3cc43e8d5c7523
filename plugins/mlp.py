"""Task `mlp` (seed Q3): the course network 1024 -> 64 sigmoid -> 36 softmax on the numba core."""
import statistics
import time

import numpy as np

from fastnn import plots
from fastnn.data.handwriting import load_36class
from fastnn.hookspecs import hookimpl
from fastnn.model import mlp
from fastnn.optim import SGD
from fastnn.tasks import Task, TaskError
from fastnn.train import TrainingDiverged, evaluate, fit


def add_arguments(p):
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--lr", type=float, default=0.01, help="SGD step on the summed batch loss")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--lr-sweep", action="store_true", help="also train at 10x and 0.1x the rate and overlay")
    p.add_argument("--max-train", type=int, default=0, help="use at most this many training samples (0: all)")


def _train(ctx, data, lr, epochs, batch, hidden, label):
    Xtr, ytr = data["train"].flat(), data["train"].labels
    rng = np.random.default_rng(ctx.seed)
    model = mlp([Xtr.shape[1], hidden, 36], rng=rng)
    init_W = model.layers[0].W.copy()
    with ctx.tqdm(total=epochs, desc=f"mlp {label}") as bar:
        try:
            hist = fit(model, Xtr, ytr, SGD(lr), epochs, batch, rng,
                       valid=(data["valid"].flat(), data["valid"].labels), progress=bar)
        except TrainingDiverged as exc:
            raise TaskError(f"training at lr={lr:g} diverged: {exc}") from exc
    return model, hist, init_W


def run(ctx):
    a = ctx.args
    data, dataset = load_36class(ctx.data_root)
    if a.max_train:
        data["train"] = data["train"].subset(ctx.rng.permutation(len(data["train"]))[:a.max_train])
    t0 = time.perf_counter()
    model, hist, init_W = _train(ctx, data, a.lr, a.epochs, a.batch_size, a.hidden, "best")
    plots.curves(ctx.path("accuracy.png"), {"train": hist["train_acc"], "valid": hist["valid_acc"]},
                 "accuracy", f"mlp on {dataset}")
    plots.curves(ctx.path("loss.png"), {"train": hist["train_loss"], "valid": hist["valid_loss"]},
                 "cross-entropy per sample", f"mlp on {dataset}")
    side = int(np.sqrt(init_W.shape[0]))
    plots.image_grid(ctx.path("weights_init.png"), init_W.T.reshape(-1, side, side), "layer 1 after init")
    plots.image_grid(ctx.path("weights_trained.png"), model.layers[0].W.T.reshape(-1, side, side),
                     "layer 1 after training")
    test = data["test"]
    pred = model.predict(test.flat())
    cm = plots.confusion_matrix(test.labels, pred, 36)
    plots.confusion(ctx.path("confusion.png"), cm, test.classes, "test confusion")
    off = cm.copy()
    np.fill_diagonal(off, 0)
    plots.confusion(ctx.path("confusion_offdiag.png"), off, test.classes, "test confusion, diagonal removed")
    test_loss, test_acc = evaluate(model, test.flat(), test.labels)
    metrics = {
        "dataset": dataset, "split": data["train"].info.get("split", "official"),
        "train_samples": len(data["train"]), "valid_samples": len(data["valid"]),
        "test_samples": len(test), "epochs": a.epochs, "lr": a.lr, "batch_size": a.batch_size,
        "train_acc": hist["train_acc"][-1], "valid_acc": hist["valid_acc"][-1], "test_acc": test_acc,
        "test_loss": test_loss, "epoch_seconds": statistics.median(hist["seconds"][1:] or hist["seconds"]),
        "first_epoch_seconds": hist["seconds"][0], "top_confusions": plots.top_confusions(cm, test.classes),
        "history": hist,
    }
    if a.lr_sweep:
        sweep = {f"lr={a.lr:g}": hist}
        for factor in (10, 0.1):
            lr = a.lr * factor
            try:
                _, h, _ = _train(ctx, data, lr, a.epochs, a.batch_size, a.hidden, f"lr {lr:g}")
            except TaskError as exc:
                print(f"lr sweep: {exc}")
                continue
            sweep[f"lr={lr:g}"] = h
        plots.curves(ctx.path("lr_sweep_acc.png"), {k: h["valid_acc"] for k, h in sweep.items()},
                     "validation accuracy", "learning-rate sweep")
        plots.curves(ctx.path("lr_sweep_loss.png"), {k: h["train_loss"] for k, h in sweep.items()},
                     "train loss per sample", "learning-rate sweep")
        metrics["lr_sweep"] = {k: {"valid_acc": h["valid_acc"][-1], "train_loss": h["train_loss"][-1]}
                               for k, h in sweep.items()}
    metrics["seconds"] = time.perf_counter() - t0
    model.save(ctx.path("model.npz"), classes="".join(test.classes))
    ctx.write_metrics(metrics)
    print(f"mlp on {dataset}: train {metrics['train_acc']:.3f}  valid {metrics['valid_acc']:.3f}  "
          f"test {test_acc:.3f}  ({metrics['epoch_seconds'] * 1e3:.0f} ms/epoch, {len(data['train'])} samples)")
    return metrics


@hookimpl
def register_tasks(register):
    register(Task("mlp", "NIST36 MLP 1024-64-36 (curves, lr sweep, weights, confusion)", run, add_arguments))
