"""A variational autoencoder on scikit-learn's 8x8 digits, with the protocol of Jakub Tomczak's
introductory VAE ("Introduction to Deep Generative Modeling", github.com/jmtomczak/intro_dgm,
``vaes/vae_example.ipynb``).

Data: the 1,797 images of ``sklearn.datasets.load_digits`` in file order (no shuffling), the first
1,000 to train on, the next 350 to validate on, the last 447 to test on. No preprocessing: the
encoder reads the 64 pixel values 0..16 as they are, and the decoder models each pixel as a
17-way categorical variable (value 0, 1, ..., 16).

Model (L = 16 latent dimensions, M = 256 hidden units, LeakyReLU with slope 0.01):

    encoder q(z|x)   64 -> 256 -> 256 -> 2 x 16        mu and log sigma^2 of a diagonal Normal
    decoder p(x|z)   16 -> 256 -> 256 -> 64 x 17       logits of 64 categorical pixels
    prior   p(z)     Normal(0, I)

with PyTorch's default initialization of every Linear layer (weight and bias from
U(-1/sqrt(fan_in), 1/sqrt(fan_in))), as the notebook gets it. Training maximizes the ELBO

    log p(x) >= E_q[log p(x|z)] - KL(q(z|x) || p(z))

with one z per image (the reparameterization trick), Adamax (lr 1e-3), batches of 64 drawn in a
new random order each epoch, at most 1,000 epochs, and early stopping as the notebook does it: the
validation loss (negative ELBO in nats per image, one z per image) is measured after every epoch,
the best model so far is kept, and training stops once 21 epochs in a row (patience 20) have not
improved on it. The test loss is the best model's negative ELBO, one z per test image, summed over
the 447 images and divided by 447: nats per image, an estimate of an upper bound on -log p(x).

Two small differences from the notebook. Its KL term is a one-sample Monte Carlo estimate,
log q(z|x) - log p(z) at the same z; here it is the closed form for two diagonal Normals,
``kl_divergence(Normal(mu, sigma), Normal(0, 1))``, which is exactly that estimate's expectation:
the ELBO estimate has the same expectation, without the KL term's sampling noise. And the notebook
clips the decoder's probabilities to [1e-5, 1 - 1e-5] before the log; here log p(x|z) is the exact
log-softmax of the logits.

The baseline is the model without a latent variable: 64 independent categorical pixels, each with
its training-set frequencies (add-one smoothing, so that a value never seen at a pixel in training
keeps a small probability): 106.5 nats per test image. The VAE gets 96.84, 96.97 and 96.78 nats
per test image (seeds 0, 1, 2: mean 96.86; seeds 3, 4: 96.89, 96.74), early stopping ending
training after 109-134 epochs;
PyTorch with this protocol gets 96.7-97.2 (seeds 0, 1, 2; 96.4-96.8 with the closed-form KL).
A run takes about 15 s of CPU time (one BLAS thread): 40-55 s on a 2-core machine that other
jobs kept busy.

    python examples/vae_digits.py [--fast] [--out DIR] [--seed N]

writes four figures to DIR (default examples-output/): ``vae_digits_samples.png`` (64 samples
from the prior: the decoder's mean pixel values), ``vae_digits_reconstructions.png`` (test images
and their reconstructions from the code mean), ``vae_digits_traversal.png`` (a test image's code
with two latent dimensions varied) and ``vae_digits_loss.png`` (the loss curves).
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

import glassnet as gn
from glassnet import functional as F
from glassnet import nn, optim
from glassnet.distributions import Categorical, Normal, kl_divergence

PIXELS, VALUES, LATENT, HIDDEN = 64, 17, 16, 256  # 8x8 pixels of value 0..16; the notebook's L and M
BATCH_SIZE, LEARNING_RATE, MAX_EPOCHS, PATIENCE = 64, 1e-3, 1000, 20
FAST_EPOCHS = 25  # main(fast=True): enough to pass the independent-pixel baseline


def load_split():
    """The notebook's split, in file order: (train 1000, validation 350, test 447) x 64 pixels,
    float32 values 0..16."""
    X = load_digits().data.astype(np.float32)
    return X[:1000], X[1000:1350], X[1350:]


def torch_linear(in_features: int, out_features: int, rng) -> nn.Linear:
    """A Linear layer initialized as PyTorch's: W and b from U(-1/sqrt(in), 1/sqrt(in))."""
    bound = 1.0 / math.sqrt(in_features)

    def pytorch_default(shape, dtype=np.float32, rng=None):
        return gn.random.get_rng(rng).uniform(-bound, bound, shape).astype(dtype)

    return nn.Linear(in_features, out_features, weight_init=pytorch_default, bias_init=pytorch_default, rng=rng)


