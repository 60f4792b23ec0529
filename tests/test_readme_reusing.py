"""The README's "Reusing networks" block, run as written: the frozen body (BatchNorm statistics
included) does not move while the new head trains, fine-tuning moves the body at its own rate,
each group's lr follows the schedule, and strict=False names the head's keys."""

import re
from pathlib import Path

import numpy as np

import glassnet as gn


def test_readme_reusing_networks_block_runs(tmp_path, monkeypatch, capsys):
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    code = re.search(r"## Reusing networks.*?```python\n(.*?)```", readme, re.S).group(1)
    head, rest = code.split("# 1. A new head", 1)
    step1, rest = rest.split("# 2. Fine-tune", 1)
    step2, step3 = rest.split("# 3. Only the body", 1)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(head, "README.md", "exec"), namespace)
    model = namespace["model"]
    source_state = model.state_dict()

    exec(compile("# 1. A new head" + step1, "README.md", "exec"), namespace)
    after_probe = model.state_dict()
    body_keys = [key for key in source_state if not key.startswith("3.")]
    assert "1.running_mean" in body_keys and "1.running_var" in body_keys
    for key in body_keys:  # weights and BatchNorm statistics: bit for bit those of the source task
        assert np.array_equal(after_probe[key], source_state[key]), key
    X, y = namespace["X"], namespace["y"]
    target = namespace["target"]
    probe_accuracy = gn.evaluate(model, X[target], y[target] - 5, loss="cross_entropy")["accuracy"]
    assert probe_accuracy > 0.8

    exec(compile("# 2. Fine-tune" + step2, "README.md", "exec"), namespace)
    tuned = model.state_dict()
    moved = float(np.abs(tuned["0.weight"] - after_probe["0.weight"]).max())
    assert 0 < moved < 0.05  # the body moved, slowly (lr 1e-4, 10 epochs)
    lrs = [group["lr"] for group in namespace["optimizer"].param_groups]
    np.testing.assert_allclose(lrs, [1e-4 * 0.8 ** 9, 1e-2 * 0.8 ** 9])
    assert gn.evaluate(model, X[target], y[target] - 5, loss="cross_entropy")["accuracy"] >= probe_accuracy

    exec(compile("# 3. Only the body" + step3, "README.md", "exec"), namespace)
    printed = capsys.readouterr().out.strip().splitlines()[-1]
    assert printed == "LoadResult(missing_keys=[], unexpected_keys=['3.bias', '3.weight'])"
    assert printed in code  # the comment in the README shows what it prints
    features = namespace["features"]
    assert np.array_equal(features[0].weight.data, source_state["0.weight"])
