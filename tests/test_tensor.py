"""Tensor semantics: dtypes (float32 by default, no silent upcast), gradient accumulation,
backward's arguments and errors, no_grad, detach, graph freeing, aliasing and deep graphs."""

import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import ops
from oracle import check_against_torch


# ---- dtypes -------------------------------------------------------------------------------------
@pytest.mark.parametrize("data, dtype", [
    ([1.0, 2.0], np.float32),
    ([1, 2], np.float32),
    ([[True, False]], np.float32),
    (3.0, np.float32),
    (3, np.float32),
    (np.arange(3), np.float32),
    (np.arange(3, dtype=np.uint8), np.float32),
    (np.ones(2, np.float16), np.float32),
    (np.ones(2, np.float32), np.float32),
    (np.ones(2, np.float64), np.float64),
    (np.float64(2.5), np.float64),
    (np.float32(2.5), np.float32),
], ids=lambda v: type(v).__name__ if not isinstance(v, type) else v.__name__)
def test_dtype_of_a_new_tensor(data, dtype):
    x = gn.Tensor(data)
    assert x.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(x.data, np.asarray(data, dtype=dtype))


def test_float_arrays_are_kept_without_a_copy():
    array = np.ones((2, 3))
    x = gn.Tensor(array)
    assert x.data is array
    assert x.numpy() is array


def test_forced_dtype_and_bad_dtypes():
    assert gn.Tensor([1, 2], dtype="float64").dtype == np.float64
    assert gn.Tensor(np.ones(2), dtype=np.float32).dtype == np.float32
    assert gn.tensor([1.0], requires_grad=True, dtype=np.float64).requires_grad
    with pytest.raises(TypeError, match="float32 or float64, got int32"):
        gn.Tensor([1, 2], dtype=np.int32)
    with pytest.raises(TypeError, match="cannot make a Tensor"):
        gn.Tensor(np.array(["a", "b"]))
    with pytest.raises(TypeError, match="cannot make a Tensor"):
        gn.Tensor("text")


CONSTANT_OPS = {  # a float32 tensor combined with a constant stays float32
    "x + 1.5": lambda x: x + 1.5,
    "1.5 - x": lambda x: 1.5 - x,
    "2 * x": lambda x: 2 * x,
    "x / np.float64(3)": lambda x: x / np.float64(3.0),
    "np.float64(3) * x": lambda x: np.float64(3.0) * x,
    "x + float64 array": lambda x: x + np.ones(3),
    "float64 array * x": lambda x: np.ones(3) * x,
    "float64 array - x": lambda x: np.ones(3) - x,
    "x * int array": lambda x: x * np.arange(3),
    "x ** 2": lambda x: x ** 2,
    "x ** np.float64(0.5)": lambda x: (x * x + 1.0) ** np.float64(0.5),
    "2.0 ** x": lambda x: 2.0 ** x,
    "x @ float64 matrix": lambda x: x @ np.ones((3, 2)),
    "maximum(x, 0.0)": lambda x: gn.maximum(x, 0.0),
    "minimum(float64 array, x)": lambda x: gn.minimum(np.zeros(3), x),
    "where(c, x, 0.0)": lambda x: gn.where(x.data > 0, x, 0.0),
    "concatenate with float64 array": lambda x: gn.concatenate([x, np.ones(3)]),
    "stack with float64 array": lambda x: gn.stack([np.ones(3), x]),
    "clip(np.float64)": lambda x: x.clip(np.float64(-0.5), np.float64(0.5)),
    "mean and var": lambda x: x.mean() + x.var(),
    "sum * 0.5": lambda x: x.sum() * 0.5,
}


@pytest.mark.parametrize("name", CONSTANT_OPS)
def test_no_silent_upcast(name):
    x = gn.Tensor(np.array([0.5, -1.0, 2.0], np.float32), requires_grad=True)
    out = CONSTANT_OPS[name](x)
    assert out.dtype == np.float32
    out.backward(np.ones(out.shape, np.float32))
    assert x.grad.dtype == np.float32


@pytest.mark.parametrize("op", [
    lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b, lambda a, b: a / b,
    lambda a, b: a ** b, lambda a, b: a @ b, gn.maximum, gn.minimum,
    lambda a, b: gn.where(np.ones(3, bool), a, b),
])
def test_tensors_of_different_dtypes_do_not_mix(op):
    a = gn.Tensor(np.ones(3, np.float32))
    b = gn.Tensor(np.ones(3, np.float64))
    with pytest.raises(TypeError, match="dtype mismatch: float32 and float64"):
        op(a, b)


