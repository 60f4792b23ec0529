"""nn.Conv1d, nn.Conv2d and the conv primitive: outputs and all gradients (input, weight, bias)
against torch over strides, paddings, dilations and non-square kernels; finite differences;
initialization; errors; configs; docstring examples."""

import itertools

import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import functional as F
from glassnet import nn
from oracle import check_finite_differences

TORCH_DTYPES = {np.float32: torch.float32, np.float64: torch.float64}


def compare_layer(ours, theirs, x, rtol=1e-7, atol=1e-9, seed=0):
    """Copy our parameters into the torch layer, run both, compare the output and the gradients
    of the input and of every parameter."""
    with torch.no_grad():
        for name, parameter in ours.named_parameters():
            getattr(theirs, name).copy_(torch.tensor(parameter.data))
    x_ours = gn.Tensor(x, requires_grad=True)
    x_theirs = torch.tensor(x, requires_grad=True)
    out, expected = ours(x_ours), theirs(x_theirs)
    assert out.shape == tuple(expected.shape) and out.dtype == x.dtype
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=rtol, atol=atol, err_msg="output")
    upstream = np.random.default_rng(seed).normal(size=out.shape).astype(x.dtype)
    out.backward(upstream)
    expected.backward(torch.tensor(upstream))
    np.testing.assert_allclose(x_ours.grad, x_theirs.grad.numpy(), rtol=rtol, atol=atol, err_msg="input grad")
    for name, parameter in ours.named_parameters():
        assert parameter.grad.dtype == x.dtype
        np.testing.assert_allclose(parameter.grad, getattr(theirs, name).grad.numpy(), rtol=rtol,
                                   atol=atol, err_msg=f"{name} grad")
    return out


CONV2D_CASES = list(itertools.product([1, 2], [0, 1, 2], [1, 2], [(3, 3), (2, 3), (1, 4)]))


@pytest.mark.parametrize("stride, padding, dilation, kernel", CONV2D_CASES)
def test_conv2d_matches_torch(stride, padding, dilation, kernel):
    rng = np.random.default_rng(1)
    ours = nn.Conv2d(3, 4, kernel, stride=stride, padding=padding, dilation=dilation,
                     dtype=np.float64, rng=0)
    theirs = torch.nn.Conv2d(3, 4, kernel, stride=stride, padding=padding, dilation=dilation,
                             dtype=torch.float64)
    compare_layer(ours, theirs, rng.normal(size=(2, 3, 9, 10)))


@pytest.mark.parametrize("stride, padding, dilation, kernel", [
    ((2, 1), (0, 2), (1, 2), (3, 2)), ((1, 3), (1, 0), (2, 1), (2, 4)), ((3, 2), (2, 1), (1, 1), (5, 3)),
])
def test_conv2d_per_axis_arguments_match_torch(stride, padding, dilation, kernel):
    rng = np.random.default_rng(2)
    ours = nn.Conv2d(2, 3, kernel, stride=stride, padding=padding, dilation=dilation,
                     dtype=np.float64, rng=0)
    theirs = torch.nn.Conv2d(2, 3, kernel, stride=stride, padding=padding, dilation=dilation,
                             dtype=torch.float64)
    compare_layer(ours, theirs, rng.normal(size=(3, 2, 11, 8)))


@pytest.mark.parametrize("stride, padding, dilation, kernel",
                         list(itertools.product([1, 2, 3], [0, 1, 2], [1, 2], [1, 3, 5])))
def test_conv1d_matches_torch(stride, padding, dilation, kernel):
    rng = np.random.default_rng(3)
    ours = nn.Conv1d(3, 5, kernel, stride=stride, padding=padding, dilation=dilation,
                     dtype=np.float64, rng=0)
    theirs = torch.nn.Conv1d(3, 5, kernel, stride=stride, padding=padding, dilation=dilation,
                             dtype=torch.float64)
    compare_layer(ours, theirs, rng.normal(size=(4, 3, 13)))


@pytest.mark.parametrize("layer", ["Conv1d", "Conv2d"])
def test_no_bias_matches_torch(layer):
    rng = np.random.default_rng(4)
    ours = getattr(nn, layer)(2, 3, 3, padding=1, bias=False, dtype=np.float64, rng=0)
    theirs = getattr(torch.nn, layer)(2, 3, 3, padding=1, bias=False, dtype=torch.float64)
    assert ours.bias is None and [n for n, _ in ours.named_parameters()] == ["weight"]
    shape = (2, 2, 7) if layer == "Conv1d" else (2, 2, 6, 5)
    compare_layer(ours, theirs, rng.normal(size=shape))


