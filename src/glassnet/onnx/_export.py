"""``export``: trace a Module's forward once (and again at other sizes, for the dynamic axes),
convert each recorded op with its converter, check the model and write it atomically."""

from __future__ import annotations

import contextlib
import importlib
import os

import numpy as np

from .._safetensors_file import new_temporary_file, target_path
from ..autograd import no_grad
from ..nn.module import Module
from ..tensor import Parameter, Tensor, as_float_array
from . import _dynamic
from ._graph import Graph, require_onnx
from ._registry import CONVERTERS, DYNAMIC_INT_OPS, UnsupportedOpError
from ._trace import trace

__all__ = ["MIN_OPSET", "export"]

MIN_OPSET = 13  # Unsqueeze/Squeeze/ReduceSum take their axes as inputs from 13 on


def export(model, sample_input, path, opset: int = 17, dynamic_axes: bool = True, *,
           input_names=None, output_names=None):
    """Write ``model`` as an ONNX file at ``path``, by tracing its forward on ``sample_input``.

    The forward runs once on the sample (in eval mode, under no_grad) with every op of
    ``glassnet.ops`` recorded, and each recorded op is written as ONNX nodes: any Module works,
    a Sequential or a user's own subclass. With ``dynamic_axes`` the batch (axis 0 of every input)
    is a dynamic axis, and so is axis 1 of the inputs for which the model also runs at another
    length there (sequences); the forward is traced again at those other sizes to tell which int
    arguments (reshape sizes, slices) follow them.

    Parameters
    ----------
    model : Module or fitted glassnet.sklearn estimator
        What to export. The model is left as it was (its mode is restored; nothing is recorded).
    sample_input : ndarray, Tensor, or tuple of them
        The input(s) of one forward, e.g. ``(tokens, padding_mask)``. Float arrays become
        inputs of the model's dtype; integer and boolean arrays (token indices, masks) keep theirs.
    path : str or PathLike
        The file to write, atomically (a temporary file renamed over it).
    opset : int
        The ONNX opset, 13 up to the newest the installed onnx knows.
    dynamic_axes : bool
        Whether batch (and sequence length) are dynamic; False fixes every size to the sample's.
    input_names, output_names : list of str, optional
        Names for the graph's inputs and outputs (default ``input``/``output``, numbered when
        there are several).

    Returns
    -------
    path : str

    Raises
    ------
    UnsupportedOpError
        An op without a converter (the message names it and the module that called it).

    Example
    -------
    >>> import os, tempfile, numpy as np, glassnet as gn
    >>> import glassnet.onnx
    >>> from glassnet import nn
    >>> model = nn.Sequential(nn.Linear(4, 8, rng=0), nn.GELU(), nn.Linear(8, 3, rng=1))
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = gn.onnx.export(model, np.ones((2, 4), np.float32), os.path.join(folder.name, "mlp.onnx"))
    >>> import onnx
    >>> [node.op_type for node in onnx.load(path).graph.node][:3]
    ['Gemm', 'Mul', 'Erf']
    >>> folder.cleanup()
    """
    onnx = require_onnx()
    if not isinstance(model, Module):
        if callable(getattr(model, "fit", None)) and callable(getattr(model, "get_params", None)):
            return _export_estimator(model, sample_input, path, opset, dynamic_axes, input_names, output_names)
        raise TypeError(f"export needs a glassnet Module (or a fitted glassnet.sklearn estimator), "
                        f"got {type(model).__name__}")
    opset = _check_opset(opset, onnx.defs.onnx_opset_version())
    if not isinstance(dynamic_axes, bool):
        raise TypeError(f"dynamic_axes must be True or False, got {dynamic_axes!r}")
    dtype = _model_dtype(model, sample_input)
    inputs = _inputs(sample_input, dtype)
    input_names = _names(input_names, len(inputs), "input", "input_names")
    path = target_path(os.fspath(path) if isinstance(path, os.PathLike) else path)
    with _inference(model):
        calls, output, dims = _dynamic.traces(model, inputs, dynamic_axes, trace)
    proto = _build(model, opset, dtype, inputs, input_names, output_names, calls, output, dims)
    onnx.checker.check_model(proto)
    _write(path, proto.SerializeToString())
    return path


def _build(model: Module, opset: int, dtype, inputs: tuple, input_names: list, output_names, calls: list,
           output, dims):
    """The ONNX model of the traced calls: inputs, one converter per call, named outputs."""
    outputs = _outputs(output)
    output_names = _names(output_names, len(outputs), "output", "output_names")
    if set(input_names) & set(output_names):
        raise ValueError(f"input_names and output_names share {sorted(set(input_names) & set(output_names))}")
    parameters = {id(p): name for name, p in model.named_parameters()}
    graph = Graph(opset, dtype, parameters, dims.varying)
    for x, name, shape in zip(inputs, input_names, dims.input_shapes):
        graph.bind(x, graph.add_input(name, x.dtype, shape))
    for call in calls:
        _convert(graph, call)
    graph.call = None
    for out, name, shape in zip(outputs, output_names, dims.output_shapes):
        graph.add_output(name, graph.value(out), out.dtype, shape)
    _check_inputs_used(graph, input_names)
    return graph.model()


def _convert(graph: Graph, call) -> None:
    function = CONVERTERS.get(call.op)
    if function is None:
        raise UnsupportedOpError(f"cannot export op '{call.op}' (called in {call.module}): glassnet.onnx "
                                 "has no converter for it (loss and penalty ops are for training, not inference)")
    graph.call = call
    if call.op not in DYNAMIC_INT_OPS and _dynamic.has_dim((call.args, call.kwargs)):
        raise graph.error("an int argument of it depends on the input's batch size or length; export "
                          "with dynamic_axes=False to fix the sizes")
    names = function(graph, call)
    if isinstance(call.output, (tuple, list)):
        if not isinstance(names, (tuple, list)) or len(names) != len(call.output):
            raise UnsupportedOpError(f"the converter of '{call.op}' returned {names!r} for {len(call.output)} outputs")
        for out, name in zip(call.output, names):
            graph.bind(out, name)
    else:
        graph.bind(call.output, names if isinstance(names, str) else names[0])


