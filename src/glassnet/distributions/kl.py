"""The Kullback-Leibler divergence KL(p || q) = E_p[log p(x) - log q(x)], in closed form for the
pairs PyTorch computes in closed form among glassnet's distributions."""

from __future__ import annotations

import numpy as np

from .. import ops
from ..tensor import Tensor
from ._base import Distribution, broadcast_shape
from .bernoulli import Bernoulli
from .categorical import Categorical
from .normal import Normal

__all__ = ["kl_divergence"]


def _kl_normal_normal(p: Normal, q: Normal) -> Tensor:
    # KL(N(m1, s1^2) || N(m2, s2^2)) = 1/2 (s1^2/s2^2 + (m1 - m2)^2/s2^2 - 1 - log(s1^2/s2^2))
    var_ratio = (p.scale / q.scale) ** 2
    t1 = ((p.loc - q.loc) / q.scale) ** 2
    return 0.5 * (var_ratio + t1 - 1 - var_ratio.log())


def _kl_bernoulli_bernoulli(p: Bernoulli, q: Bernoulli) -> Tensor:
    # KL = p1 log(p1/p2) + (1 - p1) log((1 - p1)/(1 - p2)), with log p = -softplus(-l) and
    # log(1 - p) = -softplus(l). A term whose weight p1 (or 1 - p1) is 0 is 0; a term where q
    # gives 0 to what p can draw is +inf (PyTorch's rule).
    p_probs, q_probs = p.probs, q.probs
    t1 = p_probs * (ops.softplus(-q.logits) - ops.softplus(-p.logits))
    t1 = ops.where(p_probs.data == 0, 0.0, ops.where(q_probs.data == 0, np.inf, t1))
    t2 = (1 - p_probs) * (ops.softplus(q.logits) - ops.softplus(p.logits))
    t2 = ops.where(p_probs.data == 1, 0.0, ops.where(q_probs.data == 1, np.inf, t2))
    return t1 + t2


def _kl_categorical_categorical(p: Categorical, q: Categorical) -> Tensor:
    if p.num_categories != q.num_categories:
        raise ValueError(f"kl_divergence: p has {p.num_categories} categories, q {q.num_categories}")
    # KL = sum_k p_k (log p_k - log q_k); 0 where p_k = 0, +inf where q_k = 0 < p_k
    p_probs, q_probs = p.probs, q.probs
    terms = p_probs * (p.logits - q.logits)
    shape = terms.shape
    terms = ops.where(np.broadcast_to(p_probs.data == 0, shape), 0.0,
                      ops.where(np.broadcast_to(q_probs.data == 0, shape), np.inf, terms))
    return terms.sum(axis=-1)


def _one_dtype(p: Distribution, q: Distribution) -> tuple:
    """p and q in one dtype: a distribution made of numbers and arrays alone takes the other's
    dtype (as a constant does in a + b); of two such, the float64 one wins (as a float64 array
    does beside a number); two made from Tensors of different dtypes are an error."""
    if p.dtype == q.dtype:
        return p, q
    if p._constant and q._constant:
        return (p, q._astype(p.dtype)) if p.dtype == np.float64 else (p._astype(q.dtype), q)
    if q._constant:
        return p, q._astype(p.dtype)
    if p._constant:
        return p._astype(q.dtype), q
    raise TypeError(f"kl_divergence: p has dtype {p.dtype}, q {q.dtype}; convert the parameters of one "
                    "with .astype() (glassnet never upcasts silently)")


_KL = {
    (Normal, Normal): _kl_normal_normal,
    (Bernoulli, Bernoulli): _kl_bernoulli_bernoulli,
    (Categorical, Categorical): _kl_categorical_categorical,
}


def kl_divergence(p: Distribution, q: Distribution) -> Tensor:
    """KL(p || q) = E_{x ~ p}[log p(x) - log q(x)], in closed form, shape: the broadcast of the
    two batch shapes. Gradients flow into the parameters of both (PyTorch's
    ``torch.distributions.kl_divergence``).

    Closed forms: Normal/Normal, Bernoulli/Bernoulli, Categorical/Categorical; any other pair is a
    NotImplementedError. A distribution made of numbers and arrays alone (no Tensor), such as the
    prior ``Normal(0.0, 1.0)``, takes the other's dtype. KL is >= 0, 0 when p = q, and +inf where q
    gives probability 0 to an outcome p can draw.

    Example
    -------
    >>> import numpy as np
    >>> from glassnet.distributions import Normal, kl_divergence
    >>> q = Normal([0.0, 1.0], [1.0, 2.0])                     # a VAE's posterior (float32)
    >>> kl_divergence(q, Normal(0.0, 1.0)).numpy().round(4)   # against the N(0, 1) prior
    array([0.    , 1.3069], dtype=float32)
    """
    for name, value in (("p", p), ("q", q)):
        if not isinstance(value, Distribution):
            raise TypeError(f"kl_divergence: {name} must be a distribution (Normal, Bernoulli, Categorical), "
                            f"got {type(value).__name__}")
    for (p_type, q_type), closed_form in _KL.items():
        if isinstance(p, p_type) and isinstance(q, q_type):  # a subclass too, as PyTorch dispatches
            p, q = _one_dtype(p, q)
            broadcast_shape(p.batch_shape, q.batch_shape, "kl_divergence: the batch shapes of p and q")
            return closed_form(p, q)  # type: ignore[operator]
    raise NotImplementedError(f"kl_divergence has no closed form for p = {type(p).__name__} and "
                              f"q = {type(q).__name__}; it knows Normal/Normal, Bernoulli/Bernoulli "
                              "and Categorical/Categorical")
