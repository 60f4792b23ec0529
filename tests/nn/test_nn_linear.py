"""nn.Linear: gradients vs finite differences and PyTorch, initialization, input validation."""

import math

import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import nn
from oracle import check_against_torch, check_finite_differences


def with_parameters(layer):
    """fn(x, weight, bias) = layer(x) computed with the given tensors as the layer's parameters,
    so that the oracles (which pass their own copies of every input) reach the parameters too."""

    def fn(x, weight, bias):
        # Swap the tensors in where forward reads them (a Module mirrors its parameters in
        # __dict__); a plain attribute assignment would insist on Parameters.
        saved = {name: layer.__dict__[name] for name in ("weight", "bias")}
        layer.__dict__.update(weight=weight, bias=bias)
        try:
            return layer(x)
        finally:
            layer.__dict__.update(saved)

    return fn


@pytest.mark.parametrize("x_shape", [(4, 3), (2, 5, 3), (3,)])
def test_linear_gradients_match_finite_differences(rng, x_shape):
    layer = nn.Linear(3, 2, dtype=np.float64, rng=0)
    x = rng.normal(size=x_shape)
    check_finite_differences(with_parameters(layer), x, layer.weight.data, rng.normal(size=2))


@pytest.mark.parametrize("x_shape", [(4, 3), (2, 5, 3), (3,)])
def test_linear_matches_functional_pytorch(rng, x_shape):
    layer = nn.Linear(3, 2, dtype=np.float64, rng=0)
    check_against_torch(with_parameters(layer), lambda x, w, b: torch.nn.functional.linear(x, w.T, b),
                        rng.normal(size=x_shape), rng.normal(size=(3, 2)), rng.normal(size=2))


@pytest.mark.parametrize("x_shape", [(6, 4), (2, 7, 4)])
@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 1e-5)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch_nn_linear(rng, x_shape, dtype, tol, bias):
    ours = nn.Linear(4, 3, bias=bias, weight_init="normal", bias_init="normal", dtype=dtype, rng=1)
    theirs = torch.nn.Linear(4, 3, bias=bias, dtype=torch.float64 if dtype == np.float64 else torch.float32)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.data.T))  # torch stores (out, in)
        if bias:
            theirs.bias.copy_(torch.tensor(ours.bias.data))
    x = rng.normal(size=x_shape).astype(dtype)
    upstream = rng.normal(size=x_shape[:-1] + (3,)).astype(dtype)
    x_ours, x_theirs = gn.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)

    out = ours(x_ours)
    expected = theirs(x_theirs)
    assert out.dtype == dtype and out.shape == tuple(expected.shape)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=tol, atol=tol)
    out.backward(upstream)
    expected.backward(torch.tensor(upstream))
    np.testing.assert_allclose(x_ours.grad, x_theirs.grad.numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy().T, rtol=tol, atol=tol)
    assert ours.weight.grad.dtype == dtype
    if bias:
        np.testing.assert_allclose(ours.bias.grad, theirs.bias.grad.numpy(), rtol=tol, atol=tol)
    else:
        assert ours.bias is None and [n for n, _ in ours.named_parameters()] == ["weight"]


def test_default_init_is_xavier_uniform_weights_and_zero_biases():
    layer = nn.Linear(400, 600, rng=0)
    bound = math.sqrt(6.0 / (400 + 600))
    assert layer.weight.shape == (400, 600) and layer.weight.dtype == np.float32
    assert np.abs(layer.weight.data).max() <= bound
    assert np.abs(layer.weight.data).max() > 0.99 * bound
    np.testing.assert_allclose(layer.weight.data.var(), 2.0 / (400 + 600), rtol=0.02)
    np.testing.assert_array_equal(layer.bias.data, np.zeros(600, np.float32))


