"""Multi-head attention. The math is in ``glassnet.functional.scaled_dot_product_attention`` (its
masked softmax, with its backward, in ``glassnet.ops.attention``); the module holds the
parameters and moves the heads around. The transformer layers built on it are in
``glassnet.nn.transformer``.

Masks follow ``torch.nn.MultiheadAttention``: a boolean mask is True where a key is masked out,
a float mask is added to the scores. A query whose keys are all masked out attends to nothing:
its weights are zero (PyTorch's MultiheadAttention gives NaN there).
"""

from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from .. import init, ops
from .._checks import boolean, float_dtype, positive_int, probability
from ..random import get_rng
from ..tensor import Parameter, Tensor, ensure_tensor
from .linear import Linear
from .module import Module, state_array

__all__ = ["MultiheadAttention"]


def _as_input(x, dtype, owner: str, name: str) -> Tensor:
    """``x`` as a Tensor of the layer's dtype; a Tensor of another dtype is an error."""
    if isinstance(x, Tensor) and x.dtype != dtype:
        raise TypeError(f"{owner} has {dtype} parameters but {name} is {x.dtype}; convert one with .astype()")
    return ensure_tensor(x, dtype=dtype)


class MultiheadAttention(Module):
    """Multi-head attention (Vaswani et al., 2017), with the semantics of
    ``torch.nn.MultiheadAttention``: the query, key and value are projected, split into
    ``num_heads`` heads of ``embed_dim // num_heads`` features, each head attends on its own,

        head_h = softmax(q_h k_h^T / sqrt(head_dim) + mask) v_h

    and the heads are concatenated and projected by ``out_proj``. In self-attention (``query``,
    ``key`` and ``value`` the same object) the three projections are one matrix product with
    ``in_proj_weight``, and when no weights are asked (``need_weights=False``, as the transformer
    encoder asks) everything between that product and ``out_proj`` is one fused op,
    ``glassnet.ops.self_attention``, with the same numbers.

    Parameters
    ----------
    embed_dim : int
        E, the features of the query and of the output.
    num_heads : int
        Must divide ``embed_dim``.
    dropout : float in [0, 1)
        Dropout on the attention weights, in training mode.
    bias : bool
        Learn ``in_proj_bias`` and ``out_proj.bias``.
    kdim, vdim : int, optional
        Features of the key and of the value (default ``embed_dim``). When either differs from
        ``embed_dim``, the projections are three weights (``q_proj_weight``, ``k_proj_weight``,
        ``v_proj_weight``) and ``in_proj_weight`` is None, as in PyTorch.
    batch_first : bool
        True (our default; PyTorch's is False): inputs and output are ``(N, L, E)``. False:
        ``(L, N, E)``.
    dtype : float32 or float64
    rng : int, numpy.random.Generator or None
        Randomness of the initialization and then of the dropout masks.

    Attributes
    ----------
    in_proj_weight : Parameter ``(E, 3E)`` or None
        [W_q | W_k | W_v] side by side; PyTorch's is the transpose, ``(3E, E)``. Xavier uniform.
    q_proj_weight, k_proj_weight, v_proj_weight : Parameter ``(E, E)``, ``(kdim, E)``, ``(vdim, E)`` or None
    in_proj_bias : Parameter ``(3E,)`` or None (zeros at first)
    out_proj : Linear(E, E), weight ``(E, E)`` (PyTorch's transposed), U(-1/sqrt(E), 1/sqrt(E))
        and a zero bias, as PyTorch initializes it

    Not supported: PyTorch's ``add_bias_kv`` and ``add_zero_attn``.

    Shape
    -----
    - query ``(N, L, E)``, key ``(N, S, kdim)``, value ``(N, S, vdim)`` (batch_first); or
      ``(L, E)``, ``(S, kdim)``, ``(S, vdim)`` unbatched
    - key_padding_mask ``(N, S)`` (``(S,)`` unbatched), True (or -inf) for padding keys
    - attn_mask ``(L, S)`` or ``(N * num_heads, L, S)``, True (or -inf) where masked out
    - output ``(N, L, E)``; weights ``(N, L, S)`` averaged over heads, or
      ``(N, num_heads, L, S)`` with ``average_attn_weights=False`` (no N axis unbatched)

    Example
    -------
    >>> import numpy as np
    >>> from glassnet import nn
    >>> attention = nn.MultiheadAttention(8, num_heads=2, rng=0)
    >>> x = np.random.default_rng(0).normal(size=(4, 5, 8))
    >>> padding = np.zeros((4, 5), dtype=bool); padding[:, 3:] = True   # the last 2 are padding
    >>> out, weights = attention(x, x, x, key_padding_mask=padding)
    >>> out.shape, weights.shape
    ((4, 5, 8), (4, 5, 5))
    >>> float(weights.numpy()[:, :, 3:].max()), bool(np.allclose(weights.numpy().sum(-1), 1))
    (0.0, True)
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 kdim: int | None = None, vdim: int | None = None, batch_first: bool = True,
                 dtype=np.float32, rng=None) -> None:
        super().__init__()
        self.embed_dim = positive_int(embed_dim, "embed_dim")
        self.num_heads = positive_int(num_heads, "num_heads")
        if self.embed_dim % self.num_heads:
            raise ValueError(f"embed_dim ({embed_dim}) must be divisible by num_heads ({num_heads})")
        self.head_dim = self.embed_dim // self.num_heads
        self.kdim = self.embed_dim if kdim is None else positive_int(kdim, "kdim")
        self.vdim = self.embed_dim if vdim is None else positive_int(vdim, "vdim")
        self.dropout = probability(dropout, "dropout")
        self.batch_first = boolean(batch_first, "batch_first")
        self.dtype = float_dtype(dtype)
        self.rng = None if rng is None else get_rng(rng)  # resolved once: masks differ per call
        self._qkv_same_embed_dim = self.kdim == self.embed_dim and self.vdim == self.embed_dim
        E = self.embed_dim
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(state_array((E, 3 * E), self.dtype))
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.register_parameter("in_proj_weight", None)
            self.q_proj_weight = Parameter(state_array((E, E), self.dtype))
            self.k_proj_weight = Parameter(state_array((self.kdim, E), self.dtype))
            self.v_proj_weight = Parameter(state_array((self.vdim, E), self.dtype))
        if boolean(bias, "bias"):
            self.in_proj_bias = Parameter(state_array(3 * E, self.dtype))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(E, E, bias=bias, dtype=self.dtype)
        self.reset_parameters(self.rng)

    def reset_parameters(self, rng=None) -> None:
        """PyTorch's initialization, in place: Xavier uniform projections, zero biases, and
        U(-1/sqrt(E), 1/sqrt(E)) for ``out_proj.weight``."""
        generator = get_rng(rng)
        for name in ("in_proj_weight", "q_proj_weight", "k_proj_weight", "v_proj_weight"):
            weight = getattr(self, name)
            if weight is not None:
                weight.data[...] = init.xavier_uniform(weight.shape, dtype=self.dtype, rng=generator)
        bound = 1.0 / math.sqrt(self.embed_dim)
        self.out_proj.weight.data[...] = generator.uniform(-bound, bound, self.out_proj.weight.shape)
        for bias in (self.in_proj_bias, self.out_proj.bias):
            if bias is not None:
                bias.data[...] = 0

    def forward(self, query, key, value, key_padding_mask=None, need_weights: bool = True,
                attn_mask=None, average_attn_weights: bool = True, is_causal: bool = False):
        """Attend from ``query`` to ``key``/``value``; returns ``(output, weights)``, weights None
        unless ``need_weights``. The weights are those of the dropout-ed softmax that multiplied
        the values, as in PyTorch. ``is_causal=True`` applies the causal mask itself (query i sees
        keys j <= i), combined with ``attn_mask`` if given; in PyTorch it is only a hint that
        ``attn_mask`` is causal."""
        self_attention = query is key and key is value
        same_key_value = key is value
        query = _as_input(query, self.dtype, "MultiheadAttention", "query")
        key = query if self_attention else _as_input(key, self.dtype, "MultiheadAttention", "key")
        value = key if same_key_value else _as_input(value, self.dtype, "MultiheadAttention", "value")
        batched = self._check_inputs(query, key, value)
        if not batched:  # one sequence: add a batch axis of 1
            query, key, value = (t.reshape((1,) + t.shape) for t in (query, key, value))
            if key_padding_mask is not None:
                key_padding_mask = self._unbatched_padding(key_padding_mask, key.shape[1])
        elif not self.batch_first:  # (L, N, E) -> (N, L, E)
            query = ops.swapaxes(query, 0, 1)
            key = query if self_attention else ops.swapaxes(key, 0, 1)
            value = key if same_key_value else ops.swapaxes(value, 0, 1)
        batch, length, keys = query.shape[0], query.shape[1], key.shape[1]
        mask = None if attn_mask is None else self._head_mask(attn_mask, batch, length, keys)
        if self_attention and self.in_proj_weight is not None and not need_weights:
            out = self._fused_self_attention(query, mask, key_padding_mask, is_causal)
        else:
            q, k, v = self._project(query, key, value, self_attention, same_key_value)
            out, weights = F.scaled_dot_product_attention(
                q, k, v, attn_mask=mask, key_padding_mask=key_padding_mask, is_causal=is_causal,
                dropout_p=self.dropout, training=self.training, rng=self.rng, need_weights=True)
            # (N, H, L, D) -> (N, L, H, D) -> (N, L, E): the heads side by side.
            out = out.transpose(0, 2, 1, 3).reshape(batch, length, self.embed_dim)
        out = self.out_proj(out)
        if not batched:
            out = out.reshape(out.shape[1:])
        elif not self.batch_first:
            out = ops.swapaxes(out, 0, 1)
        if not need_weights:
            return out, None
        if average_attn_weights:
            weights = weights.mean(axis=1)
        return out, (weights if batched else weights.reshape(weights.shape[1:]))

    def _fused_self_attention(self, x, mask, key_padding_mask, is_causal) -> Tensor:
        """The heads' outputs side by side, ``(N, L, E)``, by ``ops.self_attention``: the same
        numbers as the composed path, in one graph node (the transformer encoder's case)."""
        batch, length = x.shape[:2]
        scores_shape = (batch, self.num_heads, length, length)
        bias = F.attention_bias(scores_shape, self.dtype, mask, key_padding_mask, is_causal)
        dropout_mask = None
        if self.training and self.dropout > 0:  # drawn as F.dropout draws its mask
            keep = get_rng(self.rng).random(scores_shape) >= self.dropout
            dropout_mask = keep * self.dtype.type(1.0 / (1.0 - self.dropout))
        qkv = F.linear(x, self.in_proj_weight, self.in_proj_bias)
        return ops.self_attention(qkv, self.num_heads, bias, 1.0 / math.sqrt(self.head_dim), dropout_mask)

    def _check_inputs(self, query, key, value) -> bool:
        """Check ranks and sizes; return whether the inputs are batched (3-D)."""
        order = "(N, L, E)" if self.batch_first else "(L, N, E)"
        if query.ndim not in (2, 3):
            raise ValueError(f"MultiheadAttention expects a query of shape {order}, or (L, E) "
                             f"unbatched (3 or 2 dimensions), got shape {query.shape}")
        for name, tensor, size in (("query", query, self.embed_dim), ("key", key, self.kdim),
                                   ("value", value, self.vdim)):
            if tensor.ndim != query.ndim:
                raise ValueError(f"MultiheadAttention: {name} must have {query.ndim} dimensions like "
                                 f"the query (shape {query.shape}), got shape {tensor.shape}")
            if tensor.shape[-1] != size:
                raise ValueError(f"MultiheadAttention(embed_dim={self.embed_dim}, kdim={self.kdim}, "
                                 f"vdim={self.vdim}) expects {name} with {size} features, got shape "
                                 f"{tensor.shape}")
        if key.shape[-2 if (self.batch_first or key.ndim == 2) else 0] == 0:
            raise ValueError(f"MultiheadAttention: key must hold at least one position (S >= 1) to "
                             f"attend to, got shape {key.shape}")
        if key.shape[:-1] != value.shape[:-1]:
            raise ValueError(f"MultiheadAttention: key and value must have the same batch and length, "
                             f"got shapes {key.shape} and {value.shape}")
        batch_axis = 0 if self.batch_first else 1
        if query.ndim == 3 and query.shape[batch_axis] != key.shape[batch_axis]:
            raise ValueError(f"MultiheadAttention: query and key must have the same batch size "
                             f"(axis {batch_axis}), got shapes {query.shape} and {key.shape}")
        return query.ndim == 3

    def _project(self, query, key, value, self_attention: bool, same_key_value: bool):
        """q, k, v projected and split into heads, each ``(N, H, length, head_dim)``."""
        E, bias = self.embed_dim, self.in_proj_bias

        def part(i, n=1):  # columns i*E .. (i+n)*E of the packed weight and bias
            weight = self.in_proj_weight[:, i * E:(i + n) * E]
            return weight, (None if bias is None else bias[i * E:(i + n) * E])

        if self.in_proj_weight is None:
            biases = [None] * 3 if bias is None else [bias[i * E:(i + 1) * E] for i in range(3)]
            return tuple(self._heads(F.linear(x, w, b), 1)[0] for x, w, b in zip(
                (query, key, value), (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight), biases))
        if self_attention:  # one product for the three projections
            return self._heads(F.linear(query, self.in_proj_weight, bias), 3)
        (q,) = self._heads(F.linear(query, *part(0)), 1)
        if same_key_value:
            k, v = self._heads(F.linear(key, *part(1, 2)), 2)
        else:
            (k,), (v,) = self._heads(F.linear(key, *part(1)), 1), self._heads(F.linear(value, *part(2)), 1)
        return q, k, v

    def _heads(self, packed: Tensor, count: int) -> tuple:
        """``(N, L, count * E)`` -> ``count`` tensors ``(N, H, L, head_dim)``."""
        batch, length = packed.shape[:2]
        if count == 1:
            split = packed.reshape(batch, length, self.num_heads, self.head_dim)
            return (split.transpose(0, 2, 1, 3),)
        split = packed.reshape(batch, length, count, self.num_heads, self.head_dim)
        split = split.transpose(2, 0, 3, 1, 4)  # (count, N, H, L, D)
        return tuple(split[i] for i in range(count))

    def _head_mask(self, attn_mask, batch: int, length: int, keys: int):
        """``attn_mask`` ``(L, S)`` or ``(N * H, L, S)`` as an array that broadcasts to the scores
        ``(N, H, L, S)``."""
        mask = np.asarray(attn_mask.data if isinstance(attn_mask, Tensor) else attn_mask)
        per_head = (batch * self.num_heads, length, keys)
        if mask.shape == (length, keys):
            return mask
        if mask.shape == per_head:
            return mask.reshape(batch, self.num_heads, length, keys)
        raise ValueError(f"attn_mask must have shape (L, S) = {(length, keys)} or (N * num_heads, L, S) "
                         f"= {per_head}, got {mask.shape}")

    @staticmethod
    def _unbatched_padding(key_padding_mask, keys: int):
        mask = np.asarray(key_padding_mask.data if isinstance(key_padding_mask, Tensor) else key_padding_mask)
        if mask.shape != (keys,):
            raise ValueError(f"key_padding_mask must have shape (S,) = ({keys},) for an unbatched "
                             f"input, got {mask.shape}")
        return mask[None]

    def get_config(self) -> dict:
        return {"embed_dim": self.embed_dim, "num_heads": self.num_heads, "dropout": self.dropout,
                "bias": self.in_proj_bias is not None, "kdim": self.kdim, "vdim": self.vdim,
                "batch_first": self.batch_first, "dtype": self.dtype.name}

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}"

