"""What the agents share: the checks, the seeding, the learn loop's frame, predict, save.

An agent is made as in Stable-Baselines3, ``Agent(env, **hyperparameters, seed=0)``, with the
same hyperparameter names, and learns with ``agent.learn(total_timesteps)``. Each agent class
(``REINFORCE``, ``DQN``, ``PPO``) builds its networks in ``_build`` and learns in ``_learn``; the
environment is touched only through ``_reset`` and ``_step``, which check every observation, count
the steps, log the finished episodes in the ``Record``, update the progress line and call the
user's callback.

Seeding: one ``numpy.random.Generator`` per agent, ``default_rng(seed)``, draws the networks'
initial weights, then every sampled action; the environment is reset with ``reset(seed=seed)`` once
(its first reset) and its action space is seeded with ``seed``. The same seed on the same
environment gives the same learning curve, bit for bit.

gymnasium is imported only here, lazily, when an agent is made: ``import glassnet`` does not need it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from glassnet import nn, optim
from glassnet._checks import boolean, integer, non_negative_int, number_in_range, one_of, positive_int

from ._progress import Progress
from ._record import Record

__all__ = ["Agent", "get_schedule", "gymnasium", "mlp"]

ACTIVATIONS = ("tanh", "relu")


def gymnasium():
    """The gymnasium module, or an ImportError that says how to install it."""
    try:
        import gymnasium as module
    except ImportError:  # pragma: no cover (the test extra installs it)
        raise ImportError("glassnet.rl needs gymnasium: pip install glassnet[rl]") from None
    return module


def get_schedule(value: Any, name: str = "learning_rate") -> Callable[[float], float]:
    """``value`` as a function of the remaining progress (1 at the start of ``learn``, 0 at its
    end), as Stable-Baselines3's: a number >= 0 becomes a constant, a callable is kept. (0 is
    allowed: a linear schedule ends there, and an agent saved then keeps it.)

    >>> from glassnet.rl._base import get_schedule
    >>> get_schedule(3e-4)(0.5)
    0.0003
    >>> linear = get_schedule(lambda progress_remaining: 1e-3 * progress_remaining)
    >>> linear(1.0), linear(0.25)
    (0.001, 0.00025)
    """
    if callable(value):
        return value
    constant = number_in_range(value, name, 0.0)
    return lambda progress_remaining: constant


def network_settings(policy_kwargs: Any, default_arch: tuple[int, ...], default_activation: str) -> dict:
    """``policy_kwargs`` checked: ``net_arch`` (a list of widths, or dict(pi=[...], vf=[...]) for
    separate policy and value networks) and ``activation_fn`` ("tanh" or "relu")."""
    if policy_kwargs is None:
        policy_kwargs = {}
    if not isinstance(policy_kwargs, dict):
        raise TypeError(f"policy_kwargs must be a dict or None, got {type(policy_kwargs).__name__}")
    unknown = sorted(set(policy_kwargs) - {"net_arch", "activation_fn"})
    if unknown:
        raise ValueError(f"policy_kwargs: unknown key(s) {unknown}; glassnet reads net_arch and activation_fn")
    arch = policy_kwargs.get("net_arch", list(default_arch))
    if isinstance(arch, dict):
        if set(arch) != {"pi", "vf"}:
            raise ValueError("policy_kwargs['net_arch'] as a dict must have the keys 'pi' and 'vf', "
                             f"got {sorted(arch)}")
        pi, vf = (_widths(arch[key], f"net_arch['{key}']") for key in ("pi", "vf"))
    else:
        pi = vf = _widths(arch, "net_arch")
    activation = one_of(policy_kwargs.get("activation_fn", default_activation), "activation_fn", ACTIVATIONS)
    return {"pi": pi, "vf": vf, "activation": activation}


def _widths(value: Any, name: str) -> list[int]:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise TypeError(f"policy_kwargs {name} must be a list of layer widths, got {type(value).__name__}")
    return [positive_int(width, f"policy_kwargs {name} width") for width in value]


def mlp(in_features: int, out_features: int, net_arch: list[int], activation: str,
        rng: np.random.Generator) -> nn.Sequential:
    """The agents' networks: Linear -> activation per width of ``net_arch``, then a linear output.

    >>> import numpy as np
    >>> from glassnet.rl._base import mlp
    >>> net = mlp(4, 2, [64, 64], "tanh", np.random.default_rng(0))
    >>> [type(layer).__name__ for layer in net], net(np.zeros((3, 4), np.float32)).shape
    (['Linear', 'Tanh', 'Linear', 'Tanh', 'Linear'], (3, 2))
    """
    _charge(in_features, out_features, net_arch)
    return nn.mlp(in_features, tuple(net_arch), out_features, activation=activation, rng=rng)


# While ``load`` rebuilds an agent from a file, the number of weights the file holds: a network
# the file's description asks for beyond it is refused before anything is allocated.
_budget: list[int] = []


def _charge(in_features: int, out_features: int, net_arch: list[int]) -> None:
    if not _budget:
        return
    widths = [in_features, *net_arch, out_features]
    count = sum((a + 1) * b for a, b in zip(widths[:-1], widths[1:]))
    if count > _budget[0]:
        raise ValueError(f"its description asks for a network of {count:,} weights, more than the file holds")
    _budget[0] -= count


class Agent:
    """Base class of the agents: see the module docstring. Subclasses set ``_action_spaces`` (the
    gymnasium space classes they act in), ``_vector_ok`` (whether a vector environment is taken),
    ``_hyperparameters`` (the names ``save`` writes), and implement ``_build``, ``_learn`` and
    ``_act`` (observations ``(n, obs_dim)`` -> actions)."""

    _action_spaces: tuple[str, ...] = ("Discrete",)
    _vector_ok = False
    _hyperparameters: tuple[str, ...] = ("learning_rate", "gamma", "policy_kwargs")
    networks: dict[str, nn.Module]

    def __init__(self, env: Any, *, learning_rate: Any, gamma: float, policy_kwargs: dict | None = None,
                 seed: int = 0, verbose: int = 0) -> None:
        name = type(self).__name__
        self.learning_rate = learning_rate
        self.lr_schedule = get_schedule(learning_rate)
        self.gamma = number_in_range(gamma, "gamma", 0.0, 1.0)
        self.policy_kwargs = policy_kwargs
        self.net = network_settings(policy_kwargs, *self._default_network())
        self.seed = integer(seed, "seed", minimum=0)
        self.verbose = non_negative_int(verbose, "verbose")
        self.observation_space, self.action_space, self.n_envs, self.is_vector = check_env(
            env, name, self._action_spaces, self._vector_ok)
        self.env = env
        self.obs_dim = int(self.observation_space.shape[0])
        self.rng = np.random.default_rng(self.seed)
        self.record = Record()
        self.num_timesteps = 0
        self._seeded = False        # the first reset seeds the environment
        self._last_progress = 1.0   # where the last learn ended: a schedule is saved at its value there
        self._build()

    # ---- what a subclass provides ------------------------------------------------------------
    def _default_network(self) -> tuple[tuple[int, ...], str]:
        return (64, 64), "tanh"

    def _build(self) -> None:
        raise NotImplementedError

    def _learn(self, total_timesteps: int) -> None:
        raise NotImplementedError

    def _act(self, observations: np.ndarray, deterministic: bool) -> np.ndarray:
        raise NotImplementedError

    # ---- learning ----------------------------------------------------------------------------
    def learn(self, total_timesteps: int, callback: Callable[[dict], bool] | None = None,
              progress: bool = True) -> Record:
        """Interact with the environment for ``total_timesteps`` steps, learning as it goes.

        ``callback(locals_dict) -> bool`` is called after every step (Stable-Baselines3's simple
        callable form); returning False stops learning. ``progress`` shows a line on standard
        error. Returns ``self.record`` (it accumulates over calls). Every argument, and the
        environment's first observation, is checked before anything is learned.
        """
        total_timesteps = positive_int(total_timesteps, "total_timesteps")
        if callback is not None and not callable(callback):
            raise TypeError(f"callback must be a callable or None, got {type(callback).__name__}")
        progress = boolean(progress, "progress")
        if self.env is None:
            raise ValueError(f"this {type(self).__name__} has no environment (it was loaded without one): "
                             "load it with env=, or set agent.env")
        self.n_envs, self.is_vector = same_spaces(self, self.env)
        schedule_value(self.lr_schedule, 1.0)   # a schedule that fails fails here, before any step
        self._callback, self._stopped = callback, False
        self._start, self._end = self.num_timesteps, self.num_timesteps + total_timesteps
        self._progress = Progress(total_timesteps, self._start, progress)
        try:
            self._learn(total_timesteps)
        finally:
            self._last_progress = self.progress_remaining
            self._progress.close(self.num_timesteps, self.record)
        return self.record

    @property
    def progress_remaining(self) -> float:
        """1 at the start of ``learn``, 0 at its end (the argument of a schedule)."""
        total = self._end - self._start
        return max(0.0, 1.0 - (self.num_timesteps - self._start) / total)

    def _running(self) -> bool:
        """Whether ``learn`` goes on: steps are left and no callback said stop."""
        return self.num_timesteps < self._end and not self._stopped

    def _reset(self) -> np.ndarray:
        """A new episode's first observation (float32, checked); the first reset is seeded."""
        seed = None if self._seeded else self.seed
        if not self._seeded:
            self.env.action_space.seed(self.seed)
            self._seeded = True
        obs, _ = self.env.reset(seed=seed)
        self._episode_return = np.zeros(self.n_envs)
        self._episode_length = np.zeros(self.n_envs, dtype=np.int64)
        return self._checked(obs, "reset")

    def _step(self, action: Any) -> tuple[np.ndarray, Any, Any, Any, dict]:
        """``env.step(action)``: (obs, reward, terminated, truncated, info) with obs checked; counts
        the step, logs an episode that ends, updates the progress line, calls the callback."""
        obs, reward, terminated, truncated, info = self.env.step(action)
        obs = self._checked(obs, "step")
        self._count_step(reward, np.logical_or(terminated, truncated))
        self._ask_callback(locals())
        return obs, reward, terminated, truncated, info

    def _count_step(self, rewards: Any, ended: Any, valid: Any = True) -> None:
        """After a step of every environment: count the real transitions (``valid``: all, or a
        mask leaving out a vector env's reset-only steps), add the rewards to each episode, log
        the episodes that ``ended``, update the progress line."""
        valid = np.broadcast_to(valid, (self.n_envs,))
        self.num_timesteps += int(valid.sum())
        self._episode_return += np.where(valid, np.reshape(rewards, -1), 0.0)
        self._episode_length += valid
        for env_index in np.flatnonzero(np.reshape(ended, -1) & valid):
            self.record.log_episode(self.num_timesteps, float(self._episode_return[env_index]),
                                    int(self._episode_length[env_index]))
            self._episode_return[env_index], self._episode_length[env_index] = 0.0, 0
        self._progress.update(self.num_timesteps, self.record)

    def _ask_callback(self, local: dict) -> None:
        """The user's ``callback(locals)`` after a step (the caller's locals and ``self``, as
        Stable-Baselines3 passes them); False stops learning."""
        if self._callback is not None and self._callback(dict(local, self=self)) is False:
            self._stopped = True

    def _checked(self, obs: Any, where: str) -> np.ndarray:
        array = np.asarray(obs, dtype=np.float32)
        expected = (self.n_envs, self.obs_dim) if self.is_vector else (self.obs_dim,)
        if array.shape != expected:
            raise ValueError(f"env.{where} returned an observation of shape {array.shape}; the observation "
                             f"space {self.observation_space} says {expected} (a wrapper that reshapes "
                             "observations must update the observation space)")
        return array

    def _optimizer_step(self, optimizer: Any, max_grad_norm: float | None = None) -> float:
        """One step of ``optimizer`` on the gradients ``backward`` left, at the learning rate the
        schedule gives now; the gradients clipped to ``max_grad_norm`` first if given. Returns the
        gradient norm before clipping (the record's grad_norm). A rate of 0 (the end of a linear
        schedule) changes nothing."""
        params = [p for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        if max_grad_norm is not None:
            grad_norm = optim.clip_grad_norm(params, max_grad_norm)
        else:
            grad_norm = float(np.sqrt(sum(float(np.sum(np.square(p.grad))) for p in params)))
        learning_rate = schedule_value(self.lr_schedule, self.progress_remaining)
        if learning_rate > 0:
            for group in optimizer.param_groups:
                group["lr"] = learning_rate
            optimizer.step()
        return float(grad_norm)

    # ---- acting ------------------------------------------------------------------------------
    def predict(self, observation: Any, deterministic: bool = True) -> tuple[Any, None]:
        """The action for one observation ``(obs_dim,)``, or actions for a batch ``(n, obs_dim)``;
        returns ``(action, None)`` as Stable-Baselines3 does (None: no recurrent state)."""
        deterministic = boolean(deterministic, "deterministic")
        obs = np.asarray(observation, dtype=np.float32)
        if not (obs.shape == (self.obs_dim,) or (obs.ndim == 2 and obs.shape[1] == self.obs_dim)):
            raise ValueError(f"predict: observation must have shape ({self.obs_dim},) or (n, {self.obs_dim}), "
                             f"got shape {obs.shape}")
        actions = self._act(obs.reshape(-1, self.obs_dim), deterministic)
        return (actions[0] if obs.ndim == 1 else actions), None

    # ---- saving ------------------------------------------------------------------------------
    def save(self, path: Any) -> None:
        """Save the agent to one safetensors file: its networks' weights and, as JSON metadata,
        its class, hyperparameters, seed and spaces (``glassnet.rl.load`` reads it). A schedule is
        saved as its value at the end of the last ``learn``; a callable hyperparameter has no
        JSON form. Never pickle."""
        from ._saving import save_agent
        save_agent(self, path)

    @classmethod
    def load(cls, path: Any, env: Any = None) -> Agent:
        """The agent saved at ``path`` (of this class), with ``env`` as its environment."""
        from ._saving import load_agent
        return load_agent(path, env, expected=cls)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(seed={self.seed}, num_timesteps={self.num_timesteps})"


def check_env(env: Any, name: str, action_spaces: tuple[str, ...],
              vector_ok: bool) -> tuple[Any, Any, int, bool]:
    """(observation space, action space, n_envs, whether a vector environment) of ``env``, or a
    clear error: the agent needs a 1-D Box observation space and an action space among
    ``action_spaces``."""
    gym = gymnasium()
    if isinstance(env, gym.vector.VectorEnv):
        if not vector_ok:
            raise ValueError(f"{name} takes a single environment (gymnasium.Env), got a vector environment "
                             f"of {env.num_envs}; make one with gymnasium.make")
        observation_space, action_space, n_envs = env.single_observation_space, env.single_action_space, env.num_envs
        is_vector = True
    elif hasattr(env, "observation_space") and hasattr(env, "action_space"):
        observation_space, action_space, n_envs, is_vector = env.observation_space, env.action_space, 1, False
    else:
        raise TypeError(f"{name}: env must be a gymnasium environment (with observation_space and "
                        f"action_space), got {type(env).__name__}")
    if not isinstance(observation_space, gym.spaces.Box) or len(observation_space.shape) != 1:
        raise ValueError(f"{name} needs a 1-D Box observation space (a vector of numbers), got "
                         f"{observation_space}; flatten it with gymnasium.wrappers.FlattenObservation")
    if not any(isinstance(action_space, getattr(gym.spaces, kind)) for kind in action_spaces):
        raise ValueError(f"{name} acts in a {' or '.join(action_spaces)} action space, got {action_space}")
    if isinstance(action_space, gym.spaces.Discrete) and int(action_space.start) != 0:
        raise ValueError(f"{name} needs a Discrete action space that starts at 0, got {action_space}")
    if isinstance(action_space, gym.spaces.Box) and len(action_space.shape) != 1:
        raise ValueError(f"{name} needs a 1-D Box action space, got {action_space}")
    return observation_space, action_space, n_envs, is_vector


def same_spaces(agent: Agent, env: Any) -> tuple[int, bool]:
    """(n_envs, whether a vector environment) of ``env``, which must have the agent's spaces."""
    name = type(agent).__name__
    observation_space, action_space, n_envs, is_vector = check_env(env, name, agent._action_spaces, agent._vector_ok)
    for what, mine, theirs in (("observation", agent.observation_space, observation_space),
                               ("action", agent.action_space, action_space)):
        if describe_space(mine) != describe_space(theirs):
            raise ValueError(f"{name}: the environment's {what} space {theirs} is not the agent's {mine}")
    return n_envs, is_vector


def describe_space(space: Any) -> dict:
    """A Box's or a Discrete's description as JSON (kind, shape or n); its bounds go elsewhere."""
    if hasattr(space, "n"):
        return {"kind": "Discrete", "n": int(space.n), "start": int(getattr(space, "start", 0))}
    return {"kind": "Box", "shape": list(space.shape)}


def schedule_value(value: Any, progress_remaining: float, name: str = "learning_rate") -> float:
    """A hyperparameter's value now: the schedule's at ``progress_remaining`` (checked: a number
    >= 0), or the number."""
    return number_in_range(value(progress_remaining) if callable(value) else value,
                           f"{name} (its schedule's value at progress_remaining={progress_remaining:g})", 0.0)
