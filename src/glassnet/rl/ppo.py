"""Proximal Policy Optimization (Schulman et al. 2017), as Stable-Baselines3's ``PPO``: the same
hyperparameter names and defaults, so the RL Baselines3 Zoo's settings can be used as they are.

One update:

1. roll out the current policy for ``n_steps`` steps in each of the ``n_envs`` environments,
   keeping s, a, r, log pi_old(a | s), V(s), terminated and truncated;
2. advantages by GAE(gamma, lambda) (``returns.gae``): a terminated episode has no future, a
   truncated one bootstraps from V(final observation); value targets R = A + V(s);
3. ``n_epochs`` passes over the rollout in shuffled minibatches of ``batch_size``, each a step of
   Adam (eps 1e-5) on
       loss = L_clip + ent_coef * (-H) + vf_coef * mean((R - V(s))^2)
   with the clipped surrogate (``clipped_surrogate``), the advantages normalized per minibatch,
   and all gradients clipped together to norm ``max_grad_norm``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import optim
from .._checks import boolean, non_negative_number, number_in_range, positive_int
from ..ops import minimum
from ..tensor import Tensor, no_grad
from ._actor_critic import ActorCritic
from ._base import Agent, get_schedule, schedule_value
from ._vec_stepper import EnvStepper
from .returns import gae

__all__ = ["PPO", "clipped_surrogate", "normalize_advantages"]


def clipped_surrogate(log_prob: Tensor, old_log_prob: np.ndarray, advantages: np.ndarray,
                      clip_range: float) -> tuple[Tensor, float]:
    """PPO's clipped surrogate loss and the fraction of samples whose ratio was clipped.

        ratio = pi(a | s) / pi_old(a | s) = exp(log pi(a | s) - log pi_old(a | s))
        L_clip = -mean( min(ratio * A, clip(ratio, 1 - eps, 1 + eps) * A) )

    The min makes the objective a pessimistic bound: once the ratio has moved more than eps in the
    direction the advantage favours, the sample gives no more gradient.

    Shapes: ``log_prob`` (a Tensor with the graph), ``old_log_prob`` and ``advantages``: ``(batch,)``.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> from glassnet.rl.ppo import clipped_surrogate
    >>> log_prob = gn.Tensor(np.log([1.5, 0.5]), requires_grad=True)
    >>> loss, clipped = clipped_surrogate(log_prob, np.zeros(2), np.array([1.0, 1.0]), 0.2)
    >>> round(loss.item(), 4), clipped          # min(1.5, 1.2) = 1.2 and min(0.5, 0.8) = 0.5
    (-0.85, 1.0)
    >>> loss.backward(); log_prob.grad.round(4)  # the clipped sample gives no gradient
    array([-0.  , -0.25])
    """
    ratio = (log_prob - old_log_prob).exp()
    unclipped = ratio * advantages
    clipped = ratio.clip(1.0 - clip_range, 1.0 + clip_range) * advantages
    clip_fraction = float(np.mean(np.abs(ratio.data - 1.0) > clip_range))
    return -minimum(unclipped, clipped).mean(), clip_fraction


def normalize_advantages(advantages: np.ndarray) -> np.ndarray:
    """(A - mean(A)) / (std(A) + 1e-8), std with Bessel's correction as Stable-Baselines3's
    (``torch.std``); a single advantage is left as it is (its std is undefined).

    Example
    -------
    >>> import numpy as np
    >>> from glassnet.rl.ppo import normalize_advantages
    >>> normalize_advantages(np.array([1.0, 3.0])).round(4)
    array([-0.7071,  0.7071])
    """
    if len(advantages) < 2:
        return advantages
    return (advantages - advantages.mean()) / (advantages.std(ddof=1) + 1e-8)


class PPO(Agent):
    """Proximal Policy Optimization, discrete (``Categorical``) or continuous (``Normal``) actions.

    Parameters (Stable-Baselines3's names and defaults)
    ----------
    env : gymnasium.Env or gymnasium.vector.VectorEnv
        Observations a 1-D Box; actions Discrete or a 1-D Box (a continuous action is clipped to
        the Box when the environment is stepped; the unclipped draw is what is learned from).
    learning_rate : float or callable
        Adam's step size, or a schedule f(progress_remaining) (1 at the start of learn, 0 at its end).
    n_steps : int
        Steps per environment in each rollout: a rollout holds n_steps * n_envs transitions.
    batch_size, n_epochs : int
        Minibatch size, and passes over each rollout.
    gamma, gae_lambda : float in [0, 1]
        Discount and GAE's lambda.
    clip_range : float or callable
        eps of the clipped surrogate, or a schedule of it.
    ent_coef, vf_coef : float >= 0
        Weights of the entropy bonus and of the value loss.
    max_grad_norm : float > 0
        All gradients (actor, critic, log_std) are clipped together to this norm.
    normalize_advantage : bool
        Standardize the advantages in each minibatch.
    policy_kwargs : dict or None
        ``net_arch`` (a list for both networks, or ``dict(pi=[...], vf=[...])``; default
        [64, 64] each, separate networks) and ``activation_fn`` ("tanh", default, or "relu").
    seed : int
        Seeds the weights, the sampled actions, the minibatches and the environment's first reset.

    A Gymnasium vector environment in NEXT_STEP autoreset mode (``gymnasium.make_vec``'s default)
    spends one step per finished episode on resetting; that step is no transition: it is left out
    of the rollout's batch and of ``num_timesteps``.

    Example
    -------
    >>> import gymnasium as gym
    >>> from glassnet.rl import PPO
    >>> env = gym.make_vec("CartPole-v1", num_envs=2, vectorization_mode="sync")
    >>> agent = PPO(env, n_steps=64, batch_size=32, n_epochs=2, seed=0)
    >>> record = agent.learn(256, progress=False)
    >>> agent.num_timesteps >= 256, len(record.clip_fraction) == len(record.timesteps) >= 2   # one per rollout
    (True, True)
    >>> action, _ = agent.predict([0.0, 0.0, 0.0, 0.0])
    >>> int(action) in (0, 1)
    True
    """

    _action_spaces = ("Discrete", "Box")
    _vector_ok = True
    _hyperparameters = ("learning_rate", "n_steps", "batch_size", "n_epochs", "gamma", "gae_lambda",
                        "clip_range", "ent_coef", "vf_coef", "max_grad_norm", "normalize_advantage",
                        "policy_kwargs")

    def __init__(self, env: Any, learning_rate: Any = 3e-4, n_steps: int = 2048, batch_size: int = 64,
                 n_epochs: int = 10, gamma: float = 0.99, gae_lambda: float = 0.95, clip_range: Any = 0.2,
                 ent_coef: float = 0.0, vf_coef: float = 0.5, max_grad_norm: float = 0.5,
                 normalize_advantage: bool = True, policy_kwargs: dict | None = None, seed: int = 0,
                 verbose: int = 0) -> None:
        self.n_steps = positive_int(n_steps, "n_steps")
        self.batch_size = positive_int(batch_size, "batch_size")
        self.n_epochs = positive_int(n_epochs, "n_epochs")
        self.gae_lambda = number_in_range(gae_lambda, "gae_lambda", 0.0, 1.0)
        self.clip_schedule = get_schedule(clip_range, "clip_range")
        self.clip_range = clip_range
        self.ent_coef = non_negative_number(ent_coef, "ent_coef")
        self.vf_coef = non_negative_number(vf_coef, "vf_coef")
        self.max_grad_norm = number_in_range(max_grad_norm, "max_grad_norm", 0.0, include_low=False)
        self.normalize_advantage = boolean(normalize_advantage, "normalize_advantage")
        super().__init__(env, learning_rate=learning_rate, gamma=gamma, policy_kwargs=policy_kwargs,
                         seed=seed, verbose=verbose)

    def _build(self) -> None:
        self.continuous = not hasattr(self.action_space, "n")
        n_actions = int(self.action_space.shape[0]) if self.continuous else int(self.action_space.n)
        self.policy = ActorCritic(self.obs_dim, n_actions, self.continuous, self.net, self.rng)
        self.networks = {"policy": self.policy}
        # lr=1.0 is a placeholder: the schedule sets the step size before every step; eps as SB3's
        self.optimizer = optim.Adam(self.policy.parameters(), lr=1.0, eps=1e-5)
        self._obs: np.ndarray | None = None
        self._stepper: EnvStepper | None = None

    def _act(self, observations: np.ndarray, deterministic: bool) -> np.ndarray:
        with no_grad():
            actions = self.policy.act(observations, self.rng, deterministic)
        return self._env_actions(actions)

    def _env_actions(self, actions: np.ndarray) -> np.ndarray:
        """What the environment is stepped with: a Box action clipped to its bounds (as SB3)."""
        if self.continuous:
            return np.clip(actions, self.action_space.low, self.action_space.high).astype(self.action_space.dtype)
        return actions

    # ---- learning ----------------------------------------------------------------------------
    def _learn(self, total_timesteps: int) -> None:
        schedule_value(self.clip_schedule, 1.0, "clip_range")  # a failing schedule fails before any step
        if self._stepper is None or self._stepper.env is not self.env:
            self._stepper = EnvStepper(self.env, self._checked)
            self._obs = self._reset().reshape(self.n_envs, self.obs_dim)
        while self._running():
            rollout = self._collect_rollout()
            if rollout is None:  # the callback said stop
                return
            self._train(rollout)

    def _collect_rollout(self) -> dict[str, np.ndarray] | None:
        """n_steps steps in every environment with the current policy: the rollout's arrays, each
        with leading axes (n_steps, n_envs), or None when the callback stopped learning."""
        stepper = self._stepper
        assert stepper is not None  # _learn made it
        n, m = self.n_steps, self.n_envs
        roll: dict[str, np.ndarray] = dict(obs=np.zeros((n, m, self.obs_dim), np.float32), values=np.zeros((n, m)),
                    log_probs=np.zeros((n, m)), rewards=np.zeros((n, m)), terminated=np.zeros((n, m), bool),
                    truncated=np.zeros((n, m), bool), valid=np.zeros((n, m), bool),
                    final_values=np.full((n, m), np.nan))
        actions = []
        for t in range(n):
            with no_grad():
                dist = self.policy.distribution(self._obs)
                action = dist.sample(rng=self.rng).numpy()
                action = action if self.continuous else action.astype(np.int64)
                log_prob = self.policy.log_prob_entropy(dist, action)[0].numpy()
                roll["values"][t] = self.policy.value(self._obs).numpy()
            roll["obs"][t], roll["log_probs"][t] = self._obs, log_prob
            actions.append(action)
            obs, rewards, terminated, truncated, final_obs, valid = self._env_step(stepper, action)
            roll["rewards"][t], roll["terminated"][t], roll["truncated"][t], roll["valid"][t] = (
                rewards, terminated, truncated, valid)
            boot = truncated & valid
            if stepper.mode == "same_step" and boot.any():
                # the environment has been reset already: bootstrap from the final observation's value
                with no_grad():
                    roll["final_values"][t, boot] = self.policy.value(final_obs[boot]).numpy()
            self._obs = obs
            if self._stopped:
                return None
        roll["actions"] = np.stack(actions)
        with no_grad():
            last_values = self.policy.value(self._obs).numpy()
        # V(s_{t+1}) is the next row's value (under NEXT_STEP the final observation is that next
        # row), or the final observation's where the environment was reset in the same step
        next_values = np.concatenate([roll["values"][1:], last_values[None]])
        next_values = np.where(np.isnan(roll["final_values"]), next_values, roll["final_values"])
        roll["advantages"], roll["returns"] = gae(roll["rewards"], roll["values"], next_values, roll["terminated"],
                                                  roll["truncated"], self.gamma, self.gae_lambda)
        return roll

    def _env_step(self, stepper: EnvStepper, actions: np.ndarray) -> tuple:
        """Agent._step for a batch of environments with NEXT_STEP's reset steps left out: counts the
        real transitions, logs the episodes that end, updates the progress line, calls the callback."""
        obs, rewards, terminated, truncated, final_obs, valid = stepper.step(self._env_actions(actions))
        self._count_step(rewards, terminated | truncated, valid)
        self._ask_callback(locals())
        return obs, rewards, terminated, truncated, final_obs, valid

    def _train(self, roll: dict) -> None:
        """n_epochs passes of shuffled minibatches over the rollout's real transitions."""
        clip_range = schedule_value(self.clip_schedule, self.progress_remaining, "clip_range")
        keep = roll.pop("valid").reshape(-1)
        roll.pop("final_values")
        flat = {key: value.reshape(len(keep), *value.shape[2:])[keep] for key, value in roll.items()}
        size = int(keep.sum())
        logs: dict[str, list[float]] = {}
        for _ in range(self.n_epochs):
            order = self.rng.permutation(size)
            for start in range(0, size, self.batch_size):
                index = order[start:start + self.batch_size]
                for name, value in self._minibatch_step({k: v[index] for k, v in flat.items()}, clip_range).items():
                    logs.setdefault(name, []).append(value)
        means = {name: float(np.mean(values)) for name, values in logs.items()}
        variance = np.var(flat["returns"])
        explained = 1.0 - np.var(flat["returns"] - flat["values"]) / variance if variance > 0 else 0.0
        self.record.log_update(self.num_timesteps, **means, explained_variance=float(explained),
                               learning_rate=schedule_value(self.lr_schedule, self.progress_remaining),
                               clip_range=clip_range)

    def _minibatch_step(self, batch: dict, clip_range: float) -> dict[str, float]:
        """One Adam step on PPO's loss for one minibatch; the numbers the record keeps."""
        dist = self.policy.distribution(batch["obs"])
        log_prob, entropy = self.policy.log_prob_entropy(dist, batch["actions"])
        values = self.policy.value(batch["obs"])
        advantages = batch["advantages"]
        if self.normalize_advantage:
            advantages = normalize_advantages(advantages)
        policy_loss, clip_fraction = clipped_surrogate(log_prob, batch["log_probs"].astype(np.float32),
                                                       advantages.astype(np.float32), clip_range)
        value_loss = ((values - batch["returns"].astype(np.float32)) ** 2).mean()  # SB3: no value clipping
        entropy_loss = -entropy.mean()
        loss = policy_loss + self.ent_coef * entropy_loss + self.vf_coef * value_loss
        self.optimizer.zero_grad()
        loss.backward()
        grad_norm = self._optimizer_step(self.optimizer, self.max_grad_norm)
        log_ratio = log_prob.data - batch["log_probs"]
        # KL(old || new) estimated as mean((r - 1) - log r), as SB3's approx_kl: >= 0, unbiased
        return dict(policy=policy_loss.item(), value=value_loss.item(), entropy=-entropy_loss.item(),
                    clip_fraction=clip_fraction, grad_norm=grad_norm,
                    approx_kl=float(np.mean(np.expm1(log_ratio) - log_ratio)))
