"""Ops that move values without changing them: reshape, transpose, indexing, concatenate, stack.
Their backward moves the gradient back the same way.

Example
-------
>>> import numpy as np
>>> from glassnet import Tensor, ops
>>> x = Tensor(np.zeros((2, 3)), requires_grad=True)
>>> y = ops.transpose(x)  # (2, 3) -> (3, 2)
>>> y.backward(np.arange(6.0).reshape(3, 2))  # dL/dy, moved back by the inverse permutation
>>> x.grad
array([[0., 2., 4.],
       [1., 3., 5.]])
"""

from __future__ import annotations

import numpy as np

from .._checks import integer
from ..tensor import Tensor, ensure_tensor


def reshape(a: Tensor, shape) -> Tensor:
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    try:
        out = a.data.reshape(shape)
    except ValueError:
        raise ValueError(f"cannot reshape a tensor of shape {a.shape} ({a.size} values) into {shape}") from None

    def backward(g):
        return g.reshape(a.data.shape)

    return Tensor._from_op(out, (a,), backward, "reshape")


def transpose(a: Tensor, axes=None) -> Tensor:
    """Permute the axes (reverse them when ``axes`` is None, like ``ndarray.transpose``)."""
    if axes is not None:
        axes = tuple(_check_axis(int(ax), a.ndim) % a.ndim for ax in axes)
        if sorted(axes) != list(range(a.ndim)):
            raise ValueError(f"transpose axes {axes} are not a permutation of {a.ndim} axes")
    inverse = None if axes is None else tuple(np.argsort(axes))

    def backward(g):
        return g.transpose(inverse)

    return Tensor._from_op(a.data.transpose(axes), (a,), backward, "transpose")


def permute(a: Tensor, *axes) -> Tensor:
    """PyTorch's name for :func:`transpose` with explicit axes."""
    return transpose(a, axes)


def swapaxes(a: Tensor, axis1: int, axis2: int) -> Tensor:
    axis1, axis2 = _check_axis(axis1, a.ndim), _check_axis(axis2, a.ndim)
    axes = list(range(a.ndim))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return transpose(a, axes)


def _check_axis(axis: int, ndim: int) -> int:
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of range for a tensor with {ndim} dimensions")
    return axis


def check_axis(axis, ndim: int, name: str, *, new: bool = False) -> int:
    """``axis`` as an int in [-ndim, ndim) (``new``: an axis to insert, [-ndim - 1, ndim]), or a
    TypeError / ValueError that names ``name``, the axis and ``ndim`` (never NumPy's AxisError)."""
    axis = integer(axis, f"{name}: axis")
    size = ndim + 1 if new else ndim
    if not -size <= axis < size:
        raise ValueError(f"{name}: axis {axis} is out of range for an input with {ndim} dimensions "
                         f"(valid: {-size} to {size - 1})")
    return axis


def _is_basic(index) -> bool:
    """True for indices of ints, slices, None and Ellipsis: they select each entry at most once."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(
        isinstance(p, (int, np.integer, slice)) or p is None or p is Ellipsis for p in parts
    )


def getitem(a: Tensor, index) -> Tensor:
    """``a[index]`` with NumPy's rules: slices, integer arrays, boolean masks.

    Backward scatters the gradient into a zero array of the input's shape. An integer array may
    pick the same entry twice, so advanced indices accumulate with ``np.add.at``.
    """
    if isinstance(index, Tensor):
        index = index.data
    if isinstance(index, tuple):
        index = tuple(i.data if isinstance(i, Tensor) else i for i in index)
    if isinstance(index, np.ndarray) and index.dtype.kind == "f":
        raise IndexError(f"tensor indices must be integers or booleans, got {index.dtype}")
    out = a.data[index]
    basic = _is_basic(index)
    boolean = isinstance(index, np.ndarray) and index.dtype == bool

    def backward(g):
        grad = np.zeros(a.data.shape, dtype=g.dtype)
        if basic or boolean:
            grad[index] = g  # each entry picked at most once
        else:
            np.add.at(grad, index, g)
        return grad

    return Tensor._from_op(out, (a,), backward, "getitem")


def concatenate(tensors, axis: int = 0) -> Tensor:
    """Join tensors along an existing axis (NumPy's name)."""
    tensors = _as_tensors(tensors)
    if not tensors:
        raise ValueError("concatenate needs at least one tensor")
    _check_dtypes(tensors, "concatenate")
    axis = check_axis(axis, tensors[0].ndim, "concatenate")
    out = np.concatenate([t.data for t in tensors], axis=axis)
    bounds = np.cumsum([t.data.shape[axis] for t in tensors])[:-1]

    def backward(g):
        return tuple(np.split(g, bounds, axis=axis))

    return Tensor._from_op(out, tuple(tensors), backward, "concatenate")


def stack(tensors, axis: int = 0) -> Tensor:
    """Join tensors of one shape along a new axis (NumPy's name)."""
    tensors = _as_tensors(tensors)
    if not tensors:
        raise ValueError("stack needs at least one tensor")
    _check_dtypes(tensors, "stack")
    shapes = {t.shape for t in tensors}
    if len(shapes) > 1:
        raise ValueError(f"stack needs tensors of one shape, got {sorted(shapes)}")
    axis = check_axis(axis, tensors[0].ndim, "stack", new=True)
    out = np.stack([t.data for t in tensors], axis=axis)
    axis = axis % out.ndim

    def backward(g):
        return tuple(np.moveaxis(g, axis, 0))

    return Tensor._from_op(out, tuple(tensors), backward, "stack")


def _as_tensors(items) -> list:
    """Constants (arrays, lists) take the dtype of the first Tensor, as in the binary ops."""
    items = list(items)
    dtype = next((t.dtype for t in items if isinstance(t, Tensor)), None)
    return [ensure_tensor(t, dtype) for t in items]


def _check_dtypes(tensors, name):
    dtypes = {t.dtype for t in tensors}
    if len(dtypes) > 1:
        raise TypeError(f"{name} needs tensors of one dtype, got {sorted(map(str, dtypes))}")
