"""Convolution, pooling and flatten. The primitives (with their backward) are in
``glassnet.ops.conv``; these functions accept ints or tuples for sizes, as PyTorch's do, and check
their arguments."""

from __future__ import annotations

import math

from .. import ops
from .._checks import boolean, integer
from ..ops.conv import expand, pool_arguments
from ..tensor import Tensor, ensure_tensor

__all__ = ["avg_pool1d", "avg_pool2d", "conv1d", "conv2d", "conv_transpose", "conv_transpose1d",
           "conv_transpose2d", "flatten", "global_avg_pool", "max_pool1d", "max_pool2d"]


def _conv(x, weight, bias, stride, padding, dilation, d: int, name: str) -> Tensor:
    if weight.ndim != d + 2:
        raise ValueError(f"{name} needs a weight of {d + 2} dimensions (out_channels, in_channels, "
                         f"*kernel), got shape {weight.shape}")
    x = ensure_tensor(x, dtype=weight.dtype)
    return ops.conv(x, weight, bias, expand(stride, d, "stride"), expand(padding, d, "padding", 0),
                    expand(dilation, d, "dilation"))


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1) -> Tensor:
    """1-D convolution (cross-correlation) of a batch of multi-channel signals:

        y[n, o, i] = b[o] + sum over c, a of  w[o, c, a] * x_padded[n, c, stride * i + dilation * a]

    Shapes: x ``(N, C_in, L)``, weight ``(C_out, C_in, k)``, bias ``(C_out,)`` ->
    ``(N, C_out, L_out)`` with L_out = (L + 2 padding - dilation (k - 1) - 1) // stride + 1.
    ``stride``, ``padding`` (zeros on both ends) and ``dilation``: an int or a 1-tuple.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> from glassnet import functional as F
    >>> x = gn.Tensor(np.array([[[1.0, 2.0, 4.0, 8.0]]]))
    >>> F.conv1d(x, gn.Tensor(np.array([[[-1.0, 1.0]]]))).numpy()
    array([[[1., 2., 4.]]])
    """
    return _conv(x, weight, bias, stride, padding, dilation, 1, "conv1d")


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1) -> Tensor:
    """2-D convolution (cross-correlation) of a batch of multi-channel images.

    Shapes: x ``(N, C_in, H, W)``, weight ``(C_out, C_in, kH, kW)``, bias ``(C_out,)`` ->
    ``(N, C_out, H_out, W_out)``, each output size as in :func:`conv1d`. ``stride``,
    ``padding`` and ``dilation``: an int (both axes) or a pair (height, width).

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> from glassnet import functional as F
    >>> x = gn.Tensor(np.ones((2, 3, 8, 8)))
    >>> F.conv2d(x, gn.Tensor(np.ones((4, 3, 3, 3))), stride=2, padding=1).shape
    (2, 4, 4, 4)
    """
    return _conv(x, weight, bias, stride, padding, dilation, 2, "conv2d")


def conv_transpose(x, weight, bias=None, stride=1, padding=0, output_padding=0, dilation=1) -> Tensor:
    """Transposed convolution, 1-D or 2-D as the weight's rank says (3 or 4 dimensions): the
    adjoint of :func:`conv1d` / :func:`conv2d` with the same weight, stride, padding and
    dilation, so ``<conv(x, w), y> == <x, conv_transpose(y, w)>``. Each input position scatters
    its values, weighted by the kernel, onto output positions ``stride`` apart: a stride-2 layer
    doubles the length (``kernel_size=4, stride=2, padding=1`` maps L to exactly 2 L).

        y[n, o, stride * i + dilation * a - padding] += sum over c of  x[n, c, i] * w[c, o, a]

    Shapes: x ``(N, C_in, *size)``, weight ``(C_in, C_out, *kernel)`` (PyTorch's layout for this
    op), bias ``(C_out,)`` -> ``(N, C_out, *out)`` with, on each axis,
    out = (size - 1) stride - 2 padding + dilation (kernel - 1) + output_padding + 1.
    ``output_padding`` (smaller than the stride or the dilation) adds entries at the end. Sizes:
    an int (every axis) or a tuple. No ``groups``: PyTorch's ``conv_transpose1d`` takes
    ``groups`` before ``dilation``, so pass ``dilation`` by name when porting.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> from glassnet import functional as F
    >>> x = gn.Tensor(np.ones((2, 8, 5)))
    >>> F.conv_transpose(x, gn.Tensor(np.ones((8, 3, 4))), stride=2, padding=1).shape
    (2, 3, 10)
    """
    weight = ensure_tensor(weight)
    if weight.ndim not in (3, 4):
        raise ValueError(f"conv_transpose needs a weight of 3 dimensions (in_channels, out_channels, "
                         f"k) or 4 (in_channels, out_channels, kH, kW), got shape {weight.shape}")
    return _conv_transpose(x, weight, bias, stride, padding, output_padding, dilation,
                           weight.ndim - 2, "conv_transpose")


