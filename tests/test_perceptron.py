"""glassnet.sklearn.Perceptron: the course's rule by hand, its claims, and scikit-learn behaviour."""

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from glassnet.data import load_blobs, load_circles, load_iris, load_xor
from glassnet.sklearn import Perceptron

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
XOR_Y = np.array([0, 1, 1, 0])


def fit_quietly(model, X, y):
    """Fit when non-convergence is expected; the ConvergenceWarning itself is tested below."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y)


def test_one_epoch_equals_the_hand_computation():
    # eta = 0.5, zero start, samples in order; y_hat = step(z) = 1 if z >= 0 else 0
    # 1: x = (1, 2),   y = 1: z = 0            -> y_hat = 1, correct: no update
    # 2: x = (2, -1),  y = 0: z = 0            -> y_hat = 1, y - y_hat = -1:
    #    w = (0, 0) - 0.5 (2, -1) = (-1, 0.5),   w0 = 0 - 0.5 = -0.5
    # 3: x = (-1, -1), y = 0: z = -0.5 + 1 - 0.5 = 0 -> y_hat = 1, y - y_hat = -1:
    #    w = (-1, 0.5) - 0.5 (-1, -1) = (-0.5, 1),  w0 = -0.5 - 0.5 = -1
    X = np.array([[1.0, 2.0], [2.0, -1.0], [-1.0, -1.0]])
    y = np.array([1, 0, 0])
    with pytest.warns(ConvergenceWarning, match="did not converge in max_iter=1 epochs"):
        one_epoch = Perceptron(eta0=0.5, max_iter=1, shuffle=False).fit(X, y)
    np.testing.assert_array_equal(one_epoch.coef_, [[-0.5, 1.0]])
    np.testing.assert_array_equal(one_epoch.intercept_, [-1.0])
    assert one_epoch.errors_ == [2] and one_epoch.n_iter_ == 1
    # epoch 2: z = 0.5, -3, -1.5 -> all correct, so training stops with the same weights
    model = Perceptron(eta0=0.5, max_iter=10, shuffle=False).fit(X, y)
    assert model.errors_ == [2, 0] and model.n_iter_ == 2
    np.testing.assert_array_equal(model.coef_, one_epoch.coef_)
    np.testing.assert_array_equal(model.decision_function(X), [0.5, -3.0, -1.5])
    np.testing.assert_array_equal(model.predict(X), y)


def test_step_at_zero_is_one():
    # a fresh perceptron has z = 0 for every input; one sample of class 1 then needs no update
    model = Perceptron(eta0=0.5, max_iter=5, shuffle=False).fit([[3.0], [-3.0]], [1, 0])
    assert model.errors_ == [1, 0]          # only the class-0 sample was wrong at z = 0
    np.testing.assert_array_equal(model.coef_, [[1.5]])        # 0 + 0.5 (0 - 1) (-3)
    np.testing.assert_array_equal(model.intercept_, [-0.5])    # 0 + 0.5 (0 - 1) 1


@pytest.mark.parametrize("seed", range(3))
def test_converges_on_linearly_separable_data(seed):
    data = load_blobs(n_samples=300, centers=[[-4.0, -4.0], [4.0, 4.0]], cluster_std=1.0, seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("error")                   # no ConvergenceWarning
        model = Perceptron(max_iter=100, random_state=seed).fit(data.X_train, data.y_train)
    assert model.errors_[-1] == 0 and min(model.errors_[:-1], default=1) > 0
    assert model.n_iter_ == len(model.errors_) < 100    # stopped early, at the first clean epoch
    assert model.score(data.X_train, data.y_train) == 1.0
    assert model.score(data.X_test, data.y_test) >= 0.98


@pytest.mark.parametrize("y, name", [([0, 0, 0, 1], "AND"), ([0, 1, 1, 1], "OR"), ([1, 1, 1, 0], "NAND")])
def test_learns_the_linearly_separable_logic_gates(y, name):
    model = Perceptron(max_iter=50, random_state=0).fit(XOR_X, y)
    assert model.errors_[-1] == 0, name
    np.testing.assert_array_equal(model.predict(XOR_X), y)


@pytest.mark.parametrize("seed", range(4))
def test_cannot_learn_the_xor_truth_table(seed):
    # no line separates {(0,1), (1,0)} from {(0,0), (1,1)}: every epoch makes an error
    with pytest.warns(ConvergenceWarning, match="the classes may not be linearly separable"):
        model = Perceptron(max_iter=200, random_state=seed).fit(XOR_X, XOR_Y)
    assert model.n_iter_ == 200 and min(model.errors_) >= 1
    assert model.score(XOR_X, XOR_Y) <= 0.75          # a line gets at most 3 of the 4 corners


def test_stays_near_chance_on_noisy_xor():
    test_scores = []
    for seed in range(5):
        data = load_xor(n_samples=400, seed=seed).standardized()
        model = fit_quietly(Perceptron(max_iter=100, random_state=seed), data.X_train, data.y_train)
        assert min(model.errors_) > 0                  # never one clean epoch
        # the best any line can do is 3 of the 4 clusters: 0.75 (a little more with noise)
        assert model.score(data.X_train, data.y_train) <= 0.76
        test_scores.append(model.score(data.X_test, data.y_test))
    assert max(test_scores) <= 0.76
    assert np.mean(test_scores) < 0.7                  # measured 0.62; chance is 0.5


def test_stays_near_chance_on_circles():
    test_scores = []
    for seed in range(5):
        data = load_circles(n_samples=500, seed=seed).standardized()
        model = fit_quietly(Perceptron(max_iter=100, random_state=seed), data.X_train, data.y_train)
        assert min(model.errors_) > 0
        # the best line cuts a cap off the outer circle: about 0.62 with factor 0.5
        assert model.score(data.X_train, data.y_train) < 0.65
        test_scores.append(model.score(data.X_test, data.y_test))
    assert max(test_scores) < 0.65
    assert abs(np.mean(test_scores) - 0.5) < 0.1       # measured 0.45


def test_one_vs_rest_on_iris():
    test_scores = []
    for seed in range(5):
        data = load_iris(seed=seed).standardized()
        model = fit_quietly(Perceptron(max_iter=100, random_state=seed), data.X_train, data.y_train)
        assert model.coef_.shape == (3, 4) and model.intercept_.shape == (3,)
        assert model.decision_function(data.X_test).shape == (len(data.X_test), 3)
        assert model.score(data.X_train, data.y_train) >= 0.85       # measured 0.89 to 0.96
        test_scores.append(model.score(data.X_test, data.y_test))
        # setosa is linearly separable from the rest: its perceptron gets every flower right
        setosa_z = model.decision_function(data.X_train)[:, 0]
        np.testing.assert_array_equal(setosa_z >= 0, data.y_train == 0)
    assert np.mean(test_scores) >= 0.85                                  # measured 0.91


def test_one_vs_rest_equals_one_binary_perceptron_per_class():
    data = load_iris(seed=0).standardized()
    X, y = data.X_train, data.y_train
    joint = fit_quietly(Perceptron(eta0=0.2, max_iter=30, shuffle=False), X, y)
    for k in range(3):
        alone = fit_quietly(Perceptron(eta0=0.2, max_iter=30, shuffle=False), X, (y == k).astype(int))
        np.testing.assert_allclose(joint.coef_[k], alone.coef_[0], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(joint.intercept_[k], alone.intercept_[0], rtol=1e-12, atol=1e-12)
    z = joint.decision_function(X)
    np.testing.assert_array_equal(joint.predict(X), np.argmax(z, axis=1))


def test_eta_only_scales_the_weights_from_a_zero_start():
    data = load_iris(seed=1).standardized()
    small = fit_quietly(Perceptron(eta0=0.1, max_iter=20, random_state=3), data.X_train, data.y_train)
    large = fit_quietly(Perceptron(eta0=1.0, max_iter=20, random_state=3), data.X_train, data.y_train)
    np.testing.assert_allclose(large.coef_, 10 * small.coef_, rtol=1e-9)
    np.testing.assert_allclose(large.intercept_, 10 * small.intercept_, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(large.predict(data.X_test), small.predict(data.X_test))
    assert large.errors_ == small.errors_


def test_random_state_controls_the_shuffling():
    data = load_xor(seed=0)
    runs = [fit_quietly(Perceptron(max_iter=5, random_state=s), data.X_train, data.y_train)
            for s in (7, 7, 8)]
    np.testing.assert_array_equal(runs[0].coef_, runs[1].coef_)
    assert runs[0].errors_ == runs[1].errors_
    assert not np.array_equal(runs[0].coef_, runs[2].coef_)
    generator = fit_quietly(Perceptron(max_iter=5, random_state=np.random.default_rng(7)),
                            data.X_train, data.y_train)
    np.testing.assert_array_equal(generator.coef_, runs[0].coef_)


def test_labels_of_any_kind_come_back_as_given():
    X = np.array([[-2.0], [-1.0], [1.0], [2.0]])
    model = Perceptron(random_state=0).fit(X, ["no", "no", "yes", "yes"])
    assert model.classes_.tolist() == ["no", "yes"]
    assert model.predict([[-3.0], [3.0]]).tolist() == ["no", "yes"]
    assert model.coef_.shape == (1, 1) and model.intercept_.shape == (1,)
    assert model.decision_function([[0.0], [5.0]]).shape == (2,)
    assert model.n_features_in_ == 1 and model.score(X, ["no", "no", "yes", "yes"]) == 1.0


def test_scikit_learn_protocol():
    model = Perceptron(eta0=0.3, max_iter=7, shuffle=False, random_state=2)
    assert model.get_params() == {"eta0": 0.3, "max_iter": 7, "shuffle": False, "random_state": 2}
    assert not hasattr(model, "coef_")                 # the constructor only stores its arguments
    copy = clone(model).set_params(eta0=0.5)
    assert copy.eta0 == 0.5 and model.eta0 == 0.3
    one_feature = Perceptron(max_iter=5).fit(XOR_X[:, :1], [0, 0, 1, 1])
    assert one_feature.n_features_in_ == 1 and one_feature.errors_[-1] == 0


def test_passes_scikit_learns_estimator_checks():
    from sklearn.utils.estimator_checks import check_estimator

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                  # the checks fit tiny, unseparable sets
        results = check_estimator(Perceptron(max_iter=20, random_state=0), on_fail=None)
    failed = [(r["check_name"], str(r["exception"])) for r in results if r["status"] == "failed"]
    assert len(results) > 40 and failed == []


@pytest.mark.parametrize("params, error, message", [
    ({"eta0": 0}, ValueError, "eta0 must be > 0, got 0"),
    ({"eta0": float("nan")}, ValueError, "eta0 must be finite, got nan"),
    ({"eta0": "fast"}, TypeError, "eta0 must be a real number, got str 'fast'"),
    ({"max_iter": 0}, ValueError, "max_iter must be a positive int, got 0"),
    ({"max_iter": 2.5}, TypeError, "max_iter must be a positive int, got float 2.5"),
    ({"shuffle": "yes"}, TypeError, "shuffle must be True or False, got str 'yes'"),
])
def test_bad_parameters(params, error, message):
    with pytest.raises(error, match=message):
        Perceptron(**params).fit(XOR_X, XOR_Y)


def test_bad_data_raises_before_any_state_changes():
    model = Perceptron(max_iter=50, random_state=0).fit(XOR_X, [0, 0, 0, 1])
    before = (model.coef_.copy(), model.intercept_.copy(), model.n_features_in_, model.errors_)
    bad_fits = [
        (([[0.0, np.nan], [1.0, 1.0]], [0, 1]), "Input X contains NaN"),
        ((XOR_X, [0, 1, 0]), "inconsistent numbers of samples"),
        ((XOR_X, [1, 1, 1, 1]), r"y holds one class only \(1\); a perceptron needs at least two classes"),
        ((XOR_X, [0.5, 1.5, 0.2, 0.1]), "Unknown label type: continuous"),
        ((np.empty((0, 2)), []), "0 sample"),
    ]
    for (X, y), message in bad_fits:
        with pytest.raises(ValueError, match=message):
            model.fit(X, y)
        np.testing.assert_array_equal(model.coef_, before[0])
        np.testing.assert_array_equal(model.intercept_, before[1])
        assert model.n_features_in_ == before[2] and model.errors_ == before[3]


def test_predict_errors():
    with pytest.raises(NotFittedError, match="This Perceptron instance is not fitted yet"):
        Perceptron().predict(XOR_X)
    model = Perceptron(max_iter=50).fit(XOR_X, [0, 0, 0, 1])
    with pytest.raises(ValueError, match="X has 3 features, but Perceptron is expecting 2 features"):
        model.predict(np.ones((2, 3)))
    with pytest.raises(ValueError, match="Input X contains infinity"):
        model.predict([[0.0, np.inf]])


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
    assert online.n_iter_ == 5 and sum(online.errors_) == epoch.errors_[0]
    np.testing.assert_array_equal(online.predict(X), epoch.predict(X))


def test_perceptron_partial_fit_errors_leave_it_unchanged():
    X, y = np.eye(3), np.array([0, 1, 2])
    model = Perceptron()
    with pytest.raises(ValueError, match="classes must be passed"):
        model.partial_fit(X, y)
    model.partial_fit(X, y, classes=[0, 1, 2])
    coef = model.coef_.copy()
    with pytest.raises(ValueError, match=r"labels \[7\] that are not in classes"):
        model.partial_fit(X, [0, 1, 7])
    with pytest.raises(ValueError, match="features"):
        model.partial_fit(X[:, :2], y)
    with pytest.raises(ValueError, match="differs from the first call"):
        model.partial_fit(X, y, classes=[0, 1])
    np.testing.assert_array_equal(model.coef_, coef)
    assert model.n_iter_ == 1
