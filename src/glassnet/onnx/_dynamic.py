"""Dynamic sizes: which int arguments of the traced ops depend on the batch size (and sequence
length), found by tracing again at other sizes.

A shape argument recorded as a Python int (``reshape(x, (8, -1))`` at batch size 8) must become a
computation on the input's shape in the ONNX graph, or the graph would run at batch size 8 only.
Whether an 8 is the batch size or a constant cannot be told from one trace, so the exporter
traces the forward again with the batch one larger (and, when the model runs so, with axis 1 of
every input one larger: a sequence length) and compares the recordings argument by argument: an
int that changed is a :class:`Dim`, fitted as ``constant + b batch + t length + bt batch length``
and checked on one more trace (sizes two larger). An array or number that changed was computed
from the input outside the ops: it cannot become a constant, and the graph refuses it. The grown
inputs repeat the sample's first entry (a valid token index, a real mask value).
"""

from __future__ import annotations

import contextlib
import math
import warnings
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

    def at(self, sizes: dict) -> int:
        """The value at other dynamic sizes: ``Dim(...).at({"batch": 5})``."""
        return self.constant + sum(c * math.prod(sizes[s] for s in symbols) for symbols, c in self.terms)

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
    """Trace ``model`` on ``inputs``; with ``dynamic``, again with the batch one and two larger
    and (if the model runs so) with axis 1 of every input one and two larger too, and turn the
    int arguments that changed into :class:`Dim` values in the first trace's calls (fitted on
    the +1 traces, checked on the +2 ones).

    Returns (calls, output, sizes).
    """
    for index, x in enumerate(inputs):
        if 0 in x.shape:
            raise ValueError(f"sample_input[{index}] has an empty axis (shape {x.shape}); give at least one "
                             "sample, with every size the model accepts")
    calls, output = trace(model, inputs)
    outputs = _flat(output)
    for item in outputs:
        if not isinstance(item, Tensor):
            raise TypeError(f"the model's forward returned {type(item).__name__}; export needs a Tensor "
                            "or a tuple of Tensors")
    if not dynamic:
        return calls, output, Sizes(set(), [x.shape for x in inputs], [o.shape for o in outputs])
    base = {"batch": inputs[0].shape[0], "sequence": inputs[0].shape[1] if inputs[0].ndim > 1 else 0}
    runs = [(base, calls, output)]
    for extra in (1, 2):  # the batch must be dynamic: a failure here is the user's to see
        runs.append(_run(model, inputs, trace, calls, base, {"batch": extra}, required=True))
    fitted = _fit_runs(runs, ("batch",), inputs)
    if all(x.ndim >= 2 for x in inputs):
        more = [_run(model, inputs, trace, calls, base, grow_by, required=False)
                for grow_by in ({"sequence": 1}, {"batch": 1, "sequence": 1}, {"batch": 2, "sequence": 2})]
        if all(run is not None for run in more):
            with contextlib.suppress(ValueError):  # not a sequence after all: the length stays fixed
                with_length = _fit_runs(runs + more, ("batch", "sequence"), inputs)
                if with_length[2] <= fitted[2]:  # nothing more is computed from the input's length
                    fitted = with_length
    arguments, output_shapes, varying, symbols = fitted
    for call, (args, kwargs) in zip(calls, arguments):
        call.args, call.kwargs = args, kwargs
    input_shapes = [tuple(("batch", "sequence")[axis] if axis < 2 and ("batch", "sequence")[axis] in symbols else n
                          for axis, n in enumerate(x.shape)) for x in inputs]
    return calls, output, Sizes(varying, input_shapes, output_shapes)


def _run(model, inputs, trace, calls, base: dict, grow_by: dict, required: bool):
    """(sizes, calls, output) of a trace with ``inputs`` grown by ``grow_by`` entries
    ({"batch": 1}: axis 0; "sequence": axis 1); None (or, if ``required``, a ValueError) when the
    forward fails or runs other ops than the first trace."""
    grown = inputs
    for symbol, extra in grow_by.items():
        for _ in range(extra):
            grown = tuple(grow(x, 0 if symbol == "batch" else 1) for x in grown)
    sizes = {symbol: base[symbol] + grow_by.get(symbol, 0) for symbol in base}
    what = f"a batch of {sizes['batch']} (the sample's is {base['batch']})"
    try:
        # The grown inputs are copies of the sample's first entries: a row that is all padding
        # there may give a NaN that the sample did not, which is no reason to stop the trace.
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            other_calls, output = trace(model, grown)
    except Exception as error:
        if not required:
            return None
        raise ValueError(f"with dynamic_axes=True the model must also run on {what}, but its forward raised "
                         f"{type(error).__name__}: {error}; export with dynamic_axes=False") from error
    if [c.op for c in other_calls] != [c.op for c in calls]:
        if not required:
            return None
        raise ValueError(f"the model's forward runs other ops on {what} than on the sample (its ops depend "
                         "on the batch size), so the batch cannot be dynamic; export with dynamic_axes=False")
    return sizes, other_calls, output


