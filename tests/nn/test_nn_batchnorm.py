"""nn.BatchNorm1d: step by step against torch.nn.BatchNorm1d (outputs, gradients, running
statistics), finite differences, and input validation."""

import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import nn
from oracle import check_finite_differences

TORCH_DTYPES = {np.float32: torch.float32, np.float64: torch.float64}


def make_pair(channels, dtype=np.float64, seed=0, **kwargs):
    """Our layer and PyTorch's, with the same random affine parameters."""
    ours = nn.BatchNorm1d(channels, dtype=dtype, **kwargs)
    theirs = torch.nn.BatchNorm1d(channels, dtype=TORCH_DTYPES[dtype], **kwargs)
    if ours.affine:
        rng = np.random.default_rng(seed)
        ours.weight.data[...] = rng.uniform(0.5, 1.5, channels)
        ours.bias.data[...] = rng.normal(size=channels)
        with torch.no_grad():
            theirs.weight.copy_(torch.tensor(ours.weight.data))
            theirs.bias.copy_(torch.tensor(ours.bias.data))
    return ours, theirs


def compare_step(ours, theirs, x, upstream, tol):
    """One forward and backward on both; compares outputs, all gradients and the buffers."""
    x_ours, x_theirs = gn.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, expected = ours(x_ours), theirs(x_theirs)
    assert out.dtype == x.dtype and out.shape == tuple(expected.shape)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=tol, atol=tol, err_msg="output")
    out.backward(upstream)
    expected.backward(torch.tensor(upstream))
    np.testing.assert_allclose(x_ours.grad, x_theirs.grad.numpy(), rtol=tol, atol=tol, err_msg="input grad")
    if ours.affine:
        np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), rtol=tol, atol=tol,
                                   err_msg="weight grad")
        np.testing.assert_allclose(ours.bias.grad, theirs.bias.grad.numpy(), rtol=tol, atol=tol,
                                   err_msg="bias grad")
    if ours.track_running_stats:
        np.testing.assert_allclose(ours.running_mean, theirs.running_mean.numpy(), rtol=tol, atol=tol,
                                   err_msg="running_mean")
        np.testing.assert_allclose(ours.running_var, theirs.running_var.numpy(), rtol=tol, atol=tol,
                                   err_msg="running_var")
        assert int(ours.num_batches_tracked) == int(theirs.num_batches_tracked)
        assert ours.running_mean.dtype == ours.running_var.dtype == x.dtype
    else:
        assert ours.running_mean is None and theirs.running_mean is None
    ours.zero_grad()
    theirs.zero_grad()


def random_batches(rng, channels, length, dtype, sizes=(8, 5, 12, 2)):
    """Batches of several sizes with per-channel means and scales far from 0 and 1."""
    for n in sizes:
        shape = (n, channels) if length is None else (n, channels, length)
        center = rng.normal(3.0, 2.0, size=(channels,) + (() if length is None else (1,)))
        scale = rng.uniform(0.5, 4.0, size=center.shape)
        x = (center + scale * rng.normal(size=shape)).astype(dtype)
        yield x, rng.normal(size=shape).astype(dtype)


@pytest.mark.parametrize("length", [None, 7], ids=["N,C", "N,C,L"])
@pytest.mark.parametrize("options", [
    {},
    {"momentum": 0.3, "eps": 1e-3},
    {"momentum": None},
    {"affine": False},
    {"track_running_stats": False},
], ids=["default", "momentum0.3", "cumulative", "no-affine", "no-running-stats"])
def test_training_steps_then_eval_match_torch(rng, length, options):
    ours, theirs = make_pair(4, **options)
    for x, upstream in random_batches(rng, 4, length, np.float64):
        compare_step(ours, theirs, x, upstream, tol=1e-10)
    ours.eval(), theirs.eval()
    assert not ours.training
    # One sample is fine with running statistics; without them the batch's are used, as in training.
    for x, upstream in random_batches(rng, 4, length, np.float64,
                                      sizes=(6, 1) if ours.track_running_stats else (6, 3)):
        compare_step(ours, theirs, x, upstream, tol=1e-10)
    if ours.track_running_stats:
        assert int(ours.num_batches_tracked) == 4  # evaluation does not count batches


@pytest.mark.parametrize("length", [None, 5], ids=["N,C", "N,C,L"])
def test_float32_matches_torch(rng, length):
    ours, theirs = make_pair(3, dtype=np.float32)
    for x, upstream in random_batches(rng, 3, length, np.float32):
        compare_step(ours, theirs, x, upstream, tol=2e-5)
    ours.eval(), theirs.eval()
    for x, upstream in random_batches(rng, 3, length, np.float32, sizes=(4,)):
        compare_step(ours, theirs, x, upstream, tol=2e-5)


def with_parameters(layer):
    """fn(x, weight, bias) = layer(x) with the given tensors as gamma and beta."""

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


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5)])
@pytest.mark.parametrize("training", [True, False])
def test_gradients_match_finite_differences(rng, shape, training):
    layer = nn.BatchNorm1d(3, dtype=np.float64)
    layer.running_mean[...] = rng.normal(size=3)
    layer.running_var[...] = rng.uniform(0.5, 2.0, size=3)
    layer.train(training)
    x = rng.normal(2.0, 3.0, size=shape)
    check_finite_differences(with_parameters(layer), x, rng.uniform(0.5, 1.5, 3), rng.normal(size=3))


