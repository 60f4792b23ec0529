"""Bad parameters, values, sample shapes and pairs: a clear error (TypeError for a wrong type,
ValueError for a wrong value, NotImplementedError for what has no closed form), raised before
anything is drawn; and the dtype rules (float32 by default, float64 kept, no silent upcast)."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.distributions import Bernoulli, Categorical, Normal, kl_divergence

F32, F64 = np.float32, np.float64

BAD_PARAMETERS = [
    (lambda: Normal(0.0, 0.0), ValueError, "scale must be > 0, got 0"),
    (lambda: Normal(0.0, np.array([1.0, -2.0])), ValueError, "scale must be > 0, got -2"),
    (lambda: Normal(np.array([0.0, np.nan]), 1.0), ValueError, "loc must be finite, got nan"),
    (lambda: Normal(0.0, np.inf), ValueError, "scale must be finite, got inf"),
    (lambda: Normal("0", 1.0), TypeError, "loc must be a Tensor, a NumPy array or a real number, got str"),
    (lambda: Normal(None, 1.0), TypeError, "loc must be .* got NoneType"),
    (lambda: Normal(True, 1.0), TypeError, "loc must be .* got bool"),
    (lambda: Normal(0.0, 1j), TypeError, "scale must be .* got complex"),
    (lambda: Normal([[1.0], [1.0, 2.0]], 1.0), TypeError, "loc must be"),
    (lambda: Normal(np.zeros(3), np.ones(4)), ValueError, r"loc and scale: shapes \(3,\) and \(4,\) do not broadcast"),
    (lambda: Normal(gn.Tensor(np.zeros(2)), gn.Tensor(np.ones(2, F32))), TypeError,
     "share one dtype.*loc float64, scale float32"),
    (lambda: Normal(gn.Tensor(np.zeros(2, F32)), np.array([1e300, 1.0])), ValueError,
     "scale: the values overflow float32"),
    (lambda: Bernoulli(probs=0.5, logits=0.0), ValueError, "exactly one of probs and logits, got both"),
    (lambda: Bernoulli(), ValueError, "exactly one of probs and logits, got neither"),
    (lambda: Bernoulli(probs=np.array([0.2, 1.5])), ValueError, r"probs must be in \[0, 1\], got 1.5"),
    (lambda: Bernoulli(probs=-0.1), ValueError, r"probs must be in \[0, 1\], got -0.1"),
    (lambda: Bernoulli(logits=np.nan), ValueError, "logits must be finite, got nan"),
    (lambda: Bernoulli(logits="high"), TypeError, "logits must be"),
    (lambda: Categorical(), ValueError, "exactly one of probs and logits, got neither"),
    (lambda: Categorical(probs=[0.5, 0.5], logits=[0.0, 0.0]), ValueError, "got both"),
    (lambda: Categorical(probs=0.5), ValueError, r"at least one axis.*got shape \(\)"),
    (lambda: Categorical(logits=np.zeros((3, 0))), ValueError, r"at least one category.*got shape \(3, 0\)"),
    (lambda: Categorical(probs=[0.5, -0.1]), ValueError, "probs must be >= 0, got -0.1"),
    (lambda: Categorical(probs=[[0.0, 0.0], [1.0, 1.0]]), ValueError, "positive, finite sum.*sums to 0"),
    (lambda: Categorical(probs=np.array([3e38, 3e38], F32)), ValueError, "positive, finite sum.*sums to inf"),
    (lambda: Categorical(probs=[0.5, np.nan]), ValueError, "probs must be finite, got nan"),
    (lambda: Categorical(logits=[np.inf, 0.0]), ValueError, "logits must be finite or -inf, got inf"),
    (lambda: Categorical(logits=[[0.0, -np.inf], [-np.inf, -np.inf]]), ValueError, "a row is -inf in every category"),
]


@pytest.mark.parametrize("make, error, message", BAD_PARAMETERS)
def test_bad_parameters_raise_clear_errors(make, error, message):
    with pytest.raises(error, match=message):
        make()


BAD_VALUES = [
    (Normal(0.0, 1.0), np.nan, ValueError, "value holds NaN, which is outside the support"),
    (Normal(np.zeros(3), 1.0), np.zeros(4), ValueError, r"value and batch_shape: shapes \(4,\) and \(3,\)"),
    (Normal(0.0, 1.0), "a", TypeError, "value must be a Tensor, a NumPy array or a real number, got str"),
    (Normal(0.0, 1.0), gn.Tensor(np.zeros(1)), TypeError, "value has dtype float64, the distribution float32"),
    (Bernoulli(probs=0.5), 0.5, ValueError, "value must hold only 0s and 1s.*got 0.5"),
    (Bernoulli(probs=[0.5, 0.5]), np.array([1.0, 2.0]), ValueError, "only 0s and 1s.*got 2"),
    (Bernoulli(logits=np.zeros(3)), np.zeros((2, 2)), ValueError, r"shapes \(2, 2\) and \(3,\) do not broadcast"),
    (Categorical(probs=[0.5, 0.5]), 1.5, ValueError, "value must hold integers.*got 1.5"),
    (Categorical(probs=[0.5, 0.5]), np.nan, ValueError, "value must hold integers.*got nan"),
    (Categorical(probs=[0.5, 0.5]), 2, ValueError, r"value must be a category in \[0, 1\], got 2"),
    (Categorical(probs=[0.5, 0.5]), np.array([0, -1]), ValueError, r"category in \[0, 1\], got -1"),
    (Categorical(probs=[0.5, 0.5]), True, TypeError, "value must be .* got bool"),
    (Categorical(probs=np.ones((3, 2))), np.zeros(4, int), ValueError, r"shapes \(4,\) and \(3,\) do not broadcast"),
]


@pytest.mark.parametrize("distribution, value, error, message", BAD_VALUES)
def test_values_outside_the_support_raise(distribution, value, error, message):
    with pytest.raises(error, match=message):
        distribution.log_prob(value)


@pytest.mark.parametrize("call, error, message", [
    (lambda d: d.sample(-1), ValueError, "shape entries must be an int >= 0, got -1"),
    (lambda d: d.sample("a"), TypeError, "shape must be an int or a tuple of ints, got str"),
    (lambda d: d.sample((2.5,)), TypeError, "shape entries must be an int >= 0, got float 2.5"),
    (lambda d: d.sample(True), TypeError, "shape must be an int or a tuple of ints, got bool"),
    (lambda d: d.sample(rng="x"), TypeError, "rng must be an int seed, a numpy.random.Generator or None"),
    (lambda d: d.rsample((3, -2)), ValueError, "shape entries must be an int >= 0, got -2"),
    (lambda d: d.rsample(rng=1.5), TypeError, "rng must be an int seed"),
])
def test_bad_sample_arguments_raise_before_drawing(call, error, message):
    distribution = Normal(0.0, 1.0)
    gn.seed(5)
    with pytest.raises(error, match=message):
        call(distribution)
    after_error = distribution.sample((4,)).data
    gn.seed(5)
    np.testing.assert_array_equal(after_error, distribution.sample((4,)).data)  # the generator did not move


def test_kl_errors():
    with pytest.raises(NotImplementedError, match="no closed form for p = Normal and q = Bernoulli"):
        kl_divergence(Normal(0.0, 1.0), Bernoulli(probs=0.5))
    with pytest.raises(NotImplementedError, match="p = Categorical and q = Bernoulli"):
        kl_divergence(Categorical(probs=[0.5, 0.5]), Bernoulli(probs=0.5))
    with pytest.raises(TypeError, match="q must be a distribution .* got int"):
        kl_divergence(Normal(0.0, 1.0), 3)
    with pytest.raises(TypeError, match="p must be a distribution"):
        kl_divergence("normal", Normal(0.0, 1.0))
    with pytest.raises(ValueError, match="p has 2 categories, q 3"):
        kl_divergence(Categorical(probs=[0.5, 0.5]), Categorical(probs=[0.2, 0.3, 0.5]))
    with pytest.raises(ValueError, match=r"batch shapes of p and q: shapes \(3,\) and \(4,\)"):
        kl_divergence(Normal(np.zeros(3), 1.0), Normal(np.zeros(4), 1.0))
    with pytest.raises(TypeError, match="p has dtype float64, q float32"):
        kl_divergence(Normal(gn.Tensor(np.zeros(2)), 1.0), Normal(gn.Tensor(np.zeros(2, F32)), 1.0))


# ---- dtypes ------------------------------------------------------------------------------------
@pytest.mark.parametrize("loc, scale, expected", [
    (0.0, 1.0, F32),                                     # numbers: float32, as gn.Tensor(0.0)
    ([0.0, 1.0], 2, F32),                                # lists and ints too
    (np.zeros(2), 1.0, F64),                             # a float64 array keeps float64
    (np.zeros(2, F32), np.ones(2, F64), F64),            # the wider of two arrays
    (np.zeros(2, np.int64), 1.0, F32),                   # integers: float32
    (gn.Tensor(np.zeros(2, F32)), np.ones(2, F64), F32),  # a constant takes the Tensor's dtype
    (1.0, gn.Tensor(np.ones(2, F64)), F64),
])
def test_dtype_follows_glassnet_rules(loc, scale, expected):
    distribution = Normal(loc, scale)
    assert distribution.dtype == expected
    for result in (distribution.log_prob(0.5), distribution.entropy(), distribution.mean, distribution.variance,
                   distribution.rsample(rng=0), distribution.sample(rng=0)):
        assert result.dtype == expected


def test_a_constant_distribution_takes_the_other_s_dtype_in_kl():
    """Normal(0.0, 1.0) is float32, yet a float64 posterior's KL against it stays float64."""
    mu = gn.Tensor(np.array([0.3, -0.2]), requires_grad=True)
    q = Normal(mu, np.array([0.5, 2.0]))
    expected = kl_divergence(q, Normal(np.zeros(2), np.ones(2)))  # the prior in float64 from the start
    for kl in (kl_divergence(q, Normal(0.0, 1.0)), kl_divergence(Normal(0.0, 1.0), q)):
        assert kl.dtype == F64 and kl.shape == (2,)
    np.testing.assert_allclose(kl_divergence(q, Normal(0.0, 1.0)).data, expected.data, rtol=1e-15)
    p, r = Bernoulli(logits=gn.Tensor(np.array([0.5]))), Bernoulli(probs=0.5)
    assert kl_divergence(p, r).dtype == F64


def test_gradients_flow_into_tensor_parameters_only():
    mu = gn.Tensor(np.array([0.5, 1.0]), requires_grad=True)
    distribution = Normal(mu, np.array([1.0, 2.0]))  # the scale is an array: a constant
    assert distribution.scale.requires_grad is False
    distribution.log_prob(np.array([0.0, 0.0])).sum().backward()
    np.testing.assert_allclose(mu.grad, [-0.5, -0.25])  # d/dmu log N(0; mu, s) = -mu / s^2
