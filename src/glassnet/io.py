"""Saving and loading models: :func:`save` / :func:`load` (architecture and weights in one file)
and :func:`save_weights` / :func:`load_weights` (weights only, for a model your code builds).

File layout
-----------
One safetensors file (``.safetensors`` by convention), readable by any safetensors reader. Its
tensors are the model's ``state_dict()``: parameters and buffers (such as BatchNorm's running
statistics) under their dotted names, each in its own dtype. Its ``__metadata__`` (text only)
holds::

    format            "glassnet.model" (save) or "glassnet.weights" (save_weights)
    format_version    "1"
    glassnet_version  the version that wrote the file
    architecture      (glassnet.model only) the model as JSON, for instance
                      {"class": "Sequential", "config": {}, "children": [
                          {"name": "0", "class": "Linear", "config": {"in_features": 2, ...}},
                          {"name": "1", "class": "ReLU", "config": {}}, ...]}

Each layer is its class name in ``glassnet.nn`` and its ``get_config()``: the keyword arguments that
rebuild it (JSON arrays come back as tuples). A container (``Sequential``) also lists the modules
it holds, under the names that make the state_dict keys ("0.weight", ...); any other layer builds
its own sub-modules in its constructor.

Loading never executes code from the file: no pickle, no eval, no import. A class name is looked
up in ``glassnet.nn`` and must be a Module subclass defined in glassnet; anything else is refused.
Loading costs what the file holds: every size the architecture declares is checked against the
file's tensors before anything is allocated (``glassnet._io_build``). A loaded model is in
evaluation mode (call ``model.train()`` to train it further). docs/model_files.md has the limits,
the dtypes read (BF16 as float32) and what saving keeps.
"""

from __future__ import annotations

import json
from collections import OrderedDict

import numpy as np

from . import _safetensors_file as files
from ._checks import boolean
from ._io_build import (
    CONTAINERS,
    FORMAT_VERSION,
    MODEL_FORMAT,
    WEIGHTS_FORMAT,
    build,
    check_weights_fit,
    join,
    label,
    layer_class,
    listed,
    parse,
    weight_problems,
)
from ._io_build import (
    architecture as _architecture,
)
from ._safetensors_file import ModelFileError
from ._version import __version__
from .nn.module import LoadResult, Module

__all__ = ["FORMAT_VERSION", "ModelFileError", "load", "load_weights", "save", "save_weights"]


# ---- the public functions --------------------------------------------------------------------
def save(model: Module, path) -> None:
    """Save ``model`` (architecture and weights) to one safetensors file at ``path``.

    The model must be built from ``glassnet.nn`` layers (Sequential nesting included): a
    user-defined Module subclass cannot be described without running its code, so it raises
    TypeError; save its weights with :func:`save_weights` instead. Before writing, the description
    is checked to rebuild a model with the same layers, state_dict keys, shapes and dtypes.

    The file is written atomically: to a temporary file in the same directory, then renamed over
    ``path``. A failure leaves no partial file and never clobbers an existing file. As an
    ordinary write would, saving through a symlink writes the file it points to, and an
    existing file keeps its permissions.

    Example
    -------
    >>> import os, tempfile, numpy as np, glassnet as gn
    >>> from glassnet import nn
    >>> model = nn.Sequential(nn.Linear(2, 3, rng=0), nn.ReLU(), nn.Linear(3, 1, rng=1))
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = os.path.join(folder.name, "model.safetensors")
    >>> gn.save(model, path)
    >>> loaded = gn.load(path)
    >>> x = np.ones((4, 2), np.float32)
    >>> bool((loaded(x).numpy() == model(x).numpy()).all()), loaded.training
    (True, False)
    >>> folder.cleanup()
    """
    path = files.target_path(path)
    architecture, state = _savable(model)
    files.write_atomically(path, state, _metadata(MODEL_FORMAT, architecture=architecture))


def check_savable(model: Module) -> None:
    """Raise the TypeError or ValueError :func:`save` would raise for ``model``, writing nothing
    (ModelCheckpoint asks before training)."""
    _savable(model)


def _savable(model: Module):
    """``(architecture JSON, state_dict)`` of ``model``, after every check :func:`save` makes."""
    _check_module(model, "save")
    _check_layers(model)
    architecture = json.dumps(_describe(model, ""), allow_nan=False)
    state = _state_without_ties(model)
    _check_rebuilds(model, architecture)
    return architecture, state


