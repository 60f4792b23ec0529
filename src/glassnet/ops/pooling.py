"""Max- and average-pooling over any number of spatial axes, on the window views of
``glassnet.ops.conv`` (inputs ``(N, C, *spatial)``, PyTorch's sizes and output-size formula).

Both ops loop over the K kernel offsets, never over output positions: the entries that offset
``(a, b)`` sees at every output position form one strided slice of the padded input
(``_offset_slices``), so the forward reads K slices and the backward adds K slices in place.
"""

from __future__ import annotations

import math

import numpy as np

from ..autograd import _GradMode
from ..tensor import Tensor
from .conv import _check_sizes, _gather_offsets, _interior, _offset_slices, _pad, buffer

__all__ = ["avg_pool", "max_pool"]


def _running(combine, padded: np.ndarray, slices: list) -> np.ndarray:
    """The windows' max (``np.maximum``) or sum (``np.add``), combined over the kernel offsets'
    slices of ``padded`` in window order, into a copy of the first."""
    y = padded[slices[0]].copy()
    for index in slices[1:]:
        combine(y, padded[index], out=y)
    return y


def max_pool(x: Tensor, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple) -> Tensor:
    """The largest value of each window, padded with -inf (padding never wins).

    Backward: each output's gradient goes to the input entry that was the max of its window; if
    several entries tie, to the first in the window (row-major order), as in PyTorch. Windows
    that overlap add their gradients. Windows of 2 that tile the input, when a gradient is
    wanted, take :func:`_halving_max` (the same numbers, fewer passes).

    Shapes: x ``(N, C, *spatial)`` -> ``(N, C, *out)``; ``kernel``, ``stride``, ``padding`` and
    ``dilation`` have one int per spatial axis.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> x = gn.Tensor(np.array([[[1.0, 3.0, 2.0, 0.0]]]))
    >>> gn.ops.max_pool(x, (2,), (2,), (0,), (1,)).numpy()
    array([[[3., 2.]]])
    """
    out = _check_sizes("max_pool", x.shape, kernel, stride, padding, dilation)
    halves = (all(k == s == 2 for k, s in zip(kernel, stride)) and not any(padding)
              and all(d == 1 for d in dilation) and all(n == 2 * o for n, o in zip(x.shape[2:], out)))
    if halves and x.data.flags.c_contiguous and _GradMode.enabled and x.requires_grad:
        y, second_won = _halving_max(x.data)
        if not np.isnan(y).any():  # NaN windows: the general path below
            return Tensor._from_op(y, (x,), lambda g: _halving_max_backward(g, second_won, x.shape), "max_pool")
    padded = _pad(x.data, padding, value=-np.inf)  # x.data itself when there is no padding
    slices = [_offset_slices(offset, stride, dilation, out) for offset in np.ndindex(*kernel)]
    # A running max over the K offset slices: K - 1 passes over the OUTPUT, instead of a copy of
    # every window (N, C, *out, K), an argmax and a take_along_axis (~15x faster for MaxPool2d(2)).
    y = _running(np.maximum, padded, slices)  # a NaN wins its window, as in PyTorch
    has_nan = bool(np.isnan(y).any())

    # Windows that do not overlap (stride >= the dilated kernel on every axis, MaxPool2d(2)'s
    # case) send each input entry at most one gradient: it is assigned, not added, and only
    # entries outside every window need zeros first (none when the windows tile the input).
    disjoint = all(s >= d * (k - 1) + 1 for s, d, k in zip(stride, dilation, kernel))
    tiled = disjoint and all(s == k and n * s == size for s, k, n, size in zip(stride, kernel, out, padded.shape[2:]))

    def backward(g):
        # Offset k gets the gradient where it holds its window's max and no earlier offset did
        # (ties: the first in row-major order, as in PyTorch). Recomputing these masks from y
        # keeps no (N, C, *out) index array alive between forward and backward.
        padded_grad = buffer(("max_pool",), padded.shape, g.dtype, zero=not tiled)
        taken = None
        for index in slices:
            first = padded[index] == y
            if has_nan:  # NaN != NaN: a NaN entry is its window's max
                first |= np.isnan(padded[index])
            if taken is None:
                taken = first
            else:
                np.greater(first, taken, out=first)  # first & ~taken
                taken |= first
            if disjoint:
                np.multiply(g, first, out=padded_grad[index])
            else:
                padded_grad[index] += g * first
        return padded_grad[_interior(x.shape, padding)] if any(padding) else padded_grad

    return Tensor._from_op(y, (x,), backward, "max_pool")


