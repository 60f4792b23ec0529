"""The element-wise paths taken only by larger arrays (ops/elementwise.py: ``_select`` for where,
``_positive_part`` for relu, from ``_SMALL`` entries on), against np.where / np.maximum bit for
bit and against PyTorch, with the values that tell selections apart: -0.0, inf, NaN, and upstream
gradients holding inf and NaN where the other branch is chosen."""

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import glassnet as gn
from glassnet import functional as F
from glassnet import losses
from glassnet.ops import elementwise
from oracle import check_against_torch

DTYPES = [np.float32, np.float64]
SPECIAL = [np.inf, -np.inf, np.nan, -0.0, 0.0]


def bits(array):
    return np.ascontiguousarray(array).view(np.uint8)


def with_specials(rng, shape, dtype):
    x = rng.normal(size=shape).astype(dtype)
    x.flat[:len(SPECIAL)] = SPECIAL
    return x


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shapes", [((5000,), (5000,), (5000,)), ((80, 1), (1, 90), (80, 90)),
                                    ((70, 80), (80,), ()), ((3, 70, 80), (70, 80), (3, 1, 1)),
                                    ((64, 65), (64, 65), (2, 64, 65))], ids=str)
def test_select_is_np_where_bit_for_bit(shapes, dtype, rng):
    condition = rng.random(shapes[0]) < 0.5
    a, b = with_specials(rng, shapes[1], dtype), with_specials(rng, shapes[2], dtype)
    if b.ndim:
        b = b[..., ::-1]  # a strided view
    expected = np.where(condition, a, b)
    got = elementwise._select(condition, a, b)
    assert got.dtype == dtype and got.shape == expected.shape
    np.testing.assert_array_equal(bits(got), bits(expected))
    g = with_specials(rng, expected.shape, dtype)
    for ours, numpys in ((elementwise._select(condition, g, None), np.where(condition, g, 0)),
                         (elementwise._select(condition, None, g), np.where(condition, 0, g))):
        np.testing.assert_array_equal(bits(ours), bits(numpys.astype(dtype)))


def test_select_leaves_other_dtypes_and_small_arrays_to_np_where(rng):
    condition = rng.random(5000) < 0.5
    ints = np.arange(5000)
    np.testing.assert_array_equal(elementwise._select(condition, ints, -ints), np.where(condition, ints, -ints))
    small = rng.normal(size=10).astype(np.float32)
    np.testing.assert_array_equal(elementwise._select(condition[:10], small, None), np.where(condition[:10], small, 0))


@pytest.mark.parametrize("dtype", DTYPES)
def test_where_and_its_gradients_on_large_arrays_match_torch(dtype, rng):
    condition = rng.random((60, 100)) < 0.5
    check_against_torch(lambda a, b: gn.where(condition, a, b),
                        lambda a, b: torch.where(torch.tensor(condition), a, b),
                        rng.normal(size=(60, 100)), rng.normal(size=(100,)), dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_where_sends_an_infinite_gradient_only_to_the_chosen_side(dtype, rng):
    condition = rng.random(6000) < 0.5
    a = gn.Tensor(rng.normal(size=6000).astype(dtype), requires_grad=True)
    b = gn.Tensor(rng.normal(size=6000).astype(dtype), requires_grad=True)
    upstream = np.full(6000, np.inf, dtype)
    gn.where(condition, a, b).backward(upstream)
    np.testing.assert_array_equal(a.grad, np.where(condition, np.inf, 0))
    np.testing.assert_array_equal(b.grad, np.where(condition, 0, np.inf))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["relu", "leaky_relu", "elu", "sigmoid", "silu", "softplus", "mish"])
def test_activations_on_large_arrays_match_torch(name, dtype, rng):
    torch_fn = {"relu": TF.relu, "leaky_relu": TF.leaky_relu, "elu": TF.elu, "sigmoid": torch.sigmoid,
                "silu": TF.silu, "softplus": TF.softplus, "mish": TF.mish}[name]
    x = rng.normal(size=(8, 6, 12, 12)) * 4
    tolerances = {} if dtype == np.float64 else {"atol": 1e-6, "rtol": 1e-5}
    check_against_torch(getattr(F, name), torch_fn, x, dtype=dtype, **tolerances)


