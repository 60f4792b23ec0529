"""The attention family: the masked softmax that turns attention scores into weights (one node,
its backward right under it), and the turning of boolean, float and causal masks into one
additive bias, which has no gradient.

Mask convention (glassnet's, everywhere): a boolean mask is True where a key is **masked out**
(may not be attended to); a float mask is added to the scores, -inf masking out. This is the
convention of ``torch.nn.MultiheadAttention`` and the opposite of
``torch.nn.functional.scaled_dot_product_attention`` (whose True means "may attend").
"""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor

__all__ = ["causal_mask", "mask_bias", "masked_softmax"]


def masked_softmax(x: Tensor, bias: np.ndarray | None = None, scale: float = 1.0) -> Tensor:
    """Softmax over the last axis of scale * x + bias, where a row with every entry at -inf
    (every key masked out) gives weights of zero instead of NaN.

        s = scale * x + bias,   p_j = e^(s_j - max s) / sum_k e^(s_k - max s)

    A masked entry (bias -inf) gets exactly p_j = 0. In a fully masked row the max is -inf and
    the plain formula gives 0/0; here the row is all zeros, so the attention output there is
    zero and no gradient flows back through it (PyTorch's ``scaled_dot_product_attention`` does
    the same; its ``MultiheadAttention`` returns NaN).

    Backward: the softmax's dp_j/ds_i = p_j (delta_ij - p_i), times ds/dx = scale:
    dx = scale * p * (g - sum(g * p)). A zero row of p gives a zero gradient.

    Shapes: x ``(*, S)``; bias an array that broadcasts to x's shape, or None -> ``(*, S)``.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> scores = gn.Tensor(np.array([[0.0, 0.0, 5.0], [1.0, 2.0, 3.0]]))
    >>> bias = np.array([[0.0, 0.0, -np.inf], [-np.inf, -np.inf, -np.inf]])
    >>> gn.ops.masked_softmax(scores, bias).numpy()
    array([[0.5, 0.5, 0. ],
           [0. , 0. , 0. ]])
    """
    scaled = x.data * x.data.dtype.type(scale) if scale != 1.0 else x.data
    if bias is not None:
        scaled = scaled + bias
    row_max = scaled.max(axis=-1, keepdims=True)
    empty = row_max == -np.inf  # every key of the row is masked out
    if empty.any():
        row_max = np.where(empty, 0, row_max)  # then every e^(s - 0) is e^-inf = 0
    exps = np.exp(scaled - row_max)
    sums = exps.sum(axis=-1, keepdims=True)
    if empty.any():
        sums[empty] = 1  # 0 / 1: the row stays zero
    out = exps / sums
    out = out.astype(x.dtype, copy=False)

    def backward(g):
        grad = out * (g - (g * out).sum(axis=-1, keepdims=True))
        return grad * grad.dtype.type(scale) if scale != 1.0 else grad

    return Tensor._from_op(out, (x,), backward, "masked_softmax")


def causal_mask(query_length: int, key_length: int) -> np.ndarray:
    """Boolean ``(L, S)`` mask, True above the diagonal: query i may attend to keys j <= i only
    (aligned at the top left, as PyTorch's ``is_causal``).

    Example
    -------
    >>> import glassnet as gn
    >>> gn.ops.causal_mask(3, 3).astype(int)
    array([[0, 1, 1],
           [0, 0, 1],
           [0, 0, 0]])
    """
    return np.triu(np.ones((query_length, key_length), dtype=bool), k=1)


def mask_bias(mask, dtype, name: str) -> np.ndarray:
    """An attention mask as an additive bias of ``dtype``: a boolean mask becomes -inf where True
    (masked out) and 0 elsewhere; a float mask is used as it is (cast to ``dtype``). Integer
    masks are refused: whether 1 means "keep" or "mask" is ambiguous."""
    if isinstance(mask, Tensor):
        mask = mask.data
    mask = np.asarray(mask)
    if mask.dtype == bool:
        return np.where(mask, dtype.type(-np.inf), dtype.type(0))
    if mask.dtype.kind != "f":
        raise TypeError(
            f"{name} must be a boolean array (True = masked out) or a float array (added to the "
            f"scores, -inf masks out), got dtype {mask.dtype}; for 0/1 integers use mask.astype(bool)"
        )
    return mask.astype(dtype, copy=False)
