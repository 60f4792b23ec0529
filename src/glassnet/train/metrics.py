"""Metrics: ``metric(outputs, y) -> float`` on whole arrays (no gradient, no graph).

``outputs`` are what the model returns: logits or probabilities, one column per class, or one
column for a binary problem; values for regression.
"""

from __future__ import annotations

import numpy as np


def accuracy(outputs: np.ndarray, y: np.ndarray, threshold: float = 0.0) -> float:
    """The fraction of correct class predictions.

    With one column per class the prediction is the arg-max. With a single column (binary
    classification) the prediction is ``outputs > threshold``: 0 for logits (the default, as
    with ``binary_cross_entropy_with_logits``), 0.5 for probabilities after a sigmoid.
    ``y`` holds integer labels, or one-hot rows.
    """
    outputs, y = np.asarray(outputs), np.asarray(y)
    if outputs.ndim == 2 and outputs.shape[1] > 1:
        predicted = outputs.argmax(axis=1)
        if y.ndim == 2 and y.shape[1] == outputs.shape[1]:
            y = y.argmax(axis=1)
    else:
        predicted = (outputs.reshape(-1) > threshold).astype(np.int64)
    return float(np.mean(predicted == y.reshape(-1)))


def mse(outputs: np.ndarray, y: np.ndarray) -> float:
    """Mean squared error 1/n sum (y - yhat)^2."""
    return float(np.mean((np.asarray(outputs).reshape(np.shape(y)) - y) ** 2))


def mae(outputs: np.ndarray, y: np.ndarray) -> float:
    """Mean absolute error 1/n sum |y - yhat|."""
    return float(np.mean(np.abs(np.asarray(outputs).reshape(np.shape(y)) - y)))


METRICS = {"accuracy": accuracy, "mse": mse, "mae": mae}


def get(name_or_function):
    """A metric by name ("accuracy", "mse", "mae") or the function itself."""
    if callable(name_or_function):
        return name_or_function
    try:
        return METRICS[name_or_function]
    except (KeyError, TypeError):
        raise ValueError(f"unknown metric {name_or_function!r}; choose one of {sorted(METRICS)}") from None


def name_of(metric) -> str:
    return metric if isinstance(metric, str) else getattr(metric, "__name__", "metric")
