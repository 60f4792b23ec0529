"""ModelCheckpoint: save the model during training, checked before training starts.

Example
-------
>>> import glassnet as gn
>>> checkpoint = gn.ModelCheckpoint("best.safetensors", monitor="val_accuracy")
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

from .._checks import boolean
from ._checks import is_number
from .callbacks import Callback, _mode, _monitored, check_monitor

__all__ = ["ModelCheckpoint"]


class ModelCheckpoint(Callback):
    """Save the model with ``glassnet.save`` at the end of an epoch: every epoch
    (``save_best_only=False``) or only when ``monitor`` improves on its best value.

    Parameters
    ----------
    path : str or Path
        The file; it may contain ``{epoch}`` (counted from 1), e.g. ``"model-{epoch}.safetensors"``.
        Its directory must exist.
    monitor, mode :
        As for :class:`EarlyStopping`.
    save_best_only : bool
        Overwrite ``path`` only when ``monitor`` improves.

    Attributes
    ----------
    saved : list of str
        The paths written, in order.

    Example
    -------
    >>> import glassnet as gn
    >>> checkpoint = gn.ModelCheckpoint("best.safetensors", monitor="val_accuracy")
    """

    _state_types = {"best": (int, float), "saved": (list,)}
    _state_checks = {"best": (is_number, "a number"),
                     "saved": (lambda paths: all(isinstance(p, str) for p in paths), "a list of paths")}

    def __init__(self, path: str | os.PathLike, monitor: str = "val_loss", save_best_only: bool = True,
                 mode: str = "auto") -> None:
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"ModelCheckpoint path must be a str or a path, got {type(path).__name__} {path!r}")
        self.path, self.monitor = os.fspath(path), monitor
        self.save_best_only = boolean(save_best_only, "save_best_only")
        try:
            self.path.format(epoch=1)
        except (KeyError, IndexError, ValueError) as error:
            raise ValueError(f"ModelCheckpoint path {self.path!r} may hold only the field {{epoch}}: {error}") from None
        self.mode = _mode(monitor, mode)
        self.saved: list[str] = []

    def check(self, trainer) -> None:
        """Before training: the monitored key will be logged (``save_best_only``), the file can
        be written (its folder exists and takes files, the path is not a folder), and the model
        can be saved (built of glassnet.nn layers: see :func:`glassnet.save`)."""
        from ..io import check_savable  # io sits beside the training layer; imported when first needed

        _check_writable(Path(self.path.format(epoch=1)))
        if Path(self.path.format(epoch=2)).parent != Path(self.path.format(epoch=1)).parent:
            for epoch in range(2, trainer.params.get("epochs", 1) + 1):  # a folder per epoch: each must take files
                _check_writable(Path(self.path.format(epoch=epoch)))
        if self.save_best_only:
            check_monitor("ModelCheckpoint", self.monitor, trainer)
        try:
            check_savable(trainer.model)
        except (TypeError, ValueError) as error:
            raise type(error)(f"ModelCheckpoint cannot save this model: {error}") from None

    def on_train_begin(self, logs=None):
        self.best = math.inf if self.mode == "min" else -math.inf
        self.saved = []

    def on_epoch_end(self, epoch, logs=None):
        from ..io import save  # io sits beside the training layer; imported when first needed

        if self.save_best_only:
            value = _monitored("ModelCheckpoint", self.monitor, logs or {})
            if not (value < self.best if self.mode == "min" else value > self.best):
                return
            self.best = value
        path = self.path.format(epoch=epoch + 1)
        save(self.model, path)
        self.saved.append(path)


def _check_writable(path: Path) -> None:
    """A ValueError unless a file can be written at ``path``: its folder exists, is a folder and
    takes a new file (tried with a nameless temporary file), and ``path`` is not a folder."""
    folder = path.parent
    if not folder.exists():
        raise ValueError(f"ModelCheckpoint: the folder {str(folder)!r} does not exist")
    if not folder.is_dir():
        raise ValueError(f"ModelCheckpoint: {str(folder)!r} is not a folder")
    if path.is_dir():
        raise ValueError(f"ModelCheckpoint: {str(path)!r} is a folder; give a file path such as "
                         f"{str(path / 'model.safetensors')!r}")
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise ValueError(f"ModelCheckpoint: cannot write into the folder {str(folder)!r} "
                         f"({error.strerror or error})") from None
