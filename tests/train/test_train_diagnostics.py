"""GradientMonitor and diagnose (issue 14's Verify item): the recorded norms and ratios equal a
direct computation (backward by hand on the same batches), vanishing is flagged on a deep
sigmoid network with Glorot init and not with ReLU + He init, dead ReLUs are found when the
biases start very negative, saturation when the weights are large; diagnose changes nothing."""

import functools
import math

import numpy as np
import pytest
from sklearn.datasets import load_digits

import glassnet as gn
from glassnet import init, losses, nn, optim


def digits(n=300):
    data = load_digits()
    X = (data.data[:n] / 16.0).astype(np.float32)
    return (X - X.mean(axis=0)) / (X.std(axis=0) + 1e-3), data.target[:n]


def deep_net(activation="sigmoid", weight_init="xavier_uniform", depth=6, width=30, bias_init="zeros",
             dtype=np.float32, n_in=64, n_out=10):
    """depth hidden layers of width units (the issue's 6 x 30 network on the digits)."""
    layers, size = [], n_in
    for index in range(depth):
        layers += [nn.Linear(size, width, weight_init=weight_init, bias_init=bias_init, dtype=dtype, rng=index),
                   nn.make_activation(activation)]
        size = width
    return nn.Sequential(*layers, nn.Linear(size, n_out, weight_init=weight_init, dtype=dtype, rng=depth))


STANDARD_NORMAL = functools.partial(init.normal, std=1.0)
INITS = {"sigmoid_normal": ("sigmoid", STANDARD_NORMAL), "sigmoid_glorot": ("sigmoid", "xavier_uniform"),
         "relu_he": ("relu", "he_uniform")}


def layer_params(model):
    return [(name, [p for p in module._parameters.values() if p is not None and p.requires_grad])
            for name, module in model.named_modules()
            if any(p is not None and p.requires_grad for p in module._parameters.values())]


def norm64(arrays):
    return float(np.linalg.norm(np.concatenate([np.asarray(a, np.float64).ravel() for a in arrays])))


def hand_steps(model, X, y, batches, lr):
    """Per batch: each layer's gradient norm and ||W_after - W_before|| / ||W_before||, by hand."""
    optimizer, out = optim.SGD(model.parameters(), lr=lr), []
    for rows in batches:
        layers = layer_params(model)
        before = [[p.data.copy() for p in params] for _, params in layers]
        optimizer.zero_grad()
        losses.cross_entropy(model(gn.Tensor(X[rows])), y[rows]).backward()
        grads = {name: norm64([p.grad for p in params]) for name, params in layers}
        total = norm64([p.grad for _, params in layers for p in params])
        optimizer.step()
        ratios = {name: norm64([p.data - w for p, w in zip(params, old)]) / norm64(old)
                  for (name, params), old in zip(layers, before)}
        out.append((grads, ratios, total))
    return out


@pytest.mark.parametrize("case", sorted(INITS))
@pytest.mark.parametrize("every", ["epoch", 1])
def test_recorded_norms_and_ratios_equal_a_direct_computation(case, every):
    activation, weight_init = INITS[case]
    X, y = digits(96)
    model, twin = deep_net(activation, weight_init), deep_net(activation, weight_init)
    monitor = gn.GradientMonitor(every=every)
    gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=0.5), epochs=2,
           batch_size=32, shuffle=False, callbacks=[monitor], verbose=0)
    steps = hand_steps(twin, X, y, [slice(start, start + 32) for start in (0, 32, 64)] * 2, lr=0.5)
    assert monitor.layers == ["0", "2", "4", "6", "8", "10", "12"]
    groups = [steps[:3], steps[3:]] if every == "epoch" else [[step] for step in steps]
    assert len(monitor.records) == len(groups)
    for record, group in zip(monitor.records, groups):
        for name in monitor.layers:
            assert record["grad_norm"][name] == pytest.approx(np.mean([g[name] for g, _, _ in group]), rel=1e-9)
            assert record["update_ratio"][name] == pytest.approx(np.mean([u[name] for _, u, _ in group]), rel=1e-9)
        assert record["total_grad_norm"] == pytest.approx(np.mean([t for _, _, t in group]), rel=1e-9)
        assert record["max_grad_norm"] == pytest.approx(max(t for _, _, t in group), rel=1e-9)
        assert record["batches"] == len(group) and not record["nonfinite"]
    for name, params in layer_params(twin):  # the weight norm after the last step
        assert monitor.records[-1]["weight_norm"][name] == pytest.approx(norm64([p.data for p in params]), rel=1e-9)
    ratio = monitor.gradient_ratio()
    np.testing.assert_allclose(ratio, monitor.history("grad_norm")[:, 0] / monitor.history("grad_norm")[:, -1])
    np.testing.assert_array_equal(model[0].weight.data, twin[0].weight.data)  # the monitor changed nothing


