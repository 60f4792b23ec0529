"""Reinforcement learning: agents that learn from rewards, on Gymnasium's environments.

Stable-Baselines3's shape, glass-box inside::

    import gymnasium as gym
    from glassnet.rl import REINFORCE, evaluate_policy

    agent = REINFORCE(gym.make("CartPole-v1"), learning_rate=1e-3, seed=0)
    record = agent.learn(total_timesteps=100_000)        # episode returns, losses, entropy...
    mean, std = evaluate_policy(agent, gym.make("CartPole-v1"), n_eval_episodes=100)

Every agent takes ``(env, **hyperparameters, seed=0)`` with Stable-Baselines3's hyperparameter
names, learns with ``learn(total_timesteps, callback=None, progress=True)`` (a ``Record``),
acts with ``predict(obs, deterministic=True) -> (action, None)``, and is saved with ``save(path)``
(safetensors + JSON, never pickle) and read back with ``load(path, env=None)``. gymnasium is an
optional dependency (``pip install glassnet[rl]``), imported when an agent is made.
"""

from __future__ import annotations

from typing import Any

from ._base import Agent
from ._record import Record
from .dqn import DQN
from .evaluation import evaluate_policy
from .ppo import PPO
from .reinforce import REINFORCE
from .returns import gae, returns_to_go

__all__ = ["DQN", "PPO", "REINFORCE", "Agent", "Record", "evaluate_policy", "gae", "load", "returns_to_go"]


def load(path: Any, env: Any = None) -> Agent:
    """The agent (REINFORCE, DQN or PPO) saved by ``agent.save(path)``, with ``env`` as its
    environment (needed to ``learn`` further; ``predict`` works without one). Raises
    ``glassnet.io.ModelFileError`` for a file that is not a glassnet agent, a class that is not
    one of glassnet's agents, invalid hyperparameters or weights that do not fit them.

    Example
    -------
    >>> import os, tempfile, gymnasium as gym
    >>> from glassnet import rl
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = os.path.join(folder.name, "agent.safetensors")
    >>> rl.REINFORCE(gym.make("CartPole-v1"), learning_rate=2e-3, seed=3).save(path)
    >>> agent = rl.load(path)
    >>> type(agent).__name__, agent.learning_rate, agent.seed
    ('REINFORCE', 0.002, 3)
    >>> folder.cleanup()
    """
    from ._saving import load_agent
    return load_agent(path, env)
