"""examples/transformer_toy.py runs as a user runs it and, in a shortened run (3 epochs of 100
steps, about 10 s), learns to sort 8 digits to >= 99% held-out token accuracy; the full default run
(10 epochs) ends near 99.99%."""

import os
import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "transformer_toy.py"


def run_example(*args):
    # One BLAS thread: on a shared 2-core machine OpenBLAS's second thread, when descheduled,
    # spins and slows a run of small products many times over.
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_shortened_run_sorts_with_99_percent_token_accuracy():
    result = run_example("--epochs", "3")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "task: sort 8 digits (0..9); 2000 held-out sequences"
    assert lines[1] == "model: 68234 parameters"
    epochs = [re.match(r"epoch +(\d+)  loss (\S+)  held-out token accuracy (\S+)  sequence accuracy (\S+)", line)
              for line in lines[2:5]]
    assert [int(match.group(1)) for match in epochs] == [1, 2, 3]
    losses = [float(match.group(2)) for match in epochs]
    assert losses[2] < losses[0] / 10
    examples = [re.fullmatch(r"  ((?:\d ){7}\d)  ->  ((?:\d ){7}\d)  \((ok|WRONG)\)", line) for line in lines[5:9]]
    assert all(examples), lines[5:9]
    for match in examples:  # the mark tells the truth
        digits = sorted(match.group(1).split())
        assert (match.group(2).split() == digits) == (match.group(3) == "ok")
    final = re.fullmatch(r"held-out token accuracy (\S+) after 3 epochs \(\S+ s\)", lines[-1])
    assert final is not None, lines[-1]
    assert float(final.group(1)) >= 0.99
    assert float(epochs[2].group(4)) >= 0.9  # whole sequences right


def test_bad_arguments_are_usage_errors():
    result = run_example("--steps", "0")
    assert result.returncode == 2
    assert "--steps must be >= 1, got 0" in result.stderr
    result = run_example("--task", "shuffle")
    assert result.returncode == 2
    assert "invalid choice: 'shuffle'" in result.stderr