def _fit_runs(runs: list, symbols: tuple, inputs: tuple = ()) -> tuple:
    """Compare the calls of every run (the first is the sample's): (the first run's arguments
    with Dims, the output shapes with named dynamic axes, the ids of varying values, symbols)."""
    points = [{symbol: sizes[symbol] for symbol in symbols} for sizes, _, _ in runs]
    samples = [x.data if isinstance(x, Tensor) else x for x in inputs]
    varying: set = set()
    arguments = []
    if any(len(_flat(run[2])) != len(_flat(runs[0][2])) for run in runs):
        raise ValueError("the model returns another number of outputs at another batch size or length")
    for index, call in enumerate(runs[0][1]):
        others = [run[1][index] for run in runs]
        arguments.append((_fit(tuple(c.args for c in others), points, varying, call, samples),
                          _fit(tuple(c.kwargs for c in others), points, varying, call, samples)))
    output_shapes = []
    for position, out in enumerate(_flat(runs[0][2])):
        shapes = [_flat(run[2])[position].shape for run in runs]
        if any(len(shape) != out.ndim for shape in shapes):
            raise ValueError("the model's output has another number of axes at another batch size")
        output_shapes.append(tuple(_output_size([shape[axis] for shape in shapes], points, position, axis)
                                   for axis in range(out.ndim)))
    # An op's output that a later op reads (a causal mask made from the length) is traced, not
    # computed outside the ops: it is bound when converted, never frozen.
    varying -= {id(out) for call in runs[0][1] for out in _flat(call.output)}
    return arguments, output_shapes, varying, symbols


def grow(x, axis: int):
    """``x`` with one more entry along ``axis``: a copy of its first (a valid index, a real mask
    value), so that the forward runs as it does on the sample."""
    data = x.data if isinstance(x, Tensor) else x
    grown = np.concatenate([data, np.take(data, [0], axis=axis)], axis=axis)
    return Tensor(grown) if isinstance(x, Tensor) else grown


def _fit(values: tuple, points: list, varying: set, call, samples: list | tuple = ()):
    """The first of ``values`` (one per trace) with each int that changed between the traces
    replaced by a Dim; the ids of arrays and numbers that changed are added to ``varying``."""
    first = values[0]
    if isinstance(first, Tensor):
        if not first._op and not isinstance(first, Parameter) and any(v.shape != first.shape for v in values[1:]):
            # np.zeros((n, batch, h)) made in the forward: a ConstantOfShape. Not when it holds
            # the sample's own values (an integer input made float by ensure_tensor, and the
            # sample happens to be all ones): the graph would ignore the input.
            if _filled(values) and not any(_same_values(sample, first.data) for sample in samples):
                with contextlib.suppress(ValueError):  # a shape no formula gives: varying, refused
                    return Filled(first, tuple(_fit_int([v.shape[axis] for v in values], points, None)
                                               for axis in range(first.ndim)))
            varying.add(id(first))
        return first
    if isinstance(first, (bool, np.bool_)):
        return first
    if isinstance(first, (int, np.integer)):
        try:
            return _fit_int([int(v) for v in values], points, first)
        except ValueError as error:
            raise ValueError(f"op '{call.op}' (called in {call.module}): {error}; export with "
                             "dynamic_axes=False") from None
    if isinstance(first, (float, np.floating)):
        if any(float(v) != float(first) for v in values[1:]):
            varying.add(id(first))
        return first
    if isinstance(first, np.ndarray):
        if any(not isinstance(v, np.ndarray) or v.shape != first.shape or not _same(v, first) for v in values[1:]):
            varying.add(id(first))
        return first
    if isinstance(first, slice):
        parts = [_fit(tuple(getattr(v, a) for v in values), points, varying, call, samples)
                 for a in ("start", "stop", "step")]
        return slice(*parts)
    if isinstance(first, (tuple, list, dict)):
        if any(type(v) is not type(first) or len(v) != len(first) for v in values[1:]):
            raise ValueError(f"op '{call.op}' (called in {call.module}) gets arguments of another length at "
                             "another batch size or length; export with dynamic_axes=False")
        if isinstance(first, dict):
            return {k: _fit(tuple(v[k] for v in values), points, varying, call, samples) for k in first}
        items = [_fit(tuple(v[i] for v in values), points, varying, call, samples) for i in range(len(first))]
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


def _same_values(sample: np.ndarray, data: np.ndarray) -> bool:
    return sample.shape == data.shape and bool(np.array_equal(sample, data))


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))


def _fit_int(values: list, points: list, original=None):
    """``values[0]`` (typed as ``original``) if every trace saw the same int, else the Dim
    ``c + kb batch + kt length + k batch length`` fitted on the traces one larger, which must
    give the value of every trace (a ValueError otherwise: not a size computation it can write)."""
    first = values[0]
    if all(v == first for v in values[1:]):
        return first if original is None else original
    base = points[0]
    seen = {tuple(sorted(s for s in point if point[s] == base[s] + 1)): value
            for point, value in zip(points, values) if all(point[s] - base[s] in (0, 1) for s in point)}
    batch = base["batch"]
    if "sequence" not in base:
        kb = seen[("batch",)] - first
        dim = Dim(first, first - kb * batch, ((("batch",), kb),))
    else:
        length = base["sequence"]
        k = seen[("batch", "sequence")] - seen[("batch",)] - seen[("sequence",)] + first
        kb = seen[("batch",)] - first - k * length
        kt = seen[("sequence",)] - first - k * batch
        constant = first - k * batch * length - kb * batch - kt * length
        terms = tuple((symbols, c) for symbols, c in ((("batch",), kb), (("sequence",), kt),
                                                      (("batch", "sequence"), k)) if c)
        dim = Dim(first, constant, terms)
    for point, value in zip(points, values):
        if dim.at(point) != value:
            raise ValueError(f"an int argument takes the values {values} at the sizes {points}, which no "
                             "formula in the batch size and length it writes gives")
    return dim


def _output_size(values: list, points: list, position: int, axis: int) -> int | str:
    """An output axis' ONNX dim: the int, a name of its formula, or (a size that depends on the
    input's values, as after x[x > 0]) a name of its own."""
    try:
        return _size_name(_fit_int(values, points, None))
    except ValueError:
        return f"output_{position}_axis_{axis}"


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
