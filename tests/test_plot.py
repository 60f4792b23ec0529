"""Figures: each writes a real PNG; the decision boundary colours by the model's prediction."""

import re
import subprocess
import sys

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn, plot

PNG = b"\x89PNG\r\n\x1a\n"


def is_png(path):
    return path.exists() and path.read_bytes()[:8] == PNG and path.stat().st_size > 5000


def test_import_glassnet_does_not_import_matplotlib():
    code = "import glassnet, glassnet.plot, sys; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_activations_and_losses_figures(tmp_path):
    fig = plot.activations(path=tmp_path / "act.png")
    # the step, then every activation of the registry usable between hidden layers
    assert len(fig.axes) == 1 + len(gn.functional.hidden_activation_names()) and is_png(tmp_path / "act.png")
    assert [ax.get_title() for ax in fig.axes[:6]] == ["step", "sigmoid", "tanh", "relu",
                                                       "leaky_relu (alpha=0.1)", "elu"]
    # The dashed curve of each panel is the derivative, computed by backpropagation.
    sigmoid_axis = fig.axes[1]
    z, derivative = sigmoid_axis.lines[1].get_data()
    s = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(derivative, s * (1 - s), atol=1e-6)
    fig = plot.loss_functions(path=tmp_path / "nested" / "loss.png")
    assert len(fig.axes) == 3 and is_png(tmp_path / "nested" / "loss.png")
    error, mse = fig.axes[0].lines[0].get_data()
    np.testing.assert_allclose(mse, error ** 2, rtol=1e-5)


class Halfplane(nn.Module):
    """A fixed model: logit x1 - x2, so class 1 exactly where x1 > x2."""

    def forward(self, x):
        return x[:, 0:1] - x[:, 1:2]


def test_decision_boundary_colours_by_prediction(tmp_path):
    X = np.random.default_rng(0).normal(size=(40, 2))
    y = (X[:, 0] > X[:, 1]).astype(int)
    fig = plot.decision_boundary(Halfplane(), X, y, from_logits=True, title="x1 > x2", path=tmp_path / "b.png")
    assert is_png(tmp_path / "b.png")
    ax = fig.axes[0]
    assert ax.get_title() == "x1 > x2"
    points = [collection.get_offsets() for collection in ax.collections[-2:]]
    np.testing.assert_allclose(points[0], X[y == 0])
    np.testing.assert_allclose(points[1], X[y == 1])


def test_decision_boundary_multiclass_and_predict_objects(tmp_path):
    gn.seed(0)
    model = nn.Sequential(nn.Linear(2, 5), nn.Tanh(), nn.Linear(5, 3))
    X = np.random.default_rng(1).normal(size=(30, 2)).astype(np.float32)
    y = np.random.default_rng(2).integers(0, 3, 30)
    model.train()
    plot.decision_boundary(model, X, y, path=tmp_path / "multi.png")
    assert is_png(tmp_path / "multi.png") and model.training  # mode restored

    class Thresholder:
        def predict(self, points):
            return (points[:, 0] > 0).astype(int)

    plot.decision_boundary(Thresholder(), X, (X[:, 0] > 0).astype(int), path=tmp_path / "p.png")
    assert is_png(tmp_path / "p.png")


def _filled_areas(fig):
    """The vertices of the coloured region of each class (empty where no point gets that class)."""
    return [path.vertices for path in fig.axes[0].collections[0].get_paths()]


def test_decision_boundary_cuts_one_column_where_from_logits_says():
    X = np.random.default_rng(0).normal(size=(40, 2))
    y = (X[:, 0] > X[:, 1]).astype(int)
    logits = _filled_areas(plot.decision_boundary(Halfplane(), X, y, from_logits=True, resolution=30))
    assert [len(area) > 0 for area in logits] == [True, True]
    probabilities = nn.Sequential(Halfplane(), nn.Sigmoid())
    # Probabilities cut at 0.5 draw the same line as their logits cut at 0 ...
    same = _filled_areas(plot.decision_boundary(probabilities, X, y, from_logits=False, resolution=30))
    for area, expected in zip(same, logits):
        np.testing.assert_allclose(area, expected)
    # ... and read as logits (every sigmoid > 0) they would colour the whole plane class 1.
    wrong = _filled_areas(plot.decision_boundary(probabilities, X, y, from_logits=True, resolution=30))
    assert [len(area) > 0 for area in wrong] == [False, True]
    with pytest.raises(TypeError, match="from_logits must be True, False or None, got str 'probabilities'"):
        plot.decision_boundary(probabilities, X, y, from_logits="probabilities")
    with pytest.raises(ValueError, match="one output column; say whether it gives logits"):
        plot.decision_boundary(probabilities, X, y)  # never guessed


