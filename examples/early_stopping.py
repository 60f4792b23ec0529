"""Early stopping: stop when the validation loss stops improving, and keep the best epoch's weights.

The problem of ``dropout_overfitting.py``, smaller: MNIST-1D (``glassnet.data.load_mnist1d``),
500 signals to train on and 500 to validate on, and a 40-256-256-10 ReLU network (Adam, lr
1e-3, batches of 32) that starts to memorize its training set after a few epochs: from then on
the training loss keeps falling while the validation loss climbs.

``glassnet.EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True)`` watches
the validation loss at the end of every epoch, keeps a copy of the weights of the best epoch so
far, stops training once 5 epochs in a row have not improved on it, and loads the copy back at
the end. The budget is 100 epochs; training stops long before, and the model it leaves has
exactly the validation loss of its best epoch (re-evaluated here from scratch).

Trained for the whole budget instead, the network ends with a validation loss about 60% higher
(it grows over-confident on the signals it gets wrong), though with about the same validation
accuracy: accuracy only counts which class scores highest, and that changes more slowly than the
loss. Monitor ``"val_accuracy"`` to stop on accuracy instead.

    python examples/early_stopping.py [--fast] [--out DIR] [--seed N]

writes ``early_stopping.png`` (the loss curves, the best epoch and the stop) to DIR (default
examples-output/).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import glassnet as gn
from glassnet import data, losses, nn, optim

EPOCH_BUDGET = 100


def build_model(seed: int) -> nn.Module:
    rng = np.random.default_rng(seed)
    return nn.Sequential(nn.Linear(40, 256, weight_init="he_uniform", rng=rng), nn.ReLU(),
                         nn.Linear(256, 256, weight_init="he_uniform", rng=rng), nn.ReLU(),
                         nn.Linear(256, 10, rng=rng))


def train(X_train, y_train, X_val, y_val, seed: int, callbacks=()):
    model = build_model(seed)
    history = gn.fit(model, X_train, y_train, loss=losses.cross_entropy,
                     optimizer=optim.Adam(model.parameters(), lr=1e-3), epochs=EPOCH_BUDGET, batch_size=32,
                     validation_data=(X_val, y_val), callbacks=callbacks, seed=seed, verbose=0)
    return model, history


def main(fast: bool = False, out=None, seed: int = 0) -> dict:
    """Train with early stopping, check the restored weights, print and return the numbers.

    The full run also trains the same network for the whole budget, to show what early stopping
    saved; ``fast`` skips that run. ``out``: a folder for the figure (None: no figure).
    """
    start = time.perf_counter()
    X_train, X_val, y_train, y_val = data.load_mnist1d(n_samples=1000, test_size=0.5, seed=seed).standardized()
    stopper = gn.EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True)
    model, history = train(X_train, y_train, X_val, y_val, seed, callbacks=[stopper])
    epochs_run = len(history.history["loss"])
    final = gn.evaluate(model, X_val, y_val, loss=losses.cross_entropy)
    logs = history.history
    print(f"MNIST-1D, {len(X_train)} training and {len(X_val)} validation signals, MLP 40-256-256-10, "
          f"budget {EPOCH_BUDGET} epochs, EarlyStopping(patience=5, restore_best_weights=True):")
    print(f"    validation loss was lowest at epoch {stopper.best_epoch + 1}: {stopper.best:.6f} "
          f"(training loss {logs['loss'][stopper.best_epoch]:.3f})")
    print(f"    no improvement for 5 epochs: stopped after epoch {epochs_run} of {EPOCH_BUDGET}, validation loss "
          f"then {logs['val_loss'][-1]:.6f} (training loss {logs['loss'][-1]:.3f})")
    print(f"    the model it leaves, re-evaluated: validation loss {final['loss']:.6f} (difference from the best "
          f"epoch's {abs(final['loss'] - stopper.best):.1e}), validation accuracy {final['accuracy']:.3f}")
    full_budget = None
    if not fast:
        _, full_history = train(X_train, y_train, X_val, y_val, seed)
        full_budget = {"val_loss": full_history.history["val_loss"][-1],
                       "val_accuracy": full_history.history["val_accuracy"][-1]}
        print(f"    without early stopping, all {EPOCH_BUDGET} epochs: validation loss {full_budget['val_loss']:.3f}, "
              f"accuracy {full_budget['val_accuracy']:.3f}")

    figures = []
    if out is not None:
        figures.append(_figure(history, stopper, Path(out) / "early_stopping.png"))
        print(f"figure: {figures[0]}")
    seconds = time.perf_counter() - start
    print(f"({seconds:.1f} s)")
    return {"best_epoch": stopper.best_epoch, "stopped_epoch": stopper.stopped_epoch, "epochs_run": epochs_run,
            "epoch_budget": EPOCH_BUDGET, "best_val_loss": stopper.best, "val_loss_at_stop": logs["val_loss"][-1],
            "restored_val_loss": final["loss"], "restored_val_accuracy": final["accuracy"],
            "full_budget": full_budget, "figures": figures, "seconds": seconds}


def _figure(history, stopper, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = gn.plot.history(history, title="early stopping on MNIST-1D")
    for ax in fig.axes:
        ax.axvline(stopper.best_epoch + 1, color="green", linestyle=":", label="best epoch (restored)")
        ax.axvline(len(history.history["loss"]), color="gray", linestyle=":", label="stopped")
        ax.legend(fontsize=8)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=110)
    plt.close(fig)
    return path


def _parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fast", action="store_true", help="skip the comparison run over the whole budget")
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
