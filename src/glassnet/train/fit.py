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
    loss_function,
    model_dtype,
    positive_int,
)
from .callbacks import Callback, History
from .progress import ProgressBar

# Rows per forward pass when fit scores a whole data set at the end of an epoch (bounds memory).
_SCORING_BATCH = 1024


class _Trainer:
    """What callbacks see: the model, the optimizer, the stop flag and the run's settings."""

    def __init__(self, model, optimizer, params: dict):
        self.model, self.optimizer, self.params, self.stop_training = model, optimizer, params, False


# ---- checks of the arguments (all run before any weight changes) ---------------------------------
def _check_targets(model, X, y, loss_fn, name="y") -> None:
    """Run the model and the loss on a few rows (the first, and those holding the smallest and
    the largest target) in eval mode without a graph. A model that does not take X's shape, or
    targets that do not fit the model's outputs or the loss, fail here, before any step."""
    flat = y.reshape(len(y), -1)
    rows = np.unique([0, int(flat.min(axis=1).argmin()), int(flat.max(axis=1).argmax())])
    try:
        outputs = _outputs(model, X[rows])
    except (TypeError, ValueError) as error:
        x_name = "X_val" if name == "y_val" else "X"
        raise type(error)(f"{x_name} (shape {X.shape}) does not fit the model: {error}") from None
    if getattr(loss_fn, "__name__", "") == "cross_entropy" and y.ndim == 1 and outputs.ndim == 2:
        # Checked here on all the labels, so that the message names their whole range.
        if y.dtype.kind == "f" and np.any(y != np.round(y)):
            raise ValueError(f"{name}: class labels must be integers for cross_entropy")
        width = outputs.shape[1]
        if y.min() < 0 or y.max() >= width:
            raise ValueError(f"{name}: labels must lie in [0, {width - 1}] for a model with {width} outputs, "
                             f"got values from {y.min()} to {y.max()}")
    try:
        loss_fn(Tensor(outputs), y[rows])
    except (TypeError, ValueError) as error:
        raise type(error)(f"{name} (shape {y.shape}) does not fit the model's outputs (shape "
                          f"{outputs.shape[1:]} per sample) and the loss: {error}") from None


# ---- the pieces of the loop ------------------------------------------------------------------------
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


def _metric_functions(metrics, loss_fn) -> list:
    if isinstance(metrics, str) or callable(metrics):
        metrics = (metrics,)
    return [(_metrics.name_of(m), _metrics.get(m, loss=loss_fn)) for m in metrics]


def _scores(model, X, y, loss_fn, metric_fns, batch_size=None) -> dict:
    outputs = _outputs(model, X, batch_size)
    scores = {"loss": float(loss_fn(Tensor(outputs), y).item())}
    for name, metric in metric_fns:
        scores[name] = float(metric(outputs, y))
    return scores


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


