"""Max, average and global average pooling and Flatten: outputs and input gradients against
torch (odd sizes, padding, strides, dilation, ties), finite differences, errors, configs."""

import itertools

import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import functional as F
from glassnet import nn
from oracle import check_against_torch, check_finite_differences

TF = torch.nn.functional


def distinct_values(rng, shape):
    """Random values far apart from one another, so that a max never (nearly) ties and finite
    differences stay on one side of it."""
    return rng.permutation(np.prod(shape)).reshape(shape) * 0.1 + rng.uniform(-0.01, 0.01, shape)


MAX2D_CASES = [  # kernel, stride, padding, dilation
    (2, None, 0, 1), (3, 2, 1, 1), ((3, 2), (2, 1), (1, 1), 1), (3, 1, 1, 2), ((2, 3), 3, (1, 0), (2, 1)),
    (5, 2, 2, 1),
]


@pytest.mark.parametrize("kernel, stride, padding, dilation", MAX2D_CASES)
def test_max_pool2d_matches_torch(kernel, stride, padding, dilation):
    x = np.random.default_rng(0).normal(size=(2, 3, 9, 7))
    check_against_torch(lambda t: nn.MaxPool2d(kernel, stride, padding, dilation)(t),
                        lambda t: torch.nn.MaxPool2d(kernel, stride, padding, dilation)(t), x)


@pytest.mark.parametrize("kernel, stride, padding, dilation",
                         [(2, None, 0, 1), (3, 2, 1, 1), (3, 1, 1, 2), (4, 3, 2, 1), (5, 2, 0, 2)])
def test_max_pool1d_matches_torch(kernel, stride, padding, dilation):
    x = np.random.default_rng(1).normal(size=(3, 2, 15))
    check_against_torch(lambda t: nn.MaxPool1d(kernel, stride, padding, dilation)(t),
                        lambda t: torch.nn.MaxPool1d(kernel, stride, padding, dilation)(t), x)


def test_max_pool_ties_send_the_gradient_to_the_first_max():
    """Integer-valued inputs with many ties, overlapping windows: the same routing as torch."""
    x = np.random.default_rng(2).integers(0, 3, size=(2, 2, 7, 8)).astype(np.float64)
    check_against_torch(lambda t: F.max_pool2d(t, 3, stride=1, padding=1),
                        lambda t: TF.max_pool2d(t, 3, stride=1, padding=1), x)
    ours = gn.Tensor(np.array([[[2.0, 2.0, 1.0, 2.0]]]), requires_grad=True)
    F.max_pool1d(ours, 2).sum().backward()
    np.testing.assert_array_equal(ours.grad, [[[1.0, 0.0, 0.0, 1.0]]])


AVG2D_CASES = list(itertools.product([2, 3, (3, 2)], [None, 1, (2, 1)], [0, 1], [True, False]))


@pytest.mark.parametrize("kernel, stride, padding, count_include_pad", AVG2D_CASES)
def test_avg_pool2d_matches_torch(kernel, stride, padding, count_include_pad):
    x = np.random.default_rng(3).normal(size=(2, 3, 9, 7))
    check_against_torch(lambda t: nn.AvgPool2d(kernel, stride, padding, count_include_pad)(t),
                        lambda t: torch.nn.AvgPool2d(kernel, stride, padding,
                                                     count_include_pad=count_include_pad)(t), x)


@pytest.mark.parametrize("kernel, stride, padding, count_include_pad",
                         [(2, None, 0, True), (3, 2, 1, True), (3, 2, 1, False), (5, 1, 2, False), (4, 3, 2, True)])
def test_avg_pool1d_matches_torch(kernel, stride, padding, count_include_pad):
    x = np.random.default_rng(4).normal(size=(3, 2, 15))
    check_against_torch(lambda t: nn.AvgPool1d(kernel, stride, padding, count_include_pad)(t),
                        lambda t: torch.nn.AvgPool1d(kernel, stride, padding,
                                                     count_include_pad=count_include_pad)(t), x)


@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool3d_matches_torch(count_include_pad):
    x = np.random.default_rng(6).normal(size=(2, 2, 5, 6, 7))
    sizes = (2, 3, 2), (2, 1, 2), (1, 1, 0)  # kernel, stride, padding
    check_against_torch(lambda t: gn.ops.avg_pool(t, *sizes, count_include_pad),
                        lambda t: TF.avg_pool3d(t, *sizes, count_include_pad=count_include_pad), x)


def test_pooling_float32():
    x = np.random.default_rng(5).normal(size=(4, 3, 11, 11)).astype(np.float32)
    for ours, theirs in ((nn.MaxPool2d(3, 2, 1), torch.nn.MaxPool2d(3, 2, 1)),
                         (nn.AvgPool2d(3, 2, 1), torch.nn.AvgPool2d(3, 2, 1))):
        out = ours(x)
        assert out.dtype == np.float32
        np.testing.assert_allclose(out.data, theirs(torch.tensor(x)).numpy(), rtol=1e-6, atol=1e-6)


