"""The LSTM layer of :mod:`glassnet.ops.recurrent`, written for few NumPy passes per time step.

The layouts and the shared helpers are recurrent.py's (read its docstring first). What this module
adds, each trick with what it saves:

* the gates of a whole sequence live in one buffer, gate-major ``(D, G, H, L, N)``, which the
  input projection fills and each step overwrites in place with its activations: no per-step
  arrays, and the backward finds every gate of every step there;
* one ``tanh`` over the four gates of a step: sigma(a) = (1 + tanh(a / 2)) / 2, with the 1/2
  folded into the sigmoid gates' weights and input projection before the loop, so one ``tanh``,
  one multiply and one add (by per-gate constants) activate all gates, where a sigmoid per gate
  plus a tanh cost five calls and two temporaries;
* the hidden products ``W_hh^T h`` (forward) and ``W_hh da`` (backward) run in row chunks
  (:func:`glassnet.ops.recurrent.step_matmul`), one thread each;
* the cell states and tanh(c) of every step are kept in preallocated ``(L + 1, D, H, N)`` /
  ``(L, D, H, N)`` buffers, written with ``out=``;
* the backward writes each step's gate gradients into one ``(D, G, H, L, N)`` buffer through
  ``out=``, reuses three scratch arrays across steps, and makes the weight gradients of the whole
  sequence after the loop, one product each (recurrent.py's ``_layer_grads``).
"""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from .recurrent import (
    _inputs_by_direction,
    _layer_grads,
    _parents,
    _recycle,
    _rows,
    _stacked_weights,
    _steps,
    _to_step_order,
    _to_time_order,
    chunked,
    recycle_when_freed,
    step_matmul,
    take_buffer,
)

__all__ = ["lstm_layer"]

# Gates i, f, g, o: sigma(a) = tanh(a / 2) / 2 + 1/2 for i, f and o; tanh(a) for g.
_PRE = np.array([0.5, 0.5, 1.0, 0.5])[:, None, None]  # applied to the weights before the loop
_SCALE, _SHIFT = _PRE, np.array([0.5, 0.5, 0.0, 0.5])[:, None, None]  # applied after the tanh


def lstm_step(gates, h, c, c_new, tanh_c, h_new, w_hh_t, scratch):
    """One step, in place. ``gates`` (D, 4, H, N) holds this step's input projection (sigmoid
    gates pre-halved) and receives the gates i, f, g, o; c_new, tanh_c and h_new receive
    c' = f c + i g, tanh c' and h' = o tanh c'. ``scratch``: (D, 4H, N) and (D, H, N) arrays
    and the constants _SCALE, _SHIFT in the gates' dtype."""
    product, cell, scale, shift = scratch
    gates += step_matmul(w_hh_t, h, product).reshape(gates.shape)  # a = W_ih^T x + b + W_hh^T h
    np.tanh(gates, out=gates)
    gates *= scale  # i, f, o: sigma(a) = tanh(a/2)/2 + 1/2 ...
    gates += shift  # ... g: tanh(a)
    i, f, g, o = gates.transpose(1, 0, 2, 3)
    np.multiply(f, c, out=c_new)
    c_new += np.multiply(i, g, out=cell)
    np.tanh(c_new, out=tanh_c)
    np.multiply(o, tanh_c, out=h_new)


def lstm_step_backward(dh, dc, gates, c, tanh_c, w_hh, da, scratch):
    """With dh' and dc' the gradients reaching h' and c' (dc updated in place to the gradient of
    the previous c):  dc' += dh' o (1 - tanh^2 c');  do = dh' tanh c';
    di = dc' g;  df = dc' c;  dg = dc' i;  dc = dc' f;
    da_{i,f,o} = d(gate) gate (1 - gate);  da_g = dg (1 - g^2), written into ``da`` (D, 4, H, N).
    Returns W_hh da, the gradient of the previous h from this step's gates."""
    product, cell, slope = scratch
    i, f, g, o = gates.transpose(1, 0, 2, 3)
    np.multiply(tanh_c, tanh_c, out=cell)
    np.subtract(1, cell, out=cell)
    cell *= o
    cell *= dh
    dc += cell
    da_i, da_f, da_g, da_o = da.transpose(1, 0, 2, 3)
    np.multiply(dc, g, out=da_i)
    np.multiply(dc, c, out=da_f)
    np.multiply(dc, i, out=da_g)
    np.multiply(dh, tanh_c, out=da_o)
    np.subtract(1, gates, out=slope)  # sigma' = s (1 - s) for i, f and o ...
    slope *= gates
    slope_g = slope[:, 2]
    np.multiply(g, g, out=slope_g)  # ... and tanh' = 1 - g^2 for g
    np.subtract(1, slope_g, out=slope_g)
    da *= slope
    dc *= f
    directions, gates_, hidden, batch = da.shape
    return step_matmul(w_hh, da.reshape(directions, gates_ * hidden, batch), product)


