"""examples/rl_cartpole.py at its fast setting (seed 0): REINFORCE, with a tenth of its budget
(10,000 steps), already balances the pole many times longer than a random policy (about 22
steps); the table prints what main returns; the figure is written. The full setting's numbers
over seeds 0, 1, 2 are in the lead's note."""

from test_examples_course import assert_figures, run_example


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
    assert_figures(result, tmp_path, ["rl_cartpole.png"])
