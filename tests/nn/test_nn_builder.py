"""nn.mlp: the one MLP builder (CLI and scikit-learn estimators): its layers, its initial weights
and their random stream, and one clear error per bad argument."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import init, nn


def layer_names(model):
    return [type(layer).__name__ for layer in model]


def test_layers_in_the_documented_order():
    X = np.random.default_rng(0).normal(size=(20, 3))
    model = nn.mlp(3, (5, 4), 2, "elu", batch_norm=True, dropout=0.3, standardize_with=X, rng=0)
    assert layer_names(model) == ["Standardize", "Linear", "BatchNorm1d", "ELU", "Dropout",
                                  "Linear", "BatchNorm1d", "ELU", "Dropout", "Linear"]
    assert [(m.in_features, m.out_features) for m in model if isinstance(m, nn.Linear)] == [(3, 5), (5, 4), (4, 2)]
    assert layer_names(nn.mlp(3, (), 2, rng=0)) == ["Linear"]          # no hidden layer: linear model
    assert model(X.astype(np.float32)).shape == (20, 2)


def test_one_seed_draws_every_layer_then_the_masks_in_order():
    """The draw order the CLI's saved models rely on: one Generator from the seed, each Linear's W
    in turn (hidden: the activation's initializer; output: Xavier), then the dropout masks."""
    model = nn.mlp(4, (6, 5), 3, "relu", dropout=0.5, rng=7)
    generator = np.random.default_rng(7)
    expected = [init.he_uniform((4, 6), rng=generator), init.he_uniform((6, 5), rng=generator),
                init.xavier_uniform((5, 3), rng=generator)]
    for layer, weight in zip([m for m in model if isinstance(m, nn.Linear)], expected):
        np.testing.assert_array_equal(layer.weight.data, weight)
        np.testing.assert_array_equal(layer.bias.data, 0)
    dropouts = [m for m in model if isinstance(m, nn.Dropout)]
    assert dropouts[0].rng is dropouts[1].rng
    mask = dropouts[0](np.ones((2, 6), np.float32)).numpy()
    np.testing.assert_array_equal(mask, (generator.random((2, 6)) >= 0.5) * 2.0)


@pytest.mark.parametrize("activation, initializer", [("relu", "he_uniform"), ("gelu", "he_uniform"),
                                                     ("tanh", "xavier_uniform"), ("logistic", "xavier_uniform")])
def test_default_initializer_follows_the_activation(activation, initializer):
    hidden = nn.mlp(3, (4,), 2, activation, rng=1)[0]
    np.testing.assert_array_equal(hidden.weight.data, getattr(init, initializer)((3, 4), rng=np.random.default_rng(1)))


def test_weight_init_dtype_and_global_seed():
    model = nn.mlp(3, (4,), 2, weight_init="zeros", dtype=np.float64, standardize_with=np.ones((2, 3)))
    assert all(p.dtype == np.float64 for p in model.parameters()) and model[0].mean.dtype == np.float64
    assert all(np.all(m.weight.data == 0) for m in model if isinstance(m, nn.Linear))  # every layer, output too
    gn.seed(3)
    first = nn.mlp(3, (4,), 2).state_dict()
    gn.seed(3)
    again = nn.mlp(3, (4,), 2).state_dict()       # rng=None: glassnet's default generator
    assert all(np.array_equal(first[key], again[key]) for key in first)


def test_every_activation_name_builds_and_survives_save(tmp_path):
    names = gn.functional.hidden_activation_names
    assert set(names()) <= set(names(aliases=True))
    assert "logistic" in names(aliases=True) and "logistic" not in names()
    assert layer_names(nn.mlp(2, (3,), 1, "logistic", rng=0))[1] == "Sigmoid"
    X = np.random.default_rng(0).normal(size=(5, 2)).astype(np.float32)
    for name in names():
        model = nn.mlp(2, (3,), 2, name, batch_norm=True, rng=0).eval()
        gn.save(model, tmp_path / f"{name}.safetensors")
        np.testing.assert_array_equal(gn.load(tmp_path / f"{name}.safetensors")(X).numpy(), model(X).numpy())


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(activation="step"), ValueError, "activation must be 'sigmoid', 'logistic', 'tanh', .*, got 'step'"),
    (dict(activation=None), TypeError, "activation must be 'sigmoid', .*, got NoneType None"),
    (dict(hidden_layer_sizes=(4, 0)), ValueError, r"hidden_layer_sizes\[1\] must be a positive int, got 0"),
    (dict(hidden_layer_sizes="10"), TypeError, "hidden_layer_sizes must be an iterable of ints"),
    (dict(hidden_layer_sizes=5), TypeError, "hidden_layer_sizes must be an iterable of ints"),
    (dict(n_features=0), ValueError, "n_features must be a positive int, got 0"),
    (dict(batch_norm="yes"), TypeError, "batch_norm must be True or False, got str 'yes'"),
    (dict(dropout=1.0), ValueError, r"dropout must be in \[0, 1\), got 1.0"),
    (dict(dropout=-0.1), ValueError, r"dropout must be in \[0, 1\), got -0.1"),
    (dict(rng="seed"), TypeError, "rng must be an int seed"),
])
def test_errors_name_the_bad_value(kwargs, error, message):
    arguments = dict(n_features=3, hidden_layer_sizes=(4,), n_outputs=2) | kwargs
    with pytest.raises(error, match=message):
        nn.mlp(**arguments)
