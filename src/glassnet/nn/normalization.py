"""Normalization layers with PyTorch's semantics: :class:`BatchNorm1d`, :class:`BatchNorm2d`
(parameters, running statistics, mode) and :class:`LayerNorm`. The math is in
``glassnet.functional.batch_norm`` and ``glassnet.functional.layer_norm``.
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from .._checks import boolean, float_dtype, non_negative_number, positive_int, probability
from ..functional.normalization import _batch_norm
from ..tensor import Parameter, Tensor, ensure_tensor
from .module import Module, state_array

__all__ = ["BatchNorm1d", "BatchNorm2d", "LayerNorm"]


class _BatchNorm(Module):
    """What BatchNorm1d and BatchNorm2d share; a subclass names the input shapes it accepts
    (``_ndims`` and ``_shapes``, the latter for messages)."""

    _ndims: tuple = ()
    _shapes: str = ""
    keeps_running_stats = True  # so Module.freeze() keeps a frozen BatchNorm in evaluation mode
    _optional_state = ("num_batches_tracked",)  # load_state_dict accepts a state without it, as PyTorch

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, dtype=np.float32) -> None:
        super().__init__()
        self.num_features = positive_int(num_features, "num_features")
        self.eps = non_negative_number(eps, "eps")
        self.momentum = probability(momentum, "momentum", include_one=True, allow_none=True)
        self.affine = boolean(affine, "affine")
        self.track_running_stats = boolean(track_running_stats, "track_running_stats")
        self.dtype = float_dtype(dtype)
        if self.affine:
            self.weight = Parameter(state_array(self.num_features, self.dtype, fill=1))
            self.bias = Parameter(state_array(self.num_features, self.dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if self.track_running_stats:
            self.register_buffer("running_mean", state_array(self.num_features, self.dtype))
            self.register_buffer("running_var", state_array(self.num_features, self.dtype, fill=1))
            self.register_buffer("num_batches_tracked", state_array((), np.int64))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batch tracked (in place)."""
        if self.track_running_stats:
            self.running_mean[...] = 0
            self.running_var[...] = 1
            self.num_batches_tracked[...] = 0

    def reset_parameters(self) -> None:
        """Reset the running statistics, gamma to ones and beta to zeros (in place)."""
        self.reset_running_stats()
        if self.affine:
            self.weight.data[...] = 1
            self.bias.data[...] = 0

    def forward(self, x) -> Tensor:
        x = self._check_input(x)
        # Batch statistics in training, and always when no running statistics are kept.
        use_batch_stats = self.training or not self.track_running_stats
        updating = self.training and self.track_running_stats
        momentum = 0.0
        if updating:
            # momentum None: a cumulative moving average, batch k weighs 1 / k
            momentum = (1.0 / (int(self.num_batches_tracked) + 1) if self.momentum is None
                        else self.momentum)
        # the layer's arguments were checked when it was built: the math without F.batch_norm's checks
        out = _batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                          use_batch_stats, momentum, self.eps)
        if updating:  # counted after batch_norm, so that a rejected batch changes nothing
            self.num_batches_tracked += 1
        return out

    def _check_input(self, x) -> Tensor:
        name = type(self).__name__
        if isinstance(x, Tensor) and x.dtype != self.dtype:
            raise TypeError(
                f"{name} has {self.dtype} parameters but the input is {x.dtype}; "
                "convert one with .astype()"
            )
        x = ensure_tensor(x, dtype=self.dtype)
        if x.ndim not in self._ndims:
            raise ValueError(f"{name} expects an input of shape {self._shapes}, got shape {x.shape}")
        if x.shape[1] != self.num_features:
            raise ValueError(
                f"{name}({self.num_features}) expects {self.num_features} channels on axis 1, "
                f"got {x.shape[1]} (input shape {x.shape})"
            )
        return x

    def get_config(self) -> dict:
        return {"num_features": self.num_features, "eps": self.eps, "momentum": self.momentum,
                "affine": self.affine, "track_running_stats": self.track_running_stats,
                "dtype": self.dtype.name}

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalization over a batch of vectors or sequences (Ioffe & Szegedy, 2015), with
    the semantics of ``torch.nn.BatchNorm1d``.

    In training mode each channel is normalized with the statistics of the batch and the running
    statistics are updated (see ``glassnet.functional.batch_norm``); in evaluation mode the
    running statistics are used, so the output of a sample no longer depends on the rest of the
    batch. A frozen BatchNorm (``Module.freeze``) stays in evaluation mode until unfrozen.

    Parameters
    ----------
    num_features : int
        C, the number of channels (features).
    eps : float
        Added to the variance, so that a constant channel does not divide by zero.
    momentum : float in [0, 1] or None
        Weight of the new batch in the running statistics. None: a cumulative average, the
        weight of batch k being 1 / k.
    affine : bool
        Learn a per-channel scale ``weight`` (gamma, ones at first) and shift ``bias`` (beta,
        zeros at first). False: both are None.
    track_running_stats : bool
        Keep the buffers ``running_mean`` (zeros at first), ``running_var`` (ones) and
        ``num_batches_tracked`` (int64, 0). False: they are None and the batch statistics are used
        in evaluation mode too.
    dtype : float32 or float64
        dtype of the parameters and buffers; inputs are converted to it.

    Shape
    -----
    - input: ``(N, C)`` or ``(N, C, L)``
    - output: the same shape

    Example
    -------
    >>> import numpy as np
    >>> from glassnet import nn
    >>> layer = nn.BatchNorm1d(3)
    >>> x = np.random.default_rng(0).normal(2.0, 5.0, size=(16, 3))
    >>> y = layer(x)
    >>> bool(np.allclose(y.numpy().mean(axis=0), 0, atol=1e-5))
    True
    >>> layer.num_batches_tracked
    array(1)
    >>> layer.eval()(x).shape
    (16, 3)
    """

    _ndims = (2, 3)
    _shapes = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalization of images, with the semantics of ``torch.nn.BatchNorm2d``: each
    channel is normalized with the mean and (biased) variance of that channel over the batch and
    all positions, N * H * W values; the running variance is updated with the unbiased one
    (see ``glassnet.functional.batch_norm``). Arguments and attributes as in :class:`BatchNorm1d`.

    Shape
    -----
    - input: ``(N, C, H, W)``
    - output: the same shape

    Example
    -------
    >>> import numpy as np
    >>> from glassnet import nn
    >>> layer = nn.BatchNorm2d(3)
    >>> x = np.random.default_rng(0).normal(2.0, 5.0, size=(8, 3, 4, 4))
    >>> y = layer(x).numpy()
    >>> bool(np.allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-5))
    True
    >>> bool(np.allclose(layer.running_mean, 0.1 * x.mean(axis=(0, 2, 3))))
    True
    """

    _ndims = (4,)
    _shapes = "(N, C, H, W)"


