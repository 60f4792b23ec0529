"""The README's "Reinforcement learning" block, run as written but for a budget cut to two of
PPO's rollouts (the full 100,000 steps take half a minute; the examples measure those)."""

import re
from pathlib import Path

import numpy as np


def test_readme_reinforcement_learning_block_runs(capsys):
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    code = re.search(r"## Reinforcement learning.*?```python\n(.*?)```", readme, re.S).group(1)
    assert "total_timesteps=100_000" in code
    namespace: dict = {}
    exec(compile(code.replace("total_timesteps=100_000", "total_timesteps=4_096, progress=False"),
                 "README.md", "exec"), namespace)
    record, agent = namespace["record"], namespace["agent"]
    assert agent.num_timesteps == 4_096 and record.n_episodes > 50
    mean, std = (float(value) for value in capsys.readouterr().out.strip().strip("()").split(","))
    assert np.isfinite(mean) and np.isfinite(std) and mean > 9
