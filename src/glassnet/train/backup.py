"""Resumable training: :class:`BackupAndRestore`, Keras' callback of the same name and arguments.

A backup is everything ``fit`` needs to carry on as if it had never stopped: the weights and
buffers, the optimizer's state, the state of every random generator the run draws from (fit's,
glassnet's default one, those layers hold), the epoch and batch reached with the generator state
the epoch's order was drawn from, the history, and each callback's ``state_dict()``.

It is one safetensors file, ``<backup_dir>/backup.safetensors``: the arrays as tensors and the
rest as JSON text in its metadata (no pickle: reading a backup never runs code). It is written
atomically (a temporary file beside it, flushed and fsynced, then ``os.replace``), so a process
killed at any moment leaves the previous backup or the new one, never half of one. The metadata
also holds a signature of the run (the model's layers and tensors, the optimizer and its
hyperparameters, fit's arguments, a SHA-256 of the data): a backup is used only by a fit that
would have written it, and any other fit gets an error saying what differs, before anything
changes.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import os
from typing import Any

import numpy as np

from .. import _safetensors_file as files
from .._checks import boolean, positive_int
from .._version import __version__
from ..random import get_rng
from ._checks import generator_problem, is_count
from ._state_codec import contiguous, decode, encode
from .callbacks import Callback
from .progress import ProgressBar

_FORMAT, _FORMAT_VERSION, _FILE = "glassnet.backup", "1", "backup.safetensors"
_STATE_KEYS = {"epoch", "batch", "stop", "optimizer", "callbacks", "generators", "epoch_start", "start"}


class BackupAndRestore(Callback):
    """Back up the whole training state to ``backup_dir`` during ``fit``, and resume from it
    when ``fit`` is started again with the same model, data and arguments after an interruption
    (a crash, a kill, a power cut): the run then ends with the same weights, bit for bit, and the
    same history as a run that was never interrupted.

    A backup is written at the end of every epoch and, when ``save_freq`` is a number, also every
    ``save_freq`` batches (counted over the whole run). When ``fit`` starts and ``backup_dir``
    holds a backup, it is checked and loaded, and training continues from the epoch and batch it
    recorded; a backup that is damaged, or written by a fit with another model, other data or
    other arguments, raises ValueError naming the problem, and nothing is changed. When training
    ends (all epochs, or stopped by a callback), the backup is deleted if ``delete_checkpoint``.

    Randomness is restored only where glassnet keeps it: fit's generator (the shuffling, the
    validation split, ``augment``), glassnet's default generator (``gn.seed``) and the
    generators that layers hold. A callback of your own is resumed only if it overrides
    ``state_dict`` / ``load_state_dict``; its settings (``patience``, ...) are not compared.

    Parameters
    ----------
    backup_dir : str or PathLike
        The folder for the backup (made if missing). Use one folder per run.
    save_freq : "epoch" or int
        "epoch": back up at the end of every epoch; n > 0: also after every n-th batch, so that a
        killed run loses at most n batches (Keras backs up only every n batches then).
    delete_checkpoint : bool
        Delete the backup when training ends (an interrupted run keeps it, whatever this says).

    Attributes
    ----------
    resumed_at : (epoch, batch) or None
        Where the last fit continued from a backup (counted from 0), None when it started afresh.

    Example
    -------
    >>> import os, tempfile, numpy as np, glassnet as gn
    >>> from glassnet import nn, optim
    >>> X = np.random.default_rng(0).normal(size=(64, 2)); y = (X[:, 0] > 0).astype(int)
    >>> model = nn.Sequential(nn.Linear(2, 2, rng=0))
    >>> folder = tempfile.TemporaryDirectory()
    >>> backup = gn.BackupAndRestore(os.path.join(folder.name, "backup"), save_freq=2)
    >>> history = gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.Adam(model.parameters()),
    ...                  epochs=3, batch_size=16, callbacks=[backup], seed=0, verbose=0)
    >>> os.path.exists(backup.path)       # deleted once the run has ended
    False
    >>> folder.cleanup()
    """

    def __init__(self, backup_dir, save_freq="epoch", delete_checkpoint: bool = True) -> None:
        if not isinstance(backup_dir, (str, os.PathLike)) or not isinstance(os.fspath(backup_dir), str):
            raise TypeError(f"backup_dir must be a str or os.PathLike folder, got {type(backup_dir).__name__}")
        if isinstance(save_freq, str) and save_freq != "epoch":
            raise ValueError(f"save_freq must be 'epoch' or a positive number of batches, got {save_freq!r}")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq if save_freq == "epoch" else positive_int(save_freq, "save_freq")
        self.delete_checkpoint = boolean(delete_checkpoint, "delete_checkpoint")
        self._saved: dict | None = None
        self._resumed_epoch_start = None
        self.resumed_at: tuple[int, int] | None = None

    @property
    def path(self) -> str:
        """The backup file, ``<backup_dir>/backup.safetensors``."""
        return os.path.join(self.backup_dir, _FILE)

    # ---- what fit calls, in this order --------------------------------------------------------
    def _open(self, rng: np.random.Generator) -> np.random.Generator:
        """Before fit draws anything: read and check the backup, if there is one (nothing is
        applied yet), and return the generator the validation split draws from: fit's own, or
        for a resumed run one in the state fit's generator had when the first run started."""
        if os.path.exists(self.backup_dir) and not os.path.isdir(self.backup_dir):
            raise ValueError(f"BackupAndRestore: backup_dir '{self.backup_dir}' is a file, not a folder")
        existing = os.path.abspath(self.backup_dir)
        while not os.path.exists(existing):  # the folder is made at the first backup: it must be possible
            existing = os.path.dirname(existing)
        if not os.path.isdir(existing) or not os.access(existing, os.W_OK | os.X_OK):
            raise ValueError(f"BackupAndRestore cannot write its backup to '{self.backup_dir}': '{existing}' is "
                             "not a folder it may write to")
        self._start = rng.bit_generator.state
        self._saved = _read(self.path) if os.path.exists(self.path) else None  # a FIFO there: refused now
        if self._saved is None:
            return rng
        self._start = self._saved["start"]
        problem = generator_problem(type(rng.bit_generator), self._start)
        if problem:
            raise ValueError(self._bad(f"its generator state does not fit {type(rng.bit_generator).__name__} "
                                       f"({problem})"))
        split = np.random.Generator(type(rng.bit_generator)())
        split.bit_generator.state = self._start
        return split

    def _check(self, model, optimizer, rng, train: tuple, validation, settings: dict) -> list:
        """Before any change: fail if the optimizer cannot be saved, or if the backup read by
        :meth:`_open` was written by another run than this one (its signature) or does not fit it.
        Return fit's callbacks with this one last, so that it saves what the others did."""
        if not all(hasattr(optimizer, name) for name in ("state_dict", "load_state_dict")):
            raise TypeError(f"BackupAndRestore needs an optimizer with state_dict() and load_state_dict(), "
                            f"got {type(optimizer).__name__}")
        callbacks = [c for c in settings.pop("callbacks") if c is not self] + [self]
        data = {"training data": train, "validation data": validation}
        self._signature = _signature(model, optimizer, data, settings)
        if self._saved is None:
            return callbacks
        differences = _differences(self._saved["signature"], self._signature)
        if differences:
            raise ValueError(
                f"the backup '{self.path}' was written by a different run: " + "; ".join(differences)
                + ". Nothing was changed: resume with the same model, data and fit arguments, or delete "
                  "the backup to start afresh")
        self._check_fits(self._saved, model, rng)
        return callbacks

    def _check_fits(self, saved: dict, model, rng) -> None:
        weights = {name: (array.shape, array.dtype) for name, array in model._state_items()}
        found = {name: (array.shape, array.dtype) for name, array in saved["model"].items()}
        if weights != found:
            raise ValueError(self._bad("its weights do not match the model's names, shapes and dtypes"))
        if saved["batch"] and not isinstance(saved["epoch_start"], dict):
            raise ValueError(self._bad("it stopped within an epoch but lacks the epoch's generator state"))
        generators = _generators(model, rng)
        names = [state.get("bit_generator") if isinstance(state, dict) else None for state in saved["generators"]]
        if names != [type(generator.bit_generator).__name__ for generator in generators]:
            raise ValueError(self._bad(f"it holds the states of the generators {names}, and this run draws "
                                       f"from {len(generators)}"))
        states = [*zip(generators, saved["generators"]), *([(rng, saved["epoch_start"])] if saved["batch"] else [])]
        for generator, state in states:
            problem = generator_problem(type(generator.bit_generator), state)
            if problem:
                raise ValueError(self._bad(f"it holds a generator state that does not fit ({problem})"))

    def _attach(self, callback_list, rng: np.random.Generator) -> tuple[int, int]:
        """After ``on_train_begin``: remember what a backup saves and, when resuming, load the
        backup; return the epoch and batch to start from ((0, 0) for a new run)."""
        self._rng = rng
        self._kept = [c for c in callback_list if not isinstance(c, (ProgressBar, BackupAndRestore))]
        saved, self._saved = self._saved, None
        self.resumed_at = None
        if saved is None:
            return 0, 0
        epochs, steps = self.params["epochs"], self.params["steps"]
        if saved["epoch"] > epochs or saved["batch"] >= steps or (saved["batch"] and saved["epoch"] == epochs):
            raise ValueError(self._bad(f"it is at epoch {saved['epoch']}, batch {saved['batch']}, beyond "
                                       f"{epochs} epochs of {steps} batches"))
        if [name for name, _ in saved["callbacks"]] != [type(c).__name__ for c in self._kept]:
            raise ValueError(self._bad(f"it holds the states of the callbacks {[n for n, _ in saved['callbacks']]}, "
                                       f"this run has {[type(c).__name__ for c in self._kept]}"))
        generators = _generators(self._run()[0], rng)
        before = self._snapshot(generators)
        try:
            self._apply(saved, generators)
        except Exception as error:  # noqa: BLE001 (whatever failed, what was applied goes back)
            self._apply(before, generators)
            if not isinstance(error, (TypeError, ValueError, KeyError, IndexError)):
                raise
            raise ValueError(self._bad(f"{error}; nothing was changed")) from None
        self._resumed_epoch_start = saved["epoch_start"] if saved["batch"] else None
        self.resumed_at = (saved["epoch"], saved["batch"])
        stopped_between_epochs = saved["stop"] and not saved["batch"]
        return (self.params["epochs"] if stopped_between_epochs else saved["epoch"]), saved["batch"]

    def _skip(self, batches, first: int):
        """The batches of a resumed epoch after its first ``first``: the epoch's order is drawn
        again from the generator state the epoch started with, then every generator goes back to
        the state the backup recorded."""
        if not first:
            return batches
        current = self._rng.bit_generator.state
        self._rng.bit_generator.state = self._epoch_start
        for _ in range(first):
            next(batches, None)
        self._rng.bit_generator.state = current
        return iter(()) if self.trainer is not None and self.trainer.stop_training else batches

    # ---- the hooks ------------------------------------------------------------------------------
    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        if self._resumed_epoch_start is not None:
            self._epoch_start, self._resumed_epoch_start = self._resumed_epoch_start, None
        else:
            self._epoch_start = self._rng.bit_generator.state

    def on_batch_end(self, batch, logs=None):
        steps = self.params["steps"]
        if self.save_freq != "epoch" and batch + 1 < steps and (self._epoch * steps + batch + 1) % self.save_freq == 0:
            self._write(self._epoch, batch + 1)

    def on_epoch_end(self, epoch, logs=None):
        self._write(epoch + 1, 0)

    def on_train_end(self, logs=None):
        if not self.delete_checkpoint:
            return
        for leftover in [self.path, *glob.glob(os.path.join(glob.escape(self.backup_dir), f".{_FILE}.*.tmp"))]:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(leftover)
        with contextlib.suppress(OSError):
            os.rmdir(self.backup_dir)  # only if empty: the folder may hold the user's other files

    # ---- reading and writing ----------------------------------------------------------------------
    def _run(self):
        """(model, optimizer, trainer): what fit gave with set_context, before the first hook."""
        if self.model is None or self.optimizer is None or self.trainer is None:
            raise RuntimeError("BackupAndRestore works only inside fit")
        return self.model, self.optimizer, self.trainer

    def _snapshot(self, generators) -> dict:
        model, optimizer, trainer = self._run()
        return {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "callbacks": [(type(c).__name__, c.state_dict()) for c in self._kept],
                "generators": [g.bit_generator.state for g in generators], "stop": trainer.stop_training}

    def _apply(self, state: dict, generators) -> None:
        model, optimizer, trainer = self._run()
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        for callback, (_, callback_state) in zip(self._kept, state["callbacks"]):
            callback.load_state_dict(callback_state)
        for generator, generator_state in zip(generators, state["generators"]):
            generator.bit_generator.state = generator_state
        trainer.stop_training = state["stop"]

    def _write(self, epoch: int, batch: int) -> None:
        model, optimizer, trainer = self._run()
        state = {"epoch": epoch, "batch": batch, "stop": trainer.stop_training, "optimizer": optimizer.state_dict(),
                 "callbacks": [[type(c).__name__, c.state_dict()] for c in self._kept],
                 "generators": [g.bit_generator.state for g in _generators(model, self._rng)],
                 "epoch_start": self._epoch_start if batch else None, "start": self._start}
        tensors = {f"model.{name}": contiguous(array) for name, array in model._state_items()}
        text = json.dumps(encode(state, tensors, "the training state"), allow_nan=False)
        metadata = {"format": _FORMAT, "format_version": _FORMAT_VERSION, "glassnet_version": __version__,
                    "signature": json.dumps(self._signature, allow_nan=False), "state": text}
        os.makedirs(self.backup_dir, exist_ok=True)
        files.write_atomically(self.path, tensors, metadata)
        _fsync_folder(self.backup_dir)  # the rename itself survives a power cut

    def _bad(self, problem: str) -> str:
        return f"cannot resume from the backup '{self.path}': {problem}"


