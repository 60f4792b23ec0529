"""glassnet train --task, and the inference when it is not given (issue 10, item 2): whole-number
prices used to become a 100-class problem or a stratification error."""

import json
import os

import numpy as np
import pytest

from glassnet import cli
from glassnet.data import load_csv
from glassnet.data.csv_file import infer_task


def write_target(path, values, name="price"):
    rng = np.random.default_rng(0)
    lines = [f"size,age,{name}"] + [f"{rng.normal():.3f},{rng.normal():.3f},{v}" for v in values]
    path.write_text("\n".join(lines) + "\n")
    return path


def prices(n=200, seed=0):
    return np.random.default_rng(seed).integers(50_000, 400_000, size=n) // 1000 * 1000


def train(capsys, path, *extra, target="price"):
    capsys.readouterr()
    code = cli.main(["train", "--data", str(path), "--target", target, "--epochs", "2", "--quiet",
                     "--out", str(path.parent / "run"), *extra])
    return code, capsys.readouterr()


def test_whole_number_prices_are_inferred_as_regression(tmp_path, capsys):
    code, out = train(capsys, write_target(tmp_path / "houses.csv", prices()))
    assert code == 0, out.err
    assert ("task: regression (inferred: " in out.out
            and "distinct whole-number values, more than 20; use --task classification to override)" in out.out)
    assert json.loads((tmp_path / "run" / "model.json").read_text())["task"] == "regression"
    assert "r2" in out.out and "accuracy" not in out.out


def test_few_whole_numbers_are_classes_and_the_inference_is_printed(tmp_path, capsys):
    code, out = train(capsys, write_target(tmp_path / "grades.csv", [1, 2, 3] * 20, name="grade"), target="grade")
    assert code == 0, out.err
    assert ("task: classification (inferred: 3 whole-number target values, each seen at least twice; "
            "use --task regression to override)") in out.out
    assert json.loads((tmp_path / "run" / "model.json").read_text())["classes"] == ["1", "2", "3"]


def test_task_flag_overrides_the_inference(tmp_path, capsys):
    path = write_target(tmp_path / "grades.csv", [1, 2, 3] * 20, name="grade")
    code, out = train(capsys, path, "--task", "regression", target="grade")
    assert code == 0, out.err
    assert "task: regression\n" in out.out and "inferred" not in out.out
    assert json.loads((tmp_path / "run" / "model.json").read_text())["task"] == "regression"
    code, out = train(capsys, write_target(tmp_path / "houses.csv", [100, 250] * 30), "--task", "classification")
    assert code == 0, out.err
    assert json.loads((tmp_path / "run" / "model.json").read_text())["classes"] == ["100", "250"]


def test_classification_of_prices_is_a_clear_error_before_training(tmp_path, capsys):
    code, out = train(capsys, write_target(tmp_path / "houses.csv", prices()), "--task", "classification")
    assert code == 2 and out.out == ""
    lines = out.err.strip().splitlines()
    assert len(lines) == 1 and "least populated" not in lines[0]   # not scikit-learn's words
    assert "--task classification:" in lines[0] and "only 1 row" in lines[0]
    assert "use --task regression" in lines[0]
    assert not (tmp_path / "run").exists()


def test_too_many_classes_for_the_test_split_is_a_clear_error(tmp_path, capsys):
    code, out = train(capsys, write_target(tmp_path / "few.csv", list(range(10)) * 3), "--task", "classification")
    assert code == 2
    assert "10 classes need at least 10 test rows" in out.err


def test_text_targets_cannot_be_regressed(tmp_path, capsys):
    code, out = train(capsys, write_target(tmp_path / "pets.csv", ["cat", "dog"] * 10, name="kind"),
                      "--task", "regression", target="kind")
    assert code == 2 and "non-numeric value 'cat'; a regression target must be numbers" in out.err


def test_a_named_dataset_keeps_its_task(tmp_path, capsys):
    code = cli.main(["train", "--data", "xor", "--task", "regression", "--out", str(tmp_path)])
    assert code == 2
    assert "xor is a classification dataset" in capsys.readouterr().err


@pytest.mark.parametrize("labels, task, reason", [
    (["cat", "dog", "cat"], "classification", "the target holds text"),
    (["1.5", "2", "3"], "regression", "the target holds numbers with fractions"),
    (["0", "1"] * 5, "classification", "2 whole-number target values, each seen at least twice"),
    ([str(v) for v in range(21)] * 2, "regression", "21 distinct whole-number values, more than 20"),
    (["0", "1", "1", "2", "2"], "regression", "3 whole-number values, 1 of them seen only once"),
    (["1e3", "2e3", "1000", "2000"], "classification", "2 whole-number target values, each seen at least twice"),
])
def test_the_inference_rule(labels, task, reason):
    assert infer_task(labels) == (task, reason)


def test_load_csv_infers_the_same_way(tmp_path):
    dataset = load_csv(write_target(tmp_path / "houses.csv", prices(40)), target="price")
    assert dataset.task == "regression" and dataset.target_names is None
    dataset = load_csv(write_target(tmp_path / "grades.csv", [1, 2, 3] * 8), target="price")
    assert dataset.task == "classification" and dataset.target_names == ("1", "2", "3")


def test_a_regressor_on_prices_learns_them_and_predicts_in_their_units(tmp_path, capsys):
    """Prices in the 100,000s: the network learns the standardized target and its last layer is
    rescaled after training (r2 was about -7e6 when it learned the raw prices); evaluate and
    predict see prices, not standardized values."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(400, 2))
    price = np.round(200_000 + 50_000 * X[:, 0] - 30_000 * X[:, 1] + rng.normal(0, 5_000, 400)).astype(int)
    path = tmp_path / "houses.csv"
    path.write_text("size,age,price\n" + "".join(f"{a:.4f},{b:.4f},{p}\n" for (a, b), p in zip(X, price)))
    capsys.readouterr()
    code = cli.main(["train", "--data", str(path), "--target", "price", "--epochs", "60", "--quiet",
                     "--out", str(tmp_path / "run")])
    out = capsys.readouterr()
    assert code == 0, out.err
    scores = cli.evaluate(cli._main._parser().parse_args(
        ["evaluate", str(tmp_path / "run" / "model.safetensors"), "--data", str(path)]), stream=open(os.devnull, "w"))
    assert scores["r2"] > 0.9
    capsys.readouterr()
    assert cli.main(["predict", str(tmp_path / "run" / "model.safetensors"), "--input", str(path),
                     "--output", str(tmp_path / "p.csv")]) == 0
    predicted = np.loadtxt(tmp_path / "p.csv", delimiter=",", skiprows=1)
    assert abs(predicted.mean() - price.mean()) < 0.05 * price.std()
