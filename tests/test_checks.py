"""glassnet._checks: one calling convention (value, name, ...) -> normalized value, and one
exception policy (TypeError for a wrong type, ValueError for a wrong value), used everywhere."""

import ast
import importlib
import math
import pathlib

import numpy as np
import pytest

import glassnet as gn
from glassnet import _checks as checks
from glassnet import nn, optim


@pytest.mark.parametrize("call, expected", [
    (lambda: checks.positive_int(3, "n"), 3),
    (lambda: checks.positive_int(np.int64(3), "n"), 3),
    (lambda: checks.positive_int(None, "n", allow_none=True), None),
    (lambda: checks.non_negative_int(0, "n"), 0),
    (lambda: checks.integer(-4, "axis"), -4),
    (lambda: checks.real_number(np.float32(0.5), "x"), 0.5),
    (lambda: checks.real_number(2, "x"), 2.0),
    (lambda: checks.positive_number(1e-3, "lr"), 1e-3),
    (lambda: checks.non_negative_number(0, "eps"), 0.0),
    (lambda: checks.probability(0.0, "p"), 0.0),
    (lambda: checks.probability(1, "p", include_one=True), 1.0),
    (lambda: checks.probability(None, "momentum", allow_none=True), None),
    (lambda: checks.number_in_range(-1, "x", -1, 1), -1.0),
    (lambda: checks.boolean(np.bool_(True), "flag"), True),
    (lambda: checks.boolean(None, "from_logits", allow_none=True), None),
    (lambda: checks.float_dtype("float32"), np.dtype(np.float32)),
    (lambda: checks.float_dtype(np.float64), np.dtype(np.float64)),
    (lambda: checks.one_of("min", "mode", ("min", "max")), "min"),
])
def test_good_values_come_back_normalized(call, expected):
    got = call()
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize("call, error, message", [
    # bool is never a number
    (lambda: checks.positive_int(True, "batch_size"), TypeError, "batch_size must be a positive int, got bool True"),
    (lambda: checks.real_number(False, "lr"), TypeError, "lr must be a real number, got bool False"),
    (lambda: checks.positive_int(2.0, "epochs"), TypeError, "epochs must be a positive int, got float 2.0"),
    (lambda: checks.positive_int(0, "epochs"), ValueError, "epochs must be a positive int, got 0"),
    (lambda: checks.positive_int("3", "n", allow_none=True), TypeError,
     "n must be a positive int or None, got str '3'"),
    (lambda: checks.non_negative_int(-1, "patience"), ValueError, "patience must be an int >= 0, got -1"),
    (lambda: checks.integer(1, "n_samples", minimum=4), ValueError, "n_samples must be an int >= 4, got 1"),
    (lambda: checks.real_number("0.1", "lr"), TypeError, "lr must be a real number, got str '0.1'"),
    (lambda: checks.real_number(math.inf, "alpha"), ValueError, "alpha must be finite, got inf"),
    (lambda: checks.positive_number(0, "lr"), ValueError, "lr must be > 0, got 0"),
    (lambda: checks.non_negative_number(-0.5, "eps"), ValueError, "eps must be >= 0, got -0.5"),
    (lambda: checks.probability(1.0, "dropout"), ValueError, r"dropout must be in \[0, 1\), got 1.0"),
    (lambda: checks.probability(1.5, "p", include_one=True), ValueError, r"p must be in \[0, 1\], got 1.5"),
    (lambda: checks.probability(2, "m", allow_none=True), ValueError, r"m must be in \[0, 1\) or None, got 2"),
    (lambda: checks.number_in_range(0, "t", 0, 1, include_low=False, include_high=False), ValueError,
     r"t must be in \(0, 1\), got 0"),
    (lambda: checks.number_in_range(2, "x", high=1), ValueError, "x must be <= 1, got 2"),
    (lambda: checks.boolean(1, "bias"), TypeError, "bias must be True or False, got int 1"),
    (lambda: checks.boolean(None, "bias"), TypeError, "bias must be True or False, got NoneType None"),
    (lambda: checks.boolean("yes", "from_logits", allow_none=True), TypeError,
     "from_logits must be True, False or None, got str 'yes'"),
    (lambda: checks.float_dtype(np.int32), TypeError, "dtype must be float32 or float64, got int32"),
    (lambda: checks.float_dtype("no such type"), TypeError, "dtype must be float32 or float64, got 'no such type'"),
    (lambda: checks.one_of("avg", "mode", ("min", "max")), ValueError, "mode must be 'min' or 'max', got 'avg'"),
    (lambda: checks.one_of(3, "task", ("a", "b", "c")), TypeError, "task must be 'a', 'b' or 'c', got int 3"),
])
def test_bad_values_raise_one_policy(call, error, message):
    with pytest.raises(error, match=f"^{message}$"):
        call()


