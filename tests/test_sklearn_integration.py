"""glassnet.sklearn's estimators inside scikit-learn's own machinery: pipelines, parallel searches,
cross-validation, clone, ensembles, calibration and permutation importance. Each test checks what
the machinery must give (a second path to the same numbers, shapes, fitted attributes, a score a
broken integration would not reach). The examples of docs/sklearn.md run here too."""

import re
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import loguniform
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.calibration import CalibratedClassifierCV
from sklearn.datasets import load_digits, load_iris, make_blobs, make_classification, make_regression
from sklearn.ensemble import BaggingClassifier, StackingClassifier, VotingClassifier
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, brier_score_loss, r2_score
from sklearn.model_selection import (
    GridSearchCV,
    KFold,
    ParameterSampler,
    RandomizedSearchCV,
    StratifiedKFold,
    cross_val_score,
    cross_validate,
    train_test_split,
)
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from glassnet.sklearn import MLPClassifier, MLPRegressor, Perceptron

# Short trainings (small max_iter) keep the file fast; their ConvergenceWarnings are expected.
pytestmark = pytest.mark.filterwarnings("ignore", category=ConvergenceWarning)

DOCS = Path(__file__).parents[1] / "docs" / "sklearn.md"


@pytest.fixture(scope="module")
def iris_split():
    X, y = load_iris(return_X_y=True)
    return train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)


@pytest.fixture(scope="module")
def binary_split():
    X, y = make_classification(n_samples=300, n_features=8, n_informative=4, random_state=0)
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)


@pytest.fixture(scope="module")
def regression_data():
    X, y = make_regression(n_samples=200, n_features=5, noise=5.0, random_state=0)
    return X, y / 100          # targets of order 1, so that a small network fits them quickly


def lbfgs_mlp(hidden_layer_sizes=(16,), max_iter=200, **params):
    return MLPClassifier(hidden_layer_sizes, solver="lbfgs", max_iter=max_iter, random_state=0, **params)


# ---- Pipeline ------------------------------------------------------------------------------------
def test_sklearn_integration_pipeline_set_params_reaches_the_mlp(iris_split):
    X_train, X_test, y_train, y_test = iris_split
    pipe = Pipeline([("scale", StandardScaler()), ("mlp", lbfgs_mlp((8,)))])
    pipe.set_params(mlp__alpha=0.5, mlp__hidden_layer_sizes=(6,))
    assert pipe.named_steps["mlp"].alpha == 0.5 and pipe.get_params()["mlp__hidden_layer_sizes"] == (6,)
    pipe.fit(X_train, y_train)

    # the same two steps by hand give the same network
    scaler = StandardScaler().fit(X_train)
    by_hand = lbfgs_mlp((6,), alpha=0.5).fit(scaler.transform(X_train), y_train)
    assert [W.shape for W in pipe[-1].coefs_] == [(4, 6), (6, 3)]
    for ours, reference in zip(pipe[-1].coefs_, by_hand.coefs_):
        np.testing.assert_array_equal(ours, reference)
    np.testing.assert_array_equal(pipe.predict_proba(X_test),
                                  by_hand.predict_proba(scaler.transform(X_test)))
    assert pipe.score(X_test, y_test) > 0.9

    # the new alpha is the one that trained: a 20 times larger L2 penalty gives smaller weights
    heavier = clone(pipe).set_params(mlp__alpha=10.0).fit(X_train, y_train)
    assert np.linalg.norm(heavier[-1].coefs_[0]) < 0.7 * np.linalg.norm(pipe[-1].coefs_[0])


# ---- searches ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def digits_subset():
    X, y = load_digits(return_X_y=True)
    return X[:400] / 16.0, y[:400]


def test_sklearn_integration_grid_search_two_jobs_matches_one_job(digits_subset):
    X, y = digits_subset
    # max_iter=15 stops lbfgs early on purpose: the four settings score apart, so best_params_
    # is a unique best and not the first of a tie
    estimator = MLPClassifier(solver="lbfgs", max_iter=15, random_state=0)
    grid = {"hidden_layer_sizes": [(4,), (32,)], "alpha": [1e-4, 3.0]}
    parallel = GridSearchCV(estimator, grid, cv=3, n_jobs=2).fit(X, y)
    serial = GridSearchCV(estimator, grid, cv=3, n_jobs=1).fit(X, y)

    assert parallel.best_params_ == serial.best_params_
    np.testing.assert_array_equal(parallel.cv_results_["mean_test_score"],
                                  serial.cv_results_["mean_test_score"])
    assert len(set(serial.cv_results_["mean_test_score"])) == 4
    assert parallel.best_score_ > 0.8
    best = parallel.best_estimator_
    assert isinstance(best, MLPClassifier) and best.alpha == parallel.best_params_["alpha"]
    assert best.coefs_[0].shape == (64, parallel.best_params_["hidden_layer_sizes"][0])
    np.testing.assert_array_equal(best.predict(X), serial.best_estimator_.predict(X))


