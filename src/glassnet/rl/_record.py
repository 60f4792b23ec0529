"""The record of a learning run: every episode's return and every update's numbers, in view.

``Agent.learn`` returns it (``agent.record`` keeps it across calls); ``glassnet.plot.learning_curve``
draws it. When an agent does not learn, the answer is usually here: returns flat at a random
policy's level, entropy collapsing to 0 early (the policy stopped exploring), a gradient norm that
explodes or vanishes, epsilon still high (DQN), a clip fraction near 1 (PPO: steps too large).
"""

from __future__ import annotations

import math

import numpy as np

from glassnet._checks import integer, positive_int, real_number

__all__ = ["Record"]

# The per-update numbers with a list of their own; any other name logged is a loss.
UPDATE_FIELDS = ("entropy", "grad_norm", "epsilon", "clip_fraction")


class Record:
    """Episodes and updates of an agent's learning, as plain Python lists.

    Attributes
    ----------
    episode_returns, episode_lengths : list of float / int
        One entry per finished episode (the undiscounted sum of rewards, the number of steps).
    episode_timesteps : list of int
        The agent's step count when each episode ended: the x axis of a learning curve.
    timesteps : list of int
        The step count at each update.
    losses : dict of str -> list of float
        Each loss the agent logs (``"policy"``, ``"value"``, ``"loss"``...), one entry per update.
    entropy, grad_norm, epsilon, clip_fraction : list of float
        Per update, where the agent logs them (epsilon: DQN; clip_fraction: PPO).

    Example
    -------
    >>> from glassnet.rl import Record
    >>> record = Record()
    >>> record.log_episode(20, 20.0, 20)
    >>> record.log_episode(50, 30.0, 30)
    >>> record.log_update(50, policy=0.5, entropy=0.69)
    >>> record.mean_return(), record.losses, record.entropy
    (25.0, {'policy': [0.5]}, [0.69])
    >>> record.timestep_reaching(25.0, window=2)
    50
    """

    def __init__(self) -> None:
        self.episode_returns: list[float] = []
        self.episode_lengths: list[int] = []
        self.episode_timesteps: list[int] = []
        self.timesteps: list[int] = []
        self.losses: dict[str, list[float]] = {}
        self.entropy: list[float] = []
        self.grad_norm: list[float] = []
        self.epsilon: list[float] = []
        self.clip_fraction: list[float] = []

    def log_episode(self, timestep: int, episode_return: float, length: int) -> None:
        """One finished episode: the step count at its end, its return and its length."""
        self.episode_timesteps.append(integer(timestep, "timestep", minimum=0))
        self.episode_returns.append(real_number(episode_return, "episode_return"))
        self.episode_lengths.append(positive_int(length, "length"))

    def log_update(self, timestep: int, **values: float) -> None:
        """One update at step ``timestep``: ``entropy=``, ``grad_norm=``, ``epsilon=``,
        ``clip_fraction=`` go to their lists, any other name to ``losses[name]``."""
        checked = {name: real_number(value, name) for name, value in values.items()}
        self.timesteps.append(integer(timestep, "timestep", minimum=0))
        for name, value in checked.items():
            target = getattr(self, name) if name in UPDATE_FIELDS else self.losses.setdefault(name, [])
            target.append(value)

    @property
    def n_episodes(self) -> int:
        return len(self.episode_returns)

    def mean_return(self, last: int = 100) -> float:
        """The mean return of the last ``last`` episodes (fewer if fewer ended; NaN if none)."""
        last = positive_int(last, "last")
        recent = self.episode_returns[-last:]
        return float(np.mean(recent)) if recent else math.nan

    def rolling_mean(self, window: int = 100) -> np.ndarray:
        """The mean return of each episode and the ``window - 1`` before it (fewer at the start),
        shape ``(n_episodes,)``."""
        window = positive_int(window, "window")
        returns = np.asarray(self.episode_returns, dtype=np.float64)
        sums = np.cumsum(returns)
        before = np.concatenate([np.zeros(min(window, len(returns))), sums[:-window]]) if len(returns) else sums
        counts = np.minimum(np.arange(1, len(returns) + 1), window)
        return (sums - before) / counts

    def timestep_reaching(self, threshold: float, window: int = 100) -> int | None:
        """The step count at the first episode where the mean return of the last ``window``
        episodes (a full window) is at least ``threshold``; None if it never was."""
        threshold = real_number(threshold, "threshold")
        window = positive_int(window, "window")
        means = self.rolling_mean(window)
        reached = np.flatnonzero(means[window - 1:] >= threshold)
        return self.episode_timesteps[int(reached[0]) + window - 1] if reached.size else None

    def __repr__(self) -> str:
        mean = self.mean_return()
        return (f"Record(episodes={self.n_episodes}, updates={len(self.timesteps)}, "
                f"mean return (last 100)={mean:.1f})")
