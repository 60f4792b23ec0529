"""REINFORCE: it learns CartPole (seeded, a few seconds), its targets bootstrap only on
truncation, and its loss is the formula of its docstring."""

import gymnasium as gym
import numpy as np

from glassnet.rl import REINFORCE
from glassnet.rl.reinforce import _Batch


def random_policy_mean(episodes=50):
    env = gym.make("CartPole-v1")
    env.action_space.seed(0)
    total = 0.0
    for episode in range(episodes):
        env.reset(seed=episode)
        done = False
        while not done:
            _, reward, terminated, truncated, _ = env.step(env.action_space.sample())
            total += reward
            done = terminated or truncated
    return total / episodes


def test_reinforce_learns_cartpole_far_above_a_random_policy():
    agent = REINFORCE(gym.make("CartPole-v1"), seed=0)
    record = agent.learn(15_000, progress=False)
    random_mean = random_policy_mean()
    first, last = np.mean(record.episode_returns[:20]), record.mean_return(20)
    assert 15 < random_mean < 30
    assert last > 6 * random_mean and last > 3 * first, (random_mean, first, last)
    assert record.entropy[-1] < record.entropy[0]      # the policy grew surer as it learned


class Corridor(gym.Env):
    """Every step gives reward 1; the observation is (t, 1); a time limit of 3 steps truncates it."""

    observation_space = gym.spaces.Box(-10.0, 10.0, (2,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.array([0.0, 1.0], np.float32), {}

    def step(self, action):
        self.t += 1
        return np.array([self.t, 1.0], np.float32), 1.0, False, self.t == 3, {}


def test_a_truncated_episode_bootstraps_from_the_value_of_its_final_observation(monkeypatch):
    agent = REINFORCE(Corridor(), gamma=0.5, seed=0)
    batches = []
    monkeypatch.setattr(agent, "_update", batches.append)
    agent.learn(3, progress=False)
    (batch,) = batches
    final_value = agent.value(np.array([[3.0, 1.0]], np.float32)).numpy()[0, 0]
    assert batch.truncated == [False, False, True] and batch.terminated == [False] * 3
    np.testing.assert_allclose(batch.bootstrap, [0.0, 0.0, final_value], rtol=1e-6)


def test_the_update_is_the_documented_loss():
    agent = REINFORCE(Corridor(), gamma=0.5, ent_coef=0.1, vf_coef=0.5, seed=1)
    batch = _Batch()
    observations = [np.array([t, 1.0], np.float32) for t in range(3)]
    for t, obs in enumerate(observations):
        batch.add(obs, t % 2, 1.0, t == 2, False)
    batch.episodes = 1
    X = np.stack(observations)
    logits = agent.policy(X).numpy().astype(np.float64)
    values = agent.value(X).numpy()[:, 0].astype(np.float64)
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    returns = np.array([1 + 0.5 + 0.25, 1 + 0.5, 1.0])             # terminated at step 2
    advantages = returns - values
    advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    policy_loss = -np.mean(log_p[np.arange(3), [0, 1, 0]] * advantages)
    value_loss = np.mean(0.5 * (returns - values) ** 2)
    entropy = -np.mean((np.exp(log_p) * log_p).sum(axis=1))
    agent._start, agent._end = 0, 10                               # (as learn sets them)
    agent._update(batch)
    record = agent.record
    np.testing.assert_allclose(record.losses["policy"], [policy_loss], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(record.losses["value"], [value_loss], rtol=1e-5)
    np.testing.assert_allclose(record.entropy, [entropy], rtol=1e-5)
