import gzip
import os

import numpy as np
import pytest
import scipy.io

from fastnn.data import DataError, Dataset, formats, group_split, resolve_root


def write_nist36_standin(folder, rng, n_per_class=2):
    """Files with the exact NIST36 schema: transposed float64 rows in [0, 1], one-hot labels."""
    os.makedirs(folder, exist_ok=True)
    upright = {}
    for split in ("train", "valid", "test"):
        n = 36 * n_per_class
        imgs = rng.random((n, 32, 32))
        labels = np.arange(n) % 36
        rows = imgs.transpose(0, 2, 1).reshape(n, 1024)  # MATLAB column-major storage
        scipy.io.savemat(os.path.join(folder, f"nist36_{split}.mat"),
                         {f"{split}_data": rows, f"{split}_labels": np.eye(36)[labels]})
        upright[split] = (imgs, labels)
    return upright


def test_nist36_standin_loads_upright(tmp_path, rng):
    want = write_nist36_standin(tmp_path / "nist36", rng)
    data = formats.load_nist36(str(tmp_path))
    for split, (imgs, labels) in want.items():
        np.testing.assert_allclose(data[split].images, imgs.astype(np.float32))
        np.testing.assert_array_equal(data[split].labels, labels)
        assert data[split].info["official"] is False
    assert formats.find_nist36(str(tmp_path)) == str(tmp_path / "nist36")


def test_nist36_schema_errors(tmp_path, rng):
    scipy.io.savemat(tmp_path / "nist36_train.mat", {"train_data": rng.random((4, 100)),
                                                     "train_labels": np.eye(36)[:4]})
    with pytest.raises(DataError, match=r"must be \(n, 1024\)"):
        formats.load_nist36_split(str(tmp_path / "nist36_train.mat"), "train")
    scipy.io.savemat(tmp_path / "nist36_train.mat", {"train_data": rng.random((4, 1024))})
    with pytest.raises(DataError, match="key 'train_labels' missing"):
        formats.load_nist36_split(str(tmp_path / "nist36_train.mat"), "train")
    (tmp_path / "nist36_train.mat").write_bytes(b"garbage")
    with pytest.raises(DataError, match="not a readable .mat"):
        formats.load_nist36_split(str(tmp_path / "nist36_train.mat"), "train")
    with pytest.raises(DataError, match="nist36_valid.mat.*Copy the course"):
        formats.load_nist36_split(str(tmp_path / "nist36_valid.mat"), "valid")


def test_nist36_official_checksum_is_recognised(tmp_path, rng, monkeypatch):
    write_nist36_standin(tmp_path, rng, 1)
    path = tmp_path / "nist36_test.mat"
    digest = formats.sha256(str(path))
    monkeypatch.setitem(formats.NIST36_FILES, "test", ("nist36_test.mat", path.stat().st_size, digest, 36))
    assert formats.load_nist36_split(str(path), "test").info["official"] is True


def test_idx_roundtrip_and_corruption(tmp_path, rng):
    imgs = rng.integers(0, 256, (5, 28, 28), dtype=np.uint8)
    labels = np.array([3, 1, 4, 1, 5], np.uint8)
    (tmp_path / "mnist").mkdir()
    with gzip.open(tmp_path / "mnist" / "t10k-images-idx3-ubyte.gz", "wb") as fh:
        fh.write(bytes([0, 0, 8, 3]) + np.array([5, 28, 28], ">u4").tobytes() + imgs.tobytes())
    with gzip.open(tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz", "wb") as fh:
        fh.write(bytes([0, 0, 8, 1]) + np.array([5], ">u4").tobytes() + labels.tobytes())
    ds = formats.load_mnist(str(tmp_path), "test")
    np.testing.assert_allclose(ds.images, 1 - imgs / 255.0, atol=1e-6)  # ink made dark
    np.testing.assert_array_equal(ds.labels, labels)
    with gzip.open(tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz", "wb") as fh:
        fh.write(bytes([0, 0, 8, 1]) + np.array([9], ">u4").tobytes() + labels.tobytes())
    with pytest.raises(DataError, match="expected 9 bytes"):
        formats.load_mnist(str(tmp_path), "test")
    with pytest.raises(DataError, match="missing data file"):
        formats.load_mnist(str(tmp_path), "train")


def test_root_resolution(monkeypatch, tmp_path):
    monkeypatch.setenv("FASTNN_DATA", str(tmp_path))
    assert resolve_root("/x/y") == "/x/y"
    assert resolve_root(None) == str(tmp_path)
    monkeypatch.delenv("FASTNN_DATA")
    assert resolve_root(None).endswith(os.path.join("shared", "data"))


def test_group_split_is_disjoint(rng):
    groups = np.repeat(np.arange(20).astype(str), 5)
    ds = Dataset(rng.random((100, 2, 2)).astype(np.float32), np.zeros(100, np.int64), ["a"], "t", groups)
    parts = group_split(ds, (0.8, 0.1, 0.1), np.random.default_rng(0))
    assert sum(len(p) for p in parts) == 100
    sets = [set(p.groups) for p in parts]
    assert not (sets[0] & sets[1]) and not (sets[0] & sets[2]) and not (sets[1] & sets[2])


def test_shared_sets_load(shared_data):
    ds = formats.load_npz36(shared_data, "chars74k")
    assert ds.images.shape == (1980, 32, 32) and ds.images.dtype == np.float32
    assert ds.images.mean() > 0.5  # dark ink on light paper
    pages = formats.load_pages(shared_data)
    assert len(pages) == 4 and pages[0][1]["stripped"][0] == "TODOLIST"
