"""examples/rl_cartpole.py at its fast setting (seed 0): REINFORCE, with a tenth of its budget
(10,000 steps), already balances the pole many times longer than a random policy (about 22
steps); the table prints what main returns; the figure is written. The full setting's numbers
over seeds 0, 1, 2 are in the lead's note."""

import gymnasium as gym

from glassnet.rl import REINFORCE
from test_examples_course import assert_figures, load_example, run_example


def test_reinforce_learns_cartpole_at_the_fast_setting(tmp_path, capsys):
    result, printed = run_example("rl_cartpole", tmp_path, capsys)
    reinforce = result["agents"]["REINFORCE"]
    assert reinforce["budget"] == 10_000 and reinforce["eval_episodes"] == 20
    assert reinforce["first_100_mean"] < 100
    # a random policy lasts about 22 steps; seed 0 evaluates at 474 here
    assert reinforce["eval_mean"] >= 300
    record = reinforce["record"]
    assert record.mean_return(20) > 3 * sum(record.episode_returns[:20]) / 20
    row = f"{reinforce['eval_mean']:.1f} ± {reinforce['eval_std']:.1f}"
    assert "REINFORCE" in printed and row in printed and "10,000" in printed
    solved = [step for step, mean in reinforce["checks"] if mean >= result["threshold"]]
    assert reinforce["timesteps_to_threshold"] == (solved[0] if solved else None)
    assert_figures(result, tmp_path, ["rl_cartpole.png"])


def test_the_solved_check_evaluates_without_changing_the_learning_curve(monkeypatch):
    module = load_example("rl_cartpole")
    monkeypatch.setattr(module, "THRESHOLD", 30.0)      # low enough to be checked within 3,000 steps
    watched = REINFORCE(gym.make("CartPole-v1"), seed=0)
    check = module.SolvedCheck(watched, n_eval=5, seed=0, every=200)
    watched.learn(3000, callback=check, progress=False)
    plain = REINFORCE(gym.make("CartPole-v1"), seed=0).learn(3000, progress=False)
    assert check.checks and check.solved_at == next(s for s, m in check.checks if m >= 30)
    ends = dict(zip(watched.record.episode_timesteps, range(1, 10**6)))
    for step, _ in check.checks:   # checked only where the last 5 episodes all reached the threshold
        assert min(watched.record.episode_returns[ends[step] - 5:ends[step]]) >= 30
    assert watched.record.episode_returns == plain.episode_returns
