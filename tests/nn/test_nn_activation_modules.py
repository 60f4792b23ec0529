"""Activation modules: forward values and gradients vs PyTorch's modules and finite differences."""

import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import nn
from oracle import check_against_torch, check_finite_differences


def torch_step(x):
    return x * 0 + (x >= 0).to(x.dtype)  # torch has no step module; its gradient is 0


PAIRS = [
    (nn.Step(), torch_step),
    (nn.Sigmoid(), torch.nn.Sigmoid()),
    (nn.Tanh(), torch.nn.Tanh()),
    (nn.ReLU(), torch.nn.ReLU()),
    (nn.LeakyReLU(), torch.nn.LeakyReLU()),
    (nn.LeakyReLU(alpha=0.2), torch.nn.LeakyReLU(negative_slope=0.2)),
    (nn.ELU(), torch.nn.ELU()),
    (nn.ELU(alpha=0.5), torch.nn.ELU(alpha=0.5)),
    (nn.Softmax(), torch.nn.Softmax(dim=-1)),
    (nn.Softmax(axis=0), torch.nn.Softmax(dim=0)),
    (nn.LogSoftmax(), torch.nn.LogSoftmax(dim=-1)),
    (nn.LogSoftmax(axis=1), torch.nn.LogSoftmax(dim=1)),
    (nn.Softplus(), torch.nn.Softplus()),
    (nn.SiLU(), torch.nn.SiLU()),
    (nn.GELU(), torch.nn.GELU()),
    (nn.Identity(), torch.nn.Identity()),
]
IDS = [repr(ours) for ours, _ in PAIRS]


@pytest.mark.parametrize("ours, theirs", PAIRS, ids=IDS)
def test_activation_module_matches_torch(rng, ours, theirs):
    x = 3 * rng.normal(size=(3, 4, 5))
    check_against_torch(ours, theirs, x)


@pytest.mark.parametrize("ours, theirs", PAIRS, ids=IDS)
def test_activation_module_matches_torch_in_float32(rng, ours, theirs):
    x = 3 * rng.normal(size=(6, 5))
    out = ours(gn.Tensor(x.astype(np.float32)))
    assert out.dtype == np.float32
    expected = theirs(torch.tensor(x, dtype=torch.float32)).numpy()
    np.testing.assert_allclose(out.data, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("ours, theirs", PAIRS, ids=IDS)
def test_activation_module_gradient_matches_finite_differences(rng, ours, theirs):
    x = rng.normal(size=(4, 5))
    x[np.abs(x) < 1e-3] = 0.5  # keep away from the kinks of step, relu and leaky_relu
    check_finite_differences(ours, x)


@pytest.mark.parametrize("ours, theirs", PAIRS, ids=IDS)
def test_activation_modules_have_no_parameters_and_ignore_the_mode(rng, ours, theirs):
    x = rng.normal(size=(3, 4))
    train_out = ours(x).data.copy()
    ours.eval()
    try:
        np.testing.assert_array_equal(ours(x).data, train_out)
    finally:
        ours.train()
    assert list(ours.parameters()) == [] and ours.state_dict() == {}


def test_activation_reprs():
    assert [repr(m) for m in (nn.ReLU(), nn.LeakyReLU(0.2), nn.ELU(), nn.Softmax(), nn.LogSoftmax(axis=0))] == [
        "ReLU()", "LeakyReLU(alpha=0.2)", "ELU(alpha=1.0)", "Softmax(axis=-1)", "LogSoftmax(axis=0)"]


def test_activation_arguments_are_validated():
    with pytest.raises(TypeError, match="alpha must be a real number, got str 'a'"):
        nn.LeakyReLU("a")
    with pytest.raises(ValueError, match="alpha must be finite, got nan"):
        nn.ELU(float("nan"))
    with pytest.raises(TypeError, match="axis must be an int, got float 1.0"):
        nn.Softmax(axis=1.0)
    assert nn.LeakyReLU(np.float32(0.1)).alpha == pytest.approx(0.1)
    assert nn.Softmax(axis=np.int64(0)).axis == 0
