"""Recurrent layers as fused primitives: one op runs one layer (RNN, LSTM or GRU, both directions
when bidirectional) over a whole sequence, and its backward is backpropagation through time.

Why fused: a recurrence built from Tensor ops adds a dozen graph nodes per time step, and for small
hidden sizes the Python cost of those nodes is the whole run time. Here the forward loops over
time in NumPy and keeps what the backward needs; the backward loops back over time, also in NumPy.
Each cell has a forward step and a backward step, side by side, with the formulas.

The matrix products cover all gates at once, never one gate at a time, and the two directions
of a bidirectional layer share each ``np.matmul`` call (a batch of two):

* the input projections of every time step come first, in one product per direction:
  ``gx[t] = x[t] @ W_ih + b_ih`` for all t and all gates;
* each step makes one product ``W_hh^T h`` per direction, for all gates;
* the backward collects the per-step gate gradients and makes dx, dW_ih, dW_hh and the bias
  gradients with one product (or sum) each after the loop; inside the loop the only product is
  ``W_hh da``.

Layout inside the loops, chosen for speed with small hidden sizes (there every NumPy call costs
about a microsecond, and several times more on a strided slice):

* states are columns, the course's z = W^T x + b: ``(D, H, N)`` (direction, unit, sample);
* gate pre-activations are gate-major, ``(G, D, H, N)``, so that each gate, ``a[k]``, is one
  contiguous block: the product ``W_hh^T h`` comes out ``(D, G*H, N)`` and one copy
  (:func:`_by_gate`) regroups it, cheaper than working on the strided blocks;
* the directions run side by side in the same loop, on the axis D (1 or 2): at loop step s the
  forward direction reads x[s] and the reverse direction reads x[L-1-s] ("step order").

All three layers make their step products with :func:`step_matmul`: row chunks, each small
enough that OpenBLAS runs it on one thread (see ``_ONE_THREAD_WORK``).

Layouts outside the op (PyTorch's gate order, weights transposed so that they move between the
libraries by a transpose): ``W_ih (input, G*H)``, ``W_hh (H, G*H)``, ``b_ih, b_hh (G*H,)``, with
G = 1 (RNN), 4 (LSTM: i, f, g, o) or 3 (GRU: r, z, n). Sequences are time-major: ``x (L, N,
input)``; states ``(D, N, H)``.
"""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from ._sequence import (
    _by_sequence,
    _columns,
    _input_projection,
    _layer_grads,
    _parents,
    _regrouped,
    _rows,
    _stacked_weights,
    _state_buffer,
    _summed_biases,
    _to_step_order,
    _to_time_order,
)

__all__ = ["chunked", "gru_layer", "lstm_layer", "rnn_layer", "step_matmul"]


# OpenBLAS runs a product of more than 65536 * 4 multiply-adds on all its threads. A step's product
# is small and the steps serial: waking the other thread each step gains little when idle and
# costs up to 10x on a busy machine (256x64 @ 64x64: 54 us on one thread, 150-700 us on two under
# load). So step products run as a batch of row chunks under that size: one call, one thread.
_ONE_THREAD_WORK = 65536 * 4
# Above this many multiply-adds a step's product runs whole, on all of BLAS's threads: there the
# second thread pays for its wake-up (LSTM of 256 units, batch 64: 16.7M a product, a training
# step 81 -> 69 ms at 2 threads; at 128 units, 4.2M, chunks stay ahead).
_THREADED_WORK = 1 << 23


