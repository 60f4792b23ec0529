"""glassnet evaluate and predict use what model.json stores: the features by name, the classes and
the task (issue 10, item 1). Each test reproduces a wrong number the old command printed and
compares the command's score with one computed here from the model and the rows."""

import json
import re
import shutil

import numpy as np
import pytest

import glassnet as gn
from cli_helpers import write_rows
from glassnet import cli

CLASSES = ("cat", "dog", "emu")


@pytest.fixture(scope="module")
def pets(tmp_path_factory):
    """A 3-class model trained on columns a, b, c of pets.csv, and the rows it was trained on."""
    folder = tmp_path_factory.mktemp("pets")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3)).round(4)
    kind = np.where(X[:, 0] + X[:, 1] > 0.6, "cat", np.where(X[:, 2] > 0, "dog", "emu"))
    write_rows(folder / "pets.csv", ["a", "b", "c", "kind"], [[*x, k] for x, k in zip(X, kind)])
    assert cli.main(["train", "--data", str(folder / "pets.csv"), "--target", "kind", "--epochs", "40",
                     "--quiet", "--seed", "0", "--out", str(folder / "run")]) == 0
    return folder, X, kind


def true_accuracy(model_path, X, labels):
    """The accuracy computed here: columns in the order trained (a, b, c), labels by class name."""
    predicted = gn.predict(gn.load(model_path), X).argmax(axis=1)
    return float(np.mean(np.array(CLASSES)[predicted] == labels))


