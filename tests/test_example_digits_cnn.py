"""examples/digits_cnn.py runs as a user runs it, prints its training, and reaches the >= 98% test
accuracy the issue asks for, at its full settings (20 epochs: a few seconds)."""

import os
import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "digits_cnn.py"


def run_example(*args):
    # One BLAS thread: the test machine has 2 cores shared with other processes, and OpenBLAS's
    # two threads, when one of them is descheduled, spin and make this run 10x slower.
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_full_run_reaches_98_percent():
    result = run_example()
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "digits: 1347 training and 450 test images of shape (1, 8, 8)"
    assert lines[1] == "model: 9930 parameters"
    epochs = [line for line in lines if line.startswith("epoch ")]  # glassnet.fit's progress lines
    assert len(epochs) == 20
    losses = [float(re.search(r"loss (\S+)", line).group(1)) for line in epochs]
    assert losses[-1] < losses[0] / 10
    final = re.fullmatch(r"test accuracy (\S+) after 20 epochs \(\S+ s\)", lines[-1])
    assert final is not None, lines[-1]
    assert float(final.group(1)) >= 0.98


def test_bad_epochs_is_a_usage_error():
    result = run_example("--epochs", "0")
    assert result.returncode == 2
    assert "--epochs must be >= 1, got 0" in result.stderr
