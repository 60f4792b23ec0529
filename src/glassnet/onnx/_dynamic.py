"""Dynamic sizes: which int arguments of the traced ops depend on the batch size (and sequence
length), found by tracing again at other sizes.

A shape argument recorded as a Python int (``reshape(x, (8, -1))`` at batch size 8) must become a
computation on the input's shape in the ONNX graph, or the graph would run at batch size 8 only.
Whether an 8 is the batch size or a constant cannot be told from one trace, so the exporter
traces the forward again with the batch one larger (and the length one larger, for inputs with a
sequence axis) and compares the two recordings argument by argument: an int that changed is a
:class:`Dim`, fitted as ``constant + b batch + t length + bt batch length``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..tensor import Parameter, Tensor

__all__ = ["Dim", "Filled", "Sizes", "grow", "has_dim", "traces"]


class Dim(int):
    """An int argument that depends on the dynamic sizes: its value at the traced sizes, and the
    formula ``constant + sum(coefficient * product of sizes)`` that ``Graph.dim`` rebuilds.

    Example
    -------
    >>> from glassnet.onnx import Dim
    >>> size = Dim(12, 0, ((("batch",), 3),))   # 3 * batch, traced at batch 4
    >>> size + 1, size.terms
    (13, ((('batch',), 3),))
    """

    constant: int
    terms: tuple

    def __new__(cls, value: int, constant: int = 0, terms: tuple = ()) -> Dim:
        dim = super().__new__(cls, value)
        dim.constant = int(constant)
        dim.terms = tuple(terms)
        return dim

    def __repr__(self) -> str:
        parts = [f"{coefficient}*{'*'.join(symbols)}" for symbols, coefficient in self.terms]
        return f"Dim({int(self)} = {' + '.join(parts + [str(self.constant)])})"


@dataclass
class Sizes:
    """What the traces found: the ids of arguments computed from the input outside the ops
    (``varying``), and the input and output shapes with the dynamic axes named."""

    varying: set = field(default_factory=set)
    input_shapes: list = field(default_factory=list)
    output_shapes: list = field(default_factory=list)


def traces(model, inputs: tuple, dynamic: bool, trace) -> tuple[list, Any, Sizes]:
    """Trace ``model`` on ``inputs``; with ``dynamic``, again with the batch one larger and (if
    the model runs so) with axis 1 of the inputs one larger, and turn the int arguments that
    changed into :class:`Dim` values in the first trace's calls.

    Returns (calls, output, sizes).
    """
    for index, x in enumerate(inputs):
        if 0 in x.shape:
            raise ValueError(f"sample_input[{index}] has an empty axis (shape {x.shape}); give at least one "
                             "sample, with every size the model accepts")
    calls, output = trace(model, inputs)
    outputs = _flat(output)
    if not dynamic:
        return calls, output, Sizes(set(), [x.shape for x in inputs], [o.shape for o in outputs])
    batch = inputs[0].shape[0]
    variants: dict[tuple, Any] = {("batch",): _run(model, tuple(grow(x, 0) for x in inputs), trace, calls, "a batch of "
                                 f"{batch + 1} (one more than the sample's)", required=True,
                                 count=len(outputs))}
    length = None
    if all(x.ndim >= 2 for x in inputs):
        grown = tuple(grow(x, 1) for x in inputs)
        sequence = _run(model, grown, trace, calls, "", required=False, count=len(outputs))
        if sequence is not None:
            both = _run(model, tuple(grow(x, 0) for x in grown), trace, calls, "", required=False,
                        count=len(outputs))
            if both is not None:
                length = inputs[0].shape[1]
                variants[("sequence",)] = sequence
                variants[("batch", "sequence")] = both
    sizes = {"batch": batch, "sequence": length}
    varying: set = set()
    for index, call in enumerate(calls):
        others = {key: variant[0][index] for key, variant in variants.items()}
        call.args = _fit((call.args,) + tuple(other.args for other in others.values()), list(others),
                         sizes, varying, call)
        call.kwargs = _fit((call.kwargs,) + tuple(other.kwargs for other in others.values()),
                           list(others), sizes, varying, call)
    input_shapes = [tuple("batch" if axis == 0 else "sequence" if axis == 1 and length is not None else n
                          for axis, n in enumerate(x.shape)) for x in inputs]
    output_shapes = []
    for position, out in enumerate(outputs):
        shapes = {key: _flat(variant[1])[position].shape for key, variant in variants.items()}
        output_shapes.append(tuple(_size_name(_fit_int([n] + [shape[axis] for shape in shapes.values()],
                                                       list(shapes), sizes))
                                   for axis, n in enumerate(out.shape)))
    return calls, output, Sizes(varying, input_shapes, output_shapes)


def grow(x, axis: int):
    """``x`` with one more entry along ``axis``: a copy of its first (a valid index, a real mask
    value), so that the forward runs as it does on the sample."""
    data = x.data if isinstance(x, Tensor) else x
    grown = np.concatenate([data, np.take(data, [0], axis=axis)], axis=axis)
    return Tensor(grown) if isinstance(x, Tensor) else grown


def _run(model, inputs, trace, calls, what: str, required: bool, count: int):
    """Trace ``model`` on ``inputs``; None (or, if ``required``, a ValueError) when the forward
    fails or runs other ops than the first trace."""
    try:
        other_calls, output = trace(model, inputs)
    except Exception as error:
        if not required:
            return None
        raise ValueError(f"with dynamic_axes=True the model must also run on {what}, but its forward raised "
                         f"{type(error).__name__}: {error}; export with dynamic_axes=False") from error
    if [c.op for c in other_calls] != [c.op for c in calls] or len(_flat(output)) != count:
        if not required:
            return None
        raise ValueError(f"the model's forward runs other ops on {what} than on the sample (its ops depend "
                         "on the batch size), so the batch cannot be dynamic; export with dynamic_axes=False")
    return other_calls, output


def _fit(values: tuple, keys: list, sizes: dict, varying: set, call):
    """The first of ``values`` (one per trace) with each int that changed between the traces
    replaced by a Dim; the ids of arrays and numbers that changed are added to ``varying``."""
    first = values[0]
    if isinstance(first, Tensor):
        if not first._op and not isinstance(first, Parameter) and any(v.shape != first.shape for v in values[1:]):
            if _filled(values):  # np.zeros((n, batch, h)) made in the forward: a ConstantOfShape
                return Filled(first, tuple(_fit_int([v.shape[axis] for v in values], keys, sizes)
                                           for axis in range(first.ndim)))
            varying.add(id(first))
        return first
    if isinstance(first, (bool, np.bool_)):
        return first
    if isinstance(first, (int, np.integer)):
        return _fit_int([int(v) for v in values], keys, sizes, first)
    if isinstance(first, (float, np.floating)):
        if any(float(v) != float(first) for v in values[1:]):
            varying.add(id(first))
        return first
    if isinstance(first, np.ndarray):
        if any(not isinstance(v, np.ndarray) or v.shape != first.shape or not _same(v, first) for v in values[1:]):
            varying.add(id(first))
        return first
    if isinstance(first, slice):
        parts = [_fit(tuple(getattr(v, a) for v in values), keys, sizes, varying, call)
                 for a in ("start", "stop", "step")]
        return slice(*parts)
    if isinstance(first, (tuple, list, dict)):
        if any(type(v) is not type(first) or len(v) != len(first) for v in values[1:]):
            raise ValueError(f"op '{call.op}' (called in {call.module}) gets arguments of another length at "
                             "another batch size or length; export with dynamic_axes=False")
        if isinstance(first, dict):
            return {k: _fit(tuple(v[k] for v in values), keys, sizes, varying, call) for k in first}
        items = [_fit(tuple(v[i] for v in values), keys, sizes, varying, call) for i in range(len(first))]
        return type(first)(items) if isinstance(first, list) else tuple(items)
    return first


class Filled(Tensor):
    """A Tensor that the forward made outside the ops, one value throughout, with a shape that
    follows the input's (the zero initial state of a recurrent layer): ``Graph.value`` writes it
    as a ConstantOfShape of ``dims`` (ints and Dims), not as a constant of the sample's size,
    unless ``source``, the Tensor it stands for, is bound (an input that happens to be constant)."""

    __slots__ = ("dims", "source")

    def __init__(self, tensor: Tensor, dims: tuple) -> None:
        super().__init__(tensor.data)
        self.dims = dims
        self.source = tensor


def _filled(values: tuple) -> bool:
    """Whether every traced version of a Tensor has the same rank and holds one value throughout."""
    first = values[0].data
    return first.size > 0 and all(v.data.ndim == first.ndim and v.data.size > 0
                                  and bool(np.all(v.data == first.flat[0])) for v in values)


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))


def _fit_int(values: list, keys: list, sizes: dict, original=None):
    """The int ``values[0]`` (as ``original`` was typed) if every trace saw the same value, else
    the Dim ``c + kb batch + kt length + k batch length`` that fits them."""
    first = values[0]
    if all(v == first for v in values[1:]):
        return first if original is None else original
    seen = dict(zip(keys, values[1:]))
    batch, length = sizes["batch"], sizes["sequence"]
    if length is None:
        kb = seen[("batch",)] - first
        return Dim(first, first - kb * batch, ((("batch",), kb),))
    k = seen[("batch", "sequence")] - seen[("batch",)] - seen[("sequence",)] + first
    kb = seen[("batch",)] - first - k * length
    kt = seen[("sequence",)] - first - k * batch
    constant = first - k * batch * length - kb * batch - kt * length
    terms = tuple((symbols, c) for symbols, c in ((("batch",), kb), (("sequence",), kt),
                                                  (("batch", "sequence"), k)) if c)
    return Dim(first, constant, terms)


def _size_name(size) -> int | str:
    """An output axis' ONNX dim: the int, or a name of its formula ("batch", "2*sequence+1")."""
    if not isinstance(size, Dim):
        return int(size)
    parts = [("" if c == 1 else f"{c}*") + "*".join(symbols) for symbols, c in size.terms]
    if size.constant:
        parts.append(str(size.constant))
    return "+".join(parts).replace("+-", "-")


def has_dim(value) -> bool:
    """Whether ``value`` (nested tuples, lists, dicts, slices) holds a Dim."""
    if isinstance(value, Dim):
        return True
    if isinstance(value, slice):
        return any(has_dim(v) for v in (value.start, value.stop, value.step))
    if isinstance(value, (tuple, list)):
        return any(has_dim(v) for v in value)
    if isinstance(value, dict):
        return any(has_dim(v) for v in value.values())
    return False


def _flat(output) -> list:
    return list(output) if isinstance(output, (tuple, list)) else [output]