def _read(path: str) -> dict:
    """The backup at ``path`` as ``{"signature", "model", <_STATE_KEYS>}``, its structure checked;
    a damaged or foreign file raises ValueError naming the problem."""
    def bad(problem: str) -> ValueError:
        return ValueError(f"cannot resume from the backup '{path}': {problem}; delete it to start afresh")

    try:
        metadata, tensors = files.read(path)
    except files.ModelFileError as error:
        raise bad(str(error).replace(f"cannot load '{path}': ", "")) from None
    if metadata.get("format") != _FORMAT:
        raise bad(f"its format is {metadata.get('format')!r}, not {_FORMAT!r}")
    if metadata.get("format_version") != _FORMAT_VERSION:
        raise bad(f"its format version is {metadata.get('format_version')!r}; glassnet {__version__} "
                  f"reads version {_FORMAT_VERSION}")
    try:
        strict: dict[str, Any] = {"parse_constant": _no_constant, "object_pairs_hook": files.unique_keys}
        signature = json.loads(metadata.get("signature", ""), **strict)
        state = decode(json.loads(metadata.get("state", ""), **strict), tensors)
    except (ValueError, RecursionError) as error:
        raise bad(f"its metadata is not a valid backup ({str(error)[:200]})") from None
    if not isinstance(signature, dict) or not isinstance(state, dict) or set(state) != _STATE_KEYS:
        raise bad(f"its state must hold exactly {sorted(_STATE_KEYS)}")
    checks = {"epoch": is_count(state["epoch"]), "batch": is_count(state["batch"]),
              "stop": isinstance(state["stop"], bool),
              "optimizer": isinstance(state["optimizer"], dict),
              "callbacks": isinstance(state["callbacks"], list) and all(
                  isinstance(c, list) and len(c) == 2 and isinstance(c[0], str) and isinstance(c[1], dict)
                  for c in state["callbacks"]),
              "generators": isinstance(state["generators"], list), "start": isinstance(state["start"], dict)}
    wrong = [key for key, good in checks.items() if not good]
    if wrong:
        raise bad(f"its entries {wrong} are not what a backup holds")
    state_arrays = [name for name in tensors if name.startswith("state.")]  # those decode() could reach
    model = {name[len("model."):]: array for name, array in tensors.items() if name.startswith("model.")}
    if len(model) + len(state_arrays) != len(tensors):
        raise bad("it holds tensors that are neither weights nor state")
    return {"signature": signature, "model": model, **state}


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def run_settings(epochs, batch_size, shuffle, seed, l1, l2, validation_split, loss, metrics, augment,
                 callbacks, clip_grad_norm=None) -> dict:
    """fit's arguments as :meth:`BackupAndRestore._check` takes them: names for the loss, the
    metrics, augment and the callbacks (which it also takes as they are, under "callbacks")."""
    return {"epochs": epochs, "batch_size": batch_size, "shuffle": shuffle, "seed": seed, "l1": l1, "l2": l2,
            "clip_grad_norm": clip_grad_norm,
            "validation_split": validation_split, "loss": getattr(loss, "__name__", type(loss).__name__),
            "metrics": [key for key, _ in metrics],
            "augment": None if augment is None else getattr(augment, "__name__", type(augment).__name__),
            "callbacks": callbacks, "callback names": [
                type(c).__name__ for c in callbacks if not isinstance(c, (ProgressBar, BackupAndRestore))]}


