"""Bad input to glassnet.onnx.export: a clear error naming the problem, raised before anything
is written, and the model left exactly as it was."""

import os

import numpy as np
import pytest

import glassnet as gn
import glassnet.onnx as gonnx
from glassnet import losses, nn, ops
from onnx_helpers import glassnet_outputs, onnx, session


def mlp():
    return nn.Sequential(nn.Linear(3, 4, rng=0), nn.ReLU(), nn.Dropout(0.5), nn.Linear(4, 2, rng=1))


X = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)


class WithLoss(nn.Module):
    def __init__(self):
        super().__init__()
        self.head = nn.Linear(3, 2, rng=0)

    def forward(self, x):
        return losses.cross_entropy(self.head(x), np.zeros(len(x), dtype=int))


class CustomOp(nn.Module):
    """An op made outside glassnet.ops: its output Tensor was never traced."""

    def forward(self, x):
        return gn.Tensor._from_op(np.cos(x.data), (x,), None, "cos") + 1.0


class FromValues(nn.Module):
    """A constant computed by NumPy from the input's values: right at the sample's size only."""

    def forward(self, x):
        return x - gn.Tensor(x.data.mean(axis=1, keepdims=True))


class FixedBatch(nn.Module):
    def forward(self, x):
        return x.reshape(5, 3, 1).sum(axis=2)


class Ignores(nn.Module):
    def forward(self, x, mask):
        return x * 2


class Returns(nn.Module):
    def __init__(self, value):
        super().__init__()
        self.value = value

    def forward(self, x):
        return self.value


def test_an_op_without_converter_is_named_with_its_module(tmp_path):
    path = tmp_path / "loss.onnx"
    with pytest.raises(gonnx.UnsupportedOpError, match=r"'softmax_cross_entropy'.*the model \(WithLoss\)") as info:
        gonnx.export(WithLoss(), X, path)
    assert isinstance(info.value, ValueError)
    assert not path.exists()
    wrapped = nn.Sequential(nn.Linear(3, 3, rng=0), WithLoss())
    with pytest.raises(gonnx.UnsupportedOpError, match=r"softmax_cross_entropy.*1 \(WithLoss\)"):
        gonnx.export(wrapped, X, path)


def test_an_untraced_op_is_refused_not_frozen_into_a_constant(tmp_path):
    with pytest.raises(gonnx.UnsupportedOpError, match="'cos', which was computed outside glassnet.ops"):
        gonnx.export(CustomOp(), X, tmp_path / "cos.onnx")


def test_numpy_on_the_input_values_is_refused_with_dynamic_axes(tmp_path):
    with pytest.raises(gonnx.UnsupportedOpError, match="outside glassnet.ops"):
        gonnx.export(FromValues(), X, tmp_path / "values.onnx")
    # Fixed sizes: nothing tells the constant from the input's values, as in any tracer.
    gonnx.export(FromValues(), X, tmp_path / "values.onnx", dynamic_axes=False)
    assert (tmp_path / "values.onnx").exists()


def test_a_model_that_runs_at_one_batch_size_only(tmp_path):
    with pytest.raises(ValueError, match="dynamic_axes=False"):
        gonnx.export(FixedBatch(), X, tmp_path / "fixed.onnx")
    path = gonnx.export(FixedBatch(), X, tmp_path / "fixed.onnx", dynamic_axes=False)
    np.testing.assert_allclose(session(path).run(None, {"input": X})[0], X, rtol=1e-6)


@pytest.mark.parametrize("model", [lambda x: x, np.zeros(3), "model", None])
def test_not_a_module(tmp_path, model):
    with pytest.raises(TypeError, match="glassnet Module"):
        gonnx.export(model, X, tmp_path / "m.onnx")


@pytest.mark.parametrize("opset, error", [(12, ValueError), (10_000, ValueError), ("17", TypeError),
                                          (True, TypeError), (17.0, TypeError)])
def test_bad_opset(tmp_path, opset, error):
    with pytest.raises(error, match="opset"):
        gonnx.export(mlp(), X, tmp_path / "m.onnx", opset=opset)


@pytest.mark.parametrize("sample, error, match", [
    ([X], TypeError, "NumPy array or a Tensor, got list"),
    (X.tolist(), TypeError, "got list"),
    (np.array([["a", "b"]]), TypeError, "dtype <U1"),
    (np.float32(1.0), TypeError, "got float32"),
    (np.array(1.0, np.float32), ValueError, "scalar"),
    ((), ValueError, "empty tuple"),
    (np.zeros((0, 3), np.float32), ValueError, "empty axis"),
])
def test_bad_sample_input(tmp_path, sample, error, match):
    with pytest.raises(error, match=match):
        gonnx.export(mlp(), sample, tmp_path / "m.onnx")