def _model_dtype(model: Module, sample_input) -> np.dtype:
    """The parameters' float dtype; for a model without parameters, the sample's (float32 if it
    has no float input)."""
    for parameter in model.parameters():
        return parameter.dtype
    for item in sample_input if isinstance(sample_input, tuple) else (sample_input,):
        dtype = getattr(item, "dtype", None)
        if isinstance(dtype, np.dtype) and dtype in (np.float32, np.float64):
            return dtype
    return np.dtype(np.float32)


def _check_opset(opset, newest: int) -> int:
    if isinstance(opset, bool) or not isinstance(opset, (int, np.integer)):
        raise TypeError(f"opset must be an int, got {type(opset).__name__}")
    if not MIN_OPSET <= opset <= newest:
        raise ValueError(f"opset must be in [{MIN_OPSET}, {newest}] (the newest the installed onnx knows), got {opset}")
    return int(opset)


def _inputs(sample_input, dtype) -> tuple:
    """The forward's arguments: float arrays as Tensors of the model's dtype, integer and boolean
    arrays (indices, masks) as they are."""
    items = sample_input if isinstance(sample_input, tuple) else (sample_input,)
    if not items:
        raise ValueError("sample_input is an empty tuple; give the forward's input(s)")
    inputs: list = []
    for index, item in enumerate(items):
        if isinstance(item, Parameter):
            item = Tensor(item.data)
        if isinstance(item, Tensor):
            inputs.append(item if item.dtype == dtype else Tensor(item.data.astype(dtype)))
        elif isinstance(item, np.ndarray) and item.dtype.kind in "biu":
            inputs.append(item)
        elif isinstance(item, np.ndarray) and item.dtype.kind == "f":
            inputs.append(Tensor(as_float_array(item, dtype)))
        else:
            raise TypeError(f"sample_input[{index}] must be a NumPy array or a Tensor, got {type(item).__name__}"
                            + (f" of dtype {item.dtype}" if isinstance(item, np.ndarray) else ""))
        if inputs[-1].ndim == 0:
            raise ValueError(f"sample_input[{index}] is a scalar; the first axis is the batch")
    return tuple(inputs)


def _names(names, count: int, default: str, what: str) -> list[str]:
    if names is None:
        return [default] if count == 1 else [f"{default}_{i}" for i in range(count)]
    if isinstance(names, str) or not all(isinstance(n, str) and n for n in names):
        raise TypeError(f"{what} must be a list of non-empty str, got {names!r}")
    names = list(names)
    if len(names) != count:
        raise ValueError(f"{what} has {len(names)} names for {count} {default}s")
    if len(set(names)) != len(names):
        raise ValueError(f"{what} names one twice: {names}")
    return names


def _outputs(output) -> list:
    items = list(output) if isinstance(output, (tuple, list)) else [output]
    for item in items:
        if not isinstance(item, Tensor):
            raise TypeError(f"the model's forward returned {type(item).__name__}; export needs a Tensor "
                            "or a tuple of Tensors")
    return items


def _check_inputs_used(graph: Graph, names: list[str]) -> None:
    read = {name for node in graph.nodes for name in node.input}
    for name in names:
        if name not in read:
            raise ValueError(f"the traced graph never reads input '{name}': the forward converted it "
                             "outside glassnet.ops (pass float arrays for float inputs), or ignores it")


@contextlib.contextmanager
def _inference(model: Module):
    """Eval mode and no_grad for the traces; every module's mode flags, its buffers (a forward
    that counts its calls in one runs several times here) and every NumPy Generator a module
    holds are put back afterwards, so the model is left exactly as it was."""
    modes = [(m, m.__dict__.get("training"), m.__dict__.get("_asked_training")) for m in model.modules()]
    buffers = [(array, array.copy()) for _, array in model.named_buffers() if isinstance(array, np.ndarray)]
    generators = [(g, g.bit_generator.state) for m in model.modules() for g in vars(m).values()
                  if isinstance(g, np.random.Generator)]
    try:
        model.eval()
        with no_grad():
            yield
    finally:
        for module, training, asked in modes:
            for key, value in (("training", training), ("_asked_training", asked)):
                if value is None:
                    module.__dict__.pop(key, None)
                else:
                    object.__setattr__(module, key, value)
        for generator, state in generators:
            generator.bit_generator.state = state
        for array, saved in buffers:
            array[...] = saved


def _write(path: str, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it over ``path``."""
    target = os.path.realpath(path)
    directory, name = os.path.split(target)
    temporary, descriptor = new_temporary_file(directory, name)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _export_estimator(estimator, sample_input, path, opset, dynamic_axes, input_names, output_names):
    """A fitted glassnet.sklearn estimator: its own exporter (``glassnet.onnx._estimators``)."""
    try:
        estimators = importlib.import_module(f"{__package__}._estimators")
    except ModuleNotFoundError as error:
        if error.name != f"{__package__}._estimators":
            raise
        raise TypeError(f"export of scikit-learn estimators ({type(estimator).__name__}) is not available "
                        "in this build of glassnet.onnx") from None
    return estimators.export(estimator, sample_input, path, opset=opset, dynamic_axes=dynamic_axes,
                             input_names=input_names, output_names=output_names)
