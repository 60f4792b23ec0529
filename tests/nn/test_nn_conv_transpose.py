"""F.conv_transpose (1-D and 2-D), nn.ConvTranspose1d and nn.ConvTranspose2d: values and every
gradient (input, weight, bias) against PyTorch over strides, paddings, output_paddings,
dilations, kernel sizes and input sizes; finite differences; the adjoint identity with conv;
initialization; errors; configs and model files."""

import itertools
import json

import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import functional as F
from glassnet import nn
from oracle import check_against_torch, check_finite_differences

TORCH = {1: torch.nn.functional.conv_transpose1d, 2: torch.nn.functional.conv_transpose2d}


def case_1d():
    """(stride, padding, output_padding, dilation, kernel, length): every output_padding PyTorch
    accepts (smaller than the stride or the dilation) whose output is not empty."""
    for stride, padding, dilation, kernel, length in itertools.product([1, 2, 3], [0, 1, 2], [1, 2], [1, 3, 4],
                                                                         [1, 5]):
        for output_padding in range(max(stride, dilation)):
            if (length - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1 >= 1:
                yield stride, padding, output_padding, dilation, kernel, length


CASES_1D = list(case_1d())
CASES_2D = [  # stride, padding, output_padding, dilation, kernel, (H, W): non-square everywhere
    ((1, 1), (0, 0), (0, 0), (1, 1), (3, 3), (4, 4)),
    ((2, 2), (1, 1), (1, 1), (1, 1), (4, 4), (3, 3)),
    ((2, 1), (0, 1), (1, 0), (1, 1), (3, 2), (4, 5)),
    ((1, 3), (1, 0), (0, 2), (2, 1), (2, 4), (5, 3)),
    ((3, 2), (2, 1), (2, 1), (1, 2), (5, 3), (3, 4)),
    ((2, 2), (0, 2), (0, 1), (3, 2), (2, 3), (1, 6)),
    ((1, 2), (0, 0), (1, 0), (2, 1), (1, 1), (3, 2)),
]


def torch_transpose(d, stride, padding, output_padding, dilation):
    def fn(x, w, b):
        return TORCH[d](x, w, b, stride=stride, padding=padding, output_padding=output_padding,
                        dilation=dilation)
    return fn


def ours_transpose(stride, padding, output_padding, dilation):
    def fn(x, w, b):
        return F.conv_transpose(x, w, b, stride=stride, padding=padding, output_padding=output_padding,
                                dilation=dilation)
    return fn


# ---- values and gradients against PyTorch --------------------------------------------------------
@pytest.mark.parametrize("stride, padding, output_padding, dilation, kernel, length", CASES_1D)
def test_conv_transpose1d_matches_torch(stride, padding, output_padding, dilation, kernel, length):
    rng = np.random.default_rng(stride * 100 + padding * 10 + kernel)
    x, w, b = rng.normal(size=(2, 3, length)), rng.normal(size=(3, 4, kernel)), rng.normal(size=4)
    args = (stride, padding, output_padding, dilation)
    out = check_against_torch(ours_transpose(*args), torch_transpose(1, *args), x, w, b, atol=1e-12, rtol=1e-10)
    assert out.shape[-1] == (length - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


@pytest.mark.parametrize("stride, padding, output_padding, dilation, kernel, size", CASES_2D)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_conv_transpose2d_matches_torch(stride, padding, output_padding, dilation, kernel, size, dtype):
    rng = np.random.default_rng(7)
    x, w, b = rng.normal(size=(2, 3) + size), rng.normal(size=(3, 2) + kernel), rng.normal(size=2)
    args = (stride, padding, output_padding, dilation)
    tolerance = dict(atol=1e-12, rtol=1e-10) if dtype == np.float64 else dict(atol=1e-5, rtol=1e-5)
    check_against_torch(ours_transpose(*args), torch_transpose(2, *args), x, w, b, dtype=dtype, **tolerance)


@pytest.mark.parametrize("shape, weight_shape", [((1, 1, 6), (1, 1, 3)), ((1, 1, 3, 4), (1, 1, 2, 2)),
                                                 ((3, 1, 5), (1, 4, 2)), ((1, 4, 2, 3), (4, 1, 3, 1))])
def test_batch_of_one_and_single_channels_match_torch(shape, weight_shape):
    rng = np.random.default_rng(8)
    x, w, b = rng.normal(size=shape), rng.normal(size=weight_shape), rng.normal(size=weight_shape[1])
    d = len(shape) - 2
    check_against_torch(ours_transpose(2, 1, 1, 1), torch_transpose(d, 2, 1, 1, 1), x, w, b, atol=1e-12, rtol=1e-10)


@pytest.mark.parametrize("d", [1, 2])
def test_without_bias_and_one_tuple_per_axis_match_torch(d):
    rng = np.random.default_rng(9)
    x, w = rng.normal(size=(2, 3) + (4,) * d), rng.normal(size=(3, 5) + (3,) * d)
    check_against_torch(lambda x, w: F.conv_transpose(x, w, stride=(2,) * d, padding=(1,) * d,
                                                      output_padding=(1,) * d),
                        lambda x, w: TORCH[d](x, w, stride=2, padding=1, output_padding=1), x, w,
                        atol=1e-12, rtol=1e-10)
    named = F.conv_transpose1d if d == 1 else F.conv_transpose2d
    assert np.array_equal(named(gn.Tensor(x), gn.Tensor(w), stride=2).data,
                          F.conv_transpose(gn.Tensor(x), gn.Tensor(w), stride=2).data)


def test_float32_stays_float32_and_arrays_are_accepted():
    rng = np.random.default_rng(10)
    x = gn.Tensor(rng.normal(size=(2, 3, 5)).astype(np.float32), requires_grad=True)
    w = gn.Tensor(rng.normal(size=(3, 2, 3)).astype(np.float32), requires_grad=True)
    b = gn.Tensor(np.zeros(2, np.float32), requires_grad=True)
    y = F.conv_transpose(x, w, b, stride=2)
    y.sum().backward()
    assert y.dtype == np.float32 and all(t.grad.dtype == np.float32 for t in (x, w, b))
    plain = F.conv_transpose1d(x.data, w.data, np.zeros(2, np.float32), stride=2)  # arrays: constants
    assert plain.dtype == np.float32 and np.array_equal(plain.data, y.data)


# ---- finite differences --------------------------------------------------------------------------
@pytest.mark.parametrize("args, shapes", [
    ((2, 1, 1, 1), ((2, 3, 4), (3, 2, 3), (2,))),
    ((3, 0, 2, 2), ((1, 2, 3), (2, 3, 2), (3,))),
    (((2, 1), (1, 0), (1, 0), (1, 2)), ((2, 2, 3, 3), (2, 3, 3, 2), (3,))),
])
def test_gradients_match_finite_differences(args, shapes):
    rng = np.random.default_rng(11)
    check_finite_differences(ours_transpose(*args), *(rng.normal(size=shape) for shape in shapes))


# ---- the adjoint of conv -------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(12))
def test_conv_transpose_is_the_adjoint_of_conv(seed):
    """<conv(x, w), y> == <x, conv_transpose(y, w)>: the same weight, stride, padding and
    dilation, and the output_padding that gives back x's shape."""
    rng = np.random.default_rng(seed)
    d = 1 + seed % 2
    stride, padding, dilation = (tuple(int(v) for v in rng.integers(lo, hi, d))
                                 for lo, hi in ((1, 4), (0, 3), (1, 3)))
    kernel = tuple(int(v) for v in rng.integers(1, 5, d))
    size = tuple(2 * p + dl * (k - 1) + 1 + int(v) for p, dl, k, v in
                 zip(padding, dilation, kernel, rng.integers(0, 7, d)))
    x = rng.normal(size=(2, 3) + size)
    w = rng.normal(size=(4, 3) + kernel)  # conv: (O, C, *kernel); conv_transpose reads it as (C_in, C_out)
    conv = (F.conv1d if d == 1 else F.conv2d)(gn.Tensor(x), gn.Tensor(w), stride=stride, padding=padding,
                                              dilation=dilation)
    y = rng.normal(size=conv.shape)
    output_padding = tuple((n + 2 * p - dl * (k - 1) - 1) % s
                           for n, p, dl, k, s in zip(size, padding, dilation, kernel, stride))
    back = F.conv_transpose(gn.Tensor(y), gn.Tensor(w), stride=stride, padding=padding,
                            output_padding=output_padding, dilation=dilation)
    assert back.shape == x.shape
    assert np.isclose(np.sum(conv.data * y), np.sum(x * back.data), rtol=1e-12, atol=1e-10)


def test_forward_is_conv_input_gradient_and_backward_is_conv():
    """The two ops swap roles: conv_transpose(g) is conv's input gradient for upstream g, and
    conv_transpose's input gradient for upstream u is conv(u)."""
    rng = np.random.default_rng(12)
    x, w = gn.Tensor(rng.normal(size=(2, 3, 9)), requires_grad=True), gn.Tensor(rng.normal(size=(4, 3, 3)))
    conv = F.conv1d(x, w, stride=2, padding=1)
    g = rng.normal(size=conv.shape)
    conv.backward(g)
    np.testing.assert_allclose(F.conv_transpose1d(g, w, stride=2, padding=1).data, x.grad, rtol=1e-13, atol=1e-13)
    y = gn.Tensor(g, requires_grad=True)
    up = F.conv_transpose1d(y, w, stride=2, padding=1)
    u = rng.normal(size=up.shape)
    up.backward(u)
    np.testing.assert_allclose(y.grad, F.conv1d(u, w, stride=2, padding=1).data, rtol=1e-13, atol=1e-13)


# ---- the layers ----------------------------------------------------------------------------------
def compare_layer(ours, theirs, x, rtol, atol):
    with torch.no_grad():
        for name, parameter in ours.named_parameters():
            getattr(theirs, name).copy_(torch.tensor(parameter.data))
    x_ours, x_theirs = gn.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, expected = ours(x_ours), theirs(x_theirs)
    assert out.shape == tuple(expected.shape) and out.dtype == x.dtype
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=rtol, atol=atol, err_msg="output")
    upstream = np.random.default_rng(0).normal(size=out.shape).astype(x.dtype)
    out.backward(upstream)
    expected.backward(torch.tensor(upstream))
    np.testing.assert_allclose(x_ours.grad, x_theirs.grad.numpy(), rtol=rtol, atol=atol, err_msg="input grad")
    names = [name for name, _ in ours.named_parameters()]
    assert names == [name for name, _ in theirs.named_parameters()]
    for name, parameter in ours.named_parameters():
        assert parameter.grad.dtype == x.dtype
        np.testing.assert_allclose(parameter.grad, getattr(theirs, name).grad.numpy(), rtol=rtol, atol=atol,
                                   err_msg=f"{name} grad")


LAYER_CASES = [
    ("ConvTranspose1d", dict(kernel_size=4, stride=2, padding=1), (3, 3, 10)),
    ("ConvTranspose1d", dict(kernel_size=3, stride=3, padding=2, output_padding=2, dilation=2), (1, 3, 6)),
    ("ConvTranspose1d", dict(kernel_size=5, bias=False), (2, 3, 4)),
    ("ConvTranspose2d", dict(kernel_size=4, stride=2, padding=1), (2, 3, 4, 4)),
    ("ConvTranspose2d", dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 0), output_padding=(1, 0),
                             dilation=(1, 2)), (2, 3, 3, 5)),
    ("ConvTranspose2d", dict(kernel_size=3, stride=2, output_padding=1, bias=False), (1, 3, 2, 3)),
]


