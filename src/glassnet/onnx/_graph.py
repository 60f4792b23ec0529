"""The ONNX graph under construction: names for traced values, nodes, initializers, constants.

Converters (``_registry.converter``) only talk to :class:`Graph`: ``value`` gives the ONNX name
of anything the op received (a traced Tensor, a Parameter, a constant), ``node`` adds a node,
``constant`` an initializer, ``ints`` a 1-D int64 tensor whose entries may depend on the input's
dynamic sizes. ``onnx`` itself is imported lazily (it is an optional extra).
"""

from __future__ import annotations

import math

import numpy as np

from ..tensor import Tensor
from ._dynamic import Dim, Filled
from ._registry import UnsupportedOpError

__all__ = ["INT64_MAX", "Graph", "product", "require_onnx"]

INT64_MAX = np.iinfo(np.int64).max


def require_onnx():
    """The ``onnx`` package, or an ImportError that says how to install it."""
    try:
        import onnx
    except ImportError as error:
        raise ImportError("glassnet.onnx needs the onnx package: pip install glassnet[onnx] "
                          f"(or pip install onnx); importing it failed: {error}") from None
    return onnx


class Graph:
    """An ONNX graph being written from a trace.

    Parameters
    ----------
    opset : int
        The ONNX opset (default domain) the converters write for.
    dtype : numpy dtype
        The model's float dtype (float32 or float64); Python numbers become constants of it.
    parameters : dict
        ``id(Parameter) -> name``: a Parameter becomes an initializer named by its
        ``named_parameters()`` name.
    varying : set
        ids of arrays and numbers that changed with the input's size between traces: computed
        from the input outside the ops, they cannot be frozen into a constant.

    Example
    -------
    >>> import numpy as np
    >>> from glassnet.onnx import Graph
    >>> graph = Graph(17, np.float32)
    >>> x = graph.add_input("x", np.float32, ("batch", 3))
    >>> graph.node("Relu", [x])
    ['relu']
    >>> graph.constant(np.array([1, 2]), "shape")
    'shape'
    """

    def __init__(self, opset: int, dtype, parameters: dict | None = None, varying: set | None = None) -> None:
        self.opset = opset
        self.dtype = np.dtype(dtype)
        self.parameters = dict(parameters or {})
        self.varying = set(varying or ())
        self.nodes: list = []
        self.initializers: list = []
        self.inputs: list = []
        self.outputs: list = []
        self.symbols: dict[str, tuple[str, int]] = {}  # dynamic size name -> (input, axis)
        self.call = None  # the Call being converted, for error messages
        self._names: set[str] = set(self.parameters.values())  # reserved, written when first read
        self._written: set[str] = set()
        self._bound: dict[int, str] = {}
        self._keep: list = []  # objects whose id() is a key: kept alive so no id is reused
        self._constants: dict = {}
        self._shapes: dict[str, str] = {}
        self._dims: dict = {}

    # ---- names ---------------------------------------------------------------------------------
    def fresh(self, hint: str) -> str:
        """A name not used yet in the graph: ``hint``, else ``hint_1``, ``hint_2``, ..."""
        hint = hint or "v"
        name, count = hint, 0
        while name in self._names:
            count += 1
            name = f"{hint}_{count}"
        self._names.add(name)
        return name

    def bind(self, obj, name: str) -> None:
        """Say that the traced value ``obj`` (a Tensor or array an op returned, an input) is
        the ONNX value ``name``."""
        self._bound[id(obj)] = name
        self._keep.append(obj)

    def is_bound(self, obj) -> bool:
        return id(obj) in self._bound

    def value(self, x, dtype=None) -> str:
        """The ONNX name of ``x``: a traced value, a Parameter (an initializer named by its
        ``named_parameters()`` name), or else a constant initializer. A Python number or an array
        becomes a constant of ``dtype`` (default: the model's, for numbers; the array's own)."""
        if isinstance(x, Filled) and id(x.source) in self._bound:
            x = x.source
        if id(x) in self._bound:
            return self._bound[id(x)]
        if isinstance(x, Tensor):
            if id(x) in self.parameters:
                name = self.parameters[id(x)]
                if name not in self._written:
                    self._written.add(name)
                    self._add_initializer(name, x.data)
                return name
            if isinstance(x, Filled):  # zeros of the input's batch size, made in the forward
                fill = require_onnx().numpy_helper.from_array(x.data.reshape(-1)[:1])
                return self.node("ConstantOfShape", [self.ints(x.dims)], hint="filled", value=fill)[0]
            if id(x) in self.varying:
                raise self.error("it reads a Tensor made from the input outside glassnet.ops (its shape "
                                 "changes with the input's), which cannot be a constant")
            if x._op:  # an op's output that no converter produced: it ran outside glassnet.ops
                raise self.error(f"it reads the output of op '{x._op}', which was computed outside "
                                 "glassnet.ops (so not traced)")
            return self.constant(x.data if dtype is None else x.data.astype(dtype), "const")
        if id(x) in self.varying:
            raise self.error(f"an argument ({type(x).__name__}) was computed from the input outside "
                             "glassnet.ops (it changes with the input's size), so it cannot be a constant")
        if isinstance(x, (bool, int, float, np.generic)) and not isinstance(x, np.ndarray):
            dtype = self.dtype if dtype is None else dtype
        array = np.asarray(x)
        if dtype is not None:
            array = array.astype(dtype)
        return self.constant(array, "const")

    def error(self, problem: str) -> UnsupportedOpError:
        """An UnsupportedOpError naming the op being converted and where it was called."""
        call = self.call
        if call is None:
            return UnsupportedOpError(f"cannot export: {problem}")
        return UnsupportedOpError(f"cannot export op '{call.op}' (called in {call.module}): {problem}")

    # ---- nodes, constants, inputs, outputs ------------------------------------------------------
    def node(self, op_type: str, inputs: list[str], n_outputs: int = 1, hint: str | None = None,
             **attrs) -> list[str]:
        """Add an ``op_type`` node reading ``inputs`` (names; "" for a missing optional input)
        and return the names of its ``n_outputs`` outputs. ``attrs`` are its attributes."""
        onnx = require_onnx()
        outputs = [self.fresh(hint or op_type.lower()) for _ in range(n_outputs)]
        self.nodes.append(onnx.helper.make_node(op_type, list(inputs), outputs,
                                                name=self.fresh(f"{op_type}_node"), **attrs))
        return outputs

    def constant(self, array, hint: str = "c") -> str:
        """An initializer holding ``array`` (its dtype kept), shared by equal constants."""
        array = np.asarray(array)
        if array.dtype.kind not in "biuf":
            raise self.error(f"a constant of dtype {array.dtype} has no ONNX type here")
        key = (array.dtype.str, array.shape, array.tobytes())
        if key not in self._constants:
            name = self.fresh(hint)
            self._add_initializer(name, array)
            self._constants[key] = name
        return self._constants[key]

    def _add_initializer(self, name: str, array: np.ndarray) -> None:
        onnx = require_onnx()
        self.initializers.append(onnx.numpy_helper.from_array(np.array(array, order="C"), name))

    def add_input(self, name: str, dtype, dims: tuple) -> str:
        """A graph input of ``dtype`` and ``dims`` (ints, or str names of dynamic sizes)."""
        onnx = require_onnx()
        self._reserve(name, "input")
        self.inputs.append(onnx.helper.make_tensor_value_info(name, _onnx_type(dtype), list(dims)))
        for axis, dim in enumerate(dims):
            if isinstance(dim, str):
                self.symbols.setdefault(dim, (name, axis))
        return name

    def add_output(self, name: str, value: str, dtype, dims: tuple) -> str:
        """Name the graph output ``name`` (an Identity of ``value``)."""
        onnx = require_onnx()
        self._reserve(name, "output")
        self.nodes.append(onnx.helper.make_node("Identity", [value], [name], name=self.fresh("output_node")))
        self.outputs.append(onnx.helper.make_tensor_value_info(name, _onnx_type(dtype), list(dims)))
        return name

    def _reserve(self, name: str, what: str) -> None:
        if name in self._names:
            taken = "a parameter's" if name in self.parameters.values() else "another value's"
            raise ValueError(f"the {what} name '{name}' is already {taken} name in the graph; choose another")
        self._names.add(name)

    def model(self, producer: str = "glassnet"):
        """The ``onnx.ModelProto`` of the graph."""
        onnx = require_onnx()
        nodes, initializers = self._live()
        graph = onnx.helper.make_graph(nodes, "glassnet", self.inputs, self.outputs, initializers)
        opset = onnx.helper.make_opsetid("", self.opset)
        model = onnx.helper.make_model(graph, opset_imports=[opset], producer_name=producer,
                                       ir_version=onnx.helper.find_min_ir_version_for([opset]))
        return model

    def _live(self) -> tuple[list, list]:
        """The nodes and initializers the outputs depend on: the forward may compute values it
        never returns (a debug sum, a branch it drops), which the file need not carry."""
        needed = {output.name for output in self.outputs}
        nodes = []
        for node in reversed(self.nodes):
            if any(name in needed for name in node.output):
                nodes.append(node)
                needed.update(name for name in node.input if name)
        return nodes[::-1], [i for i in self.initializers if i.name in needed]

    # ---- shapes and sizes ----------------------------------------------------------------------
    def shape_of(self, name: str) -> str:
        """A Shape node of ``name`` (one per value)."""
        if name not in self._shapes:
            self._shapes[name] = self.node("Shape", [name], hint=f"{name}_shape")[0]
        return self._shapes[name]

    def dim(self, size: Dim) -> str:
        """A 1-D int64 tensor ``[size]`` computed from the inputs' shapes: ``size`` is
        ``constant + sum(coefficient * product of dynamic sizes)`` (see ``_dynamic.Dim``)."""
        key = (size.constant, size.terms)
        if key not in self._dims:
            total = self.constant(np.array([size.constant], np.int64), "size")
            for symbols, coefficient in size.terms:
                term = self.constant(np.array([coefficient], np.int64), "size")
                for symbol in symbols:
                    source, axis = self.symbols[symbol]
                    gathered = self.node("Gather", [self.shape_of(source), self.constant(np.array([axis], np.int64),
                                                                                         "axis")], hint=symbol)[0]
                    term = self.node("Mul", [term, gathered], hint="size")[0]
                total = self.node("Add", [total, term], hint="size")[0]
            self._dims[key] = total
        return self._dims[key]

    def ints(self, values) -> str:
        """A 1-D int64 tensor of ``values``: a constant, or (when an entry is a ``Dim``, an int
        that depends on the dynamic sizes) a Concat of constants and sizes computed by ``dim``."""
        values = list(values)
        if not any(isinstance(v, Dim) for v in values):
            return self.constant(np.array(values, dtype=np.int64).reshape(len(values)), "ints")
        pieces = [self.dim(v) if isinstance(v, Dim) else self.constant(np.array([int(v)], np.int64), "ints")
                  for v in values]
        return self.node("Concat", pieces, hint="ints", axis=0)[0]

    def reduce(self, op_type: str, x: str, axes, keepdims: bool) -> str:
        """A Reduce* node over ``axes`` (a list of ints): an attribute before the opset where
        the op takes them as an input (13 for ReduceSum, 18 for the others)."""
        axes = [int(a) for a in axes]
        takes_input = self.opset >= (13 if op_type == "ReduceSum" else 18)
        if takes_input:
            return self.node(op_type, [x, self.constant(np.array(axes, np.int64), "axes")],
                             keepdims=int(keepdims))[0]
        return self.node(op_type, [x], axes=axes, keepdims=int(keepdims))[0]

    def unsqueeze(self, x: str, axes) -> str:
        """Unsqueeze (axes an input from opset 13, which is the oldest this exporter writes)."""
        return self.node("Unsqueeze", [x, self.constant(np.array(list(axes), np.int64), "axes")])[0]

    def squeeze(self, x: str, axes) -> str:
        return self.node("Squeeze", [x, self.constant(np.array(list(axes), np.int64), "axes")])[0]


def _onnx_type(dtype) -> int:
    onnx = require_onnx()
    return onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


def product(values) -> int:
    return math.prod(int(v) for v in values)