def load(path) -> Module:
    """The model saved by :func:`save` at ``path``, with its weights, in evaluation mode.

    Raises
    ------
    ModelFileError
        The file is not a safetensors file, is truncated, has no or garbled glassnet metadata, an
        unsupported format version, a tensor of a dtype glassnet does not read (F8), a class that
        is not a ``glassnet.nn`` layer, an architecture that declares more than the file holds
        or nests too deep, or weights that do not fit the architecture (the message names the key
        and both shapes or dtypes). Any other failure caused by the file's content is a
        ModelFileError too (the original exception is its ``__cause__``).
    FileNotFoundError
        No file at ``path``.
    """
    path = files.source_path(path)
    try:
        metadata, tensors = files.read(path)
        model = build(_architecture(metadata, path), path, tensors)
        check_weights_fit(model, tensors, path)
        model.load_state_dict(tensors)
    except (ModelFileError, OSError, MemoryError):
        raise
    except Exception as error:  # noqa: BLE001 (a file must not reach the caller as any other error)
        raise _unexpected(path, error) from error
    return model.eval()


def save_weights(model: Module, path) -> None:
    """Save only the weights of ``model`` (its ``state_dict()``) to a safetensors file at
    ``path``, atomically. Works for any Module, including your own subclasses; load them into a
    model built the same way with :func:`load_weights`.

    Example
    -------
    >>> import os, tempfile, glassnet as gn
    >>> from glassnet import nn
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = os.path.join(folder.name, "weights.safetensors")
    >>> gn.save_weights(nn.Linear(2, 3, rng=0), path)
    >>> gn.load_weights(nn.Linear(2, 3, rng=1), path)
    LoadResult(missing_keys=[], unexpected_keys=[])
    >>> folder.cleanup()
    """
    path = files.target_path(path)
    _check_module(model, "save_weights")
    files.write_atomically(path, model.state_dict(), _metadata(WEIGHTS_FORMAT))


def load_weights(model: Module, path, strict: bool = True) -> LoadResult:
    """Copy the weights of the safetensors file at ``path`` (written by :func:`save_weights` or
    :func:`save`, or any safetensors file) into ``model``, in place, with the checks of
    ``Module.load_state_dict``: a shape mismatch, or a missing or unexpected key when ``strict``,
    raises ModelFileError and changes nothing. Nothing is cast either: a tensor whose dtype is not
    the weight's (int8, bool or float64 values for a float32 weight) raises ModelFileError before
    any weight is copied (BF16 tensors are read as float32, exactly). The model's mode (train or
    eval) is left as it is."""
    _check_module(model, "load_weights")
    strict = boolean(strict, "strict")
    path = files.source_path(path)
    try:
        _, tensors = files.read(path)
        problems = [f"{files.short(key)} has dtype {tensors[key].dtype} in the file, the model needs "
                    f"dtype {array.dtype}" for key, array in model._state_items()
                    if key in tensors and tensors[key].dtype != array.dtype]
        if problems:
            raise ModelFileError(files.cut(
                f"cannot load the weights of '{path}' (nothing was changed): " + listed(problems, "; ")
                + "; glassnet casts no weight silently: build the model with the file's dtype or "
                  "convert the file"))
        return model.load_state_dict(tensors, strict=strict)
    except (ModelFileError, OSError, MemoryError):
        raise
    except ValueError as error:  # load_state_dict's: a shape, a missing or an unexpected key
        raise ModelFileError(files.cut(f"cannot load the weights of '{path}': {error}")) from None
    except Exception as error:  # noqa: BLE001 (a file must not reach the caller as any other error)
        raise _unexpected(path, error) from error


def _unexpected(path: str, error: Exception) -> ModelFileError:
    """A failure no check foresaw, caused by the file's content: a ModelFileError all the same
    (the original error is its __cause__, for the traceback)."""
    return ModelFileError(files.problem(
        path, f"reading it failed unexpectedly with {type(error).__name__}: {error}"))


