"""Sequential: modules applied one after the other."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from .module import Module

__all__ = ["Sequential"]


class Sequential(Module):
    """Apply modules in order: ``Sequential(a, b, c)(x)`` is ``c(b(a(x)))``.

    The modules are named "0", "1", ... (so parameters are "0.weight", "0.bias", ...), or given
    names with an ``OrderedDict`` of name -> module.

    Indexing follows PyTorch: ``model[i]`` is a module (negative i counts from the end),
    ``model[i:j]`` a new Sequential holding the same modules under their original names;
    ``model[i] = module`` replaces one (a new head: ``model[-1] = nn.Linear(16, 3)``) and
    ``del model[i]`` removes one (the others are renumbered "0", "1", ..., as in PyTorch).

    Shape
    -----
    - input: whatever the first module takes
    - output: whatever the last module returns

    Example
    -------
    >>> import numpy as np
    >>> from glassnet import nn
    >>> model = nn.Sequential(nn.Linear(2, 4, rng=0), nn.Tanh(), nn.Linear(4, 1, rng=1))
    >>> model(np.ones((3, 2))).shape
    (3, 1)
    >>> len(model), model[1]
    (3, Tanh())
    >>> model
    Sequential(
      (0): Linear(in_features=2, out_features=4, bias=True)
      (1): Tanh()
      (2): Linear(in_features=4, out_features=1, bias=True)
    )
    """

    def __init__(self, *modules) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, module in modules[0].items():
                self._add(str(name), module)
        else:
            for module in modules:
                self.append(module)

    def _add(self, name: str, module: Module) -> None:
        if not isinstance(module, Module):
            raise TypeError(
                f"Sequential holds Modules, got {type(module).__name__} at position {len(self)}"
            )
        self.add_module(name, module)

    def append(self, module: Module) -> Sequential:
        """Add ``module`` at the end, named by the next free integer. Returns ``self``."""
        used = [int(name) for name in self._modules if name.isdigit()]
        # len(self) as in PyTorch, unless a slice kept names such that len(self) is taken.
        self._add(str(max(used + [len(self) - 1]) + 1), module)
        return self

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Sequential(OrderedDict(list(self._modules.items())[index]))
        return self._modules[self._name_at(index, "ints or slices")]

    def __setitem__(self, index, module: Module) -> None:
        """``model[i] = layer``: replace the module at position ``i`` (negative counts from the
        end), which keeps its name, so ``model[-1] = nn.Linear(16, 3)`` puts a new head in place."""
        name = self._name_at(index, "ints (a slice cannot be assigned)")
        if not isinstance(module, Module):
            raise TypeError(f"Sequential holds Modules: cannot put a {type(module).__name__} at index {index}")
        self.add_module(name, module)

    def __delitem__(self, index) -> None:
        """``del model[i]`` or ``del model[i:j]``: remove modules; the rest are then renamed
        "0", "1", ... in order, as PyTorch does (even names given by an OrderedDict)."""
        removed = list(self._modules)[index] if isinstance(index, slice) else [self._name_at(index, "ints or slices")]
        kept = [module for name, module in self._modules.items() if name not in removed]
        for name in list(self._modules):
            delattr(self, name)
        for position, module in enumerate(kept):
            self.add_module(str(position), module)

    def _name_at(self, index, expected: str) -> str:
        """The name of the module at the int ``index``, or TypeError / IndexError."""
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"Sequential indices must be {expected}, got {type(index).__name__}")
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} is out of range for a Sequential of {len(self)} modules")
        return list(self._modules)[index]

    def forward(self, x):
        for module in self:
            x = module(x)
        return x

    def get_config(self) -> dict:
        """``{}``: ``Sequential()`` is an empty container; ``glassnet.save`` describes the
        modules it holds (with their names) beside the config, and ``glassnet.load`` adds them."""
        return {}
