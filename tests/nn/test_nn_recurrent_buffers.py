"""The buffer and product paths of ops/recurrent.py: the per-sequence
buffers are fresh per call and per backward (two calls of different shapes, a graph kept alive
with retain_graph while another forward and backward run), and the row-chunked step products
(sizes where the chunks are more than one) match PyTorch, float32 and float64."""

import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import nn
from glassnet.ops.recurrent import chunked, step_matmul

KINDS = {"RNN": (nn.RNN, torch.nn.RNN), "LSTM": (nn.LSTM, torch.nn.LSTM), "GRU": (nn.GRU, torch.nn.GRU)}
TORCH_DTYPE = {np.float32: torch.float32, np.float64: torch.float64}
TOLERANCE = {np.float32: {"atol": 2e-5, "rtol": 1e-4}, np.float64: {"atol": 1e-10, "rtol": 1e-8}}


def make_pair(kind, input_size, hidden_size, dtype, **options):
    ours = KINDS[kind][0](input_size, hidden_size, dtype=dtype, rng=0, **options)
    theirs = KINDS[kind][1](input_size, hidden_size, batch_first=True, dtype=TORCH_DTYPE[dtype], **options)
    with torch.no_grad():
        for name, parameter in theirs.named_parameters():
            parameter.copy_(torch.tensor(getattr(ours, name).data.T))
    return ours, theirs


def run_both(ours, theirs, x, seed):
    """Forward both, backward a fixed random weighting of the outputs (output and final states);
    returns the input gradients and the parameter gradients, ours transposed to PyTorch's layout."""
    our_x, their_x = gn.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    our_outputs, their_outputs = _flat(ours(our_x)), _flat(theirs(their_x))
    rng = np.random.default_rng(seed)
    weights = [rng.normal(size=o.shape).astype(x.dtype) for o in our_outputs]
    for ours_out, theirs_out in zip(our_outputs, their_outputs):
        np.testing.assert_allclose(ours_out.data, theirs_out.detach().numpy(), **TOLERANCE[x.dtype.type])
    for p in ours.parameters():
        p.grad = None
    sum((o * gn.Tensor(w)).sum() for o, w in zip(our_outputs, weights)).backward()
    sum((o * torch.tensor(w)).sum() for o, w in zip(their_outputs, weights)).backward()
    return our_x, their_x


def _flat(result):
    output, final = result
    return [output, *final] if isinstance(final, tuple) else [output, final]


def assert_gradients_match(ours, theirs, our_x, their_x, dtype):
    np.testing.assert_allclose(our_x.grad, their_x.grad.numpy(), **TOLERANCE[dtype])
    for name, parameter in theirs.named_parameters():
        np.testing.assert_allclose(getattr(ours, name).grad.T, parameter.grad.numpy(), **TOLERANCE[dtype],
                                   err_msg=name)
        parameter.grad = None


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", KINDS)
def test_consecutive_calls_of_different_batch_and_length_match_torch(kind, dtype):
    # hidden 40, batch 70: the step products run in several row chunks (see test_chunked_...).
    ours, theirs = make_pair(kind, 5, 40, dtype, bidirectional=True)
    rng = np.random.default_rng(0)
    for batch, length in ((70, 9), (3, 4), (70, 9), (1, 1)):
        x = rng.normal(size=(batch, length, 5)).astype(dtype)
        our_x, their_x = run_both(ours, theirs, x, seed=batch + length)
        assert_gradients_match(ours, theirs, our_x, their_x, dtype)


@pytest.mark.parametrize("kind", KINDS)
def test_a_retained_graph_survives_another_forward_and_backward(kind):
    # Graph A is kept (retain_graph), graph B of another shape runs forward and backward, then A's
    # backward runs again: its buffers (gates, states) must not have been reused by B.
    dtype = np.float64
    ours, theirs = make_pair(kind, 4, 33, dtype, num_layers=2)
    rng = np.random.default_rng(1)
    x_a, x_b = rng.normal(size=(50, 6, 4)), rng.normal(size=(7, 11, 4))
    our_a, their_a = gn.Tensor(x_a, requires_grad=True), torch.tensor(x_a, requires_grad=True)
    loss_a = (ours(our_a)[0] ** 2).sum()
    their_loss_a = (theirs(their_a)[0] ** 2).sum()
    loss_a.backward(retain_graph=True)
    first = {name: p.grad.copy() for name, p in ours.named_parameters()}
    our_b, their_b = run_both(ours, theirs, x_b, seed=5)  # B: forward and backward in between
    assert_gradients_match(ours, theirs, our_b, their_b, dtype)
    for p in ours.parameters():
        p.grad = None
    our_a.grad = None
    loss_a.backward()
    their_loss_a.backward()
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, first[name], atol=1e-12, err_msg=name)
    assert_gradients_match(ours, theirs, our_a, their_a, dtype)


@pytest.mark.parametrize("rows, inner, batch, chunks", [(256, 64, 64, 4), (384, 128, 64, 12), (12, 3, 5, 1),
                                                         (8, 2, 0, 1), (6, 300, 1000, 6),
                                                         (1024, 256, 64, 1)])  # over _THREADED_WORK: whole
def test_chunked_step_products_equal_one_product(rows, inner, batch, chunks):
    rng = np.random.default_rng(2)
    w = rng.normal(size=(2, rows, inner))
    h = rng.normal(size=(2, inner, batch + 3))[..., 1:batch + 1]  # a strided view, as the loops pass
    w_chunks = chunked(w, batch)
    if chunks == 1:
        assert w_chunks is w  # small enough: one plain product
    else:
        assert w_chunks.shape == (2, chunks, rows // chunks, inner)
        assert np.shares_memory(w_chunks, w)  # a view: no copy per call
        assert w_chunks.shape[2] * inner * batch <= 65536 * 4 or w_chunks.shape[2] == 1
    out = np.full((2, rows, batch), np.nan)
    assert step_matmul(w_chunks, h, out) is out
    np.testing.assert_allclose(out, w @ h, rtol=1e-12, atol=1e-12)
