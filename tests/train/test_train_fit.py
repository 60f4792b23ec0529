"""The training loop: the course's three gradient-descent variants, validation before any
change, reproducibility, regularization, metrics and evaluation."""

import functools
import math

import numpy as np
import pytest

import glassnet as gn
from glassnet import losses, nn, optim
from glassnet.train import metrics


def blobs(n=120, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    X = rng.normal(size=(n, 2)) + 2.5 * y[:, None]
    return X.astype(np.float32), y


def small_net(seed=0, dropout=0.0, batch_norm=False):
    layers = [nn.Linear(2, 8, rng=seed)]
    if batch_norm:
        layers.append(nn.BatchNorm1d(8))
    layers.append(nn.Tanh())
    if dropout:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(8, 2, rng=seed + 1))
    return nn.Sequential(*layers)


class Record(gn.Callback):
    """Records every hook call and the model's mode at each."""

    def on_train_begin(self, logs=None):
        self.calls = [("train_begin", self.model.training)]

    def on_epoch_begin(self, epoch, logs=None):
        self.calls.append(("epoch_begin", epoch))

    def on_batch_begin(self, batch, logs=None):
        self.calls.append(("batch_begin", batch))

    def on_batch_end(self, batch, logs=None):
        self.calls.append(("batch_end", batch, sorted(logs)))

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append(("epoch_end", epoch, sorted(logs)))

    def on_train_end(self, logs=None):
        self.calls.append(("train_end",))

    def steps_per_epoch(self):
        counts = []
        for call in self.calls:
            if call[0] == "epoch_begin":
                counts.append(0)
            elif call[0] == "batch_end":
                counts[-1] += 1
        return counts


@pytest.mark.parametrize("batch_size, steps, lr", [(None, 1, 1.0), (1, 120, 0.02), (32, 4, 0.2)])
def test_batch_stochastic_and_minibatch_all_decrease_the_loss(batch_size, steps, lr):
    X, y = blobs()
    model = small_net()
    initial = gn.evaluate(model, X, y, loss=losses.cross_entropy)["loss"]
    record = Record()
    history = gn.fit(model, X, y, loss=losses.cross_entropy, optimizer=optim.SGD(model.parameters(), lr=lr),
                     epochs=5, batch_size=batch_size, callbacks=[record], seed=0, verbose=0)
    assert record.steps_per_epoch() == [steps] * 5
    losses_per_epoch = history.history["loss"]
    assert losses_per_epoch[-1] < 0.8 * initial and losses_per_epoch[-1] < losses_per_epoch[0]
    assert len(losses_per_epoch) == 5 and history.epoch == [0, 1, 2, 3, 4]


def test_hooks_run_in_keras_order_with_their_logs():
    X, y = blobs(8)
    model = small_net()
    record = Record()
    gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=2,
           batch_size=5, shuffle=False, validation_split=0.25, callbacks=[record], verbose=0)
    epoch_keys = ["accuracy", "loss", "lr", "val_accuracy", "val_loss"]
    expected = [("train_begin", True)]
    for epoch in range(2):  # 6 training samples in batches of 5 and 1
        expected += [("epoch_begin", epoch), ("batch_begin", 0), ("batch_end", 0, ["loss"]),
                     ("batch_begin", 1), ("batch_end", 1, ["loss"]), ("epoch_end", epoch, epoch_keys)]
    assert record.calls == expected + [("train_end",)]
    assert record.params == {"epochs": 2, "steps": 2, "verbose": 0}
    assert model.training  # fit leaves the model in train mode


def _assert_unchanged(model, before):
    after = model.state_dict()
    assert list(after) == list(before)
    for key, value in after.items():
        np.testing.assert_array_equal(value, before[key])