# ---- gradients: accumulation, upstream gradients ------------------------------------------------
def test_a_tensor_used_twice_gets_both_contributions():
    x = gn.Tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
    (x * x + x).sum().backward()  # d/dx (x^2 + x) = 2x + 1
    np.testing.assert_array_equal(x.grad, [3.0, -3.0, 7.0])
    check_against_torch(lambda t: (t * t.exp() + t).sum(), lambda t: (t * t.exp() + t).sum(),
                        np.array([0.3, -1.2]))


def test_diamond_graph_accumulates_through_both_paths():
    x = gn.Tensor(np.array([0.5, 2.0]), requires_grad=True)
    y = x * 3.0
    z = y.exp() + y * y  # y feeds two branches that meet again
    z.sum().backward()
    np.testing.assert_allclose(x.grad, 3.0 * (np.exp(3.0 * x.data) + 2 * 3.0 * x.data))


def test_backward_on_separate_graphs_accumulates_in_grad():
    x = gn.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    (x * 2.0).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0 + 2.0, 2.0 + 4.0])
    x.zero_grad()
    assert x.grad is None
    (x * 5.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [5.0, 5.0])


def test_backward_with_an_upstream_gradient():
    x = gn.Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    (x * x).backward(np.array([1.0, 0.5, -1.0]))
    np.testing.assert_array_equal(x.grad, [2.0, 2.0, -6.0])
    x.zero_grad()
    (x * 3.0).backward(gn.Tensor(np.array([1.0, 1.0, 2.0])))  # a Tensor works too
    np.testing.assert_array_equal(x.grad, [3.0, 3.0, 6.0])
    x.zero_grad()
    (x * 3.0).backward([1, 1, 1])  # and a list, cast to the tensor's dtype
    assert x.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad, [3.0, 3.0, 3.0])


def test_backward_on_a_leaf_and_on_a_one_element_tensor():
    x = gn.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    upstream = np.array([4.0, 5.0])
    x.backward(upstream)
    upstream[0] = 100.0  # the leaf's gradient is a copy, not the caller's array
    np.testing.assert_array_equal(x.grad, [4.0, 5.0])
    y = gn.Tensor(np.array([[3.0]]), requires_grad=True)
    (y * y).backward()  # one element of shape (1, 1): the implicit gradient is 1
    np.testing.assert_array_equal(y.grad, [[6.0]])


def test_backward_errors():
    x = gn.Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"scalar output, got shape \(2, 3\)"):
        (x * 2.0).backward()
    with pytest.raises(ValueError, match=r"needs shape \(2, 3\).*got \(3,\)"):
        (x * 2.0).backward(np.ones(3))
    with pytest.raises(RuntimeError, match="does not require grad"):
        gn.Tensor(np.ones(3)).sum().backward()
    with pytest.raises(RuntimeError, match="does not require grad"):
        (gn.Tensor(np.ones(3)) * 2.0).sum().backward()


def test_gradient_flows_only_to_tensors_that_require_it():
    a = gn.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    b = gn.Tensor(np.array([3.0, 4.0]))
    (a * b).sum().backward()
    np.testing.assert_array_equal(a.grad, [3.0, 4.0])
    assert b.grad is None


# ---- graph lifetime --------------------------------------------------------------------------------
def test_second_backward_through_a_freed_graph_raises():
    x = gn.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x * x
    loss = y.sum()
    loss.backward()
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        loss.backward()
    with pytest.raises(RuntimeError, match="second time"):
        (y * 3.0).sum().backward()  # a new graph that runs into the freed part
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])  # untouched by the failed calls


def test_retain_graph_allows_a_second_backward_that_accumulates():
    x = gn.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    loss = (x * x * x).sum()
    loss.backward(retain_graph=True)
    loss.backward(retain_graph=True)
    np.testing.assert_array_equal(x.grad, 2 * 3 * x.data ** 2)
    loss.backward()  # the last call may free the graph
    np.testing.assert_array_equal(x.grad, 3 * 3 * x.data ** 2)


def test_backward_frees_the_graph():
    x = gn.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x.exp()
    loss = (y * 2.0).sum()
    loss.backward()
    assert y._parents == () and loss._parents == ()
    assert not y.is_leaf  # still an op output, just without its history
    assert x.is_leaf


def test_leaf_gradients_are_not_aliased():
    a = gn.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    b = gn.Tensor(np.array([3.0, 4.0]), requires_grad=True)
    (a + b).sum().backward()  # add hands the same array to both inputs
    a.grad += 10.0
    np.testing.assert_array_equal(b.grad, [1.0, 1.0])
    c = gn.Tensor(np.array([[1.0, 2.0]]), requires_grad=True)
    d = gn.Tensor(np.array([5.0]), requires_grad=True)
    (c * 1.0 + d).sum().backward()  # sum's gradient is a broadcast view: it must be copied
    c.grad[0, 0] = -1.0
    np.testing.assert_array_equal(c.grad, [[-1.0, 1.0]])
    np.testing.assert_array_equal(d.grad, [2.0])


