"""The categorical distribution over K categories 0, 1, ..., K - 1."""

from __future__ import annotations

import numpy as np

from .. import ops
from ..tensor import Tensor
from ._base import (
    Distribution,
    as_parameters,
    broadcast_shape,
    broadcast_to,
    clamp_probs,
    first_bad,
    numeric_array,
)
from .bernoulli import one_of_probs_logits

__all__ = ["Categorical"]


class Categorical(Distribution):
    """The categorical distribution, P(x = k) = p_k for k = 0, ..., K - 1 (PyTorch's
    ``torch.distributions.Categorical``), given by exactly one of:

    Parameters
    ----------
    probs : Tensor or array, shape ``(*batch_shape, K)``
        Non-negative weights, each row with a positive sum; they are divided by their sum along
        the last axis, so they need not add up to 1.
    logits : Tensor or array, shape ``(*batch_shape, K)``
        Unnormalized log-probabilities (a network's scores); stored normalized,
        l_k - logsumexp(l), so that exp(logits) sums to 1. -inf marks a category of probability 0.

    Shape
    -----
    ``batch_shape`` is the parameter's shape without its last axis; ``event_shape`` is
    ``()``. ``sample(shape)``: ``shape + batch_shape``, the category indices as floats (glassnet's
    Tensors hold floats; ``.numpy().astype(int)`` gives integers). ``log_prob(value)``: the
    broadcast shape of ``value`` (integers in [0, K)) and ``batch_shape``.

    ``mean`` and ``variance`` are NaN, as in PyTorch: categories are labels, not numbers.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> from glassnet.distributions import Categorical
    >>> d = Categorical(probs=np.array([[1.0, 1.0, 2.0], [1.0, 0.0, 0.0]]))
    >>> d.batch_shape, d.probs.numpy()
    ((2,), array([[0.25, 0.25, 0.5 ],
           [1.  , 0.  , 0.  ]]))
    >>> d.log_prob(np.array([2, 0])).numpy().round(4)   # log 0.5, log 1 (float64, as the probs)
    array([-0.6931, -0.    ])
    >>> d.sample((3,), rng=0).numpy()[:, 1]         # the second only ever gives 0
    array([0., 0., 0.])
    """

    def __init__(self, probs=None, logits=None) -> None:
        one_of_probs_logits(probs, logits, "Categorical")
        self._given = "probs" if probs is not None else "logits"  # the parameter given; the other is made
        given = probs if probs is not None else logits
        (param,) = as_parameters(**{self._given: given}, allow_neg_inf=self._given == "logits")
        if param.ndim < 1 or param.shape[-1] < 1:
            raise ValueError(f"Categorical: {self._given} must have at least one axis, of at least one "
                             f"category (the last axis), got shape {param.shape}")
        if self._given == "probs":
            if np.any(param.data < 0):
                raise ValueError(f"probs must be >= 0, got {first_bad(param.data, param.data < 0)}")
            with np.errstate(over="ignore"):  # a sum beyond float32: named just below
                sums = param.data.sum(axis=-1)
            if np.any(sums <= 0) or not np.all(np.isfinite(sums)):
                raise ValueError("probs must have a positive, finite sum along the last axis (the categories); "
                                 f"a row sums to {first_bad(sums, (sums <= 0) | ~np.isfinite(sums))}")
            self._param = param / param.sum(axis=-1, keepdims=True)  # normalized, as in PyTorch
        else:
            if np.any(np.isneginf(param.data).all(axis=-1)):
                raise ValueError("logits: a row is -inf in every category (no category has a probability)")
            # log p_k = l_k - log sum_j exp(l_j): logits normalized as PyTorch stores them
            self._param = param - ops.logsumexp(param, axis=-1, keepdims=True)
        self.num_categories = param.shape[-1]
        super().__init__(param.shape[:-1], constant=not isinstance(given, Tensor))

    def _parameters(self) -> dict:
        return {self._given: self._param}

    @property
    def probs(self) -> Tensor:
        """p, shape ``(*batch_shape, K)``: the normalized probs, or softmax(logits)."""
        return self._param if self._given == "probs" else ops.softmax(self._param, axis=-1)

    @property
    def logits(self) -> Tensor:
        """log p, shape ``(*batch_shape, K)``: the normalized logits, or log of the probs clamped
        to [eps, 1 - eps] (finite, as in PyTorch)."""
        return self._param if self._given == "logits" else clamp_probs(self._param).log()

    @property
    def mean(self) -> Tensor:
        return self._nan()

    @property
    def variance(self) -> Tensor:
        return self._nan()

    def _draw(self, shape: tuple, generator: np.random.Generator) -> np.ndarray:
        # Inverse CDF: the category k with cdf_(k-1) <= u < cdf_k for u ~ U[0, 1). The cdf is 1 from
        # the last category of positive probability on, so rounding can never pick one of p = 0.
        p = self.probs.data
        cdf = np.cumsum(p, axis=-1)
        cdf /= cdf[..., -1:]
        positive_after: np.ndarray = np.flip(np.cumsum(np.flip(p > 0, axis=-1), axis=-1), axis=-1) - (p > 0)
        cdf[positive_after == 0] = 1.0
        u = generator.random(shape)[..., None]
        return (cdf <= u).sum(axis=-1).astype(self.dtype)

    def log_prob(self, value) -> Tensor:
        """log p_x: the normalized logit of category ``value``, one number per entry of the
        broadcast of ``value`` and batch_shape."""
        index = self._index(value)
        shape = broadcast_shape(index.shape, self.batch_shape, "Categorical.log_prob: value and batch_shape")
        table = broadcast_to(self.logits, shape + (self.num_categories,))  # one row of log p per value
        rows = table.reshape(-1, self.num_categories)
        flat = np.broadcast_to(index, shape).reshape(-1)
        return rows[np.arange(flat.size), flat].reshape(shape)  # pick log p_x in each row

    def _index(self, value) -> np.ndarray:
        """``value`` as an integer array of categories in [0, K), or a clear error."""
        if isinstance(value, Tensor):
            value = value.data
        array = numeric_array(value, "value")
        if array.dtype.kind == "f" and not np.all(np.isfinite(array) & (array == np.round(array))):
            raise ValueError("Categorical.log_prob: value must hold integers (category indices), got "
                             f"{first_bad(array, ~(np.isfinite(array) & (array == np.round(array))))}")
        if np.any((array < 0) | (array >= self.num_categories)):
            raise ValueError(f"Categorical.log_prob: value must be a category in [0, {self.num_categories - 1}], "
                             f"got {first_bad(array, (array < 0) | (array >= self.num_categories))}")
        return array.astype(np.int64)

    def entropy(self) -> Tensor:
        """H = -sum_k p_k log p_k, shape ``batch_shape``; a category of p = 0 adds 0."""
        # logits clamped to the dtype's lowest value, as in PyTorch: 0 * -inf would be NaN
        logits = ops.clip(self.logits, low=float(np.finfo(self.dtype).min))
        return -(self.probs * logits).sum(axis=-1)

