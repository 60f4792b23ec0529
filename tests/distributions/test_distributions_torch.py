"""glassnet.distributions against torch.distributions (float64, rtol 1e-10) and finite
differences: log_prob, entropy, mean, stddev, variance, kl_divergence and rsample, their values
and the gradients of every parameter, over broadcast parameter shapes and batched values."""

import numpy as np
import pytest
import torch
import torch.distributions as TD

from glassnet.distributions import Bernoulli, Categorical, Normal, kl_divergence
from oracle import check_against_torch, check_finite_differences

TIGHT = {"rtol": 1e-10, "atol": 1e-12}

# (loc shape, scale shape, value shape): scalars, equal shapes, broadcasting both ways, a batch of
# values over the batch of distributions
NORMAL_SHAPES = [
    ((), (), ()),
    ((4,), (4,), (4,)),
    ((3, 1), (4,), (3, 4)),
    ((3, 4), (), (5, 3, 4)),
    ((), (2, 3), (7, 1, 3)),
    ((2, 1, 4), (3, 1), (2, 3, 4)),
]
BINARY_SHAPES = [((), ()), ((5,), (5,)), ((2, 3), (4, 2, 3)), ((3, 1), (3, 4))]
# (batch shape, number of categories, value shape)
CATEGORICAL_SHAPES = [((), 4, ()), ((), 3, (6,)), ((5,), 3, (5,)), ((2, 3), 5, (4, 2, 3)), ((3, 1), 2, (3, 4))]


def normal_arrays(shapes, seed):
    rng = np.random.default_rng(seed)
    loc_shape, scale_shape, value_shape = shapes
    return rng.normal(size=loc_shape), rng.uniform(0.3, 2.0, size=scale_shape), rng.normal(size=value_shape)


def bits(shape, seed):
    return (np.random.default_rng(seed).random(shape) < 0.5).astype(np.float64)


def categories(value_shape, k, seed):
    return np.random.default_rng(seed).integers(0, k, size=value_shape)


# ---- Normal ------------------------------------------------------------------------------------
@pytest.mark.parametrize("shapes", NORMAL_SHAPES, ids=str)
def test_normal_log_prob_matches_torch(shapes):
    loc, scale, value = normal_arrays(shapes, 1)
    check_against_torch(lambda m, s, x: Normal(m, s).log_prob(x),
                        lambda m, s, x: TD.Normal(m, s).log_prob(x), loc, scale, value, **TIGHT)


@pytest.mark.parametrize("shapes", NORMAL_SHAPES, ids=str)
def test_normal_entropy_mean_stddev_variance_match_torch(shapes):
    loc, scale, _ = normal_arrays(shapes, 2)
    for name in ("entropy", "mean", "stddev", "variance"):
        check_against_torch(lambda m, s, name=name: _read(Normal(m, s), name),
                            lambda m, s, name=name: _read(TD.Normal(m, s), name), loc, scale, **TIGHT)


def _read(distribution, name):
    return distribution.entropy() if name == "entropy" else getattr(distribution, name)


@pytest.mark.parametrize("shapes", NORMAL_SHAPES, ids=str)
def test_normal_kl_matches_torch(shapes):
    loc_p, scale_p, _ = normal_arrays(shapes, 3)
    loc_q, scale_q, _ = normal_arrays(shapes[::-1], 4)  # q's shapes differ from p's: they broadcast
    check_against_torch(lambda a, b, c, d: kl_divergence(Normal(a, b), Normal(c, d)),
                        lambda a, b, c, d: TD.kl_divergence(TD.Normal(a, b), TD.Normal(c, d)),
                        loc_p, scale_p, loc_q, scale_q, **TIGHT)


@pytest.mark.parametrize("sample_shape", [(), (5,), (2, 3)], ids=str)
@pytest.mark.parametrize("shapes", NORMAL_SHAPES[:4], ids=str)
def test_normal_rsample_matches_torch_with_the_same_noise(shapes, sample_shape, monkeypatch):
    loc, scale, _ = normal_arrays(shapes, 5)
    batch = np.broadcast_shapes(loc.shape, scale.shape)
    eps = np.random.default_rng(7).standard_normal(sample_shape + batch)  # what rsample(rng=7) draws
    # torch's rsample draws its eps with _standard_normal: hand it ours
    monkeypatch.setattr(torch.distributions.normal, "_standard_normal",
                        lambda shape, dtype, device: torch.tensor(eps, dtype=dtype).reshape(shape))
    z = check_against_torch(lambda m, s: Normal(m, s).rsample(sample_shape, rng=7),
                            lambda m, s: TD.Normal(m, s).rsample(sample_shape), loc, scale, **TIGHT)
    assert z.shape == sample_shape + batch