def test_every_n_records_the_run_s_batches_0_n_2n():
    X, y = digits(80)
    model = deep_net("relu", "he_uniform", depth=2)
    monitor = gn.GradientMonitor(every=3)
    gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=3,
           batch_size=16, callbacks=[monitor], verbose=0, seed=0)
    assert [r["step"] for r in monitor.records] == [0, 3, 6, 9, 12]
    assert [(r["epoch"], r["batch"]) for r in monitor.records] == [(0, 0), (0, 3), (1, 1), (1, 4), (2, 2)]
    assert all(r["batches"] == 1 for r in monitor.records)


@pytest.mark.parametrize("case, flagged", [("sigmoid_glorot", True), ("sigmoid_normal", False),
                                           ("relu_he", False)])
def test_vanishing_is_flagged_on_sigmoid_glorot_not_on_relu_he(case, flagged):
    activation, weight_init = INITS[case]
    X, y = digits()
    model = deep_net(activation, weight_init)
    diagnosis = gn.diagnose(model, X, y, loss="cross_entropy")
    ratio = diagnosis.gradient_ratio()[0]
    kinds = [finding.kind for finding in diagnosis.findings()]
    assert ("vanishing" in kinds) is flagged
    if case == "sigmoid_glorot":
        assert ratio < 1e-2
        vanishing = diagnosis.findings()[kinds.index("vanishing")]
        assert vanishing.value == pytest.approx(ratio) and vanishing.where == "0 / 12"
        assert "Xavier" in vanishing.remedy and "ReLU" in vanishing.remedy and "batch normalization" in vanishing.remedy
    elif case == "sigmoid_normal":  # large weights: no vanishing ratio, but saturated units instead
        assert 1e-2 < ratio < 1 and "saturated" in kinds
    else:
        assert ratio > 0.1 and kinds == []
    monitor = gn.GradientMonitor()  # the same verdict from the monitor during an epoch of training
    gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=0.01), epochs=1,
           batch_size=32, callbacks=[monitor], verbose=0, seed=0)
    assert ("vanishing" in [finding.kind for finding in monitor.findings()]) is flagged


def test_dead_relus_are_found_when_the_biases_start_very_negative():
    X, y = digits(128)
    def negative(shape, dtype=np.float32, rng=None):
        return np.full(shape, -10.0, dtype)

    model = deep_net("relu", "he_uniform", depth=3, bias_init=negative)
    healthy = deep_net("relu", "he_uniform", depth=3)
    monitor = gn.GradientMonitor()
    gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=0.01), epochs=2,
           batch_size=32, callbacks=[monitor], verbose=0, seed=0)
    # the first hidden layer: z = x @ W - 10 is never positive on these inputs, so every unit is dead
    z = X @ model[0].weight.data + model[0].bias.data
    assert monitor.records[-1]["dead"]["1"] == 1.0 - np.mean(np.any(z > 0, axis=0)) == 1.0
    dead = [finding for finding in monitor.findings() if finding.kind == "dead"]
    assert len(dead) == 1 and dead[0].value == 1.0 and "1" in dead[0].where and "LeakyReLU" in dead[0].remedy
    assert monitor.history("dead").shape == (2, 3)
    check = gn.diagnose(healthy, X, y, loss="cross_entropy")
    z = np.maximum(X @ healthy[0].weight.data, 0)
    assert check.records[0]["dead"]["1"] == pytest.approx(1.0 - np.mean(np.any(z > 0, axis=0)))
    assert "dead" not in [finding.kind for finding in check.findings()]


def test_saturation_is_the_share_of_outputs_whose_derivative_is_below_5_percent():
    X, y = digits(64)
    large = functools.partial(init.normal, std=3.0)
    model = nn.Sequential(nn.Linear(64, 20, weight_init=large, rng=0), nn.Sigmoid(),
                          nn.Linear(20, 20, weight_init=large, rng=1), nn.Tanh(), nn.Linear(20, 10, rng=2))
    diagnosis = gn.diagnose(model, X, y, loss="cross_entropy")
    a = 1 / (1 + np.exp(-(X.astype(np.float64) @ model[0].weight.data + model[0].bias.data)))
    t = np.tanh(a.astype(np.float32) @ model[2].weight.data + model[2].bias.data)
    record = diagnosis.records[0]
    assert record["saturated"]["1"] == pytest.approx(np.mean(a * (1 - a) < 0.0125), abs=2 / a.size)
    assert record["saturated"]["3"] == pytest.approx(np.mean(1 - t.astype(np.float64) ** 2 < 0.05), abs=2 / t.size)
    assert record["saturated"]["1"] > 0.5 and record["saturated"]["3"] > 0.5
    saturated = [finding for finding in diagnosis.findings() if finding.kind == "saturated"]
    assert len(saturated) == 1 and saturated[0].where == "1, 3" and "Xavier" in saturated[0].remedy
    assert "saturated" in diagnosis.report() and "Try:" in diagnosis.report()