def test_mnist1d_cnn_float32_matches_torch():
    """The issue's MNIST-1D CNN stack, float32 (the default), as three layers in a row."""
    rng = np.random.default_rng(5)
    ours = nn.Sequential(nn.Conv1d(1, 25, 5, stride=2, padding=1, rng=0), nn.ReLU(),
                         nn.Conv1d(25, 25, 3, stride=2, padding=1, rng=1), nn.ReLU(),
                         nn.Conv1d(25, 25, 3, stride=2, padding=1, rng=2), nn.ReLU(),
                         nn.Flatten(), nn.Linear(125, 10, rng=3))
    theirs = torch.nn.Sequential(torch.nn.Conv1d(1, 25, 5, 2, 1), torch.nn.ReLU(),
                                 torch.nn.Conv1d(25, 25, 3, 2, 1), torch.nn.ReLU(),
                                 torch.nn.Conv1d(25, 25, 3, 2, 1), torch.nn.ReLU(),
                                 torch.nn.Flatten(), torch.nn.Linear(125, 10, dtype=torch.float32))
    theirs = theirs.float()
    with torch.no_grad():
        for (name, ours_p), theirs_p in zip(ours.named_parameters(), theirs.parameters()):
            # Our Linear weight is (in, out), torch's (out, in).
            theirs_p.copy_(torch.tensor(ours_p.data.T if name == "7.weight" else ours_p.data))
    x = rng.normal(size=(100, 1, 40)).astype(np.float32)
    x_ours, x_theirs = gn.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, expected = ours(x_ours), theirs(x_theirs)
    assert out.dtype == np.float32 and out.shape == (100, 10)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-4, atol=1e-5)
    out.sum().backward()
    expected.sum().backward()
    np.testing.assert_allclose(x_ours.grad, x_theirs.grad.numpy(), rtol=1e-4, atol=1e-5)
    for (name, ours_p), theirs_p in zip(ours.named_parameters(), theirs.parameters()):
        expected_grad = theirs_p.grad.numpy()
        np.testing.assert_allclose(ours_p.grad, expected_grad.T if name == "7.weight" else expected_grad,
                                   rtol=1e-4, atol=1e-4, err_msg=name)


