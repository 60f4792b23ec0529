"""The README's "Interpretability and diagnostics" blocks, run as written (the CNN trained for fewer
epochs): the attributions have the inputs' shape, the delta is the completeness gap (a sum of
attributions minus f(x) - f(0), small against it), the monitor names the vanishing gradient."""

import re
from pathlib import Path

import numpy as np

import glassnet as gn


def _blocks() -> list[str]:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = re.search(r"## Interpretability and diagnostics\n(.*?)\n## ", readme, re.S).group(1)
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_readme_interpretability_blocks_run(tmp_path, monkeypatch, capsys):
    attributions_block, diagnostics_block = _blocks()
    assert "epochs=15" in attributions_block
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(attributions_block.replace("epochs=15", "epochs=4"), "README.md", "exec"), namespace)
    x, target, model = namespace["x"], namespace["target"], namespace["model"]
    for name in ("saliency", "attributions", "cam"):
        assert namespace[name].shape == x.shape, name
    rows = np.arange(len(x))
    change = gn.predict(model, x)[rows, target] - gn.predict(model, np.zeros_like(x))[rows, target]
    gap = namespace["attributions"].reshape(len(x), -1).sum(axis=1) - change
    np.testing.assert_allclose(namespace["delta"], gap, atol=1e-5)
    assert np.all(np.abs(gap) <= 0.01 * np.abs(change))
    assert (tmp_path / "attributions.png").stat().st_size > 0

    exec(compile(diagnostics_block, "README.md", "exec"), namespace)
    printed = capsys.readouterr().out
    assert "vanishing: the first layer's gradient norm is" in printed and "Try: " in printed
    assert namespace["monitor"].gradient_ratio().max() < 0.1
    assert (tmp_path / "gradient_flow.png").stat().st_size > 0
