"""Recurrent layers: RNN (tanh or relu), LSTM and GRU, stacked and optionally bidirectional.

The modules hold the parameters and stack the layers; the recurrence of one layer in one direction
is one fused op, ``glassnet.ops.rnn_layer`` / ``lstm_layer`` / ``gru_layer``, whose forward loops
over time and whose backward is backpropagation through time, both in NumPy (ops/recurrent.py).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import functional as F
from .. import ops
from .._checks import boolean, float_dtype, one_of, positive_int, probability
from ..random import get_rng
from ..tensor import Parameter, Tensor
from .module import Module, state_array

__all__ = ["GRU", "LSTM", "RNN"]


class _RecurrentBase(Module):
    """What RNN, LSTM and GRU share: parameters, argument checks, stacking and directions."""

    _gates = 1  # gates per hidden unit: RNN 1, LSTM 4, GRU 3

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = True, dropout: float = 0.0, bidirectional: bool = False,
                 dtype=np.float32, rng=None) -> None:
        super().__init__()
        self.input_size = positive_int(input_size, "input_size")
        self.hidden_size = positive_int(hidden_size, "hidden_size")
        self.num_layers = positive_int(num_layers, "num_layers")
        self.bias = boolean(bias, "bias")
        self.batch_first = boolean(batch_first, "batch_first")
        self.bidirectional = boolean(bidirectional, "bidirectional")
        self.dropout = probability(dropout, "dropout")
        self.dtype = float_dtype(dtype)
        # One generator for the initialization and then the dropout masks (a seed is resolved once,
        # so that the masks differ from call to call but the sequence is reproducible).
        self.rng = None if rng is None else get_rng(rng)

        directions = 2 if self.bidirectional else 1
        width = self._gates * self.hidden_size
        # PyTorch's names and order: per layer, per direction, weight_ih, weight_hh, bias_ih,
        # bias_hh; the reverse direction's names end in "_reverse".
        for layer in range(self.num_layers):
            layer_input = self.input_size if layer == 0 else directions * self.hidden_size
            for suffix in ("", "_reverse")[:directions]:
                setattr(self, f"weight_ih_l{layer}{suffix}", Parameter(state_array((layer_input, width), self.dtype)))
                setattr(self, f"weight_hh_l{layer}{suffix}",
                        Parameter(state_array((self.hidden_size, width), self.dtype)))
                if self.bias:
                    setattr(self, f"bias_ih_l{layer}{suffix}", Parameter(state_array(width, self.dtype)))
                    setattr(self, f"bias_hh_l{layer}{suffix}", Parameter(state_array(width, self.dtype)))
        self.reset_parameters(self.rng)

    def reset_parameters(self, rng=None) -> None:
        """Refill every weight and bias with U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)),
        PyTorch's initialization, in place. ``rng``: seed, Generator or None."""
        generator = get_rng(rng)
        bound = 1.0 / math.sqrt(self.hidden_size)
        for parameter in self._parameters.values():
            parameter.data[...] = generator.uniform(-bound, bound, parameter.shape)

    # ---- forward ---------------------------------------------------------------------------
    def _layer(self, x: Tensor, states: tuple, weights: list):
        """Run one layer, all directions, over time-major ``x`` from ``states`` ((h0,) or
        (h0, c0), each ``(D, N, H)``); return (output ``(L, N, D*H)``, final state tuple).
        Subclasses call their fused op."""
        raise NotImplementedError

    def _final_hidden(self, out: Tensor) -> Tensor:
        """h_n ``(D, N, H)`` of a layer from its output ``(L, N, D*H)``: the forward direction
        ends at the last step, the reverse direction at the first."""
        hidden = self.hidden_size
        if not self.bidirectional:
            return ops.reshape(out[-1], (1,) + out.shape[1:])
        return ops.stack([out[-1, :, :hidden], out[0, :, hidden:]], axis=0)

    def _run(self, x, hx: tuple | None):
        """Check the input and the initial state, run the stack; return (output, final states),
        the final states as a tuple of ``(D*num_layers, N, H)`` tensors (h_n, and c_n for LSTM)."""
        x = self._as_tensor(x, "input")
        if x.ndim not in (2, 3):
            raise ValueError(
                f"{type(self).__name__} expects an input of 3 dimensions "
                f"{'(batch, seq_len, input_size)' if self.batch_first else '(seq_len, batch, input_size)'} "
                f"or 2 dimensions (seq_len, input_size) without a batch, got shape {x.shape}"
            )
        if x.shape[-1] != self.input_size:
            raise ValueError(f"{type(self).__name__}(input_size={self.input_size}) expects an input whose "
                             f"last dimension is {self.input_size}, got shape {x.shape}")
        given = x.shape  # for messages: the shape as the caller wrote it
        batched = x.ndim == 3
        if not batched:
            x = x.reshape(x.shape[0], 1, x.shape[1])  # (L, 1, input): one sequence, time-major
        elif self.batch_first:
            x = ops.swapaxes(x, 0, 1)
        length, batch = x.shape[0], x.shape[1]
        if length == 0:
            raise ValueError(f"{type(self).__name__} needs a sequence of at least one step, got shape "
                             f"{given}")
        directions = 2 if self.bidirectional else 1
        states = self._initial_states(hx, directions * self.num_layers, batch, batched)

        finals = []  # per layer, the final state tuple, each (D, N, H)
        for layer in range(self.num_layers):
            if layer > 0 and self.dropout > 0 and self.training:
                x = F.dropout(x, self.dropout, training=True, rng=self.rng)  # between layers only
            layer_states = tuple(s[layer * directions:(layer + 1) * directions] for s in states)
            weights = [self._weights(layer, suffix) for suffix in ("", "_reverse")[:directions]]
            x, final = self._layer(x, layer_states, weights)
            finals.append(final)

        final_states = tuple(ops.concatenate([f[k] for f in finals], axis=0) if len(finals) > 1
                             else finals[0][k] for k in range(len(finals[0])))
        if not batched:
            return x.reshape(length, x.shape[2]), tuple(s.reshape(s.shape[0], s.shape[2]) for s in final_states)
        if self.batch_first:
            x = ops.swapaxes(x, 0, 1)
        return x, final_states

    def _initial_states(self, hx, count: int, batch: int, batched: bool) -> tuple:
        """The initial state tuple ((h0,) or (h0, c0)), each ``(count, N, H)``, zeros if hx is None."""
        names = ("h0",) if self._gates != 4 else ("h0", "c0")
        if hx is None:
            zeros = Tensor(np.zeros((count, batch, self.hidden_size), self.dtype))
            return (zeros,) * len(names)
        if len(names) == 1:
            hx = (hx,)
        elif not isinstance(hx, (tuple, list)) or len(hx) != 2:
            raise TypeError(f"LSTM expects its initial state as a tuple (h0, c0), got {type(hx).__name__}")
        expected = (count, batch, self.hidden_size) if batched else (count, self.hidden_size)
        states = []
        for name, state in zip(names, hx):
            state = self._as_tensor(state, name)
            if state.shape != expected:
                raise ValueError(f"{type(self).__name__} expects {name} of shape {expected} "
                                 f"(num_layers * num_directions, {'batch, ' if batched else ''}hidden_size), "
                                 f"got {state.shape}")
            states.append(state if batched else state.reshape(count, 1, self.hidden_size))
        return tuple(states)

    def _as_tensor(self, value, name: str) -> Tensor:
        if isinstance(value, Tensor):
            if value.dtype != self.dtype:
                raise TypeError(f"{type(self).__name__} has {self.dtype} parameters but {name} has dtype "
                                f"{value.dtype}; convert it with .astype('{self.dtype}')")
            return value
        return Tensor(value, dtype=self.dtype)

    def _weights(self, layer: int, suffix: str) -> tuple:
        """(W_ih, W_hh, b_ih, b_hh) of one layer and direction (biases None when bias=False)."""
        get = self._parameters.get
        return (get(f"weight_ih_l{layer}{suffix}"), get(f"weight_hh_l{layer}{suffix}"),
                get(f"bias_ih_l{layer}{suffix}"), get(f"bias_hh_l{layer}{suffix}"))

    # ---- description -------------------------------------------------------------------------
    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        for name, value, default in self._options():
            if value != default:
                text += f", {name}={value!r}"
        return text

    def _options(self):
        return (("num_layers", self.num_layers, 1), ("bias", self.bias, True),
                ("batch_first", self.batch_first, True), ("dropout", self.dropout, 0.0),
                ("bidirectional", self.bidirectional, False))

    def get_config(self) -> dict:
        """The arguments that rebuild this layer (see ``Module.get_config``); ``rng`` is not
        recorded (the weights are saved)."""
        config: dict[str, Any] = {"input_size": self.input_size, "hidden_size": self.hidden_size}
        config.update((name, value) for name, value, _ in self._options())
        config["dtype"] = self.dtype.name
        return config


