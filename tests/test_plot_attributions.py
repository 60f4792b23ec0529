"""Explanation figures: attribution heat maps (images, signals), feature-importance bars, attention
maps. Each draws exactly the numbers it is given (read back from the figure's artists), writes a
PNG, and refuses what it cannot draw before drawing."""

import re

import numpy as np
import pytest

import glassnet as gn
from glassnet import plot

PNG = b"\x89PNG\r\n\x1a\n"


def is_png(path):
    return path.exists() and path.read_bytes()[:8] == PNG and path.stat().st_size > 5000


def heat_panels(fig):
    """The axes holding a heat map (the attribution panels), row by row."""
    return [ax for ax in fig.axes if ax.images and ax.get_title() != "input"]


def test_image_attributions_several_methods_side_by_side(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.normal(size=(3, 1, 8, 8))
    maps = {"saliency": rng.normal(size=(3, 1, 8, 8)), "integrated gradients": rng.normal(size=(3, 1, 8, 8))}
    fig = plot.attributions(maps, images, labels=["a", "b", "c"], title="digits", path=tmp_path / "f" / "a.png")
    assert is_png(tmp_path / "f" / "a.png")
    assert len(fig.axes) == 9  # 3 rows x (input + 2 methods)
    assert [ax.get_title() for ax in fig.axes[:3]] == ["input", "saliency", "integrated gradients"]
    assert [fig.axes[3 * row].get_ylabel() for row in range(3)] == ["a", "b", "c"]
    for row in range(3):
        np.testing.assert_array_equal(fig.axes[3 * row].images[0].get_array(), images[row, 0])
        for column, values in enumerate(maps.values(), start=1):
            image = fig.axes[3 * row + column].images[0]
            np.testing.assert_array_equal(image.get_array(), values[row, 0])
            low, high = image.get_clim()  # symmetric around 0: white is no attribution
            assert high == -low == np.abs(values[row]).max()


def test_channels_are_summed_and_rgb_inputs_drawn_in_colour():
    rng = np.random.default_rng(1)
    maps = rng.normal(size=(2, 3, 5, 6))
    inputs = rng.uniform(size=(2, 3, 5, 6))
    fig = plot.attributions(maps, inputs)
    assert [ax.get_title() for ax in fig.axes[:2]] == ["input", "attribution"]
    np.testing.assert_allclose(fig.axes[1].images[0].get_array(), maps[0].sum(axis=0))
    assert fig.axes[0].images[0].get_array().shape == (5, 6, 3)
    # (N, H, W): no channel axis, no input column
    fig = plot.attributions(maps[:, 0])
    assert len(fig.axes) == 2
    np.testing.assert_array_equal(fig.axes[1].images[0].get_array(), maps[1, 0])


@pytest.mark.parametrize("sign, expected, clim", [
    ("positive", lambda a: np.maximum(a, 0), lambda a: (0, np.maximum(a, 0).max())),
    ("negative", lambda a: np.minimum(a, 0), lambda a: (np.minimum(a, 0).min(), 0)),
    ("absolute_value", np.abs, lambda a: (0, np.abs(a).max())),
])
def test_sign_selects_what_is_coloured(sign, expected, clim):
    values = np.array([[[1.0, -2.0], [0.5, -0.25]]])
    image = plot.attributions(values, sign=sign).axes[0].images[0]
    np.testing.assert_array_equal(image.get_array(), expected(values[0]))
    np.testing.assert_allclose(image.get_clim(), clim(values[0]))


def test_an_all_zero_map_still_draws():
    image = plot.attributions(np.zeros((1, 4, 4))).axes[0].images[0]
    assert image.get_clim() == (-1.0, 1.0)


def test_signal_attributions_draw_the_signal_over_its_attribution(tmp_path):
    rng = np.random.default_rng(2)
    signals = rng.normal(size=(2, 40))
    maps = {"ig": rng.normal(size=(2, 40)), "occlusion": rng.normal(size=(2, 40))}
    fig = plot.attributions(maps, gn.Tensor(signals), path=tmp_path / "s.png")
    assert is_png(tmp_path / "s.png")
    assert len(fig.axes) == 6
    for row in range(2):
        panels = fig.axes[3 * row:3 * row + 3]
        np.testing.assert_array_equal(panels[0].lines[0].get_ydata(), signals[row])
        for ax, values in zip(panels[1:], maps.values()):
            np.testing.assert_array_equal(ax.images[0].get_array(), values[row][None, :])
            np.testing.assert_array_equal(ax.lines[0].get_ydata(), signals[row])
            np.testing.assert_array_equal(ax.lines[0].get_xdata(), np.arange(40))


def test_multichannel_signals_need_kind_signal():
    rng = np.random.default_rng(3)
    signals, maps = rng.normal(size=(2, 3, 20)), rng.normal(size=(2, 3, 20))
    fig = plot.attributions(maps, signals, kind="signal")
    strip = fig.axes[1]
    np.testing.assert_allclose(strip.images[0].get_array(), maps[0].sum(axis=0)[None, :])
    assert len(strip.lines) == 3  # one line per channel
    for line, channel in zip(strip.lines, signals[0]):
        np.testing.assert_array_equal(line.get_ydata(), channel)
    # Without kind, a 3-D array is (N, H, W): images.
    assert plot.attributions(maps).axes[0].images[0].get_array().shape == (3, 20)
    # Without inputs, the strip alone.
    bare = plot.attributions(maps, kind="signal").axes[0]
    assert len(bare.lines) == 0
    np.testing.assert_allclose(bare.images[0].get_array(), maps[0].sum(axis=0)[None, :])


@pytest.mark.parametrize("args, kwargs, error, message", [
    ((np.zeros(5),), {}, ValueError, "of at least 2 dimension(s), got shape (5,)"),
    ((np.zeros((2, 1, 1, 4, 4)),), {}, ValueError, "(N, C, H, W) or (N, H, W) for images"),
    ((np.zeros((2, 4)),), {"kind": "image"}, ValueError, "got (2, 4) with kind='image'"),
    ((np.zeros((2, 1, 4, 4)),), {"kind": "signal"}, ValueError, "with kind='signal'"),
    ((np.zeros((2, 4)),), {"kind": "heatmap"}, ValueError, "kind must be None, 'image' or 'signal'"),
    ((np.zeros((2, 4)),), {"sign": "abs"}, ValueError, "sign must be 'all', 'positive', 'negative' or"),
    ((np.zeros((40, 8, 8)),), {}, ValueError, "40 examples would be 40 rows; draw at most 32"),
    ((np.zeros((2, 0)),), {}, ValueError, "non-empty array"),
    ((np.array([[1.0, np.nan]]),), {}, ValueError, "attributions holds NaN or infinite values"),
    ((np.array([["a", "b"]]),), {}, TypeError, "attributions must hold real numbers, got dtype <U1"),
    ((np.zeros((1, 2, 3)) + 1j,), {}, TypeError, "must hold real numbers, got dtype complex128"),
    (({},), {}, ValueError, "the dict is empty"),
    (({1: np.zeros((1, 4))},), {}, TypeError, "keys are the methods' names (str), got 1"),
    (({"a": np.zeros((1, 4)), "b": np.zeros((1, 5))},), {}, ValueError, "must have one shape"),
    (({"a": np.zeros((1, 4)), "b": np.ones((1, 4)) * np.inf},), {}, ValueError, "attributions['b'] holds NaN"),
    ((np.zeros((2, 4)), np.zeros((2, 5))), {}, ValueError, "inputs must have the attributions' shape (2, 4), got"),
    ((np.zeros((2, 4)), np.full((2, 4), np.inf)), {}, ValueError, "inputs holds NaN or infinite"),
    ((np.zeros((2, 4)),), {"labels": ["one"]}, ValueError, "labels: one per example (2), got 1"),
    ((np.zeros((2, 4)),), {"labels": "ab"}, TypeError, "labels must be a sequence of captions"),
])
def test_attributions_refuse_what_they_cannot_draw(args, kwargs, error, message):
    with pytest.raises(error, match=re.escape(message)):
        plot.attributions(*args, **kwargs)


def bar_container(ax):
    from matplotlib.container import BarContainer

    (container,) = [c for c in ax.containers if isinstance(c, BarContainer)]
    return container


def bars(ax):
    return np.array([patch.get_width() for patch in bar_container(ax).patches])


def test_feature_importance_bars_sorted_with_error_bars(tmp_path):
    values = np.array([0.1, -0.7, 0.4, 0.05])
    errors = np.array([0.01, 0.02, 0.03, 0.04])
    fig = plot.feature_importance(values, ["a", "b", "c", "d"], errors, title="t", xlabel="drop",
                                  path=tmp_path / "bars.png")
    assert is_png(tmp_path / "bars.png")
    ax = fig.axes[0]
    assert [label.get_text() for label in ax.get_yticklabels()] == ["b", "c", "a", "d"]  # by |value|
    np.testing.assert_array_equal(bars(ax), values[[1, 2, 0, 3]])
    assert ax.get_title() == "t" and ax.get_xlabel() == "drop"
    assert ax.yaxis_inverted()  # the first (largest) on top
    segments = bar_container(ax).errorbar.lines[2][0].get_segments()
    half_widths = [(segment[1, 0] - segment[0, 0]) / 2 for segment in segments]
    np.testing.assert_allclose(half_widths, errors[[1, 2, 0, 3]])
    centres = [(segment[1, 0] + segment[0, 0]) / 2 for segment in segments]
    np.testing.assert_allclose(centres, values[[1, 2, 0, 3]])


def test_feature_importance_keeps_order_top_k_and_draws_into_an_axes():
    import matplotlib.pyplot as plt

    values = np.arange(6.0)
    fig = plot.feature_importance(values, sort=False, top_k=3)
    ax = fig.axes[0]
    assert [label.get_text() for label in ax.get_yticklabels()] == ["feature 0", "feature 1", "feature 2"]
    np.testing.assert_array_equal(bars(ax), [0.0, 1.0, 2.0])
    assert bar_container(ax).errorbar is None
    top = plot.feature_importance(values, top_k=100).axes[0]  # more than there are: all of them
    np.testing.assert_array_equal(bars(top), values[::-1])
    fig, (left, right) = plt.subplots(1, 2)
    assert plot.feature_importance(gn.Tensor(values), ax=right) is fig
    np.testing.assert_array_equal(bars(right), values[::-1].astype(np.float32))
    assert not left.containers


@pytest.mark.parametrize("args, kwargs, error, message", [
    ((np.zeros((2, 3)),), {}, ValueError, "values must have shape (n_features,), got (2, 3)"),
    ((np.zeros(3), ["a", "b"]), {}, ValueError, "feature_names: one per feature (3), got 2"),
    ((np.zeros(3), None, np.zeros(2)), {}, ValueError, "errors must have the values' shape (3,), got (2,)"),
    ((np.zeros(3), None, np.array([0.1, -0.1, 0.0])), {}, ValueError, "errors are half-widths and must be >= 0"),
    ((np.array([1.0, np.nan]),), {}, ValueError, "values holds NaN or infinite"),
    ((np.zeros(3),), {"top_k": 0}, ValueError, "top_k must be a positive int, got 0"),
    ((np.zeros(3),), {"top_k": 1.5}, TypeError, "top_k must be a positive int, got float 1.5"),
    ((np.zeros(3),), {"sort": "yes"}, TypeError, "sort must be True or False"),
    ((np.zeros(0),), {}, ValueError, "non-empty array"),
])
def test_feature_importance_refuses_bad_input(args, kwargs, error, message):
    with pytest.raises(error, match=re.escape(message)):
        plot.feature_importance(*args, **kwargs)


def test_attention_map_one_panel_per_head(tmp_path):
    weights = np.random.default_rng(4).dirichlet(np.ones(4), size=(2, 3))  # (heads, L=3, S=4)
    fig = plot.attention_map(weights, ["a", "b", "c"], source_tokens=["w", "x", "y", "z"], path=tmp_path / "m.png")
    assert is_png(tmp_path / "m.png")
    panels = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in panels] == ["head 0", "head 1"]
    for ax, grid in zip(panels, weights):
        np.testing.assert_array_equal(ax.images[0].get_array(), grid)
        assert [label.get_text() for label in ax.get_yticklabels()] == ["a", "b", "c"]
        assert [label.get_text() for label in ax.get_xticklabels()] == ["w", "x", "y", "z"]
        assert ax.images[0].get_clim() == (0.0, grid.max())


