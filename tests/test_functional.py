"""Activations and dropout against finite differences and PyTorch; extreme inputs give finite
values and finite gradients with no RuntimeWarning; docstrings state the derivative."""

import inspect
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import glassnet as gn
from activation_twins import cases, glassnet_and_torch, registered_names
from glassnet import functional as F
from oracle import check_against_torch, check_finite_differences

# Test id -> (glassnet, torch), from the registry: every activation at its defaults, and at the
# other parameters of activation_twins.OTHER_PARAMETERS ("leaky_relu alpha=0.2", "softmax axis=0").
ACTIVATIONS = {case: glassnet_and_torch(*arguments) for case, arguments in cases().items()}


def away_from_zero(rng, shape):
    """Normal values, none within 0.05 of 0 (the kink of relu, leaky_relu, elu and step)."""
    x = rng.normal(size=shape)
    return np.where(np.abs(x) < 0.05, 0.05 * np.sign(x) + 0.05 * (x == 0), x)


@pytest.mark.parametrize("shape", [(7,), (3, 4), (2, 3, 4)], ids=str)
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation(name, shape):
    fn, torch_fn = ACTIVATIONS[name]
    x = away_from_zero(np.random.default_rng(12), shape) * 2
    check_finite_differences(fn, x)
    check_against_torch(fn, torch_fn, x)
    check_against_torch(fn, torch_fn, x, dtype=np.float32, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_at_zero_like_torch(name):
    fn, torch_fn = ACTIVATIONS[name]
    check_against_torch(fn, torch_fn, np.array([-1.0, 0.0, 1.0]))


EXTREMES = np.array([-1e4, -1e3, -100.0, -30.0, -1.0, -1e-8, 0.0, 1e-8, 1.0, 30.0, 100.0, 1e3, 1e4])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_extreme_inputs_give_finite_values_and_gradients(name, dtype):
    fn, torch_fn = ACTIVATIONS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow warning is a failure, whatever the config
        x = gn.Tensor(EXTREMES.astype(dtype), requires_grad=True)
        out = fn(x)
        out.backward(np.ones(out.shape, dtype))
    assert np.all(np.isfinite(out.data)) and np.all(np.isfinite(x.grad))
    # ... and they are PyTorch's values and gradients
    check_against_torch(fn, torch_fn, EXTREMES, dtype=dtype, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_of_huge_logits(name):
    fn, torch_fn = ACTIVATIONS[name]
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [1e4, 1e4, -1e4], [5.0, 1e3, -1e3]])
    out = check_against_torch(fn, torch_fn, logits, atol=1e-6)
    assert np.all(np.isfinite(out.data))
    out32 = check_against_torch(fn, torch_fn, logits, dtype=np.float32, atol=1e-5)
    assert np.all(np.isfinite(out32.data))


def test_sigmoid_saturates_without_overflow():
    x = gn.Tensor(np.array([-1e3, 1e3]), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = F.sigmoid(x)
        y.sum().backward()
    np.testing.assert_array_equal(y.data, [0.0, 1.0])
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])


def test_softmax_rows_sum_to_one(rng):
    probs = F.softmax(gn.Tensor(rng.normal(size=(5, 7)) * 10))
    np.testing.assert_allclose(probs.data.sum(axis=-1), np.ones(5), rtol=1e-6)
    np.testing.assert_allclose(np.exp(F.log_softmax(gn.Tensor(probs.data)).data).sum(-1),
                               np.ones(5), rtol=1e-6)


def test_default_parameters_are_pytorchs():
    assert F.get_activation("leaky_relu").parameters == {"alpha": 0.01} == {
        "alpha": inspect.signature(TF.leaky_relu).parameters["negative_slope"].default}
    assert F.get_activation("elu").parameters == {"alpha": inspect.signature(TF.elu).parameters["alpha"].default}
    # torch's softmax has no default dim; glassnet's is the last axis, nn.Softmax's usual choice
    assert F.get_activation("softmax").parameters == F.get_activation("log_softmax").parameters == {"axis": -1}


def test_activations_accept_arrays():
    np.testing.assert_array_equal(F.relu(np.array([-1.0, 2.0])).data, [0.0, 2.0])
    assert F.sigmoid([0.0]).dtype == np.float32
    np.testing.assert_array_equal(F.identity(np.array([3.0])).data, [3.0])
    np.testing.assert_array_equal(F.get_activation("identity").function(np.array([3.0])).data, [3.0])


@pytest.mark.parametrize("name", registered_names())
def test_docstring_states_formula_and_derivative(name):
    doc = getattr(F, name).__doc__
    assert "Derivative" in doc
    assert "phi" in doc  # the formula, in the course's notation


