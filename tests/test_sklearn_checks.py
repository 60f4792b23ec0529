"""scikit-learn's own estimator checks over glassnet's three estimators.

Every check runs and passes: no entry in ``expected_failed_checks``, nothing skipped (pandas is a
test dependency, and tests/conftest.py turns on scipy's array-API mode for the array-API check).
The MLPs run with their defaults, as a user gets them; the sample-weight equivalence check passes
with solver='adam' because its data (15 samples) fits in one batch.
"""

import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks

from glassnet.sklearn import MLPClassifier, MLPRegressor, Perceptron


@pytest.mark.filterwarnings("ignore", category=ConvergenceWarning)
@parametrize_with_checks([Perceptron(), MLPClassifier(), MLPRegressor()])
def test_sklearn_estimator_check(estimator, check):
    check(estimator)
