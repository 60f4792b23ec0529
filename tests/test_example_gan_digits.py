"""examples/gan_digits.py: a shortened run (1,500 GAN steps instead of 4,000) already draws every
digit and draws them clearly enough for a classifier trained on real digits to be sure of them.

The thresholds below are what the shortened run reaches at every seed from 0 to 9 (measured with
the packed discriminator; the ranges are in the assertions' comments): a smallest digit share of at
least 1.5% of the 1,000 samples (a collapsed generator gives some digit 0%; the full run's target
is 4%, which the full run meets at seeds 0-5 with 4.9-8.0%) and a mean top-class probability of
at least 0.8 (the full run's target too; the full run reaches 0.86-0.87).
"""

import importlib.util
import math
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "gan_digits.py"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FIGURES = ["gan_digits_histogram.png", "gan_digits_losses.png", "gan_digits_samples.png"]


def load_example():
    spec = importlib.util.spec_from_file_location("example_gan_digits", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_shortened_run_draws_every_digit_clearly(tmp_path, capsys):
    # One BLAS thread: the test machine's 2 cores are shared, and OpenBLAS's threads spin when
    # one of them is descheduled. The numbers do not depend on it (small matrices).
    with threadpool_limits(limits=1, user_api="blas"):
        result = load_example().main(fast=True, out=tmp_path, seed=0)
    printed = capsys.readouterr().out

    assert result["steps"] == 1500
    assert result["classifier_accuracy"] >= 0.97  # the judge is worth listening to
    counts = np.array(result["counts"])
    assert counts.shape == (10,) and counts.sum() == 1000
    np.testing.assert_allclose(result["histogram"], counts / 1000)
    assert result["min_fraction"] == min(result["histogram"])
    # No digit dropped: every digit gets at least 1.5% of the samples (seeds 0-9: 0.023-0.071).
    assert result["min_fraction"] >= 0.015
    # Clear digits: the judge's mean top-class probability (seeds 0-9: 0.806-0.850).
    assert result["mean_top_probability"] >= 0.8
    assert result["mean_top_probability"] < result["real_mean_top_probability"] <= 1.0  # fakes are not yet real

    # The game was played, and neither player won it: a winning D drives its loss towards 0 and
    # G's up without bound; a losing D sits at 2 log 2 = 1.39 (it cannot tell real from fake).
    # Means of the last 200 steps at seeds 0-9: D 1.13-1.27, G 0.89-1.03.
    d_losses, g_losses = np.array(result["d_losses"]), np.array(result["g_losses"])
    assert d_losses.shape == g_losses.shape == (1500,)
    assert np.isfinite(d_losses).all() and np.isfinite(g_losses).all()
    assert 1.0 < d_losses[-200:].mean() < 1.35 < 2 * math.log(2)
    assert 0.8 < g_losses[-200:].mean() < 1.2

    assert f"test accuracy {result['classifier_accuracy']:.3f}" in printed
    assert "    share    " + " ".join(f"{fraction:5.3f}" for fraction in result["histogram"]) in printed
    assert f"mean top-class probability {result['mean_top_probability']:.3f}" in printed

    assert sorted(path.name for path in tmp_path.glob("*.png")) == FIGURES
    assert sorted(Path(path).name for path in result["figures"]) == FIGURES
    for name in FIGURES:
        data = (tmp_path / name).read_bytes()
        assert data[:8] == PNG_SIGNATURE
        assert len(data) > 10_000  # a drawn figure, not an empty canvas


def test_command_line_options():
    module = load_example()
    args = module._parse_args(["--fast", "--out", "figures", "--seed", "3"])
    assert (args.fast, args.out, args.seed) == (True, "figures", 3)
    defaults = module._parse_args([])
    assert (defaults.fast, defaults.out, defaults.seed) == (False, "examples-output", 0)
