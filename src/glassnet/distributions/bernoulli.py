"""The Bernoulli distribution: 1 with probability p, 0 otherwise."""

from __future__ import annotations

import numpy as np

from .. import ops
from ..tensor import Tensor
from ._base import Distribution, as_parameters, clamp_probs, first_bad

__all__ = ["Bernoulli"]


def one_of_probs_logits(probs, logits, name: str) -> None:
    """PyTorch's rule: a distribution is given by its probabilities or by its logits, not both."""
    if (probs is None) == (logits is None):
        raise ValueError(f"{name} takes exactly one of probs and logits, got "
                         f"{'both' if probs is not None else 'neither'}")


class Bernoulli(Distribution):
    """The Bernoulli distribution, P(x = 1) = p, P(x = 0) = 1 - p (PyTorch's
    ``torch.distributions.Bernoulli``), given by exactly one of:

    Parameters
    ----------
    probs : Tensor, array or number, optional
        p, in [0, 1].
    logits : Tensor, array or number, optional
        The log-odds l = log(p / (1 - p)); p = sigmoid(l). The numerically stable choice for a
        network's output: log_prob is computed from the logits with softplus, never log(0).

    Shape
    -----
    ``batch_shape`` is the parameter's shape, ``event_shape`` ``()``. ``sample(shape)``:
    ``shape + batch_shape``, floats 0.0 / 1.0. ``log_prob(value)``: the broadcast shape of
    ``value`` (0s and 1s) and ``batch_shape``.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> from glassnet.distributions import Bernoulli
    >>> d = Bernoulli(logits=[0.0, 2.0])          # numbers: float32
    >>> d.probs.numpy().round(4)
    array([0.5   , 0.8808], dtype=float32)
    >>> d.log_prob(np.array([1.0, 0.0])).numpy().round(4)   # log p, log(1 - p)
    array([-0.6931, -2.1269], dtype=float32)
    >>> d.sample((4,), rng=0).shape
    (4, 2)
    """

    def __init__(self, probs=None, logits=None) -> None:
        one_of_probs_logits(probs, logits, "Bernoulli")
        self._given = "probs" if probs is not None else "logits"  # the parameter given; the other is made
        given = probs if probs is not None else logits
        (self._param,) = as_parameters(**{self._given: given})
        data = self._param.data
        if self._given == "probs" and np.any((data < 0) | (data > 1)):
            raise ValueError(f"probs must be in [0, 1], got {first_bad(data, (data < 0) | (data > 1))}")
        super().__init__(self._param.shape, constant=not isinstance(given, Tensor))

    def _parameters(self) -> dict:
        return {self._given: self._param}

    @property
    def probs(self) -> Tensor:
        """p: the parameter itself, or sigmoid(logits)."""
        return self._param if self._given == "probs" else ops.sigmoid(self._param)

    @property
    def logits(self) -> Tensor:
        """log(p / (1 - p)): the parameter itself, or made from p clamped to [eps, 1 - eps] (finite)."""
        if self._given == "logits":
            return self._param
        p = clamp_probs(self._param)
        return p.log() - ops.log1p(-p)

    @property
    def mean(self) -> Tensor:
        return self.probs

    @property
    def variance(self) -> Tensor:
        return self.probs * (1 - self.probs)

    def _draw(self, shape: tuple, generator: np.random.Generator) -> np.ndarray:
        # x = 1 when u < p, u ~ U[0, 1): p = 0 never gives 1, p = 1 always does
        return (generator.random(shape) < self.probs.data).astype(self.dtype)

    def log_prob(self, value) -> Tensor:
        """log p(x) = x log p + (1 - x) log(1 - p) = -((1 - x) l + softplus(-l)), one number per entry of
        the broadcast of ``value`` (0s and 1s) and batch_shape."""
        value = self._value(value, allow_bool=True)
        if np.any((value.data != 0) & (value.data != 1)):
            raise ValueError("Bernoulli.log_prob: value must hold only 0s and 1s (the support), got "
                             f"{first_bad(value.data, (value.data != 0) & (value.data != 1))}")
        logits = self.logits
        # log sigmoid(l) = -softplus(-l) and log(1 - sigmoid(l)) = -l - softplus(-l): no log(0).
        # In PyTorch's order (minus its binary_cross_entropy_with_logits), so that the rounding
        # at large |l| is PyTorch's too.
        return -((1 - value) * logits + ops.softplus(-logits))

    def entropy(self) -> Tensor:
        """H = -p log p - (1 - p) log(1 - p) = (1 - p) l + softplus(-l), shape ``batch_shape``."""
        logits = self.logits
        return (1 - self.probs) * logits + ops.softplus(-logits)  # PyTorch's order, as in log_prob
