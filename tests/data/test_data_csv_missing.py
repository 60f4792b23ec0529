"""Missing cells in a CSV file: an error naming the line and column by default, NaN with
missing="nan" (for nn.Impute to fill), and nothing else changes meaning."""

import math

import numpy as np
import pytest

from glassnet.data import load_csv
from glassnet.data.csv_file import MISSING_CELLS, MissingValueError, read_csv_dataset, read_csv_features


def write(tmp_path, text, name="table.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("cell, what", [
    ("", "empty cell"), (" ", "empty cell"), ("NA", "missing value 'NA'"), ("?", "missing value '?'"),
    ("N/A", "missing value 'N/A'"), ("null", "missing value 'null'"), ("NaN", "NaN value"),
    ("-nan", "NaN value"), ("NAN", "NaN value"),
])
def test_a_missing_cell_is_an_error_by_default(tmp_path, cell, what):
    path = write(tmp_path, f"a,b,label\n1,2,x\n3,{cell},y\n")
    for read in (lambda: load_csv(path, target="label"), lambda: read_csv_features(path, ["a", "b"])):
        with pytest.raises(MissingValueError) as error:
            read()
        assert str(error.value) == (f"{path}, line 3, column 'b': {what}; fill in or drop missing values "
                                    "first, or read them as NaN (missing='nan') to impute them")
        assert error.value.where == f"{path}, line 3, column 'b': {what}"
        assert isinstance(error.value, ValueError)


def test_missing_nan_reads_every_spelling_as_nan_and_numbers_as_before(tmp_path):
    spellings = sorted(MISSING_CELLS) + ["-NaN", "nan"]
    rows = [f"{i}.5,{cell},{'x' if i % 2 else 'y'}" for i, cell in enumerate(spellings)]
    path = write(tmp_path, "a,b,label\n" + "\n".join(rows) + "\n")
    X, y, features, classes, _ = read_csv_dataset(path, "label", missing="nan")
    assert np.isnan(X[:, 1]).all() and features == ("a", "b") and classes == ("x", "y")
    np.testing.assert_array_equal(X[:, 0], [i + 0.5 for i in range(len(spellings))])
    np.testing.assert_array_equal(y, [1 - i % 2 for i in range(len(spellings))])
    np.testing.assert_array_equal(read_csv_features(path, ["b", "a"], missing="nan"), X[:, ::-1])
    assert {"", "NA", "N/A", "NaN", "nan", "?", "NULL", "None"} <= MISSING_CELLS


def test_load_csv_with_missing_nan_keeps_the_gaps_in_both_splits(tmp_path):
    lines = [f"{'' if i % 3 == 0 else i},{i * 2},{'cat' if i % 2 else 'dog'}" for i in range(40)]
    path = write(tmp_path, "a,b,label\n" + "\n".join(lines) + "\n")
    data = load_csv(path, target="label", missing="nan", seed=0)
    both = np.concatenate([data.X_train, data.X_test])
    assert data.X_train.dtype == np.float32 and np.isnan(both[:, 0]).sum() == 14
    assert not np.isnan(both[:, 1]).any()
    assert sorted(both[~np.isnan(both[:, 0]), 0].tolist()) == [i for i in range(40) if i % 3]


@pytest.mark.parametrize("text, message", [
    ("a,b,label\n1,inf,x\n2,3,y\n", "line 2, column 'b': infinite value 'inf'"),
    ("a,b,label\n1,hello,x\n2,3,y\n", "line 2, column 'b': non-numeric value 'hello'"),
    ("a,b,label\n1,2,\n2,3,y\n", "line 2, column 'label': empty label"),
    ("a,b,label\n1,2,nan\n2,3,y\n", "line 2, column 'label': 'nan' is not a usable label"),
])
def test_missing_nan_fills_features_only(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ValueError) as error:
        load_csv(path, target="label", missing="nan")
    assert message in str(error.value) and not isinstance(error.value, MissingValueError)


def test_bad_missing_argument(tmp_path):
    path = write(tmp_path, "a,label\n1,x\n2,y\n")
    for read in (lambda m: load_csv(path, target="label", missing=m),
                 lambda m: read_csv_features(path, ["a"], missing=m),
                 lambda m: read_csv_dataset(path, "label", missing=m)):
        with pytest.raises(ValueError, match="missing must be 'error' or 'nan', got 'drop'"):
            read("drop")
        with pytest.raises(TypeError, match="missing must be 'error' or 'nan'"):
            read(math.nan)