@pytest.mark.parametrize("change, message", [
    (lambda X, y: (X, y[:-1]), "X has 120 samples but y has 119"),
    (lambda X, y: (np.where(np.arange(240).reshape(120, 2) == 7, np.nan, X), y), "X contains NaN or infinite"),
    (lambda X, y: (np.where(np.arange(240).reshape(120, 2) == 7, np.inf, X), y), "X contains NaN or infinite"),
    (lambda X, y: (X, np.where(np.arange(120) == 5, np.nan, y)), "y contains NaN or infinite"),
    (lambda X, y: (X[:0], y[:0]), "X is empty"),
    (lambda X, y: (X, np.where(np.arange(120) == 3, 5, y)), r"labels must lie in \[0, 1\] .* from 0 to 5"),
    (lambda X, y: (X, np.where(np.arange(120) == 3, -1, y)), r"labels must lie in \[0, 1\]"),
    (lambda X, y: (X, y.astype(float) + 0.5), "integers"),
    (lambda X, y: (X, np.where(np.arange(120) == 7, 0.5, y)), "integers"),  # one label, amid whole ones
    (lambda X, y: (X, np.stack([y, y, y], axis=1)), r"does not fit the model's outputs \(shape \(2,\)"),
    (lambda X, y: (np.hstack([X, X]), y), r"X \(shape \(120, 4\)\) does not fit the model: Linear"),
])
@pytest.mark.parametrize("batch_norm", [False, True])
def test_bad_data_raises_before_any_weight_changes(change, message, batch_norm):
    X, y = blobs()
    model = small_net(batch_norm=batch_norm)  # BatchNorm: the checks must not touch running stats
    before = model.state_dict()
    optimizer = optim.Adam(model.parameters(), lr=0.1)
    with pytest.raises((ValueError, TypeError), match=message):
        gn.fit(model, *change(X, y), loss=losses.cross_entropy, optimizer=optimizer, epochs=2, verbose=0)
    _assert_unchanged(model, before)
    assert optimizer.state == {}


@pytest.mark.parametrize("options, message", [
    ({"epochs": 0}, "epochs must be a positive int"),
    ({"epochs": 2.5}, "epochs must be a positive int"),
    ({"batch_size": 0}, "batch_size must be a positive int or None"),
    ({"batch_size": True}, "batch_size"),
    ({"validation_split": 1.5}, r"validation_split must be in \(0, 1\) or None, got 1.5"),
    ({"validation_split": 0.001}, "leaves no training or no validation data"),
    ({"validation_split": 0.2, "validation_data": (np.zeros((2, 2)), np.zeros(2))}, "not both"),
    ({"validation_data": (np.zeros((3, 2), np.float32),)}, "pair"),
    ({"validation_data": (np.zeros((3, 2), np.float32), np.zeros(4, int))}, "X_val has 3 samples but y_val has 4"),
    ({"validation_data": (np.zeros((3, 5), np.float32), np.zeros(3, int))}, r"X_val samples have shape \(5,\)"),
    ({"validation_data": (np.zeros((3, 2), np.float32), np.array([0, 1, 2]))}, r"y_val .*labels must lie in \[0, 1\]"),
    ({"loss": "no_such_loss"}, "loss must be 'mse', .*, got 'no_such_loss'"),
    ({"metrics": ("f1",)}, "unknown metric"),
    ({"l1": -1.0}, "l1 must be >= 0, got -1.0"),
    ({"l2": float("nan")}, "l2 must be finite, got nan"),
    ({"verbose": -1}, "verbose must be an int >= 0, got -1"),
    ({"optimizer": optim.SGD(small_net(5).parameters(), lr=0.1)}, "holds none of this model's parameters"),
    ({"optimizer": "adam"}, "optimizer must be a glassnet.optim optimizer"),
    ({"callbacks": [print]}, "callbacks must be Callback instances"),
    ({"augment": 3}, "augment must be a function"),
    ({"callbacks": [gn.LearningRateSchedule("cosine", T_max=3)], "epochs": 5}, "lr=0.0 at epoch 3"),
    ({"callbacks": [gn.ModelCheckpoint("/no/such/folder/m.safetensors")]}, "does not exist"),
])
def test_bad_options_raise_before_any_weight_changes(options, message):
    X, y = blobs()
    model = small_net(batch_norm=True)
    before = model.state_dict()
    settings = dict(loss=losses.cross_entropy, optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=2, verbose=0)
    settings.update(options)
    with pytest.raises((ValueError, TypeError), match=message):
        gn.fit(model, X, y, **settings)
    _assert_unchanged(model, before)


def test_a_model_must_be_a_module():
    X, y = blobs()
    with pytest.raises(TypeError, match="model must be a glassnet.nn.Module, got function"):
        gn.fit(lambda x: x, X, y, loss="mse", optimizer=optim.SGD(small_net().parameters(), lr=0.1), verbose=0)


def test_seeded_fit_is_bit_identical_with_dropout_and_shuffling():
    X, y = blobs()
    runs = []
    for _ in range(2):
        model = small_net(dropout=0.3)
        history = gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.Adam(model.parameters(), lr=0.01),
                         epochs=3, batch_size=16, validation_split=0.25, seed=7, verbose=0)
        runs.append((model.state_dict(), history.history))
    for key in runs[0][0]:
        np.testing.assert_array_equal(runs[0][0][key], runs[1][0][key])
    assert runs[0][1] == runs[1][1]
    model = small_net(dropout=0.3)
    gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.Adam(model.parameters(), lr=0.01),
           epochs=3, batch_size=16, validation_split=0.25, seed=8, verbose=0)
    assert not np.array_equal(model.state_dict()["0.weight"], runs[0][0]["0.weight"])


