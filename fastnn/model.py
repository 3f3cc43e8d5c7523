"""A small model API: named dense layers in a sequential network, saved to and loaded from .npz."""
import json
import os

import numpy as np

from . import engine
from .atomic import atomic_path
from .blas import gemm_address
from .kernels import (
    ACTIVATIONS,
    LOSSES,
    _loss_and_delta,
    activation_code,
    dense_backward,
    dense_forward,
    one_hot_like,
    xavier_uniform,
)

FORMAT = "fastnn-sequential-v1"


class Dense:
    """A fully-connected layer act(X @ W + b); W and b are views into the network's flat vector."""

    def __init__(self, n_in, n_out, activation="sigmoid", name=None):
        if int(n_in) < 1 or int(n_out) < 1:
            raise ValueError(f"layer sizes must be positive, got {n_in} -> {n_out}")
        activation_code(activation)
        self.n_in, self.n_out, self.activation, self.name = int(n_in), int(n_out), activation, name
        self.W = self.b = None

    def __repr__(self):
        return f"Dense({self.n_in}, {self.n_out}, {self.activation!r}, name={self.name!r})"


class Sequential:
    """A stack of Dense layers trained with a total loss ('cross_entropy' or 'squared_error')."""

    def __init__(self, layers, loss="cross_entropy", dtype=np.float32, rng=None):
        if not layers:
            raise ValueError("a network needs at least one layer")
        if loss not in LOSSES:
            raise ValueError(f"unknown loss {loss!r}; choose from {sorted(LOSSES)}")
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise TypeError(f"dtype must be float32 or float64, got {self.dtype}")
        for prev, layer in zip(layers, layers[1:]):
            if prev.n_out != layer.n_in:
                raise ValueError(f"{prev!r} outputs {prev.n_out} but {layer!r} expects {layer.n_in}")
        for i, layer in enumerate(layers):
            layer.name = layer.name or f"layer{i + 1}"
            if layer.activation == "softmax" and i != len(layers) - 1:
                raise ValueError("softmax is only supported on the last layer")
        if loss == "cross_entropy" and layers[-1].activation != "softmax":
            raise ValueError("cross_entropy needs a softmax output layer")
        if len({layer.name for layer in layers}) != len(layers):
            raise ValueError("layer names must be unique")
        self.layers, self.loss_name = list(layers), loss
        self.sizes = np.array([layers[0].n_in] + [layer.n_out for layer in layers], np.int64)
        self.acts = np.array([ACTIVATIONS[layer.activation] for layer in layers], np.int64)
        self.loss_code = LOSSES[loss]
        n = int(sum(layer.n_in * layer.n_out + layer.n_out for layer in layers))
        self.flat = np.zeros(n, self.dtype)
        self.grad_flat = np.zeros(n, self.dtype)
        self._bind_views()
        self.init_weights(rng if rng is not None else np.random.default_rng())
        self._cache = None

    # ---- parameters
    def _bind_views(self):
        pos = 0
        for layer in self.layers:
            nw = layer.n_in * layer.n_out
            layer.W = self.flat[pos:pos + nw].reshape(layer.n_in, layer.n_out)
            layer.gW = self.grad_flat[pos:pos + nw].reshape(layer.n_in, layer.n_out)
            layer.b = self.flat[pos + nw:pos + nw + layer.n_out]
            layer.gb = self.grad_flat[pos + nw:pos + nw + layer.n_out]
            pos += nw + layer.n_out

    def init_weights(self, rng):
        """Xavier-uniform weights, zero biases."""
        for layer in self.layers:
            layer.W[...] = xavier_uniform(layer.n_in, layer.n_out, rng, self.dtype)
            layer.b[...] = 0

    def parameters(self):
        """[(name, array)] in order, e.g. ('layer1.W', W); arrays are live views."""
        return [(f"{layer.name}.{p}", getattr(layer, p)) for layer in self.layers for p in ("W", "b")]

    def gradients(self):
        """[(name, gradient)] matching parameters(), filled by backward()."""
        return [(f"{layer.name}.{p}", getattr(layer, "g" + p)) for layer in self.layers for p in ("W", "b")]

    @property
    def n_params(self):
        return int(self.flat.size)

    # ---- computation
    def _as_input(self, X):
        X = np.asarray(X)
        if X.dtype.kind != "f":
            raise TypeError(f"inputs must be floating point, got {X.dtype}")
        if X.ndim != 2 or X.shape[1] != self.sizes[0]:
            raise ValueError(f"inputs must have shape (n, {self.sizes[0]}), got {X.shape}")
        return np.ascontiguousarray(X, dtype=self.dtype)

    def forward(self, X):
        """Outputs of the network for X; keeps the activations for backward()."""
        A = [self._as_input(X)]
        for layer in self.layers:
            A.append(dense_forward(A[-1], layer.W, layer.b, layer.activation))
        self._cache = A
        return A[-1]

    def loss(self, X, Y):
        """Total loss over X (no gradients)."""
        out = self.outputs(X)
        Y = self._as_target(Y, out)
        return float(_loss_and_delta(out, Y, self.loss_code, np.empty_like(out)))

    def _as_target(self, Y, out):
        if self.loss_name == "cross_entropy":
            return one_hot_like(Y, out).astype(self.dtype, copy=False)
        Y = np.ascontiguousarray(Y, dtype=self.dtype)
        if Y.shape != out.shape:
            raise ValueError(f"target shape {Y.shape} != output shape {out.shape}")
        return Y

    def backward(self, Y):
        """Gradients of the total loss of the last forward() w.r.t. every parameter; returns the loss."""
        if self._cache is None:
            raise RuntimeError("call forward() before backward()")
        A = self._cache
        Y = self._as_target(Y, A[-1])
        delta = np.empty_like(A[-1])
        total = _loss_and_delta(A[-1], Y, self.loss_code, delta)
        grad_A = delta if self.loss_name == "squared_error" else None
        for i in range(len(self.layers) - 1, -1, -1):
            layer = self.layers[i]
            if grad_A is None:
                gW, gb, gX = dense_backward(A[i], layer.W, A[i + 1], None, delta=delta, need_grad_X=i > 0)
            else:
                gW, gb, gX = dense_backward(A[i], layer.W, A[i + 1], grad_A, layer.activation, i > 0)
            layer.gW[...], layer.gb[...] = gW, gb
            grad_A = gX
        return float(total)

    def loss_and_grads(self, X, Y):
        """Total loss and the flat gradient over X in one fused kernel call."""
        X = self._as_input(X)
        Y = self._as_target(Y, np.empty((X.shape[0], self.sizes[-1]), self.dtype))
        total = engine._loss_and_grads(self.flat, self.grad_flat, self.sizes, self.acts,
                                       self.loss_code, X, Y, gemm_address(self.dtype))
        return float(total), self.grad_flat

    def outputs(self, X, chunk=1024):
        """Network outputs for X, computed in chunks by the fused kernel."""
        X = self._as_input(X)
        out = np.empty((X.shape[0], self.sizes[-1]), self.dtype)
        engine._forward_all(self.flat, self.sizes, self.acts, X, out, max(1, min(chunk, len(X))),
                            gemm_address(self.dtype))
        return out

    def predict(self, X):
        """Predicted class indices (argmax of the outputs)."""
        return self.outputs(X).argmax(axis=1)

    # ---- persistence
    def spec(self):
        return {"format": FORMAT, "loss": self.loss_name, "dtype": self.dtype.name,
                "layers": [[l.name, l.n_in, l.n_out, l.activation] for l in self.layers]}

    def save(self, path, **extra):
        """Atomically write the network to an .npz file (temp file, then rename). extra: small arrays/strings."""
        path = os.fspath(path)
        meta = json.dumps({**self.spec(), "extra": dict(extra)})
        with atomic_path(path, ".npz") as tmp:
            np.savez(tmp, params=self.flat, spec=np.array(meta))
        return path

    @classmethod
    def load(cls, path):
        """Load a network saved by save(); checks the schema and every shape. Never unpickles."""
        try:
            with np.load(path, allow_pickle=False) as z:
                spec = json.loads(str(z["spec"]))
                params = z["params"]
        except FileNotFoundError:
            raise
        except Exception as exc:
            raise ValueError(f"{path}: not a fastnn model file ({exc})") from exc
        if spec.get("format") != FORMAT:
            raise ValueError(f"{path}: unknown model format {spec.get('format')!r}, expected {FORMAT!r}")
        layers = [Dense(n_in, n_out, act, name) for name, n_in, n_out, act in spec["layers"]]
        model = cls(layers, loss=spec["loss"], dtype=spec["dtype"], rng=np.random.default_rng(0))
        if params.shape != model.flat.shape or params.dtype != model.flat.dtype:
            raise ValueError(f"{path}: parameter vector {params.shape} {params.dtype} does not match "
                             f"the layers ({model.flat.shape} {model.flat.dtype})")
        if not np.all(np.isfinite(params)):
            raise ValueError(f"{path}: parameters contain NaN or inf")
        model.flat[...] = params
        model.extra = spec.get("extra", {})
        return model

    def __repr__(self):
        inner = ", ".join(repr(l) for l in self.layers)
        return f"Sequential([{inner}], loss={self.loss_name!r}, dtype={self.dtype.name})"


def mlp(sizes, hidden="sigmoid", output="softmax", loss="cross_entropy", dtype=np.float32, rng=None):
    """Convenience: mlp([1024, 64, 36]) is the course's network."""
    layers = [Dense(a, b, hidden if i < len(sizes) - 2 else output, name=f"layer{i + 1}")
              for i, (a, b) in enumerate(zip(sizes, sizes[1:]))]
    return Sequential(layers, loss=loss, dtype=dtype, rng=rng)
