"""The MLPs' public behaviour that scikit-learn's own tests pin (tests/test_sklearn_upstream.py runs
them): divergence with early stopping, a one-class y, the non-finite message, log-probabilities
of saturated outputs, the stratification error. Each is compared with scikit-learn's estimator."""

import warnings

import numpy as np
import pytest
import sklearn.neural_network as skl
from sklearn.datasets import load_iris, make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning

from glassnet.sklearn import MLPClassifier, MLPRegressor

NON_FINITE = ("Solver produced non-finite parameter weights. The input data may contain large "
              "values and need to be preprocessed.")


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


def fit_quietly(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)     # scikit-learn's overflowing matmul
        return model.fit(X, y)


DIVERGING = dict(hidden_layer_sizes=100, activation="identity", solver="sgd", learning_rate_init=1,
                 max_iter=20, n_iter_no_change=10, random_state=0)


def test_diverging_run_with_early_stopping_scores_nan_and_keeps_the_best_epoch(iris):
    """scikit-learn #29504: the epochs after the divergence score NaN, training carries on to
    max_iter (a NaN never counts as "no improvement"), and fit ends with the best epoch's
    weights, as scikit-learn's does, step for step."""
    X, y = iris
    ours = fit_quietly(MLPRegressor(**DIVERGING, early_stopping=True), X, y)
    theirs = fit_quietly(skl.MLPRegressor(**DIVERGING, early_stopping=True), X, y)
    scores = np.array(ours.validation_scores_)
    np.testing.assert_array_equal(np.isnan(scores), np.isnan(theirs.validation_scores_))
    assert np.isnan(scores[4:]).all() and np.isfinite(scores[:4]).all()   # epoch 5 diverged
    np.testing.assert_allclose(scores[:4], theirs.validation_scores_[:4], rtol=1e-9)
    assert ours.n_iter_ == theirs.n_iter_ == 20
    assert ours.best_validation_score_ == scores[0]          # the first epoch was the best
    for mine, reference in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(mine, reference, rtol=1e-9, atol=1e-12)
    assert all(np.isfinite(w).all() for w in ours.coefs_)
    assert isinstance(ours.validation_scores_[-1], float)


def test_diverging_run_without_early_stopping_raises_and_leaves_the_estimator(iris):
    X, y = iris
    model = fit_quietly(MLPRegressor(hidden_layer_sizes=5, max_iter=3, random_state=0), X, y)
    before = [w.copy() for w in model.coefs_]
    message = (rf"^{NON_FINITE} \(The training loss became (inf|nan) in epoch 1; the estimator is "
               r"left as it was. Lower learning_rate_init or scale X.\)$")
    with pytest.raises(ValueError, match=message):
        model.set_params(**DIVERGING).fit(X * 1e200, y)
    for old, now in zip(before, model.coefs_):
        np.testing.assert_array_equal(old, now)
    # scikit-learn raises the same sentence (after its last epoch, with NaN weights left behind)
    with pytest.raises(ValueError, match=NON_FINITE):
        fit_quietly(skl.MLPRegressor(**DIVERGING), X * 1e200, y)


def test_non_finite_weights_message_is_scikit_learns():
    rng = np.random.RandomState(0)
    X = np.finfo(np.float64).max * rng.uniform(size=(10, 2))
    for model in (MLPRegressor(), MLPRegressor(solver="lbfgs")):
        with pytest.raises(ValueError, match=NON_FINITE), np.errstate(all="ignore"):
            fit_quietly(model, X, rng.standard_normal(size=10))
        assert not hasattr(model, "model_")


def test_one_class_fits_and_predicts_that_class(iris):
    X, _ = iris
    y = np.full(len(X), "setosa")
    ours = fit_quietly(MLPClassifier((5,), max_iter=20, random_state=0), X, y)
    theirs = fit_quietly(skl.MLPClassifier((5,), max_iter=20, random_state=0), X, y)
    assert ours.classes_.tolist() == theirs.classes_.tolist() == ["setosa"]
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-9)
    assert ours.predict(X[:3]).tolist() == theirs.predict(X[:3]).tolist() == ["setosa"] * 3
    # one column, in classes_' order (scikit-learn's gives two: 1 - p and a p of no class)
    np.testing.assert_array_equal(ours.predict_proba(X[:3]), np.ones((3, 1)))
    np.testing.assert_array_equal(ours.predict_log_proba(X[:3]), np.zeros((3, 1)))
    assert ours.score(X, y) == 1.0
    with_stopping = MLPClassifier((5,), max_iter=5, early_stopping=True, validation_fraction=0.2)
    assert fit_quietly(with_stopping, X, y).validation_scores_ == [1.0] * with_stopping.n_iter_


def test_saturated_multilabel_log_proba_has_predict_probas_argmax():
    X, Y = make_multilabel_classification(n_samples=50, random_state=0, return_indicator=True)
    model = MLPClassifier(solver="lbfgs", hidden_layer_sizes=30, random_state=0).fit(X, Y)
    proba, log_proba = model.predict_proba(X), model.predict_log_proba(X)
    assert (proba == 1.0).sum(axis=1).max() >= 2                  # ties at a probability of 1
    np.testing.assert_array_equal(log_proba.argmax(axis=1), proba.argmax(axis=1))
    np.testing.assert_allclose(log_proba, np.log(proba), rtol=1e-7, atol=0)
    model.coefs_[-1][...] *= 1e3                                  # now some round to 0 as well
    proba, log_proba = model.predict_proba(X), model.predict_log_proba(X)
    assert (proba == 0).any() and np.isfinite(log_proba).all()
    assert log_proba[proba == 0].max() < np.log(np.nextafter(0, 1))   # below any log(p > 0)


def test_stratification_error_names_boolean_classes_as_scikit_learn():
    X, y = [[1, 2], [2, 3], [3, 4], [4, 5]], [0, 0, 0, 1]
    message = r"too few members are: \['True'\]"
    with pytest.raises(ValueError, match=message):
        MLPClassifier(early_stopping=True).fit(X, y)
    with pytest.raises(ValueError, match=message):
        skl.MLPClassifier(early_stopping=True).fit(X, y)


def test_binary_early_stopping_split_is_scikit_learns(iris):
    X, y = iris
    X, y = X[:100], y[:100]
    params = dict(hidden_layer_sizes=(4,), max_iter=6, early_stopping=True, random_state=3)
    ours = fit_quietly(MLPClassifier(**params), X, y)
    theirs = fit_quietly(skl.MLPClassifier(**params), X, y)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-9)
    assert ours.validation_scores_ == theirs.validation_scores_
