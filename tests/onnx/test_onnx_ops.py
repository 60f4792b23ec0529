"""Every converter of the element-wise, reduction and shape families, through small user
Modules, compared with onnxruntime at two batch sizes (float32: rtol 1e-4, atol 1e-5)."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn, ops
from onnx_helpers import export_and_compare, op_types


class Lambda(nn.Module):
    """A Module whose forward is ``function(x)``, with one learnable weight to mix in."""

    def __init__(self, function, width=6):
        super().__init__()
        self.function = function
        self.weight = nn.Parameter(np.linspace(0.5, 1.5, width, dtype=np.float32))

    def forward(self, x):
        return self.function(x * self.weight)


def inputs(shape, low=-2.0, high=2.0):
    def make(batch):
        return (np.random.default_rng(batch).uniform(low, high, (batch, *shape)).astype(np.float32),)
    return make


ELEMENTWISE = {
    "add_sub_mul_div_neg": lambda x: -(x + 1.5) * (x - 0.25) / (x * x + 1.0) + 2.0 - x,
    "reflected_constants": lambda x: 3.0 - x + 2.0 * x + 1.0 / (x * x + 2.0),
    "power": lambda x: (x * x + 0.5) ** 1.5 + 2.0 ** x + x ** 2,
    "exp_log_log1p_sqrt": lambda x: ops.exp(x) + ops.log(x * x + 0.1) + ops.log1p(x * x) + ops.sqrt(ops.abs(x)),
    "abs_erf_tanh_sigmoid": lambda x: ops.abs(x) + ops.erf(x) + ops.tanh(x) * ops.sigmoid(x),
    "relu_softplus_step": lambda x: ops.relu(x) + ops.softplus(3 * x) + ops.step(x - 0.5),
    "maximum_minimum": lambda x: ops.maximum(x, 0.3) + ops.minimum(x, x * x) + gn.maximum(x, -x),
    "clip": lambda x: x.clip(-0.5, 0.75) + ops.clip(x, low=0.1) + ops.clip(x, high=-0.2),
    "where_of_comparisons": lambda x: gn.where(x > 0.3, x, -x) + gn.where(x <= -1.0, 1.0, x * 2)
    + gn.where(x == x, x, 0.0) + gn.where(x != 0.5, x, 0.0),
    "where_with_numpy_condition_of_an_operand": lambda x: ops.where(x.data < 0, x * 3, x),
    "gelu_tanh_form": lambda x: 0.5 * x * (1.0 + ops.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3))),
    "astype_round_trip": lambda x: x.astype("float64").astype("float32") * 2,
}


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_elementwise(tmp_path, name):
    export_and_compare(Lambda(ELEMENTWISE[name]), inputs((6,)), [4, 9], tmp_path / f"{name}.onnx")


REDUCTIONS = {
    "sum_mean_all_and_axes": lambda x: x.sum(axis=1) + x.mean(axis=(1, 2)).reshape(-1, 1) + x.sum(),
    "max_min_keepdims": lambda x: (x.max(axis=2, keepdims=True) - x.min(axis=-1, keepdims=True)).sum(axis=2),
    "var_ddof_0_and_1_over_the_batch": lambda x: x.var(axis=0) + ops.var(x, axis=(0, 2), ddof=1)[None, :, None],
    "logsumexp_and_vector_norm": lambda x: ops.logsumexp(x, axis=-1) + ops.vector_norm(x, axis=1).sum(axis=-1,
                                                                                                   keepdims=True),
    "softmax_log_softmax_axes": lambda x: ops.softmax(x, axis=1) + ops.log_softmax(x, axis=0),
}


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_reductions(tmp_path, name):
    export_and_compare(Lambda(REDUCTIONS[name]), inputs((3, 6)), [4, 2], tmp_path / f"{name}.onnx")


SHAPES = {
    "reshape_transpose_T": lambda x: x.reshape(x.shape[0], 2, 9).transpose(0, 2, 1).reshape(-1, 18) + x.reshape(
        x.shape[0], -1) @ np.ones((18, 18), np.float32) * 0.1,
    "permute_swapaxes": lambda x: ops.permute(x, 2, 0, 1).sum(axis=0) + ops.swapaxes(x, 1, 2).mean(axis=1)[:, :3],
    "whole_transpose": lambda x: x.T.sum(axis=0) + x.sum(axis=0)[:, None].T.sum(),
    "basic_slicing": lambda x: x[:, 1:3, ::2] + x[:, -2:, 1::2] + x[..., ::-2][:, :2] + x[:, None, 0, :3:1][:, 0, None],
    "negative_steps_with_bounds": lambda x: x[:, 2:0:-1, 5:1:-2] + x[:, -1:-3:-1, -2::-2][:, :, :2],
    "int_and_negative_indices": lambda x: x[:, -1] * x[:, 0, 2] [:, None] + x[:, 1, -1:],
    "integer_array_and_boolean_mask": lambda x: x[:, [2, 0, 0]] + x[:, np.array([True, False, True])][:, [0, 1, 1]],
    "concatenate_stack": lambda x: gn.concatenate([x, x * 2, x[:, :, :1]], axis=2).sum(axis=2)
    + gn.stack([x[:, 0], x[:, 1]], axis=1).sum(axis=(1, 2))[:, None] + ops.stack([x, x], axis=-1).sum(axis=-1)[..., 0],
    "matmul_batched_and_vector": lambda x: (x @ np.ones((6, 2), np.float32)).sum(axis=2) + ops.matmul(
        x, np.linspace(0, 1, 6, dtype=np.float32)) + (x @ gn.ops.swapaxes(x, 1, 2)).mean(axis=2),
}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_shape_ops(tmp_path, name):
    export_and_compare(Lambda(SHAPES[name]), inputs((3, 6)), [4, 1, 3], tmp_path / f"{name}.onnx")


def test_reshape_with_the_batch_uses_the_input_shape_not_the_sample_size(tmp_path):
    proto = export_and_compare(Lambda(lambda x: x.reshape(x.shape[0], 3, 2).sum(axis=2)), inputs((6,)), [5, 2],
                               tmp_path / "reshape.onnx")
    assert "Reshape" in op_types(proto)


def test_batch_of_one_as_the_sample(tmp_path):
    """A sample of batch 1: a 1 in a reshape is the batch there, and stays a 1 elsewhere."""
    model = Lambda(lambda x: x.reshape(x.shape[0], 1, 6, 1).sum(axis=(1, 3)) + x.reshape(1, -1).sum())
    export_and_compare(model, inputs((6,)), [1, 4], tmp_path / "one.onnx")
