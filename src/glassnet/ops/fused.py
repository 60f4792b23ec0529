"""Fused ops: compositions that get their own backward because the composed form would be slow or
numerically unsafe (softmax, log-softmax, the cross-entropies, the linear layer, the L1/L2
penalties over many tensors)."""

from __future__ import annotations

import math

import numpy as np

from ..tensor import Tensor
from .elementwise import _sigmoid_values, _softplus_values
from .linalg import product
from .shape import check_axis


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """z = x @ W + b, the course's z = W^T x + b for a batch of row vectors, in one node.

    Shapes: x ``(..., in)``, W ``(in, out)``, b ``(out,)`` -> z ``(..., out)``.
    Backward: dx = g @ W^T, dW = x^T @ g (summed over all leading axes; :func:`~glassnet.ops.linalg.product`,
    fast for a batch of one), db = sum of g.

    Example
    -------
    >>> import numpy as np
    >>> from glassnet import Tensor, ops
    >>> x = Tensor(np.array([[1.0, 2.0, 3.0]]))
    >>> W = Tensor(np.ones((3, 2)), requires_grad=True)
    >>> z = ops.linear(x, W, Tensor(np.array([0.5, -0.5])))  # (1, 3) -> (1, 2)
    >>> z.data
    array([[6.5, 5.5]])
    >>> z.sum().backward()
    >>> W.grad  # x^T @ g
    array([[1., 1.],
           [2., 2.],
           [3., 3.]])
    """
    if x.ndim == 0:
        raise ValueError("linear: the input must have a feature axis, got a scalar (shape ())")
    if x.shape[-1] != weight.shape[0]:
        raise ValueError(
            f"linear: input has {x.shape[-1]} features (shape {x.shape}) but the weight "
            f"expects {weight.shape[0]} (weight shape {weight.shape})"
        )
    if x.dtype != weight.dtype:
        raise TypeError(f"linear: input dtype {x.dtype} differs from weight dtype {weight.dtype}")
    out = x.data @ weight.data
    if bias is not None:
        out += bias.data

    rows = math.prod(x.shape[:-1])

    def backward(g):
        g2 = g.reshape(rows, g.shape[-1])  # rows, not -1: a feature axis may have length 0
        gx = (g @ weight.data.T) if x.requires_grad else None
        gw = product(x.data.reshape(rows, x.shape[-1]).T, g2) if weight.requires_grad else None
        if bias is None:
            return gx, gw
        return gx, gw, (g2.sum(axis=0) if bias.requires_grad else None)

    parents = (x, weight) if bias is None else (x, weight, bias)
    return Tensor._from_op(out, parents, backward, "linear")


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    """s_i = e^(x_i) / sum_j e^(x_j) along ``axis`` (shifted by the max: no overflow).
    Backward: ds_i/dx_j = s_i (delta_ij - s_j), so dx = s * (g - sum(g * s)).

    Example
    -------
    >>> import numpy as np
    >>> from glassnet import Tensor, ops
    >>> ops.softmax(Tensor(np.array([[0.0, 0.0], [0.0, 1000.0]]))).data  # e^1000 would overflow
    array([[0.5, 0.5],
           [0. , 1. ]])
    """
    axis = check_axis(axis, x.ndim, "softmax")
    shifted = x.data - x.data.max(axis=axis, keepdims=True, initial=-np.inf)
    exps = np.exp(shifted)
    out = exps / exps.sum(axis=axis, keepdims=True)

    def backward(g):
        return out * (g - (g * out).sum(axis=axis, keepdims=True))

    return Tensor._from_op(out, (x,), backward, "softmax")


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    """log s_i = x_i - max - log(sum_j e^(x_j - max)). Backward: dx = g - s * sum(g)."""
    axis = check_axis(axis, x.ndim, "log_softmax")
    shifted = x.data - x.data.max(axis=axis, keepdims=True, initial=-np.inf)
    out = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))

    def backward(g):
        return g - np.exp(out) * g.sum(axis=axis, keepdims=True)

    return Tensor._from_op(out, (x,), backward, "log_softmax")


