"""returns_to_go and gae against values worked out by hand on short reward sequences."""

import numpy as np
import pytest

from glassnet.rl.returns import gae, returns_to_go

F, T = False, True


def test_returns_to_go_terminated_episode_stops_at_its_last_reward():
    # gamma 0.5: G2 = 3, G1 = 2 + 0.5*3 = 3.5, G0 = 1 + 0.5*3.5 = 2.75
    got = returns_to_go([1.0, 2.0, 3.0], 0.5, [F, F, T], [F, F, F], last_value=100.0)
    np.testing.assert_allclose(got, [2.75, 3.5, 3.0])


def test_returns_to_go_truncated_episode_bootstraps_from_the_final_value():
    # G2 = 3 + 0.5*10 = 8, G1 = 2 + 4 = 6, G0 = 1 + 3 = 4
    got = returns_to_go([1.0, 2.0, 3.0], 0.5, [F, F, F], [F, F, T], last_value=10.0)
    np.testing.assert_allclose(got, [4.0, 6.0, 8.0])


def test_returns_to_go_running_episode_at_the_rollout_end_bootstraps():
    got = returns_to_go([1.0, 2.0, 3.0], 0.5, [F, F, F], [F, F, F], last_value=10.0)
    np.testing.assert_allclose(got, [4.0, 6.0, 8.0])
    # without a value the cut episode counts as ended: plain Monte Carlo returns
    np.testing.assert_allclose(returns_to_go([1.0, 2.0, 3.0], 0.5, [F] * 3, [F] * 3), [2.75, 3.5, 3.0])


def test_returns_to_go_terminated_wins_over_truncated():
    got = returns_to_go([1.0, 1.0], 1.0, [F, T], [F, T], last_value=50.0)
    np.testing.assert_allclose(got, [2.0, 1.0])


def test_returns_to_go_several_episodes_in_one_rollout():
    # episode A: steps 0-1 terminated; episode B: steps 2-3 truncated (value 4 after step 3);
    # episode C: step 4, still running at the rollout end (value 2 after step 4). gamma 0.9.
    rewards = [1.0, 1.0, 2.0, 2.0, 5.0]
    terminated = [F, T, F, F, F]
    truncated = [F, F, F, T, F]
    last_value = [0.0, 0.0, 0.0, 4.0, 2.0]   # read only at cut steps (3 and 4)
    got = returns_to_go(rewards, 0.9, terminated, truncated, last_value=last_value)
    g3 = 2 + 0.9 * 4.0
    g4 = 5 + 0.9 * 2.0
    np.testing.assert_allclose(got, [1 + 0.9 * 1, 1.0, 2 + 0.9 * g3, g3, g4])


def test_returns_to_go_vector_layout_is_each_column_alone():
    rewards = np.array([[1.0, 3.0], [2.0, 4.0], [3.0, 5.0]])
    terminated = np.array([[F, T], [F, F], [T, F]])
    truncated = np.array([[F, F], [F, F], [F, F]])
    last_value = np.array([0.0, 7.0])        # one per environment, broadcast over time
    got = returns_to_go(rewards, 0.5, terminated, truncated, last_value=last_value)
    for env in range(2):
        alone = returns_to_go(rewards[:, env], 0.5, terminated[:, env], truncated[:, env], last_value[env])
        np.testing.assert_allclose(got[:, env], alone)
    np.testing.assert_allclose(got[:, 1], [3.0, 4 + 0.5 * (5 + 3.5), 5 + 3.5])


def test_gae_one_episode_by_hand():
    # gamma 0.5, lam 0.5, terminated at step 2
    rewards = [1.0, 1.0, 1.0]
    values = [1.0, 2.0, 3.0]
    next_values = [2.0, 3.0, 99.0]           # 99 must be ignored: terminal
    d0 = 1 + 0.5 * 2 - 1                      # 1
    d1 = 1 + 0.5 * 3 - 2                      # 0.5
    d2 = 1 - 3                                # -2
    a2 = d2
    a1 = d1 + 0.25 * a2
    a0 = d0 + 0.25 * a1
    adv, ret = gae(rewards, values, next_values, [F, F, T], [F, F, F], gamma=0.5, lam=0.5)
    np.testing.assert_allclose(adv, [a0, a1, a2])
    np.testing.assert_allclose(ret, np.array([a0, a1, a2]) + values)