def test_deep_chain_has_no_recursion_limit():
    x = gn.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0001 + 0.5
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [1.0001 ** 5000] * 2, rtol=1e-10)
    z = x
    for _ in range(5000):  # a deep graph that is dropped without backward
        z = z + 1.0
    del z


# ---- no_grad, detach, Parameter ------------------------------------------------------------------
def test_no_grad_records_no_graph():
    w = gn.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    assert gn.is_grad_enabled()
    with gn.no_grad():
        assert not gn.is_grad_enabled()
        y = (w * 2.0).exp().sum()
        with gn.no_grad():
            pass
        assert not gn.is_grad_enabled()  # a nested block restores the outer state
    assert gn.is_grad_enabled()
    assert not y.requires_grad and y._parents == () and y.is_leaf
    np.testing.assert_allclose(y.item(), np.exp(2.0) + np.exp(4.0))
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()


def test_no_grad_restores_grad_mode_after_an_exception():
    with pytest.raises(ValueError):
        with gn.no_grad():
            raise ValueError("inside")
    assert gn.is_grad_enabled()


def test_detach_shares_values_and_blocks_gradient():
    x = gn.Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and d.data is x.data
    (d * x).sum().backward()  # the detached factor is a constant
    np.testing.assert_array_equal(x.grad, [1.0, 2.0, 3.0])


def test_parameter_requires_grad():
    p = gn.Parameter(np.ones(3))
    assert p.requires_grad and p.is_leaf and isinstance(p, gn.Tensor)
    assert repr(p).startswith("Parameter(")


# ---- values out: numpy(), item(), comparisons ---------------------------------------------------
def test_numpy_and_item():
    x = gn.Tensor(np.array([[1.5, 2.0]]))
    assert isinstance(x.numpy(), np.ndarray) and x.numpy() is x.data
    total = x.sum()
    assert isinstance(total.item(), float) and total.item() == 3.5
    assert isinstance(total.numpy(), np.ndarray) and total.numpy().shape == ()
    assert gn.Tensor(np.array([[7.0]])).item() == 7.0
    with pytest.raises(ValueError, match=r"one element, got shape \(1, 2\)"):
        x.item()


def test_zero_dimensional_results_are_arrays():
    x = gn.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    for out in [x.sum(), x.mean(), x @ x, x.sum().exp(), x.max() * 2.0]:
        assert isinstance(out.data, np.ndarray) and out.shape == ()
    s = gn.Tensor(2.0, requires_grad=True)
    (s * s).backward()
    assert isinstance(s.grad, np.ndarray) and s.grad.shape == () and s.grad == 4.0


COMPARISONS = {
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b,
}


@pytest.mark.parametrize("name", COMPARISONS)
def test_comparisons_return_bool_and_no_gradient(name):
    compare = COMPARISONS[name]
    values = np.array([1.0, 2.0, 3.0])
    x = gn.Tensor(values, requires_grad=True)
    for other in [2.0, np.array([3.0, 2.0, 1.0]), gn.Tensor(np.array([3.0, 2.0, 1.0]))]:
        out = compare(x, other)
        other_values = other.data if isinstance(other, gn.Tensor) else other
        assert out.dtype == np.bool_ and not out.requires_grad and out._parents == ()
        np.testing.assert_array_equal(out.data, compare(values, other_values))
        np.testing.assert_array_equal(out.data, compare(torch.tensor(values),
                                                        torch.tensor(other_values)).numpy())


def test_truth_value():
    assert bool(gn.Tensor([1.0]) > 0)
    assert not bool(gn.Tensor(0.0))
    with pytest.raises(ValueError, match="ambiguous"):
        bool(gn.Tensor([1.0, 2.0]) > 0)


def test_properties_and_repr():
    x = gn.Tensor(np.zeros((2, 3, 4)))
    assert (x.shape, x.ndim, x.size, len(x), x.dtype) == ((2, 3, 4), 3, 24, 2, np.float64)
    assert repr(gn.Tensor([1.0, 2.0], requires_grad=True)) == "Tensor([1., 2.], requires_grad=True)"
    assert "dtype=float64" in repr(x)


def test_ops_on_arrays_need_a_tensor():
    with pytest.raises(TypeError, match="at least one operand must be a Tensor"):
        ops.add(np.ones(2), np.ones(2))


def test_the_engine_names_stay_importable_from_tensor():
    from glassnet import autograd
    from glassnet.tensor import is_grad_enabled, no_grad, unbroadcast

    assert (no_grad, is_grad_enabled, unbroadcast) == (autograd.no_grad, autograd.is_grad_enabled,
                                                       autograd.unbroadcast)
    assert gn.no_grad is no_grad
