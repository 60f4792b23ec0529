"""Data augmentation: random transformations of each training batch that keep its labels, so the
model sees more varied data (the course's regularization by data augmentation).

Each transform is called as ``transform(X_batch, rng) -> X_batch`` (a new array; the input is
not changed) and is passed to ``fit(..., augment=transform)``; ``Compose`` chains several.
Images are ``(N, C, H, W)`` or ``(N, H, W)``; 1-D signals ``(N, L)``.

Example
-------
>>> import numpy as np
>>> from glassnet.data.augment import Compose, GaussianNoise, RandomFlip
>>> augment = Compose([RandomFlip(horizontal=True), GaussianNoise(0.1)])
>>> augment(np.zeros((2, 1, 4, 4), np.float32), np.random.default_rng(0)).shape
(2, 1, 4, 4)
"""

from __future__ import annotations

import numpy as np

from .._checks import boolean, non_negative_int, non_negative_number, probability
from ..random import get_rng


class GaussianNoise:
    """x + N(0, std^2) noise, drawn anew for every value of every batch (integer inputs
    become float64; float inputs keep their dtype)."""

    def __init__(self, std: float) -> None:
        self.std = non_negative_number(std, "std")

    def __call__(self, X, rng=None):
        X = np.asarray(X)
        if X.dtype.kind != "f":
            X = X.astype(np.float64)
        return X + get_rng(rng).normal(0.0, self.std, X.shape).astype(X.dtype)


class RandomFlip:
    """Mirror each sample with probability ``p``: left-right (``horizontal``, the last axis) and/or
    up-down (``vertical``, the second-to-last axis; images only)."""

    def __init__(self, horizontal: bool = True, vertical: bool = False, p: float = 0.5) -> None:
        self.horizontal = boolean(horizontal, "horizontal")
        self.vertical = boolean(vertical, "vertical")
        if not (self.horizontal or self.vertical):
            raise ValueError("RandomFlip needs horizontal=True or vertical=True")
        self.p = probability(p, "p", include_one=True)

    def __call__(self, X, rng=None):
        X = np.array(X)
        if self.vertical and X.ndim < 3:
            raise ValueError(f"a vertical flip needs images (N, H, W) or (N, C, H, W), got shape {X.shape}")
        rng = get_rng(rng)
        for axis, wanted in ((-1, self.horizontal), (-2, self.vertical)):
            if wanted:
                chosen = rng.random(len(X)) < self.p
                X[chosen] = np.flip(X[chosen], axis=axis)
        return X


class RandomShift:
    """Shift each sample by a random whole number of positions in [-max_shift, max_shift] along
    its last axis (signals) or its last two axes (images), filling with zeros."""

    def __init__(self, max_shift: int) -> None:
        self.max_shift = non_negative_int(max_shift, "max_shift")

    def __call__(self, X, rng=None):
        X = np.asarray(X)
        if X.ndim < 2:
            raise ValueError(f"RandomShift needs a batch of signals or images, got shape {X.shape}")
        rng = get_rng(rng)
        axes = (-1,) if X.ndim == 2 else (-2, -1)
        shifts = rng.integers(-self.max_shift, self.max_shift + 1, size=(len(X), len(axes)))
        out = np.zeros_like(X)
        for i, amounts in enumerate(shifts):
            out[i] = shift(X[i], dict(zip(axes, amounts)))
        return out


def shift(sample: np.ndarray, amounts: dict) -> np.ndarray:
    """``sample`` moved by ``amounts[axis]`` positions along each axis, zeros filling the gap."""
    out = np.zeros_like(sample)
    source = [slice(None)] * sample.ndim
    target = [slice(None)] * sample.ndim
    for axis, amount in amounts.items():
        size = sample.shape[axis]
        amount = int(np.clip(amount, -size, size))
        source[axis] = slice(max(0, -amount), size - max(0, amount))
        target[axis] = slice(max(0, amount), size - max(0, -amount))
    out[tuple(target)] = sample[tuple(source)]
    return out


class Compose:
    """Apply several transforms in order."""

    def __init__(self, transforms) -> None:
        self.transforms = list(transforms)
        if not all(callable(t) for t in self.transforms):
            raise TypeError("Compose needs callables transform(X, rng) -> X")

    def __call__(self, X, rng=None):
        rng = get_rng(rng)
        for transform in self.transforms:
            X = transform(X, rng)
        return X
