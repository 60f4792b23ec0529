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

from .. import losses, nn, optim
from .._checks import non_negative_int, number_in_range, positive_int, positive_number
from ..tensor import Tensor, no_grad
from ._base import Agent, mlp, schedule_value
from .buffers import ReplayBuffer

__all__ = ["DQN", "dqn_loss", "dqn_targets", "gradient_step", "linear_schedule", "torch_default_init"]


def linear_schedule(initial: float, final: float, fraction: float) -> Callable[[float], float]:
    """Stable-Baselines3's ``get_linear_fn``: a function of the remaining progress p (1 -> 0)::

        progress = 1 - p
        value = initial + progress * (final - initial) / fraction   while progress <= fraction
        value = final                                                 after

    >>> from glassnet.rl.dqn import linear_schedule
    >>> eps = linear_schedule(1.0, 0.05, 0.1)
    >>> eps(1.0), round(eps(0.95), 6), eps(0.5), eps(0.0)
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

    >>> from glassnet.rl.dqn import dqn_targets
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


def gradient_step(q_net, target_net, optimizer, batch, gamma: float, max_grad_norm: float,
                  learning_rate: float | None = None) -> tuple[float, float]:
    """One update: loss, backward, clip the gradients' joint norm to ``max_grad_norm``, optimizer
    step (at ``learning_rate`` when given, e.g. a schedule's value now; a rate of 0 skips the step).
    Returns (loss value, gradient norm before clipping)."""
    loss = dqn_loss(q_net, target_net, batch, gamma)
    optimizer.zero_grad()
    loss.backward()
    grad_norm = optim.clip_grad_norm(q_net.parameters(), max_grad_norm)
    if learning_rate is not None:
        for group in optimizer.param_groups:
            group["lr"] = learning_rate
    if learning_rate != 0:
        optimizer.step()
    return float(loss.data), grad_norm


def torch_default_init(net, rng: np.random.Generator):
    """Re-draw every Linear's W and b from U(-1/sqrt(fan_in), 1/sqrt(fan_in)), PyTorch's default
    for ``nn.Linear``, which Stable-Baselines3's DQN keeps (its PPO re-initializes orthogonally).
    Smaller than glassnet's defaults (He, sqrt(6 / fan_in), for ReLU layers; Xavier for the
    output): the initial Q-values start nearer 0. Returns ``net``.

    >>> import numpy as np
    >>> from glassnet.rl._base import mlp
    >>> from glassnet.rl.dqn import torch_default_init
    >>> net = torch_default_init(mlp(4, 2, [256], "relu", np.random.default_rng(0)), np.random.default_rng(0))
    >>> bool(np.abs(net[2].weight.data).max() <= 1 / 16), bool(np.any(net[0].bias.data != 0))
    (True, True)
    """
    for layer in net:
        if isinstance(layer, nn.Linear):
            bound = 1.0 / np.sqrt(layer.in_features)
            layer.weight.data[...] = rng.uniform(-bound, bound, layer.weight.shape)
            if layer.bias is not None:
                layer.bias.data[...] = rng.uniform(-bound, bound, layer.bias.shape)
    return net


class DQN(Agent):
    """Deep Q-network agent for discrete actions (Stable-Baselines3's ``DQN``, its names and defaults).

    Each step: an epsilon-greedy action (uniformly random for the first ``learning_starts``
    steps), the transition into the replay buffer, the target network refreshed every
    ``target_update_interval`` steps; every ``train_freq`` steps (after ``learning_starts``),
    ``gradient_steps`` updates on batches of ``batch_size`` (:func:`gradient_step`).

    Parameters
    ----------
    env : gymnasium.Env
        One environment with a 1-D Box observation space and a Discrete action space.
    learning_rate : float or callable
        Adam's step size, or a schedule f(progress_remaining) -> value (1 -> 0 over ``learn``).
    buffer_size : int
        Capacity of the replay buffer.
    learning_starts : int
        Steps of uniformly random actions before the first update.
    batch_size : int
        Transitions per gradient step.
    gamma : float
        Discount factor in [0, 1].
    train_freq : int
        Environment steps between two rounds of updates.
    gradient_steps : int
        Gradient steps in each round.
    target_update_interval : int
        Environment steps between two copies of the Q-network into the target network.
    exploration_fraction, exploration_initial_eps, exploration_final_eps : float
        Epsilon falls linearly from the initial to the final value over this fraction of
        ``total_timesteps`` (see :func:`linear_schedule`).
    max_grad_norm : float
        The gradients' joint norm is clipped to this before each step.
    policy_kwargs : dict, optional
        ``net_arch`` (hidden widths, default [64, 64]) and ``activation_fn`` (default "relu").
    seed : int
        Seeds the networks, the buffer's sampling, exploration and the environment.

    Attributes
    ----------
    q_net, q_net_target : nn.Sequential, observations (batch, obs_dim) -> Q-values (batch, n_actions)
    replay_buffer : ReplayBuffer;  optimizer : optim.Adam;  exploration_rate : float, epsilon now

    Example
    -------
    >>> import gymnasium as gym
    >>> from glassnet.rl import DQN
    >>> agent = DQN(gym.make("CartPole-v1"), learning_starts=50, seed=0)
    >>> record = agent.learn(200, progress=False)
    >>> len(agent.replay_buffer), len(record.epsilon) > 0
    (200, True)
    >>> agent.predict([0.0, 0.0, 0.0, 0.0])[0] in (0, 1)
    True
    """

    _action_spaces = ("Discrete",)
    _vector_ok = False
    _hyperparameters = ("learning_rate", "buffer_size", "learning_starts", "batch_size", "gamma",
                        "train_freq", "gradient_steps", "target_update_interval", "exploration_fraction",
                        "exploration_initial_eps", "exploration_final_eps", "max_grad_norm", "policy_kwargs")

    def __init__(self, env, learning_rate=1e-4, buffer_size: int = 1_000_000, learning_starts: int = 100,
                 batch_size: int = 32, gamma: float = 0.99, train_freq: int = 4, gradient_steps: int = 1,
                 target_update_interval: int = 10_000, exploration_fraction: float = 0.1,
                 exploration_initial_eps: float = 1.0, exploration_final_eps: float = 0.05,
                 max_grad_norm: float = 10, policy_kwargs=None, seed: int = 0, verbose: int = 0) -> None:
        # DQN's own checks come first: nothing is built before every argument passed
        self.buffer_size = positive_int(buffer_size, "buffer_size")
        self.learning_starts = non_negative_int(learning_starts, "learning_starts")
        self.batch_size = positive_int(batch_size, "batch_size")
        self.train_freq = positive_int(train_freq, "train_freq")
        self.gradient_steps = positive_int(gradient_steps, "gradient_steps")
        self.target_update_interval = positive_int(target_update_interval, "target_update_interval")
        self.exploration_fraction = number_in_range(exploration_fraction, "exploration_fraction", 0.0, 1.0,
                                                    include_low=False)
        self.exploration_initial_eps = number_in_range(exploration_initial_eps, "exploration_initial_eps",
                                                       0.0, 1.0)
        self.exploration_final_eps = number_in_range(exploration_final_eps, "exploration_final_eps", 0.0, 1.0)
        self.max_grad_norm = positive_number(max_grad_norm, "max_grad_norm")
        self.exploration_schedule = linear_schedule(self.exploration_initial_eps, self.exploration_final_eps,
                                                    self.exploration_fraction)
        self.exploration_rate = self.exploration_initial_eps
        super().__init__(env, learning_rate=learning_rate, gamma=gamma, policy_kwargs=policy_kwargs,
                         seed=seed, verbose=verbose)

    def _default_network(self) -> tuple[tuple[int, ...], str]:
        return (64, 64), "relu"            # SB3's DQN MlpPolicy

    def _build(self) -> None:
        n_actions, arch, activation = int(self.action_space.n), self.net["vf"], self.net["activation"]
        self.q_net = torch_default_init(mlp(self.obs_dim, n_actions, arch, activation, self.rng), self.rng)
        self.q_net_target = mlp(self.obs_dim, n_actions, arch, activation, self.rng)
        self.q_net_target.load_state_dict(self.q_net.state_dict())
        self.networks = {"q_net": self.q_net, "q_net_target": self.q_net_target}
        # lr=1.0 is a placeholder: each update sets the schedule's value
        self.optimizer = optim.Adam(self.q_net.parameters(), lr=1.0)
        self.replay_buffer = ReplayBuffer(self.buffer_size, self.obs_dim)

    def _act(self, observations: np.ndarray, deterministic: bool) -> np.ndarray:
        """Greedy actions (n,) for observations (n, obs_dim); with ``deterministic=False`` each is
        replaced by a random one with probability ``exploration_rate``, as SB3's ``predict``."""
        with no_grad():
            actions = self.q_net(observations).data.argmax(axis=1)
        if not deterministic:
            explore = self.rng.random(len(actions)) < self.exploration_rate
            actions = np.where(explore, self.rng.integers(0, self.action_space.n, len(actions)), actions)
        return actions

    def _learn(self, total_timesteps: int) -> None:
        obs = self._reset()
        steps = 0
        while self._running():
            self.exploration_rate = self.exploration_schedule(self.progress_remaining)
            if self.num_timesteps < self.learning_starts or self.rng.random() < self.exploration_rate:
                action = int(self.rng.integers(self.action_space.n))
            else:
                action = int(self._act(obs[None], deterministic=True)[0])
            next_obs, reward, terminated, truncated, _ = self._step(action)
            # next_obs is the episode's last observation even when it ended: a truncated
            # transition bootstraps from it
            self.replay_buffer.add(obs, action, float(reward), next_obs, bool(terminated), bool(truncated))
            obs = self._reset() if terminated or truncated else next_obs
            steps += 1
            if self.num_timesteps % self.target_update_interval == 0:
                self.q_net_target.load_state_dict(self.q_net.state_dict())
            if steps % self.train_freq == 0 and self.num_timesteps > self.learning_starts:
                self._train()

    def _train(self) -> None:
        """``gradient_steps`` updates; logs their mean loss and gradient norm, and epsilon."""
        learning_rate = schedule_value(self.lr_schedule, self.progress_remaining)
        values = [gradient_step(self.q_net, self.q_net_target, self.optimizer,
                                self.replay_buffer.sample(self.batch_size, self.rng), self.gamma,
                                self.max_grad_norm, learning_rate) for _ in range(self.gradient_steps)]
        loss, grad_norm = np.mean(values, axis=0)
        self.record.log_update(self.num_timesteps, loss=float(loss), grad_norm=float(grad_norm),
                               epsilon=self.exploration_rate)
