"""The training loop: ``fit``, ``evaluate`` and ``predict``.

One loop covers the course's three kinds of gradient descent, chosen by ``batch_size``:

* ``batch_size=None``: batch gradient descent, one step per epoch on all the data;
* ``batch_size=1``: stochastic gradient descent, one step per sample;
* anything else: mini-batch gradient descent (the last batch of an epoch may be smaller).

Each step is the course's recipe: forward pass, loss, backpropagation, optimizer update.
``fit`` reads as its parts, in order: the checks of its options (:func:`_check_options`), the
data and the validation split (:func:`_training_data`), a trial of the model, loss and metrics
on a few rows (:func:`_check_data`), then per epoch the steps (:func:`_run_epoch`, one
:class:`_Step` per batch) and the scores (:func:`_epoch_logs`); every callback hook goes through
one :class:`~glassnet.train.callbacks.CallbackList`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import losses
from .._checks import boolean, non_negative_int, non_negative_number, number_in_range, positive_int
from ..optim import l1_penalty, l2_penalty
from ..random import get_rng
from ..random import seed as _seed
from ..tensor import Tensor, no_grad
from . import metrics as _metrics
from ._checks import (
    as_inputs,
    as_targets,
    check_model,
    check_optimizer,
    model_dtype,
)
from .backup import BackupAndRestore, run_settings
from .callbacks import CallbackList, History
from .progress import ProgressBar

# Rows per forward pass when fit scores a whole data set at the end of an epoch (bounds memory).
_SCORING_BATCH = 1024


class _Trainer:
    """What callbacks see: the model, the optimizer, the stop flag and the run's settings."""

    def __init__(self, model, optimizer, params: dict) -> None:
        self.model, self.optimizer, self.params, self.stop_training = model, optimizer, params, False


# ---- checks of the arguments (all run before any weight changes) ---------------------------------
def _check_options(model, loss, optimizer, *, epochs, batch_size, shuffle, l1, l2, verbose, validation_split,
                   validation_data, callbacks, metrics, augment):
    """Check fit's options (the data come later) and return ``(loss_fn, metric_fns, callbacks,
    augment)``: the loss function, ``[(log key, metric)]``, the list of Callbacks and the
    augmentation as one function (or None)."""
    check_model(model)
    loss_fn = losses.get(loss)
    check_optimizer(optimizer, model)
    positive_int(epochs, "epochs")
    positive_int(batch_size, "batch_size", allow_none=True)
    boolean(shuffle, "shuffle")
    non_negative_number(l1, "l1")
    non_negative_number(l2, "l2")
    non_negative_int(verbose, "verbose")
    if validation_split is not None and validation_data is not None:
        raise ValueError("give validation_split or validation_data, not both")
    number_in_range(validation_split, "validation_split", 0.0, 1.0, include_low=False, include_high=False,
                    allow_none=True)
    callbacks = CallbackList(callbacks).callbacks  # checks that each is a Callback
    return loss_fn, _metric_functions(metrics, loss_fn), callbacks, _augmentation(augment)


def _metric_functions(metrics, loss_fn) -> list:
    """``[(log key, metric)]``; a metric named by a string learns from the loss whether one output
    column holds logits (``loss_fn.from_logits``)."""
    if isinstance(metrics, str) or callable(metrics):
        metrics = (metrics,)
    return [(_metrics.name_of(m), _metrics.get(m, loss=loss_fn)) for m in metrics]


def _augmentation(augment):
    if augment is None:
        return None
    if isinstance(augment, (list, tuple)):
        from ..data.augment import Compose

        return Compose(augment)
    if not callable(augment):
        raise TypeError(f"augment must be a function (X_batch, rng) -> X_batch or a list of them, "
                        f"got {type(augment).__name__}")
    return augment


def _training_data(model, X, y, validation_split, validation_data, rng):
    """``(X, y, validation)``: the training arrays in the model's dtype, and the validation pair
    ``(X_val, y_val)`` (None without validation). ``validation_split`` holds out a random
    fraction of the samples, drawn once from ``rng``."""
    dtype = model_dtype(model)
    X = as_inputs(X, dtype)
    y = as_targets(y, len(X))
    if validation_split is not None:
        held = int(round(len(X) * validation_split))
        if held < 1 or held >= len(X):
            raise ValueError(f"validation_split={validation_split} of {len(X)} samples leaves no "
                             "training or no validation data")
        order = rng.permutation(len(X))
        return X[order[held:]], y[order[held:]], (X[order[:held]], y[order[:held]])
    if validation_data is None:
        return X, y, None
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
        raise ValueError("validation_data must be a pair (X_val, y_val)")
    X_val = as_inputs(validation_data[0], dtype, "X_val")
    y_val = as_targets(validation_data[1], len(X_val), "y_val")
    if X_val.shape[1:] != X.shape[1:]:
        raise ValueError(f"X_val samples have shape {X_val.shape[1:]}, X samples {X.shape[1:]}: they must match")
    return X, y, (X_val, y_val)


