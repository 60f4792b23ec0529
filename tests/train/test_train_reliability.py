"""Issue 10, the training loop's part: accuracy's cut from the loss in every place it shows
(item 3), BatchNorm and a lone last sample (8), callbacks checked before the first step (9),
named errors instead of NumPy's (11), and evaluate/predict in batches (12)."""

import functools
import os
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn
from glassnet import losses, nn, optim
from glassnet.train import metrics
from glassnet.train.batches import batch_bounds


def _assert_unchanged(model, before, optimizer=None):
    after = model.state_dict()
    for key, value in after.items():
        np.testing.assert_array_equal(value, before[key])
    if optimizer is not None:
        assert optimizer.state == {}


# ---- item 3: accuracy on one column, cut where the loss says -------------------------------------
def near_zero_logits():
    """One-column logits of a barely trained model: many fall in (0, 0.5), where a cut at 0.5
    (probabilities) and at 0 (logits) disagree."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(200, 1)).astype(np.float32)
    y = (X[:, 0] + 0.8 * rng.normal(size=200) > 0).astype(np.float32).reshape(-1, 1)
    return X, y


def test_accuracy_of_a_partial_logits_loss_is_the_true_one_everywhere(tmp_path):
    X, y = near_zero_logits()
    loss = functools.partial(losses.binary_cross_entropy_with_logits, reduction="mean")
    model = nn.Sequential(nn.Linear(1, 1, rng=0))
    stopper = gn.EarlyStopping(monitor="accuracy", patience=100)
    checkpoint = gn.ModelCheckpoint(tmp_path / "best-{epoch}.safetensors", monitor="accuracy")
    history = gn.fit(model, X, y, loss=loss, optimizer=optim.SGD(model.parameters(), lr=0.02), epochs=4,
                     batch_size=None, shuffle=False, callbacks=[stopper, checkpoint], verbose=0)
    outputs = gn.predict(model, X)[:, 0]
    true = np.mean((outputs > 0) == y[:, 0])
    guessed = np.mean((outputs > 0.5) == y[:, 0])
    assert abs(true - guessed) > 0.05  # the kind of gap (0.695 vs 0.680): a wrong cut would show
    assert history.history["accuracy"][-1] == true
    assert gn.evaluate(model, X, y, loss=loss)["accuracy"] == true
    assert stopper.best == max(history.history["accuracy"])
    assert checkpoint.best == max(history.history["accuracy"])
    best_file = checkpoint.saved[-1]
    assert gn.evaluate(gn.load(best_file), X, y, loss=loss)["accuracy"] == checkpoint.best


def test_the_accuracy_function_itself_takes_the_cut_from_the_loss():
    # metrics=[metrics.accuracy] (the function, not its name) used to cut logits at 0.5.
    X, y = near_zero_logits()
    model = nn.Sequential(nn.Linear(1, 1, rng=0))
    history = gn.fit(model, X, y, loss=losses.binary_cross_entropy_with_logits, metrics=[metrics.accuracy],
                     optimizer=optim.SGD(model.parameters(), lr=0.02), epochs=2, batch_size=None, verbose=0)
    outputs = gn.predict(model, X)[:, 0]
    assert history.history["accuracy"][-1] == np.mean((outputs > 0) == y[:, 0])
    assert gn.evaluate(model, X, y, loss=losses.binary_cross_entropy_with_logits,
                       metrics=[metrics.accuracy])["accuracy"] == np.mean((outputs > 0) == y[:, 0])


def test_a_lambda_loss_with_one_column_accuracy_fails_before_training_and_says_how():
    X, y = near_zero_logits()
    model = nn.Sequential(nn.Linear(1, 1, rng=0))
    before, optimizer = model.state_dict(), optim.Adam(model.parameters())
    with pytest.raises(ValueError, match=r"<lambda> does not say.*from_logits.*get\('accuracy', from_logits=True\)"):
        gn.fit(model, X, y, loss=lambda p, t: losses.binary_cross_entropy_with_logits(p, t), optimizer=optimizer,
               callbacks=[gn.EarlyStopping(monitor="accuracy")], epochs=2, verbose=0)
    _assert_unchanged(model, before, optimizer)


# ---- item 8: BatchNorm and a lone last sample ----------------------------------------------------
def bn_net():
    return nn.Sequential(nn.Linear(3, 4, rng=0), nn.BatchNorm1d(4), nn.Tanh(), nn.Linear(4, 2, rng=1))


def test_batch_bounds_merge_a_lone_last_sample_only_when_asked():
    assert batch_bounds(33, 32) == [(0, 32), (32, 33)]
    assert batch_bounds(33, 32, merge_lone_last=True) == [(0, 33)]
    assert batch_bounds(65, 32, merge_lone_last=True) == [(0, 32), (32, 65)]
    assert batch_bounds(34, 32, merge_lone_last=True) == [(0, 32), (32, 34)]
    assert batch_bounds(5, None, merge_lone_last=True) == [(0, 5)]
    assert batch_bounds(1, 4, merge_lone_last=True) == [(0, 1)]  # nothing to merge into


def test_batch_norm_with_33_samples_and_batch_32_trains_on_one_batch_of_33():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(33, 3)).astype(np.float32), np.arange(33) % 2
    model = bn_net()
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    steps = []

    class Count(gn.Callback):
        def on_batch_end(self, batch, logs=None):
            steps.append(batch)

    history = gn.fit(model, X, y, loss="cross_entropy", optimizer=optimizer, epochs=2, batch_size=32,
                     shuffle=False, callbacks=[Count()], verbose=0)
    assert steps == [0, 0]  # one step per epoch: the lone 33rd sample joined the first batch
    assert history.params["steps"] == 1
    assert int(model[1].num_batches_tracked) == 2
    # The same as batch gradient descent on all 33 rows.
    twin = bn_net()
    gn.fit(twin, X, y, loss="cross_entropy", optimizer=optim.Adam(twin.parameters(), lr=0.01), epochs=2,
           batch_size=None, shuffle=False, verbose=0)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, twin.state_dict()[key])


@pytest.mark.parametrize("n, batch_size, split", [(1, 32, None), (40, 1, None), (2, 8, 0.5)])
def test_batch_norm_with_a_batch_of_one_that_cannot_merge_fails_before_any_change(n, batch_size, split):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(n, 3)).astype(np.float32), np.arange(n) % 2
    model = bn_net()
    before, optimizer = model.state_dict(), optim.Adam(model.parameters())
    with pytest.raises(ValueError, match="BatchNorm1d.*at least 2 samples per training batch"):
        gn.fit(model, X, y, loss="cross_entropy", optimizer=optimizer, batch_size=batch_size,
               validation_split=split, epochs=1, verbose=0)
    _assert_unchanged(model, before, optimizer)


def test_without_batch_norm_a_lone_last_sample_keeps_its_own_batch():
    X, y = np.random.default_rng(0).normal(size=(33, 3)).astype(np.float32), np.arange(33) % 2
    model = nn.Sequential(nn.Linear(3, 2, rng=0))
    steps = []

    class Count(gn.Callback):
        def on_batch_end(self, batch, logs=None):
            steps.append(batch)

    history = gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=0.1),
                     epochs=1, batch_size=32, callbacks=[Count()], verbose=0)
    assert steps == [0, 1]
    assert history.params["steps"] == 2


# ---- item 9: every callback checked before the first step ----------------------------------------
class NotSavable(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 2, rng=0)

    def forward(self, x):
        return self.linear(x)


def _data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(40, 3)).astype(np.float32), np.arange(40) % 2


@pytest.mark.parametrize("make_callback, fit_options, message", [
    (lambda tmp: gn.EarlyStopping(), {}, r"EarlyStopping monitors 'val_loss', which needs validation data"),
    (lambda tmp: gn.EarlyStopping("val_acuracy"), {"validation_split": 0.25},
     r"EarlyStopping monitors 'val_acuracy', but fit's epoch logs will hold only .*did you mean 'val_accuracy'"),
    (lambda tmp: gn.EarlyStopping("f1"), {}, r"EarlyStopping monitors 'f1', but fit's epoch logs"),
    (lambda tmp: gn.ModelCheckpoint(tmp / "m.safetensors"), {}, "ModelCheckpoint monitors 'val_loss'"),
    (lambda tmp: gn.ModelCheckpoint(tmp / "m.safetensors", monitor="val_acc"), {"validation_split": 0.25},
     "ModelCheckpoint monitors 'val_acc'"),
    (lambda tmp: gn.ModelCheckpoint(tmp / "no" / "m.safetensors", monitor="loss"), {}, "does not exist"),
    (lambda tmp: gn.ModelCheckpoint(tmp / "file.txt" / "m.safetensors", monitor="loss"), {}, "not a folder"),
    (lambda tmp: gn.ModelCheckpoint(tmp, monitor="loss"), {}, "is a folder"),
    (lambda tmp: gn.LearningRateSchedule("cosine", T_max=3), {"epochs": 5}, "lr=0.0 at epoch 3"),
])
def test_a_callback_that_cannot_work_fails_before_the_first_step(tmp_path, make_callback, fit_options, message):
    (tmp_path / "file.txt").write_text("x")
    X, y = _data()
    model = nn.Sequential(nn.Linear(3, 4, rng=0), nn.BatchNorm1d(4), nn.Linear(4, 2, rng=1))
    before, optimizer = model.state_dict(), optim.Adam(model.parameters())
    steps = []

    class Count(gn.Callback):
        def on_batch_begin(self, batch, logs=None):
            steps.append(batch)

    gn.seed(5)
    expected_draw = gn.random.get_rng().random()
    gn.seed(5)
    options = {"epochs": 2, **fit_options}
    with pytest.raises(ValueError, match=message):
        gn.fit(model, X, y, loss="cross_entropy", optimizer=optimizer, callbacks=[Count(), make_callback(tmp_path)],
               verbose=0, seed=11, **options)
    assert steps == []
    _assert_unchanged(model, before, optimizer)
    assert gn.random.get_rng().random() == expected_draw  # fit(seed=11) did not reseed before failing


def test_model_checkpoint_of_a_model_that_cannot_be_saved_fails_before_training(tmp_path):
    X, y = _data()
    model = NotSavable()
    before, optimizer = model.state_dict(), optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(TypeError, match="ModelCheckpoint cannot save this model: .*NotSavable.*save_weights"):
        gn.fit(model, X, y, loss="cross_entropy", optimizer=optimizer, epochs=1, verbose=0,
               callbacks=[gn.ModelCheckpoint(tmp_path / "m.safetensors", monitor="loss")])
    _assert_unchanged(model, before)
    assert list(tmp_path.iterdir()) == []


def _read_only_folder(tmp_path):
    """A folder this process cannot write into: a 0500 one, or /proc for root (who writes anywhere else)."""
    if os.geteuid() != 0:
        folder = tmp_path / "ro"
        folder.mkdir()
        folder.chmod(0o500)
        return folder
    assert os.path.isdir("/proc"), "root writes into any folder but /proc (Linux), which this system lacks"
    return Path("/proc")


def test_model_checkpoint_into_a_read_only_folder_fails_before_training(tmp_path):
    folder = _read_only_folder(tmp_path)
    X, y = _data()
    model = nn.Sequential(nn.Linear(3, 2, rng=0))
    try:
        with pytest.raises(ValueError, match="cannot write into"):
            gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=1,
                   verbose=0, callbacks=[gn.ModelCheckpoint(folder / "m.safetensors", monitor="loss")])
    finally:
        if folder != Path("/proc"):
            folder.chmod(0o700)


def test_check_gets_the_log_names_fit_will_write():
    seen = {}

    class Needs(gn.Callback):
        def check(self, trainer):
            seen["metrics"], seen["validation"] = trainer.log_keys, trainer.validation
            seen["training"] = self.model.training

    X, y = _data()
    model = nn.Sequential(nn.Linear(3, 2, rng=0))
    history = gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=1,
                     validation_split=0.25, metrics=("accuracy", lambda outputs, labels: 0.0), callbacks=[Needs()],
                     verbose=0)
    assert seen["metrics"] == ["loss", "accuracy", "<lambda>", "val_loss", "val_accuracy", "val_<lambda>", "lr"]
    assert sorted(seen["metrics"]) == sorted(history.history)
    assert seen["validation"] is True
    # A callback's own check stops fit before any step, with its message.

    class Refuses(gn.Callback):
        def check(self, trainer):
            raise ValueError("Refuses: not today")

    before = model.state_dict()
    with pytest.raises(ValueError, match="Refuses: not today"):
        gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=1,
               callbacks=[Refuses()], verbose=0)
    _assert_unchanged(model, before)


def test_every_built_in_callback_implements_check():
    for cls in (gn.History, gn.EarlyStopping, gn.ModelCheckpoint, gn.TerminateOnNaN, gn.LearningRateSchedule,
                gn.train.ProgressBar):
        assert "check" in vars(cls) or cls in (gn.History, gn.TerminateOnNaN, gn.train.ProgressBar)
        assert callable(cls.check)


# ---- item 11: named errors -------------------------------------------------------------------------
def test_targets_with_no_values_per_sample_are_refused_by_name():
    X, y = _data()
    model = nn.Sequential(nn.Linear(3, 2, rng=0))
    before = model.state_dict()
    with pytest.raises(ValueError, match=r"y has shape \(40, 0\): no target values per sample"):
        gn.fit(model, X, np.zeros((40, 0)), loss="mse", optimizer=optim.SGD(model.parameters(), lr=0.1),
               metrics=(), verbose=0)
    with pytest.raises(ValueError, match=r"X has shape \(40, 0\): no input values per sample"):
        gn.fit(model, np.zeros((40, 0)), y, loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=0.1),
               verbose=0)
    with pytest.raises(ValueError, match=r"y has shape \(40, 0\)"):
        gn.evaluate(model, X, np.zeros((40, 0)), loss="mse", metrics=())
    _assert_unchanged(model, before)


@pytest.mark.parametrize("seed, error, message", [
    (-1, ValueError, "seed must be an int >= 0 or None, got -1"),
    (1.5, TypeError, "seed must be an int >= 0 or None, got float 1.5"),
    (True, TypeError, "seed must be an int >= 0 or None, got bool True"),
    ("0", TypeError, "seed must be an int >= 0 or None, got str '0'"),
])
def test_a_bad_seed_is_refused_before_any_change(seed, error, message):
    X, y = _data()
    model = nn.Sequential(nn.Linear(3, 2, rng=0))
    before = model.state_dict()
    with pytest.raises(error, match=message):
        gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=0.1), seed=seed,
               verbose=0)
    _assert_unchanged(model, before)


def test_predict_on_no_rows_returns_no_rows_and_evaluate_says_what_is_wrong():
    model = nn.Sequential(nn.Linear(3, 4, rng=0), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2, rng=1))
    out = gn.predict(model, np.zeros((0, 3)))
    assert out.shape == (0, 2) and out.dtype == np.float32
    assert gn.predict(model, np.zeros((0, 3)), batch_size=None).shape == (0, 2)
    with pytest.raises(ValueError, match=r"X is empty \(shape \(0, 3\)\); there is nothing to evaluate"):
        gn.evaluate(model, np.zeros((0, 3)), np.zeros(0, int), loss="cross_entropy")
    with pytest.raises(ValueError, match="nothing to train on"):
        gn.fit(model, np.zeros((0, 3)), np.zeros(0, int), loss="cross_entropy",
               optimizer=optim.SGD(model.parameters(), lr=0.1), verbose=0)
    with pytest.raises(ValueError, match=r"X \(shape \(0, 5\)\) does not fit the model"):
        gn.predict(model, np.zeros((0, 5)))


def test_values_that_overflow_float32_are_named_as_such():
    model = nn.Sequential(nn.Linear(3, 1, rng=0))
    X = np.ones((4, 3))
    X[2, 1] = 1e300
    with pytest.raises(ValueError, match=r"X holds values that overflow float32 \(max 3.4e\+38\), e.g. 1e\+300"):
        gn.predict(model, X)
    with pytest.raises(ValueError, match="X holds values that overflow float32"):
        gn.fit(model, X, np.zeros((4, 1)), loss="mse", optimizer=optim.SGD(model.parameters(), lr=0.1),
               metrics=(), verbose=0)
    with pytest.raises(ValueError, match=r"y holds values that overflow float32 \(max 3.4e\+38\), e.g. -1e\+40"):
        gn.fit(model, np.ones((4, 3)), np.array([[0.0], [1.0], [-1e40], [2.0]]), loss="mse",
               optimizer=optim.SGD(model.parameters(), lr=0.1), metrics=(), verbose=0)
    with pytest.raises(ValueError, match="X contains NaN or infinite values"):
        gn.predict(model, np.full((2, 3), np.inf))
    # float64 models take such values.
    wide = nn.Sequential(nn.Linear(3, 1, rng=0, dtype=np.float64))
    assert np.isfinite(gn.predict(wide, np.full((2, 3), 1e300) * 0 + 1e100)).all()


# ---- item 12: evaluate and predict in batches --------------------------------------------------------
def _mlp():
    return nn.Sequential(nn.Linear(8, 32, rng=0), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.5),
                         nn.Linear(32, 3, rng=1))


def test_predict_and_evaluate_batch_by_default_and_give_the_unbatched_results():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(10_000, 8)).astype(np.float32)
    y = rng.integers(0, 3, size=10_000)
    model = _mlp()
    model[1].running_mean[...] = rng.normal(size=32)
    calls = []
    forward = model[0].forward

    def counting(x):
        calls.append(len(x))
        return forward(x)

    object.__setattr__(model[0], "forward", counting)
    batched = gn.predict(model, X)
    assert calls == [4096, 4096, 1808]
    calls.clear()
    whole = gn.predict(model, X, batch_size=None)
    assert calls == [10_000]
    # Equal up to float rounding: the BLAS may order a product's sums differently for another
    # number of rows (OpenBLAS does for (n, 32) @ (32, 3)); each row is computed on its own.
    np.testing.assert_allclose(batched, whole, rtol=1e-6, atol=1e-6 * np.abs(whole).max())
    scores = gn.evaluate(model, X, y, loss="cross_entropy")
    whole_scores = gn.evaluate(model, X, y, loss="cross_entropy", batch_size=None)
    assert scores["accuracy"] == whole_scores["accuracy"]
    np.testing.assert_allclose(scores["loss"], whole_scores["loss"], rtol=1e-6)
    assert model.training  # left in the mode it had


def test_predict_memory_is_bounded_by_the_batch_not_the_rows():
    rows = 200_000
    X = np.random.default_rng(0).normal(size=(rows, 8)).astype(np.float32)
    model = nn.Sequential(nn.Linear(8, 64, rng=0), nn.ReLU(), nn.Linear(64, 1, rng=1))

    def peak(**options):
        tracemalloc.start()
        try:
            gn.predict(model, X, **options)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    unbatched, batched = peak(batch_size=None), peak()
    assert unbatched > rows * 64 * 4 * 2  # at least two (rows, 64) float32 activations at once
    output = rows * 1 * 4
    assert batched < 3 * output + 4096 * 64 * 4 * 4  # the outputs (and their parts) plus a few batches' activations
    assert batched < unbatched / 5


def test_a_failed_fit_without_a_seed_leaves_the_default_generator_as_it_was():
    # The validation split is drawn from the default generator before the callbacks are checked.
    X, y = _data()
    model = nn.Sequential(nn.Linear(3, 2, rng=0))
    gn.seed(3)
    expected = gn.random.get_rng().random()
    gn.seed(3)
    with pytest.raises(ValueError, match="EarlyStopping monitors 'val_f1'"):
        gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=0.1),
               validation_split=0.25, callbacks=[gn.EarlyStopping("val_f1")], verbose=0)
    assert gn.random.get_rng().random() == expected
    with pytest.raises(ValueError, match=r"X_val is empty \(shape \(0, 3\)\); there is nothing to validate on"):
        gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=0.1),
               validation_data=(np.zeros((0, 3)), np.zeros(0, int)), verbose=0)


@pytest.mark.parametrize("options, error, message", [
    ({"X": [[1.0, 2.0, 3.0], [1.0, 2.0]], "y": [0, 1]}, ValueError, "X is not a rectangular array"),
    ({"y": [[0], [1, 1]] * 20}, ValueError, "y is not a rectangular array"),
    ({"X": 3.0, "y": [0]}, ValueError, r"X is a single value \(shape \(\)\); it needs one row per sample"),
    ({"metrics": None}, TypeError, "metrics must be a metric's name, a function or a list of them, got NoneType"),
    ({"metrics": 3}, TypeError, "metrics must be .* got int 3"),
    ({"callbacks": gn.TerminateOnNaN()}, TypeError, r"got one TerminateOnNaN: pass \[callback\]"),
    ({"callbacks": 5}, TypeError, "callbacks must be a list of Callback instances, got int"),
    ({"X": np.full((40, 3), np.longdouble("1e4000"))}, ValueError, r"overflow float32 .* e.g. 1e\+4000"),
])
def test_hostile_arguments_get_named_errors_before_any_change(options, error, message):
    X, y = _data()
    model = nn.Sequential(nn.Linear(3, 2, rng=0))
    before = model.state_dict()
    arguments = {"X": X, "y": y, **options}
    with pytest.raises(error, match=message):
        gn.fit(model, arguments.pop("X"), arguments.pop("y"), loss="cross_entropy",
               optimizer=optim.SGD(model.parameters(), lr=0.1), verbose=0, **arguments)
    _assert_unchanged(model, before)


def test_monitor_must_be_a_string_and_callbacks_may_be_none():
    with pytest.raises(TypeError, match="monitor must be a key of the epoch logs such as 'val_loss', got int 3"):
        gn.EarlyStopping(monitor=3)
    with pytest.raises(TypeError, match="monitor must be a key .* got NoneType None"):
        gn.ModelCheckpoint("m.safetensors", monitor=None)
    X, y = _data()
    model = nn.Sequential(nn.Linear(3, 2, rng=0))
    history = gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=1,
                     callbacks=None, verbose=0)
    assert len(history.epoch) == 1


def test_an_ensemble_asked_about_no_rows_says_there_is_nothing_to_predict():
    def build(seed):
        model = nn.Sequential(nn.Linear(3, 2, rng=seed))
        return model, optim.SGD(model.parameters(), lr=0.1)

    X, y = _data()
    ensemble = gn.train.Ensemble(build, n_models=2).fit(X, y, loss="cross_entropy", epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"X is empty \(shape \(0, 3\)\); there is nothing to predict"):
        ensemble.predict_proba(np.zeros((0, 3)))


def test_batch_norm_2d_trains_on_one_image_per_batch():
    """BatchNorm2d takes its statistics over the pixels too: one image is a batch it learns from,
    so batch_size=1 trains (as in PyTorch) and its batches are not merged."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(5, 1, 4, 4)).astype(np.float32), np.arange(5) % 2
    model = nn.Sequential(nn.Conv2d(1, 2, 3, rng=0), nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(8, 2, rng=0))
    steps = []

    class Count(gn.Callback):
        def on_batch_end(self, batch, logs=None):
            steps.append(batch)

    before = model.state_dict()
    gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=1,
           batch_size=1, callbacks=[Count()], verbose=0)
    assert steps == [0, 1, 2, 3, 4]
    assert not np.array_equal(model.state_dict()["0.weight"], before["0.weight"])
