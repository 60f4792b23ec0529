"""Convolution layers: :class:`Conv1d` and :class:`Conv2d`. They hold the weight
``(out_channels, in_channels, *kernel)`` (PyTorch's and ONNX's layout) and the bias; the math is
``glassnet.functional.conv1d`` / ``conv2d`` (primitive and backward in ``glassnet.ops.conv``)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .. import functional as F
from .. import init
from .._checks import boolean, float_dtype, positive_int
from ..ops.conv import expand
from ..random import get_rng
from ..tensor import Parameter, Tensor
from .module import Module, state_array

__all__ = ["Conv1d", "Conv2d"]


class _ConvNd(Module):
    """What Conv1d and Conv2d share; a subclass sets ``_spatial`` (the names of the spatial
    axes, for messages) and ``_function`` (the functional form)."""

    _spatial: tuple = ()
    _function: Callable[..., Tensor]  # the functional form, a staticmethod set by each subclass

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, bias: bool = True, weight_init=None, bias_init=None,
                 dtype=np.float32, rng=None) -> None:
        super().__init__()
        d = len(self._spatial)
        self.in_channels = positive_int(in_channels, "in_channels")
        self.out_channels = positive_int(out_channels, "out_channels")
        self.kernel_size = expand(kernel_size, d, "kernel_size")
        self.stride = expand(stride, d, "stride")
        self.padding = expand(padding, d, "padding", minimum=0)
        self.dilation = expand(dilation, d, "dilation")
        bias = boolean(bias, "bias")
        self.weight_init = None if weight_init is None else init.get(weight_init)
        self.bias_init = None if bias_init is None else init.get(bias_init)
        self.dtype = float_dtype(dtype)
        self.weight = Parameter(state_array(self._weight_shape(), self.dtype))
        if bias:
            self.bias = Parameter(state_array(self.out_channels, self.dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters(rng)

    def _weight_shape(self) -> tuple:
        return (self.out_channels, self.in_channels) + self.kernel_size

    def reset_parameters(self, rng=None) -> None:
        """Refill the weight and bias in place. Default (no initializer given): PyTorch's,
        U(-a, a) with a = 1 / sqrt(fan_in) for both, fan_in = weight.shape[1] * prod(kernel_size)
        (``init.fans``, as PyTorch computes it): in_channels * prod(kernel_size) for Conv, and
        out_channels * prod(kernel_size) for ConvTranspose, whose weight is (in, out, *kernel).
        ``rng``: seed, Generator or None."""
        generator = get_rng(rng)  # one generator for both: a seed must not be reused
        bound = 1.0 / math.sqrt(init.fans(self.weight.shape)[0])
        for parameter, initializer in ((self.weight, self.weight_init), (self.bias, self.bias_init)):
            if parameter is None:
                continue
            if initializer is None:
                values = generator.uniform(-bound, bound, parameter.shape)
            else:
                values = np.asarray(initializer(parameter.shape, dtype=self.dtype, rng=generator))
                if values.shape != parameter.shape:
                    raise ValueError(f"initializer returned shape {values.shape}, expected {parameter.shape}")
            parameter.data[...] = values

    def forward(self, x) -> Tensor:
        self._check_input(x)
        return self._function(x, self.weight, self.bias, self.stride, self.padding,
                              self.dilation)

    def _check_input(self, x) -> None:
        shape = np.shape(x.data if isinstance(x, Tensor) else x)
        d = len(self._spatial)
        if len(shape) != d + 2 or shape[1] != self.in_channels:
            expected = ", ".join(("N", str(self.in_channels)) + self._spatial)
            raise ValueError(f"{type(self).__name__} expects input of shape ({expected}) ({d + 2} "
                             f"dims), got {shape}")

    def get_config(self) -> dict:
        """The arguments that rebuild this layer. An initializer is recorded by its name in
        ``glassnet.init.INITIALIZERS``; the default (None) and custom functions are left out."""
        config = {"in_channels": self.in_channels, "out_channels": self.out_channels,
                  "kernel_size": self.kernel_size, "stride": self.stride,
                  "padding": self.padding, "dilation": self.dilation,
                  "bias": self.bias is not None}
        config.update(init.initializer_config(self))
        config["dtype"] = self.dtype.name
        return config

    def extra_repr(self) -> str:
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if any(self.padding):
            text += f", padding={self.padding}"
        if any(d != 1 for d in self.dilation):
            text += f", dilation={self.dilation}"
        if self.bias is None:
            text += ", bias=False"
        return text


class Conv1d(_ConvNd):
    """A 1-D convolution layer: each of ``out_channels`` filters slides along the signal and
    takes a weighted sum of ``kernel_size`` positions of every input channel, plus its bias:

        y[n, o, i] = b[o] + sum over c, a of  w[o, c, a] * x_padded[n, c, stride * i + dilation * a]

    Parameters
    ----------
    in_channels, out_channels : int
        Channels of the input and of the output (the number of filters).
    kernel_size : int or 1-tuple
        Length k of each filter.
    stride : int or 1-tuple
        Step between two output positions.
    padding : int or 1-tuple
        Zeros added at both ends of the signal.
    dilation : int or 1-tuple
        Spacing between the positions a filter reads (1: adjacent).
    bias : bool
        Learn a bias per output channel (default).
    weight_init, bias_init : None, str or callable
        None (default): PyTorch's initialization, U(-a, a) with a = 1 / sqrt(in_channels * k)
        for both the weight and the bias. Otherwise a name from ``glassnet.init.INITIALIZERS``
        (for ReLU networks "he_uniform" or "he_normal" is the course's choice) or a function
        ``fn(shape, dtype=..., rng=...)``.
    dtype : float32 or float64
    rng : int, numpy.random.Generator or None
        Randomness of the initialization.

    Attributes
    ----------
    weight : Parameter, shape (out_channels, in_channels, kernel_size)
    bias : Parameter of shape (out_channels,), or None

    Shape
    -----
    - input: ``(N, in_channels, L)``
    - output: ``(N, out_channels, L_out)``,
      L_out = (L + 2 padding - dilation (kernel_size - 1) - 1) // stride + 1

    Example
    -------
    >>> import numpy as np
    >>> from glassnet import nn
    >>> layer = nn.Conv1d(1, 25, kernel_size=5, stride=2, padding=1, rng=0)
    >>> layer.weight.shape
    (25, 1, 5)
    >>> layer(np.zeros((100, 1, 40))).shape
    (100, 25, 19)
    """

    _spatial = ("L",)
    _function = staticmethod(F.conv1d)


class Conv2d(_ConvNd):
    """A 2-D convolution layer: each of ``out_channels`` filters of size ``kernel_size`` slides
    over the image and takes a weighted sum over all input channels, plus its bias. Arguments as
    in :class:`Conv1d`; each size is an int (both axes) or a pair ``(height, width)``.

    Attributes
    ----------
    weight : Parameter, shape (out_channels, in_channels, kH, kW)
    bias : Parameter of shape (out_channels,), or None

    Shape
    -----
    - input: ``(N, in_channels, H, W)``
    - output: ``(N, out_channels, H_out, W_out)``,
      H_out = (H + 2 padding[0] - dilation[0] (kH - 1) - 1) // stride[0] + 1, W_out likewise

    Example
    -------
    >>> import numpy as np
    >>> from glassnet import nn
    >>> layer = nn.Conv2d(3, 8, kernel_size=3, padding=1, rng=0)
    >>> layer(np.zeros((2, 3, 28, 28))).shape
    (2, 8, 28, 28)
    >>> nn.Conv2d(3, 8, kernel_size=(3, 1), stride=2, rng=0)(np.zeros((2, 3, 28, 28))).shape
    (2, 8, 13, 14)
    """

    _spatial = ("H", "W")
    _function = staticmethod(F.conv2d)