def test_init_is_reproducible_and_reset_is_in_place():
    first, second, other = nn.Linear(3, 4, rng=0), nn.Linear(3, 4, rng=0), nn.Linear(3, 4, rng=1)
    np.testing.assert_array_equal(first.weight.data, second.weight.data)
    assert not np.allclose(first.weight.data, other.weight.data)
    array = first.weight.data
    first.reset_parameters(rng=1)
    assert first.weight.data is array
    np.testing.assert_array_equal(first.weight.data, other.weight.data)
    # One generator for weight and bias: the bias does not repeat the weight's first values.
    layer = nn.Linear(4, 4, weight_init="uniform", bias_init="uniform", rng=3)
    assert not np.allclose(layer.weight.data[0], layer.bias.data)


def test_init_by_name_and_by_callable():
    he = nn.Linear(3, 5, weight_init="he_normal", bias_init="normal", rng=2)
    np.testing.assert_array_equal(he.weight.data, gn.init.he_normal((3, 5), rng=2))
    assert np.all(he.bias.data != 0)

    def constant(shape, dtype=np.float32, rng=None):
        return np.full(shape, 0.5, dtype=dtype)

    layer = nn.Linear(2, 3, weight_init=constant, bias_init=constant, dtype=np.float64)
    np.testing.assert_array_equal(layer.weight.data, np.full((2, 3), 0.5))
    np.testing.assert_array_equal(layer.bias.data, np.full(3, 0.5))
    assert layer.weight.dtype == np.float64
    with pytest.raises(ValueError, match="initializer must be .*'zeros', got 'glorious'"):
        nn.Linear(2, 3, weight_init="glorious")

    def bad(shape, dtype=np.float32, rng=None):
        return np.zeros(3)

    with pytest.raises(ValueError, match=r"weight_init bad returned an array of shape \(3,\), expected \(2, 3\)"):
        nn.Linear(2, 3, weight_init=bad)


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(in_features=0, out_features=3), ValueError, "in_features must be a positive int, got 0"),
    (dict(in_features=2, out_features=-1), ValueError, "out_features must be a positive int, got -1"),
    (dict(in_features=2.5, out_features=3), TypeError, "in_features must be a positive int, got float 2.5"),
    (dict(in_features=True, out_features=3), TypeError, "in_features must be a positive int, got bool"),
    (dict(in_features=2, out_features=3, dtype=np.int32), TypeError, "dtype must be float32 or float64, got int32"),
    (dict(in_features=2, out_features=3, bias="yes"), TypeError, "bias must be True or False, got str"),
])
def test_constructor_validates_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        nn.Linear(**kwargs)


def test_input_validation_names_expected_and_got():
    layer = nn.Linear(3, 2)
    with pytest.raises(ValueError, match=r"expects an input whose last dimension is 3, got shape \(4, 5\)"):
        layer(np.ones((4, 5)))
    with pytest.raises(ValueError, match=r"last dimension is 3, got shape \(\)"):
        layer(gn.Tensor(1.0))
    with pytest.raises(TypeError, match="input dtype float64 differs from weight dtype float32"):
        layer(gn.Tensor(np.ones((4, 3))))
    out = layer(np.ones((4, 3)))  # a NumPy array is converted to the layer's dtype
    assert out.dtype == np.float32 and out.shape == (4, 2)
    np.testing.assert_allclose(out.data, np.ones((4, 3), np.float32) @ layer.weight.data + layer.bias.data)


def test_repr():
    assert repr(nn.Linear(2, 4)) == "Linear(in_features=2, out_features=4, bias=True)"
    assert repr(nn.Linear(2, 4, bias=False)) == repr(torch.nn.Linear(2, 4, bias=False))


def test_functional_linear_rejects_a_scalar_input_with_a_value_error():
    # ops.linear used to fail with "IndexError: tuple index out of range" here.
    weight = nn.Parameter(np.ones((3, 2), np.float32))
    with pytest.raises(ValueError, match="must have a feature axis, got a scalar"):
        gn.functional.linear(gn.Tensor(1.0), weight)
    with pytest.raises(ValueError, match=r"input has 4 features \(shape \(2, 4\)\) but the weight expects 3"):
        gn.functional.linear(np.ones((2, 4)), weight)
