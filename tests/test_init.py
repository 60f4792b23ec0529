"""Weight initializers: shapes, dtypes, seeded reproducibility, and empirical statistics that match
the formulas (and PyTorch's fan computation for convolution weights)."""

import math

import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import init

RANDOM = ["normal", "uniform", "xavier_uniform", "xavier_normal", "he_uniform", "he_normal"]
ALL = ["zeros"] + RANDOM


@pytest.mark.parametrize("shape", [(3, 5), (4, 2, 3, 3), (6, 2, 5)], ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ALL)
def test_shape_and_dtype(name, dtype, shape):
    w = getattr(init, name)(shape, dtype=dtype, rng=0)
    assert isinstance(w, np.ndarray) and w.shape == shape and w.dtype == dtype
    assert np.all(np.isfinite(w))


def test_default_dtype_is_float32_and_int_shape():
    assert init.he_normal((3, 4), rng=0).dtype == np.float32
    assert init.normal(5, rng=0).shape == (5,)
    np.testing.assert_array_equal(init.zeros((2, 2)), np.zeros((2, 2)))


@pytest.mark.parametrize("name", RANDOM)
def test_seeded_reproducibility(name):
    fn = getattr(init, name)
    np.testing.assert_array_equal(fn((20, 10), rng=7), fn((20, 10), rng=7))
    from_generators = [fn((20, 10), rng=np.random.default_rng(7)) for _ in range(2)]
    np.testing.assert_array_equal(*from_generators)
    np.testing.assert_array_equal(from_generators[0], fn((20, 10), rng=7))  # seed = Generator(seed)
    assert not np.array_equal(fn((20, 10), rng=7), fn((20, 10), rng=8))
    generator = np.random.default_rng(0)
    assert not np.array_equal(fn((20, 10), rng=generator), fn((20, 10), rng=generator))  # it advances
    gn.seed(3)
    first = fn((20, 10))
    gn.seed(3)
    np.testing.assert_array_equal(first, fn((20, 10)))  # the default generator, reset by gn.seed


def test_rng_of_the_wrong_type():
    with pytest.raises(TypeError, match="int seed, a numpy.random.Generator or None"):
        init.normal((2, 2), rng="seed")
    with pytest.raises(TypeError, match="got bool"):
        init.normal((2, 2), rng=True)


FAN_IN, FAN_OUT = 400, 300
STATISTICS = {  # name: (kind, expected std, bound of a uniform)
    "xavier_uniform": ("uniform", math.sqrt(2 / (FAN_IN + FAN_OUT)), math.sqrt(6 / (FAN_IN + FAN_OUT))),
    "xavier_normal": ("normal", math.sqrt(2 / (FAN_IN + FAN_OUT)), None),
    "he_uniform": ("uniform", math.sqrt(2 / FAN_IN), math.sqrt(6 / FAN_IN)),
    "he_normal": ("normal", math.sqrt(2 / FAN_IN), None),
}


@pytest.mark.parametrize("name", STATISTICS)
def test_empirical_statistics_match_the_formula(name):
    kind, std, bound = STATISTICS[name]
    w = getattr(init, name)((FAN_IN, FAN_OUT), rng=0).astype(np.float64)  # 120,000 draws
    assert abs(w.mean()) < 0.01 * std * 5  # standard error of the mean is std / 346
    np.testing.assert_allclose(w.std(), std, rtol=0.01)
    if kind == "uniform":
        assert np.abs(w).max() <= bound
        assert np.abs(w).max() > 0.999 * bound
        np.testing.assert_allclose(np.mean(np.abs(w) < bound / 2), 0.5, atol=0.01)
    else:
        np.testing.assert_allclose(np.mean(np.abs(w) < std), 0.6827, atol=0.01)


def test_normal_and_uniform_parameters():
    w = init.normal((300, 300), mean=1.0, std=0.5, rng=0)
    np.testing.assert_allclose([w.mean(), w.std()], [1.0, 0.5], rtol=0.01)
    u = init.uniform((300, 300), low=-2.0, high=1.0, rng=0)
    assert u.min() >= -2.0 and u.max() <= 1.0
    np.testing.assert_allclose([u.mean(), u.std()], [-0.5, 3 / math.sqrt(12)], rtol=0.02, atol=0.01)
    x = init.xavier_normal((200, 300), gain=2.0, rng=0)
    np.testing.assert_allclose(x.std(), 2.0 * math.sqrt(2 / 500), rtol=0.02)


@pytest.mark.parametrize("shape", [(16, 8, 3, 3), (4, 6, 5), (2, 3, 2, 4, 5)], ids=str)
def test_conv_fans_match_torch(shape):
    expected = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    assert init.fans(shape) == expected
    fan_in, fan_out = expected
    assert np.abs(init.he_uniform(shape, rng=1)).max() <= math.sqrt(6 / fan_in)
    assert np.abs(init.xavier_uniform(shape, rng=1)).max() <= math.sqrt(6 / (fan_in + fan_out))


def test_conv_weight_statistics():
    shape = (64, 32, 3, 3)  # fan_in = 288, fan_out = 576; 18,432 draws
    np.testing.assert_allclose(init.he_normal(shape, rng=2).std(), math.sqrt(2 / 288), rtol=0.03)
    np.testing.assert_allclose(init.xavier_uniform(shape, rng=2).std(), math.sqrt(2 / 864), rtol=0.03)


def test_linear_fans_follow_our_weight_layout():
    assert init.fans((784, 256)) == (784, 256)  # (in_features, out_features), torch's transpose
    expected = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(256, 784))
    assert init.fans((784, 256)) == expected


def test_fans_errors():
    with pytest.raises(ValueError, match=r"2 or more dimensions, got shape \(5,\)"):
        init.he_normal((5,))
    with pytest.raises(ValueError, match="negative sizes"):
        init.normal((3, -1))
    with pytest.raises(ValueError, match="low < high, got low=1.0, high=1.0"):
        init.uniform((2, 2), low=1.0, high=1.0)


def test_get_by_name():
    assert init.get("he_normal") is init.he_normal
    assert init.get("glorot_uniform") is init.xavier_uniform
    assert init.get("kaiming_normal") is init.he_normal
    assert init.get(init.zeros) is init.zeros
    np.testing.assert_array_equal(init.get("xavier_normal")((3, 4), rng=2),
                                  init.xavier_normal((3, 4), rng=2))
    with pytest.raises(ValueError, match="initializer must be .*'he_normal'.*, got 'he_magic'"):
        init.get("he_magic")
    with pytest.raises(TypeError, match="initializer must be .*, got NoneType None"):
        init.get(None)