def test_conv3d_primitive_matches_torch():
    """The primitive is N-dimensional: a 3-d case against torch.nn.functional.conv3d."""
    rng = np.random.default_rng(6)
    x, w, b = rng.normal(size=(2, 2, 6, 5, 7)), rng.normal(size=(3, 2, 2, 3, 2)), rng.normal(size=3)
    tensors = [gn.Tensor(a, requires_grad=True) for a in (x, w, b)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    out = gn.ops.conv(*tensors, stride=(1, 2, 2), padding=(1, 0, 1), dilation=(2, 1, 1))
    expected = torch.nn.functional.conv3d(*theirs, stride=(1, 2, 2), padding=(1, 0, 1), dilation=(2, 1, 1))
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    upstream = rng.normal(size=out.shape)
    out.backward(upstream)
    expected.backward(torch.tensor(upstream))
    for ours, reference in zip(tensors, theirs):
        np.testing.assert_allclose(ours.grad, reference.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("stride, padding, dilation", [(1, 0, 1), (2, 1, 1), (1, 2, 2), ((2, 1), (1, 0), (1, 2))])
def test_conv2d_finite_differences(stride, padding, dilation):
    rng = np.random.default_rng(7)
    check_finite_differences(
        lambda x, w, b: F.conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation),
        rng.normal(size=(2, 2, 5, 6)), rng.normal(size=(3, 2, 2, 3)), rng.normal(size=3))


@pytest.mark.parametrize("stride, padding, dilation", [(1, 0, 1), (2, 1, 1), (3, 2, 2)])
def test_conv1d_finite_differences(stride, padding, dilation):
    rng = np.random.default_rng(8)
    check_finite_differences(
        lambda x, w, b: F.conv1d(x, w, b, stride=stride, padding=padding, dilation=dilation),
        rng.normal(size=(2, 3, 9)), rng.normal(size=(2, 3, 3)), rng.normal(size=2))


def test_backward_does_not_use_np_add_at(monkeypatch):
    """The input gradient is gathered by kernel offsets, not with the slow np.add.at."""
    rng = np.random.default_rng(9)
    x = rng.normal(size=(2, 3, 8, 8))
    expected = torch.tensor(x, requires_grad=True)
    weight = rng.normal(size=(4, 3, 3, 3))
    torch.nn.functional.conv2d(expected, torch.tensor(weight), stride=2, padding=1).sum().backward()
    monkeypatch.setattr(np, "add", _UfuncWithoutAt(np.add))
    ours = gn.Tensor(x, requires_grad=True)
    F.conv2d(ours, gn.Tensor(weight), stride=2, padding=1).sum().backward()
    np.testing.assert_allclose(ours.grad, expected.grad.numpy(), rtol=1e-10, atol=1e-12)


class _UfuncWithoutAt:
    """np.add, except that np.add.at fails."""

    def __init__(self, ufunc):
        self._ufunc = ufunc

    def __call__(self, *args, **kwargs):
        return self._ufunc(*args, **kwargs)

    def __getattr__(self, name):
        if name == "at":
            raise AssertionError("np.add.at was called")
        return getattr(self._ufunc, name)


def test_default_init_is_pytorchs():
    """U(-a, a) with a = 1 / sqrt(in_channels * prod(kernel)) for the weight and the bias."""
    layer = nn.Conv2d(16, 64, (3, 5), rng=0)
    bound = 1 / np.sqrt(16 * 15)
    for values in (layer.weight.data, layer.bias.data):
        assert values.dtype == np.float32
        assert np.abs(values).max() <= bound
    assert np.abs(layer.weight.data).max() > 0.95 * bound
    np.testing.assert_allclose(layer.weight.data.std(), bound / np.sqrt(3), rtol=0.03)
    reference = torch.nn.Conv2d(16, 64, (3, 5))
    np.testing.assert_allclose(layer.weight.data.std(), reference.weight.detach().std().item(), rtol=0.05)


def test_named_initializers_and_seeds():
    he = nn.Conv1d(8, 32, 3, weight_init="he_normal", bias_init="zeros", rng=0)
    np.testing.assert_allclose(he.weight.data.std(), np.sqrt(2 / 24), rtol=0.05)
    assert not he.bias.data.any()
    np.testing.assert_array_equal(nn.Conv1d(2, 3, 3, rng=5).weight.data, nn.Conv1d(2, 3, 3, rng=5).weight.data)
    assert not np.array_equal(nn.Conv1d(2, 3, 3, rng=5).weight.data, nn.Conv1d(2, 3, 3, rng=6).weight.data)
    assert he.get_config()["weight_init"] == "he_normal"


def test_get_config_rebuilds_the_layer():
    layer = nn.Conv2d(3, 8, (3, 1), stride=(2, 1), padding=1, dilation=(1, 2), bias=False, dtype="float64")
    config = layer.get_config()
    assert config == {"in_channels": 3, "out_channels": 8, "kernel_size": (3, 1), "stride": (2, 1),
                      "padding": (1, 1), "dilation": (1, 2), "bias": False, "dtype": "float64"}
    rebuilt = nn.Conv2d(**config)
    assert rebuilt.get_config() == config and rebuilt.weight.shape == (8, 3, 3, 1)
    assert nn.Conv1d(**nn.Conv1d(1, 25, 5, stride=2, padding=1).get_config()).get_config()["stride"] == (2,)


def test_save_and_load_a_cnn(tmp_path):
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, rng=0), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(16, 2, rng=1))
    path = tmp_path / "cnn.safetensors"
    gn.save(model, path)
    loaded = gn.load(path)
    x = np.random.default_rng(0).normal(size=(3, 1, 4, 4)).astype(np.float32)
    np.testing.assert_array_equal(loaded(x).data, model(x).data)


