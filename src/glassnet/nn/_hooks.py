"""Forward hooks: code that runs around a module's ``forward``, with PyTorch's names and rules.

A hook sees a module's inputs and output without changing the model's code: explanations read a
layer's activation (Grad-CAM) or its attention weights, the gradient monitor counts dead ReLU
units. ``Module`` inherits :class:`Hooks`; a module without hooks pays one attribute test per call.
"""

from __future__ import annotations

import itertools
import weakref
from collections import OrderedDict

from .._checks import boolean

__all__ = ["Hooks", "RemovableHandle"]

_keys = itertools.count()


class RemovableHandle:
    """What ``register_forward_hook`` / ``register_forward_pre_hook`` return: ``.remove()`` takes
    the hook off (a second call does nothing); also a context manager that removes it on exit."""

    def __init__(self, module, kind: str, key: int) -> None:
        self._module, self.kind, self.id = weakref.ref(module), kind, key

    def remove(self) -> None:
        module = self._module()
        hooks = None if module is None else module.__dict__.get("_hooks")
        if hooks is None:
            return
        hooks[self.kind].pop(self.id, None)
        if not any(hooks.values()):  # the last one gone: back to the plain call
            del module.__dict__["_hooks"]

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


class Hooks:
    """``__call__`` runs the pre-hooks, ``forward``, then the hooks, in the order registered."""

    _hooks: dict | None = None  # {"pre": ..., "post": ...} once a hook is registered

    def register_forward_pre_hook(self, hook, *, prepend: bool = False,
                                  with_kwargs: bool = False) -> RemovableHandle:
        """Call ``hook(module, args)`` before each forward; a result that is not None replaces the
        positional arguments (a non-tuple is wrapped in one). With ``with_kwargs=True``:
        ``hook(module, args, kwargs)``, whose result, if not None, is a pair ``(args, kwargs)``.

        Example
        -------
        >>> import numpy as np
        >>> from glassnet import nn
        >>> layer = nn.Linear(2, 1, rng=0)
        >>> handle = layer.register_forward_pre_hook(lambda module, args: (args[0] * 0,))
        >>> layer(np.ones((1, 2))).data == layer.bias.data    # the input was zeroed
        array([[ True]])
        >>> handle.remove()
        """
        return self._add_hook("pre", hook, prepend, with_kwargs)

    def register_forward_hook(self, hook, *, prepend: bool = False,
                              with_kwargs: bool = False) -> RemovableHandle:
        """Call ``hook(module, args, output)`` after each forward (``hook(module, args, kwargs,
        output)`` with ``with_kwargs=True``); a result that is not None replaces the output.

        Example
        -------
        >>> import numpy as np
        >>> from glassnet import nn
        >>> model = nn.Sequential(nn.Linear(3, 4, rng=0), nn.ReLU(), nn.Linear(4, 2, rng=1))
        >>> seen = {}
        >>> with model[1].register_forward_hook(lambda m, args, out: seen.update(relu=out.data)):
        ...     _ = model(np.ones((5, 3)))
        >>> seen["relu"].shape
        (5, 4)
        """
        return self._add_hook("post", hook, prepend, with_kwargs)

    def _add_hook(self, kind: str, hook, prepend, with_kwargs) -> RemovableHandle:
        if not callable(hook):
            raise TypeError(f"a hook must be callable, got {type(hook).__name__}")
        entry = (hook, boolean(with_kwargs, "with_kwargs"))
        prepend = boolean(prepend, "prepend")
        hooks = self.__dict__.get("_hooks")
        if hooks is None:
            hooks = {"pre": OrderedDict(), "post": OrderedDict()}
            object.__setattr__(self, "_hooks", hooks)
        key = next(_keys)
        hooks[kind][key] = entry
        if prepend:
            hooks[kind].move_to_end(key, last=False)
        return RemovableHandle(self, kind, key)

    def __call__(self, *args, **kwargs):
        hooks = self._hooks
        if hooks is None:  # the common case
            return self.forward(*args, **kwargs)
        for hook, with_kwargs in list(hooks["pre"].values()):
            if with_kwargs:
                result = hook(self, args, kwargs)
                if result is not None:
                    if not (isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], dict)):
                        raise TypeError("a forward pre-hook with with_kwargs=True must return None or a "
                                        f"pair (args, kwargs), got {type(result).__name__}")
                    args, kwargs = tuple(result[0]), result[1]
            else:
                result = hook(self, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        output = self.forward(*args, **kwargs)
        for hook, with_kwargs in list(hooks["post"].values()):
            result = hook(self, args, kwargs, output) if with_kwargs else hook(self, args, output)
            if result is not None:
                output = result
        return output
