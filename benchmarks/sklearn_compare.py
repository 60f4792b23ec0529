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

A third peer, ``numpy``, is a hand-written NumPy loop of the same math (no checks, no graph, no
bookkeeping): the floor for any NumPy implementation, so its speed-up over scikit-learn bounds
what glassnet can reach while computing in NumPy.

Each fit runs in its own child process; the peers alternate, ``--repeats`` times
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
PEERS = ("glassnet", "sklearn", "numpy")


class NumpyMLP:
    """The floor for any NumPy implementation: a hand-written loop doing the same math as the
    estimators (ReLU layers, softmax cross-entropy, alpha L2, Adam, batches of 200), with no
    checks, no graph and no per-epoch bookkeeping. Runs max_iter epochs."""

    def __init__(self, hidden, max_iter, alpha=1e-4, lr=1e-3, beta_1=0.9, beta_2=0.999, eps=1e-8):
        self.hidden, self.max_iter, self.alpha, self.lr = hidden, max_iter, alpha, lr
        self.betas, self.eps, self.n_iter_ = (beta_1, beta_2), eps, max_iter

    def fit(self, X, y):
        rng = np.random.RandomState(0)
        units, n_classes = [X.shape[1], *self.hidden, int(y.max()) + 1], int(y.max()) + 1
        units[-1] = n_classes
        bounds = [np.sqrt(6.0 / (a + b)) for a, b in zip(units[:-1], units[1:])]
        self.W = [rng.uniform(-c, c, (a, b)).astype(X.dtype) for c, a, b in zip(bounds, units[:-1], units[1:])]
        self.b = [rng.uniform(-c, c, b).astype(X.dtype) for c, b in zip(bounds, units[1:])]
        params = self.W + self.b
        m, v = [np.zeros_like(p) for p in params], [np.zeros_like(p) for p in params]
        (beta_1, beta_2), t = self.betas, 0
        for _ in range(self.max_iter):
            order = rng.permutation(len(X))
            for start in range(0, len(X), 200):
                rows = order[start:start + 200]
                acts, n = [X[rows]], len(rows)
                for layer, (W, b) in enumerate(zip(self.W, self.b)):
                    z = acts[-1] @ W
                    z += b
                    acts.append(np.maximum(z, 0) if layer < len(self.W) - 1 else z)
                z = acts[-1]
                z -= z.max(axis=1, keepdims=True)
                delta = np.exp(z)
                delta /= delta.sum(axis=1, keepdims=True)
                delta[np.arange(n), y[rows]] -= 1
                delta /= n
                grads_W, grads_b = [None] * len(self.W), [None] * len(self.W)
                for layer in range(len(self.W) - 1, -1, -1):
                    grads_W[layer] = acts[layer].T @ delta + (self.alpha / n) * self.W[layer]
                    grads_b[layer] = delta.sum(axis=0)
                    if layer:
                        delta = delta @ self.W[layer].T
                        delta *= acts[layer] > 0
                t += 1
                step = self.lr * np.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t)
                for p, g, m_p, v_p in zip(params, grads_W + grads_b, m, v):
                    m_p *= beta_1
                    m_p += (1 - beta_1) * g
                    v_p *= beta_2
                    v_p += (1 - beta_2) * g * g
                    p -= step * m_p / (np.sqrt(v_p) + self.eps)
        return self

    def score(self, X, y):
        a = X
        for layer, (W, b) in enumerate(zip(self.W, self.b)):
            a = a @ W + b
            a = np.maximum(a, 0) if layer < len(self.W) - 1 else a
        return float(np.mean(a.argmax(axis=1) == y))


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

    X_train, X_test, y_train, y_test = load(problem, np.dtype(dtype))
    if peer == "numpy":
        model = NumpyMLP(PROBLEMS[problem], max_iter=max_iter)
    else:
        if peer == "glassnet":
            from glassnet.sklearn import MLPClassifier
        else:
            from sklearn.neural_network import MLPClassifier
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
              f"{'acc glassnet':>12} {'acc sklearn':>11} {'epochs':>7} {'numpy s':>8} {'numpy speed-up':>14}")
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
            epochs = f"{ours['n_iter']}"
            if ours["n_iter"] != theirs["n_iter"]:
                epochs += f"/{theirs['n_iter']}"
            print(f"{problem:9} {dtype:8} {seconds['glassnet']:10.2f} {seconds['sklearn']:10.2f} "
                  f"{seconds['sklearn'] / seconds['glassnet']:8.2f}x {ours['accuracy']:12.4f} "
                  f"{theirs['accuracy']:11.4f} {epochs:>7} {seconds['numpy']:8.2f} "
                  f"{seconds['sklearn'] / seconds['numpy']:13.2f}x", flush=True)
    print("target: fit >= 2x faster (speed-up >= 2.00x), accuracy within 1 point or better")
    print("numpy: a hand-written NumPy loop of the same math for max_iter epochs, no checks or "
          "bookkeeping: the floor for any NumPy implementation (its speed-up is sklearn / numpy)")


if __name__ == "__main__":
    main()
