"""The command line and the README's example, run as a user would run them."""

import csv
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import glassnet

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "glassnet", *args], capture_output=True, text=True,
                          timeout=300, cwd=cwd)


def test_version_and_help():
    out = run_cli("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"glassnet {glassnet.__version__}"
    for command in ("demo", "train", "evaluate", "predict", "lecture"):
        out = run_cli(command, "--help")
        assert out.returncode == 0 and "usage: glassnet " + command in out.stdout


def test_demo_tells_the_course_story(tmp_path):
    out = run_cli("demo", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    rows = {m.group(1).strip(): (float(m.group(2)), float(m.group(3)))
            for m in re.finditer(r"│ (.+?)\s*│ \w+\s*│ ([\d.]+)\s*│ ([\d.]+)\s*│", out.stdout)}
    assert rows["perceptron"][1] < 0.7            # about chance: circles are not linearly separable
    assert rows["MLP 2-10-2"][1] >= 0.95           # ten hidden units solve them
    assert rows["MLP 4-10-3 softmax"][1] >= 0.93   # softmax output on iris
    assert rows["softmax 2-10-3 petals"][1] >= 0.9  # petals alone (0.92-1.00 at seeds 0-9): the course's figure
    figures = sorted(p.name for p in (tmp_path / "glassnet-demo").glob("*.png"))
    assert figures == ["decision_regions.png", "iris_loss.png", "mlp_circles.png", "mlp_circles_loss.png",
                       "perceptron_circles.png"]


def write_csv(path, X, labels, header=("a", "b", "species")):
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row, label in zip(X, labels):
            writer.writerow([*row, label])


def test_train_evaluate_predict_round_trip_on_a_csv(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    labels = np.where(X[:, 0] * X[:, 1] > 0, "same", "differ")  # XOR-like quadrants
    write_csv(tmp_path / "train.csv", X, labels)
    out = run_cli("train", "--data", str(tmp_path / "train.csv"), "--target", "species", "--hidden", "16,16",
                  "--epochs", "150", "--early-stopping", "30", "--out", str(tmp_path / "run"), "--plot",
                  "--seed", "1")
    assert out.returncode == 0, out.stderr
    assert re.search(r"epoch 1/150  loss [\d.]+", out.stdout)  # progress, plain lines when piped
    test_accuracy = float(re.search(r"test:\s+accuracy ([\d.]+)", out.stdout).group(1))
    assert test_accuracy >= 0.85
    assert {p.name for p in (tmp_path / "run").iterdir()} >= {"model.safetensors", "model.json", "loss.png",
                                                               "decision_boundary.png"}
    model_path = str(tmp_path / "run" / "model.safetensors")
    out = run_cli("evaluate", model_path, "--data", str(tmp_path / "train.csv"), "--target", "species")
    assert out.returncode == 0, out.stderr
    assert float(re.search(r"accuracy ([\d.]+) on 200 samples", out.stdout).group(1)) >= 0.85
    write_csv(tmp_path / "new.csv", [[1.0, 1.0], [-1.0, 2.0]], ["", ""], header=("a", "b", "unused"))
    with open(tmp_path / "new.csv", "w") as handle:
        handle.write("a,b\n1.0,1.0\n-1.0,2.0\n")
    out = run_cli("predict", model_path, "--input", str(tmp_path / "new.csv"), "--output", str(tmp_path / "p.csv"))
    assert out.returncode == 0, out.stderr
    rows = list(csv.reader(open(tmp_path / "p.csv")))
    assert rows[0] == ["prediction", "p_differ", "p_same"]
    assert [r[0] for r in rows[1:]] == ["same", "differ"]
    assert all(abs(float(r[1]) + float(r[2]) - 1) < 1e-5 for r in rows[1:])


def test_train_on_a_named_dataset_full_batch(tmp_path):
    out = run_cli("train", "--data", "iris", "--full-batch", "--epochs", "150", "--optimizer", "adam",
                  "--lr", "0.05", "--quiet", "--out", str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert float(re.search(r"test:\s+accuracy ([\d.]+)", out.stdout).group(1)) >= 0.9


@pytest.mark.parametrize("args, message", [
    (["train", "--data", "no_such_set"], "unknown dataset 'no_such_set'"),
    (["train", "--data", "missing.csv", "--target", "y"], "no such file"),
    (["train", "--data", "iris", "--optimizer", "lbfgs"], "invalid choice: 'lbfgs'"),
    (["train", "--data", "iris", "--hidden", "10,x"], "--hidden"),
    (["train", "--data", "iris", "--epochs", "0"], "argument --epochs: must be a positive int, got 0"),
    (["train", "--data", "iris", "--epochs", "ten"], "argument --epochs: must be a positive int, got str 'ten'"),
    (["train", "--data", "iris", "--dropout", "1"], "argument --dropout: must be in [0, 1), got 1.0"),
    (["train", "--data", "iris", "--lr", "0"], "argument --lr: must be > 0, got 0.0"),
    (["train", "--data", "iris", "--lr", "nan"], "argument --lr: must be finite, got nan"),
    (["train", "--data", "{bad}", "--target", "species"], "non-numeric value 'hello'"),
    (["train", "--data", "{nan}", "--target", "species"], "NaN"),
    (["evaluate", "{notmodel}", "--data", "iris"], "not a safetensors file"),
    (["evaluate", "nothing.safetensors", "--data", "iris"], "no such model file"),
    (["predict", "{notmodel}", "--input", "{bad}"], "not a safetensors file"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_input_gives_one_line_and_status_2(tmp_path, args, message):
    (tmp_path / "bad.csv").write_text("a,b,species\n1.0,hello,x\n2.0,3.0,y\n")
    (tmp_path / "nan.csv").write_text("a,b,species\n1.0,nan,x\n2.0,3.0,y\n")
    (tmp_path / "notmodel.safetensors").write_bytes(b"this is not a model at all")
    places = {"{bad}": str(tmp_path / "bad.csv"), "{nan}": str(tmp_path / "nan.csv"),
              "{notmodel}": str(tmp_path / "notmodel.safetensors")}
    out = run_cli(*[places.get(a, a) for a in args], cwd=tmp_path)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
    assert message in lines[0]


def test_readme_example_runs_and_solves_xor(capsys):
    readme = (ROOT / "README.md").read_text()
    code = re.search(r"## XOR with the low-level API\s+```python\n(.*?)```", readme, re.S).group(1)
    assert len(code.strip().splitlines()) <= 15
    namespace = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert "[[0" in capsys.readouterr().out
    X, model = namespace["X"], namespace["model"]
    probabilities = glassnet.functional.sigmoid(model(glassnet.Tensor(X))).numpy().ravel()
    np.testing.assert_array_equal(probabilities.round(), [0, 1, 1, 0])


def test_l2_is_fits_penalty_and_weight_decay_is_the_optimizers(tmp_path, monkeypatch):
    """--l2 means what fit(l2=) means (a penalty on the weights in the loss); --weight-decay goes
    to the optimizer, whose default it keeps when not given (0.01 for adamw)."""
    from glassnet import cli

    seen = []
    real_fit = glassnet.fit

    def spy(model, X, y, **kwargs):
        seen.append(kwargs)
        return real_fit(model, X, y, **kwargs)

    monkeypatch.setattr(glassnet, "fit", spy)
    common = ["train", "--data", "xor", "--epochs", "1", "--quiet", "--out", str(tmp_path)]
    assert cli.main([*common, "--l2", "0.003", "--l1", "0.002"]) == 0
    assert seen[-1]["l2"] == 0.003 and seen[-1]["l1"] == 0.002
    assert seen[-1]["optimizer"].param_groups[0]["weight_decay"] == 0.0
    assert cli.main([*common, "--weight-decay", "0.05", "--optimizer", "sgd"]) == 0
    assert seen[-1]["l2"] == 0.0 and seen[-1]["optimizer"].param_groups[0]["weight_decay"] == 0.05
    assert cli.main([*common, "--optimizer", "adamw"]) == 0
    adamw = seen[-1]["optimizer"]
    assert type(adamw).__name__ == "AdamW" and adamw.param_groups[0]["weight_decay"] == 0.01


@pytest.mark.parametrize("option", ["--l1", "--l2", "--weight-decay"])
def test_negative_penalties_are_usage_errors(tmp_path, capsys, option):
    from glassnet import cli

    assert cli.main(["train", "--data", "xor", option, "-1", "--out", str(tmp_path)]) == 2
    assert f"argument {option}: must be >= 0, got -1.0" in capsys.readouterr().err


def test_predict_reads_the_models_columns_by_name(tmp_path, capsys):
    from glassnet import cli

    write_csv(tmp_path / "train.csv", np.random.default_rng(0).normal(size=(40, 2)), ["x", "y"] * 20)
    assert cli.main(["train", "--data", str(tmp_path / "train.csv"), "--target", "species", "--epochs", "2",
                     "--quiet", "--out", str(tmp_path / "run")]) == 0
    model = str(tmp_path / "run" / "model.safetensors")
    (tmp_path / "swapped.csv").write_text("id,b,a\nfirst,2.0,1.0\n")   # other order, an extra text column
    (tmp_path / "plain.csv").write_text("a,b\n1.0,2.0\n")
    capsys.readouterr()
    assert cli.main(["predict", model, "--input", str(tmp_path / "swapped.csv")]) == 0
    swapped = capsys.readouterr().out
    assert cli.main(["predict", model, "--input", str(tmp_path / "plain.csv")]) == 0
    assert capsys.readouterr().out == swapped
    (tmp_path / "bad.csv").write_text("a,b\n1.0,2.0\n3.0,oops\n")
    assert cli.main(["predict", model, "--input", str(tmp_path / "bad.csv")]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "line 3, column 'b': non-numeric value 'oops'" in error
