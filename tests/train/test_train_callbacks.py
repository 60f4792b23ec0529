"""Callbacks, augmentation and ensembles do what their docstrings say."""

import io
import math

import numpy as np
import pytest

import glassnet as gn
from glassnet import losses, nn, optim
from glassnet.data.augment import Compose, GaussianNoise, RandomFlip, RandomShift, shift


def noisy_problem(n=60, features=30, seed=0):
    """Few samples, many features, noisy labels: a network overfits it quickly."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, features)).astype(np.float32)
    y = ((X[:, 0] + rng.normal(scale=1.0, size=n)) > 0).astype(int)
    return X, y


def wide_net(features=30, seed=0):
    return nn.Sequential(nn.Linear(features, 64, rng=seed), nn.ReLU(), nn.Linear(64, 2, rng=seed + 1))


def test_early_stopping_restores_the_best_epochs_weights():
    X, y = noisy_problem()
    X_val, y_val = noisy_problem(200, seed=1)
    model = wide_net()
    stopper = gn.EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
    history = gn.fit(model, X, y, loss=losses.cross_entropy, optimizer=optim.Adam(model.parameters(), lr=0.01),
                     epochs=200, batch_size=None, validation_data=(X_val, y_val), callbacks=[stopper], verbose=0)
    val_losses = history.history["val_loss"]
    assert stopper.stopped_epoch is not None and len(val_losses) < 200  # it stopped early
    assert stopper.best_epoch == int(np.argmin(val_losses)) and len(val_losses) == stopper.best_epoch + 5
    final = gn.evaluate(model, X_val, y_val, loss=losses.cross_entropy)["loss"]
    assert math.isclose(final, min(val_losses), rel_tol=1e-6)
    assert min(val_losses) < val_losses[-1]


def test_early_stopping_needs_the_monitored_key():
    X, y = noisy_problem()
    model = wide_net()
    with pytest.raises(ValueError, match="val_loss"):
        gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=2,
               callbacks=[gn.EarlyStopping()], verbose=0)


def test_terminate_on_nan_names_the_batch_and_restores_finite_weights():
    X, y = noisy_problem()
    model = nn.Sequential(nn.Linear(30, 2, rng=0))
    stream = io.StringIO()
    stop = gn.TerminateOnNaN(stream=stream)
    with np.errstate(all="ignore"):  # a step this large overflows the weights to inf, then NaN
        history = gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=1e38),
                         epochs=5, batch_size=10, shuffle=False, callbacks=[stop], verbose=0)
    assert stop.terminated_at is not None
    epoch, batch = stop.terminated_at
    assert f"epoch {epoch + 1}, batch {batch + 1}" in stream.getvalue()
    assert all(np.all(np.isfinite(v)) for v in model.state_dict().values())
    assert len(history.history.get("loss", [])) <= epoch + 1


def test_learning_rate_schedules():
    X, y = noisy_problem()
    for schedule, kwargs, expected in [
        ("step", {"step_size": 2, "gamma": 0.5}, [0.1, 0.1, 0.05, 0.05, 0.025]),
        ("exponential", {"gamma": 0.5}, [0.1, 0.05, 0.025, 0.0125, 0.00625]),
        ("cosine", {"T_max": 8}, [0.1 * (1 + math.cos(math.pi * e / 8)) / 2 for e in range(5)]),
        (lambda epoch, lr: lr / (epoch + 1), {}, [0.1 / (e + 1) for e in range(5)]),
    ]:
        model = wide_net()
        history = gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=0.1),
                         epochs=5, callbacks=[gn.LearningRateSchedule(schedule, **kwargs)], verbose=0)
        np.testing.assert_allclose(history.history["lr"], expected, rtol=1e-12, atol=1e-15)
    with pytest.raises(ValueError, match="T_max"):
        gn.LearningRateSchedule("cosine")


def test_progress_bar_plain_lines_and_silence(capsys):
    X, y = noisy_problem()
    model = wide_net()
    gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=3, verbose=1)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and lines[0].startswith("epoch 1/3  loss ") and "accuracy" in lines[0]
    gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=3, verbose=0)
    assert capsys.readouterr().out == ""


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
    every = gn.ModelCheckpoint(tmp_path / "epoch{epoch}.safetensors", save_best_only=False)
    gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=2,
           callbacks=[every], verbose=0)
    assert sorted(p.name for p in tmp_path.glob("epoch*")) == ["epoch1.safetensors", "epoch2.safetensors"]


def test_accuracy_metric_conventions():
    from glassnet.train.metrics import accuracy

    assert accuracy(np.array([[2.0, 1.0], [0.0, 3.0]]), np.array([0, 0])) == 0.5
    assert accuracy(np.array([[2.0, 1.0], [0.0, 3.0]]), np.array([[1, 0], [0, 1]])) == 1.0
    assert accuracy(np.array([[-1.0], [2.0]]), np.array([0, 1])) == 1.0  # logits cut at 0
    assert accuracy(np.array([0.3, 0.7]), np.array([0, 1]), threshold=0.5) == 1.0


def test_augmentations_are_exact(rng):
    images = rng.normal(size=(6, 1, 5, 5)).astype(np.float32)
    flipped = RandomFlip(horizontal=True, p=1.0)(images, rng)
    np.testing.assert_array_equal(flipped, images[..., ::-1])
    both = RandomFlip(horizontal=False, vertical=True, p=1.0)(images, rng)
    np.testing.assert_array_equal(both, images[..., ::-1, :])
    np.testing.assert_array_equal(RandomFlip(p=0.0)(images, rng), images)
    moved = shift(np.arange(5.0), {-1: 2})
    np.testing.assert_array_equal(moved, [0, 0, 0, 1, 2])
    np.testing.assert_array_equal(shift(np.arange(5.0), {-1: -1}), [1, 2, 3, 4, 0])
    shifted = RandomShift(2)(images, rng)
    assert shifted.shape == images.shape and shifted.dtype == images.dtype
    for sample, original in zip(shifted, images):  # each sample is some shift of its original
        assert any(np.array_equal(sample[0], shift(original[0], {-2: a, -1: b}))
                   for a in range(-2, 3) for b in range(-2, 3))
    noisy = GaussianNoise(0.5)(np.zeros((200, 50), np.float32), rng)
    assert noisy.dtype == np.float32 and abs(noisy.std() - 0.5) < 0.02
    chained = Compose([RandomFlip(p=1.0), RandomFlip(p=1.0)])(images, rng)
    np.testing.assert_array_equal(chained, images)
    with pytest.raises(ValueError, match="vertical flip needs images"):
        RandomFlip(vertical=True)(np.zeros((3, 4)), rng)


def test_fit_applies_augmentation_per_batch():
    X, y = noisy_problem()
    seen = []

    def record(batch, rng):
        seen.append(batch.copy())
        return batch + 1.0

    model = wide_net()
    gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=0.01), epochs=2,
           batch_size=20, shuffle=False, augment=record, verbose=0)
    assert len(seen) == 6
    np.testing.assert_array_equal(seen[0], X[:20])


def test_ensemble_averages_probabilities_and_helps():
    X, y = noisy_problem(80)
    X_test, y_test = noisy_problem(400, seed=2)

    def build(seed):
        model = wide_net(seed=seed)
        return model, optim.Adam(model.parameters(), lr=0.01)

    ensemble = gn.train.Ensemble(build, n_models=5, bootstrap=True, seed=0)
    ensemble.fit(X, y, loss="cross_entropy", epochs=60, batch_size=None, verbose=0)
    probabilities = ensemble.predict_proba(X_test)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-6)
    members = [gn.functional.softmax(gn.Tensor(gn.predict(m, X_test))).numpy() for m in ensemble.models]
    np.testing.assert_allclose(probabilities, np.mean(members, axis=0), rtol=1e-6)
    single = [np.mean(p.argmax(axis=1) == y_test) for p in members]
    assert np.mean(ensemble.predict(X_test) == y_test) >= np.mean(single)
    with pytest.raises(RuntimeError, match="not fitted"):
        gn.train.Ensemble(build).predict(X_test)
