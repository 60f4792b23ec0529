"""nn.Dropout: inverted dropout in training, identity in evaluation, reproducible masks."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_training_drops_a_fraction_p_and_keeps_the_mean(p):
    layer = nn.Dropout(p, rng=0)
    out = layer(np.ones((1000, 1000), np.float32)).data
    assert out.dtype == np.float32
    dropped = np.mean(out == 0)
    assert abs(dropped - p) < 0.005  # the standard error is at most 0.0005
    assert abs(out.mean() - 1.0) < 0.01  # inverted dropout keeps the expectation
    np.testing.assert_array_equal(np.unique(out), np.array([0.0, 1.0 / (1.0 - p)], np.float32))


@pytest.mark.parametrize("p", [0.3, 0.6])
def test_gradient_is_the_same_mask_scaled(rng, p):
    layer = nn.Dropout(p, rng=1)
    x = gn.Tensor(rng.uniform(0.5, 1.5, size=(50, 40)), requires_grad=True)
    out = layer(x)
    kept = out.data != 0
    np.testing.assert_allclose(out.data, np.where(kept, x.data / (1 - p), 0.0), rtol=1e-15)
    upstream = rng.normal(size=x.shape)
    out.backward(upstream)
    np.testing.assert_allclose(x.grad, np.where(kept, upstream / (1 - p), 0.0), rtol=1e-15)


def test_eval_mode_is_the_identity(rng):
    layer = nn.Dropout(0.9, rng=0).eval()
    x = gn.Tensor(rng.normal(size=(20, 30)), requires_grad=True)
    out = layer(x)
    np.testing.assert_array_equal(out.data, x.data)
    upstream = rng.normal(size=x.shape)
    out.backward(upstream)
    np.testing.assert_array_equal(x.grad, upstream)
    model = nn.Sequential(nn.Linear(30, 5, dtype=np.float64, rng=0), nn.Dropout(0.5)).eval()
    np.testing.assert_array_equal(model(x).data, model[0](x).data)


def test_p_zero_is_the_identity_in_training(rng):
    x = rng.normal(size=(10, 10))
    np.testing.assert_array_equal(nn.Dropout(0.0)(x).data, x)


def test_seeded_layers_are_reproducible_and_masks_change_between_calls():
    x = np.ones((30, 30), np.float32)
    first, second = nn.Dropout(0.5, rng=42), nn.Dropout(0.5, rng=42)
    a1, a2 = first(x).data, first(x).data
    b1, b2 = second(x).data, second(x).data
    np.testing.assert_array_equal(a1, b1)
    np.testing.assert_array_equal(a2, b2)
    assert np.mean(a1 != a2) > 0.3  # a new mask at each call, not the seed's first one again
    generator = np.random.default_rng(5)
    np.testing.assert_array_equal(nn.Dropout(0.5, rng=generator)(x).data,
                                  nn.Dropout(0.5, rng=np.random.default_rng(5))(x).data)


def test_default_generator_follows_glassnet_seed():
    layer = nn.Dropout(0.5)
    x = np.ones((20, 20), np.float32)
    gn.seed(123)
    first = layer(x).data
    gn.seed(123)
    np.testing.assert_array_equal(layer(x).data, first)


@pytest.mark.parametrize("p, error, message", [
    (1.0, ValueError, r"p must be in \[0, 1\), got 1.0"),
    (-0.1, ValueError, r"p must be in \[0, 1\), got -0.1"),
    ("0.5", TypeError, "p must be a real number, got str"),
])
def test_p_is_validated(p, error, message):
    with pytest.raises(error, match=message):
        nn.Dropout(p)


def test_repr_and_no_parameters():
    layer = nn.Dropout(0.25)
    assert repr(layer) == "Dropout(p=0.25)"
    assert list(layer.parameters()) == [] and layer.state_dict() == {}
    with pytest.raises(TypeError, match="rng must be an int seed"):
        nn.Dropout(0.5, rng="seed")
