"""What the commands share: the one-line usage error, where ``--data`` points, scores, and output
files that are checked before any work and written whole or not at all."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TextIO

import numpy as np

CHUNK_ROWS = 4096
"""Rows read, predicted and written at a time by evaluate and predict: memory stays bounded."""


class UsageError(Exception):
    """A problem with what the user asked for: reported in one line, exit status 2."""


def quoted(names: Sequence[str], limit: int = 8) -> str:
    """``'a', 'b', 'c'``; a long list is cut after ``limit`` names, so that a message stays one
    short line.

    >>> from glassnet.cli._common import quoted
    >>> quoted(["a", "b"]), quoted([f"x{i}" for i in range(12)], limit=3)
    ("'a', 'b'", "'x0', 'x1', 'x2' and 9 more")
    """
    shown = ", ".join(repr(name) for name in names[:limit])
    return shown if len(names) <= limit else f"{shown} and {len(names) - limit} more"


def data_source(name: str) -> Path | None:
    """The CSV file ``--data`` names (any name: it is a file when a file of that name exists), or
    None for a built-in dataset; anything else is a UsageError."""
    from ..data import DATASETS

    path = Path(name)
    if path.exists() or path.suffix or os.sep in name or (os.altsep and os.altsep in name):
        return csv_file(name)
    if name not in DATASETS:
        raise UsageError(f"unknown dataset {name!r}; choose one of {', '.join(sorted(DATASETS))} or a CSV file")
    return None


def csv_file(name: str) -> Path:
    """``name`` as an existing file, or a UsageError."""
    path = Path(name)
    if path.is_dir():
        raise UsageError(f"{name} is a folder, not a CSV file")
    if path.exists() and not path.is_file():   # read twice (the header first): a pipe cannot be
        raise UsageError(f"{name} is not a regular file (a pipe or a device); save the CSV to a file first")
    if not path.is_file():
        raise UsageError(f"no such file: {name}")
    return path


# ---- scores ----------------------------------------------------------------------------------
def accuracy(model, X, y) -> float:
    from ..train import predict

    return float(np.mean(predict(model, X).argmax(axis=1) == y))


def score(model, X, y, task: str) -> dict:
    """Accuracy for a classifier; mean squared error and R^2 for a regressor."""
    if task == "classification":
        return {"accuracy": accuracy(model, X, y)}
    from ..train import predict

    predicted = predict(model, X).reshape(-1)
    mse = float(np.mean((predicted - y) ** 2))
    return {"mse": mse, "r2": 1.0 - mse / float(np.var(y)) if np.var(y) > 0 else float("nan")}


def format_scores(scores: dict) -> str:
    return "  ".join(f"{name} {value:.4f}" for name, value in scores.items())


# ---- output files ----------------------------------------------------------------------------
def output_file(name: str, option: str) -> Path:
    """The file ``option`` (e.g. ``--output``) asks to write, checked before any work: not a
    folder, in a folder that exists and can be written. A link is followed: its target is written."""
    if not name:   # Path("") is the current folder
        raise UsageError(f"{option} needs a file name")
    path = Path(name)
    if path.is_dir():
        raise UsageError(f"{option} {name} is a folder; give a file name such as {path / 'predictions.csv'}")
    if path.exists() and not path.is_file():   # /dev/null, /dev/stdout, a pipe: written into as it is
        if not os.access(path, os.W_OK):
            raise UsageError(f"{option} {name}: permission denied")
        return path
    target = Path(os.path.realpath(path))
    folder = target.parent
    if not folder.is_dir():
        raise UsageError(f"{option} {name}: no folder {folder} to write it in")
    if not os.access(folder, os.W_OK | os.X_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise UsageError(f"{option} {name}: permission denied")
    return target


def output_folder(name: str, option: str, files: Sequence[str]) -> Path:
    """The folder ``option`` (e.g. ``--out``) asks to write ``files`` into, checked before any
    work: not a file, below a folder that can be written, no folder where a file goes."""
    path = Path(name)
    if path.exists() and not path.is_dir():
        raise UsageError(f"{option} {name} is a file, not a folder")
    if path.is_symlink() and not path.exists():
        raise UsageError(f"{option} {name} is a link to nothing")
    existing = path
    while not existing.exists():    # the folder is made after training, under its first existing parent
        existing = existing.parent
    if not existing.is_dir():
        raise UsageError(f"{option} {name}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {name}: permission denied")
    for file in files:
        if (path / file).is_dir():
            raise UsageError(f"{option} {name}: {path / file} is a folder; glassnet train writes a file there")
    return path


@contextlib.contextmanager
def written_whole(path: Path) -> Iterator[TextIO]:
    """A text file written whole or not at all: written to a temporary file beside ``path``, then
    renamed onto it. On an error the temporary file is removed and an old file at ``path`` is left
    as it was; a new file gets the usual mode (0666 less the umask), an old one keeps its own.

    A ``path`` that is not a regular file (``/dev/null``, ``/dev/stdout``, a named pipe) is written
    straight into, as ``>`` does: a rename would put a file where the device or pipe was."""
    if path.exists() and not path.is_file():
        with open(path, "w", newline="", encoding="utf-8") as file:
            yield file
        return
    from .._safetensors_file import new_temporary_file  # the one model files are written through

    temporary, handle = new_temporary_file(str(path.parent), path.name)   # mode 0666 less the umask
    try:
        with open(handle, "w", newline="", encoding="utf-8") as file:
            yield file
        if path.exists():
            os.chmod(temporary, path.stat().st_mode & 0o7777)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