def test_sklearn_integration_randomized_search_two_jobs(iris_split):
    X_train, X_test, y_train, y_test = iris_split
    pipe = make_pipeline(StandardScaler(), lbfgs_mlp((8,)))
    # glassnet's own activations are searched like scikit-learn's
    distributions = {"mlpclassifier__alpha": loguniform(1e-5, 1e1),
                     "mlpclassifier__activation": ["relu", "tanh", "gelu", "elu"]}
    search = RandomizedSearchCV(pipe, distributions, n_iter=6, cv=3, n_jobs=2, random_state=0)
    search.fit(X_train, y_train)

    # the candidates are the ones ParameterSampler draws from the same seed, in the same order
    expected = list(ParameterSampler(distributions, n_iter=6, random_state=0))
    assert search.cv_results_["params"] == expected
    alphas = np.asarray(search.cv_results_["param_mlpclassifier__alpha"], dtype=float)
    assert np.all((alphas >= 1e-5) & (alphas <= 1e1)) and len(set(alphas)) == 6
    # best_score_ is the mean over the same splits that cross_val_score gives for that setting
    rerun = cross_val_score(clone(pipe).set_params(**search.best_params_), X_train, y_train, cv=3)
    assert search.best_score_ == pytest.approx(rerun.mean(), abs=1e-12)
    assert search.best_score_ > 0.9 and search.score(X_test, y_test) > 0.9


# ---- cross-validation ----------------------------------------------------------------------------
def test_sklearn_integration_cross_val_score_classifier_matches_manual_folds(binary_split):
    X, _, y, _ = binary_split
    cv = StratifiedKFold(n_splits=4, shuffle=True, random_state=0)
    scores = cross_val_score(lbfgs_mlp(), X, y, cv=cv)
    by_hand = [accuracy_score(y[test], lbfgs_mlp().fit(X[train], y[train]).predict(X[test]))
               for train, test in cv.split(X, y)]
    np.testing.assert_array_equal(scores, by_hand)
    assert scores.shape == (4,) and scores.mean() > 0.85


def test_sklearn_integration_cross_val_score_regressor_matches_manual_folds(regression_data):
    X, y = regression_data
    cv = KFold(n_splits=4, shuffle=True, random_state=0)

    def regressor():
        return MLPRegressor(hidden_layer_sizes=(16,), solver="lbfgs", max_iter=300, random_state=0)

    scores = cross_val_score(regressor(), X, y, cv=cv)          # R^2, a regressor's default score
    by_hand = [r2_score(y[test], regressor().fit(X[train], y[train]).predict(X[test]))
               for train, test in cv.split(X)]
    np.testing.assert_allclose(scores, by_hand, rtol=0, atol=1e-12)
    assert scores.min() > 0.95


# ---- clone ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("estimator", [
    MLPClassifier((7, 5), activation="gelu", solver="adamw", dropout=0.1, batch_norm=True, l1=1e-4,
                  init="he_normal", class_weight="balanced", max_iter=5, random_state=3),
    MLPRegressor(loss="huber", hidden_layer_sizes=(6,), activation="silu", solver="rmsprop",
                 init="xavier_normal", max_iter=5, random_state=3),
    Perceptron(eta0=0.5, max_iter=7, shuffle=True, random_state=3),
], ids=["MLPClassifier", "MLPRegressor", "Perceptron"])
def test_sklearn_integration_clone_copies_params_not_training(estimator, binary_split):
    X, _, y, _ = binary_split
    fitted = clone(estimator).fit(X, y)
    copy = clone(fitted)

    assert copy is not fitted and copy.get_params() == estimator.get_params()
    assert type(copy) is type(estimator)
    with pytest.raises(NotFittedError):
        check_is_fitted(copy)
    assert not any(name.endswith("_") and not name.startswith("_") for name in vars(copy))
    assert is_regressor(copy) == isinstance(estimator, MLPRegressor) != is_classifier(copy)
    # the same parameters, random_state included, train the same weights
    copy.fit(X, y)
    if isinstance(copy, Perceptron):
        np.testing.assert_array_equal(copy.coef_, fitted.coef_)
    else:
        for refit, original in zip(copy.coefs_, fitted.coefs_):
            np.testing.assert_array_equal(refit, original)


