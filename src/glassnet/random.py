"""Explicit, reproducible randomness. Every random function takes ``rng``: a seed (int), a
``numpy.random.Generator``, or None for the library's default generator, which ``seed`` resets."""

from __future__ import annotations

import numpy as np

_default = np.random.default_rng()


def seed(value: int) -> None:
    """Reset the default generator, so that code that passes no ``rng`` is reproducible.

    Example
    -------
    >>> import glassnet as gn
    >>> from glassnet import nn
    >>> gn.seed(0)
    >>> first = nn.Linear(2, 3).weight.data.copy()
    >>> gn.seed(0)
    >>> bool((nn.Linear(2, 3).weight.data == first).all())
    True
    """
    global _default
    _default = np.random.default_rng(value)


def get_rng(rng=None) -> np.random.Generator:
    """A Generator from a seed, a Generator (returned as is) or None (the default generator).

    Example
    -------
    >>> from glassnet.random import get_rng
    >>> int(get_rng(42).integers(100)) == int(get_rng(42).integers(100))  # a seed: a new Generator each call
    True
    """
    if rng is None:
        return _default
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise TypeError(f"rng must be an int seed, a numpy.random.Generator or None, got {type(rng).__name__} {rng!r}")
