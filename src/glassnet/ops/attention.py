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

__all__ = ["causal_mask", "mask_bias", "masked_softmax", "self_attention"]


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
    out = _softmax_rows(scaled if bias is None else scaled + bias).astype(x.dtype, copy=False)

    def backward(g):
        grad = out * (g - _row_sum(g * out))
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


def self_attention(qkv: Tensor, num_heads: int, bias: np.ndarray | None, scale: float,
                   dropout_mask: np.ndarray | None = None) -> Tensor:
    """Multi-head self-attention from the packed projections, in one node: what
    ``MultiheadAttention`` computes between ``in_proj`` and ``out_proj`` when it needs no weights.
    Composed of splitting the heads, q k^T, the masked softmax, dropout, the product with v and
    the merging of the heads, it is ten graph nodes, and the three gradients of q, k and v would
    each fill an array as large as ``qkv`` before being summed; here ``dqkv`` is written at once.

    Per head, with P = masked_softmax(q k^T, bias, scale) and the dropout-ed P_d = P * mask:

        out = P_d v
        dv = P_d^T g,   dP = (g v^T) * mask,   dS = scale * P * (dP - sum_j(dP * P))
        dq = dS k,      dk = dS^T q

    Shapes: qkv ``(N, L, 3E)`` = [q | k | v] (each E = num_heads * head_dim features, head h in
    columns h * head_dim ...); bias broadcasts to ``(N, num_heads, L, L)``; dropout_mask
    ``(N, num_heads, L, L)`` (0 or 1 / (1 - p)) or None -> ``(N, L, E)``, the heads side by side.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> qkv = gn.Tensor(np.random.default_rng(0).normal(size=(2, 5, 12)), requires_grad=True)
    >>> out = gn.ops.self_attention(qkv, 2, gn.ops.mask_bias(gn.ops.causal_mask(5, 5), qkv.dtype, "m"), 0.5)
    >>> out.shape
    (2, 5, 4)
    >>> bool(np.allclose(out.numpy()[:, 0], qkv.numpy()[:, 0, 8:]))  # the first query sees itself only
    True
    """
    batch, length, width = qkv.shape
    embed = width // 3
    head_dim = embed // num_heads
    # (N, L, 3, H, D) viewed as (3, N, H, L, D): q, k and v of every head, without copying.
    q, k, v = qkv.data.reshape(batch, length, 3, num_heads, head_dim).transpose(2, 0, 3, 1, 4)
    scores = q @ k.swapaxes(-1, -2)
    scores *= qkv.dtype.type(scale)
    if bias is not None:
        scores += bias
    weights = _softmax_rows(scores)
    dropped = weights if dropout_mask is None else weights * dropout_mask
    out = (dropped @ v).transpose(0, 2, 1, 3).reshape(batch, length, embed)

    def backward(g):
        g = g.reshape(batch, length, num_heads, head_dim).transpose(0, 2, 1, 3)  # (N, H, L, D)
        grad = np.empty((batch, length, 3, num_heads, head_dim), dtype=g.dtype)
        dq, dk, dv = grad.transpose(2, 0, 3, 1, 4)  # views into grad
        dv[...] = dropped.swapaxes(-1, -2) @ g
        d_weights = g @ v.swapaxes(-1, -2)
        if dropout_mask is not None:
            d_weights *= dropout_mask
        d_scores = weights * (d_weights - _row_sum(d_weights * weights))
        d_scores *= g.dtype.type(scale)
        dq[...] = d_scores @ k
        dk[...] = d_scores.swapaxes(-1, -2) @ q
        return grad.reshape(batch, length, width)

    return Tensor._from_op(out, (qkv,), backward, "self_attention")


def _softmax_rows(scores: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, a row that is entirely -inf giving zeros (see masked_softmax)."""
    row_max = _row_max(scores)
    empty = row_max == -np.inf  # every key of the row is masked out
    if empty.any():
        row_max[empty] = 0  # then every e^(s - 0) is e^-inf = 0
    exps = np.exp(scores - row_max)
    sums = _row_sum(exps)
    if empty.any():
        sums[empty] = 1  # 0 / 1: the row stays zero
    exps /= sums
    return exps


# NumPy reduces a short last axis with a loop per row: for 2,048 rows of 8 scores (batch 64,
# 4 heads, 8 positions), .max(axis=-1) takes about 165 us and .sum(axis=-1) 50 us, while a loop
# over the 8 columns takes 25 us and a product with a vector of ones 11 us.
def _row_max(a: np.ndarray) -> np.ndarray:
    """The max over the last axis, keepdims."""
    if not 0 < a.shape[-1] <= 32:
        return a.max(axis=-1, keepdims=True)
    out = a[..., 0].copy()
    for j in range(1, a.shape[-1]):
        np.maximum(out, a[..., j], out=out)
    return out[..., None]


def _row_sum(a: np.ndarray) -> np.ndarray:
    """The sum over the last axis, keepdims."""
    return (a @ np.ones(a.shape[-1], dtype=a.dtype))[..., None]
