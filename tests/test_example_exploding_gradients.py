"""examples/exploding_gradients.py: a deep ReLU network with large weights diverges within a few
steps (its gradient norm explodes, the loss becomes NaN) and the GradientMonitor flags it; the same
network from the same weights trains with fit(clip_grad_norm=10), its loss finite and falling.

The thresholds hold at seeds 0-4 (measured when the example was written: without clipping NaN at
step 4-6, the norm grown 2e7-5e20 times; with clipping the loss falls from 12-24 to 0.76-1.4 in
8 epochs, test accuracy 0.72-0.81)."""

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "exploding_gradients.py"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def load_example():
    spec = importlib.util.spec_from_file_location("course_example_exploding_gradients", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def fast_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("exploding_gradients")
    with threadpool_limits(limits=1, user_api="blas"), np.errstate(over="ignore", invalid="ignore"):
        return load_example().main(fast=True, out=out), out


def test_without_clipping_the_gradient_explodes_and_training_diverges(fast_run):
    result, _ = fast_run
    run = result["no_clipping"]
    assert run["diverged"] and run["steps"] <= 8
    assert math.isnan(run["batch_losses"][-1]) and all(math.isfinite(loss) for loss in run["batch_losses"][:-1])
    # The first gradient is already ~1e3 (He's initialization: a few); it grows a million-fold and more.
    assert run["first_grad_norm"] > 100 * result["he_grad_norm"] and result["he_grad_norm"] < 10
    assert run["largest_finite_grad_norm"] > 1e6 * run["first_grad_norm"]
    assert run["findings"][0] == "exploding" and "NaN or infinite" in run["messages"][0]
    assert "clip the gradients" in run["messages"][0]  # the monitor's remedy


def test_with_clipping_the_same_network_trains(fast_run):
    result, _ = fast_run
    plain, run = result["no_clipping"], result["clipping"]
    assert result["max_norm"] == 10.0 and result["epochs"] == 8
    assert not run["diverged"] and run["steps"] == 8 * 43  # every batch of every epoch: 1347 rows in 32s
    assert all(math.isfinite(loss) for loss in run["batch_losses"] + run["loss"] + run["total_grad_norms"])
    # Same weights, same first batch: the same first gradient, which the monitor records before clipping
    # (from clip_grad_norm's float32 sum with clipping, from its own without: equal to float32's precision).
    np.testing.assert_allclose(run["first_grad_norm"], plain["first_grad_norm"], rtol=1e-6)
    assert run["largest_finite_grad_norm"] <= 1.5 * run["first_grad_norm"]  # no growth
    assert result["clipped_steps"] > 0.9 * run["steps"]
    assert "exploding" not in run["findings"]
    loss = run["loss"]
    assert loss[-1] < loss[0] / 5 and loss[-1] < 2.0
    assert loss[-1] < min(loss[:4]) and np.mean(loss[4:]) < np.mean(loss[:4])
    assert run["test_accuracy"][-1] > 0.6


def test_fast_run_writes_its_figure(fast_run):
    result, out = fast_run
    assert [path.name for path in out.glob("*.png")] == ["exploding_gradients.png"]
    assert [Path(path).name for path in result["figures"]] == ["exploding_gradients.png"]
    data = (out / "exploding_gradients.png").read_bytes()
    assert data[:8] == PNG_SIGNATURE and len(data) > 10_000
