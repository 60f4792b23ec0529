"""Run the same small network in glassnet and in PyTorch and compare the weights step by step.

The network is a 5-8-3 MLP with tanh and cross-entropy, written in both libraries from raw
tensors (``z = x @ W + b``, W of shape ``(in, out)`` as in glassnet), with the same initial
weights and the same mini-batches. Any difference in the weights after a step comes from the
optimizers (the forward and backward passes themselves agree to ~1e-16, checked on every step).
"""

from __future__ import annotations

import numpy as np
import torch

import glassnet as gn
from glassnet import functional as F
from glassnet import losses

SHAPES = [(5, 8), (8,), (8, 3), (3,)]
BATCH = 16


def initial_weights(seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    return [rng.normal(scale=0.7, size=shape) for shape in SHAPES]


def mini_batches(steps: int, seed: int = 1) -> list:
    rng = np.random.default_rng(seed)
    return [(rng.normal(size=(BATCH, 5)), rng.integers(0, 3, size=BATCH)) for _ in range(steps)]


def glassnet_loss(params, x, labels):
    w1, b1, w2, b2 = params
    hidden = F.tanh(F.linear(gn.Tensor(x, dtype=w1.dtype), w1, b1))
    return losses.cross_entropy(F.linear(hidden, w2, b2), labels)


def torch_loss(params, x, labels):
    w1, b1, w2, b2 = params
    dtype = w1.dtype
    hidden = torch.tanh(torch.tensor(x, dtype=dtype) @ w1 + b1)
    return torch.nn.functional.cross_entropy(hidden @ w2 + b2, torch.tensor(labels))


def relative_deviation(ours: np.ndarray, theirs: np.ndarray) -> float:
    """max |ours - theirs| / max |theirs|, over one array (a scale-aware error, safe near 0)."""
    return float(np.max(np.abs(ours - theirs)) / np.max(np.abs(theirs)))


def run_side_by_side(make_ours, make_theirs, steps: int = 25, rtol: float = 1e-7,
                     dtype=np.float64, skip=None, before_step=None) -> float:
    """Train both networks for ``steps`` steps; assert that the weights agree after every step.

    ``make_ours(params)`` / ``make_theirs(params)`` build the two optimizers. ``skip`` (a set of
    parameter indices) drops those gradients before each step on both sides, to check that a
    parameter without a gradient is left alone. ``before_step(step, optimizer, reference, ours,
    theirs)``, if given, runs before each step (to edit or add parameter groups). Returns the
    largest relative deviation seen (see :func:`relative_deviation`) so that a test can report or
    bound it.
    """
    weights = initial_weights()
    ours = [gn.Parameter(w.astype(dtype)) for w in weights]
    theirs = [torch.tensor(w.astype(dtype), requires_grad=True) for w in weights]
    optimizer, reference = make_ours(ours), make_theirs(theirs)
    arrays = [p.data for p in ours]
    worst = 0.0
    for step, (x, labels) in enumerate(mini_batches(steps)):
        optimizer.zero_grad()
        reference.zero_grad()
        loss = glassnet_loss(ours, x, labels)
        loss.backward()
        expected_loss = torch_loss(theirs, x, labels)
        expected_loss.backward()
        if step == 0:  # same weights: the two forward and backward passes must agree
            same = 1e-12 if dtype == np.float64 else 1e-5
            np.testing.assert_allclose(loss.item(), expected_loss.item(), rtol=same)
            for index, (p, t) in enumerate(zip(ours, theirs)):
                assert relative_deviation(p.grad, t.grad.numpy()) < same, f"gradient {index}"
        for index in skip or ():
            ours[index].grad = None
            theirs[index].grad = None
        if before_step is not None:
            before_step(step, optimizer, reference, ours, theirs)
        optimizer.step()
        reference.step()
        for index, (p, t) in enumerate(zip(ours, theirs)):
            assert p.data is arrays[index], "step() must update .data in place"
            assert p.data.dtype == np.dtype(dtype)
            deviation = relative_deviation(p.data, t.detach().numpy())
            assert deviation <= rtol, (
                f"step {step + 1}, parameter {index}: relative deviation {deviation:.3g} from "
                f"torch exceeds {rtol:g}"
            )
            worst = max(worst, deviation)
    return worst