def chunked(w: np.ndarray, batch: int) -> np.ndarray:
    """A step's weights ``(D, M, K)`` as row chunks ``(D, C, M/C, K)`` (a view), each chunk's product
    with ``(K, batch)`` at most ``_ONE_THREAD_WORK`` multiply-adds; ``w`` itself if one will do or
    if the product is over ``_THREADED_WORK``."""
    directions, rows, inner = w.shape
    most = max(1, _ONE_THREAD_WORK // max(1, inner * batch))
    if rows <= most or rows * inner * batch > _THREADED_WORK:
        return w
    chunks = next(c for c in range(-(-rows // most), rows + 1) if rows % c == 0)
    return w.reshape(directions, chunks, rows // chunks, inner)


def step_matmul(w_chunks: np.ndarray, h: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out = w @ h`` per direction, with ``w`` from :func:`chunked`: w ``(D, M, K)`` or
    ``(D, C, M/C, K)``, h ``(D, K, N)`` (may be a strided view), out ``(D, M, N)`` contiguous."""
    if w_chunks.ndim == 3:
        return np.matmul(w_chunks, h, out=out)
    directions, chunks, rows, _ = w_chunks.shape
    np.matmul(w_chunks, h[:, None], out=out.reshape(directions, chunks, rows, out.shape[-1]))
    return out


def _sigmoid_(a: np.ndarray) -> np.ndarray:
    """sigma(a) in place in ``a`` (a temporary), as (1 + tanh(a/2)) / 2: exact, and unlike
    1 / (1 + e^-a) it cannot overflow."""
    a *= 0.5
    np.tanh(a, out=a)
    a += 1
    a *= 0.5
    return a


def _by_gate(a: np.ndarray, gates: int) -> np.ndarray:
    """``(D, G*H, N)`` -> ``(G, D, H, N)``, contiguous: each gate one block."""
    directions, rows, batch = a.shape  # the sizes spelled out, never -1: a batch may have 0 samples
    return np.ascontiguousarray(a.reshape(directions, gates, rows // gates, batch).transpose(1, 0, 2, 3))


def _by_direction(a: np.ndarray) -> np.ndarray:
    """``(G, D, H, ...)`` -> ``(D, G*H, ...)``, the inverse of :func:`_by_gate`."""
    gates, directions, hidden = a.shape[:3]
    return a.transpose(1, 0, *range(2, a.ndim)).reshape(directions, gates * hidden, *a.shape[3:])


# ---- the cells: one forward step and its backward step each ----------------------------------
# gx (G, D, H, N) is this step's input projection W_ih^T x + b_ih (plus the parts of b_hh that are
# simply added), h (D, H, N) the state the step starts from, w_hh_t (D, G*H, H) the directions'
# W_hh^T, in row chunks (chunked). A backward step gets the gradient reaching the new state and
# returns the gradient of the gate pre-activations (the same for gx and for W_hh^T h, except GRU's n gate) and the
# gradient of the previous state, dh = W_hh da (w_hh: (D, H, G*H), in row chunks).

def rnn_step(gx, h, w_hh_t, nonlinearity):
    """h' = phi(a), a = W_ih^T x + b_ih + W_hh^T h + b_hh, phi = tanh or relu."""
    a = step_matmul(w_hh_t, h, np.empty(h.shape, h.dtype))  # one gate: (D, H, N) is gate-major
    a += gx[0]
    return np.tanh(a, out=a) if nonlinearity == "tanh" else np.maximum(a, 0, out=a)


def rnn_step_backward(dh, h_new, w_hh, nonlinearity):
    """da = dh' phi'(a): tanh' = 1 - h'^2, relu' = [h' > 0];  dh = W_hh da."""
    da = dh * (1 - h_new * h_new) if nonlinearity == "tanh" else dh * (h_new > 0)
    return da[None], step_matmul(w_hh, da, np.empty(da.shape, da.dtype))


def lstm_step(gx, h, c, w_hh_t, h_out):
    """a = W_ih^T x + b_ih + W_hh^T h + b_hh, gates (i, f, g, o):
    i = sigma(a_i), f = sigma(a_f), g = tanh(a_g), o = sigma(a_o);
    c' = f c + i g;  h' = o tanh(c')  (written into ``h_out``).

    Inside the op the gates are stored in the order (i, f, o, g) and the sigmoid gates' weights
    and biases are halved (see :func:`_lstm_weights`), so ONE tanh over all four gates gives
    tanh(a/2) for i, f, o and tanh(a_g) for g, and sigma(a) = (1 + tanh(a/2)) / 2 is two passes
    over three contiguous gates: 3 calls where a sigmoid and a tanh per gate group take 6.
    Returns c' and the cache (the gates, c, tanh c') for the backward."""
    a = step_matmul(w_hh_t, h, np.empty((h.shape[0], 4 * h.shape[1], h.shape[2]), h.dtype))
    a = _by_gate(a, 4)  # (4, D, H, N): i, f, o, g
    a += gx
    np.tanh(a, out=a)
    sigmoids = a[:3]
    sigmoids *= 0.5
    sigmoids += 0.5
    i, f, o, g = a
    c_new = f * c
    c_new += i * g
    tanh_c = np.tanh(c_new)
    np.multiply(o, tanh_c, out=h_out)
    return c_new, (a, c, tanh_c)


def lstm_step_backward(dh, dc, cache, w_hh, da):
    """With dh' and dc' the gradients reaching h' and c' from later steps and outputs:
    dc' += dh' o (1 - tanh^2 c');  do = dh' tanh c';
    di = dc' g;  df = dc' c;  dg = dc' i;  dc = dc' f  (the gradient passed to the previous c);
    da_{i,f,o} = d(gate) gate (1 - gate);  da_g = dg (1 - g^2);  dh = W_hh da.
    Writes da (gate order i, f, o, g) into ``da`` (contiguous) and returns dh and dc."""
    gates, c, tanh_c = cache
    i, f, o, g = gates
    slope_c = tanh_c * tanh_c
    np.subtract(1, slope_c, out=slope_c)
    slope_c *= o
    slope_c *= dh
    dc = dc + slope_c
    np.multiply(dc, g, out=da[0])
    np.multiply(dc, c, out=da[1])
    np.multiply(dh, tanh_c, out=da[2])
    np.multiply(dc, i, out=da[3])
    slope = gates * gates
    np.subtract(gates[:3], slope[:3], out=slope[:3])  # sigma' = s - s^2 for i, f and o ...
    np.subtract(1, slope[3], out=slope[3])  # ... and tanh' = 1 - g^2 for g
    da *= slope
    return step_matmul(w_hh, _by_direction(da), np.empty(dc.shape, dc.dtype)), dc * f


def gru_step(gx, h, w_hh_t, b_hn):
    """With gx = W_ih^T x + b_ih + (b_hr, b_hz, 0) and gh = W_hh^T h, gates (r, z, n):
    r = sigma(gx_r + gh_r);  z = sigma(gx_z + gh_z);
    n = tanh(gx_n + r hn), hn = gh_n + b_hn  (r multiplies W_hn h + b_hn: PyTorch's rule);
    h' = (1 - z) n + z h = n + z (h - n).
    Returns h' and the cache (h, r and z, n, hn) for the backward."""
    gh = _by_gate(step_matmul(w_hh_t, h, np.empty((h.shape[0], 3 * h.shape[1], h.shape[2]), h.dtype)), 3)
    rz = gh[:2]
    rz += gx[:2]
    r, z = _sigmoid_(rz)
    hn = gh[2]
    if b_hn is not None:
        hn += b_hn
    n = r * hn
    n += gx[2]
    np.tanh(n, out=n)
    h_new = h - n
    h_new *= z
    h_new += n
    return h_new, (h, rz, n, hn)


def gru_step_backward(dh, cache, w_hh):
    """With dh' the gradient reaching h' = n + z (h - n):
    dn = dh' (1 - z);  dz = dh' (h - n);  da_n = dn (1 - n^2)  (a_n = gx_n + r hn);
    dr = da_n hn;  da_r = dr r (1 - r);  da_z = dz z (1 - z);
    gradient of gx: (da_r, da_z, da_n);  of gh = W_hh^T h and of b_hh: (da_r, da_z, r da_n);
    dh = dh' z + W_hh dgh.
    Returns d(gx), d(gh) and dh."""
    h, rz, n, hn = cache
    r, z = rz
    dgx = np.empty((3,) + h.shape, h.dtype)
    da_n = np.multiply(dh * (1 - z), 1 - n * n, out=dgx[2])
    np.multiply(da_n, hn, out=dgx[0])
    np.multiply(dh, h - n, out=dgx[1])
    dgx[:2] *= rz * (1 - rz)
    dgh = dgx.copy()
    dgh[2] *= r
    dh_previous = step_matmul(w_hh, _by_direction(dgh), np.empty(h.shape, h.dtype))
    dh_previous += dh * z
    return dgx, dgh, dh_previous


# ---- the layers: a whole sequence, forward loop and BPTT loop ---------------------------------
# The loops read and write one step's block at a time, so the gate arrays of a whole sequence are
# step-first, (L, G, D, H, N), each step's block contiguous: the input projections gx (see
# _input_projection) and the gate gradients (_regrouped once for the products of
# _layer_grads), and the states, (L + 1, D, H, N) with h0 at step 0 (_state_buffer).

def rnn_layer(x: Tensor, h0: Tensor, weights, nonlinearity: str = "tanh") -> Tensor:
    """An Elman RNN layer, h_t = phi(x_t W_ih + b_ih + h_(t-1) W_hh + b_hh) with phi tanh or relu,
    in one or two directions (the second reads the sequence from its end).

    ``weights`` holds one tuple ``(W_ih, W_hh, b_ih, b_hh)`` per direction (forward first; the
    biases may be None). Shapes: x ``(L, N, input)``, h0 ``(D, N, H)``, W_ih ``(input, H)``,
    W_hh ``(H, H)``, biases ``(H,)`` -> ``(L, N, D*H)``: at each t the directions' states side by
    side, the forward one after reading x_0..x_t, the reverse one after reading x_(L-1)..x_t.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> w_ih, w_hh = gn.Tensor(np.ones((1, 2))), gn.Tensor(np.zeros((2, 2)))
    >>> gn.ops.rnn_layer(gn.Tensor(np.zeros((3, 5, 1))), gn.Tensor(np.zeros((1, 5, 2))),
    ...                  [(w_ih, w_hh, None, None)]).shape
    (3, 5, 2)
    """
    w_ih, w_hh, w_hh_t, _ = _stacked_weights(weights, gates=1)
    w_hh_t = chunked(w_hh_t, x.shape[1])
    xs, gx = _input_projection(x, w_ih, _summed_biases(weights, 1), gates=1)
    length = x.shape[0]
    states = _state_buffer(h0.data, length)
    for s in range(length):
        states[s + 1] = rnn_step(gx[s], states[s], w_hh_t, nonlinearity)

    def backward(g):
        w_chunks = chunked(w_hh, x.shape[1])
        g_steps = _to_step_order(g, len(weights), step_first=True)
        da = np.empty_like(gx)  # the same for gx and for W_hh^T h: both are simply added
        dh = np.zeros_like(states[0])
        for s in reversed(range(length)):
            da[s], dh = rnn_step_backward(dh + g_steps[s], states[s + 1], w_chunks, nonlinearity)
        da = _regrouped(da)
        return _layer_grads(x, xs, w_ih, weights, da, da, dh, states)

    return Tensor._from_op(_to_time_order(_by_sequence(states[1:])), _parents(x, (h0,), weights),
                           backward, f"rnn_{nonlinearity}")


def lstm_layer(x: Tensor, h0: Tensor, c0: Tensor, weights) -> Tensor:
    """An LSTM layer (gates i, f, g, o; see :func:`lstm_step`) from the states (h0, c0), in one or
    two directions; ``weights`` as in :func:`rnn_layer` (G = 4).

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
    w_ih, w_hh, w_hh_t, biases, columns = _lstm_weights(weights, x.shape[1])
    xs, gx = _input_projection(x, w_ih * columns.scale, biases, gates=4)
    length, (directions, batch, hidden) = x.shape[0], h0.shape
    states = _state_buffer(h0.data, length)
    caches = [None] * length
    c = _columns(c0.data)
    for s in range(length):
        c, caches[s] = lstm_step(gx[s], states[s], c, w_hh_t, states[s + 1])
    out = np.empty((length + 1, batch, directions * hidden), gx.dtype)
    _to_time_order(_by_sequence(states[1:]), out=out[:length])
    out[length] = c.transpose(2, 0, 1).reshape(batch, directions * hidden)  # c_n, side by side

    def backward(g):
        w_chunks = chunked(w_hh, batch)
        dh = np.zeros_like(states[0])
        dc = g[length].reshape(batch, directions, hidden).transpose(1, 2, 0)  # dc_n, from row L
        g_steps = _to_step_order(g[:length], directions, step_first=True)
        da = np.empty_like(gx)  # step-first, like gx: see _regrouped
        for s in reversed(range(length)):
            dh, dc = lstm_step_backward(dh + g_steps[s], dc, caches[s], w_chunks, da[s])
        da = _regrouped(da)
        grads = _layer_grads(x, xs, w_ih, weights, da, da, dh, states, columns.inverse)
        return grads[:2] + (_rows(dc),) + grads[2:]  # the parents are x, h0, c0, weights...

    return Tensor._from_op(out, _parents(x, (h0, c0), weights), backward, "lstm")


def gru_layer(x: Tensor, h0: Tensor, weights) -> Tensor:
    """A GRU layer (gates r, z, n; see :func:`gru_step`) from h0, in one or two directions;
    ``weights`` as in :func:`rnn_layer` (G = 3).

    Shapes: x ``(L, N, input)``, h0 ``(D, N, H)``, W_ih ``(input, 3H)``, W_hh ``(H, 3H)``, biases
    ``(3H,)`` -> ``(L, N, D*H)``, as in :func:`rnn_layer`.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> w_ih, w_hh = gn.Tensor(np.ones((1, 6))), gn.Tensor(np.zeros((2, 6)))
    >>> gn.ops.gru_layer(gn.Tensor(np.zeros((3, 5, 1))), gn.Tensor(np.zeros((1, 5, 2))),
    ...                  [(w_ih, w_hh, None, None)]).shape
    (3, 5, 2)
    """
    w_ih, w_hh, w_hh_t, b_hn = _stacked_weights(weights, gates=3)
    w_hh_t = chunked(w_hh_t, x.shape[1])
    # b_hr and b_hz are simply added, so they join the input projection; b_hn is multiplied by r.
    xs, gx = _input_projection(x, w_ih, _summed_biases(weights, 3, hidden_bias_gates=2), gates=3)
    length = x.shape[0]
    states = _state_buffer(h0.data, length)
    caches = [None] * length
    for s in range(length):
        states[s + 1], caches[s] = gru_step(gx[s], states[s], w_hh_t, b_hn)

    def backward(g):
        w_chunks = chunked(w_hh, x.shape[1])
        g_steps = _to_step_order(g, len(weights), step_first=True)
        dgx, dgh = np.empty_like(gx), np.empty_like(gx)  # step-first, like gx: see _regrouped
        dh = np.zeros_like(states[0])
        for s in reversed(range(length)):
            dgx[s], dgh[s], dh = gru_step_backward(dh + g_steps[s], caches[s], w_chunks)
        dgx = _regrouped(dgx)
        dgh = _regrouped(dgh)
        return _layer_grads(x, xs, w_ih, weights, dgx, dgh, dh, states)

    return Tensor._from_op(_to_time_order(_by_sequence(states[1:])), _parents(x, (h0,), weights),
                           backward, "gru")


# ---- the LSTM's internal gate order ------------------------------------------------------

class _GateOrder:
    """The LSTM's internal gate columns: ``order`` picks PyTorch's columns (i, f, g, o) in the
    order (i, f, o, g), ``scale`` halves the sigmoid gates' (see :func:`lstm_step`), ``inverse``
    puts gradients back in PyTorch's order."""

    def __init__(self, hidden: int, dtype) -> None:
        self.order = np.concatenate([np.arange(k * hidden, (k + 1) * hidden) for k in (0, 1, 3, 2)])
        self.inverse = np.argsort(self.order)
        self.scale = np.ones(4 * hidden, dtype)
        self.scale[:3 * hidden] = 0.5  # a power of two: halving is exact


def _lstm_weights(weights, batch: int):
    """The LSTM's stacked weights in its internal gate order (:class:`_GateOrder`): W_ih (unhalved:
    the backward's), W_hh (unhalved, for dh = W_hh da), the step's halved W_hh^T in row chunks,
    and each direction's halved b_ih + b_hh (None without biases)."""
    w_ih, w_hh, _, _ = _stacked_weights(weights, gates=4)
    columns = _GateOrder(w_hh.shape[1], w_hh.dtype)
    w_ih, w_hh = w_ih[..., columns.order], w_hh[..., columns.order]
    w_hh_t = chunked(np.ascontiguousarray((w_hh * columns.scale).transpose(0, 2, 1)), batch)
    biases = [None if b is None else b[columns.order] * columns.scale for b in _summed_biases(weights, 4)]
    return w_ih, w_hh, w_hh_t, biases, columns
