"""Autoencoders on scikit-learn's 8x8 digits: a linear one finds PCA, a nonlinear one beats it,
a denoising one cleans noisy images (the course's "unsupervised learning of efficient codings").

An autoencoder squeezes each image x (64 pixels) through a code z of k << 64 numbers and is
trained to give the image back: z = encoder(x), x_hat = decoder(z), loss = mean (x_hat - x)^2.
The code is an efficient coding of the data: k numbers that keep as much of the image as they can.

The data: the 1,797 digits, pixels divided by 16 (values in [0, 1]), split once 75/25,
stratified by digit (``train_test_split(..., test_size=0.25, stratify=digits, random_state=0)``:
1,347 training and 450 test images; the seed moves the weights, the batches and the noise, never
the split). The reconstruction error is the mean squared error per pixel on the TEST images.

(a) A *linear* autoencoder, Linear(64 -> k) then Linear(k -> 64), no activation. Its best
    reconstruction is the orthogonal projection onto the k-dimensional principal subspace of the
    training data (Baldi & Hornik 1989: the squared error of a linear bottleneck has no local minimum
    but PCA's, every other critical point is a saddle), so trained well it reaches PCA's error.
    Here (Adam, lr 0.02 decaying to 2e-5 on a cosine, batches of 128, 300 epochs) it lands within
    0.1% of PCA's test error for k = 2 and k = 8, and the space its decoder spans is PCA's (the
    cosines of the principal angles between the two subspaces are printed: all about 1). The
    weights themselves are not PCA's components: any invertible k x k mixing of the code gives
    the same reconstruction, so a linear autoencoder learns the subspace, not the axes.
(b) A nonlinear autoencoder 64-128-k-128-64 (ReLU hidden layers, a linear code, a sigmoid output
    for pixels in [0, 1]; Adam, lr 3e-3 on a cosine, batches of 256, 200 epochs) bends its
    code to the data: a lower test error than PCA at both code sizes, by about 25% at k = 2
    and 45% at k = 8 (seeds 0, 1, 2: 0.041, 0.038, 0.040 against PCA's 0.053 at k = 2; 0.0139,
    0.0138, 0.0131 against 0.0246 at k = 8).
(c) A denoising autoencoder (Vincent et al. 2008): the same network as (b) with k = 8, trained
    to give back the clean image from an input with Gaussian noise (std 0.3) added anew to
    every batch. On the test images with noise of the same kind (clean images as the target) it
    beats PCA (the noisy image projected onto the principal subspace; its error about 0.036) by
    a third (0.023), and the plain autoencoder of (b), which never saw noise, by more: trained
    only on clean digits, that one does worse than PCA on noisy inputs (0.044-0.051).

The full run (seven networks) took 21-33 s on a 2-core machine that other jobs shared.

    python examples/autoencoder_digits.py [--fast] [--out DIR] [--seed N]

writes ``autoencoder_codes.png`` (the 2-D codes of the test images coloured by digit, PCA's and
the nonlinear autoencoder's), ``autoencoder_reconstructions.png`` (originals and their
reconstructions from 8 numbers) and ``autoencoder_denoising.png`` (clean, noisy and denoised
images) to DIR (default examples-output/).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import glassnet as gn
from glassnet import losses, nn, optim
from glassnet.data.augment import GaussianNoise

CODE_SIZES = (2, 8)
NOISE_STD = 0.3
# (epochs, peak learning rate, batch size): full settings, then the shortened ones of --fast.
LINEAR = {False: (300, 0.02, 128), True: (200, 0.02, 128)}
NONLINEAR = {False: (200, 3e-3, 256), True: (80, 3e-3, 256)}


def load_data():
    """The digits as (n, 64) float32 pixels in [0, 1], split 75/25 stratified (fixed split)."""
    digits = load_digits()
    pixels = (digits.data / 16.0).astype(np.float32)
    return train_test_split(pixels, digits.target, test_size=0.25, stratify=digits.target, random_state=0)


def reconstruction_error(reconstructed, X) -> float:
    """Mean squared error per pixel: mean over images and pixels of (x_hat - x)^2."""
    return float(np.mean((np.asarray(reconstructed, np.float64) - X) ** 2))


class PCA:
    """Principal component analysis from the SVD of the centred training data: the k directions
    of largest variance. ``encode(X)`` -> (n, k) codes, ``decode(codes)`` -> (n, 64)."""

    def __init__(self, X_train: np.ndarray, k: int) -> None:
        self.mean = X_train.mean(axis=0)
        _, _, Vt = np.linalg.svd(X_train - self.mean, full_matrices=False)
        self.components = Vt[:k]  # (k, 64), orthonormal rows

    def encode(self, X):
        return (X - self.mean) @ self.components.T

    def decode(self, codes):
        return codes @ self.components + self.mean


class Autoencoder(nn.Module):
    """x ``(n, 64)`` -> encoder -> code ``(n, k)`` -> decoder -> reconstruction ``(n, 64)``."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module) -> None:
        super().__init__()
        self.encoder, self.decoder = encoder, decoder

    def forward(self, x):
        return self.decoder(self.encoder(x))


