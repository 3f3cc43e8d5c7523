"""Slow, obvious numpy references the fast kernels are tested against (loops, no cleverness)."""
import math

import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


def act(z, name):
    return {"identity": lambda v: v, "sigmoid": sigmoid, "tanh": math.tanh,
            "relu": lambda v: max(v, 0.0)}[name](z)


def act_grad_from_output(a, name):
    return {"identity": 1.0, "sigmoid": a * (1 - a), "tanh": 1 - a * a, "relu": float(a > 0)}[name]


def softmax(Z):
    out = np.empty_like(Z, dtype=np.float64)
    for r, row in enumerate(Z):
        m = max(row)
        e = [math.exp(v - m) for v in row]
        s = sum(e)
        out[r] = [v / s for v in e]
    return out


def dense_forward(X, W, b, name):
    n, k = X.shape
    m = W.shape[1]
    out = np.zeros((n, m))
    for r in range(n):
        for c in range(m):
            z = b[c] + sum(float(X[r, i]) * float(W[i, c]) for i in range(k))
            out[r, c] = z
    if name == "softmax":
        return softmax(out)
    return np.vectorize(lambda v: act(v, name))(out)


def dense_backward(X, W, A, grad_A, name):
    delta = grad_A * np.vectorize(lambda a: act_grad_from_output(a, name))(A)
    gW = np.zeros(W.shape)
    for i in range(W.shape[0]):
        for c in range(W.shape[1]):
            gW[i, c] = sum(X[r, i] * delta[r, c] for r in range(X.shape[0]))
    gb = np.array([sum(delta[:, c]) for c in range(W.shape[1])])
    gX = np.zeros(X.shape)
    for r in range(X.shape[0]):
        for i in range(X.shape[1]):
            gX[r, i] = sum(delta[r, c] * W[i, c] for c in range(W.shape[1]))
    return gW, gb, gX


def cross_entropy(P, Y):
    return -sum(Y[r, c] * math.log(P[r, c]) for r in range(P.shape[0]) for c in range(P.shape[1]) if Y[r, c])


def squared_error(A, Y):
    return sum((A[r, c] - Y[r, c]) ** 2 for r in range(A.shape[0]) for c in range(A.shape[1]))
