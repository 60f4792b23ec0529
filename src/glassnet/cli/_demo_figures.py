"""The course's iris figure: the three decision regions of a softmax network on two of the four
measurements, petal length and width (the two that separate the species), drawn for
``glassnet demo`` beside the circles boundary and for the lecture's iris topic."""

from __future__ import annotations

from pathlib import Path

import numpy as np

PETALS = (2, 3)
"""Columns of petal length and petal width (cm) in the iris data."""


def petal_network(seed: int = 0):
    """A softmax MLP 2-10-3 (the demo's network, ReLU, standardized inputs) trained on petal length
    and width; returns ``(model, (X_train, X_test, y_train, y_test), species names)``."""
    import glassnet as gn
    from glassnet import data, losses, nn

    iris = data.load_iris(seed=seed)
    columns = list(PETALS)
    split = (iris.X_train[:, columns], iris.X_test[:, columns], iris.y_train, iris.y_test)
    gn.seed(seed)
    model = nn.mlp(2, (10,), 3, activation="relu", standardize_with=split[0], rng=seed)
    gn.fit(model, split[0], split[2], loss=losses.cross_entropy, optimizer=gn.optim.Adam(model.parameters(), lr=0.01),
           epochs=200, batch_size=16, seed=seed, verbose=0)
    return model, split, list(iris.target_names or ())


def draw_iris_regions(ax, model, split, names) -> None:
    """The regions on ``ax``, with all 150 flowers on top, named axes and species."""
    from glassnet import plot

    X = np.concatenate([split[0], split[1]])
    y = np.concatenate([split[2], split[3]])
    plot.decision_boundary(model, X, y, title="softmax MLP 2-10-3 on iris: 3 decision regions", ax=ax)
    ax.set_xlabel("petal length (cm)")
    ax.set_ylabel("petal width (cm)")
    handles, _ = ax.get_legend_handles_labels()
    ax.legend(handles, names, loc="upper left", fontsize=8)


def _accuracy(model, X, y) -> float:
    from glassnet import predict

    return float(np.mean(predict(model, X).argmax(axis=1) == y))


def iris_figure(seed: int = 0) -> dict:
    """The regions alone (the lecture's figure): ``{"png": bytes, "train_accuracy", "test_accuracy"}``."""
    from ._lecture_core import png, pyplot

    model, split, names = petal_network(seed)
    fig, ax = pyplot().subplots(figsize=(5.5, 4.5))
    draw_iris_regions(ax, model, split, names)
    return {"png": png(fig), "train_accuracy": _accuracy(model, split[0], split[2]),
            "test_accuracy": _accuracy(model, split[1], split[3])}


def decision_regions(circles_model, circles, seed: int, path: Path) -> tuple:
    """``glassnet demo``'s figure: the circles boundary of ``circles_model`` beside the iris regions,
    written to ``path``; returns the demo's summary row for the petal network."""
    from glassnet import plot

    from ._lecture_core import pyplot

    model, split, names = petal_network(seed)
    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.6))
    plot.decision_boundary(circles_model, circles.X_test, circles.y_test, title="MLP 2-10-2 on circles", ax=left)
    draw_iris_regions(right, model, split, names)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return ("softmax 2-10-3 petals", "iris", _accuracy(model, split[0], split[2]), _accuracy(model, split[1], split[3]),
            "3 regions (>= 0.9)")
