"""Completeness of integrated gradients on a model trained on the digits: the attributions of an
example sum to f(x) - f(baseline) (f: the logit of the target class) within 1% at 200
Gauss-Legendre steps, and the returned delta is exactly that difference."""

import numpy as np
import pytest
from sklearn.datasets import load_digits

import glassnet as gn
from glassnet import losses, nn, optim
from glassnet.explain import IntegratedGradients


def trained_digits_mlp(activation, seed=0):
    """64 -> 32 -> 10 trained for 10 epochs on the first 1200 digits (about 92% on the rest);
    returns the model and the 597 held-out digits, scaled to [0, 1]."""
    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(np.float32)
    gn.seed(seed)
    model = nn.Sequential(nn.Linear(64, 32, rng=seed), activation, nn.Linear(32, 10, rng=seed + 1))
    gn.fit(model, X[:1200], y[:1200], loss=losses.cross_entropy, optimizer=optim.Adam(model.parameters(), lr=1e-2),
           epochs=10, batch_size=64, seed=seed, verbose=0)
    accuracy = np.mean(gn.predict(model, X[1200:]).argmax(axis=1) == y[1200:])
    assert accuracy > 0.85  # a trained model, not a random one
    return model, X[1200:]


def integrated_gradients_and_change(model, x, baseline):
    """(attributions, delta, f(x) - f(baseline)) for the predicted class of each example."""
    target = gn.predict(model, x).argmax(axis=1)
    attributions, delta = IntegratedGradients(model).attribute(x, baselines=baseline, target=target, n_steps=200,
                                                               method="gausslegendre")
    rows = np.arange(len(x))
    base = np.broadcast_to(baseline, x.shape)
    change = (gn.predict(model, x)[rows, target].astype(np.float64)
              - gn.predict(model, base)[rows, target].astype(np.float64))
    return attributions, delta, change


@pytest.mark.parametrize("baseline", [0.0, "mean"])
def test_completeness_of_a_smooth_trained_model_within_one_percent(baseline):
    model, x = trained_digits_mlp(nn.Tanh())
    x = x[:200]
    base = x.mean(axis=0) if baseline == "mean" else baseline
    attributions, delta, change = integrated_gradients_and_change(model, x, base)
    total = attributions.reshape(len(x), -1).sum(axis=1, dtype=np.float64)
    assert np.all(np.abs(total - change) <= 0.01 * np.abs(change))
    assert np.all(np.abs(total - change) <= 1e-5 * np.abs(change))  # in fact: 3e-7 at most (seeds 0-2)
    # the delta is that difference, Captum's sign: sum of attributions - (f(x) - f(baseline))
    np.testing.assert_allclose(delta, total - change, rtol=0, atol=1e-5 * np.abs(change).max())
    assert delta.shape == (200,) and delta.dtype == np.float32


def test_completeness_of_a_relu_trained_model():
    # The gradient of a ReLU network jumps where a unit switches along the path, so the quadrature
    # converges more slowly: on the 597 held-out digits (seeds 0-2) the error is at most 7e-3 in
    # absolute terms, its median 1e-4 of the change, and within 1% of every change f(x) - f(0) of
    # at least 0.2 (99-100% of the digits; a change near zero makes any relative bound fail).
    model, x = trained_digits_mlp(nn.ReLU())
    attributions, delta, change = integrated_gradients_and_change(model, x[:300], 0.0)
    total = attributions.reshape(len(attributions), -1).sum(axis=1, dtype=np.float64)
    error = np.abs(total - change)
    assert np.all(error <= 1e-2)
    clear = np.abs(change) >= 0.2
    assert clear.mean() > 0.95
    assert np.all(error[clear] <= 0.01 * np.abs(change[clear]))
    assert np.median(error / np.abs(change)) < 1e-3
    np.testing.assert_allclose(delta, total - change, rtol=0, atol=1e-5 * np.abs(change).max())
