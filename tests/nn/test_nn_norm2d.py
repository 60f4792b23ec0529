"""nn.BatchNorm2d (training steps with running statistics, then evaluation) and nn.LayerNorm
against torch, finite differences, errors and configs."""

import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import functional as F
from glassnet import nn
from oracle import check_finite_differences

TORCH_DTYPES = {np.float32: torch.float32, np.float64: torch.float64}


def copy_parameters(ours, theirs, seed=0):
    """Random affine parameters (not the initial ones), the same on both sides."""
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for name, parameter in ours.named_parameters():
            parameter.data[...] = rng.uniform(0.5, 1.5, parameter.shape) if name == "weight" \
                else rng.normal(size=parameter.shape)
            getattr(theirs, name).copy_(torch.tensor(parameter.data))


def compare_step(ours, theirs, x, upstream, tol):
    """One forward and backward on both: output, input gradient, parameter gradients."""
    x_ours, x_theirs = gn.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, expected = ours(x_ours), theirs(x_theirs)
    assert out.dtype == x.dtype and out.shape == tuple(expected.shape)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=tol, atol=tol, err_msg="output")
    out.backward(upstream)
    expected.backward(torch.tensor(upstream))
    np.testing.assert_allclose(x_ours.grad, x_theirs.grad.numpy(), rtol=tol, atol=tol, err_msg="input grad")
    for name, parameter in ours.named_parameters():
        np.testing.assert_allclose(parameter.grad, getattr(theirs, name).grad.numpy(), rtol=tol,
                                   atol=tol, err_msg=f"{name} grad")
    ours.zero_grad()
    theirs.zero_grad()


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-9), (np.float32, 2e-4)])
@pytest.mark.parametrize("kwargs", [{}, {"momentum": None}, {"momentum": 0.3, "affine": False},
                                    {"track_running_stats": False}, {"eps": 1e-3}])
def test_batchnorm2d_training_steps_then_eval_match_torch(dtype, tol, kwargs):
    rng = np.random.default_rng(1)
    channels = 3
    ours = nn.BatchNorm2d(channels, dtype=dtype, **kwargs)
    theirs = torch.nn.BatchNorm2d(channels, dtype=TORCH_DTYPES[dtype], **kwargs)
    copy_parameters(ours, theirs)
    for n, h, w in ((8, 5, 4), (3, 7, 7), (16, 2, 3), (2, 1, 2)):  # several sizes, odd ones
        center = rng.normal(3.0, 2.0, size=(1, channels, 1, 1))
        scale = rng.uniform(0.5, 4.0, size=(1, channels, 1, 1))
        x = (center + scale * rng.normal(size=(n, channels, h, w))).astype(dtype)
        compare_step(ours, theirs, x, rng.normal(size=x.shape).astype(dtype), tol)
        if ours.track_running_stats:
            np.testing.assert_allclose(ours.running_mean, theirs.running_mean.numpy(), rtol=tol, atol=tol)
            # Unbiased: n * h * w / (n * h * w - 1) times the batch variance.
            np.testing.assert_allclose(ours.running_var, theirs.running_var.numpy(), rtol=tol, atol=tol)
            assert int(ours.num_batches_tracked) == int(theirs.num_batches_tracked)
    ours.eval()
    theirs.eval()
    x = rng.normal(2.0, 3.0, size=(5, channels, 4, 6)).astype(dtype)
    compare_step(ours, theirs, x, rng.normal(size=x.shape).astype(dtype), tol)


def test_batchnorm2d_running_var_is_unbiased_over_n_h_w():
    x = np.random.default_rng(2).normal(size=(4, 2, 3, 5))
    layer = nn.BatchNorm2d(2, momentum=1.0, dtype=np.float64)
    layer(x)
    np.testing.assert_allclose(layer.running_var, x.var(axis=(0, 2, 3), ddof=1))
    np.testing.assert_allclose(layer.running_mean, x.mean(axis=(0, 2, 3)))


def test_batchnorm2d_finite_differences():
    """The function BatchNorm2d calls, on images, in training and in evaluation mode."""
    rng = np.random.default_rng(3)
    running_mean, running_var = rng.normal(size=3), rng.uniform(0.5, 2.0, 3)
    for training in (True, False):
        check_finite_differences(
            lambda x, w, b: F.batch_norm(x, running_mean.copy(), running_var.copy(), w, b, training=training),
            rng.normal(size=(3, 3, 2, 3)), rng.uniform(0.5, 1.5, 3), rng.normal(size=3))


def test_batchnorm2d_errors():
    layer = nn.BatchNorm2d(3)
    with pytest.raises(ValueError,
                       match=r"BatchNorm2d expects an input of shape \(N, C, H, W\), got shape \(8, 3, 5\)"):
        layer(np.zeros((8, 3, 5)))
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3\) expects 3 channels on axis 1, got 1"):
        layer(np.zeros((8, 1, 5, 5)))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        layer(np.ones((1, 3, 1, 1)))
    assert int(layer.num_batches_tracked) == 0  # rejected batches change nothing
    np.testing.assert_array_equal(layer.running_mean, 0)
    with pytest.raises(TypeError, match="BatchNorm2d has float32 parameters but the input is float64"):
        layer(gn.Tensor(np.zeros((2, 3, 2, 2))))