def conv_transpose1d(x, weight, bias=None, stride=1, padding=0, output_padding=0, dilation=1) -> Tensor:
    """1-D transposed convolution: :func:`conv_transpose` with a weight ``(C_in, C_out, k)``.

    Shapes: x ``(N, C_in, L)`` -> ``(N, C_out, L_out)``,
    L_out = (L - 1) stride - 2 padding + dilation (k - 1) + output_padding + 1.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> from glassnet import functional as F
    >>> x = gn.Tensor(np.array([[[1.0, 2.0]]]))
    >>> F.conv_transpose1d(x, gn.Tensor(np.array([[[1.0, 10.0, 100.0]]])), stride=2).numpy()
    array([[[  1.,  10., 102.,  20., 200.]]])
    """
    return _conv_transpose(x, weight, bias, stride, padding, output_padding, dilation, 1,
                           "conv_transpose1d")


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, dilation=1) -> Tensor:
    """2-D transposed convolution: :func:`conv_transpose` with a weight ``(C_in, C_out, kH, kW)``;
    sizes are an int (both axes) or a pair (height, width).

    Shapes: x ``(N, C_in, H, W)`` -> ``(N, C_out, H_out, W_out)``, each size as in
    :func:`conv_transpose1d`.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> from glassnet import functional as F
    >>> x = gn.Tensor(np.ones((2, 16, 4, 4)))
    >>> F.conv_transpose2d(x, gn.Tensor(np.ones((16, 8, 4, 4))), stride=2, padding=1).shape
    (2, 8, 8, 8)
    """
    return _conv_transpose(x, weight, bias, stride, padding, output_padding, dilation, 2,
                           "conv_transpose2d")


def _conv_transpose(x, weight, bias, stride, padding, output_padding, dilation, d: int,
                    name: str) -> Tensor:
    weight = ensure_tensor(weight)  # an array is a constant weight
    if weight.ndim != d + 2:
        raise ValueError(f"{name} needs a weight of {d + 2} dimensions (in_channels, out_channels, "
                         f"*kernel), got shape {weight.shape}")
    x = ensure_tensor(x, dtype=weight.dtype)
    bias = None if bias is None else ensure_tensor(bias, dtype=weight.dtype)
    return ops.conv_transpose(x, weight, bias, expand(stride, d, "stride"),
                              expand(padding, d, "padding", 0),
                              expand(output_padding, d, "output_padding", 0),
                              expand(dilation, d, "dilation"))


def max_pool1d(x, kernel_size, stride=None, padding=0, dilation=1) -> Tensor:
    """The maximum of each window of ``kernel_size`` values, windows ``stride`` apart (default:
    ``kernel_size``, no overlap); padding adds -inf on both ends. The gradient flows to each
    window's max (to the first one on ties, as in PyTorch).

    Shapes: x ``(N, C, L)`` -> ``(N, C, L_out)``, L_out as in :func:`conv1d`.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> from glassnet import functional as F
    >>> F.max_pool1d(gn.Tensor(np.array([[[1.0, 5.0, 2.0, 0.0, 3.0]]])), 2).numpy()
    array([[[5., 2.]]])
    """
    x = ensure_tensor(x)
    return ops.max_pool(x, *pool_arguments(kernel_size, stride, padding, dilation, 1, "max_pool1d"))


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1) -> Tensor:
    """2-D max pooling; sizes are an int (both axes) or a pair (height, width). See
    :func:`max_pool1d`.

    Shapes: x ``(N, C, H, W)`` -> ``(N, C, H_out, W_out)``.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> from glassnet import functional as F
    >>> F.max_pool2d(gn.Tensor(np.arange(16.0).reshape(1, 1, 4, 4)), 2).numpy()
    array([[[[ 5.,  7.],
             [13., 15.]]]])
    """
    x = ensure_tensor(x)
    return ops.max_pool(x, *pool_arguments(kernel_size, stride, padding, dilation, 2, "max_pool2d"))


