"""ONNX export of convolutional models, decoders and user Modules, compared with onnxruntime at
two batch sizes (and two lengths for sequence inputs): CNNs with batch norm and pooling (1-D,
2-D, 3-D through the op), ConvTranspose decoders with Upsample, a residual user Module with
layer norm, an embedding model over token sequences."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import functional as F
from glassnet import nn
from onnx_helpers import export_and_compare, op_types


def images(shape, dtype=np.float32):
    def make(batch):
        return (np.random.default_rng(batch).normal(size=(batch, *shape)).astype(dtype),)
    return make


def randomize_batch_norm(model, seed=0):
    """Running statistics and affine parameters away from 0 and 1, as after training."""
    rng = np.random.default_rng(seed)
    for name, buffer in model.named_buffers():
        buffer[...] = rng.uniform(0.5, 2.0, buffer.shape) if "var" in name else rng.normal(size=buffer.shape)
    for name, parameter in model.named_parameters():
        if name.count(".") and isinstance(model, nn.Sequential) and parameter.ndim == 1:
            parameter.data[...] += rng.normal(scale=0.3, size=parameter.shape)
    return model


def test_cnn_with_batch_norm_and_pooling(tmp_path):
    model = randomize_batch_norm(nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1, rng=0), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3, stride=2, dilation=1, rng=1), nn.BatchNorm2d(6), nn.ELU(),
        nn.AvgPool2d(2, stride=1, padding=1), nn.Conv2d(6, 5, (2, 3), dilation=(1, 2), padding=(0, 1), rng=2),
        nn.MaxPool2d(2, stride=1, padding=1), nn.Flatten(), nn.Linear(5 * 3 * 2, 3, rng=3), nn.LogSoftmax()))
    proto = export_and_compare(model, images((2, 12, 12)), [3, 5], tmp_path / "cnn.onnx")
    assert {"Conv", "MaxPool", "AveragePool", "Reshape", "LogSoftmax"} <= set(op_types(proto))


def test_cnn_1d_with_global_pooling_and_average_without_padding_counted(tmp_path):
    model = randomize_batch_norm(nn.Sequential(
        nn.Conv1d(3, 4, 5, padding=2, rng=0), nn.BatchNorm1d(4), nn.Tanh(),
        nn.MaxPool1d(3, stride=2, padding=1, dilation=2), nn.Conv1d(4, 4, 3, stride=2, rng=1),
        nn.AvgPool1d(3, stride=1, padding=1, count_include_pad=False), nn.GlobalAvgPool1d(),
        nn.Linear(4, 2, rng=2)))
    export_and_compare(model, images((3, 20)), [4, 1], tmp_path / "cnn1d.onnx")


class Conv3dNet(nn.Module):
    """A 3-D convolution through the op itself (glassnet has no Conv3d layer; the op takes any d)."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(np.random.default_rng(0).normal(size=(4, 2, 2, 3, 2)).astype(np.float32))
        self.bias = nn.Parameter(np.linspace(-1, 1, 4, dtype=np.float32))

    def forward(self, x):
        y = gn.ops.conv(x, self.weight, self.bias, (1, 2, 1), (1, 0, 1), (2, 1, 1))
        return gn.ops.max_pool(gn.ops.relu(y), (2, 2, 2), (2, 2, 2), (0, 0, 0), (1, 1, 1))


def test_conv3d_with_stride_padding_and_dilation(tmp_path):
    export_and_compare(Conv3dNet(), images((2, 6, 7, 6)), [2, 3], tmp_path / "conv3d.onnx")


def test_conv_transpose_decoder_with_upsampling(tmp_path):
    model = randomize_batch_norm(nn.Sequential(
        nn.Linear(6, 4 * 3 * 3, rng=0), nn.ReLU(), nn.Unflatten(1, (4, 3, 3)),
        nn.ConvTranspose2d(4, 5, 3, stride=2, padding=1, output_padding=1, rng=1), nn.BatchNorm2d(5), nn.SiLU(),
        nn.Upsample(scale_factor=2, mode="nearest"),
        nn.ConvTranspose2d(5, 3, (3, 2), stride=(1, 2), dilation=(2, 1), rng=2), nn.Softplus(),
        nn.Upsample(size=(20, 31), mode="bilinear", align_corners=False),
        nn.ConvTranspose2d(3, 1, 3, padding=1, rng=3), nn.Sigmoid()))
    proto = export_and_compare(model, images((6,)), [2, 5], tmp_path / "decoder.onnx")
    assert op_types(proto).count("ConvTranspose") == 3


