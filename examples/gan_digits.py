"""A small GAN on scikit-learn's 8x8 digits: a generator learns to draw digits by fooling a discriminator.

The course's generative adversarial network: two MLPs play a game. The discriminator D sees real
training digits and the generator's fakes and learns to tell them apart (a logistic classifier,
real = 1, fake = 0). The generator G turns noise z ~ N(0, I) into an image and learns to make D
call its images real. Each training step is one move of each player (``train_step``):

    D step: minimize BCE(D(x), 1) + BCE(D(G(z)), 0)      G's output detached: only D learns
    G step: minimize BCE(D(G(z)), 1)                      the non-saturating loss, -log D(G(z))

The G step is the "non-saturating" form of Goodfellow et al. (2014): instead of minimizing
log(1 - D(G(z))), whose gradient vanishes while D easily rejects the early, bad fakes, G maximizes
log D(G(z)), which has the same fixed point but strong gradients exactly then. Both losses are
``losses.binary_cross_entropy_with_logits`` on D's raw score, so no sigmoid can saturate to 0 or 1.
At the game's equilibrium D outputs 1/2 everywhere: D's loss is 2 log 2 = 1.39 and G's is log 2 = 0.69.

The 1,797 digits (pixel values 0..16) are split 75/25 (stratified) and scaled to [-1, 1]; the GAN
trains on the 1,347 training digits only. The networks (LeakyReLU(0.2) everywhere but the ends,
as in DCGAN, so that D passes gradient back to G even where a unit is off):

    G: z (16) -> 256 -> 256 -> 64 -> Tanh        pixels in [-1, 1], like the data
    D: x (2 x 64) -> 256 -> 256 -> 1             a logit: log-odds that a PAIR of images is real

Optimizer: Adam with lr 2e-4 and betas (0.5, 0.999) for both players, batches of 64 images, 4,000
steps (1,500 with ``fast``): the DCGAN settings (Radford et al., 2016).

Two remedies for mode collapse, the course's warning about GANs (a generator that draws a few
digits well and the others rarely or never), each measured without the other:
- the DCGAN settings. With Adam's defaults instead (lr 1e-3, betas (0.9, 0.999)) the same
  networks collapse: at seeds 0, 1, 2 the rarest digit gets 0.0%, 0.1% and 1.0% of the samples
  while another gets 22-40%. Large steps carried on by a heavy momentum let G chase D's current
  weak spot, piling onto the digits D accepts now and dropping the others.
- packing (PacGAN, Lin et al. 2018; ``examples/gan_ring.py`` shows it on the ring): D judges
  ``PACK`` = 2 images at once, real pairs against fake pairs, so a generator that draws some digit
  too rarely shows it in a larger share of the pairs. Without packing (D judging single images)
  the DCGAN settings alone keep most digits but not all, at every seed: at seed 3 the rarest digit
  gets 3.8% after 4,000 steps and 1.9% / 1.6% after 6,000 / 8,000.

How good are the fakes? A classifier trained on the real training digits (a 64-256-10 MLP,
glassnet.fit, ~98% on the 450 test digits) labels 1,000 generated samples. A generator that
covers the data gives every digit about a tenth of them (the target: at least 4% each), and one
that draws clear digits gets confident labels (the target: mean top-class probability >= 0.8).
Measured at full settings, seeds 0, 1, 2: the rarest digit gets 8.0%, 7.6%, 5.2% of the samples,
the mean top-class probability is 0.869, 0.869, 0.869 (on the real test digits: 0.977, 0.978,
0.968), and the judge's test accuracy 0.982, 0.980, 0.984; seeds 3, 4, 5: rarest 5.6%, 7.0%,
4.9%, top-class probability 0.868, 0.858, 0.860. A run takes 18-30 s on 2 cores (one BLAS thread).

    python examples/gan_digits.py [--fast] [--out DIR] [--seed N]

writes ``gan_digits_samples.png`` (generated digits, one row per label the classifier gives),
``gan_digits_histogram.png`` (the labels' histogram) and ``gan_digits_losses.png`` (both players'
losses) to DIR (default examples-output/).
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import glassnet as gn
from glassnet import functional as F
from glassnet import losses, nn, optim

LATENT = 16  # size of the noise vector z
HIDDEN = 256
BATCH = 64
N_SAMPLES = 1000  # generated samples the classifier labels
PACK = 2  # D judges PACK images at once (PacGAN)
MIN_FRACTION = 0.04  # the target: every digit gets at least this share of the samples
MIN_CONFIDENCE = 0.8  # the target: mean top-class probability


def load_data(seed: int):
    """The digits split 75/25 (stratified), flattened to (N, 64) and scaled from 0..16 to [-1, 1]."""
    digits = load_digits()
    pixels = (digits.data / 8.0 - 1.0).astype(np.float32)
    return train_test_split(pixels, digits.target, test_size=0.25, stratify=digits.target, random_state=seed)


def build_generator(rng) -> nn.Module:
    return nn.Sequential(nn.Linear(LATENT, HIDDEN, rng=rng), nn.LeakyReLU(0.2),
                         nn.Linear(HIDDEN, HIDDEN, rng=rng), nn.LeakyReLU(0.2),
                         nn.Linear(HIDDEN, 64, rng=rng), nn.Tanh())


def build_discriminator(rng) -> nn.Module:
    return nn.Sequential(nn.Linear(64 * PACK, HIDDEN, rng=rng), nn.LeakyReLU(0.2),
                         nn.Linear(HIDDEN, HIDDEN, rng=rng), nn.LeakyReLU(0.2),
                         nn.Linear(HIDDEN, 1, rng=rng))


def train_step(generator, discriminator, g_optimizer, d_optimizer, real, rng) -> tuple[float, float]:
    """One round of the game: one discriminator step, then one generator step. Returns both losses.
    ``real``: (BATCH, 64) images, judged by D in packs of PACK (BATCH // PACK packs a side)."""
    bce = losses.binary_cross_entropy_with_logits
    packs = len(real) // PACK
    is_real, is_fake = np.ones((packs, 1), np.float32), np.zeros((packs, 1), np.float32)
    fake = generator(rng.standard_normal((len(real), LATENT)).astype(np.float32))
    real_packs, fake_packs = real.reshape(packs, 64 * PACK), fake.reshape(packs, 64 * PACK)  # images side by side

    # D step: real -> 1, fake -> 0. detach() cuts the fakes from G, so this step changes only D.
    d_loss = bce(discriminator(real_packs), is_real) + bce(discriminator(fake_packs.detach()), is_fake)
    d_optimizer.zero_grad()  # also clears what the last G step left in D's gradients
    d_loss.backward()
    d_optimizer.step()

    # G step: make the (just improved) D call the fakes real. The gradient flows through D into G;
    # only G's optimizer steps, so D stays as it is.
    g_loss = bce(discriminator(fake_packs), is_real)
    g_optimizer.zero_grad()
    g_loss.backward()
    g_optimizer.step()
    return d_loss.item(), g_loss.item()


def train_gan(X_train, steps: int, rng):
    """Train G and D for ``steps`` rounds on batches drawn from ``X_train``; return G and the loss curves."""
    generator, discriminator = build_generator(rng), build_discriminator(rng)
    g_optimizer = optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    d_optimizer = optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    d_losses, g_losses = np.empty(steps), np.empty(steps)
    for step in range(steps):
        real = X_train[rng.integers(0, len(X_train), BATCH)]
        d_losses[step], g_losses[step] = train_step(generator, discriminator, g_optimizer, d_optimizer, real, rng)
    return generator, d_losses, g_losses


def train_classifier(X_train, y_train, X_test, y_test, seed: int, rng):
    """A 64-256-10 MLP on the real digits; returns it and its test accuracy."""
    classifier = nn.Sequential(nn.Linear(64, 256, rng=rng), nn.ReLU(), nn.Linear(256, 10, rng=rng))
    gn.fit(classifier, X_train, y_train, loss=losses.cross_entropy,
           optimizer=optim.Adam(classifier.parameters(), lr=1e-3), epochs=30, batch_size=32, seed=seed, verbose=0)
    return classifier, gn.evaluate(classifier, X_test, y_test, loss=losses.cross_entropy)["accuracy"]


def main(fast: bool = False, out=None, seed: int = 0) -> dict:
    """Train the GAN and the judging classifier, label 1,000 samples, print and return the numbers.

    ``fast``: 1,500 GAN steps instead of 4,000. ``out``: a folder for the figures (None: no figures).
    """
    if out is not None:  # a folder that cannot be made fails now, not after training
        Path(out).mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    X_train, X_test, y_train, y_test = load_data(seed)
    classifier, accuracy = train_classifier(X_train, y_train, X_test, y_test, seed, rng)
    print(f"digits: {len(X_train)} training and {len(X_test)} test images of 8x8 pixels in [-1, 1]")
    print(f"judge: MLP 64-256-10 trained on the real training digits, test accuracy {accuracy:.3f}")

    steps = 1500 if fast else 4000
    generator, d_losses, g_losses = train_gan(X_train, steps, rng)
    with gn.no_grad():
        samples = generator(rng.standard_normal((N_SAMPLES, LATENT)).astype(np.float32))
        probabilities = F.softmax(classifier(samples), axis=-1).numpy()
        # the same number on real digits, for scale: how sure the judge is of what it knows
        real_confidence = float(F.softmax(classifier(X_test), axis=-1).numpy().max(axis=1).mean())
    labels = probabilities.argmax(axis=1)
    counts = np.bincount(labels, minlength=10)
    fractions = counts / N_SAMPLES
    confidence = float(probabilities.max(axis=1).mean())
    last = slice(-min(200, steps), None)  # the last 200 steps: the curves are noisy step to step
    print(f"GAN: MLP generator {LATENT}-{HIDDEN}-{HIDDEN}-64 and discriminator {PACK}x64-{HIDDEN}-{HIDDEN}-1 "
          f"(packs of {PACK} images), Adam(lr 2e-4, betas (0.5, 0.999)), {steps} steps of batch {BATCH}")
    print(f"    losses over the last 200 steps: discriminator {d_losses[last].mean():.3f} "
          f"(equilibrium {2 * math.log(2):.3f}), generator {g_losses[last].mean():.3f} "
          f"(equilibrium {math.log(2):.3f})")
    print(f"{N_SAMPLES} generated samples labelled by the judge:")
    print("    digit    " + " ".join(f"{digit:>5d}" for digit in range(10)))
    print("    share    " + " ".join(f"{fraction:5.3f}" for fraction in fractions))
    print(f"    smallest share {fractions.min():.3f} (digit {fractions.argmin()}; target >= {MIN_FRACTION}), "
          f"mean top-class probability {confidence:.3f} (target >= {MIN_CONFIDENCE}; "
          f"{real_confidence:.3f} on the real test digits)")

    figures = []
    if out is not None:
        out = Path(out)
        images = samples.numpy().reshape(-1, 8, 8)
        figures = [_samples_figure(images, labels, out / "gan_digits_samples.png"),
                   _histogram_figure(fractions, out / "gan_digits_histogram.png"),
                   _losses_figure(d_losses, g_losses, out / "gan_digits_losses.png")]
        print("figures: " + ", ".join(str(path) for path in figures))
    seconds = time.perf_counter() - start
    print(f"({seconds:.1f} s)")
    return {"steps": steps, "classifier_accuracy": accuracy, "counts": counts.tolist(),
            "histogram": fractions.tolist(), "min_fraction": float(fractions.min()),
            "mean_top_probability": confidence, "real_mean_top_probability": real_confidence,
            "d_losses": d_losses.tolist(), "g_losses": g_losses.tolist(),
            "figures": figures, "seconds": seconds}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=110)
    _pyplot().close(fig)
    return path


