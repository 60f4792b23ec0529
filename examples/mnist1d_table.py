"""Reproduce the MNIST-1D results table (Greydanus 2020, github.com/greydanus/mnist1d).

MNIST-1D draws the ten digits as 1-D signals of length 40 (padded, shifted, scaled, sheared and
noised at random); the data is ``mnist1d.data.make_dataset()`` with its default arguments,
4,000 training and 1,000 test signals, loaded offline by ``glassnet.data.load_mnist1d()``.
The four models are those of the repository's ``notebooks/models.py``:

    logistic regression   Linear(40 -> 10)
    MLP                   h1 = relu(W1 x); h2 = h1 + relu(W2 h1); out = W3 h2   (40-100-100-10)
    CNN                   x as (N, 1, 40); Conv1d(1 -> 25, k 5, s 2, p 1) -> ReLU      25 x 19
                          Conv1d(25 -> 25, k 3, s 2, p 1) -> ReLU                      25 x 10
                          Conv1d(25 -> 25, k 3, s 2, p 1) -> ReLU                      25 x 5
                          Flatten -> Linear(125 -> 10)
    GRU                   x as (N, 40, 1): 40 time steps of one value; bidirectional GRU with
                          hidden size 6; its 40 outputs of 12 values, flattened -> Linear(480 -> 10)

with PyTorch's default initialization (every weight and bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)))
and the paper's protocol: Adam (lr 1e-2), cross-entropy, batches of 100 taken in order, without
shuffling, cycling through the training set (batch k holds samples 100k mod 4000 ...), 6,000
steps, then the accuracy on the test set. Each model is trained from 3 seeds of its initial
weights (the data and the batch order are fixed, as in the paper); the table shows the mean and
the standard deviation beside the published accuracies (logistic regression 32%, MLP 68%,
CNN 94%, GRU 91%). PyTorch with this protocol gets MLP 67.5%, CNN 94.8%, GRU 91.7%.

The full table (12 runs of 6,000 steps) takes 4-8 minutes on a 2-core machine, the GRU most of
it. The products here are small, so NumPy's BLAS runs on one thread (``--threads``): a second
thread mostly waits and spins, and on a busy machine makes each step several times slower.

    python examples/mnist1d_table.py [--seeds 3] [--steps 6000] [--models logreg,mlp,cnn,gru]
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_limits  # installed with scikit-learn

import glassnet as gn
from glassnet import losses, nn, optim
from glassnet.data import load_mnist1d

PUBLISHED = {"logreg": 0.32, "mlp": 0.68, "cnn": 0.94, "gru": 0.91}  # the MNIST-1D README
NAMES = {"logreg": "logistic regression", "mlp": "MLP", "cnn": "CNN", "gru": "GRU"}
LEARNING_RATE, BATCH_SIZE, STEPS = 1e-2, 100, 6000


def torch_linear(in_features: int, out_features: int, rng, dtype=np.float32) -> nn.Linear:
    """A Linear layer initialized as PyTorch's: W and b from U(-1/sqrt(in), 1/sqrt(in)).
    (glassnet's default, Xavier weights and zero biases, trains these models a little differently.)"""
    bound = 1.0 / math.sqrt(in_features)

    def pytorch_default(shape, dtype=np.float32, rng=None):
        return gn.random.get_rng(rng).uniform(-bound, bound, shape).astype(dtype)

    return nn.Linear(in_features, out_features, weight_init=pytorch_default,
                     bias_init=pytorch_default, dtype=dtype, rng=rng)


class ResidualMLP(nn.Module):
    """The paper's MLP: h1 = relu(W1 x); h2 = h1 + relu(W2 h1); out = W3 h2.

    Shape: x ``(N, 40)`` -> logits ``(N, 10)``."""

    def __init__(self, rng=None, dtype=np.float32, hidden_size: int = 100):
        super().__init__()
        rng = gn.random.get_rng(rng)
        self.linear1 = torch_linear(40, hidden_size, rng, dtype)
        self.linear2 = torch_linear(hidden_size, hidden_size, rng, dtype)
        self.linear3 = torch_linear(hidden_size, 10, rng, dtype)

    def forward(self, x):
        h1 = gn.functional.relu(self.linear1(x))
        h2 = h1 + gn.functional.relu(self.linear2(h1))
        return self.linear3(h2)


class ConvNet(nn.Module):
    """The paper's CNN: three strided Conv1d with ReLU (40 -> 19 -> 10 -> 5 positions, 25
    channels), flattened to 125 values, then Linear(125 -> 10).

    Shape: x ``(N, 40)`` -> logits ``(N, 10)``."""

    def __init__(self, rng=None, dtype=np.float32, channels: int = 25):
        super().__init__()
        rng = gn.random.get_rng(rng)
        self.conv1 = nn.Conv1d(1, channels, 5, stride=2, padding=1, dtype=dtype, rng=rng)
        self.conv2 = nn.Conv1d(channels, channels, 3, stride=2, padding=1, dtype=dtype, rng=rng)
        self.conv3 = nn.Conv1d(channels, channels, 3, stride=2, padding=1, dtype=dtype, rng=rng)
        self.flatten = nn.Flatten()
        self.linear = torch_linear(5 * channels, 10, rng, dtype)

    def forward(self, x):
        x = gn.tensor(x) if not isinstance(x, gn.Tensor) else x
        h = x.reshape(x.shape[0], 1, x.shape[-1])  # one input channel
        h = gn.functional.relu(self.conv1(h))
        h = gn.functional.relu(self.conv2(h))
        h = gn.functional.relu(self.conv3(h))
        return self.linear(self.flatten(h))


class BiGRUNet(nn.Module):
    """The paper's GRU: a bidirectional GRU (hidden 6) reads the 40 values as 40 time steps of
    one feature; all its outputs (40 steps x 12 values) feed Linear(480 -> 10).

    Shape: x ``(N, 40)`` -> logits ``(N, 10)``."""

    def __init__(self, rng=None, dtype=np.float32, hidden_size: int = 6, time_steps: int = 40):
        super().__init__()
        rng = gn.random.get_rng(rng)
        self.gru = nn.GRU(1, hidden_size, batch_first=True, bidirectional=True, dtype=dtype, rng=rng)
        self.flatten = nn.Flatten()
        self.linear = torch_linear(2 * hidden_size * time_steps, 10, rng, dtype)

    def forward(self, x):
        x = gn.tensor(x) if not isinstance(x, gn.Tensor) else x
        output, _ = self.gru(x.reshape(x.shape[0], x.shape[1], 1))  # (N, 40, 12)
        return self.linear(self.flatten(output))


BUILDERS = {
    "logreg": lambda rng, dtype: torch_linear(40, 10, rng, dtype),
    "mlp": ResidualMLP,
    "cnn": ConvNet,
    "gru": BiGRUNet,
}


def build_model(name: str, seed: int, dtype=np.float32) -> nn.Module:
    """One of the table's models ("logreg", "mlp", "cnn", "gru"), initialized from ``seed``."""
    if name not in BUILDERS:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(BUILDERS)}")
    return BUILDERS[name](np.random.default_rng(seed), dtype)


