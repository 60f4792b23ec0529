"""The L1/L2 penalties and gradient clipping skip frozen parameters (requires_grad=False): a
constant carries no penalty and gets no gradient, and a stale gradient it still holds neither
counts in the clipped norm nor changes."""

import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import losses, nn, optim


def frozen_and_trainable(rng):
    frozen, trainable = gn.Parameter(rng.normal(size=(3, 2))), gn.Parameter(rng.normal(size=(2, 4)))
    frozen.requires_grad = False
    return frozen, trainable


@pytest.mark.parametrize("penalty, term", [(optim.l1_penalty, np.abs), (optim.l2_penalty, np.square)])
def test_penalties_skip_frozen_parameters(penalty, term, rng):
    frozen, trainable = frozen_and_trainable(rng)
    value = penalty([frozen, trainable], 0.3)
    np.testing.assert_allclose(value.item(), 0.3 * term(trainable.data).sum(), rtol=1e-14)
    value.backward()
    assert frozen.grad is None
    expected = 0.3 * np.sign(trainable.data) if penalty is optim.l1_penalty else 0.6 * trainable.data
    np.testing.assert_allclose(trainable.grad, expected, rtol=1e-14)


@pytest.mark.parametrize("penalty", [optim.l1_penalty, optim.l2_penalty])
def test_a_penalty_on_frozen_parameters_only_is_a_constant_zero(penalty, rng):
    frozen, _ = frozen_and_trainable(rng)
    value = penalty([frozen], 0.5)
    assert value.item() == 0.0 and value.dtype == np.float64 and not value.requires_grad
    model = nn.Sequential(nn.Linear(2, 3, rng=0), nn.Linear(3, 1, rng=1))
    model[0].freeze()
    x = rng.normal(size=(4, 2)).astype(np.float32)
    loss = losses.mse(model(x), np.zeros((4, 1), np.float32))
    total = loss + penalty(model[0].parameters(), 0.5)
    assert total.dtype == np.float32 and total.item() == loss.item()
    with pytest.raises(ValueError, match="empty list of parameters"):
        penalty([], 0.5)  # an empty list is still a mistake
    with pytest.raises(ValueError, match="strength"):
        penalty([frozen], -1.0)


def stale_setup(rng):
    """Three parameters with gradients, the middle one frozen (its gradient is stale), and the
    torch tensors of the two trainable ones."""
    params = [gn.Parameter(np.zeros(shape)) for shape in [(4, 3), (5,), (3, 2)]]
    for p in params:
        p.grad = rng.normal(scale=4.0, size=p.shape)
    params[1].requires_grad = False
    theirs = []
    for p in (params[0], params[2]):
        t = torch.zeros(p.shape, dtype=torch.float64, requires_grad=True)
        t.grad = torch.tensor(p.grad.copy())
        theirs.append(t)
    return params, theirs


@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf")])
def test_clip_grad_norm_ignores_a_frozen_parameters_stale_gradient(norm_type, rng):
    params, theirs = stale_setup(rng)
    stale = params[1].grad.copy()
    total = optim.clip_grad_norm(params, max_norm=1.0, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm=1.0, norm_type=norm_type)  # the trainable ones
    np.testing.assert_allclose(total, expected.item(), rtol=1e-14)
    np.testing.assert_array_equal(params[1].grad, stale)
    for p, t in zip((params[0], params[2]), theirs):
        np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=1e-14)


def test_clip_grad_value_leaves_a_frozen_parameters_gradient_alone(rng):
    params, theirs = stale_setup(rng)
    stale = params[1].grad.copy()
    optim.clip_grad_value(params, 0.5)
    torch.nn.utils.clip_grad_value_(theirs, 0.5)
    np.testing.assert_array_equal(params[1].grad, stale)
    assert np.abs(stale).max() > 0.5
    for p, t in zip((params[0], params[2]), theirs):
        np.testing.assert_array_equal(p.grad, t.grad.numpy())
