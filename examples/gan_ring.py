"""A GAN on a ring of 8 Gaussians: mode collapse, and packing (PacGAN) as the fix.

The data are the benchmark of VEEGAN and PacGAN: 8 Gaussians with standard deviation 0.01 whose
means lie evenly on a circle of radius 1. A generator G (an MLP from 2-D standard normal noise to
the plane) plays against a discriminator D (an MLP from the plane to one logit):

    D step:  D learns to tell real samples (label 1) from G's samples (label 0): binary
             cross-entropy on logits, for the real and the fake half.
    G step:  G learns to make D answer "real": the non-saturating loss -log D(G(z)), which is the
             same binary cross-entropy with label 1 on G's samples (Goodfellow et al. 2014).

The course warns about *mode collapse*: G may put all its samples on one or a few modes; D then
learns to reject those, G jumps to others, and the two chase each other around the ring. A setting
where the plain GAN does that: Adam with beta1 = ``BETA1`` (0.7) and a generator that learns 5x
faster than its discriminator (lr 5e-3 against 1e-3). Both GANs train ``STEPS`` steps on fresh
samples, with the learning rates decayed geometrically to 1% over the last 40% of the steps so
that the samples settle. The plain GAN's samples sit in one blob hopping from mode to mode for
most of training (the figure's top row: 0 or 1 mode at 10% and 25% of the steps, every seed);
when the learning rates decay it either stays on one mode or spreads along the ring, and fewer of
its samples are high quality.

The fix is packing, as PacGAN (Lin et al. 2018) does: D judges ``PACK`` = 2 samples at once, their
coordinates concatenated into one 4-D input, real pairs against fake pairs. Packing magnifies a
missing mode: a G that covers 6 of the 8 modes misses 25% of the data's mass, but 44% of the data's
*pairs* (1 - (6/8)^2), so D sees the collapse more clearly and pushes G harder towards the missing
modes. Only D's input layer changes (2 * PACK inputs); G, the losses and the schedule stay the same.

Metric, as PacGAN defines it, on 2,500 samples of G: a sample is *high quality* if it lies within
3 standard deviations (0.03) of the nearest mode's mean; a mode is *covered* if at least one
high-quality sample is nearest to it. Published (PacGAN, the 2-D ring, larger networks, mean +- std
over runs): GAN 6.3 +- 0.5 modes / 98.2% high quality, PacGAN2 7.9 +- 0.1 / 95.6%, VEEGAN 8 / 52.9%.

Measured here (8,000 steps, seeds 0, 1, 2): the plain GAN 7 / 92.4%, 1 / 0.0%, 8 / 91.9% (mean 5.3
modes, 61.4%); PacGAN2 8 / 97.6%, 8 / 97.8%, 8 / 97.6% (mean 8.0 modes, 97.7%). Seeds 3, 4, 5:
GAN 7 / 87.0%, 1 / 3.4%, 8 / 89.5%; PacGAN2 8 / 96.4%, 8 / 96.8%, 8 / 95.3%. With 6,000 steps
PacGAN2 ends at 94.6-96.3%: the last steps at a small learning rate sharpen the modes. Both GANs
together take 25-30 s on 2 cores.

    python examples/gan_ring.py [--fast] [--out DIR] [--seed N]

writes ``gan_ring_steps.png`` (both GANs' samples over the true density at several steps, a row
per GAN) and ``gan_ring_final.png`` (the final samples) to DIR (default examples-output/).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import glassnet as gn
from glassnet import losses, nn, optim

N_MODES, RADIUS, STD = 8, 1.0, 0.01
ANGLES = 2 * np.pi * np.arange(N_MODES) / N_MODES
MODES = (RADIUS * np.stack([np.cos(ANGLES), np.sin(ANGLES)], axis=1)).astype(np.float32)  # (8, 2)
N_EVALUATION = 2500  # samples the metric is computed on, as in PacGAN
NOISE_DIM, HIDDEN = 2, 128
STEPS, FAST_STEPS = 8000, 4000
BATCH_SIZE = 128  # D inputs per step, real and fake each: 128 * pack samples, as PacGAN counts
LEARNING_RATE, G_LEARNING_RATE, BETA1 = 1e-3, 5e-3, 0.7
DECAY_FROM, FINAL_LR_FACTOR = 0.6, 0.01  # lr falls geometrically from 60% of the steps to 1%
PACK = 2
PUBLISHED = {"GAN": (6.3, 0.5, 0.982), "PacGAN2": (7.9, 0.1, 0.956), "VEEGAN": (8.0, 0.0, 0.529)}


def ring_samples(n: int, rng: np.random.Generator) -> np.ndarray:
    """n samples of the ring: a mode drawn uniformly, plus N(0, STD^2) noise. Shape (n, 2)."""
    return (MODES[rng.integers(0, N_MODES, n)] + STD * rng.standard_normal((n, 2))).astype(np.float32)


def quality(samples: np.ndarray) -> dict:
    """PacGAN's metric: the number of modes covered and the fraction of high-quality samples."""
    distances = np.linalg.norm(samples[:, None, :] - MODES[None, :, :], axis=2)  # (n, 8)
    nearest = distances.argmin(axis=1)
    high_quality = distances.min(axis=1) <= 3 * STD
    return {"modes": int(np.unique(nearest[high_quality]).size), "high_quality": float(high_quality.mean())}