@pytest.mark.parametrize("layer, shape, message", [
    (nn.Conv2d(3, 8, 3), (8, 1, 28, 28), "Conv2d expects input of shape (N, 3, H, W) (4 dims), got (8, 1, 28, 28)"),
    (nn.Conv2d(3, 8, 3), (8, 3, 28), "Conv2d expects input of shape (N, 3, H, W) (4 dims), got (8, 3, 28)"),
    (nn.Conv1d(1, 25, 5), (100, 40), "Conv1d expects input of shape (N, 1, L) (3 dims), got (100, 40)"),
    (nn.Conv1d(1, 25, 5), (100, 2, 40), "Conv1d expects input of shape (N, 1, L) (3 dims), got (100, 2, 40)"),
])
def test_wrong_rank_or_channels(layer, shape, message):
    with pytest.raises(ValueError) as error:
        layer(np.zeros(shape, np.float32))
    assert str(error.value) == message


def test_input_smaller_than_the_kernel():
    with pytest.raises(ValueError, match=r"spatial size \(4, 4\).*too small for kernel \(5, 5\)"):
        nn.Conv2d(1, 2, 5)(np.zeros((1, 1, 4, 4)))
    assert nn.Conv2d(1, 2, 5, padding=1)(np.zeros((1, 1, 4, 4))).shape == (1, 2, 2, 2)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"kernel_size": 0}, ValueError, "kernel_size must be >= 1"),
    ({"kernel_size": (3, 3, 3)}, ValueError, "kernel_size must be an int or a tuple of 2 ints, got 3 values"),
    ({"kernel_size": 2.5}, TypeError, "kernel_size must be an int"),
    ({"kernel_size": 3, "stride": 0}, ValueError, "stride must be >= 1"),
    ({"kernel_size": 3, "padding": -1}, ValueError, "padding must be >= 0"),
    ({"kernel_size": 3, "dilation": (1, 0)}, ValueError, "dilation must be >= 1"),
    ({"kernel_size": 3, "bias": 1}, TypeError, "bias must be True or False"),
    ({"kernel_size": 3, "dtype": np.int32}, TypeError, "dtype must be float32 or float64"),
    ({"kernel_size": 3, "weight_init": "nope"}, ValueError, "initializer must be .*, got 'nope'"),
])
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        nn.Conv2d(3, 4, **kwargs)


def test_functional_errors():
    x = gn.Tensor(np.zeros((2, 3, 5, 5)))
    with pytest.raises(ValueError, match=r"needs 3 input channels on axis 1, got 2"):
        F.conv2d(gn.Tensor(np.zeros((2, 2, 5, 5))), gn.Tensor(np.zeros((4, 3, 3, 3))))
    with pytest.raises(ValueError, match=r"conv1d needs a weight of 3 dimensions"):
        F.conv1d(x, gn.Tensor(np.zeros((4, 3, 3, 3))))
    with pytest.raises(TypeError, match="input dtype float32 differs from weight dtype float64"):
        F.conv2d(gn.Tensor(np.zeros((2, 3, 5, 5), np.float32)), gn.Tensor(np.zeros((4, 3, 3, 3))))
    with pytest.raises(ValueError, match=r"bias must have shape \(4,\), got \(3,\)"):
        F.conv2d(x, gn.Tensor(np.zeros((4, 3, 3, 3))), gn.Tensor(np.zeros(3)))


@pytest.mark.parametrize("input_shape, weight_shape", [
    ((1, 2, 5), (2, 2, 0)),        # an empty kernel: the output would be the bias alone
    ((1, 2, 5), (0, 2, 3)),        # no filters
    ((1, 0, 5), (2, 0, 3)),        # no input channels
    ((1, 2, 5, 5), (2, 2, 3, 0)),
])
def test_an_empty_weight_is_refused(input_shape, weight_shape):
    conv = F.conv1d if len(weight_shape) == 3 else F.conv2d
    with pytest.raises(ValueError, match=r"needs at least 1 entry on every axis, got shape"):
        conv(gn.Tensor(np.zeros(input_shape)), gn.Tensor(np.zeros(weight_shape)))


def test_float_dtype_is_kept_and_arrays_are_converted():
    layer = nn.Conv1d(2, 3, 3, rng=0)
    out = layer(np.ones((1, 2, 5)))  # a float64 array becomes the layer's float32
    assert out.dtype == np.float32
    with pytest.raises(TypeError, match="float64"):
        layer(gn.Tensor(np.ones((1, 2, 5))))
    assert repr(layer) == "Conv1d(2, 3, kernel_size=(3,), stride=(1,))"