def test_the_module_sits_under_every_layer():
    """It imports only NumPy and the standard library, so any module of glassnet may import it."""
    tree = ast.parse(pathlib.Path(checks.__file__).read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.level == 0}
    assert imported <= {"__future__", "collections", "math", "numbers", "numpy", "typing"}
    assert not any(isinstance(node, ast.ImportFrom) and node.level for node in ast.walk(tree))


def test_float_dtypes_are_defined_once():
    from glassnet.ops import elementwise

    assert importlib.import_module("glassnet.tensor").FLOAT_DTYPES is checks.FLOAT_DTYPES
    assert elementwise.FLOAT_DTYPES is checks.FLOAT_DTYPES
    with pytest.raises(TypeError, match="dtype must be float32 or float64, got int32"):
        gn.Tensor([1.0], dtype=np.int32)
    with pytest.raises(TypeError, match="dtype must be float32 or float64, got int64"):
        gn.Tensor([1.0]).astype(np.int64)


@pytest.mark.parametrize("call, error, message", [
    (lambda: nn.Linear(2, 3, bias=1), TypeError, "bias must be True or False, got int 1"),
    (lambda: nn.Dropout(p=True), TypeError, "p must be a real number, got bool True"),
    (lambda: nn.Embedding(5, 2, padding_idx=1.0), TypeError, "padding_idx must be an int or None, got float 1.0"),
    (lambda: nn.Flatten(start_dim="1"), TypeError, "start_dim must be an int, got str '1'"),
    (lambda: nn.BatchNorm1d(3, affine="yes"), TypeError, "affine must be True or False, got str 'yes'"),
    (lambda: nn.RNN(2, 3, nonlinearity=None), TypeError, "nonlinearity must be 'tanh' or 'relu', got NoneType"),
    (lambda: nn.MultiheadAttention(4, 2, dropout=1.0), ValueError, r"dropout must be in \[0, 1\), got 1.0"),
    (lambda: optim.SGD([gn.Parameter(np.zeros(2))], lr=0.1, nesterov=1), TypeError,
     "nesterov must be True or False, got int 1"),
    (lambda: optim.RMSprop([gn.Parameter(np.zeros(2))], centered="no"), TypeError, "centered must be True or False"),
    (lambda: optim.Adam([gn.Parameter(np.zeros(2))], lr=True), TypeError, "lr must be a real number, got bool True"),
    (lambda: gn.data.augment.RandomFlip(horizontal="yes"), TypeError, "horizontal must be True or False"),
    (lambda: gn.data.augment.GaussianNoise("1"), TypeError, "std must be a real number, got str '1'"),
    (lambda: gn.data.load_csv("x.csv", target="y", task=None), TypeError,
     "task must be 'auto', 'classification' or 'regression', got NoneType None"),
    (lambda: gn.train.Ensemble(lambda seed: None, n_models=True), TypeError,
     "n_models must be a positive int, got bool"),
    (lambda: gn.gradcheck(lambda t: t, gn.Tensor([1.0], requires_grad=True), eps=0), ValueError,
     "eps must be > 0, got 0"),
    (lambda: gn.gradcheck(lambda t: t, gn.Tensor([1.0], requires_grad=True), raise_exception="no"), TypeError,
     "raise_exception must be True or False"),
    (lambda: nn.Linear(2, 2).load_state_dict({}, strict="no"), TypeError, "strict must be True or False"),
    (lambda: (gn.Tensor([1.0], requires_grad=True) * 2).sum().backward(retain_graph=None), TypeError,
     "retain_graph must be True or False, got NoneType None"),
    # functional
    (lambda: gn.functional.flatten(gn.Tensor(np.zeros((2, 3))), start_dim=True), TypeError,
     "start_dim must be an int, got bool True"),
    (lambda: gn.functional.embedding(np.array([0]), gn.Tensor(np.zeros((3, 2))), padding_idx="0"), TypeError,
     "padding_idx must be an int or None, got str '0'"),
    (lambda: gn.functional.dropout(gn.Tensor(np.ones(3)), p=True), TypeError, "p must be a real number, got bool True"),
    (lambda: gn.functional.dropout(gn.Tensor(np.ones(3)), p=1.5), ValueError, r"p must be in \[0, 1\], got 1.5"),
    (lambda: gn.functional.scaled_dot_product_attention(np.zeros((2, 3)), np.zeros((2, 3)), np.zeros((2, 3)),
                                                        dropout_p="0.1"), TypeError, "dropout_p must be a real number"),
    (lambda: gn.functional.sinusoidal_positional_encoding(3.0, 4), TypeError,
     "length must be a positive int, got float 3.0"),
    (lambda: gn.functional.sinusoidal_positional_encoding(3, 4, dtype=np.int64), TypeError,
     "dtype must be float32 or float64, got int64"),
    # losses, init, optim, plot
    (lambda: gn.losses.mse(gn.Tensor([1.0]), [1.0], reduction=None), TypeError,
     "reduction must be 'mean', 'sum' or 'none', got NoneType None"),
    (lambda: gn.losses.huber(gn.Tensor([1.0]), [1.0], delta="1"), TypeError,
     "delta must be a real number, got str '1'"),
    (lambda: gn.losses.huber(gn.Tensor([1.0]), [1.0], delta=0), ValueError, "delta must be > 0, got 0"),
    (lambda: gn.init.get(3), TypeError, "initializer must be .*, got int 3"),
    (lambda: optim.make_optimizer(None, [gn.Parameter(np.zeros(2))], 0.1), TypeError,
     "optimizer must be 'sgd', .*, got NoneType None"),
    (lambda: nn.mlp(2, (3,), 1, batch_norm=1), TypeError, "batch_norm must be True or False, got int 1"),
    (lambda: nn.mlp(2, (3,), 1, dropout=True), TypeError, "dropout must be a real number, got bool True"),
    # callbacks and metrics
    (lambda: gn.EarlyStopping(patience=True), TypeError, "patience must be an int >= 0, got bool True"),
    (lambda: gn.EarlyStopping(min_delta=-1), ValueError, "min_delta must be >= 0, got -1"),
    (lambda: gn.EarlyStopping(mode=None), TypeError, "mode must be 'auto', 'min' or 'max', got NoneType None"),
    (lambda: gn.EarlyStopping(restore_best_weights="yes"), TypeError, "restore_best_weights must be True or False"),
    (lambda: gn.ModelCheckpoint("m.safetensors", save_best_only=None), TypeError,
     "save_best_only must be True or False, got NoneType None"),
    (lambda: gn.LearningRateSchedule("step", step_size=True), TypeError, "step_size must be a positive int, got bool"),
    (lambda: gn.LearningRateSchedule("cosine", T_max="4"), TypeError, "T_max must be a real number, got str '4'"),
    (lambda: gn.train.metrics.get("accuracy", from_logits=1), TypeError,
     "from_logits must be True, False or None, got int 1"),
])
def test_the_library_uses_the_shared_checks(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_fit_refuses_a_bool_batch_size_as_a_wrong_type():
    model = nn.Sequential(nn.Linear(2, 2, rng=0))
    X, y = np.zeros((4, 2), np.float32), np.array([0, 1, 0, 1])
    with pytest.raises(TypeError, match="batch_size must be a positive int or None, got bool True"):
        gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=0.1),
               batch_size=True, verbose=0)


