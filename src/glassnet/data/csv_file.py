"""Reading CSV files into arrays, with errors that name the column and the line: glassnet's one
CSV reader.

``glassnet.data.load_csv`` (a labelled file, split for training) is the public entry point; the
command line reads unlabelled features for ``glassnet predict`` with ``read_csv_features``. This
module only parses and checks.
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

import numpy as np

from .._checks import one_of

__all__ = ["MISSING_CELLS", "MissingValueError", "read_csv_dataset", "read_csv_features", "read_csv_header"]

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


def read_csv_dataset(path, target: str, delimiter: str = ",", task: str = "auto", *,
                     missing: str = "error"):
    """Parse a CSV file: ``(X, y, feature_names, target_names, name)``.

    ``X`` is float64 of shape ``(n_samples, n_features)``; for classification ``y`` holds int64
    class indices and ``target_names`` the class names; for regression ``y`` is float64 and
    ``target_names`` is None.

    ``missing`` says what a missing feature cell (one of :data:`MISSING_CELLS`, or any text that
    reads as NaN) becomes: ``"error"`` (default) raises :class:`MissingValueError` naming its line
    and column; ``"nan"`` makes it NaN in ``X``, for an ``nn.Impute`` layer to fill. An empty or
    NaN label is an error either way.

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
    one_of(missing, "missing", ("error", "nan"))
    path = _existing_file(path)
    header, rows = _read_rows(path, delimiter)

    if target not in header:
        raise ValueError(f"{path}: no column named {target!r}; available columns: "
                         + ", ".join(repr(column) for column in header))
    target_index = header.index(target)
    feature_index = [i for i in range(len(header)) if i != target_index]
    if not feature_index:
        raise ValueError(f"{path}: the only column is the target {target!r}; no feature columns")

    X = _numbers(header, rows, feature_index, path, missing)
    labels = [(line, row[target_index]) for line, row in rows]
    y, target_names = _encode_labels(labels, target, task, path)
    return X, y, tuple(header[i] for i in feature_index), target_names, path.stem


def read_csv_features(path, columns, delimiter: str = ",", *, missing: str = "error"):
    r"""The numeric columns ``columns`` of a CSV file (by header name, in that order), as float64
    ``X`` of shape ``(n_samples, len(columns))``: features without labels, to predict on.
    ``missing``: "error" (default) or "nan", as in :func:`read_csv_dataset`.

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
    if isinstance(columns, str) or not hasattr(columns, "__iter__"):
        raise TypeError(f"columns must be a list of column names (str), got {columns!r}")
    columns = list(columns)
    if not all(isinstance(name, str) for name in columns):
        raise TypeError(f"columns must be a list of column names (str), got {columns!r}")
    if not columns:
        raise ValueError("columns is empty: name at least one feature column to read")
    one_of(missing, "missing", ("error", "nan"))
    path = _existing_file(path)
    header, rows = _read_rows(path, delimiter)
    absent = [name for name in columns if name not in header]
    if absent:
        raise ValueError(f"{path}: no column named {absent[0]!r}; available columns: "
                         + ", ".join(repr(column) for column in header))
    return _numbers(header, rows, [header.index(name) for name in columns], path, missing)


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
    with open(path, newline="", encoding="utf-8-sig") as file:
        first = next((row for row in csv.reader(file, delimiter=delimiter) if row), None)
    if first is None:
        raise ValueError(f"{path} is empty; expected a header row and data rows")
    return tuple(_header(first, path))


def _existing_file(path) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or path-like, got {type(path).__name__} {path!r}")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"CSV file not found: {path}")
    return path


def _read_rows(path: Path, delimiter: str):
    """The stripped header and the data rows as ``(line number, cells)``; blank lines skipped."""
    # utf-8-sig drops the byte-order mark that spreadsheet programs put before the header
    with open(path, newline="", encoding="utf-8-sig") as file:
        reader = csv.reader(file, delimiter=delimiter)
        numbered = [(reader.line_num, row) for row in reader if row]
    if not numbered:
        raise ValueError(f"{path} is empty; expected a header row and data rows")
    header = _header(numbered[0][1], path)
    rows = [(line, [cell.strip() for cell in row]) for line, row in numbered[1:]]
    if not rows:
        raise ValueError(f"{path} has a header but no data rows")
    for line, row in rows:
        if len(row) != len(header):
            raise ValueError(f"{path}, line {line}: expected {len(header)} fields like the "
                             f"header, got {len(row)}")
    return header, rows


def _header(row: list, path: Path) -> list:
    """The header's names, stripped: each must be given, and given once."""
    header = [name.strip() for name in row]
    for i, name in enumerate(header):
        if not name:
            raise ValueError(f"{path}: column {i + 1} of the header has no name")
        if name in header[:i]:
            raise ValueError(f"{path}: the header names column {name!r} twice")
    return header


def _numbers(header: list, rows: list, index: list, path: Path, missing: str = "error") -> np.ndarray:
    """The columns ``index`` of the rows as float64 ``(n_rows, len(index))``, each cell checked."""
    X = np.empty((len(rows), len(index)), dtype=np.float64)
    for r, (line, row) in enumerate(rows):
        for c, i in enumerate(index):
            X[r, c] = _parse_number(row[i], header[i], line, path, missing)
    return X


def _parse_number(cell: str, column: str, line: int, path: Path, missing: str = "error") -> float:
    where = f"{path}, line {line}, column {column!r}"
    if cell in MISSING_CELLS:
        if missing == "nan":
            return math.nan
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


def _encode_labels(labels, target: str, task: str, path: Path):
    """Class indices and names for text or integer labels; float values for regression."""
    numbers = [_parse_label(cell, target, line, path) for line, cell in labels]
    numeric = all(number is not None for number in numbers)

    if task == "regression" or (task == "auto" and numeric
                                and not all(v.is_integer() for v in numbers)):
        for (line, cell), number in zip(labels, numbers):
            if number is None:
                raise ValueError(f"{path}, line {line}, column {target!r}: non-numeric value "
                                 f"{cell!r}; a regression target must be numbers")
        return np.array(numbers, dtype=np.float64), None

    if numeric:  # sort numerically (2 before 10) and name classes as written without ".0"
        classes, y = np.unique(np.array(numbers), return_inverse=True)
        names = tuple(str(int(v)) if v.is_integer() else str(v) for v in classes)
    else:
        classes, y = np.unique(np.array([cell for _, cell in labels]), return_inverse=True)
        names = tuple(str(v) for v in classes)
    if len(names) < 2:
        raise ValueError(f"{path}: column {target!r} holds a single class {names[0]!r}; "
                         "classification needs at least two")
    return y.astype(np.int64).reshape(-1), names


def _parse_label(cell: str, target: str, line: int, path: Path):
    """The label as a float, or None when it is text; an empty, NaN or infinite label is an error."""
    where = f"{path}, line {line}, column {target!r}"
    if cell == "":
        raise ValueError(f"{where}: empty label; fill in or drop missing values first")
    try:
        value = float(cell)
    except ValueError:
        return None
    if not math.isfinite(value):
        raise ValueError(f"{where}: {cell!r} is not a usable label (NaN or infinite)")
    return value
