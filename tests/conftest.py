import os
import sys
from pathlib import Path

# scikit-learn's estimator checks include one of array-API input (NumPy arrays with
# array_api_dispatch on); it needs scipy's array-API mode, which is read when scipy is imported.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))  # so that tests import the shared oracle module


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(autouse=True)
def close_figures():
    """Close the figures a test (or a docstring example) left open: pyplot keeps every figure,
    and past 20 it warns (an error here), whichever test opens the 21st."""
    yield
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")
