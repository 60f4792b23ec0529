"""Converters for the recurrent ops (``rnn_layer``, ``lstm_layer``, ``gru_layer``): each traced
call becomes one ONNX ``RNN``, ``LSTM`` or ``GRU`` node, both directions in the node when the
layer is bidirectional.

What changes between the two worlds is the layout of the weights, never the numbers:

* glassnet (and PyTorch) stores one direction's input weights as ``W_ih (input, G*H)`` with the
  gates side by side in the order i, f, g, o (LSTM) or r, z, n (GRU); ONNX wants
  ``W (D, G*H, input)``, the transpose, with the gates in the order i, o, f, c (LSTM) or z, r, h
  (GRU). The same for ``W_hh (H, G*H)`` -> ``R (D, G*H, H)``.
* the biases b_ih and b_hh become one row ``B (D, 2*G*H)`` = [Wb, Rb], each in ONNX's gate order.
* GRU: glassnet multiplies r into ``W_hn h + b_hn`` (PyTorch's rule), which is ONNX's
  ``linear_before_reset=1``.
* ONNX's outputs are ``Y (L, D, N, H)`` and the final states ``Y_h`` (and ``Y_c``) ``(D, N, H)``;
  the op returns ``(L, N, D*H)`` (the directions side by side), and the LSTM op one more row, the
  final cell states side by side, so ``Y`` is transposed and reshaped, and ``Y_c`` appended.

Batch and length stay symbolic: every Reshape copies those sizes with 0, never a number, and the
initial states are what the layer gave the op: an input of the graph, or the layer's default
zeros, which the exporter writes as a ConstantOfShape of the input's batch size.
"""

from __future__ import annotations

import numpy as np

from ._registry import converter

__all__ = ["onnx_recurrent_weights"]

# For each ONNX gate, the glassnet gate it takes its rows from.
_GATE_ORDER = {
    1: (0,),            # RNN: one gate
    4: (0, 3, 1, 2),    # LSTM: ONNX i, o, f, c  <-  glassnet i, f, g, o
    3: (1, 0, 2),       # GRU:  ONNX z, r, h     <-  glassnet r, z, n
}
_ONNX_OP = {"rnn_layer": ("RNN", 1), "lstm_layer": ("LSTM", 4), "gru_layer": ("GRU", 3)}


def _onnx_gates(rows: np.ndarray, gates: int) -> np.ndarray:
    """Rows ``(G*H, ...)`` in glassnet's gate order -> the same rows in ONNX's gate order."""
    hidden = rows.shape[0] // gates
    blocks = rows.reshape((gates, hidden) + rows.shape[1:])
    return blocks[list(_GATE_ORDER[gates])].reshape(rows.shape)


