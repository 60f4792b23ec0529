"""Figures for explanations (:mod:`glassnet.explain`): attribution heat maps over images and 1-D
signals, per-feature importance bars, attention weights.

Each draws the numbers it is given as they are (no rescaling of the data; only the colour limits
are chosen), so that what a figure shows can be read back from its artists, and each checks its
arguments before drawing anything.
"""

from __future__ import annotations

import numpy as np

from .._checks import boolean, integer, one_of
from ..tensor import Tensor
from ._figures import _finish, _pyplot

MAX_EXAMPLES = 32  # rows of one attribution figure: more would be unreadable
_SIGNS = ("all", "positive", "negative", "absolute_value")
_KINDS = (None, "image", "signal")


def _real_array(value, name: str, *, min_ndim: int = 1) -> np.ndarray:
    """``value`` (an array-like or a Tensor, whose ``.data`` is used) as a finite float64 array."""
    if isinstance(value, Tensor):
        value = value.data
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {array.dtype}")
    if array.ndim < min_ndim or array.size == 0:
        raise ValueError(f"{name} must be a non-empty array of at least {min_ndim} dimension(s), "
                         f"got shape {array.shape}")
    array = array.astype(np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} holds NaN or infinite values, which cannot be drawn")
    return array


def _signed(values: np.ndarray, sign: str) -> np.ndarray:
    """What is coloured for ``sign`` (Captum's choices): everything, the positive or negative part
    (the other set to 0), or the magnitude."""
    if sign == "positive":
        return np.maximum(values, 0.0)
    if sign == "negative":
        return np.minimum(values, 0.0)
    if sign == "absolute_value":
        return np.abs(values)
    return values


def _limits(values: np.ndarray, sign: str) -> tuple[float, float]:
    """Colour limits of one panel: symmetric around 0 for signed maps, so white means 0."""
    top = float(np.max(np.abs(values))) or 1.0  # an all-zero map: any scale, but not a 0-wide one
    if sign == "all":
        return -top, top
    return (-top, 0.0) if sign == "negative" else (0.0, top)


def _maps(attributions) -> dict[str, np.ndarray]:
    """``attributions`` as a dict name -> array, all of one shape."""
    if isinstance(attributions, dict):
        if not attributions:
            raise ValueError("attributions: the dict is empty; give at least one method's attributions")
        maps = {}
        for name, values in attributions.items():
            if not isinstance(name, str):
                raise TypeError(f"attributions: the dict's keys are the methods' names (str), got {name!r}")
            maps[name] = _real_array(values, f"attributions[{name!r}]", min_ndim=2)
    else:
        maps = {"attribution": _real_array(attributions, "attributions", min_ndim=2)}
    shapes = {name: values.shape for name, values in maps.items()}
    if len(set(shapes.values())) > 1:
        raise ValueError(f"attributions: every method's attributions must have one shape, got {shapes}")
    return maps


def _layout(shape: tuple, kind: str | None) -> str:
    """Whether arrays of ``shape`` are images or signals; 3-D is (N, H, W) unless kind='signal'."""
    ndim = len(shape)
    if kind is None:
        kind = {2: "signal", 3: "image", 4: "image"}.get(ndim)
    allowed = {"image": (3, 4), "signal": (2, 3)}
    if kind is None or ndim not in allowed[kind]:
        raise ValueError(f"attributions must have shape (N, C, H, W) or (N, H, W) for images, (N, L) or "
                         f"(N, C, L) for signals (kind='signal' for the 3-D one), got {shape}"
                         + (f" with kind={kind!r}" if kind else ""))
    if shape[0] > MAX_EXAMPLES:
        raise ValueError(f"attributions: {shape[0]} examples would be {shape[0]} rows; draw at most "
                         f"{MAX_EXAMPLES} at a time (e.g. attributions[:8])")
    return kind


