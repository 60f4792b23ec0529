"""Metrics: ``metric(outputs, y) -> float`` on whole arrays (no gradient, no graph).

``outputs`` are what the model returns: logits or probabilities, one column per class, or one
column for a binary problem; values for regression.

How ``accuracy`` reads the outputs:

* one column per class: the predicted class is the arg-max (the same for logits and
  probabilities); ``y`` holds integer labels or one-hot rows;
* one column (binary): the predicted class is ``outputs > threshold``: 0 for logits (raw
  scores), 0.5 for probabilities. Nothing guesses which: ``get("accuracy", from_logits=...)``
  says it, and ``fit`` and ``evaluate`` read the loss's ``from_logits`` attribute (see
  :mod:`glassnet.losses`). A loss without one (a lambda, a ``functools.partial``, a function of
  your own) makes a one-column accuracy raise an error that says how to fix it. Labels in
  {-1, +1} (as for hinge) are compared with -1/+1 predictions, labels in {0, 1} with 0/1.

Example
-------
>>> import numpy as np
>>> from glassnet.train import metrics
>>> metrics.accuracy(np.array([[2.0, 1.0], [0.0, 3.0]]), np.array([0, 0]))
0.5
>>> metrics.accuracy(np.array([0.3, 0.8]), np.array([0, 1]))              # probabilities
1.0
>>> metrics.get("accuracy", from_logits=True)(np.array([-0.2, 0.1]), np.array([0, 1]))
1.0
>>> metrics.get("accuracy", loss="binary_cross_entropy_with_logits")(np.array([-0.2, 0.1]), np.array([0, 1]))
1.0
"""

from __future__ import annotations

import functools

import numpy as np

from .. import losses as _losses
from .._checks import boolean


def accuracy(outputs: np.ndarray, y: np.ndarray, threshold: float = 0.5) -> float:
    """The fraction of correct class predictions (see the module docstring for the rules).

    Shape
    -----
    outputs: (n, classes), (n, 1) or (n,); y: (n,) labels or (n, classes) one-hot rows.
    """
    outputs, y = np.asarray(outputs), np.asarray(y)
    if not _needs_threshold(outputs):
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


def _needs_threshold(outputs: np.ndarray) -> bool:
    """Whether accuracy cuts the outputs at a threshold (anything but one column per class)."""
    return not (outputs.ndim == 2 and outputs.shape[1] > 1)


def mse(outputs: np.ndarray, y: np.ndarray) -> float:
    """Mean squared error 1/n sum (y - yhat)^2."""
    return float(np.mean((np.asarray(outputs).reshape(np.shape(y)) - y) ** 2))


def mae(outputs: np.ndarray, y: np.ndarray) -> float:
    """Mean absolute error 1/n sum |y - yhat|."""
    return float(np.mean(np.abs(np.asarray(outputs).reshape(np.shape(y)) - y)))


METRICS = {"accuracy": accuracy, "mse": mse, "mae": mae}


def _flag_of(loss):
    """The ``from_logits`` attribute of a loss, looked for through ``functools.partial``
    wrappers (a partial of a marked loss takes what that loss takes), or None."""
    while getattr(loss, "from_logits", None) is None and isinstance(loss, functools.partial):
        loss = loss.func
    return getattr(loss, "from_logits", None)


def _describe(loss) -> str:
    if isinstance(loss, functools.partial):
        return f"functools.partial({getattr(loss.func, '__name__', type(loss.func).__name__)}, ...)"
    return getattr(loss, "__name__", type(loss).__name__)


def from_logits_of(loss):
    """What ``loss`` says it takes: its ``from_logits`` attribute (True: logits, False:
    probabilities or values), or None when it has none. ``loss`` may be a name ("hinge")."""
    flag = _flag_of(None if loss is None else _losses.get(loss))
    return None if flag is None else boolean(flag, f"the loss {_describe(loss)}'s from_logits")


def _unknown_message(loss) -> str:
    said = (f"the loss {_describe(loss)} does not say (it has no from_logits attribute)" if loss is not None
            else "nothing says which")
    return ("accuracy on one output column must know whether the outputs are logits (cut at 0) or "
            f"probabilities (cut at 0.5), and {said}. Set the attribute on the loss (e.g. "
            "my_loss.from_logits = True for raw scores, False for probabilities), or pass the metric "
            "itself: metrics=[glassnet.train.metrics.get('accuracy', from_logits=True)]")


def logits_threshold(from_logits: bool) -> float:
    """Where one output column is cut into two classes: at 0 for logits, at 0.5 for
    probabilities (or values on the target's scale)."""
    return 0.0 if from_logits else 0.5


def threshold_for(loss) -> float:
    """The cut for a single output column, read from ``loss.from_logits`` (an error when the
    loss does not say)."""
    from_logits = from_logits_of(loss)
    if from_logits is None:
        raise ValueError(_unknown_message(loss))
    return logits_threshold(from_logits)


def get(name_or_function, loss=None, *, from_logits=None):
    """A metric by name ("accuracy", "mse", "mae") or the function itself (``accuracy``, the
    function, is read as its name, so that it too cuts one column where the loss says).

    For "accuracy", ``from_logits`` (True: the outputs are logits, cut one column at 0; False:
    probabilities, cut at 0.5) or else ``loss`` (a loss function or its name, read for its
    ``from_logits`` attribute) sets the threshold of one output column. When neither says, the
    accuracy still reads one column per class, and raises on a single column.
    """
    if name_or_function is accuracy:  # the function itself cuts one column at 0.5: never a guess
        name_or_function = "accuracy"
    if callable(name_or_function):
        return name_or_function
    try:
        metric = METRICS[name_or_function]
    except (KeyError, TypeError):
        raise ValueError(f"unknown metric {name_or_function!r}; choose one of {sorted(METRICS)}") from None
    if metric is not accuracy:
        return metric
    from_logits = boolean(from_logits, "from_logits", allow_none=True)
    if from_logits is None and loss is not None:
        from_logits = from_logits_of(loss)
    return _accuracy_at(None if from_logits is None else logits_threshold(from_logits), loss)


def _accuracy_at(cut, loss):
    """``accuracy(outputs, y)`` cutting one column at ``threshold``; None: one column is an error
    that names ``loss`` and says how to fix it (one column per class needs no threshold)."""

    def accuracy_metric(outputs, y):
        if cut is not None:
            return accuracy(outputs, y, cut)
        if _needs_threshold(np.asarray(outputs)):
            raise ValueError(_unknown_message(loss))
        return accuracy(outputs, y)

    accuracy_metric.__name__ = "accuracy"
    return accuracy_metric


def name_of(metric) -> str:
    """The log key of a metric: its name, or the function's ``__name__``."""
    return metric if isinstance(metric, str) else getattr(metric, "__name__", "metric")
