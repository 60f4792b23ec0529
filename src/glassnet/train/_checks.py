"""Checks of fit's, evaluate's and predict's arguments that only training needs (the model, the
optimizer, the loss, the data arrays): each bad value raises a clear error naming it, before any
weight changes. Checks of plain values (ints, numbers, flags) live in :mod:`glassnet._checks`."""

from __future__ import annotations

import math

import numpy as np

from .._checks import too_large_for
from ..nn.container import Sequential
from ..nn.module import Module
from ..tensor import Tensor


def check_model(model) -> None:
    if not isinstance(model, Module):
        raise TypeError(f"model must be a glassnet.nn.Module, got {type(model).__name__}")


def check_optimizer(optimizer, model) -> None:
    if not all(hasattr(optimizer, name) for name in ("step", "zero_grad", "param_groups")):
        raise TypeError(f"optimizer must be a glassnet.optim optimizer (step, zero_grad, param_groups), "
                        f"got {type(optimizer).__name__}")
    params = getattr(optimizer, "params", None)
    own = {id(p) for p in model.parameters()}
    if not own:
        raise ValueError(f"the model has no parameters: there is nothing to train in {type(model).__name__} "
                         "(predict and evaluate run it as it is)")
    if params is None:
        return
    held = [p for p in params if id(p) in own]
    if not held:
        raise ValueError("the optimizer holds none of this model's parameters; build it with "
                         "optimizer(model.parameters(), ...)")
    if not any(p.requires_grad for p in held):
        raise ValueError(f"every parameter of {type(model).__name__} that the optimizer holds is frozen "
                         "(requires_grad=False): training would change nothing; unfreeze a part "
                         "(module.unfreeze() or requires_grad_(True))")


def model_dtype(model):
    first = next(iter(model.parameters()), None)
    return first.dtype if first is not None else np.dtype(np.float32)


def fills_missing(model) -> bool:
    """True when the model's first layer fills NaN itself (``nn.Impute``: ``accepts_missing``),
    so that its inputs may hold NaN."""
    while isinstance(model, Sequential) and len(model):
        model = model[0]
    return bool(getattr(model, "accepts_missing", False))


def _as_array(values, name: str) -> np.ndarray:
    """An array of ``values`` (a Tensor's data), or a ValueError naming ``name`` for rows of
    different lengths, instead of NumPy's "inhomogeneous shape"."""
    if isinstance(values, Tensor):
        return values.data
    try:
        return np.asarray(values)
    except ValueError as error:
        raise ValueError(f"{name} is not a rectangular array (rows of different lengths?): {error}") from None


def as_inputs(X, dtype, name="X", purpose="train on", allow_nan=False) -> np.ndarray:
    """``X`` as an array of ``dtype`` with at least one row (``purpose`` None: zero rows are
    fine, as for predict), values in every sample, and only finite values that ``dtype`` holds
    (``allow_nan``: NaN let through, for a model whose first layer fills it)."""
    X = _as_array(X, name)
    if X.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric, got dtype {X.dtype}")
    if X.ndim == 0:
        raise ValueError(f"{name} is a single value (shape ()); it needs one row per sample")
    if len(X) == 0 and purpose is not None:
        raise ValueError(f"{name} is empty (shape {X.shape}); there is nothing to {purpose}")
    if 0 in X.shape[1:]:
        raise ValueError(f"{name} has shape {X.shape}: no input values per sample")
    source = X
    with np.errstate(over="ignore"):  # a value too large for float32 is told apart just below
        X = X.astype(dtype, copy=False)
    finite = np.isfinite(X)
    if allow_nan:
        finite |= np.isnan(X)  # the Impute layer fills NaN (only NaN: inf stays an error)
    if not np.all(finite):
        _check_overflow(source, name, dtype)
        if allow_nan:
            raise ValueError(f"{name} contains infinite values (the model's nn.Impute fills NaN only)")
        raise ValueError(f"{name} contains NaN or infinite values; to fill missing values (NaN), put an "
                         "nn.Impute layer first (nn.mlp(..., impute=...))")
    return X


