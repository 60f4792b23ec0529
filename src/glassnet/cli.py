"""The ``glassnet`` command line.

``glassnet demo`` trains the course's first network that a perceptron cannot be: a 2-4-1 network
on XOR, with the low-level API, and prints how the loss falls. (The full course story, ``train``,
``evaluate`` and ``predict`` arrive with the training-workflow release.)
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from . import __version__


def demo(seed: int = 0, epochs: int = 2000, out=sys.stdout) -> float:
    """Train a 2-4-1 tanh network on XOR with full-batch SGD + momentum; return the accuracy."""
    import glassnet as gn
    from glassnet import losses, nn, optim

    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    y = np.array([[0], [1], [1], [0]], dtype=np.float32)
    gn.seed(seed)
    model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    print(f"glassnet {__version__}: a 2-4-1 network learns XOR (which no perceptron can)", file=out)
    print(model, file=out)
    start = time.perf_counter()
    inputs = gn.Tensor(X)
    for epoch in range(1, epochs + 1):
        loss = losses.binary_cross_entropy_with_logits(model(inputs), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if epoch in (1, 10, 100, 500) or epoch % 1000 == 0:
            print(f"  epoch {epoch:5d}  loss {loss.item():.4f}", file=out)
    with gn.no_grad():
        probabilities = gn.functional.sigmoid(model(inputs)).numpy()
    accuracy = float(np.mean((probabilities > 0.5) == (y > 0.5)))
    print(f"  {epochs} epochs in {time.perf_counter() - start:.2f} s", file=out)
    for row, p in zip(X, probabilities[:, 0]):
        print(f"  XOR({int(row[0])}, {int(row[1])}) -> p(1) = {p:.3f}", file=out)
    print(f"accuracy {accuracy:.2f}", file=out)
    return accuracy


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="glassnet", description="A glass-box neural-network library on NumPy.")
    parser.add_argument("--version", action="version", version=f"glassnet {__version__}")
    commands = parser.add_subparsers(dest="command")
    demo_parser = commands.add_parser("demo", help="train a small network on XOR and show it learn",
                                      description="Train a 2-4-1 network on XOR and print the loss as it falls.")
    demo_parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    demo_parser.add_argument("--epochs", type=int, default=2000, help="full-batch epochs (default 2000)")
    args = parser.parse_args(argv)
    if args.command == "demo":
        if args.epochs < 1:
            parser.error("--epochs must be at least 1")
        accuracy = demo(seed=args.seed, epochs=args.epochs)
        return 0 if accuracy == 1.0 else 1
    parser.print_help()
    return 0
