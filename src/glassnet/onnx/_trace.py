"""Tracing: run a model's forward once and record every op it calls, in order.

Every caller in glassnet reaches a primitive through the ``glassnet.ops`` module attribute
(``ops.conv(...)`` in functional, ``_ops.add(...)`` behind Tensor's operators), so replacing each
public name of ``glassnet.ops`` by a recording wrapper sees every op without touching ops/. Only
the OUTERMOST call is recorded (a depth counter): ``ops.var`` is one record, not the mean, sub,
mul and sum it is made of, so the ONNX graph gets one converter per op the model asked for.
Tensor comparisons (``x > 0``, a boolean Tensor outside the autodiff graph) are recorded too, as
"compare". Everything is put back in ``finally``, whatever the forward raised.
"""

from __future__ import annotations

import inspect
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from .. import ops as _ops_module
from ..nn.module import Module
from ..tensor import Tensor
from ._forwards import export_forwards

__all__ = ["Call", "trace"]

_LOCK = threading.RLock()
_ACTIVE: list = []  # non-empty while a trace runs (the RLock lets its own thread in again)

# glassnet's __init__ binds the name "tensor" to the tensor() function, so the module is looked up
_tensor_module: Any = sys.modules[Tensor.__module__]


@dataclass(eq=False)
class Call:
    """One op the forward called: its name, its arguments as passed, and what it returned.

    Attributes
    ----------
    op : str
        The op's public name in ``glassnet.ops`` ("linear", "add", ...), or "compare".
    args, kwargs : tuple, dict
        The arguments as passed (Tensors, arrays, ints, tuples ...).
    output : Tensor or tuple
        What the op returned.
    module : str
        Where it was called: "<name> (<Class>)" of the innermost Module whose forward called it
        ("" at the top level), for error messages.
    function : callable or None
        The op itself (its signature gives :attr:`arguments`).
    caller : (str, str)
        The Python module and the name of the function that called the op
        (``("glassnet.functional.activations", "leaky_relu")``): converters use it to read
        arguments that NumPy computed from the input, such as a ``where`` condition.
    """

    op: str
    args: tuple
    kwargs: dict
    output: Any
    module: str = ""
    function: Callable | None = field(default=None, repr=False)
    caller: tuple = ("", "")

    @property
    def arguments(self) -> dict:
        """Every parameter of the op by name, defaults filled in: ``{"a": x, "axis": None, ...}``."""
        if self.function is None:
            return dict(enumerate(self.args)) | self.kwargs
        bound = inspect.signature(self.function).bind(*self.args, **self.kwargs)
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        for name, parameter in inspect.signature(self.function).parameters.items():
            if parameter.kind is inspect.Parameter.VAR_POSITIONAL:  # permute(a, *axes)
                arguments[name] = tuple(arguments.get(name, ()))
        return arguments


def _where(module_names: dict) -> str:
    """The innermost Module whose ``forward`` is on the stack, as "name (Class)"."""
    frame: FrameType | None = sys._getframe(2)
    while frame is not None:
        owner = frame.f_locals.get("self") if frame.f_code.co_name == "forward" else None
        if isinstance(owner, Module):
            name = module_names.get(id(owner), "")
            return f"{name or 'the model'} ({type(owner).__name__})"
        frame = frame.f_back
    return "the model's forward"


def _modules_to_patch(model: Module) -> list:
    """The modules whose globals may hold an op: ``glassnet.ops`` itself, every other module of
    glassnet (``gn.where`` and ``from ..ops import where`` are the op under another name), and
    the modules defining the model's classes (a user's ``from glassnet.ops import conv``). The
    families inside ops/ are left alone: their calls to each other are inner calls anyway."""
    names = {name for name in sys.modules if name == "glassnet" or (name.startswith("glassnet.")
                                                                      and not name.startswith("glassnet.ops."))}
    names |= {type(module).__module__ for module in model.modules()}
    names.add(_tensor_module.__name__)
    return [sys.modules[name] for name in sorted(names) if sys.modules.get(name) is not None]


def trace(model: Module, inputs: tuple) -> tuple[list[Call], Any]:
    """Run ``model(*inputs)`` with every op of ``glassnet.ops`` recorded.

    Returns the list of :class:`Call` in the order they ran and the model's output. The caller
    sets the mode (eval) and grad mode (no_grad); this only records.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> from glassnet import nn
    >>> from glassnet.onnx import trace
    >>> model = nn.Sequential(nn.Linear(3, 2, rng=0), nn.ReLU())
    >>> calls, output = trace(model, (gn.Tensor(np.ones((4, 3), np.float32)),))
    >>> [call.op for call in calls], output.shape
    (['linear', 'relu'], (4, 2))
    """
    calls: list[Call] = []
    module_names = {id(module): name for name, module in model.named_modules()}
    depth = [0]

    def recording(name: str, function: Callable) -> Callable:
        def wrapper(*args, **kwargs):
            depth[0] += 1
            try:
                output = function(*args, **kwargs)
            finally:
                depth[0] -= 1
            if depth[0] == 0:
                frame = sys._getframe(1)
                caller = (frame.f_globals.get("__name__", ""), frame.f_code.co_name)
                calls.append(Call(name, args, kwargs, output, _where(module_names), function, caller))
            return output

        wrapper.__wrapped__ = function  # type: ignore[attr-defined]
        return wrapper

    with _LOCK:  # the ops are module attributes: one trace at a time, whatever the thread
        if _ACTIVE:
            raise RuntimeError("a traced forward cannot start another trace (export inside a forward)")
        _ACTIVE.append(True)
        originals = {name: getattr(_ops_module, name) for name in _ops_module.__all__}
        originals["compare"] = _tensor_module._compare
        # keyed by id: the originals stay alive here, so no other object can share an id with one
        wrappers = {id(function): recording(name, function) for name, function in originals.items()}
        patched = []  # (module, attribute, original)
        try:
            for module in _modules_to_patch(model):
                for attribute, value in list(vars(module).items()):
                    if id(value) in wrappers:
                        patched.append((module, attribute, value))
                        setattr(module, attribute, wrappers[id(value)])
            with export_forwards(model):
                output = model(*inputs)
        finally:
            for module, attribute, value in reversed(patched):
                setattr(module, attribute, value)
            _ACTIVE.clear()
    return calls, output
