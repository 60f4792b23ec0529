"""How a layer makes the arrays of its parameters and buffers: :func:`state_array`, which
``glassnet.load`` watches while it builds a model from a file's description; and how
``Module.load_state_dict`` matches a state_dict against the model: :func:`match_state`."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from contextvars import ContextVar
from typing import NamedTuple

import numpy as np

from ..tensor import Tensor

__all__ = ["LoadResult", "match_state", "state_array"]

# Set by glassnet.io while it builds a model from a file's description: an object whose
# ``module()`` is told of every Module made and whose ``array(shape, dtype)`` of every parameter
# or buffer array before it is allocated, and that raises once the file could not fill them. So a
# file that declares Linear(8000, 8000) over no weights costs nothing to refuse.
_construction_guard: ContextVar = ContextVar("glassnet_construction_guard", default=None)


def state_array(shape, dtype, fill=0) -> np.ndarray:
    """A new array of ``shape`` and ``dtype`` filled with ``fill``: how a layer's constructor makes
    the array of each of its parameters and buffers (``Parameter(state_array(shape, dtype))``), so
    that ``glassnet.load`` checks a declared size against the file before anything is allocated.

    >>> from glassnet.nn.module import state_array
    >>> state_array((2, 3), "float32", fill=1).sum()
    np.float32(6.0)
    """
    guard = _construction_guard.get()
    if guard is not None:
        guard.array(shape, dtype)
    return np.full(shape, fill, dtype)


class LoadResult(NamedTuple):
    """What :meth:`Module.load_state_dict` did not match, PyTorch's ``_IncompatibleKeys``: the
    model's keys the state_dict lacks and the state_dict's keys the model lacks, both empty after
    a strict load."""

    missing_keys: list
    unexpected_keys: list


def match_state(module, state_dict: Mapping, strict: bool) -> tuple[dict, LoadResult]:
    """The arrays of ``state_dict`` to copy into ``module`` (key -> value in the model's dtype),
    and the keys that did not match; or ValueError listing every problem (a shape, a cast that
    changes a number, and when ``strict`` a missing or an unexpected key). Changes nothing."""
    targets = OrderedDict(module._state_items())
    # PyTorch's leniency for checkpoints older than a buffer (BatchNorm's num_batches_tracked): a
    # layer class lists such buffers in _optional_state; missing, they are kept and not reported.
    optional = {prefix + "." * bool(prefix) + name for prefix, layer in module.named_modules(remove_duplicate=False)
                for name in getattr(layer, "_optional_state", ())}
    missing = [key for key in targets if key not in state_dict and key not in optional]
    unexpected = _in_torch_order(module, [key for key in state_dict if key not in targets])
    problems = []
    if strict and missing:
        problems.append("missing keys: " + ", ".join(map(repr, missing)))
    if strict and unexpected:
        problems.append("unexpected keys: " + ", ".join(map(repr, unexpected)))
    values = {}
    for key, target in targets.items():
        if key not in state_dict:
            continue
        value = _as_value(state_dict[key], key)
        if value.shape != target.shape:
            problems.append(
                f"shape mismatch for {key!r}: the state_dict has shape {value.shape}, "
                f"the model has shape {target.shape}"
            )
        elif not target.flags.writeable:
            problems.append(f"the array of {key!r} in the model is read-only")
        elif value.dtype != target.dtype:
            value = _cast(value, target.dtype, key, problems)
        values[key] = value
    if problems:
        raise ValueError(
            f"cannot load the state_dict into {type(module).__name__} (nothing was changed):\n  "
            + "\n  ".join(problems)
        )
    return values, LoadResult(missing, unexpected)


def _in_torch_order(module, unexpected: list) -> list:
    """The unexpected keys in the order PyTorch lists them: by the module that finds them (the one
    whose prefix the key follows down the tree, modules in state_dict order), then in the
    state_dict's order. PyTorch silently skips a key that ends inside a parameter's name
    ("0.weight.extra") or under an empty slot; such a key is listed here, with its deepest module."""
    if len(unexpected) < 2:
        return unexpected
    rank = {prefix: index for index, (prefix, _) in enumerate(module.named_modules(remove_duplicate=False))}

    def owner(key: str) -> str:
        prefix, node = "", module
        while True:
            head, dot, _ = key[len(prefix):].partition(".")
            child = node._modules.get(head) if dot else None
            if child is None:
                return prefix
            prefix, node = prefix + head + ".", child

    return sorted(unexpected, key=lambda key: rank[owner(key).rstrip(".")])


def _cast(value: np.ndarray, dtype: np.dtype, key: str, problems: list) -> np.ndarray:
    """``value`` in ``dtype``, or a problem if that changes a number (NaN into an int, overflow)."""
    if dtype.kind in "iu":
        if value.dtype.kind == "f" and not (np.isfinite(value).all() and (value == np.trunc(value)).all()):
            problem = "holds values that are not whole numbers, and the model's array is"
        elif value.size and (value.min() < np.iinfo(dtype).min or value.max() >= int(np.iinfo(dtype).max) + 1):
            problem = "holds values outside"
        else:
            return value.astype(dtype)
    else:
        with np.errstate(over="ignore"):
            cast = value.astype(dtype)
        if np.array_equal(np.isfinite(cast), np.isfinite(value)):
            return cast
        problem = "holds values that overflow"
    problems.append(f"{key!r} {problem} {dtype}")
    return value


def _as_value(value, key: str) -> np.ndarray:
    """A state_dict value as a numeric ndarray (not copied)."""
    array = np.asarray(value.data if isinstance(value, Tensor) else value)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"the state_dict value of {key!r} is not numeric (dtype {array.dtype})")
    return array


def _check_name(module, name, store: str) -> None:
    """Refuse a name that Module.register_* cannot register (a registration check of Module)."""
    if not isinstance(name, str):
        raise TypeError(f"a registered name must be a str, got {type(name).__name__}")
    if not name or "." in name:
        raise ValueError(f"a registered name must be non-empty and contain no '.', got {name!r}")
    if "_parameters" in module.__dict__ and hasattr(module, name) and name not in getattr(module, store):
        raise ValueError(f"{type(module).__name__} already has an attribute {name!r}")


def _as_buffer(value, name: str):
    """A buffer value (an ndarray or None) or TypeError."""
    if value is not None and not isinstance(value, np.ndarray):
        raise TypeError(
            f"buffer {name!r} must be a numpy ndarray or None, got {type(value).__name__}"
            + ("; pass tensor.data" if isinstance(value, Tensor) else "")
        )
    return value