# ---- ensembles -----------------------------------------------------------------------------------
def test_sklearn_integration_bagging_averages_its_mlps(binary_split):
    X_train, X_test, y_train, y_test = binary_split
    bagging = BaggingClassifier(lbfgs_mlp(max_iter=100), n_estimators=5, random_state=0)
    bagging.fit(X_train, y_train)

    assert len(bagging.estimators_) == 5
    assert all(isinstance(member, MLPClassifier) for member in bagging.estimators_)
    # each member got its own seed and bootstrap sample, so each learned different weights
    first_layers = [member.coefs_[0] for member in bagging.estimators_]
    assert all(not np.allclose(first_layers[0], other) for other in first_layers[1:])
    # the bagged probabilities are the mean of the members' (each on its own feature columns)
    mean_proba = np.mean([member.predict_proba(X_test[:, features]) for member, features
                          in zip(bagging.estimators_, bagging.estimators_features_)], axis=0)
    np.testing.assert_allclose(bagging.predict_proba(X_test), mean_proba, rtol=1e-12)
    assert bagging.score(X_test, y_test) > 0.9


def test_sklearn_integration_soft_voting_averages_predict_proba(binary_split):
    X_train, X_test, y_train, y_test = binary_split
    members = [("relu", lbfgs_mlp()), ("gelu", lbfgs_mlp((8,), activation="gelu")),
               ("logistic", LogisticRegression())]
    voting = VotingClassifier(members, voting="soft").fit(X_train, y_train)

    # the same members fitted on their own, averaged by hand
    by_hand = np.mean([clone(member).fit(X_train, y_train).predict_proba(X_test)
                       for _, member in members], axis=0)
    np.testing.assert_allclose(voting.predict_proba(X_test), by_hand, rtol=1e-12)
    np.testing.assert_array_equal(voting.predict(X_test), voting.classes_[by_hand.argmax(axis=1)])
    assert voting.score(X_test, y_test) > 0.9


def test_sklearn_integration_stacking_feeds_mlp_and_perceptron_outputs(binary_split):
    X_train, X_test, y_train, y_test = binary_split
    perceptron = make_pipeline(StandardScaler(), Perceptron(random_state=0))
    stacking = StackingClassifier([("mlp", lbfgs_mlp()), ("perceptron", perceptron)],
                                  final_estimator=LogisticRegression(), cv=3)
    stacking.fit(X_train, y_train)

    # 'auto' asks the MLP for predict_proba (P(class 1) for two classes) and the perceptron,
    # which has no probabilities, for its decision_function z
    assert stacking.stack_method_ == ["predict_proba", "decision_function"]
    features = stacking.transform(X_test)
    assert features.shape == (len(X_test), 2) and stacking.final_estimator_.n_features_in_ == 2
    mlp, perceptron = stacking.estimators_
    np.testing.assert_allclose(features[:, 0], mlp.predict_proba(X_test)[:, 1], rtol=1e-12)
    np.testing.assert_allclose(features[:, 1], perceptron.decision_function(X_test), rtol=1e-12)
    assert stacking.score(X_test, y_test) > 0.9


@pytest.mark.parametrize("method", ["sigmoid", "isotonic"])
def test_sklearn_integration_calibrated_mlp(method, binary_split):
    X_train, X_test, y_train, y_test = binary_split
    template = lbfgs_mlp(max_iter=100)
    calibrated = CalibratedClassifierCV(template, method=method, cv=3).fit(X_train, y_train)

    assert not hasattr(template, "model_")                 # the template itself stays unfitted
    assert len(calibrated.calibrated_classifiers_) == 3
    for fold in calibrated.calibrated_classifiers_:
        assert isinstance(fold.estimator, MLPClassifier) and fold.estimator.n_features_in_ == 8
    proba = calibrated.predict_proba(X_test)
    assert proba.shape == (len(X_test), 2) and np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    # the calibrated probabilities are those of the fold models, calibrated and averaged
    by_hand = np.mean([fold.predict_proba(X_test) for fold in calibrated.calibrated_classifiers_],
                      axis=0)
    np.testing.assert_allclose(proba, by_hand, rtol=1e-12)
    assert calibrated.score(X_test, y_test) > 0.9
    assert brier_score_loss(y_test, proba[:, 1]) < 0.1


