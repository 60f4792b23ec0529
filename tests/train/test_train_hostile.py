"""fit as a hostile user meets it: a loss that becomes NaN is one error that names the epoch and
the batch, with the model left as before that step (TerminateOnNaN stops instead); Ctrl-C or an
error inside a step leaves no half-done step; a model without parameters is named as such."""

import os
import re
import signal
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn
from glassnet import functional as F
from glassnet import losses, nn, optim


def problem(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)).astype(np.float32)
    return X, (X[:, 0] > 0).astype(int)


def batch_norm_net():
    return nn.Sequential(nn.Linear(3, 8, rng=0), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2, rng=1))


class StateBeforeEachBatch(gn.Callback):
    """Records (epoch, batch, model state, optimizer state) at the start of every batch."""

    def on_train_begin(self, logs=None):
        self.records = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_batch_begin(self, batch, logs=None):
        self.records.append((self.epoch, batch, self.model.state_dict(), self.optimizer.state_dict()))


def assert_same_state(model, optimizer, model_state, optimizer_state):
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, model_state[key], err_msg=key)
    now = optimizer.state_dict()["state"]
    assert now.keys() == optimizer_state["state"].keys()
    for index, entries in optimizer_state["state"].items():
        for key, value in entries.items():
            np.testing.assert_array_equal(now[index][key], value)


def test_a_loss_that_becomes_nan_is_one_error_naming_epoch_and_batch_with_the_step_undone():
    X, y = problem()
    model = batch_norm_net()
    optimizer = optim.Adam(model.parameters(), lr=1e37)  # the weights overflow within a few steps
    record = StateBeforeEachBatch()
    with np.errstate(all="ignore"), pytest.raises(FloatingPointError) as raised:
        gn.fit(model, X, y, loss="cross_entropy", optimizer=optimizer, epochs=5, batch_size=8, shuffle=False,
               callbacks=[record], verbose=0)
    epoch, batch, model_state, optimizer_state = record.records[-1]
    message = str(raised.value)
    assert re.search(rf"loss became (nan|inf) at epoch {epoch + 1}, batch {batch + 1} ", message), message
    assert "TerminateOnNaN" in message
    # left as before the step whose loss was not finite: weights, BatchNorm's running statistics
    # (its forward pass updated them) and Adam's moments and step count
    assert_same_state(model, optimizer, model_state, optimizer_state)


def test_a_run_that_ends_on_a_broken_last_step_is_an_error_too():
    X, y = problem()
    model = nn.Sequential(nn.Linear(3, 2, rng=0))
    optimizer = optim.SGD(model.parameters(), lr=1e39)  # one step: the weights overflow to inf
    with np.errstate(all="ignore"), pytest.raises(FloatingPointError, match=r"at the end of epoch 1 "):
        gn.fit(model, X, y, loss="cross_entropy", optimizer=optimizer, epochs=1, batch_size=None, verbose=0)


def test_terminate_on_nan_still_stops_quietly_with_the_last_finite_weights():
    X, y = problem()
    model = batch_norm_net()
    stop = gn.TerminateOnNaN(stream=open(os.devnull, "w"))
    with np.errstate(all="ignore"):
        history = gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.Adam(model.parameters(), lr=1e37),
                         epochs=5, batch_size=8, shuffle=False, callbacks=[stop], verbose=0)
    stop.stream.close()
    assert stop.terminated_at is not None
    assert all(np.all(np.isfinite(value)) for value in model.state_dict().values())
    assert len(history.epoch) == stop.terminated_at[0] + 1


def test_a_non_finite_gradient_under_a_finite_loss_names_the_batch_and_changes_nothing():
    X, y = problem()

    def sqrt_loss(outputs, target):  # finite at 0, its gradient is not: d sqrt(u)/du = inf at u = 0
        return (outputs * 0.0).sum().sqrt() + losses.cross_entropy(outputs, target)

    sqrt_loss.from_logits = True
    model = batch_norm_net()
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    record = StateBeforeEachBatch()
    with np.errstate(all="ignore"), pytest.raises(FloatingPointError,
                                                  match=r"at epoch 1, batch 1: SGD: the gradient of parameter 0"):
        gn.fit(model, X, y, loss=sqrt_loss, optimizer=optimizer, epochs=1, batch_size=8, callbacks=[record],
               verbose=0)
    assert_same_state(model, optimizer, *record.records[-1][2:])


