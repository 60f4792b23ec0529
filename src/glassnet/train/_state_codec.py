"""A training state (nested dicts, lists, tuples, numbers, strings and NumPy arrays) as JSON
plus named arrays, and back: how :class:`~glassnet.train.BackupAndRestore` stores what is not a
tensor in its safetensors file, without pickle (reading a backup never runs code)."""

from __future__ import annotations

import json

import numpy as np

_MAX_DEPTH = 100  # nesting of a saved state: a hostile file must not reach Python's recursion limit


def contiguous(array: np.ndarray) -> np.ndarray:
    """``array`` in C order (np.ascontiguousarray makes 0-d arrays 1-d: num_batches_tracked)."""
    return array if array.flags.c_contiguous else array.copy(order="C")


def encode(value, arrays: dict, where: str):
    """``value`` as a JSON value; its arrays go into ``arrays`` (named ``state.<n>``) and are
    referenced by name. Tuples and dicts (whose keys may be ints, as an optimizer's) are tagged so
    that they come back as they were; floats JSON cannot hold are written by name ("nan", "inf")."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (np.bool_, np.integer, np.floating)):
        value = value.item()
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if np.isfinite(value) else {"float": repr(value)}
    if isinstance(value, np.ndarray):
        name = f"state.{len(arrays)}"
        arrays[name] = contiguous(value)
        return {"array": name}
    if isinstance(value, (list, tuple)):
        items = [encode(item, arrays, f"{where}[{index}]") for index, item in enumerate(value)]
        return {"tuple": items} if isinstance(value, tuple) else items
    if isinstance(value, dict):
        pairs = []
        for key, item in value.items():
            if isinstance(key, np.integer):
                key = int(key)
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                raise TypeError(f"BackupAndRestore cannot save {where}: its key {key!r} is not a str or an int")
            pairs.append([key, encode(item, arrays, f"{where}[{key!r}]")])
        return {"dict": pairs}
    raise TypeError(f"BackupAndRestore cannot save {where}: it is a {type(value).__name__}; a state may hold "
                    "None, bools, numbers, strings, NumPy arrays, lists, tuples and dicts")


def decode(node, arrays: dict, depth: int = 0):
    """The value :func:`encode` wrote as ``node``, with the arrays it references; anything else
    in ``node`` raises ValueError."""
    if depth > _MAX_DEPTH:
        raise ValueError(f"the state is nested more than {_MAX_DEPTH} deep")
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if isinstance(node, list):
        return [decode(item, arrays, depth + 1) for item in node]
    if isinstance(node, dict) and len(node) == 1:
        ((tag, body),) = node.items()
        if tag == "array" and isinstance(body, str) and body.startswith("state.") and body in arrays:
            return arrays[body]
        if tag == "float" and body in ("nan", "inf", "-inf"):
            return float(body)
        if tag == "tuple" and isinstance(body, list):
            return tuple(decode(item, arrays, depth + 1) for item in body)
        if tag == "dict" and isinstance(body, list) and all(
                isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], (str, int))
                and not isinstance(pair[0], bool) for pair in body):
            if len({key for key, _ in body}) != len(body):
                raise ValueError(f"the state names a key twice in {json.dumps(node)[:80]}")
            return {key: decode(item, arrays, depth + 1) for key, item in body}
    raise ValueError(f"the state holds {json.dumps(node)[:80]}, which is no saved value")
