import gzip
import json
import os

import numpy as np
import pytest
from PIL import Image

from fastnn import cli
from fastnn.tasks import TaskError

torch = pytest.importorskip("torch")
pytest.importorskip("torchvision")

from fastnn_plugins.torch_tasks import common, flowers, models  # noqa: E402


def _write_idx(path, arr):
    arr = np.asarray(arr, np.uint8)
    header = bytes([0, 0, 8, arr.ndim]) + np.array(arr.shape, ">u4").tobytes()
    with gzip.open(path, "wb") as fh:
        fh.write(header + arr.tobytes())


def _standin_digits(rng, n):
    """Bright-on-dark 28x28 'digits': class k is a bar at row 3 + 2k (learnable in one epoch)."""
    y = rng.integers(0, 10, n)
    x = rng.integers(0, 30, (n, 28, 28))
    for i, k in enumerate(y):
        x[i, 3 + 2 * k:5 + 2 * k, 4:24] = 250
    return x, y


def test_torch_fc_matches_numba_mlp_full_batch(rng):
    """Same init, same summed loss, full-batch SGD: torch and the numba core end with the same weights."""
    from fastnn.model import mlp
    from fastnn.optim import SGD
    from fastnn.train import fit
    from fastnn_plugins.torch_tasks import _init_like_fastnn
    X = rng.random((64, 1024), dtype=np.float32)
    y = rng.integers(0, 36, 64)
    ours = mlp([1024, 64, 36], rng=np.random.default_rng(5))
    fit(ours, X, y, SGD(0.01), epochs=3, batch_size=64, rng=np.random.default_rng(0))
    net = models.fc36()
    _init_like_fastnn(net, 5, torch)
    data = {"train": (X.reshape(64, 1, 32, 32), y), "valid": (X[:0].reshape(0, 1, 32, 32), y[:0])}
    common.train(net, data, torch.device("cpu"), 3, 0.01, 64, np.random.default_rng(0), optimiser="sgd",
                 loss_reduction="sum")
    np.testing.assert_allclose(net[1].weight.detach().numpy().T, ours.layers[0].W, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(net[3].bias.detach().numpy(), ours.layers[1].b, rtol=1e-4, atol=1e-5)


def test_cnn_on_mnist_standin_via_cli(tmp_path, rng):
    root = tmp_path / "data"
    (root / "mnist").mkdir(parents=True)
    for tag, n in (("train", 6000), ("t10k", 300)):
        x, y = _standin_digits(rng, n)
        _write_idx(root / "mnist" / f"{tag}-images-idx3-ubyte.gz", x)
        _write_idx(root / "mnist" / f"{tag}-labels-idx1-ubyte.gz", y)
    out = tmp_path / "out"
    assert cli.main(["run", "cnn", "--dataset", "mnist", "--data", str(root), "--out", str(out), "--epochs", "2",
                     "--max-train", "1200", "--batch-size", "32", "--no-progress", "--device", "cpu"]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert {"dataset", "train_acc", "valid_acc", "test_acc", "epochs", "epoch_seconds"} <= set(m)
    assert m["test_acc"] > 0.5 and m["epochs"] == 2
    assert (out / "cnn_mnist_confusion.png").exists()
    net = models.small_cnn(1, 10, 28)
    common.load_state(net, str(out / "cnn_mnist.pt"))  # weights_only round trip
    (tmp_path / "bad.pt").write_bytes(b"garbage")
    with pytest.raises(TaskError, match="not a checkpoint of this model"):
        common.load_state(net, str(tmp_path / "bad.pt"))
    with pytest.raises(TaskError, match="not a checkpoint of this model"):
        common.load_state(models.small_cnn(1, 36, 32), str(out / "cnn_mnist.pt"))


def test_missing_datasets_say_how_to_supply_them(tmp_path, capsys):
    assert cli.main(["run", "cnn", "--dataset", "emnist", "--data", str(tmp_path), "--out", str(tmp_path / "o"),
                     "--no-progress"]) == 1
    assert "EMNIST/raw" in capsys.readouterr().err
    assert cli.main(["run", "cnn", "--dataset", "cifar10", "--data", str(tmp_path), "--out", str(tmp_path / "o"),
                     "--no-progress"]) == 1
    assert "cifar-10-batches-py" in capsys.readouterr().err


def test_emnist_standin_and_page_evaluation(tmp_path, rng, shared_data):
    root = tmp_path / "data"
    raw = root / "EMNIST" / "raw"
    raw.mkdir(parents=True)
    for tag, n in (("train", 470), ("test", 94)):
        x, y = _standin_digits(rng, n)
        _write_idx(raw / f"emnist-balanced-{tag}-images-idx3-ubyte.gz", x.transpose(0, 2, 1))
        _write_idx(raw / f"emnist-balanced-{tag}-labels-idx1-ubyte.gz", y)
    os.symlink(os.path.join(shared_data, "images"), root / "images")
    out = tmp_path / "out"
    assert cli.main(["run", "cnn", "--dataset", "emnist", "--data", str(root), "--out", str(out), "--epochs", "1",
                     "--eval-pages", "--no-progress", "--device", "cpu"]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert set(m["pages"]) == {"01_list.jpg", "02_letters.jpg", "03_haiku.jpg", "04_deep.jpg"}
    assert m["pages"]["04_deep.jpg"]["detected"] == 41 and "char_acc" in m["pages"]["04_deep.jpg"]


def test_ddp_two_ranks_end_identical(tmp_path, rng):
    from fastnn_plugins.torch_tasks.ddp import train_ddp
    x, y = _standin_digits(rng, 256)
    data = {"train": (x[:, None].astype(np.float32) / 255, y), "valid": (x[:32, None].astype(np.float32) / 255,
                                                                         y[:32])}
    net = models.small_cnn(1, 10, 28)
    hist, same = train_ddp(net, data, 1, 1e-3, 32, 0, 2, str(tmp_path))
    assert same and len(hist["seconds"]) == 1


def test_flowers_class_order_and_pretrained_standin(tmp_path, rng, monkeypatch):
    root = tmp_path / "data" / "flowers17"
    for split in ("train", "val", "test"):
        for k in range(17):
            d = root / split / str(k)
            d.mkdir(parents=True)
            for j in range(2 if split == "train" else 1):
                colour = (15 * k, 255 - 15 * k, (40 * j) % 255)
                Image.new("RGB", (60, 50), colour).save(d / f"img_{j}.jpg")
    x, y = flowers.load_split(str(tmp_path / "data"), "val", 32)
    assert list(y) == list(range(17))  # folder '10' is class 10, not the third in string order
    assert np.asarray(x[10]).mean(axis=(0, 1))[0] == pytest.approx(150, abs=4)
    hub = tmp_path / "hub"
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(hub))
    (hub / "checkpoints").mkdir(parents=True)
    from torchvision.models import squeezenet1_1
    standin = squeezenet1_1(weights=None).state_dict()
    torch.save(standin, hub / "checkpoints" / flowers.SQUEEZENET_FILE)
    out = tmp_path / "out"
    assert cli.main(["run", "finetune", "--data", str(tmp_path / "data"), "--out", str(out), "--epochs", "1",
                     "--finetune-epochs", "1", "--size", "32", "--no-progress", "--device", "cpu"]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["pretrained"] is True and m["pretrained_official_sha256"] is False
    assert {"train_acc", "valid_acc", "test_acc", "epochs", "epoch_seconds"} <= set(m["scratch"])
    net = models.squeezenet_finetune(17)
    flowers.load_pretrained(net, str(hub / "checkpoints" / flowers.SQUEEZENET_FILE))
    assert torch.equal(net.features[0].weight, standin["features.0.weight"])


def test_twin_accuracy_counts_letter_digit_twins_as_one():
    from fastnn.data import CLASSES36
    from fastnn_plugins.torch_tasks import twin_accuracy
    preds = torch.tensor([CLASSES36.index(c) for c in "O0SA"])

    class Fixed(torch.nn.Module):
        def forward(self, x):
            return torch.nn.functional.one_hot(preds[:len(x)], 36).float()
    y = np.array([CLASSES36.index(c) for c in "0O5B"])  # O/0 and 0/O and S/5 are twins, A/B is an error
    assert twin_accuracy(Fixed(), (np.zeros((4, 1, 32, 32), np.float32), y), CLASSES36, "cpu") == 0.75


def test_channels_last_changes_layout_not_results():
    torch.manual_seed(0)
    net = models.small_cnn(1, 36, 32).eval()
    x = torch.rand(8, 1, 32, 32)
    with torch.no_grad():
        want = net(x)
        fast = common.channels_last(net)
        got = fast(common.channels_last(x))
    assert fast.state_dict()["0.weight"].is_contiguous(memory_format=torch.channels_last)
    assert common.channels_last(x).is_contiguous(memory_format=torch.channels_last)
    assert torch.allclose(got, want, atol=1e-5)
    flat = torch.rand(4, 10)
    assert common.channels_last(flat) is flat  # only image batches change layout
    fc = common.channels_last(models.fc36())  # a model without 4-d weights is unchanged
    assert fc[1].weight.is_contiguous()
