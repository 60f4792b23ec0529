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
from .conv import _check_sizes, _gather_offsets, _offset_slices, _pad, _windows

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
    padded = _pad(x.data, padding, value=-np.inf)
    padded_shape = padded.shape
    if x.size and np.isnan(padded.min()):  # a NaN wins its window: leave it to argmax's rules
        y, which = _max_by_argmax(padded, kernel, stride, dilation, out)
    else:
        y, which = _max_by_offsets(padded, kernel, stride, dilation, out)

    def backward(g):
        # Kernel offset k sends g where it was the max; with windows that do not overlap
        # (stride == kernel) the K slices are disjoint and each entry is written once.
        return _gather_offsets(lambda k, offset: g * (which == k), padded_shape, g.dtype,
                               kernel, stride, dilation, out, padding, x.shape)

    return Tensor._from_op(y, (x,), backward, "max_pool")


def _max_by_offsets(padded: np.ndarray, kernel: tuple, stride: tuple, dilation: tuple,
                    out: tuple) -> tuple:
    """The window maxima ``(N, C, *out)`` and which kernel offset (row-major number) holds each,
    by a running max over the K offset slices: 3 passes over the OUTPUT per offset, instead of
    argmax's copy of every window (N, C, *out, K) and a ``take_along_axis`` (3-8x faster for
    MaxPool2d(2)). A strict ``>`` keeps the first of tied entries, as PyTorch does."""
    offsets = list(np.ndindex(*kernel))
    y = padded[_offset_slices(offsets[0], stride, dilation, out)].copy()
    which = np.zeros(y.shape, dtype=np.int8 if len(offsets) <= 127 else np.intp)
    for k, offset in enumerate(offsets[1:], start=1):
        candidate = padded[_offset_slices(offset, stride, dilation, out)]
        better = candidate > y
        np.copyto(y, candidate, where=better)
        np.copyto(which, k, where=better)
    return y, which


def _max_by_argmax(padded: np.ndarray, kernel: tuple, stride: tuple, dilation: tuple,
                   out: tuple) -> tuple:
    """The same as :func:`_max_by_offsets` by argmax over a copy of every window, whose rule for
    NaN (the first NaN of a window wins) the running max cannot follow cheaply."""
    windows = _windows(padded, kernel, stride, dilation, out)
    flat = windows.reshape(padded.shape[:2] + out + (math.prod(kernel),))  # (N, C, *out, K): a copy
    which = flat.argmax(axis=-1)  # the first max (or NaN), as in PyTorch
    return np.take_along_axis(flat, which[..., None], axis=-1)[..., 0], which


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
