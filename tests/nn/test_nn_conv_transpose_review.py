"""A hostile review of the transposed convolutions, interpolate/Upsample and Unflatten through
the public API: random cases against PyTorch (values and every gradient), sizes where the float
rounding order matters, layers in model files, state dicts and training loops, bad inputs."""

import json

import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import functional as F
from glassnet import nn

torch.set_default_dtype(torch.float64)


def against_torch(ours_fn, torch_fn, x, dtype, atol, rtol=0.0, seed=0):
    """Forward values and the input gradient of ``ours_fn`` vs ``torch_fn`` on the array x."""
    ours, theirs = gn.Tensor(x.astype(dtype), requires_grad=True), torch.tensor(x.astype(dtype), requires_grad=True)
    y, expected = ours_fn(ours), torch_fn(theirs)
    assert y.shape == tuple(expected.shape) and y.dtype == np.dtype(dtype)
    np.testing.assert_allclose(y.numpy(), expected.detach().numpy(), atol=atol, rtol=rtol)
    upstream = np.random.default_rng(seed).normal(size=y.shape).astype(dtype)
    y.backward(upstream)
    expected.backward(torch.tensor(upstream))
    assert ours.grad.dtype == np.dtype(dtype)
    np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), atol=atol, rtol=rtol)


# ---- interpolate: long float32 axes, where PyTorch's rounding order shows --------------------
@pytest.mark.parametrize("shape, kwargs, mode", [
    ((1, 2, 2100), {"scale_factor": 2.5}, "linear"),
    ((1, 1, 4097), {"size": 9001}, "linear"),
    ((1, 1, 10000), {"scale_factor": 1.7}, "linear"),
    ((1, 1, 2100, 3), {"scale_factor": (2.5, 1.5)}, "bilinear"),
    ((1, 1, 3, 3000), {"size": (5, 8100)}, "bilinear"),
])
def test_float32_linear_positions_round_as_in_pytorch(shape, kwargs, mode):
    # PyTorch computes scale * (j + 0.5) - 0.5 in double (j + 0.5 is a double) and rounds the
    # position to float only then; rounding every step in float32 moved lam by up to 2^-12
    # on axes of thousands of entries, so outputs differed from PyTorch by 5e-4.
    x = np.random.default_rng(0).normal(size=shape)
    against_torch(lambda t: F.interpolate(t, mode=mode, **kwargs),
                  lambda t: torch.nn.functional.interpolate(t, mode=mode, **kwargs),
                  x, np.float32, atol=2e-6)


def test_float64_nearest_1d_gradient_is_the_gradient_of_the_returned_output():
    # The documented PyTorch quirk: its float64 1-D backward uses a float32 scale (output 81 of
    # 3000 * 2.7 is read from entry 30 by the forward, its gradient sent to 29 by PyTorch).
    # Our forward equals PyTorch's; our gradient is the exact adjoint of our forward.
    x = np.random.default_rng(1).normal(size=(1, 1, 3000))
    y = F.interpolate(gn.Tensor(x), scale_factor=2.7)
    np.testing.assert_array_equal(y.numpy(), torch.nn.functional.interpolate(torch.tensor(x), scale_factor=2.7).numpy())
    t = gn.Tensor(x, requires_grad=True)
    upstream = np.random.default_rng(2).normal(size=y.shape)
    F.interpolate(t, scale_factor=2.7).backward(upstream)
    # <interpolate(x), g> == <x, grad>: the adjoint identity, exact for a gather.
    assert np.isclose(np.sum(y.numpy() * upstream), np.sum(x * t.grad), rtol=1e-12)
    assert np.isclose(t.grad[0, 0, 30], upstream[0, 0, 81:84].sum(), rtol=1e-12)


# ---- conv_transpose: bad operands -----------------------------------------------------------
@pytest.mark.parametrize("x_shape, w_shape", [
    ((1, 3, 4), (3, 2, 0)), ((1, 3, 4, 4), (3, 2, 0, 2)), ((1, 0, 4), (0, 2, 3)), ((1, 3, 4), (3, 0, 2)),
])
def test_an_empty_weight_is_refused_as_pytorch_does(x_shape, w_shape):
    # A zero-size kernel used to return bias-only outputs of a made-up size ((1, 2, 3) here);
    # PyTorch raises for each of these.
    with pytest.raises(RuntimeError):
        torch.nn.functional.conv_transpose1d(torch.ones(x_shape), torch.ones(w_shape)) if len(w_shape) == 3 \
            else torch.nn.functional.conv_transpose2d(torch.ones(x_shape), torch.ones(w_shape))
    with pytest.raises(ValueError, match=r"needs at least 1 entry on every axis, got shape"):
        F.conv_transpose(np.ones(x_shape), np.ones(w_shape))
