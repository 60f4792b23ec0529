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

__all__ = ["chunked", "gru_layer", "lstm_layer", "rnn_layer", "step_matmul"]


# OpenBLAS runs a product of more than 65536 * 4 multiply-adds on all its threads. A step's product
# is small and the steps serial: waking the other thread each step gains little when idle and
# costs up to 10x on a busy machine (256x64 @ 64x64: 54 us on one thread, 150-700 us on two under
# load). So step products run as a batch of row chunks under that size: one call, one thread.
_ONE_THREAD_WORK = 65536 * 4


def chunked(w: np.ndarray, batch: int) -> np.ndarray:
    """A step's weights ``(D, M, K)`` as row chunks ``(D, C, M/C, K)`` (a view), each chunk's product
    with ``(K, batch)`` at most ``_ONE_THREAD_WORK`` multiply-adds; ``w`` itself if one will do."""
    directions, rows, inner = w.shape
    most = max(1, _ONE_THREAD_WORK // max(1, inner * batch))
    if rows <= most:
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


def lstm_step(gx, h, c, w_hh_t):
    """a = W_ih^T x + b_ih + W_hh^T h + b_hh, gates (i, f, g, o):
    i = sigma(a_i), f = sigma(a_f), g = tanh(a_g), o = sigma(a_o);
    c' = f c + i g;  h' = o tanh(c').
    Returns h', c' and the cache (the gates, c, tanh c') for the backward."""
    a = _by_gate(step_matmul(w_hh_t, h, np.empty((h.shape[0], 4 * h.shape[1], h.shape[2]), h.dtype)), 4)
    a += gx
    g = np.tanh(a[2])
    gates = _sigmoid_(a)  # i, f and o; gate g gets tanh next
    gates[2] = g
    i, f, _, o = gates
    c_new = f * c
    c_new += i * g
    tanh_c = np.tanh(c_new)
    return o * tanh_c, c_new, (gates, c, tanh_c)


def lstm_step_backward(dh, dc, cache, w_hh):
    """With dh' and dc' the gradients reaching h' and c' from later steps and outputs:
    dc' += dh' o (1 - tanh^2 c');  do = dh' tanh c';
    di = dc' g;  df = dc' c;  dg = dc' i;  dc = dc' f  (the gradient passed to the previous c);
    da_{i,f,o} = d(gate) gate (1 - gate);  da_g = dg (1 - g^2);  dh = W_hh da."""
    gates, c, tanh_c = cache
    i, f, g, o = gates
    dc = dc + dh * o * (1 - tanh_c * tanh_c)
    da = np.empty_like(gates)
    np.multiply(dc, g, out=da[0])
    np.multiply(dc, c, out=da[1])
    np.multiply(dc, i, out=da[2])
    np.multiply(dh, tanh_c, out=da[3])
    slope = gates * (1 - gates)  # sigma' = s (1 - s) for i, f and o ...
    slope[2] = 1 - g * g  # ... and tanh' = 1 - g^2 for g
    da *= slope
    return da, step_matmul(w_hh, _by_direction(da), np.empty(dc.shape, dc.dtype)), dc * f


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
# Whole sequences are laid out for the products that make or use them, direction first and time
# next to the samples: gx and the gate gradients (D, G, H, L, N), the states (D, H, L + 1, N) with
# h0 at step 0, so that (..., L*N) is a plain reshape. The loops read and write them through
# step-first views (_steps): gx_steps[s] is the (G, D, H, N) block of step s.

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
    xs, gx = _input_projection(x, w_ih, weights, gates=1)
    length = x.shape[0]
    states = _state_buffer(h0.data, length)
    gx_steps, state_steps = _steps(gx), _steps(states)
    for s in range(length):
        state_steps[s + 1] = rnn_step(gx_steps[s], state_steps[s], w_hh_t, nonlinearity)

    def backward(g):
        w_chunks = chunked(w_hh, x.shape[1])
        g_steps = _steps(_to_step_order(g, len(weights)))
        da = np.empty_like(gx)  # the same for gx and for W_hh^T h: both are simply added
        da_steps = _steps(da)
        dh = np.zeros_like(state_steps[0])
        for s in reversed(range(length)):
            da_steps[s], dh = rnn_step_backward(dh + g_steps[s], state_steps[s + 1], w_chunks, nonlinearity)
        return _layer_grads(x, xs, w_ih, weights, da, da, dh, states)

    return Tensor._from_op(_to_time_order(states[..., 1:, :]), _parents(x, (h0,), weights),
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
    w_ih, w_hh, w_hh_t, _ = _stacked_weights(weights, gates=4)
    w_hh_t = chunked(w_hh_t, x.shape[1])
    xs, gx = _input_projection(x, w_ih, weights, gates=4)
    length, (directions, batch, hidden) = x.shape[0], h0.shape
    states = _state_buffer(h0.data, length)
    gx_steps, state_steps = _steps(gx), _steps(states)
    caches = [None] * length
    c = _columns(c0.data)
    for s in range(length):
        state_steps[s + 1], c, caches[s] = lstm_step(gx_steps[s], state_steps[s], c, w_hh_t)
    out = np.empty((length + 1, batch, directions * hidden), gx.dtype)
    _to_time_order(states[..., 1:, :], out=out[:length])
    out[length] = c.transpose(2, 0, 1).reshape(batch, directions * hidden)  # c_n, side by side

    def backward(g):
        w_chunks = chunked(w_hh, batch)
        dh = np.zeros_like(state_steps[0])
        dc = g[length].reshape(batch, directions, hidden).transpose(1, 2, 0)  # dc_n, from row L
        g_steps = _steps(_to_step_order(g[:length], directions))
        da = np.empty_like(gx)
        da_steps = _steps(da)
        for s in reversed(range(length)):
            da_steps[s], dh, dc = lstm_step_backward(dh + g_steps[s], dc, caches[s], w_chunks)
        grads = _layer_grads(x, xs, w_ih, weights, da, da, dh, states)
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
    xs, gx = _input_projection(x, w_ih, weights, gates=3, hidden_bias_gates=2)
    length = x.shape[0]
    states = _state_buffer(h0.data, length)
    gx_steps, state_steps = _steps(gx), _steps(states)
    caches = [None] * length
    for s in range(length):
        state_steps[s + 1], caches[s] = gru_step(gx_steps[s], state_steps[s], w_hh_t, b_hn)

    def backward(g):
        w_chunks = chunked(w_hh, x.shape[1])
        g_steps = _steps(_to_step_order(g, len(weights)))
        dgx, dgh = np.empty_like(gx), np.empty_like(gx)
        dgx_steps, dgh_steps = _steps(dgx), _steps(dgh)
        dh = np.zeros_like(state_steps[0])
        for s in reversed(range(length)):
            dgx_steps[s], dgh_steps[s], dh = gru_step_backward(dh + g_steps[s], caches[s], w_chunks)
        return _layer_grads(x, xs, w_ih, weights, dgx, dgh, dh, states)

    return Tensor._from_op(_to_time_order(states[..., 1:, :]), _parents(x, (h0,), weights),
                           backward, "gru")


# ---- shared by the three layers: layouts, projections, parameter gradients --------------------

def _columns(state: np.ndarray) -> np.ndarray:
    """A state ``(D, N, H)`` as columns ``(D, H, N)`` (a view)."""
    return state.transpose(0, 2, 1)


def _rows(state: np.ndarray) -> np.ndarray:
    """Columns ``(D, H, N)`` back to a state ``(D, N, H)``."""
    return np.ascontiguousarray(state.transpose(0, 2, 1))


def _state_buffer(h0: np.ndarray, length: int) -> np.ndarray:
    """``(D, H, L + 1, N)``: step s + 1 gets the state after step s; step 0 holds h0."""
    directions, batch, hidden = h0.shape
    states = np.empty((directions, hidden, length + 1, batch), h0.dtype)
    states[..., 0, :] = _columns(h0)
    return states


def _steps(sequence: np.ndarray) -> np.ndarray:
    """A step-first view of a whole-sequence array: gates ``(D, G, H, L, N)`` -> ``(L, G, D, H,
    N)``; states ``(D, H, L, N)`` -> ``(L, D, H, N)``. Writing to it writes to the sequence."""
    if sequence.ndim == 5:
        return sequence.transpose(3, 1, 0, 2, 4)
    return sequence.transpose(2, 0, 1, 3)


def _to_time_order(steps: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Columns in step order ``(D, K, L, N)`` -> rows in time order ``(L, N, D*K)``, the
    directions side by side (PyTorch's output layout): the reverse direction's steps are flipped
    back. Written into ``out`` when given."""
    directions, width, length, batch = steps.shape
    if out is None:
        out = np.empty((length, batch, directions * width), steps.dtype)
    view = out.reshape(length, batch, directions, width)
    view[:, :, 0] = steps[0].transpose(1, 2, 0)
    if directions == 2:
        view[:, :, 1] = steps[1, :, ::-1].transpose(1, 2, 0)
    return out


def _to_step_order(rows: np.ndarray, directions: int) -> np.ndarray:
    """The inverse of :func:`_to_time_order`: ``(L, N, D*K)`` -> ``(D, K, L, N)``."""
    length, batch = rows.shape[0], rows.shape[1]
    view = rows.reshape(length, batch, directions, rows.shape[2] // directions)
    steps = np.empty((directions, view.shape[3], length, batch), rows.dtype)
    steps[0] = view[:, :, 0].transpose(2, 0, 1)
    if directions == 2:
        steps[1] = view[::-1, :, 1].transpose(2, 0, 1)
    return steps


def _stacked_weights(weights, gates: int):
    """The directions' weights stacked: W_ih ``(D, input, G*H)``, W_hh ``(D, H, G*H)``, W_hh^T
    ``(D, G*H, H)``, and for the GRU b_hn as columns ``(D, H, 1)`` (None without biases)."""
    w_ih = np.stack([w[0].data for w in weights])
    w_hh = np.stack([w[1].data for w in weights])
    b_hn = None
    if gates == 3 and weights[0][3] is not None:
        b_hn = np.stack([w[3].data.reshape(3, -1)[2] for w in weights])[:, :, None]
    return w_ih, w_hh, np.ascontiguousarray(w_hh.transpose(0, 2, 1)), b_hn


def _input_projection(x: Tensor, w_ih: np.ndarray, weights, gates: int, hidden_bias_gates: int | None = None):
    """gx = W_ih^T x + b_ih + b_hh for every step, gate and direction, ``(D, G, H, L, N)``, from
    one product per direction over the whole sequence. b_hh is added to the first
    ``hidden_bias_gates`` gates only (all when None): those where it is simply added to the
    pre-activation. Also returns the input as each direction reads it, ``xs (D, input, L*N)``."""
    length, batch, features = x.shape
    directions = len(weights)
    xs = _to_step_order(np.concatenate([x.data] * directions, axis=2), directions)
    xs = xs.reshape(directions, features, length * batch)
    w_ih_t = w_ih.transpose(0, 2, 1)
    if features == 1:
        # The same product as an outer product: np.matmul with an inner dimension of 1 does not
        # call BLAS and is about 10 times slower than this broadcast.
        gx = w_ih_t * xs
    else:
        gx = w_ih_t @ xs  # (D, G*H, input) @ (D, input, L*N)
    for d, (_, _, b_ih, b_hh) in enumerate(weights):
        if b_ih is not None:
            gx[d] += b_ih.data[:, None]
        if b_hh is not None:
            added = b_hh.data.reshape(gates, -1)[:hidden_bias_gates].reshape(-1, 1)
            gx[d, :len(added)] += added
    return xs, gx.reshape(directions, gates, gx.shape[1] // gates, length, batch)


def _parents(x, states, weights) -> tuple:
    return (x, *states) + tuple(p for w in weights for p in w if p is not None)


def _layer_grads(x, xs, w_ih, weights, dgx, dgh, dh0, states) -> tuple:
    """The gradients of x, h0 and the weights from the gate gradients ``(D, G, H, L, N)`` of
    every step, each from one product per direction, the sums running over steps and samples:
    dx = W_ih dgx;  dW_ih = x dgx^T;  dW_hh = h_prev dgh^T (h_prev: the state each step started
    from);  db_ih = sum of dgx;  db_hh = sum of dgh  (GRU: dgh's n gate is r da_n, the gradient
    of W_hn h + b_hn)."""
    directions, gates, hidden, length, batch = dgx.shape
    features = w_ih.shape[1]
    same = dgh is dgx  # RNN, LSTM: one array, one bias sum
    dgx = dgx.reshape(directions, gates * hidden, length * batch)
    dgh = dgh.reshape(directions, gates * hidden, length * batch)
    dx = None
    if x.requires_grad:
        dxs = (w_ih @ dgx).reshape(directions, features, length, batch)  # each direction's part of dx
        dx = _to_time_order(dxs).reshape(length, batch, directions, features).sum(axis=2)
    dw_ih = (dgx @ xs.transpose(0, 2, 1)).transpose(0, 2, 1)  # (D, input, G*H)
    previous = states[..., :length, :].reshape(directions, hidden, length * batch)  # (D, H, L*N)
    dw_hh = previous @ dgh.transpose(0, 2, 1)  # (D, H, G*H)
    db_ih = dgx.sum(axis=2)  # (D, G*H)
    db_hh = db_ih if same else dgh.sum(axis=2)
    grads = [dx, _rows(dh0)]
    for d, (_, _, b_ih, b_hh) in enumerate(weights):
        grads += [dw_ih[d], dw_hh[d]]
        if b_ih is not None:
            grads.append(db_ih[d])
        if b_hh is not None:
            grads.append(db_hh[d])
    return tuple(grads)