def _check_data(model, train, validation, loss_fn, metric_fns) -> None:
    """Try the model, the loss and glassnet's own metrics on a few rows of the training data
    ``(X, y)`` and of the validation pair (if any), so that what does not fit fails before any
    step."""
    for pair, name in ((train, "y"), (validation, "y_val")):
        if pair is None:
            continue
        X, y = pair
        outputs, rows = _check_targets(model, X, y, loss_fn, name)
        for key, metric in metric_fns:
            # Only glassnet's metrics are tried: they are pure, while a user's may count its calls.
            if getattr(metric, "__module__", None) == _metrics.__name__:
                try:
                    metric(outputs, y[rows])
                except (TypeError, ValueError) as error:
                    raise type(error)(f"metric {key!r}: {error}") from None


def _check_targets(model, X, y, loss_fn, name="y"):
    """Run the model and the loss on a few rows in eval mode without a graph and return
    ``(outputs, rows)``. The rows: the first, those holding the smallest and the largest target
    (so that labels out of range show), and the first target that is not a whole number (so that
    a loss on class labels sees one). A model that does not take X's shape, or targets that do
    not fit the model's outputs or the loss, fail here, before any step."""
    flat = y.reshape(len(y), -1)
    rows = [0, int(flat.min(axis=1).argmin()), int(flat.max(axis=1).argmax())]
    fractional = np.flatnonzero(np.any(flat != np.round(flat), axis=1)) if y.dtype.kind == "f" else []
    rows = np.unique(rows + [int(row) for row in fractional[:1]])
    try:
        outputs = _outputs(model, X[rows])
    except (TypeError, ValueError) as error:
        x_name = "X_val" if name == "y_val" else "X"
        raise type(error)(f"{x_name} (shape {X.shape}) does not fit the model: {error}") from None
    try:
        loss_fn(Tensor(outputs), y[rows])
    except (TypeError, ValueError) as error:
        raise type(error)(f"{name} (shape {y.shape}) does not fit the model's outputs (shape "
                          f"{outputs.shape[1:]} per sample) and the loss: {error}") from None
    return outputs, rows


# ---- the pieces of the loop ------------------------------------------------------------------------
def _batches(n: int, batch_size, shuffle: bool, rng):
    order = rng.permutation(n) if shuffle else np.arange(n)
    size = n if batch_size is None else batch_size
    for start in range(0, n, size):
        yield order[start:start + size]


class _Step:
    """One step of gradient descent on a batch: augmentation, forward pass, loss (+ penalties),
    ``backward()``, ``optimizer.step()``. Calling it returns the batch's loss as a float."""

    def __init__(self, model, optimizer, loss_fn, l1, l2, augment, rng) -> None:
        self.model, self.optimizer, self.loss_fn = model, optimizer, loss_fn
        self.l1, self.l2, self.augment, self.rng = l1, l2, augment, rng
        # The penalties cover the weights (2-D and up), not the biases or normalization parameters.
        self.weights = [p for p in model.parameters() if p.ndim >= 2]

    def __call__(self, inputs: np.ndarray, targets: np.ndarray) -> float:
        if self.augment is not None:
            inputs = np.asarray(self.augment(inputs, self.rng), dtype=inputs.dtype)
        value = self.loss_fn(self.model(Tensor(inputs)), targets)
        if self.l1:
            value = value + l1_penalty(self.weights, self.l1)
        if self.l2:
            value = value + l2_penalty(self.weights, self.l2)
        self.optimizer.zero_grad()
        value.backward()
        self.optimizer.step()
        return float(value.data)


def _run_epoch(step: _Step, X, y, batches, callbacks: CallbackList, trainer: _Trainer, first: int = 0) -> None:
    """One pass over ``batches`` (arrays of row indices, numbered from ``first``): a step each, between
    the hooks on_batch_begin and on_batch_end; it ends after the batch at which a callback asked to stop."""
    for batch, index in enumerate(batches, start=first):
        callbacks.on_batch_begin(batch)
        callbacks.on_batch_end(batch, {"loss": step(X[index], y[index])})
        if trainer.stop_training:
            break


