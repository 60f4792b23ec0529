"""The converter registry: op name -> the function that writes that op's ONNX nodes.

A converter takes the :class:`~glassnet.onnx._graph.Graph` being built and the recorded
:class:`~glassnet.onnx._trace.Call`, adds nodes, and returns the ONNX name of the call's output
(a list of names when the op returned a tuple). The exporter binds those names to the output
Tensors, so the next call that reads them finds them with ``graph.value``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["CONVERTERS", "DYNAMIC_INT_OPS", "UnsupportedOpError", "converter"]

#: op name (the public name in ``glassnet.ops``, or "compare" for Tensor comparisons) -> converter
CONVERTERS: dict[str, Callable[[Any, Any], Any]] = {}

#: ops whose converters rebuild size-dependent int arguments (``Dim``) from Shape nodes; any
#: other op given such an argument is refused rather than exported with a frozen size
DYNAMIC_INT_OPS: set[str] = set()


class UnsupportedOpError(ValueError):
    """An op of the traced forward that cannot be written as ONNX: no converter for it, or an
    argument it cannot take (the message names the op and the module whose forward called it)."""


def converter(*ops: str, dynamic_ints: bool = False) -> Callable:
    """Register the decorated function as the converter of each op in ``ops``.

    ``dynamic_ints=True`` says the converter handles int arguments that depend on the input's
    dynamic sizes (``Dim`` values, e.g. a reshape to ``(batch, -1)``) by building them with
    ``graph.ints``.

    Example
    -------
    >>> from glassnet.onnx import converter, CONVERTERS
    >>> @converter("my_op_for_the_docs")
    ... def _my_op(graph, call):
    ...     return graph.node("Identity", [graph.value(call.args[0])])[0]
    >>> CONVERTERS["my_op_for_the_docs"] is _my_op
    True
    >>> del CONVERTERS["my_op_for_the_docs"]
    """
    if not ops or not all(isinstance(op, str) and op for op in ops):
        raise TypeError(f"converter needs one or more op names (non-empty str), got {ops!r}")

    def register(function: Callable) -> Callable:
        for op in ops:
            CONVERTERS[op] = function
            if dynamic_ints:
                DYNAMIC_INT_OPS.add(op)
        return function

    return register
