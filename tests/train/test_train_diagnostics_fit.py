"""GradientMonitor inside fit, and fit(clip_grad_norm=): clipping equals a hand loop with
optim.clip_grad_norm and logs its total norm; the monitor changes no weight and leaves no hook
(also after a fit that raised); a resumed run (BackupAndRestore) continues the records exactly;
non-finite gradients are reported as exploding; bad arguments fail before anything changes."""

import io
import math

import numpy as np
import pytest

import glassnet as gn
from glassnet import losses, nn, optim
from glassnet.train import _diagnosis


def problem(n=96, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5)).astype(np.float32)
    return X, (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(np.int64)


def network(activation="relu", seed=0):
    return nn.Sequential(nn.Linear(5, 12, rng=seed), nn.make_activation(activation), nn.Linear(12, 12, rng=seed + 1),
                         nn.Sigmoid(), nn.Linear(12, 2, rng=seed + 2))


class Logs(gn.Callback):
    def __init__(self):
        self.batches = []

    def on_batch_end(self, batch, logs=None):
        self.batches.append(dict(logs))


def hand_loop(model, X, y, batch_size, epochs, lr, clip=None):
    """fit's step written out (shuffle off): zero_grad, backward, [clip], step; the clip totals."""
    optimizer, totals = optim.Adam(model.parameters(), lr=lr), []
    for _ in range(epochs):
        for start in range(0, len(X), batch_size):
            optimizer.zero_grad()
            losses.cross_entropy(model(gn.Tensor(X[start:start + batch_size])), y[start:start + batch_size]).backward()
            if clip is not None:
                totals.append(optim.clip_grad_norm(model.parameters(), clip))
            optimizer.step()
    return totals


def train(model, X, y, **options):
    options.setdefault("callbacks", [])
    return gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.Adam(model.parameters(), lr=0.05), epochs=3,
                  batch_size=32, shuffle=False, verbose=0, **options)


def same_weights(a, b):
    return all(np.array_equal(x, z) for x, z in zip(a.state_dict().values(), b.state_dict().values()))


@pytest.mark.parametrize("clip", [None, 0.05, 100.0])
def test_fit_with_or_without_a_monitor_equals_the_hand_loop_bit_for_bit(clip):
    X, y = problem()
    plain, watched, hand = network(), network(), network()
    logs = Logs()
    train(plain, X, y, clip_grad_norm=clip, callbacks=[logs])
    monitor = gn.GradientMonitor(every=1)
    train(watched, X, y, clip_grad_norm=clip, callbacks=[monitor])
    totals = hand_loop(hand, X, y, 32, 3, 0.05, clip)
    assert same_weights(plain, hand) and same_weights(watched, hand)
    if clip is None:
        assert all(set(batch) == {"loss"} for batch in logs.batches)
        return
    assert [batch["grad_norm"] for batch in logs.batches] == totals  # the total norm before clipping
    assert [record["total_grad_norm"] for record in monitor.records] == totals
    if clip == 0.05:  # clipped: every step's gradients have norm 0.05, shared by the layers
        assert all(t > 0.05 for t in totals)
        norms = monitor.history("grad_norm")
        np.testing.assert_allclose(np.sqrt(np.sum(norms ** 2, axis=1)), 0.05, rtol=1e-4)


def test_clipping_covers_only_the_optimizer_s_trainable_parameters():
    X, y = problem()
    model, hand = network(), network()
    model[0].freeze()
    hand[0].freeze()
    logs = Logs()
    gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=1,
           batch_size=48, shuffle=False, verbose=0, clip_grad_norm=0.1, callbacks=[logs])
    optimizer, totals = optim.SGD(hand.parameters(), lr=0.1), []
    for start in (0, 48):
        optimizer.zero_grad()
        losses.cross_entropy(hand(gn.Tensor(X[start:start + 48])), y[start:start + 48]).backward()
        totals.append(optim.clip_grad_norm([p for p in hand.parameters() if p.requires_grad], 0.1))
        optimizer.step()
    assert [batch["grad_norm"] for batch in logs.batches] == totals
    assert same_weights(model, hand)


