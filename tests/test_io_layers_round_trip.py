"""Every kind of state a layer holds survives gn.save / gn.load, in float32 and float64: fitted
Impute and Standardize buffers, BatchNorm running statistics after training steps, a bidirectional
two-layer GRU, a TransformerEncoder with its final norm, attention, and a PositionalEncoding whose
table was already built (the table is not saved: it is rebuilt, the same, when used)."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn


def models(dtype):
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(16, 6)).astype(dtype)
    gaps = rows.copy()
    gaps[::3, 1], gaps[1, 4] = np.nan, np.nan
    body = nn.Sequential(nn.Linear(6, 5, rng=1, dtype=dtype), nn.BatchNorm1d(5, dtype=dtype), nn.ReLU(),
                         nn.Dropout(0.3, rng=3), nn.Linear(5, 2, rng=2, dtype=dtype))
    for _ in range(3):
        body(rows)  # training mode: the running statistics move
    sequence = rng.normal(size=(2, 7, 8)).astype(dtype)
    images = rng.normal(size=(4, 3, 5, 5)).astype(dtype)
    batch_norm_2d = nn.BatchNorm2d(3, dtype=dtype)
    batch_norm_2d(images)
    positional = nn.PositionalEncoding(8, max_len=50, dtype=dtype)
    positional(sequence)  # builds the table
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, dtype=dtype, rng=4)
    return {
        "impute-standardize-batchnorm": (nn.Sequential(
            nn.Impute(6, strategy="median", dtype=dtype).fit(gaps), nn.Standardize(6, dtype=dtype).fit(rows), body),
            gaps),
        "impute-constant": (nn.Impute(6, strategy="constant", fill_value=-7.5, dtype=dtype).fit(gaps), gaps),
        "gru-bidirectional": (nn.GRU(8, 4, num_layers=2, bidirectional=True, dtype=dtype, rng=5), sequence),
        "lstm": (nn.LSTM(8, 4, num_layers=2, dtype=dtype, rng=6), sequence),
        "transformer-encoder": (nn.TransformerEncoder(layer, 3, norm=True), sequence),
        "positional-encoding": (positional, sequence),
        "batchnorm2d": (batch_norm_2d, images),
        "conv": (nn.Sequential(nn.Conv2d(3, 4, 3, padding=1, rng=7, dtype=dtype), nn.MaxPool2d(2), nn.Flatten(),
                               nn.Linear(16, 2, rng=8, dtype=dtype)), images),
        "conv-transpose-upsample": (nn.Sequential(
            nn.Flatten(), nn.Linear(75, 12, rng=9, dtype=dtype), nn.Unflatten(1, (3, 2, 2)),
            nn.ConvTranspose2d(3, 2, 4, stride=2, padding=1, rng=10, dtype=dtype), nn.Upsample(scale_factor=1.5),
            nn.Flatten(2), nn.ConvTranspose1d(2, 1, 3, stride=2, output_padding=1, bias=False, rng=11, dtype=dtype),
            nn.Upsample(size=40, mode="linear")), images),
    }


def first(out):
    """The output of a layer (a recurrent layer returns (output, hidden))."""
    return out[0] if isinstance(out, tuple) else out


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", list(models("float32")))
def test_a_saved_layer_loads_with_the_same_state_and_outputs(tmp_path, dtype, name):
    model, x = models(dtype)[name]
    model.eval()
    path = tmp_path / "model.safetensors"
    gn.save(model, path)
    loaded = gn.load(path)
    assert repr(loaded) == repr(model)
    state, loaded_state = model.state_dict(), loaded.state_dict()
    assert list(loaded_state) == list(state)
    for key, array in state.items():
        assert loaded_state[key].dtype == array.dtype and np.array_equal(loaded_state[key], array), key
    expected, got = first(model(x)).numpy(), first(loaded(x)).numpy()
    assert got.dtype == np.dtype(dtype) and np.array_equal(got, expected)
    for parameter in loaded.parameters():
        parameter.data[...] = 0
    gn.load_weights(loaded, path)  # a model file's weights load into a model built like it
    assert np.array_equal(first(loaded(x)).numpy(), expected)
