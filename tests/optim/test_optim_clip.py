"""Gradient clipping against torch.nn.utils.clip_grad_norm_ and clip_grad_value_."""

import math

import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import optim

SHAPES = [(4, 3), (3,), (3, 2), (2,)]


def both_sides(scale, seed=0, none_at=None):
    """Parameters with the same gradients in glassnet and torch (index ``none_at``: no grad)."""
    rng = np.random.default_rng(seed)
    ours, theirs = [], []
    for index, shape in enumerate(SHAPES):
        p = gn.Parameter(np.zeros(shape))
        t = torch.zeros(shape, dtype=torch.float64, requires_grad=True)
        if index != none_at:
            g = rng.normal(scale=scale, size=shape)
            p.grad, t.grad = g.copy(), torch.tensor(g)
        ours.append(p)
        theirs.append(t)
    return ours, theirs


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf, "inf"])
@pytest.mark.parametrize("scale", [10.0, 0.01])  # clipped, and left alone
def test_clip_grad_norm_matches_torch(norm_type, scale):
    ours, theirs = both_sides(scale, none_at=2)
    arrays = [p.grad for p in ours]
    total = optim.clip_grad_norm((p for p in ours), max_norm=1.0, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm=1.0, norm_type=norm_type)
    assert isinstance(total, float)
    np.testing.assert_allclose(total, expected.item(), rtol=1e-14)
    assert ours[2].grad is None
    for p, t, array in zip(ours, theirs, arrays):
        if p.grad is not None:
            assert p.grad is array  # clipped in place
            np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=1e-14)
    if scale == 10.0:  # the clipped gradients have norm max_norm (up to the 1e-6 guard)
        p = math.inf if norm_type in (math.inf, "inf") else float(norm_type)
        flat = np.concatenate([q.grad.ravel() for q in ours if q.grad is not None])
        np.testing.assert_allclose(np.linalg.norm(flat, ord=p), 1.0, rtol=1e-5)


def test_clip_grad_norm_is_the_norm_of_all_gradients_as_one_vector():
    ours, _ = both_sides(3.0)
    flat = np.concatenate([p.grad.ravel() for p in ours])
    total = optim.clip_grad_norm(ours, max_norm=2.0)
    np.testing.assert_allclose(total, np.sqrt(np.sum(flat ** 2)), rtol=1e-14)
    np.testing.assert_allclose(np.concatenate([p.grad.ravel() for p in ours]),
                               flat * 2.0 / (total + 1e-6), rtol=1e-14)


def test_clip_grad_norm_float32_and_single_tensor():
    w = gn.Parameter(np.array([3.0, 4.0], dtype=np.float32))
    w.grad = np.array([3.0, 4.0], dtype=np.float32)
    assert optim.clip_grad_norm(w, 1.0) == pytest.approx(5.0, rel=1e-7)
    assert w.grad.dtype == np.float32
    np.testing.assert_allclose(w.grad, [0.6, 0.8], rtol=1e-6)


def test_clip_grad_norm_non_finite():
    ours, _ = both_sides(1.0)
    ours[1].grad[0] = np.inf
    before = [p.grad.copy() for p in ours]
    assert optim.clip_grad_norm(ours, 1.0) == math.inf
    for p, b in zip(ours, before):
        np.testing.assert_array_equal(p.grad, b)  # left unchanged, as documented
    ours[1].grad[0] = np.nan
    assert math.isnan(optim.clip_grad_norm(ours, 1.0))
    with pytest.raises(RuntimeError, match="total 2.0-norm of the gradients is nan"):
        optim.clip_grad_norm(ours, 1.0, error_if_nonfinite=True)


def test_clip_grad_norm_without_gradients_and_bad_arguments():
    assert optim.clip_grad_norm([gn.Parameter(np.ones(3))], 1.0) == 0.0
    ours, _ = both_sides(1.0)
    for bad in (0.0, -1.0):
        with pytest.raises(ValueError, match=f"max_norm must be > 0, got {bad}"):
            optim.clip_grad_norm(ours, bad)
    for bad in (0.0, -2.0, float("nan")):
        with pytest.raises(ValueError, match=f"norm_type must be (> 0|finite), got {bad}"):
            optim.clip_grad_norm(ours, 1.0, norm_type=bad)
    with pytest.raises(TypeError, match="norm_type must be a real number, got str 'two'"):
        optim.clip_grad_norm(ours, 1.0, norm_type="two")
    with pytest.raises(TypeError, match="error_if_nonfinite must be True or False, got str 'yes'"):
        optim.clip_grad_norm(ours, 1.0, error_if_nonfinite="yes")
    with pytest.raises(TypeError, match="item 0 is a ndarray"):
        optim.clip_grad_norm([np.ones(3)], 1.0)


@pytest.mark.parametrize("clip_value", [0.5, 2.0])
def test_clip_grad_value_matches_torch(clip_value):
    ours, theirs = both_sides(1.5, none_at=0)
    arrays = [p.grad for p in ours]
    assert optim.clip_grad_value(ours, clip_value) is None
    torch.nn.utils.clip_grad_value_(theirs, clip_value)
    assert ours[0].grad is None
    for p, t, array in zip(ours[1:], theirs[1:], arrays[1:]):
        assert p.grad is array
        np.testing.assert_array_equal(p.grad, t.grad.numpy())
        assert np.max(np.abs(p.grad)) <= clip_value
    with pytest.raises(ValueError, match="clip_value must be > 0, got -1"):
        optim.clip_grad_value(ours, -1)