@pytest.mark.parametrize("name, kwargs, shape", LAYER_CASES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_layers_match_torch_with_copied_weights(name, kwargs, shape, dtype):
    torch_dtype = torch.float64 if dtype == np.float64 else torch.float32
    ours = getattr(nn, name)(3, 5, dtype=dtype, rng=0, **kwargs)
    theirs = getattr(torch.nn, name)(3, 5, dtype=torch_dtype, **kwargs)
    x = np.random.default_rng(13).normal(size=shape).astype(dtype)
    tolerance = dict(rtol=1e-10, atol=1e-12) if dtype == np.float64 else dict(rtol=1e-5, atol=1e-5)
    compare_layer(ours, theirs, x, **tolerance)


def test_dcgan_generator_float32_matches_torch():
    """A DCGAN-style stack (1x1 -> 4x4 -> 8x8) in float32, the default dtype."""
    ours = nn.Sequential(nn.ConvTranspose2d(8, 6, 4, rng=0), nn.ReLU(), nn.ConvTranspose2d(6, 1, 4, 2, 1, rng=1))
    theirs = torch.nn.Sequential(torch.nn.ConvTranspose2d(8, 6, 4), torch.nn.ReLU(),
                                 torch.nn.ConvTranspose2d(6, 1, 4, 2, 1)).float()
    with torch.no_grad():
        for (_, ours_p), theirs_p in zip(ours.named_parameters(), theirs.parameters()):
            theirs_p.copy_(torch.tensor(ours_p.data))
    x = np.random.default_rng(14).normal(size=(5, 8, 1, 1)).astype(np.float32)
    out, expected = ours(x), theirs(torch.tensor(x))
    assert out.shape == (5, 1, 8, 8) and out.dtype == np.float32
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_layer_gradients_match_finite_differences():
    from oracle import check_module_gradients
    rng = np.random.default_rng(15)
    check_module_gradients(nn.ConvTranspose1d(2, 3, 3, stride=2, padding=1, output_padding=1,
                                              dtype=np.float64, rng=0), rng.normal(size=(2, 2, 4)))
    check_module_gradients(nn.ConvTranspose2d(2, 2, (2, 3), stride=(1, 2), dilation=(2, 1),
                                              dtype=np.float64, rng=0), rng.normal(size=(1, 2, 3, 3)))


def test_default_initialization_uses_pytorchs_fan():
    """U(-a, a), a = 1 / sqrt(out_channels * prod(kernel)) for weight and bias, as in PyTorch."""
    layer = nn.ConvTranspose2d(50, 4, (3, 2), rng=0)
    bound = 1 / np.sqrt(4 * 3 * 2)
    weight = layer.weight.data
    assert weight.shape == (50, 4, 3, 2) and weight.dtype == np.float32
    assert np.abs(weight).max() <= bound and np.abs(weight).max() > 0.98 * bound
    assert abs(weight.std() - bound / np.sqrt(3)) < 0.01 * bound
    assert np.abs(layer.bias.data).max() <= bound
    assert np.array_equal(nn.ConvTranspose2d(50, 4, (3, 2), rng=0).weight.data, weight)  # seeded
    he = nn.ConvTranspose1d(8, 16, 4, weight_init="he_normal", bias_init="zeros", rng=1)
    assert abs(he.weight.data.std() - np.sqrt(2 / (16 * 4))) < 0.1 * np.sqrt(2 / (16 * 4))
    assert not he.bias.data.any()


# ---- errors --------------------------------------------------------------------------------------
@pytest.mark.parametrize("x_shape, w_shape, kwargs, error, match", [
    ((1, 2, 5), (2, 3, 3), dict(stride=2, output_padding=2), ValueError, "output_padding .* smaller than either"),
    ((1, 2, 5), (2, 3, 3), dict(output_padding=1), ValueError, "output_padding"),
    ((1, 2, 5), (2, 3, 3), dict(stride=1, dilation=2, output_padding=1), None, None),  # < dilation: allowed
    ((1, 4, 5), (2, 3, 3), {}, ValueError, "needs 2 input channels on axis 1, got 4"),
    ((1, 2, 5, 5), (2, 3, 3), {}, ValueError, "needs an input of 3 dimensions"),
    ((1, 2, 5), (2, 3), {}, ValueError, "weight of 3 dimensions .* or 4"),
    ((1, 2, 5, 5, 5), (2, 3, 3, 3, 3), {}, ValueError, "weight of 3 dimensions"),
    ((1, 2, 1), (2, 3, 1), dict(padding=1), ValueError, "too small"),
    ((1, 2, 5), (2, 3, 3), dict(stride=0), ValueError, "stride must be >= 1"),
    ((1, 2, 5), (2, 3, 3), dict(padding=-1), ValueError, "padding must be >= 0"),
    ((1, 2, 5), (2, 3, 3), dict(stride=(1, 2)), ValueError, "stride must be an int or a tuple of 1 ints"),
    ((1, 2, 5), (2, 3, 3), dict(stride=1.5), TypeError, "stride must be an int"),
])
def test_bad_arguments_raise_clear_errors(x_shape, w_shape, kwargs, error, match):
    x, w = gn.Tensor(np.ones(x_shape)), gn.Tensor(np.ones(w_shape))
    if error is None:
        assert F.conv_transpose(x, w, **kwargs).shape == (1, 3, 10)  # 4 + 2 * 2 + 1 + 1
        return
    with pytest.raises(error, match=match):
        F.conv_transpose(x, w, **kwargs)


def test_bias_and_dtype_mismatches_raise():
    x, w = gn.Tensor(np.ones((1, 2, 5))), gn.Tensor(np.ones((2, 3, 3)))
    with pytest.raises(ValueError, match=r"bias must have shape \(3,\)"):
        F.conv_transpose(x, w, gn.Tensor(np.ones(2)))
    with pytest.raises(TypeError, match="input dtype float32 differs from weight dtype float64"):
        F.conv_transpose(gn.Tensor(np.ones((1, 2, 5), np.float32)), w)
    with pytest.raises(ValueError, match="conv_transpose2d needs a weight of 4 dimensions"):
        F.conv_transpose2d(x, w)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(output_padding=1), ValueError, "output_padding .* smaller than either stride"),
    (dict(stride=2, output_padding=-1), ValueError, "output_padding must be >= 0"),
    (dict(in_channels=0), ValueError, "in_channels must be a positive int"),
    (dict(kernel_size=(2, 2)), ValueError, "kernel_size must be an int or a tuple of 1 ints"),
    (dict(bias="yes"), TypeError, "bias"),
    (dict(dtype=np.int32), (TypeError, ValueError), "dtype"),
])
def test_layer_arguments_are_checked_when_built(kwargs, error, match):
    arguments = dict(in_channels=2, out_channels=3, kernel_size=3) | kwargs
    with pytest.raises(error, match=match):
        nn.ConvTranspose1d(**arguments)


