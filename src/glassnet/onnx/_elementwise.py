"""Converters of the element-wise ops, the comparisons and the reductions (ops/elementwise.py,
ops/reduce.py). Activations that glassnet composes (GELU, ELU, leaky ReLU, SiLU, Mish) arrive here
as the ops they are made of."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..tensor import Tensor
from ._registry import converter

_BINARY = {"add": "Add", "sub": "Sub", "mul": "Mul", "div": "Div", "power": "Pow",
           "maximum": "Max", "minimum": "Min"}
_UNARY = {"exp": "Exp", "log": "Log", "sqrt": "Sqrt", "abs": "Abs", "neg": "Neg", "erf": "Erf",
          "tanh": "Tanh", "sigmoid": "Sigmoid", "relu": "Relu"}
# NumPy comparison ufunc -> (ONNX op, swap the operands, negate the result)
_COMPARE = {"greater": ("Greater", False, False), "less": ("Less", False, False),
            "greater_equal": ("GreaterOrEqual", False, False), "less_equal": ("LessOrEqual", False, False),
            "equal": ("Equal", False, False), "not_equal": ("Equal", False, True)}


def _dtype_of(*operands):
    """The float dtype of the first Tensor operand (constants take it, as in the ops)."""
    return next((t.dtype for t in operands if isinstance(t, Tensor)), None)


def binary_operands(graph, a, b) -> list[str]:
    dtype = _dtype_of(a, b)
    return [graph.value(a, dtype), graph.value(b, dtype)]


@converter(*_BINARY)
def _binary(graph, call):
    arguments = call.arguments
    return graph.node(_BINARY[call.op], binary_operands(graph, arguments["a"], arguments["b"]))[0]


@converter(*_UNARY)
def _unary(graph, call):
    return graph.node(_UNARY[call.op], [graph.value(call.arguments["a"])])[0]


@converter("softplus")
def _softplus(graph, call):
    """Softplus; in float64 as max(x, 0) + log(1 + e^-|x|), glassnet's own stable formula,
    because onnxruntime has no float64 Softplus kernel (its Erf, Conv, ConvTranspose and
    AveragePool have none either: those are written as they are, valid ONNX it cannot run)."""
    x = call.arguments["a"]
    name = graph.value(x)
    if x.dtype != np.float64:
        return graph.node("Softplus", [name])[0]
    decay = graph.node("Exp", [graph.node("Neg", [graph.node("Abs", [name])[0]])[0]])[0]
    tail = graph.node("Log", [graph.node("Add", [decay, graph.value(1.0, x.dtype)])[0]])[0]
    return graph.node("Add", [graph.node("Relu", [name])[0], tail])[0]


@converter("log1p")
def _log1p(graph, call):
    x = call.arguments["a"]
    return graph.node("Log", [graph.node("Add", [graph.value(x), graph.value(1.0, x.dtype)])[0]])[0]


@converter("step")
def _step(graph, call):
    """1 where x >= 0, else 0 (NaN gives 0, as in NumPy's comparison)."""
    x = call.arguments["a"]
    mask = graph.node("GreaterOrEqual", [graph.value(x), graph.value(0.0, x.dtype)])[0]
    return graph.node("Cast", [mask], to=graph_type(x.dtype))[0]


@converter("clip")
def _clip(graph, call):
    arguments = call.arguments
    x, low, high = arguments["a"], arguments["low"], arguments["high"]
    bounds = ["" if bound is None else graph.value(np.asarray(bound).reshape(()), x.dtype) for bound in (low, high)]
    if any(np.ndim(bound) for bound in (low, high) if bound is not None):  # array bounds: Max/Min
        out = graph.value(x)
        if low is not None:
            out = graph.node("Max", [out, graph.value(low, x.dtype)])[0]
        if high is not None:
            out = graph.node("Min", [out, graph.value(high, x.dtype)])[0]
        return out
    return graph.node("Clip", [graph.value(x)] + bounds)[0]


@converter("astype")
def _astype(graph, call):
    return graph.node("Cast", [graph.value(call.arguments["a"])], to=graph_type(call.output.dtype))[0]


@converter("compare")
def _compare(graph, call):
    ufunc, a, b = call.args
    name = getattr(ufunc, "__name__", str(ufunc))
    if name not in _COMPARE:
        raise graph.error(f"the comparison {name} has no ONNX op here")
    op_type, _, negate = _COMPARE[name]
    out = graph.node(op_type, binary_operands(graph, a, b))[0]
    return graph.node("Not", [out])[0] if negate else out


@converter("where")
def _where(graph, call):
    """``where(condition, a, b)``. A boolean Tensor condition comes from a traced comparison. A
    condition that NumPy computed from an operand's values (``x.data > 0`` in leaky_relu and elu,
    ``np.isnan(x.data)`` in Impute) is rebuilt as that test on the traced value, so that it
    follows the input: known callers by name; for others the first of x > 0, x >= 0, x < 0,
    x <= 0, isnan(x) (x the operand a, then b) that gives the same mask on the sample. A mask all
    True or all False that several tests give is refused (write ``x > 0``, a traced Tensor
    comparison, instead); a mask no test gives is a constant."""
    condition, a, b = (call.arguments[name] for name in ("condition", "a", "b"))
    cond = _condition(graph, call, condition, a, b)
    return graph.node("Where", [cond] + binary_operands(graph, a, b))[0]


# The element-wise tests a condition may be, as (ONNX op, the NumPy test); x > 0 first.
_TESTS: dict[str, Callable] = {"Greater": lambda v: v > 0, "GreaterOrEqual": lambda v: v >= 0, "Less": lambda v: v < 0,
          "LessOrEqual": lambda v: v <= 0, "IsNaN": np.isnan}
# glassnet's own callers of where with a NumPy condition: (module, function) -> (test, operand)
KNOWN_CONDITIONS = {("glassnet.functional.activations", "leaky_relu"): ("Greater", "a"),
                    ("glassnet.functional.activations", "elu"): ("Greater", "a"),
                    ("glassnet.nn.preprocessing", "forward"): ("IsNaN", "b")}


def _condition(graph, call, condition, a, b) -> str:
    if graph.is_bound(condition):  # a traced comparison, or a boolean input of the graph
        name = graph.value(condition)
        return name if condition.dtype == bool else graph.node("Cast", [name], to=graph_type(np.bool_))[0]
    mask = np.asarray(condition.data if isinstance(condition, Tensor) else condition, dtype=bool)
    operands = {"a": a, "b": b}
    known = KNOWN_CONDITIONS.get(tuple(call.caller))
    candidates = [known] if known else [(test, key) for key in operands for test in _TESTS]
    matches = []
    for test, key in candidates:
        operand = operands[key]
        if (isinstance(operand, Tensor) and graph.is_bound(operand) and operand.shape == mask.shape
                and np.array_equal(mask, _TESTS[test](operand.data))):
            matches.append((test, operand))
    if len({test for test, _ in matches}) > 1 and not known:
        if mask.all() or not mask.any():  # x > 0 and x >= 0 agree on this sample: cannot tell
            raise graph.error(f"its condition (all {bool(mask.all())} on the sample) is a NumPy array that several "
                              "tests of the input give; write the condition as a Tensor comparison (x > 0)")
    if matches:
        test, operand = matches[0]
        inputs = [graph.value(operand)] + ([] if test == "IsNaN" else [graph.value(0.0, operand.dtype)])
        return graph.node(test, inputs)[0]
    return graph.value(mask)


def graph_type(dtype) -> int:
    from ._graph import _onnx_type

    return _onnx_type(dtype)


# ---- reductions --------------------------------------------------------------------------------
def _axes(axis, ndim: int) -> list[int]:
    if axis is None:
        return list(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    return [int(a) % ndim for a in axes]


_REDUCE = {"sum": "ReduceSum", "mean": "ReduceMean", "max": "ReduceMax", "min": "ReduceMin",
           "logsumexp": "ReduceLogSumExp", "vector_norm": "ReduceL2"}


@converter(*_REDUCE)
def _reduce(graph, call):
    arguments = call.arguments
    x = arguments["a"]
    return graph.reduce(_REDUCE[call.op], graph.value(x), _axes(arguments["axis"], x.ndim), arguments["keepdims"])


@converter("var")
def _var(graph, call):
    """mean((x - mean x)^2) * n / (n - ddof), n the number of values reduced (from the shape,
    so that it follows a dynamic axis)."""
    arguments = call.arguments
    x, ddof = arguments["a"], arguments["ddof"]
    axes = _axes(arguments["axis"], x.ndim)
    name = graph.value(x)
    centered = graph.node("Sub", [name, graph.reduce("ReduceMean", name, axes, True)])[0]
    squares = graph.node("Mul", [centered, centered])[0]
    if not ddof:
        return graph.reduce("ReduceMean", squares, axes, arguments["keepdims"])
    total = graph.reduce("ReduceSum", squares, axes, arguments["keepdims"])
    sizes = graph.node("Gather", [graph.shape_of(name), graph.constant(np.array(axes, np.int64), "axes")])[0]
    count = graph.node("Cast", [graph.reduce("ReduceProd", sizes, [0], False)], to=graph_type(x.dtype))[0]
    divisor = graph.node("Sub", [count, graph.value(float(ddof), x.dtype)])[0]
    return graph.node("Div", [total, divisor])[0]
