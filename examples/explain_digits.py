"""Why a CNN reads a digit as it does: saliency, integrated gradients and Grad-CAM, checked.

A small CNN learns scikit-learn's 8x8 digits (the split and scaling of ``digits_cnn.py``):

    Conv2d(1 -> 16, 3x3, padding 1) -> ReLU -> MaxPool2d(2)    16 maps of 4x4
    Conv2d(16 -> 32, 3x3, padding 1) -> ReLU                   32 maps of 4x4  (Grad-CAM's layer)
    GlobalAvgPool2d -> Linear(32 -> 10)

The global average pooling is what Grad-CAM assumes (its weight of a feature map is the mean of
the class score's gradient over the map): with a Flatten -> Linear head instead, each position has
its own weights, their mean is mostly negative, and the ReLU of Grad-CAM leaves most maps empty.

Adam (lr 3e-3, batches of 32), 20 epochs: test accuracy 0.980 / 0.971 / 0.958 / 0.973 at seeds
0 / 1 / 2 / 3. Then, for the logit of the class it predicts, three explanations of test images:

- saliency |d logit / d x|, the gradient's magnitude at each pixel;
- integrated gradients from a black image (no ink), 200 Gauss-Legendre steps;
- Grad-CAM on the last convolution (4x4), brought up to 8x8 by bilinear interpolation.

Completeness: an image's integrated gradients sum to logit(x) - logit(black), here to within
5.4e-3 / 3.8e-3 / 1.7e-3 / 1.9e-3 of it on the four images shown (the issue asks for 1%, the
paper for 5%), and the returned delta is that difference. The error is the quadrature's (the
network is piecewise linear in x, so the integrand jumps where a ReLU or a max switches: more
steps shrink it, float64 does not), about 0.05 logit at most: on all 450 test images the median
relative error is 1e-3 and 95-99% are within 1%, but where the black image scores nearly as
high as the image (|logit(x) - logit(black)| < 0.15) the same absolute error is 10-50% of it.

The model randomization test of Adebayo et al. (2018, "Sanity checks for saliency maps"): an
explanation that explains the model must change when the model's weights are replaced by random
ones. The layers are re-initialized from the top (the output layer, then the second convolution,
then the first: all of them) and each method's |map| is compared with the trained model's by the
Spearman rank correlation over the 64 pixels, averaged over the 450 test images. All layers
random, seeds 0 / 1 / 2 / 3:

    saliency               0.150 / 0.154 / 0.110 / 0.093   changes (< 0.2)
    Grad-CAM              -0.031 / 0.177 / 0.093 / -0.016  changes (< 0.2)
    integrated gradients   0.911 / 0.915 / 0.910 / 0.913   hardly changes

Saliency and Grad-CAM depend on what the network learned (Grad-CAM mostly through the output
layer, whose weights pick the feature maps: -0.09 to 0.28 with that layer alone re-initialized).
Integrated gradients do not pass: x - black is 0 on every blank pixel whatever the weights, so the
ink decides most of the ranking (the trained model's integrated gradients rank-correlate about
0.94 with |x - black| itself): a map that looks convincing even for a network that learned
nothing. With a black baseline, the map says where the ink is more than how the network reads it.

    python examples/explain_digits.py [--fast] [--out DIR] [--seed N]

writes ``explain_digits.png`` (the maps), ``explain_digits_randomized.png`` (trained against
fully randomized) and ``explain_digits_cascade.png`` (the rank correlations per stage) to DIR
(default examples-output/).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from scipy.stats import rankdata
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import glassnet as gn
from glassnet import losses, nn, optim
from glassnet.explain import IntegratedGradients, LayerGradCam, Saliency, interpolate

EPOCHS = 20
N_SHOWN = 4  # test images in the figure and the completeness check
IG_STEPS = 200  # the setting for completeness
SANITY_IG_STEPS = 50  # enough to rank the pixels; the randomization test runs on many images
METHODS = ("saliency", "integrated gradients", "Grad-CAM")
# Re-initialized from the top: the cumulative stages of the cascade (indices into the Sequential).
CASCADE = (("output layer", (6,)), ("+ conv 2", (6, 3)), ("+ conv 1 (all layers)", (6, 3, 0)))


def load_data(seed: int):
    """Train/test images (N, 1, 8, 8), standardized by the training set, and the black image."""
    digits = load_digits()
    images = digits.images.astype(np.float32)[:, None, :, :]
    X_train, X_test, y_train, y_test = train_test_split(
        images, digits.target, test_size=0.25, stratify=digits.target, random_state=seed)
    mean, std = X_train.mean(), X_train.std()
    black = np.full((1, 8, 8), -mean / std, dtype=np.float32)  # pixel value 0 (no ink), scaled
    return (X_train - mean) / std, (X_test - mean) / std, y_train, y_test, black


def build_model(seed: int) -> nn.Sequential:
    rng = np.random.default_rng(seed)
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1, rng=rng), nn.ReLU(),
        nn.GlobalAvgPool2d(), nn.Linear(32, 10, rng=rng),
    )


def explain(model: nn.Sequential, images, target, black, ig_steps: int) -> dict:
    """The three maps of ``images`` for class ``target``, each (N, 1, 8, 8), and IG's deltas."""
    saliency = Saliency(model).attribute(images, target=target)
    ig, delta = IntegratedGradients(model).attribute(images, baselines=black, target=target, n_steps=ig_steps,
                                                     method="gausslegendre", internal_batch_size=1000)
    cam = LayerGradCam(model, model[3]).attribute(images, target=target, relu_attributions=True)
    cam = interpolate(cam, images.shape[2:], mode="bilinear")
    return {"maps": dict(zip(METHODS, (saliency, ig, cam))), "delta": delta}


