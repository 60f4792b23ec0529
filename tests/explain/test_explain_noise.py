"""NoiseTunnel: with a fixed generator, smoothgrad, smoothgrad_sq and vargrad equal the mean, the
mean of squares and the variance of the method's attributions over the same noisy inputs,
computed by hand (the same noise drawn, the method computed with PyTorch); reproducible."""

import numpy as np
import pytest

import glassnet as gn
from explain_twins import integrated_gradients, mlp, saliency
from glassnet.explain import InputXGradient, IntegratedGradients, NoiseTunnel, Saliency

RNG = np.random.default_rng(3)
X = RNG.normal(size=(3, 5))
TARGET = [2, 0, 1]


def noisy_copies(x, k, stdevs, rng):
    """Each example k times in place, plus the noise NoiseTunnel draws (its documented order)."""
    return np.repeat(x, k, axis=0) + stdevs * rng.standard_normal((len(x) * k,) + x.shape[1:])


def combine(copies, nt_type):
    mean, mean_sq = copies.mean(axis=1), (copies ** 2).mean(axis=1)
    return {"smoothgrad": mean, "smoothgrad_sq": mean_sq, "vargrad": mean_sq - mean ** 2}[nt_type]


@pytest.mark.parametrize("nt_type", ["smoothgrad", "smoothgrad_sq", "vargrad"])
def test_saliency_smoothed_equals_the_hand_computation(nt_type):
    ours, theirs = mlp()
    got = NoiseTunnel(Saliency(ours)).attribute(X, nt_type=nt_type, nt_samples=6, stdevs=0.4, target=TARGET,
                                                abs=False, rng=np.random.default_rng(7))
    noisy = noisy_copies(X, 6, 0.4, np.random.default_rng(7))
    copies = saliency(theirs, noisy, list(np.repeat(TARGET, 6)), abs=False).reshape(3, 6, 5)
    np.testing.assert_allclose(got, combine(copies, nt_type), rtol=1e-9, atol=1e-12)
    assert got.shape == X.shape and got.dtype == np.float64
    if nt_type == "vargrad":
        assert np.all(got > 0)  # the noise moves the gradient of a nonlinear model


@pytest.mark.parametrize("nt_type", ["smoothgrad", "vargrad"])
def test_batches_of_samples_draw_their_noise_in_turn(nt_type):
    ours, theirs = mlp()
    got = NoiseTunnel(InputXGradient(ours)).attribute(X, nt_type=nt_type, nt_samples=7, nt_samples_batch_size=3,
                                                      stdevs=0.2, target=1, rng=11)
    rng, parts = np.random.default_rng(11), []
    for k in (3, 3, 1):  # two batches of 3 copies of each example, then the one left
        noisy = noisy_copies(X, k, 0.2, rng)
        parts.append((noisy * saliency(theirs, noisy, 1, abs=False)).reshape(3, k, 5))
    np.testing.assert_allclose(got, combine(np.concatenate(parts, axis=1), nt_type), rtol=1e-9, atol=1e-12)


def test_integrated_gradients_smoothed_with_per_example_baselines_and_the_mean_delta():
    ours, theirs = mlp()
    baselines = RNG.normal(size=X.shape)
    got, delta = NoiseTunnel(IntegratedGradients(ours)).attribute(
        X, nt_samples=4, stdevs=0.3, rng=5, baselines=baselines, target=TARGET, n_steps=8, method="riemann_middle")
    noisy = noisy_copies(X, 4, 0.3, np.random.default_rng(5))
    attributions, deltas = integrated_gradients(theirs, noisy, np.repeat(baselines, 4, axis=0),
                                                list(np.repeat(TARGET, 4)), 8, "riemann_middle")
    np.testing.assert_allclose(got, attributions.reshape(3, 4, 5).mean(axis=1), rtol=1e-9, atol=1e-12)
    assert delta.shape == (3,)  # one per example: the mean over its copies (Captum: one per copy)
    np.testing.assert_allclose(delta, deltas.reshape(3, 4).mean(axis=1), rtol=1e-7, atol=1e-12)
    without = NoiseTunnel(IntegratedGradients(ours)).attribute(
        X, nt_samples=4, stdevs=0.3, rng=5, baselines=baselines, target=TARGET, n_steps=8, method="riemann_middle",
        return_convergence_delta=False)
    np.testing.assert_allclose(without, got, rtol=1e-12)