def test_epoch_logs_are_scores_in_eval_mode_and_agree_with_evaluate():
    X, y = blobs()
    X_val, y_val = blobs(40, seed=1)
    model = small_net(dropout=0.5, batch_norm=True)
    history = gn.fit(model, X, y, loss=losses.cross_entropy, optimizer=optim.Adam(model.parameters(), lr=0.01),
                     epochs=3, validation_data=(X_val, y_val), metrics=("accuracy",), verbose=0)
    for data, prefix in (((X, y), ""), ((X_val, y_val), "val_")):
        scores = gn.evaluate(model, *data, loss=losses.cross_entropy, batch_size=7)
        assert math.isclose(history.history[prefix + "loss"][-1], scores["loss"], rel_tol=1e-6)
        assert history.history[prefix + "accuracy"][-1] == scores["accuracy"]
    outputs = gn.predict(model, X_val, batch_size=7)
    np.testing.assert_array_equal(outputs, gn.predict(model, X_val))  # eval mode: no dropout noise
    np.testing.assert_allclose(outputs, model.eval()(gn.Tensor(X_val)).numpy(), rtol=1e-6)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr"}


def test_dropout_narrows_the_gap_between_training_and_validation_loss():
    """Few samples, many features: a wide network memorizes the training set; dropout (on the
    inputs and the hidden layer) keeps its validation loss closer to its training loss."""
    rng = np.random.default_rng(0)
    X_all = rng.normal(size=(540, 50)).astype(np.float32)
    y_all = ((X_all[:, 0] + X_all[:, 1] + 0.5 * rng.normal(size=540)) > 0).astype(int)
    (X, y), validation = (X_all[:40], y_all[:40]), (X_all[40:], y_all[40:])
    gaps = {0.0: [], 0.5: []}
    for seed in range(3):
        for p in gaps:
            layers = [nn.Linear(50, 128, rng=seed), nn.ReLU(), nn.Linear(128, 2, rng=seed + 100)]
            if p:
                layers = [nn.Dropout(0.3), *layers[:2], nn.Dropout(p), layers[2]]
            model = nn.Sequential(*layers)
            history = gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.Adam(model.parameters(), lr=0.01),
                             epochs=30, batch_size=None, validation_data=validation, seed=seed, verbose=0).history
            assert history["loss"][-1] < 0.01  # both memorize the training set
            gaps[p].append(history["val_loss"][-1] - history["loss"][-1])
    assert all(with_dropout < plain for with_dropout, plain in zip(gaps[0.5], gaps[0.0]))
    assert np.mean(gaps[0.5]) < 0.8 * np.mean(gaps[0.0])  # measured: 1.03 against 1.72


def test_l1_drives_weights_to_zero_and_l2_shrinks_them():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 20)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)  # only the first feature matters
    results = {}
    for name, options in {"plain": {}, "l1": {"l1": 0.05}, "l2": {"l2": 0.05}}.items():
        model = nn.Sequential(nn.Linear(20, 2, rng=0))
        gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=60,
               batch_size=None, seed=0, verbose=0, **options)
        weights = model[0].weight.data
        results[name] = (np.mean(np.abs(weights[1:]) < 1e-2), np.sum(weights ** 2), model[0].bias.data.copy())
    assert results["l1"][0] > 0.5 > results["plain"][0]  # most useless weights are (nearly) zero
    assert results["l2"][1] < results["plain"][1]


def test_penalties_leave_biases_out():
    """With lr tiny and one step, the penalty's gradient shows: 2 * l2 * w on weights, nothing on biases."""
    X, y = np.zeros((4, 2), np.float32), np.zeros((4, 1), np.float32)
    model = nn.Sequential(nn.Linear(2, 1, rng=0))
    model[0].bias.data[:] = 3.0
    weight, bias = model[0].weight.data.copy(), model[0].bias.data.copy()
    gn.fit(model, X, y + 3.0, loss="mse", optimizer=optim.SGD(model.parameters(), lr=0.5), epochs=1,
           batch_size=None, metrics=(), l2=0.1, verbose=0)
    # X = 0 and outputs = target: the loss gives no gradient, only the penalty does
    np.testing.assert_allclose(model[0].weight.data, weight - 0.5 * 2 * 0.1 * weight, rtol=1e-6)
    np.testing.assert_array_equal(model[0].bias.data, bias)