def _samples_figure(images: np.ndarray, labels: np.ndarray, path: Path) -> Path:
    """A 10x10 grid: row k holds the first 10 samples the judge labels k (blank if it has fewer)."""
    plt = _pyplot()
    fig, axes = plt.subplots(10, 10, figsize=(6, 6.4))
    for digit in range(10):
        chosen = images[labels == digit][:10]
        for column, ax in enumerate(axes[digit]):
            ax.set_xticks([])
            ax.set_yticks([])
            if column < len(chosen):
                ax.imshow(chosen[column], cmap="gray_r", vmin=-1, vmax=1)
        axes[digit][0].set_ylabel(str(digit), rotation=0, labelpad=10)
    fig.subplots_adjust(left=0.06, right=0.98, bottom=0.02, top=0.93, wspace=0.1, hspace=0.1)
    fig.suptitle("GAN samples, one row per digit the classifier sees")
    return _save(fig, path)


def _histogram_figure(fractions: np.ndarray, path: Path) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.bar(range(10), fractions, color="tab:blue")
    ax.axhline(0.1, color="gray", linestyle=":", label="uniform (0.10)")
    ax.axhline(MIN_FRACTION, color="tab:red", linestyle="--", label=f"target minimum ({MIN_FRACTION})")
    ax.set_xticks(range(10))
    ax.set_xlabel("digit (classifier's label)")
    ax.set_ylabel(f"share of {N_SAMPLES} samples")
    ax.set_ylim(0, max(0.12, fractions.max()) * 1.3)  # room above the bars for the legend
    ax.legend(fontsize=8, loc="upper center", ncol=2)
    ax.set_title("which digits the generator draws")
    fig.tight_layout()
    return _save(fig, path)


def _losses_figure(d_losses: np.ndarray, g_losses: np.ndarray, path: Path) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    window = min(50, len(d_losses))  # a moving average: single steps are noisy
    kernel = np.ones(window) / window
    steps = np.arange(window, len(d_losses) + 1)
    ax.plot(steps, np.convolve(d_losses, kernel, mode="valid"), label="discriminator")
    ax.plot(steps, np.convolve(g_losses, kernel, mode="valid"), label="generator (non-saturating)")
    ax.axhline(2 * math.log(2), color="tab:blue", linestyle=":", label="equilibrium 2 log 2")
    ax.axhline(math.log(2), color="tab:orange", linestyle=":", label="equilibrium log 2")
    ax.set_xlabel("step")
    ax.set_ylabel(f"loss (mean of {window} steps)")
    ax.legend(fontsize=8)
    ax.set_title("the adversarial game")
    fig.tight_layout()
    return _save(fig, path)


def _parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fast", action="store_true", help="1,500 GAN steps instead of 4,000")
    parser.add_argument("--out", default="examples-output", help="folder for the figures (default examples-output)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split, the weights, the noise (default 0)")
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