def no_hooks_left(model, monitor):
    """Run the model with the monitor listening: a hook left behind would count the outputs."""
    monitor._recording, monitor._partial = True, _diagnosis.new_partial(0, None, 0)
    model(gn.Tensor(problem(8)[0]))
    left = monitor._partial["active"] or monitor._partial["saturated"]
    monitor._recording, monitor._partial = False, None
    return not left and monitor._handles == [] and all("_hooks" not in vars(m) for m in model.modules())


class Boom(gn.Callback):
    def __init__(self, at_batch):
        self.at_batch, self.seen = at_batch, 0

    def on_batch_end(self, batch, logs=None):
        self.seen += 1
        if self.seen == self.at_batch:
            raise RuntimeError("boom")


def test_no_hook_remains_after_fit_nor_after_a_fit_that_raised():
    X, y = problem()
    model = network()
    monitor = gn.GradientMonitor()
    train(model, X, y, callbacks=[monitor])
    assert no_hooks_left(model, monitor) and len(monitor.records) == 3
    with pytest.raises(RuntimeError, match="boom"):
        train(model, X, y, callbacks=[monitor, Boom(5)])
    assert no_hooks_left(model, monitor)
    assert len(monitor.records) == 1  # the first epoch; the second had not ended
    with pytest.raises(KeyboardInterrupt):
        train(model, X, y, callbacks=[monitor, Interrupt(1)])
    assert no_hooks_left(model, monitor)
    with pytest.raises(ValueError, match="does not fit"):  # fails its checks: no hook was ever attached
        train(model, X[:, :3], y, callbacks=[monitor])
    assert no_hooks_left(model, monitor)


def test_the_user_s_own_hooks_stay_and_a_monitor_can_be_used_again():
    X, y = problem()
    model = network()
    seen = []
    handle = model[1].register_forward_hook(lambda module, args, output: seen.append(output.shape))
    monitor = gn.GradientMonitor()
    train(model, X, y, callbacks=[monitor])
    first = monitor.records
    calls = len(seen)
    model(gn.Tensor(X[:4]))
    assert len(seen) == calls + 1 and seen[-1] == (4, 12)  # the user's hook still runs, the monitor's is gone
    handle.remove()
    train(network(), X, y, callbacks=[monitor])  # a second run starts its records afresh
    assert monitor.records == first and all("_hooks" not in vars(m) for m in model.modules())


def test_non_finite_gradients_are_reported_as_exploding():
    X, y = problem()

    def sqrt_loss(outputs, target):  # finite at 0, its gradient is not: d sqrt(u)/du = inf at u = 0
        return (outputs * 0.0).sum().sqrt() + losses.cross_entropy(outputs, target)

    sqrt_loss.from_logits = True
    model = network()
    monitor = gn.GradientMonitor()
    with np.errstate(all="ignore"), pytest.raises(FloatingPointError, match="at epoch 1, batch 1"):
        gn.fit(model, X, y, loss=sqrt_loss, optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=2,
               batch_size=32, verbose=0, callbacks=[monitor])
    assert len(monitor.records) == 1 and monitor.records[0]["nonfinite"] and no_hooks_left(model, monitor)
    exploding = [finding for finding in monitor.findings() if finding.kind == "exploding"]
    assert len(exploding) == 1 and exploding[0].value == math.inf and "clip" in exploding[0].remedy


def test_weights_broken_by_the_last_step_end_the_records_as_non_finite():
    X, y = problem()
    model = nn.Sequential(nn.Linear(5, 2, rng=0))
    monitor = gn.GradientMonitor()
    with np.errstate(all="ignore"), pytest.raises(FloatingPointError, match="at the end of epoch 1"):
        gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=1e39), epochs=1,
               batch_size=None, verbose=0, callbacks=[monitor])
    assert len(monitor.records) == 1 and monitor.records[0]["nonfinite"] and monitor.records[0]["batches"] == 1
    assert [finding.kind for finding in monitor.findings()] == ["exploding"]