def test_gae_truncated_bootstraps_and_does_not_leak_into_the_next_episode():
    # episode A truncated at step 1 (final observation's value 5), episode B starts at step 2.
    rewards = [1.0, 1.0, 1.0]
    values = [0.0, 0.0, 0.0]
    next_values = [1.0, 5.0, 2.0]
    adv, _ = gae(rewards, values, next_values, [F, F, F], [F, T, F], gamma=1.0, lam=1.0)
    a2 = 1 + 2.0                   # rollout end: bootstrap from next_values[2]
    a1 = 1 + 5.0                   # truncated: bootstrap, and A_2 does not flow back
    a0 = (1 + 1.0 - 0) + a1
    np.testing.assert_allclose(adv, [a0, a1, a2])
    # the same flags as terminated: no bootstrap at step 1
    adv_t, _ = gae(rewards, values, next_values, [F, T, F], [F, F, F], gamma=1.0, lam=1.0)
    np.testing.assert_allclose(adv_t, [(1 + 1.0) + 1.0, 1.0, 3.0])


def test_gae_lambda_one_is_returns_to_go_minus_values():
    rng = np.random.default_rng(0)
    rewards = rng.normal(size=6)
    values = rng.normal(size=7)
    terminated = np.array([F, F, T, F, F, F])
    truncated = np.array([F, F, F, F, T, F])
    next_values = values[1:].copy()
    adv, ret = gae(rewards, values[:-1], next_values, terminated, truncated, gamma=0.9, lam=1.0)
    expected = returns_to_go(rewards, 0.9, terminated, truncated, last_value=next_values)
    np.testing.assert_allclose(ret, expected)
    np.testing.assert_allclose(adv, expected - values[:-1])


def test_gae_lambda_zero_is_the_td_error():
    adv, _ = gae([1.0, 2.0], [0.5, 0.5], [3.0, 4.0], [F, T], [F, F], gamma=0.9, lam=0.0)
    np.testing.assert_allclose(adv, [1 + 0.9 * 3 - 0.5, 2 - 0.5])


def test_gae_vector_env_layout():
    # (T=3, n_envs=2): env 0 terminates at step 1 then runs, env 1 is truncated at step 0.
    rewards = np.array([[1.0, 1.0], [1.0, 1.0], [1.0, 1.0]])
    values = np.array([[0.5, 0.5], [0.5, 0.5], [0.5, 0.5]])
    next_values = np.array([[0.5, 3.0], [9.0, 0.5], [0.5, 0.5]])
    terminated = np.array([[F, F], [T, F], [F, F]])
    truncated = np.array([[F, T], [F, F], [F, F]])
    adv, ret = gae(rewards, values, next_values, terminated, truncated, gamma=0.5, lam=0.5)
    for env in range(2):
        alone = gae(rewards[:, env], values[:, env], next_values[:, env], terminated[:, env],
                    truncated[:, env], gamma=0.5, lam=0.5)[0]
        np.testing.assert_allclose(adv[:, env], alone)
    d = 1 + 0.25 - 0.5                                      # a running step's TD error: 0.75
    np.testing.assert_allclose(adv[:, 0], [d + 0.25 * 0.5, 0.5, d])
    np.testing.assert_allclose(adv[:, 1], [1 + 1.5 - 0.5, d + 0.25 * d, d])
    np.testing.assert_allclose(ret, adv + values)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(gamma=1.5), ValueError, "gamma"),
    (dict(gamma="0.9"), TypeError, "gamma"),
    (dict(terminated=[F, F]), ValueError, "terminated must have the rewards' shape"),
    (dict(truncated=[0, 2, 0]), ValueError, "truncated must hold booleans"),
    (dict(rewards=[]), ValueError, "rewards must have shape"),
    (dict(last_value=[1.0, 2.0]), ValueError, "last_value must broadcast"),
])
def test_returns_to_go_rejects_bad_input(kwargs, error, match):
    args = dict(rewards=[1.0, 1.0, 1.0], gamma=0.9, terminated=[F] * 3, truncated=[F] * 3) | kwargs
    with pytest.raises(error, match=match):
        returns_to_go(**args)


def test_gae_rejects_bad_input():
    with pytest.raises(ValueError, match="values must have the rewards' shape"):
        gae([1.0, 1.0], [0.0], [0.0, 0.0], [F, F], [F, F], 0.9, 0.9)
    with pytest.raises(ValueError, match="lam"):
        gae([1.0], [0.0], [0.0], [F], [F], 0.9, -0.1)
