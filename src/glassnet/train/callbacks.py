"""Callbacks: code that ``fit`` calls at fixed points of training, with Keras' hook names.

``on_train_begin(logs)``, ``on_epoch_begin(epoch, logs)``, ``on_batch_begin(batch, logs)``,
``on_batch_end(batch, logs)``, ``on_epoch_end(epoch, logs)``, ``on_train_end(logs)`` (or, when
training raises, ``on_train_failed(error)``). Epochs and
batches count from 0. ``logs`` at the end of an epoch holds ``loss``, each metric, their
``val_`` versions when there is validation data, and ``lr``; at the end of a batch, ``loss`` (that
batch's loss, penalties included) and, when ``fit(clip_grad_norm=...)`` clips, ``grad_norm`` (the
gradients' total norm before clipping). A callback reaches the model and the optimizer as
``self.model`` and ``self.optimizer``, the run's settings as ``self.params`` (``epochs``,
``steps`` per epoch, ``verbose``), and stops training after the current batch by calling
``self.stop_training()`` (which sets the flag ``self.trainer.stop_training``).

Before the first step (and before any state changes) ``fit`` calls every callback's
``check(trainer)``: a callback that cannot work in this run (it monitors a log key that no epoch
will write, it cannot save the model, ...) raises ValueError or TypeError there, not after an
epoch of training. ``trainer.log_keys`` holds the keys the epoch logs will have.

Example
-------
>>> import numpy as np, glassnet as gn
>>> from glassnet import nn, optim
>>> class StopAtHalf(gn.Callback):
...     def on_epoch_end(self, epoch, logs=None):
...         if logs["loss"] < 0.5:
...             self.stop_training()
>>> model = nn.Sequential(nn.Linear(1, 2, rng=0))
>>> X, y = np.array([[-1.0], [1.0]]), np.array([0, 1])
>>> history = gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=1.0),
...                  epochs=100, batch_size=None, callbacks=[StopAtHalf()], verbose=0)
>>> history.history["loss"][-1] < 0.5 and len(history.epoch) < 100
True
"""

from __future__ import annotations

import copy
import difflib
import math
import sys
from typing import TYPE_CHECKING

from .._checks import boolean, non_negative_int, non_negative_number, one_of
from ._checks import fits_model, is_count, is_count_or_none, is_log, is_number

if TYPE_CHECKING:
    from ..nn.module import Module
    from ..optim.optimizer import Optimizer
    from .fit import _Trainer


class Callback:
    """Base class: every hook does nothing. Subclass and override the hooks you need."""

    # None until fit calls set_context (before the first hook)
    model: Module | None = None
    optimizer: Optimizer | None = None
    trainer: _Trainer | None = None
    params: dict = {}

    def set_context(self, trainer: _Trainer) -> None:
        """Called by ``fit`` before training: gives the callback the model, optimizer and settings."""
        self.trainer, self.model, self.optimizer = trainer, trainer.model, trainer.optimizer
        self.params = trainer.params

    def stop_training(self) -> None:
        """Ask ``fit`` to stop after the current batch (the epoch is still scored and logged)."""
        if self.trainer is None:
            raise RuntimeError(f"{type(self).__name__}.stop_training() works only during fit: "
                               "fit gives a callback its run (set_context) before the first hook")
        self.trainer.stop_training = True

    def check(self, trainer: _Trainer) -> None:
        """Called by ``fit`` after ``set_context`` and before the first hook: raise ValueError or
        TypeError if this callback cannot work in this run. ``trainer.params`` holds ``epochs``,
        ``steps`` and ``verbose``; ``trainer.log_keys`` the keys of the epoch logs (``val_`` ones
        included), ``trainer.validation`` whether there is validation data. The base class
        accepts every run."""

    # What a callback learns during a run: attribute name -> the types it may hold. state_dict()
    # saves them and load_state_dict() puts them back, so a resumed fit (BackupAndRestore) carries on.
    _state_types: dict = {}
    # Beyond its type, what a value must be: name -> (test, words). A crafted backup must not set
    # a count to -100 or a best value to NaN, which no run makes and which would change the run.
    _state_checks: dict = {}

    def state_dict(self) -> dict:
        """A copy of what the callback has learned so far in the run (``{}`` if nothing); override
        it with :meth:`load_state_dict` for a callback of your own that BackupAndRestore resumes."""
        return copy.deepcopy({name: getattr(self, name) for name in self._state_types if hasattr(self, name)})

    def load_state_dict(self, state: dict) -> None:
        """Put back what :meth:`state_dict` returned; every entry is checked before any is set."""
        if not isinstance(state, dict):
            raise TypeError(f"{type(self).__name__}.load_state_dict expects a dict, got {type(state).__name__}")
        for name, value in state.items():
            types = self._state_types.get(name, ())
            if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
                raise ValueError(f"{type(self).__name__}.load_state_dict: {name!r} = {str(value)[:60]} is not "
                                 f"one of its entries {sorted(self._state_types)} with a fitting type")
            test, words = self._state_checks.get(name, (None, ""))
            if test is not None and not test(value):
                raise ValueError(f"{type(self).__name__}.load_state_dict: {name!r} = {str(value)[:60]} is not {words}")
        for name, value in state.items():
            setattr(self, name, copy.deepcopy(value))

    def on_train_begin(self, logs=None): ...
    def on_train_end(self, logs=None): ...
    def on_epoch_begin(self, epoch, logs=None): ...
    def on_epoch_end(self, epoch, logs=None): ...
    def on_batch_begin(self, batch, logs=None): ...
    def on_batch_end(self, batch, logs=None): ...
    def on_train_failed(self, error):
        """Training raised ``error`` (any exception, Ctrl-C included) instead of reaching
        on_train_end: release what on_train_begin took (hooks, files). Not a Keras hook."""


