"""Activation layers. Each is a thin Module around the function of the same name in
``glassnet.functional`` (where the formula and its derivative are documented); they hold no
parameters, only configuration such as ``alpha`` or ``axis``.

Shape
-----
- input: ``(*)``, any shape
- output: ``(*)``, the same shape

Example
-------
>>> import numpy as np
>>> from glassnet import nn
>>> nn.ReLU()(np.array([-1.0, 2.0])).numpy()
array([0., 2.])
>>> nn.LeakyReLU(alpha=0.1)
LeakyReLU(alpha=0.1)
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from ..tensor import Tensor, ensure_tensor
from ._checks import real_number
from .module import Module

__all__ = [
    "ELU", "GELU", "Identity", "LeakyReLU", "LogSoftmax", "ReLU", "SiLU", "Sigmoid", "Softmax",
    "Softplus", "Step", "Tanh",
]


class Step(Module):
    """The perceptron's step: 1 where x >= 0, else 0 (its gradient is 0). See ``F.step``."""

    def forward(self, x) -> Tensor:
        return F.step(x)


class Sigmoid(Module):
    """1 / (1 + e^-x), in (0, 1). See ``F.sigmoid``."""

    def forward(self, x) -> Tensor:
        return F.sigmoid(x)


class Tanh(Module):
    """tanh(x), in (-1, 1). See ``F.tanh``."""

    def forward(self, x) -> Tensor:
        return F.tanh(x)


class ReLU(Module):
    """max(0, x). See ``F.relu``."""

    def forward(self, x) -> Tensor:
        return F.relu(x)


class LeakyReLU(Module):
    """x if x >= 0 else alpha x. See ``F.leaky_relu``. PyTorch calls alpha ``negative_slope``."""

    def __init__(self, alpha: float = 0.01):
        super().__init__()
        self.alpha = real_number(alpha, "alpha")

    def forward(self, x) -> Tensor:
        return F.leaky_relu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"

    def get_config(self) -> dict:
        return {"alpha": self.alpha}


class ELU(Module):
    """x if x > 0 else alpha (e^x - 1). See ``F.elu``."""

    def __init__(self, alpha: float = 1.0):
        super().__init__()
        self.alpha = real_number(alpha, "alpha")

    def forward(self, x) -> Tensor:
        return F.elu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"

    def get_config(self) -> dict:
        return {"alpha": self.alpha}


class _AlongAxis(Module):
    """An activation that normalizes along one axis (NumPy's name; PyTorch says ``dim``)."""

    def __init__(self, axis: int = -1):
        super().__init__()
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise TypeError(f"axis must be an int, got {type(axis).__name__} {axis!r}")
        self.axis = int(axis)

    def extra_repr(self) -> str:
        return f"axis={self.axis}"

    def get_config(self) -> dict:
        return {"axis": self.axis}


class Softmax(_AlongAxis):
    """e^(x_i) / sum_j e^(x_j) along ``axis`` (default: the last). See ``F.softmax``."""

    def forward(self, x) -> Tensor:
        return F.softmax(x, self.axis)


class LogSoftmax(_AlongAxis):
    """log softmax along ``axis`` (default: the last), computed stably. See ``F.log_softmax``."""

    def forward(self, x) -> Tensor:
        return F.log_softmax(x, self.axis)


class Softplus(Module):
    """log(1 + e^x), a smooth ReLU. See ``F.softplus``."""

    def forward(self, x) -> Tensor:
        return F.softplus(x)


class SiLU(Module):
    """x sigmoid(x) (swish). See ``F.silu``."""

    def forward(self, x) -> Tensor:
        return F.silu(x)


class GELU(Module):
    """x Phi(x), Phi the standard normal CDF (the exact form, PyTorch's default). See ``F.gelu``."""

    def forward(self, x) -> Tensor:
        return F.gelu(x)


class Identity(Module):
    """Returns its input (as a Tensor): a placeholder, e.g. for "no activation"."""

    def forward(self, x) -> Tensor:
        return ensure_tensor(x)
