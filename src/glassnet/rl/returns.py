"""Discounted returns and generalized advantage estimates: the targets an agent learns from.

Two plain NumPy functions over a rollout of ``T`` steps, laid out in time order: one environment
gives arrays of shape ``(T,)``, a vector environment of ``n_envs`` copies gives ``(T, n_envs)``.
A rollout may hold several episodes; the flags say where each ends, and the two ways an episode
ends are treated differently (Gymnasium's ``terminated`` and ``truncated``):

- **terminated** (the pole fell, the goal was reached): the state is terminal, nothing follows, so
  the return stops at this reward: ``G_t = r_t``.
- **truncated** (a time limit cut the episode): the state is not terminal, the agent would have
  gone on collecting rewards, so the return *bootstraps* from the value of the final observation:
  ``G_t = r_t + gamma * V(s_{t+1})``. Treating a time limit as a terminal state teaches the value
  function that the last states of a long episode are worth nothing, which they are not.

The same holds at the end of the rollout when an episode is still running: the rest of its return
is estimated by the value of the observation that follows the last step.

Example
-------
>>> import numpy as np
>>> from glassnet.rl.returns import returns_to_go
>>> rewards = np.array([1.0, 1.0, 1.0])
>>> returns_to_go(rewards, 0.5, terminated=[False, False, True], truncated=[False, False, False])
array([1.75, 1.5 , 1.  ])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassnet._checks import number_in_range

__all__ = ["gae", "returns_to_go"]


def _as_float(value: Any, name: str) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64)
    if array.ndim not in (1, 2) or array.shape[0] == 0:
        raise ValueError(f"{name} must have shape (T,) or (T, n_envs) with T >= 1, got shape {array.shape}")
    return array


def _flags(value: Any, name: str, shape: tuple[int, ...]) -> np.ndarray:
    array = np.asarray(value)
    if array.shape != shape:
        raise ValueError(f"{name} must have the rewards' shape {shape}, got shape {array.shape}")
    if array.dtype != np.bool_ and not np.isin(array, (0, 1)).all():
        raise ValueError(f"{name} must hold booleans (or 0/1), got {array.dtype} values other than 0 and 1")
    return array.astype(bool)


def _same_shape(value: Any, name: str, shape: tuple[int, ...]) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64)
    if array.shape != shape:
        raise ValueError(f"{name} must have the rewards' shape {shape}, got shape {array.shape}")
    return array


def _per_step(value: Any, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """A scalar, an (n_envs,) row or a full (T, ...) array, broadcast to the rewards' shape."""
    array = np.asarray(value, dtype=np.float64)
    try:
        return np.broadcast_to(array, shape)
    except ValueError:
        raise ValueError(f"{name} must broadcast to the rewards' shape {shape}, got shape {array.shape}") from None


def returns_to_go(rewards: Any, gamma: float, terminated: Any, truncated: Any,
                  last_value: Any = 0.0) -> np.ndarray:
    """Discounted return from every step to the end of its episode: the REINFORCE target.

    Computed backwards over the rollout (the course's discounted return, one step at a time)::

        G_t = r_t                          if the episode terminated at step t
        G_t = r_t + gamma * v_t            if it was truncated at step t, or t is the rollout's
                                           last step and the episode is still running
        G_t = r_t + gamma * G_{t+1}        otherwise

    where ``v_t = last_value`` (a scalar or an array broadcast to the rewards' shape, read only at
    the steps where an episode is cut) is the value of the observation after step ``t``. With
    ``last_value=0`` a cut episode counts as if it had ended (plain Monte Carlo returns).

    Parameters
    ----------
    rewards : array, shape (T,) or (T, n_envs)
    gamma : float in [0, 1], the discount factor.
    terminated, truncated : bool arrays of the rewards' shape; ``terminated`` wins where both are set.
    last_value : float or array broadcast to (T,) / (T, n_envs), default 0.

    Returns
    -------
    returns : float64 array of the rewards' shape.

    Example
    -------
    >>> import numpy as np
    >>> from glassnet.rl.returns import returns_to_go
    >>> returns_to_go([1.0, 1.0, 1.0], 0.5, [False] * 3, [False, False, True], last_value=4.0)
    array([2.25, 2.5 , 3.  ])
    """
    gamma = number_in_range(gamma, "gamma", 0.0, 1.0)
    rewards = _as_float(rewards, "rewards")
    terminated = _flags(terminated, "terminated", rewards.shape)
    # An episode is cut (bootstrapped) where a time limit truncated it or where the rollout ends.
    cut = _flags(truncated, "truncated", rewards.shape).copy()
    cut[-1] = True
    cut &= ~terminated
    bootstrap = _per_step(last_value, "last_value", rewards.shape)

    returns = np.empty_like(rewards)
    following = np.zeros(rewards.shape[1:])              # G_{t+1}
    for t in range(rewards.shape[0] - 1, -1, -1):
        following = np.where(terminated[t], 0.0, np.where(cut[t], bootstrap[t], following))
        returns[t] = rewards[t] + gamma * following
        following = returns[t]
    return returns


def gae(rewards: Any, values: Any, next_values: Any, terminated: Any, truncated: Any,
        gamma: float, lam: float) -> tuple[np.ndarray, np.ndarray]:
    """Generalized advantage estimation (Schulman et al., 2016): PPO's advantages and value targets.

    The one-step temporal-difference error, then its discounted sum with weight ``gamma * lam``::

        delta_t = r_t + gamma * (1 - terminated_t) * V(s_{t+1}) - V(s_t)
        A_t     = delta_t + gamma * lam * (1 - done_t) * A_{t+1},   done_t = terminated_t or truncated_t
        R_t     = A_t + V(s_t)                                      (the value function's target)

    ``V(s_{t+1})`` is ``next_values[t]``, the value of the observation that *followed* step ``t``:
    at a truncated step it is the final observation of the episode (before the environment reset),
    so a time limit bootstraps while a terminal state does not. At the rollout's last step
    ``A_{T-1} = delta_{T-1}``. ``lam=1`` gives returns-to-go minus the values; ``lam=0`` gives the
    one-step TD error.

    Parameters
    ----------
    rewards, values, next_values : arrays, shape (T,) or (T, n_envs).
    terminated, truncated : bool arrays of the same shape.
    gamma, lam : floats in [0, 1].

    Returns
    -------
    (advantages, returns) : two float64 arrays of the rewards' shape.

    Example
    -------
    >>> from glassnet.rl.returns import gae
    >>> advantages, returns = gae([1.0, 1.0], [0.5, 0.5], [0.5, 9.0], [False, True], [False, False],
    ...                           gamma=0.5, lam=1.0)
    >>> advantages, returns
    (array([1. , 0.5]), array([1.5, 1. ]))
    """
    gamma = number_in_range(gamma, "gamma", 0.0, 1.0)
    lam = number_in_range(lam, "lam", 0.0, 1.0)
    rewards = _as_float(rewards, "rewards")
    values = _same_shape(values, "values", rewards.shape)
    next_values = _same_shape(next_values, "next_values", rewards.shape)
    terminated = _flags(terminated, "terminated", rewards.shape)
    done = terminated | _flags(truncated, "truncated", rewards.shape)

    deltas = rewards + gamma * np.where(terminated, 0.0, next_values) - values
    advantages = np.empty_like(rewards)
    following = np.zeros(rewards.shape[1:])              # A_{t+1}
    for t in range(rewards.shape[0] - 1, -1, -1):
        following = deltas[t] + gamma * lam * np.where(done[t], 0.0, following)
        advantages[t] = following
    return advantages, advantages + values
