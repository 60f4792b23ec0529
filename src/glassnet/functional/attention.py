"""Attention and positional encoding. The masked softmax (with its backward) and the mask
helpers are in ``glassnet.ops.attention``."""

from __future__ import annotations

import math

import numpy as np

from .. import ops
from .._checks import float_dtype, positive_int, probability
from ..tensor import ensure_tensor
from .core import dropout

__all__ = ["attention_bias", "scaled_dot_product_attention", "sinusoidal_positional_encoding"]


def scaled_dot_product_attention(query, key, value, attn_mask=None, key_padding_mask=None,
                                 is_causal: bool = False, dropout_p: float = 0.0,
                                 training: bool = True, rng=None, scale=None,
                                 need_weights: bool = False):
    """Attention (Vaswani et al., 2017): each query takes the average of the values, weighted by
    how well it matches each key,

        weights = softmax(q k^T / sqrt(d_k) + mask),   output = dropout(weights) v

    with the softmax over the keys (the last axis).

    Masks follow ``torch.nn.MultiheadAttention``: a **boolean mask is True where a key is masked
    out**; a float mask is added to the scores (-inf masks out). This is the opposite of the
    boolean ``attn_mask`` of ``torch.nn.functional.scaled_dot_product_attention``, where True
    means "may attend": invert such a mask (``~mask``) when porting code. Masks are constants (no
    gradient flows into a float mask). A query whose keys are
    all masked out gets weights of zero and an output of zero (no NaN), and no gradient flows
    back through it; PyTorch's ``scaled_dot_product_attention`` does the same, its
    ``MultiheadAttention`` gives NaN.

    Parameters
    ----------
    query, key, value : Tensor or array
        The leading (batch, head) axes broadcast against each other, as in ``matmul``.
    attn_mask : bool or float array, optional
        Broadcastable to the scores' shape ``(..., L, S)``, typically ``(L, S)``.
    key_padding_mask : bool or float array, optional
        ``(N, S)`` (``(S,)`` for a 2-D query): True marks keys that are padding, for every query
        (and head) of that sequence. N is the first axis of the scores.
    is_causal : bool
        Mask out the future: query i attends to keys j <= i only (combined with the masks above).
    dropout_p : float in [0, 1]
        Dropout on the weights, applied when ``training`` (inverted: kept weights are scaled by
        1 / (1 - p)).
    training : bool
    rng : int, numpy.random.Generator or None
        Randomness of the dropout.
    scale : float, optional
        Multiplies q k^T; default 1 / sqrt(d_k), d_k = query.shape[-1].
    need_weights : bool
        Also return the weights (after dropout, as PyTorch's ``MultiheadAttention`` does).

    Returns
    -------
    output : Tensor, or (output, weights) with ``need_weights``

    Shape
    -----
    - query ``(..., L, E)``, key ``(..., S, E)``, value ``(..., S, E_v)``
    - output ``(..., L, E_v)``, weights ``(..., L, S)``

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> from glassnet import functional as F
    >>> q = k = v = gn.Tensor(np.eye(3))
    >>> out, weights = F.scaled_dot_product_attention(q, k, v, is_causal=True, need_weights=True)
    >>> weights.numpy().round(2)
    array([[1.  , 0.  , 0.  ],
           [0.36, 0.64, 0.  ],
           [0.26, 0.26, 0.47]])
    """
    dropout_p = probability(dropout_p, "dropout_p", include_one=True)
    query, key, value, batch = _attention_inputs(query, key, value)
    scores_shape = batch + (query.shape[-2], key.shape[-2])
    bias = attention_bias(scores_shape, query.dtype, attn_mask, key_padding_mask, is_causal)
    if scale is None:
        scale = 1.0 / math.sqrt(query.shape[-1])
    weights = ops.masked_softmax(query @ ops.swapaxes(key, -1, -2), bias, scale)
    if training and dropout_p != 0.0:
        weights = dropout(weights, dropout_p, training=True, rng=rng)
    output = weights @ value
    return (output, weights) if need_weights else output


