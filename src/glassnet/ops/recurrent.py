"""Recurrent layers as fused primitives: one op runs one layer in one direction over a whole
sequence (RNN, LSTM or GRU), and its backward is backpropagation through time (BPTT).

Why fused: a recurrence built from Tensor ops would add a dozen graph nodes per time step, and
for small hidden sizes the Python cost of those nodes is the whole run time. Here the forward loops
over time in NumPy and keeps what the backward needs; the backward loops back over time, also in
NumPy. Each cell has a forward step and a backward step, written side by side with the formulas.

The work per step is one matrix product per gate group, never one per gate:

* the input projections of every time step come first, in one product,
  ``gx[t] = x[t] @ W_ih + b_ih`` for all t at once (shape ``(L, N, G*H)``, G gates);
* each step then makes one product ``h @ W_hh`` for all G gates together;
* the backward collects the per-step gate gradients and makes dW_ih, dW_hh, the biases and dx as
  single products after the loop; inside the loop the only product is ``dgh @ W_hh^T``.

Layouts (PyTorch's gate order, transposed weights, so weights move between the libraries by a
transpose): ``W_ih (input, G*H)``, ``W_hh (H, G*H)``, ``b_ih, b_hh (G*H,)``; RNN G = 1, LSTM
G = 4 (i, f, g, o), GRU G = 3 (r, z, n). Sequences are time-major: ``x (L, N, input)``.
"""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor

__all__ = ["gru_layer", "lstm_layer", "rnn_layer"]


def _sigmoid(a: np.ndarray) -> np.ndarray:
    # sigma(a) = (1 + tanh(a/2)) / 2 is exact and, unlike 1 / (1 + e^-a), cannot overflow.
    return 0.5 * np.tanh(0.5 * a) + 0.5


# ---- the cells: one forward step and its backward step each ----------------------------------
# gx is this step's input projection x_t @ W_ih + b_ih (plus the parts of b_hh that are simply
# added), dh the gradient reaching the new state. Each backward step returns the gradient of the
# gate pre-activations (which is the gradient of gx and of h @ W_hh alike, except for GRU's n gate)
# and the gradient of the previous state.

def rnn_tanh_step(gx, h, w_hh):
    """h' = tanh(a), a = x W_ih + b_ih + h W_hh + b_hh."""
    return np.tanh(gx + h @ w_hh)


def rnn_tanh_step_backward(dh, h_new, w_hh):
    """da = dh' (1 - h'^2); dh = da W_hh^T."""
    da = dh * (1 - h_new * h_new)
    return da, da @ w_hh.T


def rnn_relu_step(gx, h, w_hh):
    """h' = max(0, a), a = x W_ih + b_ih + h W_hh + b_hh."""
    return np.maximum(gx + h @ w_hh, 0)


def rnn_relu_step_backward(dh, h_new, w_hh):
    """da = dh' [a > 0] (a > 0 exactly where h' > 0); dh = da W_hh^T."""
    da = dh * (h_new > 0)
    return da, da @ w_hh.T


def lstm_step(gx, h, c, w_hh):
    """a = x W_ih + b_ih + h W_hh + b_hh, split into the gates (i, f, g, o):
    i = sigma(a_i), f = sigma(a_f), g = tanh(a_g), o = sigma(a_o);
    c' = f c + i g;  h' = o tanh(c').
    Returns h', c' and the cache (gates with g in its block, c, tanh c') for the backward."""
    hidden = h.shape[1]
    a = gx + h @ w_hh
    gates = _sigmoid(a)  # i, f and o; block g is overwritten with tanh next
    gates[:, 2 * hidden:3 * hidden] = np.tanh(a[:, 2 * hidden:3 * hidden])
    i, f, g, o = (gates[:, k * hidden:(k + 1) * hidden] for k in range(4))
    c_new = f * c + i * g
    tanh_c = np.tanh(c_new)
    return o * tanh_c, c_new, (gates, c, tanh_c)


