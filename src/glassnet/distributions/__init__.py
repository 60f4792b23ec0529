"""Probability distributions with PyTorch's names and semantics (``torch.distributions``), built
from glassnet's differentiable ops, so that gradients flow from ``log_prob``, ``entropy``,
``rsample`` and ``kl_divergence`` back into the parameters.

- ``normal``: ``Normal(loc, scale)``, with ``rsample``: the reparameterization trick
  z = loc + scale * eps, eps ~ N(0, 1).
- ``bernoulli``: ``Bernoulli(probs=None, logits=None)``.
- ``categorical``: ``Categorical(probs=None, logits=None)``, over the last axis.
- ``kl``: ``kl_divergence(p, q)`` in closed form.
- ``_base``: the ``Distribution`` base class and the checks of parameters and values.

Every distribution has ``batch_shape``, ``event_shape``, ``mean``, ``stddev``, ``variance``,
``log_prob(value)``, ``entropy()`` and ``sample(shape=(), rng=None)`` (no gradient); randomness
comes from ``rng`` (a seed or a ``numpy.random.Generator``) or glassnet's default generator
(``glassnet.seed``). Bad parameters or values raise before anything is built: TypeError for a
wrong type, ValueError for a value outside the support (PyTorch's ``validate_args=True``).

Example: the two random parts of a VAE's loss (the ELBO)
--------------------------------------------------------
>>> import numpy as np, glassnet as gn
>>> from glassnet.distributions import Categorical, Normal, kl_divergence
>>> mu = gn.Tensor(np.zeros((2, 4)), requires_grad=True)      # an encoder's outputs
>>> log_sigma = gn.Tensor(np.zeros((2, 4)), requires_grad=True)
>>> q = Normal(mu, log_sigma.exp())
>>> z = q.rsample(rng=0)                                      # (2, 4): gradients reach mu, sigma
>>> scores = gn.Tensor(np.zeros((2, 3, 17)))                  # a decoder's logits: 3 pixels, 17 levels
>>> nll = -Categorical(logits=scores).log_prob(np.array([[0, 5, 16], [1, 1, 1]])).sum(axis=-1)
>>> kl = kl_divergence(q, Normal(0.0, 1.0)).sum(axis=-1)
>>> loss = (nll + kl).mean()                                  # the negative ELBO
>>> loss.backward()
>>> round(loss.item(), 4)                                     # 3 log 17: uniform pixels, KL 0
8.4996
"""

from ._base import Distribution
from .bernoulli import Bernoulli
from .categorical import Categorical
from .kl import kl_divergence
from .normal import Normal

__all__ = ["Bernoulli", "Categorical", "Distribution", "Normal", "kl_divergence"]