# ---- dropout -------------------------------------------------------------------------------------
def test_dropout_is_inverted_and_reproducible():
    x = np.ones((200, 50))
    y = F.dropout(gn.Tensor(x), p=0.3, rng=0)
    kept = y.data != 0
    np.testing.assert_allclose(y.data[kept], 1 / 0.7)
    assert abs(kept.mean() - 0.7) < 0.01  # 10,000 draws: 4.6 standard deviations
    assert abs(y.data.mean() - 1.0) < 0.02  # the expectation is unchanged
    np.testing.assert_array_equal(F.dropout(gn.Tensor(x), p=0.3, rng=0).data, y.data)
    other = F.dropout(gn.Tensor(x), p=0.3, rng=np.random.default_rng(1)).data
    assert not np.array_equal(other, y.data)


def test_dropout_gradient_is_the_scaled_mask(rng):
    x = rng.normal(size=(4, 6))
    out = F.dropout(gn.Tensor(x), p=0.5, rng=3)
    mask = (out.data != 0) / 0.5
    # PyTorch on the same mask: x * mask, so values and gradients must agree.
    check_against_torch(lambda t: F.dropout(t, p=0.5, rng=3), lambda t: t * torch.tensor(mask), x)
    # a seed gives the same mask on every call, so finite differences see a fixed function
    check_finite_differences(lambda t: F.dropout(t, p=0.5, rng=3), x)


@pytest.mark.parametrize("p", [0.0, 0.4, 1.0])
def test_dropout_edge_probabilities_and_eval_mode_match_torch(p, rng):
    x = rng.normal(size=(3, 4))
    check_against_torch(lambda t: F.dropout(t, p=p, training=False),
                        lambda t: TF.dropout(t, p=p, training=False), x)
    if p in (0.0, 1.0):  # deterministic in training mode too
        check_against_torch(lambda t: F.dropout(t, p=p), lambda t: TF.dropout(t, p=p), x)


def test_dropout_rejects_bad_probability():
    with pytest.raises(ValueError, match=r"\[0, 1\], got 1.5"):
        F.dropout(gn.Tensor(np.ones(3)), p=1.5)
    with pytest.raises(ValueError, match=r"got -0.1"):
        F.dropout(gn.Tensor(np.ones(3)), p=-0.1)


# ---- linear (the functional form of nn.Linear) ----------------------------------------------------
@pytest.mark.parametrize("x_shape", [(5, 3), (2, 5, 3), (3,)], ids=str)
@pytest.mark.parametrize("bias", [True, False])
def test_linear(x_shape, bias, rng):
    arrays = [rng.normal(size=x_shape), rng.normal(size=(3, 4))] + ([rng.normal(size=4)] if bias else [])
    check_finite_differences(F.linear, *arrays)
    check_against_torch(F.linear, lambda x, w, *b: TF.linear(x, w.T, *b), *arrays)


def test_linear_errors():
    w = gn.Tensor(np.ones((3, 4), np.float32))
    with pytest.raises(ValueError, match=r"5 features .*\(2, 5\).*expects 3.*\(3, 4\)"):
        F.linear(gn.Tensor(np.ones((2, 5), np.float32)), w)
    with pytest.raises(TypeError, match="dtype float64 differs from weight dtype float32"):
        F.linear(gn.Tensor(np.ones((2, 3))), w)
    assert F.linear(np.ones((2, 3)), w).dtype == np.float32  # an array input takes the weight's dtype


@pytest.mark.parametrize("function", [F.softmax, F.log_softmax])
def test_an_axis_out_of_range_is_a_value_error_naming_it(function):
    # It used to be NumPy's AxisError from deep inside the op.
    name = function.__name__
    with pytest.raises(ValueError, match=rf"{name}: axis 5 is out of range for an input with 2 dimensions "
                                         r"\(valid: -2 to 1\)"):
        function(np.zeros((2, 3)), axis=5)
    with pytest.raises(ValueError, match=rf"{name}: axis -3 is out of range"):
        function(np.zeros((2, 3)), axis=-3)
    with pytest.raises(TypeError, match=rf"{name}: axis must be an int, got float 1.5"):
        function(np.zeros((2, 3)), axis=1.5)
    np.testing.assert_allclose(function(np.zeros((2, 3)), axis=-2).numpy(), function(np.zeros((2, 3)), axis=0).numpy())
    assert function(np.zeros((0, 3))).shape == (0, 3)  # a batch of no rows


def test_concatenate_and_stack_check_their_axis():
    a = gn.Tensor(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"concatenate: axis 2 is out of range for an input with 2 dimensions"):
        gn.concatenate([a, a], axis=2)
    with pytest.raises(ValueError, match=r"stack: axis 3 is out of range .*\(valid: -3 to 2\)"):
        gn.stack([a, a], axis=3)
    assert gn.stack([a, a], axis=2).shape == (2, 3, 2) and gn.stack([a, a], axis=-3).shape == (2, 2, 3)
    assert gn.concatenate([a, a], axis=-1).shape == (2, 6)
