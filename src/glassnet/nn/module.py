"""The Module base class: a layer or a model that owns Parameters, buffers and sub-Modules.

Assigning a :class:`Parameter` or a :class:`Module` to an attribute registers it (in the ordered
dicts ``_parameters`` and ``_modules``), so ``parameters()``, ``state_dict()`` and ``train()``
find everything without a hand-written list in every class. Buffers (plain ndarrays such as
BatchNorm's ``running_mean``) are registered with :meth:`Module.register_buffer`: they are saved
in ``state_dict()`` but are not learned.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import ClassVar

import numpy as np

from .._checks import boolean
from ..tensor import Parameter
from ._hooks import Hooks
from ._state import LoadResult, _as_buffer, _check_name, _construction_guard, match_state, state_array

__all__ = ["LoadResult", "Module", "Parameter", "state_array"]

class Module(Hooks):
    """Base class of every layer and model.

    A subclass calls ``super().__init__()`` first, assigns its Parameters and sub-Modules as
    attributes, and defines ``forward``; calling the module calls ``forward``.

    Attributes
    ----------
    training : bool
        True in training mode (the default), False after ``eval()``. Dropout and BatchNorm
        behave differently in the two modes.

    Example
    -------
    >>> import numpy as np
    >>> from glassnet import nn
    >>> class TwoLayer(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.hidden = nn.Linear(2, 4, rng=0)
    ...         self.out = nn.Linear(4, 1, rng=1)
    ...     def forward(self, x):
    ...         return self.out(self.hidden(x).tanh())
    >>> model = TwoLayer()
    >>> [name for name, _ in model.named_parameters()]
    ['hidden.weight', 'hidden.bias', 'out.weight', 'out.bias']
    >>> model(np.ones((3, 2))).shape
    (3, 1)
    >>> model.num_parameters()
    17
    """

    def __init__(self) -> None:
        guard = _construction_guard.get()
        if guard is not None:  # glassnet.load is building a model: count the modules
            guard.module()
        # object.__setattr__: our own __setattr__ needs these dicts to exist.
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    # ---- registration ----------------------------------------------------------------------
    def __setattr__(self, name: str, value) -> None:
        if isinstance(value, Parameter):
            self._register("_parameters", name, value)
        elif isinstance(value, Module):
            self._register("_modules", name, value)
        elif name in self.__dict__.get("_parameters", ()):
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} to parameter {name!r} of "
                    f"{type(self).__name__}: a Parameter or None is expected"
                )
            self._parameters[name] = self.__dict__[name] = None
        elif name in self.__dict__.get("_modules", ()):
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} to sub-module {name!r} of "
                    f"{type(self).__name__}: a Module or None is expected"
                )
            self._modules[name] = self.__dict__[name] = None
        elif name in self.__dict__.get("_buffers", ()):
            self._buffers[name] = self.__dict__[name] = _as_buffer(value, name)
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str):
        # Called only when normal lookup fails. Registered names are mirrored in __dict__ (see
        # _register), so this runs only for names that are missing everywhere.
        for store in ("_parameters", "_buffers", "_modules"):
            registered = self.__dict__.get(store)
            if registered is not None and name in registered:
                return registered[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        for store in ("_parameters", "_buffers", "_modules"):
            registered = self.__dict__.get(store)
            if registered is not None and name in registered:
                del registered[name]
                self.__dict__.pop(name, None)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers)
                      | set(self._modules))

    def _register(self, store: str, name: str, value) -> None:
        """Put ``value`` in the dict ``store`` and mirror it in ``__dict__``, so that reading
        ``self.weight`` in forward is a plain attribute lookup, not a ``__getattr__`` call."""
        self._store(store, name)[name] = value
        self.__dict__[name] = value

    def _store(self, store: str, name: str) -> OrderedDict:
        """The dict ``store`` of this module, with ``name`` removed from every other place (in
        ``store`` it keeps its place, as in PyTorch: ``model[0] = layer`` stays first)."""
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot register {name!r} before Module.__init__() has run: call "
                f"super().__init__() first in {type(self).__name__}.__init__"
            )
        for other in ("_parameters", "_buffers", "_modules"):
            if other != store:
                self.__dict__[other].pop(name, None)
        self.__dict__.pop(name, None)
        return self.__dict__[store]

    def register_parameter(self, name: str, parameter: Parameter | None) -> None:
        """Register ``parameter`` (or None, a parameter slot left empty, like ``bias=False``)."""
        _check_name(self, name, "_parameters")
        if parameter is not None and not isinstance(parameter, Parameter):
            raise TypeError(
                f"register_parameter({name!r}, ...) expects a Parameter or None, "
                f"got {type(parameter).__name__}"
            )
        self._store("_parameters", name)[name] = parameter

    def register_buffer(self, name: str, array: np.ndarray | None) -> None:
        """Register a plain ndarray (or None) that is saved in ``state_dict()`` but not learned,
        such as BatchNorm's ``running_mean``. It is then read and assigned as ``self.name``.

        Example
        -------
        >>> import numpy as np
        >>> from glassnet import nn
        >>> layer = nn.Module()
        >>> layer.register_buffer("running_mean", np.zeros(3))
        >>> list(layer.state_dict())
        ['running_mean']
        """
        _check_name(self, name, "_buffers")
        self._register("_buffers", name, _as_buffer(array, name))

    def add_module(self, name: str, module: Module | None) -> None:
        """Register ``module`` under ``name``; for names that are not identifiers ("0", "1", ...)."""
        _check_name(self, name, "_modules")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module({name!r}, ...) expects a Module or None, got {type(module).__name__}")
        self._register("_modules", name, module)

    # ---- walking the tree --------------------------------------------------------------------
    def named_modules(self, prefix: str = "", remove_duplicate: bool = True,
                      _seen: set | None = None) -> Iterator[tuple[str, Module]]:
        """(dotted name, module) for this module ("" by default) and every descendant in PyTorch's
        order; a module reached by several paths once, unless ``remove_duplicate=False``."""
        if _seen is None:
            remove_duplicate = boolean(remove_duplicate, "remove_duplicate")
        seen = set() if _seen is None else _seen
        if remove_duplicate:
            if id(self) in seen:
                return
            seen.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is not None:
                yield from module.named_modules(_join(prefix, name), remove_duplicate, seen)

    def modules(self) -> Iterator[Module]:
        """This module and every descendant, each once."""
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """(name, module) for the direct sub-modules, each once."""
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self) -> Iterator[Module]:
        """The direct sub-modules, each once."""
        for _, module in self.named_children():
            yield module

    def named_parameters(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter), e.g. ``("0.weight", ...)``; a parameter shared by several
        modules is yielded once, under its first name."""
        yield from self._named_members("_parameters", prefix, recurse)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Every parameter once, in registration order (what an optimizer takes)."""
        for _, parameter in self.named_parameters(recurse=recurse):
            yield parameter

    def named_buffers(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, np.ndarray]]:
        """(dotted name, array) for every buffer, each once."""
        yield from self._named_members("_buffers", prefix, recurse)

    def buffers(self, recurse: bool = True) -> Iterator[np.ndarray]:
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def _named_members(self, store: str, prefix: str, recurse: bool):
        seen = set()
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        for module_prefix, module in modules:
            for name, member in getattr(module, store).items():
                if member is not None and id(member) not in seen:
                    seen.add(id(member))
                    yield _join(module_prefix, name), member

    def num_parameters(self) -> int:
        """The number of learnable values: the sum of the sizes of ``parameters()``."""
        return sum(parameter.size for parameter in self.parameters())

    # ---- modes, gradients and freezing -------------------------------------------------------
    #: True for a layer that updates running statistics in training mode (BatchNorm), set by
    #: its class. freeze() sets _eval_locked on it: train() keeps it in eval mode and records
    #: the mode asked for (what unfreeze() on it restores).
    keeps_running_stats: ClassVar[bool] = False
    _eval_locked = False
    _asked_training = False

    def train(self, mode: bool = True) -> Module:
        """Training mode (``mode=False``: evaluation) here and below; frozen BatchNorm stays in eval."""
        mode = boolean(mode, "mode")
        if self._eval_locked:
            self._asked_training = mode
        self.training = mode and not self._eval_locked
        for child in self.children():
            child.train(mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode, the same as ``train(False)``: Dropout is the identity and BatchNorm
        uses its running statistics."""
        return self.train(False)

    def zero_grad(self) -> None:
        """Forget the gradients of every parameter (``.grad = None``), before the next backward."""
        for parameter in self.parameters():
            parameter.grad = None

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Set ``requires_grad`` of every parameter of this module and its descendants (PyTorch's
        method); ``False`` also drops their ``.grad`` (a frozen parameter holds no gradient).
        Returns ``self``.

        A parameter with ``requires_grad=False`` is a constant: ``backward()`` gives it no
        gradient (gradients still flow through its layer to the layers before), and optimizers,
        the L1/L2 penalties and gradient clipping skip it. :meth:`freeze` also fixes BatchNorm.

        Example
        -------
        >>> from glassnet import nn
        >>> model = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1))
        >>> [p.requires_grad for p in model[0].requires_grad_(False).parameters()]
        [False, False]
        """
        requires_grad = boolean(requires_grad, "requires_grad")
        for parameter in self.parameters():
            parameter.requires_grad = requires_grad
            if not requires_grad:
                parameter.grad = None
        return self

    def freeze(self) -> Module:
        """Freeze this module and its descendants for transfer learning: ``requires_grad_(False)``,
        and every layer that keeps running statistics (BatchNorm) stays in evaluation mode, whatever
        ``train()``, ``eval()`` or ``glassnet.fit`` say, until :meth:`unfreeze`. Returns ``self``.

        Why both: with PyTorch's ``requires_grad_(False)`` alone (the pitfall), BatchNorm still
        normalizes with each batch's statistics and overwrites its running ones with the new
        data's. ``model.body.freeze()`` survives ``model.train()`` (which ``glassnet.fit`` calls).
        Being frozen is not saved (nor is ``requires_grad`` in PyTorch): freeze again after loading.

        Example
        -------
        >>> from glassnet import nn
        >>> model = nn.Sequential(nn.Linear(2, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 3))
        >>> body = model[:3].freeze()          # the same modules, so model[0] and model[1] freeze
        >>> model.train().training, model[1].training, model[3].training
        (True, False, True)
        >>> [name for name, p in model.named_parameters() if p.requires_grad]
        ['3.weight', '3.bias']
        """
        self.requires_grad_(False)
        for module in self.modules():
            if module.keeps_running_stats and not module._eval_locked:
                module._eval_locked, module._asked_training = True, module.training
                module.training = False
        return self

    def unfreeze(self) -> Module:
        """Undo :meth:`freeze` here and below: ``requires_grad_(True)``, and BatchNorm follows
        ``train()``/``eval()`` again, from this module's mode (or the mode ``train()`` last asked
        of it, if it is a BatchNorm itself). Returns ``self``; harmless if nothing was frozen.

        Example
        -------
        >>> from glassnet import nn
        >>> model = nn.Sequential(nn.Linear(2, 4), nn.BatchNorm1d(4)).freeze()
        >>> model.train()[1].training, model.unfreeze()[1].training
        (False, True)
        """
        self.requires_grad_(True)
        mode = self._asked_training if self._eval_locked else self.training
        for module in self.modules():
            if module._eval_locked:
                module._eval_locked = False
                module.training = mode
        return self

    # ---- saving and loading ------------------------------------------------------------------
    def _state_items(self, prefix: str = ""):
        """(name, live array) of every parameter and buffer: this module's parameters, then its
        buffers, then each child's, recursively (PyTorch's order). As in PyTorch, a module reached
        by two paths appears under both names."""
        for name, parameter in self._parameters.items():
            if parameter is not None:
                yield prefix + name, parameter.data
        for name, buffer in self._buffers.items():
            if buffer is not None:
                yield prefix + name, buffer
        for name, module in self._modules.items():
            if module is not None:
                yield from module._state_items(prefix + name + ".")

    def state_dict(self) -> OrderedDict:
        """An ordered dict from dotted names to copies of the parameter and buffer arrays.

        Example
        -------
        >>> from glassnet import nn
        >>> model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
        >>> {name: array.shape for name, array in model.state_dict().items()}
        {'0.weight': (2, 3), '0.bias': (3,), '2.weight': (3, 1), '2.bias': (1,)}
        """
        return OrderedDict((name, array.copy()) for name, array in self._state_items())

    def load_state_dict(self, state_dict: Mapping, strict: bool = True) -> LoadResult:
        """Copy the arrays of ``state_dict`` into this module's parameters and buffers, in place
        (so that an optimizer holding the parameters still sees them), cast to their dtypes.

        Everything is checked before anything is changed: a shape mismatch or a cast that changes a
        number (NaN into an int, 1e300 into float32) always, a missing or an unexpected key when
        ``strict``, raises ValueError naming the keys and leaves the module as it was. Values may
        be ndarrays, Tensors, lists or numbers.

        ``strict=False`` loads the keys both sides share (a trained body into a model with a new
        head) and reports the others. Whether a parameter is frozen is not state: it is kept.

        Returns
        -------
        LoadResult
            ``(missing_keys, unexpected_keys)``: PyTorch's ``_IncompatibleKeys``, in its order (as
            in PyTorch, a BatchNorm's ``num_batches_tracked`` may be missing: it is kept).

        Example
        -------
        >>> from glassnet import nn
        >>> source, target = nn.Linear(2, 3, rng=0), nn.Linear(2, 3, rng=1)
        >>> target.load_state_dict(source.state_dict())
        LoadResult(missing_keys=[], unexpected_keys=[])
        >>> bool((target.weight.data == source.weight.data).all())
        True
        >>> body = nn.Sequential(nn.Linear(2, 4), nn.ReLU())
        >>> nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 3)).load_state_dict(
        ...     body.state_dict(), strict=False)
        LoadResult(missing_keys=['2.weight', '2.bias'], unexpected_keys=[])
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"load_state_dict expects a mapping from names to arrays, got {type(state_dict).__name__}")
        values, result = match_state(self, state_dict, boolean(strict, "strict"))
        targets = dict(self._state_items())
        for key, value in values.items():
            targets[key][...] = value  # in place (already in the model's dtype)
        return result

    def get_config(self) -> dict:
        """The keyword arguments that rebuild this layer, ``type(self)(**config)``, as JSON values
        (no weights: those are in ``state_dict()``; a dtype as a string such as "float32").
        ``glassnet.save`` stores it to describe the architecture.

        A layer that keeps Module's own constructor takes no arguments, so its config is ``{}``;
        every layer with constructor arguments overrides this method.

        Example
        -------
        >>> from glassnet import nn
        >>> nn.BatchNorm1d(4).get_config()["dtype"]
        'float32'
        >>> nn.LeakyReLU(alpha=0.2).get_config(), nn.ReLU().get_config()
        ({'alpha': 0.2}, {})
        """
        if type(self).__init__ is Module.__init__:
            return {}
        raise NotImplementedError(
            f"{type(self).__name__} does not define get_config(), so it cannot be described in a "
            "model file; save its weights with glassnet.save_weights instead"
        )

    # ---- printing ----------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The configuration shown between the parentheses of ``repr``; layers override it."""
        return ""

    def __repr__(self) -> str:
        # PyTorch's layout: one line when there are no sub-modules, else one indented line each.
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        children = [f"({name}): {_indent(repr(module), 2)}" for name, module in self._modules.items()]
        lines += children
        if not lines:
            return f"{type(self).__name__}()"
        if len(lines) == 1 and not children:
            return f"{type(self).__name__}({lines[0]})"
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _indent(text: str, spaces: int) -> str:
    """Indent every line of ``text`` but the first (which follows "(name): ")."""
    first, *rest = text.split("\n")
    return "\n".join([first] + [" " * spaces + line if line.strip() else "" for line in rest])
