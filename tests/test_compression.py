import json

import numpy as np
import pytest

from fastnn import cli
from fastnn_plugins import autoencoder, compression, pca


def test_psnr_hand_computed():
    truth = np.zeros((1, 4))
    recon = np.array([[0.1, -0.1, 0.1, -0.1]])  # clipped to [0, 1] first: errors 0.1, 0, 0.1, 0
    mse = (0.01 + 0.01) / 4
    assert compression.psnr_per_image(truth, recon)[0] == pytest.approx(10 * np.log10(1 / mse))


def test_pca_error_equals_discarded_singular_values(rng):
    X = rng.standard_normal((200, 30)) @ rng.standard_normal((30, 30))
    mean, P, s = pca.fit_pca(X, 8)
    err = ((X - pca.reconstruct(X, mean, P)) ** 2).sum()
    assert err == pytest.approx((s[8:] ** 2).sum(), rel=1e-9)
    assert P.shape == (30, 8) and np.linalg.matrix_rank(P) == 8
    np.testing.assert_allclose(P.T @ P, np.eye(8), atol=1e-10)


def test_autoencoder_is_the_seed_network(rng):
    net = autoencoder.network(rng)
    assert [(l.n_in, l.n_out, l.activation) for l in net.layers] == [
        (1024, 32, "relu"), (32, 32, "relu"), (32, 32, "relu"), (32, 1024, "sigmoid")]
    assert net.loss_name == "squared_error"


def test_both_tasks_and_combined_figure(tmp_path, shared_data):
    out = tmp_path / "out"
    args = ["--data", shared_data, "--out", str(out), "--no-progress"]
    assert cli.main(["run", "autoencoder", "--epochs", "1", *args]) == 0
    assert cli.main(["run", "pca", *args]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["components"] == 32 and m["projection_rank"] == 32 and m["params"] == 1024 * 32
    assert m["autoencoder_params"] == 68704 and 10 < m["psnr_mean"] < 30
    for name in ("autoencoder_reconstructions.png", "pca_reconstructions.png", "combined_reconstructions.png",
                 "autoencoder_loss.png"):
        assert (out / name).exists()


def test_revive_dead_units(rng):
    net = autoencoder.network(rng)
    X = rng.random((50, 1024)).astype(np.float32)
    net.layers[0].W[:, :5] = -1.0  # these five units are dead for non-negative inputs
    net.layers[0].b[:5] = 0.0
    assert autoencoder.revive_dead_units(net, X, rng) >= 5
    assert ((X @ net.layers[0].W + net.layers[0].b)[:, :5] > 0).any(axis=0).all()
