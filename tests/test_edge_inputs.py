"""Layers on edge inputs: a float64 value too large for the layer's float32 is an error that says
so, never a silent inf."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn


@pytest.mark.parametrize("make, shape", [
    (lambda: nn.Linear(3, 2, rng=0), (2, 3)),
    (lambda: nn.Conv1d(1, 1, 2, rng=0), (2, 1, 3)),
    (lambda: nn.LayerNorm(3), (2, 3)),
])
def test_float64_values_that_overflow_float32_are_named_not_made_inf(make, shape):
    x = np.zeros(shape)
    x.flat[1] = 1e300
    with pytest.raises(ValueError, match=r"overflow float32 \(max 3.4e\+38\)"):
        make()(x)


def test_a_tensor_of_float32_made_from_too_large_float64_values_is_refused():
    with pytest.raises(ValueError, match=r"overflow float32"):
        gn.Tensor(np.array([1.0, -1e39]), dtype=np.float32)
    # inf and NaN stay what they are: they are not an overflow of the cast
    assert np.isinf(gn.Tensor(np.array([np.inf]), dtype=np.float32).data[0])
    assert np.isnan(gn.Tensor(np.array([np.nan]), dtype=np.float32).data[0])
    np.testing.assert_array_equal(gn.Tensor(np.array([3e38]), dtype=np.float32).data, np.float32(3e38))
