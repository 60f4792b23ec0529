"""examples/vanishing_gradients.py: the ratio of the first hidden layer's gradient norm to the last
hidden layer's at initialization equals PyTorch's on the same weights, lands near the issue's
PyTorch measurement (sigmoid + Glorot 1.2e-3, sigmoid + N(0, 1) 0.30, ReLU + He 2.0) averaged over
seeds, and the fast run shows the course's claim: sigmoid + Glorot stalls, ReLU + He and batch norm
train.

The thresholds of the training claims hold at seeds 0-4 (measured when the example was written:
sigmoid + Glorot ends at loss 2.303 every time; ReLU + He at 0.89-0.94 test accuracy, batch norm at
0.91-0.94)."""

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from threadpoolctl import threadpool_limits

import glassnet as gn

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "vanishing_gradients.py"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def load_example():
    spec = importlib.util.spec_from_file_location("course_example_vanishing_gradients", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


example = load_example()


def torch_twin(model: gn.nn.Sequential) -> torch.nn.Sequential:
    """The same network in PyTorch, float64, with the same weights (ours are the transposes)."""
    layers = []
    for module in model:
        if isinstance(module, gn.nn.Linear):
            twin = torch.nn.Linear(module.in_features, module.out_features, dtype=torch.float64)
            twin.weight.data = torch.tensor(module.weight.data.T.copy())
            twin.bias.data = torch.tensor(module.bias.data.copy())
        elif isinstance(module, gn.nn.BatchNorm1d):
            twin = torch.nn.BatchNorm1d(module.num_features, eps=module.eps, dtype=torch.float64)
            twin.weight.data = torch.tensor(module.weight.data.copy())
            twin.bias.data = torch.tensor(module.bias.data.copy())
        else:
            twin = {gn.nn.Sigmoid: torch.nn.Sigmoid, gn.nn.ReLU: torch.nn.ReLU}[type(module)]()
        layers.append(twin)
    return torch.nn.Sequential(*layers).train()


def torch_layer_norms(model: gn.nn.Sequential, X, y) -> list:
    """Each Linear layer's gradient norm (weight and bias together) after PyTorch's backward of the
    mean cross-entropy on all of (X, y)."""
    twin = torch_twin(model)
    torch.nn.functional.cross_entropy(twin(torch.tensor(X, dtype=torch.float64)), torch.tensor(y)).backward()
    return [math.sqrt(float(layer.weight.grad.square().sum() + layer.bias.grad.square().sum()))
            for layer in twin if isinstance(layer, torch.nn.Linear)]


@pytest.mark.parametrize("name", example.NETWORKS)
@pytest.mark.parametrize("seed", [0, 1])
def test_ratio_at_initialization_equals_pytorch_twin(name, seed):
    X_train, _, y_train, _ = example.load(seed)
    model = example.build_model(name, seed, dtype=np.float64)
    ratio, diagnosis = example.ratio_at_init(model, X_train.astype(np.float64), y_train)
    expected = torch_layer_norms(model, X_train, y_train)
    linears = [layer for layer, module in model.named_children() if isinstance(module, gn.nn.Linear)]
    np.testing.assert_allclose([diagnosis.records[0]["grad_norm"][layer] for layer in linears], expected, rtol=1e-9)
    np.testing.assert_allclose(ratio, expected[0] / expected[-2], rtol=1e-9)
    assert diagnosis.layers[0] == linears[0] and linears[-2] in diagnosis.layers


def test_ratios_at_initialization_land_near_the_issues_over_seeds():
    seeds = range(10)
    ratios = {name: [] for name in example.NETWORKS}
    with threadpool_limits(limits=1, user_api="blas"):
        for seed in seeds:
            X_train, _, y_train, _ = example.load(seed)
            for name in example.NETWORKS:
                ratios[name].append(example.ratio_at_init(example.build_model(name, seed), X_train, y_train)[0])
    means = {name: float(np.mean(values)) for name, values in ratios.items()}
    # Measured: 1.38e-3, 0.31, 2.14 (seeds 0-9); the issue's PyTorch numbers: 1.2e-3, 0.30, 2.0. The
    # ratio varies with the draw (N(0, 1): 0.11 to 0.53 over 20 seeds), hence the factor 1.5.
    for name, issue in example.ISSUE_RATIOS.items():
        assert issue / 1.5 < means[name] < issue * 1.5, (name, means[name], issue)
    assert 0.8 < means["sigmoid + batch norm"] < 2.0
    # At every seed the Glorot sigmoid network's ratio is hundreds of times below the remedies'.
    for glorot, relu, normed in zip(ratios["sigmoid + Glorot"], ratios["ReLU + He"], ratios["sigmoid + batch norm"]):
        assert glorot < 3e-3 and glorot * 300 < min(relu, normed)


@pytest.fixture(scope="module")
def fast_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("vanishing_gradients")
    with threadpool_limits(limits=1, user_api="blas"):
        return example.main(fast=True, out=out), out


def test_fast_run_shows_the_gradient_vanish_and_the_remedies_work(fast_run):
    result, _ = fast_run
    networks = result["networks"]
    assert result["epochs"] == 12
    glorot, normal, relu, normed = (networks[name] for name in example.NETWORKS)
    for network in networks.values():
        assert len(network["ratios"]) == len(network["loss"]) == len(network["test_accuracy"]) == 12
    # At initialization: the Glorot sigmoid network's first layer gets ~1e-3 of the last hidden layer's gradient.
    assert glorot["ratio_at_init"] < 3e-3 < 0.1 < normal["ratio_at_init"] < 1 < relu["ratio_at_init"]
    assert normed["ratio_at_init"] > 0.5
    assert glorot["findings_at_init"] == glorot["findings"] == ["vanishing"]
    # The monitor divides by the output layer's norm: N(0, 1)'s 0.015-0.054 is flagged too, the remedies are not.
    assert "vanishing" in normal["findings_at_init"] and "vanishing" in normal["findings"]
    for network in (relu, normed):
        assert "vanishing" not in network["findings"] and "vanishing" not in network["findings_at_init"]
    # It stays vanished during training, and the first layer barely moves: the loss stays at chance.
    assert max(glorot["ratios"]) < 3e-3
    assert glorot["first_update_ratio"] < 1e-3 * relu["first_update_ratio"]
    assert abs(glorot["loss"][-1] - math.log(10)) < 0.01 and glorot["test_accuracy"][-1] < 0.2
    # N(0, 1) saturates the sigmoids (a quarter of their outputs) and learns slowly; the remedies train.
    assert normal["saturated_at_init"] > 0.1 and glorot["saturated_at_init"] < 0.01
    assert relu["loss"][-1] < 0.3 and relu["test_accuracy"][-1] > 0.85
    assert normed["loss"][-1] < 1.0 and normed["test_accuracy"][-1] > 0.9
    assert relu["loss"][-1] < normal["loss"][-1] < glorot["loss"][-1]


def test_fast_run_writes_its_figures(fast_run):
    result, out = fast_run
    names = ["vanishing_gradients.png", "vanishing_gradients_flow.png"]
    assert sorted(path.name for path in out.glob("*.png")) == names
    assert sorted(Path(path).name for path in result["figures"]) == names
    for name in names:
        data = (out / name).read_bytes()
        assert data[:8] == PNG_SIGNATURE and len(data) > 10_000
