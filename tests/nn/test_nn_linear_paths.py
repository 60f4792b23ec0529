"""The backward products with an inner dimension of 1 to 8 (ops.linear's weight gradient for a few rows,
matmul's gradients of a vector operand) call BLAS's gemm directly (ops.linalg.product): every path
gives PyTorch's gradients, a fresh array per backward, and accumulates as before (a weight used
twice, two backward calls without zero_grad, retain_graph)."""

import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import nn, ops, optim
from glassnet.ops import linalg
from oracle import check_against_torch, check_finite_differences

DTYPES = [(np.float64, 1e-12), (np.float32, 2e-5)]
# One row (2-D, 3-D and 1-D inputs), a few rows, many rows; widths that are and are not powers of 2.
X_SHAPES = [(1, 7), (1, 1, 7), (7,), (2, 7), (3, 7), (5, 7), (4, 3, 7), (40, 7)]


@pytest.mark.parametrize("x_shape", [(1, 64), (1, 1, 64), (64,), (3, 64)])
@pytest.mark.parametrize("dtype, tol", DTYPES)
def test_linear_matches_pytorch_where_the_gradient_is_large_enough_for_gemm(rng, x_shape, dtype, tol):
    arrays = rng.normal(size=x_shape), rng.normal(size=(64, 48)), rng.normal(size=48)
    check_against_torch(ops.linear, torch_linear, *arrays, dtype=dtype, atol=tol, rtol=tol)
    if dtype == np.float64:
        check_finite_differences(ops.linear, *arrays)


def torch_linear(x, w, b):
    return torch.nn.functional.linear(x, w.T, b)


@pytest.mark.parametrize("x_shape", X_SHAPES)
@pytest.mark.parametrize("out_features", [1, 16, 9])
def test_linear_gradients_match_finite_differences_for_every_batch_size(rng, x_shape, out_features):
    check_finite_differences(ops.linear, rng.normal(size=x_shape), rng.normal(size=(7, out_features)),
                             rng.normal(size=out_features))


@pytest.mark.parametrize("x_shape", X_SHAPES)
@pytest.mark.parametrize("out_features", [1, 16, 9])
@pytest.mark.parametrize("dtype, tol", DTYPES)
def test_linear_matches_pytorch_for_every_batch_size(rng, x_shape, out_features, dtype, tol):
    check_against_torch(ops.linear, torch_linear, rng.normal(size=x_shape),
                        rng.normal(size=(7, out_features)), rng.normal(size=out_features),
                        dtype=dtype, atol=tol, rtol=tol)


@pytest.mark.parametrize("dtype, tol", DTYPES)
def test_one_row_weight_gradient_is_the_outer_product_in_a_fresh_c_ordered_array(rng, dtype, tol):
    x = gn.Tensor(rng.normal(size=(1, 784)).astype(dtype))
    w = gn.Tensor(rng.normal(size=(784, 1024)).astype(dtype), requires_grad=True)
    g = rng.normal(size=(1, 1024)).astype(dtype)
    ops.linear(x, w).backward(g)
    np.testing.assert_allclose(w.grad, np.outer(x.data[0], g[0]), rtol=tol, atol=tol)
    assert w.grad.dtype == dtype and w.grad.flags.c_contiguous and w.grad.flags.owndata
    assert not np.shares_memory(w.grad, x.data) and not np.shares_memory(w.grad, g)


@pytest.mark.parametrize("dtype, tol", DTYPES)
def test_one_row_of_non_contiguous_views_gives_the_outer_product(rng, dtype, tol):
    big = rng.normal(size=(6, 10)).astype(dtype)
    x = gn.Tensor(big[2:3, ::2])                                  # (1, 5), strided
    w = gn.Tensor(rng.normal(size=(4, 5)).astype(dtype).T, requires_grad=True)  # F-ordered weight
    g = rng.normal(size=(4, 2)).astype(dtype)[:, :1].T            # (1, 4) view
    ops.linear(x, w).backward(g)
    np.testing.assert_allclose(w.grad, np.outer(x.data[0], g[0]), rtol=tol, atol=tol)


