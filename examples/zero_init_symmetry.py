"""Zero initialization: every hidden unit stays a copy of the others; random initialization breaks
the symmetry.

The same MLP 2-10-2 with sigmoid hidden units is trained three times on circles
(``glassnet.data.load_circles``; Adam, lr 0.03, batches of 32), its weights initialized with

    zeros            W = 0 in both layers
    Xavier uniform   W ~ U(-a, a), a = sqrt(6 / (fan_in + fan_out))
    He uniform       W ~ U(-a, a), a = sqrt(6 / fan_in)

(biases 0). With zeros every hidden unit computes the same sigmoid(0) = 0.5, receives the same
error signal delta_j = (sum_k W2_jk delta_k) h_j (1 - h_j) through identical outgoing weights,
and so gets the same update: after training, the 10 units' incoming weight vectors (W1 column
and bias) are still exactly equal, bit for bit, although they moved away from 0. The network is
a 2-1-2 network in disguise and cannot draw the closed boundary circles need. Random initial
weights make the units different from the first step, and they learn different features.

    python examples/zero_init_symmetry.py [--fast] [--out DIR] [--seed N]

writes ``zero_init_symmetry.png`` (the three decision boundaries) to DIR (default
examples-output/).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import glassnet as gn
from glassnet import data, losses, nn, optim

INITIALIZATIONS = {"zeros": "zeros", "Xavier": "xavier_uniform", "He": "he_uniform"}


def hidden_unit_spread(layer: nn.Linear) -> float:
    """The largest difference between any hidden unit's incoming weights (its column of W and
    its bias) and unit 0's: 0 exactly when all units are identical."""
    incoming = np.vstack([layer.weight.data, layer.bias.data[None, :]])  # (in_features + 1, units)
    return float(np.abs(incoming - incoming[:, :1]).max())


def distinct_units(layer: nn.Linear) -> int:
    """How many different incoming weight vectors the hidden units have."""
    incoming = np.vstack([layer.weight.data, layer.bias.data[None, :]])
    return len(np.unique(incoming.T, axis=0))


def main(fast: bool = False, out=None, seed: int = 0) -> dict:
    """Train the three networks, print how alike their hidden units are and how well they do,
    and return the numbers. ``fast`` trains for 40 epochs instead of 100; ``out``: a folder for
    the figure (None: no figure)."""
    start = time.perf_counter()
    X_train, X_test, y_train, y_test = data.load_circles(seed=seed)
    epochs = 40 if fast else 100
    results, models = {}, {}
    print(f"MLP 2-10-2 (sigmoid hidden units) on circles, {epochs} epochs; after training:")
    for name, weight_init in INITIALIZATIONS.items():
        rng = np.random.default_rng(seed)
        model = nn.Sequential(nn.Linear(2, 10, weight_init=weight_init, rng=rng), nn.Sigmoid(),
                              nn.Linear(10, 2, weight_init=weight_init, rng=rng))
        gn.fit(model, X_train, y_train, loss=losses.cross_entropy,
               optimizer=optim.Adam(model.parameters(), lr=0.03), epochs=epochs, batch_size=32,
               seed=seed, verbose=0)
        hidden = model[0]
        results[name] = {
            "spread": hidden_unit_spread(hidden),
            "distinct_units": distinct_units(hidden),
            "largest_weight": float(np.abs(hidden.weight.data).max()),
            "test_accuracy": gn.evaluate(model, X_test, y_test, loss=losses.cross_entropy)["accuracy"],
        }
        models[name] = model
        r = results[name]
        print(f"    {name:<7} init: {r['distinct_units']:>2} distinct hidden units of 10, largest difference "
              f"between units {r['spread']:.4g} (largest |W1| {r['largest_weight']:.3g}); "
              f"test accuracy {r['test_accuracy']:.2f}")
    print("zero initialization: the units moved but stayed identical (difference exactly 0); "
          "random initialization: distinct units and a far better fit")

    figures = []
    if out is not None:
        figures.append(_figure(models, results, X_test, y_test, Path(out) / "zero_init_symmetry.png"))
        print(f"figure: {figures[0]}")
    seconds = time.perf_counter() - start
    print(f"({seconds:.1f} s)")
    return {"results": results, "epochs": epochs, "figures": figures, "seconds": seconds}


def _figure(models, results, X, y, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(models), figsize=(5 * len(models), 4.5))
    for ax, (name, model) in zip(axes, models.items()):
        r = results[name]
        gn.plot.decision_boundary(model, X, y, ax=ax, title=f"{name} init: {r['distinct_units']} distinct "
                                  f"units, accuracy {r['test_accuracy']:.2f}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=110)
    plt.close(fig)
    return path


def _parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fast", action="store_true", help="fewer epochs: a quick check")
    parser.add_argument("--out", default="examples-output", help="folder for the figure (default examples-output)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the data, the weights and the batches (default 0)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    from threadpoolctl import threadpool_limits  # installed with scikit-learn

    args = _parse_args()
    # One BLAS thread: the matrices here are small, and when other programs share the cores,
    # OpenBLAS's idle threads spin and can make training several times slower.
    with threadpool_limits(limits=1, user_api="blas"):
        main(fast=args.fast, out=args.out, seed=args.seed)
