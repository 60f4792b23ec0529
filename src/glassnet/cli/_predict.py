"""``glassnet evaluate`` and ``glassnet predict``: a saved model on new rows, taken as model.json
describes them (:mod:`glassnet.cli._model`). Columns are found by name, in any order, other
columns ignored; labels are matched to the model's classes by name. A CSV file is read, predicted
(and written) :data:`CHUNK_ROWS` rows at a time, so memory does not grow with the file, and
predict's output file appears whole or not at all.
"""

from __future__ import annotations

import contextlib
import csv
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..data.csv_file import delimiter_hint, label_name, read_csv_chunks, read_csv_header
from ._common import CHUNK_ROWS, UsageError, csv_file, data_source, format_scores, output_file, quoted, written_whole
from ._model import ModelInfo, load_model

__all__ = ["evaluate", "predict"]


def evaluate(args, stream=None, chunk_rows: int = CHUNK_ROWS) -> dict:
    """Score the model ``args.model`` on ``args.data``: a whole CSV file, or a built-in dataset's
    test split (drawn with ``args.seed``). Prints and returns ``{"accuracy": ...}`` for a
    classifier, ``{"mse": ..., "r2": ...}`` for a regressor."""
    stream = stream or sys.stdout
    model, info = load_model(args.model)
    source = data_source(args.data)
    if source is None:
        rows = _dataset_rows(args.data, args.seed, info)
    else:
        rows = _file_rows(source, args.target or info.target, info, chunk_rows)
    scores, n_rows = _scores(model, rows, info.task)
    print(f"{format_scores(scores)} on {n_rows} samples", file=stream)
    return scores


def predict(args, stream=None, chunk_rows: int = CHUNK_ROWS) -> int:
    """Write the model's prediction for each row of the CSV file ``args.input`` to ``args.output``
    (None: ``stream``): the class and the class probabilities, or the predicted value. Returns the
    number of rows. Everything that can be checked is checked before the first row is predicted."""
    import glassnet as gn

    stream = stream or sys.stdout
    if stream is None and args.output is None:   # started with stdout closed (`>&-`)
        raise UsageError("standard output is closed: give --output FILE to write the predictions to")
    output = output_file(args.output, "--output") if args.output is not None else None
    model, info = load_model(args.model)
    path = csv_file(args.input)
    _check_columns(path, info)
    chunks = read_csv_chunks(path, list(info.features), chunk_rows=chunk_rows,
                             missing="nan" if info.impute else "error")
    header, to_rows = _output_format(info)
    first = next(chunks)   # read and predicted before anything is written: an empty file fails here
    rows = to_rows(gn.predict(model, first.X, batch_size=chunk_rows))
    n_rows = len(rows)
    with written_whole(output) if output else contextlib.nullcontext(stream) as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
        for chunk in chunks:
            writer.writerows(to_rows(gn.predict(model, chunk.X, batch_size=chunk_rows)))
            n_rows += len(chunk.X)
    if output:
        print(f"{n_rows} predictions written to {args.output}", file=stream)
    return n_rows


def _output_format(info: ModelInfo):
    """predict's header row, and the function from a chunk's outputs to its rows."""
    if info.task == "regression":
        return ["prediction"], lambda outputs: [[f"{value:.6g}"] for value in outputs.reshape(-1).tolist()]
    from glassnet import Tensor
    from glassnet.functional import softmax

    classes = info.classes or ()

    def to_rows(outputs):
        probabilities = softmax(Tensor(outputs)).numpy()
        # Python floats: formatting them is several times faster than formatting NumPy scalars
        return [[classes[k], *(f"{p:.6f}" for p in row)]
                for k, row in zip(outputs.argmax(axis=1).tolist(), probabilities.tolist())]

    return ["prediction", *(f"p_{name}" for name in classes)], to_rows


# ---- rows to score ---------------------------------------------------------------------------
def _check_columns(path: Path, info: ModelInfo) -> tuple:
    """The file's header, after checking that every feature the model takes is a column of it (by
    name; order and other columns do not matter); else one message naming the missing ones."""
    header = read_csv_header(path)
    missing = [name for name in info.features if name not in header]
    if missing:
        raise UsageError(f"{path} lacks the model's feature columns {quoted(missing)} (the model takes "
                         f"{quoted(info.features)}; the file has {quoted(header)}){delimiter_hint(header)}")
    return header


