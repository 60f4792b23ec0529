"""Explicit, reproducible randomness. Every random function takes ``rng``: a seed (int), a
``numpy.random.Generator``, or None for the library's default generator, which ``seed`` resets."""

from __future__ import annotations

import numpy as np

_default = np.random.default_rng()


def seed(value: int) -> None:
    """Reset the default generator, so that code that passes no ``rng`` is reproducible."""
    global _default
    _default = np.random.default_rng(value)


def get_rng(rng=None) -> np.random.Generator:
    """A Generator from a seed, a Generator (returned as is) or None (the default generator)."""
    if rng is None:
        return _default
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise TypeError(f"rng must be an int seed, a numpy.random.Generator or None, got {type(rng).__name__} {rng!r}")
