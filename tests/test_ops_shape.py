"""Ops that move values (reshape, transpose, permute, swapaxes, indexing, concatenate, stack)
against finite differences and PyTorch. Repeated integer indices must accumulate."""

import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import ops
from oracle import check_against_torch, check_finite_differences


def check(fn, torch_fn, *arrays):
    check_finite_differences(fn, *arrays)
    check_against_torch(fn, torch_fn, *arrays)
    check_against_torch(fn, torch_fn, *arrays, dtype=np.float32, atol=1e-5, rtol=1e-5)


# ---- reshape, transpose and friends: one line per case -------------------------------------
MOVES = {  # name: (glassnet, torch, input shape)
    "reshape tuple": (lambda x: x.reshape((6, 4)), lambda t: t.reshape(6, 4), (2, 3, 4)),
    "reshape varargs": (lambda x: x.reshape(4, 6), lambda t: t.reshape(4, 6), (2, 3, 4)),
    "reshape -1": (lambda x: x.reshape(-1), lambda t: t.reshape(-1), (2, 3, 4)),
    "reshape inner -1": (lambda x: x.reshape(4, -1, 2), lambda t: t.reshape(4, -1, 2), (2, 3, 4)),
    "reshape to scalar": (lambda x: x.reshape(()), lambda t: t.reshape(()), (1, 1)),
    "reshape from scalar": (lambda x: x.reshape(1, 1), lambda t: t.reshape(1, 1), ()),
    "ops.reshape int": (lambda x: ops.reshape(x, 12), lambda t: t.reshape(12), (3, 4)),
    "T 2-D": (lambda x: x.T, lambda t: t.T, (3, 4)),
    "T 1-D": (lambda x: x.T, lambda t: t, (4,)),
    "T 3-D": (lambda x: x.T, lambda t: t.permute(2, 1, 0), (2, 3, 4)),
    "transpose()": (lambda x: x.transpose(), lambda t: t.permute(2, 1, 0), (2, 3, 4)),
    "transpose axes": (lambda x: x.transpose(1, 0, 2), lambda t: t.permute(1, 0, 2), (2, 3, 4)),
    "transpose tuple": (lambda x: x.transpose((2, 0, 1)), lambda t: t.permute(2, 0, 1), (2, 3, 4)),
    "transpose negative": (lambda x: x.transpose(-1, 0, 1), lambda t: t.permute(2, 0, 1), (2, 3, 4)),
    "permute": (lambda x: x.permute(2, 0, 1), lambda t: t.permute(2, 0, 1), (2, 3, 4)),
    "ops.permute": (lambda x: ops.permute(x, 1, 2, 0), lambda t: t.permute(1, 2, 0), (2, 3, 4)),
    "swapaxes": (lambda x: ops.swapaxes(x, 0, 2), lambda t: t.swapaxes(0, 2), (2, 3, 4)),
    "swapaxes negative": (lambda x: ops.swapaxes(x, -1, 1), lambda t: t.swapaxes(-1, 1), (2, 3, 4)),
    "transpose then reshape": (lambda x: x.T.reshape(-1), lambda t: t.T.reshape(-1), (3, 4)),
}


@pytest.mark.parametrize("name", MOVES)
def test_move(name):
    fn, torch_fn, shape = MOVES[name]
    check(fn, torch_fn, np.random.default_rng(5).normal(size=shape))


# ---- indexing: one line per kind of index ---------------------------------------------------
MASK = np.random.default_rng(6).random((4, 5)) < 0.5
INDICES = {  # name: index into a (4, 5) tensor (NumPy arrays are converted for PyTorch)
    "int": 1,
    "negative int": -1,
    "two ints": (2, -3),
    "slice": slice(1, 3),
    "step slice": (slice(None), slice(None, None, 2)),
    "int and slice": (1, slice(1, None)),
    "ellipsis": (Ellipsis, 2),
    "new axis": (None, slice(None), 1),
    "int array": np.array([0, 2]),
    "int array with repeats": np.array([0, 0, 3, 0]),
    "list with repeats": [1, 1, 2],
    "negative int array": np.array([-1, -1, 0]),
    "2-D int array with repeats": np.array([[0, 1], [1, 1]]),
    "two int arrays with repeats": (np.array([0, 0, 1, 0]), np.array([2, 2, 2, 4])),
    "broadcast int arrays": (np.array([[0], [3]]), np.array([1, 1, 4])),
    "slice and int array": (slice(1, 3), np.array([4, 4, 0])),
    "int and int array": (2, np.array([3, 3])),
    "boolean mask rows": np.array([True, False, True, True]),
    "boolean mask columns": (slice(None), np.array([True, False, False, True, True])),
    "boolean mask full": MASK,
    "boolean mask and slice": (np.array([True, False, True, True]), slice(1, 4)),
    "boolean mask and int array": (np.array([False, True, True, False]), np.array([0, 4])),
}


def torch_index(index):
    if isinstance(index, tuple):
        return tuple(torch_index(i) for i in index)
    if isinstance(index, np.ndarray):
        return torch.tensor(index)
    return index


@pytest.mark.parametrize("name", INDICES)
def test_getitem(name):
    index = INDICES[name]
    check(lambda x: x[index], lambda t: t[torch_index(index)],
          np.random.default_rng(8).normal(size=(4, 5)))


def test_repeated_indices_accumulate():
    x = gn.Tensor(np.zeros(4), requires_grad=True)
    x[np.array([1, 1, 1, 3])].sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 3.0, 0.0, 1.0])
    y = gn.Tensor(np.zeros((2, 2)), requires_grad=True)
    y[np.array([0, 0, 1]), np.array([1, 1, 0])].backward(np.array([2.0, 5.0, 1.0]))
    np.testing.assert_array_equal(y.grad, [[0.0, 7.0], [1.0, 0.0]])