_DOC_COMMON = """
    Parameters
    ----------
    input_size : int
        Features per time step of the input.
    hidden_size : int
        Size H of the hidden state.
    num_layers : int
        Layers stacked: each layer after the first reads the outputs of the one below.
    {extra}bias : bool
        Learn the biases b_ih and b_hh (default).
    batch_first : bool
        True (default, glassnet's convention): input and output are ``(batch, seq_len, features)``.
        False: ``(seq_len, batch, features)``, PyTorch's default. The states h0 / h_n are
        ``(num_layers * num_directions, batch, H)`` either way, as in PyTorch.
    dropout : float in [0, 1)
        Dropout on the outputs of every layer but the last, in training mode only (PyTorch's
        rule; so with one layer it changes nothing).
    bidirectional : bool
        Also run each layer from the end of the sequence; the two outputs are concatenated
        (forward first), so the output has 2H features.
    dtype : float32 or float64
    rng : int, numpy.random.Generator or None
        Randomness of the initialization, then of the dropout masks.

    Attributes
    ----------
    weight_ih_l{{k}}[_reverse] : Parameter, shape (input_size or D*H for k > 0, {gates}H)
    weight_hh_l{{k}}[_reverse] : Parameter, shape (H, {gates}H)
    bias_ih_l{{k}}[_reverse], bias_hh_l{{k}}[_reverse] : Parameter, shape ({gates}H,)
        PyTorch's names and gate order ({order}). The weights are the transposes of PyTorch's
        ``(gates * H, input)`` matrices: ``ours = theirs.T``. Initialized like PyTorch, every
        value from U(-1/sqrt(H), 1/sqrt(H)).

    Shape
    -----
    - input: ``(N, L, input_size)`` with batch_first, ``(L, N, input_size)`` without,
      ``(L, input_size)`` for one unbatched sequence
    - {state_in}: ``(D * num_layers, N, H)`` (``(D * num_layers, H)`` unbatched), D = 2 if
      bidirectional else 1; zeros when not given
    - output: ``(N, L, D * H)`` with batch_first (the last layer's h_t for every t)
    - {state_out}: ``(D * num_layers, N, H)``, the final states, ordered layer by layer,
      forward direction first
"""


