"""Module.load_state_dict casts into the model's dtypes, as documented, but never a value that the
cast would change into another number (NaN or 2.5 into an int buffer, 1e300 into float32, 2**63
into int64): those are refused with the other problems, before any array changes. (The cast
happened during the copy: garbage, or under warnings-as-errors a RuntimeWarning raised halfway
through the arrays.)"""

import numpy as np
import pytest

from glassnet import nn


def trained_batchnorm():
    model = nn.Sequential(nn.Linear(3, 4, rng=0), nn.BatchNorm1d(4))
    model(np.random.default_rng(0).normal(size=(8, 3)).astype(np.float32))
    return model


@pytest.mark.parametrize("key, value, words", [
    ("1.num_batches_tracked", np.array(np.nan), "'1.num_batches_tracked' holds values that are not whole numbers"),
    ("1.num_batches_tracked", np.array(2.5), "not whole numbers, and the model's array is int64"),
    ("1.num_batches_tracked", np.array(2.0 ** 63), "'1.num_batches_tracked' holds values outside int64"),
    ("1.running_var", np.full(4, 1e300), "'1.running_var' holds values that overflow float32"),
    ("1.num_batches_tracked", np.array(2 ** 63, np.uint64), "'1.num_batches_tracked' holds values outside int64"),
])
def test_a_value_the_cast_would_change_is_refused_before_anything_changes(key, value, words):
    model = trained_batchnorm()
    before = model.state_dict()
    state = {**before, "0.weight": np.zeros((3, 4), np.float32), key: value}
    with pytest.raises(ValueError, match="nothing was changed") as info:
        model.load_state_dict(state)
    assert words in str(info.value)
    after = model.state_dict()
    assert all(np.array_equal(after[k], v) for k, v in before.items())  # 0.weight too, loaded first


def test_float64_values_still_load_into_float32_weights():
    model = trained_batchnorm()
    state = {k: v.astype(np.float64) if v.dtype == np.float32 else v for k, v in model.state_dict().items()}
    state["0.bias"] = np.array([0.1, -2.0, np.inf, np.nan])  # values float32 holds (as near as it can)
    model.load_state_dict(state)
    np.testing.assert_array_equal(model[0].bias.data, np.array([0.1, -2.0, np.inf, np.nan], np.float32))
    assert model[0].bias.data.dtype == np.float32
    model.load_state_dict({**model.state_dict(), "1.num_batches_tracked": np.array(7, np.int32)})
    assert model[1].num_batches_tracked == 7 and model[1].num_batches_tracked.dtype == np.int64
