"""permutation_importance: scikit-learn's own on a glassnet estimator; for a Module, the same
numbers as scikit-learn's loop on the same model (same random_state), and a hand computation."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.inspection import permutation_importance as sklearn_permutation_importance

import glassnet as gn
from glassnet import nn
from glassnet.explain import permutation_importance
from glassnet.sklearn import MLPClassifier, MLPRegressor


def tabular(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = (X[:, 0] - 0.5 * X[:, 2] > 0).astype(int)
    return X, y


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # a few epochs suffice here
def test_a_glassnet_estimator_is_scikit_learns_permutation_importance():
    X, y = tabular(200)
    model = MLPClassifier(hidden_layer_sizes=(8,), learning_rate_init=0.05, max_iter=300, random_state=0).fit(X, y)
    assert model.score(X, y) > 0.95
    for scoring in (None, "accuracy", "neg_log_loss"):
        ours = permutation_importance(model, X, y, scoring=scoring, n_repeats=4, random_state=3)
        theirs = sklearn_permutation_importance(model, X, y, scoring=scoring, n_repeats=4, random_state=3)
        for key in ("importances", "importances_mean", "importances_std"):
            np.testing.assert_array_equal(ours[key], theirs[key])
    assert ours.importances.shape == (4, 4)
    # the label depends on columns 0 and 2 only: they matter most
    assert set(np.argsort(ours.importances_mean)[-2:]) == {0, 2}
    regressor = MLPRegressor(hidden_layer_sizes=(5,), max_iter=300, random_state=0).fit(X, X[:, 1])
    ours = permutation_importance(regressor, X, X[:, 1], n_repeats=2, random_state=1)
    theirs = sklearn_permutation_importance(regressor, X, X[:, 1], n_repeats=2, random_state=1)
    np.testing.assert_array_equal(ours.importances, theirs.importances)


class AsEstimator(BaseEstimator):
    """A fitted Module seen as a scikit-learn estimator (classes from the arg-max, or values), so
    that scikit-learn's own loop can score it."""

    def __init__(self, module=None, classify=True):
        self.module, self.classify = module, classify

    def fit(self, X, y):
        self.classes_ = np.unique(y) if self.classify else None
        return self

    def predict(self, X):
        out = gn.predict(self.module, X)
        return out.argmax(axis=1) if self.classify else out.reshape(len(X), -1).squeeze(-1)


class AsClassifier(ClassifierMixin, AsEstimator):
    pass


class AsRegressor(RegressorMixin, AsEstimator):
    pass


def classifier():
    return nn.Sequential(nn.Linear(4, 6, dtype=np.float64, rng=0), nn.Tanh(), nn.Linear(6, 2, dtype=np.float64, rng=1))


@pytest.mark.parametrize("random_state", [0, 7, "RandomState"])
def test_a_module_gets_scikit_learns_numbers(random_state):
    X, y = tabular()
    model = classifier()

    def state():
        return np.random.RandomState(5) if random_state == "RandomState" else random_state

    ours = permutation_importance(model, X, y, n_repeats=3, random_state=state())
    theirs = sklearn_permutation_importance(AsClassifier(model).fit(X, y), X, y, scoring="accuracy", n_repeats=3,
                                            random_state=state())
    np.testing.assert_array_equal(ours.importances, theirs.importances)
    np.testing.assert_array_equal(ours.importances_mean, theirs.importances_mean)
    np.testing.assert_array_equal(ours.importances_std, theirs.importances_std)
    regressor = nn.Sequential(nn.Linear(4, 3, dtype=np.float64, rng=2), nn.ReLU(), nn.Linear(3, 1, dtype=np.float64,
                                                                                             rng=3))
    target = X @ np.array([1.0, 0.0, -2.0, 0.5])
    for scoring in (None, "neg_mean_squared_error", "r2", "neg_mean_absolute_error"):
        ours = permutation_importance(regressor, X, target, scoring=scoring, n_repeats=2, random_state=4)
        theirs = sklearn_permutation_importance(AsRegressor(regressor, classify=False).fit(X, target), X, target,
                                                scoring=scoring or "neg_mean_squared_error", n_repeats=2,
                                                random_state=4)
        np.testing.assert_allclose(ours.importances, theirs.importances, rtol=1e-12, atol=1e-15)


