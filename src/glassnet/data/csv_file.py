"""Reading CSV files into arrays, with errors that name the column and the line: glassnet's one
CSV reader.

``glassnet.data.load_csv`` (a labelled file, split for training) is the public entry point. The
command line reads in chunks with ``read_csv_chunks`` (``glassnet evaluate`` and ``glassnet
predict`` stream, so their memory does not grow with the file) and infers a target's task with
``infer_task``. Text is UTF-8, with or without the byte-order mark spreadsheets put first, or
UTF-16 with its mark. This module only parses and checks; the target column's classes or values
are :mod:`glassnet.data.csv_labels`'.
"""

from __future__ import annotations

import codecs
import csv
import math
import os
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .._checks import one_of, positive_int, too_large_for
from .csv_labels import MAX_INFERRED_CLASSES, encode_labels, infer_task, label_name

__all__ = ["MAX_CHUNK_CELLS", "MAX_INFERRED_CLASSES", "MISSING_CELLS", "CsvChunk", "MissingValueError",
           "delimiter_hint", "infer_task", "label_name", "read_csv_chunks", "read_csv_dataset", "read_csv_features",
           "read_csv_header"]

# The spellings of a missing feature value (compared after stripping spaces, case as written):
# empty, the R / pandas / spreadsheet ones, and the "?" of the UCI repository's files. Any text
# that float() reads as NaN ("nan", "-NaN", ...) is missing too.
MISSING_CELLS = frozenset({"", "NA", "N/A", "n/a", "NaN", "nan", "NULL", "null", "None", "?"})


class MissingValueError(ValueError):
    """A feature cell is missing (empty, "NA", NaN, ...) and ``missing="error"``. ``where`` names
    the file, line, column and value; the message adds what to do."""

    def __init__(self, where: str) -> None:
        super().__init__(f"{where}; fill in or drop missing values first, or read them as NaN "
                         "(missing='nan') to impute them")
        self.where = where

MAX_CHUNK_CELLS = 1 << 18
"""The most cells :func:`read_csv_chunks` holds at a time (a chunk of a wide file has fewer rows)."""



def read_csv_dataset(path, target: str, delimiter: str = ",", task: str = "auto", *, missing: str = "error"):
    """Parse a CSV file: ``(X, y, feature_names, target_names, name)``.

    ``X`` is float64 of shape ``(n_samples, n_features)``; for classification ``y`` holds int64
    class indices and ``target_names`` the class names; for regression ``y`` is float64 and
    ``target_names`` is None. ``task="auto"`` decides by :func:`infer_task`. ``missing`` is as
    for :func:`read_csv_chunks` (the features only: a label is never missing). A feature or a
    regression target beyond float32's range (3.4e38) is a ValueError naming its cell: glassnet's
    datasets hold float32, where it would become infinite.

    Example
    -------
    >>> import pathlib, tempfile
    >>> from glassnet.data.csv_file import read_csv_dataset
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = pathlib.Path(folder.name) / "pets.csv"
    >>> _ = path.write_text("weight,height,kind\\n4.0,25,cat\\n30.5,60,dog\\n3.5,23,cat\\n")
    >>> X, y, feature_names, target_names, name = read_csv_dataset(path, target="kind")
    >>> X.shape, y, feature_names, target_names, name
    ((3, 2), array([0, 1, 0]), ('weight', 'height'), ('cat', 'dog'), 'pets')
    >>> folder.cleanup()
    """
    if not isinstance(target, str):
        raise TypeError(f"target must be a column name (str), got {type(target).__name__} {target!r}")
    path = _existing_file(path)
    header = read_csv_header(path, delimiter)
    if target not in header:
        raise ValueError(f"{path}: no column named {target!r}; available columns: {_quoted(header)}"
                         f"{delimiter_hint(header, delimiter)}")
    features = [name for name in header if name != target]
    if not features:
        raise ValueError(f"{path}: the only column is the target {target!r}; no feature columns")

    chunks = list(read_csv_chunks(path, features, target=target, delimiter=delimiter, missing=missing))
    X = np.concatenate([chunk.X for chunk in chunks])
    labels = [(line, cell) for chunk in chunks for line, cell in zip(chunk.lines, chunk.labels or ())]
    lines = [line for line, _ in labels]
    _check_float32(X, lines, features, path)
    y, target_names = encode_labels(labels, target, task, path)
    if target_names is None:
        _check_float32(y.reshape(-1, 1), lines, [target], path)
    return X, y, tuple(features), target_names, path.stem