def build_networks(seed: int):
    """encoder: x (N, 64) -> (N, 32), mu then log sigma^2; decoder: z (N, 16) -> logits (N, 64 * 17)."""
    rng = np.random.default_rng(seed)
    encoder = nn.Sequential(torch_linear(PIXELS, HIDDEN, rng), nn.LeakyReLU(),
                            torch_linear(HIDDEN, HIDDEN, rng), nn.LeakyReLU(),
                            torch_linear(HIDDEN, 2 * LATENT, rng))
    decoder = nn.Sequential(torch_linear(LATENT, HIDDEN, rng), nn.LeakyReLU(),
                            torch_linear(HIDDEN, HIDDEN, rng), nn.LeakyReLU(),
                            torch_linear(HIDDEN, PIXELS * VALUES, rng))
    return encoder, decoder


# ---------------------------------------------------------------------------------------------
# The VAE: its loss (the negative ELBO) and one training step.
def negative_elbo(encoder, decoder, x, rng=None):
    """-ELBO of each image in nats, x (N, 64) of pixel values 0..16 -> (N,), with one z per image:

        -ELBO(x) = -log p(x|z) + KL(q(z|x) || p(z)),   z ~ q(z|x) = N(mu(x), sigma(x)^2)

    Its expectation over z is an upper bound on -log p(x); its gradient reaches the encoder
    through z = mu + sigma * eps."""
    x = np.asarray(x)
    code = encoder(gn.tensor(x))                                # encode: (N, 32)
    mu, log_var = code[:, :LATENT], code[:, LATENT:]            # (N, 16) each
    q = Normal(mu, (0.5 * log_var).exp())                       # q(z|x), sigma = exp(log_var / 2)
    z = q.rsample(rng=rng)                                      # the reparameterization trick: z = mu + sigma * eps,
                                                                # eps ~ N(0, I) drawn outside the graph
    p_x = Categorical(logits=decoder(z).reshape(len(x), PIXELS, VALUES))  # decode: p(x|z), 64 pixels x 17 values
    reconstruction = p_x.log_prob(x).sum(axis=1)                # log p(x|z), summed over the pixels
    kl = kl_divergence(q, Normal(0.0, 1.0)).sum(axis=1)         # KL(q(z|x) || p(z)), closed form, summed over z
    return kl - reconstruction                                  # -ELBO = -log p(x|z) + KL


def training_step(encoder, decoder, optimizer, x, rng=None) -> float:
    """One optimizer step on the mean -ELBO of the batch x (N, 64); returns that loss."""
    loss = negative_elbo(encoder, decoder, x, rng).mean()
    optimizer.zero_grad()
    loss.backward()                                             # into the decoder, and through z into the encoder
    optimizer.step()
    return loss.item()
# ---------------------------------------------------------------------------------------------


def evaluate(encoder, decoder, X, rng) -> float:
    """The negative ELBO summed over X and divided by len(X) (one z per image): nats per image."""
    with gn.no_grad():
        return float(negative_elbo(encoder, decoder, X, rng).numpy().sum()) / len(X)