def attributions(attributions, inputs=None, *, kind=None, sign="all", labels=None, cmap=None,
                 title=None, path=None):
    """Attribution heat maps, one row per example, one column per method (the input first).

    Images ``(N, C, H, W)`` or ``(N, H, W)``: each method's map, summed over the channels as
    Captum's ``visualize_image_attr`` does, drawn as a heat map; the input in the first column
    (grey for one channel, colour for three, the channels' mean otherwise). Signals ``(N, L)`` or
    ``(N, C, L)`` (``kind="signal"`` for this one): each channel of the input drawn as a line over
    a colour strip of the attribution (summed over the channels) at each position.

    Parameters
    ----------
    attributions : array or Tensor, or dict of str -> array
        One method's attributions, or several methods' (a dict name -> array, all of one shape),
        drawn side by side in the dict's order. At most 32 examples (rows).
    inputs : array or Tensor, optional
        The explained inputs, of the attributions' shape.
    kind : None, "image" or "signal"
        None: 4-D and 3-D arrays are images, 2-D ones signals.
    sign : "all", "positive", "negative" or "absolute_value"
        What is coloured (Captum's names): the signed values on a diverging map centred on 0 (red
        positive, blue negative), or the positive part, the negative part, the magnitude.
    labels : sequence of str, optional
        One caption per example (e.g. ``"label 3, predicted 3"``), written left of its row.
    cmap : str, optional
        A matplotlib colour map; default "bwr" for sign="all", "Reds" / "Blues_r" / "Reds" else.

    Returns
    -------
    matplotlib.figure.Figure
        The figure (written to ``path`` as PNG when given).

    Notes
    -----
    Each panel has its own colour limits (the largest magnitude of its map; Captum scales each
    map too), so a panel shows where its method puts the weight, not how much.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> maps = {"saliency": np.ones((2, 1, 8, 8)), "integrated gradients": -np.ones((2, 1, 8, 8))}
    >>> fig = gn.plot.attributions(maps, inputs=np.zeros((2, 1, 8, 8)))
    >>> [ax.get_title() for ax in fig.axes[:3]]
    ['input', 'saliency', 'integrated gradients']
    """
    maps = _maps(attributions)
    shape = next(iter(maps.values())).shape
    kind = _layout(shape, one_of(kind, "kind", _KINDS))
    sign = one_of(sign, "sign", _SIGNS)
    inputs, labels = _inputs_and_labels(inputs, labels, shape)
    if cmap is None:
        cmap = {"all": "bwr", "negative": "Blues_r"}.get(sign, "Reds")
    plt = _pyplot()
    columns = len(maps) + (inputs is not None)
    size = (2.2, 2.2) if kind == "image" else (3.6, 1.6)
    fig, axes = plt.subplots(shape[0], columns, figsize=(size[0] * columns, size[1] * shape[0]), squeeze=False)
    for row in range(shape[0]):
        panels = axes[row]
        if inputs is not None:
            _draw_input(panels[0], inputs[row], kind)
            panels = panels[1:]
        for ax, values in zip(panels, maps.values()):
            heat = _signed(values[row], sign)
            if kind == "image":
                heat = heat.sum(axis=0) if heat.ndim == 3 else heat
                low, high = _limits(heat, sign)
                ax.imshow(heat, cmap=cmap, vmin=low, vmax=high)
                ax.set_xticks([])
                ax.set_yticks([])
            else:
                heat = heat.sum(axis=0) if heat.ndim == 2 else heat
                _draw_signal(ax, heat, None if inputs is None else inputs[row], cmap, _limits(heat, sign))
        if labels is not None:
            axes[row][0].set_ylabel(labels[row], fontsize=8)
    names = (["input"] if inputs is not None else []) + list(maps)
    for ax, name in zip(axes[0], names):
        ax.set_title(name, fontsize=9)
    if title:
        fig.suptitle(title)
    return _finish(fig, path)


def _inputs_and_labels(inputs, labels, shape: tuple):
    """The inputs (of the attributions' shape) and one caption per example, checked."""
    if inputs is not None:
        inputs = _real_array(inputs, "inputs", min_ndim=2)
        if inputs.shape != shape:
            raise ValueError(f"inputs must have the attributions' shape {shape}, got {inputs.shape}")
    if labels is not None:
        if isinstance(labels, str):
            raise TypeError(f"labels must be a sequence of captions, one per example, got the str {labels!r}")
        labels = [str(label) for label in labels]
        if len(labels) != shape[0]:
            raise ValueError(f"labels: one per example ({shape[0]}), got {len(labels)}")
    return inputs, labels


