"""ONNX export of the fitted scikit-learn estimators of ``glassnet.sklearn``: MLPClassifier,
MLPRegressor and Perceptron, reached through ``glassnet.onnx.export(estimator, X_sample, path)``.

The graph takes ``X`` ``(n_samples, n_features)`` (in the network's dtype: that of the X it was
fitted on) and gives what the estimator's methods give, under skl2onnx's output names (without
its ZipMap):

* classifier: ``label`` (``predict``: the original class labels, int64 for integer labels,
  string for string labels, a 0/1 int64 indicator matrix for multilabel y) and
  ``probabilities`` (``predict_proba``, ``(n_samples, n_classes)``);
* Perceptron, which has no ``predict_proba``: ``label`` and ``scores`` (``decision_function``);
* regressor: ``variable`` (``predict`` as ``(n_samples, n_targets)``, skl2onnx's layout).

An MLP's network (``model_``) is traced like any Module, through its Linear, BatchNorm1d,
activation and Dropout layers; the output activation and the label lookup are written here.
The labels follow the same rules as ``predict``: argmax of z (not of the probabilities, so that
ties and rounding agree) for a softmax output, z > 0 for a sigmoid one.
"""

from __future__ import annotations

import os

import numpy as np

from .._safetensors_file import target_path
from ..tensor import Tensor
from . import _dynamic
from ._export import _check_opset, _convert, _inference, _names, _write
from ._graph import Graph, require_onnx
from ._trace import trace

__all__ = ["export"]

_SUPPORTED = ("MLPClassifier", "MLPRegressor", "Perceptron")


def _kind(estimator) -> str:
    """Which glassnet.sklearn estimator this is (by class, without importing scikit-learn here:
    glassnet.onnx sits below glassnet.sklearn)."""
    for cls in type(estimator).__mro__:
        if cls.__module__.startswith("glassnet.sklearn") and cls.__name__ in _SUPPORTED:
            return cls.__name__
    raise TypeError(f"export supports the estimators of glassnet.sklearn ({', '.join(_SUPPORTED)}) and "
                    f"glassnet Modules, got {type(estimator).__name__}")


def export(estimator, X_sample, path, opset: int = 17, dynamic_axes: bool = True, *,
           input_names=None, output_names=None) -> str:
    """Write a fitted glassnet.sklearn estimator as an ONNX graph (see the module's docstring).

    ``X_sample`` ``(n_samples, n_features)`` fixes nothing but the number of features (the
    number of samples is a dynamic axis unless ``dynamic_axes=False``). ``input_names`` (one
    name, default ``["X"]``) and ``output_names`` (default ``["label", "probabilities"]``,
    ``["label", "scores"]`` or ``["variable"]``) rename the graph's inputs and outputs.

    Example
    -------
    >>> import os, tempfile, numpy as np
    >>> import onnxruntime as ort
    >>> from glassnet.onnx import export
    >>> from glassnet.sklearn import MLPClassifier
    >>> X = np.random.default_rng(0).normal(size=(60, 3)); y = np.where(X[:, 0] > 0, "yes", "no")
    >>> model = MLPClassifier((8,), solver="lbfgs", random_state=0).fit(X, y)
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = export(model, X[:2], os.path.join(folder.name, "mlp.onnx"))
    >>> label, probabilities = ort.InferenceSession(path).run(None, {"X": X})
    >>> bool((label == model.predict(X)).all()), bool(np.allclose(probabilities, model.predict_proba(X)))
    (True, True)
    >>> folder.cleanup()
    """
    onnx = require_onnx()
    kind = _kind(estimator)
    opset = _check_opset(opset, onnx.defs.onnx_opset_version())
    if not isinstance(dynamic_axes, bool):
        raise TypeError(f"dynamic_axes must be True or False, got {dynamic_axes!r}")
    fitted = "coef_" if kind == "Perceptron" else "model_"
    if fitted not in vars(estimator):
        raise ValueError(f"this {type(estimator).__name__} is not fitted yet: call fit before exporting it")
    dtype = np.dtype(np.float64) if kind == "Perceptron" else estimator.model_[0].weight.dtype
    X = _sample(X_sample, estimator.n_features_in_, dtype)
    (input_name,) = _names(input_names, 1, "X", "input_names") if input_names is not None else ["X"]
    defaults = {"MLPRegressor": ["variable"], "Perceptron": ["label", "scores"]}.get(kind, ["label", "probabilities"])
    names = defaults if output_names is None else _names(output_names, len(defaults), "output", "output_names")
    if input_name in names:
        raise ValueError(f"input_names and output_names share {input_name!r}")
    path = target_path(os.fspath(path) if isinstance(path, os.PathLike) else path)
    batch = "batch" if dynamic_axes else len(X)
    if kind == "Perceptron":
        graph = Graph(opset, dtype)
        x = graph.add_input(input_name, dtype, (batch, X.shape[1]))
        z = graph.node("MatMul", [x, graph.constant(np.asarray(estimator.coef_, dtype).T, "coef")])[0]
        z = graph.node("Add", [z, graph.constant(np.asarray(estimator.intercept_, dtype), "intercept")])[0]
    else:
        graph, z = _network(estimator.model_, X, opset, dynamic_axes, input_name)
    outputs = _heads(graph, estimator, kind, z)
    for name, (value, out_dtype, width) in zip(names, outputs):
        graph.add_output(name, value, out_dtype, (batch,) if width is None else (batch, width))
    proto = graph.model()
    onnx.checker.check_model(proto)
    _write(path, proto.SerializeToString())
    return path