def test_baselines_drawn_from_a_distribution():
    ours, theirs = mlp()
    references = RNG.normal(size=(10, 5))
    got, delta = NoiseTunnel(IntegratedGradients(ours)).attribute(
        X, nt_samples=5, stdevs=0.1, rng=9, draw_baseline_from_distrib=True, baselines=references, target=2,
        n_steps=6)
    rng = np.random.default_rng(9)
    noisy = noisy_copies(X, 5, 0.1, rng)
    drawn = references[rng.integers(10, size=15)]  # after the noise, one reference per copy
    attributions, deltas = integrated_gradients(theirs, noisy, drawn, 2, 6, "gausslegendre")
    np.testing.assert_allclose(got, attributions.reshape(3, 5, 5).mean(axis=1), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(delta, deltas.reshape(3, 5).mean(axis=1), rtol=1e-7, atol=1e-12)


def test_per_example_forward_arguments_go_with_the_copies():
    ours, theirs = mlp()
    shift = RNG.normal(size=X.shape)
    got = NoiseTunnel(Saliency(lambda x, s: ours(x + s))).attribute(
        X, nt_samples=3, stdevs=0.5, rng=2, target=TARGET, additional_forward_args=shift)
    noisy = noisy_copies(X, 3, 0.5, np.random.default_rng(2))
    expected = saliency(theirs, noisy + np.repeat(shift, 3, axis=0), list(np.repeat(TARGET, 3)))
    np.testing.assert_allclose(got, expected.reshape(3, 3, 5).mean(axis=1), rtol=1e-9, atol=1e-12)


def test_reproducible_with_a_seed_and_the_default_generator():
    ours, _ = mlp()
    tunnel = NoiseTunnel(Saliency(ours))
    first = tunnel.attribute(X, target=1, rng=42)
    np.testing.assert_array_equal(tunnel.attribute(X, target=1, rng=42), first)
    assert not np.allclose(tunnel.attribute(X, target=1, rng=43), first)
    gn.seed(0)
    default = tunnel.attribute(X, target=1)
    gn.seed(0)
    np.testing.assert_array_equal(tunnel.attribute(X, target=1), default)
    generator = np.random.default_rng(42)  # a Generator is used as it is: its stream moves on
    np.testing.assert_array_equal(tunnel.attribute(X, target=1, rng=generator), first)
    assert not np.allclose(tunnel.attribute(X, target=1, rng=generator), first)


def test_zero_noise_gives_the_method_itself_and_float32_stays_float32():
    ours, _ = mlp()
    smooth = NoiseTunnel(Saliency(ours)).attribute(X, stdevs=0.0, target=TARGET, rng=0)
    np.testing.assert_allclose(smooth, Saliency(ours).attribute(X, target=TARGET), rtol=1e-12)
    variance = NoiseTunnel(Saliency(ours)).attribute(X, nt_type="vargrad", stdevs=0.0, target=TARGET, rng=0)
    np.testing.assert_allclose(variance, 0.0, atol=1e-15)
    model32 = gn.nn.Sequential(gn.nn.Linear(5, 4, rng=0), gn.nn.Tanh(), gn.nn.Linear(4, 2, rng=1))
    got = NoiseTunnel(IntegratedGradients(model32)).attribute(X.astype(np.float32), target=0, rng=0, n_steps=16)
    assert got[0].dtype == got[1].dtype == np.float32 and got[1].shape == (3,)
