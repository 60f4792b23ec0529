"""Figures for the course's ideas, as PNG files: decision boundaries, loss curves, activations with
their derivatives, the loss functions, and an optimizer comparison.

matplotlib is imported only when a figure is drawn (``import glassnet`` stays light), with the
non-interactive Agg backend, so plots work on machines without a screen. Each function returns
the matplotlib Figure and, when ``path`` is given, writes it there as PNG (the folder is created).

Example
-------
>>> import glassnet as gn
>>> fig = gn.plot.activations(path=None)
>>> [ax.get_title() for ax in fig.axes][:5]
['step', 'sigmoid', 'tanh', 'relu', 'leaky_relu (alpha=0.1)']
"""

from __future__ import annotations

from ._figures import (
    activations,
    decision_boundary,
    history,
    learning_curve,
    loss_functions,
    optimizer_comparison,
)
from .diagnostics import gradient_flow

__all__ = [
    "activations",
    "decision_boundary",
    "gradient_flow",
    "history",
    "learning_curve",
    "loss_functions",
    "optimizer_comparison",
]