def test_a_weight_used_twice_in_one_graph_sums_both_uses(rng):
    w = gn.Tensor(rng.normal(size=(5, 5)), dtype=np.float64, requires_grad=True)
    wt = torch.tensor(w.data, requires_grad=True)
    x = rng.normal(size=(1, 5))
    ops.linear(ops.tanh(ops.linear(gn.Tensor(x, dtype=np.float64), w)), w).sum().backward()
    (torch.tanh(torch.tensor(x) @ wt) @ wt).sum().backward()
    np.testing.assert_allclose(w.grad, wt.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("rows", [1, 3])
def test_two_backward_calls_without_zero_grad_add_up(rng, rows):
    w = gn.Tensor(rng.normal(size=(6, 4)), dtype=np.float64, requires_grad=True)
    x1, x2 = rng.normal(size=(rows, 6)), rng.normal(size=(1, 6))
    ops.linear(gn.Tensor(x1, dtype=np.float64), w).sum().backward()
    first = w.grad
    kept = first.copy()
    ops.linear(gn.Tensor(x2, dtype=np.float64), w).sum().backward()
    ones = np.ones(4)
    np.testing.assert_allclose(w.grad, np.outer(x1.sum(axis=0), ones) + np.outer(x2[0], ones), rtol=1e-12)
    np.testing.assert_allclose(kept, np.outer(x1.sum(axis=0), ones), rtol=1e-12)


def test_retain_graph_backward_twice_doubles_the_gradient_and_keeps_the_first(rng):
    w = gn.Tensor(rng.normal(size=(6, 4)), dtype=np.float64, requires_grad=True)
    x = rng.normal(size=(1, 6))
    loss = ops.linear(gn.Tensor(x, dtype=np.float64), w).sum()
    loss.backward(retain_graph=True)
    first = w.grad.copy()
    w.grad = None
    loss.backward(retain_graph=True)
    np.testing.assert_array_equal(w.grad, first)
    loss.backward()
    np.testing.assert_allclose(w.grad, 2 * first, rtol=1e-12)
    np.testing.assert_allclose(first, np.outer(x[0], np.ones(4)), rtol=1e-12)


def test_steps_of_different_batch_sizes_train_as_pytorch_does(rng):
    """Batch 1, then 3, then 1 again (each weight-gradient path in turn), SGD with momentum: the
    weights follow PyTorch's step for step, and a gradient kept from one step is never rewritten."""
    ours = nn.Sequential(nn.Linear(6, 8, dtype=np.float64, rng=0), nn.ReLU(),
                         nn.Linear(8, 3, dtype=np.float64, rng=1))
    theirs = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3)).double()
    with torch.no_grad():
        for mine, other in zip(ours.parameters(), theirs.parameters()):
            other.copy_(torch.tensor(mine.data.T if mine.data.ndim == 2 else mine.data))
    opt = optim.SGD(ours.parameters(), lr=0.1, momentum=0.9)
    opt_t = torch.optim.SGD(theirs.parameters(), lr=0.1, momentum=0.9)
    kept = []
    for rows in (1, 3, 1, 2):
        x, y = rng.normal(size=(rows, 6)), rng.integers(0, 3, rows)
        loss = gn.losses.cross_entropy(ours(gn.Tensor(x, dtype=np.float64)), y)
        opt.zero_grad()
        loss.backward()
        kept.append((ours[0].weight.grad, ours[0].weight.grad.copy()))
        opt.step()
        loss_t = torch.nn.functional.cross_entropy(theirs(torch.tensor(x)), torch.tensor(y))
        opt_t.zero_grad()
        loss_t.backward()
        opt_t.step()
        for mine, other in zip(ours.parameters(), theirs.parameters()):
            expected = other.detach().numpy()
            expected = expected.T if expected.ndim == 2 else expected
            np.testing.assert_allclose(mine.data, expected, rtol=1e-10, atol=1e-12)
    for grad, snapshot in kept:
        np.testing.assert_array_equal(grad, snapshot)


