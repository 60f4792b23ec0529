"""The agents' shared frame (glassnet.rl._base): checks before anything is learned, seeding, the
record, the progress line, the callback, predict, save and load, evaluate_policy. REINFORCE stands
in for any agent."""

import io
import json
import os

import gymnasium as gym
import numpy as np
import pytest

from crafted_files import tensor_file
from glassnet import rl
from glassnet._safetensors_file import ModelFileError
from glassnet.rl import REINFORCE, Record, evaluate_policy
from glassnet.rl._base import get_schedule, mlp
from glassnet.rl._progress import Progress


def cartpole():
    return gym.make("CartPole-v1")


# ---- environments the agent refuses, before anything is built -----------------------------------
class Matrix(gym.ObservationWrapper):
    """A wrapper that reshapes observations to 2-D but keeps the 1-D space: a careless wrapper."""

    def observation(self, observation):
        return np.asarray(observation).reshape(2, 2)


@pytest.mark.parametrize("make, match", [
    (lambda: gym.make("Pendulum-v1"), r"REINFORCE acts in a Discrete action space, got Box"),
    (lambda: gym.wrappers.TransformObservation(
        cartpole(), lambda o: {"x": o}, gym.spaces.Dict({"x": cartpole().observation_space})),
     r"needs a 1-D Box observation space .* got Dict"),
    (lambda: gym.wrappers.ReshapeObservation(cartpole(), (2, 2)), r"needs a 1-D Box observation space"),
])
def test_unsupported_spaces_are_named(make, match):
    with pytest.raises(ValueError, match=match):
        REINFORCE(make())


def test_multidiscrete_action_space_is_refused():
    env = cartpole()
    env.action_space = gym.spaces.MultiDiscrete([2, 2])
    with pytest.raises(ValueError, match=r"Discrete action space, got MultiDiscrete"):
        REINFORCE(env)


def test_vector_env_is_refused_by_a_single_env_agent():
    envs = gym.make_vec("CartPole-v1", num_envs=2, vectorization_mode="sync")
    with pytest.raises(ValueError, match="takes a single environment"):
        REINFORCE(envs)


def test_not_an_env():
    with pytest.raises(TypeError, match="env must be a gymnasium environment"):
        REINFORCE("CartPole-v1")


def test_an_observation_that_does_not_fit_the_space_stops_learn_before_any_update():
    agent = REINFORCE(Matrix(cartpole()), seed=0)
    before = [p.data.copy() for p in agent.policy.parameters()]
    with pytest.raises(ValueError, match=r"env.reset returned an observation of shape \(2, 2\); .* says \(4,\)"):
        agent.learn(1000, progress=False)
    assert all(np.array_equal(a, p.data) for a, p in zip(before, agent.policy.parameters()))
    assert agent.num_timesteps == 0 and agent.record.n_episodes == 0


@pytest.mark.parametrize("total, error", [(0, ValueError), (-5, ValueError), (2.5, TypeError),
                                          (True, TypeError), ("100", TypeError)])
def test_total_timesteps_must_be_a_positive_int(total, error):
    agent = REINFORCE(cartpole(), seed=0)
    with pytest.raises(error, match="total_timesteps must be a positive int"):
        agent.learn(total, progress=False)
    assert agent.num_timesteps == 0


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(learning_rate=-1e-3), ValueError, "learning_rate"),
    (dict(learning_rate="fast"), TypeError, "learning_rate"),
    (dict(gamma=1.5), ValueError, "gamma"),
    (dict(ent_coef=-1.0), ValueError, "ent_coef"),
    (dict(episodes_per_update=0), ValueError, "episodes_per_update"),
    (dict(seed=-1), ValueError, "seed"),
    (dict(seed=1.5), TypeError, "seed"),
    (dict(policy_kwargs=dict(net_arch=[64, 0])), ValueError, "net_arch width"),
    (dict(policy_kwargs=dict(net_arch="64")), TypeError, "net_arch"),
    (dict(policy_kwargs=dict(activation_fn="gelu")), ValueError, "activation_fn"),
    (dict(policy_kwargs=dict(ortho_init=True)), ValueError, "unknown key"),
])
def test_bad_hyperparameters(kwargs, error, match):
    with pytest.raises(error, match=match):
        REINFORCE(cartpole(), **kwargs)


