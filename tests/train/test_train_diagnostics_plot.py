"""plot.gradient_flow draws one line per record of a GradientMonitor (or diagnose's one), the
layers' values on a log axis, and writes a PNG."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn, optim


@pytest.fixture(autouse=True)
def closed_figures():
    """pyplot keeps every figure until closed, and warns past 20: the suite's earlier figures too."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.close("all")
    yield
    plt.close("all")


def monitored(every="epoch"):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    model = nn.Sequential(nn.Linear(4, 8, rng=0), nn.Tanh(), nn.Linear(8, 8, rng=1), nn.ReLU(), nn.Linear(8, 2, rng=2))
    monitor = gn.GradientMonitor(every=every)
    gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=3,
           batch_size=16, callbacks=[monitor], verbose=0, seed=0)
    return monitor, model, X, y


def test_gradient_flow_draws_each_record_and_writes_a_png(tmp_path):
    monitor, model, X, y = monitored()
    figure = gn.plot.gradient_flow(monitor, path=tmp_path / "flow.png")
    ax = figure.axes[0]
    assert len(ax.lines) == 3 and ax.get_yscale() == "log"
    for line, row in zip(ax.lines, monitor.history("grad_norm")):
        np.testing.assert_array_equal(line.get_ydata(), row)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0 (Linear)", "2 (Linear)", "4 (Linear)"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["epoch 1", "epoch 3"]
    assert (tmp_path / "flow.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    ratios = gn.plot.gradient_flow(monitor, key="update_ratio")
    np.testing.assert_array_equal(ratios.axes[0].lines[-1].get_ydata(), monitor.history("update_ratio")[-1])
    diagnosis = gn.diagnose(model, X, y, loss="cross_entropy")
    figure = gn.plot.gradient_flow(diagnosis, ax=figure.axes[0])  # drawn into a given Axes
    assert len(figure.axes[0].lines) == 4


def test_gradient_flow_refuses_what_it_cannot_draw():
    with pytest.raises(TypeError, match="GradientMonitor"):
        gn.plot.gradient_flow({"grad_norm": [1.0]})
    with pytest.raises(ValueError, match="no records yet"):
        gn.plot.gradient_flow(gn.GradientMonitor())
    monitor, model, X, y = monitored()
    with pytest.raises(ValueError, match="key must be one of"):
        gn.plot.gradient_flow(monitor, key="dead")
    with pytest.raises(ValueError, match="no update ratios"):
        gn.plot.gradient_flow(gn.diagnose(model, X, y, loss="cross_entropy"), key="update_ratio")