def completeness(model, images, target, black, ig, delta) -> dict:
    """|sum IG - (f(x) - f(black))| / |f(x) - f(black)| per image, f(x) computed here afresh."""
    rows = np.arange(len(images))
    logits = gn.predict(model, images)[rows, target].astype(np.float64)
    black_logits = gn.predict(model, np.repeat(black[None], len(images), axis=0))[rows, target]
    gap = logits - black_logits
    error = ig.reshape(len(images), -1).sum(axis=1, dtype=np.float64) - gap
    return {"relative_error": np.abs(error) / np.abs(gap), "gap": gap,
            "delta_mismatch": float(np.max(np.abs(delta - error)))}


def rank_correlations(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman's rank correlation of |a[i]| and |b[i]| over the pixels, per example (ties get
    their mean rank); 0 where a map is constant (nothing to rank: the correlation is undefined)."""
    ranks_a = rankdata(np.abs(a).reshape(len(a), -1), axis=1)
    ranks_b = rankdata(np.abs(b).reshape(len(b), -1), axis=1)
    ranks_a -= ranks_a.mean(axis=1, keepdims=True)
    ranks_b -= ranks_b.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(ranks_a, axis=1) * np.linalg.norm(ranks_b, axis=1)
    return np.where(norms > 0, (ranks_a * ranks_b).sum(axis=1) / np.where(norms > 0, norms, 1.0), 0.0)


def randomized(model: nn.Sequential, layers, seed: int) -> nn.Sequential:
    """A copy of ``model`` whose ``layers`` (indices) are re-initialized with fresh random weights."""
    copy = build_model(seed)
    copy.load_state_dict(model.state_dict())
    rng = np.random.default_rng([seed, 2018])  # not the training seed: new weights
    for index in layers:
        copy[index].reset_parameters(rng)
    return copy


def sanity_check(model, images, target, black, seed: int):
    """The cascade: each method's mean rank correlation with the trained model's maps, per stage;
    the trained maps' rank correlation with the ink; the maps of the trained and of the fully
    randomized model."""
    trained = explain(model, images, target, black, SANITY_IG_STEPS)["maps"]
    cascade, random = {}, {}
    for stage, layers in CASCADE:
        random = explain(randomized(model, layers, seed), images, target, black, SANITY_IG_STEPS)["maps"]
        cascade[stage] = {name: float(rank_correlations(trained[name], random[name]).mean()) for name in METHODS}
    # What a map shares with the image's own ink |x - black|, which no model produced.
    ink = {name: float(rank_correlations(trained[name], images - black).mean()) for name in METHODS}
    return cascade, ink, trained, random


def main(fast: bool = False, out=None, seed: int = 0) -> dict:
    """Train, explain, check completeness and run the randomization test; print and return the numbers.

    ``fast``: the randomization test on 60 test images instead of all 450, and completeness on
    the shown images only (the full run checks it on every test image too). ``out``: a folder
    for the figures (None: no figures).
    """
    start = time.perf_counter()
    X_train, X_test, y_train, y_test, black = load_data(seed)
    model = build_model(seed)
    gn.fit(model, X_train, y_train, loss=losses.cross_entropy, optimizer=optim.Adam(model.parameters(), lr=3e-3),
           epochs=EPOCHS, batch_size=32, seed=seed, verbose=0)
    predicted = gn.predict(model, X_test).argmax(axis=1)
    accuracy = float(np.mean(predicted == y_test))
    print(f"digits: CNN trained for {EPOCHS} epochs on {len(X_train)} images: test accuracy {accuracy:.4f} "
          f"({len(X_test)} images)")

    shown, target = X_test[:N_SHOWN], predicted[:N_SHOWN]
    explained = explain(model, shown, target, black, IG_STEPS)
    check = completeness(model, shown, target, black, explained["maps"]["integrated gradients"], explained["delta"])
    worst = float(check["relative_error"].max())
    print(f"completeness, integrated gradients ({IG_STEPS} Gauss-Legendre steps from a black image), "
          f"relative error |sum of attributions - (f(x) - f(black))| / |f(x) - f(black)|:")
    print(f"    the {N_SHOWN} images shown: at most {worst:.2e} (f(x) - f(black) from {check['gap'].min():.2f} to "
          f"{check['gap'].max():.2f}); the returned delta equals that difference to {check['delta_mismatch']:.1e}")
    every = None if fast else _completeness_everywhere(model, X_test, predicted, black)

    sanity_images = X_test[:60] if fast else X_test
    cascade, ink, trained_maps, random_maps = sanity_check(model, sanity_images, predicted[:len(sanity_images)],
                                                           black, seed)
    changed = _print_cascade(cascade, len(sanity_images))
    print("    the trained model's maps against the image's own ink |x - black| (no model at all):"
          + "".join(f" {name} {ink[name]:.3f}," for name in METHODS).rstrip(","))

    figures = []
    if out is not None:
        out = Path(out)
        labels = [f"label {y}, predicted {p}" for y, p in zip(y_test[:N_SHOWN], target)]
        figures = [_maps_figure(explained["maps"], shown, labels, out / "explain_digits.png"),
                   _randomized_figure(trained_maps, random_maps, sanity_images, labels, out),
                   _cascade_figure(cascade, out / "explain_digits_cascade.png")]
        print("figures: " + ", ".join(str(path) for path in figures))
    seconds = time.perf_counter() - start
    print(f"({seconds:.1f} s)")
    return {"test_accuracy": accuracy, "completeness_relative_errors": check["relative_error"],
            "completeness_max": worst, "delta_mismatch": check["delta_mismatch"], "completeness_all": every,
            "n_sanity": len(sanity_images), "rank_correlation": cascade, "ink_correlation": ink,
            "changed": changed, "figures": figures, "seconds": seconds}


def _completeness_everywhere(model, images, target, black) -> dict:
    """Completeness on every test image: a relative error, so it grows where f(x) ~ f(black)."""
    ig, delta = IntegratedGradients(model).attribute(images, baselines=black, target=target, n_steps=IG_STEPS,
                                                     method="gausslegendre", internal_batch_size=1000)
    check = completeness(model, images, target, black, ig, delta)
    errors, gaps = check["relative_error"], check["gap"]
    worst = int(errors.argmax())
    result = {"median": float(np.median(errors)), "within_1_percent": float(np.mean(errors <= 0.01)),
              "max": float(errors[worst]), "gap_at_max": float(gaps[worst]),
              "max_abs_error": float(np.max(np.abs(errors * gaps)))}
    print(f"    all {len(images)} test images: median {result['median']:.1e}, {100 * result['within_1_percent']:.1f}% "
          f"within 1%; the largest, {result['max']:.1e}, where f(x) - f(black) is only {result['gap_at_max']:.2f} "
          f"(the absolute error stays below {result['max_abs_error']:.3f})")
    return result


def _print_cascade(cascade: dict, n_images: int) -> list:
    print(f"model randomization test: Spearman rank correlation of |map| with the trained model's, mean over "
          f"{n_images} test images (1 = unchanged, 0 = unrelated), layers re-initialized from the top:")
    print(f"    {'re-initialized':<24}" + "".join(f"{name:>22}" for name in METHODS))
    for stage, values in cascade.items():
        print(f"    {stage:<24}" + "".join(f"{values[name]:>22.3f}" for name in METHODS))
    full = cascade[CASCADE[-1][0]]
    changed = [name for name in METHODS if full[name] < 0.2]
    kept = [name for name in METHODS if name not in changed]
    print(f"    all layers random: {', '.join(changed) or 'none'} change (rank correlation < 0.2); "
          f"{', '.join(kept) or 'none'} keep{'s' if len(kept) == 1 else ''} much of the map")
    return changed


def _maps_figure(maps, images, labels, path: Path) -> Path:
    fig = gn.plot.attributions(maps, images, labels=labels, title="why the CNN predicts its class", path=path)
    _close(fig)
    return path


def _randomized_figure(trained, random, images, labels, out: Path) -> Path:
    maps = {}
    for name in METHODS:
        maps[f"{name}\n(trained)"] = trained[name][:N_SHOWN]
        maps[f"{name}\n(random weights)"] = random[name][:N_SHOWN]
    path = out / "explain_digits_randomized.png"
    fig = gn.plot.attributions(maps, images[:N_SHOWN], sign="absolute_value", labels=labels,
                               title="trained model against fully randomized weights (|map|)", path=path)
    _close(fig)
    return path


def _cascade_figure(cascade: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    stages = ["none", *cascade]
    for name in METHODS:
        ax.plot(range(len(stages)), [1.0] + [cascade[stage][name] for stage in cascade], "o-", label=name)
    ax.axhline(0.2, color="gray", linestyle=":", label="0.2")
    ax.set_xticks(range(len(stages)))
    ax.set_xticklabels(stages, fontsize=8)
    ax.set_xlabel("layers re-initialized (cumulative, from the top)")
    ax.set_ylabel("rank correlation with the trained model's map")
    ax.set_title("model randomization test (Adebayo et al. 2018)")
    ax.legend(fontsize=8)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=110)
    _close(fig)
    return path


def _close(fig) -> None:
    import matplotlib.pyplot as plt

    plt.close(fig)


def _parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fast", action="store_true",
                        help="randomization test on 60 images, completeness on the shown ones")
    parser.add_argument("--out", default="examples-output", help="folder for the figures (default examples-output)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the split, the weights and the batches (default 0)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    from threadpoolctl import threadpool_limits  # installed with scikit-learn

    args = _parse_args()
    # One BLAS thread: the matrices here are small, and when other programs share the cores,
    # OpenBLAS's idle threads spin and can make the run several times slower.
    with threadpool_limits(limits=1, user_api="blas"):
        main(fast=args.fast, out=args.out, seed=args.seed)