def lstm_step_backward(dh, dc, cache, w_hh):
    """With dh' and dc' reaching the new state (dc' from the next step only; h' adds its part):
    do = dh' tanh c';  dc' += dh' o (1 - tanh^2 c');
    di = dc' g;  df = dc' c;  dg = dc' i;  dc = dc' f;
    da_{i,f,o} = d(gate) gate (1 - gate);  da_g = dg (1 - g^2);  dh = da W_hh^T."""
    gates, c, tanh_c = cache
    hidden = c.shape[1]
    i, f, g, o = (gates[:, k * hidden:(k + 1) * hidden] for k in range(4))
    dc = dc + dh * o * (1 - tanh_c * tanh_c)
    d_gates = np.concatenate([dc * g, dc * c, dc * i, dh * tanh_c], axis=1)  # d(i, f, g, o)
    slope = gates * (1 - gates)  # sigma' = s (1 - s) for i, f and o
    slope[:, 2 * hidden:3 * hidden] = 1 - g * g  # tanh' = 1 - g^2 for g
    da = d_gates * slope
    return da, da @ w_hh.T, dc * f


def gru_step(gx, h, w_hh, b_hn):
    """With gx = x W_ih + b_ih + (b_hr, b_hz, 0) and gh = h W_hh, split into (r, z, n) blocks:
    r = sigma(gx_r + gh_r);  z = sigma(gx_z + gh_z);
    n = tanh(gx_n + r (gh_n + b_hn))   (r multiplies W_hn h + b_hn: PyTorch's, cuDNN's rule);
    h' = (1 - z) n + z h.
    Returns h' and the cache (r and z, n, gh_n + b_hn) for the backward."""
    hidden = h.shape[1]
    gh = h @ w_hh
    rz = _sigmoid(gx[:, :2 * hidden] + gh[:, :2 * hidden])
    r, z = rz[:, :hidden], rz[:, hidden:]
    hn = gh[:, 2 * hidden:] + b_hn if b_hn is not None else gh[:, 2 * hidden:]
    n = np.tanh(gx[:, 2 * hidden:] + r * hn)
    return n + z * (h - n), (rz, n, hn)


def gru_step_backward(dh, h, cache, w_hh):
    """With dh' reaching h' = (1 - z) n + z h:
    dn = dh' (1 - z);  dz = dh' (h - n);  dh = dh' z + dgh W_hh^T;
    da_n = dn (1 - n^2) (a_n = gx_n + r hn);  dr = da_n hn;
    da_r = dr r (1 - r);  da_z = dz z (1 - z);
    gradient of gx: (da_r, da_z, da_n);  of gh = h W_hh: (da_r, da_z, da_n r), also that of b_hn.
    Returns d(gx), d(gh) and dh."""
    rz, n, hn = cache
    hidden = n.shape[1]
    r, z = rz[:, :hidden], rz[:, hidden:]
    da_n = dh * (1 - z) * (1 - n * n)
    da_rz = np.concatenate([da_n * hn, dh * (h - n)], axis=1) * (rz * (1 - rz))
    dgx = np.concatenate([da_rz, da_n], axis=1)
    dgh = np.concatenate([da_rz, da_n * r], axis=1)
    return dgx, dgh, dh * z + dgh @ w_hh.T


# ---- the layers: a whole sequence, forward loop and BPTT loop ---------------------------------

