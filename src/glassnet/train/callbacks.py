"""Callbacks: code that ``fit`` calls at fixed points of training, with Keras' hook names.

``on_train_begin(logs)``, ``on_epoch_begin(epoch, logs)``, ``on_batch_begin(batch, logs)``,
``on_batch_end(batch, logs)``, ``on_epoch_end(epoch, logs)``, ``on_train_end(logs)``. Epochs and
batches count from 0. ``logs`` at the end of an epoch holds ``loss``, each metric, their
``val_`` versions when there is validation data, and ``lr``. A callback reaches the model and the
optimizer as ``self.model`` and ``self.optimizer``, and stops training by setting
``self.trainer.stop_training = True`` (``self.stop_training()`` does it).
"""

from __future__ import annotations

import copy
import math
import sys
import time

import numpy as np


class Callback:
    """Base class: every hook does nothing. Subclass and override the hooks you need."""

    model = None
    optimizer = None
    trainer = None

    def set_context(self, trainer) -> None:
        self.trainer, self.model, self.optimizer = trainer, trainer.model, trainer.optimizer

    def stop_training(self) -> None:
        self.trainer.stop_training = True

    def on_train_begin(self, logs=None): ...
    def on_train_end(self, logs=None): ...
    def on_epoch_begin(self, epoch, logs=None): ...
    def on_epoch_end(self, epoch, logs=None): ...
    def on_batch_begin(self, batch, logs=None): ...
    def on_batch_end(self, batch, logs=None): ...


class History(Callback):
    """Records the logs of every epoch: ``history.history["loss"]`` is the loss per epoch,
    likewise each metric, ``val_`` keys and ``lr``; ``history.epoch`` the epoch numbers."""

    def __init__(self):
        self.history: dict = {}
        self.epoch: list = []

    def on_train_begin(self, logs=None):
        self.history, self.epoch = {}, []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)

    def __repr__(self) -> str:
        last = {key: round(values[-1], 4) for key, values in self.history.items()}
        return f"History(epochs={len(self.epoch)}, last={last})"


def _mode(monitor: str, mode: str) -> str:
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode == "auto":
        return "max" if "acc" in monitor else "min"
    return mode


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience``
    epochs; with ``restore_best_weights`` the model gets back the weights of its best epoch.

    Parameters
    ----------
    monitor : str
        A key of the epoch logs, "val_loss" by default (needs validation data).
    patience : int
        Epochs without improvement to wait.
    min_delta : float
        The smallest change that counts as an improvement.
    mode : {"auto", "min", "max"}
        Whether lower or higher is better; "auto": higher for accuracies, lower otherwise.
    restore_best_weights : bool
        Load the best epoch's state_dict at the end of training.

    Attributes
    ----------
    best : float
        The best value seen. ``best_epoch``: its epoch. ``stopped_epoch``: the epoch training
        stopped at (None if it ran to the end).
    """

    def __init__(self, monitor="val_loss", patience=5, min_delta=0.0, mode="auto",
                 restore_best_weights=False):
        if not isinstance(patience, (int, np.integer)) or patience < 0:
            raise ValueError(f"patience must be an int >= 0, got {patience!r}")
        if min_delta < 0:
            raise ValueError(f"min_delta must be >= 0, got {min_delta}")
        self.monitor, self.patience, self.min_delta = monitor, int(patience), float(min_delta)
        self.mode = _mode(monitor, mode)
        self.restore_best_weights = restore_best_weights

    def on_train_begin(self, logs=None):
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch, self.stopped_epoch, self.wait, self.best_state = None, None, 0, None

    def _improved(self, value) -> bool:
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.monitor not in logs:
            raise ValueError(f"EarlyStopping monitors {self.monitor!r}, but the logs hold only "
                             f"{sorted(logs)}; pass validation data to fit for val_ keys")
        value = logs[self.monitor]
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_state = self.model.state_dict()
        else:
            self.wait += 1
            if self.wait > self.patience:
                self.stopped_epoch = epoch
                self.stop_training()

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_state is not None:
            self.model.load_state_dict(self.best_state)


class TerminateOnNaN(Callback):
    """Stop as soon as a batch's loss is NaN or infinite, say where (epoch and batch), and put
    back the weights from before that batch's update (the last finite weights)."""

    def __init__(self, stream=None):
        self.stream = stream
        self.terminated_at = None

    def on_batch_begin(self, batch, logs=None):
        self._last_good = self.model.state_dict()
        self._optimizer_state = copy.deepcopy(self.optimizer.state)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            self.terminated_at = (self._epoch, batch)
            self.model.load_state_dict(self._last_good)
            self.optimizer.state = self._optimizer_state
            print(f"TerminateOnNaN: loss became {loss} at epoch {self._epoch + 1}, batch {batch + 1}; "
                  "training stopped and the last finite weights restored", file=self.stream or sys.stderr)
            self.stop_training()


