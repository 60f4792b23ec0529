"""glassnet.sklearn.Perceptron: the course's rule by hand, scikit-learn's Perceptron to rounding,
its claims, and scikit-learn behaviour. (scikit-learn's own test file runs in
test_sklearn_upstream.py, its estimator checks in test_sklearn_checks.py.)"""

import contextlib
import io
import warnings

import numpy as np
import pytest
import sklearn.linear_model
from sklearn.base import clone
from sklearn.datasets import load_iris as sklearn_iris
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.utils._seq_dataset import ArrayDataset64

from glassnet.data import load_blobs, load_circles, load_iris, load_xor
from glassnet.sklearn import Perceptron
from glassnet.sklearn._perceptron_rule import scikit_learns_permutation

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
XOR_Y = np.array([0, 1, 1, 0])


def fit_quietly(model, X, y, **fit_params):
    """Fit when non-convergence is expected; the ConvergenceWarning itself is tested below."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y, **fit_params)


# ---- the rule, by hand -----------------------------------------------------------------------------
def test_one_epoch_equals_the_hand_computation():
    # eta = 0.5, zero start, samples in order; labels y in {-1, +1}; a mistake when y z <= 0
    # 1: x = (1, 2),   y = +1: z = 0              -> y z = 0, a mistake: w = 0.5 (1, 2) = (0.5, 1), w0 = 0.5
    # 2: x = (2, -1),  y = -1: z = 1 - 1 + 0.5    -> y z = -0.5, a mistake:
    #    w = (0.5, 1) - 0.5 (2, -1) = (-0.5, 1.5),  w0 = 0.5 - 0.5 = 0
    # 3: x = (-1, -1), y = -1: z = 0.5 - 1.5 + 0 = -1 -> y z = 1: correct, no update
    X = np.array([[1.0, 2.0], [2.0, -1.0], [-1.0, -1.0]])
    y = np.array([1, 0, 0])
    with pytest.warns(ConvergenceWarning, match="did not converge in max_iter=1 epochs"):
        one_epoch = Perceptron(eta0=0.5, max_iter=1, shuffle=False).fit(X, y)
    np.testing.assert_array_equal(one_epoch.coef_, [[-0.5, 1.5]])
    np.testing.assert_array_equal(one_epoch.intercept_, [0.0])
    assert one_epoch.errors_ == [2] and one_epoch.n_iter_ == 1 and one_epoch.t_ == 4.0
    # epoch 2: z = 2.5, -2.5, -1: all correct, and so every later epoch. The mean objective
    # (0.5 / 3 in epoch 1, then 0) stops improving by tol: 5 epochs later training stops.
    model = Perceptron(eta0=0.5, shuffle=False).fit(X, y)
    assert model.errors_ == [2, 0, 0, 0, 0, 0, 0] and model.n_iter_ == 7
    np.testing.assert_array_equal(model.coef_, one_epoch.coef_)
    np.testing.assert_array_equal(model.decision_function(X), [2.5, -2.5, -1.0])
    np.testing.assert_array_equal(model.predict(X), y)


def test_a_sample_on_the_boundary_is_a_mistake_for_either_class():
    # a fresh perceptron has z = 0 for every input: the first sample, of either class, updates
    for first in (1, 0):
        X, y = np.array([[3.0], [-3.0]]), np.array([1, 0])
        if first == 0:
            X, y = X[::-1], y[::-1]
        model = Perceptron(eta0=0.5, shuffle=False).fit(X, y)
        assert model.errors_[:2] == [1, 0]
        np.testing.assert_array_equal(model.coef_, [[1.5]])                  # 0.5 y x = 1.5 either way
        np.testing.assert_array_equal(model.intercept_, [0.5 if first == 1 else -0.5])
        assert model.predict([[0.0]]).tolist() == [1 if first == 1 else 0]    # z > 0 is class 1


def test_penalties_by_hand():
    # one sample x = (2, -1), y = +1 from w = (1, -1), w0 = 0: z = 3, correct, so only the penalty acts
    X, y = np.array([[2.0, -1.0], [-2.0, 1.0]]), np.array([1, 0])
    start = dict(coef_init=[[1.0, -1.0]], intercept_init=[0.0])
    params = dict(eta0=0.5, alpha=0.1, max_iter=1, shuffle=False, tol=None)
    # 'l2': w <- (1 - eta alpha) w after each sample: two samples, 0.95^2
    l2 = Perceptron(penalty="l2", **params).fit(X, y, **start)
    np.testing.assert_allclose(l2.coef_, [[0.95 ** 2, -(0.95 ** 2)]], rtol=1e-15)
    # 'l1': each weight moves eta alpha = 0.05 towards 0 per sample
    l1 = Perceptron(penalty="l1", **params).fit(X, y, **start)
    np.testing.assert_allclose(l1.coef_, [[0.9, -0.9]], rtol=1e-15)


# ---- equal to scikit-learn's -----------------------------------------------------------------------
def _datasets():
    iris = sklearn_iris(return_X_y=True)
    binary = make_classification(200, 6, random_state=1)
    four = make_classification(300, 8, n_informative=5, n_classes=4, random_state=2)
    return {"iris": iris, "binary": binary, "four classes": four}


DATASETS = _datasets()
SETTINGS = [
    dict(shuffle=False),
    dict(),
    dict(random_state=7),
    dict(penalty="l2"),
    dict(penalty="l1"),
    dict(penalty="elasticnet"),
    dict(penalty="elasticnet", l1_ratio=0.5, alpha=0.01, eta0=0.3),
    dict(class_weight="balanced"),
    dict(class_weight={0: 2.0, 1: 0.5}),
    dict(early_stopping=True),
    dict(early_stopping=True, validation_fraction=0.3, n_iter_no_change=3, tol=1e-4),
    dict(tol=None, max_iter=30),
    dict(fit_intercept=False, penalty="l2", alpha=0.001),
]


@pytest.mark.parametrize("data", DATASETS)
@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: ",".join(f"{k}={v}" for k, v in s.items()) or "defaults")
def test_same_weights_as_scikit_learn(data, settings):
    X, y = DATASETS[data]
    ours = fit_quietly(Perceptron(**settings), X, y)
    theirs = fit_quietly(sklearn.linear_model.Perceptron(**settings), X, y)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.intercept_, theirs.intercept_, rtol=1e-9, atol=1e-12)
    assert ours.n_iter_ == theirs.n_iter_ and ours.t_ == theirs.t_
    assert ours.coef_.shape == theirs.coef_.shape and ours.intercept_.shape == theirs.intercept_.shape
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    np.testing.assert_allclose(ours.decision_function(X), theirs.decision_function(X), rtol=1e-9, atol=1e-9)


def test_same_weights_as_scikit_learn_with_sample_weights_warm_start_and_partial_fit():
    X, y = DATASETS["iris"]
    weights = np.random.RandomState(0).uniform(0, 2, len(y))
    pairs = [(Perceptron(penalty="elasticnet"), sklearn.linear_model.Perceptron(penalty="elasticnet"))]
    for ours, theirs in pairs:
        ours.fit(X, y, sample_weight=weights)
        theirs.fit(X, y, sample_weight=weights)
        np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-9)
    # warm_start goes on from the fitted weights; a RandomState instance is drawn from as scikit-learn does
    ours = Perceptron(warm_start=True, max_iter=3, tol=None, random_state=np.random.RandomState(3))
    theirs = sklearn.linear_model.Perceptron(warm_start=True, max_iter=3, tol=None,
                                             random_state=np.random.RandomState(3))
    for _ in range(2):
        ours.fit(X, y)
        theirs.fit(X, y)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-9)
    assert ours.t_ == theirs.t_ == 451.0
    ours, theirs = Perceptron(penalty="l1"), sklearn.linear_model.Perceptron(penalty="l1")
    for start in range(0, 150, 30):
        ours.partial_fit(X[start:start + 30], y[start:start + 30], classes=[0, 1, 2])
        theirs.partial_fit(X[start:start + 30], y[start:start + 30], classes=[0, 1, 2])
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-9)
    assert ours.t_ == theirs.t_ == 151.0 and ours.n_iter_ == theirs.n_iter_ == 1


@pytest.mark.parametrize("n_samples, seed", [(2, 1), (10, 0), (150, 12345), (97, 2**31 - 2)])
def test_sample_order_is_scikit_learns(n_samples, seed):
    """scikit-learn's dataset, shuffled with the same seed three times (as three epochs do),
    hands out the samples in the order ``order[permutation]`` applied three times."""
    dataset = ArrayDataset64(np.zeros((n_samples, 1)), np.zeros(n_samples), np.ones(n_samples), seed=1)
    permutation = scikit_learns_permutation(n_samples, seed)
    order = np.arange(n_samples)
    for _ in range(3):
        dataset._shuffle_py(seed)
        order = order[permutation]
        visited = [dataset._next_py()[-1] for _ in range(n_samples)]
        np.testing.assert_array_equal(visited, order)


def test_parameters_and_defaults_are_scikit_learns():
    assert Perceptron().get_params() == sklearn.linear_model.Perceptron().get_params()
    model = Perceptron(eta0=0.3, max_iter=7, shuffle=False, random_state=2)
    assert not hasattr(model, "coef_")                 # the constructor only stores its arguments
    copy = clone(model).set_params(eta0=0.5)
    assert copy.eta0 == 0.5 and model.eta0 == 0.3
    for method in ("predict_proba", "predict_log_proba"):
        assert not hasattr(model, method)


# ---- the course's claims ---------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(3))
def test_converges_on_linearly_separable_data(seed):
    data = load_blobs(n_samples=300, centers=[[-4.0, -4.0], [4.0, 4.0]], cluster_std=1.0, seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("error")                   # no ConvergenceWarning
        model = Perceptron(random_state=seed).fit(data.X_train, data.y_train)
    first_clean = model.errors_.index(0)
    assert min(model.errors_[:first_clean], default=1) > 0 and not any(model.errors_[first_clean:])
    # a clean epoch changes no weight and has objective 0; the stopping rule ends training
    # n_iter_no_change = 5 epochs after the objective last fell by tol (at or before the first
    # clean epoch: mistakes exactly on the boundary cost nothing)
    assert first_clean + 5 <= model.n_iter_ <= first_clean + 6
    assert model.score(data.X_train, data.y_train) == 1.0
    assert model.score(data.X_test, data.y_test) >= 0.98


@pytest.mark.parametrize("y, name", [([0, 0, 0, 1], "AND"), ([0, 1, 1, 1], "OR"), ([1, 1, 1, 0], "NAND")])
def test_learns_the_linearly_separable_logic_gates(y, name):
    # tol=None: a mistake on the boundary (z = 0) costs no loss, so the stopping rule alone
    # (as scikit-learn's) may end training before the first clean epoch on these four points
    model = Perceptron(max_iter=50, tol=None, random_state=0).fit(XOR_X, y)
    assert model.errors_[-1] == 0, name
    np.testing.assert_array_equal(model.predict(XOR_X), y)


@pytest.mark.parametrize("seed", range(4))
def test_cannot_learn_the_xor_truth_table(seed):
    # no line separates {(0,1), (1,0)} from {(0,0), (1,1)}: every epoch makes a mistake
    model = Perceptron(max_iter=200, tol=None, random_state=seed).fit(XOR_X, XOR_Y)
    assert model.n_iter_ == 200 and min(model.errors_) >= 1
    assert model.score(XOR_X, XOR_Y) <= 0.75          # a line gets at most 3 of the 4 corners
    # with the default tol, the stopping rule ends it early, still wrong
    stopped = Perceptron(random_state=seed).fit(XOR_X, XOR_Y)
    assert stopped.n_iter_ < 200 and stopped.errors_[-1] >= 1


def test_warns_when_max_iter_ends_training():
    with pytest.warns(ConvergenceWarning, match="the classes may not be linearly separable"):
        Perceptron(max_iter=3, random_state=0).fit(XOR_X, XOR_Y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")                   # tol=None: no stopping rule, no warning
        Perceptron(max_iter=3, tol=None, random_state=0).fit(XOR_X, XOR_Y)


def test_stays_near_chance_on_noisy_xor():
    test_scores = []
    for seed in range(5):
        data = load_xor(n_samples=400, seed=seed).standardized()
        model = Perceptron(max_iter=100, tol=None, random_state=seed).fit(data.X_train, data.y_train)
        assert min(model.errors_) > 0                  # never one clean epoch
        # the best any line can do is 3 of the 4 clusters: 0.75 (a little more with noise)
        assert model.score(data.X_train, data.y_train) <= 0.76
        test_scores.append(model.score(data.X_test, data.y_test))
    assert max(test_scores) <= 0.76
    assert np.mean(test_scores) < 0.7


def test_stays_near_chance_on_circles():
    test_scores = []
    for seed in range(5):
        data = load_circles(n_samples=500, seed=seed).standardized()
        model = Perceptron(max_iter=100, tol=None, random_state=seed).fit(data.X_train, data.y_train)
        assert min(model.errors_) > 0
        # the best line cuts a cap off the outer circle: about 0.62 with factor 0.5
        assert model.score(data.X_train, data.y_train) < 0.65
        test_scores.append(model.score(data.X_test, data.y_test))
    assert max(test_scores) < 0.65
    assert abs(np.mean(test_scores) - 0.5) < 0.1


def test_one_vs_rest_on_iris():
    test_scores = []
    for seed in range(5):
        data = load_iris(seed=seed).standardized()
        model = fit_quietly(Perceptron(random_state=seed), data.X_train, data.y_train)
        assert model.coef_.shape == (3, 4) and model.intercept_.shape == (3,)
        assert model.decision_function(data.X_test).shape == (len(data.X_test), 3)
        assert model.score(data.X_train, data.y_train) >= 0.8
        test_scores.append(model.score(data.X_test, data.y_test))
        # setosa is linearly separable from the rest: its perceptron gets every flower right
        setosa_z = model.decision_function(data.X_train)[:, 0]
        np.testing.assert_array_equal(setosa_z > 0, data.y_train == 0)
    assert np.mean(test_scores) >= 0.8


def test_one_vs_rest_equals_one_binary_perceptron_per_class():
    data = load_iris(seed=0).standardized()
    X, y = data.X_train, data.y_train
    joint = fit_quietly(Perceptron(eta0=0.2, max_iter=30, shuffle=False), X, y)
    n_iters = []
    for k in range(3):
        alone = fit_quietly(Perceptron(eta0=0.2, max_iter=30, shuffle=False), X, (y == k).astype(int))
        np.testing.assert_array_equal(joint.coef_[k], alone.coef_[0])
        np.testing.assert_array_equal(joint.intercept_[k], alone.intercept_[0])
        n_iters.append(alone.n_iter_)
    assert joint.n_iter_ == max(n_iters)
    z = joint.decision_function(X)
    np.testing.assert_array_equal(joint.predict(X), np.argmax(z, axis=1))


def test_eta_only_scales_the_weights_from_a_zero_start():
    # with tol=None: the stopping rule compares the objective (which scales with eta) with tol
    data = load_iris(seed=1).standardized()
    small = Perceptron(eta0=0.1, max_iter=20, tol=None, random_state=3).fit(data.X_train, data.y_train)
    large = Perceptron(eta0=1.0, max_iter=20, tol=None, random_state=3).fit(data.X_train, data.y_train)
    np.testing.assert_allclose(large.coef_, 10 * small.coef_, rtol=1e-9)
    np.testing.assert_allclose(large.intercept_, 10 * small.intercept_, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(large.predict(data.X_test), small.predict(data.X_test))
    assert large.errors_ == small.errors_


def test_random_state_controls_the_shuffling():
    data = load_xor(seed=0)
    runs = [Perceptron(max_iter=5, tol=None, random_state=s).fit(data.X_train, data.y_train)
            for s in (7, 7, 8)]
    np.testing.assert_array_equal(runs[0].coef_, runs[1].coef_)
    assert runs[0].errors_ == runs[1].errors_
    assert not np.array_equal(runs[0].coef_, runs[2].coef_)
    instance = Perceptron(max_iter=5, tol=None, random_state=np.random.RandomState(7))
    assert instance.fit(data.X_train, data.y_train).coef_.shape == (1, 2)


def test_labels_of_any_kind_come_back_as_given():
    X = np.array([[-2.0], [-1.0], [1.0], [2.0]])
    model = Perceptron(random_state=0).fit(X, ["no", "no", "yes", "yes"])
    assert model.classes_.tolist() == ["no", "yes"]
    assert model.predict([[-3.0], [3.0]]).tolist() == ["no", "yes"]
    assert model.coef_.shape == (1, 1) and model.intercept_.shape == (1,)
    assert model.decision_function([[0.0], [5.0]]).shape == (2,)
    assert model.n_features_in_ == 1 and model.score(X, ["no", "no", "yes", "yes"]) == 1.0


def test_class_weight_scales_the_step():
    X, y = np.array([[1.0], [-1.0]]), np.array([1, 0])
    model = Perceptron(class_weight={1: 3.0}).partial_fit(X[:1], y[:1], classes=[0, 1])
    np.testing.assert_array_equal(model.coef_, [[3.0]])       # a mistake of class 1: step 3 eta y x
    np.testing.assert_array_equal(model.intercept_, [3.0])
    model.partial_fit(X[1:], y[1:])                           # z = -3 + 3 = 0: a class-0 mistake, weight 1
    np.testing.assert_array_equal(model.coef_, [[4.0]])
    with pytest.raises(ValueError, match="'balanced' is not supported for partial_fit"):
        Perceptron(class_weight="balanced").partial_fit(X, y, classes=[0, 1])


def test_early_stopping_holds_out_a_validation_set():
    X, y = DATASETS["binary"]
    model = Perceptron(early_stopping=True, validation_fraction=0.25).fit(X, y)
    no_stopping = Perceptron(tol=None, max_iter=model.n_iter_).fit(X, y)
    assert not np.allclose(model.coef_, no_stopping.coef_)     # it trained on 150 of the 200
    assert model.t_ == 1 + model.n_iter_ * 200                 # scikit-learn counts all 200


def test_verbose_prints_each_epoch():
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        model = Perceptron(verbose=1, max_iter=3, tol=None).fit(XOR_X, XOR_Y)
    lines = out.getvalue().splitlines()
    assert [line for line in lines if line.startswith("-- Epoch")] == ["-- Epoch 1", "-- Epoch 2", "-- Epoch 3"]
    assert f"mistakes: {model.errors_[-1]}" in lines[-1]


def test_passes_scikit_learns_estimator_checks_but_the_one_its_own_fails():
    from sklearn.utils.estimator_checks import check_estimator

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                  # the checks fit tiny, unseparable sets
        results = check_estimator(Perceptron(max_iter=20), on_fail=None)
    failed = [r["check_name"] for r in results if r["status"] == "failed"]
    assert len(results) > 40
    # repeating a sample is not weighting it by 2 for an online rule: scikit-learn lists the
    # same failure for its own Perceptron (test_sklearn_checks.py asserts that it fails there too)
    assert failed == ["check_sample_weight_equivalence_on_dense_data"]


# ---- errors ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("params, error, message", [
    ({"eta0": 0}, ValueError, "eta0 must be > 0, got 0"),
    ({"eta0": float("nan")}, ValueError, "eta0 must be finite, got nan"),
    ({"eta0": "fast"}, TypeError, "eta0 must be a real number, got str 'fast'"),
    ({"max_iter": 0}, ValueError, "max_iter must be a positive int, got 0"),
    ({"max_iter": 2.5}, TypeError, "max_iter must be a positive int, got float 2.5"),
    ({"shuffle": "yes"}, TypeError, "shuffle must be True or False, got str 'yes'"),
    ({"penalty": "l3"}, ValueError, "penalty must be None, 'l2', 'l1' or 'elasticnet', got 'l3'"),
    ({"alpha": -1.0}, ValueError, "alpha must be >= 0, got -1.0"),
    ({"l1_ratio": 1.5}, ValueError, r"l1_ratio must be in \[0, 1\], got 1.5"),
    ({"tol": -1e-3}, ValueError, "tol must be >= 0, got -0.001"),
    ({"validation_fraction": 1.0}, ValueError, r"validation_fraction must be in \(0, 1\), got 1.0"),
    ({"n_iter_no_change": 0}, ValueError, "n_iter_no_change must be a positive int, got 0"),
    ({"class_weight": "even"}, ValueError, "class_weight must be a dict, 'balanced' or None, got 'even'"),
    ({"random_state": "seven"}, ValueError, "cannot be used to seed"),
    ({"verbose": -1}, ValueError, "verbose must be an int >= 0, got -1"),
    ({"n_jobs": "x"}, TypeError, "n_jobs must be an int or None, got str 'x'"),
    ({"class_weight": {0: -1.0}}, ValueError, "class_weight must give finite weights >= 0"),
    ({"class_weight": {0: np.nan}}, ValueError, "class_weight must give finite weights >= 0"),
])
def test_bad_parameters(params, error, message):
    with pytest.raises(error, match=message):
        Perceptron(**params).fit(XOR_X, XOR_Y)


def test_bad_data_raises_before_any_state_changes():
    model = Perceptron(random_state=0).fit(XOR_X, [0, 0, 0, 1])
    before = (model.coef_.copy(), model.intercept_.copy(), model.n_features_in_, model.errors_, model.t_)
    bad_fits = [
        (([[0.0, np.nan], [1.0, 1.0]], [0, 1]), {}, "Input X contains NaN"),
        ((XOR_X, [0, 1, 0]), {}, "inconsistent numbers of samples"),
        ((XOR_X, [1, 1, 1, 1]), {}, r"y holds one class only \(1\); a perceptron needs at least two classes"),
        ((XOR_X, [0.5, 1.5, 0.2, 0.1]), {}, "Unknown label type: continuous"),
        ((np.empty((0, 2)), []), {}, "0 sample"),
        ((XOR_X, XOR_Y), {"sample_weight": [1, 1, -1, 1]}, "negative"),
        ((XOR_X, XOR_Y), {"coef_init": np.ones((1, 3))}, r"coef_init needs shape \(1, 2\)"),
    ]
    for (X, y), fit_params, message in bad_fits:
        with pytest.raises(ValueError, match=message):
            model.fit(X, y, **fit_params)
        np.testing.assert_array_equal(model.coef_, before[0])
        np.testing.assert_array_equal(model.intercept_, before[1])
        assert (model.n_features_in_, model.errors_, model.t_) == before[2:]
    # a step of 1e10 * 1e300 overflows: scikit-learn's error, after the epoch, and nothing kept
    with pytest.raises(ValueError, match=r"^Floating-point under-/overflow occurred at epoch #1. "
                                         "Scaling input data with StandardScaler or MinMaxScaler might help.$"):
        model.set_params(eta0=1e10).fit([[1e300], [-1e300]], [1, 0])
    np.testing.assert_array_equal(model.coef_, before[0])
    assert (model.n_features_in_, model.errors_, model.t_) == before[2:]


def test_predict_errors():
    with pytest.raises(NotFittedError, match="This Perceptron instance is not fitted yet"):
        Perceptron().predict(XOR_X)
    model = Perceptron().fit(XOR_X, [0, 0, 0, 1])
    with pytest.raises(ValueError, match="X has 3 features, but Perceptron is expecting 2 features"):
        model.predict(np.ones((2, 3)))
    with pytest.raises(ValueError, match="Input X contains infinity"):
        model.predict([[0.0, np.inf]])


# ---- partial_fit -----------------------------------------------------------------------------------
def test_perceptron_partial_fit_is_the_online_rule():
    """Feeding the samples one call at a time applies the rule sample by sample: the same
    weights as one unshuffled epoch of fit."""
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.5, 2.0]])
    y = np.array(["no", "no", "no", "yes", "yes"])
    epoch = Perceptron(max_iter=1, shuffle=False)
    with pytest.warns(ConvergenceWarning):
        epoch.fit(X, y)
    online = Perceptron(shuffle=False)
    for i in range(len(X)):
        online.partial_fit(X[i:i + 1], y[i:i + 1], classes=["no", "yes"])
    np.testing.assert_array_equal(online.coef_, epoch.coef_)
    np.testing.assert_array_equal(online.intercept_, epoch.intercept_)
    assert online.n_iter_ == 1 and len(online.errors_) == 5 and sum(online.errors_) == epoch.errors_[0]
    assert online.t_ == epoch.t_ == 6.0
    np.testing.assert_array_equal(online.predict(X), epoch.predict(X))


def test_perceptron_partial_fit_errors_leave_it_unchanged():
    X, y = np.eye(3), np.array([0, 1, 2])
    model = Perceptron()
    with pytest.raises(ValueError, match="classes must be passed"):
        model.partial_fit(X, y)
    model.partial_fit(X, y, classes=[0, 1, 2])
    coef, errors = model.coef_.copy(), list(model.errors_)
    with pytest.raises(ValueError, match=r"labels \[7\] that are not in classes"):
        model.partial_fit(X, [0, 1, 7])
    with pytest.raises(ValueError, match="features"):
        model.partial_fit(X[:, :2], y)
    with pytest.raises(ValueError, match="differs from the first call"):
        model.partial_fit(X, y, classes=[0, 1])
    np.testing.assert_array_equal(model.coef_, coef)
    assert model.n_iter_ == 1 and model.errors_ == errors and len(errors) == 1
