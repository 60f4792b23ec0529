"""The saving and loading half of :class:`~glassnet.optim.Optimizer`: ``state_dict`` in PyTorch's
layout and ``load_state_dict``, which checks everything before it changes anything (a backup of
a run may be a crafted file)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from ..tensor import Tensor


class Saving:
    """``state_dict`` / ``load_state_dict`` for an optimizer (mixed into ``Optimizer``, which
    provides ``param_groups``, ``state``, ``params``, ``_hyperparameters``, ``_init_state``,
    ``_checked_values``, ``_refuse_unknown`` and ``_snapshot``)."""

    _hyperparameters: tuple
    _non_negative_state: tuple
    param_groups: list
    state: dict
    _checked: list

    if TYPE_CHECKING:  # provided by Optimizer
        @property
        def params(self) -> list: ...
        def _init_state(self, weight: np.ndarray, group: dict) -> dict: ...
        def _checked_values(self, values: dict, where: str) -> dict: ...
        def _refuse_unknown(self, values: Mapping, where: str) -> None: ...
        def _snapshot(self, group: dict) -> tuple: ...

    def state_dict(self) -> dict:
        """A copy of the optimizer's groups and per-parameter state, PyTorch's layout.

        Returns ``{"type": class name, "param_groups": [{hyperparameter: value, "params":
        [positions]}], "state": {position: {name: array copy or int}}}``; later steps do not
        change it.
        """
        groups, start = [], 0
        for group in self.param_groups:
            count = len(group["params"])
            groups.append({**{key: group[key] for key in self._hyperparameters},
                           "params": list(range(start, start + count))})
            start += count
        return {
            "type": type(self).__name__,
            "param_groups": groups,
            "state": {
                index: {key: _copy(value) for key, value in entries.items()}
                for index, entries in self.state.items()
            },
        }

    def load_state_dict(self, state_dict: Mapping) -> None:
        """Restore what :meth:`state_dict` saved, for the same parameters in the same groups.

        Everything is checked before anything changes: the type, each group (the same positions,
        hyperparameters checked as the constructor checks them) and each parameter's state, which
        must hold exactly the entries this optimizer keeps with its group's hyperparameters: a step
        count (an int >= 0) and arrays of the parameter's shape and dtype (nothing is cast), no
        sum of squares negative. A problem raises TypeError or ValueError and leaves the optimizer
        as it was. NaN is loaded as saved (a diverged run resumes as it was). Arrays are copied:
        the saved dict stays untouched.
        """
        name = type(self).__name__
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"load_state_dict expects the dict of state_dict(), got {type(state_dict).__name__}")
        unknown = set(state_dict) - {"type", "param_groups", "state"}
        if unknown:
            raise ValueError(f"load_state_dict: unknown entries {sorted(map(str, unknown))}; {name}.state_dict() "
                             "holds 'type', 'param_groups' and 'state'")
        saved_type = state_dict.get("type", name)
        if saved_type != name:
            raise ValueError(f"load_state_dict: the state was saved by {str(saved_type)[:60]}, not {name}")
        saved_state = state_dict.get("state", {})
        if not isinstance(saved_state, Mapping):
            raise TypeError(f"load_state_dict: 'state' must be a dict, got {type(saved_state).__name__}")
        groups = self._restored_groups(state_dict.get("param_groups"))
        owner = [group for group in groups for _ in range(len(group["params"]))]  # position -> group
        state = {}  # checked against the loaded hyperparameters: they decide the entries (amsgrad, momentum)
        for index, entries in saved_state.items():
            position = self._parameter_index(index)
            if position in state:
                raise ValueError(f"load_state_dict: two states for parameter {position} ({index!r})")
            state[position] = self._restored(position, entries, owner[position])
        for group, values in zip(self.param_groups, groups):
            group.update(values)
        self._checked = [self._snapshot(group) for group in self.param_groups]
        self.state = state

    def _restored_groups(self, saved) -> list[dict]:
        """The groups' hyperparameters after loading ``saved`` (the saved ``param_groups``, or
        None to keep the current ones), checked; each with its ``"params"`` list."""
        current = [dict(group) for group in self.param_groups]
        if saved is None:
            return current
        if not isinstance(saved, (list, tuple)):
            raise TypeError(f"load_state_dict: 'param_groups' must be a list, got {type(saved).__name__}")
        if len(saved) != len(current):
            raise ValueError(f"load_state_dict: the state has {len(saved)} parameter groups, "
                             f"{type(self).__name__} has {len(current)}")
        restored, start = [], 0
        for index, (values, group) in enumerate(zip(saved, current)):
            where = f"load_state_dict: param group {index}"
            if not isinstance(values, Mapping):
                raise TypeError(f"{where} must be a dict, got {type(values).__name__}")
            positions = list(range(start, start + len(group["params"])))
            start += len(positions)
            if "params" in values and list(values["params"]) != positions:
                raise ValueError(f"{where} holds the parameters {str(list(values['params']))[:60]} in the state, "
                                 f"{positions[:8]}{'...' if len(positions) > 8 else ''} here")
            self._refuse_unknown(values, f"{where}: ")
            given = {key: value for key, value in values.items() if key != "params"}
            merged = {key: value for key, value in group.items() if key != "params"}
            restored.append({**self._checked_values({**merged, **given}, f"{where}: "), "params": group["params"]})
        return restored

    def _parameter_index(self, index) -> int:
        """A state's key as the position of its parameter: an int, or its digits (a JSON key)."""
        if isinstance(index, str) and index.isdigit():
            index = int(index)
        if not isinstance(index, (int, np.integer)) or isinstance(index, (bool, np.bool_)):
            raise TypeError(f"load_state_dict: parameter index {repr(index)[:40]} is not an int")
        count = len(self.params)
        if not 0 <= index < count:
            raise ValueError(f"load_state_dict: state for parameter {index}, but {type(self).__name__} has "
                             f"{count} parameters")
        return int(index)

    def _restored(self, index: int, entries, group: dict) -> dict:
        """A copy of the saved state of parameter ``index``, after checking it holds what
        ``_init_state`` makes with its group's hyperparameters: the same entries, ints as ints
        >= 0, arrays like the parameter."""
        name, weight = type(self).__name__, self.params[index].data
        if not isinstance(entries, Mapping):
            raise TypeError(f"load_state_dict: the state of parameter {index} must be a dict, got "
                            f"{type(entries).__name__}")
        expected = self._init_state(np.empty(0, weight.dtype), group)  # the entries and their kinds
        missing = [key for key in expected if key not in entries]
        unknown = [key for key in entries if key not in expected]
        if missing:
            raise ValueError(f"load_state_dict: the state of parameter {index} lacks {', '.join(map(repr, missing))}")
        if unknown:
            raise ValueError(f"load_state_dict: the state of parameter {index} has entries "
                             f"{', '.join(repr(key)[:40] for key in unknown)} that {name} does not keep")
        restored: dict[str, int | np.ndarray] = {}
        for key, kind in expected.items():
            value, what = entries[key], f"load_state_dict: {key!r} of parameter {index}"
            if isinstance(kind, int):
                if not isinstance(value, (int, np.integer)) or isinstance(value, (bool, np.bool_)):
                    raise TypeError(f"{what} is {str(value)[:40]}; a step count is an int >= 0")
                if value < 0:
                    raise ValueError(f"{what} is {value}; a step count is an int >= 0")
                restored[key] = int(value)
                continue
            value = np.asarray(value.data if isinstance(value, Tensor) else value)
            if value.dtype != weight.dtype:
                raise TypeError(f"{what} has dtype {value.dtype}, the parameter has dtype {weight.dtype}; "
                                "nothing is cast")
            if value.shape != weight.shape:
                raise ValueError(f"{what} has shape {value.shape}, the parameter has shape {weight.shape}")
            if key in self._non_negative_state and (value < 0).any():
                raise ValueError(f"{what} holds negative values, which no run makes (a sum of squares)")
            restored[key] = value.copy()
        return restored


def _copy(value):
    return value.copy() if isinstance(value, np.ndarray) else value
