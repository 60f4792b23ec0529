"""Parameter lists and parameter groups, checked: what the optimizers, clipping and penalties take.

An optimizer takes its parameters as PyTorch does: an iterable of Parameters (one group), or an
iterable of dicts, each a group ``{"params": ..., "lr": ..., ...}`` whose missing hyperparameters
come from the optimizer's arguments. Here the groups are read and checked; the optimizer keeps them
in ``param_groups``.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..tensor import Parameter, Tensor


def group_specs(params, owner: str) -> tuple[list[dict], bool]:
    """``(groups, given as dicts)``: ``params`` as a list of group dicts (each with its own
    ``"params"`` entry, not yet checked), and whether they were written as dicts.

    A Mapping alone is one group; a list of Mappings is several; anything else is one group of
    parameters. A bare Tensor or a set is refused (rows of a Tensor, no order in a set).
    """
    if isinstance(params, Mapping):
        return [dict(params)], True
    if isinstance(params, Tensor):
        # A Tensor is iterable (row by row), which would silently optimize copies of its rows.
        raise TypeError(f"{owner}: params must be an iterable of Parameters; wrap a single one in a list")
    if hasattr(params, "named_parameters"):
        raise TypeError(f"{owner}: params is a {type(params).__name__} module; pass its .parameters()")
    _refuse_set(params, owner, "params")
    try:
        items = list(params)
    except TypeError:
        raise TypeError(
            f"{owner}: params must be an iterable of Parameters (e.g. model.parameters()) or of "
            f"parameter-group dicts, got {type(params).__name__}"
        ) from None
    if not items:
        raise ValueError(f"{owner}: got an empty list of parameters; nothing to optimize")
    if all(isinstance(item, Mapping) for item in items):
        return [dict(item) for item in items], True
    if any(isinstance(item, Mapping) for item in items):
        raise TypeError(f"{owner}: params mixes Parameters and parameter-group dicts; give one kind only")
    return [{"params": items}], False


def group_parameters(params, owner: str, where: str, taken: set) -> list:
    """The ``"params"`` of one group as a list of distinct leaf Tensors that none of the groups
    before it (``taken``, a set of ids, updated) holds. ``where`` starts the messages: "" for the
    only group, "param group 1, " for a group of several."""
    if isinstance(params, Tensor):  # in a group dict a single Tensor is allowed, as in PyTorch
        params = [params]
    if hasattr(params, "named_parameters"):  # a Module (a Sequential iterates over its layers)
        raise TypeError(f"{owner}: {where}params is a {type(params).__name__} module; pass its .parameters()")
    _refuse_set(params, owner, f"{where}params")
    try:
        params = list(params)
    except TypeError:
        raise TypeError(f"{owner}: {where}params must be an iterable of Parameters, "
                        f"got {type(params).__name__}") from None
    seen: set = set()
    for index, param in enumerate(params):
        what = f"{owner}: {where}parameter {index}"
        if not isinstance(param, Tensor):
            raise TypeError(f"{what} is a {type(param).__name__}, expected a Parameter")
        if param._parents or param._backward is not None:
            raise ValueError(f"{what} is the result of an operation, not a leaf Tensor: it cannot be optimized")
        if not param.requires_grad and not isinstance(param, Parameter):
            # A frozen Parameter is fine (it is skipped until unfrozen); a plain Tensor without
            # requires_grad was never meant to learn.
            raise ValueError(f"{what} does not require grad, so it can never be updated")
        if id(param) in seen:
            raise ValueError(f"{what} appears twice in the list")
        if id(param) in taken:
            raise ValueError(f"{what} is already in another parameter group")
        seen.add(id(param))
    taken.update(seen)
    return params


def _refuse_set(values, owner: str, where: str) -> None:
    if isinstance(values, (set, frozenset)):
        raise TypeError(f"{owner}: {where} is a set, whose order changes from run to run; pass a list "
                        "(the optimizer's state is kept by position)")


def tensor_list(params, owner: str) -> list:
    """``params`` (a Tensor or an iterable of Tensors) as a list of Tensors, or a clear error."""
    if isinstance(params, Tensor):
        return [params]
    try:
        params = list(params)
    except TypeError:
        raise TypeError(
            f"{owner}: params must be a Tensor or an iterable of Tensors (e.g. model.parameters()), "
            f"got {type(params).__name__}"
        ) from None
    for index, param in enumerate(params):
        if not isinstance(param, Tensor):
            raise TypeError(f"{owner}: item {index} is a {type(param).__name__}, expected a Tensor")
    return params