class RNN(_RecurrentBase):
    """An Elman recurrent layer: h_t = tanh(x_t W_ih + b_ih + h_(t-1) W_hh + b_hh) (or relu).
{common}
    Example
    -------
    >>> import numpy as np
    >>> from glassnet import nn
    >>> rnn = nn.RNN(input_size=3, hidden_size=5, num_layers=2, rng=0)
    >>> output, h_n = rnn(np.zeros((4, 7, 3)))
    >>> output.shape, h_n.shape
    ((4, 7, 5), (2, 4, 5))
    """

    __doc__ = __doc__.format(common=_DOC_COMMON.format(
        extra="nonlinearity : {'tanh', 'relu'}\n        phi in h_t = phi(...).\n    ",
        gates="", order="one gate", state_in="hx (h0)", state_out="h_n"))

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = True,
                 dropout: float = 0.0, bidirectional: bool = False, dtype=np.float32, rng=None) -> None:
        one_of(nonlinearity, "nonlinearity", ("tanh", "relu"))
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, dtype, rng)
        self.nonlinearity = nonlinearity

    def forward(self, x, hx=None):
        """Returns ``(output, h_n)``, like PyTorch."""
        output, (h_n,) = self._run(x, hx)
        return output, h_n

    def _layer(self, x, states, weights):
        out = ops.rnn_layer(x, states[0], weights, nonlinearity=self.nonlinearity)
        return out, (self._final_hidden(out),)

    def _options(self):
        options = super()._options()
        return options[:1] + (("nonlinearity", self.nonlinearity, "tanh"),) + options[1:]