def _check_overflow(values: np.ndarray, name: str, dtype) -> None:
    """Tell a value too large for ``dtype`` (float32) from a NaN or inf: both end as inf there."""
    values = values.reshape(-1)
    too_large = too_large_for(values, dtype)
    if np.any(too_large):
        example, dtype = values[np.argmax(too_large)], np.dtype(dtype)
        raise ValueError(f"{name} holds values that overflow {dtype.name} (max {np.finfo(dtype).max:.2g}), "
                         f"e.g. {example!s}; scale them down, or use a float64 model")


def as_targets(y, n: int, name="y", dtype=np.float32) -> np.ndarray:
    """``y`` as an array of ``n`` samples, each with at least one value, finite, and (floats)
    within what the model's ``dtype`` holds; integer labels keep their dtype."""
    y = _as_array(y, name)
    if y.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric, got dtype {y.dtype}")
    if y.ndim == 0 or len(y) != n:
        x_name = "X_val" if name == "y_val" else "X"
        raise ValueError(f"{x_name} has {n} samples but {name} has {len(y) if y.ndim else 0}: they must match")
    if 0 in y.shape[1:]:
        raise ValueError(f"{name} has shape {y.shape}: no target values per sample")
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)):
            raise ValueError(f"{name} contains NaN or infinite values")
        _check_overflow(y, name, dtype)
    return y


# ---- the values of a callback's saved state (a backup may be crafted) --------------------------
def is_count(value) -> bool:
    """An int >= 0 (not a bool): an epoch, a batch, a patience count."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def is_count_or_none(value) -> bool:
    return value is None or is_count(value)


def is_number(value) -> bool:
    """A number that is not NaN (a best value starts at an infinity)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value)


def is_log(history) -> bool:
    """A History's record: log keys -> lists (of what the logs held, numbers unless a callback of
    the user's logged something else), which each epoch appends to."""
    return all(isinstance(key, str) and isinstance(values, list) for key, values in history.items())


def fits_model(weights: dict, model) -> bool:
    """Whether ``weights`` has the names, shapes and dtypes of ``model``'s state_dict."""
    shapes = {name: (getattr(array, "shape", None), getattr(array, "dtype", None)) for name, array in weights.items()}
    return shapes == {name: (array.shape, array.dtype) for name, array in model._state_items()}


def generator_problem(kind: type, state) -> str | None:
    """Why ``state`` is not one a generator of ``kind`` (a BitGenerator class) takes as it is, or
    None. NumPy refuses some wrong states with OverflowError and takes others silently (a float,
    a bool, an even PCG64 increment, has_uint32=5), drawing another stream: PCG64's, the
    generator of every glassnet run, is checked entry by entry."""
    if kind is np.random.PCG64:
        def count(value, limit: int) -> bool:
            return is_count(value) and value < limit
        inner = state.get("state") if isinstance(state, dict) else None
        if (not isinstance(state, dict) or set(state) != {"bit_generator", "state", "has_uint32", "uinteger"}
                or state["bit_generator"] != "PCG64" or not isinstance(inner, dict) or set(inner) != {"state", "inc"}):
            return "a PCG64 state holds exactly bit_generator 'PCG64', state {state, inc}, has_uint32 and uinteger"
        if not (count(inner["state"], 2 ** 128) and count(inner["inc"], 2 ** 128) and inner["inc"] % 2 == 1):
            return "PCG64's state and inc are ints in [0, 2**128), inc odd"
        if not (count(state["has_uint32"], 2) and count(state["uinteger"], 2 ** 32)):
            return "PCG64's has_uint32 is 0 or 1 and its uinteger an int in [0, 2**32)"
    try:  # tried on a new generator of its kind, not on the run's
        kind().state = state
    except (TypeError, ValueError, KeyError, OverflowError) as error:
        return f"{type(error).__name__}: {str(error)[:120]}"
    return None
