"""Normalization: batch norm and layer norm, with PyTorch's semantics. The layers
``nn.BatchNorm1d``, ``nn.BatchNorm2d`` and ``nn.LayerNorm`` hold the parameters and running
statistics and call these functions.

Batch norm is composed of Tensor ops (mean, sub, mul, sqrt, div, add), so autodiff gives its
backward; layer norm is one op, ``glassnet.ops.layer_norm``, with its backward beside it (a
transformer runs it twice per layer, and the composed form was 1.5 times slower).
"""

from __future__ import annotations

import numpy as np

from .. import ops
from .._checks import boolean, non_negative_number, number_in_range
from ..tensor import Tensor, ensure_tensor

__all__ = ["batch_norm", "layer_norm"]


def batch_norm(x: Tensor, running_mean: np.ndarray | None, running_var: np.ndarray | None,
               weight: Tensor | None = None, bias: Tensor | None = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalize each channel (axis 1), then scale and shift it:

        y = (x - mean) / sqrt(var + eps) * gamma + beta

    In training, mean and var are the batch statistics of each channel over every axis but
    axis 1 (var is the biased one, divided by n), and the running statistics, if given, are
    updated in place:

        running_mean = (1 - momentum) running_mean + momentum mean
        running_var  = (1 - momentum) running_var  + momentum var * n / (n - 1)

    (the unbiased variance, PyTorch's rule). Otherwise the running statistics are used as mean and
    var, and the output is an affine function of x.

    Shapes: x ``(N, C, *)``, e.g. ``(N, C)``, ``(N, C, L)`` or ``(N, C, H, W)``; running_mean,
    running_var, weight (gamma) and bias (beta) ``(C,)``; output: the shape of x.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> from glassnet import functional as F
    >>> x = gn.Tensor(np.array([[1.0, 10.0], [3.0, 30.0]]))
    >>> F.batch_norm(x, None, None, training=True, eps=0.0).numpy()
    array([[-1., -1.],
           [ 1.,  1.]])
    """
    x = ensure_tensor(x, dtype=None if weight is None else weight.dtype)
    if x.ndim < 2:
        raise ValueError(f"batch_norm expects an input of shape (N, C, ...), got shape {x.shape}")
    training = boolean(training, "training")
    momentum = number_in_range(momentum, "momentum", 0.0, 1.0)
    eps = non_negative_number(eps, "eps")
    _check_channel_vectors(x.shape[1], running_mean, running_var, weight, bias)
    return _batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps)


def _batch_norm(x: Tensor, running_mean, running_var, weight, bias, training: bool, momentum: float,
                eps: float) -> Tensor:
    """batch_norm's math, on arguments already checked (by ``batch_norm``, or by the BatchNorm
    layers when they were built: they call this once per forward pass)."""
    channels = x.shape[1]
    shape = [1] * x.ndim
    shape[1] = channels  # a per-channel vector, shaped to broadcast against x
    if training:
        axes = (0,) + tuple(range(2, x.ndim))  # every axis but the channels
        count = x.size // channels  # values per channel
        if count <= 1:
            raise ValueError(
                f"Expected more than 1 value per channel when training, got input of shape {x.shape}"
            )
        mean = x.mean(axis=axes, keepdims=True)
        centered = x - mean
        var = (centered * centered).mean(axis=axes, keepdims=True)  # biased: divided by n
        x_hat = centered / (var + eps).sqrt()
        if running_mean is not None:
            running_mean[...] = (1 - momentum) * running_mean + momentum * mean.data.reshape(-1)
        if running_var is not None:
            unbiased = var.data.reshape(-1) * (count / (count - 1))
            running_var[...] = (1 - momentum) * running_var + momentum * unbiased
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm outside training needs running_mean and running_var")
        inverse_std = 1.0 / np.sqrt(running_var + eps)
        x_hat = (x - running_mean.reshape(shape)) * inverse_std.reshape(shape)
    if weight is not None:
        x_hat = x_hat * weight.reshape(shape)
    if bias is not None:
        x_hat = x_hat + bias.reshape(shape)
    return x_hat


def _check_channel_vectors(channels: int, *vectors) -> None:
    """Each given vector (running_mean, running_var, weight (gamma), bias (beta)) has one entry
    per channel, checked before any running statistic changes."""
    for index, vector in enumerate(vectors):
        if vector is not None and getattr(vector, "shape", None) != (channels,) and np.shape(vector) != (channels,):
            name = ("running_mean", "running_var", "weight", "bias")[index]
            raise ValueError(f"batch_norm: {name} must have shape ({channels},), one entry per channel "
                             f"of the input (axis 1), got {np.shape(vector)}")


def layer_norm(x, normalized_shape, weight=None, bias=None, eps: float = 1e-5) -> Tensor:
    """Normalize each sample over its last axes (``normalized_shape``), then scale and shift:

        y = (x - mean) / sqrt(var + eps) * gamma + beta

    mean and var (the biased one, divided by n) are taken over the last
    ``len(normalized_shape)`` axes of each sample separately: unlike batch norm, no statistic
    crosses the batch, so training and evaluation compute the same thing.

    Shapes: x ``(*, *normalized_shape)``; weight (gamma) and bias (beta) ``normalized_shape``
    -> the shape of x.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> from glassnet import functional as F
    >>> F.layer_norm(gn.Tensor(np.array([[1.0, 3.0], [10.0, 30.0]])), 2, eps=0.0).numpy()
    array([[-1.,  1.],
           [-1.,  1.]])
    """
    shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
    x = ensure_tensor(x, dtype=None if weight is None else weight.dtype)
    if x.ndim < len(shape) or x.shape[x.ndim - len(shape):] != shape:
        raise ValueError(f"layer_norm over the last axes {shape} expects an input of shape "
                         f"(..., {', '.join(map(str, shape))}), got {x.shape}")
    for name, parameter in (("weight", weight), ("bias", bias)):
        if parameter is not None and (parameter.shape != shape or parameter.dtype != x.dtype):
            raise ValueError(f"layer_norm: {name} must have shape {shape} and dtype {x.dtype} "
                             f"(the input's), got {parameter.shape} {parameter.dtype}")
    return ops.layer_norm(x, weight, bias, len(shape), eps)
