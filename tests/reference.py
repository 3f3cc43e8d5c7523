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


def group_lines(boxes, h_med):
    """segment.group_lines as first written, one pair of boxes at a time."""
    n = len(boxes)
    if n == 0:
        return []
    nxt, prev_gap, has_prev = [-1] * n, [math.inf] * n, [-1] * n
    for i in sorted(range(n), key=lambda k: boxes[k][1]):
        y1, x1, y2, x2 = boxes[i]
        best, best_gap = -1, math.inf
        for j in range(n):
            if j == i or (boxes[j][1] + boxes[j][3]) / 2 <= (x1 + x2) / 2:
                continue
            ov = min(y2, boxes[j][2]) - max(y1, boxes[j][0])
            if ov < 0.4 * min(y2 - y1, boxes[j][2] - boxes[j][0]):
                continue
            gap = boxes[j][1] - x2
            if gap < 5 * h_med and gap < best_gap:
                best, best_gap = j, gap
        if best >= 0 and best_gap < prev_gap[best]:
            if has_prev[best] >= 0:
                nxt[has_prev[best]] = -1
            nxt[i], has_prev[best], prev_gap[best] = best, i, best_gap
    chains = []
    for i in range(n):
        if has_prev[i] < 0:
            chain = [i]
            while nxt[chain[-1]] >= 0:
                chain.append(nxt[chain[-1]])
            chains.append(chain)
    cy = [(b[0] + b[2]) / 2 for b in boxes]
    chains.sort(key=lambda c: boxes[c[0]][1])
    lines = []
    for c in chains:
        for line in lines:
            dy = np.median([cy[k] for k in line[-3:]]) - np.median([cy[k] for k in c[:3]])
            if boxes[line[-1]][3] <= boxes[c[0]][1] + 0.2 * h_med and abs(dy) < 0.5 * h_med:
                line.extend(c)
                break
        else:
            lines.append(list(c))
    lines.sort(key=lambda line: np.median([cy[k] for k in line]))
    return lines
