"""The training loop: the course's three gradient-descent variants, validation before any
change, reproducibility, regularization and evaluation."""

import math

import numpy as np
import pytest

import glassnet as gn
from glassnet import losses, nn, optim


def blobs(n=120, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    X = rng.normal(size=(n, 2)) + 2.5 * y[:, None]
    return X.astype(np.float32), y


def small_net(seed=0, dropout=0.0):
    layers = [nn.Linear(2, 8, rng=seed), nn.Tanh()]
    if dropout:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(8, 2, rng=seed + 1))
    return nn.Sequential(*layers)


class CountSteps(gn.Callback):
    def on_train_begin(self, logs=None):
        self.per_epoch = []

    def on_epoch_begin(self, epoch, logs=None):
        self.per_epoch.append(0)

    def on_batch_end(self, batch, logs=None):
        self.per_epoch[-1] += 1


@pytest.mark.parametrize("batch_size, steps, lr", [(None, 1, 1.0), (1, 120, 0.02), (32, 4, 0.2)])
def test_batch_stochastic_and_minibatch_all_decrease_the_loss(batch_size, steps, lr):
    X, y = blobs()
    model = small_net()
    initial = gn.evaluate(model, X, y, loss=losses.cross_entropy)["loss"]
    counter = CountSteps()
    history = gn.fit(model, X, y, loss=losses.cross_entropy, optimizer=optim.SGD(model.parameters(), lr=lr),
                     epochs=5, batch_size=batch_size, callbacks=[counter], seed=0, verbose=0)
    assert counter.per_epoch == [steps] * 5
    assert history.history["loss"][-1] < 0.8 * initial
    assert len(history.history["loss"]) == 5 and history.epoch == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("change, message", [
    (lambda X, y: (X, y[:-1]), "120 samples but y has 119"),
    (lambda X, y: (np.where(np.arange(240).reshape(120, 2) == 7, np.nan, X), y), "NaN or infinite"),
    (lambda X, y: (X[:0], y[:0]), "empty"),
    (lambda X, y: (X, np.where(np.arange(120) == 3, 5, y)), r"labels must lie in \[0, 1\]"),
    (lambda X, y: (X, y.astype(float) + 0.5), "integers"),
])
def test_bad_data_raises_before_any_weight_changes(change, message):
    X, y = blobs()
    model = small_net()
    before = model.state_dict()
    with pytest.raises(ValueError, match=message):
        gn.fit(model, *change(X, y), loss=losses.cross_entropy, optimizer=optim.SGD(model.parameters(), lr=0.1),
               epochs=2, verbose=0)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key])


@pytest.mark.parametrize("options, message", [
    ({"epochs": 0}, "epochs must be a positive int"),
    ({"batch_size": 0}, "batch_size"),
    ({"validation_split": 1.5}, "validation_split"),
    ({"validation_split": 0.2, "validation_data": (np.zeros((2, 2)), np.zeros(2))}, "not both"),
    ({"loss": "no_such_loss"}, "unknown loss"),
    ({"metrics": ("f1",)}, "unknown metric"),
    ({"l1": -1.0}, "l1 and l2"),
])
def test_bad_options_raise_before_any_weight_changes(options, message):
    X, y = blobs()
    model = small_net()
    before = model.state_dict()
    settings = dict(loss=losses.cross_entropy, optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=2, verbose=0)
    settings.update(options)
    with pytest.raises(ValueError, match=message):
        gn.fit(model, X, y, **settings)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key])


def test_seeded_fit_is_bit_identical_with_dropout_and_shuffling():
    X, y = blobs()
    runs = []
    for _ in range(2):
        model = small_net(dropout=0.3)
        gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.Adam(model.parameters(), lr=0.01),
               epochs=3, batch_size=16, validation_split=0.25, seed=7, verbose=0)
        runs.append(model.state_dict())
    for key in runs[0]:
        np.testing.assert_array_equal(runs[0][key], runs[1][key])
    model = small_net(dropout=0.3)
    gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.Adam(model.parameters(), lr=0.01),
           epochs=3, batch_size=16, validation_split=0.25, seed=8, verbose=0)
    assert not np.array_equal(model.state_dict()["0.weight"], runs[0]["0.weight"])


def test_validation_logs_and_evaluate_agree():
    X, y = blobs()
    X_val, y_val = blobs(40, seed=1)
    model = small_net()
    history = gn.fit(model, X, y, loss=losses.cross_entropy, optimizer=optim.Adam(model.parameters(), lr=0.01),
                     epochs=3, validation_data=(X_val, y_val), metrics=("accuracy",), verbose=0)
    scores = gn.evaluate(model, X_val, y_val, loss=losses.cross_entropy)
    assert math.isclose(history.history["val_loss"][-1], scores["loss"], rel_tol=1e-6)
    assert history.history["val_accuracy"][-1] == scores["accuracy"]
    outputs = gn.predict(model, X_val, batch_size=7)
    np.testing.assert_allclose(outputs, model.eval()(gn.Tensor(X_val)).numpy(), rtol=1e-6)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr"}


def test_l1_drives_weights_to_zero_and_l2_shrinks_them():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 20)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)  # only the first feature matters
    norms = {}
    for name, options in {"plain": {}, "l1": {"l1": 0.05}, "l2": {"l2": 0.05}}.items():
        model = nn.Sequential(nn.Linear(20, 2, rng=0))
        gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=60,
               batch_size=None, seed=0, verbose=0, **options)
        weights = model[0].weight.data
        norms[name] = (np.mean(np.abs(weights[1:]) < 1e-2), np.sum(weights ** 2))
    assert norms["l1"][0] > 0.5 > norms["plain"][0]  # most useless weights are (nearly) zero
    assert norms["l2"][1] < norms["plain"][1]


def test_regression_with_mse_and_float64_model():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 3))
    y = X @ np.array([[1.0], [-2.0], [0.5]])
    model = nn.Sequential(nn.Linear(3, 1, dtype=np.float64, rng=0))
    history = gn.fit(model, X, y, loss=losses.mse, optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=50,
                     batch_size=None, metrics=("mae",), verbose=0)
    assert model[0].weight.dtype == np.float64
    assert history.history["loss"][-1] < 1e-4 and history.history["mae"][-1] < 1e-2