def test_bad_options(tmp_path):
    with pytest.raises(TypeError, match="dynamic_axes"):
        gonnx.export(mlp(), X, tmp_path / "m.onnx", dynamic_axes="yes")
    with pytest.raises(ValueError, match="input_names has 2 names for 1 input"):
        gonnx.export(mlp(), X, tmp_path / "m.onnx", input_names=["a", "b"])
    with pytest.raises(TypeError, match="input_names"):
        gonnx.export(mlp(), X, tmp_path / "m.onnx", input_names="x")
    with pytest.raises(ValueError, match="twice"):
        gonnx.export(Ignores(), (X, X), tmp_path / "m.onnx", input_names=["a", "a"])
    with pytest.raises(ValueError, match="share"):
        gonnx.export(mlp(), X, tmp_path / "m.onnx", input_names=["x"], output_names=["x"])
    assert not (tmp_path / "m.onnx").exists()


def test_custom_names(tmp_path):
    path = gonnx.export(mlp(), X, tmp_path / "m.onnx", input_names=["features"], output_names=["logits"])
    runner = session(path)
    assert [i.name for i in runner.get_inputs()] == ["features"]
    assert [o.name for o in runner.get_outputs()] == ["logits"]


def test_bad_paths(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        gonnx.export(mlp(), X, tmp_path / "missing" / "m.onnx")
    with pytest.raises(IsADirectoryError):
        gonnx.export(mlp(), X, tmp_path)
    with pytest.raises(TypeError):
        gonnx.export(mlp(), X, 42)


def test_a_failed_export_leaves_an_existing_file_untouched(tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"the old file")
    with pytest.raises(gonnx.UnsupportedOpError):
        gonnx.export(WithLoss(), X, path)
    assert path.read_bytes() == b"the old file"
    assert os.listdir(tmp_path) == ["model.onnx"]  # no temporary file left behind
    gonnx.export(mlp(), X, path, dynamic_axes=False)
    assert onnx.load(str(path)).graph.node


def test_an_input_the_graph_never_reads(tmp_path):
    with pytest.raises(ValueError, match="never reads input 'input_1'"):
        gonnx.export(Ignores(), (X, X), tmp_path / "m.onnx")


@pytest.mark.parametrize("value", [np.ones(3), 3.0, (gn.Tensor(np.ones(2)), "text")])
def test_a_forward_that_returns_no_tensor(tmp_path, value):
    with pytest.raises(TypeError, match="returned"):
        gonnx.export(Returns(value), X, tmp_path / "m.onnx")


def test_an_ambiguous_numpy_condition_is_refused(tmp_path):
    class Ambiguous(nn.Module):
        def forward(self, x):
            return ops.where(x.data > -100, x, 0.0)  # all True: x > -100? x >= 0? x == x?

    with pytest.raises(gonnx.UnsupportedOpError, match="Tensor comparison"):
        gonnx.export(Ambiguous(), np.abs(X) + 1, tmp_path / "m.onnx")


def test_the_model_is_left_exactly_as_it_was(tmp_path):
    model = nn.Sequential(nn.Linear(3, 4, rng=0), nn.BatchNorm1d(4), nn.Dropout(0.5), nn.Linear(4, 2, rng=1))
    model[1].running_mean[...] = [0.1, 0.2, 0.3, 0.4]
    model.rng = np.random.default_rng(5)  # a Generator a module holds keeps its state
    model.train()
    model[3].eval()  # mixed modes come back as they were
    before = {name: array.copy() for name, array in model.state_dict().items()}
    expected_draw = np.random.default_rng(5).random()
    originals = {name: getattr(ops, name) for name in ops.__all__}
    for sample in (X, gn.Tensor(X), (X,)):
        gonnx.export(model, sample, tmp_path / "m.onnx")
        assert [m.training for m in model.modules()] == [True, True, True, True, False]
    with pytest.raises(gonnx.UnsupportedOpError):  # also after a failure
        gonnx.export(nn.Sequential(model, nn.Linear(2, 3, rng=2), WithLoss()), X, tmp_path / "x.onnx")
    assert [m.training for m in model.modules()] == [True, True, True, True, False]
    assert all(np.array_equal(before[k], v) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())
    assert {name: getattr(ops, name) for name in ops.__all__} == originals
    assert gn.where is originals["where"] and gn.maximum is originals["maximum"]
    assert model.rng.random() == expected_draw
    # and the exported graph is the eval-mode model
    np.testing.assert_allclose(session(tmp_path / "m.onnx").run(None, {"input": X})[0],
                               glassnet_outputs(model, X)[0], rtol=1e-4, atol=1e-5)


def test_without_the_onnx_package(tmp_path, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "onnx", None)
    with pytest.raises(ImportError, match=r"pip install glassnet\[onnx\]"):
        gonnx.export(mlp(), X, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_an_input_or_output_named_like_a_parameter(tmp_path):
    with pytest.raises(ValueError, match="'0.weight' is already a parameter's name"):
        gonnx.export(mlp(), X, tmp_path / "m.onnx", input_names=["0.weight"])
    with pytest.raises(ValueError, match="'3.bias' is already a parameter's name"):
        gonnx.export(mlp(), X, tmp_path / "m.onnx", output_names=["3.bias"])
    assert not (tmp_path / "m.onnx").exists()


class Twice(nn.Module):
    """The input itself, an output returned twice, and a weight used twice (tied)."""

    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(3, 3, rng=0)

    def forward(self, x):
        y = self.layer(self.layer(x))
        return x, y, y


def test_repeated_outputs_the_input_as_output_and_tied_weights(tmp_path):
    path = gonnx.export(Twice(), X, tmp_path / "twice.onnx")
    proto = onnx.load(str(path))
    assert [i.name for i in proto.graph.initializer] == ["layer.weight", "layer.bias"]
    got = session(path).run(None, {"input": X})
    expected = glassnet_outputs(Twice(), X)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-5)


def test_a_symlinked_path_writes_the_file_it_points_to(tmp_path):
    target = tmp_path / "real.onnx"
    target.write_bytes(b"old")
    link = tmp_path / "link.onnx"
    link.symlink_to(target)
    gonnx.export(mlp(), X, link)
    assert link.is_symlink() and onnx.load(str(target)).graph.node


class DeadBranch(nn.Module):
    """Computes a value it never returns, with a weight nothing else reads."""

    def __init__(self):
        super().__init__()
        self.used = nn.Linear(3, 2, rng=0)
        self.unused = nn.Linear(3, 5, rng=1)

    def forward(self, x):
        self.unused(x).sum()  # computed, dropped
        return self.used(x)


def test_values_the_output_does_not_need_are_left_out(tmp_path):
    proto = onnx.load(str(gonnx.export(DeadBranch(), X, tmp_path / "dead.onnx")))
    assert [node.op_type for node in proto.graph.node] == ["Gemm", "Identity"]
    assert sorted(i.name for i in proto.graph.initializer) == ["used.bias", "used.weight"]


class CountsCalls(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("calls", np.zeros(1))

    def forward(self, x):
        self.calls += 1  # in place: the buffer itself changes
        return x * 2


def test_a_buffer_the_forward_changes_is_put_back(tmp_path):
    model = CountsCalls()
    gonnx.export(model, X, tmp_path / "count.onnx")
    assert model.calls.tolist() == [0.0]


class ExportsItself(nn.Module):
    def __init__(self, path):
        super().__init__()
        self.path = path

    def forward(self, x):
        gonnx.export(nn.Sequential(nn.ReLU()), X, self.path)
        return x * 2


def test_an_export_inside_a_traced_forward_is_refused_and_everything_is_put_back(tmp_path):
    originals = {name: getattr(ops, name) for name in ops.__all__}
    with pytest.raises(RuntimeError, match="cannot start another trace"):
        gonnx.export(ExportsItself(tmp_path / "inner.onnx"), X, tmp_path / "outer.onnx")
    assert {name: getattr(ops, name) for name in ops.__all__} == originals
    path = gonnx.export(mlp(), X, tmp_path / "after.onnx")  # and the next export works
    assert onnx.load(str(path)).graph.node


@pytest.mark.parametrize("sample", [np.ones((4, 3), int), np.arange(12).reshape(4, 3)])
def test_an_integer_sample_for_a_float_model_is_refused(tmp_path, sample):
    """The forward makes the integers a float Tensor outside the ops: a constant, and for a
    sample of ones one that looks like a filled state; either way never an ignored input."""
    with pytest.raises(ValueError, match="outside glassnet.ops"):
        gonnx.export(nn.Sequential(nn.Linear(3, 2, rng=0)), sample, tmp_path / "int.onnx")
    with pytest.raises(ValueError, match="never reads input"):
        gonnx.export(nn.Sequential(nn.Linear(3, 2, rng=0)), sample, tmp_path / "int.onnx", dynamic_axes=False)
