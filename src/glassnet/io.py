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
A loaded model is in evaluation mode (call ``model.train()`` to train it further).
"""

from __future__ import annotations

import contextlib
import json
from collections import OrderedDict
from typing import NoReturn

import numpy as np

from . import _safetensors_file as files
from . import nn
from ._checks import boolean
from ._safetensors_file import ModelFileError
from ._version import __version__
from .nn.module import LoadResult, Module
from .random import get_rng

__all__ = ["FORMAT_VERSION", "ModelFileError", "load", "load_weights", "save", "save_weights"]

FORMAT_VERSION = 1
_MODEL_FORMAT = "glassnet.model"
_WEIGHTS_FORMAT = "glassnet.weights"
# Described by the modules they hold; every other layer builds its sub-modules itself.
_CONTAINERS = ("Sequential",)


# ---- the public functions --------------------------------------------------------------------
def save(model: Module, path) -> None:
    """Save ``model`` (architecture and weights) to one safetensors file at ``path``.

    The model must be built from ``glassnet.nn`` layers (Sequential nesting included): a
    user-defined Module subclass cannot be described without running its code, so it raises
    TypeError; save its weights with :func:`save_weights` instead. Before writing, the description
    is checked to rebuild a model with the same layers, state_dict keys, shapes and dtypes.

    The file is written atomically: to a temporary file in the same directory, then renamed over
    ``path``. A failure leaves no partial file and never clobbers an existing file.

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
    files.write_atomically(path, state, _metadata(_MODEL_FORMAT, architecture=architecture))


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
        unsupported format version, a class that is not a ``glassnet.nn`` layer, or weights that
        do not fit the architecture (the message names the key and both shapes).
    FileNotFoundError
        No file at ``path``.
    """
    path = files.source_path(path)
    metadata, tensors = files.read(path)
    model = _build(_architecture(metadata, path), path)
    _check_weights_fit(model, tensors, path)
    model.load_state_dict(tensors)
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
    files.write_atomically(path, model.state_dict(), _metadata(_WEIGHTS_FORMAT))


def load_weights(model: Module, path, strict: bool = True) -> LoadResult:
    """Copy the weights of the safetensors file at ``path`` (written by :func:`save_weights` or
    :func:`save`) into ``model``, in place, with the checks of ``Module.load_state_dict``: a
    shape mismatch, or a missing or unexpected key when ``strict``, raises ModelFileError and
    changes nothing. The model's mode (train or eval) is left as it is."""
    _check_module(model, "load_weights")
    strict = boolean(strict, "strict")
    path = files.source_path(path)
    _, tensors = files.read(path)
    try:
        return model.load_state_dict(tensors, strict=strict)
    except ValueError as error:
        raise ModelFileError(f"cannot load the weights of '{path}': {error}") from None


