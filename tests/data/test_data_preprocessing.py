"""Standardizer and standardize: training statistics only, constant columns, dtypes, errors."""

import numpy as np
import pytest

from glassnet.data import Standardizer, standardize


def test_statistics_come_from_the_training_set(rng):
    X_train = rng.normal(3.0, 2.0, size=(500, 4)).astype(np.float32)
    X_test = rng.normal(-1.0, 5.0, size=(100, 4)).astype(np.float32)
    train, test = standardize(X_train, X_test)
    assert train.dtype == test.dtype == np.float32
    np.testing.assert_allclose(train.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(train.std(axis=0), 1.0, rtol=1e-5)
    mean, std = X_train.astype(np.float64).mean(axis=0), X_train.astype(np.float64).std(axis=0)
    np.testing.assert_allclose(test, (X_test - mean) / std, rtol=1e-5, atol=1e-6)
    # the test set keeps its own shift: it was not centred on itself
    assert np.all(test.mean(axis=0) < -1.0)


def test_against_scikit_learn(rng):
    from sklearn.preprocessing import StandardScaler

    X = rng.normal(size=(50, 3)) * [1.0, 10.0, 0.1]
    X[:, 1] = 7.0                                       # a constant column
    ours, sklearn_scaler = Standardizer().fit(X), StandardScaler().fit(X)
    np.testing.assert_allclose(ours.mean_, sklearn_scaler.mean_)
    np.testing.assert_allclose(ours.scale_, sklearn_scaler.scale_)
    np.testing.assert_allclose(ours.transform(X), sklearn_scaler.transform(X))


def test_constant_columns_are_centred_not_divided_by_zero():
    X = np.array([[1.0, 4.0], [1.0, 6.0]])
    scaler = Standardizer().fit(X)
    np.testing.assert_array_equal(scaler.scale_, [1.0, 1.0])
    np.testing.assert_array_equal(scaler.transform(X), [[0.0, -1.0], [0.0, 1.0]])
    np.testing.assert_array_equal(scaler.transform([[3.0, 5.0]]), [[2.0, 0.0]])


def test_inverse_transform_and_dtypes(rng):
    X = rng.normal(size=(20, 3))
    scaler = Standardizer()
    Z = scaler.fit_transform(X)
    assert Z.dtype == np.float64
    np.testing.assert_allclose(scaler.inverse_transform(Z), X, rtol=1e-12)
    assert scaler.n_features_in_ == 3
    integers = Standardizer().fit_transform(np.array([[1, 2], [3, 2]]))
    assert integers.dtype == np.float64
    np.testing.assert_array_equal(integers, [[-1.0, 0.0], [1.0, 0.0]])


def test_errors():
    scaler = Standardizer()
    with pytest.raises(RuntimeError, match="not fitted yet; call fit"):
        scaler.transform(np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"X must be 2-D \(n_samples, n_features\), got shape \(3,\)"):
        scaler.fit(np.ones(3))
    with pytest.raises(ValueError, match=r"X has no samples \(shape \(0, 2\)\)"):
        scaler.fit(np.ones((0, 2)))
    with pytest.raises(ValueError, match="X contains NaN or infinite values"):
        scaler.fit(np.array([[1.0, np.nan]]))
    with pytest.raises(TypeError, match="X must hold numbers, got dtype <U1"):
        scaler.fit(np.array([["a"]]))
    scaler.fit(np.ones((4, 2)))
    with pytest.raises(ValueError, match="X has 3 features, but the Standardizer was fitted on 2"):
        scaler.transform(np.ones((1, 3)))
    with pytest.raises(ValueError, match="Z has 1 features, but the Standardizer was fitted on 2"):
        scaler.inverse_transform(np.ones((1, 1)))
    with pytest.raises(ValueError, match="X has 3 features"):
        standardize(np.ones((4, 2)), np.ones((1, 3)))
