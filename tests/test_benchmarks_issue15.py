"""Smoke tests of issue 15's benchmarks (benchmarks/vision_and_sequence.py, benchmarks/scaling.py,
benchmarks/numpy_limits.py):
the child's step functions run one or two steps at small sizes and give finite numbers, the twins
have the same parameters, the parent writes its files, the crossover text names the crossings.
No timing is asserted."""

from __future__ import annotations

import csv
import json
import math
import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("threadpoolctl")

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import numpy_limits  # noqa: E402
import scaling  # noqa: E402
import vision_and_sequence as vs  # noqa: E402


@pytest.fixture(autouse=True)
def torch_threads():
    """The children pin PyTorch's threads; give the rest of the session its own setting back.
    The benchmarks run PyTorch in float32, its default in a fresh child process; other test
    modules (the oracles) set the session's default to float64, so set float32 here and restore."""
    threads, dtype = torch.get_num_threads(), torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)
    yield
    torch.set_num_threads(threads)
    torch.set_default_dtype(dtype)


def parameter_count(model) -> int:
    return sum(int(np.prod(p.shape)) for p in model.parameters())


@pytest.mark.parametrize("name", list(vs.WORKLOADS))
def test_twins_have_the_same_parameters(name):
    kind, sizes = vs.WORKLOADS[name][:2]
    ours, theirs = vs.glassnet_model(kind, **sizes), vs.torch_model(kind, **sizes)
    assert parameter_count(ours) == parameter_count(theirs) > 0
    # glassnet's Linear weight is (in, out) where PyTorch's is (out, in): compare each tensor's sizes.
    assert sorted(sorted(p.shape) for p in ours.parameters()) == sorted(sorted(p.shape) for p in theirs.parameters())


@pytest.mark.parametrize("peer", vs.PEERS)
@pytest.mark.parametrize("name", list(vs.WORKLOADS))
def test_child_times_the_chunks_it_is_asked_for(name, peer):
    # The child's protocol, in process: "ready", one answer per "run", then its loss and memory.
    answers = []
    vs.serve(peer, name, threads=1, warmup=1, chunk=1, chunks=2, commands=["run\n", "run\n", "done\n"],
             answer=answers.append)
    assert answers[0] == "ready" and len(answers) == 4
    seconds = [json.loads(line) for line in answers[1:3]]
    assert all(math.isfinite(t) and t > 0 for t in seconds)
    result = json.loads(answers[3])
    assert math.isfinite(result["loss"]) and 0 <= result["loss"] < 20  # cross-entropy of 10 classes
    assert result["peak_mib"] > 1 and 0 <= result["growth_mib"] <= result["peak_mib"]


def test_a_child_that_fails_reports_its_error():
    with pytest.raises(RuntimeError, match="KeyError: 'nope'"):
        vs.Peer(str(BENCHMARKS / "vision_and_sequence.py"),
                ["--serve", "glassnet", "nope", "1", "--chunk", "1", "--chunks", "1"], threads=1)


def test_paired_children_alternate_and_summarize():
    repeats = [vs.paired(str(BENCHMARKS / "vision_and_sequence.py"), "sgd1", 1, 0, 1, 3)]
    assert [len(repeats[0]["seconds"][peer]) for peer in vs.PEERS] == [3, 3]
    row = vs.summarize("sgd1", 1, repeats)
    ratios = sorted(pt / gn for gn, pt in zip(*(repeats[0]["seconds"][peer] for peer in vs.PEERS)))
    assert row["ratio"] == pytest.approx(ratios[1]) and row["ratio_q1"] <= row["ratio"] <= row["ratio_q3"]
    assert row["glassnet_samples_per_s"] == pytest.approx(1 / sorted(repeats[0]["seconds"]["glassnet"])[1])
    assert row["chunks"] == 3 and row["glassnet_peak_mib"] > 1