# Windows of 2 on every axis that tile the input (MaxPool2d(2) on even sizes) take a faster path:
# the max over one axis's pairs at a time, the LAST axis first, remembering at each pair whether
# its second entry won (strictly: a tie keeps the first). Each pass compares two halves of a
# view of x (no window copy), and the backward puts g back one axis at a time with those
# flags: LeNet's first pool, forward and backward, 835 -> 626 us in a training step. Reducing the last axis
# first makes the winner the first maximum in row-major order (the first in its row, of the
# first row holding the maximum), PyTorch's rule, as on the general path.

def _pairs(a: np.ndarray, axis: int, index: int) -> np.ndarray:
    """Entry ``index`` (0 or 1) of every pair along axis ``axis`` of ``a``, a view."""
    return a[(slice(None),) * axis + (index,)]


def _halving_max(x: np.ndarray):
    """The max over 2 x 2 x ... windows of x ``(N, C, *spatial)`` (even sizes) and, per spatial
    axis, the flags "the pair's second entry won" (in reduction order: last axis first)."""
    d = x.ndim - 2
    current = x.reshape(x.shape[:2] + tuple(v for n in x.shape[2:] for v in (n // 2, 2)))
    second_won = []
    for axis in reversed(range(d)):  # the pairs' axis of spatial axis i sits at 3 + 2 i
        left, right = _pairs(current, 3 + 2 * axis, 0), _pairs(current, 3 + 2 * axis, 1)
        second_won.append(np.greater(right, left))
        current = np.maximum(left, right)
    return current, second_won


def _halving_max_backward(g: np.ndarray, second_won: list, x_shape: tuple) -> np.ndarray:
    """g ``(N, C, *out)`` sent to each window's winner: the reductions undone in reverse order,
    each one putting g on the pair's second entry where it won, else on its first."""
    current = g
    for axis, second in enumerate(reversed(second_won)):
        pair_axis = 3 + 2 * axis
        spread = np.empty(current.shape[:pair_axis] + (2,) + current.shape[pair_axis:], g.dtype)
        np.multiply(current, second, out=_pairs(spread, pair_axis, 1))
        np.multiply(current, ~second, out=_pairs(spread, pair_axis, 0))
        current = spread
    return current.reshape(x_shape)


def avg_pool(x: Tensor, kernel: tuple, stride: tuple, padding: tuple,
             count_include_pad: bool = True) -> Tensor:
    """The mean of each window. With ``count_include_pad`` (PyTorch's default) every window is
    divided by the kernel size, padding zeros included; otherwise by the number of input entries
    it covers.

    Backward: each output's gradient, divided by its window's divisor, goes to every entry of
    the window.

    Shapes: x ``(N, C, *spatial)`` -> ``(N, C, *out)``.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> x = gn.Tensor(np.array([[[1.0, 3.0, 2.0, 0.0]]]))
    >>> gn.ops.avg_pool(x, (2,), (2,), (0,)).numpy()
    array([[[2., 1.]]])
    """
    d = len(kernel)
    dilation = (1,) * d
    out = _check_sizes("avg_pool", x.shape, kernel, stride, padding, dilation)
    padded = _pad(x.data, padding)
    padded_shape = padded.shape
    # A running sum over the kernel offsets' slices, in window order: K - 1 passes over the output
    # (summing the window view over its kernel axes: 2.6x slower for AvgPool2d(2)).
    slices = [_offset_slices(offset, stride, dilation, out) for offset in np.ndindex(*kernel)]
    y = _running(np.add, padded, slices)
    if count_include_pad or not any(padding):
        divisor = np.asarray(math.prod(kernel), dtype=x.dtype)
    else:  # count the real entries of each window: pool a padded array of ones
        divisor = _running(np.add, _pad(np.ones((1, 1) + x.shape[2:], dtype=x.dtype), padding), slices)
    y /= divisor

    def backward(g):
        share = g / divisor
        return _gather_offsets(lambda k, offset: share, padded_shape, g.dtype, kernel, stride,
                               dilation, out, padding, x.shape)

    return Tensor._from_op(y, (x,), backward, "avg_pool")
