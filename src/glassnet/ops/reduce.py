"""Reductions over axes: sum, mean, max, min, var, logsumexp, vector_norm. Each backward stands under its
forward and spreads the gradient back over the reduced axes.

Example
-------
>>> import numpy as np
>>> from glassnet import Tensor, ops
>>> x = Tensor(np.array([[1.0, 2.0], [3.0, 5.0]]), requires_grad=True)
>>> column_means = ops.mean(x, axis=0)  # (2, 2) -> (2,)
>>> column_means.data
array([2. , 3.5])
>>> column_means.sum().backward()  # each entry counts 1 / 2 in its column's mean
>>> x.grad
array([[0.5, 0.5],
       [0.5, 0.5]])
"""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor


def _axes(axis, ndim: int) -> tuple:
    """The reduced axes as a tuple of non-negative ints (``None`` means all)."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    normalized = []
    for ax in axes:
        if not -ndim <= ax < ndim:
            raise ValueError(f"axis {ax} is out of range for a tensor with {ndim} dimensions")
        normalized.append(ax % ndim)
    return tuple(normalized)


def _restore(g: np.ndarray, axes: tuple, keepdims: bool) -> np.ndarray:
    """Put back the reduced axes (as size 1) so that ``g`` broadcasts against the input."""
    return g if keepdims else np.expand_dims(g, axes)


def sum(a: Tensor, axis=None, keepdims: bool = False) -> Tensor:  # noqa: A001 - NumPy's name
    axes = _axes(axis, a.ndim)

    def backward(g):
        return np.broadcast_to(_restore(g, axes, keepdims), a.data.shape)

    return Tensor._from_op(a.data.sum(axis=axes, keepdims=keepdims), (a,), backward, "sum")


def mean(a: Tensor, axis=None, keepdims: bool = False) -> Tensor:
    axes = _axes(axis, a.ndim)
    count = int(np.prod([a.data.shape[ax] for ax in axes])) if axes else 1

    def backward(g):
        return np.broadcast_to(_restore(g, axes, keepdims) / count, a.data.shape)

    return Tensor._from_op(a.data.mean(axis=axes, keepdims=keepdims), (a,), backward, "mean")


def _extreme(a: Tensor, axis, keepdims: bool, reduce, name: str) -> Tensor:
    if a.data.size == 0:
        raise ValueError(f"{name}() of an empty tensor")
    axes = _axes(axis, a.ndim)
    kept = reduce(a.data, axis=axes, keepdims=True)

    def backward(g):
        # Ties share the gradient evenly, like PyTorch's amax/amin.
        hits = a.data == kept
        share = hits / hits.sum(axis=axes, keepdims=True)
        return (_restore(g, axes, keepdims) * share).astype(g.dtype, copy=False)

    out = kept if keepdims else np.squeeze(kept, axis=axes)
    return Tensor._from_op(out, (a,), backward, name)


def max(a: Tensor, axis=None, keepdims: bool = False) -> Tensor:  # noqa: A001 - NumPy's name
    return _extreme(a, axis, keepdims, np.max, "max")


def min(a: Tensor, axis=None, keepdims: bool = False) -> Tensor:  # noqa: A001 - NumPy's name
    return _extreme(a, axis, keepdims, np.min, "min")


def var(a: Tensor, axis=None, keepdims: bool = False, ddof: int = 0) -> Tensor:
    """Variance, NumPy's default (ddof=0, divide by n); composed of mean, sub and mul."""
    axes = _axes(axis, a.ndim)
    count = int(np.prod([a.data.shape[ax] for ax in axes])) if axes else 1
    if count - ddof <= 0:
        raise ValueError(f"var over {count} values with ddof={ddof} divides by {count - ddof}")
    centered = a - mean(a, axes, keepdims=True)
    return sum(centered * centered, axes, keepdims) * (1.0 / (count - ddof))


def logsumexp(a: Tensor, axis=-1, keepdims: bool = False) -> Tensor:
    """log(sum(exp(a))) along ``axis``, shifted by the max so that exp cannot overflow;
    d/da = softmax(a)."""
    axes = _axes(axis, a.ndim)
    shift = np.max(a.data, axis=axes, keepdims=True)
    shift = np.where(np.isfinite(shift), shift, 0)
    exps = np.exp(a.data - shift)
    total = exps.sum(axis=axes, keepdims=True)
    with np.errstate(divide="ignore"):  # a row of -inf sums to 0: log 0 = -inf, as in PyTorch
        out = np.log(total) + shift

    def backward(g):
        return _restore(g, axes, keepdims) * (exps / total)

    return Tensor._from_op(out if keepdims else np.squeeze(out, axis=axes), (a,), backward, "logsumexp")


def vector_norm(a: Tensor, axis=-1, keepdims: bool = False) -> Tensor:
    """The Euclidean norm ||a||_2 = sqrt(sum a^2) along ``axis`` (PyTorch's linalg.vector_norm).

    d||a||/da = a / ||a||, taken as 0 for a zero vector: the subgradient PyTorch uses. Composed of
    sqrt and sum, the gradient of a zero vector would be 0 * 1 / (2 sqrt(0)) = nan.

    Example
    -------
    >>> import numpy as np
    >>> from glassnet import Tensor, ops
    >>> x = Tensor(np.array([[3.0, 4.0], [0.0, 0.0]]), requires_grad=True)
    >>> ops.vector_norm(x, axis=1).sum().backward()
    >>> x.grad
    array([[0.6, 0.8],
           [0. , 0. ]])
    """
    axes = _axes(axis, a.ndim)
    norm = np.sqrt((a.data * a.data).sum(axis=axes, keepdims=True))

    def backward(g):
        # a = 0 wherever the norm is 0, so dividing by 1 there gives the subgradient 0.
        return _restore(g, axes, keepdims) * (a.data / np.where(norm > 0, norm, 1))

    return Tensor._from_op(norm if keepdims else np.squeeze(norm, axis=axes), (a,), backward, "vector_norm")
