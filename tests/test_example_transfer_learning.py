"""examples/transfer_learning.py at its fast setting: a network trained on MNIST-1D, reused on a
related task with few labels, beats training from scratch; on an unrelated task (8x8 digits
0-4 -> 5-9) its frozen features lose to the raw pixels.

The bounds hold at every seed from 0 to 5 of the fast setting; the comments give the smallest
value measured over those seeds when the example was written. The full setting's numbers (seeds
0, 1, 2) are in the example's docstring.
"""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "transfer_learning.py"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def load_example():
    spec = importlib.util.spec_from_file_location("example_transfer_learning", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("transfer")
    # One BLAS thread: the machine's cores are shared, and OpenBLAS's threads spin when one of
    # them is descheduled. The numbers do not depend on it (small matrices).
    with threadpool_limits(limits=1, user_api="blas"):
        result = load_example().main(fast=True, out=out, seed=0)
    return result, out


def test_fine_tuning_beats_scratch_at_10_labels_per_class(run):
    result, _ = run
    assert result["labels_per_class"] == [1, 3, 10, 30]
    at_10 = result["labels_per_class"].index(10)
    assert result["fine_tune"][at_10] - result["scratch"][at_10] >= 0.10  # seeds 0-5: 0.180 to 0.231
    assert result["fine_tune_minus_scratch"] == pytest.approx(
        np.subtract(result["fine_tune"], result["scratch"]).tolist())


def test_the_transferred_networks_beat_scratch_at_every_budget(run):
    result, _ = run
    # the smallest margins over seeds 0-5 and the four budgets: probe 0.099, fine-tune 0.066
    assert all(probe - scratch >= 0.04 for probe, scratch in zip(result["probe"], result["scratch"], strict=True))
    assert all(tuned - scratch >= 0.03 for tuned, scratch in zip(result["fine_tune"], result["scratch"], strict=True))


def test_the_source_head_is_useless_on_the_target(run):
    result, _ = run
    assert result["source_accuracy"] >= 0.75  # seeds 0-5: 0.800 to 0.880
    assert result["source_on_target"] < 0.10  # below chance (0.042 to 0.058): the target's classes are new shapes


def test_unrelated_task_frozen_features_lose_to_raw_pixels(run):
    caveat = run[0]["caveat"]
    assert caveat["source_accuracy"] == 1.0
    for raw, frozen in zip(caveat["raw_pixels"][:3], caveat["frozen_probe"][:3], strict=True):  # 1, 3, 10 per class
        assert raw - frozen >= 0.02  # seeds 0-5: 0.038 at the least (0.103 at 1 and 3 labels)


def test_figure_written(run):
    result, out = run
    assert [Path(path).name for path in result["figures"]] == ["transfer_learning.png"]
    data = (out / "transfer_learning.png").read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert len(data) > 10_000


def test_bad_arguments_are_refused_before_training(tmp_path, capsys):
    module = load_example()
    with pytest.raises(ValueError, match="seed must be an int >= 0, got -1"):
        module.main(fast=True, seed=-1)
    for bad in (1.5, True, "0"):
        with pytest.raises(TypeError, match="seed must be an int >= 0"):
            module.main(fast=True, seed=bad)
    blocker = tmp_path / "a file"
    blocker.write_bytes(b"")
    with pytest.raises(OSError):
        module.main(fast=True, out=blocker / "figures", seed=0)
    assert capsys.readouterr().out == ""  # nothing trained, nothing printed
    with pytest.raises(SystemExit) as stopped:
        module._parse_args(["--seed", "-1"])
    assert stopped.value.code == 2
    assert "error: --seed must be >= 0, got -1" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stopped:
        module._parse_args(["--fast", "--out", str(blocker)])
    assert stopped.value.code == 2
    assert f"error: --out must be a folder, got the file {blocker}" in capsys.readouterr().err
    assert module._parse_args(["--out", str(tmp_path), "--seed", "2"]).seed == 2