def test_normal_rsample_gradients_are_one_and_eps():
    """z = mu + sigma eps: dz/dmu = 1, dz/dsigma = eps (summed over the draws)."""
    import glassnet as gn
    mu = gn.Tensor(np.array([0.5, -1.0]), requires_grad=True)
    sigma = gn.Tensor(np.array([2.0, 0.1]), requires_grad=True)
    z = Normal(mu, sigma).rsample((6,), rng=3)
    z.sum().backward()
    eps = np.random.default_rng(3).standard_normal((6, 2))
    np.testing.assert_allclose(z.data, mu.data + sigma.data * eps, rtol=1e-15)
    np.testing.assert_array_equal(mu.grad, [6.0, 6.0])
    np.testing.assert_allclose(sigma.grad, eps.sum(axis=0), rtol=1e-14)


@pytest.mark.parametrize("shapes", NORMAL_SHAPES[1:4], ids=str)
def test_normal_gradients_match_finite_differences(shapes):
    loc, scale, value = normal_arrays(shapes, 6)
    check_finite_differences(lambda m, s, x: Normal(m, s).log_prob(x), loc, scale, value)
    check_finite_differences(lambda m, s: Normal(m, s).entropy(), loc, scale)
    check_finite_differences(lambda m, s: Normal(m, s).rsample((3,), rng=1), loc, scale)
    check_finite_differences(lambda a, b, c, d: kl_divergence(Normal(a, b), Normal(c, d)),
                             loc, scale, 0.5 * loc + 0.3, 1.5 * scale + 0.1)


# ---- Bernoulli ---------------------------------------------------------------------------------
def bernoulli_arrays(shapes, seed):
    rng = np.random.default_rng(seed)
    return rng.uniform(0.05, 0.95, size=shapes[0]), rng.normal(scale=2.0, size=shapes[0]), bits(shapes[1], seed)


@pytest.mark.parametrize("param", ["probs", "logits"])
@pytest.mark.parametrize("shapes", BINARY_SHAPES, ids=str)
def test_bernoulli_matches_torch(shapes, param):
    probs, logits, value = bernoulli_arrays(shapes, 8)
    theta = probs if param == "probs" else logits
    check_against_torch(lambda t, x: Bernoulli(**{param: t}).log_prob(x),
                        lambda t, x: TD.Bernoulli(**{param: t}).log_prob(x), theta, value, **TIGHT)
    for name in ("entropy", "mean", "stddev", "variance", "probs", "logits"):
        check_against_torch(lambda t, name=name: _read(Bernoulli(**{param: t}), name),
                            lambda t, name=name: _read(TD.Bernoulli(**{param: t}), name), theta, **TIGHT)


@pytest.mark.parametrize("params", [("probs", "probs"), ("logits", "logits"), ("probs", "logits")], ids=str)
@pytest.mark.parametrize("shapes", BINARY_SHAPES, ids=str)
def test_bernoulli_kl_matches_torch(shapes, params):
    p_probs, p_logits, _ = bernoulli_arrays(shapes, 9)
    q_probs, q_logits, _ = bernoulli_arrays(shapes[::-1], 10)
    p_theta = p_probs if params[0] == "probs" else p_logits
    q_theta = q_probs if params[1] == "probs" else q_logits
    check_against_torch(
        lambda a, b: kl_divergence(Bernoulli(**{params[0]: a}), Bernoulli(**{params[1]: b})),
        lambda a, b: _torch_bernoulli_kl(params, *torch.broadcast_tensors(a, b)), p_theta, q_theta, **TIGHT)


def _torch_bernoulli_kl(params, a, b):
    # torch's Bernoulli KL masks in place and so needs p and q of one shape: broadcast them first
    # (torch sums the gradients back through the expansion)
    return TD.kl_divergence(TD.Bernoulli(**{params[0]: a}), TD.Bernoulli(**{params[1]: b}))


def test_bernoulli_kl_at_the_edges_matches_torch():
    """p = 0 or 1 adds no term; q = 0 or 1 where p can draw the other value: +inf."""
    p = np.array([0.0, 1.0, 0.3, 0.3, 0.0, 1.0])
    q = np.array([0.4, 0.4, 0.0, 1.0, 0.0, 1.0])
    ours = kl_divergence(Bernoulli(probs=p), Bernoulli(probs=q)).data
    theirs = TD.kl_divergence(TD.Bernoulli(probs=torch.tensor(p)), TD.Bernoulli(probs=torch.tensor(q))).numpy()
    np.testing.assert_allclose(ours, theirs, **TIGHT)
    assert np.isinf(ours[2:4]).all() and np.isfinite(ours[[0, 1, 4, 5]]).all()


@pytest.mark.parametrize("shapes", BINARY_SHAPES[1:3], ids=str)
def test_bernoulli_gradients_match_finite_differences(shapes):
    probs, logits, value = bernoulli_arrays(shapes, 11)
    for param, theta in (("probs", probs), ("logits", logits)):
        check_finite_differences(lambda t: Bernoulli(**{param: t}).log_prob(value), theta)
        check_finite_differences(lambda t: Bernoulli(**{param: t}).entropy(), theta)
        check_finite_differences(lambda t, u: kl_divergence(Bernoulli(**{param: t}), Bernoulli(**{param: u})),
                                 theta, theta[::-1] if theta.ndim else theta * 0.9)