def _file_rows(path: Path, target: str, info: ModelInfo, chunk_rows: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``(X, y)`` chunks of a whole CSV file: the model's features, the labels as the indices of
    the model's classes (or the target's values, for a regressor)."""
    if target not in _check_columns(path, info):
        raise UsageError(f"{path}: no column named {target!r}, the model's target; give --target COLUMN "
                         "to score against another column")
    missing = "nan" if info.impute else "error"
    for chunk in read_csv_chunks(path, list(info.features), target=target, chunk_rows=chunk_rows, missing=missing):
        cells = chunk.labels or []
        where = [f"{path}, line {line}, column {target!r}" for line in chunk.lines]
        if info.classes is not None:
            yield chunk.X, _class_indices(cells, info.classes, where)
        else:
            yield chunk.X, _values(cells, where)


def _dataset_rows(name: str, seed: int, info: ModelInfo) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The test split of a built-in dataset, its columns and classes matched to the model's by name."""
    from glassnet import data

    dataset = data.load_dataset(name, seed=seed)
    if info.classes is None:
        raise UsageError(f"{name} is a classification dataset and the model a regressor")
    missing = [feature for feature in info.features if feature not in dataset.feature_names]
    if missing:
        raise UsageError(f"the {name} dataset lacks the model's feature columns {quoted(missing)} "
                         f"(it has {quoted(dataset.feature_names)})")
    columns = [dataset.feature_names.index(feature) for feature in info.features]
    names = dataset.target_names or ()
    where = [f"the {name} dataset's class"] * len(names)
    to_model = _class_indices(list(names), info.classes, where)   # dataset class k is model class to_model[k]
    yield dataset.X_test[:, columns], to_model[dataset.y_test]


def _class_indices(cells: list, classes: tuple, where: list) -> np.ndarray:
    """The index in ``classes`` of each label: the same text, or the same number ("2.0" is "2")."""
    index = {name: k for k, name in enumerate(classes)}
    y = np.empty(len(cells), dtype=np.int64)
    for i, cell in enumerate(cells):
        k = index.get(cell)
        if k is None:
            k = index.get(label_name(cell))
        if k is None:
            if cell == "":
                raise UsageError(f"{where[i]}: empty label")
            raise UsageError(f"{where[i]}: label {cell!r} is not one of the model's classes {quoted(classes)}")
        y[i] = k
    return y


def _values(cells: list, where: list) -> np.ndarray:
    """A regression target's cells as float64; a cell that is not a finite number is an error."""
    values = np.empty(len(cells), dtype=np.float64)
    for i, cell in enumerate(cells):
        try:
            values[i] = float(cell)
        except ValueError:
            values[i] = np.nan
        if not np.isfinite(values[i]):
            raise UsageError(f"{where[i]}: {cell!r} is not a number; a regression target must be finite numbers")
        if abs(values[i]) > np.finfo(np.float32).max:   # the model's outputs are float32; the square would overflow
            raise UsageError(f"{where[i]}: {cell} does not fit in float32 (largest "
                             f"{np.finfo(np.float32).max:.3g}), as the model's outputs")
    return values


def _scores(model, rows, task: str) -> tuple[dict, int]:
    """Accuracy, or mean squared error and R^2, summed over the chunks ``rows``: the variance of
    the targets is merged chunk by chunk (Chan et al.), so no chunk is kept."""
    import glassnet as gn

    n = correct = 0
    squared_error = mean = m2 = 0.0
    for X, y in rows:
        outputs = gn.predict(model, X, batch_size=CHUNK_ROWS)
        if task == "classification":
            correct += int(np.sum(outputs.argmax(axis=1) == y))
        else:
            squared_error += float(np.sum((outputs.reshape(-1).astype(np.float64) - y) ** 2))
            chunk_mean = float(np.mean(y))
            delta, total = chunk_mean - mean, n + len(y)
            m2 += float(np.sum((y - chunk_mean) ** 2)) + delta ** 2 * n * len(y) / total
            mean += delta * len(y) / total
        n += len(y)
    if task == "classification":
        return {"accuracy": correct / n}, n
    return {"mse": squared_error / n, "r2": 1.0 - squared_error / m2 if m2 > 0 else float("nan")}, n
