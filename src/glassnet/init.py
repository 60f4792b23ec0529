"""Weight initialization: the course's schemes, as functions that return a new float array.

For a weight of shape ``(in, out)`` (our Linear) fan_in = in and fan_out = out. For a convolution
weight ``(out_channels, in_channels, *kernel)``, fan_in = in_channels * prod(kernel) and
fan_out = out_channels * prod(kernel), as in PyTorch.

Each function takes ``rng``: an int seed, a ``numpy.random.Generator``, or None (the default
generator, see ``glassnet.random.seed``).

Example
-------
>>> import glassnet as gn
>>> w = gn.init.he_normal((784, 256), rng=0)
>>> w.shape, w.dtype
((784, 256), dtype('float32'))
"""

from __future__ import annotations

import math

import numpy as np

from ._checks import one_of
from .random import get_rng


def _shape(shape) -> tuple:
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(int(n) for n in shape)
    if any(n < 0 for n in shape):
        raise ValueError(f"a weight shape cannot have negative sizes, got {shape}")
    return shape


def fans(shape) -> tuple:
    """(fan_in, fan_out) of a weight shape; see the module docstring for the convention."""
    shape = _shape(shape)
    if len(shape) < 2:
        raise ValueError(f"fan_in and fan_out need a weight with 2 or more dimensions, got shape {shape}")
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def zeros(shape, dtype=np.float32, rng=None) -> np.ndarray:
    """All zeros. Not for hidden weights: every unit then computes the same thing (symmetry)."""
    return np.zeros(_shape(shape), dtype=dtype)


def normal(shape, mean: float = 0.0, std: float = 0.01, dtype=np.float32, rng=None) -> np.ndarray:
    """Small random values from N(mean, std^2)."""
    return get_rng(rng).normal(mean, std, _shape(shape)).astype(dtype)


def uniform(shape, low: float = -0.05, high: float = 0.05, dtype=np.float32, rng=None) -> np.ndarray:
    """Small random values from U(low, high)."""
    if not low < high:
        raise ValueError(f"uniform needs low < high, got low={low}, high={high}")
    return get_rng(rng).uniform(low, high, _shape(shape)).astype(dtype)


def xavier_uniform(shape, gain: float = 1.0, dtype=np.float32, rng=None) -> np.ndarray:
    """Xavier/Glorot uniform: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)),
    so that Var(w) = 2 / (fan_in + fan_out). Suits tanh and sigmoid layers."""
    fan_in, fan_out = fans(shape)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return get_rng(rng).uniform(-bound, bound, _shape(shape)).astype(dtype)


def xavier_normal(shape, gain: float = 1.0, dtype=np.float32, rng=None) -> np.ndarray:
    """Xavier/Glorot normal: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = fans(shape)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return get_rng(rng).normal(0.0, std, _shape(shape)).astype(dtype)


def he_uniform(shape, dtype=np.float32, rng=None) -> np.ndarray:
    """He (Kaiming) uniform: U(-a, a) with a = sqrt(6 / fan_in), so that Var(w) = 2 / fan_in,
    which keeps the variance of ReLU activations constant from layer to layer."""
    fan_in, _ = fans(shape)
    bound = math.sqrt(6.0 / fan_in)
    return get_rng(rng).uniform(-bound, bound, _shape(shape)).astype(dtype)


def he_normal(shape, dtype=np.float32, rng=None) -> np.ndarray:
    """He (Kaiming) normal: N(0, std^2) with std = sqrt(2 / fan_in). Suits ReLU layers."""
    fan_in, _ = fans(shape)
    return get_rng(rng).normal(0.0, math.sqrt(2.0 / fan_in), _shape(shape)).astype(dtype)


INITIALIZERS = {
    "zeros": zeros,
    "normal": normal,
    "uniform": uniform,
    "xavier_uniform": xavier_uniform,
    "xavier_normal": xavier_normal,
    "glorot_uniform": xavier_uniform,
    "glorot_normal": xavier_normal,
    "he_uniform": he_uniform,
    "he_normal": he_normal,
    "kaiming_uniform": he_uniform,
    "kaiming_normal": he_normal,
}


def name_of(function) -> str | None:
    """The name of ``function`` in ``INITIALIZERS`` (its first, e.g. 'he_uniform' rather than
    'kaiming_uniform'), or None for a function of your own: what a layer records in a model file.

    Example
    -------
    >>> from glassnet import init
    >>> init.name_of(init.he_normal), init.name_of(lambda shape, dtype, rng: None)
    ('he_normal', None)
    """
    return next((name for name, known in INITIALIZERS.items() if known is function), None)


def initializer_config(layer) -> dict:
    """``{"weight_init": name, "bias_init": name}`` of a layer's initializers that have a name
    in ``INITIALIZERS`` (a layer's ``get_config`` records these; custom functions are left out)."""
    names = {key: name_of(getattr(layer, key)) for key in ("weight_init", "bias_init")}
    return {key: name for key, name in names.items() if name is not None}


def get(name_or_function):
    """An initializer by name (``"he_normal"``, ...) or the function itself."""
    if callable(name_or_function):
        return name_or_function
    return INITIALIZERS[one_of(name_or_function, "initializer", sorted(INITIALIZERS))]
