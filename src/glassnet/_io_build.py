"""How ``glassnet.io`` builds a model from the description in a model file, at a cost bounded by
the file: its depth and its number of modules are limited, and every parameter or buffer a layer
makes is checked, before it is allocated, against what the file's tensors can fill (a budget of
arrays and of values, with a small margin so that a slightly wrong file still gets the message
that names each missing or misshapen tensor). A 288-byte file that declares Linear(8000, 8000)
is refused before the 8000 x 8000 array exists.

Only classes of ``glassnet.nn`` are called, with JSON values as keyword arguments: no pickle, no
eval, no import.
"""

from __future__ import annotations

import contextlib
import json
import math
from typing import NoReturn

import numpy as np

from . import _safetensors_file as files
from . import nn
from ._safetensors_file import ModelFileError, short
from ._version import __version__
from .nn.module import Module, _construction_guard
from .random import get_rng

FORMAT_VERSION = 1
MODEL_FORMAT = "glassnet.model"
WEIGHTS_FORMAT = "glassnet.weights"
# Described by the modules they hold; every other layer builds its sub-modules itself.
CONTAINERS = ("Sequential",)

MAX_DEPTH = 64          # nesting of the architecture's JSON (a Sequential adds 2 levels)
MAX_MODULES = 10_000    # modules a model file may make, the containers' included
# JSON objects and arrays in an architecture, counted as "{" and "[" before it is parsed: a
# module needs a few, and each costs Python 50 to 60 bytes for its 2 or 3 characters of text.
MAX_CONTAINERS = 16 * MAX_MODULES
SPARE_ARRAYS = 64       # parameters and buffers beyond the file's tensors, and values beyond
SPARE_VALUES = 2 ** 16  # theirs, that a build may make before it is refused
MAX_PROBLEMS = 10       # listed in a message; the others are counted


# ---- the description -------------------------------------------------------------------------
def architecture(metadata: dict, path: str):
    """The architecture JSON of a glassnet.model file, after checking its format, its version
    and its depth."""
    file_format = metadata.get("format")
    if file_format is None:
        raise ModelFileError(files.problem(
            path, "it has no glassnet metadata (a safetensors file written by another tool?); to "
                  "read its weights into a model you build, use glassnet.load_weights(model, path)"))
    if file_format == WEIGHTS_FORMAT:
        raise ModelFileError(files.problem(
            path, "it holds weights only (written by glassnet.save_weights); build the model in "
                  "code and use glassnet.load_weights(model, path)"))
    if file_format != MODEL_FORMAT:
        raise ModelFileError(files.problem(path, f"its format is {short(file_format)}, not {MODEL_FORMAT!r}"))
    version = metadata.get("format_version")
    if version != str(FORMAT_VERSION):
        raise ModelFileError(files.problem(
            path, f"its format version is {short(version)}; glassnet {__version__} reads version "
                  f"{FORMAT_VERSION}"))
    text = metadata.get("architecture")
    if text is None:
        raise ModelFileError(files.problem(path, "its metadata has no 'architecture'"))
    return parse(text, path)


