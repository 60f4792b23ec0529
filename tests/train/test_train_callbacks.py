"""Callbacks do what their docstrings say: early stopping, NaN termination, learning-rate
schedules, checkpoints and the progress bar."""

import io
import math
import re

import numpy as np
import pytest

import glassnet as gn
from glassnet import losses, nn, optim


def noisy_problem(n=60, features=30, seed=0):
    """Few samples, many features, noisy labels: a network overfits it quickly."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, features)).astype(np.float32)
    y = ((X[:, 0] + rng.normal(scale=1.0, size=n)) > 0).astype(int)
    return X, y


def wide_net(features=30, seed=0):
    return nn.Sequential(nn.Linear(features, 64, rng=seed), nn.ReLU(), nn.Linear(64, 2, rng=seed + 1))


class WeightsPerEpoch(gn.Callback):
    def on_train_begin(self, logs=None):
        self.states = []

    def on_epoch_end(self, epoch, logs=None):
        self.states.append(self.model.state_dict())


def test_early_stopping_restores_the_best_epochs_weights():
    X, y = noisy_problem()
    X_val, y_val = noisy_problem(200, seed=1)
    model = wide_net()
    stopper = gn.EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
    record = WeightsPerEpoch()
    history = gn.fit(model, X, y, loss=losses.cross_entropy, optimizer=optim.Adam(model.parameters(), lr=0.01),
                     epochs=200, batch_size=None, validation_data=(X_val, y_val), callbacks=[record, stopper],
                     verbose=0)
    val_losses = history.history["val_loss"]
    best = int(np.argmin(val_losses))
    assert max(val_losses[best + 1:]) > val_losses[best]  # the validation loss did rise
    # Keras' rule: stop after `patience` epochs in a row without improvement
    assert stopper.best_epoch == best and stopper.stopped_epoch == best + 3 and len(val_losses) == best + 4
    assert stopper.best == val_losses[best]
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, record.states[best][key])
    assert not np.array_equal(record.states[-1]["0.weight"], record.states[best]["0.weight"])
    final = gn.evaluate(model, X_val, y_val, loss=losses.cross_entropy)["loss"]
    assert math.isclose(final, min(val_losses), rel_tol=1e-6)


def test_early_stopping_on_accuracy_min_delta_and_a_full_run():
    values = [0.5, 0.6, 0.6, 0.61, 0.59]

    class Scripted(gn.Callback):  # puts a scripted metric into the logs before EarlyStopping reads them
        def on_epoch_end(self, epoch, logs=None):
            logs["val_accuracy"] = values[epoch]

    X, y = noisy_problem()
    for patience, min_delta, epochs_run, best_epoch in [(0, 0.0, 3, 1), (2, 0.0, 5, 3), (2, 0.05, 4, 1)]:
        model = wide_net()
        stopper = gn.EarlyStopping(monitor="val_accuracy", patience=patience, min_delta=min_delta)
        history = gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=0.01),
                         epochs=5, callbacks=[Scripted(), stopper], verbose=0)
        assert stopper.mode == "max"
        assert (len(history.epoch), stopper.best_epoch) == (epochs_run, best_epoch)
    # restore_best_weights also restores when training runs all its epochs
    model = wide_net()
    record = WeightsPerEpoch()
    stopper = gn.EarlyStopping(monitor="val_accuracy", patience=10, restore_best_weights=True)
    gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=0.01),
           epochs=5, callbacks=[Scripted(), record, stopper], verbose=0)
    assert stopper.stopped_epoch is None
    np.testing.assert_array_equal(model.state_dict()["0.weight"], record.states[3]["0.weight"])


def test_early_stopping_errors():
    X, y = noisy_problem()
    model = wide_net()
    with pytest.raises(ValueError, match="monitors 'val_loss', which needs validation data: pass validation_split"):
        gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=2,
               callbacks=[gn.EarlyStopping()], verbose=0)
    with pytest.raises(ValueError, match="patience must be an int >= 0, got -1"):
        gn.EarlyStopping(patience=-1)
    with pytest.raises(ValueError, match="mode must be 'auto', 'min' or 'max'"):
        gn.EarlyStopping(mode="largest")


class WeightsPerBatch(gn.Callback):
    def on_train_begin(self, logs=None):
        self.before = []

    def on_batch_begin(self, batch, logs=None):
        self.before.append(self.model.state_dict())


def test_terminate_on_nan_names_the_batch_and_restores_the_last_finite_weights():
    X, y = noisy_problem()
    model = nn.Sequential(nn.Linear(30, 2, rng=0))
    stream = io.StringIO()
    stop = gn.TerminateOnNaN(stream=stream)
    record = WeightsPerBatch()
    optimizer = optim.Adam(model.parameters(), lr=1e37)
    with np.errstate(all="ignore"):  # a step this large overflows the weights to inf, then NaN
        history = gn.fit(model, X, y, loss="cross_entropy", optimizer=optimizer, epochs=5, batch_size=10,
                         shuffle=False, callbacks=[record, stop], metrics=(), verbose=0)
    epoch, batch = stop.terminated_at
    assert re.search(f"loss became (nan|inf) at epoch {epoch + 1}, batch {batch + 1}; training stopped",
                     stream.getvalue())
    assert len(history.epoch) == epoch + 1
    bad = len(record.before) - 1  # the batch whose loss was NaN
    assert bad >= 1
    # restored: the weights of the last batch whose loss was finite (the one before the bad one)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, record.before[bad - 1][key])
        assert np.all(np.isfinite(value))
    assert math.isfinite(history.history["loss"][-1])
    assert all(np.all(np.isfinite(array)) for state in optimizer.state.values()
               for array in state.values() if isinstance(array, np.ndarray))


def test_terminate_on_nan_at_the_first_batch_restores_the_initial_weights():
    X, y = noisy_problem()
    model = nn.Sequential(nn.Linear(30, 2, rng=0))
    model[0].weight.data[0, 0] = np.inf  # the first loss is already NaN
    initial = model.state_dict()
    stop = gn.TerminateOnNaN(stream=io.StringIO())
    with np.errstate(all="ignore"):
        gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=3,
               batch_size=10, callbacks=[stop], metrics=(), verbose=0)
    assert stop.terminated_at == (0, 0)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, initial[key])


def test_learning_rate_schedules():
    X, y = noisy_problem()
    for schedule, kwargs, expected in [
        ("step", {"step_size": 2, "gamma": 0.5}, [0.1, 0.1, 0.05, 0.05, 0.025]),
        ("exponential", {"gamma": 0.5}, [0.1, 0.05, 0.025, 0.0125, 0.00625]),
        ("cosine", {"T_max": 8}, [0.1 * (1 + math.cos(math.pi * e / 8)) / 2 for e in range(5)]),
        ("cosine", {"T_max": 4, "eta_min": 0.01},
         [0.01 + 0.09 * (1 + math.cos(math.pi * e / 4)) / 2 for e in range(5)]),
        (lambda epoch, lr: lr / (epoch + 1), {}, [0.1 / (e + 1) for e in range(5)]),
    ]:
        model = wide_net()
        optimizer = optim.SGD(model.parameters(), lr=0.1)
        history = gn.fit(model, X, y, loss="cross_entropy", optimizer=optimizer,
                         epochs=5, callbacks=[gn.LearningRateSchedule(schedule, **kwargs)], verbose=0)
        np.testing.assert_allclose(history.history["lr"], expected, rtol=1e-12, atol=1e-15)
        assert optimizer.lr == history.history["lr"][-1]
    assert gn.LearningRateSchedule("cosine", T_max=4).lr_at(4, 0.1) == 0.0
    for kwargs, error, message in [
        ({"schedule": "cosine"}, TypeError, "T_max > 0"), ({"schedule": "linear"}, ValueError, "unknown schedule"),
        ({"schedule": "cosine", "T_max": 0}, ValueError, "T_max must be > 0, got 0"),
        ({"schedule": "step", "step_size": 0}, ValueError, "step_size must be a positive int, got 0"),
        ({"schedule": "step", "step_size": 2.0}, TypeError, "step_size must be a positive int, got float 2.0"),
        ({"schedule": "exponential", "gamma": 0.0}, ValueError, "gamma must be > 0, got 0.0"),
        ({"schedule": "exponential", "eta_min": -1}, ValueError, "eta_min must be >= 0, got -1"),
    ]:
        with pytest.raises(error, match=message):
            gn.LearningRateSchedule(**kwargs)
    model = wide_net()
    with pytest.raises(ValueError, match="the schedule gave lr=-0.1 at epoch 0"):
        gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=2,
               callbacks=[gn.LearningRateSchedule(lambda epoch, lr: -lr)], verbose=0)


def test_progress_bar_plain_lines_rich_bar_and_silence(capsys):
    X, y = noisy_problem()
    model = wide_net()
    gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=3,
           validation_split=0.2, verbose=1)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    for epoch, line in enumerate(lines, 1):
        assert line.startswith(f"epoch {epoch}/3  loss ") and "  accuracy " in line and "val_loss" in line
    gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=3, verbose=0)
    assert capsys.readouterr() == ("", "")

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=3,
           batch_size=10, callbacks=[gn.ProgressBar(stream=terminal)])
    shown = terminal.getvalue()
    assert all(f"epoch {epoch}/3" in shown for epoch in (1, 2, 3)) and "━" in shown and "accuracy" in shown
    assert capsys.readouterr().out == ""  # the given ProgressBar replaces the default one


def test_model_checkpoint_keeps_the_best(tmp_path):
    X, y = noisy_problem()
    X_val, y_val = noisy_problem(200, seed=1)
    model = wide_net()
    checkpoint = gn.ModelCheckpoint(tmp_path / "best.safetensors", monitor="val_loss")
    history = gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.Adam(model.parameters(), lr=0.01),
                     epochs=30, batch_size=None, validation_data=(X_val, y_val), callbacks=[checkpoint], verbose=0)
    best = gn.load(tmp_path / "best.safetensors")
    score = gn.evaluate(best, X_val, y_val, loss="cross_entropy")["loss"]
    assert math.isclose(score, min(history.history["val_loss"]), rel_tol=1e-6)
    assert checkpoint.best == min(history.history["val_loss"]) and len(checkpoint.saved) < 30
    every = gn.ModelCheckpoint(tmp_path / "epoch{epoch}.safetensors", save_best_only=False)
    gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=2,
           callbacks=[every], verbose=0)
    assert sorted(p.name for p in tmp_path.glob("epoch*")) == ["epoch1.safetensors", "epoch2.safetensors"]
    np.testing.assert_array_equal(gn.load(tmp_path / "epoch2.safetensors")[0].weight.data, model[0].weight.data)
    with pytest.raises(ValueError, match="may hold only the field"):
        gn.ModelCheckpoint(tmp_path / "model{step}.safetensors")


def test_callbacks_can_stop_training_after_the_current_batch():
    class StopAtBatch(gn.Callback):
        def on_batch_end(self, batch, logs=None):
            self.seen = (self.params["epochs"], batch)
            if batch == 1:
                self.stop_training()

    X, y = noisy_problem()
    model = wide_net()
    stopper = StopAtBatch()
    history = gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=0.1),
                     epochs=4, batch_size=10, callbacks=[stopper], verbose=0)
    assert stopper.seen == (4, 1) and history.epoch == [0]
    assert repr(history).startswith("History(epochs=1, last={'loss': ")


class Journal(gn.Callback):
    """Writes each hook it receives, with its own name, into a journal shared by several callbacks."""

    def __init__(self, name, journal):
        self.name, self.journal = name, journal

    def on_train_begin(self, logs=None):
        self.journal.append((self.name, "train_begin"))

    def on_epoch_begin(self, epoch, logs=None):
        self.journal.append((self.name, "epoch_begin", epoch))

    def on_batch_begin(self, batch, logs=None):
        self.journal.append((self.name, "batch_begin", batch))

    def on_batch_end(self, batch, logs=None):
        self.journal.append((self.name, "batch_end", batch, id(logs)))

    def on_epoch_end(self, epoch, logs=None):
        self.journal.append((self.name, "epoch_end", epoch, id(logs)))

    def on_train_end(self, logs=None):
        self.journal.append((self.name, "train_end"))


class StopAtEpoch2Batch1(Journal):
    def on_epoch_begin(self, epoch, logs=None):
        super().on_epoch_begin(epoch, logs)
        self.epoch = epoch

    def on_batch_end(self, batch, logs=None):
        super().on_batch_end(batch, logs)
        if (self.epoch, batch) == (2, 1):
            self.stop_training()


@pytest.mark.parametrize("with_progress_bar", [False, True])
def test_each_callback_sees_each_hook_once_per_event_in_keras_order(with_progress_bar):
    X, y = noisy_problem(n=25)
    model = wide_net()
    journal = []
    given = [Journal("a", journal), *([gn.ProgressBar(verbose=0)] if with_progress_bar else []), Journal("b", journal)]
    stop = StopAtEpoch2Batch1("stop", journal)
    gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=5,
           batch_size=10, callbacks=[*given, stop], verbose=0)
    events = [("train_begin",)]
    for epoch, batches in ((0, 3), (1, 3), (2, 2)):  # 25 samples in batches of 10; stopped at epoch 2, batch 1
        events.append(("epoch_begin", epoch))
        for batch in range(batches):
            events += [("batch_begin", batch), ("batch_end", batch)]
        events.append(("epoch_end", epoch))
    events.append(("train_end",))
    # Each event reaches every callback once, in the list's order, before the next event starts.
    expected = [(name, *event) for event in events for name in ("a", "b", "stop")]
    assert [entry[:2 + (len(entry) > 2)] for entry in journal] == expected
    # The logs of one event are one dict, shared by all the callbacks.
    ends = [entry for entry in journal if entry[1] in ("batch_end", "epoch_end")]
    for first in range(0, len(ends), 3):
        assert len({entry[3] for entry in ends[first:first + 3]}) == 1


def test_callback_list_dispatches_and_checks():
    journal = []
    callbacks = gn.train.CallbackList([Journal("a", journal), Journal("b", journal)])
    assert len(callbacks) == 2 and [c.name for c in callbacks] == ["a", "b"]
    logs = {"loss": 1.0}
    callbacks.on_epoch_end(3, logs)
    callbacks.on_train_begin()
    assert journal == [("a", "epoch_end", 3, id(logs)), ("b", "epoch_end", 3, id(logs)),
                       ("a", "train_begin"), ("b", "train_begin")]

    class Context:
        model, optimizer, params, stop_training = "model", "optimizer", {"epochs": 1}, False

    context = Context()
    callbacks = gn.train.CallbackList([gn.Callback()], trainer=context)
    callback = next(iter(callbacks))
    assert (callback.model, callback.optimizer, callback.params) == ("model", "optimizer", {"epochs": 1})
    callback.stop_training()
    assert context.stop_training is True
    with pytest.raises(TypeError, match="callbacks must be Callback instances, got int"):
        gn.train.CallbackList([gn.Callback(), 3])
