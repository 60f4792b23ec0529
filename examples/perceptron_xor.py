"""The perceptron cannot learn XOR; a network with one hidden layer can.

XOR's truth table, the course's classic counter-example:

    x1 x2 | y
     0  0 | 0
     0  1 | 1
     1  0 | 1
     1  1 | 0

No straight line puts (0, 1) and (1, 0) on one side and (0, 0) and (1, 1) on the other, so a
single perceptron (the step activation and the rule w <- w + eta (y - y_hat) x) can get at most
3 of the 4 rows right, whatever its weights: it never has an epoch without an error and keeps
moving its line around (``glassnet.sklearn.Perceptron``, 100 epochs: ``tol=None`` turns off
scikit-learn's stopping rule, which would end the run after a few epochs without progress).

A 2-4-1 network (two inputs, 4 tanh hidden units, one sigmoid output) trained by
backpropagation on the binary cross-entropy, full batch, with gradient descent with momentum
(lr 0.5, momentum 0.9), bends its boundary around the corners and gets all 4 rows right.

    python examples/perceptron_xor.py [--fast] [--out DIR] [--seed N]

writes ``perceptron_xor.png`` (both decision boundaries) to DIR (default examples-output/).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import glassnet as gn
from glassnet import losses, nn, optim
from glassnet.sklearn import Perceptron

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
y = np.array([0, 1, 1, 0])


def main(fast: bool = False, out=None, seed: int = 0) -> dict:
    """Train both models on the truth table, print what they learned, and return the numbers.

    ``fast`` trains the MLP for 200 epochs instead of 300 (it gets XOR right within 70 at
    every seed we tried); ``out``: a folder for the figure (None: no figure).
    """
    start = time.perf_counter()
    perceptron = Perceptron(max_iter=100, tol=None, random_state=seed).fit(X, y)  # never separates
    perceptron_accuracy = perceptron.score(X, y)
    fewest_errors = min(perceptron.errors_)
    print(f"perceptron on XOR: {perceptron_accuracy:.2f} accuracy (chance: 0.50; no line can do better "
          f"than 0.75); errors in every one of its {perceptron.n_iter_} epochs (fewest: {fewest_errors})")

    epochs = 200 if fast else 300
    rng = np.random.default_rng(seed)
    mlp = nn.Sequential(nn.Linear(2, 4, rng=rng), nn.Tanh(), nn.Linear(4, 1, rng=rng), nn.Sigmoid())
    history = gn.fit(mlp, X, y.reshape(-1, 1).astype(np.float32), loss=losses.binary_cross_entropy,
                     optimizer=optim.SGD(mlp.parameters(), lr=0.5, momentum=0.9), epochs=epochs,
                     batch_size=None, seed=seed, verbose=0)
    probabilities = gn.predict(mlp, X).reshape(-1)
    mlp_accuracy = float(np.mean((probabilities > 0.5) == y))
    solved_at = next((epoch + 1 for epoch, value in enumerate(history.history["accuracy"]) if value == 1.0), None)
    print(f"MLP 2-4-1 on XOR: {mlp_accuracy:.2f} accuracy, loss {history.history['loss'][-1]:.4f} after "
          f"{epochs} epochs (4 of 4 right from epoch {solved_at}); "
          f"P(y=1) = {', '.join(f'{p:.3f}' for p in probabilities)}")

    figures = []
    if out is not None:
        figures.append(_figure(perceptron, mlp, Path(out) / "perceptron_xor.png"))
        print(f"figure: {figures[0]}")
    seconds = time.perf_counter() - start
    print(f"({seconds:.1f} s)")
    return {"perceptron_accuracy": perceptron_accuracy, "perceptron_epochs": perceptron.n_iter_,
            "perceptron_fewest_errors": fewest_errors, "mlp_accuracy": mlp_accuracy,
            "mlp_loss": history.history["loss"][-1], "mlp_probabilities": probabilities.tolist(),
            "figures": figures, "seconds": seconds}


def _figure(perceptron, mlp, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
    gn.plot.decision_boundary(perceptron, X, y, title="perceptron: a line, 3 of 4 at best", ax=axes[0])
    # The MLP ends in a Sigmoid: its one output column is a probability, cut at 0.5.
    gn.plot.decision_boundary(mlp, X, y, from_logits=False, title="MLP 2-4-1: XOR solved", ax=axes[1])
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=110)
    plt.close(fig)
    return path


def _parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fast", action="store_true", help="fewer epochs: a quick check")
    parser.add_argument("--out", default="examples-output", help="folder for the figure (default examples-output)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the weights and the sample order (default 0)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    from threadpoolctl import threadpool_limits  # installed with scikit-learn

    args = _parse_args()
    # One BLAS thread: the matrices here are small, and when other programs share the cores,
    # OpenBLAS's idle threads spin and can make training several times slower.
    with threadpool_limits(limits=1, user_api="blas"):
        main(fast=args.fast, out=args.out, seed=args.seed)
