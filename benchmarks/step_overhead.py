"""Per-step overhead: one training step (forward, backward, SGD step) of a 4-8-3 network on a
single sample, glassnet vs PyTorch CPU and a hand-written NumPy step, microseconds per step.

At this size the arithmetic is nothing; what is measured is the framework's Python and dispatch
overhead, which decides how fast stochastic gradient descent and recurrent nets run.
Each peer runs in its own child process, alternating, median of ``--repeats`` (default 3).

    python benchmarks/step_overhead.py [--repeats 3] [--steps 20000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

import numpy as np

PEERS = ("glassnet", "pytorch", "numpy")


def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(1, 4)).astype(np.float32), np.array([1])


def steps_glassnet(steps: int) -> float:
    import glassnet as gn
    from glassnet import losses, nn, optim

    gn.seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    opt = optim.SGD(model.parameters(), lr=0.01)
    x, y = data()
    x = gn.Tensor(x)
    start = time.perf_counter()
    for _ in range(steps):
        loss = losses.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return time.perf_counter() - start


def steps_pytorch(steps: int) -> float:
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = torch.nn.CrossEntropyLoss()
    x, y = (torch.from_numpy(a) for a in data())
    start = time.perf_counter()
    for _ in range(steps):
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return time.perf_counter() - start


def steps_numpy(steps: int) -> float:
    rng = np.random.default_rng(0)
    w1, b1 = rng.normal(0, 0.5, (4, 8)).astype(np.float32), np.zeros(8, np.float32)
    w2, b2 = rng.normal(0, 0.5, (8, 3)).astype(np.float32), np.zeros(3, np.float32)
    x, y = data()
    start = time.perf_counter()
    for _ in range(steps):
        h = np.maximum(x @ w1 + b1, 0)
        z = h @ w2 + b2
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        p[0, y[0]] -= 1
        gh = (p @ w2.T) * (h > 0)
        w2 -= 0.01 * (h.T @ p)
        b2 -= 0.01 * p[0]
        w1 -= 0.01 * (x.T @ gh)
        b1 -= 0.01 * gh[0]
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=20000)
    parser.add_argument("--peers", default=",".join(PEERS))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        globals()[f"steps_{args.child}"](200)  # warm up
        seconds = globals()[f"steps_{args.child}"](args.steps)
        print(json.dumps({"us_per_step": 1e6 * seconds / args.steps}))
        return
    peers = args.peers.split(",")
    results = {peer: [] for peer in peers}
    for round_ in range(args.repeats):
        for peer in peers:
            out = subprocess.run(
                [sys.executable, __file__, "--child", peer, "--steps", str(args.steps)],
                capture_output=True, text=True, check=True,
            )
            results[peer].append(json.loads(out.stdout.strip().splitlines()[-1])["us_per_step"])
            print(f"round {round_ + 1}: {peer:9s} {results[peer][-1]:8.1f} us/step", file=sys.stderr)
    medians = {peer: statistics.median(values) for peer, values in results.items()}
    print(f"\nOne SGD step of a 4-8-3 net on one sample, median of {args.repeats} x {args.steps} steps")
    print(f"{'peer':10s} {'us/step':>9s} {'peer / glassnet':>16s}")
    for peer in peers:
        speedup = medians[peer] / medians.get("glassnet", float("nan"))
        print(f"{peer:10s} {medians[peer]:9.1f} {speedup:15.2f}x")


if __name__ == "__main__":
    main()