def test_regression_with_mse_and_float64_model():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 3))
    y = X @ np.array([[1.0], [-2.0], [0.5]])
    model = nn.Sequential(nn.Linear(3, 1, dtype=np.float64, rng=0))
    history = gn.fit(model, X, y, loss=losses.mse, optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=50,
                     batch_size=None, metrics=("mae",), verbose=0)
    assert model[0].weight.dtype == np.float64
    assert history.history["loss"][-1] < 1e-4 and history.history["mae"][-1] < 1e-2
    assert gn.predict(model, X).dtype == np.float64


def test_accuracy_reads_one_column_by_the_loss():
    X, y = blobs()
    for loss, last in (("binary_cross_entropy", [nn.Sigmoid()]), ("binary_cross_entropy_with_logits", [])):
        model = nn.Sequential(nn.Linear(2, 1, rng=0), *last)
        history = gn.fit(model, X, y.reshape(-1, 1).astype(np.float32), loss=loss, epochs=20, batch_size=None,
                         optimizer=optim.SGD(model.parameters(), lr=0.5), verbose=0)
        outputs = gn.predict(model, X)
        cut = 0.5 if last else 0.0
        assert history.history["accuracy"][-1] == np.mean((outputs[:, 0] > cut) == y) > 0.9
    assert metrics.accuracy(np.array([[2.0, 1.0], [0.0, 3.0]]), np.array([0, 0])) == 0.5
    assert metrics.accuracy(np.array([[2.0, 1.0], [0.0, 3.0]]), np.array([[1, 0], [0, 1]])) == 1.0
    assert metrics.accuracy(np.array([0.3, 0.7]), np.array([0, 1])) == 1.0  # probabilities cut at 0.5
    assert metrics.accuracy(np.array([[-1.0], [0.2]]), np.array([0, 1]), threshold=0.0) == 1.0
    assert metrics.get("accuracy", loss="hinge")(np.array([-0.5, 0.3, 0.4]), np.array([-1, 1, -1])) == 2 / 3
    assert metrics.threshold_for(losses.binary_cross_entropy_with_logits) == 0.0
    assert metrics.threshold_for(losses.mse) == 0.5
    with pytest.raises(ValueError, match="3 predictions but 2 labels"):
        metrics.accuracy(np.zeros(3), np.zeros(2))


def test_metrics_take_from_logits_explicitly():
    scores, labels = np.array([[-0.2], [0.3], [0.6]]), np.array([0, 1, 1])
    assert metrics.get("accuracy", from_logits=True)(scores, labels) == 1.0     # cut at 0
    assert metrics.get("accuracy", from_logits=False)(scores, labels) == 2 / 3  # cut at 0.5
    assert metrics.get("accuracy", from_logits=True).__name__ == "accuracy"
    # An explicit from_logits wins over the loss's attribute.
    assert metrics.get("accuracy", loss=losses.binary_cross_entropy, from_logits=True)(scores, labels) == 1.0
    assert metrics.from_logits_of("cross_entropy") is True and metrics.from_logits_of(losses.kl_div) is False
    assert metrics.from_logits_of(lambda outputs, y: outputs) is None
    assert metrics.get("mse", from_logits=True) is metrics.mse  # only accuracy reads it
    with pytest.raises(TypeError, match="from_logits must be True, False or None, got str 'yes'"):
        metrics.get("accuracy", from_logits="yes")
    with pytest.raises(ValueError, match="loss must be 'mse', .*, got 'no_such_loss'"):
        metrics.get("accuracy", loss="no_such_loss")
    with pytest.raises(ValueError, match="got 'ensure_tensor'"):   # a name in losses that is no loss
        metrics.get("accuracy", loss="ensure_tensor")
    # Nothing says where to cut: one column per class still works, one column is an error.
    unknown = metrics.get("accuracy")
    assert unknown(np.array([[2.0, 1.0], [0.0, 3.0]]), np.array([0, 1])) == 1.0
    with pytest.raises(ValueError, match="nothing says which"):
        unknown(scores, labels)


