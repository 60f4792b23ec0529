"""Converters of the ops that move values (ops/shape.py): reshape, transpose, permute, swapaxes,
getitem (basic slicing, int and integer-array indexing), concatenate, stack.

Sizes that depend on the batch or the sequence length arrive as ``Dim`` ints and are rebuilt
from Shape nodes by ``graph.ints``, so the graph runs at other sizes."""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from ._dynamic import Dim
from ._elementwise import graph_type
from ._graph import INT64_MAX
from ._registry import converter


@converter("reshape", dynamic_ints=True)
def _reshape(graph, call):
    arguments = call.arguments
    shape = arguments["shape"]
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    dims = [d for d in shape if isinstance(d, Dim)]
    if len(dims) == 1 and -1 not in shape:  # one size follows the input: let Reshape infer it
        shape = tuple(-1 if isinstance(d, Dim) else d for d in shape)
    # allowzero=0 (the default): a 0 copies the input's size; glassnet's 0 means an empty axis
    if 0 in shape:
        raise graph.error(f"a reshape to {shape} (an empty axis) is not exported")
    return graph.node("Reshape", [graph.value(arguments["a"]), graph.ints(shape)])[0]


@converter("transpose")
def _transpose(graph, call):
    arguments = call.arguments
    x, axes = arguments["a"], arguments["axes"]
    perm = list(range(x.ndim))[::-1] if axes is None else [int(a) % x.ndim for a in axes]
    return graph.node("Transpose", [graph.value(x)], perm=perm)[0]


@converter("permute")
def _permute(graph, call):
    arguments = call.arguments
    x, axes = arguments["a"], arguments["axes"]
    if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
        axes = tuple(axes[0])
    return graph.node("Transpose", [graph.value(x)], perm=[int(a) % x.ndim for a in axes])[0]


@converter("swapaxes")
def _swapaxes(graph, call):
    arguments = call.arguments
    x = arguments["a"]
    perm = list(range(x.ndim))
    first, second = int(arguments["axis1"]) % x.ndim, int(arguments["axis2"]) % x.ndim
    perm[first], perm[second] = perm[second], perm[first]
    return graph.node("Transpose", [graph.value(x)], perm=perm)[0]


def _tensors(items) -> list:
    items = list(items)
    dtype = next((t.dtype for t in items if isinstance(t, Tensor)), None)
    return [t if isinstance(t, Tensor) else np.asarray(t, dtype) for t in items]


@converter("concatenate")
def _concatenate(graph, call):
    arguments = call.arguments
    items = _tensors(arguments["tensors"])
    axis = int(arguments["axis"]) % items[0].ndim
    return graph.node("Concat", [graph.value(t) for t in items], axis=axis)[0]


@converter("stack")
def _stack(graph, call):
    arguments = call.arguments
    items = _tensors(arguments["tensors"])
    axis = int(arguments["axis"]) % (items[0].ndim + 1)
    return graph.node("Concat", [graph.unsqueeze(graph.value(t), [axis]) for t in items], axis=axis)[0]