def test_batchnorm2d_config():
    layer = nn.BatchNorm2d(4, eps=1e-3, momentum=None, affine=False, dtype="float64")
    config = layer.get_config()
    assert config == {"num_features": 4, "eps": 1e-3, "momentum": None, "affine": False,
                      "track_running_stats": True, "dtype": "float64"}
    assert nn.BatchNorm2d(**config).get_config() == config
    assert not isinstance(layer, nn.BatchNorm1d)


@pytest.mark.parametrize("shape, normalized_shape", [((4, 6), 6), ((2, 5, 8), (8,)), ((2, 3, 4, 5), (4, 5)),
                                                      ((3, 4, 2), (3, 4, 2))])
@pytest.mark.parametrize("kwargs", [{}, {"elementwise_affine": False}, {"bias": False}, {"eps": 0.1}])
def test_layer_norm_matches_torch(shape, normalized_shape, kwargs):
    rng = np.random.default_rng(4)
    ours = nn.LayerNorm(normalized_shape, dtype=np.float64, **kwargs)
    theirs = torch.nn.LayerNorm(normalized_shape, dtype=torch.float64, **kwargs)
    copy_parameters(ours, theirs)
    x = rng.normal(2.0, 3.0, size=shape)
    compare_step(ours, theirs, x, rng.normal(size=shape), 1e-9)
    ours.eval()
    theirs.eval()  # no difference between the modes
    compare_step(ours, theirs, x, rng.normal(size=shape), 1e-9)


def test_layer_norm_float32_and_batch_of_one():
    x = np.random.default_rng(5).normal(size=(1, 3, 16)).astype(np.float32)
    out = nn.LayerNorm(16)(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.data, torch.nn.LayerNorm(16, dtype=torch.float32)(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-5)


def test_layer_norm_finite_differences():
    rng = np.random.default_rng(6)
    check_finite_differences(lambda x, w, b: F.layer_norm(x, (3, 4), w, b),
                             rng.normal(size=(2, 3, 4)), rng.uniform(0.5, 1.5, (3, 4)), rng.normal(size=(3, 4)))
    check_finite_differences(lambda x, w: F.layer_norm(x, 4, w), rng.normal(size=(3, 4)), rng.uniform(0.5, 1.5, 4))
    check_finite_differences(lambda x: F.layer_norm(x, 5, eps=0.1), rng.normal(size=(2, 2, 5)))


def test_layer_norm_function_checks_its_parameters():
    x = gn.Tensor(np.zeros((2, 4), np.float32))
    with pytest.raises(ValueError,
                       match=r"weight must have shape \(4,\) and dtype float32 \(the input's\), got \(4,\) float64"):
        F.layer_norm(x, 4, gn.Tensor(np.ones(4)))
    with pytest.raises(ValueError,
                       match=r"bias must have shape \(4,\) and dtype float32 \(the input's\), got \(3,\) float32"):
        F.layer_norm(x, 4, None, gn.Tensor(np.ones(3, np.float32)))


def test_layer_norm_errors_and_config():
    with pytest.raises(ValueError, match=r"LayerNorm\(\(4, 5\)\) expects input of shape \(\*, 4, 5\), got \(2, 5, 4\)"):
        nn.LayerNorm((4, 5))(np.zeros((2, 5, 4)))
    with pytest.raises(ValueError, match=r"expects input of shape \(\*, 8\), got \(8, 4\)"):
        nn.LayerNorm(8)(np.zeros((8, 4)))
    with pytest.raises(ValueError, match=r"normalized_shape must be a positive int, got 0"):
        nn.LayerNorm(0)
    with pytest.raises(TypeError, match="elementwise_affine must be True or False"):
        nn.LayerNorm(4, elementwise_affine=None)
    with pytest.raises(TypeError, match="LayerNorm has float32 parameters but the input is float64"):
        nn.LayerNorm(4)(gn.Tensor(np.zeros((2, 4))))
    layer = nn.LayerNorm([4, 5], eps=1e-6, bias=False)
    assert layer.bias is None and layer.weight.shape == (4, 5)
    config = layer.get_config()
    assert config == {"normalized_shape": (4, 5), "eps": 1e-6, "elementwise_affine": True, "bias": False,
                      "dtype": "float32"}
    assert nn.LayerNorm(**config).get_config() == config


def test_batch_norm_function_checks_its_channel_vectors_before_updating_anything():
    x = np.random.default_rng(0).normal(size=(4, 3))
    running_mean, running_var = np.zeros(3), np.ones(3)
    for vectors, name in [((np.zeros(2), running_var, None), "running_mean"),
                          ((running_mean, np.ones(4), None), "running_var"),
                          ((running_mean, running_var, gn.Tensor(np.ones(2))), "weight")]:
        with pytest.raises(ValueError, match=rf"batch_norm: {name} must have shape \(3,\)"):
            F.batch_norm(x, *vectors, training=True)
    np.testing.assert_array_equal(running_mean, np.zeros(3))
    np.testing.assert_array_equal(running_var, np.ones(3))
