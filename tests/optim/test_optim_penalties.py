"""L1/L2 penalties: values and gradients vs torch, and L2 vs SGD's weight decay."""

import numpy as np
import pytest
import torch
from optim_side_by_side import glassnet_loss, initial_weights, mini_batches

import glassnet as gn
from glassnet import optim
from oracle import check_finite_differences


def weights(seed=0):
    rng = np.random.default_rng(seed)
    arrays = [rng.normal(size=(4, 3)), rng.normal(size=3), np.array([0.0, 1.5, -2.0])]
    return ([gn.Parameter(a.copy()) for a in arrays],
            [torch.tensor(a.copy(), requires_grad=True) for a in arrays])


@pytest.mark.parametrize("name, ours, theirs", [
    ("l1", optim.l1_penalty, lambda ts, s: s * sum(t.abs().sum() for t in ts)),
    ("l2", optim.l2_penalty, lambda ts, s: s * sum((t ** 2).sum() for t in ts)),
])
def test_penalty_value_and_gradient_match_torch(name, ours, theirs):
    params, tensors = weights()
    penalty = ours((p for p in params), 0.3)  # a generator, like model.parameters()
    expected = theirs(tensors, 0.3)
    assert penalty.shape == () and penalty.dtype == np.float64
    np.testing.assert_allclose(penalty.item(), expected.item(), rtol=1e-14)
    penalty.backward()
    expected.backward()
    for p, t in zip(params, tensors):
        np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=1e-14)
    # the gradients the module documents: strength * sign(w) (0 at 0) and 2 * strength * w
    for p in params:
        documented = 0.3 * np.sign(p.data) if name == "l1" else 2 * 0.3 * p.data
        np.testing.assert_allclose(p.grad, documented, rtol=1e-14)


def test_penalties_keep_float32_and_accept_one_tensor():
    w = gn.Parameter(np.array([1.0, -2.0], dtype=np.float32))
    assert optim.l1_penalty(w, 0.5).dtype == np.float32
    assert optim.l2_penalty(w, 0.5).item() == pytest.approx(2.5)


def test_penalty_errors():
    with pytest.raises(ValueError, match="strength must be >= 0, got -0.1"):
        optim.l2_penalty([gn.Parameter(np.ones(2))], -0.1)
    with pytest.raises(ValueError, match="l1_penalty: got an empty list of parameters"):
        optim.l1_penalty([], 0.1)
    with pytest.raises(TypeError, match="l2_penalty: item 0 is a ndarray"):
        optim.l2_penalty([np.ones(2)], 0.1)


def test_sgd_weight_decay_equals_l2_penalty_with_half_the_strength():
    wd = 0.1
    decayed = [gn.Parameter(w) for w in initial_weights()]
    penalized = [gn.Parameter(w) for w in initial_weights()]
    with_decay = optim.SGD(decayed, lr=0.1, momentum=0.9, weight_decay=wd)
    with_penalty = optim.SGD(penalized, lr=0.1, momentum=0.9)
    for x, labels in mini_batches(25):
        with_decay.zero_grad()
        glassnet_loss(decayed, x, labels).backward()
        with_decay.step()
        with_penalty.zero_grad()
        (glassnet_loss(penalized, x, labels) + optim.l2_penalty(penalized, wd / 2)).backward()
        with_penalty.step()
        for a, b in zip(decayed, penalized):
            np.testing.assert_allclose(a.data, b.data, rtol=1e-12, atol=1e-14)
    # and the decay really acted: without it the weights end elsewhere
    plain = [gn.Parameter(w) for w in initial_weights()]
    optimizer = optim.SGD(plain, lr=0.1, momentum=0.9)
    for x, labels in mini_batches(25):
        optimizer.zero_grad()
        glassnet_loss(plain, x, labels).backward()
        optimizer.step()
    assert np.max(np.abs(plain[0].data - decayed[0].data)) > 1e-2


@pytest.mark.parametrize("penalty", [optim.l1_penalty, optim.l2_penalty])
def test_penalty_of_mixed_dtypes_is_an_error_not_an_upcast(penalty):
    w32 = gn.Parameter(np.ones(2, np.float32))
    w64 = gn.Parameter(np.ones(2, np.float64))
    with pytest.raises(TypeError, match=r"dtypes \['float32', 'float64'\]; glassnet never upcasts silently"):
        penalty([w32, w64], 0.1)
    assert penalty([w32], 0.1).dtype == np.float32


def test_penalties_are_ops_checked_by_finite_differences():
    rng = np.random.default_rng(4)
    check_finite_differences(lambda a, b: gn.ops.l1_penalty((a, b), 0.3), rng.normal(size=(3, 2)), rng.normal(size=4))
    check_finite_differences(lambda a, b: gn.ops.l2_penalty((a, b), 0.3), rng.normal(size=(3, 2)), rng.normal(size=4))