def rnn_layer(x: Tensor, h0: Tensor, weight_ih: Tensor, weight_hh: Tensor, bias_ih: Tensor | None,
              bias_hh: Tensor | None, reverse: bool = False, nonlinearity: str = "tanh") -> Tensor:
    """An Elman RNN layer over a sequence: h_t = phi(x_t W_ih + b_ih + h_(t-1) W_hh + b_hh), phi
    tanh or relu, from h0; with ``reverse`` the sequence is read from its end (t = L-1 first).

    Shapes: x ``(L, N, input)``, h0 ``(N, H)``, W_ih ``(input, H)``, W_hh ``(H, H)``, biases
    ``(H,)`` (or None) -> the states ``(L, N, H)``, row t the state after reading x_t (so h_n is
    row L-1, or row 0 with ``reverse``).

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> w_ih, w_hh = gn.Tensor(np.ones((1, 2))), gn.Tensor(np.zeros((2, 2)))
    >>> gn.ops.rnn_layer(gn.Tensor(np.zeros((3, 1, 1))), gn.Tensor(np.zeros((1, 2))),
    ...                  w_ih, w_hh, None, None).shape
    (3, 1, 2)
    """
    step, step_backward = {"tanh": (rnn_tanh_step, rnn_tanh_step_backward),
                           "relu": (rnn_relu_step, rnn_relu_step_backward)}[nonlinearity]
    w_hh = weight_hh.data
    gx = _input_projection(x, weight_ih, bias_ih, bias_hh)
    steps = range(len(gx) - 1, -1, -1) if reverse else range(len(gx))
    out = np.empty(gx.shape, gx.dtype)
    h = h0.data
    for t in steps:
        h = out[t] = step(gx[t], h, w_hh)

    def backward(g):
        da = np.empty_like(gx)  # the same for gx and for h W_hh: both are simply added
        dh = np.zeros_like(h0.data)
        for t in reversed(steps):
            da[t], dh = step_backward(dh + g[t], out[t], w_hh)
        return _layer_grads(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, da, da, dh,
                            _previous_states(out, h0.data, reverse))

    return Tensor._from_op(out, _parents(x, h0, weight_ih, weight_hh, bias_ih, bias_hh),
                           backward, f"rnn_{nonlinearity}")


def lstm_layer(x: Tensor, h0: Tensor, c0: Tensor, weight_ih: Tensor, weight_hh: Tensor,
               bias_ih: Tensor | None, bias_hh: Tensor | None, reverse: bool = False) -> Tensor:
    """An LSTM layer over a sequence (gates i, f, g, o; see :func:`lstm_step`), from (h0, c0);
    with ``reverse`` the sequence is read from its end.

    The op has one output, so it returns the hidden states and the final cell state together:
    shape ``(L + 1, N, H)``, rows 0..L-1 the hidden states h_t (row t after reading x_t) and
    row L the cell state c_n. Split it with indexing; a gradient may reach either part.

    Shapes: x ``(L, N, input)``, h0 and c0 ``(N, H)``, W_ih ``(input, 4H)``, W_hh ``(H, 4H)``,
    biases ``(4H,)`` (or None).

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> w_ih, w_hh = gn.Tensor(np.ones((1, 8))), gn.Tensor(np.zeros((2, 8)))
    >>> zeros = gn.Tensor(np.zeros((1, 2)))
    >>> gn.ops.lstm_layer(gn.Tensor(np.zeros((3, 1, 1))), zeros, zeros, w_ih, w_hh, None, None).shape
    (4, 1, 2)
    """
    w_hh = weight_hh.data
    gx = _input_projection(x, weight_ih, bias_ih, bias_hh)
    length, batch, hidden = gx.shape[0], gx.shape[1], w_hh.shape[0]
    steps = range(length - 1, -1, -1) if reverse else range(length)
    out = np.empty((length + 1, batch, hidden), gx.dtype)
    caches = [None] * length
    h, c = h0.data, c0.data
    for t in steps:
        h, c, caches[t] = lstm_step(gx[t], h, c, w_hh)
        out[t] = h
    out[length] = c

    def backward(g):
        da = np.empty_like(gx)
        dh, dc = np.zeros_like(h0.data), g[length]  # dc_n is the gradient of the last row
        for t in reversed(steps):
            da[t], dh, dc = lstm_step_backward(dh + g[t], dc, caches[t], w_hh)
        grads = _layer_grads(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, da, da, dh,
                             _previous_states(out[:length], h0.data, reverse))
        # _layer_grads returns (dx, dh0, dW_ih, dW_hh, biases...); dc0 goes after dh0.
        return grads[:2] + (dc,) + grads[2:]

    parents = _parents(x, h0, weight_ih, weight_hh, bias_ih, bias_hh)
    return Tensor._from_op(out, parents[:2] + (c0,) + parents[2:], backward, "lstm")


