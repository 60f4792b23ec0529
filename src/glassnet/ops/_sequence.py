"""What the three recurrent layers of ``glassnet.ops.recurrent`` share: the layouts of whole
sequences (states as columns, gates gate-major, the directions side by side in step order),
the input projection of every step in one product, and the parameter gradients of a whole
sequence in one product each. See the layout notes at the top of ``ops/recurrent.py``."""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor


def _columns(state: np.ndarray) -> np.ndarray:
    """A state ``(D, N, H)`` as columns ``(D, H, N)`` (a view)."""
    return state.transpose(0, 2, 1)


def _rows(state: np.ndarray) -> np.ndarray:
    """Columns ``(D, H, N)`` back to a state ``(D, N, H)``."""
    return np.ascontiguousarray(state.transpose(0, 2, 1))


def _state_buffer(h0: np.ndarray, length: int) -> np.ndarray:
    """``(L + 1, D, H, N)``, step-first: ``[s + 1]`` gets the state after step s (a contiguous
    block, which the step writes and the next one reads); ``[0]`` holds h0."""
    directions, batch, hidden = h0.shape
    states = np.empty((length + 1, directions, hidden, batch), h0.dtype)
    states[0] = _columns(h0)
    return states


def _by_sequence(steps: np.ndarray) -> np.ndarray:
    """Step-first ``(L, D, K, N)`` -> ``(D, K, L, N)``, the layout of :func:`_to_time_order` (a view)."""
    return steps.transpose(1, 2, 0, 3)


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


