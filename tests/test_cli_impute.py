"""glassnet train --impute: a CSV with missing cells trains, the fill travels in the model file
(model.json says which), and without --impute a missing cell stays a one-line error naming it."""

import json
import subprocess
import sys

import numpy as np
import pytest

import glassnet as gn
from glassnet import cli


def write_gaps(path, n=200, seed=0):
    """Two informative columns with about 15% of their cells missing, spelled three ways."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    labels = np.where(X[:, 0] + X[:, 1] > 0, "yes", "no")
    lines = ["a,b,c,label"]
    for row, label in zip(X, labels):
        cells = [f"{value:.4f}" for value in row]
        for j in range(3):
            if rng.random() < 0.15:
                cells[j] = ("", "NA", "?")[j]
        lines.append(",".join([*cells, label]))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_without_impute_a_missing_cell_is_one_line_that_names_it_and_the_flag(tmp_path):
    path = write_gaps(tmp_path / "gaps.csv")
    out = subprocess.run([sys.executable, "-m", "glassnet", "train", "--data", str(path), "--target", "label",
                          "--quiet", "--out", str(tmp_path / "run")], capture_output=True, text=True, timeout=300)
    assert out.returncode == 2 and out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out.stderr
    first_gap = next(i for i, line in enumerate(path.read_text().splitlines()) if ",," in line or ",NA," in line
                     or line.startswith(",") or ",?," in line)
    assert f"{path}, line {first_gap + 1}, column " in lines[0]
    assert lines[0].endswith("fill in or drop missing values, or train with --impute mean|median|constant to fill them")
    assert not (tmp_path / "run").exists()   # refused before any work


@pytest.mark.parametrize("strategy", ["mean", "median", "constant"])
def test_train_with_impute_stores_the_fill_in_the_model(tmp_path, capsys, strategy):
    path = write_gaps(tmp_path / "gaps.csv")
    extra = ["--fill-value", "0.25"] if strategy == "constant" else []
    assert cli.main(["train", "--data", str(path), "--target", "label", "--impute", strategy, *extra,
                     "--epochs", "60", "--quiet", "--out", str(tmp_path / "run")]) == 0
    test_accuracy = float(capsys.readouterr().out.split("test:  accuracy ")[1].split()[0])
    assert test_accuracy >= 0.8
    info = json.loads((tmp_path / "run" / "model.json").read_text())
    assert info["impute"] == strategy and info["features"] == ["a", "b", "c"]
    model = gn.load(tmp_path / "run" / "model.safetensors")
    assert [type(layer).__name__ for layer in model][:2] == ["Impute", "Standardize"]
    data = gn.data.load_csv(path, target="label", missing="nan", seed=0)   # the CLI's split
    reduce = {"mean": np.nanmean, "median": np.nanmedian, "constant": lambda X, axis: np.full(3, 0.25)}[strategy]
    np.testing.assert_allclose(model[0].statistics, reduce(data.X_train.astype(np.float64), axis=0), rtol=1e-6)
    rows = np.array([[np.nan, 1.0, 0.0], [0.5, np.nan, np.nan]])
    filled = np.where(np.isnan(rows), model[0].statistics, rows)
    np.testing.assert_array_equal(gn.predict(model, rows), gn.predict(gn.nn.Sequential(*list(model)[1:]), filled))


def test_without_impute_model_json_says_null_and_fill_value_needs_impute(tmp_path, capsys):
    assert cli.main(["train", "--data", "xor", "--epochs", "1", "--quiet", "--out", str(tmp_path / "run")]) == 0
    assert json.loads((tmp_path / "run" / "model.json").read_text())["impute"] is None
    capsys.readouterr()
    assert cli.main(["train", "--data", "xor", "--fill-value", "1", "--out", str(tmp_path / "other")]) == 2
    assert capsys.readouterr().err.strip() == ("glassnet: error: --fill-value is the value --impute fills in: "
                                               "give --impute too")
    assert cli.main(["train", "--data", "xor", "--impute", "mode", "--out", str(tmp_path / "other")]) == 2
    assert "argument --impute: invalid choice: 'mode'" in capsys.readouterr().err
    assert cli.main(["train", "--data", "xor", "--impute", "constant", "--fill-value", "inf"]) == 2
    assert "argument --fill-value: must be finite, got inf" in capsys.readouterr().err
    assert not (tmp_path / "other").exists()


def test_a_column_with_nothing_to_impute_from_is_one_warning_line(tmp_path, capsys):
    path = tmp_path / "empty.csv"
    path.write_text("a,b,label\n" + "".join(f"{i},,{'xy'[i % 2]}\n" for i in range(12)))
    assert cli.main(["train", "--data", str(path), "--target", "label", "--impute", "mean", "--fill-value", "-1",
                     "--epochs", "1", "--quiet", "--out", str(tmp_path / "run")]) == 0
    assert capsys.readouterr().err == ("glassnet: warning: Impute: column(s) [1] have no observed value in the "
                                       "training data; they are filled with fill_value=-1.0\n")
    assert gn.load(tmp_path / "run" / "model.safetensors")[0].statistics[1] == -1.0