def lstm_layer(x: Tensor, h0: Tensor, c0: Tensor, weights) -> Tensor:
    """An LSTM layer (gates i, f, g, o; see :func:`lstm_step`) from the states (h0, c0), in one or
    two directions; ``weights`` as in :func:`glassnet.ops.rnn_layer` (G = 4).

    An op has one output, so the final cell states ride along as one more row: the result has
    shape ``(L + 1, N, D*H)``, rows 0..L-1 the hidden states as in :func:`rnn_layer` and row L
    the final cell state of each direction, side by side. A gradient may reach either part.

    Shapes: x ``(L, N, input)``, h0 and c0 ``(D, N, H)``, W_ih ``(input, 4H)``, W_hh
    ``(H, 4H)``, biases ``(4H,)``.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> w_ih, w_hh = gn.Tensor(np.ones((1, 8))), gn.Tensor(np.zeros((2, 8)))
    >>> zeros = gn.Tensor(np.zeros((1, 5, 2)))
    >>> gn.ops.lstm_layer(gn.Tensor(np.zeros((3, 5, 1))), zeros, zeros, [(w_ih, w_hh, None, None)]).shape
    (4, 5, 2)
    """
    w_ih, w_hh, w_hh_t, _ = _stacked_weights(weights, gates=4)
    length, (directions, batch, hidden) = x.shape[0], h0.shape
    gates = _gate_inputs(x.data, w_ih, weights, hidden)  # (L, D, 4, H, N), overwritten below
    dtype = gates.dtype
    half = np.repeat(_PRE.ravel(), hidden).astype(dtype)[:, None]  # (4H, 1)
    w_half = chunked(w_hh_t * half, batch)
    states = take_buffer((length + 1, directions, hidden, batch), dtype)  # h0 at step 0
    cells = take_buffer(states.shape, dtype)  # c0 at step 0
    tanh_c = take_buffer(states.shape, dtype)[1:]
    states[0], cells[0] = h0.data.transpose(0, 2, 1), c0.data.transpose(0, 2, 1)
    scratch = (np.empty((directions, 4 * hidden, batch), dtype), np.empty_like(cells[0]),
               _SCALE.astype(dtype), _SHIFT.astype(dtype))
    for s in range(length):
        lstm_step(gates[s], states[s], cells[s], cells[s + 1], tanh_c[s], states[s + 1], w_half, scratch)
    out = np.empty((length + 1, batch, directions * hidden), dtype)
    _to_time_order(states[1:].transpose(1, 2, 0, 3), out=out[:length])
    out[length] = cells[length].transpose(2, 0, 1).reshape(batch, directions * hidden)  # c_n

    def backward(g):
        dh = np.zeros_like(cells[0])
        dc = g[length].reshape(batch, directions, hidden).transpose(1, 2, 0).copy()  # dc_n, row L
        g_steps = _steps(_to_step_order(g[:length], directions))  # (L, D, H, N) views
        # The gate gradients go where the weight gradients want them, time next to the samples
        # (D, 4, H, L, N), so that each weight gradient is one product over the whole sequence;
        # each step computes them in one contiguous scratch block first (elementwise work on
        # strided blocks costs several times more). Fresh per backward: a retained graph's
        # gates stay intact, and a second backward gets its own.
        da = take_buffer((directions, 4, hidden, length, batch), dtype)
        w_chunks = chunked(w_hh, batch)
        scratch = (np.empty_like(dh), np.empty_like(dh), np.empty_like(gates[0]))
        da_step = np.empty_like(gates[0])
        for s in reversed(range(length)):
            dh += g_steps[s]
            dh_previous = lstm_step_backward(dh, dc, gates[s], cells[s], tanh_c[s], w_chunks, da_step, scratch)
            da[:, :, :, s] = da_step
            dh, scratch = dh_previous, (dh,) + scratch[1:]  # swap: the old dh is free
        xs = _inputs_by_direction(x.data, directions)
        grads = _layer_grads(x, xs, w_ih, weights, da, da, dh, states.transpose(1, 2, 0, 3))
        _recycle((da,))  # the gradients are new arrays: da is free again
        return grads[:2] + (_rows(dc),) + grads[2:]  # the parents are x, h0, c0, weights...

    recycle_when_freed(backward, gates, states, cells, tanh_c.base)
    return Tensor._from_op(out, _parents(x, (h0, c0), weights), backward, "lstm")


def _gate_inputs(x: np.ndarray, w_ih: np.ndarray, weights, hidden: int) -> np.ndarray:
    """W_ih^T x_t + b_ih + b_hh of every step, with the sigmoid gates' rows halved, step-first
    ``(L, D, 4, H, N)``: each step's gates one contiguous block (elementwise work on a strided
    block costs several times more). One broadcast product over the steps, x_t read as columns."""
    length, batch, features = x.shape
    directions = len(weights)
    half = np.repeat(_PRE.ravel(), hidden)[:, None]  # (4H, 1)
    w_half = (w_ih.transpose(0, 2, 1) * half).astype(w_ih.dtype)  # (D, 4H, input)
    columns = x.transpose(0, 2, 1)  # (L, input, N), a view
    x_steps = columns[:, None] if directions == 1 else np.stack([columns, columns[::-1]], axis=1)
    # An inner dimension of 1 is an outer product: the broadcast is ~10x faster than np.matmul.
    gates = take_buffer((length, directions, 4 * hidden, batch), np.result_type(w_half, x))
    if features == 1:
        np.multiply(w_half, x_steps, out=gates)
    else:
        np.matmul(w_half, x_steps, out=gates)  # (L, D, 4H, N)
    for d, (_, _, b_ih, b_hh) in enumerate(weights):
        biases = [b.data for b in (b_ih, b_hh) if b is not None]
        if biases:
            gates[:, d] += (sum(biases) * half[:, 0]).astype(gates.dtype)[:, None]
    return gates.reshape(length, directions, 4, hidden, batch)