def train(model: nn.Module, X: np.ndarray, y: np.ndarray, steps: int,
          lr: float = LEARNING_RATE, batch_size: int = BATCH_SIZE) -> list:
    """The paper's loop: Adam, cross-entropy, batch k is rows (k * batch_size) mod n onwards, in
    order (no shuffling). Returns the loss of each step's batch."""
    X = X.astype(next(iter(model.parameters())).dtype, copy=False)  # float64 models take float64 data
    optimizer = optim.Adam(model.parameters(), lr=lr)
    model.train()
    batch_losses = []
    for step in range(steps):
        start = (step * batch_size) % len(X)
        value = losses.cross_entropy(model(gn.Tensor(X[start:start + batch_size])),
                                     y[start:start + batch_size])
        optimizer.zero_grad()
        value.backward()
        optimizer.step()
        batch_losses.append(float(value.data))
    return batch_losses


def run(name: str, seed: int, steps: int, data) -> dict:
    """Train one model from one seed; its test accuracy, last loss and seconds."""
    model = build_model(name, seed)
    begin = time.perf_counter()
    loss = train(model, data.X_train, data.y_train, steps)[-1]
    seconds = time.perf_counter() - begin
    accuracy = gn.evaluate(model, data.X_test, data.y_test, loss=losses.cross_entropy)["accuracy"]
    return {"accuracy": accuracy, "loss": loss, "seconds": seconds}