def test_glassnet_and_torch_steps_learn_the_same_batch():
    # The two peers' steps train: repeating one batch lowers the loss of each.
    for peer in vs.PEERS:
        batches = vs.make_batches(peer, "mlp", 8, 1, sizes=(6, 5, 10))
        step = vs.make_step(peer, "mlp", "sgd", sizes=(6, 5, 10))
        losses = [float(step(*batches[0]).data) for _ in range(300)]  # SGD_LR 0.001: slow, but down
        assert losses[-1] < 0.8 * losses[0], (peer, losses[0], losses[-1])


def test_vision_and_sequence_parent_runs_children_and_writes_json(tmp_path):
    out = tmp_path / "rows.json"
    command = [sys.executable, str(BENCHMARKS / "vision_and_sequence.py"), "--models", "sgd1", "--threads", "1",
               "--repeats", "1", "--chunk", "1", "--chunks", "2", "--warmup", "0", "--json", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    rows = json.loads(out.read_text())
    assert [(row["model"], row["threads"], row["batch"]) for row in rows] == [("sgd1", 1, 1)]
    assert math.isfinite(rows[0]["ratio"]) and rows[0]["ratio"] > 0
    assert rows[0]["ratio_q1"] <= rows[0]["ratio"] <= rows[0]["ratio_q3"] and rows[0]["chunks"] == 2
    assert "SGD b=1 784-1024-10" in done.stdout and "load" in done.stdout


@pytest.mark.parametrize("bad", [["--models", "lenet,nope"], ["--threads", "0"], ["--threads", "x"],
                                 ["--repeats", "0"], ["--chunks", "0"], ["--chunk", "0"],
                                 ["--json", "/no/such/folder/rows.json"], ["--json", ""], ["--json", "."]])
def test_vision_and_sequence_rejects_bad_options(bad, capsys):
    with pytest.raises(SystemExit) as error:
        vs.main(bad)
    assert error.value.code == 2
    assert "--" in capsys.readouterr().err


@pytest.mark.parametrize("curve", scaling.CURVES)
def test_scaling_child_measures_every_point_of_the_tiny_grid(curve):
    points = scaling.GRIDS["tiny"][curve]
    for peer in scaling.PEERS:
        commands = [line for index in range(len(points)) for line in (f"point {index}\n", "run 2\n")]
        answers = []
        scaling.serve(peer, curve, "tiny", threads=1, commands=commands + ["done\n"], answer=answers.append)
        assert answers[0] == "ready" and len(answers) == 2 + 2 * len(points)
        for index in range(len(points)):
            first, seconds = (json.loads(line) for line in answers[1 + 2 * index:3 + 2 * index])
            assert math.isfinite(first["loss"]) and first["seconds"] > 0
            assert math.isfinite(seconds) and seconds > 0


def test_scaling_parent_writes_csv_figure_and_crossovers(tmp_path):
    curves = ("mlp",)  # one of the four: each child imports its library (seconds under load)
    command = [sys.executable, str(BENCHMARKS / "scaling.py"), "--grid", "tiny", "--repeats", "1",
               "--seconds", "0.001", "--curves", ",".join(curves), "--out", str(tmp_path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    with open(tmp_path / "scaling.csv") as handle:
        rows = list(csv.DictReader(handle))
    grid = scaling.GRIDS["tiny"]
    assert [row["curve"] for row in rows] == [c for c in curves for _ in grid[c]]
    for row in rows:
        ours, theirs, ratio = (float(row[k]) for k in ("glassnet_samples_per_s", "pytorch_samples_per_s", "ratio"))
        assert ours > 0 and theirs > 0 and float(row["ratio_q1"]) <= ratio <= float(row["ratio_q3"])
    assert (tmp_path / "scaling.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Crossover points" in done.stdout and "mlp over batch (hidden 4)" in done.stdout


def test_crossovers_name_where_the_ratio_crosses_one():
    def row(curve, ratio, **sizes):
        base = {"curve": curve, "hidden": "", "batch": 64, "length": "", "image": "",
                "glassnet_samples_per_s": ratio, "pytorch_samples_per_s": 1.0, "ratio": ratio}
        return {**base, **sizes}

    rows = [row("image", r, image=s) for s, r in ((8, 1.5), (16, 1.1), (32, 0.8), (64, 0.85))]
    rows += [row("length", r, length=n) for n, r in ((10, 0.7), (50, 1.2))]
    rows += [row("mlp", r, hidden=h, batch=b) for h, b, r in ((32, 1, 2.0), (32, 8, 1.5), (64, 1, 0.5), (64, 8, 0.95))]
    lines = scaling.crossovers(rows)
    assert any(line.startswith("image over image") and "PyTorch overtakes glassnet between image 16 and 32" in line
               for line in lines)
    assert any(line.startswith("length over length") and "glassnet overtakes PyTorch between length 10 and 50"
               in line for line in lines)
    assert any(line.startswith("mlp over batch (hidden 32)") and "glassnet ahead everywhere" in line for line in lines)
    assert any(line.startswith("mlp over batch (hidden 64)") and "PyTorch ahead everywhere" in line for line in lines)
    assert any(line.startswith("mlp over hidden (batch 1)") and "between hidden 32 and 64" in line for line in lines)
    below = sorted(line for line in lines if line.startswith("below 0.9x"))
    assert below == ["below 0.9x: image (batch 64, image 32): 0.80x", "below 0.9x: image (batch 64, image 64): 0.85x",
                     "below 0.9x: length (batch 64, length 10): 0.70x",
                     "below 0.9x: mlp (hidden 64, batch 1): 0.50x"]


def test_batches_repeat_with_the_targets_shifted_one_class_per_pass():
    # A run cycling through the list never sees an input with its old target (no memorizing to a
    # loss of 0); the inputs are shared views, not copies.
    for peer in vs.PEERS:
        batches = vs.make_batches(peer, "mlp", 4, 3, sizes=(6, 5, 10))
        assert len(batches) == 3 * vs.CLASSES
        first = [np.asarray(t) for _, t in batches[:3]]
        for shift in range(1, vs.CLASSES):
            for i in range(3):
                x, t = batches[shift * 3 + i]
                assert np.shares_memory(np.asarray(x), np.asarray(batches[i][0]))
                np.testing.assert_array_equal(np.asarray(t), (first[i] + shift) % vs.CLASSES)


@pytest.mark.parametrize("peer", vs.PEERS)
def test_children_flush_subnormals_unless_told_to_keep_them(peer):
    # In a fresh process (the floating-point mode is per thread and would outlive the test): after
    # child_floats, a float32 subnormal times 1 is 0; with KEEP_SUBNORMALS it stays.
    code = (f"import sys; sys.path.insert(0, {str(BENCHMARKS)!r}); import numpy as np; "
            f"import vision_and_sequence as vs; vs.child_floats({peer!r}); "
            "print(float(np.float32(1e-40) * np.float32(1.0)) != 0.0)")
    supported = sys.platform.startswith("linux") and platform.machine() == "x86_64"  # else neither peer does
    for keep, kept in (("", str(not supported)), ("1", "True")):
        env = {**os.environ, vs.KEEP_SUBNORMALS: keep}
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == kept


@pytest.mark.parametrize("module", [vs, scaling])
def test_only_the_serving_child_sets_the_floating_point_mode(module, monkeypatch):
    # --serve calls child_floats before serving; the in-process helpers (serve, pin_threads) never do.
    calls = []
    monkeypatch.setattr(vs, "child_floats", lambda peer: calls.append(("floats", peer)))
    monkeypatch.setattr(module, "serve", lambda peer, *rest: calls.append(("serve", peer)))
    args = ["--serve", "glassnet", "sgd1", "1"] if module is vs else ["--serve", "glassnet", "mlp", "quick"]
    module.main(args)
    assert calls == [("floats", "glassnet"), ("serve", "glassnet")]
    assert float(np.float32(1e-40) * np.float32(1.0)) != 0.0  # this process keeps its subnormals


@pytest.mark.parametrize("section", numpy_limits.SECTIONS)
def test_numpy_limits_children_measure_their_section(section):
    # In process, one timing a figure: every figure a positive finite time, named alike for both peers.
    results = {peer: numpy_limits.CHILDREN[section](peer, samples=1) for peer in numpy_limits.PEERS_OF[section]}
    for result in results.values():
        assert result and all(math.isfinite(us) and us > 0 for us in result.values())
    if section in ("layers", "lstm"):
        assert set(results["pytorch"]) <= set(results["glassnet"])
    rows = numpy_limits.report(section, 1, results)
    assert rows and all(all(math.isfinite(v) for v in row.values() if isinstance(v, float)) for row in rows)


def test_numpy_limits_counts_the_multiply_adds_of_each_product():
    assert numpy_limits.product_macs("W2 @ cols") == 16 * 150 * 64 * 136  # 136 wide columns an image
    assert numpy_limits.product_macs("square 512") == 512 ** 3
    assert numpy_limits.product_macs("pytorch conv2 forward") == numpy_limits.CONV2_MACS == 16 * 6 * 25 * 100 * 64
    assert numpy_limits.product_macs("pytorch conv2 forward+backward") == 3 * numpy_limits.CONV2_MACS


def test_numpy_limits_wide_columns_are_glassnets_own():
    import importlib

    conv = importlib.import_module("glassnet.ops.conv")  # the module (glassnet.ops.conv is also the op)
    per_image, _ = conv._grid((10, 10), (numpy_limits.BATCH, 6, 14, 14), (1, 1))
    assert numpy_limits.WIDE == numpy_limits.BATCH * per_image


def test_numpy_limits_clears_gradients_of_both_libraries():
    import glassnet as gn
    from glassnet import nn

    ours, theirs = nn.Linear(3, 2, rng=0), torch.nn.Linear(3, 2)
    x_ours, x_theirs = gn.Tensor(np.ones((4, 3), np.float32), requires_grad=True), torch.ones(4, 3, requires_grad=True)
    ours(x_ours).sum().backward()
    theirs(x_theirs).sum().backward()
    numpy_limits.fresh_gradients(ours, x_ours, theirs, x_theirs)
    assert all(p.grad is None for p in [*ours.parameters(), *theirs.parameters(), x_ours, x_theirs])


def test_numpy_limits_child_that_fails_reports_its_error():
    with pytest.raises(RuntimeError, match="invalid choice"):
        numpy_limits.run_child("nope", "glassnet", 1, 1)


def test_numpy_limits_worker_runs_what_it_is_handed_and_hands_back_its_errors():
    worker, seen = numpy_limits.Worker(), []
    for value in range(3):
        worker.run(lambda value=value: seen.append(value))
        worker.wait()
    worker.run(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        worker.wait()
    worker.run(lambda: seen.append(3))  # still serving
    worker.wait()
    worker.close()
    assert seen == [0, 1, 2, 3]


def test_numpy_limits_parent_runs_children_and_writes_json(tmp_path):
    out = tmp_path / "rows.json"
    command = [sys.executable, str(BENCHMARKS / "numpy_limits.py"), "--sections", "products", "--threads", "1",
               "--repeats", "1", "--samples", "1", "--json", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    rows = json.loads(out.read_text())
    torch_rows = {"pytorch conv2 forward", "pytorch conv2 forward+backward"}
    assert {row["name"] for row in rows} == {*numpy_limits.PRODUCTS, *torch_rows}
    assert all(row["gmacs"] > 0 for row in rows) and "GMAC/s" in done.stdout


@pytest.mark.parametrize("bad", [["--sections", "layers,nope"], ["--threads", "0"], ["--threads", "x"],
                                 ["--repeats", "0"], ["--samples", "0"], ["--json", "/no/such/folder/rows.json"],
                                 ["--json", "."], ["--child", "threads", "--peer", "pytorch"], ["--child", "lstm"]])
def test_numpy_limits_rejects_bad_options(bad, capsys):
    with pytest.raises(SystemExit) as error:
        numpy_limits.main(bad)
    assert error.value.code == 2
    assert "--" in capsys.readouterr().err