# ---- describing a model ----------------------------------------------------------------------
def _check_layers(model: Module) -> None:
    """Refuse a model that holds a Module class other than glassnet.nn's, at any depth."""
    for name, module in _walk(model, ""):
        cls = type(module)
        if layer_class(cls.__name__) is not cls:
            raise TypeError(
                f"cannot save {label(name)}: {cls.__qualname__} (defined in {cls.__module__}) is "
                "not a glassnet.nn layer. glassnet.save describes a model by its glassnet.nn "
                "layers, because loading never runs code from the file, so a user-defined Module "
                "cannot be described. Save the weights with glassnet.save_weights(model, path) "
                "and load them into a model built by your code with "
                "glassnet.load_weights(model, path)."
            )


def _describe(module: Module, where: str) -> dict:
    """{"class", "config"[, "children"]} for ``module`` (whose layers _check_layers accepted)."""
    cls_name = type(module).__name__
    config = module.get_config()
    if not isinstance(config, dict):
        raise TypeError(f"{cls_name}.get_config() returned a {type(config).__name__}, not a dict")
    node = {"class": cls_name, "config": _to_json(config, f"{cls_name}.get_config()")}
    if cls_name in CONTAINERS:
        node["children"] = [{"name": name, **_describe(child, join(where, name))}
                            for name, child in module._modules.items() if child is not None]
    return node


def _to_json(value, what: str):
    """``value`` with tuples as lists and NumPy scalars as Python numbers; anything that JSON
    cannot hold exactly raises TypeError naming ``what``."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        if not np.isfinite(value):
            raise TypeError(f"{what} is {value}, which JSON cannot hold")
        return float(value)
    if isinstance(value, (list, tuple)):
        return [_to_json(item, f"{what}[{index}]") for index, item in enumerate(value)]
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                raise TypeError(f"{what} has a key {key!r} that is not a str")
        return {key: _to_json(item, f"{what}[{key!r}]") for key, item in value.items()}
    raise TypeError(
        f"{what} is a {type(value).__name__} ({value!r}), not a JSON value (str, number, bool, "
        "None, list or dict); a dtype is given by its name, such as 'float32'"
    )


def _state_without_ties(model: Module) -> OrderedDict:
    """The state_dict, refusing arrays shared by two names: a rebuilt model would untie them."""
    first_name: dict[int, str] = {}
    for name, array in model._state_items():
        if id(array) in first_name:
            raise ValueError(
                f"cannot save the model: {first_name[id(array)]!r} and {name!r} are the same array "
                "(a shared layer or tied weights), and a model file describes each layer on its "
                "own, so loading would untie them. Save the weights with glassnet.save_weights and "
                "tie them again in the code that builds the model."
            )
        first_name[id(array)] = name
    return model.state_dict()


def _check_rebuilds(model: Module, architecture: str) -> None:
    """Rebuild the model from its description exactly as ``load`` will, and compare: this finds
    a layer whose get_config() misses an argument now, not when the file is loaded."""
    state = OrderedDict(model._state_items())
    try:
        rebuilt = build(parse(architecture, None), None, state)
    except ModelFileError as error:
        raise ValueError(f"cannot save the model: its description does not rebuild it ({error})") from None
    problems = []
    layers = [(name, type(module).__name__) for name, module in _walk(model, "")]
    rebuilt_layers = [(name, type(module).__name__) for name, module in _walk(rebuilt, "")]
    if layers != rebuilt_layers:
        problems.append(f"its layers {layers} rebuild as {rebuilt_layers}")
    problems += weight_problems(OrderedDict(rebuilt._state_items()), state, "its description", "the model")
    if problems:
        raise ValueError(
            "cannot save the model: its description (the classes and get_config() of its layers) "
            "does not rebuild it: " + listed(problems, "; ")
        )


def _walk(module: Module, prefix: str):
    """(dotted name, module) for ``module`` and every descendant, by every path (a shared module
    appears under each of its names, as in ``state_dict``)."""
    yield prefix, module
    for name, child in module._modules.items():
        if child is not None:
            yield from _walk(child, join(prefix, name))


def _metadata(file_format: str, **extra) -> dict:
    return {"format": file_format, "format_version": str(FORMAT_VERSION),
            "glassnet_version": __version__, **extra}


def _check_module(model, function: str) -> None:
    if not isinstance(model, Module):
        raise TypeError(f"{function} expects a glassnet.nn.Module, got {type(model).__name__}")
