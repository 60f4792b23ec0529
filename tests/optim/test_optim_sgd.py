"""SGD against the course's formulas written out by hand, including where it parts from torch."""

import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import optim


def quadratic_steps(optimizer, w, lrs):
    """Minimize L = sum(c * w^2) (gradient 2 c w) for len(lrs) steps, setting lr before each."""
    c = np.array([1.0, 0.5, 2.0])
    for lr in lrs:
        optimizer.lr = lr
        optimizer.zero_grad()
        (gn.Tensor(c) * w * w).sum().backward()
        optimizer.step()
    return c


@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_is_the_course_formula_with_a_changing_lr(nesterov):
    # v = gamma v + eta grad; w = w - v  (Nesterov: w = w - (gamma v + eta grad)), v0 = 0.
    gamma, lrs = 0.9, [0.1, 0.1, 0.05, 0.02, 0.2]
    start = np.array([1.0, -2.0, 0.5])
    w = gn.Parameter(start.copy())
    c = quadratic_steps(optim.SGD([w], lr=1.0, momentum=gamma, nesterov=nesterov), w, lrs)
    expected, velocity = start.copy(), np.zeros(3)
    for lr in lrs:
        grad = 2 * c * expected
        velocity = gamma * velocity + lr * grad
        expected = expected - (gamma * velocity + lr * grad if nesterov else velocity)
    np.testing.assert_allclose(w.data, expected, rtol=1e-13, atol=1e-15)


def test_changing_lr_differs_from_torch_as_documented():
    # torch keeps b = v / lr and steps lr * b, so a new lr rescales the old velocity too.
    lrs = [0.1, 0.1, 0.01]
    w = gn.Parameter(np.array([1.0, -2.0, 0.5]))
    c = quadratic_steps(optim.SGD([w], lr=1.0, momentum=0.9), w, lrs)
    t = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64, requires_grad=True)
    reference = torch.optim.SGD([t], lr=1.0, momentum=0.9)
    for step, lr in enumerate(lrs):
        reference.param_groups[0]["lr"] = lr
        reference.zero_grad()
        (torch.tensor(c) * t * t).sum().backward()
        reference.step()
        if step == 1:  # constant lr so far: the same weights
            np.testing.assert_allclose(t.detach().numpy(), w_after_two(c), rtol=1e-13, atol=1e-15)
    # After the drop to 0.01, the course's velocity keeps its 0.1-sized past: a larger step.
    ours_step = np.abs(w.data - w_after_two(c))
    torch_step = np.abs(t.detach().numpy() - w_after_two(c))
    assert np.all(ours_step > 5 * torch_step)


def w_after_two(c):
    w = gn.Parameter(np.array([1.0, -2.0, 0.5]))
    quadratic_steps(optim.SGD([w], lr=1.0, momentum=0.9), w, [0.1, 0.1])
    return w.data


def test_plain_sgd_is_w_minus_eta_grad():
    w = gn.Parameter(np.array([1.0, -2.0, 0.5]))
    c = quadratic_steps(optim.SGD([w], lr=0.25), w, [0.25])
    np.testing.assert_allclose(w.data, np.array([1.0, -2.0, 0.5]) * (1 - 0.5 * c), rtol=1e-15)


def test_weight_decay_adds_wd_w_to_the_gradient():
    w = gn.Parameter(np.array([1.0, -2.0, 0.5]))
    w.grad = np.array([0.5, 0.5, 0.5])
    optim.SGD([w], lr=0.1, weight_decay=0.2).step()
    np.testing.assert_allclose(w.data, [1.0 - 0.1 * (0.5 + 0.2), -2.0 - 0.1 * (0.5 - 0.4),
                                        0.5 - 0.1 * (0.5 + 0.1)], rtol=1e-15)
