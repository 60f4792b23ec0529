"""The README's "ONNX and PyTorch" blocks, run as written: the ONNX graphs that onnxruntime runs
give glassnet's outputs (a bidirectional LSTM tagger at another batch size and length; the iris
estimator's labels and probabilities), and the PyTorch weights move both ways."""

import re
from pathlib import Path

import numpy as np
import pytest
import torch


def _blocks(heading: str) -> list[str]:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = re.search(re.escape(heading) + r"(.*?)\n##", readme, re.S).group(1)
    return re.findall(r"```python\n(.*?)```", section, re.S)


@pytest.fixture(autouse=True)
def torch_in_float32():
    """The README's PyTorch models are float32 (PyTorch's default), whatever default an oracle
    module of the suite set before."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)
    yield
    torch.set_default_dtype(previous)


def test_readme_onnx_block_runs(tmp_path, monkeypatch, capsys):
    (block,) = _blocks("### Export to ONNX")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)
    assert float(capsys.readouterr().out) < 1e-5  # onnxruntime vs glassnet, batch 8, length 40
    clf, X = namespace["clf"], namespace["X"]
    np.testing.assert_array_equal(namespace["label"], clf.predict(X))
    np.testing.assert_allclose(namespace["probabilities"], clf.predict_proba(X), rtol=1e-4, atol=1e-5)


def test_readme_pytorch_weights_block_runs(tmp_path, monkeypatch, capsys):
    (block,) = _blocks("### PyTorch weights, both ways")
    monkeypatch.chdir(tmp_path)
    exec(compile(block, "README.md", "exec"), {})
    assert capsys.readouterr().out.split("\n")[:2] == ["True", "(3, 56) (56, 3)"]
    from safetensors.numpy import load_file

    assert load_file(str(tmp_path / "model.safetensors"))["4.weight"].shape == (3, 56)