# ---- seeding --------------------------------------------------------------------------------------
def test_same_seed_same_learning_curve_bit_for_bit():
    runs = []
    for _ in range(2):
        agent = REINFORCE(cartpole(), learning_rate=3e-3, seed=7)
        record = agent.learn(3000, progress=False)
        runs.append((record.episode_returns, record.losses["policy"], record.grad_norm,
                     [p.data.copy() for p in agent.policy.parameters()]))
    assert runs[0][:3] == runs[1][:3] and len(runs[0][0]) > 20
    assert all(np.array_equal(a, b) for a, b in zip(runs[0][3], runs[1][3]))
    other = REINFORCE(cartpole(), learning_rate=3e-3, seed=8).learn(3000, progress=False)
    assert other.episode_returns != runs[0][0]


# ---- the record, the progress line, the callback ---------------------------------------------------
def test_record_of_a_run_adds_up():
    agent = REINFORCE(cartpole(), seed=0, episodes_per_update=2)
    record = agent.learn(1500, progress=False)
    assert agent.num_timesteps == 1500
    assert sum(record.episode_lengths) <= 1500 and record.episode_returns == [float(n) for n in record.episode_lengths]
    assert np.array_equal(np.cumsum(record.episode_lengths), record.episode_timesteps)
    assert len(record.timesteps) == record.n_episodes // 2 == len(record.entropy) == len(record.losses["value"])
    assert all(0 < h <= np.log(2) + 1e-6 for h in record.entropy) and all(g > 0 for g in record.grad_norm)


def test_record_by_hand():
    record = Record()
    for step, ret in zip((10, 30, 60, 100), (10.0, 20.0, 30.0, 40.0)):
        record.log_episode(step, ret, int(ret))
    np.testing.assert_allclose(record.rolling_mean(2), [10.0, 15.0, 25.0, 35.0])
    assert record.mean_return(3) == 30.0 and record.timestep_reaching(25.0, window=2) == 60
    assert record.timestep_reaching(50.0, window=2) is None and record.timestep_reaching(10.0, window=5) is None
    assert np.isnan(Record().mean_return())
    with pytest.raises(ValueError, match="length"):
        record.log_episode(5, 1.0, 0)


def test_progress_line_in_a_log():
    stream = io.StringIO()
    record = Record()
    record.log_episode(40, 40.0, 40)
    progress = Progress(total=1000, start=0, enabled=True, stream=stream)
    for step in range(1, 1001):
        progress.update(step, record)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 10
    assert lines[2] == "steps 300/1,000 | episodes 1 | mean return (last 100) 40.0"


def test_callback_false_stops_learning():
    agent = REINFORCE(cartpole(), seed=0)
    seen = []

    def stop_at_100(local):
        seen.append(local["self"].num_timesteps)
        return local["self"].num_timesteps < 100

    agent.learn(5000, callback=stop_at_100, progress=False)
    assert agent.num_timesteps == 100 and seen == list(range(1, 101))
    with pytest.raises(TypeError, match="callback"):
        agent.learn(10, callback=3, progress=False)


def test_schedules():
    assert get_schedule(0.1)(0.0) == 0.1
    with pytest.raises(ValueError, match="learning_rate"):
        get_schedule(-1.0)
    agent = REINFORCE(cartpole(), learning_rate=lambda remaining: 1e-2 * remaining, seed=0)
    agent.learn(600, progress=False)
    lr = agent.optimizer.param_groups[0]["lr"]
    assert 0 < lr < 1e-2 * (1 - agent.record.timesteps[-1] / 600) + 1e-9


def test_mlp_shapes_and_activation():
    net = mlp(3, 2, [5], "relu", np.random.default_rng(0))
    assert [type(m).__name__ for m in net] == ["Linear", "ReLU", "Linear"]
    assert net[0].weight.shape in ((3, 5), (5, 3))


# ---- predict ------------------------------------------------------------------------------------
def test_predict_shapes_and_determinism():
    agent = REINFORCE(cartpole(), seed=0)
    action, state = agent.predict(np.zeros(4))
    assert state is None and np.ndim(action) == 0 and int(action) in (0, 1)
    actions, _ = agent.predict(np.zeros((5, 4)))
    assert actions.shape == (5,) and len(set(actions.tolist())) == 1
    sampled = agent.predict(np.zeros((2000, 4)), deterministic=False)[0]
    assert 0 < sampled.mean() < 1
    with pytest.raises(ValueError, match=r"observation must have shape \(4,\) or \(n, 4\)"):
        agent.predict(np.zeros(3))


