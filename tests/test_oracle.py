"""The oracles themselves: the module checks pass a correct layer and catch a wrong gradient of a
parameter or an input, naming it."""

import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import nn
from oracle import check_module_against_torch, check_module_gradients


def wrong_square(x):
    """x ** 2 with the backward of x ** 2 / 2: the gradient is off by a factor of 2."""
    def backward(g):
        return g * x.data

    return gn.Tensor._from_op(x.data ** 2, (x,), backward, "wrong_square")


class Scale(nn.Module):
    """y = x * s ** 2, with a wrong gradient for s (or for x) on request."""

    def __init__(self, wrong="none"):
        super().__init__()
        self.scale = gn.Parameter(np.array([0.5, -1.5, 2.0]))
        self.wrong = wrong

    def forward(self, x):
        square = wrong_square(self.scale) if self.wrong == "scale" else self.scale * self.scale
        return (wrong_square(x) if self.wrong == "input" else x * 1.0) * square


def test_check_module_gradients_passes_a_correct_layer_and_names_a_wrong_gradient(rng):
    x = rng.normal(size=(4, 3))
    check_module_gradients(Scale(), x)
    check_module_gradients(nn.Linear(3, 2, dtype=np.float64, rng=0), x)
    with pytest.raises(AssertionError, match="gradient of scale differs from central differences"):
        check_module_gradients(Scale("scale"), x)
    with pytest.raises(AssertionError, match="gradient of input 0 differs"):
        check_module_gradients(Scale("input"), x)
    with pytest.raises(AssertionError, match="need a float64 module"):
        check_module_gradients(nn.Linear(3, 2, dtype=np.float32, rng=0), x)


def test_check_module_against_torch_compares_every_parameter(rng):
    ours = nn.Linear(3, 2, dtype=np.float64, rng=0)
    theirs = torch.nn.Linear(3, 2, dtype=torch.float64)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.data.T))
        theirs.bias.copy_(torch.tensor(ours.bias.data))
    x = rng.normal(size=(4, 3))
    check_module_against_torch(ours, theirs, x)
    with torch.no_grad():
        theirs.bias.add_(1.0)
    with pytest.raises(AssertionError, match="output 0 differs from PyTorch"):
        check_module_against_torch(ours, theirs, x)
    with torch.no_grad():
        theirs.bias.sub_(1.0)
    # The same forward values, a wrong gradient: only the weight's comparison can catch it.
    with pytest.raises(AssertionError, match="gradient of weight differs from PyTorch"):
        check_module_against_torch(ours, theirs, x, forward=lambda m, x: m(x) + 0.0 * m.weight.sum(),
                                   torch_forward=lambda m, x: m(x) + 1e-3 * (m.weight.sum() - m.weight.sum().detach()))