def main(models=tuple(BUILDERS), seeds: int = 3, steps: int = STEPS, verbose: bool = True,
         data=None) -> dict:
    """Train each of ``models`` from seeds 0 .. seeds-1 for ``steps`` steps, on ``data``
    (default: ``load_mnist1d()``, whose generator takes a few seconds).

    Returns ``{name: {"accuracies": [...], "mean": float, "std": float, "published": float,
    "seconds": float}}`` and, when ``verbose``, prints one line per run and the table."""
    models = [models] if isinstance(models, str) else list(models)
    for name in models:
        if name not in BUILDERS:
            raise ValueError(f"unknown model {name!r}; choose from {', '.join(BUILDERS)}")
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ValueError(f"seeds must be an int >= 1, got {seeds!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be an int >= 1, got {steps!r}")
    data = load_mnist1d() if data is None else data  # the package's defaults: 4000 train / 1000 test, seed 42
    if verbose:
        print(f"MNIST-1D: {len(data.X_train)} training and {len(data.X_test)} test signals of length "
              f"{data.X_train.shape[1]}; Adam lr {LEARNING_RATE}, batch {BATCH_SIZE} in order, {steps} steps")
    begin = time.perf_counter()
    results = {}
    for name in models:
        runs = []
        for seed in range(seeds):
            runs.append(run(name, seed, steps, data))
            if verbose:
                r = runs[-1]
                print(f"{NAMES[name]:20s} seed {seed}: test accuracy {r['accuracy']:.4f}, last batch loss "
                      f"{r['loss']:.4f} ({r['seconds']:.1f} s, {1000 * r['seconds'] / steps:.2f} ms/step)",
                      flush=True)
        accuracies = [r["accuracy"] for r in runs]
        results[name] = {
            "accuracies": accuracies,
            "mean": statistics.fmean(accuracies),
            "std": statistics.stdev(accuracies) if len(accuracies) > 1 else 0.0,
            "published": PUBLISHED[name],
            "seconds": sum(r["seconds"] for r in runs),
        }
    total = time.perf_counter() - begin
    if verbose:
        print(f"\n{'model':20s} {'glassnet, ' + str(seeds) + ' seeds':>18s} {'published':>10s} {'difference':>11s}")
        for name, r in results.items():
            ours = f"{100 * r['mean']:.1f}% +- {100 * r['std']:.1f}"
            print(f"{NAMES[name]:20s} {ours:>18s} {100 * r['published']:9.0f}% "
                  f"{100 * (r['mean'] - r['published']):+11.1f}")
        print(f"total time {total:.0f} s")
    return results


def _cli(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=3, help="seeds per model (default 3)")
    parser.add_argument("--steps", type=int, default=STEPS, help=f"training steps (default {STEPS})")
    parser.add_argument("--models", default=",".join(BUILDERS),
                        help=f"comma-separated subset of {','.join(BUILDERS)} (default: all)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    args = parser.parse_args(argv)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in models if m not in BUILDERS]
    if unknown or not models:
        parser.error(f"--models takes names from {','.join(BUILDERS)}, got {args.models!r}")
    if args.seeds < 1:
        parser.error(f"--seeds must be >= 1, got {args.seeds}")
    if args.steps < 1:
        parser.error(f"--steps must be >= 1, got {args.steps}")
    if args.threads < 1:
        parser.error(f"--threads must be >= 1, got {args.threads}")
    with threadpool_limits(args.threads, user_api="blas"):
        return main(models, args.seeds, args.steps)


if __name__ == "__main__":
    _cli()