def test_layer_rejects_a_wrong_input_before_computing():
    layer = nn.ConvTranspose2d(3, 2, 3, rng=0)
    before = layer.weight.data.copy()
    with pytest.raises(ValueError, match=r"ConvTranspose2d expects input of shape \(N, 3, H, W\)"):
        layer(np.zeros((1, 2, 4, 4), np.float32))
    with pytest.raises(ValueError, match="expects input of shape"):
        layer(np.zeros((3, 4, 4), np.float32))
    assert np.array_equal(layer.weight.data, before) and layer.weight.grad is None


# ---- configs and model files ---------------------------------------------------------------------
@pytest.mark.parametrize("layer", [
    nn.ConvTranspose1d(3, 4, 5, stride=2, padding=1, output_padding=1, dilation=1, bias=False,
                       weight_init="xavier_uniform", dtype=np.float64, rng=0),
    nn.ConvTranspose2d(2, 6, (3, 1), stride=(2, 3), output_padding=(1, 2), dilation=(1, 2), rng=0),
], ids=repr)
def test_config_is_json_and_rebuilds_the_layer(layer):
    config = layer.get_config()
    text = json.dumps(config, allow_nan=False)  # JSON turns the size tuples into lists
    rebuilt = type(layer)(**json.loads(text))
    assert json.dumps(rebuilt.get_config()) == text
    assert repr(rebuilt) == repr(layer)
    assert {k: (v.shape, v.dtype) for k, v in rebuilt.state_dict().items()} == \
        {k: (v.shape, v.dtype) for k, v in layer.state_dict().items()}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("d", [1, 2])
def test_a_saved_decoder_loads_with_the_same_weights_and_outputs(tmp_path, dtype, d):
    layer = nn.ConvTranspose1d if d == 1 else nn.ConvTranspose2d
    model = nn.Sequential(layer(4, 3, 4, stride=2, padding=1, dtype=dtype, rng=0), nn.ReLU(),
                          layer(3, 2, 3, stride=2, output_padding=1, dilation=2, bias=False, dtype=dtype, rng=1))
    x = np.random.default_rng(16).normal(size=(2, 4) + (5,) * d).astype(dtype)
    path = tmp_path / "decoder.safetensors"
    gn.save(model, path)
    loaded = gn.load(path)
    assert repr(loaded) == repr(model)
    state, loaded_state = model.state_dict(), loaded.state_dict()
    assert list(loaded_state) == list(state)
    for key, array in state.items():
        assert loaded_state[key].dtype == array.dtype and np.array_equal(loaded_state[key], array), key
    expected = model(x).numpy()
    assert expected.shape == (2, 2) + (24,) * d  # 5 -> 10 -> 9 * 2 + 2 * 2 + 1 + 1
    assert np.array_equal(loaded(x).numpy(), expected)