def test_training_output_is_normalized(rng):
    layer = nn.BatchNorm1d(5, eps=0.0, dtype=np.float64)
    x = rng.normal(10.0, 4.0, size=(64, 5, 3))
    out = layer(x).data
    np.testing.assert_allclose(out.mean(axis=(0, 2)), np.zeros(5), atol=1e-12)
    np.testing.assert_allclose(out.var(axis=(0, 2)), np.ones(5), rtol=1e-12)
    n = 64 * 3
    np.testing.assert_allclose(layer.running_mean, 0.1 * x.mean(axis=(0, 2)), rtol=1e-12)
    np.testing.assert_allclose(layer.running_var, 0.9 + 0.1 * x.var(axis=(0, 2)) * n / (n - 1), rtol=1e-12)


@pytest.mark.parametrize("shape", [(1, 4), (1, 4, 1)])
def test_one_value_per_channel_in_training_is_an_error_that_changes_nothing(shape):
    layer = nn.BatchNorm1d(4)
    before = {name: array.copy() for name, array in layer.state_dict().items()}
    with pytest.raises(ValueError, match=r"Expected more than 1 value per channel when training, "
                                         rf"got input of shape \({shape[0]}, 4"):
        layer(np.ones(shape))
    for name, array in layer.state_dict().items():
        np.testing.assert_array_equal(array, before[name], err_msg=name)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        torch.nn.BatchNorm1d(4)(torch.ones(shape))  # the same rule as PyTorch's
    assert layer(np.ones((1, 4, 2))).shape == (1, 4, 2)  # two values per channel are enough
    assert layer.eval()(np.ones(shape)).shape == shape  # evaluation uses the running statistics


def test_input_validation():
    layer = nn.BatchNorm1d(4)
    with pytest.raises(ValueError,
                       match=r"BatchNorm1d\(4\) expects 4 channels on axis 1, got 3 \(input shape \(8, 3\)\)"):
        layer(np.ones((8, 3)))
    with pytest.raises(ValueError, match=r"expects an input of shape \(N, C\) or \(N, C, L\), got shape \(4,\)"):
        layer(np.ones(4))
    with pytest.raises(ValueError, match=r"got shape \(2, 4, 3, 3\)"):
        layer(np.ones((2, 4, 3, 3)))
    with pytest.raises(TypeError, match="BatchNorm1d has float32 parameters but the input is float64"):
        layer(gn.Tensor(np.ones((8, 4))))
    assert int(layer.num_batches_tracked) == 0
    out = layer(np.arange(8.0).reshape(2, 4))  # arrays are converted to the layer's dtype
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.data, [[-1.0] * 4, [1.0] * 4], rtol=1e-5)


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(num_features=0), ValueError, "num_features must be a positive int, got 0"),
    (dict(num_features=3, momentum=1.5), ValueError, r"momentum must be in \[0, 1\] or None, got 1.5"),
    (dict(num_features=3, eps=-1e-5), ValueError, "eps must be >= 0"),
    (dict(num_features=3, affine="yes"), TypeError, "affine must be True or False, got str"),
    (dict(num_features=3, dtype="int64"), TypeError, "dtype must be float32 or float64, got int64"),
])
def test_constructor_validates_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        nn.BatchNorm1d(**kwargs)


def test_parameters_buffers_state_dict_and_repr():
    layer = nn.BatchNorm1d(3)
    assert [n for n, _ in layer.named_parameters()] == ["weight", "bias"]
    assert list(layer.state_dict()) == list(torch.nn.BatchNorm1d(3).state_dict())
    np.testing.assert_array_equal(layer.weight.data, np.ones(3, np.float32))
    np.testing.assert_array_equal(layer.bias.data, np.zeros(3, np.float32))
    np.testing.assert_array_equal(layer.running_mean, np.zeros(3, np.float32))
    np.testing.assert_array_equal(layer.running_var, np.ones(3, np.float32))
    assert layer.num_batches_tracked.dtype == np.int64 and layer.num_batches_tracked.shape == ()
    bare = nn.BatchNorm1d(3, affine=False, track_running_stats=False)
    assert list(bare.parameters()) == [] and bare.state_dict() == {}
    assert bare.weight is None and bare.running_mean is None
    assert repr(layer) == "BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)"
    assert repr(bare) == "BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=False, track_running_stats=False)"


def test_load_torch_state_and_reset(rng):
    theirs = torch.nn.BatchNorm1d(3, dtype=torch.float64)
    for _ in range(3):
        theirs(torch.tensor(rng.normal(1.0, 2.0, size=(10, 3))))
    ours = nn.BatchNorm1d(3, dtype=np.float64)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    assert int(ours.num_batches_tracked) == 3
    x = rng.normal(size=(5, 3))
    ours.eval(), theirs.eval()
    np.testing.assert_allclose(ours(x).data, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-12)
    ours.reset_parameters()
    np.testing.assert_array_equal(ours.running_mean, np.zeros(3))
    np.testing.assert_array_equal(ours.running_var, np.ones(3))
    assert int(ours.num_batches_tracked) == 0
    np.testing.assert_allclose(ours(x).data, x / np.sqrt(1 + 1e-5), rtol=1e-12)
