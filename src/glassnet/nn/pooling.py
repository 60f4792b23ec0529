"""Pooling layers (max, average, global average), :class:`Flatten` and :class:`Unflatten`. They have no parameters;
the math is in ``glassnet.functional`` (primitives and backward in ``glassnet.ops.conv``)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .. import functional as F
from .._checks import boolean, integer
from ..ops.conv import expand, pool_arguments
from ..tensor import Tensor, ensure_tensor
from .module import Module

__all__ = ["AvgPool1d", "AvgPool2d", "Flatten", "GlobalAvgPool1d", "GlobalAvgPool2d", "MaxPool1d",
           "MaxPool2d", "Unflatten"]


def _check_rank(layer: Module, x, spatial: tuple) -> None:
    """A ValueError naming the expected and the actual shape unless x is ``(N, C, *spatial)``."""
    shape = np.shape(x.data if isinstance(x, Tensor) else x)
    if len(shape) != len(spatial) + 2:
        raise ValueError(f"{type(layer).__name__} expects input of shape "
                         f"({', '.join(('N', 'C') + spatial)}) ({len(spatial) + 2} dims), got {shape}")


class _MaxPoolNd(Module):
    _spatial: tuple = ()
    _function: Callable[..., Tensor]  # the functional form, a staticmethod set by each subclass

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1) -> None:
        super().__init__()
        d = len(self._spatial)
        self.kernel_size = expand(kernel_size, d, "kernel_size")
        self.stride = self.kernel_size if stride is None else expand(stride, d, "stride")
        self.padding = expand(padding, d, "padding", minimum=0)
        self.dilation = expand(dilation, d, "dilation")
        # Checks padding against the kernel now, not at the first call.
        pool_arguments(self.kernel_size, self.stride, self.padding, self.dilation, d,
                       type(self).__name__)

    def forward(self, x) -> Tensor:
        _check_rank(self, x, self._spatial)
        return self._function(x, self.kernel_size, self.stride, self.padding, self.dilation)

    def get_config(self) -> dict:
        return {"kernel_size": self.kernel_size, "stride": self.stride, "padding": self.padding,
                "dilation": self.dilation}

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}")


class MaxPool1d(_MaxPoolNd):
    """The maximum of each window of ``kernel_size`` values along the signal.

    Parameters
    ----------
    kernel_size : int or 1-tuple
    stride : int, 1-tuple or None
        Step between windows; None (default): ``kernel_size``, windows side by side.
    padding : int or 1-tuple
        -inf added at both ends (at most half the kernel size).
    dilation : int or 1-tuple
        Spacing between the values of a window.

    Notes
    -----
    The gradient of each output goes to the max of its window (the first one if several
    values tie, as in PyTorch).

    Shape
    -----
    - input: ``(N, C, L)``
    - output: ``(N, C, L_out)``, L_out = (L + 2 padding - dilation (kernel_size - 1) - 1) // stride + 1

    Example
    -------
    >>> import numpy as np
    >>> from glassnet import nn
    >>> nn.MaxPool1d(2)(np.array([[[1.0, 5.0, 2.0, 0.0, 3.0]]])).numpy()
    array([[[5., 2.]]])
    """

    _spatial = ("L",)
    _function = staticmethod(F.max_pool1d)


class MaxPool2d(_MaxPoolNd):
    """The maximum of each ``kernel_size`` window of the image. Arguments as in
    :class:`MaxPool1d`; each size is an int (both axes) or a pair ``(height, width)``.

    Shape
    -----
    - input: ``(N, C, H, W)``
    - output: ``(N, C, H_out, W_out)``, each size as in :class:`MaxPool1d`

    Example
    -------
    >>> import numpy as np
    >>> from glassnet import nn
    >>> nn.MaxPool2d(2)(np.zeros((8, 16, 28, 28))).shape
    (8, 16, 14, 14)
    """

    _spatial = ("H", "W")
    _function = staticmethod(F.max_pool2d)


class _AvgPoolNd(Module):
    _spatial: tuple = ()
    _function: Callable[..., Tensor]  # the functional form, a staticmethod set by each subclass

    def __init__(self, kernel_size, stride=None, padding=0, count_include_pad: bool = True) -> None:
        super().__init__()
        d = len(self._spatial)
        self.kernel_size = expand(kernel_size, d, "kernel_size")
        self.stride = self.kernel_size if stride is None else expand(stride, d, "stride")
        self.padding = expand(padding, d, "padding", minimum=0)
        self.count_include_pad = boolean(count_include_pad, "count_include_pad")
        pool_arguments(self.kernel_size, self.stride, self.padding, 1, d, type(self).__name__)

    def forward(self, x) -> Tensor:
        _check_rank(self, x, self._spatial)
        return self._function(x, self.kernel_size, self.stride, self.padding, self.count_include_pad)

    def get_config(self) -> dict:
        return {"kernel_size": self.kernel_size, "stride": self.stride, "padding": self.padding,
                "count_include_pad": self.count_include_pad}

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(_AvgPoolNd):
    """The mean of each window of ``kernel_size`` values along the signal.

    Parameters
    ----------
    kernel_size : int or 1-tuple
    stride : int, 1-tuple or None
        Step between windows; None (default): ``kernel_size``.
    padding : int or 1-tuple
        Zeros added at both ends (at most half the kernel size).
    count_include_pad : bool
        Divide every window by the kernel size, padding included (default, as in PyTorch);
        False: by the number of input values in the window.

    Shape
    -----
    - input: ``(N, C, L)``
    - output: ``(N, C, L_out)``, L_out = (L + 2 padding - kernel_size) // stride + 1

    Example
    -------
    >>> import numpy as np
    >>> from glassnet import nn
    >>> nn.AvgPool1d(2)(np.array([[[1.0, 5.0, 2.0, 0.0, 3.0]]])).numpy()
    array([[[3., 1.]]])
    """

    _spatial = ("L",)
    _function = staticmethod(F.avg_pool1d)


class AvgPool2d(_AvgPoolNd):
    """The mean of each ``kernel_size`` window of the image. Arguments as in
    :class:`AvgPool1d`; each size is an int (both axes) or a pair ``(height, width)``.

    Shape
    -----
    - input: ``(N, C, H, W)``
    - output: ``(N, C, H_out, W_out)``

    Example
    -------
    >>> import numpy as np
    >>> from glassnet import nn
    >>> nn.AvgPool2d(3, stride=2, padding=1)(np.zeros((8, 16, 28, 28))).shape
    (8, 16, 14, 14)
    """

    _spatial = ("H", "W")
    _function = staticmethod(F.avg_pool2d)


class GlobalAvgPool1d(Module):
    """The mean of each channel over the whole signal (PyTorch: ``AdaptiveAvgPool1d(1)``
    followed by a flatten).

    Shape
    -----
    - input: ``(N, C, L)``
    - output: ``(N, C)``

    Example
    -------
    >>> import numpy as np
    >>> from glassnet import nn
    >>> nn.GlobalAvgPool1d()(np.ones((4, 25, 40))).shape
    (4, 25)
    """

    def forward(self, x) -> Tensor:
        _check_rank(self, x, ("L",))
        return F.global_avg_pool(x)


class GlobalAvgPool2d(Module):
    """The mean of each channel over the whole image (PyTorch: ``AdaptiveAvgPool2d(1)``
    followed by a flatten; Keras: ``GlobalAveragePooling2D``).

    Shape
    -----
    - input: ``(N, C, H, W)``
    - output: ``(N, C)``

    Example
    -------
    >>> import numpy as np
    >>> from glassnet import nn
    >>> nn.GlobalAvgPool2d()(np.ones((4, 16, 7, 7))).shape
    (4, 16)
    """

    def forward(self, x) -> Tensor:
        _check_rank(self, x, ("H", "W"))
        return F.global_avg_pool(x)


class Flatten(Module):
    """Merge the axes ``start_dim`` to ``end_dim`` into one: by default every axis but the
    batch, to go from convolution feature maps to a Linear layer.

    Shape
    -----
    - input: ``(N, *)``, e.g. ``(N, C, H, W)``
    - output: ``(N, prod(*))``, e.g. ``(N, C * H * W)``, with the defaults

    Example
    -------
    >>> import numpy as np
    >>> from glassnet import nn
    >>> nn.Flatten()(np.zeros((100, 25, 5))).shape
    (100, 125)
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = integer(start_dim, "start_dim"), integer(end_dim, "end_dim")

    def forward(self, x) -> Tensor:
        return F.flatten(x, self.start_dim, self.end_dim)

    def get_config(self) -> dict:
        return {"start_dim": self.start_dim, "end_dim": self.end_dim}

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split axis ``dim`` into the axes ``unflattened_size``, the inverse of :class:`Flatten`:
    from a Linear layer's features back to feature maps, e.g. ``(N, 32 * 5)`` -> ``(N, 32, 5)``
    before a transposed convolution. As in PyTorch, ``dim`` may be negative and one entry of
    ``unflattened_size`` may be -1 (inferred).

    Shape
    -----
    - input: ``(*before, S, *after)`` with S on axis ``dim``
    - output: ``(*before, *unflattened_size, *after)``, prod(unflattened_size) = S

    Example
    -------
    >>> import numpy as np
    >>> from glassnet import nn
    >>> nn.Unflatten(1, (32, 5))(np.zeros((100, 160))).shape
    (100, 32, 5)
    >>> nn.Unflatten(-1, (2, -1))(np.zeros((4, 3, 10))).shape
    (4, 3, 2, 5)
    """

    def __init__(self, dim: int, unflattened_size) -> None:
        super().__init__()
        self.dim = integer(dim, "dim")
        if not isinstance(unflattened_size, (tuple, list)) or not unflattened_size:
            raise TypeError(f"unflattened_size must be a non-empty tuple of ints, got {unflattened_size!r}")
        sizes = tuple(integer(n, "unflattened_size") for n in unflattened_size)
        if any(n < 1 and n != -1 for n in sizes) or sizes.count(-1) > 1:
            raise ValueError(f"unflattened_size must hold positive ints and at most one -1, got {unflattened_size!r}")
        self.unflattened_size = sizes

    def forward(self, x) -> Tensor:
        x = ensure_tensor(x)
        if not -x.ndim <= self.dim < x.ndim:
            raise ValueError(f"Unflatten: dim {self.dim} is out of range for an input of shape {x.shape}")
        axis = self.dim % x.ndim
        size, known = x.shape[axis], math.prod(n for n in self.unflattened_size if n != -1)
        if (size != known) if -1 not in self.unflattened_size else (size % known != 0):
            raise ValueError(f"Unflatten: axis {self.dim} of the input (shape {x.shape}) has {size} "
                             f"entries, which cannot be split into {self.unflattened_size}")
        sizes = tuple(size // known if n == -1 else n for n in self.unflattened_size)
        return x.reshape(x.shape[:axis] + sizes + x.shape[axis + 1:])

    def get_config(self) -> dict:
        return {"dim": self.dim, "unflattened_size": self.unflattened_size}

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
