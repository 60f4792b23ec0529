"""Checks of fit's, evaluate's and predict's arguments that only training needs (the model, the
optimizer, the loss, the data arrays): each bad value raises a clear error naming it, before any
weight changes. Checks of plain values (ints, numbers, flags) live in :mod:`glassnet._checks`."""

from __future__ import annotations

import numpy as np

from ..nn.container import Sequential
from ..nn.module import Module
from ..tensor import Tensor


def check_model(model) -> None:
    if not isinstance(model, Module):
        raise TypeError(f"model must be a glassnet.nn.Module, got {type(model).__name__}")


def check_optimizer(optimizer, model) -> None:
    if not all(hasattr(optimizer, name) for name in ("step", "zero_grad", "lr")):
        raise TypeError(f"optimizer must be a glassnet.optim optimizer (step, zero_grad, lr), "
                        f"got {type(optimizer).__name__}")
    params = getattr(optimizer, "params", None)
    own = {id(p) for p in model.parameters()}
    if params is not None and not any(id(p) in own for p in params):
        raise ValueError("the optimizer holds none of this model's parameters; build it with "
                         "optimizer(model.parameters(), ...)")


def model_dtype(model):
    first = next(iter(model.parameters()), None)
    return first.dtype if first is not None else np.dtype(np.float32)


def fills_missing(model) -> bool:
    """True when the model's first layer fills NaN itself (``nn.Impute``: ``accepts_missing``),
    so that its inputs may hold NaN."""
    while isinstance(model, Sequential) and len(model):
        model = model[0]
    return bool(getattr(model, "accepts_missing", False))


def as_inputs(X, dtype, name="X", allow_nan=False) -> np.ndarray:
    X = np.asarray(X.data if isinstance(X, Tensor) else X)
    if X.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric, got dtype {X.dtype}")
    if X.ndim == 0 or len(X) == 0:
        raise ValueError(f"{name} is empty (shape {X.shape}); there is nothing to train on")
    X = X.astype(dtype, copy=False)
    if allow_nan and np.isinf(X).any():  # the Impute layer fills NaN only
        raise ValueError(f"{name} contains infinite values")
    if not allow_nan and not np.all(np.isfinite(X)):
        raise ValueError(f"{name} contains NaN or infinite values; to fill missing values (NaN), "
                         "put an nn.Impute layer first (nn.mlp(..., impute=...))")
    return X


def as_targets(y, n: int, name="y") -> np.ndarray:
    y = np.asarray(y.data if isinstance(y, Tensor) else y)
    if y.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric, got dtype {y.dtype}")
    if y.ndim == 0 or len(y) != n:
        x_name = "X_val" if name == "y_val" else "X"
        raise ValueError(f"{x_name} has {n} samples but {name} has {len(y) if y.ndim else 0}: they must match")
    if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return y