# ---- save and load --------------------------------------------------------------------------------
def test_save_load_round_trip(tmp_path):
    agent = REINFORCE(cartpole(), learning_rate=2e-3, ent_coef=0.01, policy_kwargs=dict(net_arch=[16]), seed=4)
    agent.learn(500, progress=False)
    path = tmp_path / "agent.safetensors"
    agent.save(path)
    for loaded in (rl.load(path, env=cartpole()), REINFORCE.load(path)):
        assert (loaded.learning_rate, loaded.ent_coef, loaded.seed, loaded.num_timesteps) == (2e-3, 0.01, 4, 500)
        assert loaded.policy_kwargs == {"net_arch": [16]}
        obs = np.random.default_rng(0).normal(size=(50, 4))
        assert np.array_equal(loaded.predict(obs)[0], agent.predict(obs)[0])
        for mine, theirs in zip(agent.policy.parameters(), loaded.policy.parameters()):
            assert np.array_equal(mine.data, theirs.data)
    with pytest.raises(ValueError, match="no environment"):
        REINFORCE.load(path).learn(10, progress=False)
    more = rl.load(path, env=cartpole()).learn(300, progress=False)
    assert more.n_episodes > 0
    with pytest.raises(ValueError, match="observation space"):
        rl.load(path, env=gym.make("Acrobot-v1"))


def test_a_schedule_is_saved_as_its_value_at_the_end(tmp_path):
    agent = REINFORCE(cartpole(), learning_rate=lambda remaining: 1e-3 * remaining, seed=0)
    agent.learn(400, progress=False)
    agent.save(tmp_path / "a.safetensors")
    assert rl.load(tmp_path / "a.safetensors").learning_rate == pytest.approx(0.0)


def _agent_file(tmp_path, edit_description=None, edit_tensors=None):
    """A saved agent's file, rewritten with its description or tensors edited."""
    from glassnet import _safetensors_file as files

    path = tmp_path / "agent.safetensors"
    REINFORCE(cartpole(), policy_kwargs=dict(net_arch=[8]), seed=0).save(path)
    metadata, tensors = files.read(str(path))
    description = json.loads(metadata["agent"])
    if edit_description:
        edit_description(description)
    if edit_tensors:
        edit_tensors(tensors)
    metadata["agent"] = json.dumps(description)
    path.write_bytes(tensor_file(tensors, metadata))
    return path


def test_crafted_files_are_refused(tmp_path):
    cases = [
        (dict(edit_description=lambda d: d.update({"class": "Sequential"})), "not one of glassnet's agents"),
        (dict(edit_description=lambda d: d.update({"class": "__import__"})), "not one of glassnet's agents"),
        (dict(edit_description=lambda d: d["hyperparameters"].update(gamma=7)), "gamma"),
        (dict(edit_description=lambda d: d["hyperparameters"].update(evil=1)), "does not describe a valid"),
        (dict(edit_description=lambda d: d["hyperparameters"].update(
            policy_kwargs={"net_arch": [10**6, 10**6]})), "more than the file holds"),
        (dict(edit_description=lambda d: d["action_space"].update(n=3)), r"shape \(8, 3\)|shape \(3, 8\)"),
        (dict(edit_tensors=lambda t: t.update({"policy.0.weight": np.zeros((2, 2), np.float32)})),
         "do not fit"),
        (dict(edit_tensors=lambda t: t.pop("value.0.bias")), "has no tensor"),
        (dict(edit_description=lambda d: d.update(num_timesteps=-3)), "num_timesteps"),
        (dict(edit_description=lambda d: d.update(observation_space={"kind": "Graph"})), "observation_space"),
    ]
    for kwargs, match in cases:
        with pytest.raises(ModelFileError, match=match):
            rl.load(_agent_file(tmp_path, **kwargs))