def linear_autoencoder(k: int, rng) -> Autoencoder:
    return Autoencoder(nn.Linear(64, k, rng=rng), nn.Linear(k, 64, rng=rng))


def nonlinear_autoencoder(k: int, rng) -> Autoencoder:
    encoder = nn.Sequential(nn.Linear(64, 128, weight_init="he_uniform", rng=rng), nn.ReLU(),
                            nn.Linear(128, k, rng=rng))
    decoder = nn.Sequential(nn.Linear(k, 128, weight_init="he_uniform", rng=rng), nn.ReLU(),
                            nn.Linear(128, 64, rng=rng), nn.Sigmoid())
    return Autoencoder(encoder, decoder)


def train(model: nn.Module, X_train, settings: tuple, seed: int, augment=None) -> nn.Module:
    """Fit the model to give back its input (target = the clean X_train), Adam with a cosine decay
    of the learning rate to 1/1000 of its peak; ``augment`` corrupts the inputs of each batch."""
    epochs, lr, batch_size = settings
    gn.fit(model, X_train, X_train, loss=losses.mse, optimizer=optim.Adam(model.parameters(), lr=lr),
           epochs=epochs, batch_size=batch_size, metrics=(), augment=augment, seed=seed, verbose=0,
           callbacks=[gn.LearningRateSchedule("cosine", T_max=epochs, eta_min=lr * 1e-3)])
    return model.eval()


def run(model: nn.Module, X) -> np.ndarray:
    with gn.no_grad():
        return model(X).numpy()