def softmax_cross_entropy(logits: Tensor, labels, probs, sample_weight, reduction: str) -> Tensor:
    """Cross-entropy of softmax(logits) against integer ``labels`` (shape ``(batch,)``) or
    probability rows ``probs`` (shape of the logits); exactly one of the two is given.

    Per sample: L_i = -sum_k t_ik log s_ik, with log s from a max-shifted log-sum-exp
    (t_i is the one-hot row of the label, so L_i = -log s_i,label).
    Backward: dL_i/dz_i = s_i sum_k t_ik - t_i, which is s_i - t_i for targets that sum to 1.
    ``sample_weight`` (per sample, or None) scales each L_i; the "mean" reduction divides by the
    sum of the weights (PyTorch's rule for class weights).
    """
    batch = logits.data.shape[0]
    shifted = logits.data - logits.data.max(axis=1, keepdims=True)
    exps = np.exp(shifted)
    sums = exps.sum(axis=1, keepdims=True)
    log_probs = shifted - np.log(sums)
    rows = np.arange(batch)
    if labels is not None:
        per_sample = -log_probs[rows, labels]
    else:
        per_sample = -(probs * log_probs).sum(axis=1)
    if sample_weight is not None:
        per_sample = per_sample * sample_weight
    if reduction == "none":
        out, scale = per_sample, None
    else:
        denominator = 1.0
        if reduction == "mean":
            denominator = sample_weight.sum() if sample_weight is not None else batch
        out, scale = per_sample.sum() / denominator, 1.0 / denominator

    def backward(g):
        # g is a scalar for "mean"/"sum", one value per sample for "none".
        row = g * scale if scale is not None else g
        if sample_weight is not None:
            row = row * sample_weight
        grad = exps / sums
        if labels is not None:
            grad[rows, labels] -= 1
        else:
            grad = grad * probs.sum(axis=1, keepdims=True) - probs
        row = np.asarray(row, dtype=grad.dtype)
        return grad * (row[:, None] if row.ndim else row)

    out = np.asarray(out, dtype=logits.data.dtype)
    return Tensor._from_op(out, (logits,), backward, "cross_entropy")


def binary_cross_entropy(probs: Tensor, targets: np.ndarray) -> Tensor:
    """Element-wise -(y log p + (1-y) log(1-p)), with each log clamped at -100 (PyTorch's rule)
    so that p = 0 or 1 gives a finite loss. Backward: (p - y) / max(p (1 - p), 1e-12)."""
    p = probs.data
    with np.errstate(divide="ignore"):
        log_p = np.maximum(np.log(p), -100)
        log_q = np.maximum(np.log1p(-p), -100)
    out = -(targets * log_p + (1 - targets) * log_q)

    def backward(g):
        return g * (p - targets) / np.maximum(p * (1 - p), 1e-12)

    return Tensor._from_op(out.astype(p.dtype, copy=False), (probs,), backward, "binary_cross_entropy")


def binary_cross_entropy_with_logits(logits: Tensor, targets: np.ndarray) -> Tensor:
    """Element-wise BCE of sigmoid(x) against y, written so that no exp overflows:
    max(x, 0) - x y + log(1 + e^-|x|). Backward: sigmoid(x) - y."""
    x = logits.data
    out = _softplus_values(x) - x * targets  # softplus(x) = max(x, 0) + log(1 + e^-|x|)

    def backward(g):
        return g * (_sigmoid_values(x) - targets)

    return Tensor._from_op(out.astype(x.dtype, copy=False), (logits,), backward, "bce_with_logits")


def _penalty(tensors: tuple, strength: float, term, gradient, name: str) -> Tensor:
    """``strength * sum_t term(t)`` over ``tensors``, one node. Backward: each tensor's
    ``gradient(t, g * strength)``. (Composed from abs/multiply/sum it would be three nodes per
    tensor, at every training step.)"""
    dtypes = {tensor.dtype for tensor in tensors}
    if len(dtypes) > 1:
        raise TypeError(f"{name}: the tensors have dtypes {sorted(map(str, dtypes))}; glassnet never "
                        "upcasts silently: penalize tensors of one dtype at a time")
    value = strength * sum(float(term(tensor.data)) for tensor in tensors)

    def backward(g):
        coefficient = float(g) * strength
        return tuple(gradient(tensor.data, coefficient) if tensor.requires_grad else None
                     for tensor in tensors)

    return Tensor._from_op(np.asarray(value, dtype=dtypes.pop()), tensors, backward, name)


def l1_penalty(tensors: tuple, strength: float) -> Tensor:
    """strength * sum |w| over every entry of every tensor. Backward: strength * sign(w) * g
    (0 at w = 0, as in PyTorch).

    >>> import numpy as np, glassnet as gn
    >>> w = gn.Tensor(np.array([1.0, -2.0]), requires_grad=True)
    >>> penalty = gn.ops.l1_penalty((w,), 0.5)
    >>> penalty.backward()
    >>> penalty.item(), w.grad
    (1.5, array([ 0.5, -0.5]))
    """
    return _penalty(tensors, strength, lambda w: np.abs(w).sum(),
                    lambda w, coefficient: coefficient * np.sign(w), "l1_penalty")


def l2_penalty(tensors: tuple, strength: float) -> Tensor:
    """strength * sum w^2 over every entry of every tensor. Backward: 2 strength w g.

    >>> import numpy as np, glassnet as gn
    >>> w = gn.Tensor(np.array([1.0, -2.0]), requires_grad=True)
    >>> penalty = gn.ops.l2_penalty((w,), 0.5)
    >>> penalty.backward()
    >>> penalty.item(), w.grad
    (2.5, array([ 1., -2.]))
    """
    return _penalty(tensors, strength, lambda w: np.dot(w.ravel(), w.ravel()),
                    lambda w, coefficient: (2.0 * coefficient) * w, "l2_penalty")