class LSTM(_RecurrentBase):
    """Long short-term memory: with a = x_t W_ih + b_ih + h_(t-1) W_hh + b_hh split into gates,
    i = sigma(a_i), f = sigma(a_f), g = tanh(a_g), o = sigma(a_o); c_t = f c_(t-1) + i g;
    h_t = o tanh(c_t). (No ``proj_size``.)
{common}
    Example
    -------
    >>> import numpy as np
    >>> from glassnet import nn
    >>> lstm = nn.LSTM(input_size=3, hidden_size=5, bidirectional=True, rng=0)
    >>> output, (h_n, c_n) = lstm(np.zeros((4, 7, 3)))
    >>> output.shape, h_n.shape, c_n.shape
    ((4, 7, 10), (2, 4, 5), (2, 4, 5))
    """

    __doc__ = __doc__.format(common=_DOC_COMMON.format(
        extra="", gates="4", order="i, f, g, o", state_in="hx = (h0, c0)", state_out="(h_n, c_n)"))
    _gates = 4

    def forward(self, x, hx=None):
        """Returns ``(output, (h_n, c_n))``, like PyTorch; ``hx`` is ``(h0, c0)`` or None."""
        output, (h_n, c_n) = self._run(x, hx)
        return output, (h_n, c_n)

    def _layer(self, x, states, weights):
        packed = ops.lstm_layer(x, states[0], states[1], weights)
        length, batch = x.shape[0], x.shape[1]  # packed: rows 0..L-1 the outputs, row L c_n
        out = packed[:length]
        c_n = ops.transpose(packed[length].reshape(batch, len(weights), self.hidden_size), (1, 0, 2))
        return out, (self._final_hidden(out), c_n)


class GRU(_RecurrentBase):
    """Gated recurrent unit: with gx = x_t W_ih + b_ih and gh = h_(t-1) W_hh + b_hh split into
    gates, r = sigma(gx_r + gh_r), z = sigma(gx_z + gh_z), n = tanh(gx_n + r gh_n),
    h_t = (1 - z) n + z h_(t-1) (r multiplies W_hn h + b_hn, as in PyTorch).
{common}
    Example
    -------
    >>> import numpy as np
    >>> from glassnet import nn
    >>> gru = nn.GRU(input_size=1, hidden_size=6, bidirectional=True, rng=0)
    >>> output, h_n = gru(np.zeros((100, 40, 1)))
    >>> output.shape, h_n.shape
    ((100, 40, 12), (2, 100, 6))
    """

    __doc__ = __doc__.format(common=_DOC_COMMON.format(
        extra="", gates="3", order="r, z, n", state_in="hx (h0)", state_out="h_n"))
    _gates = 3

    def forward(self, x, hx=None):
        """Returns ``(output, h_n)``, like PyTorch."""
        output, (h_n,) = self._run(x, hx)
        return output, h_n

    def _layer(self, x, states, weights):
        out = ops.gru_layer(x, states[0], weights)
        return out, (self._final_hidden(out),)