def read_csv_features(path, columns, delimiter: str = ",", *, missing: str = "error"):
    r"""The numeric columns ``columns`` of a CSV file (by header name, in that order), as float64
    ``X`` of shape ``(n_samples, len(columns))``: features without labels, to predict on.

    ``missing="nan"`` reads a missing cell (:data:`MISSING_CELLS`, or NaN) as NaN (for a model
    that imputes); by default it is a :class:`MissingValueError`.

    Example
    -------
    >>> import pathlib, tempfile
    >>> from glassnet.data.csv_file import read_csv_features
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = pathlib.Path(folder.name) / "new.csv"
    >>> _ = path.write_text("b,a,id\n1.5,2,x\n3,4,y\n")
    >>> read_csv_features(path, ["a", "b"])
    array([[2. , 1.5],
           [4. , 3. ]])
    >>> folder.cleanup()
    """
    chunks = read_csv_chunks(path, columns, delimiter=delimiter, missing=missing)
    return np.concatenate([chunk.X for chunk in chunks])


class CsvChunk(NamedTuple):
    """Consecutive data rows of a CSV file, as :func:`read_csv_chunks` yields them.

    Attributes
    ----------
    X : ndarray of float64, shape (n_rows, n_columns)
        The columns asked for, in the order asked.
    labels : list of str, length n_rows, or None
        The target column's cells as written (stripped); None when no target was asked for.
    lines : list of int, length n_rows
        The line of the file each row ends on, for error messages.
    """

    X: np.ndarray
    labels: list[str] | None
    lines: list[int]