def gru_layer(x: Tensor, h0: Tensor, weight_ih: Tensor, weight_hh: Tensor, bias_ih: Tensor | None,
              bias_hh: Tensor | None, reverse: bool = False) -> Tensor:
    """A GRU layer over a sequence (gates r, z, n; see :func:`gru_step`), from h0; with
    ``reverse`` the sequence is read from its end.

    Shapes: x ``(L, N, input)``, h0 ``(N, H)``, W_ih ``(input, 3H)``, W_hh ``(H, 3H)``, biases
    ``(3H,)`` (or None) -> the states ``(L, N, H)``, row t after reading x_t.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> w_ih, w_hh = gn.Tensor(np.ones((1, 6))), gn.Tensor(np.zeros((2, 6)))
    >>> gn.ops.gru_layer(gn.Tensor(np.zeros((3, 1, 1))), gn.Tensor(np.zeros((1, 2))),
    ...                  w_ih, w_hh, None, None).shape
    (3, 1, 2)
    """
    w_hh = weight_hh.data
    hidden = w_hh.shape[0]
    # b_hr and b_hz are simply added, so they join the input projection; b_hn is multiplied by r.
    b_hn = bias_hh.data[2 * hidden:] if bias_hh is not None else None
    gx = _input_projection(x, weight_ih, bias_ih, bias_hh, added=2 * hidden)
    steps = range(len(gx) - 1, -1, -1) if reverse else range(len(gx))
    out = np.empty((len(gx), gx.shape[1], hidden), gx.dtype)
    caches = [None] * len(gx)
    h = h0.data
    for t in steps:
        h, caches[t] = gru_step(gx[t], h, w_hh, b_hn)
        out[t] = h

    def backward(g):
        previous = _previous_states(out, h0.data, reverse)
        dgx, dgh = np.empty_like(gx), np.empty_like(gx)
        dh = np.zeros_like(h0.data)
        for t in reversed(steps):
            dgx[t], dgh[t], dh = gru_step_backward(dh + g[t], previous[t], caches[t], w_hh)
        return _layer_grads(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, dgx, dgh, dh, previous)

    return Tensor._from_op(out, _parents(x, h0, weight_ih, weight_hh, bias_ih, bias_hh),
                           backward, "gru")


# ---- shared by the three layers ---------------------------------------------------------------

def _input_projection(x: Tensor, weight_ih: Tensor, bias_ih, bias_hh, added=None) -> np.ndarray:
    """gx[t] = x_t W_ih + b_ih + b_hh for every t, in one product: shape ``(L, N, G*H)``.
    Only the first ``added`` entries of b_hh are added (all when None): those are the gates where
    b_hh is simply added to the pre-activation."""
    length, batch, features = x.shape
    gx = (x.data.reshape(length * batch, features) @ weight_ih.data).reshape(length, batch, -1)
    if bias_ih is not None:
        gx += bias_ih.data
    if bias_hh is not None:
        if added is None:
            gx += bias_hh.data
        else:
            gx[:, :, :added] += bias_hh.data[:added]
    return gx


def _previous_states(states: np.ndarray, h0: np.ndarray, reverse: bool) -> np.ndarray:
    """previous[t]: the state that step t started from (h0 for the first step read)."""
    if reverse:
        return np.concatenate([states[1:], h0[None]])
    return np.concatenate([h0[None], states[:-1]])


def _parents(x, h0, weight_ih, weight_hh, bias_ih, bias_hh) -> tuple:
    return tuple(p for p in (x, h0, weight_ih, weight_hh, bias_ih, bias_hh) if p is not None)


def _layer_grads(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, dgx, dgh, dh0, previous) -> tuple:
    """The gradients of the parents from the per-step gate gradients, each in one product:
    dx_t = dgx_t W_ih^T;  dW_ih = sum_t x_t^T dgx_t;  dW_hh = sum_t h_(t-1)^T dgh_t;
    db_ih = sum of dgx;  db_hh = sum of dgh (GRU: dgh's n block holds r * da_n, b_hn's gradient)."""
    length, batch, features = x.shape
    gates = dgx.shape[2]
    dgx_rows, dgh_rows = dgx.reshape(-1, gates), dgh.reshape(-1, gates)
    dx = (dgx_rows @ weight_ih.data.T).reshape(x.shape) if x.requires_grad else None
    grads = [dx, dh0,
             x.data.reshape(length * batch, features).T @ dgx_rows,
             previous.reshape(length * batch, -1).T @ dgh_rows]
    if bias_ih is not None:
        grads.append(dgx_rows.sum(axis=0))
    if bias_hh is not None:
        grads.append(dgh_rows.sum(axis=0))
    return tuple(grads)