class LearningRateSchedule(Callback):
    """Set ``optimizer.lr`` at the start of each epoch from a schedule.

    Parameters
    ----------
    schedule : callable or str
        ``schedule(epoch, initial_lr) -> lr``, or the name of a built-in one:

        * "step": lr = initial * gamma ** (epoch // step_size)
        * "exponential": lr = initial * gamma ** epoch
        * "cosine": lr = eta_min + (initial - eta_min) (1 + cos(pi epoch / T_max)) / 2
    step_size, gamma, T_max, eta_min :
        Parameters of the built-in schedules.
    """

    def __init__(self, schedule, step_size=10, gamma=0.1, T_max=None, eta_min=0.0):
        if isinstance(schedule, str):
            if schedule not in ("step", "exponential", "cosine"):
                raise ValueError(f"unknown schedule {schedule!r}; choose 'step', 'exponential', 'cosine' or a function")
            if schedule == "cosine" and (T_max is None or T_max <= 0):
                raise ValueError("the cosine schedule needs T_max > 0 (epochs per half period)")
        elif not callable(schedule):
            raise TypeError("schedule must be a name or a function (epoch, initial_lr) -> lr")
        self.schedule, self.step_size, self.gamma, self.T_max, self.eta_min = schedule, step_size, gamma, T_max, eta_min

    def lr_at(self, epoch: int, initial: float) -> float:
        if self.schedule == "step":
            return initial * self.gamma ** (epoch // self.step_size)
        if self.schedule == "exponential":
            return initial * self.gamma ** epoch
        if self.schedule == "cosine":
            return self.eta_min + (initial - self.eta_min) * (1 + math.cos(math.pi * epoch / self.T_max)) / 2
        return float(self.schedule(epoch, initial))

    def on_train_begin(self, logs=None):
        self.initial_lr = self.optimizer.lr

    def on_epoch_begin(self, epoch, logs=None):
        self.optimizer.lr = self.lr_at(epoch, self.initial_lr)


class ModelCheckpoint(Callback):
    """Save the model with ``glassnet.save`` after an epoch: every epoch, or only when
    ``monitor`` improves (``save_best_only=True``). ``path`` may contain ``{epoch}``."""

    def __init__(self, path, monitor="val_loss", save_best_only=True, mode="auto"):
        self.path, self.monitor, self.save_best_only = str(path), monitor, save_best_only
        self.mode = _mode(monitor, mode)
        self.saved: list = []

    def on_train_begin(self, logs=None):
        self.best = math.inf if self.mode == "min" else -math.inf

    def on_epoch_end(self, epoch, logs=None):
        from ..io import save

        logs = logs or {}
        if self.save_best_only:
            if self.monitor not in logs:
                raise ValueError(f"ModelCheckpoint monitors {self.monitor!r}, the logs hold {sorted(logs)}")
            value = logs[self.monitor]
            better = value < self.best if self.mode == "min" else value > self.best
            if not better:
                return
            self.best = value
        path = self.path.format(epoch=epoch + 1)
        save(self.model, path)
        self.saved.append(path)


class ProgressBar(Callback):
    """A per-epoch progress bar with loss, metrics and time left (``rich``) on a terminal;
    one plain line per epoch when the output is not a terminal; nothing at verbose=0."""

    def __init__(self, epochs: int, steps: int, verbose: int = 1, stream=None):
        self.epochs, self.steps, self.verbose = epochs, steps, verbose
        self.stream = stream

    def _out(self):
        return self.stream or sys.stdout

    def on_train_begin(self, logs=None):
        self.interactive = self.verbose > 0 and getattr(self._out(), "isatty", lambda: False)()
        self.progress = None
        if self.interactive:
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
            from rich.console import Console

            self.progress = Progress(TextColumn("epoch {task.fields[epoch]}"), BarColumn(),
                                     TextColumn("{task.fields[info]}"), TimeRemainingColumn(),
                                     console=Console(file=self._out()), transient=False)
            self.progress.start()

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()
        if self.progress is not None:
            self.task = self.progress.add_task("", total=self.steps, epoch=f"{epoch + 1}/{self.epochs}", info="")

    def on_batch_end(self, batch, logs=None):
        if self.progress is not None:
            info = f"loss {logs['loss']:.4f}" if logs and "loss" in logs else ""
            self.progress.update(self.task, advance=1, info=info)

    def on_epoch_end(self, epoch, logs=None):
        text = "  ".join(f"{key} {value:.4f}" for key, value in (logs or {}).items() if key != "lr")
        if self.progress is not None:
            self.progress.update(self.task, info=text)
        elif self.verbose > 0:
            seconds = time.perf_counter() - self.started
            print(f"epoch {epoch + 1}/{self.epochs}  {text}  ({seconds:.2f} s)", file=self._out(), flush=True)

    def on_train_end(self, logs=None):
        if self.progress is not None:
            self.progress.stop()