def test_sklearn_integration_permutation_importance_ranks_noise_last(iris_split):
    X_train, X_test, y_train, y_test = iris_split
    rng = np.random.default_rng(0)
    noise_train, noise_test = rng.normal(size=(len(X_train), 1)), rng.normal(size=(len(X_test), 1))
    X_train, X_test = np.hstack([X_train, noise_train]), np.hstack([X_test, noise_test])
    pipe = make_pipeline(StandardScaler(), lbfgs_mlp((8,), max_iter=100)).fit(X_train, y_train)

    result = permutation_importance(pipe, X_test, y_test, n_repeats=5, random_state=0)
    importance = result.importances_mean
    assert result.importances.shape == (5, 5)
    # the petal measurements (columns 2 and 3) separate iris; column 4 is pure noise
    assert importance[2] > importance[4] + 0.1 and importance[3] > importance[4] + 0.1
    assert abs(importance[4]) < 0.05


# ---- MLPRegressor --------------------------------------------------------------------------------
def test_sklearn_integration_regressor_pipeline_grid_search(regression_data):
    X, y = regression_data
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    pipe = Pipeline([("scale", StandardScaler()),
                     ("mlp", MLPRegressor(hidden_layer_sizes=(16,), solver="lbfgs", max_iter=300,
                                          random_state=0))])
    grid = {"mlp__alpha": [1e-4, 30.0], "mlp__loss": ["squared_error", "huber"]}
    parallel = GridSearchCV(pipe, grid, cv=3, n_jobs=2).fit(X_train, y_train)
    serial = GridSearchCV(pipe, grid, cv=3, n_jobs=1).fit(X_train, y_train)

    assert parallel.best_params_ == serial.best_params_
    np.testing.assert_array_equal(parallel.cv_results_["mean_test_score"],
                                  serial.cv_results_["mean_test_score"])
    # a heavy L2 penalty shrinks the network towards a constant: it must lose the search
    assert parallel.best_params_["mlp__alpha"] == 1e-4
    assert parallel.best_estimator_[-1].loss == parallel.best_params_["mlp__loss"]
    assert parallel.best_score_ > 0.95 and parallel.score(X_test, y_test) > 0.95
    assert parallel.predict(X_test).shape == (len(X_test),)


# ---- Perceptron ----------------------------------------------------------------------------------
def test_sklearn_integration_perceptron_pipeline_cross_val_score():
    # two well-separated blobs: linearly separable, so the perceptron rule must converge
    X, y = make_blobs(n_samples=120, centers=[[0, 0], [6, 6]], cluster_std=1.0, random_state=0)
    pipe = Pipeline([("scale", StandardScaler()), ("perceptron", Perceptron(random_state=0))])
    result = cross_validate(pipe, X, y, cv=5, return_estimator=True)

    np.testing.assert_array_equal(result["test_score"], np.ones(5))
    assert all(fold[-1].errors_[-1] == 0 for fold in result["estimator"])   # each fold converged
    np.testing.assert_array_equal(cross_val_score(pipe, X, y, cv=5), result["test_score"])
    # eta only scales w and w0 (they start at zero), so through the pipeline it changes no prediction
    slow = clone(pipe).set_params(perceptron__eta0=0.001).fit(X, y)
    fast = clone(pipe).set_params(perceptron__eta0=1.0).fit(X, y)
    assert slow[-1].eta0 == 0.001
    np.testing.assert_allclose(fast[-1].coef_, 1000 * slow[-1].coef_)
    np.testing.assert_array_equal(fast.predict(X), slow.predict(X))


# ---- the docs ------------------------------------------------------------------------------------
def test_sklearn_docs_examples_run(tmp_path, monkeypatch):
    """Every ```python block of docs/sklearn.md, in order, in one namespace."""
    blocks = re.findall(r"^```python\n(.*?)^```", DOCS.read_text(), re.S | re.M)
    assert len(blocks) >= 15
    monkeypatch.chdir(tmp_path)
    namespace = {}
    for number, block in enumerate(blocks, 1):
        exec(compile(block, f"docs/sklearn.md, python block {number}", "exec"), namespace)

    # what the page says its examples show
    assert namespace["search"].best_score_ > 0.9
    assert namespace["bagging"].score(namespace["X"], namespace["y"]) > 0.9
    assert namespace["online"].score(namespace["X"], namespace["y"]) > 0.9
    assert len(namespace["warm"].loss_curve_) == 60
    assert (tmp_path / "mlp.safetensors").exists()
