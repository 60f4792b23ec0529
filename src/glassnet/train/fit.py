"""The training loop: ``fit`` (``evaluate`` and ``predict`` live in :mod:`.scoring`).

One loop covers the course's three kinds of gradient descent, chosen by ``batch_size``:

* ``batch_size=None``: batch gradient descent, one step per epoch on all the data;
* ``batch_size=1``: stochastic gradient descent, one step per sample;
* anything else: mini-batch gradient descent (the last batch of an epoch may be smaller).

Each step is the course's recipe: forward pass, loss, backpropagation, optimizer update.
``fit`` reads as its parts, in order: the checks of its options (:func:`_check_options`), the
data and the validation split (:func:`_training_data`), a trial of the model, loss and metrics
on a few rows (:func:`_check_data`), the batches (:func:`_training_batches`) and every
callback's ``check`` (:func:`_callbacks_checked`): nothing has changed until all of them pass.
Then per epoch the steps (:func:`_run_epoch`, one :class:`_Step` per batch) and the scores
(:func:`_epoch_logs`); every callback hook goes through one
:class:`~glassnet.train.callbacks.CallbackList`.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

import numpy as np

from .. import losses
from .._checks import boolean, integer, non_negative_int, non_negative_number, number_in_range, positive_int
from ..optim import clip_grad_norm as clip_norm
from ..optim import l1_penalty, l2_penalty, whole_steps
from ..random import get_rng
from ..random import seed as _seed
from ..tensor import Tensor
from . import metrics as _metrics
from ._checks import (
    as_inputs,
    as_targets,
    check_model,
    check_optimizer,
    fills_missing,
    model_dtype,
)
from .backup import BackupAndRestore, run_settings
from .batches import batch_bounds, batch_norm_layers
from .callbacks import CallbackList, History, TerminateOnNaN
from .progress import ProgressBar
from .scoring import evaluate, metric_functions, outputs, predict, scores

__all__ = ["evaluate", "fit", "predict"]

# Rows per forward pass when fit scores a whole data set at the end of an epoch (bounds memory).
_SCORING_BATCH = 1024


class _Trainer:
    """What callbacks see: the model, the optimizer, the stop flag, the run's settings
    (``params``: ``epochs``, ``steps`` per epoch, ``verbose``), the keys the epoch logs will hold
    (``log_keys``) and whether there is validation data (``validation``)."""

    def __init__(self, model, optimizer, params: dict, log_keys=(), validation: bool = False) -> None:
        self.model, self.optimizer, self.params, self.stop_training = model, optimizer, params, False
        self.log_keys, self.validation = list(log_keys), validation


# ---- checks of the arguments (all run before any weight changes) ---------------------------------
def _check_options(model, loss, optimizer, *, epochs, batch_size, shuffle, l1, l2, verbose, validation_split,
                   validation_data, callbacks, metrics, augment, seed, clip_grad_norm):
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
    number_in_range(clip_grad_norm, "clip_grad_norm", 0.0, include_low=False, allow_none=True)
    non_negative_int(verbose, "verbose")
    integer(seed, "seed", minimum=0, allow_none=True)
    if validation_split is not None and validation_data is not None:
        raise ValueError("give validation_split or validation_data, not both")
    number_in_range(validation_split, "validation_split", 0.0, 1.0, include_low=False, include_high=False,
                    allow_none=True)
    callbacks = CallbackList(callbacks).callbacks  # checks that each is a Callback
    return loss_fn, metric_functions(metrics, loss_fn), callbacks, _augmentation(augment)


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
    X = as_inputs(X, dtype, allow_nan=fills_missing(model))
    y = as_targets(y, len(X), dtype=dtype)
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
    X_val = as_inputs(validation_data[0], dtype, "X_val", purpose="validate on", allow_nan=fills_missing(model))
    y_val = as_targets(validation_data[1], len(X_val), "y_val", dtype)
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
        predicted = outputs(model, X[rows])
    except (TypeError, ValueError) as error:
        x_name = "X_val" if name == "y_val" else "X"
        raise type(error)(f"{x_name} (shape {X.shape}) does not fit the model: {error}") from None
    try:
        loss_fn(Tensor(predicted), y[rows])
    except (TypeError, ValueError) as error:
        raise type(error)(f"{name} (shape {y.shape}) does not fit the model's outputs (shape "
                          f"{predicted.shape[1:]} per sample) and the loss: {error}") from None
    return predicted, rows


def _training_batches(model, n: int, batch_size) -> list:
    """``(start, stop)`` of each training batch. A model with batch normalization never trains
    on a batch of one sample (it has no batch statistics): a lone last sample joins the batch
    before it, and one that cannot (a single training sample, ``batch_size=1``) is an error."""
    layers = batch_norm_layers(model)
    bounds = batch_bounds(n, batch_size, merge_lone_last=bool(layers))
    if layers and min(stop - start for start, stop in bounds) == 1:
        raise ValueError(f"the model has a {layers[0]} layer, which needs at least 2 samples per training "
                         f"batch (a batch's statistics), but {n} training sample(s) with batch_size="
                         f"{batch_size} give batches of one: use a batch_size of 2 or more and at least 2 "
                         "training samples")
    return bounds


# ---- the pieces of the loop ------------------------------------------------------------------------
def _batches(n: int, bounds: list, shuffle: bool, rng):
    order = rng.permutation(n) if shuffle else np.arange(n)
    for start, stop in bounds:
        yield order[start:stop]


class _Step:
    """One step of gradient descent on a batch: augmentation, forward pass, loss (+ penalties),
    ``backward()``, clipping (with ``clip``: ``optim.clip_grad_norm`` over the optimizer's
    parameters; the total norm before clipping is kept in ``grad_norm``), ``optimizer.step()``.
    Calling it returns the batch's loss as a float.

    All or nothing: a loss that is not finite, a NaN or infinite gradient (``optimizer.step``
    refuses it) or any error or Ctrl-C before the update raises FloatingPointError (naming the
    epoch and batch) or that error, with the model's buffers (BatchNorm's running statistics,
    which the forward pass updates) put back: the model is as before the step. With a
    TerminateOnNaN among ``callbacks`` (``stop_on_nan``) a non-finite loss is returned instead,
    without a step, for that callback to act on."""

    def __init__(self, model, optimizer, loss_fn, l1, l2, augment, rng, callbacks=(), clip=None) -> None:
        self.model, self.optimizer, self.loss_fn = model, optimizer, loss_fn
        self.l1, self.l2, self.augment, self.rng, self.grad_norm = l1, l2, augment, rng, math.nan
        self.clip = None if clip is None else float(clip)
        self.stop_on_nan = any(isinstance(callback, TerminateOnNaN) for callback in callbacks)
        # The penalties cover the weights (2-D and up), not the biases or normalization parameters.
        self.weights = [p for p in model.parameters() if p.ndim >= 2]
        # The modules that hold buffers, found once (a model without any copies nothing per step).
        self.buffered = [module for module in model.modules() if module._buffers]

    def __call__(self, inputs: np.ndarray, targets: np.ndarray, epoch: int = 0, batch: int = 0) -> float:
        buffers = [(module, name, array, array.copy()) for module in self.buffered
                   for name, array in module._buffers.items() if array is not None]
        self.grad_norm = math.nan
        try:
            value = self._loss(inputs, targets)
            loss = float(value.data)
            if not math.isfinite(loss):
                if self.stop_on_nan:
                    _put_back(buffers)
                    return loss
                raise FloatingPointError(_diverged(loss, epoch, batch, self.model))
            self.optimizer.zero_grad()
            value.backward()
            if self.clip is not None:  # frozen parameters and those without a gradient are skipped
                self.grad_norm = clip_norm([p for group in self.optimizer.param_groups for p in group["params"]],
                                           self.clip)
        except BaseException:
            _put_back(buffers)
            raise
        try:  # a Ctrl-C during the update lands after it (fit trains inside optim.whole_steps)
            self.optimizer.step()
        except FloatingPointError as error:  # raised before any parameter changed
            _put_back(buffers)
            raise FloatingPointError(f"at epoch {epoch + 1}, batch {batch + 1}: {error}") from None
        return loss

    def _loss(self, inputs, targets):
        if self.augment is not None:
            inputs = np.asarray(self.augment(inputs, self.rng), dtype=inputs.dtype)
        value = self.loss_fn(self.model(Tensor(inputs)), targets)
        if self.l1:
            value = value + l1_penalty(self.weights, self.l1)
        if self.l2:
            value = value + l2_penalty(self.weights, self.l2)
        return value


def _put_back(buffers) -> None:
    """Restore each ``(module, name, array, saved values)``: the array object and its values."""
    for module, name, array, saved in buffers:
        array[...] = saved
        setattr(module, name, array)


def _diverged(loss: float, epoch: int, batch: int | None, model) -> str:
    """The message of a loss that became NaN or infinite (batch None: at the epoch's end)."""
    if batch is None:
        where = (f"at the end of epoch {epoch + 1} (scored after its last step, which left the model as it "
                 "is now)")
    else:
        where = (f"at epoch {epoch + 1}, batch {batch + 1} (counted from 1); that step was not taken: the "
                 "model and the optimizer are as before it")
    broken = any(not np.all(np.isfinite(p.data)) for p in model.parameters())
    return (f"the loss became {loss} {where}" + ("; its weights already hold NaN or inf (an earlier step "
            "diverged)" if broken else "") + ". Training has diverged: lower the learning rate or scale the "
            "inputs, or pass callbacks=[glassnet.TerminateOnNaN()] to stop and keep the last finite weights")


def _run_epoch(step: _Step, X, y, batches, callbacks: CallbackList, trainer: _Trainer, first: int = 0,
               epoch: int = 0) -> None:
    """One pass over ``batches`` (arrays of row indices, numbered from ``first``): a step each, between
    the hooks on_batch_begin and on_batch_end; it ends after the batch at which a callback asked to stop."""
    for batch, index in enumerate(batches, start=first):
        callbacks.on_batch_begin(batch)
        logs = {"loss": step(X[index], y[index], epoch, batch)}
        if step.clip is not None:  # the total gradient norm before clipping, for every callback
            logs["grad_norm"] = step.grad_norm
        callbacks.on_batch_end(batch, logs)
        if trainer.stop_training:
            break


def _epoch_logs(step: _Step, metric_fns, train: tuple[Any, Any], validation: tuple[Any, Any] | None,
                epoch: int) -> dict:
    """The epoch's scores in eval mode: ``loss`` and each metric on the training data, their
    ``val_`` versions on the validation data (if any), and the learning rate ``lr`` (of the first
    parameter group). A training
    loss that is not finite (the last step broke the weights) is a FloatingPointError, unless
    a TerminateOnNaN is there to act on it."""
    model, optimizer, loss_fn = step.model, step.optimizer, step.loss_fn
    logs = scores(model, *train, loss_fn, metric_fns, _SCORING_BATCH)
    if not (step.stop_on_nan or math.isfinite(logs["loss"])):
        raise FloatingPointError(_diverged(logs["loss"], epoch, None, model))
    if validation is not None:
        held_out = scores(model, *validation, loss_fn, metric_fns, _SCORING_BATCH)
        logs.update({f"val_{key}": value for key, value in held_out.items()})
    logs["lr"] = optimizer.param_groups[0]["lr"]  # with parameter groups: the first group's
    return logs


def _log_keys(metric_fns, validation) -> list[str]:
    """The keys of the epoch logs fit will write, in their order (see :func:`_epoch_logs`)."""
    keys = ["loss", *(key for key, _ in metric_fns)]
    return keys + ([f"val_{key}" for key in keys] if validation is not None else []) + ["lr"]


def _backup(callbacks: list, rng):
    """``(the BackupAndRestore among callbacks or None, the generator the validation split draws
    from)``: a backup is read (not yet applied) before the split, which it may have to repeat."""
    backups = [c for c in callbacks if isinstance(c, BackupAndRestore)]
    if len(backups) > 1:
        raise ValueError(f"callbacks hold {len(backups)} BackupAndRestore; a run keeps one backup")
    return (backups[0], backups[0]._open(rng)) if backups else (None, rng)


def _callbacks_checked(model, optimizer, callbacks: list, params: dict, log_keys: list):
    """``(trainer, history, progress bar, CallbackList)``: the list holds a new History first, then
    a ProgressBar(verbose) unless ``callbacks`` hold one, then ``callbacks``; each is given the
    trainer, then checked (:meth:`Callback.check`) before anything changes."""
    trainer = _Trainer(model, optimizer, params, log_keys, validation="val_loss" in log_keys)
    history = History()
    given = [c for c in callbacks if isinstance(c, ProgressBar)]
    progress = given[0] if given else ProgressBar(verbose=params["verbose"])
    callback_list = CallbackList([history, *([] if given else [progress]), *callbacks], trainer)
    callback_list.check(trainer)
    return trainer, history, progress, callback_list


@contextlib.contextmanager
def _closed_after(progress, model, callback_list):
    """The run's end, however it ends: a live bar must not outlive an exception or Ctrl-C, a
    training that raised tells every callback (``on_train_failed``: a GradientMonitor removes its
    hooks), and the model is left in train mode."""
    try:
        yield
    except BaseException as error:
        callback_list.on_train_failed(error)
        raise
    finally:
        progress.close()
        model.train()


@contextlib.contextmanager
def _unchanged_on_error(rng):
    """Without a seed the validation split is drawn from glassnet's default generator: a fit
    that fails its checks puts the generator back, so that it has changed nothing at all."""
    state = rng.bit_generator.state
    try:
        yield
    except BaseException:
        rng.bit_generator.state = state
        raise


def fit(model, X, y, *, loss, optimizer, epochs: int = 10, batch_size=32, shuffle: bool = True,
        validation_split=None, validation_data=None, metrics=("accuracy",), callbacks=(), seed=None,
        verbose: int = 1, l1: float = 0.0, l2: float = 0.0, augment=None, clip_grad_norm=None) -> History:
    """Train ``model`` on ``(X, y)``; return a :class:`History` whose ``history[key]`` holds one
    value per epoch: ``loss``, each metric, their ``val_`` versions and ``lr``, scored on the whole
    data in eval mode (under ``no_grad``) without the penalties (the batch losses include them).

    The model learns in train mode and is left in it. Bad options, data (empty, NaN unless the first
    layer is an ``nn.Impute``, targets that do not fit the outputs, ...) or callbacks (each one's
    ``check``) raise ValueError or TypeError before anything changes. A NaN/infinite loss raises
    FloatingPointError naming the epoch and batch, the model as before that step (or TerminateOnNaN).

    Parameters
    ----------
    model, optimizer : Module, Optimizer (built on ``model.parameters()``; its ``lr`` is logged)
    X, y : arrays or Tensors, shape (n_samples, ...)
        Inputs (cast to the model's dtype); targets as the loss takes them (labels, values, ...).
    loss : callable or str
        ``loss(outputs, y) -> Tensor`` or its name; its ``from_logits`` tells accuracy where to cut.
    epochs, batch_size, shuffle : int, int or None, bool
        Passes over the data; batch_size None: batch gradient descent, 1: stochastic, n: batches
        of n (with BatchNorm1d a lone last sample joins the one before: :mod:`.batches`); shuffle.
    validation_split, validation_data : float in (0, 1) (held out at random once), or (X_val, y_val)
    metrics : "accuracy", "mse", "mae" or ``metric(outputs, y) -> float`` (:mod:`glassnet.train.metrics`)
    callbacks, verbose : sequence of Callback, int
        EarlyStopping, ModelCheckpoint, BackupAndRestore, ...; a ProgressBar(verbose) is added
        unless given one (0: silent; 1: a bar, or one plain line per epoch off a terminal).
    seed : int, optional: seeds shuffling, split, augment and glassnet's generator (Dropout)
    l1, l2 : float
        Penalties ``l1 * sum |w| + l2 * sum w^2`` on the weights (2-D and up, not biases) added to
        each batch's loss (``weight_decay=wd`` of an optimizer is ``l2=wd / 2`` on every parameter).
    augment : callable or list of callables, optional
        ``augment(X_batch, rng) -> X_batch`` on training batches (chained: :mod:`glassnet.data.augment`).
    clip_grad_norm : float > 0, optional
        Clip the gradients' joint L2 norm after each backward (``optim.clip_grad_norm``); the batch
        logs hold ``grad_norm``, the norm before clipping.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> from glassnet import nn, optim, losses
    >>> X = np.random.default_rng(0).normal(size=(100, 2)).astype(np.float32); y = (X[:, 0] + X[:, 1] > 0)
    >>> model = nn.Sequential(nn.Linear(2, 8, rng=0), nn.Tanh(), nn.Linear(8, 2, rng=1))
    >>> gn.fit(model, X, y.astype(np.int64), loss=losses.cross_entropy, epochs=20, batch_size=16, seed=0,
    ...        optimizer=optim.Adam(model.parameters(), lr=0.05), verbose=0).history["accuracy"][-1] > 0.9
    True
    """
    loss_fn, metric_fns, callbacks, augment = _check_options(
        model, loss, optimizer, epochs=epochs, batch_size=batch_size, shuffle=shuffle, l1=l1, l2=l2, seed=seed,
        verbose=verbose, metrics=metrics, validation_split=validation_split, validation_data=validation_data,
        callbacks=callbacks, augment=augment, clip_grad_norm=clip_grad_norm)
    rng = np.random.default_rng(seed) if seed is not None else get_rng(None)
    with _unchanged_on_error(rng):  # every check before anything changes
        backup, split_rng = _backup(callbacks, rng)  # a backup is read before the split draws
        X, y, validation = _training_data(model, X, y, validation_split, validation_data, split_rng)
        _check_data(model, (X, y), validation, loss_fn, metric_fns)
        bounds = _training_batches(model, len(X), batch_size)
        if backup is not None:  # the backup was written by this very run, or nothing changes; then it goes last
            callbacks = backup._check(model, optimizer, rng, (X, y), validation, run_settings(
                epochs, batch_size, shuffle, seed, l1, l2, validation_split, loss_fn, metric_fns, augment, callbacks,
                clip_grad_norm))
        trainer, history, progress, callback_list = _callbacks_checked(model, optimizer, callbacks, {
            "epochs": epochs, "steps": len(bounds), "verbose": verbose}, _log_keys(metric_fns, validation))
    if seed is not None:
        _seed(seed)
    step = _Step(model, optimizer, loss_fn, l1, l2, augment, rng, callbacks, clip_grad_norm)
    model.train()
    with _closed_after(progress, model, callback_list), whole_steps():  # Ctrl-C lands between two steps, never in one
        callback_list.on_train_begin()
        first_epoch, first_batch = backup._attach(callback_list, rng) if backup else (0, 0)
        for epoch in range(first_epoch, epochs):
            callback_list.on_epoch_begin(epoch)
            batches, first = _batches(len(X), bounds, shuffle, rng), first_batch if epoch == first_epoch else 0
            _run_epoch(step, X, y, backup._skip(batches, first) if backup else batches, callback_list,
                       trainer, first, epoch)
            callback_list.on_epoch_end(epoch, _epoch_logs(step, metric_fns, (X, y), validation, epoch))
            if trainer.stop_training:
                break
        callback_list.on_train_end()
    return history
