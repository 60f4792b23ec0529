"""Dynamic sizes: int arguments that follow the batch size and the sequence length (reshape,
slices, int indices) are rebuilt from the input's shape; what cannot follow them is refused or
kept fixed, never exported wrong."""

import numpy as np
import pytest

import glassnet as gn
import glassnet.onnx as gonnx
from glassnet import nn, ops
from onnx_helpers import export_and_compare, glassnet_outputs, op_types, session


def sequences(width, dtype=np.float32):
    def make(size):
        batch, length = size
        return (np.random.default_rng(batch * 31 + length).normal(size=(batch, length, width)).astype(dtype),)
    return make


class SliceBySize(nn.Module):
    """Sizes read from x.shape: a slice to the length minus one, the last step by index, a
    flatten of (batch * length) rows and back."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(4, 3, rng=0)

    def forward(self, x):
        batch, length, width = x.shape
        rows = self.linear(x.reshape(batch * length, width)).reshape(batch, length, 3)
        shifted = rows[:, 1:length] - rows[:, : length - 1]
        last = rows[:, length - 1]
        return shifted.sum(axis=1) + last + rows[:, :, None, :].reshape(batch, -1).mean(axis=1, keepdims=True)


def test_sizes_from_x_shape_follow_the_batch_and_the_length(tmp_path):
    proto = export_and_compare(SliceBySize(), sequences(4), [(3, 5), (2, 5), (3, 8), (1, 2)], tmp_path / "s.onnx")
    assert "Shape" in op_types(proto)


class StepLoop(nn.Module):
    """A Python loop over the time steps: the ops themselves depend on the length."""

    def forward(self, x):
        total = x[:, 0]
        for t in range(1, x.shape[1]):
            total = total * 0.5 + x[:, t]
        return total


def test_a_loop_over_the_length_keeps_the_length_fixed_and_the_batch_dynamic(tmp_path):
    path = tmp_path / "loop.onnx"
    gonnx.export(StepLoop(), sequences(3)((2, 4))[0], path)
    runner = session(path)
    assert runner.get_inputs()[0].shape == ["batch", 4, 3]
    for batch in (2, 6):
        x = sequences(3)((batch, 4))[0]
        np.testing.assert_allclose(runner.run(None, {"input": x})[0], glassnet_outputs(StepLoop(), x)[0],
                                   rtol=1e-4, atol=1e-5)


class Nonlinear(nn.Module):
    def forward(self, x):
        return x[:, : (x.shape[0] ** 2) % 5 + 1]


def test_a_size_that_no_linear_formula_gives_is_refused(tmp_path):
    with pytest.raises(ValueError, match="getitem.*dynamic_axes=False"):
        gonnx.export(Nonlinear(), np.ones((3, 6), np.float32), tmp_path / "n.onnx")


class MaskedSelect(nn.Module):
    def forward(self, x):
        return x[x > 0.25] * 2, gn.where(x > 0.0, x, 0.0).sum(axis=1)


def test_boolean_tensor_index_is_a_compress(tmp_path):
    proto = export_and_compare(MaskedSelect(), lambda b: (np.random.default_rng(b).normal(size=(b, 5))
                                                           .astype(np.float32),), [4, 7], tmp_path / "mask.onnx")
    assert "Compress" in op_types(proto)


class Masked(nn.Module):
    """A sequence and its padding mask (True = keep), both with batch and length dynamic."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 2, rng=0)

    def forward(self, x, keep):
        scores = self.linear(x).sum(axis=2)  # (batch, length)
        return gn.where(keep, scores, -1.0).max(axis=1)


def test_a_boolean_mask_input_with_the_sequence(tmp_path):
    def make(size):
        batch, length = size
        rng = np.random.default_rng(batch + 10 * length)
        return rng.normal(size=(batch, length, 3)).astype(np.float32), rng.random((batch, length)) > 0.3

    proto = export_and_compare(Masked(), make, [(2, 5), (4, 5), (2, 3)], tmp_path / "mask.onnx")
    assert [i.type.tensor_type.elem_type for i in proto.graph.input] == [1, 9]  # FLOAT, BOOL