class InterruptAtBatch(StateBeforeEachBatch):
    """Arms ``loss`` to receive a real SIGINT, in the middle of the step of batch ``at`` (epoch 1)."""

    def __init__(self, loss, at):
        self.loss, self.at = loss, at

    def on_batch_begin(self, batch, logs=None):
        super().on_batch_begin(batch, logs)
        self.loss.armed = self.epoch == 0 and batch == self.at


class InterruptingLoss:
    """cross_entropy that receives a real SIGINT after its forward pass once armed."""

    from_logits, armed = True, False

    def __call__(self, outputs, target):
        value = losses.cross_entropy(outputs, target)
        if self.armed:
            os.kill(os.getpid(), signal.SIGINT)
        return value


def test_ctrl_c_in_the_middle_of_a_step_leaves_the_last_completed_step():
    X, y = problem()
    model = batch_norm_net()
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    loss = InterruptingLoss()
    record = InterruptAtBatch(loss, at=3)
    with pytest.raises(KeyboardInterrupt):
        gn.fit(model, X, y, loss=loss, optimizer=optimizer, epochs=2, batch_size=8, shuffle=False, metrics=(),
               callbacks=[record], verbose=0)
    epoch, batch, model_state, optimizer_state = record.records[-1]
    assert (epoch, batch) == (0, 3)
    assert_same_state(model, optimizer, model_state, optimizer_state)  # BatchNorm's statistics too
    assert optimizer.state[0]["step"] == 3
    assert model.training


def test_a_model_without_parameters_is_named_as_such():
    X, y = problem()
    with pytest.raises(ValueError, match="the model has no parameters: there is nothing to train"):
        gn.fit(nn.Sequential(nn.ReLU()), X[:, :2], y, loss="cross_entropy",
               optimizer=optim.SGD([gn.Parameter(np.ones(2))], lr=0.1), verbose=0)


# ---- metrics: every log key once, and a metric that fails says which ------------------------------
def always(value, name):
    def metric(outputs, y):
        return value

    metric.__name__ = name
    return metric


@pytest.mark.parametrize("metrics, message", [
    ([lambda o, t: 1.0, lambda o, t: 2.0], "two metrics log as '<lambda>'"),
    (["accuracy", "accuracy"], "two metrics log as 'accuracy'"),
    ([always(0.5, "loss")], "a metric named 'loss' would hide the loss"),
    ([always(0.5, "lr")], "a metric named 'lr' would hide the learning rate"),
    ([always(0.5, "val_accuracy")], "a metric named 'val_accuracy'"),
])
def test_metrics_whose_log_keys_collide_are_refused_before_training(metrics, message):
    X, y = problem()
    model = nn.Sequential(nn.Linear(3, 2, rng=0))
    before = model.state_dict()
    with pytest.raises(ValueError, match=re.escape(message)):
        gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=1,
               metrics=metrics, verbose=0)
    with pytest.raises(ValueError, match=re.escape(message)):
        gn.evaluate(model, X, y, loss="cross_entropy", metrics=metrics)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key])


@pytest.mark.parametrize("returned", [np.array([1.0, 2.0]), "high", None])
def test_a_metric_that_returns_no_number_is_named(returned):
    X, y = problem()
    model = nn.Sequential(nn.Linear(3, 2, rng=0))
    with pytest.raises(TypeError, match=r"metric 'odd' must return one number, got "):
        gn.evaluate(model, X, y, loss="cross_entropy", metrics=[always(returned, "odd")])


# ---- Ensemble: its probabilities batch by batch, as predict does ----------------------------------
def test_ensemble_memory_is_bounded_by_the_batch_not_the_rows():
    def build(seed):
        model = nn.Sequential(nn.Linear(8, 256, rng=seed), nn.ReLU(), nn.Linear(256, 3, rng=seed + 1))
        return model, optim.SGD(model.parameters(), lr=0.1)

    X, y = problem(n=64)
    ensemble = gn.train.Ensemble(build, n_models=2).fit(np.tile(X, (1, 3))[:, :8], y, loss="cross_entropy",
                                                         epochs=1, verbose=0)
    rows = np.random.default_rng(1).normal(size=(100_000, 8)).astype(np.float32)
    tracemalloc.start()
    probabilities = ensemble.predict_proba(rows)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    # all at once, the hidden layer alone is 100,000 x 256 float32 = 98 MiB; 4096 rows: 4 MiB
    assert peak < 30 * 2**20, f"{peak / 2**20:.0f} MiB"
    unbatched = [F.softmax(gn.Tensor(gn.predict(model, rows, batch_size=None))).numpy() for model in ensemble.models]
    np.testing.assert_allclose(probabilities, np.mean(unbatched, axis=0), rtol=1e-5, atol=1e-6)


