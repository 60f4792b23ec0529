"""Sampling: moments on 10^5 draws within a few standard errors, shapes (shape + batch_shape),
seeding (glassnet.seed, an int, a Generator), no gradient through sample(), and rsample's graph."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.distributions import Bernoulli, Categorical, Normal

N = 100_000
Z = 4.5  # standard errors allowed: a false alarm about once in 10^5 checks


def test_normal_sample_mean_and_variance():
    loc, scale = np.array([0.5, -2.0, 10.0]), np.array([1.0, 3.0, 0.01])
    draws = Normal(loc, scale).sample((N,), rng=0).data
    assert draws.shape == (N, 3)
    np.testing.assert_array_less(np.abs(draws.mean(axis=0) - loc), Z * scale / np.sqrt(N))
    # the sample variance of normal draws has standard error sigma^2 sqrt(2 / (n - 1))
    np.testing.assert_array_less(np.abs(draws.var(axis=0, ddof=1) - scale ** 2), Z * scale ** 2 * np.sqrt(2 / (N - 1)))


def test_normal_rsample_moments_and_its_draws_are_sample_s():
    mu = gn.Tensor(np.array([1.0, -1.0]), requires_grad=True)
    sigma = gn.Tensor(np.array([0.5, 2.0]), requires_grad=True)
    q = Normal(mu, sigma)
    z = q.rsample((N,), rng=4)
    np.testing.assert_array_less(np.abs(z.data.mean(axis=0) - mu.data), Z * sigma.data / np.sqrt(N))
    np.testing.assert_array_less(np.abs(z.data.std(axis=0) - sigma.data), Z * sigma.data / np.sqrt(2 * N))
    np.testing.assert_array_equal(q.sample((N,), rng=4).data, z.data)  # one noise, with or without a graph


@pytest.mark.parametrize("p", [0.0, 0.03, 0.5, 0.93, 1.0])
def test_bernoulli_frequency(p):
    draws = Bernoulli(probs=np.full(2, p)).sample((N,), rng=1).data
    assert set(np.unique(draws)) <= {0.0, 1.0}
    frequency = draws.mean(axis=0)
    if p in (0.0, 1.0):
        np.testing.assert_array_equal(frequency, [p, p])
    else:
        np.testing.assert_array_less(np.abs(frequency - p), Z * np.sqrt(p * (1 - p) / N))


def test_bernoulli_from_logits_has_the_frequency_of_sigmoid():
    logits = np.array([-3.0, 0.0, 2.5])
    p = 1 / (1 + np.exp(-logits))
    frequency = Bernoulli(logits=logits).sample((N,), rng=2).data.mean(axis=0)
    np.testing.assert_array_less(np.abs(frequency - p), Z * np.sqrt(p * (1 - p) / N))


@pytest.mark.parametrize("param", ["probs", "logits"])
def test_categorical_frequencies(param):
    probs = np.array([[0.1, 0.0, 0.2, 0.7], [0.25, 0.25, 0.25, 0.25], [0.0, 0.0, 0.0, 1.0], [0.5, 0.5, 0.0, 0.0]])
    with np.errstate(divide="ignore"):
        theta = probs * 3.0 if param == "probs" else np.log(probs) + 1.5  # unnormalized either way
    draws = Categorical(**{param: theta}).sample((N,), rng=3).data
    assert draws.shape == (N, 4) and np.array_equal(draws, np.round(draws))
    for row in range(4):
        frequency = np.bincount(draws[:, row].astype(int), minlength=4) / N
        # within Z standard errors; exactly 0 where p = 0 and 1 where p = 1 (a standard error of 0)
        assert np.all(np.abs(frequency - probs[row]) <= Z * np.sqrt(probs[row] * (1 - probs[row]) / N)), frequency


def test_categorical_ignores_zero_categories_at_the_end_of_the_row():
    """Rounding in the cdf cannot reach a trailing category of probability 0."""
    probs = np.array([1 / 3, 1 / 3, 1 / 3, 0.0, 0.0], dtype=np.float32)
    draws = Categorical(probs=probs).sample((N,), rng=5).data
    assert draws.max() == 2.0 and draws.min() == 0.0


@pytest.mark.parametrize("shape, expected", [((), (2, 3)), (5, (5, 2, 3)), ((5,), (5, 2, 3)), ((4, 1), (4, 1, 2, 3)),
                                             ((0,), (0, 2, 3)), ([2, 2], (2, 2, 2, 3))])
def test_sample_shapes_are_shape_then_batch_shape(shape, expected):
    normal = Normal(np.zeros((2, 1)), np.ones(3))
    bernoulli = Bernoulli(probs=np.full((2, 3), 0.5))
    categorical = Categorical(logits=np.zeros((2, 3, 7)))
    for distribution in (normal, bernoulli, categorical):
        assert distribution.batch_shape == (2, 3) and distribution.event_shape == ()
        assert distribution.sample(shape, rng=0).shape == expected
    assert normal.rsample(shape, rng=0).shape == expected


@pytest.mark.parametrize("make", [lambda: Normal(0.0, 1.0), lambda: Bernoulli(probs=0.3),
                                  lambda: Categorical(probs=[0.2, 0.3, 0.5])],
                         ids=["normal", "bernoulli", "categorical"])
def test_seeding_gives_the_same_draws(make):
    distribution = make()
    gn.seed(11)
    first = distribution.sample((50,)).data
    gn.seed(11)
    np.testing.assert_array_equal(distribution.sample((50,)).data, first)  # glassnet.seed
    np.testing.assert_array_equal(distribution.sample((50,), rng=11).data, distribution.sample((50,), rng=11).data)
    generator = np.random.default_rng(11)
    a, b = distribution.sample((50,), rng=generator).data, distribution.sample((50,), rng=generator).data
    assert not np.array_equal(a, b)  # a Generator moves on
    np.testing.assert_array_equal(a, distribution.sample((50,), rng=np.random.default_rng(11)).data)
    assert not np.array_equal(distribution.sample((50,), rng=12).data, distribution.sample((50,), rng=11).data)


def test_samples_have_the_distribution_s_dtype():
    for dtype in (np.float32, np.float64):
        loc = gn.Tensor(np.zeros(2, dtype))
        assert Normal(loc, 1.0).sample(rng=0).dtype == dtype
        assert Normal(loc, 1.0).rsample(rng=0).dtype == dtype
        assert Bernoulli(logits=loc).sample(rng=0).dtype == dtype
        assert Categorical(logits=loc).sample(rng=0).dtype == dtype
    assert Normal(0.0, 1.0).sample(rng=0).dtype == np.float32  # numbers: float32, as gn.Tensor(0.0)


def test_sample_carries_no_gradient_and_rsample_does():
    mu = gn.Tensor(np.zeros(3), requires_grad=True)
    sigma = gn.Tensor(np.ones(3), requires_grad=True)
    logits = gn.Tensor(np.zeros((3, 4)), requires_grad=True)
    for distribution in (Normal(mu, sigma), Bernoulli(logits=mu), Categorical(logits=logits)):
        draw = distribution.sample((2,), rng=0)
        assert not draw.requires_grad and draw.is_leaf and draw.grad is None
    z = Normal(mu, sigma).rsample((2,), rng=0)
    assert z.requires_grad
    z.sum().backward()
    np.testing.assert_array_equal(mu.grad, [2.0, 2.0, 2.0])


def test_discrete_distributions_have_no_rsample():
    for distribution in (Bernoulli(probs=0.5), Categorical(probs=[0.5, 0.5])):
        assert not distribution.has_rsample
        with pytest.raises(NotImplementedError, match="discrete.*no gradient"):
            distribution.rsample()
    assert Normal(0.0, 1.0).has_rsample