def scored(capsys, *args):
    capsys.readouterr()
    assert cli.main(["evaluate", *args]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    return {name: float(value) for name, value in re.findall(r"(\w+) (-?[\d.]+|nan)", out.split(" on ")[0])}, out


def test_model_json_describes_the_model(pets):
    folder, _, _ = pets
    info = json.loads((folder / "run" / "model.json").read_text())
    assert info["task"] == "classification" and info["features"] == ["a", "b", "c"]
    assert info["target"] == "kind" and info["classes"] == list(CLASSES)


def test_columns_are_taken_by_name_in_any_order(pets, tmp_path, capsys):
    """The old command took the columns in file order: c,a,b scored 0.43 instead of 0.87."""
    folder, X, kind = pets
    model = str(folder / "run" / "model.safetensors")
    write_rows(tmp_path / "reordered.csv", ["c", "id", "kind", "a", "b"],
               [[x[2], f"row{i}", k, x[0], x[1]] for i, (x, k) in enumerate(zip(X, kind))])
    scores, out = scored(capsys, model, "--data", str(tmp_path / "reordered.csv"))
    assert "on 300 samples" in out
    truth = true_accuracy(model, X, kind)
    assert truth > 0.9
    assert scores["accuracy"] == pytest.approx(truth, abs=5e-5)


def test_a_file_without_one_class_is_scored_through_the_models_classes(pets, tmp_path, capsys):
    """The old command re-encoded the labels of the file: rows without "cat" scored 0.04."""
    folder, X, kind = pets
    model = str(folder / "run" / "model.safetensors")
    keep = kind != "cat"
    write_rows(tmp_path / "no_cats.csv", ["a", "b", "c", "kind"], [[*x, k] for x, k in zip(X[keep], kind[keep])])
    scores, out = scored(capsys, model, "--data", str(tmp_path / "no_cats.csv"), "--target", "kind")
    assert f"on {keep.sum()} samples" in out
    assert scores["accuracy"] == pytest.approx(true_accuracy(model, X[keep], kind[keep]), abs=5e-5)
    assert scores["accuracy"] > 0.8


def test_a_file_with_a_single_class_is_scored(pets, tmp_path, capsys):
    folder, X, kind = pets
    model = str(folder / "run" / "model.safetensors")
    keep = kind == "dog"
    write_rows(tmp_path / "dogs.csv", ["a", "b", "c", "kind"], [[*x, k] for x, k in zip(X[keep], kind[keep])])
    scores, _ = scored(capsys, model, "--data", str(tmp_path / "dogs.csv"))
    assert scores["accuracy"] == pytest.approx(true_accuracy(model, X[keep], kind[keep]), abs=5e-5)


@pytest.mark.parametrize("name", ["DATA.CSV", "data.Csv", "table.txt", "no_suffix"])
def test_a_file_is_scored_whole_whatever_its_name(pets, tmp_path, capsys, name):
    """DATA.CSV used to be split, and only its test part scored (the check was endswith('.csv'))."""
    folder, X, kind = pets
    model = str(folder / "run" / "model.safetensors")
    shutil.copy(folder / "pets.csv", tmp_path / name)
    scores, out = scored(capsys, model, "--data", str(tmp_path / name))
    assert "on 300 samples" in out
    assert scores["accuracy"] == pytest.approx(true_accuracy(model, X, kind), abs=5e-5)


def test_numeric_class_labels_match_as_numbers(tmp_path, capsys):
    """Classes 1, 2, 3 stored as "1", "2", "3" match the cells 2.0 or 2 of an evaluation file."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(120, 2)).round(3)
    grade = 1 + (X[:, 0] > 0) + (X[:, 1] > 0)
    write_rows(tmp_path / "grades.csv", ["u", "v", "grade"], [[*x, g] for x, g in zip(X, grade)])
    assert cli.main(["train", "--data", str(tmp_path / "grades.csv"), "--target", "grade", "--epochs", "30",
                     "--quiet", "--out", str(tmp_path / "run")]) == 0
    model = str(tmp_path / "run" / "model.safetensors")
    assert json.loads((tmp_path / "run" / "model.json").read_text())["classes"] == ["1", "2", "3"]
    write_rows(tmp_path / "floats.csv", ["v", "u", "grade"], [[x[1], x[0], f"{g}.0"] for x, g in zip(X, grade)])
    scores, _ = scored(capsys, model, "--data", str(tmp_path / "floats.csv"))
    predicted = 1 + gn.predict(gn.load(model), X).argmax(axis=1)
    assert scores["accuracy"] == pytest.approx(float(np.mean(predicted == grade)), abs=5e-5)


def test_a_regressor_stays_a_regressor_on_whole_number_targets(tmp_path, capsys):
    """The old command decided the task from the evaluation file: whole-number targets made it
    score a regressor as a classifier (r2 -1.32 reported where the truth is 0.97)."""
    rng = np.random.default_rng(2)
    X = rng.normal(size=(400, 2)).round(4)
    y = 40 * X[:, 0] - 25 * X[:, 1] + 100 + rng.normal(scale=2.0, size=400)
    write_rows(tmp_path / "prices.csv", ["size", "age", "price"], [[*x, round(t, 2)] for x, t in zip(X, y)])
    assert cli.main(["train", "--data", str(tmp_path / "prices.csv"), "--target", "price", "--hidden", "16",
                     "--epochs", "150", "--lr", "0.03", "--quiet", "--out", str(tmp_path / "run")]) == 0
    model = str(tmp_path / "run" / "model.safetensors")
    assert json.loads((tmp_path / "run" / "model.json").read_text())["task"] == "regression"
    whole = np.round(y[:60]).astype(int)
    assert len(set(whole.tolist())) < 60
    write_rows(tmp_path / "whole.csv", ["age", "size", "price"], [[x[1], x[0], t] for x, t in zip(X[:60], whole)])
    scores, out = scored(capsys, model, "--data", str(tmp_path / "whole.csv"))
    predicted = gn.predict(gn.load(model), X[:60]).reshape(-1).astype(np.float64)
    mse = float(np.mean((predicted - whole) ** 2))
    assert set(scores) == {"mse", "r2"}, out
    assert scores["mse"] == pytest.approx(mse, rel=1e-3)
    assert scores["r2"] == pytest.approx(1 - mse / np.var(whole), abs=1e-4)
    assert scores["r2"] > 0.9


def test_a_named_dataset_uses_its_test_split_and_the_stored_classes(tmp_path, capsys):
    assert cli.main(["train", "--data", "iris", "--epochs", "60", "--quiet", "--out", str(tmp_path)]) == 0
    model = str(tmp_path / "model.safetensors")
    scores, out = scored(capsys, model, "--data", "iris")
    iris = gn.data.load_iris(seed=0)
    assert f"on {len(iris.y_test)} samples" in out
    expected = float(np.mean(gn.predict(gn.load(model), iris.X_test).argmax(axis=1) == iris.y_test))
    assert scores["accuracy"] == pytest.approx(expected, abs=5e-5)


def error_of(capsys, *args):
    capsys.readouterr()
    assert cli.main(list(args)) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and captured.out == "", captured
    return lines[0]


def test_a_missing_feature_column_is_named_never_guessed(pets, tmp_path, capsys):
    folder, X, kind = pets
    model = str(folder / "run" / "model.safetensors")
    write_rows(tmp_path / "two.csv", ["a", "x", "kind"], [[x[0], x[1], k] for x, k in zip(X[:5], kind[:5])])
    for command in (["evaluate", model, "--data"], ["predict", model, "--input"]):
        message = error_of(capsys, *command, str(tmp_path / "two.csv"))
        assert "lacks the model's feature columns 'b', 'c'" in message
    # no column of the model at all: predict used to fall back to the file's columns by position
    write_rows(tmp_path / "other.csv", ["p", "q", "r"], X[:5].tolist())
    message = error_of(capsys, "predict", model, "--input", str(tmp_path / "other.csv"))
    assert "lacks the model's feature columns 'a', 'b', 'c'" in message


def test_a_label_the_model_never_saw_is_named(pets, tmp_path, capsys):
    folder, X, kind = pets
    model = str(folder / "run" / "model.safetensors")
    labels = list(kind[:10])
    labels[6] = "fox"
    write_rows(tmp_path / "fox.csv", ["a", "b", "c", "kind"], [[*x, k] for x, k in zip(X[:10], labels)])
    message = error_of(capsys, "evaluate", model, "--data", str(tmp_path / "fox.csv"))
    assert "line 8, column 'kind': label 'fox' is not one of the model's classes 'cat', 'dog', 'emu'" in message


def test_the_target_column_must_be_there(pets, tmp_path, capsys):
    folder, X, _ = pets
    model = str(folder / "run" / "model.safetensors")
    write_rows(tmp_path / "unlabelled.csv", ["a", "b", "c"], X[:5].tolist())
    message = error_of(capsys, "evaluate", model, "--data", str(tmp_path / "unlabelled.csv"))
    assert "no column named 'kind'" in message and "--target" in message


@pytest.mark.parametrize("text, message", [
    (None, "no model.json beside"),
    ("{not json", "is not JSON"),
    ("[1, 2]", "must hold a JSON object"),
    ('{"task": "clustering", "features": ["a"], "target": "y", "classes": null}', "'task' must be"),
    ('{"task": "regression", "features": "abc", "target": "y", "classes": null}',
     "'features' must be a list of column names"),
    ('{"task": "regression", "features": ["a", 3], "target": "y", "classes": null}',
     "'features' must be a list of column names"),
    ('{"task": "regression", "features": [], "target": "y", "classes": null}', "'features' is empty"),
    ('{"task": "regression", "features": ["a", "a", "c"], "target": "y", "classes": null}', "'a' twice"),
    ('{"task": "classification", "features": ["a", "b", "c"], "target": "y"}', "'classes' must be a list"),
    ('{"task": "classification", "features": ["a", "b", "c"], "target": "y", "classes": ["x", "y"]}',
     "2 classes but the model gives 3 outputs"),
    ('{"task": "regression", "features": ["a", "b", "c"], "target": "y", "classes": null}',
     "a regression model gives 1 output, this one gives 3"),
    ('{"task": "classification", "features": ["a", "b"], "target": "kind", "classes": ["cat", "dog", "emu"]}',
     "the model takes 3 features, model.json lists 2"),
    ('{"task": "classification", "features": ["a", "b", "c"], "target": 7, "classes": ["cat", "dog", "emu"]}',
     "'target' must be a column name"),
    ('{"task": "classification", "features": ["a", "b", "c"], "target": "kind", "classes": ["cat", "dog", "emu"],'
     ' "impute": 3}', "'impute' must be"),
])
def test_a_missing_or_malformed_model_json_is_one_clear_line(pets, tmp_path, capsys, text, message):
    folder, _, _ = pets
    shutil.copy(folder / "run" / "model.safetensors", tmp_path / "model.safetensors")
    if text is not None:
        (tmp_path / "model.json").write_text(text)
    model = str(tmp_path / "model.safetensors")
    for command in (["evaluate", model, "--data", str(folder / "pets.csv")],
                    ["predict", model, "--input", str(folder / "pets.csv")]):
        line = error_of(capsys, *command)
        assert message in line, line


def test_a_model_that_imputes_reads_gaps_as_nan(pets, tmp_path, capsys, monkeypatch):
    """The contract with --impute: when model.json says the model imputes, evaluate and predict read
    empty cells as NaN (the model fills them); otherwise an empty cell is an error naming it."""
    from glassnet.cli import _predict

    folder, X, kind = pets
    shutil.copy(folder / "run" / "model.safetensors", tmp_path / "model.safetensors")
    info = json.loads((folder / "run" / "model.json").read_text())
    (tmp_path / "model.json").write_text(json.dumps(info))
    model = str(tmp_path / "model.safetensors")
    write_rows(tmp_path / "gaps.csv", ["a", "b", "c", "kind"], [[1.0, "", 2.0, "cat"], [0.5, 1.0, 0.0, "dog"]])
    message = error_of(capsys, "predict", model, "--input", str(tmp_path / "gaps.csv"))
    assert "line 2, column 'b': empty cell" in message
    seen = []

    def spy(*args, **kwargs):
        seen.append(kwargs["missing"])
        chunks = list(read_csv_chunks(*args, **kwargs))
        seen.append(np.isnan(chunks[0].X).sum())
        raise RuntimeError("read")

    read_csv_chunks = _predict.read_csv_chunks
    monkeypatch.setattr(_predict, "read_csv_chunks", spy)
    # a model that imputes (model.json's "impute" must match its first layer)
    trained = gn.load(tmp_path / "model.safetensors")
    gn.save(gn.nn.Sequential(gn.nn.Impute(3, strategy="mean").fit(X), *trained), tmp_path / "model.safetensors")
    (tmp_path / "model.json").write_text(json.dumps({**info, "impute": "mean"}))
    for command in (["predict", model, "--input"], ["evaluate", model, "--data"]):
        with pytest.raises(RuntimeError, match="read"):
            cli.main([*command, str(tmp_path / "gaps.csv")])
    assert seen == ["nan", 1, "nan", 1]


def test_evaluate_reads_a_byte_order_mark(pets, tmp_path, capsys):
    folder, X, kind = pets
    model = str(folder / "run" / "model.safetensors")
    text = (folder / "pets.csv").read_text()
    (tmp_path / "bom.csv").write_text(text, encoding="utf-8-sig")
    scores, out = scored(capsys, model, "--data", str(tmp_path / "bom.csv"))
    assert "on 300 samples" in out
    assert scores["accuracy"] == pytest.approx(true_accuracy(model, X, kind), abs=5e-5)