class CallbackList:
    """The callbacks of one run, called together (Keras' name and role): each hook of the list
    calls that hook once on every callback, in the list's order.

    ``fit`` builds one from ``[History, ProgressBar (unless given), *callbacks]`` and calls only
    it. ``logs`` given to a hook is passed on as it is, the same dict to every callback; a hook
    called without logs gives each callback a fresh empty dict.

    Parameters
    ----------
    callbacks : sequence of Callback
    trainer : object, optional
        What the callbacks see (``model``, ``optimizer``, ``params``, ``stop_training``), handed
        to each with ``set_context``.

    Example
    -------
    >>> import glassnet as gn
    >>> class Say(gn.Callback):
    ...     def __init__(self, name): self.name = name
    ...     def on_epoch_end(self, epoch, logs=None): print(self.name, epoch, logs)
    >>> gn.train.CallbackList([Say("a"), Say("b")]).on_epoch_end(0, {"loss": 0.5})
    a 0 {'loss': 0.5}
    b 0 {'loss': 0.5}
    """

    def __init__(self, callbacks=(), trainer=None) -> None:
        if isinstance(callbacks, Callback) or isinstance(callbacks, str):
            raise TypeError(f"callbacks must be a list of Callback instances, got one {type(callbacks).__name__}"
                            + (": pass [callback]" if isinstance(callbacks, Callback) else ""))
        try:
            self.callbacks = list(() if callbacks is None else callbacks)
        except TypeError:
            raise TypeError(f"callbacks must be a list of Callback instances, got {type(callbacks).__name__}") from None
        seen: set = set()
        for callback in self.callbacks:
            if not isinstance(callback, Callback):
                raise TypeError(f"callbacks must be Callback instances, got {type(callback).__name__}")
            if id(callback) in seen:  # its hooks would run twice (an EarlyStopping counting each epoch twice)
                raise ValueError(f"callbacks hold the same {type(callback).__name__} twice; give each once")
            seen.add(id(callback))
        if trainer is not None:
            self.set_context(trainer)

    def __iter__(self):
        return iter(self.callbacks)

    def __len__(self) -> int:
        return len(self.callbacks)

    def set_context(self, trainer) -> None:
        for callback in self.callbacks:
            callback.set_context(trainer)

    def check(self, trainer) -> None:
        """Every callback's :meth:`Callback.check`, in order: the first problem raises. After a
        callback of yours that has an ``on_epoch_end`` (it may add keys to the logs), the
        monitored keys are checked when the epoch ends, no longer here."""
        for callback in self.callbacks:
            callback.check(trainer)
            if _may_add_logs(callback):
                trainer.log_keys = None

    def _call(self, hook: str, *args, logs) -> None:
        for callback in self.callbacks:
            getattr(callback, hook)(*args, {} if logs is None else logs)

    def on_train_begin(self, logs=None):
        self._call("on_train_begin", logs=logs)

    def on_train_end(self, logs=None):
        self._call("on_train_end", logs=logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._call("on_epoch_begin", epoch, logs=logs)

    def on_epoch_end(self, epoch, logs=None):
        self._call("on_epoch_end", epoch, logs=logs)

    def on_batch_begin(self, batch, logs=None):
        self._call("on_batch_begin", batch, logs=logs)

    def on_batch_end(self, batch, logs=None):
        self._call("on_batch_end", batch, logs=logs)

    def on_train_failed(self, error):
        for callback in self.callbacks:
            callback.on_train_failed(error)


def _may_add_logs(callback: Callback) -> bool:
    """Whether ``callback`` is not glassnet's own and has an on_epoch_end (where it may write logs)."""
    cls = type(callback)
    return cls.on_epoch_end is not Callback.on_epoch_end and not cls.__module__.startswith("glassnet.")


class History(Callback):
    """Records the logs of every epoch: ``history.history["loss"]`` is the loss per epoch,
    likewise each metric, ``val_`` keys and ``lr``; ``history.epoch`` the epoch numbers."""

    _state_types = {"history": (dict,), "epoch": (list,)}
    _state_checks = {"history": (is_log, "a map from log keys to lists"),
                     "epoch": (lambda epochs: all(map(is_count, epochs)), "a list of epoch numbers")}

    def __init__(self) -> None:
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs=None):
        self.history, self.epoch = {}, []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)

    def __repr__(self) -> str:
        last = {key: round(values[-1], 4) for key, values in self.history.items()}
        return f"History(epochs={len(self.epoch)}, last={last})"


