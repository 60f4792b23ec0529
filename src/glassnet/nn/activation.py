"""Activation layers, one per entry of the activation registry (``glassnet.functional.ACTIVATIONS``):
``Step``, ``Sigmoid``, ``Tanh``, ``ReLU``, ``LeakyReLU(alpha)``, ``ELU(alpha)``, ``Softmax(axis)``,
``LogSoftmax(axis)``, ``Softplus``, ``SiLU``, ``GELU``, ``Identity``, and any activation added to the
registry later. Each is a thin Module whose forward calls the registry's function (where the formula
and its derivative are documented); they hold no parameters to learn, only configuration such as
``alpha`` or ``axis``.

The classes are built from the registry below, not written out one by one, so that a new
activation needs no code here: its class appears in ``glassnet.nn`` under the entry's ``module``
name, and model files name it like any other layer.

Shape
-----
- input: ``(*)``, any shape
- output: ``(*)``, the same shape

Example
-------
>>> import numpy as np
>>> from glassnet import nn
>>> nn.ReLU()(np.array([-1.0, 2.0])).numpy()
array([0., 2.])
>>> nn.LeakyReLU(alpha=0.1)
LeakyReLU(alpha=0.1)
>>> nn.make_activation("logistic")
Sigmoid()
"""

from __future__ import annotations

import inspect

from ..functional import Activation, get_activation
from ..functional import activations as _registry
from ..tensor import Tensor
from .module import Module


class _ActivationLayer(Module):
    """What every activation layer is: its registry entry (the class attribute ``activation``) and
    that entry's parameters, kept as attributes of the same names (``alpha``, ``axis``)."""

    activation: Activation

    def __init__(self, *args, **parameters) -> None:
        super().__init__()
        names = list(self.activation.parameters)
        if len(args) > len(names):
            raise TypeError(f"{type(self).__name__} takes {len(names)} positional argument(s) "
                            f"{tuple(names)}, got {len(args)}")
        for name, value in zip(names, args):
            if name in parameters:
                raise TypeError(f"{type(self).__name__} got two values for {name}")
            parameters[name] = value
        for name, value in self.activation.check_parameters(**parameters).items():
            setattr(self, name, value)

    def forward(self, x) -> Tensor:
        """The registry function applied to ``x`` with this layer's parameters."""
        if not self.activation.parameters:  # most activations: spare the call a dict (once per layer per step)
            return self.activation.function(x)
        return self.activation.function(x, **self.get_config())

    def get_config(self) -> dict:
        return {name: getattr(self, name) for name in self.activation.parameters}

    def extra_repr(self) -> str:
        return ", ".join(f"{name}={value}" for name, value in self.get_config().items())


def _layer_class(entry: Activation) -> type[_ActivationLayer]:
    """The Module class of a registry entry: named ``entry.module``, documented by its function,
    its constructor taking the function's keyword parameters."""
    keywords = [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default)
                for name, default in entry.parameters.items()]

    def __init__(self, *args, **parameters) -> None:
        _ActivationLayer.__init__(self, *args, **parameters)

    # what help() and inspect.signature() show: LeakyReLU(alpha=0.01), not (*args, **parameters);
    # typeshed does not declare __signature__ on functions, which inspect reads from any callable
    __init__.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD), *keywords])
    __init__.__qualname__ = f"{entry.module}.__init__"
    call = "".join(f", {name}=self.{name}" for name in entry.parameters)
    doc = (f"The {entry.name} layer: ``forward(x)`` returns ``glassnet.functional.{entry.name}(x{call})``."
           f"\n\n{inspect.getdoc(entry.function)}")
    return type(entry.module, (_ActivationLayer,), {
        "activation": entry, "__init__": __init__, "__doc__": doc, "__module__": __name__,
        "__qualname__": entry.module})


# One class per entry (aliases share their entry's class), in registry order, made at import.
_LAYERS: dict[str, type[_ActivationLayer]] = {
    entry.module: _layer_class(entry) for name, entry in _registry.ACTIVATIONS.items() if name == entry.name}
globals().update(_LAYERS)


def _class_of(entry: Activation) -> type[_ActivationLayer]:
    """The layer class of a registry entry; made on first use for an entry registered after
    this module was imported."""
    if entry.module not in _LAYERS or _LAYERS[entry.module].activation is not entry:
        _LAYERS[entry.module] = _layer_class(entry)
    return _LAYERS[entry.module]


def __getattr__(name: str) -> type[_ActivationLayer]:
    """PEP 562: ``nn.activation.Name`` for an activation registered after import. Type checkers
    read this too, so ``nn.ReLU()`` checks as an activation layer (a Module) without a second list
    of the activations; the price is that a misspelled name (``nn.Relu``) also checks and fails
    only at run time, and a layer class cannot be an annotation (write ``nn.Module``)."""
    for entry in _registry.ACTIVATIONS.values():
        if entry.module == name:
            return _class_of(entry)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def make_activation(name: str, **parameters) -> Module:
    """A new activation layer for the registry name (or alias) ``name``, with ``parameters`` (the
    function's keyword parameters, checked; the others at their defaults).

    Example
    -------
    >>> from glassnet import nn
    >>> nn.make_activation("leaky_relu", alpha=0.2)
    LeakyReLU(alpha=0.2)
    """
    return _class_of(get_activation(name))(**parameters)


__all__ = list(_LAYERS)  # the layer classes; glassnet.nn exports them and make_activation