def _epoch_logs(model, optimizer, loss_fn, metric_fns, train: tuple[Any, Any],
                validation: tuple[Any, Any] | None) -> dict:
    """The epoch's scores in eval mode: ``loss`` and each metric on the training data, their
    ``val_`` versions on the validation data (if any), and the learning rate ``lr``."""
    logs = _scores(model, *train, loss_fn, metric_fns, _SCORING_BATCH)
    if validation is not None:
        scores = _scores(model, *validation, loss_fn, metric_fns, _SCORING_BATCH)
        logs.update({f"val_{key}": value for key, value in scores.items()})
    logs["lr"] = optimizer.lr
    return logs


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


def _scores(model, X, y, loss_fn, metric_fns, batch_size=None) -> dict[str, float]:
    outputs = _outputs(model, X, batch_size)
    scores = {"loss": float(loss_fn(Tensor(outputs), y).item())}
    for name, metric in metric_fns:
        scores[name] = float(metric(outputs, y))
    return scores


def _steps(n: int, batch_size) -> int:
    """Steps per epoch: batches of ``batch_size`` (None: one batch of all) over ``n`` samples."""
    return math.ceil(n / (n if batch_size is None else batch_size))


def _backup(callbacks: list, rng):
    """``(the BackupAndRestore among callbacks or None, the generator the validation split draws
    from)``: a backup is read (not yet applied) before the split, which it may have to repeat."""
    backups = [c for c in callbacks if isinstance(c, BackupAndRestore)]
    if len(backups) > 1:
        raise ValueError(f"callbacks hold {len(backups)} BackupAndRestore; a run keeps one backup")
    return (backups[0], backups[0]._open(rng)) if backups else (None, rng)


def _callback_list(callbacks: list, verbose: int, trainer: _Trainer):
    """``(history, progress bar, CallbackList)``: the list holds a new History first, then a
    ProgressBar(verbose) unless ``callbacks`` hold one, then ``callbacks``; each given the trainer."""
    history = History()
    given = [c for c in callbacks if isinstance(c, ProgressBar)]
    progress = given[0] if given else ProgressBar(verbose=verbose)
    return history, progress, CallbackList([history, *([] if given else [progress]), *callbacks], trainer)


