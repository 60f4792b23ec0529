"""Missing values with the estimators: scikit-learn's SimpleImputer before them in a Pipeline gives
exactly the model fitted on the imputed array; without it, NaN is refused with scikit-learn's
message (docs/sklearn.md, "Missing values")."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline

from glassnet.sklearn import MLPClassifier, MLPRegressor, Perceptron

pytestmark = pytest.mark.filterwarnings("ignore", category=ConvergenceWarning)


@pytest.fixture(scope="module")
def gaps():
    X, y = make_classification(n_samples=160, n_features=5, n_informative=3, random_state=0)
    X[np.random.default_rng(0).random(X.shape) < 0.2] = np.nan
    return X, y


ESTIMATORS = [
    MLPClassifier(hidden_layer_sizes=(8,), learning_rate_init=0.01, max_iter=100, random_state=0),
    MLPRegressor(hidden_layer_sizes=(8,), learning_rate_init=0.01, max_iter=100, random_state=0),
    Perceptron(max_iter=20, random_state=0),
]


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("strategy", ["mean", "median", "constant"])
def test_simple_imputer_in_a_pipeline_gives_the_model_of_the_imputed_data(gaps, estimator, strategy):
    X, y = gaps
    target = y.astype(float) if isinstance(estimator, MLPRegressor) else y
    pipe = make_pipeline(SimpleImputer(strategy=strategy), clone(estimator)).fit(X, target)
    filled = SimpleImputer(strategy=strategy).fit_transform(X)
    direct = clone(estimator).fit(filled, target)
    new = X[::3]
    new_filled = SimpleImputer(strategy=strategy).fit(X).transform(new)
    np.testing.assert_array_equal(pipe.predict(new), direct.predict(new_filled))
    fitted = pipe[-1]
    for ours, theirs in zip(getattr(fitted, "coefs_", [getattr(fitted, "coef_", None)]),
                            getattr(direct, "coefs_", [getattr(direct, "coef_", None)])):
        np.testing.assert_array_equal(ours, theirs)
    assert pipe.score(X, target) == direct.score(filled, target)
    # better than chance (0.5; an r2 of 0): the imputed features still carry the signal
    floor = {MLPClassifier: 0.8, MLPRegressor: 0.25, Perceptron: 0.6}[type(estimator)]
    assert pipe.score(X, target) > floor


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_without_an_imputer_nan_is_refused_with_scikit_learns_message(gaps, estimator):
    X, y = gaps
    with pytest.raises(ValueError, match="Input X contains NaN"):
        clone(estimator).fit(X, y)


def test_cross_validation_fits_the_imputer_on_each_training_fold(gaps):
    X, y = gaps
    network = MLPClassifier((8,), learning_rate_init=0.01, max_iter=100, random_state=0)
    scores = cross_val_score(make_pipeline(SimpleImputer(), network), X, y, cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.65
