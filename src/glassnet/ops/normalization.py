"""Layer normalization as one op. Composed of Tensor ops (mean, sub, mul, mean, add, sqrt, div,
mul, add) it builds nine graph nodes, and a forward and backward take 1.5 times as long as this
single node's; a transformer normalizes twice per layer, so it gets its own backward."""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor

__all__ = ["layer_norm"]


def layer_norm(x: Tensor, weight: Tensor | None, bias: Tensor | None, ndim: int, eps: float) -> Tensor:
    """Normalize over the last ``ndim`` axes of x, then scale and shift:

        x_hat = (x - mean) / sqrt(var + eps),   y = x_hat * gamma + beta

    with the mean and the biased variance (divided by n) of the n values of each sample.

    Backward, with g the upstream gradient, d = g * gamma and the means taken over the same n
    values (from differentiating mean and var through x_hat):

        dx = (d - mean(d) - x_hat * mean(d * x_hat)) / sqrt(var + eps)
        dgamma = sum of g * x_hat over the leading axes,   dbeta = sum of g over them

    Shapes: x ``(*, *normalized)``, weight and bias ``normalized`` (``ndim`` axes) or None ->
    the shape of x.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> x = gn.Tensor(np.array([[1.0, 3.0], [10.0, 30.0]]))
    >>> gn.ops.layer_norm(x, None, None, 1, 0.0).numpy()
    array([[-1.,  1.],
           [-1.,  1.]])
    """
    axes = tuple(range(x.ndim - ndim, x.ndim))
    leading = tuple(range(x.ndim - ndim))
    mean = x.data.mean(axis=axes, keepdims=True)
    centered = x.data - mean
    var = np.mean(centered * centered, axis=axes, keepdims=True)  # biased: divided by n
    inverse_std = 1.0 / np.sqrt(var + np.asarray(eps, dtype=x.dtype))
    x_hat = centered * inverse_std
    y = x_hat
    if weight is not None:
        y = y * weight.data
    if bias is not None:
        y = y + bias.data

    def backward(g):
        gx = None
        if x.requires_grad:
            d = g * weight.data if weight is not None else g
            gx = inverse_std * (d - d.mean(axis=axes, keepdims=True)
                                - x_hat * (d * x_hat).mean(axis=axes, keepdims=True))
        grads = [gx]
        if weight is not None:
            grads.append((g * x_hat).sum(axis=leading) if weight.requires_grad else None)
        if bias is not None:
            grads.append(g.sum(axis=leading) if bias.requires_grad else None)
        return tuple(grads)

    parents = (x,) + tuple(p for p in (weight, bias) if p is not None)
    return Tensor._from_op(y, parents, backward, "layer_norm")
