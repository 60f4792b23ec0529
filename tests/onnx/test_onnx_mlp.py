"""ONNX export of MLPs: every activation of the registry (step, sigmoid, tanh, ReLU, leaky ReLU,
ELU, softplus, SiLU, GELU, Mish, identity), softmax and log-softmax, dropout in eval mode, at two
batch sizes, checked by onnx.checker and compared with onnxruntime (float32 rtol 1e-4, atol 1e-5)."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn
from glassnet.functional.activations import ACTIVATIONS
from onnx_helpers import export_and_compare, glassnet_outputs, op_types, session

EVERY_ACTIVATION = sorted({entry.name for entry in ACTIVATIONS.values()} - {"softmax", "log_softmax"})


def features(n_features, dtype=np.float32, scale=2.0):
    def make(batch):
        return (np.random.default_rng(batch).normal(0, scale, (batch, n_features)).astype(dtype),)
    return make


@pytest.mark.parametrize("head", ["softmax", "log_softmax"])
def test_mlp_with_every_activation_matches_onnxruntime(tmp_path, head):
    width, layers = 6, []
    for index, name in enumerate(EVERY_ACTIVATION):
        layers += [nn.Linear(width, width, rng=index), nn.make_activation(name)]
    model = nn.Sequential(nn.Linear(3, width, rng=99), *layers, nn.Dropout(0.3),
                          nn.Linear(width, 4, rng=100), nn.make_activation(head))
    proto = export_and_compare(model, features(3), [7, 2], tmp_path / "mlp.onnx")
    kinds = op_types(proto)
    assert "Dropout" not in kinds
    assert kinds.count("Gemm") == len(EVERY_ACTIVATION) + 2
    softmax = {"softmax": "Softmax", "log_softmax": "LogSoftmax"}[head]
    assert {"Erf", "Softplus", "Sigmoid", "Tanh", "Relu", "Where", softmax} <= set(kinds)


@pytest.mark.parametrize("name", EVERY_ACTIVATION)
def test_each_activation_alone_around_zero_and_far_out(tmp_path, name):
    """Each activation on values around 0 (the kinks of step, ReLU, leaky ReLU, ELU) and far out
    (where softplus and sigmoid must not overflow)."""
    model = nn.Sequential(nn.make_activation(name))
    values = np.array([[-30.0, -2.5, -1e-3, 0.0, 1e-3, 0.7, 3.0, 30.0]], np.float32)

    def make(batch):
        return (np.tile(values, (batch, 1)) * np.linspace(0.5, 1.0, batch, dtype=np.float32)[:, None],)

    export_and_compare(model, make, [3, 5], tmp_path / f"{name}.onnx")


def test_the_sample_batch_size_is_not_frozen_into_the_graph(tmp_path):
    model = nn.Sequential(nn.Linear(4, 5, rng=0), nn.ReLU(), nn.Linear(5, 2, rng=1))
    proto = export_and_compare(model, features(4), [1, 6, 2], tmp_path / "batch1.onnx")
    (graph_input,) = proto.graph.input
    dims = graph_input.type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in dims] == ["batch", 4]
    dims = proto.graph.output[0].type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in dims] == ["batch", 2]


def test_static_export_fixes_the_batch(tmp_path):
    model = nn.Sequential(nn.Linear(4, 2, rng=0), nn.Sigmoid())
    path = tmp_path / "static.onnx"
    gn.onnx.export(model, features(4)(3)[0], path, dynamic_axes=False)
    runner = session(path)
    assert [d for d in runner.get_inputs()[0].shape] == [3, 4]
    x = features(4)(3)[0]
    np.testing.assert_allclose(runner.run(None, {"input": x})[0], glassnet_outputs(model, x)[0],
                               rtol=1e-4, atol=1e-5)


def test_float64_model_exports_float64(tmp_path):
    """float64 end to end (Softplus, which onnxruntime has only in float32, in its stable formula)."""
    layers = [nn.Linear(3, 4, rng=0, dtype="float64")]
    for index, name in enumerate(["tanh", "softplus", "mish", "elu", "silu", "leaky_relu", "sigmoid", "step"]):
        layers += [nn.make_activation(name), nn.Linear(4, 4, rng=index + 1, dtype="float64")]
    model = nn.Sequential(*layers, nn.Linear(4, 2, rng=1, dtype="float64"), nn.LogSoftmax())
    proto = export_and_compare(model, features(3, np.float64), [4, 9], tmp_path / "f64.onnx")
    assert proto.graph.input[0].type.tensor_type.elem_type == 11  # DOUBLE


def test_mlp_builder_with_batch_norm_and_dropout(tmp_path):
    model = nn.mlp(5, [8, 8], 3, activation="relu", batch_norm=True, dropout=0.2, rng=0)
    rng = np.random.default_rng(0)
    for name, buffer in model.named_buffers():  # trained-looking statistics, not 0 and 1
        buffer[...] = rng.uniform(0.5, 2.0, buffer.shape) if "var" in name else rng.normal(size=buffer.shape)
    for parameter in model.parameters():
        parameter.data[...] = rng.normal(size=parameter.shape)
    before = {name: array.copy() for name, array in model.state_dict().items()}
    model.train()
    gn.onnx.export(model, features(5)(4)[0], tmp_path / "built.onnx")
    assert model.training and all(m.training for m in model.modules())  # the mode is restored
    assert all(np.array_equal(before[name], array) for name, array in model.state_dict().items())
    export_and_compare(model, features(5), [6, 3], tmp_path / "built.onnx")