def test_a_module_by_hand():
    """The definition written out: the score drop with one column shuffled (scikit-learn's draws:
    one seed, a fresh RandomState of it per column, the shuffles compounding)."""
    X, y = tabular(40, seed=1)
    model = classifier()

    def accuracy(data):
        return float(np.mean(gn.predict(model, data).argmax(axis=1) == y))

    seed = np.random.RandomState(11).randint(np.iinfo(np.int32).max + 1)
    expected = np.empty((4, 2))
    for column in range(4):
        draws, shuffled, order = np.random.RandomState(seed), X.copy(), np.arange(len(X))
        for repeat in range(2):
            draws.shuffle(order)  # the order of the previous repeat, shuffled again
            shuffled[:, column] = shuffled[order, column]
            expected[column, repeat] = accuracy(X) - accuracy(shuffled)
    result = permutation_importance(model, X, y, n_repeats=2, random_state=11)
    np.testing.assert_array_equal(result.importances, expected)
    np.testing.assert_array_equal(result.importances_mean, expected.mean(axis=1))
    np.testing.assert_array_equal(result.importances_std, expected.std(axis=1))
    # a callable scoring(model, X, y) is used as it is
    calls = []

    def scoring(m, data, labels):
        calls.append(m)
        return float(np.mean(gn.predict(m, data).argmax(axis=1) == labels))

    again = permutation_importance(model, X, y, scoring=scoring, n_repeats=2, random_state=11)
    np.testing.assert_array_equal(again.importances, expected)
    assert len(calls) == 1 + 4 * 2 and all(m is model for m in calls)


def test_the_module_is_left_as_it_was():
    X, y = tabular()
    model = nn.Sequential(nn.Linear(4, 5, dtype=np.float64, rng=0), nn.BatchNorm1d(5, dtype=np.float64),
                          nn.Dropout(0.3, rng=0), nn.Linear(5, 2, dtype=np.float64, rng=1))
    model.train()
    before = {k: v.copy() for k, v in model.state_dict().items()}
    first = permutation_importance(model, X, y, n_repeats=2, random_state=0)
    second = permutation_importance(model, X, y, n_repeats=2, random_state=0)
    np.testing.assert_array_equal(first.importances, second.importances)  # eval mode: no dropout draws
    assert model.training and all(m.training for m in model.modules())
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k])
    assert all(p.grad is None for p in model.parameters())


@pytest.mark.parametrize("kwargs, error, words", [
    ({"n_repeats": 0}, ValueError, "n_repeats"),
    ({"random_state": "seed"}, TypeError, "random_state"),
    ({"random_state": np.random.default_rng(0)}, TypeError, "random_state"),
    ({"scoring": "roc_auc"}, ValueError, "scoring"),
    ({"scoring": 3}, TypeError, "scoring"),
    ({"X": np.ones((60, 4, 1))}, ValueError, "n_features"),
    ({"X": np.full((60, 4), np.nan)}, ValueError, "finite"),
    ({"y": np.ones(5)}, ValueError, "one entry per row"),
    ({"model": "model"}, TypeError, "Module"),
])
def test_bad_arguments(kwargs, error, words):
    X, y = tabular()
    arguments = {"model": classifier(), "X": X, "y": y} | kwargs
    with pytest.raises(error, match=words):
        permutation_importance(arguments.pop("model"), arguments.pop("X"), arguments.pop("y"), **arguments)


def test_accuracy_needs_class_scores():
    X, y = tabular()
    with pytest.raises(ValueError, match="accuracy"):
        permutation_importance(nn.Linear(4, 1, dtype=np.float64, rng=0), X, y, scoring="accuracy")
