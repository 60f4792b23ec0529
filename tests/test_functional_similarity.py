"""F.normalize and F.cosine_similarity against PyTorch (values and gradients, also at zero vectors
and vectors shorter than eps, where the two functions let eps into the gradient differently) and
finite differences; broadcasting as torch broadcasts; float32 stays float32; clear errors."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import glassnet as gn
from glassnet import functional as F
from glassnet import ops
from oracle import check_against_torch, check_finite_differences


# ---- ops.vector_norm, the primitive under both (every axis: tests/test_ops_reduce.py) ----------
def test_vector_norm_of_a_zero_vector_has_torch_subgradient_zero():
    x = np.array([[0.0, 0.0, 0.0], [1.0, -2.0, 2.0]])
    out = check_against_torch(lambda t: ops.vector_norm(t, 1), lambda t: torch.linalg.vector_norm(t, 2, 1), x)
    np.testing.assert_array_equal(out.data, [0.0, 3.0])
    t = gn.Tensor(x, requires_grad=True)
    ops.vector_norm(t, 1).sum().backward()
    np.testing.assert_array_equal(t.grad, [[0.0, 0.0, 0.0], [1 / 3, -2 / 3, 2 / 3]])


# ---- normalize ---------------------------------------------------------------------------------
@pytest.mark.parametrize("shape, axis", [((5,), -1), ((4, 3), -1), ((4, 3), 0), ((2, 3, 4), 1),
                                         ((2, 3, 4), -3), ((3, 1), 1)], ids=str)
def test_normalize_against_torch_and_finite_differences(shape, axis, rng):
    x = rng.normal(size=shape)
    check_finite_differences(lambda t: F.normalize(t, axis=axis), x)
    out = check_against_torch(lambda t: F.normalize(t, axis=axis), lambda t: TF.normalize(t, dim=axis), x)
    np.testing.assert_allclose(np.sqrt((out.data ** 2).sum(axis=axis)), 1.0, rtol=1e-12)
    check_against_torch(lambda t: F.normalize(t, axis=axis), lambda t: TF.normalize(t, dim=axis), x,
                        dtype=np.float32, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("eps", [1e-12, 1e-3, 0.5, 3.0])
def test_normalize_eps_enters_like_torch(eps):
    """Rows of norm 0, 1e-13, 1e-4, 1, 5: below eps the row is divided by eps and the gradient is
    1 / eps (the clamp passes nothing to the norm), above it the usual x / ||x||."""
    x = np.array([[0.0, 0.0], [6e-14, 8e-14], [6e-5, 8e-5], [0.6, -0.8], [3.0, 4.0]])
    out = check_against_torch(lambda t: F.normalize(t, eps=eps), lambda t: TF.normalize(t, dim=-1, eps=eps),
                              x, atol=1e-9, rtol=1e-9)
    expected = x / np.maximum(np.sqrt((x ** 2).sum(axis=1, keepdims=True)), eps)
    np.testing.assert_allclose(out.data, expected, rtol=1e-15, atol=0)


def test_normalize_of_a_zero_vector_is_zero_with_gradient_one_over_eps():
    x = gn.Tensor(np.zeros((1, 3)), requires_grad=True)
    y = F.normalize(x)
    np.testing.assert_array_equal(y.data, np.zeros((1, 3)))
    (y * np.array([1.0, 2.0, -1.0])).sum().backward()
    np.testing.assert_array_equal(x.grad, [[1e12, 2e12, -1e12]])


def test_normalize_keeps_float32_and_accepts_an_array():
    x = gn.Tensor(np.array([[3.0, 4.0]], dtype=np.float32), requires_grad=True)
    y = F.normalize(x)
    y.sum().backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float32
    np.testing.assert_allclose(F.normalize(np.array([[0.0, -2.0]])).data, [[0.0, -1.0]])


# ---- cosine_similarity -------------------------------------------------------------------------
BROADCAST_CASES = [  # (shape of a, shape of b, axis): torch broadcasts, then reduces `axis` of the result
    ((6, 4), (6, 4), -1),
    ((6, 4), (6, 4), 0),
    ((4,), (4,), -1),  # a 0-d result
    ((3, 1, 4), (5, 4), -1),  # every pair of 3 and 5 vectors
    ((4, 1), (3,), -1),  # axis of the broadcast shape: a's vector is [a_i, a_i, a_i]
    ((4, 1), (3,), 0),
    ((1, 4), (5, 4), 1),
    ((2, 3, 4), (3, 1), 1),
]


@pytest.mark.parametrize("shape_a, shape_b, axis", BROADCAST_CASES, ids=str)
def test_cosine_similarity_against_torch_and_finite_differences(shape_a, shape_b, axis, rng):
    a, b = rng.normal(size=shape_a), rng.normal(size=shape_b)

    def ours(x, y):
        return F.cosine_similarity(x, y, axis=axis)

    def theirs(x, y):
        return TF.cosine_similarity(x, y, dim=axis)

    check_finite_differences(ours, a, b)
    out = check_against_torch(ours, theirs, a, b)
    assert out.shape == tuple(np.delete(np.broadcast_shapes(shape_a, shape_b), axis))
    out32 = check_against_torch(ours, theirs, a, b, dtype=np.float32, atol=1e-5, rtol=1e-5)
    assert out32.dtype == np.float32


def test_cosine_similarity_values():
    a = np.array([[1.0, 0.0], [1.0, 1.0], [-2.0, 0.0], [0.0, 0.0]])
    out = F.cosine_similarity(gn.Tensor(a), np.array([3.0, 0.0]))
    np.testing.assert_allclose(out.data, [1.0, np.sqrt(0.5), -1.0, 0.0], rtol=1e-15)
    # stays within [-1, 1] for parallel vectors of large norm (each vector divided by its own norm)
    big = np.full((1, 7), 1e150)
    assert F.cosine_similarity(gn.Tensor(big), gn.Tensor(big * 3)).item() <= 1.0


@pytest.mark.parametrize("eps", [1e-8, 0.1, 2.0])
def test_cosine_similarity_eps_and_zero_vectors_like_torch(eps):
    """Zero vectors, vectors shorter than eps and ordinary ones, paired every way. PyTorch clamps
    each norm to eps under no_grad, so below eps the value uses eps but the gradient still flows
    through the norm; a zero vector gets b / (||b|| eps)."""
    rows = np.array([[0.0, 0.0, 0.0], [3e-9, -4e-9, 1e-9], [0.05, 0.02, -0.01], [1.0, 2.0, -2.0]])
    a = np.repeat(rows, 4, axis=0)
    b = np.tile(rows[::-1] * 1.5, (4, 1))
    check_against_torch(lambda x, y: F.cosine_similarity(x, y, eps=eps),
                        lambda x, y: TF.cosine_similarity(x, y, dim=-1, eps=eps), a, b, atol=1e-9, rtol=1e-9)


def test_cosine_similarity_of_a_zero_vector():
    a = gn.Tensor(np.zeros((1, 2)), requires_grad=True)
    b = gn.Tensor(np.array([[3.0, 4.0]]), requires_grad=True)
    out = F.cosine_similarity(a, b)
    np.testing.assert_array_equal(out.data, [0.0])
    out.sum().backward()
    np.testing.assert_allclose(a.grad, [[0.6e8, 0.8e8]], rtol=1e-15)
    np.testing.assert_array_equal(b.grad, [[0.0, 0.0]])


def test_cosine_similarity_broadcasts_an_array_to_the_tensor_dtype():
    a = gn.Tensor(np.array([[1.0, 2.0]], dtype=np.float32), requires_grad=True)
    out = F.cosine_similarity(a, np.array([[2.0, 4.0], [-1.0, 0.5]]))  # float64 array, (2, 2)
    assert out.dtype == np.float32 and out.shape == (2,)
    out.sum().backward()
    assert a.grad.dtype == np.float32 and a.grad.shape == (1, 2)
    np.testing.assert_allclose(out.data, [1.0, 0.0], atol=1e-7)


# ---- errors ------------------------------------------------------------------------------------
def test_errors_name_the_problem():
    x = gn.Tensor(np.ones((2, 3)))
    with pytest.raises(ValueError, match="normalize: axis 2 is out of range"):
        F.normalize(x, axis=2)
    with pytest.raises(TypeError, match="axis"):
        F.normalize(x, axis=1.5)
    for eps in (0.0, -1e-12, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="eps"):
            F.normalize(x, eps=eps)
        with pytest.raises(ValueError, match="eps"):
            F.cosine_similarity(x, x, eps=eps)
    with pytest.raises(ValueError, match="rounds to 0 in float32"):
        F.normalize(gn.Tensor(np.ones(3, np.float32)), eps=1e-50)
    with pytest.raises(ValueError, match=r"shapes \(2, 3\) and \(4,\) do not broadcast"):
        F.cosine_similarity(x, np.ones(4))
    with pytest.raises(ValueError, match="cosine_similarity: axis -3 is out of range"):
        F.cosine_similarity(x, x, axis=-3)
    with pytest.raises(TypeError, match="float64 and float32"):
        F.cosine_similarity(x, gn.Tensor(np.ones((2, 3), np.float32)))
