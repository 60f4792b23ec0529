"""load_csv: round trips with numeric and text labels, regression, and one clear error per problem."""

import numpy as np
import pytest

from glassnet.data import load_csv, load_dataset


def write(tmp_path, text, name="table.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_round_trip_with_string_labels(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3)).round(4)
    species = np.array(["versicolor", "setosa", "virginica", "setosa"] * 10)
    lines = ["length,label,width,depth"]      # the label column need not be the last one
    lines += [f"{a},{s},{b},{c}" for (a, b, c), s in zip(X, species)]
    path = write(tmp_path, "\n".join(lines) + "\n")

    dataset = load_csv(path, target="label", test_size=0.25, seed=1)
    assert dataset.name == "table" and dataset.task == "classification"
    assert dataset.feature_names == ("length", "width", "depth")
    assert dataset.target_names == ("setosa", "versicolor", "virginica")   # sorted
    assert dataset.X_train.dtype == np.float32 and dataset.y_train.dtype == np.int64
    assert dataset.X_train.shape == (30, 3) and dataset.X_test.shape == (10, 3)
    # every row comes back once, with its own label
    rows = {tuple(x): dataset.target_names[y] for x, y in
            zip(np.concatenate([dataset.X_train, dataset.X_test]).tolist(),
                np.concatenate([dataset.y_train, dataset.y_test]))}
    expected = {tuple(x): s for x, s in zip(X.astype(np.float32).tolist(), species)}
    assert rows == expected
    # stratified: setosa is half of the data and half of the test set
    assert np.bincount(dataset.y_test)[0] == 5
    again = load_csv(path, target="label", test_size=0.25, seed=1)
    np.testing.assert_array_equal(again.X_train, dataset.X_train)


def test_integer_labels_are_classes_sorted_numerically(tmp_path):
    path = write(tmp_path, "x,y\n" + "".join(f"{i},{label}\n" for i, label in
                                            enumerate([10, 2, -1, 2, 10, -1] * 3)))
    dataset = load_csv(path, "y", test_size=0.5, seed=0)
    assert dataset.target_names == ("-1", "2", "10")
    for X, y in [(dataset.X_train, dataset.y_train), (dataset.X_test, dataset.y_test)]:
        original = np.array([10, 2, -1, 2, 10, -1] * 3)[X[:, 0].astype(int)]
        np.testing.assert_array_equal(np.array(dataset.target_names)[y], original.astype(str))


def test_float_labels_make_a_regression_set(tmp_path):
    path = write(tmp_path, "a,b,price\n" + "".join(f"{i},{2 * i},{i * 1.5}\n" for i in range(20)))
    dataset = load_csv(path, target="price", seed=0)
    assert dataset.task == "regression" and dataset.target_names is None
    assert dataset.n_classes is None
    assert dataset.y_train.dtype == np.float32
    np.testing.assert_array_equal(dataset.y_train, dataset.X_train[:, 0] * 1.5)
    doses = write(tmp_path, "a,dose\n" + "".join(f"{i},{(i % 3) / 2}\n" for i in range(12)),
                  name="doses.csv")
    assert load_csv(doses, target="dose").task == "regression"
    as_classes = load_csv(doses, target="dose", task="classification")
    assert as_classes.target_names == ("0", "0.5", "1")
    np.testing.assert_array_equal(as_classes.y_train, as_classes.X_train[:, 0].astype(int) % 3)


def test_spreadsheet_details_bom_spaces_blank_lines_and_delimiter(tmp_path):
    path = tmp_path / "semicolons.csv"
    path.write_text("\ufeff a ; b ;kind\n1;2; x\n\n3;4;y\n5;6;x\n7;8;y\n", encoding="utf-8")
    dataset = load_csv(path, target="kind", test_size=0.5, delimiter=";")
    assert dataset.feature_names == ("a", "b") and dataset.target_names == ("x", "y")
    assert sorted(np.concatenate([dataset.X_train, dataset.X_test])[:, 0].tolist()) == [1, 3, 5, 7]


def test_load_dataset_accepts_a_csv_path(tmp_path):
    path = write(tmp_path, "u,v\n" + "1,0\n2,1\n" * 4)
    dataset = load_dataset(str(path), target="v", test_size=0.5)
    assert dataset.name == "table" and dataset.n_features == 1


GOOD_HEADER = "a,b,label\n"


@pytest.mark.parametrize("text, message", [
    ("", "is empty; expected a header row and data rows"),
    (GOOD_HEADER, "has a header but no data rows"),
    (GOOD_HEADER + "1,2,x\n3,hello,y\n",
     "line 3, column 'b': non-numeric value 'hello'; feature columns must be numbers"),
    (GOOD_HEADER + "1,2,x\n,4,y\n", "line 3, column 'a': empty cell; fill in or drop missing values first"),
    (GOOD_HEADER + "1,NaN,x\n3,4,y\n", "line 2, column 'b': NaN value; fill in or drop missing values first"),
    (GOOD_HEADER + "1,2,x\n3,inf,y\n", "line 3, column 'b': infinite value 'inf'"),
    (GOOD_HEADER + "1,2,x\n3,4,\n", "line 3, column 'label': empty label"),
    (GOOD_HEADER + "1,2,x\n3,4,nan\n", "line 3, column 'label': 'nan' is not a usable label"),
    (GOOD_HEADER + "1,2,x\n3,4\n", "line 3: expected 3 fields like the header, got 2"),
    (GOOD_HEADER + "1,2,x\n3,4,x\n",
     "column 'label' holds a single class 'x'; classification needs at least two"),
    ("a,,label\n1,2,x\n", "column 2 of the header has no name"),
    ("a,a,label\n1,2,x\n", "the header names column 'a' twice"),
    ("label\nx\ny\n", "the only column is the target 'label'; no feature columns"),
])
def test_each_problem_gets_one_clear_error(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ValueError) as error:
        load_csv(path, target="label")
    assert str(error.value).startswith(str(path))
    assert message in str(error.value)


def test_missing_column_lists_the_available_ones(tmp_path):
    path = write(tmp_path, "sepal,petal,species\n1,2,a\n")
    with pytest.raises(ValueError) as error:
        load_csv(path, target="Species")
    assert str(error.value) == (f"{path}: no column named 'Species'; available columns: "
                                "'sepal', 'petal', 'species'")


def test_missing_file_and_bad_arguments(tmp_path):
    missing = tmp_path / "nowhere.csv"
    with pytest.raises(FileNotFoundError, match=f"CSV file not found: {missing}"):
        load_csv(missing, target="y")
    path = write(tmp_path, "a,y\n1,0\n2,1\n")
    with pytest.raises(TypeError, match="target must be a column name"):
        load_csv(path, target=1)
    with pytest.raises(ValueError,
                       match="task must be 'auto', 'classification' or 'regression', got 'cluster'"):
        load_csv(path, target="y", task="cluster")
    text_labels = write(tmp_path, "a,y\n1,cat\n2,dog\n", name="pets.csv")
    with pytest.raises(ValueError, match="line 2, column 'y': non-numeric value 'cat'; a regression target"):
        load_csv(text_labels, target="y", task="regression")
    with pytest.raises(ValueError, match=r"cannot split the 2 samples of 'pets' with test_size=0.25"):
        load_csv(text_labels, target="y")


def test_read_csv_features_by_name_and_header(tmp_path):
    from glassnet.data.csv_file import read_csv_features, read_csv_header

    path = write(tmp_path, "\ufeff id , b,a\nfirst,1.5,2\n\nsecond,3,4e1\n")
    assert read_csv_header(path) == ("id", "b", "a")
    X = read_csv_features(path, ["a", "b"])
    assert X.dtype == np.float64
    np.testing.assert_array_equal(X, [[2.0, 1.5], [40.0, 3.0]])
    with pytest.raises(ValueError, match="no column named 'c'; available columns: 'id', 'b', 'a'"):
        read_csv_features(path, ["a", "c"])
    with pytest.raises(ValueError, match="line 2, column 'id': non-numeric value 'first'"):
        read_csv_features(path, ["id"])
    with pytest.raises(ValueError, match="columns is empty"):
        read_csv_features(path, [])
    with pytest.raises(TypeError, match="columns must be a list of column names"):
        read_csv_features(path, "a")
    with pytest.raises(FileNotFoundError, match="CSV file not found"):
        read_csv_header(tmp_path / "nothing.csv")
    with pytest.raises(ValueError, match="names column 'a' twice"):
        read_csv_header(write(tmp_path, "a,a\n1,2\n", name="twice.csv"))
    with pytest.raises(ValueError, match="is empty"):
        read_csv_header(write(tmp_path, "\n\n", name="empty.csv"))