@pytest.mark.parametrize("options, error, message", [
    ({"l1": "0.1"}, TypeError, "l1 must be a real number, got str '0.1'"),
    ({"l2": -1}, ValueError, "l2 must be >= 0, got -1"),
    ({"verbose": True}, TypeError, "verbose must be an int >= 0, got bool True"),
    ({"verbose": -1}, ValueError, "verbose must be an int >= 0, got -1"),
    ({"validation_split": "0.2"}, TypeError, "validation_split must be a real number, got str '0.2'"),
    ({"validation_split": 0}, ValueError, r"validation_split must be in \(0, 1\) or None, got 0"),
])
def test_fit_checks_its_options_with_the_shared_checks(options, error, message):
    model = nn.Sequential(nn.Linear(2, 2, rng=0))
    X, y = np.zeros((4, 2), np.float32), np.array([0, 1, 0, 1])
    with pytest.raises(error, match=message):
        gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=0.1),
               **{"verbose": 0, **options})


@pytest.mark.parametrize("params, error, message", [
    ({"hidden_layer_sizes": (4, True)}, TypeError, r"hidden_layer_sizes\[1\] must be a positive int, got bool True"),
    ({"hidden_layer_sizes": (4, 0)}, ValueError, r"hidden_layer_sizes\[1\] must be a positive int, got 0"),
])
def test_the_estimators_hidden_sizes_use_the_shared_checks(params, error, message):
    from glassnet.sklearn import MLPClassifier

    with pytest.raises(error, match=message):
        MLPClassifier(**params).fit(np.zeros((4, 2)), np.array([0, 1, 0, 1]))