def train(encoder, decoder, X_train, X_val, rng, max_epochs: int = MAX_EPOCHS, patience: int = PATIENCE):
    """Adamax on the mean -ELBO of batches of 64, early stopping on the validation loss.

    Loads the best epoch's weights back into the networks; returns the per-epoch mean training
    loss, the validation losses and the best epoch (0-based)."""
    optimizer = optim.Adamax(list(encoder.parameters()) + list(decoder.parameters()), lr=LEARNING_RATE)
    train_losses, val_losses = [], []
    best_epoch, best_state, waited = 0, None, 0
    for epoch in range(max_epochs):
        order = rng.permutation(len(X_train))
        batch_losses = [training_step(encoder, decoder, optimizer, X_train[order[start:start + BATCH_SIZE]], rng)
                        for start in range(0, len(X_train), BATCH_SIZE)]
        train_losses.append(float(np.mean(batch_losses)))
        val_losses.append(evaluate(encoder, decoder, X_val, rng))
        if best_state is None or val_losses[-1] < val_losses[best_epoch]:
            best_epoch, best_state, waited = epoch, (encoder.state_dict(), decoder.state_dict()), 0
        else:
            waited += 1
            if waited > patience:
                break
    encoder.load_state_dict(best_state[0])
    decoder.load_state_dict(best_state[1])
    return train_losses, val_losses, best_epoch


def independent_pixels_nll(X_train, X_test, smoothing: float = 1.0) -> float:
    """Nats per test image of 64 independent categorical pixels with the training set's
    frequencies, each count plus ``smoothing``."""
    counts = np.stack([np.bincount(column.astype(np.intp), minlength=VALUES) for column in X_train.T])  # (64, 17)
    log_p = np.log((counts + smoothing) / (counts + smoothing).sum(axis=1, keepdims=True))
    return float(-log_p[np.arange(PIXELS), X_test.astype(np.intp)].sum(axis=1).mean())


def main(fast: bool = False, out=None, seed: int = 0) -> dict:
    """Train the VAE from ``seed``, print and return the test negative ELBO beside the baseline.

    ``fast`` trains for at most FAST_EPOCHS epochs. ``out``: a folder for the figures (None: no
    figures)."""
    if out is not None:  # a folder that cannot be made fails now, not after training
        Path(out).mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    X_train, X_val, X_test = load_split()
    baseline = independent_pixels_nll(X_train, X_test)
    encoder, decoder = build_networks(seed)
    rng = np.random.default_rng(seed)
    train_losses, val_losses, best_epoch = train(encoder, decoder, X_train, X_val, rng,
                                                 max_epochs=FAST_EPOCHS if fast else MAX_EPOCHS)
    test_loss = evaluate(encoder, decoder, X_test, rng)
    print(f"digits: {len(X_train)} training, {len(X_val)} validation, {len(X_test)} test images, "
          f"{PIXELS} pixels of {VALUES} values")
    print(f"VAE 64-256-256-(2x{LATENT}) / {LATENT}-256-256-(64x17), Adamax lr {LEARNING_RATE}, batch {BATCH_SIZE}: "
          f"{len(val_losses)} epochs, best validation loss {val_losses[best_epoch]:.2f} at epoch {best_epoch + 1}")
    print(f"test negative ELBO {test_loss:.2f} nats per image; independent pixels (add-one smoothing) {baseline:.2f}")
    figures = []
    if out is not None:
        figures = _figures(encoder, decoder, X_test, train_losses, val_losses, best_epoch, Path(out), rng)
        print("figures: " + ", ".join(str(path) for path in figures))
    seconds = time.perf_counter() - start
    print(f"({seconds:.1f} s)")
    return {"test_nelbo": test_loss, "baseline_nll": baseline, "epochs_run": len(val_losses),
            "best_epoch": best_epoch, "train_losses": train_losses, "val_losses": val_losses,
            "figures": figures, "seconds": seconds}