def check_stream(stream, owner: str):
    """``stream`` (None: the default) if it is a file-like object with ``write``, else a TypeError."""
    if stream is not None and not callable(getattr(stream, "write", None)):
        raise TypeError(f"{owner}'s stream must be a file (an object with write), or None; got "
                        f"{type(stream).__name__} {str(stream)[:60]!r}")
    return stream


def _mode(monitor: str, mode: str) -> str:
    if not isinstance(monitor, str):
        raise TypeError(f"monitor must be a key of the epoch logs such as 'val_loss', got "
                        f"{type(monitor).__name__} {monitor!r}")
    if one_of(mode, "mode", ("auto", "min", "max")) == "auto":
        return "max" if "acc" in monitor else "min"
    return mode


def check_monitor(owner: str, monitor: str, trainer) -> None:
    """A ValueError unless ``monitor`` is among the epoch log keys fit will write
    (``trainer.log_keys``; None: not known before the epoch ends), saying what is missing:
    validation data, or the right name."""
    keys = getattr(trainer, "log_keys", None)
    if keys is None or monitor in keys:
        return
    if monitor.startswith("val_") and monitor[4:] in keys:
        raise ValueError(f"{owner} monitors {monitor!r}, which needs validation data: pass validation_split "
                         f"or validation_data to fit, or monitor {monitor[4:]!r}")
    close = difflib.get_close_matches(monitor, keys, n=1)
    raise ValueError(f"{owner} monitors {monitor!r}, but fit's epoch logs will hold only {keys}"
                     + (f"; did you mean {close[0]!r}?" if close else ""))