class Lookup(nn.Module):
    """A parameter indexed by the integer input itself."""

    def __init__(self):
        super().__init__()
        self.table = nn.Parameter(np.arange(20, dtype=np.float32).reshape(10, 2))

    def forward(self, tokens):
        return self.table[tokens].sum(axis=1)


def test_a_parameter_indexed_by_the_integer_input(tmp_path):
    def make(size):
        batch, length = size
        return (np.random.default_rng(batch * length).integers(0, 10, (batch, length)),)

    export_and_compare(Lookup(), make, [(2, 3), (5, 3), (2, 6)], tmp_path / "lookup.onnx")


def test_impute_and_standardize_with_missing_values(tmp_path):
    X = np.random.default_rng(0).normal(3.0, 2.0, (40, 4))
    X[::3, 1] = np.nan
    model = nn.mlp(4, [5], 2, impute="mean", standardize_with=np.nan_to_num(X), rng=0)
    model[0].fit(X)

    def make(batch):
        x = np.random.default_rng(batch).normal(3.0, 2.0, (batch, 4)).astype(np.float32)
        x[::2, 0] = np.nan
        x[1, 3] = np.nan
        return (x,)

    proto = export_and_compare(model, make, [4, 3], tmp_path / "impute.onnx")
    assert "IsNaN" in op_types(proto)


def test_batch_norm_without_running_statistics_uses_the_batch(tmp_path):
    model = nn.Sequential(nn.Linear(3, 4, rng=0), nn.BatchNorm1d(4, track_running_stats=False), nn.ReLU())
    export_and_compare(model, lambda b: (np.random.default_rng(b).normal(size=(b, 3)).astype(np.float32),),
                       [5, 8], tmp_path / "bn.onnx")


def test_a_model_without_parameters_takes_the_sample_dtype(tmp_path):
    model = nn.Sequential(nn.Tanh(), nn.Softmax())
    proto = export_and_compare(model, lambda b: (np.linspace(-1, 1, 3 * b).reshape(b, 3),), [2, 4],
                               tmp_path / "f64.onnx")
    assert proto.graph.input[0].type.tensor_type.elem_type == 11  # DOUBLE


def test_dim_values_at_other_sizes():
    size = gonnx.Dim(15, 1, ((("batch",), 2), (("batch", "sequence"), 1)))  # 1 + 2 b + b t at b=2, t=5
    assert size == 15 and size.at({"batch": 3, "sequence": 4}) == 19
    assert "batch" in repr(size)
    assert ops.getitem is not None


class ZeroState(nn.Module):
    """A state of zeros (and one of sevens) made by NumPy with the input's batch size: written as
    ConstantOfShape, so it follows the batch."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 4, rng=0)

    def forward(self, x):
        zeros = gn.Tensor(np.zeros((x.shape[0], 4), np.float32))
        sevens = gn.Tensor(np.full((2, x.shape[0], 1), 7.0, np.float32))
        return ops.tanh(self.linear(x) + zeros) + sevens.sum(axis=0)


def test_a_constant_filled_state_of_the_batch_size(tmp_path):
    proto = export_and_compare(ZeroState(), lambda b: (np.random.default_rng(b).normal(size=(b, 3))
                                                        .astype(np.float32),), [2, 5], tmp_path / "zeros.onnx")
    assert op_types(proto).count("ConstantOfShape") == 2


def test_an_all_zero_input_stays_the_input(tmp_path):
    model = nn.Sequential(nn.Linear(3, 2, rng=0))
    path = gonnx.export(model, np.zeros((4, 3), np.float32), tmp_path / "zero.onnx")
    x = np.random.default_rng(0).normal(size=(6, 3)).astype(np.float32)
    np.testing.assert_allclose(session(path).run(None, {"input": x})[0], glassnet_outputs(model, x)[0],
                               rtol=1e-4, atol=1e-5)