@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_of_large_arrays_is_np_maximum_bit_for_bit(dtype, rng):
    x = with_specials(rng, (3, 70000), dtype)  # more than one block of zeros
    np.testing.assert_array_equal(bits(F.relu(x).data), bits(np.maximum(x, 0)))
    strided = x[:, ::2]  # not contiguous: NumPy's own call
    np.testing.assert_array_equal(bits(F.relu(strided).data), bits(np.maximum(strided, 0)))


def test_the_zero_blocks_cannot_be_written():
    for block in elementwise._ZEROS.values():
        assert not block.flags.writeable and not block.any()


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_tails_match_torch_without_warnings(dtype):
    x = np.array([-1e4, -800.0, -100.0, -88.0, -30.0, -17.0, -1e-8, 0.0, -0.0, 1e-8, 17.0, 30.0, 800.0, 1e4, np.inf,
                  -np.inf, np.nan] * 300, dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = F.sigmoid(x).data
    expected = torch.sigmoid(torch.tensor(x)).numpy()
    np.testing.assert_allclose(ours, expected, rtol=1e-6 if dtype == np.float32 else 1e-14, atol=0)
    assert F.sigmoid(np.float32(-3.0)).shape == ()  # a 0-d input stays 0-d


@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_with_logits_on_large_arrays_matches_torch(dtype, rng):
    targets = (rng.random((50, 100)) < 0.5).astype(dtype)
    logits = rng.normal(size=(50, 100)) * 20
    check_against_torch(lambda x: losses.binary_cross_entropy_with_logits(x, targets),
                        lambda x: TF.binary_cross_entropy_with_logits(x, torch.tensor(targets, dtype=x.dtype)),
                        logits, dtype=dtype, **({} if dtype == np.float64 else {"atol": 1e-6, "rtol": 1e-5}))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bounds", [(None, 0.0), (-0.5, None), (-0.5, 0.5)], ids=str)
def test_clip_with_one_or_two_bounds_matches_torch(bounds, dtype, rng):
    x = with_specials(rng, (70, 90), dtype)
    low, high = bounds
    ours = gn.ops.clip(gn.Tensor(x), low, high).data
    expected = torch.clamp(torch.tensor(x), low, high).numpy()
    assert ours.dtype == dtype
    np.testing.assert_array_equal(ours, expected)
    check_against_torch(lambda t: gn.ops.clip(t, low, high), lambda t: torch.clamp(t, low, high),
                        rng.normal(size=(70, 90)), dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_softplus_tails_without_warnings(dtype):
    x = np.array([-1e4, -100.0, -30.0, -1.0, -0.0, 0.0, 1.0, 30.0, 100.0, 1e4, np.inf, -np.inf, np.nan] * 400, dtype)
    t = gn.Tensor(x, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = F.softplus(t)
        y.sum().backward()
    with np.errstate(invalid="ignore"):  # logaddexp(0, inf) warns, and is inf
        expected = np.logaddexp(0, x.astype(np.float64))
    # (below the smallest normal float the results are subnormal, with fewer digits)
    np.testing.assert_allclose(y.data, expected, rtol=1e-6 if dtype == np.float32 else 1e-14, atol=np.finfo(dtype).tiny)
    assert y.dtype == dtype
    np.testing.assert_allclose(t.grad, torch.sigmoid(torch.tensor(x)).numpy(), rtol=1e-6, atol=0)
    assert F.softplus(np.float32(2.0)).shape == ()


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # np.matrix itself
def test_a_matrix_becomes_a_plain_array_and_array_subclasses_take_numpys_own_calls(rng):
    m = np.matrix(rng.normal(size=(300, 300)).astype(np.float32))  # more than one block of zeros
    t = gn.Tensor(m, requires_grad=True)
    assert type(t.data) is np.ndarray
    out = F.relu(t)
    np.testing.assert_array_equal(out.data, np.maximum(np.asarray(m), 0))
    out.backward(np.ones((300, 300), np.float32))
    np.testing.assert_array_equal(t.grad, np.asarray(m) > 0)  # elementwise, not a matrix product
    masked = np.ma.masked_array(rng.normal(size=70000), mask=rng.random(70000) < 0.1)
    np.testing.assert_array_equal(elementwise._positive_part(masked), np.maximum(masked, 0))
    condition = rng.random(70000) < 0.5
    np.testing.assert_array_equal(elementwise._select(condition, masked, None), np.where(condition, masked, 0))
