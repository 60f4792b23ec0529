"""The replay buffer of off-policy agents (DQN): a fixed-size ring of transitions.

Each transition is (obs, action, reward, next_obs, terminated, truncated). ``terminated`` and
``truncated`` are stored apart because they mean different things to the target: a terminated
episode has no future (y = r), a truncated one (a time limit) does, so its target still bootstraps
from next_obs (y = r + gamma max_a Q(next_obs, a)). Mixing them up teaches CartPole's agent that
standing for 500 steps leads to nothing.

The arrays are allocated once, at full size; once full, the oldest transition is overwritten.
Sampling is uniform with replacement (as Stable-Baselines3's), from the generator it is given, so
a seeded agent samples the same batches.

Example
-------
>>> import numpy as np
>>> from glassnet.rl.buffers import ReplayBuffer
>>> buffer = ReplayBuffer(3, obs_dim=2)
>>> for t in range(4):                       # the 4th transition overwrites the 1st
...     buffer.add([t, t], action=t % 2, reward=1.0, next_obs=[t + 1, t + 1],
...                terminated=False, truncated=False)
>>> len(buffer), buffer.obs[:, 0].tolist()
(3, [3.0, 1.0, 2.0])
>>> batch = buffer.sample(5, np.random.default_rng(0))
>>> batch.obs.shape, batch.actions.shape
((5, 2), (5,))
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._checks import boolean, positive_int, real_number

__all__ = ["ReplayBuffer", "Transitions"]


class Transitions(NamedTuple):
    """A sampled batch. obs, next_obs: (batch, obs_dim); actions: (batch,) int64;
    rewards: (batch,); terminated, truncated: (batch,) bool."""

    obs: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    next_obs: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray


class ReplayBuffer:
    """Ring buffer of ``capacity`` transitions, arrays preallocated.

    Parameters
    ----------
    capacity : int
        The most transitions kept (Stable-Baselines3's ``buffer_size``).
    obs_dim : int
        Length of an observation vector.
    dtype : float dtype
        dtype of the stored observations and rewards (float32, like the networks).

    Attributes
    ----------
    obs, next_obs : (capacity, obs_dim) arrays;  actions : (capacity,) int64;
    rewards : (capacity,);  terminated, truncated : (capacity,) bool;
    pos : int, the slot the next transition goes to;  full : bool, whether it has wrapped.
    """

    def __init__(self, capacity: int, obs_dim: int, dtype=np.float32) -> None:
        self.capacity = positive_int(capacity, "capacity")
        self.obs_dim = positive_int(obs_dim, "obs_dim")
        self.obs = np.zeros((self.capacity, self.obs_dim), dtype=dtype)
        self.next_obs = np.zeros((self.capacity, self.obs_dim), dtype=dtype)
        self.actions = np.zeros(self.capacity, dtype=np.int64)
        self.rewards = np.zeros(self.capacity, dtype=dtype)
        self.terminated = np.zeros(self.capacity, dtype=bool)
        self.truncated = np.zeros(self.capacity, dtype=bool)
        self.pos = 0
        self.full = False

    def __len__(self) -> int:
        return self.capacity if self.full else self.pos

    def add(self, obs, action, reward, next_obs, terminated, truncated) -> None:
        """Store one transition, overwriting the oldest once the buffer is full."""
        obs = np.asarray(obs).reshape(-1)
        next_obs = np.asarray(next_obs).reshape(-1)
        if obs.shape != (self.obs_dim,) or next_obs.shape != (self.obs_dim,):
            raise ValueError(f"ReplayBuffer.add: observations must have {self.obs_dim} values, "
                             f"got {obs.size} and {next_obs.size}")
        reward = real_number(reward, "reward")
        terminated = boolean(terminated, "terminated")
        truncated = boolean(truncated, "truncated")
        i = self.pos
        self.obs[i] = obs
        self.next_obs[i] = next_obs
        self.actions[i] = int(action)
        self.rewards[i] = reward
        self.terminated[i] = terminated
        self.truncated[i] = truncated
        self.pos = (i + 1) % self.capacity
        self.full = self.full or self.pos == 0

    def sample(self, batch_size: int, rng: np.random.Generator) -> Transitions:
        """``batch_size`` transitions drawn uniformly, with replacement, with ``rng``."""
        batch_size = positive_int(batch_size, "batch_size")
        if len(self) == 0:
            raise ValueError("ReplayBuffer.sample: the buffer is empty")
        index = rng.integers(0, len(self), size=batch_size)
        return Transitions(self.obs[index], self.actions[index], self.rewards[index],
                           self.next_obs[index], self.terminated[index], self.truncated[index])
