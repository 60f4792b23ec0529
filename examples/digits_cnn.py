"""A small convolutional network on scikit-learn's 8x8 handwritten digits.

The 1,797 images (8 x 8 pixels, values 0..16) are split 75/25 (stratified), standardized with the
training set's mean and standard deviation, and shaped (N, 1, 8, 8): one channel. The network:

    Conv2d(1 -> 16, 3x3, padding 1) -> ReLU      16 feature maps of 8x8
    Conv2d(16 -> 32, 3x3, padding 1) -> ReLU     32 of 8x8
    MaxPool2d(2)                                 32 of 4x4
    Flatten -> Dropout(0.25) -> Linear(512 -> 10)

trained by ``glassnet.fit`` with Adam (lr 1e-3, batches of 32) on the cross-entropy. It reaches 98.5-99.5% test
accuracy in 20 epochs (depending on the seed), a few seconds on a laptop CPU.

    python examples/digits_cnn.py [--epochs 20] [--seed 0]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import glassnet as gn
from glassnet import losses, nn, optim


def load_data(seed: int):
    digits = load_digits()
    images = digits.images.astype(np.float32)[:, None, :, :]  # (N, 1, 8, 8)
    X_train, X_test, y_train, y_test = train_test_split(
        images, digits.target, test_size=0.25, stratify=digits.target, random_state=seed)
    mean, std = X_train.mean(), X_train.std()  # one mean and std: the image keeps its shape
    return (X_train - mean) / std, (X_test - mean) / std, y_train, y_test


def build_model(seed: int) -> nn.Module:
    rng = np.random.default_rng(seed)
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1, rng=rng), nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1, rng=rng), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Dropout(0.25, rng=rng),
        nn.Linear(32 * 4 * 4, 10, rng=rng),
    )


def train(epochs: int = 20, seed: int = 0, verbose: int = 1) -> float:
    """Train the network with ``glassnet.fit`` and return its test accuracy."""
    X_train, X_test, y_train, y_test = load_data(seed)
    model = build_model(seed)
    if verbose:
        print(f"digits: {len(X_train)} training and {len(X_test)} test images of shape {X_train.shape[1:]}")
        print(f"model: {model.num_parameters()} parameters")
    start = time.perf_counter()
    gn.fit(model, X_train, y_train, loss=losses.cross_entropy,
           optimizer=optim.Adam(model.parameters(), lr=1e-3), epochs=epochs, batch_size=32,
           seed=seed, verbose=verbose)
    test_accuracy = gn.evaluate(model, X_test, y_test, loss=losses.cross_entropy)["accuracy"]
    if verbose:
        print(f"test accuracy {test_accuracy:.4f} after {epochs} epochs ({time.perf_counter() - start:.1f} s)")
    return test_accuracy


def main(argv=None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=20, help="passes over the training set (default 20)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split, the weights and the batches")
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error(f"--epochs must be >= 1, got {args.epochs}")
    return train(args.epochs, args.seed)


if __name__ == "__main__":
    main()