def _unmarked_losses():
    """Losses that do not say what they take: a lambda, a partial of a function that does not
    say, a function of one's own."""
    def my_loss(outputs, y):
        return losses.binary_cross_entropy_with_logits(outputs, y)

    def summed(outputs, y, reduction):
        return losses.binary_cross_entropy_with_logits(outputs, y, reduction=reduction)

    return [
        (lambda outputs, y: losses.binary_cross_entropy_with_logits(outputs, y), "<lambda>"),
        (functools.partial(summed, reduction="mean"), r"functools.partial\(summed, ...\)"),
        (my_loss, "my_loss"),
    ]


def test_a_partial_of_a_marked_loss_takes_what_that_loss_takes():
    X, y = blobs()
    targets = y.reshape(-1, 1).astype(np.float32)
    model = nn.Sequential(nn.Linear(2, 1, rng=0))
    loss = functools.partial(functools.partial(losses.binary_cross_entropy_with_logits), reduction="sum")
    assert metrics.from_logits_of(loss) is True
    history = gn.fit(model, X, targets, loss=loss, optimizer=optim.SGD(model.parameters(), lr=0.01), epochs=5,
                     batch_size=None, verbose=0)
    assert history.history["accuracy"][-1] == np.mean((gn.predict(model, X)[:, 0] > 0) == y)  # cut at 0


@pytest.mark.parametrize("loss, name", _unmarked_losses())
def test_one_column_accuracy_with_a_loss_that_does_not_say_is_an_error(loss, name):
    X, y = blobs()
    targets = y.reshape(-1, 1).astype(np.float32)
    model = nn.Sequential(nn.Linear(2, 1, rng=0))
    before = model.state_dict()
    message = (rf"metric 'accuracy': accuracy on one output column must know whether the outputs are logits "
               rf"\(cut at 0\) or probabilities \(cut at 0.5\), and the loss {name} does not say.*"
               r"my_loss.from_logits = True.*get\('accuracy', from_logits=True\)")
    with pytest.raises(ValueError, match=message):  # before any step, never a silent 0.5
        gn.fit(model, X, targets, loss=loss, optimizer=optim.SGD(model.parameters(), lr=0.5), epochs=2, verbose=0)
    _assert_unchanged(model, before)
    with pytest.raises(ValueError, match=f"the loss {name} does not say"):
        gn.evaluate(model, X, targets, loss=loss)
    with pytest.raises(ValueError, match=f"the loss {name} does not say"):
        metrics.threshold_for(loss)
    # The two fixes the message names: the metric given explicitly, or the attribute on the loss.
    history = gn.fit(model, X, targets, loss=loss, optimizer=optim.SGD(model.parameters(), lr=0.5), epochs=20,
                     batch_size=None, metrics=[metrics.get("accuracy", from_logits=True)], verbose=0)
    expected = np.mean((gn.predict(model, X)[:, 0] > 0) == y)
    assert history.history["accuracy"][-1] == expected > 0.9
    loss.from_logits = True
    assert gn.evaluate(model, X, targets, loss=loss)["accuracy"] == expected
    # Without accuracy, or with one column per class, the loss need not say anything.
    gn.fit(model, X, targets, loss=loss, optimizer=optim.SGD(model.parameters(), lr=0.5), metrics=("mse",),
           epochs=1, verbose=0)
    two = small_net()
    history = gn.fit(two, X, y, loss=lambda outputs, labels: losses.cross_entropy(outputs, labels),
                     optimizer=optim.SGD(two.parameters(), lr=0.5), epochs=5, verbose=0)
    assert history.history["accuracy"][-1] == gn.evaluate(two, X, y, loss="cross_entropy")["accuracy"]


def test_a_loss_whose_from_logits_is_not_a_bool_is_an_error():
    def loss(outputs, y):
        return losses.mse(outputs, y)

    loss.from_logits = "yes"
    with pytest.raises(TypeError, match="the loss loss's from_logits must be True or False, got str 'yes'"):
        gn.evaluate(nn.Sequential(nn.Linear(2, 1, rng=0)), np.zeros((2, 2)), np.zeros((2, 1)), loss=loss)


def test_evaluate_and_predict_check_their_input():
    model = small_net()
    with pytest.raises(ValueError, match="X contains NaN"):
        gn.predict(model, np.full((2, 2), np.nan))
    with pytest.raises(ValueError, match="X has 2 samples but y has 3"):
        gn.evaluate(model, np.zeros((2, 2)), np.zeros(3, int), loss="cross_entropy")
    with pytest.raises(ValueError, match="batch_size"):
        gn.predict(model, np.zeros((2, 2)), batch_size=0)
    with pytest.raises(TypeError, match="X must be numeric"):
        gn.predict(model, np.array([["a", "b"]]))