def subspace_cosines(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Cosines of the principal angles between the row spaces of A (k, d) and B (k, d): the
    singular values of Qa^T Qb for orthonormal bases Qa, Qb. All 1: the same subspace."""
    Qa, _ = np.linalg.qr(A.T.astype(np.float64))
    Qb, _ = np.linalg.qr(B.T.astype(np.float64))
    return np.linalg.svd(Qa.T @ Qb, compute_uv=False)


def main(fast: bool = False, out=None, seed: int = 0) -> dict:
    """Train the autoencoders, print and return their test reconstruction errors next to PCA's.

    ``fast`` trains for fewer epochs (the claims still hold); ``out``: a folder for the figures.
    """
    if out is not None:  # a folder that cannot be made fails now, not after training
        Path(out).mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    X_train, X_test, _, y_test = load_data()
    rng = np.random.default_rng(seed)
    results, models = {}, {}
    for k in CODE_SIZES:
        pca = PCA(X_train, k)
        linear = train(linear_autoencoder(k, rng), X_train, LINEAR[fast], seed)
        nonlinear = train(nonlinear_autoencoder(k, rng), X_train, NONLINEAR[fast], seed)
        pca_error = reconstruction_error(pca.decode(pca.encode(X_test)), X_test)
        linear_error = reconstruction_error(run(linear, X_test), X_test)
        results[k] = {"pca": pca_error, "linear_ae": linear_error, "linear_ratio": linear_error / pca_error,
                      "nonlinear_ae": reconstruction_error(run(nonlinear, X_test), X_test),
                      "subspace_cosines": subspace_cosines(linear.decoder.weight.data, pca.components).tolist()}
        models[k] = (pca, linear, nonlinear)

    # (c) the same network as the nonlinear autoencoder with k = 8, trained on noisy inputs
    pca8, _, plain8 = models[8]
    noise = GaussianNoise(NOISE_STD)
    denoising = train(nonlinear_autoencoder(8, rng), X_train, NONLINEAR[fast], seed, augment=noise)
    X_noisy = noise(X_test, np.random.default_rng([seed, 1])).astype(np.float32)
    denoised = {"noisy_input": reconstruction_error(X_noisy, X_test),
                "pca": reconstruction_error(pca8.decode(pca8.encode(X_noisy)), X_test),
                "plain_ae": reconstruction_error(run(plain8, X_noisy), X_test),
                "denoising_ae": reconstruction_error(run(denoising, X_noisy), X_test)}

    print(f"digits: {len(X_train)} training and {len(X_test)} test images, 64 pixels in [0, 1]; "
          f"test reconstruction error (mean squared error per pixel):")
    print("    code size   PCA       linear AE (/ PCA)     nonlinear AE (/ PCA)   principal angles, linear AE vs PCA")
    for k, r in results.items():
        print(f"    k = {k:<7d} {r['pca']:.5f}   {r['linear_ae']:.5f} ({r['linear_ratio']:.4f})    "
              f"{r['nonlinear_ae']:.5f} ({r['nonlinear_ae'] / r['pca']:.3f})       "
              f"cosines >= {min(r['subspace_cosines']):.4f}")
    print(f"denoising, k = 8: test images + Gaussian noise (std {NOISE_STD}), error against the clean images:")
    print(f"    the noisy input itself {denoised['noisy_input']:.5f}   PCA {denoised['pca']:.5f}   "
          f"plain AE {denoised['plain_ae']:.5f}   denoising AE {denoised['denoising_ae']:.5f}")

    figures = []
    if out is not None:
        figures = _figures(Path(out), X_test, y_test, models, X_noisy, denoising)
        print("figures: " + ", ".join(str(path) for path in figures))
    seconds = time.perf_counter() - start
    print(f"({seconds:.1f} s)")
    return {"results": results, "denoising": denoised, "noise_std": NOISE_STD, "n_train": len(X_train),
            "n_test": len(X_test), "figures": figures, "seconds": seconds}


def _figures(out: Path, X_test, y_test, models: dict, X_noisy, denoising) -> list:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    pca2, _, nonlinear2 = models[2]
    fig, axes = plt.subplots(1, 2, figsize=(11, 5))
    for ax, codes, title in ((axes[0], pca2.encode(X_test), "PCA, 2 components"),
                             (axes[1], run(nonlinear2.encoder, X_test), "nonlinear autoencoder, code size 2")):
        points = ax.scatter(codes[:, 0], codes[:, 1], c=y_test, cmap="tab10", s=10, vmin=-0.5, vmax=9.5)
        ax.set(title=f"{title}\ncodes of the test digits", xlabel="z1", ylabel="z2")
    fig.colorbar(points, ax=axes, ticks=range(10), label="digit")
    paths = [_save(fig, out / "autoencoder_codes.png")]

    shown = [int(np.flatnonzero(y_test == digit)[0]) for digit in range(10)]  # one test image of each digit
    pca8, linear8, nonlinear8 = models[8]
    rows = {"original": X_test, "PCA, 8": pca8.decode(pca8.encode(X_test)), "linear AE, 8": run(linear8, X_test),
            "nonlinear AE, 8": run(nonlinear8, X_test)}
    paths.append(_save(_image_grid(plt, rows, shown, "test digits and their reconstructions from 8 numbers"),
                       out / "autoencoder_reconstructions.png"))
    rows = {"clean": X_test, f"noisy (std {NOISE_STD})": X_noisy, "PCA, 8": pca8.decode(pca8.encode(X_noisy)),
            "plain AE": run(nonlinear8, X_noisy), "denoising AE": run(denoising, X_noisy)}
    paths.append(_save(_image_grid(plt, rows, shown, "denoising: the noisy images are the input"),
                       out / "autoencoder_denoising.png"))
    return paths


def _image_grid(plt, rows: dict, shown: list, title: str):
    fig, axes = plt.subplots(len(rows), len(shown), figsize=(1.1 * len(shown) + 1, 1.15 * len(rows) + 0.6))
    for row, (name, images) in enumerate(rows.items()):
        for column, index in enumerate(shown):
            ax = axes[row, column]
            ax.imshow(np.clip(images[index], 0, 1).reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
            ax.set_xticks([]), ax.set_yticks([])
        axes[row, 0].set_ylabel(name, fontsize=8)
    fig.suptitle(title)
    return fig


def _save(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.savefig(path, format="png", dpi=100)
    plt.close(fig)
    return path


def _parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fast", action="store_true", help="train for fewer epochs (the claims still hold)")
    parser.add_argument("--out", default="examples-output", help="folder for the figures (default examples-output)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the weights, batches and noise (default 0)")
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
