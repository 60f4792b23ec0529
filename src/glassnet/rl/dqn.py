"""DQN: deep Q-learning with a replay buffer and a target network (Mnih et al. 2015).

The Q-network maps an observation to one value per action, Q(s, a): the expected discounted return
of taking a in s and acting greedily afterwards. It is trained towards the one-step target

    y = r + gamma * (1 - terminated) * max_a' Q_target(s', a')

with the Huber loss (quadratic for small errors, linear for large ones, so one surprising reward
cannot blow up a step). Three things keep this regression stable:

* a replay buffer: batches are drawn uniformly from past transitions, not the last few, which
  are strongly correlated;
* a target network: a copy of the Q-network, refreshed every ``target_update_interval`` environment
  steps, so the target does not move with every gradient step;
* epsilon-greedy exploration: a random action with probability epsilon, which falls linearly from
  ``exploration_initial_eps`` to ``exploration_final_eps`` over the first ``exploration_fraction`` of
  training.

Only ``terminated`` stops the bootstrap: a time limit (``truncated``) ends the episode but not the
future, so its target still uses max_a' Q_target(s', a').

Hyperparameters carry Stable-Baselines3's names and defaults, so the RL Baselines3 Zoo's settings
apply as they are.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import losses, optim
from ..tensor import Tensor, no_grad

__all__ = ["dqn_targets", "dqn_loss", "linear_schedule"]


def linear_schedule(initial: float, final: float, fraction: float) -> Callable[[float], float]:
    """Stable-Baselines3's ``get_linear_fn``: a function of the remaining progress p (1 -> 0)::

        progress = 1 - p
        value = initial + progress * (final - initial) / fraction   while progress <= fraction
        value = final                                                 after

    >>> eps = linear_schedule(1.0, 0.05, 0.1)
    >>> eps(1.0), round(eps(0.95), 6), eps(0.9), eps(0.0)
    (1.0, 0.525, 0.05, 0.05)
    """
    def value(progress_remaining: float) -> float:
        progress = 1.0 - progress_remaining
        if progress > fraction:
            return final
        return initial + progress * (final - initial) / fraction
    return value


def dqn_targets(rewards, next_q, terminated, gamma: float) -> np.ndarray:
    """The one-step Q-learning targets ``y = r + gamma * (1 - terminated) * max_a next_q[:, a]``.

    rewards: (batch,); next_q: (batch, n_actions), Q_target(s', .); terminated: (batch,) bool.
    Truncated transitions are not masked: they bootstrap like any non-terminal one.

    >>> dqn_targets([1.0, 1.0], [[2.0, 3.0], [2.0, 3.0]], [False, True], gamma=0.5)
    array([2.5, 1. ])
    """
    rewards = np.asarray(rewards)
    next_q = np.asarray(next_q)
    alive = 1.0 - np.asarray(terminated, dtype=rewards.dtype)
    return rewards + gamma * alive * next_q.max(axis=1)


def dqn_loss(q_net, target_net, batch, gamma: float) -> Tensor:
    """Huber loss between Q(s, a) of the taken actions and the targets from ``target_net``.

    batch: a :class:`~glassnet.rl.buffers.Transitions` (obs, actions, rewards, next_obs,
    terminated, ...). No gradient flows into the target: it is computed under ``no_grad``.
    """
    with no_grad():
        next_q = target_net(batch.next_obs).data
    targets = dqn_targets(batch.rewards, next_q, batch.terminated, gamma)
    q = q_net(batch.obs)
    taken = q[np.arange(len(batch.actions)), batch.actions]
    return losses.huber(taken, targets.astype(q.dtype, copy=False))


def gradient_step(q_net, target_net, optimizer, batch, gamma: float, max_grad_norm: float):
    """One update: loss, backward, clip the gradient norm to ``max_grad_norm``, optimizer step.
    Returns (loss value, gradient norm before clipping)."""
    loss = dqn_loss(q_net, target_net, batch, gamma)
    optimizer.zero_grad()
    loss.backward()
    grad_norm = optim.clip_grad_norm(q_net.parameters(), max_grad_norm)
    optimizer.step()
    return float(loss.data), grad_norm
