"""Resampling along one axis: the primitive under ``glassnet.functional.interpolate`` (nearest,
linear and, one axis after the other, bilinear upsampling).

Every output entry j along the axis reads at most two input entries, ``index0[j]`` and
``index1[j]``, and mixes them linearly:

    y[..., j, ...] = (1 - lam[j]) x[..., index0[j], ...] + lam[j] x[..., index1[j], ...]

(nearest: one index, no weights). The forward is a gather (``np.take``), with PyTorch's
arithmetic. The gradient of a gather is a scatter-add: each input entry receives the sum of the
gradients of the outputs that read it, weighted. Two exact ways, no ``np.add.at``:

* The resampling is a linear map along the axis, ``y = x R^T`` with ``R`` ``(n_out, n_in)``
  holding each output's (at most two) weights, so the gradient is ``g R``: one BLAS product,
  used while R is small (``DENSE_LIMIT`` entries).
* Otherwise, segment sums: indices never decrease along the axis, so the outputs that read one
  input entry are consecutive, and ``np.add.reduceat`` sums each run in one vectorized pass. For
  an integer nearest factor k the runs are the k copies of each entry: a reshape-sum in effect.
"""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor

__all__ = ["DENSE_LIMIT", "interpolate_axis"]

DENSE_LIMIT = 1 << 22  # entries of R (16 MiB in float32) up to which the backward is g @ R


def interpolate_axis(x: Tensor, axis: int, index0: np.ndarray, index1: np.ndarray | None = None,
                     lam: np.ndarray | None = None) -> Tensor:
    """Resample ``x`` along ``axis``: nearest (``index0`` only) or linear (``index0``,
    ``index1`` and the weight ``lam`` of the second entry).

    Backward: dx = g R, R ``(n_out, n_in)`` the matrix of the weights; for a large R, the
    segment sums of ``(1 - lam) g`` over the outputs with the same ``index0``, plus those of
    ``lam g`` over ``index1`` (see the module docstring).

    Shapes: x ``(..., n_in, ...)`` with ``n_in`` on ``axis``; ``index0``, ``index1``, ``lam``:
    ``(n_out,)``, indices in ``[0, n_in)`` and non-decreasing, ``lam`` in [0, 1] of x's dtype ->
    ``(..., n_out, ...)``.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> x = gn.Tensor(np.array([[0.0, 10.0]]))
    >>> gn.ops.interpolate_axis(x, 1, np.array([0, 0, 1, 1])).numpy()
    array([[ 0.,  0., 10., 10.]])
    >>> gn.ops.interpolate_axis(x, 1, np.array([0, 0, 0, 1]), np.array([0, 1, 1, 1]),
    ...                         np.array([0.0, 0.25, 0.75, 0.0])).numpy()
    array([[ 0. ,  2.5,  7.5, 10. ]])
    """
    axis = axis % x.ndim
    n_in = x.shape[axis]
    shape = [1] * x.ndim
    shape[axis] = len(index0)  # weights broadcast along the axis
    if index1 is None:
        y = np.take(x.data, index0, axis=axis)
        w0 = w1 = None
    else:
        w1 = np.asarray(lam, dtype=x.dtype).reshape(shape)
        w0 = (1 - w1).astype(x.dtype)
        y = np.take(x.data, index0, axis=axis) * w0 + np.take(x.data, index1, axis=axis) * w1

    def backward(g):
        n_out = len(index0)
        if n_out * n_in <= DENSE_LIMIT:
            rows = np.arange(n_out)
            matrix = np.zeros((n_out, n_in), dtype=g.dtype)
            matrix[rows, index0] = 1 if index1 is None else w0.ravel()
            if index1 is not None:
                matrix[rows, index1] += w1.ravel()  # each row once per assignment: no lost sums
            return np.swapaxes(np.swapaxes(g, axis, -1) @ matrix, axis, -1)
        if index1 is None:
            return _segment_sum(g, index0, axis, n_in)
        return _segment_sum(g * w0, index0, axis, n_in) + _segment_sum(g * w1, index1, axis, n_in)

    return Tensor._from_op(y, (x,), backward, "interpolate_axis")


def _segment_sum(values: np.ndarray, index: np.ndarray, axis: int, size: int) -> np.ndarray:
    """The scatter-add of ``values`` (n_out entries on ``axis``) onto ``size`` entries:
    ``out[index[j]] += values[j]``, for a non-decreasing ``index``. Each run of equal indices is
    summed by ``np.add.reduceat`` from the run's start; entries no output read stay zero."""
    starts = np.flatnonzero(np.diff(index, prepend=-1))  # where a new index begins
    sums = np.add.reduceat(values, starts, axis=axis)
    if len(starts) == size:  # every entry was read (upsampling): the sums are the gradient
        return sums
    shape = list(values.shape)
    shape[axis] = size
    out = np.zeros(shape, dtype=values.dtype)
    out[(slice(None),) * axis + (index[starts],)] = sums
    return out
