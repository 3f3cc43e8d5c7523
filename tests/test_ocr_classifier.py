import os

import numpy as np
import pytest

from fastnn.data import DataError
from fastnn_plugins.ocr import classifier, glyph


def _tiny_splits(rng, n=360):
    """Canonical glyphs of simple synthetic strokes: class k is a bar at angle k*5 degrees."""
    x = np.empty((n, 32, 32), np.float32)
    y = np.arange(n) % 36
    for i, k in enumerate(y):
        m = np.zeros((40, 40), bool)
        a = np.deg2rad(k * 5.0)
        t = np.linspace(-15, 15, 60)
        yy = np.clip((20 + t * np.sin(a) + rng.normal(0, 0.5)).astype(int), 0, 39)
        xx = np.clip((20 + t * np.cos(a) + rng.normal(0, 0.5)).astype(int), 0, 39)
        m[yy, xx] = True
        m[20, 20:20 + k % 7] = True
        x[i] = glyph.render_mask(m)
    src = np.array(["synthetic"] * n)
    return {"train": (x, y, src), "valid": (x[:72], y[:72], src[:72]), "test": (x[:72], y[:72], src[:72])}


def test_classifier_is_trained_once_then_cached(tmp_path, monkeypatch, rng):
    splits = _tiny_splits(rng)
    monkeypatch.setattr(classifier, "training_glyphs", lambda root, cache_dir, progress: (splits, "tiny", "k1"))
    backend, info = classifier.get_classifier("unused", "mlp", cache_dir=str(tmp_path), epochs=3)
    assert info["model"] == "mlp" and info["train_samples"] == 360
    assert set(info["held_out_test_acc"]) == {"synthetic", "all", "one_char_rejected"}
    probs = backend.predict_proba(splits["test"][0])
    assert probs.shape == (72, 36) and np.allclose(probs.sum(1), 1, atol=1e-5)

    def no_training(*a, **k):
        raise AssertionError("should have loaded the cached model")
    monkeypatch.setattr(classifier.MLPBackend, "fit", no_training)
    again, info2 = classifier.get_classifier("unused", "mlp", cache_dir=str(tmp_path), epochs=3)
    np.testing.assert_allclose(again.predict_proba(splits["test"][0]), probs, rtol=1e-5)
    assert info2 == info
    # a model cached before its backend's training changed is not used
    monkeypatch.setattr(classifier.MLPBackend, "revision", classifier.MLPBackend.revision + "x")
    with pytest.raises(AssertionError, match="should have loaded"):
        classifier.get_classifier("unused", "mlp", cache_dir=str(tmp_path), epochs=3)


def test_cnn_checkpoint_roundtrip_and_corrupt_file(tmp_path, rng):
    pytest.importorskip("torch")
    b = classifier.CNNBackend(classifier.CNNBackend.build())
    x = _tiny_splits(rng, 36)["train"][0]
    path = str(tmp_path / "m.pt")
    b.save(path)
    np.testing.assert_allclose(classifier.CNNBackend.load(path).predict_proba(x), b.predict_proba(x), rtol=1e-5)
    (tmp_path / "bad.pt").write_bytes(b"\x80\x04not a checkpoint")
    with pytest.raises(DataError, match="not a valid glyph CNN checkpoint"):
        classifier.CNNBackend.load(str(tmp_path / "bad.pt"))


def test_cnn_learns_tiny_task(rng):
    pytest.importorskip("torch")
    splits = _tiny_splits(rng)
    b = classifier.CNNBackend()
    hist = b.fit(splits, np.random.default_rng(0), epochs=6, batch=32)
    assert hist["valid_acc"][-1] > 0.5  # chance is 1/36


def test_unknown_model_name():
    with pytest.raises(ValueError, match="unknown model"):
        classifier.get_classifier("x", "svm")


def test_data_fingerprint_follows_contents_not_mtimes(tmp_path):
    f = tmp_path / "set.npz"
    f.write_bytes(b"abc" * 1000)
    before = classifier._fingerprint([str(f)])
    os.utime(f, (1, 1))  # a re-copied data folder: same bytes, new times
    assert classifier._fingerprint([str(f)]) == before
    f.write_bytes(b"abd" * 1000)
    assert classifier._fingerprint([str(f)]) != before


def test_touching_pair_puts_two_glyphs_side_by_side(rng):
    a = np.ones((32, 32), np.float32)
    a[4:28, 12:18] = 0.0  # a bar 24 high, 6 wide
    b = np.ones((32, 32), np.float32)
    b[8:24, 6:26] = 0.0  # a block 16 high, 20 wide: scaled to the bar's height
    for _ in range(20):
        m = glyph.touching_pair(a, b, rng, upsample=1)
        h = 24
        # widths: the bar 6, the block 20 * 24/16 = 30 (+-15 %); the gap -15..+5 % of the height
        assert 6 + 30 * 0.85 - 0.15 * h - 2 <= m.shape[1] <= 6 + 30 * 1.15 + 0.05 * h + 2
        assert h <= m.shape[0] <= 1.35 * h + 2
        assert m[:, :3].any() and m[:, -3:].any()


def test_wide_stretch_widens_a_glyph_to_the_asked_aspect(rng):
    img = np.ones((32, 32), np.float32)
    img[4:28, 10:22] = 0.0  # 24 high, 12 wide: aspect 0.5
    for _ in range(20):
        s = glyph.wide_stretch(img, rng, aspect=(1.2, 1.6), most=4.0)
        assert 1.2 / 0.5 - 1e-9 <= s <= 1.6 / 0.5 + 1e-9
    assert glyph.wide_stretch(img, rng, aspect=(1.2, 1.6), most=2.0) == 2.0  # capped
    assert glyph.wide_stretch(img, rng, aspect=(0.2, 0.3)) == 1.0  # never narrowed
    # rendered: an outline 24 x 12 stretched 2.8x is 24 x 33.6, so its long side is now the width
    ring = np.ones((32, 32), np.float32)
    ring[4:28, 10:22] = 0.0
    ring[6:26, 12:20] = 1.0
    ys, xs = np.nonzero(glyph.render_image(ring, upsample=1, stretch=2.8) < 0.5)
    assert 1.1 < (xs.max() - xs.min()) / (ys.max() - ys.min()) < 1.6  # skeleton + pen: about 1.2
    ys, xs = np.nonzero(glyph.render_image(ring, upsample=1) < 0.5)
    assert (xs.max() - xs.min()) / (ys.max() - ys.min()) < 0.6  # about 0.5