# ---- describing a model ----------------------------------------------------------------------
def _check_layers(model: Module) -> None:
    """Refuse a model that holds a Module class other than glassnet.nn's, at any depth."""
    for name, module in _walk(model, ""):
        cls = type(module)
        if _layer_class(cls.__name__) is not cls:
            raise TypeError(
                f"cannot save {_label(name)}: {cls.__qualname__} (defined in {cls.__module__}) is "
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
    if cls_name in _CONTAINERS:
        node["children"] = [{"name": name, **_describe(child, _join(where, name))}
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
    try:
        rebuilt = _build(json.loads(architecture), None)
    except ModelFileError as error:
        raise ValueError(f"cannot save the model: its description does not rebuild it ({error})") from None
    problems = []
    layers = [(name, type(module).__name__) for name, module in _walk(model, "")]
    rebuilt_layers = [(name, type(module).__name__) for name, module in _walk(rebuilt, "")]
    if layers != rebuilt_layers:
        problems.append(f"its layers {layers} rebuild as {rebuilt_layers}")
    problems += _weight_problems(OrderedDict(rebuilt._state_items()), OrderedDict(model._state_items()),
                                 "its description", "the model")
    if problems:
        raise ValueError(
            "cannot save the model: its description (the classes and get_config() of its layers) "
            "does not rebuild it: " + "; ".join(problems)
        )


def _walk(module: Module, prefix: str):
    """(dotted name, module) for ``module`` and every descendant, by every path (a shared module
    appears under each of its names, as in ``state_dict``)."""
    yield prefix, module
    for name, child in module._modules.items():
        if child is not None:
            yield from _walk(child, _join(prefix, name))


# ---- rebuilding a model ----------------------------------------------------------------------
def _build(node, path: str | None, where: str = "") -> Module:
    """The module described by ``node``. Only classes of glassnet.nn are called, with JSON values
    as keyword arguments; every problem raises ModelFileError naming ``path`` and the layer."""
    def fail(problem: str) -> NoReturn:
        raise ModelFileError(files.problem(path, f"the architecture of {_label(where)} {problem}"))

    if not isinstance(node, dict):
        fail(f"must be a JSON object, got {type(node).__name__}")
    unknown = set(node) - {"class", "config", "children", "name"}
    if unknown:
        fail(f"has unknown entries {sorted(unknown)}")
    class_name = node.get("class")
    if not isinstance(class_name, str):
        fail(f"must name its class as a string, got {class_name!r}")
    cls = _layer_class(class_name)
    if cls is None:
        fail(
            f"names the class {class_name!r}, which is not a layer of glassnet.nn; a model file may "
            f"only name these (nothing else is imported or run): {', '.join(_layer_names())}"
        )
    config = node.get("config", {})
    if not isinstance(config, dict):
        fail(f"has a config that is not a JSON object: {config!r}")
    try:
        with _default_rng_unchanged():
            module = cls(**{key: _from_json(value) for key, value in config.items()})
    except (TypeError, ValueError, OverflowError, MemoryError) as error:
        fail(f"is {class_name}(**{config!r}), which raises {type(error).__name__}: {error}")
    children = node.get("children")
    if class_name not in _CONTAINERS:
        if children is not None:
            fail(f"lists children, but {class_name} builds its own sub-modules")
        return module
    if not isinstance(children, list):
        fail(f"must list its children, got {children!r}")
    for child in children:
        name = child.get("name") if isinstance(child, dict) else None
        if not isinstance(name, str) or not name or "." in name or name in module._modules:
            fail(f"has a child without a unique name (a non-empty string without '.'): {name!r}")
        child_module = _build(child, path, _join(where, name))
        try:
            module.add_module(name, child_module)
        except ValueError as error:
            fail(f"has a child that cannot be added: {error}")
    return module


def _layer_class(name: str):
    """The glassnet.nn layer class called ``name``, or None: a lookup in glassnet.nn's namespace,
    never an import, so a file cannot reach any other code."""
    cls = None if name.startswith("_") else getattr(nn, name, None)  # registry layers made on demand
    if (isinstance(cls, type) and issubclass(cls, Module) and cls is not Module
            and cls.__module__.split(".")[0] == "glassnet"):
        return cls
    return None


def _layer_names() -> list:
    return sorted(name for name in vars(nn) if isinstance(name, str) and _layer_class(name) is not None)


def _from_json(value):
    """JSON arrays as tuples (shapes and sizes are tuples in Python APIs), recursively."""
    if isinstance(value, list):
        return tuple(_from_json(item) for item in value)
    if isinstance(value, dict):
        return {key: _from_json(item) for key, item in value.items()}
    return value


@contextlib.contextmanager
def _default_rng_unchanged():
    """Building a layer draws initial weights (from the default generator when no rng is given)
    that the saved weights then replace; saving or loading must not shift the user's seeded
    random stream."""
    generator = get_rng(None)
    state = generator.bit_generator.state
    try:
        yield
    finally:
        generator.bit_generator.state = state


def _architecture(metadata: dict, path: str):
    """The architecture JSON of a glassnet.model file, after checking its format and version."""
    file_format = metadata.get("format")
    if file_format is None:
        raise ModelFileError(files.problem(
            path, "it has no glassnet metadata (a safetensors file written by another tool?); to "
                  "read its weights into a model you build, use glassnet.load_weights(model, path)"))
    if file_format == _WEIGHTS_FORMAT:
        raise ModelFileError(files.problem(
            path, "it holds weights only (written by glassnet.save_weights); build the model in "
                  "code and use glassnet.load_weights(model, path)"))
    if file_format != _MODEL_FORMAT:
        raise ModelFileError(files.problem(path, f"its format is {file_format!r}, not {_MODEL_FORMAT!r}"))
    version = metadata.get("format_version")
    if version != str(FORMAT_VERSION):
        raise ModelFileError(files.problem(
            path, f"its format version is {version!r}; glassnet {__version__} reads version "
                  f"{FORMAT_VERSION}"))
    text = metadata.get("architecture")
    if text is None:
        raise ModelFileError(files.problem(path, "its metadata has no 'architecture'"))
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as error:
        raise ModelFileError(files.problem(
            path, f"the architecture in its metadata is not valid JSON ({error})")) from None


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _check_weights_fit(model: Module, tensors: dict, path: str) -> None:
    problems = _weight_problems(OrderedDict(model._state_items()), tensors, "the architecture", "the file")
    if problems:
        raise ModelFileError(files.problem(
            path, "its weights do not match its architecture:\n  " + "\n  ".join(problems)))


def _weight_problems(expected: dict, found: dict, expected_name: str, found_name: str) -> list:
    """Missing and unexpected keys, shape and dtype mismatches between two name -> array dicts."""
    problems = [f"{found_name} has no tensor {key!r} ({expected_name} needs shape "
                f"{expected[key].shape})" for key in expected if key not in found]
    problems += [f"{found_name} has a tensor {key!r} that {expected_name} does not have"
                 for key in found if key not in expected]
    for key, array in expected.items():
        if key not in found:
            continue
        if found[key].shape != array.shape:
            problems.append(f"{key!r} has shape {found[key].shape} in {found_name}, "
                            f"{expected_name} needs shape {array.shape}")
        elif found[key].dtype != array.dtype:
            problems.append(f"{key!r} has dtype {found[key].dtype} in {found_name}, "
                            f"{expected_name} needs dtype {array.dtype}")
    return problems


def _metadata(file_format: str, **extra) -> dict:
    return {"format": file_format, "format_version": str(FORMAT_VERSION),
            "glassnet_version": __version__, **extra}


def _check_module(model, function: str) -> None:
    if not isinstance(model, Module):
        raise TypeError(f"{function} expects a glassnet.nn.Module, got {type(model).__name__}")


def _label(where: str) -> str:
    return f"layer {where!r}" if where else "the model"


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name