def _sample(X_sample, n_features: int, dtype) -> np.ndarray:
    """X_sample as a 2-D array of the network's dtype, with the fitted number of features."""
    if isinstance(X_sample, Tensor):
        X_sample = X_sample.data
    try:
        X = np.asarray(X_sample)
    except (TypeError, ValueError) as error:
        raise TypeError(f"X_sample must be an array of numbers, got {type(X_sample).__name__}: {error}") from None
    if X.dtype.kind not in "biuf":
        raise TypeError(f"X_sample must hold numbers, got an array of dtype {X.dtype}")
    if X.ndim != 2 or X.shape[1] != n_features or len(X) == 0:
        raise ValueError(f"X_sample must have shape (n_samples >= 1, {n_features}) like the X the estimator "
                         f"was fitted on, got {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError("X_sample holds NaN or infinite values")
    return X.astype(dtype)


def _network(model, X, opset: int, dynamic_axes: bool, input_name: str):
    """The traced network ``model_``: its Graph and the ONNX name of its output z."""
    dtype = X.dtype
    inputs = (Tensor(X),)
    with _inference(model):
        calls, output, dims = _dynamic.traces(model, inputs, dynamic_axes, trace)
    graph = Graph(opset, dtype, {id(p): name for name, p in model.named_parameters()}, dims.varying)
    graph.bind(inputs[0], graph.add_input(input_name, dtype, dims.input_shapes[0]))
    for call in calls:
        _convert(graph, call)
    graph.call = None
    return graph, graph.value(output)


def _heads(graph: Graph, estimator, kind: str, z: str) -> list:
    """``[(ONNX name, dtype, width or None for 1-D), ...]``: the graph's outputs from z."""
    dtype = graph.dtype
    if kind == "MLPRegressor":
        variable = graph.node("Exp", [z])[0] if estimator.out_activation_ == "exp" else z
        return [(variable, dtype, estimator.n_outputs_)]
    classes = np.asarray(estimator.classes_)
    if kind == "Perceptron":
        scores = graph.squeeze(z, [1]) if len(classes) == 2 else z
        return [_labels(graph, classes, z, "sigmoid" if len(classes) == 2 else "softmax"),
                (scores, dtype, None if len(classes) == 2 else len(classes))]
    binarizer = estimator._label_binarizer
    if binarizer.y_type_ == "multilabel-indicator":
        positive = graph.node("Greater", [z, graph.constant(np.array(0, dtype), "zero")])[0]
        label = graph.node("Cast", [positive], to=_onnx_type(np.int64), hint="predicted")[0]
        return [(label, np.dtype(np.int64), len(classes)), (graph.node("Sigmoid", [z])[0], dtype, len(classes))]
    if estimator.out_activation_ == "softmax":
        return [_labels(graph, classes, z, "softmax"), (graph.node("Softmax", [z], axis=1)[0], dtype, len(classes))]
    if len(classes) == 1:  # a one-class fit: that class, with probability 1
        rows = graph.node("Slice", [graph.shape_of(z), graph.ints([0]), graph.ints([1])], hint="rows")[0]
        index = _filled(graph, rows, np.int64(0))
        ones = _filled(graph, graph.node("Concat", [rows, graph.ints([1])], axis=0)[0], dtype.type(1))
        return [_lookup(graph, classes, index), (ones, dtype, 1)]
    negative = graph.node("Sigmoid", [graph.node("Neg", [z])[0]])[0]
    probabilities = graph.node("Concat", [negative, graph.node("Sigmoid", [z])[0]], axis=1)[0]
    return [_labels(graph, classes, z, "sigmoid"), (probabilities, dtype, 2)]


def _labels(graph: Graph, classes: np.ndarray, z: str, rule: str):
    """``label``: classes_[argmax z] (softmax, one-vs-rest) or classes_[z > 0] (one output unit)."""
    if rule == "softmax":
        index = graph.node("ArgMax", [z], axis=1, keepdims=0)[0]  # the first of equal maxima, as NumPy
    else:
        positive = graph.node("Greater", [z, graph.constant(np.array(0, graph.dtype), "zero")])[0]
        index = graph.node("Cast", [graph.squeeze(positive, [1])], to=_onnx_type(np.int64))[0]
    return _lookup(graph, classes, index)


def _lookup(graph: Graph, classes: np.ndarray, index: str):
    """Gather the labels at ``index`` from a constant of the classes: int64 for integer (and
    integral float) labels as skl2onnx writes them, bool, float or string otherwise."""
    out_dtype: np.dtype
    if classes.dtype.kind in "iu" or (classes.dtype.kind == "f" and np.all(classes == np.round(classes))):
        table, out_dtype = classes.astype(np.int64), np.dtype(np.int64)
        name = graph.constant(table, "classes")
    elif classes.dtype.kind in "bf":
        table, out_dtype = classes, classes.dtype
        name = graph.constant(table, "classes")
    else:
        strings = [str(c) for c in classes]
        out_dtype = np.dtype(object)
        name = graph.fresh("classes")
        onnx = require_onnx()
        graph.initializers.append(onnx.numpy_helper.from_array(np.array(strings, dtype=object), name))
    label = graph.node("Gather", [name, index], axis=0, hint="predicted")[0]
    return label, out_dtype, None


def _filled(graph: Graph, shape: str, value: np.generic) -> str:
    """A tensor of ``shape`` (an ONNX int64 vector) holding ``value`` everywhere."""
    fill = require_onnx().numpy_helper.from_array(np.array([value]))
    return graph.node("ConstantOfShape", [shape], value=fill)[0]


def _onnx_type(dtype) -> int:
    return require_onnx().helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