def test_other_files_are_refused(tmp_path):
    import glassnet as gn
    from glassnet import nn

    model_path = tmp_path / "model.safetensors"
    gn.save(nn.Sequential(nn.Linear(4, 2, rng=0)), model_path)
    with pytest.raises(ModelFileError, match="not a glassnet agent.*load it with glassnet.load"):
        rl.load(model_path)
    text = tmp_path / "text.safetensors"
    text.write_bytes(b"hello, not a file of tensors")
    with pytest.raises(ModelFileError, match="not a safetensors file"):
        rl.load(text)
    with pytest.raises(FileNotFoundError):
        rl.load(tmp_path / "missing.safetensors")


def test_loading_as_the_wrong_class(tmp_path):
    path = tmp_path / "agent.safetensors"
    REINFORCE(cartpole(), seed=0).save(path)

    class Other(REINFORCE):
        pass

    with pytest.raises(ModelFileError, match="holds a REINFORCE, not a Other"):
        Other.load(path)
    assert not any(name.endswith(".tmp") for name in os.listdir(tmp_path))


# ---- evaluate_policy ------------------------------------------------------------------------------
def test_evaluate_policy_returns_sb3s_shapes():
    agent = REINFORCE(cartpole(), seed=0)
    mean, std = evaluate_policy(agent, cartpole(), n_eval_episodes=7, seed=3)
    returns, lengths = evaluate_policy(agent, cartpole(), n_eval_episodes=7, seed=3, return_episode_rewards=True)
    assert len(returns) == len(lengths) == 7 and returns == [float(n) for n in lengths]
    assert (mean, std) == (float(np.mean(returns)), float(np.std(returns)))
    assert evaluate_policy(agent, cartpole(), n_eval_episodes=7, seed=3) == (mean, std)
    assert agent.num_timesteps == 0
    with pytest.raises(RuntimeError, match="below the threshold"):
        evaluate_policy(agent, cartpole(), n_eval_episodes=2, seed=0, reward_threshold=10_000)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(n_eval_episodes=0), ValueError, "n_eval_episodes"),
    (dict(n_eval_episodes=2.0), TypeError, "n_eval_episodes"),
    (dict(seed=-1), ValueError, "seed"),
    (dict(env="CartPole-v1"), TypeError, "gymnasium environment"),
    (dict(model="agent"), TypeError, "model must be a glassnet.rl agent"),
])
def test_evaluate_policy_bad_input(kwargs, error, match):
    args = dict(model=REINFORCE(cartpole(), seed=0), env=cartpole()) | kwargs
    with pytest.raises(error, match=match):
        evaluate_policy(**args)


def test_evaluate_policy_refuses_another_envs_spaces():
    with pytest.raises(ValueError, match="observation space"):
        evaluate_policy(REINFORCE(cartpole(), seed=0), gym.make("Acrobot-v1"), n_eval_episodes=1)


def test_a_learning_rate_of_zero_changes_no_weight():
    agent = REINFORCE(cartpole(), learning_rate=0.0, seed=0)
    before = [p.data.copy() for p in agent.policy.parameters()]
    record = agent.learn(300, progress=False)
    assert len(record.grad_norm) > 3 and min(record.grad_norm) > 0
    assert all(np.array_equal(a, p.data) for a, p in zip(before, agent.policy.parameters()))


def test_sample_categorical_follows_the_softmax():
    from glassnet.rl.reinforce import sample_categorical

    logits = np.log(np.array([[0.2, 0.5, 0.3], [1.0, 1e-12, 1e-12]]))
    draws = np.stack([sample_categorical(logits, np.random.default_rng(s)) for s in range(4000)])
    np.testing.assert_allclose(np.bincount(draws[:, 0], minlength=3) / 4000, [0.2, 0.5, 0.3], atol=0.025)
    assert (draws[:, 1] == 0).all()


@pytest.mark.parametrize("schedule, error", [(lambda remaining: -1e-3, ValueError),
                                             (lambda remaining: "fast", TypeError),
                                             (lambda remaining: float("nan"), ValueError)])
def test_a_bad_schedule_fails_before_any_step(schedule, error):
    agent = REINFORCE(cartpole(), learning_rate=schedule, seed=0)
    with pytest.raises(error, match=r"learning_rate \(its schedule's value at progress_remaining=1\)"):
        agent.learn(100, progress=False)
    assert agent.num_timesteps == 0