def _generators(model, rng: np.random.Generator) -> list:
    """Every generator the run draws from, each once: fit's, glassnet's default one, then those
    the layers hold (in the order of ``model.modules()``, the same in every run of the model)."""
    found = [rng, get_rng(None)]
    for module in model.modules():
        found += [value for value in vars(module).values() if isinstance(value, np.random.Generator)]
    unique: dict = {}
    for generator in found:
        unique.setdefault(id(generator), generator)
    return list(unique.values())


def _signature(model, optimizer, data: dict, settings: dict) -> dict:
    """What makes a run, as JSON (tuples become lists): checked when a backup is resumed."""
    signature = {
        "layers": [[name, type(module).__name__] for name, module in model.named_modules()],
        "weights": [[name, list(array.shape), str(array.dtype)] for name, array in model._state_items()],
        "optimizer": [type(optimizer).__name__, optimizer.state_dict().get("param_groups", [])],
        **settings, **{name: _digest(arrays) for name, arrays in data.items()},
    }
    plain = json.dumps(signature, default=lambda value: value.item() if hasattr(value, "item") else repr(value))
    return json.loads(plain)


def _digest(arrays) -> list | None:
    """Shapes, dtypes and a SHA-256 of the values: the same data or not, without keeping it."""
    if arrays is None:
        return None
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(np.ascontiguousarray(array).view(np.uint8).reshape(-1).data)
    return [[list(a.shape) for a in arrays], [str(a.dtype) for a in arrays], digest.hexdigest()]


def _differences(saved: dict, current: dict) -> list:
    """What differs between two signatures, in words."""
    out = []
    for key in sorted(set(saved) | set(current)):
        there, here = saved.get(key), current.get(key)
        if there == here:
            continue
        if key in ("layers", "weights", "training data", "validation data"):
            out.append(f"its {key} differ from this run's")
        else:
            out.append(f"{key} is {str(there)[:120]} there and {str(here)[:120]} here")
    return out


def _fsync_folder(folder: str) -> None:
    with contextlib.suppress(OSError):  # not every system opens folders (Windows)
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
