"""The transformer encoder (Vaswani et al., 2017): TransformerEncoderLayer and TransformerEncoder
with PyTorch's structure and parameter names, and the sinusoidal PositionalEncoding. The
attention itself is ``glassnet.nn.MultiheadAttention``."""

from __future__ import annotations

import numpy as np

from .. import functional as F
from .._checks import boolean, float_dtype, one_of, positive_int, probability, real_number
from ..functional import get_activation, hidden_activation_names
from ..random import get_rng
from ..tensor import Tensor
from .attention import MultiheadAttention, _as_input
from .container import Sequential
from .dropout import Dropout
from .linear import Linear
from .module import Module
from .normalization import LayerNorm

__all__ = ["PositionalEncoding", "TransformerEncoder", "TransformerEncoderLayer"]


class TransformerEncoderLayer(Module):
    """One layer of the transformer encoder (Vaswani et al., 2017), with the structure and
    parameter names of ``torch.nn.TransformerEncoderLayer``: self-attention, then a position-wise
    feed-forward network, each with dropout, a residual connection and layer normalization.

    Post-norm (``norm_first=False``, the paper's and PyTorch's default)::

        x = norm1(x + dropout1(self_attn(x, x, x)))
        x = norm2(x + dropout2(linear2(dropout(activation(linear1(x))))))

    Pre-norm (``norm_first=True``, easier to train deep)::

        x = x + dropout1(self_attn(norm1(x), ...))
        x = x + dropout2(linear2(dropout(activation(linear1(norm2(x))))))

    Parameters
    ----------
    d_model : int
        Features per position.
    nhead : int
        Attention heads; must divide ``d_model``.
    dim_feedforward : int
        Hidden units of the feed-forward network.
    dropout : float in [0, 1)
        Used by the attention weights and the three Dropout layers.
    activation : str
        Of the feed-forward network, with its default parameters: "relu" (the default), "gelu"
        (in its exact, erf form, PyTorch's default) or any other name of
        ``glassnet.functional.hidden_activation_names()``.
    layer_norm_eps : float
    batch_first : bool
        True (our default; PyTorch's is False): ``(N, L, d_model)``; False: ``(L, N, d_model)``.
    norm_first : bool
        Pre-norm instead of post-norm.
    bias : bool
        Biases of the linear layers and of the layer norms.
    dtype : float32 or float64
    rng : int, numpy.random.Generator or None
        Randomness of the initialization and then of the dropout masks.

    Notes
    -----
    Sub-modules: ``self_attn`` (MultiheadAttention), ``linear1`` (d_model -> dim_feedforward),
    ``dropout``, ``linear2`` (back to d_model), ``norm1``, ``norm2`` (LayerNorm), ``dropout1``,
    ``dropout2``. The two Linear layers start with Xavier uniform weights and zero biases
    (PyTorch: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for both).

    Shape
    -----
    - src ``(N, L, d_model)`` (batch_first), or ``(L, d_model)`` unbatched
    - src_mask ``(L, L)`` or ``(N * nhead, L, L)``; src_key_padding_mask ``(N, L)``; True (or
      -inf) where masked out
    - output: the shape of src

    Example
    -------
    >>> import numpy as np
    >>> from glassnet import nn
    >>> layer = nn.TransformerEncoderLayer(16, nhead=4, dim_feedforward=32, dropout=0.0, rng=0)
    >>> layer(np.ones((2, 7, 16)), is_causal=True).shape
    (2, 7, 16)
    >>> [name for name, _ in layer.named_parameters()][:4]
    ['self_attn.in_proj_weight', 'self_attn.in_proj_bias', 'self_attn.out_proj.weight', 'self_attn.out_proj.bias']
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: str = "relu", layer_norm_eps: float = 1e-5, batch_first: bool = True,
                 norm_first: bool = False, bias: bool = True, dtype=np.float32, rng=None) -> None:
        super().__init__()
        one_of(activation, "activation", hidden_activation_names(aliases=True))
        self.d_model = positive_int(d_model, "d_model")
        self.dim_feedforward = positive_int(dim_feedforward, "dim_feedforward")
        self.norm_first = boolean(norm_first, "norm_first")
        self.activation = activation
        self.layer_norm_eps = real_number(layer_norm_eps, "layer_norm_eps")
        self.rng = None if rng is None else get_rng(rng)
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first, dtype=dtype, rng=self.rng)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype, rng=self.rng)
        self.dropout = Dropout(dropout, rng=self.rng)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype, rng=self.rng)
        self.norm1 = LayerNorm(d_model, eps=self.layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=self.layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1 = Dropout(dropout, rng=self.rng)
        self.dropout2 = Dropout(dropout, rng=self.rng)

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal: bool = False) -> Tensor:
        x = _as_input(src, self.self_attn.dtype, "TransformerEncoderLayer", "src")
        if x.ndim not in (2, 3) or x.shape[-1] != self.d_model:
            order = "(N, L, d_model)" if self.self_attn.batch_first else "(L, N, d_model)"
            raise ValueError(f"TransformerEncoderLayer(d_model={self.d_model}) expects src of shape "
                             f"{order} or (L, d_model) with d_model = {self.d_model}, got {x.shape}")
        if self.norm_first:
            x = x + self._attention_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._feedforward_block(self.norm2(x))
        x = self.norm1(x + self._attention_block(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._feedforward_block(x))

    def _attention_block(self, x, mask, key_padding_mask, is_causal) -> Tensor:
        out, _ = self.self_attn(x, x, x, key_padding_mask=key_padding_mask, need_weights=False,
                                attn_mask=mask, is_causal=is_causal)
        return self.dropout1(out)

    def _feedforward_block(self, x) -> Tensor:
        hidden = self.dropout(get_activation(self.activation).function(self.linear1(x)))
        return self.dropout2(self.linear2(hidden))

    def get_config(self) -> dict:
        attention = self.self_attn
        return {"d_model": self.d_model, "nhead": attention.num_heads,
                "dim_feedforward": self.dim_feedforward, "dropout": attention.dropout,
                "activation": self.activation, "layer_norm_eps": self.layer_norm_eps,
                "batch_first": attention.batch_first, "norm_first": self.norm_first,
                "bias": attention.in_proj_bias is not None, "dtype": attention.dtype.name}

    def extra_repr(self) -> str:
        return (f"d_model={self.d_model}, nhead={self.self_attn.num_heads}, "
                f"dim_feedforward={self.dim_feedforward}, activation={self.activation!r}, "
                f"norm_first={self.norm_first}")


class TransformerEncoder(Module):
    """A stack of ``num_layers`` TransformerEncoderLayers, optionally followed by a LayerNorm
    (needed after pre-norm layers, whose output is not normalized).

    Parameters
    ----------
    encoder_layer : TransformerEncoderLayer or dict
        The layer to repeat, or its ``get_config()``. Each of the ``num_layers`` layers is built
        from that config with its own initialization; PyTorch instead deep-copies the given layer,
        so its layers start with identical weights.
    num_layers : int
    norm : bool
        Add a final LayerNorm ``norm`` (PyTorch takes the LayerNorm module itself).
    rng : int, numpy.random.Generator or None
        Randomness of every layer's initialization and dropout.

    Notes
    -----
    Sub-modules: ``layers.0`` ... ``layers.{num_layers - 1}`` and ``norm`` (or None), PyTorch's
    names, so that parameter names match (``layers.0.self_attn.in_proj_weight``, ...).

    Shape
    -----
    As :class:`TransformerEncoderLayer`: ``forward(src, mask=None, src_key_padding_mask=None,
    is_causal=False)`` -> the shape of src.

    Example
    -------
    >>> import numpy as np
    >>> from glassnet import nn
    >>> layer = nn.TransformerEncoderLayer(8, nhead=2, dim_feedforward=16, norm_first=True)
    >>> encoder = nn.TransformerEncoder(layer, num_layers=2, norm=True, rng=0)
    >>> encoder(np.zeros((3, 5, 8))).shape
    (3, 5, 8)
    >>> encoder.get_config()["encoder_layer"]["norm_first"]
    True
    """

    def __init__(self, encoder_layer, num_layers: int, norm: bool = False, rng=None) -> None:
        super().__init__()
        if isinstance(encoder_layer, TransformerEncoderLayer):
            encoder_layer = encoder_layer.get_config()
        if not isinstance(encoder_layer, dict):
            raise TypeError("encoder_layer must be a TransformerEncoderLayer or its get_config() "
                            f"dict, got {type(encoder_layer).__name__}")
        self.num_layers = positive_int(num_layers, "num_layers")
        self.layer_config = dict(encoder_layer)
        generator = get_rng(rng)
        self.layers = Sequential(*(TransformerEncoderLayer(**self.layer_config, rng=generator)
                                   for _ in range(self.num_layers)))
        if boolean(norm, "norm"):
            first = self.layers[0]
            self.norm = LayerNorm(first.d_model, eps=first.layer_norm_eps,
                                  bias=self.layer_config.get("bias", True), dtype=first.self_attn.dtype)
        else:
            self.add_module("norm", None)

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal: bool = False) -> Tensor:
        x = src
        for layer in self.layers:
            x = layer(x, src_mask=mask, src_key_padding_mask=src_key_padding_mask, is_causal=is_causal)
        return x if self.norm is None else self.norm(x)

    def get_config(self) -> dict:
        return {"encoder_layer": dict(self.layer_config), "num_layers": self.num_layers,
                "norm": self.norm is not None}


class PositionalEncoding(Module):
    """Add the sinusoidal positional encoding of Vaswani et al. (2017) to a sequence of
    embeddings, then apply dropout:

        y[n, pos] = dropout(x[n, pos] + PE[pos]),
        PE[pos, 2i] = sin(pos / 10000^(2i / d_model)),  PE[pos, 2i + 1] = cos(pos / 10000^(2i / d_model))

    Attention by itself ignores the order of the positions; this makes it visible. The table is
    fixed (``glassnet.functional.sinusoidal_positional_encoding``), so it has no parameters and is
    not in ``state_dict()``.

    Parameters
    ----------
    d_model : int
    max_len : int
        The longest sequence accepted.
    dropout : float in [0, 1)
    batch_first : bool
        True: ``(N, L, d_model)``; False: ``(L, N, d_model)``.
    dtype : float32 or float64
    rng : int, numpy.random.Generator or None
        Randomness of the dropout masks.

    Attributes
    ----------
    pe : ndarray ``(max_len, d_model)``

    Shape
    -----
    - input ``(N, L, d_model)`` (batch_first) or ``(L, d_model)``; L <= max_len
    - output: the same shape

    Example
    -------
    >>> import numpy as np
    >>> from glassnet import nn
    >>> encode = nn.PositionalEncoding(4, max_len=10)
    >>> encode(np.zeros((1, 2, 4))).numpy().round(3)
    array([[[0.   , 1.   , 0.   , 1.   ],
            [0.841, 0.54 , 0.01 , 1.   ]]], dtype=float32)
    """

    def __init__(self, d_model: int, max_len: int = 5000, dropout: float = 0.0,
                 batch_first: bool = True, dtype=np.float32, rng=None) -> None:
        super().__init__()
        self.d_model = positive_int(d_model, "d_model")
        self.max_len = positive_int(max_len, "max_len")
        self.batch_first = boolean(batch_first, "batch_first")
        self.dtype = float_dtype(dtype)
        self.dropout = Dropout(probability(dropout, "dropout"), rng=rng)
        # The rows of the table computed so far, made as sequences need them: a declared max_len
        # (from a model file, say) costs nothing until a sequence that long comes.
        self._table = np.empty((0, self.d_model), self.dtype)

    @property
    def pe(self) -> np.ndarray:
        """The table ``(max_len, d_model)``."""
        return self._rows(self.max_len)

    def _rows(self, length: int) -> np.ndarray:
        """The first ``length`` rows of the table (each row depends on its position alone)."""
        if len(self._table) < length:  # grown by doubling, so that growing costs O(max_len)
            rows = min(self.max_len, max(length, 2 * len(self._table)))
            self._table = F.sinusoidal_positional_encoding(rows, self.d_model, self.dtype)
        return self._table[:length]

    def forward(self, x) -> Tensor:
        x = _as_input(x, self.dtype, "PositionalEncoding", "the input")
        axis = 1 if (self.batch_first and x.ndim == 3) else 0  # the position axis
        if x.ndim not in (2, 3) or x.shape[-1] != self.d_model:
            order = "(N, L, d_model)" if self.batch_first else "(L, N, d_model)"
            raise ValueError(f"PositionalEncoding(d_model={self.d_model}) expects an input of shape "
                             f"{order} or (L, d_model) with d_model = {self.d_model}, got {x.shape}")
        length = x.shape[axis]
        if length > self.max_len:
            raise ValueError(f"PositionalEncoding(max_len={self.max_len}) got a sequence of length "
                             f"{length} (input shape {x.shape}); build it with a larger max_len")
        return self.dropout(x + self._encoding(length, spread=axis == 0 and x.ndim == 3))

    def _encoding(self, length: int, spread: bool):
        """The rows added to a sequence of ``length`` positions, ``(L, d_model)``, or ``(L, 1,
        d_model)`` when ``spread`` (time-major batches). ONNX export replaces it by a cut of the
        whole table (glassnet.onnx._forwards)."""
        rows = self._rows(length)
        return rows[:, None, :] if spread else rows

    def get_config(self) -> dict:
        return {"d_model": self.d_model, "max_len": self.max_len, "dropout": self.dropout.p,
                "batch_first": self.batch_first, "dtype": self.dtype.name}

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, max_len={self.max_len}"
