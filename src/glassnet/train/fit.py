"""The training loop: ``fit``, ``evaluate`` and ``predict``.

One loop covers the course's three kinds of gradient descent, chosen by ``batch_size``:

* ``batch_size=None``: batch gradient descent, one step per epoch on all the data;
* ``batch_size=1``: stochastic gradient descent, one step per sample;
* anything else: mini-batch gradient descent.

Each step is the course's recipe: forward pass, loss, backpropagation, optimizer update.
"""

from __future__ import annotations

import math

import numpy as np

from .. import losses as _losses
from ..optim import l1_penalty, l2_penalty
from ..random import get_rng, seed as _seed
from ..tensor import Tensor, no_grad
from . import metrics as _metrics
from .callbacks import Callback, History, ProgressBar

_CLASS_LOSSES = ("cross_entropy",)


class _Trainer:
    """What callbacks see: the model, the optimizer and the stop flag."""

    def __init__(self, model, optimizer):
        self.model, self.optimizer, self.stop_training = model, optimizer, False


def _loss_function(loss):
    if callable(loss):
        return loss
    if isinstance(loss, str) and not loss.startswith("_") and callable(getattr(_losses, loss, None)):
        return getattr(_losses, loss)
    raise ValueError(f"unknown loss {loss!r}; pass a function or a name such as 'cross_entropy' or 'mse'")


def _dtype(model):
    first = next(iter(model.parameters()), None)
    return first.dtype if first is not None else np.dtype(np.float32)


def _inputs(X, dtype, name="X") -> np.ndarray:
    X = np.asarray(X.data if isinstance(X, Tensor) else X)
    if X.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric, got dtype {X.dtype}")
    if X.ndim == 0 or len(X) == 0:
        raise ValueError(f"{name} is empty (shape {X.shape}); there is nothing to train on")
    X = X.astype(dtype, copy=False)
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return X


def _targets(y, n: int, name="y") -> np.ndarray:
    y = np.asarray(y.data if isinstance(y, Tensor) else y)
    if y.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric, got dtype {y.dtype}")
    if y.ndim == 0 or len(y) != n:
        raise ValueError(f"X has {n} samples but {name} has {len(y) if y.ndim else 0}: they must match")
    if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return y


def _check_labels(model, X, y, loss_fn, name="y") -> None:
    """For cross-entropy with integer labels: each label must have an output column."""
    if getattr(loss_fn, "__name__", "") not in _CLASS_LOSSES or y.ndim != 1:
        return
    if y.dtype.kind == "f" and np.any(y != np.round(y)):
        raise ValueError(f"{name}: class labels must be integers for cross_entropy")
    with no_grad():
        width = model(Tensor(X[:1])).shape[-1]
    if y.min() < 0 or y.max() >= width:
        raise ValueError(f"{name}: labels must lie in [0, {width - 1}] for a model with {width} outputs, "
                         f"got values from {y.min()} to {y.max()}")


def _batches(n: int, batch_size, shuffle: bool, rng):
    order = rng.permutation(n) if shuffle else np.arange(n)
    size = n if batch_size is None else batch_size
    for start in range(0, n, size):
        yield order[start:start + size]


def _outputs(model, X, batch_size=None) -> np.ndarray:
    """The model's outputs in eval mode, without a graph, batch by batch."""
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            size = len(X) if batch_size is None else batch_size
            parts = [model(Tensor(X[start:start + size])).data for start in range(0, len(X), size)]
    finally:
        model.train(was_training)
    return np.concatenate(parts)


def _scores(model, X, y, loss_fn, metric_fns, batch_size=None) -> dict:
    outputs = _outputs(model, X, batch_size)
    scores = {"loss": float(loss_fn(Tensor(outputs), y).item())}
    for name, metric in metric_fns:
        scores[name] = metric(outputs, y)
    return scores


