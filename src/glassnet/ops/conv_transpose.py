"""The transposed convolution ("deconvolution", fractionally strided convolution): the adjoint of
:func:`glassnet.ops.conv`, over any number of spatial axes.

A convolution with weight w is a linear map C_w from inputs ``(N, C, *size)`` to outputs
``(N, O, *out)``; its input gradient is the adjoint map C_w^T applied to the upstream gradient.
The transposed convolution IS that adjoint, used as a layer: it sends ``(N, O, *out)`` back to
``(N, C, *size)``, so that

    <conv(x, w), y> == <x, conv_transpose(y, w)>      for every x and y of the right shapes.

So the two ops share their code, with forward and backward swapped:

* ``conv_transpose``'s forward is conv's input gradient: one matrix product gives, for every
  input position, the values it sends through each kernel offset (``W2^T @ x2``), and
  ``col2im`` adds them onto strided slices of a zero output, one slice per kernel offset (a loop
  over the K offsets, never over positions; no ``np.add.at``).
* its input gradient is conv's forward: ``W2`` times ``im2col`` of the upstream gradient.

The weight keeps PyTorch's layout for this op, ``(in_channels, out_channels, *kernel)``: it is the
weight of the convolution it is the adjoint of, whose ``(O, C, *kernel)`` are our
``(in_channels, out_channels, *kernel)``.

Output size along each spatial axis (PyTorch's formula), the inverse of conv's:

    out = (size - 1) stride - 2 padding + dilation (kernel - 1) + output_padding + 1

Several convolution input sizes give the same conv output size when the stride is > 1;
``output_padding`` (< stride or < dilation) picks which: it adds entries at the end of each axis
that receive nothing but the bias.
"""

from __future__ import annotations

import math

import numpy as np

from ..tensor import Tensor
from .conv import _pad, check_operands, col2im, im2col

__all__ = ["conv_transpose", "transposed_output_size"]


def transposed_output_size(size: tuple, kernel: tuple, stride: tuple, padding: tuple,
                           output_padding: tuple, dilation: tuple) -> tuple:
    """The output's spatial shape (see the module docstring), one entry per spatial axis."""
    return tuple((n - 1) * s - 2 * p + d * (k - 1) + op + 1
                 for n, k, s, p, op, d in zip(size, kernel, stride, padding, output_padding, dilation))


def conv_transpose(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride: tuple = (1,),
                   padding: tuple = (0,), output_padding: tuple = (0,),
                   dilation: tuple = (1,)) -> Tensor:
    """Transposed convolution over d spatial axes: each input position i scatters its values,
    weighted by the kernel, onto the output positions ``stride * i + dilation * a - padding``:

        y[n, o, stride * i + dilation * a - padding] += sum over c of  x[n, c, i] * w[c, o, a]

    plus ``b[o]`` everywhere (i and a are d-dimensional indices; targets that fall in the padding
    are dropped). With x2 the input arranged as ``(C_in, N * L_in)`` and W2 the weight flattened
    to ``(C_in, C_out * K)``, ``W2^T @ x2`` holds every (offset, position) contribution and col2im
    adds them up: conv's input gradient, exactly.

    Backward, with G the upstream gradient ``(N, C_out, *out)`` and cols = im2col(G padded), the
    matrix ``(C_out * K, N * L_in)`` of the windows G has under each input position:
    dx2 = W2 @ cols (conv's forward with the same weight), dW2 = x2 @ cols^T, db = sums of G
    over every axis but the channel.

    ``stride``, ``padding``, ``output_padding`` and ``dilation`` are tuples with one int per
    spatial axis (``glassnet.functional`` expands plain ints and checks them).

    Shapes: x ``(N, C_in, *size)``, weight ``(C_in, C_out, *kernel)``, bias ``(C_out,)`` ->
    ``(N, C_out, *out)``, out = (size - 1) stride - 2 padding + dilation (kernel - 1) +
    output_padding + 1.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> x = gn.Tensor(np.array([[[1.0, 2.0]]]))
    >>> w = gn.Tensor(np.array([[[1.0, 10.0, 100.0]]]))
    >>> gn.ops.conv_transpose(x, w, stride=(2,)).numpy()
    array([[[  1.,  10., 102.,  20., 200.]]])
    """
    out = _check_transposed_operands(x, weight, bias, stride, padding, output_padding, dilation)
    d = weight.ndim - 2
    kernel = weight.shape[2:]
    n, in_channels = x.shape[:2]
    out_channels = weight.shape[1]
    size = x.shape[2:]
    positions = n * math.prod(size)
    spatial = tuple(range(2, 2 + d))
    y_shape = (n, out_channels) + out
    # The padded output: what the convolution this is the adjoint of would read.
    padded_shape = (n, out_channels) + tuple(m + 2 * p for m, p in zip(out, padding))

    # (N, C_in, *size) -> (C_in, N * L_in): a copy whose inner runs are whole rows of positions.
    x2 = np.ascontiguousarray(x.data.swapaxes(0, 1)).reshape(in_channels, positions)
    w2 = weight.data.reshape(in_channels, out_channels * math.prod(kernel))
    y = col2im(w2.T @ x2, padded_shape, kernel, stride, dilation, size, padding, y_shape)
    if bias is not None:
        y = y + bias.data.reshape((out_channels,) + (1,) * d)  # a new, contiguous array
    else:
        y = np.ascontiguousarray(y)

    def backward(g):
        gx = gw = gb = None
        cols = im2col(_pad(g, padding), kernel, stride, dilation, size)  # (C_out * K, N * L_in)
        if x.requires_grad:
            # (C_in, N * L_in) -> (N, C_in, *size), contiguous like the input.
            gx = np.ascontiguousarray((w2 @ cols).reshape((in_channels, n) + size).swapaxes(0, 1))
        if weight.requires_grad:
            gw = (x2 @ cols.T).reshape(weight.shape)
        if bias is not None and bias.requires_grad:
            gb = g.sum(axis=(0,) + spatial)
        return (gx, gw) if bias is None else (gx, gw, gb)

    parents = (x, weight) if bias is None else (x, weight, bias)
    return Tensor._from_op(y, parents, backward, "conv_transpose")


def _check_transposed_operands(x, weight, bias, stride, padding, output_padding, dilation) -> tuple:
    """conv's checks (weight ``(in_channels, out_channels, *kernel)``) and PyTorch's on
    output_padding and the output's size, as ValueError/TypeError; returns the output's spatial shape."""
    check_operands("conv_transpose", x, weight, bias, "(in_channels, out_channels, *kernel)", 0,
                   stride=stride, padding=padding, output_padding=output_padding, dilation=dilation)
    if any(op >= s and op >= dl for op, s, dl in zip(output_padding, stride, dilation)):
        raise ValueError(f"conv_transpose: output_padding {output_padding} must be smaller than "
                         f"either stride {stride} or dilation {dilation} on every axis")
    out = transposed_output_size(x.shape[2:], weight.shape[2:], stride, padding, output_padding, dilation)
    if any(m < 1 for m in out):
        raise ValueError(f"conv_transpose: the input's spatial size {x.shape[2:]} with kernel "
                         f"{weight.shape[2:]}, stride {stride}, padding {padding}, output_padding "
                         f"{output_padding} and dilation {dilation} gives output size {out}: too small")
    return out
