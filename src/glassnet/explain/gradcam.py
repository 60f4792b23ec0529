"""Grad-CAM (Selvaraju et al., 2017), Captum's ``LayerGradCam``: where in a convolutional layer's
feature maps the evidence for a class lies.

For the layer's output A (N, C, *spatial) and the target's score y:

    alpha[n, c] = mean over the spatial positions of dy/dA[n, c, ...]     (the channel weights)
    map[n]      = sum_c alpha[n, c] A[n, c, ...]                          (N, 1, *spatial)

optionally passed through a ReLU (the paper keeps only the evidence for the class). The map has
the layer's resolution; :func:`interpolate` brings it to the input's.
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from .._checks import boolean
from ..autograd import grad, no_grad
from ..nn import Module
from ..tensor import Tensor
from ._common import Attribution, _grad_enabled, _select, evaluating, forward, model_dtype, prepare

__all__ = ["LayerGradCam", "interpolate"]


class LayerGradCam(Attribution):
    """Grad-CAM of ``layer`` for ``forward_func`` (a glassnet Module or a function Tensor ->
    scores); ``layer`` must be a sub-module of the model (and is called once per forward pass).

    Example
    -------
    >>> import numpy as np
    >>> from glassnet import nn
    >>> from glassnet.explain import LayerGradCam, interpolate
    >>> model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, rng=0), nn.ReLU(), nn.Flatten(),
    ...                       nn.Linear(4 * 6 * 6, 3, rng=0))
    >>> x = np.random.default_rng(0).normal(size=(2, 1, 6, 6)).astype(np.float32)
    >>> cam = LayerGradCam(model, model[1]).attribute(x, target=2, relu_attributions=True)
    >>> cam.shape, bool((cam >= 0).all()), interpolate(cam, (12, 12)).shape
    ((2, 1, 6, 6), True, (2, 1, 12, 12))
    """

    def __init__(self, forward_func, layer: Module) -> None:
        super().__init__(forward_func)
        if not isinstance(layer, Module):
            raise TypeError(f"layer must be a glassnet Module (a sub-module of the model), got "
                            f"{type(layer).__name__}")
        if isinstance(forward_func, Module) and not any(m is layer for m in forward_func.modules()):
            raise ValueError(f"layer {type(layer).__name__} is not a sub-module of the model "
                             f"({type(forward_func).__name__}); pick one from model.named_modules()")
        self.layer = layer

    def attribute(self, inputs, target=None, additional_forward_args=None, attribute_to_layer_input: bool = False,
                  relu_attributions: bool = False, attr_dim_summation: bool = True) -> np.ndarray:
        """The Grad-CAM maps, ``(N, 1, *spatial)`` at the layer's resolution (``(N, C, *spatial)``
        with ``attr_dim_summation=False``: each channel's alpha A before the sum).

        ``attribute_to_layer_input``: use the layer's (first) input instead of its output.
        ``relu_attributions``: keep only the positive part. A layer output of shape (N, C)
        (no spatial axes) is used as it is: the map is sum_c dy/dA[n, c] A[n, c], shape (N, 1).
        Returns an array in the inputs' float dtype.
        """
        to_input = boolean(attribute_to_layer_input, "attribute_to_layer_input")
        relu = boolean(relu_attributions, "relu_attributions")
        summation = boolean(attr_dim_summation, "attr_dim_summation")
        x, target, args = prepare(self.forward_func, inputs, target, additional_forward_args)
        seen: list[Tensor] = []

        def capture(value) -> Tensor:
            # A fresh leaf with the same values: the gradient stops there, and the layer's place in
            # the graph no longer matters (a first layer's input needs no gradient of its own).
            if not isinstance(value, Tensor) and not isinstance(value, np.ndarray):
                raise TypeError(f"LayerGradCam needs a layer whose {'input' if to_input else 'output'} is one "
                                f"Tensor; {type(self.layer).__name__} gives a {type(value).__name__}")
            leaf = Tensor(value.data if isinstance(value, Tensor) else value, requires_grad=True)
            seen.append(leaf)
            return leaf

        if to_input:
            handle = self.layer.register_forward_pre_hook(lambda m, args: (capture(args[0]),) + tuple(args[1:]))
        else:
            handle = self.layer.register_forward_hook(lambda m, args, output: capture(output))
        try:
            with evaluating(self.forward_func), _grad_enabled():
                rows = Tensor(x.astype(model_dtype(self.forward_func, x.dtype)))
                total = _select(forward(self.forward_func, rows, args.args), target).sum()
        finally:
            handle.remove()
        if len(seen) != 1:
            raise ValueError(f"layer {type(self.layer).__name__} was called {len(seen)} times in one forward pass; "
                             f"LayerGradCam needs a layer the model calls exactly once")
        activation = seen[0]
        # Examples are independent in eval mode: the gradient of the summed scores is each one's own.
        (gradient,) = grad(total, activation)
        weights = gradient.mean(axis=tuple(range(2, gradient.ndim)), keepdims=True) if gradient.ndim > 2 else gradient
        maps = weights * activation.data
        if summation:
            maps = maps.sum(axis=1, keepdims=True)
        if relu:
            maps = np.maximum(maps, 0)
        return maps.astype(x.dtype, copy=False)


def interpolate(layer_attribution, size, mode: str = "bilinear") -> np.ndarray:
    """Resize a layer attribution ``(N, C, H', W')`` to ``size`` = (H, W) (e.g.
    ``inputs.shape[2:]``), Captum's ``LayerAttribution.interpolate``: PyTorch's
    ``F.interpolate(..., align_corners=False)``, modes "bilinear" (for ``(N, C, L')``: linear)
    and "nearest". Returns an array of the attribution's float dtype.

    Example
    -------
    >>> import numpy as np
    >>> from glassnet.explain import interpolate
    >>> interpolate(np.array([[[[0.0, 4.0]]]]), (1, 4))
    array([[[[0., 1., 3., 4.]]]])
    """
    values = np.asarray(layer_attribution.data if isinstance(layer_attribution, Tensor) else layer_attribution)
    if values.ndim not in (3, 4):
        raise ValueError(f"layer_attribution must have shape (N, C, L) or (N, C, H, W), got {values.shape}")
    if mode not in ("bilinear", "nearest", "linear"):
        raise ValueError(f"mode must be 'bilinear' or 'nearest', got {mode!r}")
    if mode != "nearest":
        mode = "bilinear" if values.ndim == 4 else "linear"
    with no_grad():
        return F.interpolate(Tensor(values), size=size, mode=mode).data