def test_history_and_optimizer_figures(tmp_path):
    logs = {"loss": [1.0, 0.5, 0.3], "val_loss": [1.1, 0.7, 0.6], "accuracy": [0.5, 0.8, 0.9],
            "val_accuracy": [0.5, 0.7, 0.8]}
    fig = plot.history(logs, path=tmp_path / "h.png")
    assert len(fig.axes) == 2 and is_png(tmp_path / "h.png")
    np.testing.assert_allclose(fig.axes[0].lines[1].get_data()[1], logs["val_loss"])
    fig = plot.optimizer_comparison({"SGD": [1, 0.6, 0.4], "Adam": [1, 0.3, 0.1]}, path=tmp_path / "o.png")
    assert [line.get_label() for line in fig.axes[0].lines] == ["SGD", "Adam"] and is_png(tmp_path / "o.png")


def test_plot_errors():
    with pytest.raises(ValueError, match=r"shape \(n, 2\), got \(4, 3\)"):
        plot.decision_boundary(Halfplane(), np.zeros((4, 3)), np.zeros(4))
    with pytest.raises(ValueError, match="'loss'"):
        plot.history({"accuracy": [1.0]})
    with pytest.raises(ValueError, match="at least one curve"):
        plot.optimizer_comparison({})


def test_activations_figure_takes_registry_names_and_parameters():
    fig = plot.activations(names=["elu", "logistic"], parameters={"elu": {"alpha": 0.5}})
    assert [ax.get_title() for ax in fig.axes] == ["elu (alpha=0.5)", "logistic"]
    z, values = fig.axes[0].lines[0].get_data()
    np.testing.assert_allclose(values, np.where(z > 0, z, 0.5 * np.expm1(z)), atol=1e-12)
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        plot.activations(names=["swish"])
    with pytest.raises(TypeError, match="alpha must be a real number"):
        plot.activations(names=["elu"], parameters={"elu": {"alpha": "big"}})


@pytest.mark.parametrize("X, y, options, error, message", [
    (np.zeros((0, 2)), np.zeros(0), {}, ValueError, "no points to draw"),
    (np.array([[0.0, np.nan], [1.0, 1.0]]), np.array([0, 1]), {}, ValueError, "X holds NaN or infinite values"),
    (np.array([["a", "b"], ["c", "d"]]), np.array([0, 1]), {}, TypeError, "X must be numeric"),
    (np.eye(2), np.array(["cat", "dog"]), {}, TypeError, "y's labels (dtype <U3) and the model's predicted"),
    (np.eye(2), np.array([0.5, 1.0]), {}, ValueError, "y must hold class labels, got values such as 0.5"),
    (np.eye(2), np.array([0, 1]), {"resolution": 0}, ValueError, "resolution must be an int >= 2, got 0"),
    (np.eye(2), np.array([0, 1]), {"resolution": 100_000}, ValueError, "resolution=100000 would score 10,000,000,000"),
])
def test_decision_boundary_refuses_what_it_cannot_draw_before_drawing(X, y, options, error, message):
    with pytest.raises(error, match=re.escape(message)):
        plot.decision_boundary(nn.Sequential(nn.Linear(2, 2, rng=0)), X, y, **options)


def test_decision_boundary_draws_any_labels_a_predictor_gives(tmp_path):
    X = np.random.default_rng(0).normal(size=(40, 2))
    signs = np.where(X[:, 0] > 0, 1, -1)  # the perceptron's -1/+1

    class Sign:
        def predict(self, points):
            return np.where(points[:, 0] > 0, 1, -1)

    fig = plot.decision_boundary(Sign(), X, signs, resolution=30)
    assert [len(area) > 0 for area in _filled_areas(fig)] == [True, True]  # -1 is coloured too
    assert [text.get_text() for text in fig.axes[0].get_legend().get_texts()] == ["class -1", "class 1"]
    names = np.where(signs > 0, "dog", "cat")

    class Names:
        def predict(self, points):
            return np.where(points[:, 0] > 0, "dog", "cat")

    fig = plot.decision_boundary(Names(), X, names, resolution=30)
    assert [text.get_text() for text in fig.axes[0].get_legend().get_texts()] == ["class cat", "class dog"]
    points = [collection.get_offsets() for collection in fig.axes[0].collections[-2:]]
    np.testing.assert_allclose(points[0], X[names == "cat"])
