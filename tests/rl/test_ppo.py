"""glassnet.rl.PPO: the clipped surrogate and its gradient against PyTorch, GAE on a rollout with
terminated and truncated episodes (single env, vector env in both autoreset modes), the Normal
policy's log_prob and entropy against torch.distributions, clipping to the Box, a seeded short run
that learns, bad input."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.vector import AutoresetMode, SyncVectorEnv
from threadpoolctl import threadpool_limits

import glassnet as gn
from glassnet import nn, rl
from glassnet.rl import PPO
from glassnet.rl._actor_critic import ActorCritic, orthogonal
from glassnet.rl.ppo import clipped_surrogate, normalize_advantages
from oracle import check_against_torch, check_finite_differences


@pytest.fixture(autouse=True)
def one_blas_thread():
    # small matrices: OpenBLAS's threads only spin when the shared cores are busy
    with threadpool_limits(limits=1, user_api="blas"):
        yield


# ---- the clipped surrogate ------------------------------------------------------------------------
def torch_clipped_surrogate(log_prob, old_log_prob, advantages, clip_range=0.2):
    """Stable-Baselines3's formulation (ppo.py, train)."""
    ratio = torch.exp(log_prob - old_log_prob)
    loss_1 = advantages * ratio
    loss_2 = advantages * torch.clamp(ratio, 1 - clip_range, 1 + clip_range)
    return -torch.min(loss_1, loss_2).mean()


def surrogate_inputs(seed=0, n=64):
    rng = np.random.default_rng(seed)
    old = rng.normal(-1.0, 0.5, n)
    log_prob = old + rng.normal(0.0, 0.4, n)     # ratios from ~0.3 to ~3: both sides clipped
    return log_prob, old, rng.normal(size=n)


@pytest.mark.parametrize("clip_range", [0.1, 0.2, 0.5])
def test_clipped_surrogate_and_its_gradients_match_pytorch(clip_range):
    log_prob, old, advantages = surrogate_inputs()
    check_against_torch(lambda lp, o, a: clipped_surrogate(lp, o, a, clip_range)[0],
                        lambda lp, o, a: torch_clipped_surrogate(lp, o, a, clip_range),
                        log_prob, old, advantages)


def test_clipped_surrogate_gradient_matches_finite_differences():
    log_prob, old, advantages = surrogate_inputs(seed=1, n=16)
    ratio = np.exp(log_prob - old)
    away = np.abs(np.abs(ratio - 1) - 0.2) > 1e-3          # no kink within the differences' step
    check_finite_differences(lambda lp: clipped_surrogate(lp, old[away], advantages[away], 0.2)[0], log_prob[away])


def test_clipped_surrogate_by_hand():
    # ratios 1.5, 0.5, 1.1, 0.7 with advantages 1, 1, -1, -1 and eps 0.2:
    #   A > 0: min(1.5, 1.2) = 1.2 (clipped, no gradient), min(0.5, 0.8) = 0.5 (gradient)
    #   A < 0: min(-1.1, -1.1) = -1.1 (inside), min(-0.7, -0.8) = -0.8 (clipped, no gradient)
    log_prob = gn.Tensor(np.log([1.5, 0.5, 1.1, 0.7]), requires_grad=True)
    loss, fraction = clipped_surrogate(log_prob, np.zeros(4), np.array([1.0, 1.0, -1.0, -1.0]), 0.2)
    assert loss.item() == pytest.approx(-(1.2 + 0.5 - 1.1 - 0.8) / 4)
    assert fraction == 0.75                                   # |ratio - 1| > 0.2 for three of four
    loss.backward()
    # d/dlog_prob of -ratio * A / 4 is -ratio * A / 4 where the sample is not clipped
    np.testing.assert_allclose(log_prob.grad, [0.0, -0.5 / 4, 1.1 / 4, 0.0], atol=1e-12)


def test_clipped_surrogate_at_ratio_one_is_the_policy_gradient():
    # the first minibatch of every rollout: pi = pi_old, the two branches tie; gradient -A / n
    advantages = np.array([2.0, -1.0, 0.5])
    log_prob = gn.Tensor(np.array([-0.3, -1.2, -2.0]), requires_grad=True)
    loss, fraction = clipped_surrogate(log_prob, log_prob.data.copy(), advantages, 0.2)
    loss.backward()
    assert fraction == 0.0 and loss.item() == pytest.approx(-advantages.mean())
    np.testing.assert_allclose(log_prob.grad, -advantages / 3)