def test_conv_transpose_1d_decoder_with_linear_upsampling(tmp_path):
    model = nn.Sequential(nn.ConvTranspose1d(3, 2, 4, stride=3, padding=1, output_padding=2, rng=0), nn.GELU(),
                          nn.Upsample(scale_factor=1.5, mode="linear"),
                          nn.ConvTranspose1d(2, 2, 2, bias=False, rng=1))
    export_and_compare(model, images((3, 5)), [3, 2], tmp_path / "decoder1d.onnx")


class Residual(nn.Module):
    """A user-defined block: y = x + W2 gelu(W1 layer_norm(x)), then a second, scaled one."""

    def __init__(self, width=8):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.inner = nn.Linear(width, 2 * width, rng=0)
        self.outer = nn.Linear(2 * width, width, rng=1)
        self.head = nn.Linear(width, 3, rng=2)

    def forward(self, x):
        x = x + self.outer(F.gelu(self.inner(self.norm(x))))
        x = 0.5 * x + F.silu(x) / 2
        return self.head(x)


def test_user_module_with_a_residual_connection(tmp_path):
    model = Residual()
    for parameter in model.norm.parameters():
        parameter.data[...] = np.random.default_rng(3).normal(size=parameter.shape)
    proto = export_and_compare(model, images((8,)), [4, 7], tmp_path / "residual.onnx")
    assert "LayerNormalization" in op_types(proto)


def test_residual_module_over_sequences_has_a_dynamic_length(tmp_path):
    model = Residual()

    def make(size):
        batch, length = size
        return (np.random.default_rng(batch * 10 + length).normal(size=(batch, length, 8)).astype(np.float32),)

    proto = export_and_compare(model, make, [(2, 5), (3, 5), (2, 9), (4, 1)], tmp_path / "seq.onnx")
    dims = [d.dim_param or d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["batch", "sequence", 8]


class TokenModel(nn.Module):
    """Embedding -> layer norm -> mean over the sequence -> linear, with a flatten of (batch, length)."""

    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(11, 6, rng=0)
        self.norm = nn.LayerNorm(6, bias=False)
        self.head = nn.Linear(6, 2, rng=1)

    def forward(self, tokens):
        h = self.norm(self.embedding(tokens))
        batch, length, width = h.shape
        flat = h.reshape(batch * length, width)  # an int that is batch * length
        back = flat.reshape(batch, length, width)
        return self.head(back.mean(axis=1)), back[:, -1, :]


def test_embedding_model_on_tokens_two_batches_two_lengths(tmp_path):
    def make(size):
        batch, length = size
        return (np.random.default_rng(batch + 7 * length).integers(0, 11, (batch, length)),)

    proto = export_and_compare(TokenModel(), make, [(3, 4), (5, 4), (3, 7), (1, 2)], tmp_path / "tokens.onnx")
    assert "Gather" in op_types(proto)


@pytest.mark.parametrize("affine", [False, True])
def test_layer_norm_over_two_axes_with_and_without_its_weights(tmp_path, affine):
    model = nn.Sequential(nn.Unflatten(1, (2, 3)), nn.LayerNorm((2, 3), elementwise_affine=affine), nn.Flatten())
    if affine:
        for parameter in model.parameters():
            parameter.data[...] = np.random.default_rng(1).normal(size=parameter.shape)
    export_and_compare(model, images((6,)), [3, 5], tmp_path / "ln.onnx")


@pytest.mark.parametrize("opset", [13, 17, 18, 21, 23])
def test_layer_norm_and_reductions_at_other_opsets(tmp_path, opset):
    """Reduce* take their axes as an attribute before opset 18; LayerNormalization is 17+."""
    model = nn.Sequential(nn.Linear(5, 6, rng=0), nn.LayerNorm(6), nn.Unflatten(1, (2, 3)), nn.GlobalAvgPool1d(),
                          nn.Softmax())
    proto = export_and_compare(model, images((5,)), [3, 2], tmp_path / f"opset{opset}.onnx", opset=opset)
    assert proto.opset_import[0].version == opset
    assert ("LayerNormalization" in op_types(proto)) == (opset >= 17)