def _draw_input(ax, image: np.ndarray, kind: str) -> None:
    if kind == "signal":
        for channel in np.atleast_2d(image):
            ax.plot(np.arange(channel.shape[0]), channel, color="black", linewidth=1)
        return
    if image.ndim == 3 and image.shape[0] == 3:  # RGB, scaled into [0, 1] for imshow
        low, high = image.min(), image.max()
        ax.imshow(np.moveaxis((image - low) / ((high - low) or 1.0), 0, -1))
    else:
        ax.imshow(image.mean(axis=0) if image.ndim == 3 else image, cmap="gray")
    ax.set_xticks([])
    ax.set_yticks([])


def _draw_signal(ax, heat: np.ndarray, signal, cmap: str, limits: tuple[float, float]) -> None:
    """The attribution as a colour strip under the signal's lines (one per channel)."""
    length = heat.shape[0]
    if signal is None:
        bottom, top = 0.0, 1.0
    else:
        lines = np.atleast_2d(signal)
        bottom, top = float(lines.min()), float(lines.max())
        pad = 0.05 * ((top - bottom) or 1.0)
        bottom, top = bottom - pad, top + pad
    ax.imshow(heat[None, :], cmap=cmap, vmin=limits[0], vmax=limits[1], aspect="auto",
              extent=(-0.5, length - 0.5, bottom, top), interpolation="nearest")
    if signal is not None:
        for channel in np.atleast_2d(signal):
            ax.plot(np.arange(length), channel, color="black", linewidth=1)
    else:
        ax.set_yticks([])
    ax.set_xlim(-0.5, length - 0.5)
    ax.set_ylim(bottom, top)


def feature_importance(values, feature_names=None, errors=None, *, sort=True, top_k=None, title=None,
                       xlabel="importance", color="tab:blue", ax=None, path=None):
    """A horizontal bar per feature, the most important on top, with error bars when given.

    Parameters
    ----------
    values : array or Tensor, shape (n_features,)
        One number per feature: a mean |attribution|, a permutation importance (the score's drop).
    feature_names : sequence of str, optional
        Default ``"feature 0"``, ``"feature 1"``, ...
    errors : array, shape (n_features,), optional
        Non-negative half-widths of the error bars (e.g. ``importances_std``).
    sort : bool
        Order the bars by |value|, largest on top (True), or keep the features' order, first on top.
    top_k : int, optional
        Draw only the ``top_k`` largest |values| (with ``sort``) or the first ``top_k`` features.
    ax : matplotlib Axes, optional
        Draw into it (e.g. two methods side by side); else a new figure.

    Returns
    -------
    matplotlib.figure.Figure
        The figure (written to ``path`` as PNG when given).

    Example
    -------
    >>> import glassnet as gn
    >>> fig = gn.plot.feature_importance([0.1, 0.5, 0.2], ["age", "dose", "weight"], errors=[0.01, 0.05, 0.02])
    >>> [label.get_text() for label in fig.axes[0].get_yticklabels()]
    ['dose', 'weight', 'age']
    """
    values = _real_array(values, "values")
    if values.ndim != 1:
        raise ValueError(f"values must have shape (n_features,), got {values.shape}")
    n_features = values.shape[0]
    names = [f"feature {index}" for index in range(n_features)] if feature_names is None else \
        [str(name) for name in feature_names]
    if len(names) != n_features:
        raise ValueError(f"feature_names: one per feature ({n_features}), got {len(names)}")
    if errors is not None:
        errors = _real_array(errors, "errors")
        if errors.shape != values.shape:
            raise ValueError(f"errors must have the values' shape {values.shape}, got {errors.shape}")
        if np.any(errors < 0):
            raise ValueError(f"errors are half-widths and must be >= 0, got {errors.min():g}")
    sort = boolean(sort, "sort")
    top_k = n_features if top_k is None else min(integer(top_k, "top_k", minimum=1), n_features)
    order = np.argsort(-np.abs(values), kind="stable") if sort else np.arange(n_features)
    order = order[:top_k]
    plt = _pyplot()
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 0.8 + 0.28 * top_k))
    else:
        fig = ax.figure
    positions = np.arange(top_k)
    ax.barh(positions, values[order], xerr=None if errors is None else errors[order], color=color,
            capsize=2 if errors is not None else 0)
    ax.set_yticks(positions)
    ax.set_yticklabels([names[index] for index in order], fontsize=8)
    ax.invert_yaxis()  # the first bar (the most important) on top
    ax.axvline(0, color="gray", linewidth=0.5)
    ax.set_xlabel(xlabel)
    if title:
        ax.set_title(title)
    return _finish(fig, path)


