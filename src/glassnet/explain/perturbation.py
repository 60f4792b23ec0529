"""Perturbation attributions: change part of the input, watch the score move.

- :class:`Occlusion` (Zeiler and Fergus, 2014): slide a window over every example, replace what it
  covers by the baseline, and give each feature the mean of f(x) - f(x occluded) over the windows
  that covered it.
- :class:`FeatureAblation`: replace one group of features at a time (``feature_mask``: the group
  id of each feature; default: every feature alone) and give each feature its group's
  f(x) - f(x ablated).

Both use Captum's argument names and arithmetic (``captum.attr.Occlusion`` / ``FeatureAblation``);
no gradient is taken, so ``forward_func`` may be any function from a Tensor to scores. A batch of
``perturbations_per_eval`` perturbed copies of the inputs goes through one forward call; the
numbers do not depend on it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np

from .._checks import positive_int
from ._common import Attribution, as_baselines, as_inputs, evaluating, prepare, scores

__all__ = ["FeatureAblation", "Occlusion", "ablate", "occlusion_windows"]


def ablate(score: Callable[[np.ndarray, int], np.ndarray], x: np.ndarray, baseline, masks: Iterator,
           n_masks: int, perturbations_per_eval: int = 1, average: bool = False) -> np.ndarray:
    """The attribution arithmetic shared by Occlusion and FeatureAblation (Captum's):

        attribution[n, i] = sum_j (f(x)_n - f(x with mask j set to the baseline)_n) mask_j[n, i]

    divided, with ``average=True`` (Occlusion), by the number of masks covering feature i.

    ``score(batch, k)``: the (k N,) scores of k stacked perturbed copies of the N examples (its
    rows copy j of example n at j N + n); ``x``: (N, ...); ``baseline``: a number or an array
    broadcastable to x; ``masks``: ``n_masks`` boolean arrays broadcastable to x (True where the
    baseline replaces x), taken ``perturbations_per_eval`` at a time.

    Example
    -------
    >>> import numpy as np
    >>> from glassnet.explain.perturbation import ablate
    >>> x = np.array([[1.0, 2.0, 3.0]])
    >>> score = lambda batch, k: (batch ** 2).sum(axis=1)     # f(x) = sum of squares
    >>> masks = iter([np.array([[True, True, False]]), np.array([[False, True, True]])])
    >>> ablate(score, x, 0.0, masks, 2, average=True)          # feature 1: (5 + 13) / 2
    array([[ 5.,  9., 13.]])
    """
    n = x.shape[0]
    initial = score(x, 1)
    total = np.zeros(x.shape, dtype=x.dtype)
    covered = np.zeros(x.shape, dtype=x.dtype) if average else None
    done = 0
    while done < n_masks:
        k = min(perturbations_per_eval, n_masks - done)
        chunk = np.stack([next(masks) for _ in range(k)])  # (k, 1 or N, ...)
        perturbed = np.where(chunk, np.asarray(baseline, dtype=x.dtype), x[None])  # (k, N, ...)
        modified = score(perturbed.reshape((k * n,) + x.shape[1:]), k).reshape(k, n)
        difference = (initial[None] - modified).reshape((k, n) + (1,) * (x.ndim - 1))
        total += (difference * chunk).sum(axis=0, dtype=x.dtype)
        if covered is not None:
            covered += chunk.sum(axis=0, dtype=x.dtype)
        done += k
    return total / covered if covered is not None else total


def occlusion_windows(shape: tuple, window: tuple, strides: tuple) -> tuple[int, Iterator[np.ndarray]]:
    """``(count, masks)``: the windows Occlusion slides over an example of ``shape`` (Captum's).

    Along axis d the window starts at 0, strides[d], 2 strides[d], ... for
    ceil((shape[d] - window[d]) / strides[d]) + 1 positions; the last one is cut at the edge
    when the stride does not land on it. The first axis moves fastest. Each mask is a boolean
    array of shape (1, *shape), True under the window.

    Example
    -------
    >>> from glassnet.explain.perturbation import occlusion_windows
    >>> count, masks = occlusion_windows((5,), (2,), (2,))
    >>> count, [m.astype(int).tolist() for m in masks]
    (3, [[[1, 1, 0, 0, 0]], [[0, 0, 1, 1, 0]], [[0, 0, 0, 0, 1]]])
    """
    positions = [math.ceil((size - w) / s) + 1 for size, w, s in zip(shape, window, strides)]

    def masks() -> Iterator[np.ndarray]:
        for j in range(math.prod(positions)):
            corner = []
            for count, stride in zip(positions, strides):
                corner.append((j % count) * stride)
                j //= count
            mask = np.zeros((1,) + tuple(shape), dtype=bool)
            mask[(0,) + tuple(slice(c, c + w) for c, w in zip(corner, window))] = True
            yield mask

    return math.prod(positions), masks()


def _window_and_strides(sliding_window_shapes, strides, example_shape: tuple) -> tuple[tuple, tuple]:
    """Captum's checks: one window size and one stride per axis of an example, a window no
    larger than the example, a stride no larger than the window (unless it spans the axis)."""
    rank = len(example_shape)
    window = _int_tuple(sliding_window_shapes, "sliding_window_shapes", rank, example_shape)
    if strides is None:
        steps = (1,) * rank
    elif isinstance(strides, (int, np.integer)) and not isinstance(strides, bool):
        steps = (positive_int(strides, "strides"),) * rank
    else:
        steps = _int_tuple(strides, "strides", rank, example_shape)
    if any(w > size for w, size in zip(window, example_shape)):
        raise ValueError(f"sliding_window_shapes {window} cannot exceed the shape of one example "
                         f"{example_shape} (inputs of shape (N, *{example_shape}))")
    if any(s > w < size for s, w, size in zip(steps, window, example_shape)):
        raise ValueError(f"strides {steps} cannot be larger than sliding_window_shapes {window} along an "
                         f"axis the window does not span (the features between windows would be missed)")
    return window, steps


def _int_tuple(value, name: str, rank: int, example_shape: tuple) -> tuple:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (value,)
    if not isinstance(value, (tuple, list)):
        raise TypeError(f"{name} must be a tuple of {rank} positive ints (one per axis of an example, "
                        f"shape {example_shape}), got {type(value).__name__} {value!r}")
    if len(value) != rank:
        raise ValueError(f"{name} must have one entry per axis of an example, {rank} for inputs of "
                         f"shape (N, *{example_shape}), got {len(value)}: {tuple(value)}")
    return tuple(positive_int(v, f"{name}[{d}]") for d, v in enumerate(value))


def _group_mask(feature_mask, x: np.ndarray) -> np.ndarray:
    """``feature_mask`` as an int array of shape (1 or N, *x.shape[1:]) (it must broadcast to x)."""
    if feature_mask is None:  # every feature its own group
        return np.arange(math.prod(x.shape[1:])).reshape((1,) + x.shape[1:])
    mask = np.asarray(getattr(feature_mask, "data", feature_mask))
    if mask.dtype == bool or not np.issubdtype(mask.dtype, np.integer):
        raise TypeError(f"feature_mask must hold integer group ids, got dtype {mask.dtype}")
    if mask.ndim > x.ndim or mask.size == 0:
        raise ValueError(f"feature_mask of shape {mask.shape} does not broadcast to the inputs' shape {x.shape}")
    mask = mask.reshape((1,) * (x.ndim - mask.ndim) + mask.shape)
    try:
        full = np.broadcast_shapes(mask.shape, x.shape)
    except ValueError:
        full = None
    if full != x.shape:
        raise ValueError(f"feature_mask of shape {mask.shape} does not broadcast to the inputs' shape {x.shape}"
                         f" (give one id per feature, of shape {x.shape[1:]}, or one mask per example)")
    return np.broadcast_to(mask, mask.shape[:1] + x.shape[1:])


class _Perturbation(Attribution):
    """What Occlusion and FeatureAblation share: the scores of k perturbed copies of the batch."""

    def _scorer(self, inputs, target, additional_forward_args) -> Callable[[np.ndarray, int], np.ndarray]:
        """``score(batch, k)`` for :func:`ablate`, after ``target`` is checked against the output's
        shape (one run of the model on the first example)."""
        _, checked, args = prepare(self.forward_func, inputs, target, additional_forward_args)
        copies: dict[int, tuple] = {}

        def score(batch: np.ndarray, k: int) -> np.ndarray:
            if k not in copies:  # the target and per-example arguments of k copies, made once
                copies[k] = (None if checked is None else np.tile(checked, k), args.tile(k))
            return scores(self.forward_func, batch, *copies[k])

        return score


class Occlusion(_Perturbation):
    """Occlusion attributions (Captum's ``Occlusion``): a window of ``sliding_window_shapes``
    slides over each example in steps of ``strides``; where it stands, the input is replaced by
    the baseline, and every feature under it is credited with f(x) - f(x occluded) for the
    target. A feature's attribution is the mean over the windows that covered it.

    Example
    -------
    >>> import numpy as np
    >>> from glassnet.explain import Occlusion
    >>> f = lambda x: (x * np.array([1.0, 2.0, 0.0, 4.0])).sum(axis=1)     # a linear score
    >>> x = np.ones((1, 4))
    >>> Occlusion(f).attribute(x, sliding_window_shapes=(1,))             # one feature at a time
    array([[1., 2., 0., 4.]])
    >>> Occlusion(f).attribute(x, sliding_window_shapes=(2,), strides=2)  # pairs: 1+2, 0+4
    array([[3., 3., 4., 4.]])
    """

    def attribute(self, inputs, sliding_window_shapes, strides=None, baselines=None, target=None,
                  additional_forward_args=None, perturbations_per_eval: int = 1) -> np.ndarray:
        """Attributions of the inputs' shape (N, ...) and float dtype.

        ``sliding_window_shapes``: one size per axis of an example (a tuple of len
        ``inputs.ndim - 1``), none larger than the example. ``strides``: None (1), an int (every
        axis) or a tuple like the window; along an axis the window does not span, at most the
        window's size. ``baselines``: what replaces the occluded values: None (0), a number, or
        an array of one example's shape or of the inputs' shape. ``perturbations_per_eval``:
        how many occluded copies of the N examples go through one forward call.
        """
        x = as_inputs(inputs)
        window, steps = _window_and_strides(sliding_window_shapes, strides, x.shape[1:])
        baseline = as_baselines(baselines, x)
        per_eval = positive_int(perturbations_per_eval, "perturbations_per_eval")
        score = self._scorer(inputs, target, additional_forward_args)
        count, masks = occlusion_windows(x.shape[1:], window, steps)
        with evaluating(self.forward_func):
            return ablate(score, x, baseline, masks, count, per_eval, average=True)


class FeatureAblation(_Perturbation):
    """Feature ablation (Captum's ``FeatureAblation``): replace one group of features at a time by
    the baseline and credit each feature of the group with f(x) - f(x ablated) for the target.

    ``feature_mask`` gives each feature its group id (any ints; features sharing an id are
    ablated together); None: every feature is its own group.

    Example
    -------
    >>> import numpy as np
    >>> from glassnet.explain import FeatureAblation
    >>> f = lambda x: (x * np.array([1.0, 2.0, 0.0, 4.0])).sum(axis=1)
    >>> x = np.ones((1, 4))
    >>> FeatureAblation(f).attribute(x)
    array([[1., 2., 0., 4.]])
    >>> FeatureAblation(f).attribute(x, feature_mask=np.array([[7, 7, -1, 7]]))   # two groups
    array([[7., 7., 0., 7.]])
    """

    def attribute(self, inputs, baselines=None, target=None, additional_forward_args=None, feature_mask=None,
                  perturbations_per_eval: int = 1) -> np.ndarray:
        """Attributions of the inputs' shape (N, ...) and float dtype.

        ``baselines``: None (0), a number, or an array of one example's shape or of the inputs'
        shape. ``feature_mask``: integer group ids broadcastable to the inputs: of one example's
        shape (the same groups for all) or with a first axis of N (groups per example).
        ``perturbations_per_eval``: how many ablated copies of the N examples go through one
        forward call.
        """
        x = as_inputs(inputs)
        baseline = as_baselines(baselines, x)
        groups = _group_mask(feature_mask, x)
        per_eval = positive_int(perturbations_per_eval, "perturbations_per_eval")
        score = self._scorer(inputs, target, additional_forward_args)
        ids = np.unique(groups)
        masks = (groups == group for group in ids)
        with evaluating(self.forward_func):
            return ablate(score, x, baseline, masks, len(ids), per_eval)
