"""Optimisers. Momentum follows the course seeds exactly: M = mu*M - lr*g; W = W + M (M starts at 0)."""
import numpy as np

from . import engine


class Optimiser:
    name = "sgd"

    def __init__(self, lr):
        if not lr > 0:
            raise ValueError(f"learning rate must be positive, got {lr}")
        self.lr = float(lr)
        self.steps = 0
        self.s1 = self.s2 = None

    def hyper(self):
        return np.zeros(3)

    def bind(self, model):
        """Allocate zeroed state for the model's flat parameter vector (once)."""
        if self.s1 is None or self.s1.shape != model.flat.shape:
            self.s1 = np.zeros_like(model.flat)
            self.s2 = np.zeros_like(model.flat)
            self.steps = 0
        return self

    def step(self, model):
        """Apply model.grad_flat to model.flat in place."""
        self.bind(model)
        self.steps += 1
        engine._update(model.flat, model.grad_flat, engine.OPTIMISERS[self.name], self.lr,
                       self.s1, self.s2, self.hyper(), self.steps)


class SGD(Optimiser):
    """W = W - lr * g."""


class Momentum(Optimiser):
    """M = momentum*M - lr*g; W = W + M."""
    name = "momentum"

    def __init__(self, lr, momentum=0.9):
        super().__init__(lr)
        self.momentum = float(momentum)

    def hyper(self):
        return np.array([self.momentum, 0.0, 0.0])


class Adam(Optimiser):
    """Adam with bias correction (Kingma & Ba)."""
    name = "adam"

    def __init__(self, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        super().__init__(lr)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps

    def hyper(self):
        return np.array([self.beta1, self.beta2, self.eps])


def make_optimiser(name, lr, **kw):
    """'sgd' | 'momentum' | 'adam' -> optimiser instance."""
    table = {"sgd": SGD, "momentum": Momentum, "adam": Adam}
    if name not in table:
        raise ValueError(f"unknown optimiser {name!r}; choose from {sorted(table)}")
    return table[name](lr, **kw)
