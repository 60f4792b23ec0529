"""Hostile and careless input to the command line (issue 10, item 10): each is one line on stderr and
exit status 2, before any work is done; nothing is left half written. Run as a user runs them, in
a subprocess."""

import csv
import os
import subprocess
import sys

import numpy as np
import pytest

import glassnet as gn
from cli_helpers import one_line
from glassnet import cli


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "glassnet", *args], capture_output=True, text=True,
                          timeout=300, cwd=cwd)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A small classifier on columns a, b (classes x, y) and its folder."""
    folder = tmp_path_factory.mktemp("hostile")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2)).round(3)
    with open(folder / "train.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["a", "b", "label"])
        writer.writerows([[*x, "x" if x[0] > 0 else "y"] for x in X])
    assert cli.main(["train", "--data", str(folder / "train.csv"), "--target", "label", "--epochs", "5",
                     "--quiet", "--out", str(folder / "run")]) == 0
    return folder / "run" / "model.safetensors"


def test_train_out_an_existing_file_fails_before_training(tmp_path):
    """It used to train, then fail with a traceback when it came to save."""
    (tmp_path / "taken").write_text("keep me")
    out = run_cli("train", "--data", "xor", "--epochs", "500", "--out", str(tmp_path / "taken"))
    line = one_line(out)
    assert "--out" in line and "is a file, not a folder" in line
    assert out.stdout == ""            # no progress: nothing was trained
    assert (tmp_path / "taken").read_text() == "keep me"
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "model.json").mkdir()          # a folder where the description goes
    line = one_line(run_cli("train", "--data", "xor", "--out", str(tmp_path / "run")))
    assert "model.json is a folder" in line
    line = one_line(run_cli("train", "--data", "xor", "--out", str(tmp_path / "taken" / "below")))
    assert "is a file, not a folder" in line


def test_predict_output_a_directory_fails_before_any_work(model, tmp_path):
    (tmp_path / "new.csv").write_text("a,b\n1,2\n")
    line = one_line(run_cli("predict", str(model), "--input", str(tmp_path / "new.csv"), "--output", str(tmp_path)))
    assert "--output" in line and "is a folder" in line
    line = one_line(run_cli("predict", str(model), "--input", str(tmp_path / "new.csv"),
                            "--output", str(tmp_path / "nowhere" / "p.csv")))
    assert "no folder" in line


def test_predict_reads_a_csv_with_a_byte_order_mark(model, tmp_path):
    rows = "b,a\n2.0,1.0\n-1.0,0.5\n"
    (tmp_path / "plain.csv").write_text(rows, encoding="utf-8")
    (tmp_path / "bom.csv").write_text(rows, encoding="utf-8-sig")      # as spreadsheets write it
    (tmp_path / "utf16.csv").write_text(rows, encoding="utf-16")       # "Unicode text", with its mark
    plain = run_cli("predict", str(model), "--input", str(tmp_path / "plain.csv"))
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.count("\n") == 3
    for name in ("bom.csv", "utf16.csv"):
        out = run_cli("predict", str(model), "--input", str(tmp_path / name))
        assert out.returncode == 0 and out.stdout == plain.stdout, out.stderr


def test_a_model_that_is_not_a_sequential_is_one_clear_line(model, tmp_path):
    """It used to say "'Linear' object is not subscriptable"."""
    gn.save(gn.nn.Linear(2, 2), tmp_path / "linear.safetensors")
    (tmp_path / "linear.json").write_text((model.parent / "model.json").read_text())
    (tmp_path / "new.csv").write_text("a,b\n1,2\n")
    line = one_line(run_cli("predict", str(tmp_path / "linear.safetensors"), "--input", str(tmp_path / "new.csv")))
    assert "holds a Linear, not a Sequential network as glassnet train writes" in line
    line = one_line(run_cli("evaluate", str(tmp_path / "linear.safetensors"), "--data", "xor"))
    assert "not a Sequential" in line


HOSTILE_CSV = {
    "empty.csv": ("", "is empty; expected a header row"),
    "blank.csv": ("\n\n\n", "is empty; expected a header row"),
    "header.csv": ("a,b,label\n", "has a header but no data rows"),
    "ragged.csv": ("a,b,label\n1,2,x\n3,4\n", "line 3: expected 3 fields like the header, got 2"),
    "long.csv": ("a,b,label\n1,2,x,9\n", "line 2: expected 3 fields like the header, got 4"),
    "text.csv": ("a,b,label\n1,two,x\n", "line 2, column 'b': non-numeric value 'two'"),
    "inf.csv": ("a,b,label\n1,1e999,x\n", "line 2, column 'b': infinite value '1e999'"),
    "gap.csv": ("a,b,label\n1,,x\n", "line 2, column 'b': empty cell"),
    "latin1.csv": ("a,b,caf\xe9\n1,2,x\n".encode("latin-1"), "is not UTF-8 text"),
    "image.csv": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "is not UTF-8 text"),
    "nul.csv": (b"a,b,label\n1,\x002,x\n", "line 2, column 'b': non-numeric value '\\x002'"),
    "huge.csv": ("a,b,label\n1," + "9" * 200_000 + ",x\n", "line 2: not readable as CSV (field larger"),
    "twice.csv": ("a,a,label\n1,2,x\n", "names column 'a' twice"),
    "quote.csv": ('a,b,label\n1,"2,x\n', "line 2: expected 3 fields like the header, got 2"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_CSV))
@pytest.mark.parametrize("command", ["predict", "evaluate"])
def test_hostile_csv_files(model, tmp_path, name, command):
    content, message = HOSTILE_CSV[name]
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    flag = "--input" if command == "predict" else "--data"
    output = ["--output", str(tmp_path / "p.csv")] if command == "predict" else ["--target", "label"]
    line = one_line(run_cli(command, str(model), flag, str(path), *output))
    assert message in line, line
    assert not (tmp_path / "p.csv").exists()                  # nothing half written
    assert [p.name for p in tmp_path.iterdir()] == [name]     # no temporary file left behind


def test_hostile_paths(model, tmp_path):
    (tmp_path / "new.csv").write_text("a,b\n1,2\n")
    new = str(tmp_path / "new.csv")
    line = one_line(run_cli("predict", str(model), "--input", str(tmp_path)))
    assert "is a folder, not a CSV file" in line
    line = one_line(run_cli("evaluate", str(model), "--data", str(tmp_path)))
    assert "is a folder, not a CSV file" in line
    line = one_line(run_cli("train", "--data", str(tmp_path), "--target", "y"))
    assert "is a folder, not a CSV file" in line
    line = one_line(run_cli("predict", str(tmp_path), "--input", new))
    assert "is a folder, not a model file" in line
    (tmp_path / "corrupt.safetensors").write_bytes(model.read_bytes()[:-40])
    line = one_line(run_cli("predict", str(tmp_path / "corrupt.safetensors"), "--input", new))
    assert "corrupt.safetensors" in line
    line = one_line(run_cli("predict", str(model), "--input", str(tmp_path / "nothing.csv")))
    assert "no such file" in line


def test_a_failed_predict_leaves_an_existing_output_intact(model, tmp_path):
    (tmp_path / "p.csv").write_text("old predictions\n")
    os.chmod(tmp_path / "p.csv", 0o640)
    rows = "a,b\n" + "1,2\n" * 10_000 + "3,oops\n"     # the bad row comes after the first chunk
    (tmp_path / "bad.csv").write_text(rows)
    line = one_line(run_cli("predict", str(model), "--input", str(tmp_path / "bad.csv"),
                            "--output", str(tmp_path / "p.csv")))
    assert "line 10002, column 'b': non-numeric value 'oops'" in line
    assert (tmp_path / "p.csv").read_text() == "old predictions\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "p.csv"]
    (tmp_path / "good.csv").write_text("a,b\n1,2\n")
    out = run_cli("predict", str(model), "--input", str(tmp_path / "good.csv"), "--output", str(tmp_path / "p.csv"))
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "p.csv").read_text().startswith("prediction,p_x,p_y\n")
    assert os.stat(tmp_path / "p.csv").st_mode & 0o777 == 0o640     # the file's mode is kept


def test_predict_into_a_closed_pipe_is_quiet(model, tmp_path):
    (tmp_path / "many.csv").write_text("a,b\n" + "1,2\n" * 50_000)
    command = (f"{sys.executable} -m glassnet predict {model} --input {tmp_path / 'many.csv'} | head -n 2")
    out = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=300)
    assert out.stdout.count("\n") == 2 and "Traceback" not in out.stderr and out.stderr == "", out.stderr