def attention_map(weights, tokens=None, *, source_tokens=None, average_heads=False, cmap="viridis",
                  title=None, ax=None, path=None):
    """Attention weights as a grid: row i (a query position) says how much it attends to each
    column j (a key position); one panel per head.

    Parameters
    ----------
    weights : array or Tensor, shape (L, S), (heads, L, S) or (1, heads, L, S)
        One example's weights, e.g. ``glassnet.explain.attention_maps(model, x)[name][i]``
        (that function returns (N, heads, L, S): pick one example).
    tokens : sequence of str, optional
        The L query positions' names (rows); also the columns' when ``source_tokens`` is None
        and S == L (self-attention).
    source_tokens : sequence of str, optional
        The S key positions' names (columns).
    average_heads : bool
        Draw the mean over the heads in one panel instead of one panel per head.
    ax : matplotlib Axes, optional
        Draw into it; only for one panel (a 2-D ``weights`` or ``average_heads=True``).

    Returns
    -------
    matplotlib.figure.Figure
        The figure (written to ``path`` as PNG when given).

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> weights = np.full((2, 3, 3), 1 / 3)
    >>> fig = gn.plot.attention_map(weights, tokens=["the", "cat", "sat"])
    >>> [ax.get_title() for ax in fig.axes if ax.get_title()]
    ['head 0', 'head 1']
    """
    weights = _real_array(weights, "weights", min_ndim=2)
    if weights.ndim == 4 and weights.shape[0] == 1:
        weights = weights[0]
    if weights.ndim not in (2, 3):
        raise ValueError(f"weights must have shape (L, S) or (heads, L, S) (one example), got {weights.shape}; "
                         "for the (N, heads, L, S) of explain.attention_maps draw weights[i]")
    heads = weights[None] if weights.ndim == 2 else weights
    if boolean(average_heads, "average_heads"):
        heads = heads.mean(axis=0, keepdims=True)
    queries, keys = heads.shape[1:]
    rows = _token_names(tokens, queries, "tokens", "L (the queries)")
    if source_tokens is None and rows is not None and keys != queries:
        raise ValueError(f"tokens name the {queries} queries; the {keys} keys need source_tokens")
    columns = _token_names(source_tokens, keys, "source_tokens", "S (the keys)") if source_tokens is not None \
        else rows
    if ax is not None and len(heads) > 1:
        raise ValueError(f"ax: {len(heads)} heads need {len(heads)} panels; pass average_heads=True to draw "
                         "one, or no ax")
    plt = _pyplot()
    if ax is None:
        width = 1.2 + 0.35 * keys
        fig, axes = plt.subplots(1, len(heads), figsize=(max(3.0, width) * len(heads), max(2.5, 1.0 + 0.35 * queries)),
                                 squeeze=False)
        panels = list(axes[0])
    else:
        fig, panels = ax.figure, [ax]
    for head, (panel, grid) in enumerate(zip(panels, heads)):
        image = panel.imshow(grid, cmap=cmap, vmin=0.0, vmax=max(float(grid.max()), 1e-12))
        fig.colorbar(image, ax=panel, fraction=0.046, pad=0.04)
        if rows is not None:
            panel.set_yticks(np.arange(queries))
            panel.set_yticklabels(rows, fontsize=8)
        if columns is not None:
            panel.set_xticks(np.arange(keys))
            panel.set_xticklabels(columns, fontsize=8, rotation=90)
        panel.set_xlabel("key")
        panel.set_ylabel("query")
        panel.set_title("mean over heads" if average_heads else f"head {head}")
    if title:
        fig.suptitle(title)
    return _finish(fig, path)


def _token_names(tokens, count: int, name: str, what: str) -> list[str] | None:
    if tokens is None:
        return None
    if isinstance(tokens, str):
        raise TypeError(f"{name} must be a sequence of names, one per position, got the str {tokens!r}")
    names = [str(token) for token in tokens]
    if len(names) != count:
        raise ValueError(f"{name}: one name per position of {what}: {count}, got {len(names)}")
    return names