def test_global_avg_pool_matches_torch():
    rng = np.random.default_rng(6)
    check_against_torch(lambda t: nn.GlobalAvgPool2d()(t),
                        lambda t: torch.nn.AdaptiveAvgPool2d(1)(t).flatten(1), rng.normal(size=(3, 4, 5, 7)))
    check_against_torch(lambda t: nn.GlobalAvgPool1d()(t),
                        lambda t: torch.nn.AdaptiveAvgPool1d(1)(t).flatten(1), rng.normal(size=(3, 4, 9)))


@pytest.mark.parametrize("start_dim, end_dim", [(1, -1), (0, -1), (1, 2), (2, 3), (-2, -1), (0, 0)])
def test_flatten_matches_torch(start_dim, end_dim):
    x = np.random.default_rng(7).normal(size=(2, 3, 4, 5))
    check_against_torch(lambda t: nn.Flatten(start_dim, end_dim)(t),
                        lambda t: torch.nn.Flatten(start_dim, end_dim)(t), x)


def test_flatten_follows_a_transposed_view():
    """A non-contiguous input (conv outputs may be views) flattens in logical row-major order."""
    x = np.arange(24.0).reshape(2, 4, 3)
    view = gn.Tensor(x).transpose(0, 2, 1)
    np.testing.assert_array_equal(nn.Flatten()(view).data, x.transpose(0, 2, 1).reshape(2, 12))


@pytest.mark.parametrize("fn", [
    lambda t: F.max_pool2d(t, (3, 2), stride=(2, 1), padding=1),
    lambda t: F.max_pool1d(t.reshape(2, 3, 20), 3, stride=2, padding=1, dilation=2),
    lambda t: F.avg_pool2d(t, 3, stride=2, padding=1, count_include_pad=False),
    lambda t: F.avg_pool1d(t.reshape(2, 3, 20), 4, stride=3, padding=2),
    lambda t: F.global_avg_pool(t),
])
def test_finite_differences(fn):
    check_finite_differences(fn, distinct_values(np.random.default_rng(8), (2, 3, 5, 4)))


@pytest.mark.parametrize("layer, shape, message", [
    (nn.MaxPool2d(2), (8, 28, 28), "MaxPool2d expects input of shape (N, C, H, W) (4 dims), got (8, 28, 28)"),
    (nn.MaxPool1d(2), (8, 3, 28, 28), "MaxPool1d expects input of shape (N, C, L) (3 dims), got (8, 3, 28, 28)"),
    (nn.AvgPool2d(2), (28, 28), "AvgPool2d expects input of shape (N, C, H, W) (4 dims), got (28, 28)"),
    (nn.AvgPool1d(2), (8, 40), "AvgPool1d expects input of shape (N, C, L) (3 dims), got (8, 40)"),
    (nn.GlobalAvgPool2d(), (8, 3, 4), "GlobalAvgPool2d expects input of shape (N, C, H, W) (4 dims), got (8, 3, 4)"),
    (nn.GlobalAvgPool1d(), (8, 3), "GlobalAvgPool1d expects input of shape (N, C, L) (3 dims), got (8, 3)"),
])
def test_wrong_rank(layer, shape, message):
    with pytest.raises(ValueError) as error:
        layer(np.zeros(shape))
    assert str(error.value) == message


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"padding \(2, 2\) must be at most half the kernel size \(3, 3\)"):
        nn.MaxPool2d(3, padding=2)
    with pytest.raises(ValueError, match="at most half"):
        nn.AvgPool1d(2, padding=2)
    assert nn.MaxPool1d(3, padding=2, dilation=2).padding == (2,)  # effective kernel 5
    with pytest.raises(ValueError, match="kernel_size must be >= 1"):
        nn.AvgPool2d(0)
    with pytest.raises(ValueError, match="stride must be an int or a tuple of 1 ints, got 2 values"):
        nn.MaxPool1d(2, stride=(1, 1))
    with pytest.raises(TypeError, match="stride must be an int or a tuple of 1 ints"):
        nn.MaxPool1d(2, stride=(1.5,))
    with pytest.raises(TypeError, match="count_include_pad must be True or False"):
        nn.AvgPool2d(2, count_include_pad="yes")
    with pytest.raises(ValueError, match=r"too small for kernel \(5,\)"):
        nn.MaxPool1d(5)(np.zeros((1, 1, 4)))
    with pytest.raises(ValueError, match="end_dim 3 is out of range for an input with 3 dimensions"):
        nn.Flatten(1, 3)(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="start_dim 2 comes after end_dim 1"):
        F.flatten(np.zeros((2, 3, 4)), 2, 1)
    with pytest.raises(TypeError, match="start_dim must be an int"):
        nn.Flatten(1.0)
    with pytest.raises(ValueError, match=r"global_avg_pool expects an input of shape \(N, C, \*spatial\)"):
        F.global_avg_pool(np.zeros((2, 3)))


