"""Transposed convolution layers: :class:`ConvTranspose1d` and :class:`ConvTranspose2d`, the
upsampling layers of decoders and generators. They hold the weight ``(in_channels,
out_channels, *kernel)`` (PyTorch's layout for these layers) and the bias; the math is
``glassnet.functional.conv_transpose1d`` / ``conv_transpose2d`` (primitive and backward in
``glassnet.ops.conv_transpose``: the adjoint of the convolution)."""

from __future__ import annotations

import numpy as np

from .. import functional as F
from ..ops.conv import expand
from ..tensor import Tensor
from .conv import _ConvNd

__all__ = ["ConvTranspose1d", "ConvTranspose2d"]


class _ConvTransposeNd(_ConvNd):
    """What ConvTranspose1d and ConvTranspose2d share: Conv's arguments, initialization and
    config, plus ``output_padding``, with the weight's first two axes swapped."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, dilation=1, bias: bool = True, weight_init=None, bias_init=None,
                 dtype=np.float32, rng=None) -> None:
        d = len(self._spatial)
        # Checked before anything is built: PyTorch's rule (see glassnet.ops.conv_transpose).
        output_padding = expand(output_padding, d, "output_padding", minimum=0)
        strides, dilations = expand(stride, d, "stride"), expand(dilation, d, "dilation")
        if any(op >= s and op >= dl for op, s, dl in zip(output_padding, strides, dilations)):
            raise ValueError(f"output_padding {output_padding} must be smaller than either stride "
                             f"{strides} or dilation {dilations} on every axis")
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=padding,
                         dilation=dilation, bias=bias, weight_init=weight_init, bias_init=bias_init,
                         dtype=dtype, rng=rng)
        self.output_padding = output_padding

    def _weight_shape(self) -> tuple:
        return (self.in_channels, self.out_channels) + self.kernel_size

    def forward(self, x) -> Tensor:
        self._check_input(x)
        return self._function(x, self.weight, self.bias, self.stride, self.padding,
                              self.output_padding, self.dilation)

    def get_config(self) -> dict:
        return {**super().get_config(), "output_padding": self.output_padding}

    def extra_repr(self) -> str:
        text = super().extra_repr().removesuffix(", bias=False")
        if any(self.output_padding):
            text += f", output_padding={self.output_padding}"
        return text + (", bias=False" if self.bias is None else "")  # PyTorch's order


class ConvTranspose1d(_ConvTransposeNd):
    """A 1-D transposed convolution layer: each input position scatters its channels, weighted by
    a ``(in_channels, out_channels, kernel_size)`` kernel, onto ``kernel_size`` output positions,
    and input positions are ``stride`` outputs apart; with stride 2 the signal doubles in length.
    It is the adjoint (the transpose) of ``Conv1d`` with the same weight and sizes: its forward is
    that convolution's input gradient, and its input gradient is that convolution's forward.

        y[n, o, stride * i + dilation * a - padding] += sum over c of  w[c, o, a] * x[n, c, i]

    Parameters
    ----------
    in_channels, out_channels : int
        Channels of the input and of the output.
    kernel_size : int or 1-tuple
        Length k of the kernel.
    stride : int or 1-tuple
        Output step between two input positions (the upsampling factor).
    padding : int or 1-tuple
        Entries cut from both ends of the output (the padding of the Conv1d this layer is the
        transpose of). ``kernel_size=4, stride=2, padding=1`` maps a length L to exactly 2 L.
    output_padding : int or 1-tuple
        Entries added at the end of the output (they get the bias only); must be smaller than
        the stride or the dilation. It picks, among the input sizes a strided Conv1d maps to L,
        the one this layer returns.
    dilation : int or 1-tuple
        Spacing between the output positions one kernel reaches.
    bias : bool
        Learn a bias per output channel (default).
    weight_init, bias_init : None, str or callable
        None (default): PyTorch's initialization, U(-a, a) with a = 1 / sqrt(fan_in) for the
        weight and the bias, where fan_in = out_channels * k: PyTorch computes the fan from axis
        1 of the weight, which here holds out_channels (``glassnet.init.fans`` does the same).
        Otherwise a name from ``glassnet.init.INITIALIZERS`` or a function
        ``fn(shape, dtype=..., rng=...)``.
    dtype : float32 or float64
    rng : int, numpy.random.Generator or None
        Randomness of the initialization.

    Attributes
    ----------
    weight : Parameter, shape (in_channels, out_channels, kernel_size)
    bias : Parameter of shape (out_channels,), or None

    Shape
    -----
    - input: ``(N, in_channels, L)``
    - output: ``(N, out_channels, L_out)``,
      L_out = (L - 1) stride - 2 padding + dilation (kernel_size - 1) + output_padding + 1

    Example
    -------
    >>> import numpy as np
    >>> from glassnet import nn
    >>> layer = nn.ConvTranspose1d(16, 8, kernel_size=4, stride=2, padding=1, rng=0)
    >>> layer.weight.shape
    (16, 8, 4)
    >>> layer(np.zeros((10, 16, 20))).shape
    (10, 8, 40)
    """

    _spatial = ("L",)
    _function = staticmethod(F.conv_transpose1d)


class ConvTranspose2d(_ConvTransposeNd):
    """A 2-D transposed convolution layer, the transpose of ``Conv2d`` with the same weight and
    sizes: the upsampling layer of DCGAN-style generators. Arguments as in
    :class:`ConvTranspose1d`; each size is an int (both axes) or a pair ``(height, width)``.
    Default initialization: U(-a, a), a = 1 / sqrt(out_channels * kH * kW) (PyTorch's).

    Attributes
    ----------
    weight : Parameter, shape (in_channels, out_channels, kH, kW)
    bias : Parameter of shape (out_channels,), or None

    Shape
    -----
    - input: ``(N, in_channels, H, W)``
    - output: ``(N, out_channels, H_out, W_out)``, H_out = (H - 1) stride[0] - 2 padding[0] +
      dilation[0] (kH - 1) + output_padding[0] + 1, W_out likewise

    Example
    -------
    >>> import numpy as np
    >>> from glassnet import nn
    >>> layer = nn.ConvTranspose2d(32, 16, kernel_size=4, stride=2, padding=1, rng=0)
    >>> layer(np.zeros((2, 32, 4, 4))).shape
    (2, 16, 8, 8)
    >>> nn.ConvTranspose2d(1, 1, 3, stride=2, output_padding=1, rng=0)(np.zeros((1, 1, 4, 4))).shape
    (1, 1, 10, 10)
    """

    _spatial = ("H", "W")
    _function = staticmethod(F.conv_transpose2d)
