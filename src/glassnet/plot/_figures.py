"""The first half's figures: decision boundaries, loss curves, activations with their derivatives,
the loss functions, an optimizer comparison and reinforcement-learning curves (re-exported by
:mod:`glassnet.plot`), and the two helpers every figure module shares (:func:`_pyplot`, :func:`_finish`)."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np

from .. import functional as F
from .. import losses as _losses
from .._checks import boolean, integer, real_number
from ..tensor import Tensor
from ..train import metrics as _metrics
from ..train import predict


def _pyplot():
    import matplotlib

    if matplotlib.get_backend().lower() != "agg":
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _finish(fig, path):
    fig.tight_layout()
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png", dpi=110)
    return fig


def decision_boundary(model, X, y, *, from_logits=None, title=None, resolution=200, path=None, ax=None):
    """Colour the plane by the class the model predicts, and draw the data points on top.

    Parameters
    ----------
    model : callable
        A glassnet Module (one output column for two classes, or one column per class) or
        anything with ``predict(X)`` returning class labels (a scikit-learn-style estimator such
        as ``glassnet.sklearn.Perceptron``).
    X : array, shape (n_samples, 2)
        The points; only 2-D inputs can be drawn.
    y : array, shape (n_samples,)
        Their integer class labels.
    from_logits : bool or None
        What a one-column Module outputs, which it must be told: True for logits (no final
        Sigmoid, trained with ``binary_cross_entropy_with_logits``), class 1 where the output is
        > 0; False for probabilities (a final Sigmoid, trained with ``binary_cross_entropy``),
        class 1 where it is > 0.5. The loss says which: ``from_logits=loss.from_logits``. None
        (the default) is fine for one column per class, which takes the arg-max, and an error
        for one column: the cut is never guessed from the outputs.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> model = gn.nn.Sequential(gn.nn.Linear(2, 1, rng=0), gn.nn.Sigmoid())
    >>> X = np.array([[0.0, 0.0], [1.0, 1.0]]); y = np.array([0, 1])
    >>> fig = gn.plot.decision_boundary(model, X, y, from_logits=False, resolution=20)
    """
    X, y, resolution = _drawable(X, y, resolution)
    from_logits = boolean(from_logits, "from_logits", allow_none=True)
    plt = _pyplot()
    margin = 0.1 * (X.max(axis=0) - X.min(axis=0)) + 1e-3
    low, high = X.min(axis=0) - margin, X.max(axis=0) + margin
    xs, ys = np.linspace(low[0], high[0], resolution), np.linspace(low[1], high[1], resolution)
    grid_x, grid_y = np.meshgrid(xs, ys)
    points = np.column_stack([grid_x.ravel(), grid_y.ravel()])
    if hasattr(model, "predict") and not hasattr(model, "parameters"):
        classes = np.asarray(model.predict(points))
    else:
        scores = predict(model, points)
        if scores.ndim == 1 or scores.shape[1] == 1:
            if from_logits is None:
                raise ValueError("decision_boundary: the model has one output column; say whether it gives "
                                 "logits (from_logits=True, cut at 0) or probabilities (from_logits=False, "
                                 "cut at 0.5), e.g. from_logits=loss.from_logits")
            classes = (scores.reshape(-1) > _metrics.logits_threshold(from_logits)).astype(int)
        else:
            classes = scores.argmax(axis=1)
    labels = _labels(y, classes)  # class k of the plot is labels[k] (-1/+1 and names drawn too)
    if ax is None:
        fig, ax = plt.subplots(figsize=(5, 4.5))
    else:
        fig = ax.figure
    n_classes = len(labels)
    cmap = plt.get_cmap("tab10")
    levels = np.arange(n_classes + 1) - 0.5
    ax.contourf(grid_x, grid_y, np.searchsorted(labels, classes).reshape(grid_x.shape), levels=levels,
                colors=[cmap(k) for k in range(n_classes)], alpha=0.25)
    for k, label in enumerate(labels):
        mask = y == label
        ax.scatter(X[mask, 0], X[mask, 1], s=12, color=cmap(k), edgecolor="k", linewidth=0.3, label=f"class {label}")
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.legend(loc="best", fontsize=8)
    if title:
        ax.set_title(title)
    return _finish(fig, path)


_MAX_RESOLUTION = 2000  # 4 million points scored: finer than any figure shows


def _drawable(X, y, resolution):
    """``(X, y, resolution)`` checked before anything is drawn: 2-D finite points, one label
    each (numbers that are whole, or names), a grid of 2 to 2000 points a side."""
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"decision_boundary draws 2-D inputs: X must have shape (n, 2), got {X.shape}")
    if X.dtype.kind not in "biuf":
        raise TypeError(f"decision_boundary: X must be numeric, got dtype {X.dtype}")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.reshape(-1)
    if y.ndim != 1 or len(y) != len(X):
        raise ValueError(f"decision_boundary: {len(X)} points but labels of shape {y.shape}")
    if len(X) == 0:
        raise ValueError("decision_boundary: X is empty; there are no points to draw")
    if not np.all(np.isfinite(X)):
        raise ValueError("decision_boundary: X holds NaN or infinite values, which cannot be drawn")
    if y.dtype.kind == "f" and not np.all(np.isfinite(y) & (y == np.round(y))):
        odd = y[~(np.isfinite(y) & (y == np.round(y)))][0]
        raise ValueError(f"decision_boundary: y must hold class labels, got values such as {odd}")
    resolution = integer(resolution, "resolution", minimum=2)
    if resolution > _MAX_RESOLUTION:
        raise ValueError(f"resolution={resolution} would score {resolution ** 2:,} points; at most "
                         f"{_MAX_RESOLUTION} a side")
    return X, y, resolution


def _labels(y: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """The sorted labels of ``y`` and of the predicted ``classes``, which must be of one kind."""
    if (y.dtype.kind in "biuf") != (classes.dtype.kind in "biuf"):
        raise TypeError(f"decision_boundary: y's labels (dtype {y.dtype}) and the model's predicted classes "
                        f"({classes.dtype}) are not of one kind; a Module predicts class numbers 0, 1, ...")
    return np.unique(np.concatenate([np.unique(y), np.unique(classes)]))


def history(history, *, title=None, path=None):
    """Training (and validation) loss per epoch, and each metric on a second panel.

    ``history`` is a History (its ``.history`` dict) or a dict ``{"loss": [...], "val_loss":
    [...], "accuracy": [...], ...}``.
    """
    logs = getattr(history, "history", history)
    if not isinstance(logs, dict) or "loss" not in logs:
        raise ValueError("history needs a History or a dict with a 'loss' list")
    plt = _pyplot()
    metrics = [k for k in logs if not k.startswith("val_") and k not in ("loss", "lr", "epoch")]
    fig, axes = plt.subplots(1, 1 + bool(metrics), figsize=(5 + 4.5 * bool(metrics), 4), squeeze=False)
    for ax, keys in zip(axes[0], [["loss"], metrics]):
        for key in keys:
            epochs = np.arange(1, len(logs[key]) + 1)
            ax.plot(epochs, logs[key], label=f"train {key}")
            if f"val_{key}" in logs:
                ax.plot(np.arange(1, len(logs[f"val_{key}"]) + 1), logs[f"val_{key}"], "--", label=f"validation {key}")
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss" if keys == ["loss"] else "metric")
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return _finish(fig, path)


def _derivative(function, z: np.ndarray) -> np.ndarray:
    """d function / dz at each z, by backpropagation (the same gradient training uses)."""
    x = Tensor(z, requires_grad=True)
    function(x).sum().backward()
    assert x.grad is not None  # backward fills the gradient of every leaf that requires one
    return x.grad


# Parameters the figure draws with where the default would hide the shape: a slope of 0.01 is
# invisible at this scale.
_FIGURE_PARAMETERS = {"leaky_relu": {"alpha": 0.1}}


def activations(*, names=None, parameters=None, path=None):
    """Each activation function of the registry with its derivative, one panel each.

    Parameters
    ----------
    names : sequence of str, optional
        Registry names (``glassnet.functional.ACTIVATIONS``). Default: the perceptron's step, then
        every activation usable between hidden layers (``hidden_activation_names()``).
    parameters : dict, optional
        Name -> keyword parameters of that activation, e.g. ``{"elu": {"alpha": 0.5}}``; default:
        leaky_relu with alpha = 0.1 (0.01 would look like a ReLU), the others at their defaults.
    """
    names = ("step", *F.hidden_activation_names()) if names is None else tuple(names)
    parameters = _FIGURE_PARAMETERS if parameters is None else parameters
    plt = _pyplot()
    z = np.linspace(-4, 4, 401)
    columns = 4
    rows = -(-len(names) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 2.8 * rows), squeeze=False)
    for ax in axes.flat[len(names):]:
        ax.remove()
    for ax, name in zip(axes.flat, names):
        entry = F.get_activation(name)
        function = partial(entry.function, **entry.check_parameters(**parameters.get(name, {})))
        ax.plot(z, function(Tensor(z)).numpy(), label="phi(z)")
        ax.plot(z, _derivative(function, z), "--", label="phi'(z)")
        ax.axhline(0, color="gray", linewidth=0.5)
        given = ", ".join(f"{key}={value}" for key, value in parameters.get(name, {}).items())
        ax.set_title(f"{name} ({given})" if given else name)
        ax.legend(fontsize=7)
    return _finish(fig, path)


def loss_functions(*, path=None):
    """The course's loss functions on one figure, each as a function of the prediction:
    regression losses against the error yhat - y; cross-entropy and KL divergence against the
    predicted probability; hinge against the margin y * yhat (targets in {-1, +1})."""
    plt = _pyplot()
    fig, (left, middle, right) = plt.subplots(1, 3, figsize=(13, 4))
    error = np.linspace(-3, 3, 301)
    zero = np.zeros_like(error)
    for name, fn in [("MSE", _losses.mse), ("MAE", _losses.mae), ("Huber (delta=1)", _losses.huber)]:
        left.plot(error, fn(Tensor(error), zero, reduction="none").numpy(), label=name)
    left.set_xlabel("error yhat - y")
    left.set_title("regression")
    left.legend()
    p = np.linspace(0.01, 0.99, 197)
    middle.plot(p, _losses.binary_cross_entropy(Tensor(p), np.ones_like(p), reduction="none").numpy(),
                label="binary cross-entropy, y = 1")
    two = np.column_stack([p, 1 - p])
    middle.plot(p, _losses.kl_div(Tensor(two), np.tile([0.7, 0.3], (len(p), 1)), reduction="none").numpy(),
                label="KL(y || yhat), y = (0.7, 0.3)")
    middle.set_xlabel("predicted probability yhat of class 1")
    middle.set_title("probabilities")
    middle.set_ylim(0, 5)
    middle.legend(fontsize=8)
    margin = np.linspace(-2, 3, 251)
    right.plot(margin, _losses.hinge(Tensor(margin), np.ones_like(margin), reduction="none").numpy(),
               label="hinge max(0, 1 - y yhat)")
    right.set_xlabel("margin y * yhat")
    right.set_title("margins (y in {-1, +1})")
    right.legend(fontsize=8)
    return _finish(fig, path)


def optimizer_comparison(curves: dict, *, title="optimizers compared", path=None):
    """Loss per epoch for several optimizers on one problem: ``curves`` maps a name
    (e.g. "SGD", "momentum", "Adagrad", "RMSprop", "Adam") to its list of losses."""
    if not curves:
        raise ValueError("optimizer_comparison needs at least one curve")
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, values in curves.items():
        ax.plot(np.arange(1, len(values) + 1), values, label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss")
    ax.set_yscale("log")
    ax.set_title(title)
    ax.legend()
    return _finish(fig, path)


def learning_curve(record, threshold=None, ax=None, *, window=100, label=None, title=None, path=None):
    """An agent's return per episode against the environment steps, with its rolling mean and the
    solved threshold: the figure that says whether an agent learns.

    Parameters
    ----------
    record : glassnet.rl.Record
        What ``agent.learn`` returned (its ``episode_timesteps`` and ``episode_returns``).
    threshold : float, optional
        The return at which the task counts as solved (CartPole-v1: 475), drawn as a dashed line.
    ax : matplotlib Axes, optional
        Draw into it (e.g. one panel per agent, or several agents on one panel); else a new figure.
    window : int
        The rolling mean's number of episodes (100, as "solved" is defined).
    label : str, optional
        The curve's name in the legend (several agents on one Axes).

    Returns
    -------
    matplotlib.figure.Figure
        The figure (written to ``path`` as PNG when given).

    Example
    -------
    >>> import glassnet as gn
    >>> from glassnet.rl import Record
    >>> record = Record()
    >>> for episode in range(1, 51):
    ...     record.log_episode(episode * 20, 10.0 * episode, 20)
    >>> fig = gn.plot.learning_curve(record, threshold=475)
    >>> [line.get_label() for line in fig.axes[0].get_lines()]
    ['episode return', 'mean of the last 100', 'solved (475)']
    """
    steps, returns = getattr(record, "episode_timesteps", None), getattr(record, "episode_returns", None)
    if not isinstance(steps, list) or not isinstance(returns, list) or len(steps) != len(returns):
        raise TypeError(f"learning_curve needs a glassnet.rl.Record, got {type(record).__name__}")
    if threshold is not None:
        threshold = real_number(threshold, "threshold")
    window = integer(window, "window", minimum=1)
    plt = _pyplot()
    fig = ax.figure if ax is not None else plt.subplots(figsize=(6, 4))[1].figure
    ax = ax if ax is not None else fig.axes[0]
    name = f"{label}: " if label else ""
    points = ax.plot(steps, returns, ".", alpha=0.4, markersize=3, label=f"{name}episode return")[0]
    ax.plot(steps, record.rolling_mean(window), color=points.get_color(), label=f"{name}mean of the last {window}")
    if threshold is not None and not any(line.get_label().startswith("solved") for line in ax.get_lines()):
        ax.axhline(threshold, color="black", linestyle="--", linewidth=1, label=f"solved ({threshold:g})")
    ax.set_xlabel("environment steps")
    ax.set_ylabel("return")
    ax.set_title(title or "learning curve")
    ax.legend(fontsize=8)
    return _finish(fig, path)