def avg_pool1d(x, kernel_size, stride=None, padding=0, count_include_pad: bool = True) -> Tensor:
    """The mean of each window of ``kernel_size`` values, windows ``stride`` apart (default:
    ``kernel_size``); padding adds zeros, which count in the mean unless ``count_include_pad``
    is False (PyTorch's default: True).

    Shapes: x ``(N, C, L)`` -> ``(N, C, L_out)``, L_out as in :func:`conv1d`.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> from glassnet import functional as F
    >>> F.avg_pool1d(gn.Tensor(np.array([[[1.0, 5.0, 2.0, 0.0, 3.0]]])), 2).numpy()
    array([[[3., 1.]]])
    """
    x = ensure_tensor(x)
    kernel, stride, padding, _ = pool_arguments(kernel_size, stride, padding, 1, 1, "avg_pool1d")
    return ops.avg_pool(x, kernel, stride, padding, boolean(count_include_pad, "count_include_pad"))


def avg_pool2d(x, kernel_size, stride=None, padding=0, count_include_pad: bool = True) -> Tensor:
    """2-D average pooling; sizes are an int (both axes) or a pair. See :func:`avg_pool1d`.

    Shapes: x ``(N, C, H, W)`` -> ``(N, C, H_out, W_out)``.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> from glassnet import functional as F
    >>> F.avg_pool2d(gn.Tensor(np.arange(16.0).reshape(1, 1, 4, 4)), 2).numpy()
    array([[[[ 2.5,  4.5],
             [10.5, 12.5]]]])
    """
    x = ensure_tensor(x)
    kernel, stride, padding, _ = pool_arguments(kernel_size, stride, padding, 1, 2, "avg_pool2d")
    return ops.avg_pool(x, kernel, stride, padding, boolean(count_include_pad, "count_include_pad"))


def global_avg_pool(x) -> Tensor:
    """The mean of each channel over all its positions: one value per sample and channel.

    Shapes: x ``(N, C, *spatial)`` (at least one spatial axis) -> ``(N, C)``.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> from glassnet import functional as F
    >>> F.global_avg_pool(gn.Tensor(np.ones((2, 3, 4, 5)))).shape
    (2, 3)
    """
    x = ensure_tensor(x)
    if x.ndim < 3:
        raise ValueError(f"global_avg_pool expects an input of shape (N, C, *spatial) (3 or more "
                         f"dimensions), got shape {x.shape}")
    return x.mean(axis=tuple(range(2, x.ndim)))


def flatten(x, start_dim: int = 1, end_dim: int = -1) -> Tensor:
    """Merge the axes ``start_dim`` to ``end_dim`` (both included) into one, in row-major order.

    Shapes: ``(N, C, H, W)`` -> ``(N, C * H * W)`` with the defaults.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> from glassnet import functional as F
    >>> F.flatten(gn.Tensor(np.ones((2, 3, 4, 5)))).shape
    (2, 60)
    """
    x = ensure_tensor(x)
    ndim = max(x.ndim, 1)
    start, end = (_axis_index(axis, ndim, name) for axis, name in
                  ((start_dim, "start_dim"), (end_dim, "end_dim")))
    if start > end:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for an "
                         f"input of shape {x.shape}")
    shape = x.shape[:start] + (math.prod(x.shape[start:end + 1]),) + x.shape[end + 1:]
    return x.reshape(shape)


def _axis_index(axis, ndim: int, name: str) -> int:
    axis = integer(axis, name)
    if not -ndim <= axis < ndim:
        raise ValueError(f"{name} {axis} is out of range for an input with {ndim} dimensions")
    return axis % ndim