def fit(model, X, y, *, loss, optimizer, epochs: int = 10, batch_size=32, shuffle: bool = True,
        validation_split=None, validation_data=None, metrics=("accuracy",), callbacks=(), seed=None,
        verbose: int = 1, l1: float = 0.0, l2: float = 0.0, augment=None) -> History:
    """Train ``model`` on ``(X, y)`` and return a :class:`History` of the epoch logs.

    Parameters
    ----------
    model : Module
        Put in train mode while fitting; evaluated in eval mode.
    X : array, shape (n_samples, ...)
        Inputs (converted to the model's dtype, float32 by default).
    y : array, shape (n_samples, ...)
        Targets, as the loss expects them (integer labels for cross_entropy, ...).
    loss : callable or str
        ``loss(outputs, y) -> Tensor``, e.g. ``losses.cross_entropy``, or its name.
    optimizer : Optimizer
        Built on ``model.parameters()``.
    epochs : int
        Passes over the data.
    batch_size : int or None
        None: batch gradient descent (all samples per step); 1: stochastic; else mini-batch.
    shuffle : bool
        Visit the samples in a new random order each epoch.
    validation_split : float in (0, 1), optional
        Hold out this fraction of the samples (taken at random, once) to validate on.
    validation_data : (X_val, y_val), optional
        Data to validate on (instead of validation_split).
    metrics : sequence of str or callable
        Computed per epoch on the whole training and validation data (in eval mode).
    callbacks : sequence of Callback
        E.g. EarlyStopping, LearningRateSchedule, TerminateOnNaN, ModelCheckpoint.
    seed : int, optional
        Makes shuffling and the validation split reproducible, and reseeds glassnet's default
        generator (``glassnet.seed``) so that dropout masks repeat too: two seeded fits of
        identically initialized models give bit-identical weights.
    verbose : int
        0: silent; 1: a progress bar (plain lines when not on a terminal).
    l1, l2 : float
        Penalties ``l1 * sum |w|`` and ``l2 * sum w^2`` added to the loss, over the weights
        (parameters with 2 or more dimensions; biases and normalization parameters are left out).
    augment : callable, optional
        ``augment(X_batch, rng) -> X_batch``, applied to each training batch (see
        ``glassnet.data.augment``).

    All inputs are checked before any weight changes: an error (shape or length mismatch, NaN
    or inf, empty data, labels out of range, a bad option) leaves the model untouched.
    """
    loss_fn = _loss_function(loss)
    if not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"epochs must be a positive int, got {epochs!r}")
    if batch_size is not None and (not isinstance(batch_size, (int, np.integer)) or batch_size < 1):
        raise ValueError(f"batch_size must be a positive int or None (full batch), got {batch_size!r}")
    if l1 < 0 or l2 < 0:
        raise ValueError(f"l1 and l2 must be >= 0, got l1={l1}, l2={l2}")
    if validation_split is not None and validation_data is not None:
        raise ValueError("give validation_split or validation_data, not both")
    if validation_split is not None and not 0.0 < validation_split < 1.0:
        raise ValueError(f"validation_split must be in (0, 1), got {validation_split}")
    if not all(isinstance(c, Callback) for c in callbacks):
        raise TypeError("callbacks must be Callback instances")
    metric_fns = [(_metrics.name_of(m), _metrics.get(m)) for m in metrics]

    dtype = _dtype(model)
    X = _inputs(X, dtype)
    y = _targets(y, len(X))
    rng = get_rng(np.random.default_rng(seed) if seed is not None else None)
    X_val = y_val = None
    if validation_split is not None:
        held = int(round(len(X) * validation_split))
        if held < 1 or held >= len(X):
            raise ValueError(f"validation_split={validation_split} of {len(X)} samples leaves no "
                             "training or no validation data")
        order = rng.permutation(len(X))
        X_val, y_val, X, y = X[order[:held]], y[order[:held]], X[order[held:]], y[order[held:]]
    elif validation_data is not None:
        if len(validation_data) != 2:
            raise ValueError("validation_data must be a pair (X_val, y_val)")
        X_val = _inputs(validation_data[0], dtype, "X_val")
        y_val = _targets(validation_data[1], len(X_val), "y_val")
        if X_val.shape[1:] != X.shape[1:]:
            raise ValueError(f"X_val samples have shape {X_val.shape[1:]}, X samples {X.shape[1:]}")
    _check_labels(model, X, y, loss_fn)
    if X_val is not None:
        _check_labels(model, X_val, y_val, loss_fn, "y_val")
    if seed is not None:
        _seed(seed)

    weights = [p for p in model.parameters() if p.ndim >= 2]
    history = History()
    steps = math.ceil(len(X) / (len(X) if batch_size is None else batch_size))
    trainer = _Trainer(model, optimizer)
    everyone = [history, ProgressBar(epochs, steps, verbose), *callbacks]
    for callback in everyone:
        callback.set_context(trainer)
    model.train()
    for callback in everyone:
        callback.on_train_begin({})
    for epoch in range(epochs):
        for callback in everyone:
            callback.on_epoch_begin(epoch, {})
        for batch, index in enumerate(_batches(len(X), batch_size, shuffle, rng)):
            for callback in everyone:
                callback.on_batch_begin(batch, {})
            inputs = X[index] if augment is None else augment(X[index], rng)
            value = loss_fn(model(Tensor(inputs)), y[index])
            if l1:
                value = value + l1_penalty(weights, l1)
            if l2:
                value = value + l2_penalty(weights, l2)
            optimizer.zero_grad()
            value.backward()
            optimizer.step()
            logs = {"loss": float(value.data)}
            for callback in everyone:
                callback.on_batch_end(batch, logs)
            if trainer.stop_training:
                break
        logs = _scores(model, X, y, loss_fn, metric_fns)
        if X_val is not None:
            logs.update({f"val_{k}": v for k, v in _scores(model, X_val, y_val, loss_fn, metric_fns).items()})
        logs["lr"] = optimizer.lr
        for callback in everyone:
            callback.on_epoch_end(epoch, logs)
        if trainer.stop_training:
            break
    for callback in everyone:
        callback.on_train_end({})
    model.train()
    return history


def evaluate(model, X, y, *, loss, metrics=("accuracy",), batch_size=None) -> dict:
    """The loss and metrics of ``model`` on ``(X, y)``, in eval mode, without a graph."""
    loss_fn = _loss_function(loss)
    X = _inputs(X, _dtype(model))
    y = _targets(y, len(X))
    metric_fns = [(_metrics.name_of(m), _metrics.get(m)) for m in metrics]
    return _scores(model, X, y, loss_fn, metric_fns, batch_size)


def predict(model, X, *, batch_size=None) -> np.ndarray:
    """The model's raw outputs (logits, probabilities or values, whatever its last layer gives)
    for ``X``, in eval mode, without a graph. For classes: ``predict(...).argmax(axis=1)``."""
    return _outputs(model, _inputs(X, _dtype(model)), batch_size)
