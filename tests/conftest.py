import os

import numpy as np
import pytest

os.environ.setdefault("FASTNN_LOAD_PLUGINS", "")  # tests register plugins explicitly
SHARED_DATA = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data"))


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def shared_data():
    root = os.environ.get("FASTNN_DATA", SHARED_DATA)
    if not os.path.isdir(root):
        pytest.skip(f"shared data not found at {root}")
    return root