def fit(model, X, y, *, loss, optimizer, epochs: int = 10, batch_size=32, shuffle: bool = True,
        validation_split=None, validation_data=None, metrics=("accuracy",), callbacks=(), seed=None,
        verbose: int = 1, l1: float = 0.0, l2: float = 0.0, augment=None) -> History:
    """Train ``model`` on ``(X, y)`` and return a :class:`History` of the epoch logs.

    Each step: forward pass on a batch, ``loss`` (+ the L1/L2 penalties), ``backward()``,
    ``optimizer.step()``. The model is in train mode while it learns and in eval mode (under
    ``no_grad``) while it is scored; it is left in train mode.

    Parameters
    ----------
    model : Module
        The network.
    X : array or Tensor, shape (n_samples, ...)
        Inputs, converted to the model's dtype (float32 by default).
    y : array or Tensor, shape (n_samples, ...)
        Targets, as the loss expects them: integer labels ``(n_samples,)`` for cross_entropy,
        ``(n_samples, n_outputs)`` values for mse, ...
    loss : callable or str
        ``loss(outputs, y) -> Tensor``, e.g. ``losses.cross_entropy``, or its name ("mse").
    optimizer : Optimizer
        Built on ``model.parameters()``; ``optimizer.lr`` is logged each epoch.
    epochs : int
        Passes over the training data.
    batch_size : int or None
        The course's three variants of gradient descent: None is batch gradient descent (all
        samples in one step per epoch), 1 is stochastic gradient descent (one step per sample),
        anything else mini-batch gradient descent (the last batch of an epoch may be smaller).
    shuffle : bool
        Visit the samples in a new random order each epoch.
    validation_split : float in (0, 1), optional
        Hold out this fraction of the samples (drawn at random, once, before training) to
        validate on.
    validation_data : (X_val, y_val), optional
        Data to validate on (instead of validation_split).
    metrics : sequence of str or callable
        "accuracy", "mse", "mae" or functions ``metric(outputs, y) -> float``; see
        :mod:`glassnet.train.metrics` for how accuracy reads one output column.
    callbacks : sequence of Callback
        E.g. EarlyStopping, LearningRateSchedule, TerminateOnNaN, ModelCheckpoint. A
        ProgressBar(verbose) is added unless the list holds one.
    seed : int, optional
        Makes shuffling and the validation split reproducible, and reseeds glassnet's default
        generator (``glassnet.seed(seed)``) so that layers drawing from it, such as Dropout
        without its own ``rng``, repeat their masks too: two seeded fits of identically
        initialized models give bit-identical weights. None: glassnet's default generator.
    verbose : int
        0: silent; 1 or more: a progress bar (one plain line per epoch when not on a terminal).
    l1, l2 : float
        Penalties ``l1 * sum |w|`` and ``l2 * sum w^2`` added to each batch's loss, over the
        weights: parameters with 2 or more dimensions (Linear and convolution weights,
        embeddings). Biases and normalization parameters (1-D) are left out. The optimizers'
        ``weight_decay=wd`` equals ``l2=wd / 2`` on every parameter, biases included.
    augment : callable or list of callables, optional
        ``augment(X_batch, rng) -> X_batch`` applied to each training batch (never to the
        validation data), its result cast to the model's dtype; a list is chained. See
        :mod:`glassnet.data.augment`.

    Returns
    -------
    History
        ``history.history[key]`` is a list with one value per epoch for ``loss``, each metric,
        ``val_loss`` and ``val_<metric>`` with validation data, and ``lr``. ``loss`` and the
        metrics are measured at the end of each epoch on the whole training set in eval mode
        (dropout off), without the L1/L2 penalty, so they compare directly with the ``val_``
        values; the batch losses callbacks see in ``on_batch_end`` include the penalty.

    Raises
    ------
    ValueError, TypeError
        Before any weight changes, for: X and y (or X_val and y_val) of different lengths,
        empty data, NaN or inf, non-numeric data, labels outside the model's output columns,
        targets whose shape does not fit the outputs, inputs the model cannot take, bad
        epochs, batch_size, validation_split, loss, metric or penalty, and an optimizer that
        holds none of the model's parameters.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> from glassnet import nn, optim, losses
    >>> X = np.random.default_rng(0).normal(size=(100, 2)).astype(np.float32)
    >>> y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    >>> model = nn.Sequential(nn.Linear(2, 8, rng=0), nn.Tanh(), nn.Linear(8, 2, rng=1))
    >>> history = gn.fit(model, X, y, loss=losses.cross_entropy, epochs=20, batch_size=16,
    ...                  optimizer=optim.Adam(model.parameters(), lr=0.05), seed=0, verbose=0)
    >>> history.history["accuracy"][-1] > 0.9
    True
    """
    check_model(model)
    loss_fn = loss_function(loss)
    check_optimizer(optimizer, model)
    positive_int("epochs", epochs)
    positive_int("batch_size", batch_size, allow_none=True)
    for name, value in (("l1", l1), ("l2", l2)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not 0 <= value < math.inf:
            raise ValueError(f"l1 and l2 must be finite numbers >= 0, got {name}={value!r}")
    if isinstance(verbose, bool) or not isinstance(verbose, (int, np.integer)) or verbose < 0:
        raise ValueError(f"verbose must be an int >= 0 (0: silent), got {verbose!r}")
    if validation_split is not None and validation_data is not None:
        raise ValueError("give validation_split or validation_data, not both")
    if validation_split is not None and not (isinstance(validation_split, (float, int, np.number))
                                             and 0.0 < validation_split < 1.0):
        raise ValueError(f"validation_split must be a fraction in (0, 1), got {validation_split!r}")
    callbacks = list(callbacks)
    for callback in callbacks:
        if not isinstance(callback, Callback):
            raise TypeError(f"callbacks must be Callback instances, got {type(callback).__name__}")
    metric_fns = _metric_functions(metrics, loss_fn)
    augment = _augmentation(augment)

    dtype = model_dtype(model)
    X = as_inputs(X, dtype)
    y = as_targets(y, len(X))
    rng = np.random.default_rng(seed) if seed is not None else get_rng(None)
    X_val = y_val = None
    if validation_split is not None:
        held = int(round(len(X) * validation_split))
        if held < 1 or held >= len(X):
            raise ValueError(f"validation_split={validation_split} of {len(X)} samples leaves no "
                             "training or no validation data")
        order = rng.permutation(len(X))
        X_val, y_val, X, y = X[order[:held]], y[order[:held]], X[order[held:]], y[order[held:]]
    elif validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise ValueError("validation_data must be a pair (X_val, y_val)")
        X_val = as_inputs(validation_data[0], dtype, "X_val")
        y_val = as_targets(validation_data[1], len(X_val), "y_val")
        if X_val.shape[1:] != X.shape[1:]:
            raise ValueError(f"X_val samples have shape {X_val.shape[1:]}, X samples {X.shape[1:]}: they must match")
    _check_targets(model, X, y, loss_fn)
    if X_val is not None:
        _check_targets(model, X_val, y_val, loss_fn, "y_val")
    if seed is not None:
        _seed(seed)

    weights = [p for p in model.parameters() if p.ndim >= 2]
    history = History()
    steps = math.ceil(len(X) / (len(X) if batch_size is None else batch_size))
    given = [c for c in callbacks if isinstance(c, ProgressBar)]
    progress = given[0] if given else ProgressBar(verbose=verbose)
    trainer = _Trainer(model, optimizer, {"epochs": epochs, "steps": steps, "verbose": verbose})
    everyone = [history, *([] if given else [progress]), *callbacks]
    for callback in everyone:
        callback.set_context(trainer)
    model.train()
    try:
        for callback in everyone:
            callback.on_train_begin({})
        for epoch in range(epochs):
            for callback in everyone:
                callback.on_epoch_begin(epoch, {})
            for batch, index in enumerate(_batches(len(X), batch_size, shuffle, rng)):
                for callback in everyone:
                    callback.on_batch_begin(batch, {})
                inputs = X[index] if augment is None else np.asarray(augment(X[index], rng), dtype=dtype)
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
            logs = _scores(model, X, y, loss_fn, metric_fns, _SCORING_BATCH)
            if X_val is not None:
                scores = _scores(model, X_val, y_val, loss_fn, metric_fns, _SCORING_BATCH)
                logs.update({f"val_{key}": value for key, value in scores.items()})
            logs["lr"] = optimizer.lr
            for callback in everyone:
                callback.on_epoch_end(epoch, logs)
            if trainer.stop_training:
                break
        for callback in everyone:
            callback.on_train_end({})
    finally:
        progress.close()  # a live bar must not outlive an exception or Ctrl-C
        model.train()
    return history


def evaluate(model, X, y, *, loss, metrics=("accuracy",), batch_size=None) -> dict:
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
    loss_fn = loss_function(loss)
    positive_int("batch_size", batch_size, allow_none=True)
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
    positive_int("batch_size", batch_size, allow_none=True)
    return _outputs(model, as_inputs(X, model_dtype(model)), batch_size)
