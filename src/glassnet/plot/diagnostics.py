"""Figures of the training diagnostics: :func:`gradient_flow`, the per-layer gradient norms of a
:class:`~glassnet.train.GradientMonitor` or of :func:`~glassnet.train.diagnose`'s result."""

from __future__ import annotations

import numpy as np

from ..train.diagnostics import Diagnosis, GradientMonitor
from ._figures import _finish, _pyplot

__all__ = ["gradient_flow"]

_KEYS = {"grad_norm": "gradient L2 norm", "weight_norm": "weight L2 norm",
         "update_ratio": "update / weight ratio  ||dW|| / ||W||"}


def gradient_flow(source, ax=None, path=None, *, key="grad_norm", title=None):
    """Per-layer gradient norms on a log axis, one line per record (epoch or recorded batch),
    from the first record (light) to the last (dark): a vanishing gradient is a line that falls
    towards the first layer, an exploding one a line that climbs.

    Parameters
    ----------
    source : GradientMonitor or Diagnosis
        A monitor after (or during) ``fit``, or ``glassnet.diagnose(...)``'s result (one line).
    ax : matplotlib Axes, optional
        Draw there (the figure is the Axes' figure); a new figure otherwise.
    path : str or PathLike, optional
        Write the figure there as PNG.
    key : {"grad_norm", "weight_norm", "update_ratio"}
        What to draw per layer. Values that are 0 or not finite (a layer no gradient reaches,
        a zero weight's ratio) cannot sit on a log axis and leave gaps.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> from glassnet import nn
    >>> model = nn.Sequential(nn.Linear(4, 8, rng=0), nn.Sigmoid(), nn.Linear(8, 2, rng=1))
    >>> diagnosis = gn.diagnose(model, np.ones((8, 4)), np.arange(8) % 2, loss="cross_entropy")
    >>> figure = gn.plot.gradient_flow(diagnosis)
    >>> [label.get_text() for label in figure.axes[0].get_xticklabels()]
    ['0 (Linear)', '2 (Linear)']
    """
    if not isinstance(source, (GradientMonitor, Diagnosis)):
        raise TypeError(f"source must be a GradientMonitor or the result of glassnet.diagnose, got "
                        f"{type(source).__name__}")
    if key not in _KEYS:
        raise ValueError(f"key must be one of {sorted(_KEYS)}, got {key!r}")
    if not source.records:
        raise ValueError("the monitor has no records yet: pass it to fit(callbacks=[...]) first")
    table = source.history(key)
    if key == "update_ratio" and isinstance(source, Diagnosis):
        raise ValueError("a diagnosis takes no step, so it has no update ratios; draw 'grad_norm' or 'weight_norm'")
    plt = _pyplot()
    figure, ax = (plt.subplots(figsize=(max(5.0, 0.7 * len(source.layers) + 2), 4)) if ax is None
                  else (ax.figure, ax))
    shown = np.where(np.isfinite(table) & (table > 0), table, np.nan)
    colors = plt.get_cmap("viridis_r")(np.linspace(0.15, 1.0, len(shown)))
    positions = np.arange(len(source.layers))
    for index, (row, color) in enumerate(zip(shown, colors)):
        record = source.records[index]
        if index in (0, len(shown) - 1):  # only the first and last in the legend
            batch = "" if record["batch"] is None else f", batch {record['batch'] + 1}"
            label = "at the current weights" if isinstance(source, Diagnosis) else f"epoch {record['epoch'] + 1}{batch}"
        else:
            label = None
        ax.plot(positions, row, "o-", color=color, label=label)
    ax.set_yscale("log")
    ax.set_xticks(positions)
    ax.set_xticklabels([f"{name} ({source.classes[name]})" if name in source.classes else name
                        for name in source.layers], rotation=30, ha="right")
    ax.set_xlabel("layer (input side on the left)")
    ax.set_ylabel(_KEYS[key])
    ax.set_title(title or f"{_KEYS[key].split('  ')[0]} per layer")
    ax.legend(fontsize=8)
    return _finish(figure, path)
