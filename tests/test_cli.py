"""The command line and the README's example, run as a user would run them."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np

import glassnet

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "glassnet", *args], capture_output=True, text=True, timeout=120)


def test_version():
    out = run_cli("--version")
    assert out.returncode == 0
    assert out.stdout.strip() == f"glassnet {glassnet.__version__}"


def test_demo_learns_xor():
    out = run_cli("demo")
    assert out.returncode == 0, out.stderr
    assert "accuracy 1.00" in out.stdout
    losses = [float(v) for v in re.findall(r"loss (\d+\.\d+)", out.stdout)]
    assert losses[0] > 0.5 and losses[-1] < 0.05  # from about log 2 to nearly 0


def test_demo_rejects_bad_epochs():
    out = run_cli("demo", "--epochs", "0")
    assert out.returncode == 2
    assert "--epochs must be at least 1" in out.stderr


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
