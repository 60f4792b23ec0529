"""The five generative examples as command-line scripts, with bad arguments: a negative --seed
and an --out that is a file are refused at once by argparse (exit 2, a one-line message), not
by a traceback, nor after a minute of training."""

import os
import subprocess
import sys

import pytest

from test_examples_course import EXAMPLES, load_example

GENERATIVE = ["autoencoder_digits", "conv_autoencoder_mnist1d", "vae_digits", "gan_ring", "gan_digits"]
SOURCE = str(EXAMPLES.parent / "src")


@pytest.mark.parametrize("name", GENERATIVE)
def test_a_negative_seed_is_refused_by_the_parser(name):
    # Was a NumPy traceback (default_rng: "expected non-negative integer") for four of them.
    env = {**os.environ, "PYTHONPATH": SOURCE}
    completed = subprocess.run([sys.executable, str(EXAMPLES / f"{name}.py"), "--fast", "--seed", "-1"],
                               capture_output=True, text=True, timeout=120, env=env)
    assert completed.returncode == 2
    assert completed.stderr.strip().splitlines()[-1] == f"{name}.py: error: --seed must be >= 0, got -1"
    assert "Traceback" not in completed.stderr and completed.stdout == ""


@pytest.mark.parametrize("name", GENERATIVE)
def test_an_out_that_is_a_file_is_refused_before_training(name, tmp_path, capsys):
    # Was a FileExistsError from mkdir after the whole training run.
    target = tmp_path / "figures.png"
    target.write_bytes(b"not a folder")
    module = load_example(name)
    with pytest.raises(SystemExit) as stopped:
        module._parse_args(["--fast", "--out", str(target)])
    assert stopped.value.code == 2
    assert f"error: --out must be a folder, got the file {target}" in capsys.readouterr().err
    assert target.read_bytes() == b"not a folder"
    assert module._parse_args(["--out", str(tmp_path), "--seed", "0"]).out == str(tmp_path)


@pytest.mark.parametrize("name", GENERATIVE)
def test_main_with_a_folder_that_cannot_be_made_fails_before_training(name, tmp_path, capsys):
    # Was a FileExistsError / FileNotFoundError from mkdir once training was over (a minute lost).
    blocker = tmp_path / "a file"
    blocker.write_bytes(b"")
    with pytest.raises(OSError):
        load_example(name).main(fast=True, out=blocker / "figures", seed=0)
    assert capsys.readouterr().out == ""  # nothing trained, nothing printed