def test_configs_rebuild_the_layers():
    layers = [nn.MaxPool2d((3, 2), stride=1, padding=1, dilation=(1, 2)), nn.MaxPool1d(2),
              nn.AvgPool2d(3, 2, 1, count_include_pad=False), nn.AvgPool1d(4, padding=1),
              nn.GlobalAvgPool1d(), nn.GlobalAvgPool2d(), nn.Flatten(0, 2)]
    for layer in layers:
        config = layer.get_config()
        rebuilt = type(layer)(**config)
        assert rebuilt.get_config() == config
    assert layers[0].get_config() == {"kernel_size": (3, 2), "stride": (1, 1), "padding": (1, 1),
                                      "dilation": (1, 2)}
    assert layers[1].get_config()["stride"] == (2,)  # None becomes the kernel size
    assert layers[4].get_config() == {} and layers[6].get_config() == {"start_dim": 0, "end_dim": 2}


@pytest.mark.parametrize("layer, shape, out_shape", [
    (nn.MaxPool2d(2), (0, 3, 4, 4), (0, 3, 2, 2)),
    (nn.MaxPool2d(3, stride=1, padding=1), (0, 1, 5, 5), (0, 1, 5, 5)),
    (nn.MaxPool1d(2, dilation=2), (0, 2, 7), (0, 2, 3)),
    (nn.AvgPool2d(2, padding=1, count_include_pad=False), (0, 1, 4, 4), (0, 1, 3, 3)),
    (nn.AvgPool1d(2), (0, 2, 4), (0, 2, 2)),
    (nn.MaxPool2d(2), (2, 0, 4, 4), (2, 0, 2, 2)),
])
def test_a_batch_of_no_samples_gives_no_samples_and_backward_works(layer, shape, out_shape):
    # MaxPool used to raise NumPy's "cannot reshape array of size 0" (it reshaped with -1).
    x = gn.Tensor(np.zeros(shape, np.float32), requires_grad=True)
    y = layer(x)
    assert y.shape == out_shape and y.dtype == np.float32
    if shape[0] == 0:  # PyTorch takes a batch of none (not zero channels): the same shape
        assert y.shape == tuple(getattr(torch.nn, type(layer).__name__)(**layer.get_config())(
            torch.zeros(shape)).shape)
    y.sum().backward()
    assert x.grad.shape == shape


# ---- windows of 2 that tile the input (ops.pooling._halving_max) ---------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(2, 3, 8), (3, 2, 6, 8), (2, 2, 4, 6, 2), (64, 6, 28, 28)])
def test_windows_of_two_with_many_ties_match_torch(shape, dtype):
    # Integer values 0..2 (after ReLU-like clipping many windows are all 0): every tie pattern
    # occurs; the gradient must reach the first maximum in row-major order, as torch's does.
    x = np.maximum(np.random.default_rng(3).integers(-1, 3, size=shape), 0).astype(dtype)
    d = len(shape) - 2
    pool = {1: TF.max_pool1d, 2: TF.max_pool2d, 3: TF.max_pool3d}[d]
    check_against_torch(lambda t: gn.ops.max_pool(t, (2,) * d, (2,) * d, (0,) * d, (1,) * d),
                        lambda t: pool(t, 2), x, dtype=dtype, atol=0, rtol=0)


def test_windows_of_two_finite_differences_and_every_path_agrees():
    rng = np.random.default_rng(4)
    x = distinct_values(rng, (2, 3, 6, 4))
    check_finite_differences(lambda t: F.max_pool2d(t, 2), x)
    g = rng.normal(size=(2, 3, 3, 2))
    fast = gn.Tensor(x, requires_grad=True)
    F.max_pool2d(fast, 2).backward(g)
    general = gn.Tensor(np.asfortranarray(x), requires_grad=True)  # not C-contiguous: the general path
    F.max_pool2d(general, 2).backward(g)
    np.testing.assert_array_equal(fast.grad, general.grad)
    with gn.no_grad():  # no gradient wanted: the general forward
        np.testing.assert_array_equal(F.max_pool2d(gn.Tensor(x), 2).numpy(), F.max_pool2d(fast, 2).numpy())


def test_windows_of_two_with_a_nan_take_the_general_path():
    x = np.arange(32.0).reshape(1, 2, 4, 4)
    x[0, 0, 1, 0] = np.nan
    fast = gn.Tensor(x, requires_grad=True)
    y = F.max_pool2d(fast, 2)
    y.sum().backward()
    general = gn.Tensor(np.asfortranarray(x), requires_grad=True)
    F.max_pool2d(general, 2).sum().backward()
    assert np.isnan(y.numpy()[0, 0, 0, 0]) and not np.isnan(y.numpy()[0, 0, 0, 1])
    np.testing.assert_array_equal(fast.grad, general.grad)
    assert fast.grad[0, 0, 1, 0] == 1 and fast.grad[0, 0, :2, :2].sum() == 1
