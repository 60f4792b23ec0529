"""glassnet.sklearn estimators scale out through joblib's Dask backend: a GridSearchCV run on a
local two-process Dask cluster (loopback only) finds the same scores and best parameters as the
same search run in this process, and its fits really ran in the workers' processes."""

import logging
import os

import joblib
import numpy as np
import pytest
from dask.distributed import Client, LocalCluster
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import StandardScaler

from glassnet.sklearn import MLPClassifier

# max_iter=10 stops lbfgs early on purpose: the search stays fast and its four settings score apart.
pytestmark = pytest.mark.filterwarnings("ignore", category=ConvergenceWarning)

PARAM_GRID = {"hidden_layer_sizes": [(4,), (16,)], "alpha": [1e-4, 1.0]}


@pytest.fixture(scope="module")
def dask_client():
    # death_timeout bounds each worker's start (and its wait for the scheduler) at 60 s, so a
    # stuck start fails the test instead of hanging it; silence_logs keeps dask's INFO/WARNING
    # lines about workers starting and stopping out of the test output.
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, silence_logs=logging.ERROR,
                      death_timeout=60) as cluster, Client(cluster, timeout=60) as client:
        client.wait_for_workers(2, timeout=60)
        yield client


def fit_process_id(estimator, X, y):
    """A scorer that records which process scored (and so fitted) each split of the search."""
    return float(os.getpid())


def scoring_pids(search):
    """The processes that fitted and scored the search's 4 settings x 3 splits."""
    return {pid for k in range(3) for pid in search.cv_results_[f"split{k}_test_pid"]}


def run_search(X, y, n_jobs):
    search = GridSearchCV(MLPClassifier(solver="lbfgs", max_iter=10, random_state=0), PARAM_GRID,
                          cv=3, scoring={"accuracy": "accuracy", "pid": fit_process_id},
                          refit="accuracy", n_jobs=n_jobs)
    return search.fit(X, y)


def test_sklearn_dask_grid_search_matches_local_and_runs_on_workers(dask_client):
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)

    local = run_search(X, y, n_jobs=1)
    with joblib.parallel_backend("dask"):
        distributed = run_search(X, y, n_jobs=None)

    assert distributed.best_params_ == local.best_params_
    # Training is deterministic given random_state, so the scores are the same numbers.
    np.testing.assert_array_equal(distributed.cv_results_["mean_test_accuracy"],
                                  local.cv_results_["mean_test_accuracy"])
    # Four different scores, so best_params_ is a unique best and not the first of a tie.
    assert len(set(local.cv_results_["mean_test_accuracy"])) == 4
    np.testing.assert_array_equal(distributed.predict(X), local.predict(X))

    worker_pids = set(dask_client.run(os.getpid).values())
    assert len(worker_pids) == 2 and os.getpid() not in worker_pids
    assert scoring_pids(distributed) <= {float(pid) for pid in worker_pids}
    assert scoring_pids(local) == {float(os.getpid())}
