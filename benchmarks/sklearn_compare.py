"""glassnet.sklearn.MLPClassifier vs scikit-learn's MLPClassifier: same settings, same data, same run.

Two problems, the issue's:
- digits (scikit-learn's 8x8 digits, pixels / 16, 75/25 stratified split): hidden (100,), adam,
  max_iter=200;
- MNIST-1D (the mnist1d generator's 4,000 / 1,000 split): hidden (100, 100), adam, max_iter=200.

Everything else is the estimators' defaults (batch 200, lr 1e-3, alpha 1e-4, tol 1e-4 with
n_iter_no_change=10), random_state=0 for both. Each problem runs in float64 (the dtype a user's
NumPy array usually has) and float32; both libraries train in the dtype they are given.
Since glassnet follows scikit-learn step by step, the two stop after the same epoch and reach
the same accuracy; the fit time is the difference.

Each fit runs in its own child process; the two libraries alternate, ``--repeats`` times
(default 3), and the table shows the median fit time and the ratio sklearn / glassnet (above 1:
glassnet is faster). ``--threads`` BLAS threads for both (default 1: on a busy 2-core machine
OpenBLAS's second thread spins and makes both 10x slower; pass 2 on a quiet machine).

    python benchmarks/sklearn_compare.py [--repeats 3] [--threads 1] [--max-iter 200]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import warnings

import numpy as np

PROBLEMS = {"digits": (100,), "mnist1d": (100, 100)}
PEERS = ("glassnet", "sklearn")


def load(problem: str, dtype):
    if problem == "digits":
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split

        X, y = load_digits(return_X_y=True)
        X_train, X_test, y_train, y_test = train_test_split(X / 16.0, y, test_size=0.25, random_state=0,
                                                            stratify=y)
    else:
        from glassnet.data import load_mnist1d

        X_train, X_test, y_train, y_test = load_mnist1d()
    return X_train.astype(dtype), X_test.astype(dtype), y_train, y_test


def child(peer: str, problem: str, dtype: str, threads: int, max_iter: int) -> None:
    from threadpoolctl import threadpool_limits

    if peer == "glassnet":
        from glassnet.sklearn import MLPClassifier
    else:
        from sklearn.neural_network import MLPClassifier
    X_train, X_test, y_train, y_test = load(problem, np.dtype(dtype))
    model = MLPClassifier(PROBLEMS[problem], solver="adam", max_iter=max_iter, random_state=0)
    with threadpool_limits(threads), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        model.fit(X_train, y_train)
        seconds = time.perf_counter() - start
        accuracy = model.score(X_test, y_test)
    print(json.dumps({"seconds": seconds, "accuracy": accuracy, "n_iter": model.n_iter_}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--max-iter", type=int, default=200)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child, threads=args.threads, max_iter=args.max_iter)
        return

    print(f"MLPClassifier fit, adam, max_iter={args.max_iter}, {args.threads} BLAS thread(s), "
          f"median of {args.repeats}, each fit in its own process")
    header = (f"{'problem':9} {'dtype':8} {'glassnet s':>10} {'sklearn s':>10} {'speed-up':>9} "
              f"{'acc glassnet':>12} {'acc sklearn':>11} {'epochs':>7}")
    print(header)
    print("-" * len(header))
    for problem in PROBLEMS:
        for dtype in ("float64", "float32"):
            runs = {peer: [] for peer in PEERS}
            for _ in range(args.repeats):
                for peer in PEERS:
                    command = [sys.executable, __file__, "--child", peer, problem, dtype,
                               "--threads", str(args.threads), "--max-iter", str(args.max_iter)]
                    out = subprocess.run(command, capture_output=True, text=True, check=True)
                    runs[peer].append(json.loads(out.stdout.strip().splitlines()[-1]))
            seconds = {peer: statistics.median(r["seconds"] for r in runs[peer]) for peer in PEERS}
            ours, theirs = runs["glassnet"][0], runs["sklearn"][0]
            epochs = f"{ours['n_iter']}" if ours["n_iter"] == theirs["n_iter"] else f"{ours['n_iter']}/{theirs['n_iter']}"
            print(f"{problem:9} {dtype:8} {seconds['glassnet']:10.2f} {seconds['sklearn']:10.2f} "
                  f"{seconds['sklearn'] / seconds['glassnet']:8.2f}x {ours['accuracy']:12.4f} "
                  f"{theirs['accuracy']:11.4f} {epochs:>7}", flush=True)
    print("target: fit >= 2x faster (speed-up >= 2.00x), accuracy within 1 point or better")


if __name__ == "__main__":
    main()