def test_a_loss_that_turns_nan_under_terminate_on_nan_is_recorded_as_non_finite():
    X, y = problem()
    model = network()
    monitor = gn.GradientMonitor(every=1)
    stop = gn.TerminateOnNaN(stream=io.StringIO())
    with np.errstate(all="ignore"):
        gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.Adam(model.parameters(), lr=1e37), epochs=5,
               batch_size=8, shuffle=False, callbacks=[monitor, stop], verbose=0)
    assert stop.terminated_at is not None and monitor.records[-1]["nonfinite"]
    assert sum(record["nonfinite"] for record in monitor.records) >= 1
    assert "exploding" in [finding.kind for finding in monitor.findings()]


def test_growing_gradient_norms_are_reported_as_exploding():
    view = _diagnosis.RecordsView()
    view.layers, view.activations, view.thresholds = ["a", "b"], [], dict(_diagnosis.check_thresholds(
        1e-2, 1e3, 1e2, 0.5, 0.5))
    record = {"epoch": 0, "batch": None, "step": 0, "batches": 1, "grad_norm": {"a": 1.0, "b": 1.0},
              "weight_norm": {"a": 1.0, "b": 1.0}, "update_ratio": {}, "total_grad_norm": 0.5,
              "max_grad_norm": 0.5, "dead": {}, "saturated": {}, "nonfinite": False}
    view.records = [record, {**record, "epoch": 1, "total_grad_norm": 400.0, "max_grad_norm": 450.0}]
    assert view.findings() == []  # 900 times the first record's 0.5 ...
    view.records[1]["max_grad_norm"] = 501.0  # ... and 1002 times
    (finding,) = view.findings()
    assert (finding.kind, finding.value, finding.epoch) == ("exploding", 1002.0, 1)
    view.records[1]["grad_norm"] = {"a": 200.0, "b": 1.0}  # the first layer's gradient 200 times the last's
    assert [f.value for f in view.findings()] == [1002.0, 200.0]


class Interrupt(gn.Callback):
    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt


@pytest.mark.parametrize("every, save_freq, at", [("epoch", "epoch", 2), ("epoch", 2, 1), (2, 3, 2)])
def test_a_resumed_run_continues_the_records_exactly(tmp_path, every, save_freq, at):
    X, y = problem()

    def run(folder, callbacks):
        model = network()
        monitor = gn.GradientMonitor(every=every)
        gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.Adam(model.parameters(), lr=0.05), epochs=4,
               batch_size=20, seed=1, verbose=0, clip_grad_norm=0.5,
               callbacks=[monitor, *callbacks, gn.BackupAndRestore(folder, save_freq=save_freq)])
        return monitor, model

    whole, reference = run(tmp_path / "a", [])
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "b", [Interrupt(at)])
    resumed, model = run(tmp_path / "b", [Interrupt(None)])
    assert resumed.records == whole.records and len(whole.records) == (4 if every == "epoch" else 10)
    assert same_weights(model, reference)


def test_a_backup_with_another_clip_or_every_is_refused(tmp_path):
    X, y = problem()
    folder = tmp_path / "backup"

    def run(clip, every="epoch", interrupt=None):
        model = network()
        gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.Adam(model.parameters()), epochs=3, batch_size=32,
               verbose=0, seed=0, clip_grad_norm=clip, callbacks=[gn.GradientMonitor(every=every),
                                                                  Interrupt(interrupt), gn.BackupAndRestore(folder)])

    with pytest.raises(KeyboardInterrupt):
        run(1.0, interrupt=1)
    with pytest.raises(ValueError, match="clip_grad_norm is 1.0 there and 2.0 here"):
        run(2.0)
    with pytest.raises(ValueError, match="clip_grad_norm is 1.0 there and None here"):
        run(None)
    with pytest.raises(ValueError, match="every='epoch'"):
        run(1.0, every=2)


def test_verbose_prints_the_report_when_training_ends():
    X, y = problem()
    stream = io.StringIO()
    monitor = gn.GradientMonitor(verbose=1, stream=stream)
    train(network(), X, y, callbacks=[monitor])
    assert stream.getvalue() == monitor.report() + "\n"
    assert "no problems found" in stream.getvalue() and "0 (Linear)" in stream.getvalue()