def fit(model, X, y, *, loss, optimizer, epochs: int = 10, batch_size=32, shuffle: bool = True,
        validation_split=None, validation_data=None, metrics=("accuracy",), callbacks=(), seed=None,
        verbose: int = 1, l1: float = 0.0, l2: float = 0.0, augment=None) -> History:
    """Train ``model`` on ``(X, y)``; return a :class:`History` whose ``history[key]`` holds one
    value per epoch: ``loss``, each metric, their ``val_`` versions and ``lr``, scored on the whole
    data in eval mode (under ``no_grad``) without the penalties (the batch losses include them).

    The model learns in train mode and is left in it. Bad options or data (empty, NaN, not
    numeric, of different lengths, targets that do not fit the outputs, accuracy on one column
    with a loss that has no ``from_logits``) raise ValueError or TypeError before any step.

    Parameters
    ----------
    model : Module
    X, y : arrays or Tensors, shape (n_samples, ...)
        Inputs (cast to the model's dtype); targets as the loss takes them: integer labels
        ``(n_samples,)`` for cross_entropy, ``(n_samples, n_outputs)`` values for mse, ...
    loss : callable or str
        ``loss(outputs, y) -> Tensor`` or its name; its ``from_logits`` attribute tells
        accuracy where to cut one output column (see :mod:`glassnet.losses`).
    optimizer : Optimizer
        Built on ``model.parameters()``; its ``lr`` is logged each epoch.
    epochs, batch_size, shuffle : int, int or None, bool
        Passes over the data; batch_size None: batch gradient descent, 1: stochastic, n:
        mini-batches of n (the last may be smaller); shuffle: a new order each epoch.
    validation_split, validation_data : float in (0, 1), or (X_val, y_val), optional
        Validate on a fraction of the samples held out at random (once), or on given data.
    metrics : sequence of str or callable
        "accuracy", "mse", "mae" or ``metric(outputs, y) -> float`` such as
        ``metrics.get("accuracy", from_logits=True)`` (see :mod:`glassnet.train.metrics`).
    callbacks, verbose : sequence of Callback, int
        EarlyStopping, ModelCheckpoint, BackupAndRestore, ...; a ProgressBar(verbose) is added unless given one
        (verbose 0: silent; 1 or more: a bar, or one plain line per epoch off a terminal).
    seed : int, optional
        Seeds the shuffling, the split and augment's rng, and reseeds glassnet's default
        generator (Dropout's masks): seeded fits of identical models give identical weights.
    l1, l2 : float
        Penalties ``l1 * sum |w| + l2 * sum w^2`` on the weights (2-D and up: not biases) added to
        each batch's loss; an optimizer's ``weight_decay=wd`` is ``l2=wd / 2`` on every parameter.
    augment : callable or list of callables, optional
        ``augment(X_batch, rng) -> X_batch`` on each training batch, never the validation data;
        a list is chained (:mod:`glassnet.data.augment`).

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> from glassnet import nn, optim, losses
    >>> X = np.random.default_rng(0).normal(size=(100, 2)).astype(np.float32); y = (X[:, 0] + X[:, 1] > 0)
    >>> model = nn.Sequential(nn.Linear(2, 8, rng=0), nn.Tanh(), nn.Linear(8, 2, rng=1))
    >>> history = gn.fit(model, X, y.astype(np.int64), loss=losses.cross_entropy, epochs=20, batch_size=16,
    ...                  optimizer=optim.Adam(model.parameters(), lr=0.05), seed=0, verbose=0)
    >>> history.history["accuracy"][-1] > 0.9
    True
    """
    loss_fn, metric_fns, callbacks, augment = _check_options(
        model, loss, optimizer, epochs=epochs, batch_size=batch_size, shuffle=shuffle, l1=l1, l2=l2,
        verbose=verbose, metrics=metrics,
        validation_split=validation_split, validation_data=validation_data, callbacks=callbacks, augment=augment)
    rng = np.random.default_rng(seed) if seed is not None else get_rng(None)
    backup, split_rng = _backup(callbacks, rng)  # a BackupAndRestore reads its backup before the split draws
    X, y, validation = _training_data(model, X, y, validation_split, validation_data, split_rng)
    _check_data(model, (X, y), validation, loss_fn, metric_fns)
    if backup is not None:  # the backup was written by this very run, or nothing changes; then it goes last
        callbacks = backup._check(model, optimizer, rng, (X, y), validation, run_settings(
            epochs, batch_size, shuffle, seed, l1, l2, validation_split, loss_fn, metric_fns, augment, callbacks))
    if seed is not None:
        _seed(seed)
    trainer = _Trainer(model, optimizer, {"epochs": epochs, "steps": _steps(len(X), batch_size), "verbose": verbose})
    history, progress, callback_list = _callback_list(callbacks, verbose, trainer)
    step = _Step(model, optimizer, loss_fn, l1, l2, augment, rng)
    model.train()
    try:
        callback_list.on_train_begin()
        first_epoch, first_batch = backup._attach(callback_list, rng) if backup else (0, 0)
        for epoch in range(first_epoch, epochs):
            callback_list.on_epoch_begin(epoch)
            batches, first = _batches(len(X), batch_size, shuffle, rng), first_batch if epoch == first_epoch else 0
            _run_epoch(step, X, y, backup._skip(batches, first) if backup else batches, callback_list, trainer, first)
            callback_list.on_epoch_end(epoch, _epoch_logs(model, optimizer, loss_fn, metric_fns, (X, y), validation))
            if trainer.stop_training:
                break
        callback_list.on_train_end()
    finally:
        progress.close()  # a live bar must not outlive an exception or Ctrl-C
        model.train()
    return history


def evaluate(model, X, y, *, loss, metrics=("accuracy",), batch_size=None) -> dict[str, float]:
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
        Rows per forward pass (None: all at once); the scores do not depend on it.

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
    metric_fns = _metric_functions(metrics, loss_fn)
    X = as_inputs(X, model_dtype(model))
    y = as_targets(y, len(X))
    return _scores(model, X, y, loss_fn, metric_fns, batch_size)


def predict(model, X, *, batch_size=None) -> np.ndarray:
    """The model's raw outputs for ``X``, in eval mode, without a graph.

    Raw: whatever the last layer gives (logits for a network trained with cross_entropy,
    probabilities after a final Sigmoid or Softmax, values for regression). For classes:
    ``predict(model, X).argmax(axis=1)``; for probabilities from logits:
    ``functional.softmax``.

    Shape
    -----
    X: (n_samples, ...) -> (n_samples, n_outputs)

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> from glassnet import nn
    >>> gn.predict(nn.Sequential(nn.Linear(3, 2, rng=0)), np.ones((5, 3)), batch_size=2).shape
    (5, 2)
    """
    check_model(model)
    positive_int(batch_size, "batch_size", allow_none=True)
    return _outputs(model, as_inputs(X, model_dtype(model)), batch_size)
