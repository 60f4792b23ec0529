"""ONNX export of the fitted glassnet.sklearn estimators: the graph's ``label`` equals
``predict``, ``probabilities`` equals ``predict_proba`` (``scores`` ``decision_function`` for the
Perceptron), ``variable`` equals a regressor's ``predict``, at batch sizes other than the sample's."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from sklearn.datasets import load_iris  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

import glassnet as gn  # noqa: E402
from glassnet import nn  # noqa: E402
from glassnet.onnx import export  # noqa: E402
from glassnet.sklearn import MLPClassifier, MLPRegressor, Perceptron  # noqa: E402
from onnx_helpers import session  # noqa: E402


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return (X - X.mean(axis=0)) / X.std(axis=0), y


def fitted(estimator, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y)


def run(path, X):
    sess = session(path)
    assert [i.name for i in sess.get_inputs()] == ["X"]
    return sess, {o.name: value for o, value in zip(sess.get_outputs(), sess.run(None, {"X": X}))}


def check_classifier(estimator, X, tmp_path, rtol=1e-10, atol=1e-12):
    path = export(estimator, gn.Tensor(X[:3]), tmp_path / "model.onnx")  # a Tensor sample is fine
    for rows in (X, X[:7]):
        sess, out = run(path, rows.astype(estimator.model_[0].weight.dtype))
        assert list(out) == ["label", "probabilities"]
        expected = estimator.predict(rows)
        assert out["label"].shape == expected.shape
        np.testing.assert_array_equal(out["label"], expected)
        np.testing.assert_allclose(out["probabilities"], estimator.predict_proba(rows), rtol=rtol, atol=atol)
    return out


@pytest.mark.parametrize("labels", ["int", "str", "float"])
def test_multiclass_classifier(tmp_path, iris, labels):
    X, y = iris
    y = {"int": y + 3, "str": np.array(["setosa", "versicolor", "virginica"])[y], "float": y * 1.0}[labels]
    model = fitted(MLPClassifier((10,), solver="lbfgs", max_iter=50, random_state=0), X, y)
    out = check_classifier(model, X, tmp_path)
    assert out["label"].dtype == (object if labels == "str" else np.int64)  # skl2onnx's types


@pytest.mark.parametrize("labels", [np.array([0, 1]), np.array(["no", "yes"]), np.array([-1, 1])])
def test_binary_classifier(tmp_path, iris, labels):
    X, y = iris
    model = fitted(MLPClassifier((6, 5), activation="tanh", max_iter=30, random_state=1), X,
                   labels[(y > 0).astype(int)])
    check_classifier(model, X, tmp_path)


def test_classifier_with_batch_norm_and_dropout_in_float32(tmp_path, iris):
    X, y = iris
    X = X.astype(np.float32)
    model = fitted(MLPClassifier((12,), activation="gelu", batch_norm=True, dropout=0.2, max_iter=20,
                                 random_state=0), X, y)
    assert model.model_[0].weight.dtype == np.float32
    check_classifier(model, X, tmp_path, rtol=1e-4, atol=1e-5)


def test_multilabel_classifier(tmp_path, iris):
    X, y = iris
    Y = np.stack([y == 0, y == 2, X[:, 0] > 0], axis=1).astype(int)
    model = fitted(MLPClassifier((8,), solver="lbfgs", max_iter=60, random_state=0), X, Y)
    out = check_classifier(model, X, tmp_path)
    assert out["label"].shape == (7, 3)


@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
@pytest.mark.parametrize("targets", [1, 2])
def test_regressor(tmp_path, iris, loss, targets):
    X, _ = iris
    Y = np.stack([np.abs(X[:, 0] + X[:, 1]), np.abs(X[:, 2] * X[:, 3])], axis=1)[:, :targets]
    model = fitted(MLPRegressor(loss=loss, hidden_layer_sizes=(10,), activation="elu", solver="lbfgs",
                                max_iter=50, random_state=0), X, Y[:, 0] if targets == 1 else Y)
    path = export(model, X[:2], tmp_path / "regressor.onnx")
    for rows in (X, X[5:9]):
        _, out = run(path, rows)
        assert list(out) == ["variable"]
        np.testing.assert_allclose(out["variable"], model.predict(rows).reshape(len(rows), targets),
                                   rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("binary", [True, False])
def test_perceptron(tmp_path, iris, binary):
    X, y = iris
    labels = np.array(["a", "b", "c"])[y]
    if binary:
        labels = np.where(y == 0, "a", "rest")
    model = fitted(Perceptron(random_state=0), X, labels)
    path = export(model, X[:2], tmp_path / "perceptron.onnx")
    _, out = run(path, X)
    assert list(out) == ["label", "scores"]
    np.testing.assert_array_equal(out["label"], model.predict(X))
    np.testing.assert_allclose(out["scores"], model.decision_function(X), rtol=1e-12, atol=1e-12)


def test_names_and_fixed_batch(tmp_path, iris):
    X, y = iris
    model = fitted(MLPClassifier((5,), max_iter=5, random_state=0), X, y)
    path = export(model, X[:4], tmp_path / "m.onnx", dynamic_axes=False, input_names=["features"],
                  output_names=["y", "p"])
    sess = session(path)
    assert [i.name for i in sess.get_inputs()] == ["features"]
    assert [o.name for o in sess.get_outputs()] == ["y", "p"]
    assert sess.get_inputs()[0].shape == [4, 4]
    label, _ = sess.run(None, {"features": X[10:14]})
    np.testing.assert_array_equal(label, model.predict(X[10:14]))


def test_errors(tmp_path, iris):
    X, y = iris
    with pytest.raises(ValueError, match="not fitted"):
        export(MLPClassifier(), X[:2], tmp_path / "m.onnx")
    model = fitted(MLPClassifier((5,), max_iter=5, random_state=0), X, y)
    with pytest.raises(ValueError, match=r"shape \(n_samples >= 1, 4\)"):
        export(model, X[:2, :3], tmp_path / "m.onnx")
    with pytest.raises(ValueError, match=r"got \(4,\)"):
        export(model, X[0], tmp_path / "m.onnx")
    with pytest.raises(ValueError, match="output_names"):
        export(model, X[:2], tmp_path / "m.onnx", output_names=["label", "label"])
    with pytest.raises(FileNotFoundError):
        export(model, X[:2], tmp_path / "missing" / "m.onnx")
    with pytest.raises(TypeError, match="dynamic_axes"):
        export(model, X[:2], tmp_path / "m.onnx", dynamic_axes="yes")
    with pytest.raises(ValueError, match="share 'label'"):
        export(model, X[:2], tmp_path / "m.onnx", input_names=["label"])
    with pytest.raises(TypeError, match="array of numbers"):
        export(model, [[1.0, 2.0], [3.0]], tmp_path / "m.onnx")
    with pytest.raises(ValueError, match="NaN"):
        export(model, np.full((2, 4), np.nan), tmp_path / "m.onnx")
    with pytest.raises(TypeError, match="numbers"):
        export(model, np.array([["a"] * 4]), tmp_path / "m.onnx")
    with pytest.raises(ValueError, match="output_names"):
        export(model, X[:2], tmp_path / "m.onnx", output_names=["label"])
    with pytest.raises(TypeError, match="LinearRegression"):
        from sklearn.linear_model import LinearRegression
        export(LinearRegression().fit(X, y), X[:2], tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()
    # the estimator's own network still predicts as before (export changed nothing)
    before = model.predict_proba(X)
    export(model, X[:2], tmp_path / "m.onnx")
    np.testing.assert_array_equal(model.predict_proba(X), before)
    assert not model.model_.training and isinstance(model.model_, nn.Sequential)


@pytest.mark.parametrize("labels", [np.array(["only"] * 30), np.array([True, False] * 15)])
def test_one_class_and_boolean_labels(tmp_path, iris, labels):
    X, _ = iris
    model = fitted(MLPClassifier((4,), max_iter=5, random_state=0), X[:30], labels)
    out = check_classifier(model, X, tmp_path)
    assert out["label"].dtype == (object if labels.dtype.kind == "U" else bool)
