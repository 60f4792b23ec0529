"""Batch, stochastic and mini-batch gradient descent: one argument of ``glassnet.fit`` apart.

The same MLP 2-10-2 (tanh) on moons (``glassnet.data.load_moons``, 375 training points,
standardized), from the same initial weights, with plain SGD at the same learning rate 0.1, for
the same number of epochs (passes over the training set). Only ``batch_size`` changes:

    batch_size=None   batch gradient descent: the gradient of the loss over all n samples,
                      1 update per epoch; exact but slow to make progress
    batch_size=1      stochastic gradient descent: the gradient of one sample, n updates per
                      epoch; cheap, noisy steps, and the most Python overhead per sample
    batch_size=32     mini-batch gradient descent: ceil(n / 32) updates per epoch, the usual
                      compromise (and what vectorized hardware is good at)

All three lower the loss. Per epoch, the variants with more, smaller steps get further, but
every step costs a forward and a backward pass: here an epoch of stochastic updates takes 20 to
30 times as long as an epoch of mini-batches (12 vectorized steps instead of 375 small ones).

    python examples/gradient_descent_variants.py [--fast] [--out DIR] [--seed N]

writes ``gradient_descent_variants.png`` (loss per epoch and per update) to DIR (default
examples-output/).
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np

import glassnet as gn
from glassnet import data, losses, nn, optim

VARIANTS = {"batch": None, "stochastic": 1, "mini-batch": 32}


class UpdateCounter(gn.Callback):
    """Counts the optimizer updates (batches) of each epoch."""

    def on_train_begin(self, logs=None):
        self.per_epoch = []

    def on_epoch_begin(self, epoch, logs=None):
        self.per_epoch.append(0)

    def on_batch_end(self, batch, logs=None):
        self.per_epoch[-1] += 1


def build_model(seed: int) -> nn.Module:
    rng = np.random.default_rng(seed)
    return nn.Sequential(nn.Linear(2, 10, rng=rng), nn.Tanh(), nn.Linear(10, 2, rng=rng))


def main(fast: bool = False, out=None, seed: int = 0) -> dict:
    """Train once per variant, print updates per epoch, time and losses, and return them.

    ``fast`` trains for 5 epochs instead of 20; ``out``: a folder for the figure (None: no
    figure).
    """
    start = time.perf_counter()
    X_train, X_test, y_train, y_test = data.load_moons(seed=seed).standardized()
    n = len(X_train)
    epochs = 5 if fast else 20
    results, curves = {}, {}
    print(f"moons, {n} training points, MLP 2-10-2, SGD lr 0.1, {epochs} epochs:")
    print("    variant      batch_size  updates/epoch  updates  seconds  loss before -> after  test accuracy")
    for name, batch_size in VARIANTS.items():
        model = build_model(seed)
        initial_loss = gn.evaluate(model, X_train, y_train, loss=losses.cross_entropy)["loss"]
        counter = UpdateCounter()
        clock = time.perf_counter()
        history = gn.fit(model, X_train, y_train, loss=losses.cross_entropy,
                         optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=epochs, batch_size=batch_size,
                         callbacks=[counter], seed=seed, verbose=0)
        seconds = time.perf_counter() - clock
        test_accuracy = gn.evaluate(model, X_test, y_test, loss=losses.cross_entropy)["accuracy"]
        results[name] = {"batch_size": batch_size, "updates_per_epoch": counter.per_epoch,
                         "expected_updates_per_epoch": 1 if batch_size is None else math.ceil(n / batch_size),
                         "initial_loss": initial_loss, "final_loss": history.history["loss"][-1],
                         "test_accuracy": test_accuracy, "seconds": seconds}
        curves[name] = [initial_loss] + history.history["loss"]
        r = results[name]
        print(f"    {name:<11}  {str(batch_size):>10}  {counter.per_epoch[0]:>13}  {sum(counter.per_epoch):>7}  "
              f"{seconds:7.2f}  {initial_loss:11.3f} -> {r['final_loss']:.3f}  {test_accuracy:13.3f}")
    print(f"updates per epoch: 1 (batch), n = {n} (stochastic), ceil(n / 32) = {math.ceil(n / 32)} (mini-batch); "
          "all three lower the loss")

    figures = []
    if out is not None:
        figures.append(_figure(curves, results, Path(out) / "gradient_descent_variants.png"))
        print(f"figure: {figures[0]}")
    seconds = time.perf_counter() - start
    print(f"({seconds:.1f} s)")
    return {"n_train": n, "epochs": epochs, "results": results, "figures": figures, "seconds": seconds}


def _figure(curves: dict, results: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for name, curve in curves.items():
        per_epoch = results[name]["updates_per_epoch"][0]
        left.plot(np.arange(len(curve)), curve, "o-", markersize=3, label=name)
        right.plot(np.arange(len(curve)) * per_epoch + 1, curve, "o-", markersize=3, label=name)
    left.set(xlabel="epoch (0: before training)", ylabel="training loss", title="loss per epoch")
    right.set(xscale="log", xlabel="updates + 1", ylabel="training loss", title="loss per update")
    for ax in (left, right):
        ax.legend()
    fig.tight_layout()
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
