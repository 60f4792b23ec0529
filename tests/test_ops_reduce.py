"""Reductions (sum, mean, max, min, var, logsumexp, vector_norm) against finite differences and PyTorch, for
every kind of axis (None, int, negative, tuple) with and without keepdims."""

import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import ops
from oracle import check_against_torch, check_finite_differences


def check(fn, torch_fn, *arrays):
    check_finite_differences(fn, *arrays)
    check_against_torch(fn, torch_fn, *arrays)
    check_against_torch(fn, torch_fn, *arrays, dtype=np.float32, atol=1e-4, rtol=1e-3)


def dims(axis, ndim):
    """glassnet's axis as PyTorch's dim (None means every axis)."""
    return tuple(range(ndim)) if axis is None else axis


REDUCTIONS = {  # name: (glassnet (x, axis, keepdims), torch (t, dim, keepdim))
    "sum": (lambda x, a, k: x.sum(axis=a, keepdims=k), lambda t, d, k: t.sum(dim=d, keepdim=k)),
    "mean": (lambda x, a, k: x.mean(axis=a, keepdims=k), lambda t, d, k: t.mean(dim=d, keepdim=k)),
    "max": (lambda x, a, k: x.max(axis=a, keepdims=k), lambda t, d, k: torch.amax(t, d, k)),
    "min": (lambda x, a, k: x.min(axis=a, keepdims=k), lambda t, d, k: torch.amin(t, d, k)),
    "var": (lambda x, a, k: x.var(axis=a, keepdims=k),
            lambda t, d, k: torch.var(t, d, correction=0, keepdim=k)),
    "logsumexp": (lambda x, a, k: ops.logsumexp(x, a, k), lambda t, d, k: torch.logsumexp(t, d, k)),
    "vector_norm": (lambda x, a, k: ops.vector_norm(x, a, k), lambda t, d, k: torch.linalg.vector_norm(t, 2, d, k)),
}
AXES = [None, 0, 1, -1, (0, 2), (-1, 0), (0, 1, 2)]


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", AXES, ids=str)
@pytest.mark.parametrize("name", REDUCTIONS)
def test_reduction(name, axis, keepdims):
    fn, torch_fn = REDUCTIONS[name]
    x = np.random.default_rng(3).normal(size=(2, 3, 4))  # no ties, so max/min are smooth here
    check(lambda t: fn(t, axis, keepdims), lambda t: torch_fn(t, dims(axis, 3), keepdims), x)


@pytest.mark.parametrize("name", REDUCTIONS)
@pytest.mark.parametrize("shape", [(5,), (1, 6), (4, 1)], ids=str)
def test_reduction_small_shapes(name, shape):
    fn, torch_fn = REDUCTIONS[name]
    x = np.random.default_rng(4).normal(size=shape)
    check(lambda t: fn(t, None, False), lambda t: torch_fn(t, dims(None, len(shape)), False), x)
    check(lambda t: fn(t, -1, True), lambda t: torch_fn(t, -1, True), x)


@pytest.mark.parametrize("name", ["sum", "mean", "max", "min"])
def test_reduction_of_a_scalar_tensor(name):
    fn, torch_fn = REDUCTIONS[name]
    out = check_against_torch(lambda t: fn(t, None, False), lambda t: torch_fn(t, (), False),
                              np.array(1.5))
    assert out.shape == ()


@pytest.mark.parametrize("name, torch_fn", [("max", torch.amax), ("min", torch.amin)])
def test_max_and_min_share_the_gradient_among_ties_like_torch(name, torch_fn):
    x = np.array([[1.0, 3.0, 3.0, -2.0], [2.0, 2.0, 2.0, 2.0], [-2.0, -1.0, -2.0, 0.0]])
    for axis in [None, 0, 1, (0, 1)]:
        for keepdims in [False, True]:
            check_against_torch(lambda t: getattr(t, name)(axis=axis, keepdims=keepdims),
                                lambda t: torch_fn(t, dims(axis, 2), keepdims), x)
    y = gn.Tensor(np.array([1.0, 3.0, 3.0]), requires_grad=True)
    y.max().backward()
    np.testing.assert_array_equal(y.grad, [0.0, 0.5, 0.5])


@pytest.mark.parametrize("ddof", [0, 1, 2])
def test_var_ddof(ddof, rng):
    x = rng.normal(size=(3, 5))
    check(lambda t: t.var(axis=1, ddof=ddof), lambda t: torch.var(t, 1, correction=ddof), x)
    check(lambda t: t.var(ddof=ddof), lambda t: torch.var(t, correction=ddof), x)


def test_logsumexp_default_axis_and_large_values(rng):
    x = rng.normal(size=(3, 4)) * 1e3  # exp would overflow without the max shift
    out = check_against_torch(ops.logsumexp, lambda t: torch.logsumexp(t, -1), x)
    assert np.all(np.isfinite(out.data))
    x = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]])
    check_against_torch(ops.logsumexp, lambda t: torch.logsumexp(t, -1), x)


def test_logsumexp_of_minus_infinity_rows_like_torch():
    """A fully masked row (all -inf) gives -inf, with no RuntimeWarning."""
    x = np.array([[-np.inf, 0.0], [-np.inf, -np.inf], [-np.inf, 1.0]])
    expected = torch.logsumexp(torch.tensor(x), -1).numpy()
    np.testing.assert_array_equal(ops.logsumexp(gn.Tensor(x)).data, expected)
    np.testing.assert_array_equal(expected, [0.0, -np.inf, 1.0])


def test_mean_and_sum_values_are_exact_for_small_integers():
    x = gn.Tensor(np.arange(24.0).reshape(2, 3, 4))
    np.testing.assert_array_equal(x.sum(axis=(0, 2)).data, [60.0, 92.0, 124.0])
    np.testing.assert_array_equal(x.mean(axis=-1, keepdims=True).data.ravel(),
                                  [1.5, 5.5, 9.5, 13.5, 17.5, 21.5])
    assert x.sum().item() == 276.0


@pytest.mark.parametrize("name", ["sum", "mean", "max", "min", "var", "logsumexp", "vector_norm"])
@pytest.mark.parametrize("axis", [3, -4, (0, 3)], ids=str)
def test_axis_out_of_range_is_a_clear_error(name, axis):
    fn, _ = REDUCTIONS[name]
    x = gn.Tensor(np.ones((2, 3, 4)))
    with pytest.raises(ValueError, match="axis .* out of range .* 3 dimensions"):
        fn(x, axis, False)


def test_reduction_errors():
    with pytest.raises(ValueError, match="empty"):
        gn.Tensor(np.ones((0, 3))).max()
    with pytest.raises(ValueError, match="ddof=3"):
        gn.Tensor(np.ones((2, 3))).var(axis=1, ddof=3)