def test_attention_map_average_one_example_and_ax():
    import matplotlib.pyplot as plt

    weights = np.random.default_rng(5).dirichlet(np.ones(3), size=(1, 2, 3))  # (N=1, heads, L, S)
    fig = plot.attention_map(weights, average_heads=True)
    panels = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in panels] == ["mean over heads"]
    np.testing.assert_allclose(panels[0].images[0].get_array(), weights[0].mean(axis=0))
    fig, ax = plt.subplots()
    assert plot.attention_map(weights[0, 1], tokens=["p", "q", "r"], ax=ax) is fig
    np.testing.assert_array_equal(ax.images[0].get_array(), weights[0, 1])
    assert [label.get_text() for label in ax.get_xticklabels()] == ["p", "q", "r"]  # self-attention


@pytest.mark.parametrize("args, kwargs, error, message", [
    ((np.zeros(3),), {}, ValueError, "at least 2 dimension(s)"),
    ((np.zeros((2, 2, 3, 3)),), {}, ValueError, "for the (N, heads, L, S) of explain.attention_maps draw weights[i]"),
    ((np.zeros((2, 3, 4)), ["a", "b", "c"]), {}, ValueError, "the 4 keys need source_tokens"),
    ((np.zeros((3, 3)), ["a", "b"]), {}, ValueError, "tokens: one name per position of L (the queries): 3, got 2"),
    ((np.zeros((3, 4)), None), {"source_tokens": ["a"]}, ValueError, "source_tokens: one name per position of S"),
    ((np.zeros((3, 3)), "abc"), {}, TypeError, "tokens must be a sequence of names"),
    ((np.zeros((3, 3)),), {"average_heads": 1}, TypeError, "average_heads must be True or False"),
    ((np.full((3, 3), np.nan),), {}, ValueError, "weights holds NaN"),
])
def test_attention_map_refuses_bad_input(args, kwargs, error, message):
    with pytest.raises(error, match=re.escape(message)):
        plot.attention_map(*args, **kwargs)


def test_attention_map_several_heads_cannot_share_one_axes():
    import matplotlib.pyplot as plt

    _, ax = plt.subplots()
    with pytest.raises(ValueError, match="2 heads need 2 panels"):
        plot.attention_map(np.zeros((2, 3, 3)), ax=ax)
    assert not ax.images  # nothing drawn