@pytest.mark.parametrize("arguments, error, words", [
    ({"every": 0}, ValueError, "every must be a positive int"), ({"every": -2}, ValueError, "every"),
    ({"every": 1.5}, TypeError, "every"), ({"every": "batch"}, ValueError, "every must be 'epoch'"),
    ({"every": True}, TypeError, "every"), ({"vanishing_ratio": -1}, ValueError, "vanishing_ratio must be > 0"),
    ({"vanishing_ratio": float("nan")}, ValueError, "vanishing_ratio must be finite"),
    ({"exploding_growth": 0.5}, ValueError, "exploding_growth must be > 1"),
    ({"exploding_ratio": "x"}, TypeError, "exploding_ratio"), ({"dead_fraction": 0}, ValueError, "dead_fraction"),
    ({"dead_fraction": 1.5}, ValueError, r"dead_fraction must be in \(0, 1\]"),
    ({"saturated_fraction": -0.1}, ValueError, "saturated_fraction"), ({"verbose": -1}, ValueError, "verbose"),
    ({"stream": 5}, TypeError, "stream"),
])
def test_bad_monitor_arguments_are_named(arguments, error, words):
    with pytest.raises(error, match=words):
        gn.GradientMonitor(**arguments)


@pytest.mark.parametrize("clip, error, words", [
    (0, ValueError, "clip_grad_norm must be > 0"), (-1, ValueError, "clip_grad_norm must be > 0"),
    (float("nan"), ValueError, "clip_grad_norm must be finite"), (math.inf, ValueError, "finite"),
    ("x", TypeError, "clip_grad_norm must be a real number"), (True, TypeError, "clip_grad_norm"),
])
def test_a_bad_clip_grad_norm_fails_before_anything_changes(clip, error, words):
    X, y = problem()
    model = network()
    before = {name: array.copy() for name, array in model.state_dict().items()}
    state = gn.random.get_rng(None).bit_generator.state
    monitor = gn.GradientMonitor()
    with pytest.raises(error, match=words):
        gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=0.1),
               clip_grad_norm=clip, callbacks=[monitor], verbose=0)
    assert all(np.array_equal(before[name], array) for name, array in model.state_dict().items())
    assert gn.random.get_rng(None).bit_generator.state == state and monitor.records == []


@pytest.mark.parametrize("arguments, error, words", [
    ({"batch_size": 0}, ValueError, "batch_size"), ({"loss": "nope"}, ValueError, "nope"),
    ({"vanishing_ratio": 0}, ValueError, "vanishing_ratio"),
    ({"X": np.ones((16, 3))}, ValueError, "do not fit the model"),
    ({"model": "model"}, TypeError, "model must be"), ({"y": np.zeros(3)}, ValueError, "y"),
])
def test_bad_diagnose_arguments_are_named_and_change_nothing(arguments, error, words):
    X, y = problem(16)
    model = network()
    before = {name: array.copy() for name, array in model.state_dict().items()}
    options = {"model": model, "X": X, "y": y, "loss": "cross_entropy", **arguments}
    with pytest.raises(error, match=words):
        gn.diagnose(options.pop("model"), options.pop("X"), options.pop("y"), **options)
    assert all(np.array_equal(before[name], array) for name, array in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())


def test_state_dict_round_trip_and_refusals():
    X, y = problem()
    monitor = gn.GradientMonitor(every=2)
    train(network(), X, y, callbacks=[monitor])
    copy = gn.GradientMonitor(every=2)
    copy.load_state_dict(monitor.state_dict())
    assert copy.records == monitor.records and copy._step == monitor._step == 9
    with pytest.raises(ValueError, match="'records'"):
        copy.load_state_dict({"records": [1, 2]})
    with pytest.raises(ValueError, match="'records'"):
        copy.load_state_dict({"records": [{"epoch": 0}]})
    broken = monitor.state_dict()
    broken["_partial"] = {**_diagnosis.new_partial(0, None, 0), "active": {"1": [1, 0]}}
    with pytest.raises(ValueError, match="'_partial'"):
        copy.load_state_dict(broken)
    assert copy.records == monitor.records  # nothing was set
    with pytest.raises(ValueError, match="'_step'"):
        copy.load_state_dict({"_step": -1})
    with pytest.raises(TypeError, match="expects a dict"):
        copy.load_state_dict([])
