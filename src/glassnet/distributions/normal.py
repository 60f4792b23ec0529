"""The normal (Gaussian) distribution N(loc, scale^2), with its reparameterized sample."""

from __future__ import annotations

import math

import numpy as np

from ..random import get_rng
from ..tensor import Tensor
from ._base import Distribution, as_parameters, as_sample_shape, broadcast_shape, broadcast_to, first_bad

__all__ = ["Normal"]


class Normal(Distribution):
    """The normal distribution with mean ``loc`` and standard deviation ``scale`` (PyTorch's
    ``torch.distributions.Normal``).

    Parameters
    ----------
    loc : Tensor, array or number
        The mean mu. A Tensor keeps its graph: gradients of log_prob, entropy, rsample and
        kl_divergence flow back into it.
    scale : Tensor, array or number
        The standard deviation sigma, > 0. ``loc`` and ``scale`` broadcast against each other.

    Shape
    -----
    ``batch_shape`` is the broadcast shape of ``loc`` and ``scale``; ``event_shape`` is
    ``()``. ``sample(shape)`` and ``rsample(shape)``: ``shape + batch_shape``. ``log_prob(value)``:
    the broadcast shape of ``value`` and ``batch_shape``. ``entropy()``: ``batch_shape``.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> from glassnet.distributions import Normal
    >>> mu = gn.Tensor(np.zeros(3), requires_grad=True)
    >>> q = Normal(mu, np.ones(3))
    >>> z = q.rsample((5,), rng=0)             # mu + sigma * eps: gradients reach mu
    >>> z.shape, q.batch_shape
    ((5, 3), (3,))
    >>> round(float(q.log_prob(0.0).data[0]), 4)  # -log(2 pi) / 2
    -0.9189
    >>> z.sum().backward(); mu.grad                   # dz/dmu = 1 for each of the 5 draws
    array([5., 5., 5.])
    """

    has_rsample = True

    def __init__(self, loc, scale) -> None:
        constant = not isinstance(loc, Tensor) and not isinstance(scale, Tensor)
        loc, scale = as_parameters(loc=loc, scale=scale)
        if np.any(scale.data <= 0):
            raise ValueError(f"scale must be > 0, got {first_bad(scale.data, scale.data <= 0)}")
        batch_shape = broadcast_shape(loc.shape, scale.shape, "Normal: loc and scale")
        self.loc = broadcast_to(loc, batch_shape)
        self.scale = broadcast_to(scale, batch_shape)
        super().__init__(batch_shape, constant=constant)

    def _parameters(self) -> dict:
        return {"loc": self.loc, "scale": self.scale}

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def stddev(self) -> Tensor:
        return self.scale

    @property
    def variance(self) -> Tensor:
        return self.scale ** 2

    def rsample(self, shape=(), rng=None) -> Tensor:
        """A reparameterized draw of shape ``shape + batch_shape``: z = loc + scale * eps.

        eps ~ N(0, 1) is drawn outside the graph (from ``rng``, or glassnet's default generator),
        so z is a differentiable function of loc and scale: dz/dloc = 1, dz/dscale = eps. This is
        the reparameterization trick that lets a VAE backpropagate through its sampling step.
        """
        full_shape = self._extended_shape(as_sample_shape(shape))
        eps = get_rng(rng).standard_normal(full_shape).astype(self.dtype)
        return self.loc + self.scale * eps  # the reparameterization trick

    def _draw(self, shape: tuple, generator: np.random.Generator) -> np.ndarray:
        # sample() runs this under no_grad: the same draws as rsample() from the same generator
        eps = generator.standard_normal(shape).astype(self.dtype)
        return self.loc.data + self.scale.data * eps

    def log_prob(self, value) -> Tensor:
        """log N(x; mu, sigma), one number per entry of the broadcast of ``value`` and batch_shape."""
        value = self._value(value)
        if np.any(np.isnan(value.data)):
            raise ValueError("Normal.log_prob: value holds NaN, which is outside the support (the real numbers)")
        # log N(x; mu, sigma) = -(x - mu)^2 / (2 sigma^2) - log sigma - log(2 pi) / 2
        return -((value - self.loc) ** 2) / (2 * self.scale ** 2) - self.scale.log() - math.log(2 * math.pi) / 2

    def entropy(self) -> Tensor:
        """H = 1/2 + log(2 pi) / 2 + log sigma, shape ``batch_shape``."""
        return 0.5 + 0.5 * math.log(2 * math.pi) + self.scale.log()
