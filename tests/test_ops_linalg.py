"""matmul against finite differences and PyTorch: 2-D, batched, broadcast batch axes and every
1-D case NumPy defines; shape errors that name both shapes."""

import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import ops
from oracle import check_against_torch, check_finite_differences

SHAPES = {  # name: (shape of a, shape of b)
    "2-D": ((3, 4), (4, 5)),
    "2-D row times column": ((1, 4), (4, 1)),
    "batched 3-D": ((2, 3, 4), (2, 4, 5)),
    "3-D @ 2-D (broadcast)": ((2, 3, 4), (4, 5)),
    "2-D @ 3-D (broadcast)": ((3, 4), (2, 4, 5)),
    "batch axes of 1 broadcast": ((1, 3, 4), (2, 4, 5)),
    "4-D broadcast batch": ((2, 1, 3, 4), (3, 4, 2)),
    "1-D @ 2-D": ((4,), (4, 5)),
    "2-D @ 1-D": ((3, 4), (4,)),
    "1-D @ 1-D": ((4,), (4,)),
    "1-D @ 3-D": ((4,), (2, 4, 5)),
    "3-D @ 1-D": ((2, 3, 4), (4,)),
}


@pytest.mark.parametrize("name", SHAPES)
def test_matmul(name):
    shape_a, shape_b = SHAPES[name]
    rng = np.random.default_rng(11)
    a, b = rng.normal(size=shape_a), rng.normal(size=shape_b)
    matmul = lambda x, y: x @ y  # noqa: E731
    check_finite_differences(matmul, a, b)
    check_against_torch(matmul, torch.matmul, a, b)
    check_against_torch(matmul, torch.matmul, a, b, dtype=np.float32, atol=1e-4, rtol=1e-4)


def test_matmul_with_constants_on_either_side(rng):
    weight = rng.normal(size=(4, 2))
    x = rng.normal(size=(3, 4))
    check_against_torch(lambda t: t @ weight, lambda t: t @ torch.tensor(weight), x)
    check_against_torch(lambda t: x @ t, lambda t: torch.tensor(x) @ t, weight)
    check_against_torch(lambda t: ops.matmul(t, weight), lambda t: t @ torch.tensor(weight), x)
    out = gn.Tensor(x.astype(np.float32)) @ weight  # a float64 constant keeps float32
    assert out.dtype == np.float32


def test_matmul_of_a_tensor_with_itself(rng):
    x = rng.normal(size=(3, 3))
    check_finite_differences(lambda t: t @ t @ t.T, x)
    check_against_torch(lambda t: t @ t @ t.T, lambda t: t @ t @ t.T, x)


def test_matmul_values_are_exact_for_small_integers():
    a = gn.Tensor(np.arange(6.0).reshape(2, 3))
    b = gn.Tensor(np.arange(12.0).reshape(3, 4))
    np.testing.assert_array_equal((a @ b).data, [[20, 23, 26, 29], [56, 68, 80, 92]])


@pytest.mark.parametrize("shape_a, shape_b", [((3, 4), (5, 6)), ((2, 3, 4), (3, 5)),
                                              ((4,), (3, 2)), ((3, 4), (5,))], ids=str)
def test_matmul_shape_mismatch_names_both_shapes(shape_a, shape_b):
    a = gn.Tensor(np.ones(shape_a), requires_grad=True)
    with pytest.raises(ValueError, match="matmul shape mismatch") as error:
        a @ np.ones(shape_b)
    assert str(shape_a) in str(error.value) and str(shape_b) in str(error.value)


def test_matmul_batch_axes_that_do_not_broadcast():
    with pytest.raises(ValueError, match=r"\(2, 3, 4\) @ \(3, 4, 5\)"):
        gn.Tensor(np.ones((2, 3, 4))) @ gn.Tensor(np.ones((3, 4, 5)))


def test_matmul_errors_for_scalars_and_dtypes():
    with pytest.raises(ValueError, match="at least 1 dimension"):
        gn.Tensor(2.0) @ gn.Tensor(np.ones(3, np.float32))
    with pytest.raises(TypeError, match="float32 and float64"):
        gn.Tensor(np.ones((2, 2), np.float32)) @ gn.Tensor(np.ones((2, 2)))