class LayerNorm(Module):
    """Layer normalization (Ba, Kiros & Hinton, 2016), with the semantics of
    ``torch.nn.LayerNorm``: each sample is normalized over its last axes,

        y = (x - mean) / sqrt(var + eps) * gamma + beta

    with the mean and the biased variance of that sample's ``prod(normalized_shape)`` values (see
    ``glassnet.functional.layer_norm``). No statistic crosses the batch: training and evaluation
    compute the same thing, and a batch of one is fine.

    Parameters
    ----------
    normalized_shape : int or tuple of ints
        The shape of the last axes to normalize over, e.g. the embedding size.
    eps : float
        Added to the variance.
    elementwise_affine : bool
        Learn a scale ``weight`` (gamma, ones at first) and, if ``bias``, a shift ``bias``
        (beta, zeros at first), each of shape ``normalized_shape``. False: both are None.
    bias : bool
        With ``elementwise_affine``, learn the shift too (default).
    dtype : float32 or float64

    Shape
    -----
    - input: ``(*, *normalized_shape)``
    - output: the same shape

    Example
    -------
    >>> import numpy as np
    >>> from glassnet import nn
    >>> layer = nn.LayerNorm(4)
    >>> y = layer(np.random.default_rng(0).normal(3.0, 2.0, size=(2, 5, 4))).numpy()
    >>> bool(np.allclose(y.mean(axis=-1), 0, atol=1e-6)), y.shape
    (True, (2, 5, 4))
    """

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, dtype=np.float32) -> None:
        super().__init__()
        items = (normalized_shape if isinstance(normalized_shape, (tuple, list))
                 else (normalized_shape,))
        self.normalized_shape = tuple(positive_int(n, "normalized_shape") for n in items)
        if not self.normalized_shape:
            raise ValueError("normalized_shape must name at least one axis, got ()")
        self.eps = non_negative_number(eps, "eps")
        self.elementwise_affine = boolean(elementwise_affine, "elementwise_affine")
        bias = boolean(bias, "bias")
        self.dtype = float_dtype(dtype)
        if self.elementwise_affine:
            self.weight = Parameter(state_array(self.normalized_shape, self.dtype, fill=1))
        else:
            self.register_parameter("weight", None)
        if self.elementwise_affine and bias:
            self.bias = Parameter(state_array(self.normalized_shape, self.dtype))
        else:
            self.register_parameter("bias", None)

    def reset_parameters(self) -> None:
        """gamma to ones and beta to zeros (in place)."""
        if self.weight is not None:
            self.weight.data[...] = 1
        if self.bias is not None:
            self.bias.data[...] = 0

    def forward(self, x) -> Tensor:
        if isinstance(x, Tensor) and x.dtype != self.dtype:
            raise TypeError(f"LayerNorm has {self.dtype} parameters but the input is {x.dtype}; "
                            "convert one with .astype()")
        x = ensure_tensor(x, dtype=self.dtype)
        shape = self.normalized_shape
        if x.ndim < len(shape) or x.shape[x.ndim - len(shape):] != shape:
            raise ValueError(f"LayerNorm({shape}) expects input of shape "
                             f"(*, {', '.join(map(str, shape))}), got {x.shape}")
        return F.layer_norm(x, shape, self.weight, self.bias, self.eps)

    def get_config(self) -> dict:
        return {"normalized_shape": self.normalized_shape, "eps": self.eps,
                "elementwise_affine": self.elementwise_affine, "bias": self.bias is not None,
                "dtype": self.dtype.name}

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")
