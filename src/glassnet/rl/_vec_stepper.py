"""One interface over a single Gymnasium environment and a Gymnasium vector environment: every step
gives, for each of the n_envs environments, the observation the transition ended in (the *final*
observation when an episode ended, to bootstrap a truncated one from) and whether the step was a
real transition.

Gymnasium 1.x vector environments reset a finished sub-environment automatically, in one of the
modes in ``env.metadata["autoreset_mode"]``:

- NEXT_STEP (the default of ``gymnasium.make_vec``): the step that ends an episode returns the final
  observation itself; the *next* ``step`` call ignores that sub-environment's action, resets it and
  returns the first observation with reward 0 and terminated = truncated = False. That step is no
  transition of the environment: it is marked invalid here (PPO drops it from the batch, and it
  does not count as a timestep).
- SAME_STEP: the step that ends an episode returns the first observation of the next one; the
  final observation is in ``info["final_obs"][i]`` (where ``info["_final_obs"][i]``).
- DISABLED: the user resets by hand; an agent cannot, so it is refused.

A single environment is reset here the moment an episode ends (SAME_STEP's behaviour).
"""

from __future__ import annotations

import numpy as np

__all__ = ["EnvStepper", "is_vector_env"]


def is_vector_env(env) -> bool:
    """True for a ``gymnasium.vector.VectorEnv`` (it has ``num_envs`` and ``single_action_space``)."""
    return hasattr(env, "num_envs") and hasattr(env, "single_action_space")


class EnvStepper:
    """Steps ``env`` (a gymnasium Env or VectorEnv) with a batch of actions, one row per environment.

    ``check(obs, where)`` checks an observation as the environment returned it (the agent's
    ``_checked``: float32, the space's shape). ``step(actions)`` -> ``(obs, rewards, terminated,
    truncated, final_obs, valid)``, each with a leading axis n_envs: ``obs`` is what to act on next,
    ``final_obs`` the observation the transition ended in (equal to ``obs`` except where an episode
    ended and the environment was already reset), ``valid`` False for NEXT_STEP's reset steps.
    """

    def __init__(self, env, check) -> None:
        self.env, self.check = env, check
        self.vector = is_vector_env(env)
        self.n_envs = int(env.num_envs) if self.vector else 1
        self.mode = "same_step"
        if self.vector:
            mode = getattr(env, "metadata", {}).get("autoreset_mode", "NextStep")
            mode = str(getattr(mode, "value", mode)).lower().replace("_", "")
            if mode not in ("nextstep", "samestep"):
                raise ValueError(f"the vector environment's autoreset_mode is {mode!r}: an agent needs a "
                                 "vector environment that resets itself (NEXT_STEP or SAME_STEP)")
            self.mode = "next_step" if mode == "nextstep" else "same_step"
        self._resetting = np.zeros(self.n_envs, dtype=bool)

    def step(self, actions: np.ndarray) -> tuple:
        if not self.vector:
            obs, reward, terminated, truncated, _ = self.env.step(actions[0])
            final_obs = self.check(obs, "step")[None]
            if terminated or truncated:
                obs = self.check(self.env.reset()[0], "reset")
            return (self.check(obs, "step")[None], np.array([float(reward)]), np.array([bool(terminated)]),
                    np.array([bool(truncated)]), final_obs, np.ones(1, dtype=bool))
        obs, rewards, terminated, truncated, info = self.env.step(actions)
        obs = self.check(obs, "step")
        terminated, truncated = np.asarray(terminated, dtype=bool), np.asarray(truncated, dtype=bool)
        final_obs = obs.copy()
        valid = np.ones(self.n_envs, dtype=bool)
        if self.mode == "next_step":
            valid = ~self._resetting  # these sub-environments were reset, not stepped
            self._resetting = terminated | truncated
        elif "_final_obs" in info:
            for i in np.flatnonzero(info["_final_obs"]):
                final_obs[i] = np.asarray(info["final_obs"][i], dtype=np.float32)
        return obs, np.asarray(rewards, dtype=np.float64), terminated, truncated, final_obs, valid
