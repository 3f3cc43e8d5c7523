"""Straightforward reference implementations the fastnn kernels are compared with."""
import numpy as np


def numpy_mlp_epoch(params, X, Y, batch, lr, rng):
    """One SGD epoch of 1024-64-36 sigmoid/softmax in plain vectorised numpy (the course's way)."""
    W1, b1, W2, b2 = params
    order = rng.permutation(len(X))
    for i in range(0, len(X), batch):
        idx = order[i:i + batch]
        x, y = X[idx], Y[idx]
        h = 1 / (1 + np.exp(-(x @ W1 + b1)))
        z = h @ W2 + b2
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        d2 = p - y
        d1 = (d2 @ W2.T) * h * (1 - h)
        W2 -= lr * (h.T @ d2)
        b2 -= lr * d2.sum(0)
        W1 -= lr * (x.T @ d1)
        b1 -= lr * d1.sum(0)


def numpy_ae_epoch(params, M, X, batch, lr, rng):
    """One momentum epoch of the 1024-32-32-32-1024 autoencoder in plain numpy."""
    order = rng.permutation(len(X))
    for i in range(0, len(X), batch):
        x = X[order[i:i + batch]]
        acts = [x]
        for k, (W, b) in enumerate(params):
            z = acts[-1] @ W + b
            acts.append(1 / (1 + np.exp(-z)) if k == len(params) - 1 else np.maximum(z, 0))
        out = acts[-1]
        d = 2 * (out - x) * out * (1 - out)
        grads = []
        for k in range(len(params) - 1, -1, -1):
            W, _ = params[k]
            grads.append((acts[k].T @ d, d.sum(0)))
            if k:
                d = (d @ W.T) * (acts[k] > 0)
        for (W, b), (gW, gb), (mW, mb) in zip(params, grads[::-1], M):
            mW *= 0.9
            mW -= lr * gW
            mb *= 0.9
            mb -= lr * gb
            W += mW
            b += mb


def numpy_naive_gradcheck(params, X, Y, eps, indices):
    """Central differences by full forward passes (float64), for the given (tensor, flat index) pairs."""
    def loss():
        W1, b1, W2, b2 = params
        h = 1 / (1 + np.exp(-(X @ W1 + b1)))
        z = h @ W2 + b2
        z = z - z.max(1, keepdims=True)
        return -(Y * (z - np.log(np.exp(z).sum(1, keepdims=True)))).sum()
    out = []
    for t, i in indices:
        flat = params[t].reshape(-1)
        old = flat[i]
        flat[i] = old + eps
        fp = loss()
        flat[i] = old - eps
        fm = loss()
        flat[i] = old
        out.append((fp - fm) / (2 * eps))
    return out
