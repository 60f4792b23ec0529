"""glassnet.plot.learning_curve draws a record; glassnet.rl imports neither gymnasium nor matplotlib."""

import subprocess
import sys

import numpy as np
import pytest

from glassnet import plot
from glassnet.rl import Record

PNG = b"\x89PNG\r\n\x1a\n"


def record_of(returns, length=10):
    record = Record()
    for episode, value in enumerate(returns, start=1):
        record.log_episode(episode * length, float(value), length)
    return record


def test_learning_curve_draws_returns_rolling_mean_and_threshold(tmp_path):
    record = record_of(range(1, 121))
    fig = plot.learning_curve(record, threshold=475, path=tmp_path / "curve.png")
    returns, mean, solved = fig.axes[0].get_lines()
    np.testing.assert_array_equal(returns.get_xdata(), np.arange(1, 121) * 10)
    np.testing.assert_array_equal(returns.get_ydata(), np.arange(1, 121))
    assert mean.get_ydata()[9] == 5.5 and mean.get_ydata()[-1] == np.mean(np.arange(21, 121))
    assert solved.get_ydata()[0] == 475 and solved.get_label() == "solved (475)"
    assert (tmp_path / "curve.png").read_bytes()[:8] == PNG


def test_learning_curves_of_several_agents_share_one_axes():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    plot.learning_curve(record_of([1, 2, 3]), threshold=2, ax=ax, label="A", window=2)
    plot.learning_curve(record_of([3, 2, 1]), threshold=2, ax=ax, label="B", window=2)
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["A: episode return", "A: mean of the last 2", "solved (2)",
                      "B: episode return", "B: mean of the last 2"]
    np.testing.assert_allclose(ax.get_lines()[4].get_ydata(), [3.0, 2.5, 1.5])
    plt.close(fig)


def test_learning_curve_bad_input():
    with pytest.raises(TypeError, match="needs a glassnet.rl.Record"):
        plot.learning_curve({"returns": [1, 2]})
    with pytest.raises(TypeError, match="threshold"):
        plot.learning_curve(record_of([1]), threshold="high")
    with pytest.raises(ValueError, match="window"):
        plot.learning_curve(record_of([1]), window=0)


def test_import_rl_needs_neither_gymnasium_nor_matplotlib():
    code = ("import glassnet, glassnet.rl, sys; "
            "print('gymnasium' in sys.modules, 'matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"
