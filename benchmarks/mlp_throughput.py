"""One epoch of an MLP 784-256-256-10 (ReLU, cross-entropy, SGD lr 0.01 momentum 0.9, batch 128) on
synthetic float32 data (60000, 784): glassnet vs PyTorch CPU, scikit-learn's MLPClassifier and a
hand-written NumPy loop (the ceiling for any NumPy engine), in one invocation.

Each peer runs in its own child process, the peers alternate, and each is run ``--repeats`` times
(default 3); the table shows the median samples/s and the ratios of glassnet to each peer.
PyTorch gets the same number of threads as NumPy's BLAS.

    python benchmarks/mlp_throughput.py [--repeats 3] [--samples 60000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

import numpy as np

SIZES = (784, 256, 256, 10)
BATCH, LR, MOMENTUM = 128, 0.01, 0.9
PEERS = ("glassnet", "pytorch", "sklearn", "numpy")


def make_data(samples: int):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(samples, SIZES[0])).astype(np.float32)
    y = rng.integers(0, SIZES[-1], size=samples)
    return X, y


def blas_threads() -> int:
    from threadpoolctl import threadpool_info

    counts = [p["num_threads"] for p in threadpool_info() if p.get("user_api") == "blas"]
    return max(counts) if counts else 1


def epoch_glassnet(X, y) -> float:
    import glassnet as gn
    from glassnet import losses, nn, optim

    gn.seed(0)
    model = nn.Sequential(
        nn.Linear(SIZES[0], SIZES[1], weight_init="he_uniform"), nn.ReLU(),
        nn.Linear(SIZES[1], SIZES[2], weight_init="he_uniform"), nn.ReLU(),
        nn.Linear(SIZES[2], SIZES[3]),
    )
    opt = optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    order = np.random.default_rng(1).permutation(len(X))
    start = time.perf_counter()
    for begin in range(0, len(X), BATCH):
        idx = order[begin:begin + BATCH]
        loss = losses.cross_entropy(model(gn.Tensor(X[idx])), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return time.perf_counter() - start


def epoch_pytorch(X, y) -> float:
    import torch

    torch.set_num_threads(blas_threads())
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(SIZES[0], SIZES[1]), torch.nn.ReLU(),
        torch.nn.Linear(SIZES[1], SIZES[2]), torch.nn.ReLU(),
        torch.nn.Linear(SIZES[2], SIZES[3]),
    )
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    loss_fn = torch.nn.CrossEntropyLoss()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    order = torch.from_numpy(np.random.default_rng(1).permutation(len(X)))
    start = time.perf_counter()
    for begin in range(0, len(X), BATCH):
        idx = order[begin:begin + BATCH]
        loss = loss_fn(model(Xt[idx]), yt[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return time.perf_counter() - start


def epoch_sklearn(X, y) -> float:
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    model = MLPClassifier(
        hidden_layer_sizes=SIZES[1:-1], activation="relu", solver="sgd", alpha=0.0,
        batch_size=BATCH, learning_rate_init=LR, momentum=MOMENTUM, nesterovs_momentum=False,
        max_iter=1, shuffle=True, random_state=0,
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    return time.perf_counter() - start


def epoch_numpy(X, y) -> float:
    """The same network written by hand: forward, backward and momentum SGD in plain NumPy."""
    rng = np.random.default_rng(0)
    weights = [rng.uniform(-1, 1, (m, n)).astype(np.float32) * np.float32(np.sqrt(6 / m))
               for m, n in zip(SIZES[:-1], SIZES[1:])]
    biases = [np.zeros(n, np.float32) for n in SIZES[1:]]
    params = weights + biases
    velocity = [np.zeros_like(p) for p in params]
    order = np.random.default_rng(1).permutation(len(X))
    start = time.perf_counter()
    for begin in range(0, len(X), BATCH):
        idx = order[begin:begin + BATCH]
        xb, yb = X[idx], y[idx]
        n = len(xb)
        h1 = np.maximum(xb @ weights[0] + biases[0], 0)
        h2 = np.maximum(h1 @ weights[1] + biases[1], 0)
        z = h2 @ weights[2] + biases[2]
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        g3 = p
        g3[np.arange(n), yb] -= 1
        g3 /= n
        g2 = (g3 @ weights[2].T) * (h2 > 0)
        g1 = (g2 @ weights[1].T) * (h1 > 0)
        grads = [xb.T @ g1, h1.T @ g2, h2.T @ g3, g1.sum(0), g2.sum(0), g3.sum(0)]
        for param, v, g in zip(params, velocity, grads):
            v *= MOMENTUM
            v += LR * g
            param -= v
    return time.perf_counter() - start


def child(peer: str, samples: int) -> None:
    X, y = make_data(samples)
    seconds = globals()[f"epoch_{peer}"](X, y)
    print(json.dumps({"peer": peer, "samples_per_s": samples / seconds}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--samples", type=int, default=60000)
    parser.add_argument("--peers", default=",".join(PEERS))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.samples)
        return
    peers = args.peers.split(",")
    results = {peer: [] for peer in peers}
    for round_ in range(args.repeats):
        for peer in peers:  # alternate the peers so that machine noise hits all of them alike
            out = subprocess.run(
                [sys.executable, __file__, "--child", peer, "--samples", str(args.samples)],
                capture_output=True, text=True, check=True,
            )
            results[peer].append(json.loads(out.stdout.strip().splitlines()[-1])["samples_per_s"])
            print(f"round {round_ + 1}: {peer:9s} {results[peer][-1]:10,.0f} samples/s", file=sys.stderr)
    medians = {peer: statistics.median(values) for peer, values in results.items()}
    print(f"\nMLP 784-256-256-10, batch {BATCH}, SGD momentum {MOMENTUM}, {args.samples} samples, "
          f"{blas_threads()} BLAS threads, median of {args.repeats}")
    print(f"{'peer':10s} {'samples/s':>12s} {'glassnet / peer':>16s}")
    for peer in peers:
        ratio = medians.get("glassnet", float("nan")) / medians[peer]
        print(f"{peer:10s} {medians[peer]:12,.0f} {ratio:15.2f}x")


if __name__ == "__main__":
    main()
