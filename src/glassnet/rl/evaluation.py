"""``evaluate_policy``: an agent's mean return over whole episodes, Stable-Baselines3's function."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from glassnet._checks import boolean, integer, positive_int, real_number

from ._base import Agent

__all__ = ["evaluate_policy"]


def evaluate_policy(model: Agent, env: Any, n_eval_episodes: int = 100, deterministic: bool = True,
                    render: bool = False, callback: Callable[[dict, dict], None] | None = None,
                    reward_threshold: float | None = None, return_episode_rewards: bool = False,
                    seed: int | None = None) -> tuple[float, float] | tuple[list[float], list[int]]:
    """Run ``n_eval_episodes`` whole episodes with the agent's ``predict`` and score them.

    Stable-Baselines3's signature and return (less its ``warn``, about its Monitor wrapper):
    ``(mean, std)`` of the episode returns, or with ``return_episode_rewards=True`` the lists
    ``(episode_returns, episode_lengths)``. ``seed`` seeds the first reset (then each episode
    continues the environment's generator), so that two agents can be scored on the same
    episodes. ``callback(locals, globals)`` is called after each step. With ``reward_threshold``,
    a mean return below it raises RuntimeError (Stable-Baselines3 asserts). A single environment
    (``gymnasium.Env``) is taken, with the agent's spaces. The agent's learning is not touched;
    with ``deterministic=False`` its actions are drawn from ``model.rng``.

    Example
    -------
    >>> import gymnasium as gym
    >>> from glassnet.rl import REINFORCE, evaluate_policy
    >>> agent = REINFORCE(gym.make("CartPole-v1"), seed=0)
    >>> mean, std = evaluate_policy(agent, gym.make("CartPole-v1"), n_eval_episodes=5, seed=0)
    >>> 0 < mean <= 500
    True
    """
    from ._base import same_spaces  # (the agent's spaces; a clear error for another environment)

    if not isinstance(model, Agent):
        raise TypeError(f"evaluate_policy: model must be a glassnet.rl agent, got {type(model).__name__}")
    n_eval_episodes = positive_int(n_eval_episodes, "n_eval_episodes")
    deterministic = boolean(deterministic, "deterministic")
    render = boolean(render, "render")
    return_episode_rewards = boolean(return_episode_rewards, "return_episode_rewards")
    seed = integer(seed, "seed", minimum=0, allow_none=True)
    if reward_threshold is not None:
        reward_threshold = real_number(reward_threshold, "reward_threshold")
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be a callable or None, got {type(callback).__name__}")
    if hasattr(env, "num_envs"):
        raise ValueError("evaluate_policy takes a single environment (gymnasium.Env), got a vector environment")
    same_spaces(model, env)

    returns: list[float] = []
    lengths: list[int] = []
    obs, _ = env.reset(seed=seed)
    total, length = 0.0, 0
    while len(returns) < n_eval_episodes:
        action, _ = model.predict(obs, deterministic=deterministic)
        obs, reward, terminated, truncated, _ = env.step(action)
        total, length = total + float(reward), length + 1
        if callback is not None:
            callback(locals(), globals())
        if render:
            env.render()
        if terminated or truncated:
            returns.append(total)
            lengths.append(length)
            total, length = 0.0, 0
            obs, _ = env.reset()
    if return_episode_rewards:
        return returns, lengths
    mean, std = float(np.mean(returns)), float(np.std(returns))
    if reward_threshold is not None and mean < reward_threshold:
        raise RuntimeError(f"evaluate_policy: mean return {mean:.2f} is below the threshold {reward_threshold:.2f}")
    return mean, std