def test_an_empty_batch_and_empty_features_give_zero_gradients():
    w = gn.Tensor(np.ones((3, 2)), dtype=np.float64, requires_grad=True)
    ops.linear(gn.Tensor(np.zeros((0, 3)), dtype=np.float64), w).sum().backward()
    np.testing.assert_array_equal(w.grad, np.zeros((3, 2)))
    w0 = gn.Tensor(np.ones((0, 2)), dtype=np.float64, requires_grad=True)
    ops.linear(gn.Tensor(np.zeros((1, 0)), dtype=np.float64), w0).sum().backward()
    assert w0.grad.shape == (0, 2)


@pytest.mark.parametrize("shapes", [[(5,), (5, 3)], [(4, 5), (5,)], [(1, 5), (5, 3)], [(4, 1), (1, 3)],
                                    [(2, 1, 5), (5, 3)], [(5,), (5,)], [(64,), (64, 40)], [(40, 64), (64,)],
                                    [(64, 1), (1, 40)]])
@pytest.mark.parametrize("dtype, tol", DTYPES)
def test_matmul_with_vector_or_one_row_operands_matches_pytorch(rng, shapes, dtype, tol):
    arrays = [rng.normal(size=shape) for shape in shapes]
    check_against_torch(ops.matmul, torch.matmul, *arrays, dtype=dtype, atol=tol, rtol=tol)
    if dtype == np.float64:
        check_finite_differences(ops.matmul, *arrays)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_product_is_a_fresh_c_ordered_array_for_any_layout(rng, dtype):
    a = rng.normal(size=(64, 6)).astype(dtype)[:, ::2][:, :1]  # (64, 1), strided
    b = np.asfortranarray(rng.normal(size=(1, 48)).astype(dtype))
    out = linalg.product(a, b)
    np.testing.assert_array_equal(out, a @ b)
    assert out.dtype == dtype and out.flags.c_contiguous and out.flags.owndata
    assert linalg.product(a.astype(np.float32), b.astype(np.float64)).dtype == np.float64  # NumPy's @


@pytest.mark.parametrize("rows", [2, 4, 8, 9])
@pytest.mark.parametrize("dtype, tol", DTYPES)
def test_product_of_a_few_rows_equals_numpy_for_any_layout(rng, rows, dtype, tol):
    # rows <= 8 take gemm (ops.linalg._FEW_ROWS), 9 NumPy's @: the same numbers, a fresh C array
    x = rng.normal(size=(2 * rows, 100)).astype(dtype)[::2]  # (rows, 100), strided rows
    g = np.asfortranarray(rng.normal(size=(rows, 64)).astype(dtype))
    for a, b in ((x.T, g), (np.ascontiguousarray(x.T), np.ascontiguousarray(g))):
        out = linalg.product(a, b)
        np.testing.assert_allclose(out, a.astype(np.float64) @ b.astype(np.float64), rtol=tol, atol=tol)
        assert out.dtype == dtype and out.flags.c_contiguous and out.flags.owndata
        assert not np.shares_memory(out, a) and not np.shares_memory(out, b)


@pytest.mark.parametrize("batch", [2, 4, 8])
def test_linear_weight_gradient_of_a_few_rows_matches_pytorch(rng, batch):
    arrays = rng.normal(size=(batch, 100)), rng.normal(size=(100, 64)), rng.normal(size=64)
    for dtype, tol in DTYPES:
        check_against_torch(ops.linear, torch_linear, *arrays, dtype=dtype, atol=tol, rtol=tol)


def test_product_keeps_the_result_if_gemm_writes_a_copy(monkeypatch):
    """gemm writes into the caller's array; should it ever write into a copy instead, the copy's
    values are returned (never the uninitialized array)."""
    monkeypatch.setitem(linalg._GEMM, np.dtype(np.float64),
                        lambda alpha, a, b, beta, c, overwrite_c: np.asfortranarray(alpha * (a @ b)))
    a, b = np.arange(64.0)[:, None], np.arange(40.0)[None, :]
    out = linalg.product(a, b)
    np.testing.assert_array_equal(out, a @ b)
    assert out.flags.c_contiguous and out.flags.owndata