def _attention_inputs(query, key, value) -> tuple:
    """query, key and value as Tensors of query's dtype, checked against each other, and the
    broadcast shape of their leading (batch, head) axes."""
    query = ensure_tensor(query)
    key, value = ensure_tensor(key, dtype=query.dtype), ensure_tensor(value, dtype=query.dtype)
    for name, tensor in (("query", query), ("key", key), ("value", value)):
        if tensor.ndim < 2:
            raise ValueError(f"scaled_dot_product_attention: {name} must have 2 or more dimensions "
                             f"(..., sequence, features), got shape {tensor.shape}")
        if tensor.dtype != query.dtype:
            raise TypeError(f"scaled_dot_product_attention: {name} is {tensor.dtype} but query is "
                            f"{query.dtype}; convert one with .astype()")
    if key.shape[-1] != query.shape[-1]:
        raise ValueError(f"scaled_dot_product_attention: key must have query's {query.shape[-1]} "
                         f"features, got key shape {key.shape} and query shape {query.shape}")
    if key.shape[-2] == 0:
        raise ValueError(f"scaled_dot_product_attention: key must hold at least one position "
                         f"(S >= 1) to attend to, got key shape {key.shape}")
    if value.shape[-2] != key.shape[-2]:
        raise ValueError(f"scaled_dot_product_attention: value must have one row per key "
                         f"({key.shape[-2]}), got value shape {value.shape} and key shape {key.shape}")
    try:
        batch = np.broadcast_shapes(query.shape[:-2], key.shape[:-2], value.shape[:-2])
    except ValueError:
        raise ValueError(f"scaled_dot_product_attention: the leading axes of query {query.shape}, "
                         f"key {key.shape} and value {value.shape} do not broadcast") from None
    return query, key, value, batch


def attention_bias(scores_shape: tuple, dtype, attn_mask=None, key_padding_mask=None,
                   is_causal: bool = False):
    """The masks of :func:`scaled_dot_product_attention` as one additive float array (0 where a
    key may be attended, -inf where it is masked out, or a float mask's values) that broadcasts to
    ``scores_shape`` ``(..., L, S)``; None when there is no mask. Checks each mask's shape."""
    length, keys = scores_shape[-2:]
    biases = []
    if attn_mask is not None:
        bias = ops.mask_bias(attn_mask, np.dtype(dtype), "attn_mask")
        try:
            fits = bias.ndim >= 2 and np.broadcast_shapes(bias.shape, scores_shape) == tuple(scores_shape)
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(f"attn_mask must broadcast to the scores' shape {tuple(scores_shape)} "
                             f"(..., L={length}, S={keys}), e.g. ({length}, {keys}); got shape {bias.shape}")
        biases.append(bias)
    if key_padding_mask is not None:
        bias = ops.mask_bias(key_padding_mask, np.dtype(dtype), "key_padding_mask")
        expected = (keys,) if len(scores_shape) == 2 else (scores_shape[0], keys)
        if bias.shape != expected:
            raise ValueError(f"key_padding_mask must have shape {expected} ((batch, S) for batched "
                             f"input, (S,) unbatched), got {bias.shape}")
        # (N, S) -> (N, 1, ..., 1, S): the same keys are masked for every head and query.
        biases.append(bias.reshape(bias.shape[:-1] + (1,) * (len(scores_shape) - 2) + (keys,)))
    if is_causal:
        biases.append(ops.mask_bias(ops.causal_mask(length, keys), np.dtype(dtype), "is_causal"))
    if not biases:
        return None
    total = biases[0]
    for bias in biases[1:]:
        total = total + bias
    return total


def sinusoidal_positional_encoding(length: int, d_model: int, dtype=np.float32) -> np.ndarray:
    """The fixed positional encoding of Vaswani et al. (2017), one row per position:

        PE[pos, 2i] = sin(pos / 10000^(2i / d_model)),   PE[pos, 2i + 1] = cos(pos / 10000^(2i / d_model))

    Each pair of columns is a sinusoid of its own wavelength, from 2 pi to 10000 * 2 pi, so that
    PE[pos + k] is a linear function of PE[pos]. Computed in float64, returned in ``dtype``. An
    odd ``d_model`` is allowed: the last column is a sine.

    Shapes: -> ``(length, d_model)``.

    Example
    -------
    >>> from glassnet import functional as F
    >>> F.sinusoidal_positional_encoding(3, 4).round(3)
    array([[ 0.   ,  1.   ,  0.   ,  1.   ],
           [ 0.841,  0.54 ,  0.01 ,  1.   ],
           [ 0.909, -0.416,  0.02 ,  1.   ]], dtype=float32)
    """
    length, d_model = positive_int(length, "length"), positive_int(d_model, "d_model")
    dtype = float_dtype(dtype)
    position = np.arange(length, dtype=np.float64)[:, None]
    # 1 / 10000^(2i / d), as exp(-2i log(10000) / d)
    frequencies = np.exp(np.arange(0, d_model, 2, dtype=np.float64) * (-math.log(10000.0) / d_model))
    encoding = np.empty((length, d_model))
    encoding[:, 0::2] = np.sin(position * frequencies)
    encoding[:, 1::2] = np.cos(position * frequencies[: d_model // 2])
    return encoding.astype(dtype)
