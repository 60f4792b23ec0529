"""Metrics: ``metric(outputs, y) -> float`` on whole arrays (no gradient, no graph).

``outputs`` are what the model returns: logits or probabilities, one column per class, or one
column for a binary problem; values for regression.

How ``accuracy`` reads the outputs:

* one column per class: the predicted class is the arg-max (the same for logits and
  probabilities); ``y`` holds integer labels or one-hot rows;
* one column (binary): the predicted class is ``outputs > threshold``. ``fit`` and ``evaluate``
  choose the threshold from the loss: 0 for losses on raw scores (names containing "logits",
  and ``hinge``), 0.5 for every other loss (probabilities after a Sigmoid, e.g.
  ``binary_cross_entropy``). Labels in {-1, +1} (as for hinge) are compared with -1/+1
  predictions, labels in {0, 1} with 0/1.

Example
-------
>>> import numpy as np
>>> from glassnet.train import metrics
>>> metrics.accuracy(np.array([[2.0, 1.0], [0.0, 3.0]]), np.array([0, 0]))
0.5
>>> metrics.accuracy(np.array([0.3, 0.8]), np.array([0, 1]))              # probabilities
1.0
>>> metrics.get("accuracy", loss="binary_cross_entropy_with_logits")(np.array([-0.2, 0.1]), np.array([0, 1]))
1.0
"""

from __future__ import annotations

import functools

import numpy as np


def accuracy(outputs: np.ndarray, y: np.ndarray, threshold: float = 0.5) -> float:
    """The fraction of correct class predictions (see the module docstring for the rules).

    Shape
    -----
    outputs: (n, classes), (n, 1) or (n,); y: (n,) labels or (n, classes) one-hot rows.
    """
    outputs, y = np.asarray(outputs), np.asarray(y)
    if outputs.ndim == 2 and outputs.shape[1] > 1:
        predicted = outputs.argmax(axis=1)
        if y.ndim == 2 and y.shape[1] == outputs.shape[1]:
            y = y.argmax(axis=1)
    else:
        positive = outputs.reshape(-1) > threshold
        negative_label = -1 if np.any(y < 0) else 0
        predicted = np.where(positive, 1, negative_label)
    y = y.reshape(-1)
    if len(y) != len(predicted):
        raise ValueError(f"accuracy: {len(predicted)} predictions but {len(y)} labels")
    return float(np.mean(predicted == y))


def mse(outputs: np.ndarray, y: np.ndarray) -> float:
    """Mean squared error 1/n sum (y - yhat)^2."""
    return float(np.mean((np.asarray(outputs).reshape(np.shape(y)) - y) ** 2))


def mae(outputs: np.ndarray, y: np.ndarray) -> float:
    """Mean absolute error 1/n sum |y - yhat|."""
    return float(np.mean(np.abs(np.asarray(outputs).reshape(np.shape(y)) - y)))


METRICS = {"accuracy": accuracy, "mse": mse, "mae": mae}


def threshold_for(loss) -> float:
    """The cut for a single output column: 0 for losses on raw scores, 0.5 for probabilities."""
    name = loss if isinstance(loss, str) else getattr(loss, "__name__", "")
    return 0.0 if ("logits" in name or name == "hinge") else 0.5


def get(name_or_function, loss=None):
    """A metric by name ("accuracy", "mse", "mae") or the function itself.

    ``loss`` (a loss function or its name) sets accuracy's threshold for one output column.
    """
    if callable(name_or_function):
        return name_or_function
    if name_or_function == "accuracy" and loss is not None:
        return functools.partial(accuracy, threshold=threshold_for(loss))
    try:
        return METRICS[name_or_function]
    except (KeyError, TypeError):
        raise ValueError(f"unknown metric {name_or_function!r}; choose one of {sorted(METRICS)}") from None


def name_of(metric) -> str:
    """The log key of a metric: its name, or the function's ``__name__``."""
    return metric if isinstance(metric, str) else getattr(metric, "__name__", "metric")