# ---- Categorical -------------------------------------------------------------------------------
def categorical_arrays(shapes, seed):
    batch, k, value_shape = shapes
    rng = np.random.default_rng(seed)
    weights = rng.uniform(0.1, 2.0, size=batch + (k,))  # probs need not sum to 1: they are normalized
    return weights, rng.normal(scale=2.0, size=batch + (k,)), categories(value_shape, k, seed)


@pytest.mark.parametrize("param", ["probs", "logits"])
@pytest.mark.parametrize("shapes", CATEGORICAL_SHAPES, ids=str)
def test_categorical_matches_torch(shapes, param):
    weights, logits, value = categorical_arrays(shapes, 12)
    theta = weights if param == "probs" else logits
    check_against_torch(lambda t: Categorical(**{param: t}).log_prob(value),
                        lambda t: TD.Categorical(**{param: t}).log_prob(torch.tensor(value)), theta, **TIGHT)
    for name in ("entropy", "probs", "logits"):
        check_against_torch(lambda t, name=name: _read(Categorical(**{param: t}), name),
                            lambda t, name=name: _read(TD.Categorical(**{param: t}), name), theta, **TIGHT)
    distribution, reference = Categorical(**{param: theta}), TD.Categorical(**{param: torch.tensor(theta)})
    for name in ("mean", "variance", "stddev"):  # NaN: categories are labels, not numbers
        got, expected = getattr(distribution, name).data, getattr(reference, name).numpy()
        assert got.shape == expected.shape and np.isnan(got).all() and np.isnan(expected).all()


@pytest.mark.parametrize("params", [("probs", "probs"), ("logits", "logits"), ("logits", "probs")], ids=str)
@pytest.mark.parametrize("shapes", CATEGORICAL_SHAPES[1:], ids=str)
def test_categorical_kl_matches_torch(shapes, params):
    p_weights, p_logits, _ = categorical_arrays(shapes, 13)
    q_weights, q_logits, _ = categorical_arrays((shapes[0][1:],) + shapes[1:], 14)  # q broadcasts
    p_theta = p_weights if params[0] == "probs" else p_logits
    q_theta = q_weights if params[1] == "probs" else q_logits
    check_against_torch(
        lambda a, b: kl_divergence(Categorical(**{params[0]: a}), Categorical(**{params[1]: b})),
        lambda a, b: TD.kl_divergence(TD.Categorical(**{params[0]: a}), TD.Categorical(**{params[1]: b})),
        p_theta, q_theta, **TIGHT)


def test_categorical_with_impossible_categories_matches_torch():
    """A probability of 0 (or a logit of -inf): log_prob -inf there, entropy and KL as PyTorch."""
    probs = np.array([[0.5, 0.0, 0.5], [0.2, 0.3, 0.5]])
    logits = np.array([[0.0, -np.inf, 1.0], [0.5, 0.1, -0.3]])
    value = np.array([1, 2])
    for param, theta in (("probs", probs), ("logits", logits)):
        ours, theirs = Categorical(**{param: theta}), TD.Categorical(**{param: torch.tensor(theta)})
        np.testing.assert_allclose(ours.log_prob(value).data, theirs.log_prob(torch.tensor(value)).numpy(), **TIGHT)
        np.testing.assert_allclose(ours.entropy().data, theirs.entropy().numpy(), **TIGHT)
    for p, q in ((probs, probs[::-1].copy()), (probs[::-1].copy(), probs)):  # q = 0 where p > 0: +inf
        ours = kl_divergence(Categorical(probs=p), Categorical(probs=q)).data
        theirs = TD.kl_divergence(TD.Categorical(probs=torch.tensor(p)), TD.Categorical(probs=torch.tensor(q)))
        np.testing.assert_allclose(ours, theirs.numpy(), **TIGHT)
    check_against_torch(lambda t: Categorical(logits=t).entropy(),
                        lambda t: TD.Categorical(logits=t).entropy(), logits, **TIGHT)


@pytest.mark.parametrize("shapes", CATEGORICAL_SHAPES[2:4], ids=str)
def test_categorical_gradients_match_finite_differences(shapes):
    weights, logits, value = categorical_arrays(shapes, 15)
    for param, theta in (("probs", weights), ("logits", logits)):
        check_finite_differences(lambda t: Categorical(**{param: t}).log_prob(value), theta)
        check_finite_differences(lambda t: Categorical(**{param: t}).entropy(), theta)
        check_finite_differences(
            lambda t, u: kl_divergence(Categorical(**{param: t}), Categorical(**{param: u})), theta, theta[..., ::-1])