def test_indexing_with_a_comparison_and_combined_with_other_ops(rng):
    x = rng.normal(size=(3, 4))
    check(lambda t: t[t > 0] * 2, lambda t: t[t > 0] * 2, x)
    check(lambda t: t[1:, [0, 0]] * t[:2, :2], lambda t: t[1:, [0, 0]] * t[:2, :2], x)
    check(lambda t: t[0] + t[-1] + t[0], lambda t: t[0] + t[-1] + t[0], x)


def test_indexing_3d(rng):
    x = rng.normal(size=(2, 3, 4))
    for index in [(Ellipsis, np.array([1, 1])), (np.array([1, 0, 1]), 2), x[..., 0] > 0,
                  (1, np.array([2, 0, 2]), slice(1, 3))]:
        check(lambda t: t[index], lambda t: t[torch_index(index)], x)
    # NumPy's rule (not PyTorch's): advanced indices split by a slice put their axis first.
    columns = np.array([0, 0, 3])
    check(lambda t: t[1, :, columns], lambda t: t[1][:, torch.tensor(columns)].T, x)


def test_float_index_is_rejected():
    with pytest.raises(IndexError, match="integers or booleans"):
        gn.Tensor(np.ones(3))[np.array([0.0, 1.0])]


# ---- concatenate and stack --------------------------------------------------------------------
JOINS = {  # name: (shapes, axis)
    "rows": ([(2, 3), (4, 3)], 0),
    "columns of three": ([(2, 3), (2, 1), (2, 2)], 1),
    "last axis 3-D": ([(2, 3, 1), (2, 3, 4)], -1),
    "middle axis 3-D": ([(2, 1, 4), (2, 2, 4)], 1),
    "one tensor": ([(3, 2)], 0),
    "vectors": ([(3,), (2,), (1,)], 0),
}


@pytest.mark.parametrize("name", JOINS)
def test_concatenate(name):
    shapes, axis = JOINS[name]
    rng = np.random.default_rng(9)
    check(lambda *ts: gn.concatenate(ts, axis=axis), lambda *ts: torch.cat(ts, dim=axis),
          *[rng.normal(size=s) for s in shapes])


@pytest.mark.parametrize("axis", [0, 1, 2, -1, -2])
@pytest.mark.parametrize("count", [1, 3])
def test_stack(axis, count):
    rng = np.random.default_rng(10)
    check(lambda *ts: gn.stack(ts, axis=axis), lambda *ts: torch.stack(ts, dim=axis),
          *[rng.normal(size=(2, 3)) for _ in range(count)])


def test_concatenate_and_stack_with_constants_and_a_tensor_used_twice(rng):
    constant = rng.normal(size=(2, 3))
    check(lambda x: gn.concatenate([x, constant, x], axis=0),
          lambda x: torch.cat([x, torch.tensor(constant), x], dim=0), rng.normal(size=(2, 3)))
    check(lambda x: gn.stack([constant, x, x * 2], axis=1),
          lambda x: torch.stack([torch.tensor(constant), x, x * 2], dim=1), rng.normal(size=(2, 3)))


def test_join_errors():
    a32, a64 = gn.Tensor(np.ones((2, 3), np.float32)), gn.Tensor(np.ones((2, 3)))
    with pytest.raises(TypeError, match="one dtype"):
        gn.concatenate([a32, a64])
    with pytest.raises(TypeError, match="one dtype"):
        gn.stack([a32, a64])
    with pytest.raises(ValueError, match=r"one shape.*\(2, 3\).*\(3, 2\)"):
        gn.stack([a32, gn.Tensor(np.ones((3, 2), np.float32))])
    with pytest.raises(ValueError, match="at least one"):
        gn.concatenate([])
    with pytest.raises(ValueError, match="at least one"):
        gn.stack([])
    with pytest.raises(ValueError, match=r"concatenate: axis 2 is out of range for an input with 2 dimensions"):
        gn.concatenate([a32, a32], axis=2)
    with pytest.raises(ValueError, match=r"stack: axis 3 is out of range .* 2 dimensions \(valid: -3 to 2\)"):
        gn.stack([a32, a32], axis=3)


# ---- errors that name what went wrong ---------------------------------------------------------
def test_reshape_to_an_incompatible_shape_names_both_shapes():
    x = gn.Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(ValueError, match=r"shape \(2, 3\) \(6 values\) into \(4, 2\)"):
        x.reshape(4, 2)
    with pytest.raises(ValueError, match=r"into \(5, -1\)"):
        x.reshape(5, -1)


@pytest.mark.parametrize("axes", [(0, 3, 1), (0, 1, -4), (5, 0, 1)], ids=str)
def test_transpose_axis_out_of_range(axes):
    x = gn.Tensor(np.ones((2, 3, 4)))
    with pytest.raises(ValueError, match="out of range for a tensor with 3 dimensions"):
        x.transpose(axes)
    with pytest.raises(ValueError, match="out of range for a tensor with 3 dimensions"):
        x.permute(*axes)


def test_transpose_needs_a_permutation():
    with pytest.raises(ValueError, match="not a permutation"):
        gn.Tensor(np.ones((2, 3, 4))).transpose(0, 0, 1)
    with pytest.raises(ValueError, match="not a permutation"):
        gn.Tensor(np.ones((2, 3, 4))).transpose(0, 1)


@pytest.mark.parametrize("axis1, axis2", [(0, 3), (-4, 1)])
def test_swapaxes_axis_out_of_range(axis1, axis2):
    with pytest.raises(ValueError, match="out of range for a tensor with 3 dimensions"):
        ops.swapaxes(gn.Tensor(np.ones((2, 3, 4))), axis1, axis2)
