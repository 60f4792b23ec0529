"""Target columns of CSV files: classes or values, as :mod:`glassnet.data.csv_file` reads them.

:func:`infer_task` decides classification or regression from a column's cells; :func:`label_name`
is the class name a cell gets, so that "2.0" in one file is the class "2" of another. Whole
numbers are kept as Python ints, exactly: ids beyond 2**53 stay distinct.
"""

from __future__ import annotations

import math
import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import numpy as np

__all__ = ["MAX_INFERRED_CLASSES", "encode_labels", "infer_task", "label_name"]

MAX_INFERRED_CLASSES = 20
"""Whole-number targets with more distinct values than this are inferred to be regression."""


def infer_task(labels: Iterable[str]) -> tuple[str, str]:
    """``("classification" | "regression", reason)`` for a target column's cells, the rule that
    ``load_csv(task="auto")`` and ``glassnet train`` follow:

    - any cell that is not a number (text labels): classification;
    - a number with a fractional part: regression;
    - whole numbers only: classification when there are at most ``MAX_INFERRED_CLASSES`` (20)
      distinct values and each is seen at least twice (a stratified split needs two per
      class); else regression (prices, counts, years).

    Example
    -------
    >>> from glassnet.data.csv_file import infer_task
    >>> infer_task(["1", "2", "2", "1"])
    ('classification', '2 whole-number target values, each seen at least twice')
    >>> infer_task(["129000", "95000", "240500"])
    ('regression', '3 whole-number values, 3 of them seen only once')
    """
    numbers = []
    for cell in labels:
        try:
            numbers.append(_label_number(cell))
        except ValueError:
            return "classification", "the target holds text"
    if not all(isinstance(value, int) or value.is_integer() for value in numbers):
        return "regression", "the target holds numbers with fractions"
    counts = Counter(numbers)
    if len(counts) > MAX_INFERRED_CLASSES:
        return "regression", f"{len(counts)} distinct whole-number values, more than {MAX_INFERRED_CLASSES}"
    once = sum(1 for count in counts.values() if count < 2)
    if once:
        return "regression", f"{len(counts)} whole-number values, {once} of them seen only once"
    return "classification", f"{len(counts)} whole-number target values, each seen at least twice"


def label_name(cell: str) -> str:
    """The class name a label cell gets from ``load_csv``: a number as written without a trailing
    ``.0``, text as it is, so that ``"2.0"`` in one file matches the class ``"2"`` of another.

    Example
    -------
    >>> from glassnet.data.csv_file import label_name
    >>> label_name("2.0"), label_name("0.50"), label_name("cat")
    ('2', '0.5', 'cat')
    """
    try:
        value = _label_number(cell)
    except ValueError:
        return cell
    return _number_name(value) if isinstance(value, int) or math.isfinite(value) else cell


def encode_labels(labels, target: str, task: str, path: Path):
    """Class indices and names for text or integer labels; float values for regression."""
    numbers = [_parse_label(cell, target, line, path) for line, cell in labels]
    if task == "auto":
        task, _ = infer_task(cell for _, cell in labels)

    if task == "regression":
        for (line, cell), number in zip(labels, numbers):
            if number is None:
                raise ValueError(f"{path}, line {line}, column {target!r}: non-numeric value "
                                 f"{cell!r}; a regression target must be numbers")
        return np.array(numbers, dtype=np.float64), None

    if all(number is not None for number in numbers):  # sort numerically (2 before 10)
        # Python's numbers, not NumPy's: ids beyond 2**53 stay distinct (float64 would merge them)
        distinct = sorted(set(numbers))
        index = {number: k for k, number in enumerate(distinct)}
        y = np.array([index[number] for number in numbers], dtype=np.int64)
        names = tuple(_number_name(number) for number in distinct)
    else:
        classes, y = np.unique(np.array([cell for _, cell in labels]), return_inverse=True)
        names = tuple(str(v) for v in classes)
    if len(names) < 2:
        raise ValueError(f"{path}: column {target!r} holds a single class {names[0]!r}; "
                         "classification needs at least two")
    return y.astype(np.int64).reshape(-1), names


def _number_name(value: int | float) -> str:
    """A numeric class's name: as written, without ".0" (2.0 is the class "2")."""
    if isinstance(value, int):
        return str(value)
    return str(int(value)) if value.is_integer() else str(value)


def _label_number(cell: str) -> int | float:
    """A label cell as a number: an int when written as one (exact, whatever its size: float64
    would make 12345678901234567890 into ...7168), else a float; text is a ValueError."""
    try:
        value = int(cell)
    except ValueError:
        return float(cell)
    if abs(value) > sys.float_info.max:   # as "1e999": infinite, refused as a label
        return math.inf if value > 0 else -math.inf
    return value


def _parse_label(cell: str, target: str, line: int, path: Path):
    """The label as a number, or None when it is text; an empty, NaN or infinite label is an error."""
    where = f"{path}, line {line}, column {target!r}"
    if cell == "":
        raise ValueError(f"{where}: empty label; fill in or drop missing values first")
    try:
        value = _label_number(cell)
    except ValueError:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{where}: {cell!r} is not a usable label (NaN or infinite)")
    return value