def _figures(encoder, decoder, X_test, train_losses, val_losses, best_epoch, out: Path, rng) -> list:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    values = np.arange(VALUES, dtype=np.float32)

    def mean_image(z):  # the decoder's mean pixel value, sum_k k p(x = k | z)
        with gn.no_grad():
            probs = F.softmax(decoder(gn.tensor(z.astype(np.float32))).reshape(len(z), PIXELS, VALUES)).numpy()
        return probs @ values

    def grid(images, rows, cols, path, title):
        fig, axes = plt.subplots(rows, cols, figsize=(cols * 0.8, rows * 0.8 + 0.4))
        for ax, image in zip(axes.ravel(), images):
            ax.imshow(image.reshape(8, 8), cmap="gray_r", vmin=0, vmax=16)
            ax.axis("off")
        fig.suptitle(title, fontsize=9)
        fig.savefig(path, format="png", dpi=110)
        plt.close(fig)
        return path

    with gn.no_grad():
        codes = encoder(gn.tensor(X_test)).numpy()
    mu, log_var = codes[:, :LATENT], codes[:, LATENT:]
    paths = [grid(mean_image(rng.standard_normal((64, LATENT))), 8, 8, out / "vae_digits_samples.png",
                  "64 samples from the prior (decoder mean)")]
    pairs = np.concatenate([X_test[:8], mean_image(mu[:8]), X_test[8:16], mean_image(mu[8:16])])
    paths.append(grid(pairs, 4, 8, out / "vae_digits_reconstructions.png",
                      "test images (rows 1, 3) and their reconstructions from mu (rows 2, 4)"))
    # The two most used latent dimensions: the largest mean KL to the prior over the test set.
    kl = 0.5 * (mu ** 2 + np.exp(log_var) - 1.0 - log_var).mean(axis=0)
    first, second = np.argsort(kl)[::-1][:2]
    steps = np.linspace(-2.0, 2.0, 7)
    z = np.repeat(mu[:1], len(steps) ** 2, axis=0)
    z[:, first] += np.repeat(steps, len(steps))
    z[:, second] += np.tile(steps, len(steps))
    paths.append(grid(mean_image(z), len(steps), len(steps), out / "vae_digits_traversal.png",
                      f"first test image's code, latent {first} (rows) and {second} (columns) moved by -2..2"))
    fig, ax = plt.subplots(figsize=(6, 4))
    epochs = np.arange(1, len(val_losses) + 1)
    ax.plot(epochs, train_losses, label="training (mean over the epoch's batches)")
    ax.plot(epochs, val_losses, label="validation")
    ax.axvline(best_epoch + 1, color="gray", linestyle=":", label="best epoch (kept)")
    ax.set(xlabel="epoch", ylabel="negative ELBO (nats per image)", title="VAE on digits")
    ax.set_ylim(min(train_losses + val_losses) - 5, val_losses[min(2, len(val_losses) - 1)] + 10)
    ax.legend(fontsize=8)
    fig.savefig(out / "vae_digits_loss.png", format="png", dpi=110)
    plt.close(fig)
    return paths + [out / "vae_digits_loss.png"]


def _parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fast", action="store_true", help=f"train for at most {FAST_EPOCHS} epochs")
    parser.add_argument("--out", default="examples-output", help="folder for the figures (default examples-output)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the weights, the batches and eps (default 0)")
    args = parser.parse_args(argv)
    if args.seed < 0:
        parser.error(f"--seed must be >= 0, got {args.seed}")
    if Path(args.out).exists() and not Path(args.out).is_dir():  # found now, not after training
        parser.error(f"--out must be a folder, got the file {args.out}")
    return args


if __name__ == "__main__":
    from threadpoolctl import threadpool_limits  # installed with scikit-learn

    args = _parse_args()
    # One BLAS thread: the matrices here are small, and when other programs share the cores,
    # OpenBLAS's idle threads spin and can make training several times slower.
    with threadpool_limits(limits=1, user_api="blas"):
        main(fast=args.fast, out=args.out, seed=args.seed)
