"""Converters of the ops that move values (ops/shape.py): reshape, transpose, permute, swapaxes,
getitem (basic slicing, int and integer-array indexing), concatenate, stack.

Sizes that depend on the batch or the sequence length arrive as ``Dim`` ints and are rebuilt
from Shape nodes by ``graph.ints``, so the graph runs at other sizes."""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from ._dynamic import Dim
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
    None an Unsqueeze; one integer array (or a constant boolean mask) a Gather of those indices."""
    arguments = call.arguments
    x, index = arguments["a"], arguments["index"]
    if isinstance(index, Tensor):
        index = index.data
    parts = index if isinstance(index, tuple) else (index,)
    parts = tuple(p.data if isinstance(p, Tensor) else p for p in parts)
    parts = _expand_ellipsis(graph, parts, x.ndim)
    out = graph.value(x)
    starts, ends, steps, axes = [], [], [], []
    gathers = []  # (axis in x, indices) applied after the Slice, last axis first
    arrays = [p for p in parts if isinstance(p, (np.ndarray, list))]
    if len(arrays) > 1 or (arrays and any(isinstance(p, (int, np.integer)) for p in parts)):
        raise graph.error("indexing with several integer arrays, or an array and an int (NumPy's advanced "
                          "indexing, which moves axes), is not exported")
    axis = 0
    new_axes = []  # positions, in the result of the basic indexing, of the None entries
    kept = 0  # axes of x kept so far (the position in the output)
    for part in parts:
        if part is None:
            new_axes.append(kept + len(new_axes))
            continue
        if isinstance(part, slice):
            start, stop, step = part.start, part.stop, 1 if part.step is None else part.step
            if step == 0:
                raise graph.error("a slice step of 0")
            default_start, default_stop = (0, INT64_MAX) if step > 0 else (-1, -INT64_MAX - 1)
            starts.append(default_start if start is None else start)
            ends.append(default_stop if stop is None else stop)
            steps.append(step)
            axes.append(axis)
            kept += 1
        elif isinstance(part, (int, np.integer)) and not isinstance(part, bool):
            gathers.append((axis, part if isinstance(part, Dim) else None, np.array(int(part), np.int64)))
        else:
            indices = np.asarray(part)
            if indices.dtype == bool:
                if indices.ndim != 1:
                    raise graph.error("a boolean mask of more than one axis is not exported")
                indices = np.flatnonzero(indices)
            elif indices.dtype.kind not in "iu":
                raise graph.error(f"an index of dtype {indices.dtype}")
            if id(part) in graph.varying:
                raise graph.error("an index array computed from the input outside glassnet.ops")
            gathers.append((axis, part, indices.astype(np.int64)))
            kept += indices.ndim
        axis += 1
    if starts:
        out = graph.node("Slice", [out, graph.ints(starts), graph.ints(ends), graph.ints(axes),
                                   graph.ints(steps)])[0]
    # Gather the int positions from the last axis back, so that earlier axes keep their numbers.
    for gather_axis, source, indices in sorted(gathers, key=lambda g: -g[0]):
        if isinstance(source, Dim):  # x[length]: the position follows the input's size
            name = graph.squeeze(graph.dim(source), [0])
        else:
            bound = source is not None and graph.is_bound(source)
            name = graph.value(source) if bound else graph.constant(indices, "index")
        out = graph.node("Gather", [out, name], axis=gather_axis)[0]
    if new_axes:
        out = graph.unsqueeze(out, new_axes)
    return out


def _expand_ellipsis(graph, parts: tuple, ndim: int) -> tuple:
    """Replace ``...`` by full slices, and fill the missing trailing axes with them."""
    used = sum(1 for p in parts if p is not None and p is not Ellipsis
               and not (isinstance(p, np.ndarray) and p.dtype == bool and p.ndim > 1))
    if sum(1 for p in parts if p is Ellipsis) > 1:
        raise graph.error("an index with two Ellipses")
    if any(p is Ellipsis for p in parts):
        at = next(i for i, p in enumerate(parts) if p is Ellipsis)
        parts = parts[:at] + (slice(None),) * (ndim - used) + parts[at + 1:]
    return parts
