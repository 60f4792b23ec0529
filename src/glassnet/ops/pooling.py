"""Max- and average-pooling over any number of spatial axes, on the window views of
``glassnet.ops.conv`` (inputs ``(N, C, *spatial)``, PyTorch's sizes and output-size formula).

Both ops loop over the K kernel offsets, never over output positions: the entries that offset
``(a, b)`` sees at every output position form one strided slice of the padded input
(``_offset_slices``), so the forward reads K slices and the backward adds K slices in place.
"""

from __future__ import annotations

import math

import numpy as np

from ..tensor import Tensor
from .conv import _check_sizes, _gather_offsets, _interior, _offset_slices, _pad, _windows, buffer

__all__ = ["avg_pool", "max_pool"]


def max_pool(x: Tensor, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple) -> Tensor:
    """The largest value of each window, padded with -inf (padding never wins).

    Backward: each output's gradient goes to the input entry that was the max of its window; if
    several entries tie, to the first in the window (row-major order), as in PyTorch. Windows
    that overlap add their gradients.

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
    padded = _pad(x.data, padding, value=-np.inf)  # x.data itself when there is no padding
    slices = [_offset_slices(offset, stride, dilation, out) for offset in np.ndindex(*kernel)]
    # A running max over the K offset slices: K - 1 passes over the OUTPUT, instead of a copy of
    # every window (N, C, *out, K), an argmax and a take_along_axis (~15x faster for MaxPool2d(2)).
    y = padded[slices[0]].copy()
    for index in slices[1:]:
        np.maximum(y, padded[index], out=y)  # a NaN wins its window, as in PyTorch
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
    kernel_axes = tuple(range(2 + d, 2 + 2 * d))
    total = _windows(padded, kernel, stride, dilation, out).sum(axis=kernel_axes)
    if count_include_pad or not any(padding):
        divisor = np.asarray(math.prod(kernel), dtype=x.dtype)
    else:  # count the real entries of each window: pool a padded array of ones
        ones = _pad(np.ones((1, 1) + x.shape[2:], dtype=x.dtype), padding)
        divisor = _windows(ones, kernel, stride, dilation, out).sum(axis=kernel_axes)
    y = total / divisor

    def backward(g):
        share = g / divisor
        return _gather_offsets(lambda k, offset: share, padded_shape, g.dtype, kernel, stride,
                               dilation, out, padding, x.shape)

    return Tensor._from_op(y, (x,), backward, "avg_pool")
