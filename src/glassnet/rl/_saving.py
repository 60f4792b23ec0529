"""An agent in one safetensors file: its networks' weights, and JSON metadata to rebuild it.

File layout: the tensors are each network's ``state_dict()`` under ``<network>.<key>``
(``policy.0.weight``, ``value.2.bias``...) and the bounds of a Box space under
``observation_space.low`` / ``.high`` and ``action_space.low`` / ``.high``. ``__metadata__`` holds::

    format            "glassnet.rl_agent"
    format_version    "1"
    glassnet_version  the version that wrote the file
    agent             {"class": "REINFORCE", "hyperparameters": {...}, "seed": 0,
                       "num_timesteps": 50000, "observation_space": {"kind": "Box", "shape": [4]},
                       "action_space": {"kind": "Discrete", "n": 2, "start": 0}}

Loading never executes code from the file: the class is looked up among glassnet's agents, the
agent is rebuilt by its constructor (which checks every hyperparameter), its networks may ask for
no more weights than the file holds, and the file's tensors must match them key for key, shape
for shape, before any is copied.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from glassnet import _safetensors_file as files
from glassnet._io_build import weight_problems
from glassnet._safetensors_file import ModelFileError
from glassnet._version import __version__

from . import _base
from ._base import Agent, describe_space, gymnasium, same_spaces

AGENT_FORMAT = "glassnet.rl_agent"
FORMAT_VERSION = "1"


class _Spaces:
    """Stands in for an environment while a loaded agent is rebuilt: its spaces, nothing to step."""

    def __init__(self, observation_space: Any, action_space: Any) -> None:
        self.observation_space, self.action_space = observation_space, action_space


def save_agent(agent: Agent, path: Any) -> None:
    path = files.target_path(path)
    hyperparameters = {}
    for name in agent._hyperparameters:
        value = getattr(agent, name)
        if callable(value):  # a schedule: its value where the last learn ended
            value = _base.schedule_value(value, getattr(agent, "_last_progress", 1.0))
        hyperparameters[name] = value
    description = {"class": type(agent).__name__, "hyperparameters": hyperparameters, "seed": agent.seed,
                   "num_timesteps": agent.num_timesteps,
                   "observation_space": describe_space(agent.observation_space),
                   "action_space": describe_space(agent.action_space)}
    try:
        text = json.dumps(description, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise TypeError(f"cannot save this {type(agent).__name__}: a hyperparameter has no JSON form "
                        f"({error})") from None
    tensors = {f"{net}.{key}": np.ascontiguousarray(array) for net, module in agent.networks.items()
               for key, array in module.state_dict().items()}
    for which in ("observation_space", "action_space"):
        space = getattr(agent, which)
        if not hasattr(space, "n"):
            tensors[f"{which}.low"] = np.ascontiguousarray(space.low)
            tensors[f"{which}.high"] = np.ascontiguousarray(space.high)
    metadata = {"format": AGENT_FORMAT, "format_version": FORMAT_VERSION, "glassnet_version": __version__,
                "agent": text}
    files.write_atomically(path, tensors, metadata)


def load_agent(path: Any, env: Any = None, expected: type | None = None) -> Agent:
    """The agent saved at ``path``; ``env`` (optional) must have its spaces. ``expected``: the class
    the caller asked for (``REINFORCE.load``); any glassnet agent for ``glassnet.rl.load``."""
    path = files.source_path(path)
    try:
        metadata, tensors = files.read(path)
        description = _description(metadata, path)
        cls = _agent_class(description.get("class"), path, expected)
        spaces = _Spaces(_space(description, "observation_space", tensors, path),
                         _space(description, "action_space", tensors, path))
        hyperparameters = description.get("hyperparameters")
        if not isinstance(hyperparameters, dict):
            raise ModelFileError(files.problem(path, "its agent description has no hyperparameters object"))
        _base._budget.append(2 * sum(array.size for array in tensors.values()) + 64)
        try:
            agent = cls(spaces, **hyperparameters, seed=description.get("seed"))
        except (TypeError, ValueError) as error:
            raise ModelFileError(files.problem(path, f"it does not describe a valid {cls.__name__}: {error}")) from None
        finally:
            _base._budget.clear()
        _load_weights(agent, tensors, path)
        agent.num_timesteps = _count(description.get("num_timesteps"), path)
    except (ModelFileError, OSError, MemoryError):
        raise
    except Exception as error:  # noqa: BLE001 (a file must not reach the caller as any other error)
        raise ModelFileError(files.problem(
            path, f"reading it failed unexpectedly with {type(error).__name__}: {error}")) from error
    agent.env = None
    if env is not None:
        agent.n_envs, agent.is_vector = same_spaces(agent, env)
        agent.env = env
    return agent


def _description(metadata: dict, path: str) -> dict:
    file_format = metadata.get("format")
    if file_format != AGENT_FORMAT:
        hint = " (a model: load it with glassnet.load)" if file_format == "glassnet.model" else ""
        raise ModelFileError(files.problem(
            path, f"it is not a glassnet agent: its format is {files.short(file_format)}, not {AGENT_FORMAT!r}{hint}"))
    if metadata.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(files.problem(
            path, f"its format version is {files.short(metadata.get('format_version'))}; glassnet "
                  f"{__version__} reads version {FORMAT_VERSION}"))
    try:
        description = json.loads(metadata.get("agent", ""), parse_constant=_no_constant)
    except (ValueError, RecursionError):
        description = None
    if not isinstance(description, dict):
        raise ModelFileError(files.problem(path, "its 'agent' metadata is not a JSON object"))
    return description


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _agent_class(name: Any, path: str, expected: type | None) -> type:
    from glassnet import rl

    classes = {cls.__name__: cls for cls in vars(rl).values()
               if isinstance(cls, type) and issubclass(cls, Agent) and cls is not Agent}
    if name not in classes:
        raise ModelFileError(files.problem(
            path, f"its agent class {files.short(name)} is not one of glassnet's agents "
                  f"({', '.join(sorted(classes))})"))
    cls = classes[name]
    if expected is not None and expected is not Agent and cls is not expected:
        raise ModelFileError(files.problem(path, f"it holds a {name}, not a {expected.__name__}"))
    return cls


def _space(description: dict, which: str, tensors: dict, path: str) -> Any:
    spaces = gymnasium().spaces
    spec = description.get(which)
    if not isinstance(spec, dict) or spec.get("kind") not in ("Box", "Discrete"):
        raise ModelFileError(files.problem(path, f"its {which} is not a described Box or Discrete space"))
    if spec["kind"] == "Discrete":
        n, start = spec.get("n"), spec.get("start", 0)
        if not (isinstance(n, int) and isinstance(start, int)) or isinstance(n, bool) or n < 1:
            raise ModelFileError(files.problem(path, f"its {which} has no valid n: {files.short(n)}"))
        return spaces.Discrete(n, start=start)
    low, high = tensors.pop(f"{which}.low", None), tensors.pop(f"{which}.high", None)
    shape = spec.get("shape")
    if low is None or high is None or low.ndim != 1 or high.shape != low.shape or shape != list(low.shape):
        raise ModelFileError(files.problem(path, f"its {which} Box has no bounds of its shape {files.short(shape)}"))
    return spaces.Box(low=low, high=high, dtype=low.dtype)


def _load_weights(agent: Agent, tensors: dict, path: str) -> None:
    expected = {f"{net}.{key}": array for net, module in agent.networks.items()
                for key, array in module._state_items()}
    problems = weight_problems(expected, tensors, f"the {type(agent).__name__}", "the file")
    if problems:
        raise ModelFileError(files.problem(
            path, "its weights do not fit the agent it describes:\n  " + "\n  ".join(problems[:10])))
    for net, module in agent.networks.items():
        prefix = f"{net}."
        module.load_state_dict({key[len(prefix):]: array for key, array in tensors.items() if key.startswith(prefix)})


def _count(value: Any, path: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0 or math.isinf(value):
        raise ModelFileError(files.problem(path, f"its num_timesteps is not a count: {files.short(value)}"))
    return value