# ---- callbacks: a bad one is refused when it is made or checked, never after an epoch -------------
def fit_three_epochs(callbacks):
    X, y = problem()
    model = nn.Sequential(nn.Linear(3, 2, rng=0))
    before = model.state_dict()
    try:
        return gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=3,
                      callbacks=callbacks, verbose=0)
    finally:
        fit_three_epochs.unchanged = all(np.array_equal(value, before[key])
                                         for key, value in model.state_dict().items())


@pytest.mark.parametrize("make, error, message", [
    (lambda: gn.ProgressBar(stream="log.txt"), TypeError, "ProgressBar's stream must be a file"),
    (lambda: gn.ProgressBar(verbose="yes"), TypeError, "verbose must be an int >= 0, got str 'yes'"),
    (lambda: gn.ProgressBar(verbose=-1), ValueError, "verbose must be an int >= 0, got -1"),
    (lambda: gn.TerminateOnNaN(stream="log.txt"), TypeError, "TerminateOnNaN's stream must be a file"),
    (lambda: gn.ModelCheckpoint(None), TypeError, "ModelCheckpoint path must be a str or a path"),
])
def test_callbacks_refuse_bad_arguments_when_made(make, error, message):
    with pytest.raises(error, match=re.escape(message)):
        make()


def test_the_same_callback_twice_is_refused_before_training():
    stopper = gn.EarlyStopping("loss", patience=1)  # twice, it would count each epoch twice
    with pytest.raises(ValueError, match=r"callbacks hold the same EarlyStopping twice"):
        fit_three_epochs([stopper, stopper])
    assert fit_three_epochs.unchanged


def test_a_checkpoint_folder_that_depends_on_the_epoch_is_checked_for_every_epoch(tmp_path):
    (tmp_path / "e1").mkdir()
    (tmp_path / "e2").mkdir()  # e3 is missing: the third epoch could not save
    checkpoint = gn.ModelCheckpoint(tmp_path / "e{epoch}" / "m.safetensors", monitor="loss", save_best_only=False)
    with pytest.raises(ValueError, match=r"the folder '.*e3' does not exist"):
        fit_three_epochs([checkpoint])
    assert fit_three_epochs.unchanged
    (tmp_path / "e3").mkdir()
    fit_three_epochs([checkpoint])
    assert [Path(p).parent.name for p in checkpoint.saved] == ["e1", "e2", "e3"]


def test_a_schedule_whose_lr_overflows_is_refused_before_training():
    with pytest.raises(ValueError, match=r"the exponential schedule gives lr=inf at epoch 2"):
        fit_three_epochs([gn.LearningRateSchedule("exponential", gamma=1e200)])
    assert fit_three_epochs.unchanged


def test_a_schedule_function_that_returns_no_number_is_named():
    with pytest.raises(TypeError, match=r"the schedule function must return the lr, a number; it returned str 'x'"):
        fit_three_epochs([gn.LearningRateSchedule(lambda epoch, lr: "x")])


# ---- a model that returns no Tensor (a recurrent layer's (output, hidden)) is named -----------------
def test_a_model_that_returns_a_tuple_is_named_by_fit_evaluate_and_predict():
    model = nn.Sequential(nn.GRU(3, 4))  # returns (output, hidden)
    X, y = np.ones((6, 2, 3), np.float32), np.zeros(6, int)
    message = r"the model returned a tuple, not a Tensor.*\(output, hidden\)"
    with pytest.raises(TypeError, match=message):
        gn.predict(model, X)
    with pytest.raises(TypeError, match=message):
        gn.evaluate(model, X, y, loss="cross_entropy")
    with pytest.raises(TypeError, match=message):
        gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=0.1), verbose=0)