def test_normalize_advantages_as_stable_baselines3():
    advantages = np.random.default_rng(0).normal(3.0, 2.0, 10)
    expected = (torch.tensor(advantages) - torch.tensor(advantages).mean()) / (torch.tensor(advantages).std() + 1e-8)
    np.testing.assert_allclose(normalize_advantages(advantages), expected.numpy())
    np.testing.assert_array_equal(normalize_advantages(np.array([4.0])), [4.0])  # one sample: kept


# ---- GAE on a rollout with terminated and truncated episodes ---------------------------------------
class Counter(gym.Env):
    """Episode k starts at observation 10 k; step t of an episode (t = 1, 2, ...) adds 1 and pays t.
    Even episodes end terminated after 3 steps, odd ones truncated after 2."""

    observation_space = gym.spaces.Box(-1e3, 1e3, (1,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self):
        self.episode = -1

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.episode, self.t = self.episode + 1, 0
        return np.array([10.0 * self.episode], np.float32), {}

    def step(self, action):
        self.t += 1
        even = self.episode % 2 == 0
        terminated, truncated = even and self.t == 3, (not even) and self.t == 2
        return np.array([10.0 * self.episode + self.t], np.float32), float(self.t), terminated, truncated, {}


def counter_rollout(env, n_steps):
    """PPO's first rollout on ``env`` with the critic replaced by V(s) = s (the rollout is caught
    before training)."""
    agent = PPO(env, n_steps=n_steps, batch_size=4, gamma=0.5, gae_lambda=0.5, seed=0)
    critic = nn.Linear(1, 1, dtype=np.float32)
    critic.weight.data[:] = 1.0
    critic.bias.data[:] = 0.0
    agent.policy.critic = nn.Sequential(critic)
    caught = []
    agent._train = lambda rollout: caught.append(rollout) or setattr(agent, "_stopped", True)
    agent.learn(1, progress=False)
    rollout = caught[0]
    valid = rollout["valid"][:, 0]
    return {key: rollout[key][valid, 0] for key in ("obs", "rewards", "advantages", "returns")}, valid, agent


# Transitions (s -> s', r): 0->1 (1), 1->2 (2), 2->3 (3, terminated); 10->11 (1), 11->12 (2,
# truncated); 20->21 (1), the rollout's end. V(s) = s, gamma = lambda = 0.5:
#   deltas   1 + .5*1 - 0 = 1.5,  2 + .5*2 - 1 = 2,  3 - 2 = 1 (no future),
#            1 + .5*11 - 10 = -3.5,  2 + .5*12 - 11 = -3 (bootstraps V(12)),  1 + .5*21 - 20 = -8.5
#   A_t = delta_t + .25 A_{t+1} within an episode:
EXPECTED_ADVANTAGES = [1.5 + 0.25 * 2.25, 2.25, 1.0, -3.5 + 0.25 * -3.0, -3.0, -8.5]
EXPECTED_RETURNS = [2.0625, 3.25, 3.0, 5.75, 8.0, 11.5]


def test_gae_on_a_single_env_rollout_with_terminated_and_truncated_episodes():
    rollout, valid, _ = counter_rollout(Counter(), n_steps=6)
    assert valid.all()
    np.testing.assert_array_equal(rollout["obs"][:, 0], [0, 1, 2, 10, 11, 20])
    np.testing.assert_array_equal(rollout["rewards"], [1, 2, 3, 1, 2, 1])
    np.testing.assert_allclose(rollout["advantages"], EXPECTED_ADVANTAGES)
    np.testing.assert_allclose(rollout["returns"], EXPECTED_RETURNS)


def test_gae_on_a_vector_env_in_next_step_mode_skips_the_reset_steps():
    # NEXT_STEP: a step after each episode's end only resets (reward 0): 6 transitions in 8 steps
    env = SyncVectorEnv([Counter])
    assert env.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    rollout, valid, agent = counter_rollout(env, n_steps=8)
    np.testing.assert_array_equal(valid, [True, True, True, False, True, True, False, True])
    np.testing.assert_array_equal(rollout["obs"][:, 0], [0, 1, 2, 10, 11, 20])
    np.testing.assert_allclose(rollout["advantages"], EXPECTED_ADVANTAGES)
    np.testing.assert_allclose(rollout["returns"], EXPECTED_RETURNS)
    assert agent.num_timesteps == 6                           # the reset steps are no transitions
    assert agent.record.episode_lengths == [3, 2] and agent.record.episode_returns == [6.0, 3.0]


def test_gae_on_a_vector_env_in_same_step_mode_bootstraps_from_final_obs():
    env = SyncVectorEnv([Counter], autoreset_mode=AutoresetMode.SAME_STEP)
    rollout, valid, _ = counter_rollout(env, n_steps=6)
    assert valid.all()
    np.testing.assert_allclose(rollout["advantages"], EXPECTED_ADVANTAGES)
    np.testing.assert_allclose(rollout["returns"], EXPECTED_RETURNS)


def test_vector_env_without_autoreset_is_refused():
    env = SyncVectorEnv([Counter], autoreset_mode=AutoresetMode.DISABLED)
    agent = PPO(env, n_steps=4, seed=0)
    with pytest.raises(ValueError, match="autoreset_mode"):
        agent.learn(8, progress=False)
    assert agent.num_timesteps == 0


# ---- the policy -------------------------------------------------------------------------------------
def test_normal_policy_log_prob_and_entropy_match_torch():
    rng = np.random.default_rng(0)
    policy = ActorCritic(3, 2, True, dict(pi=[8], vf=[8], activation="tanh"), rng)
    policy.log_std.data[:] = [0.3, -0.7]
    obs = rng.normal(size=(5, 3)).astype(np.float32)
    actions = rng.normal(size=(5, 2)).astype(np.float32)
    log_prob, entropy = policy.log_prob_entropy(policy.distribution(obs), actions)
    (log_prob.sum() + entropy.sum()).backward()

    mean = torch.tensor(policy.actor(obs).numpy(), dtype=torch.float64)
    log_std = torch.tensor([0.3, -0.7], dtype=torch.float64, requires_grad=True)
    expected = torch.distributions.Normal(mean, log_std.exp())
    torch_log_prob = expected.log_prob(torch.tensor(actions, dtype=torch.float64)).sum(-1)
    torch_entropy = expected.entropy().sum(-1)
    (torch_log_prob.sum() + torch_entropy.sum()).backward()
    np.testing.assert_allclose(log_prob.numpy(), torch_log_prob.detach().numpy(), rtol=1e-5)
    np.testing.assert_allclose(entropy.numpy(), torch_entropy.detach().numpy(), rtol=1e-5)
    np.testing.assert_allclose(policy.log_std.grad, log_std.grad.numpy(), rtol=1e-4)


def test_policy_starts_as_stable_baselines3s():
    policy = ActorCritic(4, 3, False, dict(pi=[64, 64], vf=[64, 64], activation="tanh"), np.random.default_rng(0))
    hidden, head = policy.actor[0].weight.data, policy.actor[-1].weight.data
    np.testing.assert_allclose(hidden @ hidden.T, 2.0 * np.eye(4), atol=1e-5)   # orthogonal, gain sqrt 2
    np.testing.assert_allclose(np.linalg.norm(head, axis=0), 0.01, rtol=1e-4)   # policy head gain 0.01
    assert len(policy.critic) == 5 and not hasattr(policy, "log_std")
    probs = policy.distribution(np.zeros((1, 4), np.float32)).probs.numpy()
    np.testing.assert_allclose(probs, 1 / 3, atol=1e-6)   # zero biases: a uniform first policy at s = 0
    w = orthogonal(1.0)((3, 5), rng=0)
    np.testing.assert_allclose(w @ w.T, np.eye(3), atol=1e-6)


def test_continuous_actions_are_clipped_to_the_box():
    agent = PPO(gym.make("Pendulum-v1"), n_steps=8, seed=0)
    agent.policy.actor[-1].bias.data[:] = 10.0               # a mean torque far beyond the Box
    action, _ = agent.predict(np.zeros(3))
    assert action.shape == (1,) and action[0] == 2.0
    actions, _ = agent.predict(np.zeros((4, 3)), deterministic=False)
    assert actions.shape == (4, 1) and np.all(np.abs(actions) <= 2.0)


# ---- learning -----------------------------------------------------------------------------------------
ZOO_CARTPOLE = dict(n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98, n_epochs=20, ent_coef=0.0,
                    learning_rate=lambda progress: 1e-3 * progress, clip_range=lambda progress: 0.2 * progress)


def test_cartpole_learns_with_the_zoo_settings():
    env = gym.make_vec("CartPole-v1", num_envs=8, vectorization_mode="sync")
    agent = PPO(env, seed=0, **ZOO_CARTPOLE)
    record = agent.learn(16_000, progress=False)
    # a random policy lasts about 22 steps on CartPole
    assert np.mean(record.episode_returns[:20]) < 40
    assert record.mean_return(20) > 100
    assert len(record.clip_fraction) == len(record.timesteps) == len(record.entropy) > 60   # 256 steps each
    assert record.entropy[0] > record.entropy[-1]             # the policy grows surer
    assert set(record.losses) >= {"policy", "value", "approx_kl", "explained_variance", "learning_rate"}
    assert record.losses["learning_rate"][0] == pytest.approx(1e-3 * (1 - 256 / 16_000), rel=0.01)


def test_same_seed_same_learning_curve_bit_for_bit():
    def run(seed):
        agent = PPO(gym.make("Pendulum-v1"), n_steps=64, batch_size=32, n_epochs=2, seed=seed)
        record = agent.learn(256, progress=False)
        return record, agent.policy.log_std.data.copy()
    (first, std1), (second, std2), (other, _) = run(3), run(3), run(4)
    assert first.episode_returns == second.episode_returns and first.losses == second.losses
    np.testing.assert_array_equal(std1, std2)
    assert first.losses["policy"] != other.losses["policy"]


def test_save_and_load_keep_the_policy_and_a_schedule_as_its_last_value(tmp_path):
    agent = PPO(gym.make("Pendulum-v1"), n_steps=64, batch_size=32, n_epochs=1, clip_range=lambda p: 0.2 * p,
                policy_kwargs=dict(net_arch=dict(pi=[16], vf=[8])), seed=1)
    agent.learn(128, progress=False)
    agent.policy.log_std.data[:] = -0.5
    agent.save(tmp_path / "ppo.safetensors")
    loaded = rl.load(tmp_path / "ppo.safetensors")
    assert type(loaded) is PPO and loaded.n_steps == 64 and loaded.clip_range == 0.0
    obs = np.random.default_rng(0).normal(size=(6, 3))
    np.testing.assert_array_equal(loaded.predict(obs)[0], agent.predict(obs)[0])
    np.testing.assert_array_equal(loaded.policy.log_std.data, [-0.5])


# ---- bad input ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, error, match", [
    (dict(n_steps=0), ValueError, "n_steps"),
    (dict(batch_size=1.5), TypeError, "batch_size"),
    (dict(clip_range=-0.1), ValueError, "clip_range"),
    (dict(gae_lambda=1.5), ValueError, "gae_lambda"),
    (dict(max_grad_norm=0.0), ValueError, "max_grad_norm"),
    (dict(ent_coef=-1.0), ValueError, "ent_coef"),
    (dict(policy_kwargs=dict(net_arch=dict(pi=[8]))), ValueError, "net_arch"),
])
def test_bad_hyperparameters_are_named(kwargs, error, match):
    with pytest.raises(error, match=match):
        PPO(gym.make("CartPole-v1"), **kwargs)