def mlp(sizes, rng) -> nn.Sequential:
    layers: list = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(fan_in, fan_out, rng=rng), nn.ReLU()]
    return nn.Sequential(*layers[:-1])  # no activation after the last layer


def packed(samples: gn.Tensor, pack: int) -> gn.Tensor:
    """(n, 2) samples -> (n / pack, 2 * pack): each row holds `pack` samples side by side."""
    return samples.reshape(samples.shape[0] // pack, 2 * pack)


def adversarial_step(generator, discriminator, g_optimizer, d_optimizer, pack: int, rng) -> None:
    """One step of the game: a discriminator step, then a generator step."""
    n = BATCH_SIZE * pack  # samples per step, so D judges BATCH_SIZE real and BATCH_SIZE fake packs
    real_label, fake_label = np.ones((BATCH_SIZE, 1), np.float32), np.zeros((BATCH_SIZE, 1), np.float32)
    bce = losses.binary_cross_entropy_with_logits  # stable: D outputs a logit, not a probability

    # D step: real packs -> 1, fake packs -> 0. detach(): this loss must not reach G's weights.
    real = gn.Tensor(ring_samples(n, rng))
    fake = generator(noise(n, rng)).detach()
    d_loss = bce(discriminator(packed(real, pack)), real_label) + bce(discriminator(packed(fake, pack)), fake_label)
    d_optimizer.zero_grad()
    d_loss.backward()
    d_optimizer.step()

    # G step, non-saturating: maximize log D(G(z)) = minimize BCE(D(G(z)), 1). The gradient flows
    # through D into G; only G moves (D's gradients from this pass are cleared before its next step).
    fake = generator(noise(n, rng))
    g_loss = bce(discriminator(packed(fake, pack)), real_label)
    g_optimizer.zero_grad()
    g_loss.backward()
    g_optimizer.step()


def noise(n: int, rng: np.random.Generator) -> gn.Tensor:
    return gn.Tensor(rng.standard_normal((n, NOISE_DIM)).astype(np.float32))


def train_gan(pack: int, steps: int, seed: int, snapshot_steps) -> list:
    """Train a GAN whose discriminator sees `pack` samples at once; return the (step, samples,
    quality) of G's samples at each of `snapshot_steps`."""
    rng = np.random.default_rng(seed)
    generator = mlp([NOISE_DIM, HIDDEN, HIDDEN, 2], rng)
    discriminator = mlp([2 * pack, HIDDEN, HIDDEN, 1], rng)
    g_optimizer = optim.Adam(generator.parameters(), lr=G_LEARNING_RATE, betas=(BETA1, 0.999))
    d_optimizer = optim.Adam(discriminator.parameters(), lr=LEARNING_RATE, betas=(BETA1, 0.999))
    evaluation_noise = noise(N_EVALUATION, np.random.default_rng([seed, 1]))  # the same z at every snapshot
    decay_start = int(DECAY_FROM * steps)
    snapshots = []
    for step in range(1, steps + 1):
        # Geometric decay at the end: smaller steps let G's samples settle onto the modes.
        factor = FINAL_LR_FACTOR ** (max(step - decay_start, 0) / (steps - decay_start))
        g_optimizer.lr, d_optimizer.lr = G_LEARNING_RATE * factor, LEARNING_RATE * factor
        adversarial_step(generator, discriminator, g_optimizer, d_optimizer, pack, rng)
        if step in snapshot_steps:
            with gn.no_grad():
                samples = generator(evaluation_noise).numpy()
            snapshots.append({"step": step, "samples": samples, **quality(samples)})
    return snapshots


def main(fast: bool = False, out=None, seed: int = 0) -> dict:
    """Train the plain GAN and the packed one, print and return their modes and quality.

    ``fast`` trains FAST_STEPS steps instead of STEPS. ``out``: a folder for the figures (None: none).
    """
    if out is not None:  # a folder that cannot be made fails now, not after training
        Path(out).mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    steps = FAST_STEPS if fast else STEPS
    snapshot_steps = sorted({steps // 10, steps // 4, steps // 2, steps})
    runs = {name: train_gan(pack, steps, seed, snapshot_steps) for name, pack in (("GAN", 1), (f"PacGAN{PACK}", PACK))}
    print(f"ring of {N_MODES} Gaussians (radius {RADIUS}, std {STD}); G 2-{HIDDEN}-{HIDDEN}-2, D (2*pack)-{HIDDEN}-"
          f"{HIDDEN}-1, {steps} steps, {BATCH_SIZE} real and {BATCH_SIZE} fake D inputs a step; metric on "
          f"{N_EVALUATION} samples of G:")
    result: dict = {"steps": steps}
    for name, snapshots in runs.items():
        final = snapshots[-1]
        history = ", ".join(f"{s['modes']}/{s['high_quality']:.0%} at {s['step']}" for s in snapshots[:-1])
        print(f"    {name:8s} {final['modes']} of {N_MODES} modes, {final['high_quality']:.1%} high quality"
              f"   (earlier: {history})")
        result[name] = {"modes": final["modes"], "high_quality": final["high_quality"],
                        "snapshots": [{key: s[key] for key in ("step", "modes", "high_quality")} for s in snapshots]}
    print("published (PacGAN, 2-D ring):")
    for name, (modes, spread, high_quality) in PUBLISHED.items():
        print(f"    {name:8s} {modes} +- {spread} modes, {high_quality:.1%} high quality")
    result["published"] = PUBLISHED
    figures = []
    if out is not None:
        figures = [_steps_figure(runs, Path(out) / "gan_ring_steps.png"),
                   _final_figure(runs, Path(out) / "gan_ring_final.png")]
        print("figures: " + ", ".join(str(path) for path in figures))
    seconds = time.perf_counter() - start
    print(f"({seconds:.1f} s)")
    result.update(figures=figures, seconds=seconds)
    return result


def _draw(ax, samples: np.ndarray, title: str) -> None:
    # The true density: each mode's 3-std disc, inside which a sample counts as high quality.
    for x, y in MODES:
        ax.add_patch(_circle((x, y), 3 * STD))
    ax.scatter(samples[:, 0], samples[:, 1], s=2, alpha=0.3, color="tab:blue", linewidths=0)
    ax.set_xlim(-1.5, 1.5)
    ax.set_ylim(-1.5, 1.5)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=9)


def _circle(center, radius):
    from matplotlib.patches import Circle

    return Circle(center, radius, color="tab:red", alpha=0.5, linewidth=0)


def _save(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=100)
    plt.close(fig)
    return path


def _steps_figure(runs: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = len(next(iter(runs.values())))
    fig, axes = plt.subplots(len(runs), columns, figsize=(2.6 * columns, 3.0 * len(runs)), squeeze=False)
    for row, (name, snapshots) in zip(axes, runs.items()):
        for ax, snapshot in zip(row, snapshots):
            _draw(ax, snapshot["samples"], f"{name}, step {snapshot['step']}: {snapshot['modes']}/{N_MODES} modes, "
                                           f"{snapshot['high_quality']:.0%}")
    fig.suptitle("G's samples (blue) over the 8 modes (red: 3-std discs)")
    fig.tight_layout()
    return _save(fig, path)


def _final_figure(runs: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(runs), figsize=(4.5 * len(runs), 4.7), squeeze=False)
    for ax, (name, snapshots) in zip(axes[0], runs.items()):
        final = snapshots[-1]
        _draw(ax, final["samples"], f"{name}: {final['modes']} of {N_MODES} modes, "
                                    f"{final['high_quality']:.1%} high quality")
    fig.tight_layout()
    return _save(fig, path)


def _parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fast", action="store_true", help=f"train {FAST_STEPS} steps instead of {STEPS}")
    parser.add_argument("--out", default="examples-output", help="folder for the figures (default examples-output)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the weights, the noise and the data (default 0)")
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
