"""SGD, momentum, Adagrad, RMSprop and Adam on one problem: loss per epoch.

The problem: two interleaved spirals (``glassnet.data.load_spirals``, 450 training points,
standardized), an MLP 2-32-32-2 with tanh units, softmax cross-entropy, mini-batches of 32.
Every optimizer starts from the same initial weights, sees the same batches in the same order,
and uses the same learning rate, 0.01, so only the update rule differs:

    SGD        w <- w - lr g
    momentum   v <- 0.9 v + lr g;  w <- w - v                  (the course's form)
    Adagrad    G <- G + g^2;       w <- w - lr g / sqrt(G + eps)
    RMSprop    E <- 0.99 E + 0.01 g^2;  w <- w - lr g / (sqrt(E) + eps)
    Adam       momentum of g and RMSprop's E, both bias-corrected

At this learning rate plain SGD crawls; momentum accumulates about 1 / (1 - 0.9) = 10 steps'
worth of consistent gradient; Adagrad's steps shrink as G grows; RMSprop and Adam divide by a
running scale of the gradient, so their step size does not depend on how small the gradients are.
That is also why RMSprop's loss spikes now and then at this rate: each weight moves by about lr
per step whatever its gradient, and without Adam's momentum nothing averages the noisy steps out.
(Each could be tuned to a better learning rate of its own; one shared rate shows the rules.)

    python examples/optimizers_compared.py [--fast] [--out DIR] [--seed N]

writes ``optimizers_compared.png`` (training loss per epoch, log scale) to DIR (default
examples-output/).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import glassnet as gn
from glassnet import data, losses, nn, optim

LEARNING_RATE = 0.01
OPTIMIZERS = {
    "SGD": lambda params: optim.SGD(params, lr=LEARNING_RATE),
    "momentum": lambda params: optim.SGD(params, lr=LEARNING_RATE, momentum=0.9),
    "Adagrad": lambda params: optim.Adagrad(params, lr=LEARNING_RATE),
    "RMSprop": lambda params: optim.RMSprop(params, lr=LEARNING_RATE),
    "Adam": lambda params: optim.Adam(params, lr=LEARNING_RATE),
}


def build_model(seed: int) -> nn.Module:
    rng = np.random.default_rng(seed)  # a fresh generator per model: every optimizer gets the same weights
    return nn.Sequential(nn.Linear(2, 32, rng=rng), nn.Tanh(), nn.Linear(32, 32, rng=rng), nn.Tanh(),
                         nn.Linear(32, 2, rng=rng))


def main(fast: bool = False, out=None, seed: int = 0) -> dict:
    """Train one model per optimizer, print the final training losses, return the curves.

    ``fast`` trains for 20 epochs instead of 100; ``out``: a folder for the figure (None: no
    figure).
    """
    start = time.perf_counter()
    X_train, _, y_train, _ = data.load_spirals(seed=seed).standardized()
    epochs = 20 if fast else 100
    curves, accuracies = {}, {}
    for name, make_optimizer in OPTIMIZERS.items():
        model = build_model(seed)
        history = gn.fit(model, X_train, y_train, loss=losses.cross_entropy,
                         optimizer=make_optimizer(model.parameters()), epochs=epochs, batch_size=32,
                         seed=seed, verbose=0)
        curves[name] = history.history["loss"]
        accuracies[name] = history.history["accuracy"][-1]
    final = {name: curve[-1] for name, curve in curves.items()}
    print(f"spirals, MLP 2-32-32-2, lr {LEARNING_RATE} for all, {epochs} epochs of mini-batches of 32; "
          "training loss and accuracy at the end:")
    for name in sorted(final, key=final.get):
        print(f"    {name:<9} loss {final[name]:.4f}   accuracy {accuracies[name]:.3f}")
    print(f"at the same learning rate, momentum ends {final['SGD'] / final['momentum']:.1f}x and Adam "
          f"{final['SGD'] / final['Adam']:.1f}x lower than plain SGD")

    figures = []
    if out is not None:
        figures.append(_figure(curves, epochs, Path(out) / "optimizers_compared.png"))
        print(f"figure: {figures[0]}")
    seconds = time.perf_counter() - start
    print(f"({seconds:.1f} s)")
    return {"final_loss": final, "final_accuracy": accuracies, "curves": curves, "learning_rate": LEARNING_RATE,
            "epochs": epochs, "figures": figures, "seconds": seconds}


def _figure(curves: dict, epochs: int, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    title = f"spirals, MLP 2-32-32-2, lr {LEARNING_RATE}, batches of 32"
    plt.close(gn.plot.optimizer_comparison(curves, title=title, path=path))
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