def test_unsupported_action_space_and_bad_timesteps():
    env = gym.make("CartPole-v1")
    env.action_space = gym.spaces.MultiDiscrete([2, 2])
    with pytest.raises(ValueError, match="PPO acts in a Discrete or Box action space, got MultiDiscrete"):
        PPO(env)
    agent = PPO(gym.make("CartPole-v1"), n_steps=8)
    with pytest.raises(ValueError, match="total_timesteps"):
        agent.learn(0)
    assert agent.num_timesteps == 0 and agent.record.n_episodes == 0


def test_callback_false_stops_before_any_update_and_progress_line_shows_the_steps(capsys):
    env = gym.make_vec("CartPole-v1", num_envs=4, vectorization_mode="sync")
    agent = PPO(env, n_steps=16, batch_size=32, seed=0)
    calls = []
    record = agent.learn(1_000, callback=lambda local: calls.append(local["self"].num_timesteps) or len(calls) < 5)
    assert calls == [4, 8, 12, 16, 20] and agent.num_timesteps == 20 and record.timesteps == []
    assert "steps 20/1,000" in capsys.readouterr().err


def test_wrong_observation_shape_mid_episode_is_named():
    class Shrinks(gym.Wrapper):                     # reset's observation is right, step's are not
        def step(self, action):
            obs, *rest = self.env.step(action)
            return (obs[:3], *rest)

    agent = PPO(Shrinks(gym.make("CartPole-v1")), n_steps=8)
    with pytest.raises(ValueError, match=r"env.step returned an observation of shape \(3,\)"):
        agent.learn(16, progress=False)
    assert agent.record.timesteps == []


def test_a_failing_clip_range_schedule_fails_before_any_step():
    agent = PPO(gym.make("CartPole-v1"), n_steps=8, clip_range=lambda progress: -0.2 * progress)
    with pytest.raises(ValueError, match="clip_range"):
        agent.learn(16, progress=False)
    assert agent.num_timesteps == 0
