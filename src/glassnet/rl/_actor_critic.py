"""PPO's policy: an actor MLP and a critic MLP (separate, as Stable-Baselines3's MlpPolicy for PPO),
with Stable-Baselines3's orthogonal initialization.

- actor: obs -> hidden (tanh) -> logits (Discrete, a ``Categorical``) or the mean of a ``Normal``
  (Box) whose standard deviation exp(log_std) is a learned vector that does not depend on the
  observation (log_std starts at 0: std 1);
- critic: obs -> hidden (tanh) -> V(s), one number.
"""

from __future__ import annotations

import math

import numpy as np

from .. import nn
from ..distributions import Categorical, Normal
from ..random import get_rng
from ..tensor import Parameter, Tensor
from ._base import _charge

__all__ = ["ActorCritic", "orthogonal"]


def orthogonal(gain: float):
    """An initializer ``fn(shape, dtype, rng)`` of a weight with orthonormal rows or columns, times
    ``gain`` (Saxe et al.; ``torch.nn.init.orthogonal_``): the QR decomposition of a Gaussian matrix,
    its signs fixed by R's diagonal so that the draw is uniform over orthogonal matrices.

    Example
    -------
    >>> import numpy as np
    >>> from glassnet.rl._actor_critic import orthogonal
    >>> w = orthogonal(2.0)((4, 3), rng=0)
    >>> np.allclose(w.T @ w, 4.0 * np.eye(3), atol=1e-5)     # columns orthogonal, length 2
    True
    """
    def init(shape, dtype=np.float32, rng=None) -> np.ndarray:
        rows, cols = shape
        flat = get_rng(rng).standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(flat)
        q = q * np.sign(np.diag(r))  # make the decomposition unique, hence the draw uniform
        q = q if rows >= cols else q.T
        return (gain * q).astype(dtype)
    return init


def _mlp(sizes: list[int], activation: str, last_gain: float, rng: np.random.Generator) -> nn.Sequential:
    """Linear layers of ``sizes`` with ``activation`` between them; hidden weights orthogonal with
    gain sqrt(2), the last one with ``last_gain`` (Stable-Baselines3's ``ortho_init``)."""
    _charge(sizes[0], sizes[-1], sizes[1:-1])  # a loaded file cannot ask for more weights than it holds
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        last = i == len(sizes) - 2
        layers.append(nn.Linear(n_in, n_out, weight_init=orthogonal(last_gain if last else math.sqrt(2)),
                                rng=rng))
        if not last:
            layers.append(nn.Tanh() if activation == "tanh" else nn.ReLU())
    return nn.Sequential(*layers)


class ActorCritic(nn.Module):
    """The actor and the critic of PPO.

    Parameters
    ----------
    obs_dim : int
        Size of an observation.
    n_actions : int
        The number of discrete actions, or the size of a continuous action.
    continuous : bool
        A ``Normal`` policy (Box actions) instead of a ``Categorical`` one.
    net : dict
        ``dict(pi=[64, 64], vf=[64, 64], activation="tanh")``: hidden sizes of the actor and of the
        critic, and their activation ("tanh" or "relu").
    rng : numpy.random.Generator

    Shapes: obs ``(batch, obs_dim)``; ``value(obs)``: ``(batch,)``; ``log_prob`` and ``entropy``:
    ``(batch,)`` (summed over the action's entries when continuous).

    Example
    -------
    >>> import numpy as np
    >>> from glassnet.rl._actor_critic import ActorCritic
    >>> policy = ActorCritic(3, 1, True, dict(pi=[8], vf=[8], activation="tanh"),
    ...                      np.random.default_rng(0))
    >>> dist = policy.distribution(np.zeros((2, 3), dtype=np.float32))
    >>> dist.stddev.numpy()                     # log_std starts at 0
    array([[1.],
           [1.]], dtype=float32)
    >>> policy.value(np.zeros((2, 3), dtype=np.float32)).shape
    (2,)
    """

    def __init__(self, obs_dim: int, n_actions: int, continuous: bool, net: dict, rng: np.random.Generator) -> None:
        super().__init__()
        self.continuous = continuous
        # the action head starts near 0 (gain 0.01): a near-uniform, or unit-Gaussian, first policy
        self.actor = _mlp([obs_dim, *net["pi"], n_actions], net["activation"], 0.01, rng)
        self.critic = _mlp([obs_dim, *net["vf"], 1], net["activation"], 1.0, rng)
        if continuous:
            self.log_std = Parameter(np.zeros(n_actions, dtype=np.float32))

    def distribution(self, obs) -> Categorical | Normal:
        """pi(. | s): a ``Categorical`` over the actions, or a ``Normal(mean(s), exp(log_std))``."""
        out = self.actor(obs)
        if self.continuous:
            return Normal(out, self.log_std.exp())
        return Categorical(logits=out)

    def value(self, obs) -> Tensor:
        """V(s), shape ``(batch,)``."""
        return self.critic(obs)[:, 0]

    def log_prob_entropy(self, dist: Categorical | Normal, actions) -> tuple[Tensor, Tensor]:
        """log pi(a | s) and the entropy H(pi(. | s)), shape ``(batch,)``: a continuous action's
        entries are independent, so their log-probabilities and entropies add up."""
        if self.continuous:
            return dist.log_prob(actions).sum(axis=-1), dist.entropy().sum(axis=-1)
        return dist.log_prob(actions), dist.entropy()

    def act(self, obs: np.ndarray, rng: np.random.Generator, deterministic: bool = False) -> np.ndarray:
        """Actions for a batch of observations (no gradient): drawn from pi(. | s) with ``rng``, or its
        mode (the most likely action, the Normal's mean) when ``deterministic``."""
        dist = self.distribution(obs)
        if deterministic:
            if isinstance(dist, Normal):
                return dist.mean.numpy()
            return dist.logits.numpy().argmax(axis=-1)
        sample = dist.sample(rng=rng).numpy()
        return sample if self.continuous else sample.astype(np.int64)