def onnx_recurrent_weights(weights, gates: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The weights of one recurrent layer in ONNX's layout.

    ``weights``: one tuple ``(W_ih, W_hh, b_ih, b_hh)`` per direction (forward first), as the ops
    of ``glassnet.ops.recurrent`` take them: W_ih ``(input, G*H)``, W_hh ``(H, G*H)``, biases
    ``(G*H,)`` or None; G = 1 (RNN), 4 (LSTM: i, f, g, o) or 3 (GRU: r, z, n).

    Returns ``W (D, G*H, input)``, ``R (D, G*H, H)`` and ``B (D, 2*G*H)`` (None when no direction
    has a bias; a missing bias is zeros), the gates in ONNX's order (LSTM i, o, f, c; GRU z, r, h).

    Example
    -------
    >>> import numpy as np
    >>> from glassnet.onnx._recurrent import onnx_recurrent_weights
    >>> w_ih = np.arange(8.0).reshape(1, 8)        # LSTM, H = 2: columns i i f f g g o o
    >>> W, R, B = onnx_recurrent_weights([(w_ih, np.zeros((2, 8)), None, None)], gates=4)
    >>> W[0, :, 0]                                  # rows i i o o f f c c
    array([0., 1., 6., 7., 2., 3., 4., 5.])
    >>> W.shape, R.shape, B
    ((1, 8, 1), (1, 8, 2), None)
    """
    w, r, b = [], [], []
    has_bias = any(part is not None for direction in weights for part in direction[2:])
    for w_ih, w_hh, b_ih, b_hh in weights:
        w_ih, w_hh = _array(w_ih), _array(w_hh)
        w.append(_onnx_gates(w_ih.T, gates))
        r.append(_onnx_gates(w_hh.T, gates))
        if has_bias:
            zeros = np.zeros(w_ih.shape[1], w_ih.dtype)
            b.append(np.concatenate([_onnx_gates(zeros if bias is None else _array(bias), gates)
                                     for bias in (b_ih, b_hh)]))
    return np.stack(w), np.stack(r), (np.stack(b) if has_bias else None)


def _array(value) -> np.ndarray:
    return np.asarray(getattr(value, "data", value))


@converter("rnn_layer", "lstm_layer", "gru_layer")
def convert_recurrent(graph, call):
    """One ONNX RNN/LSTM/GRU node for one traced layer (see the module's docstring)."""
    op_type, gates = _ONNX_OP[call.op]
    arguments = call.arguments
    weights = arguments["weights"]
    directions = len(weights)
    hidden = _array(weights[0][1]).shape[0]
    hint = op_type.lower()
    # onnxruntime implements these three ops in float32 only: a float64 model's layer runs in
    # float32 inside the graph, between two Casts (its outputs agree to float32's precision).
    cast = graph.dtype != np.float32

    def state(value) -> str:
        name = graph.value(value)
        return graph.node("Cast", [name], to=_FLOAT, hint=hint)[0] if cast else name

    w, r, b = (None if a is None else graph.constant(a.astype(np.float32), f"{hint}_{part}")
               for a, part in zip(onnx_recurrent_weights(weights, gates), "WRB"))
    # "" = no sequence_lens (every sequence is whole), no bias when the layer has none
    inputs = [state(arguments["x"]), w, r, b or "", "", state(arguments["h0"])]
    attrs = {"hidden_size": hidden, "direction": "bidirectional" if directions == 2 else "forward"}
    if op_type == "LSTM":
        inputs.append(state(arguments["c0"]))
    elif op_type == "GRU":
        attrs["linear_before_reset"] = 1  # r multiplies W_hn h + b_hn, PyTorch's rule
    else:
        attrs["activations"] = ["Relu" if arguments["nonlinearity"] == "relu" else "Tanh"] * directions
    outputs = graph.node(op_type, inputs, n_outputs=3 if op_type == "LSTM" else 2, hint=hint, **attrs)
    out = _op_layout(graph, outputs, directions * hidden, with_cell=op_type == "LSTM")
    return graph.node("Cast", [out], to=_onnx_type(graph.dtype), hint=hint)[0] if cast else out


def _op_layout(graph, outputs: list, width: int, with_cell: bool) -> str:
    """ONNX's Y ``(L, D, N, H)`` -> the op's ``(L, N, D*H)`` (directions side by side), and for
    the LSTM the final cell states Y_c ``(D, N, H)`` appended as one more row ``(1, N, D*H)``."""
    sequence = graph.node("Transpose", [outputs[0]], perm=[0, 2, 1, 3])[0]  # (L, N, D, H)
    sequence = graph.node("Reshape", [sequence, graph.ints([0, 0, width])])[0]
    if not with_cell:
        return sequence
    cell = graph.node("Transpose", [outputs[2]], perm=[1, 0, 2])[0]  # (N, D, H)
    cell = graph.unsqueeze(graph.node("Reshape", [cell, graph.ints([0, width])])[0], [0])
    return graph.node("Concat", [sequence, cell], axis=0)[0]


def _onnx_type(dtype) -> int:
    from ._graph import require_onnx

    return require_onnx().helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


_FLOAT = 1  # onnx.TensorProto.FLOAT, spelled out so that this module imports without onnx
