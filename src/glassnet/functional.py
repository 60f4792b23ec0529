"""Activations and other compositions of the ops. Nothing here has a backward of its own: where
an activation needs its own numerics (sigmoid, softmax, softplus) the primitive lives in
``glassnet.ops`` with its backward beside it, and this module names it.

Every function takes a Tensor of any shape ``(*)`` and returns one of the same shape, unless
noted. Each is safe for any finite input: no overflow warnings, no NaN at +-1e4.

Example
-------
>>> import numpy as np, glassnet as gn
>>> from glassnet import functional as F
>>> F.relu(gn.Tensor(np.array([-1.0, 2.0]))).numpy()
array([0., 2.])
"""

from __future__ import annotations

import math

import numpy as np

from . import ops
from .random import get_rng
from .tensor import Tensor, ensure_tensor


def step(x) -> Tensor:
    """The perceptron's step: phi(z) = 1 if z >= 0 else 0.

    Derivative: 0 wherever it exists (undefined at 0), so no gradient flows through it.
    """
    return ops.step(ensure_tensor(x))


def sigmoid(x) -> Tensor:
    """phi(z) = 1 / (1 + e^-z), in (0, 1).

    Derivative: phi'(z) = phi(z) (1 - phi(z)), at most 1/4 (the vanishing gradient).
    """
    return ops.sigmoid(ensure_tensor(x))


def tanh(x) -> Tensor:
    """phi(z) = tanh(z) = (e^z - e^-z) / (e^z + e^-z), in (-1, 1), zero-centred.

    Derivative: phi'(z) = 1 - tanh(z)^2.
    """
    return ops.tanh(ensure_tensor(x))


def relu(x) -> Tensor:
    """phi(z) = max(0, z).

    Derivative: 1 for z > 0, 0 for z < 0 (and 0 at z = 0, as in PyTorch).
    """
    return ops.relu(ensure_tensor(x))


def leaky_relu(x, alpha: float = 0.01) -> Tensor:
    """phi(z) = z if z >= 0 else alpha z (alpha small, typically 0.01).

    Derivative: 1 for z > 0, alpha for z <= 0 (the gradient never dies).
    """
    x = ensure_tensor(x)
    return ops.where(x.data > 0, x, x * alpha)


def elu(x, alpha: float = 1.0) -> Tensor:
    """phi(z) = z if z > 0 else alpha (e^z - 1).

    Derivative: 1 for z > 0, alpha e^z for z <= 0. The exponential is taken of min(z, 0) so
    that large positive z cannot overflow in the branch that is thrown away.
    (The gradient at exactly 0 is alpha, as in PyTorch.)
    """
    x = ensure_tensor(x)
    negative = ops.exp(ops.clip(x, high=0.0)) - 1.0
    return ops.where(x.data > 0, x, negative * alpha)


def softmax(x, axis: int = -1) -> Tensor:
    """phi(z)_i = e^(z_i) / sum_j e^(z_j) along ``axis``: probabilities that sum to 1.

    Derivative: d phi_i / d z_j = phi_i (delta_ij - phi_j).
    """
    return ops.softmax(ensure_tensor(x), axis)


def log_softmax(x, axis: int = -1) -> Tensor:
    """log phi(z)_i = z_i - log sum_j e^(z_j), computed with the max subtracted (no overflow).

    Derivative: d/dz_j log phi_i = delta_ij - phi_j.
    """
    return ops.log_softmax(ensure_tensor(x), axis)


def softplus(x) -> Tensor:
    """phi(z) = log(1 + e^z), a smooth ReLU.

    Derivative: phi'(z) = sigmoid(z).
    """
    return ops.softplus(ensure_tensor(x))


def silu(x) -> Tensor:
    """SiLU (swish): phi(z) = z sigmoid(z).

    Derivative: phi'(z) = sigmoid(z) (1 + z (1 - sigmoid(z))).
    """
    x = ensure_tensor(x)
    return x * ops.sigmoid(x)


def gelu(x) -> Tensor:
    """GELU, exact form: phi(z) = z Phi(z) = z (1 + erf(z / sqrt 2)) / 2, Phi the normal CDF.

    Derivative: phi'(z) = Phi(z) + z e^(-z^2/2) / sqrt(2 pi).
    """
    x = ensure_tensor(x)
    return x * ((ops.erf(x * (1.0 / math.sqrt(2.0))) + 1.0) * 0.5)


def linear(x, weight, bias=None) -> Tensor:
    """z = x @ W + b: the course's z = W^T x + b for a batch of row vectors.

    Shapes: x ``(..., in_features)``, weight ``(in_features, out_features)``,
    bias ``(out_features,)`` -> ``(..., out_features)``.
    """
    return ops.linear(ensure_tensor(x, dtype=weight.dtype), weight, bias)


def dropout(x, p: float = 0.5, training: bool = True, rng=None) -> Tensor:
    """Inverted dropout: zero each value with probability p and scale the rest by 1 / (1 - p),
    so that the expectation is unchanged and evaluation needs no rescaling. Identity when not
    training or p = 0. ``rng``: seed, Generator or None (see ``glassnet.random``).
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability must be in [0, 1], got {p}")
    x = ensure_tensor(x)
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * np.zeros(x.shape, dtype=x.dtype)
    keep = get_rng(rng).random(x.shape) >= p
    return x * (keep * np.asarray(1.0 / (1.0 - p), dtype=x.dtype))


ACTIVATIONS = {
    "step": step,
    "sigmoid": sigmoid,
    "logistic": sigmoid,
    "tanh": tanh,
    "relu": relu,
    "leaky_relu": leaky_relu,
    "elu": elu,
    "softplus": softplus,
    "silu": silu,
    "gelu": gelu,
    "identity": lambda x: ensure_tensor(x),
}
