"""Scoring a model without training it: ``evaluate`` and ``predict``, and the pieces ``fit``
shares with them (the outputs batch by batch, the loss and metrics on them).

Both run the model in eval mode (Dropout off, BatchNorm on its running statistics), where each
row's output depends on that row alone; so they go through the rows in batches of
``batch_size`` (4096 by default), and the memory the activations take stays bounded whatever
the number of rows. The numbers are those of one pass over all rows up to float rounding: a
BLAS may add up a matrix product in another order for another number of rows (OpenBLAS does,
by about one unit in the last place).
"""

from __future__ import annotations

import numbers

import numpy as np

from .. import losses
from .._checks import positive_int
from ..tensor import Tensor, no_grad
from . import metrics as _metrics
from ._checks import as_inputs, as_targets, check_model, fills_missing, model_dtype

BATCH_SIZE = 4096
"""Rows per forward pass of evaluate and predict by default."""


def metric_functions(metrics, loss_fn) -> list:
    """``[(log key, metric)]``; accuracy, by its name or as ``metrics.accuracy`` itself, learns
    from the loss whether one output column holds logits (``loss_fn.from_logits``)."""
    if isinstance(metrics, str) or callable(metrics):
        metrics = (metrics,)
    if not isinstance(metrics, (list, tuple)):
        raise TypeError(f"metrics must be a metric's name, a function or a list of them, got "
                        f"{type(metrics).__name__} {metrics!r}; () for none")
    functions = [(_metrics.name_of(m), _metrics.get(m, loss=loss_fn)) for m in metrics]
    _check_log_keys([key for key, _ in functions])
    return functions


_RESERVED = {"loss": "the loss", "lr": "the learning rate"}


def _check_log_keys(keys: list) -> None:
    """A ValueError for a metric whose log key another value has: the loss, ``lr``, a ``val_``
    key or another metric (two lambdas are both '<lambda>'): one would overwrite the other."""
    for index, key in enumerate(keys):
        if key in _RESERVED:
            raise ValueError(f"a metric named {key!r} would hide {_RESERVED[key]} in the logs; give your "
                             "function another __name__")
        if isinstance(key, str) and key.startswith("val_"):
            raise ValueError(f"a metric named {key!r} would mix with the validation scores (val_ + a "
                             "metric's name); give your function another __name__")
        if key in keys[:index]:
            raise ValueError(f"two metrics log as {key!r}, and one would overwrite the other: give each "
                             "function its own __name__ (a lambda's is '<lambda>'), or list a metric once")


def _number(name: str, value) -> float:
    """A metric's result as a float, or a TypeError naming the metric."""
    if isinstance(value, numbers.Real) or (isinstance(value, np.ndarray) and value.ndim == 0
                                           and value.dtype.kind in "biuf"):
        return float(value)
    raise TypeError(f"metric {name!r} must return one number, got {type(value).__name__} {str(value)[:60]}")


def outputs(model, X, batch_size=None) -> np.ndarray:
    """The model's outputs in eval mode, without a graph, ``batch_size`` rows at a time (None:
    all at once). Zero rows give zero rows of the model's output shape."""
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            size = max(len(X), 1) if batch_size is None else batch_size
            parts = [_forward(model, X[start:start + size]) for start in range(0, max(len(X), 1), size)]
    finally:
        model.train(was_training)
    return np.concatenate(parts)  # a copy even of one part: a model may return (a view of) its input


def _forward(model, inputs: np.ndarray) -> np.ndarray:
    """The model's output array for ``inputs``; a TypeError when it returns no Tensor."""
    result = model(Tensor(inputs))
    if not isinstance(result, Tensor):
        hint = (": a recurrent layer returns (output, hidden); wrap it in a Module whose forward returns "
                "the output it needs") if isinstance(result, tuple) else ""
        raise TypeError(f"the model returned a {type(result).__name__}, not a Tensor; fit, evaluate and predict "
                        f"need one output Tensor{hint}")
    return result.data


def scores(model, X, y, loss_fn, metric_fns, batch_size=None) -> dict[str, float]:
    """``{"loss": ..., <metric>: ...}`` of the model's outputs on ``(X, y)``."""
    predicted = outputs(model, X, batch_size)
    result = {"loss": float(loss_fn(Tensor(predicted), y).item())}
    for name, metric in metric_fns:
        result[name] = _number(name, metric(predicted, y))
    return result


def evaluate(model, X, y, *, loss, metrics=("accuracy",), batch_size=BATCH_SIZE) -> dict[str, float]:
    """The loss and metrics of ``model`` on ``(X, y)``, in eval mode, without a graph.

    Parameters
    ----------
    model : Module
    X : array or Tensor, shape (n_samples, ...)
    y : array or Tensor, shape (n_samples, ...)
        Targets, as for :func:`fit`.
    loss : callable or str
    metrics : sequence of str or callable
    batch_size : int or None
        Rows per forward pass, 4096 by default, so that memory stays bounded however many rows
        there are; None: all at once. The scores do not depend on it beyond float rounding (eval
        mode: each row's output is its own; the loss and metrics are taken on all outputs).

    Returns
    -------
    dict
        ``{"loss": float, <metric name>: float, ...}``

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> from glassnet import nn
    >>> model = nn.Sequential(nn.Linear(2, 2, rng=0))
    >>> sorted(gn.evaluate(model, np.ones((4, 2)), np.array([0, 1, 1, 0]), loss="cross_entropy"))
    ['accuracy', 'loss']
    """
    check_model(model)
    loss_fn = losses.get(loss)
    positive_int(batch_size, "batch_size", allow_none=True)
    metric_fns = metric_functions(metrics, loss_fn)
    dtype = model_dtype(model)
    X = as_inputs(X, dtype, purpose="evaluate", allow_nan=fills_missing(model))
    y = as_targets(y, len(X), dtype=dtype)
    return scores(model, X, y, loss_fn, metric_fns, batch_size)


def predict(model, X, *, batch_size=BATCH_SIZE) -> np.ndarray:
    """The model's raw outputs for ``X``, in eval mode, without a graph.

    Raw: whatever the last layer gives (logits for a network trained with cross_entropy,
    probabilities after a final Sigmoid or Softmax, values for regression). For classes:
    ``predict(model, X).argmax(axis=1)``; for probabilities from logits:
    ``functional.softmax``.

    ``batch_size`` rows go through the model at a time, 4096 by default, so that memory stays
    bounded however many rows there are (None: all at once); the outputs are the same up to
    float rounding (see the module docstring). No rows give no rows: shape ``(0, n_outputs)``.

    Shape
    -----
    X: (n_samples, ...) -> (n_samples, n_outputs)

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> from glassnet import nn
    >>> gn.predict(nn.Sequential(nn.Linear(3, 2, rng=0)), np.ones((5, 3)), batch_size=2).shape
    (5, 2)
    >>> gn.predict(nn.Sequential(nn.Linear(3, 2, rng=0)), np.ones((0, 3))).shape
    (0, 2)
    """
    check_model(model)
    positive_int(batch_size, "batch_size", allow_none=True)
    X = as_inputs(X, model_dtype(model), purpose=None, allow_nan=fills_missing(model))
    try:
        return outputs(model, X, batch_size)
    except (TypeError, ValueError) as error:
        raise type(error)(f"X (shape {X.shape}) does not fit the model: {error}") from None
