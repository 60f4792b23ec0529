"""Converters of the element-wise ops, the comparisons and the reductions (ops/elementwise.py,
ops/reduce.py). Activations that glassnet composes (GELU, ELU, leaky ReLU, SiLU, Mish) arrive here
as the ops they are made of."""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from ._registry import converter

_BINARY = {"add": "Add", "sub": "Sub", "mul": "Mul", "div": "Div", "power": "Pow",
           "maximum": "Max", "minimum": "Min"}
_UNARY = {"exp": "Exp", "log": "Log", "sqrt": "Sqrt", "abs": "Abs", "neg": "Neg", "erf": "Erf",
          "tanh": "Tanh", "sigmoid": "Sigmoid", "relu": "Relu", "softplus": "Softplus"}
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
    """``where(condition, a, b)``. A condition made by NumPy from an operand's values
    (``x.data > 0``, as leaky_relu and elu write it) is rebuilt as that comparison on the traced
    value, so that it follows the input; a boolean Tensor comes from a traced comparison."""
    condition, a, b = (call.arguments[name] for name in ("condition", "a", "b"))
    cond = _condition(graph, condition, a, b)
    return graph.node("Where", [cond] + binary_operands(graph, a, b))[0]


def _condition(graph, condition, a, b) -> str:
    if isinstance(condition, Tensor) and graph.is_bound(condition):
        return graph.node("Cast", [graph.value(condition)], to=graph_type(np.bool_))[0]
    mask = np.asarray(condition.data if isinstance(condition, Tensor) else condition, dtype=bool)
    for operand in (a, b):
        if not isinstance(operand, Tensor) or not graph.is_bound(operand) or operand.shape != mask.shape:
            continue
        for op_type, test in (("Greater", np.greater), ("GreaterOrEqual", np.greater_equal),
                              ("Less", np.less), ("LessOrEqual", np.less_equal)):
            if np.array_equal(mask, test(operand.data, 0)):
                return graph.node(op_type, [graph.value(operand), graph.value(0.0, operand.dtype)])[0]
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
