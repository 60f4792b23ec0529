"""glassnet train --diagnose (a GradientMonitor's report after training) and --clip-grad-norm."""

import subprocess
import sys

import numpy as np
import pytest

import glassnet as gn
from cli_helpers import one_line
from glassnet import cli


def train(capsys, tmp_path, *extra, name="run"):
    capsys.readouterr()
    code = cli.main(["train", "--data", "circles", "--epochs", "3", "--quiet", "--seed", "0",
                     "--out", str(tmp_path / name), *extra])
    return code, capsys.readouterr()


def test_diagnose_prints_the_per_layer_table_and_no_problems_on_a_healthy_network(tmp_path, capsys):
    code, out = train(capsys, tmp_path, "--diagnose", "--hidden", "16,16")
    assert code == 0, out.err
    report = out.out.split("diagnosis (3 epochs recorded):\n", 1)[1]
    lines = report.splitlines()
    assert lines[0] == "GradientMonitor: 3 record(s), 3 layer(s)"
    assert [line.split()[:2] for line in lines[2:5]] == [["1", "(Linear)"], ["3", "(Linear)"], ["5", "(Linear)"]]
    assert "first / last layer gradient ratio:" in report and lines[-1] == "no problems found"
    assert "activation '2' (ReLU): 0.0% dead (last record)" in report


def test_diagnose_names_vanishing_gradients_and_their_remedy(tmp_path, capsys):
    code, out = train(capsys, tmp_path, "--diagnose", "--hidden", "30,30,30,30,30,30", "--activation", "sigmoid")
    assert code == 0, out.err
    finding = [line for line in out.out.splitlines() if line.startswith("- vanishing:")]
    assert len(finding) == 1 and "Try: use a ReLU-family activation with He init" in finding[0]
    assert "no problems found" not in out.out


def test_without_diagnose_nothing_is_printed_about_gradients(tmp_path, capsys):
    code, out = train(capsys, tmp_path)
    assert code == 0 and "diagnosis" not in out.out and "gradient" not in out.out


def test_clip_grad_norm_changes_the_model_only_when_it_clips(tmp_path, capsys):
    assert train(capsys, tmp_path, name="plain")[0] == 0
    assert train(capsys, tmp_path, "--clip-grad-norm", "1e9", name="loose")[0] == 0
    assert train(capsys, tmp_path, "--clip-grad-norm", "0.01", name="tight")[0] == 0
    plain, loose, tight = (gn.load(tmp_path / name / "model.safetensors").state_dict()
                           for name in ("plain", "loose", "tight"))
    assert all(np.array_equal(plain[key], loose[key]) for key in plain)
    assert not all(np.array_equal(plain[key], tight[key]) for key in plain)


@pytest.mark.parametrize("value, words", [("0", "must be > 0, got 0"), ("-1", "must be > 0, got -1.0"),
                                          ("nan", "must be finite"), ("x", "must be a real number")])
def test_a_bad_clip_grad_norm_is_one_usage_line(tmp_path, value, words):
    out = subprocess.run([sys.executable, "-m", "glassnet", "train", "--data", "circles", "--out",
                          str(tmp_path / "run"), "--clip-grad-norm", value], capture_output=True, text=True,
                         timeout=300)
    line = one_line(out)
    assert "--clip-grad-norm" in line and words in line
    assert not (tmp_path / "run").exists()