def read_csv_chunks(path, columns, *, target: str | None = None, chunk_rows: int = 4096,
                    delimiter: str = ",", missing: str = "error") -> Iterator[CsvChunk]:
    r"""Read a CSV file ``chunk_rows`` rows at a time: memory is bounded by the chunk, not the file.
    A chunk of a wide file has fewer rows, so that it holds at most :data:`MAX_CHUNK_CELLS` cells.

    The header is read and the columns are looked up at once, so a missing column is an error
    before any row is read; a row's error (a non-numeric cell, a missing field) comes with the
    chunk that holds it. A file without data rows raises at the first chunk.

    Parameters
    ----------
    path : str or path-like
    columns : list of str
        Numeric columns to read as ``X``, by header name, in this order (empty: only ``target``).
    target : str or None
        A column to return as text in ``labels``.
    chunk_rows : int
    delimiter : str
    missing : {"error", "nan"}
        Whether a missing cell of ``columns`` (:data:`MISSING_CELLS`, or any text that reads as
        NaN) is a :class:`MissingValueError` naming its line and column, or reads as NaN.

    Yields
    ------
    CsvChunk
        ``X`` of shape ``(n, len(columns))``, ``labels`` and ``lines``, with ``n <= chunk_rows``
        and ``n * n_header_columns <= MAX_CHUNK_CELLS`` (but at least one row).

    Example
    -------
    >>> import pathlib, tempfile
    >>> from glassnet.data.csv_file import read_csv_chunks
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = pathlib.Path(folder.name) / "new.csv"
    >>> _ = path.write_text("b,a,kind\n1.5,2,cat\n3,4,dog\n5,6,cat\n")
    >>> [(chunk.X.tolist(), chunk.labels) for chunk in read_csv_chunks(path, ["a", "b"], target="kind", chunk_rows=2)]
    [([[2.0, 1.5], [4.0, 3.0]], ['cat', 'dog']), ([[6.0, 5.0]], ['cat'])]
    >>> folder.cleanup()
    """
    columns = _column_names(columns, allow_empty=target is not None)
    if target is not None and not isinstance(target, str):
        raise TypeError(f"target must be a column name (str) or None, got {type(target).__name__} {target!r}")
    chunk_rows = positive_int(chunk_rows, "chunk_rows")
    one_of(missing, "missing", ("error", "nan"))
    path = _existing_file(path)
    header = list(read_csv_header(path, delimiter))
    absent = [name for name in [*columns, *([target] if target is not None else [])] if name not in header]
    if absent:
        named = f"column named {absent[0]!r}" if len(absent) == 1 else f"columns named {_quoted(absent)}"
        raise ValueError(f"{path}: no {named}; available columns: {_quoted(header)}{delimiter_hint(header)}")
    index = [header.index(name) for name in columns]
    target_index = None if target is None else header.index(target)
    # a row is held as its cells (Python strings) until it is parsed: fewer rows of a wide file
    chunk_rows = max(1, min(chunk_rows, MAX_CHUNK_CELLS // len(header)))
    return _chunks(path, header, index, target_index, chunk_rows, delimiter, missing)


def read_csv_header(path, delimiter: str = ",") -> tuple:
    r"""The column names of a CSV file's header row, stripped; checked as the readers check them.

    Example
    -------
    >>> import pathlib, tempfile
    >>> from glassnet.data.csv_file import read_csv_header
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = pathlib.Path(folder.name) / "new.csv"
    >>> _ = path.write_text(" a ,b\n1,2\n")
    >>> read_csv_header(path)
    ('a', 'b')
    >>> folder.cleanup()
    """
    path = _existing_file(path)
    with _open_text(path) as file:
        first = next(_numbered_rows(csv.reader(file, delimiter=delimiter), path), None)
    if first is None:
        raise ValueError(f"{path} is empty; expected a header row and data rows")
    return tuple(_header(first[1], path))


# ---- reading ---------------------------------------------------------------------------------

def _existing_file(path) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or path-like, got {type(path).__name__} {path!r}")
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path} is a folder, not a CSV file")
    if not path.is_file():
        raise FileNotFoundError(f"CSV file not found: {path}")
    return path


def _open_text(path: Path):
    """The file as text: UTF-16 when it starts with that byte-order mark, else UTF-8, whose mark
    (spreadsheets write one) ``utf-8-sig`` drops before the header's first name."""
    with open(path, "rb") as raw:
        start = raw.read(2)
    utf16 = start in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
    return open(path, newline="", encoding="utf-16" if utf16 else "utf-8-sig")


def _numbered_rows(reader, path: Path) -> Iterator[tuple[int, list[str]]]:
    """``(line number, stripped cells)`` of each row that is not blank; a file that is not text or
    not CSV (a field beyond the csv module's limit) is a ValueError naming the file."""
    try:
        for row in reader:
            if row:
                yield reader.line_num, [cell.strip() for cell in row]
    except UnicodeDecodeError as error:
        bad = error.object[error.start:error.start + 1]
        raise ValueError(f"{path} is not UTF-8 text (it holds the byte {bad!r}); save it as "
                         "CSV UTF-8") from None
    except csv.Error as error:
        raise ValueError(f"{path}, line {reader.line_num}: not readable as CSV ({error})") from None


def _chunks(path: Path, header: list, index: list, target_index: int | None, chunk_rows: int,
            delimiter: str, missing: str) -> Iterator[CsvChunk]:
    found = False
    with _open_text(path) as file:
        rows = _numbered_rows(csv.reader(file, delimiter=delimiter), path)
        next(rows)  # the header, read and checked already
        while block := list(islice(rows, chunk_rows)):
            found = True
            # a line of spaces (an editor's last line) is blank, as an empty line is; in a one-column
            # file it is a missing cell, and a row of empty cells always stays a row
            block = [(line, row) for line, row in block if len(header) == 1 or row != [""]]
            for line, row in block:
                if len(row) != len(header):
                    raise ValueError(f"{path}, line {line}: expected {len(header)} fields like the "
                                     f"header, got {len(row)}")
            labels = None if target_index is None else [row[target_index] for _, row in block]
            yield CsvChunk(_numbers(header, block, index, path, missing), labels, [line for line, _ in block])
    if not found:
        raise ValueError(f"{path} has a header but no data rows")


def _column_names(columns, allow_empty: bool) -> list:
    if isinstance(columns, str) or not hasattr(columns, "__iter__"):
        raise TypeError(f"columns must be a list of column names (str), got {columns!r}")
    columns = list(columns)
    if not all(isinstance(name, str) for name in columns):
        raise TypeError(f"columns must be a list of column names (str), got {columns!r}")
    if not columns and not allow_empty:
        raise ValueError("columns is empty: name at least one feature column to read")
    return columns


def _header(row: list, path: Path) -> list:
    """The header's names, stripped: each must be given, and given once."""
    header = [name.strip() for name in row]
    for i, name in enumerate(header):
        if not name:
            raise ValueError(f"{path}: column {i + 1} of the header has no name")
        if name in header[:i]:
            raise ValueError(f"{path}: the header names column {name!r} twice")
    return header


def delimiter_hint(header, delimiter: str = ",") -> str:
    """``"; the file seems separated by ';' ..."`` when a one-column header holds another usual
    separator (a spreadsheet in a comma-decimal locale writes ``;``), else ``""``.

    >>> from glassnet.data.csv_file import delimiter_hint
    >>> delimiter_hint(["a;b;label"]), delimiter_hint(["a", "b"])
    ("; the file seems separated by ';', not ','", '')
    """
    if len(header) != 1:
        return ""
    found = [mark for mark in (";", "\t", "|") if mark != delimiter and mark in header[0]]
    return f"; the file seems separated by {found[0]!r}, not {delimiter!r}" if found else ""


def _quoted(names) -> str:
    return ", ".join(repr(name) for name in names)


def _numbers(header: list, rows: list, index: list, path: Path, missing: str) -> np.ndarray:
    """The columns ``index`` of the rows as float64 ``(n_rows, len(index))``, each cell checked."""
    shape = (len(rows), len(index))
    try:  # the common case, all finite numbers: no per-cell checks
        X = np.array([[float(row[i]) for i in index] for _, row in rows], dtype=np.float64).reshape(shape)
        if np.isfinite(X).all():
            return X
    except ValueError:
        pass
    # a cell is not a finite number: find it and name it (or read a gap as NaN)
    return np.array([[_parse_number(row[i], header[i], line, path, missing) for i in index]
                     for line, row in rows], dtype=np.float64).reshape(shape)


def _parse_number(cell: str, column: str, line: int, path: Path, missing: str = "error") -> float:
    """A feature cell as a float; a missing one (:data:`MISSING_CELLS`, or NaN) is NaN with
    ``missing="nan"``, else a :class:`MissingValueError`."""
    where = f"{path}, line {line}, column {column!r}"
    if cell.strip() in MISSING_CELLS:
        if missing == "nan":
            return math.nan
        cell = cell.strip()
        what = "empty cell" if cell == "" else ("NaN value" if cell.lower() == "nan" else f"missing value {cell!r}")
        raise MissingValueError(f"{where}: {what}")
    try:
        value = float(cell)
    except ValueError:
        raise ValueError(f"{where}: non-numeric value {cell!r}; feature columns must be "
                         "numbers") from None
    if math.isnan(value):
        if missing == "nan":
            return math.nan
        raise MissingValueError(f"{where}: NaN value")
    if math.isinf(value):
        raise ValueError(f"{where}: infinite value {cell!r}")
    return value


def _check_float32(values: np.ndarray, lines: list, columns: list, path: Path) -> None:
    """Every value fits in float32, as a dataset stores it; else a ValueError naming the first cell
    that does not (a cast would make it infinite)."""
    too_big = too_large_for(values, np.float32)   # NaN (a gap to impute) is not marked
    if too_big.any():
        row, column = np.argwhere(too_big)[0]
        raise ValueError(f"{path}, line {lines[row]}, column {columns[column]!r}: {values[row, column]:g} does "
                         f"not fit in float32 (largest {np.finfo(np.float32).max:.3g}), as glassnet stores "
                         "data; scale the column down")