def _monitored(owner: str, monitor: str, logs: dict) -> float:
    if monitor not in logs:
        raise ValueError(f"{owner} monitors {monitor!r}, but the epoch logs hold only {sorted(logs)}; "
                         "pass validation_split or validation_data to fit for the val_ keys")
    return logs[monitor]


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience``
    epochs in a row (Keras' rule); with ``restore_best_weights`` the model gets back the
    weights of its best epoch at the end of training, whether it stopped early or not.

    Parameters
    ----------
    monitor : str
        A key of the epoch logs, "val_loss" by default (needs validation data).
    patience : int
        Epochs without improvement to wait; 0 stops at the first epoch that does not improve.
    min_delta : float
        The smallest change that counts as an improvement.
    mode : {"auto", "min", "max"}
        Whether lower or higher is better; "auto": higher for accuracies, lower otherwise.
    restore_best_weights : bool
        Load the best epoch's state_dict (a copy taken at that epoch) at the end of training.

    Attributes
    ----------
    best : float
        The best value seen. ``best_epoch``: its epoch. ``stopped_epoch``: the epoch training
        stopped at (None if it ran to the end).

    Example
    -------
    >>> import glassnet as gn
    >>> stopper = gn.EarlyStopping(monitor="val_loss", patience=10, restore_best_weights=True)
    """

    _state_types = {"best": (int, float), "best_epoch": (int, type(None)), "stopped_epoch": (int, type(None)),
                    "wait": (int,), "best_state": (dict, type(None))}
    _state_checks = {"best": (is_number, "a number"), "best_epoch": (is_count_or_none, "an epoch or None"),
                     "stopped_epoch": (is_count_or_none, "an epoch or None"), "wait": (is_count, "a count >= 0")}

    def __init__(self, monitor="val_loss", patience=5, min_delta=0.0, mode="auto",
                 restore_best_weights=False) -> None:
        self.monitor = monitor
        self.patience = non_negative_int(patience, "patience")
        self.min_delta = non_negative_number(min_delta, "min_delta")
        self.mode = _mode(monitor, mode)
        self.restore_best_weights = boolean(restore_best_weights, "restore_best_weights")

    def check(self, trainer) -> None:
        check_monitor("EarlyStopping", self.monitor, trainer)

    def on_train_begin(self, logs=None):
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch, self.stopped_epoch, self.wait, self.best_state = None, None, 0, None

    def _improved(self, value) -> bool:
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, epoch, logs=None):
        value = _monitored("EarlyStopping", self.monitor, logs or {})
        if self._improved(value):  # NaN never improves
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_state = self.model.state_dict()
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            self.stop_training()

    def load_state_dict(self, state: dict) -> None:
        best = state.get("best_state") if isinstance(state, dict) else None
        if isinstance(best, dict) and self.model is not None and not fits_model(best, self.model):
            raise ValueError("EarlyStopping.load_state_dict: the best weights do not fit the model")
        super().load_state_dict(state)

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_state is not None:
            self.model.load_state_dict(self.best_state)


class TerminateOnNaN(Callback):
    """Stop as soon as a batch's loss (or an epoch's training loss) is NaN or infinite, print
    where (epoch and batch, counted from 1), and put back the last finite weights.

    "Last finite weights": the weights, buffers and optimizer state from the start of the last
    batch whose loss was finite, the newest state known to give a finite loss (the weights the
    bad batch started from may already hold inf). To restore them the callback copies the
    state_dicts of the model and the optimizer at the start of every batch.

    Parameters
    ----------
    stream : file, optional
        Where the message goes (standard error by default).

    Attributes
    ----------
    terminated_at : (epoch, batch) or None
        Where the loss stopped being finite, counted from 0 (batch None: found at the end of
        the epoch).
    """

    _state_types = {"terminated_at": (tuple, type(None)), "_good": (tuple,), "_before": (tuple,), "_epoch": (int,)}
    _state_checks = {"_epoch": (is_count, "an epoch"), "terminated_at": (
        lambda at: at is None or (len(at) == 2 and is_count(at[0]) and is_count_or_none(at[1])), "(epoch, batch)")}

    def __init__(self, stream=None) -> None:
        self.stream = check_stream(stream, "TerminateOnNaN")
        self.terminated_at = None

    def _snapshot(self):
        optimizer = self.optimizer.state_dict() if hasattr(self.optimizer, "state_dict") else None
        return self.model.state_dict(), optimizer

    def load_state_dict(self, state: dict) -> None:
        for name in ("_good", "_before"):  # restored when the loss turns NaN: they must load then
            snapshot = state.get(name) if isinstance(state, dict) else None
            if isinstance(snapshot, tuple) and self.model is not None and not self._fits(snapshot):
                raise ValueError(f"TerminateOnNaN.load_state_dict: {name!r} is not the weights and optimizer "
                                 "state of this run")
        super().load_state_dict(state)

    def _fits(self, snapshot: tuple) -> bool:
        """Whether ``snapshot`` is (weights, optimizer state) of this run: the model's names, shapes
        and dtypes, and a state the optimizer loads (tried on a shallow copy of the optimizer:
        load_state_dict sets the copy's attributes only)."""
        if len(snapshot) != 2 or not isinstance(snapshot[0], dict) or not fits_model(snapshot[0], self.model):
            return False
        optimizer = self.optimizer
        if snapshot[1] is None or optimizer is None or not hasattr(optimizer, "load_state_dict"):
            return snapshot[1] is None and not hasattr(optimizer, "state_dict")
        try:
            copy.copy(optimizer).load_state_dict(snapshot[1])
        except (TypeError, ValueError):
            return False
        return True

    def on_train_begin(self, logs=None):
        self.terminated_at = None
        self._good = self._before = self._snapshot()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_batch_begin(self, batch, logs=None):
        self._before = self._snapshot()

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None or math.isfinite(loss):
            self._good = self._before
        else:
            self._terminate(loss, batch)

    def on_epoch_end(self, epoch, logs=None):
        # The last step of an epoch can break the weights without any batch loss showing it.
        loss = (logs or {}).get("loss")
        if self.terminated_at is None and loss is not None and not math.isfinite(loss):
            self._terminate(loss, None)

    def _terminate(self, loss, batch):
        self.terminated_at = (self._epoch, batch)
        weights, optimizer_state = self._good
        self.model.load_state_dict(weights)
        if optimizer_state is not None:
            self.optimizer.load_state_dict(optimizer_state)
        where = f"batch {batch + 1}" if batch is not None else "its end"
        print(f"TerminateOnNaN: the loss became {loss} at epoch {self._epoch + 1}, {where}; training "
              "stopped and the last finite weights restored", file=self.stream or sys.stderr)
        self.stop_training()
