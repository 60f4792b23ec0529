"""Training steps per second of three deep models, glassnet vs PyTorch CPU, in one invocation:

    cnn          the MNIST-1D CNN (3 strided Conv1d + ReLU, Linear 125 -> 10), batch 100
    gru          the MNIST-1D bidirectional GRU (hidden 6 over 40 steps, Linear 480 -> 10), batch 100
    transformer  examples/transformer_toy.py's model (Embedding 10 -> 64, sinusoidal positions,
                 2 post-norm TransformerEncoderLayers, d_model 64, 4 heads, feed-forward 128,
                 Linear 64 -> 10 per position) on sequences of 8 digits, batch 64

The glassnet models are the examples' own (examples/mnist1d_table.py, examples/transformer_toy.py);
the PyTorch models are the same architectures. One step is what the examples do: forward,
cross-entropy, backward, (for the transformer) gradient-norm clipping at 1, Adam step. The
MNIST-1D models read batches in order from 4,000 random signals of length 40 (the speed does not
depend on the values; this spares each child the few seconds of mnist1d's generator); the
transformer reads random digit sequences and their sorted targets.

Each (model, peer) pair runs in its own child process, the peers alternate, and each pair runs
``--repeats`` times (default 3); after ``--warmup`` untimed steps a child times ``--steps`` steps
in 5 chunks and reports the median chunk's time per step. The table shows the median over the
repeats of ms per step, samples/s and the ratio of glassnet's speed to
PyTorch's. Both peers get ``--threads`` threads (NumPy's BLAS and ``torch.set_num_threads``),
default 1: the products of these models are small, and on a 2-core machine shared with other
work a second thread mostly spins and makes both peers' steps several times slower.

    python benchmarks/deep.py [--repeats 3] [--models cnn,gru,transformer] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
MODELS = ("cnn", "gru", "transformer")
PEERS = ("glassnet", "pytorch")
BATCH = {"cnn": 100, "gru": 100, "transformer": 64}
STEPS = {"cnn": 400, "gru": 150, "transformer": 150}  # about 1-3 s of timed work per child
TARGETS = {"cnn": 0.7, "gru": 1.0, "transformer": 0.5}  # glassnet / PyTorch, from the issue
LR = 1e-2  # the MNIST-1D protocol's; the transformer example peaks at 1e-3 (the speed is the same)
LENGTH, VOCABULARY = 8, 10


def blas_threads() -> int:
    from threadpoolctl import threadpool_info

    counts = [p["num_threads"] for p in threadpool_info() if p.get("user_api") == "blas"]
    return max(counts) if counts else 1


def make_batches(model: str, steps: int):
    """The batches of one run: a list of (inputs, integer targets), cycled in order."""
    rng = np.random.default_rng(0)
    if model == "transformer":
        inputs = rng.integers(0, VOCABULARY, (steps, BATCH[model], LENGTH))
        return [(x, np.sort(x, axis=1)) for x in inputs]
    X = rng.normal(size=(4000, 40)).astype(np.float32)
    y = rng.integers(0, 10, 4000)
    return [(X[i:i + BATCH[model]], y[i:i + BATCH[model]]) for i in range(0, 4000, BATCH[model])]


# ---- glassnet -----------------------------------------------------------------------------------
def steps_glassnet(model_name: str, batches, warmup: int, steps: int) -> float:
    sys.path.insert(0, str(EXAMPLES))
    import glassnet as gn
    from glassnet import losses, optim

    if model_name == "transformer":
        import transformer_toy

        model = transformer_toy.build_model(seed=0)
    else:
        import mnist1d_table

        model = mnist1d_table.build_model(model_name, seed=0)
    optimizer = optim.Adam(model.parameters(), lr=LR)
    clip = model_name == "transformer"

    def step(x, y):
        logits = model(gn.Tensor(x) if x.dtype.kind == "f" else x)
        loss = losses.cross_entropy(logits.reshape(-1, 10), y.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        if clip:
            optim.clip_grad_norm(model.parameters(), 1.0)
        optimizer.step()

    return _time_steps(step, batches, warmup, steps)


# ---- PyTorch ------------------------------------------------------------------------------------
def torch_model(model_name: str):
    import math

    import torch

    class CNN(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = torch.nn.Conv1d(1, 25, 5, stride=2, padding=1)
            self.conv2 = torch.nn.Conv1d(25, 25, 3, stride=2, padding=1)
            self.conv3 = torch.nn.Conv1d(25, 25, 3, stride=2, padding=1)
            self.linear = torch.nn.Linear(125, 10)

        def forward(self, x):
            h = x.view(-1, 1, x.shape[-1])
            h = self.conv3(self.conv2(self.conv1(h).relu()).relu()).relu()
            return self.linear(h.view(h.shape[0], -1))

    class GRU(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = torch.nn.GRU(1, 6, batch_first=True, bidirectional=True)
            self.linear = torch.nn.Linear(480, 10)

        def forward(self, x):
            output, _ = self.gru(x.view(*x.shape[:2], 1))
            return self.linear(output.reshape(output.shape[0], -1))

    class Transformer(torch.nn.Module):
        def __init__(self, d_model=64, nhead=4, dim_feedforward=128):
            super().__init__()
            self.embedding = torch.nn.Embedding(VOCABULARY, d_model)
            position = torch.arange(LENGTH, dtype=torch.float32)[:, None]
            frequency = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32) * (-math.log(10000.0) / d_model))
            pe = torch.zeros(LENGTH, d_model)
            pe[:, 0::2], pe[:, 1::2] = torch.sin(position * frequency), torch.cos(position * frequency)
            self.register_buffer("pe", pe)
            self.layers = torch.nn.ModuleList([
                torch.nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout=0.0,
                                                 batch_first=True)
                for _ in range(2)])
            self.linear = torch.nn.Linear(d_model, VOCABULARY)

        def forward(self, x):
            h = self.embedding(x) + self.pe[:x.shape[1]]
            for layer in self.layers:
                h = layer(h)
            return self.linear(h)

    return {"cnn": CNN, "gru": GRU, "transformer": Transformer}[model_name]()


def steps_pytorch(model_name: str, batches, warmup: int, steps: int) -> float:
    import torch

    torch.set_num_threads(blas_threads())
    torch.manual_seed(0)
    model = torch_model(model_name)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    clip = model_name == "transformer"
    batches = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in batches]

    def step(x, y):
        logits = model(x)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 10), y.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        if clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()

    return _time_steps(step, batches, warmup, steps)


def _time_steps(step, batches, warmup: int, steps: int, chunks: int = 5) -> float:
    """Seconds per step: after ``warmup`` untimed steps, ``steps`` steps are timed in ``chunks``
    runs of consecutive steps, and the median chunk counts (a chunk during which another
    process took the core does not move it)."""
    for i in range(warmup):
        step(*batches[i % len(batches)])
    chunks = max(1, min(chunks, steps))
    times, done = [], warmup
    for chunk in range(chunks):
        size = steps // chunks + (chunk < steps % chunks)
        start = time.perf_counter()
        for i in range(done, done + size):
            step(*batches[i % len(batches)])
        times.append((time.perf_counter() - start) / size)
        done += size
    return statistics.median(times)


def child(peer: str, model: str, warmup: int, steps: int) -> None:
    batches = make_batches(model, warmup + steps)
    seconds = globals()[f"steps_{peer}"](model, batches, warmup, steps)
    print(json.dumps({"peer": peer, "model": model, "seconds_per_step": seconds, "threads": blas_threads()}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3, help="runs of each (model, peer) pair (default 3)")
    parser.add_argument("--models", default=",".join(MODELS), help=f"subset of {','.join(MODELS)}")
    parser.add_argument("--steps", type=int, default=None,
                        help="timed steps per run (default: " + ", ".join(f"{m} {s}" for m, s in STEPS.items()) + ")")
    parser.add_argument("--warmup", type=int, default=20, help="untimed steps first (default 20)")
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS and PyTorch threads in every child (default 1)")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        model = args.child[1]
        child(args.child[0], model, args.warmup, args.steps or STEPS[model])
        return
    models = [m for m in args.models.split(",") if m]
    if not models or any(m not in MODELS for m in models):
        parser.error(f"--models takes names from {','.join(MODELS)}, got {args.models!r}")
    for name in ("repeats", "steps", "threads"):  # steps may be None (each model's default)
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name} must be >= 1, got {value}")
    if args.warmup < 0:
        parser.error(f"--warmup must be >= 0, got {args.warmup}")
    env = dict(os.environ)
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[variable] = str(args.threads)

    seconds = {(m, p): [] for m in models for p in PEERS}
    threads = None
    for round_ in range(args.repeats):
        for model in models:
            for peer in PEERS:  # alternate the peers so that machine noise hits both alike
                command = [sys.executable, __file__, "--child", peer, model, "--warmup", str(args.warmup)]
                if args.steps:
                    command += ["--steps", str(args.steps)]
                out = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
                result = json.loads(out.stdout.strip().splitlines()[-1])
                seconds[model, peer].append(result["seconds_per_step"])
                threads = result["threads"]
                print(f"round {round_ + 1}: {model:11s} {peer:8s} {1000 * result['seconds_per_step']:8.2f} ms/step",
                      file=sys.stderr, flush=True)

    print(f"\nTraining steps (forward, cross-entropy, backward, Adam), {threads} BLAS/PyTorch thread(s), "
          f"median of {args.repeats}")
    print(f"{'model':12s} {'batch':>5s} {'glassnet ms':>12s} {'PyTorch ms':>11s} {'glassnet/s':>11s} "
          f"{'PyTorch/s':>10s} {'ratio':>7s} {'target':>7s}")
    for model in models:
        ours, theirs = (statistics.median(seconds[model, p]) for p in PEERS)
        batch = BATCH[model]
        ratio = theirs / ours  # glassnet's speed over PyTorch's
        print(f"{model:12s} {batch:5d} {1000 * ours:12.2f} {1000 * theirs:11.2f} {batch / ours:11,.0f} "
              f"{batch / theirs:10,.0f} {ratio:6.2f}x {TARGETS[model]:6.1f}x")
    print("samples/s = batch / (seconds per step); ratio = glassnet's samples/s / PyTorch's")


if __name__ == "__main__":
    main()