def parse(text: str, path: str | None):
    """The architecture JSON ``text`` as Python values, no deeper than MAX_DEPTH."""
    if isinstance(text, str) and text.count("{") + text.count("[") > MAX_CONTAINERS:
        raise ModelFileError(files.problem(
            path, f"the architecture in its metadata holds more than {MAX_CONTAINERS} JSON objects and "
                  f"arrays, far more than {MAX_MODULES} modules (the most a model file may describe) need"))
    try:
        value = json.loads(text, parse_constant=_reject_constant, object_pairs_hook=files.unique_keys)
    except files.DuplicateKey as error:  # parsers differ on which entry counts
        raise ModelFileError(files.problem(
            path, f"the architecture in its metadata {error}")) from None
    except (ValueError, RecursionError) as error:
        raise ModelFileError(files.problem(
            path, f"the architecture in its metadata is not valid JSON ({error})")) from None
    if _too_deep(value):
        raise ModelFileError(files.problem(
            path, f"the architecture in its metadata is nested more than {MAX_DEPTH} levels deep, "
                  "the most a model file may nest"))
    return value


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _too_deep(value) -> bool:
    """Whether JSON ``value`` nests lists and objects more than MAX_DEPTH deep (walked with a
    stack, not recursion, which a deep value would exhaust)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (list, dict)):
            if depth > MAX_DEPTH:
                return True
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return False


# ---- building --------------------------------------------------------------------------------
class _OverBudget(Exception):
    """A build made more than the file can fill (an Exception of its own: no layer catches it)."""


class _Budget:
    """The construction guard of ``glassnet.nn.module`` during a build: counts the modules and the
    arrays the layers make, and refuses one beyond what ``tensors`` (the file's) can fill."""

    def __init__(self, tensors: dict) -> None:
        self.tensors = len(tensors)
        self.values = sum(int(np.size(array)) for array in tensors.values())
        self.arrays_left = self.tensors + SPARE_ARRAYS
        self.values_left = self.values + SPARE_VALUES
        self.modules_left = MAX_MODULES
        self.building = ""  # the class whose constructor runs, for the message

    def module(self) -> None:
        self.modules_left -= 1
        if self.modules_left < 0:
            raise _OverBudget(f"makes more than {MAX_MODULES} modules, the most a model file may describe")

    def array(self, shape, dtype) -> None:
        shape = tuple(shape) if isinstance(shape, (tuple, list)) else (shape,)
        dtype = np.dtype(dtype)
        if dtype.kind not in "biuf" or dtype.subdtype is not None:
            raise _OverBudget(f"its {self.building} makes an array of dtype {short(str(dtype))}, not a number")
        values = math.prod(int(size) for size in shape)
        self.arrays_left -= 1
        self.values_left -= max(values, 0)
        if self.arrays_left < 0:
            raise _OverBudget(
                f"declares more than the file holds: its {self.building} makes more than "
                f"{self.tensors + SPARE_ARRAYS} arrays (parameters and buffers), and the file has "
                f"{self.tensors} tensors")
        if self.values_left < 0:
            raise _OverBudget(
                f"declares more than the file holds: its {self.building} makes an array of shape "
                f"{short(shape)} ({_count(values)} values), and the file's {self.tensors} tensors hold "
                f"{self.values} values")


def _count(number: int) -> str:
    """``number`` in digits, or its order of magnitude when it is too large to print."""
    return str(number) if number < 10 ** 30 else f"about 2**{number.bit_length() - 1}"


def build(node, path: str | None, tensors: dict) -> Module:
    """The model described by ``node`` (parsed JSON), within the budget of ``tensors`` (the file's
    name -> array); every problem raises ModelFileError naming ``path`` and the layer."""
    budget = _Budget(tensors)
    token = _construction_guard.set(budget)
    try:
        with _default_rng_unchanged():
            return _build(node, path, "", budget)
    finally:
        _construction_guard.reset(token)


def _build(node, path: str | None, where: str, budget: _Budget) -> Module:
    def fail(problem: str) -> NoReturn:
        raise ModelFileError(files.problem(path, f"the architecture of {label(where)} {problem}"))

    if not isinstance(node, dict):
        fail(f"must be a JSON object, got {type(node).__name__}")
    unknown = set(node) - {"class", "config", "children", "name"}
    if unknown:
        fail(f"has unknown entries {short(sorted(unknown))}")
    class_name = node.get("class")
    if not isinstance(class_name, str):
        fail(f"must name its class as a string, got {short(class_name)}")
    cls = layer_class(class_name)
    if cls is None:
        fail(f"names the class {short(class_name)}, which is not a layer of glassnet.nn; a model file "
             f"may only name these (nothing else is imported or run): {', '.join(layer_names())}")
    config = node.get("config", {})
    if not isinstance(config, dict):
        fail(f"has a config that is not a JSON object: {short(config)}")
    budget.building = class_name
    try:
        module = cls(**{key: from_json(value) for key, value in config.items()})
    except _OverBudget as error:
        fail(str(error))
    except Exception as error:  # noqa: BLE001 (whatever a layer raises on this config, it is the file's)
        fail(f"is {class_name}(**{short(config)}), which raises {type(error).__name__}: {error}")
    children = node.get("children")
    if class_name not in CONTAINERS:
        if children is not None:
            fail(f"lists children, but {class_name} builds its own sub-modules")
        return module
    if not isinstance(children, list):
        fail(f"must list its children, got {short(children)}")
    for child in children:
        name = child.get("name") if isinstance(child, dict) else None
        if not isinstance(name, str) or not name or "." in name or name in module._modules:
            fail(f"has a child without a unique name (a non-empty string without '.'): {short(name)}")
        child_module = _build(child, path, join(where, name), budget)
        try:
            module.add_module(name, child_module)
        except ValueError as error:
            fail(f"has a child that cannot be added: {error}")
    return module


def layer_class(name: str):
    """The glassnet.nn layer class called ``name``, or None: a lookup in glassnet.nn's namespace,
    never an import, so a file cannot reach any other code."""
    cls = None if name.startswith("_") else getattr(nn, name, None)  # registry layers made on demand
    if (isinstance(cls, type) and issubclass(cls, Module) and cls is not Module
            and cls.__module__.split(".")[0] == "glassnet"):
        return cls
    return None


def layer_names() -> list:
    return sorted(name for name in vars(nn) if isinstance(name, str) and layer_class(name) is not None)


def from_json(value):
    """JSON arrays as tuples (shapes and sizes are tuples in Python APIs), recursively (the depth
    was checked)."""
    if isinstance(value, list):
        return tuple(from_json(item) for item in value)
    if isinstance(value, dict):
        return {key: from_json(item) for key, item in value.items()}
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


# ---- comparing weights -----------------------------------------------------------------------
def check_weights_fit(model: Module, tensors: dict, path: str) -> None:
    problems = weight_problems(dict(model._state_items()), tensors, "the architecture", "the file")
    if problems:
        raise ModelFileError(files.problem(
            path, "its weights do not match its architecture:\n  " + listed(problems, "\n  ")))


def weight_problems(expected: dict, found: dict, expected_name: str, found_name: str) -> list:
    """Missing and unexpected keys, shape and dtype mismatches between two name -> array dicts."""
    problems = [f"{found_name} has no tensor {short(key)} ({expected_name} needs shape "
                f"{expected[key].shape})" for key in expected if key not in found]
    problems += [f"{found_name} has a tensor {short(key)} that {expected_name} does not have"
                 for key in found if key not in expected]
    for key, array in expected.items():
        if key not in found:
            continue
        if found[key].shape != array.shape:
            problems.append(f"{short(key)} has shape {short(found[key].shape)} in {found_name}, "
                            f"{expected_name} needs shape {array.shape}")
        elif found[key].dtype != array.dtype:
            problems.append(f"{short(key)} has dtype {found[key].dtype} in {found_name}, "
                            f"{expected_name} needs dtype {array.dtype}")
    return problems


def listed(problems: list, separator: str) -> str:
    """The first MAX_PROBLEMS of ``problems`` joined, and how many more there are."""
    text = separator.join(problems[:MAX_PROBLEMS])
    if len(problems) > MAX_PROBLEMS:
        text += f"{separator}... and {len(problems) - MAX_PROBLEMS} more"
    return text


def label(where: str) -> str:
    return f"layer {short(where)}" if where else "the model"


def join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name
