"""A 2-layer transformer encoder learns to sort (or reverse) short sequences of digits.

Each input is 8 random digits (0..9); the target at each position is the digit that belongs there
in the sorted (or reversed) sequence:

    input   3 9 1 3 0 7 2 5          sort:    0 1 2 3 3 5 7 9
                                     reverse: 5 2 7 0 3 1 9 3

The model reads all positions at once and predicts every output position in one pass:

    Embedding(10 -> 64) + sinusoidal PositionalEncoding
    2 x TransformerEncoderLayer(d_model 64, 4 heads, feed-forward 128, post-norm, ReLU, no dropout)
    Linear(64 -> 10) at each position: the logits of the digit there

Sorting needs attention over the whole sequence: the digit at output position i is the one with
i smaller-or-equal digits before it in sorted order, so each position must compare its digit with
every other. Training draws fresh sequences for every batch (Adam, lr 1e-3 after a warm-up of 100
steps, then a cosine decay; batches of 64; gradient norm clipped at 1; cross-entropy over the 8
positions); the 2,000 held-out sequences never appear in training. Sorting passes 99% held-out
token accuracy within 3 epochs of 100 steps, and the default 10 epochs end near 99.99% (about
20 s on a laptop CPU); reversing is learned in 2 epochs.

    python examples/transformer_toy.py [--task sort|reverse] [--epochs 40] [--steps 100] [--seed 0]
"""

from __future__ import annotations

import argparse
import math
import os
import time

# The products here are small (512 x 64 by 64 x 192): a second BLAS thread gains nothing, and on a
# busy machine a descheduled OpenBLAS thread spins and makes a step several times slower. Set
# before NumPy loads its BLAS; an explicit setting in the environment wins.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import numpy as np  # noqa: E402

import glassnet as gn  # noqa: E402
from glassnet import losses, nn, optim  # noqa: E402

LENGTH, VOCABULARY = 8, 10


def targets_for(sequences: np.ndarray, task: str) -> np.ndarray:
    return np.sort(sequences, axis=1) if task == "sort" else sequences[:, ::-1].copy()


class SequenceSource:
    """Random digit sequences: a fixed held-out set, and training batches that never contain a
    held-out sequence."""

    def __init__(self, task: str, held_out: int, seed: int):
        self.task = task
        self.rng = np.random.default_rng(seed)
        drawn = self.rng.integers(0, VOCABULARY, (held_out, LENGTH))
        _, first = np.unique(drawn, axis=0, return_index=True)
        self.test_inputs = drawn[np.sort(first)]  # without repeats, in the order drawn
        self.test_targets = targets_for(self.test_inputs, task)
        self._held_out = {row.tobytes() for row in self.test_inputs}

    def batch(self, size: int):
        inputs = self.rng.integers(0, VOCABULARY, (size, LENGTH))
        fresh = np.array([row.tobytes() not in self._held_out for row in inputs])
        inputs = inputs[fresh]  # about one in 50,000 batches loses a row
        return inputs, targets_for(inputs, self.task)


def build_model(d_model: int = 64, nhead: int = 4, dim_feedforward: int = 128, seed: int = 0) -> nn.Sequential:
    rng = np.random.default_rng(seed)
    return nn.Sequential(
        nn.Embedding(VOCABULARY, d_model, rng=rng),
        nn.PositionalEncoding(d_model, max_len=LENGTH),
        nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout=0.0, rng=rng),
        nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout=0.0, rng=rng),
        nn.Linear(d_model, VOCABULARY, rng=rng),
    )


def sequence_loss(model, inputs, targets):
    """Mean cross-entropy over every position; returns (loss, logits (N, L, V))."""
    logits = model(inputs)
    return losses.cross_entropy(logits.reshape(-1, VOCABULARY), targets.reshape(-1)), logits


def accuracy(model, inputs, targets) -> tuple:
    """(token accuracy, whole-sequence accuracy), in evaluation mode and without a graph."""
    model.eval()
    with gn.no_grad():
        predicted = model(inputs).numpy().argmax(axis=-1)
    model.train()
    correct = predicted == targets
    return float(correct.mean()), float(correct.all(axis=1).mean())


def learning_rate(step: int, total: int, peak: float, warmup: int) -> float:
    """Linear warm-up to ``peak`` (post-norm layers need it), then a cosine decay to peak / 100:
    with a constant rate, Adam jumps out of the solution now and then."""
    if step < warmup:
        return peak * step / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return peak * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * progress)))


def train(task: str = "sort", epochs: int = 10, steps: int = 100, batch_size: int = 64,
          lr: float = 1e-3, warmup: int = 100, seed: int = 0, verbose: bool = True) -> float:
    """Train and return the held-out token accuracy at the end."""
    source = SequenceSource(task, held_out=2000, seed=seed)
    model = build_model(seed=seed)
    optimizer = optim.Adam(model.parameters(), lr=lr)
    if verbose:
        print(f"task: {task} {LENGTH} digits (0..{VOCABULARY - 1}); {len(source.test_inputs)} held-out sequences")
        print(f"model: {model.num_parameters()} parameters")
    start, step = time.perf_counter(), 0
    for epoch in range(1, epochs + 1):
        total = 0.0
        for _ in range(steps):
            step += 1
            optimizer.lr = learning_rate(step, epochs * steps, lr, warmup)
            inputs, targets = source.batch(batch_size)
            loss, _ = sequence_loss(model, inputs, targets)
            optimizer.zero_grad()
            loss.backward()
            optim.clip_grad_norm(model.parameters(), 1.0)
            optimizer.step()
            total += loss.item()
        token, whole = accuracy(model, source.test_inputs, source.test_targets)
        if verbose:
            print(f"epoch {epoch:3d}  loss {total / steps:.4f}  held-out token accuracy {token:.4f}  "
                  f"sequence accuracy {whole:.4f}  ({time.perf_counter() - start:.1f} s)")
    if verbose:
        model.eval()
        with gn.no_grad():
            predicted = model(source.test_inputs[:4]).numpy().argmax(axis=-1)
        for inputs, target, guess in zip(source.test_inputs[:4], source.test_targets[:4], predicted):
            mark = "ok" if (guess == target).all() else "WRONG"
            print(f"  {' '.join(map(str, inputs))}  ->  {' '.join(map(str, guess))}  ({mark})")
        print(f"held-out token accuracy {token:.4f} after {epochs} epochs ({time.perf_counter() - start:.1f} s)")
    return token


def main(argv=None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--task", choices=("sort", "reverse"), default="sort")
    parser.add_argument("--epochs", type=int, default=10, help="evaluations on the held-out set (default 10)")
    parser.add_argument("--steps", type=int, default=100, help="training steps per epoch (default 100)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the data and the weights")
    args = parser.parse_args(argv)
    for name in ("epochs", "steps"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1, got {getattr(args, name)}")
    return train(args.task, args.epochs, args.steps, seed=args.seed)


if __name__ == "__main__":
    main()