def _to_step_order(rows: np.ndarray, directions: int, step_first: bool = False) -> np.ndarray:
    """The inverse of :func:`_to_time_order`: ``(L, N, D*K)`` -> ``(D, K, L, N)``, or with
    ``step_first`` ``(L, D, K, N)`` (each step's block contiguous, as the backward loops read it);
    the reverse direction's steps are flipped."""
    length, batch = rows.shape[0], rows.shape[1]
    view = rows.reshape(length, batch, directions, rows.shape[2] // directions)
    width = view.shape[3]
    if step_first:
        out = np.empty((length, directions, width, batch), rows.dtype)
        blocks = out
    else:
        out = np.empty((directions, width, length, batch), rows.dtype)
        blocks = out.transpose(2, 0, 1, 3)  # the same array seen step-first
    blocks[:, 0] = view[:, :, 0].transpose(0, 2, 1)
    if directions == 2:
        blocks[:, 1] = view[::-1, :, 1].transpose(0, 2, 1)
    return out


def _stacked_weights(weights, gates: int):
    """The directions' weights stacked: W_ih ``(D, input, G*H)``, W_hh ``(D, H, G*H)``, W_hh^T
    ``(D, G*H, H)``, and for the GRU b_hn as columns ``(D, H, 1)`` (None without biases)."""
    w_ih = np.stack([w[0].data for w in weights])
    w_hh = np.stack([w[1].data for w in weights])
    b_hn = None
    if gates == 3 and weights[0][3] is not None:
        b_hn = np.stack([w[3].data.reshape(3, -1)[2] for w in weights])[:, :, None]
    return w_ih, w_hh, np.ascontiguousarray(w_hh.transpose(0, 2, 1)), b_hn


def _summed_biases(weights, gates: int, hidden_bias_gates: int | None = None) -> list:
    """Per direction, b_ih plus the first ``hidden_bias_gates`` gates of b_hh (all when None):
    the parts simply added to the pre-activation. None for a direction without biases."""
    biases = []
    for _, _, b_ih, b_hh in weights:
        total = None if b_ih is None else b_ih.data.copy()
        if b_hh is not None:
            added = b_hh.data.reshape(gates, -1).copy()
            if hidden_bias_gates is not None:
                added[hidden_bias_gates:] = 0  # GRU: b_hn is multiplied by r, not added
            total = added.reshape(-1) if total is None else total + added.reshape(-1)
        biases.append(total)
    return biases


def _input_projection(x: Tensor, w_ih: np.ndarray, biases: list, gates: int):
    """gx = W_ih^T x + b for every step, gate and direction, as a step-first array ``(L, G, D, H,
    N)`` whose step blocks ``gx[s]`` are contiguous (``biases``: one (G*H,) array or None per
    direction, from :func:`_summed_biases`). Also returns the input as each direction reads it,
    ``xs (D, input, L*N)``, for the backward's products.

    One product per step and direction, batched in one ``np.matmul``: a step block of one
    product over the whole sequence, ``(G*H, L*N)``, would be rows L*N apart, and reading them
    each step (256 rows 12.8 KB apart for an LSTM of 64 units, batch 64, 50 steps) cost the
    forward step a third of its time; the products read ``x`` strided instead, input rows only."""
    length, batch, features = x.shape
    directions = len(biases)
    xs = _to_step_order(np.concatenate([x.data] * directions, axis=2), directions)
    by_step = xs.transpose(0, 2, 1, 3)  # (D, L, input, N), a view
    xs = xs.reshape(directions, features, length * batch)
    w_ih_t = w_ih.transpose(0, 2, 1)[:, None]  # (D, 1, G*H, input)
    if features == 1:
        # The same product as an outer product: np.matmul with an inner dimension of 1 does not
        # call BLAS and is about 10 times slower than this broadcast.
        gx = w_ih_t * by_step
    else:
        gx = w_ih_t @ by_step  # (D, L, G*H, N)
    for d, bias in enumerate(biases):
        if bias is not None:
            gx[d] += bias[:, None]
    hidden = gx.shape[2] // gates
    return xs, gx.reshape(directions, length, gates, hidden, batch).transpose(1, 2, 0, 3, 4)


def _regrouped(gates: np.ndarray) -> np.ndarray:
    """Step-first gate gradients ``(L, G, D, H, N)`` (shaped like the input projections gx: the
    backward loop writes each step's block whole; written straight into the products' layout,
    each block's rows would land L*N apart, ~4x the time of this one copy) -> ``(D, G*H, L*N)``,
    the layout in which every sum over steps and samples is one product (:func:`_layer_grads`).
    The caller rebinds its name to the result, so the step-first array is freed before the
    products run."""
    length, gates_, directions, hidden, batch = gates.shape
    return np.ascontiguousarray(gates.transpose(2, 1, 3, 0, 4)).reshape(directions, gates_ * hidden, length * batch)


def _parents(x, states, weights) -> tuple:
    return (x, *states) + tuple(p for w in weights for p in w if p is not None)


def _layer_grads(x, xs, w_ih, weights, dgx, dgh, dh0, states, inverse=None) -> tuple:
    """The gradients of x, h0 and the weights from the gate gradients of every step (``(D, G*H,
    L*N)``, from :func:`_regrouped`), each from one product per direction (dW_ih and dW_hh share
    one for RNN and LSTM), the sums running over steps and samples:
    dx = W_ih dgx;  dW_ih = x dgx^T;  dW_hh = h_prev dgh^T (h_prev: the state each step started
    from);  db_ih = sum of dgx;  db_hh = sum of dgh  (GRU: dgh's n gate is r da_n, the gradient
    of W_hn h + b_hn). ``inverse``: the gate columns' permutation back to PyTorch's order (LSTM)."""
    length, (directions, hidden, batch) = states.shape[0] - 1, states.shape[1:]
    features = w_ih.shape[1]
    same = dgh is dgx  # RNN, LSTM: one array, one bias sum
    dx = None
    if x.requires_grad:
        dxs = (w_ih @ dgx).reshape(directions, features, length, batch)  # each direction's part of dx
        dx = _to_time_order(dxs).reshape(length, batch, directions, features).sum(axis=2)
    # dgh @ h_prev^T, transposed after: OpenBLAS runs this long-inner-dimension product ~1.35x
    # faster with the tall operand on the left (measured: (256, 3200) x (3200, 64)). RNN and LSTM
    # (dgh is dgx) stack x over h_prev and make dW_ih and dW_hh in ONE product (LSTM-64: 1,287
    # -> 1,139 us); the GRU, two.
    previous = _by_sequence(states[:length])  # (D, H, L, N), a view
    if same:
        stacked = np.empty((directions, features + hidden, length, batch), dgx.dtype)
        stacked[:, :features] = xs.reshape(directions, features, length, batch)
        stacked[:, features:] = previous
        products = dgx @ stacked.reshape(directions, features + hidden, length * batch).transpose(0, 2, 1)
        dw_ih, dw_hh = products[..., :features], products[..., features:]  # (D, G*H, input), (D, G*H, H)
    else:
        previous = np.ascontiguousarray(previous).reshape(directions, hidden, length * batch)
        dw_ih, dw_hh = dgx @ xs.transpose(0, 2, 1), dgh @ previous.transpose(0, 2, 1)
    dw_ih = dw_ih.transpose(0, 2, 1)  # (D, input, G*H)
    dw_hh = np.ascontiguousarray(dw_hh.transpose(0, 2, 1))  # (D, H, G*H)
    # The sums over steps and samples by einsum, ~2.5x faster than ndarray.sum along rows (no
    # pairwise summation) and, unlike a product with ones (BLAS gemv), never on a second thread
    # (a threaded gemv of (384, 3200) took 11 ms on a busy 2-core machine, the sum 0.6 ms).
    db_ih = np.einsum("dij->di", dgx)  # (D, G*H)
    db_hh = db_ih if same else np.einsum("dij->di", dgh)
    if inverse is not None:
        dw_ih, dw_hh, db_ih, db_hh = (a[..., inverse] for a in (dw_ih, dw_hh, db_ih, db_hh))
    grads = [dx, _rows(dh0)]
    for d, (_, _, b_ih, b_hh) in enumerate(weights):
        grads += [dw_ih[d], dw_hh[d]]
        if b_ih is not None:
            grads.append(db_ih[d])
        if b_hh is not None:
            grads.append(db_hh[d])
    return tuple(grads)