# ---- indexing --------------------------------------------------------------------------------
@converter("getitem", dynamic_ints=True)
def _getitem(graph, call):
    """``x[index]``: slices become one Slice node, ints a Gather on their axis (which drops it),
    None an Unsqueeze; one integer array (or a constant boolean mask) a Gather of those indices;
    a traced boolean Tensor (``x[x > 0]``) a Compress."""
    arguments = call.arguments
    x, index = arguments["a"], arguments["index"]
    if isinstance(index, Tensor) and graph.is_bound(index):
        return _compress(graph, x, index)
    parts = index if isinstance(index, tuple) else (index,)
    if any(isinstance(p, Tensor) and graph.is_bound(p) for p in parts):
        raise graph.error("a traced boolean Tensor inside an index tuple is not exported; index with it alone")
    parts = tuple(p.data if isinstance(p, Tensor) else p for p in parts)
    parts = _expand_ellipsis(graph, parts, x.ndim)
    arrays = [p for p in parts if isinstance(p, (np.ndarray, list))]
    if len(arrays) > 1 or (arrays and any(isinstance(p, (int, np.integer)) for p in parts)):
        raise graph.error("indexing with several integer arrays, or an array and an int (NumPy's advanced "
                          "indexing, which moves axes), is not exported")
    slices: list[list] = [[], [], [], []]  # starts, ends, axes, steps
    gathers = []  # (axis of x, ONNX name of the indices, whether a Squeeze must drop the axis after)
    new_axes = []  # positions, in the result, of the None entries
    axis = kept = 0  # the axis of x; the axes of the result so far
    for part in parts:
        if part is None:
            new_axes.append(kept + len(new_axes))
            continue
        if isinstance(part, slice):
            _add_slice(graph, slices, part, axis)
            kept += 1
        elif isinstance(part, (int, np.integer)) and not isinstance(part, bool):
            gathers.append((axis, *_int_index(graph, part)))
        else:
            name, ndim = _array_index(graph, part)
            gathers.append((axis, name, False))  # an array index keeps (or replaces) the axis
            kept += ndim
        axis += 1
    out = graph.value(x)
    if slices[0]:
        out = graph.node("Slice", [out] + [graph.ints(values) for values in slices])[0]
    # Gather from the last axis back, so that the earlier axes keep their numbers.
    for gather_axis, indices, squeeze in sorted(gathers, key=lambda g: -g[0]):
        out = graph.node("Gather", [out, indices], axis=gather_axis)[0]
        if squeeze:
            out = graph.squeeze(out, [gather_axis])
    if new_axes:
        out = graph.unsqueeze(out, new_axes)
    return out


def _add_slice(graph, slices: list, part: slice, axis: int) -> None:
    """Slice's start, end, axis and step for ``part``; a missing bound is the end of the axis
    in the step's direction (so it follows a dynamic size)."""
    start, stop, step = part.start, part.stop, 1 if part.step is None else part.step
    if step == 0:
        raise graph.error("a slice step of 0")
    default_start, default_stop = (0, INT64_MAX) if step > 0 else (-1, -INT64_MAX - 1)
    for values, value in zip(slices, (default_start if start is None else start,
                                      default_stop if stop is None else stop, axis, step)):
        values.append(value)


def _int_index(graph, part) -> tuple[str, bool]:
    """A constant 0-d index (Gather drops the axis), or for a Dim (``x[:, x.shape[1] - 1]``) a
    1-d index computed from the shape, whose axis a Squeeze drops: (name, whether to squeeze)."""
    if isinstance(part, Dim):
        return graph.dim(part), True
    return graph.constant(np.array(int(part), np.int64), "index"), False


def _array_index(graph, part) -> tuple[str, int]:
    indices = np.asarray(part)
    if id(part) in graph.varying and not graph.is_bound(part):
        raise graph.error("an index array computed from the input outside glassnet.ops")
    if indices.dtype == bool:
        if indices.ndim != 1:
            raise graph.error("a boolean mask of more than one axis is not exported")
        indices = np.flatnonzero(indices)
    elif indices.dtype.kind not in "iu":
        raise graph.error(f"an index of dtype {indices.dtype}")
    if isinstance(part, np.ndarray) and graph.is_bound(part):  # an integer input of the graph
        return graph.value(part), indices.ndim
    return graph.constant(indices.astype(np.int64), "index"), indices.ndim


def _compress(graph, x, mask) -> str:
    """``x[mask]`` for a traced boolean Tensor: the entries where it is true, in row-major order
    (a mask of x's shape), or the rows along axis 0 (a 1-d mask)."""
    condition = graph.node("Cast", [graph.value(mask)], to=graph_type(np.bool_))[0]
    if mask.ndim == 1:
        return graph.node("Compress", [graph.value(x), condition], axis=0)[0]
    if mask.shape != x.shape:
        raise graph.error(f"a boolean mask of shape {mask.shape} for a tensor of shape {x.shape}")
    return graph.node("Compress", [graph.value(x), condition])[0]


def _expand_ellipsis(graph, parts: tuple, ndim: int) -> tuple:
    """Replace ``...`` by full slices, and fill the missing trailing axes with them."""
    used = sum(1 for p in parts if p is not None and p is not Ellipsis)
    if sum(1 for p in parts if p is Ellipsis) > 1:
        raise graph.error("an index with two Ellipses")
    if any(p is Ellipsis for p in parts):
        at = next(i for i, p in enumerate(parts) if p is Ellipsis)
        parts = parts[:at] + (slice(None),) * (ndim - used) + parts[at + 1:]
    return parts
