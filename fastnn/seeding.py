"""One seed for every random number generator fastnn touches."""
import random

import numpy as np
from numba import njit


@njit(cache=True)
def _seed_numba(seed):
    # numba keeps its own RNG state; it can only be seeded from jitted code.
    np.random.seed(seed)


def seed_everything(seed):
    """Seed Python, numpy (global), numba and torch (if installed); returns a numpy Generator."""
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    _seed_numba(seed % 2**32)
    try:
        import torch
    except ImportError:
        pass
    else:
        torch.manual_seed(seed)
    return np.random.default_rng(seed)
