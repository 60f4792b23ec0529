"""examples/vae_digits.py: its negative ELBO is the hand-computed reconstruction NLL + KL, the
closed-form KL is the expectation of the notebook's one-sample estimate, and a few epochs of
training already beat the independent-pixel baseline on the test set."""

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import glassnet as gn
from glassnet import nn
from glassnet.distributions import Normal, kl_divergence

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "vae_digits.py"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def vae():
    spec = importlib.util.spec_from_file_location("example_vae_digits", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def log_softmax(logits):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def test_split_is_the_notebooks_in_file_order(vae):
    X_train, X_val, X_test = vae.load_split()
    assert (len(X_train), len(X_val), len(X_test)) == (1000, 350, 447)
    from sklearn.datasets import load_digits

    X = load_digits().data
    np.testing.assert_array_equal(np.concatenate([X_train, X_val, X_test]), X)
    assert X_train.min() == 0 and X_train.max() == 16


def test_negative_elbo_of_constant_networks_is_64_log_17_plus_the_kl(vae):
    # Encoder: mu = 1, log sigma^2 = 0 whatever the image, so KL = 16 * (1 + 1 - 1 - 0) / 2 = 8;
    # decoder: logits 0, so every pixel value has probability 1/17, whatever z.
    encoder, decoder = nn.Linear(64, 32), nn.Linear(16, 64 * 17)
    encoder.weight.data[...] = 0.0
    encoder.bias.data[...] = np.r_[np.ones(16), np.zeros(16)]
    decoder.weight.data[...] = 0.0
    decoder.bias.data[...] = 0.0
    x = vae.load_split()[2][:3]
    value = vae.negative_elbo(encoder, decoder, x, rng=0).numpy()
    np.testing.assert_allclose(value, [64 * math.log(17) + 8.0] * 3, rtol=1e-6)


def test_negative_elbo_equals_a_direct_computation_for_a_known_eps(vae):
    encoder, decoder = vae.build_networks(seed=3)
    x = vae.load_split()[2][:5]
    with gn.no_grad():
        code = encoder(gn.tensor(x)).numpy().astype(np.float64)
    mu, log_var = code[:, :16], code[:, 16:]
    eps = np.random.default_rng(7).standard_normal((5, 16)).astype(np.float32)  # rsample's draw
    z = mu + np.exp(0.5 * log_var) * eps
    with gn.no_grad():
        logits = decoder(gn.tensor(z.astype(np.float32))).numpy().astype(np.float64).reshape(5, 64, 17)
    log_p = log_softmax(logits)
    reconstruction = log_p[np.arange(5)[:, None], np.arange(64), x.astype(int)].sum(axis=1)
    kl = 0.5 * (mu ** 2 + np.exp(log_var) - 1.0 - log_var).sum(axis=1)
    value = vae.negative_elbo(encoder, decoder, x, rng=np.random.default_rng(7))
    assert value.shape == (5,)
    np.testing.assert_allclose(value.numpy(), kl - reconstruction, rtol=1e-5)


def test_gradient_reaches_both_networks_through_the_sample(vae):
    encoder, decoder = vae.build_networks(seed=0)
    vae.negative_elbo(encoder, decoder, vae.load_split()[0][:8], rng=1).mean().backward()
    for network in (encoder, decoder):
        for parameter in network.parameters():
            assert parameter.grad is not None and np.abs(parameter.grad).max() > 0


def test_closed_form_kl_is_the_mean_of_the_one_sample_estimate():
    # The notebook estimates KL(q || p) by log q(z) - log p(z) at one z ~ q; its expectation is
    # the closed form used here.
    mu, sigma = np.array([0.5, -1.2, 0.0]), np.array([0.3, 1.5, 0.5])
    q, prior = Normal(mu, sigma), Normal(np.zeros(3), np.ones(3))  # float64, as q
    z = q.sample((200_000,), rng=0)
    estimates = (q.log_prob(z) - prior.log_prob(z)).numpy()
    closed = kl_divergence(q, prior).numpy()
    standard_error = estimates.std(axis=0) / math.sqrt(len(estimates))
    assert np.all(np.abs(estimates.mean(axis=0) - closed) < 4 * standard_error)
    np.testing.assert_allclose(closed, 0.5 * (mu ** 2 + sigma ** 2 - 1 - np.log(sigma ** 2)))


def test_a_pixel_value_outside_0_to_16_is_a_clear_error(vae):
    encoder, decoder = vae.build_networks(seed=0)
    x = vae.load_split()[2][:2].copy()
    x[1, 5] = 17.0
    with pytest.raises(ValueError, match="category in"):
        vae.negative_elbo(encoder, decoder, x, rng=0)


def test_independent_pixel_baseline(vae):
    X_train, _, X_test = vae.load_split()
    # add-one smoothing: a value never seen at a pixel in training still has probability 1/1017
    assert vae.independent_pixels_nll(X_train, X_test) == pytest.approx(106.47, abs=0.005)
    assert vae.independent_pixels_nll(X_train, X_test, smoothing=0.1) == pytest.approx(106.31, abs=0.005)


def test_a_few_epochs_beat_the_independent_pixel_baseline(vae, tmp_path, capsys):
    with threadpool_limits(limits=1, user_api="blas"):  # small matrices: a second BLAS thread only spins
        result = vae.main(fast=True, out=tmp_path, seed=0)
    printed = capsys.readouterr().out
    assert result["epochs_run"] == vae.FAST_EPOCHS
    val = result["val_losses"]
    assert val[-1] < val[0] - 10 and val[-1] < val[12] - 1.5  # still falling in the second half
    assert result["best_epoch"] >= vae.FAST_EPOCHS - 3
    assert result["test_nelbo"] < result["baseline_nll"] - 1.5
    assert f"test negative ELBO {result['test_nelbo']:.2f} nats per image" in printed
    names = ["vae_digits_loss.png", "vae_digits_reconstructions.png", "vae_digits_samples.png",
             "vae_digits_traversal.png"]
    assert sorted(path.name for path in tmp_path.glob("*.png")) == names
    assert sorted(Path(path).name for path in result["figures"]) == names
    for name in names:
        data = (tmp_path / name).read_bytes()
        assert data[:8] == PNG_SIGNATURE and len(data) > 10_000


def test_command_line_options(vae):
    args = vae._parse_args(["--fast", "--out", "figures", "--seed", "3"])
    assert (args.fast, args.out, args.seed) == (True, "figures", 3)
    defaults = vae._parse_args([])
    assert (defaults.fast, defaults.out, defaults.seed) == (False, "examples-output", 0)


def test_the_readmes_vae_step_is_the_elbo_and_moves_every_weight():
    """The README's "Generative models" block, run as written: its loss is the mean of
    -log p(x|z) + KL computed by hand in NumPy from the same weights and the same eps, and its
    one Adamax step changes both networks."""
    import re

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    code = re.search(r"## Generative models.*?```python\n(.*?)```", readme, re.S).group(1)
    namespace: dict = {}

    def remember(ns):
        return [p.data.copy() for m in (ns["encoder"], ns["decoder"]) for p in m.parameters()]

    # Run up to the optimizer step, check the loss by hand, then run the step.
    head, step = code.split("optimizer.zero_grad()")
    gn.seed(3)
    exec(compile(head, "README.md", "exec"), namespace)
    before = remember(namespace)
    x = namespace["x"]
    with gn.no_grad():
        codes = namespace["encoder"](gn.Tensor(x)).numpy().astype(np.float64)
    mu, sigma = codes[:, :16], np.exp(0.5 * codes[:, 16:])
    z = namespace["z"].numpy().astype(np.float64)
    eps = (z - mu) / sigma
    assert abs(eps.std() - 1) < 0.05 and abs(eps.mean()) < 0.05   # z = mu + sigma * eps, eps ~ N(0, 1)
    with gn.no_grad():
        logits = namespace["decoder"](gn.Tensor(z.astype(np.float32))).numpy().astype(np.float64)
    log_p = log_softmax(logits.reshape(64, 64, 17))
    nll = -np.take_along_axis(log_p, x.astype(int)[..., None], axis=2)[..., 0].sum(axis=1)
    kl = 0.5 * (mu ** 2 + sigma ** 2 - 1 - 2 * np.log(sigma)).sum(axis=1)
    np.testing.assert_allclose(namespace["loss"].item(), (nll + kl).mean(), rtol=1e-4)
    exec(compile("optimizer.zero_grad()" + step, "README.md", "exec"), namespace)
    after = remember(namespace)
    assert all(not np.array_equal(b, a) for b, a in zip(before, after))
