"""REINFORCE: the course-level policy gradient, with a learned baseline and an entropy bonus.

The agent plays whole episodes with its stochastic policy pi(a | s) (a ``Categorical`` over the
actions, from a network's logits), then moves the policy's parameters theta along

    grad J(theta) ~ mean over the steps t of  grad log pi(a_t | s_t) * (G_t - V(s_t))

where G_t is the discounted return from step t (``returns_to_go``: a time-limit truncation
bootstraps from V of the final observation, a termination does not) and V(s_t) a value network,
the baseline: subtracting it leaves the gradient's expectation unchanged and cuts its variance.
The value network learns by regression, 0.5 * (G_t - V(s_t))^2. An entropy bonus, ent_coef * H(pi),
keeps the policy from collapsing onto one action too early. One update per
``episodes_per_update`` episodes, one gradient step:

    loss = -mean(log pi(a_t | s_t) * A_t) + vf_coef * mean(0.5 * (G_t - V(s_t))^2) - ent_coef * mean(H)

with A_t = G_t - V(s_t) standardized over the update's steps when ``normalize_advantage``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassnet import optim
from glassnet._checks import boolean, non_negative_number, positive_int
from glassnet.distributions import Categorical
from glassnet.tensor import Tensor, no_grad

from ._base import Agent, mlp
from .returns import returns_to_go

__all__ = ["REINFORCE"]


class REINFORCE(Agent):
    """REINFORCE with a value baseline (Williams, 1992; Sutton & Barto, ch. 13.4) for a discrete
    action space (``gymnasium.spaces.Discrete``) and a 1-D Box observation space.

    Parameters
    ----------
    env : gymnasium.Env
        One environment (not a vector one).
    learning_rate : float or schedule
        Adam's step size for both networks; a schedule is f(progress_remaining).
    gamma : float in [0, 1]
        The discount factor of the returns.
    ent_coef : float >= 0
        The weight of the entropy bonus.
    vf_coef : float >= 0
        The weight of the value network's loss.
    episodes_per_update : int >= 1
        Episodes played per gradient step (their steps form one batch).
    normalize_advantage : bool
        Standardize G_t - V(s_t) over each update's steps (mean 0, std 1).
    policy_kwargs : dict, optional
        ``net_arch`` (list, or dict(pi=[...], vf=[...])) and ``activation_fn`` ("tanh" / "relu").
    seed : int
        Seeds the weights, the sampled actions and the environment's first reset.

    Example
    -------
    >>> import gymnasium as gym
    >>> from glassnet.rl import REINFORCE
    >>> agent = REINFORCE(gym.make("CartPole-v1"), seed=0)
    >>> record = agent.learn(2_000, progress=False)
    >>> record.n_episodes > 0, agent.num_timesteps
    (True, 2000)
    >>> action, _ = agent.predict([0.0, 0.0, 0.0, 0.0])
    >>> int(action) in (0, 1)
    True
    """

    _action_spaces = ("Discrete",)
    _hyperparameters = ("learning_rate", "gamma", "ent_coef", "vf_coef", "episodes_per_update",
                        "normalize_advantage", "policy_kwargs")

    def __init__(self, env: Any, learning_rate: Any = 1e-3, gamma: float = 0.99, ent_coef: float = 0.0,
                 vf_coef: float = 0.5, episodes_per_update: int = 1, normalize_advantage: bool = True,
                 policy_kwargs: dict | None = None, seed: int = 0, verbose: int = 0) -> None:
        self.ent_coef = non_negative_number(ent_coef, "ent_coef")
        self.vf_coef = non_negative_number(vf_coef, "vf_coef")
        self.episodes_per_update = positive_int(episodes_per_update, "episodes_per_update")
        self.normalize_advantage = boolean(normalize_advantage, "normalize_advantage")
        super().__init__(env, learning_rate=learning_rate, gamma=gamma, policy_kwargs=policy_kwargs,
                         seed=seed, verbose=verbose)

    def _build(self) -> None:
        n_actions = int(self.action_space.n)
        self.policy = mlp(self.obs_dim, n_actions, self.net["pi"], self.net["activation"], self.rng)
        self.value = mlp(self.obs_dim, 1, self.net["vf"], self.net["activation"], self.rng)
        self.networks = {"policy": self.policy, "value": self.value}
        # lr=1.0 is a placeholder: the schedule sets the step size before every update
        self.optimizer = optim.Adam([*self.policy.parameters(), *self.value.parameters()], lr=1.0)

    def _act(self, observations: np.ndarray, deterministic: bool) -> np.ndarray:
        with no_grad():
            logits = self.policy(Tensor(observations)).numpy()
        if deterministic:
            return logits.argmax(axis=-1)
        return sample_categorical(logits, self.rng)

    def _learn(self, total_timesteps: int) -> None:
        batch = _Batch()
        obs = self._reset()
        while self._running():
            action = int(self._act(obs[None], deterministic=False)[0])
            next_obs, reward, terminated, truncated, _ = self._step(action)
            batch.add(obs, action, float(reward), bool(terminated), bool(truncated))
            obs = next_obs
            if terminated or truncated:
                if truncated and not terminated:   # a time limit: the return goes on past it
                    with no_grad():
                        batch.bootstrap[-1] = float(self.value(Tensor(next_obs[None])).numpy()[0, 0])
                batch.episodes += 1
                if batch.episodes == self.episodes_per_update:
                    self._update(batch)
                    batch = _Batch()
                obs = self._reset()
        # the steps of an unfinished episode are dropped: REINFORCE learns from whole episodes

    def _update(self, batch: _Batch) -> None:
        observations = Tensor(np.asarray(batch.observations, dtype=np.float32))
        actions = np.asarray(batch.actions)
        returns = returns_to_go(batch.rewards, self.gamma, batch.terminated, batch.truncated,
                                last_value=batch.bootstrap)
        distribution = Categorical(logits=self.policy(observations))
        values = self.value(observations).reshape(-1)
        advantages = returns - values.numpy()                  # the baseline carries no gradient here
        if self.normalize_advantage and len(advantages) > 1:
            advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
        log_probs = distribution.log_prob(actions)
        policy_loss = -(log_probs * Tensor(advantages.astype(np.float32))).mean()
        value_loss = (0.5 * (Tensor(returns.astype(np.float32)) - values) ** 2).mean()
        entropy = distribution.entropy().mean()
        loss = policy_loss + self.vf_coef * value_loss - self.ent_coef * entropy

        self.optimizer.zero_grad()
        loss.backward()
        grad_norm = self._optimizer_step(self.optimizer)
        self.record.log_update(self.num_timesteps, policy=float(policy_loss.numpy()),
                               value=float(value_loss.numpy()), entropy=float(entropy.numpy()),
                               grad_norm=grad_norm)


def sample_categorical(logits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One action per row of ``logits`` (n, n_actions), drawn from softmax(logits) by the inverse
    CDF as ``Categorical.sample`` draws it. Acting needs no gradient, and a step's few microseconds
    matter over a run of 100,000: the draw is done in NumPy, without building Tensors."""
    probs = np.exp(logits - logits.max(axis=-1, keepdims=True))   # the max subtracted: exp cannot overflow
    cdf = np.cumsum(probs, axis=-1)
    cdf /= cdf[:, -1:]
    u = rng.random(len(logits))[:, None]
    return np.minimum((cdf <= u).sum(axis=-1), logits.shape[-1] - 1)


class _Batch:
    """The steps of the episodes since the last update, in time order."""

    def __init__(self) -> None:
        self.observations: list[np.ndarray] = []
        self.actions: list[int] = []
        self.rewards: list[float] = []
        self.terminated: list[bool] = []
        self.truncated: list[bool] = []
        self.bootstrap: list[float] = []       # V(final observation) at a truncated step, else 0
        self.episodes = 0

    def add(self, obs: np.ndarray, action: int, reward: float, terminated: bool, truncated: bool) -> None:
        self.observations.append(obs)
        self.actions.append(action)
        self.rewards.append(reward)
        self.terminated.append(terminated)
        self.truncated.append(truncated)
        self.bootstrap.append(0.0)