def test_diagnose_gradients_equal_a_hand_backward_and_change_nothing():
    X, y = digits(50)
    X = X.astype(np.float64)
    model = nn.Sequential(nn.Linear(64, 16, dtype=np.float64, rng=0), nn.BatchNorm1d(16, dtype=np.float64),
                          nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 10, dtype=np.float64, rng=1))
    model.eval()
    model[0].weight.grad = np.full_like(model[0].weight.data, 7.0)
    before = {name: array.copy() for name, array in model.state_dict().items()}
    rng_state = gn.random.get_rng(None).bit_generator.state
    full = gn.diagnose(model, X, y, loss="cross_entropy")
    batched = gn.diagnose(model, X, y, loss="cross_entropy", batch_size=50)
    assert all(np.array_equal(before[name], array) for name, array in model.state_dict().items())
    assert np.all(model[0].weight.grad == 7.0) and model[4].weight.grad is None
    assert not model.training and not model[1].training
    assert gn.random.get_rng(None).bit_generator.state == rng_state
    np.testing.assert_array_equal(full.history("grad_norm"), batched.history("grad_norm"))
    gn.random.get_rng(None).bit_generator.state = rng_state  # the same Dropout masks as diagnose drew
    twin = nn.Sequential(nn.Linear(64, 16, dtype=np.float64, rng=0), nn.BatchNorm1d(16, dtype=np.float64),
                         nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 10, dtype=np.float64, rng=1))
    losses.cross_entropy(twin(gn.Tensor(X)), y).backward()
    for name, params in layer_params(twin):
        assert full.records[0]["grad_norm"][name] == pytest.approx(norm64([p.grad for p in params]), rel=1e-12)
    assert full.records[0]["update_ratio"] == {} and full.layers == ["0", "1", "4"]


def test_diagnose_in_batches_gives_the_gradient_of_all_rows():
    X, y = digits(50)
    model = deep_net("tanh", "xavier_uniform", depth=2, dtype=np.float64)
    whole = gn.diagnose(model, X.astype(np.float64), y, loss="cross_entropy")
    parts = gn.diagnose(model, X.astype(np.float64), y, loss="cross_entropy", batch_size=7)
    np.testing.assert_allclose(parts.history("grad_norm"), whole.history("grad_norm"), rtol=1e-12)
    np.testing.assert_allclose(parts.history("saturated"), whole.history("saturated"), rtol=1e-12)


def test_a_frozen_layer_is_not_watched_and_the_rest_trains_as_before():
    X, y = digits(64)
    model, twin = deep_net("relu", "he_uniform", depth=2), deep_net("relu", "he_uniform", depth=2)
    model[0].freeze()
    twin[0].freeze()
    monitor = gn.GradientMonitor(every=1)
    gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=1,
           batch_size=32, shuffle=False, callbacks=[monitor], verbose=0)
    steps = hand_steps(twin, X, y, [slice(0, 32), slice(32, 64)], lr=0.1)
    assert monitor.layers == ["2", "4"] and monitor.activations == ["1", "3"]
    for record, (grads, ratios, total) in zip(monitor.records, steps):
        assert record["grad_norm"] == pytest.approx(grads, rel=1e-9)
        assert record["update_ratio"] == pytest.approx(ratios, rel=1e-9)
        assert record["total_grad_norm"] == pytest.approx(total, rel=1e-9)
    np.testing.assert_array_equal(model[2].weight.data, twin[2].weight.data)


def test_a_zero_weight_has_no_update_ratio_and_the_report_says_so():
    X, y = digits(32)
    model = nn.Sequential(nn.Linear(64, 8, rng=0), nn.ReLU(), nn.Linear(8, 10, weight_init="zeros"))
    monitor = gn.GradientMonitor(every=1)
    gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=1,
           batch_size=None, callbacks=[monitor], verbose=0)
    record = monitor.records[0]
    assert math.isnan(record["update_ratio"]["2"]) and record["update_ratio"]["0"] == 0.0  # no gradient reaches it
    assert monitor.report().splitlines()[3].split()[-1] == "-"
