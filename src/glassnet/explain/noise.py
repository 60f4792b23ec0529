"""NoiseTunnel: SmoothGrad (Smilkov et al., 2017), SmoothGrad-squared and VarGrad around any
explainer, Captum's names and semantics.

Each example is copied ``nt_samples`` times with Gaussian noise N(0, stdevs^2) added to every
value; the wrapped method explains every noisy copy, and the copies' attributions A_1..A_n of an
example are combined:

    smoothgrad      mean_s A_s
    smoothgrad_sq   mean_s A_s^2
    vargrad         mean_s A_s^2 - (mean_s A_s)^2      (the variance, ddof=0)
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from .._checks import boolean, non_negative_number, one_of, positive_int
from ..random import get_rng
from ._common import Attribution, ForwardArgs, as_baselines, as_inputs, as_target, output_shape

__all__ = ["NT_TYPES", "NoiseTunnel"]

NT_TYPES = ("smoothgrad", "smoothgrad_sq", "vargrad")


class NoiseTunnel(Attribution):
    """Smooth any explainer's attributions by averaging them over noisy copies of the inputs.

    Parameters
    ----------
    attribution_method : Attribution
        An explainer of :mod:`glassnet.explain` (Saliency, IntegratedGradients, ...).

    Example
    -------
    >>> import numpy as np
    >>> from glassnet import nn
    >>> from glassnet.explain import NoiseTunnel, Saliency
    >>> model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
    >>> x = np.zeros((2, 4), dtype=np.float32)
    >>> smooth = NoiseTunnel(Saliency(model)).attribute(x, nt_samples=8, stdevs=0.5, target=1, rng=0)
    >>> smooth.shape, bool(np.all(smooth >= 0))
    ((2, 4), True)
    """

    def __init__(self, attribution_method) -> None:
        if not isinstance(attribution_method, Attribution):
            raise TypeError(f"attribution_method must be an explainer of glassnet.explain (Saliency, "
                            f"IntegratedGradients, ...), got {type(attribution_method).__name__}")
        super().__init__(attribution_method.forward_func)
        self.attribution_method = attribution_method

    def has_convergence_delta(self) -> bool:
        return self.attribution_method.has_convergence_delta()

    def attribute(self, inputs, nt_type: str = "smoothgrad", nt_samples: int = 5,
                  nt_samples_batch_size: int | None = None, stdevs: float = 1.0,
                  draw_baseline_from_distrib: bool = False, rng=None, **kwargs):
        """The smoothed attributions of every input value.

        Parameters
        ----------
        inputs : array_like or Tensor, shape (N, ...)
            The examples.
        nt_type : str
            "smoothgrad" (mean), "smoothgrad_sq" (mean of squares) or "vargrad" (variance).
        nt_samples : int
            Noisy copies of each example.
        nt_samples_batch_size : int or None
            At most this many copies of each example per call of the method (None: all).
        stdevs : float
            The standard deviation of the noise (>= 0), in the inputs' units.
        draw_baseline_from_distrib : bool
            ``baselines`` (in ``kwargs``) is a set of R reference examples, (R, ...): each noisy
            copy gets one drawn at random (uniformly) instead.
        rng : None, int or numpy.random.Generator
            The noise's source (None: glassnet's default generator, ``glassnet.seed``).
        **kwargs
            The method's own arguments (``target``, ``baselines``, ``n_steps``, ...); those with
            one entry per example are repeated for its copies.

        Returns
        -------
        attributions : ndarray of the inputs' shape and float dtype
        delta : ndarray (N,), when the method returns one (IntegratedGradients by default)
            The mean of the copies' deltas, per example (Captum returns one per copy).

        The noise is drawn, for each call of the method (nt_samples_batch_size copies of each
        example, the last call the rest), as ``stdevs * rng.standard_normal((N * k,) + shape)``
        added to each example repeated k times in place (rows i*k .. i*k+k-1 are example i), then
        the baselines' indices (with ``draw_baseline_from_distrib``), ``rng.integers(R, size=N * k)``.
        """
        nt_type = one_of(nt_type, "nt_type", NT_TYPES)
        nt_samples = positive_int(nt_samples, "nt_samples")
        batch = positive_int(nt_samples_batch_size, "nt_samples_batch_size", allow_none=True)
        stdevs = non_negative_number(stdevs, "stdevs")
        draw_baseline_from_distrib = boolean(draw_baseline_from_distrib, "draw_baseline_from_distrib")
        generator = get_rng(rng)
        x = as_inputs(inputs)
        self._check_kwargs(x, kwargs, draw_baseline_from_distrib)
        batch = nt_samples if batch is None else min(batch, nt_samples)
        state = generator.bit_generator.state  # put back if the method fails: a failed call changes nothing
        try:
            total, total_sq, delta = self._sums(x, kwargs, nt_samples, batch, stdevs, draw_baseline_from_distrib,
                                                generator)
        except BaseException:
            generator.bit_generator.state = state
            raise
        mean, mean_sq = total / nt_samples, total_sq / nt_samples
        attributions = {"smoothgrad": mean, "smoothgrad_sq": mean_sq, "vargrad": mean_sq - mean * mean}[nt_type]
        attributions = attributions.astype(x.dtype)
        return attributions if delta is None else (attributions, (delta / nt_samples).astype(x.dtype))

    def _check_kwargs(self, x: np.ndarray, kwargs: dict, draw: bool) -> None:
        """The method's arguments, before any noise is drawn: names it takes, ``target`` for the
        model's output, ``baselines`` for the inputs."""
        try:
            inspect.signature(self.attribution_method.attribute).bind(x, **kwargs)
        except TypeError as error:
            raise TypeError(f"{type(self.attribution_method).__name__}.attribute does not take these arguments: "
                            f"{error}") from None
        if draw:
            value = kwargs.get("baselines")
            reference = None if value is None else as_inputs(value, "baselines")
            if reference is None or reference.shape[1:] != x.shape[1:]:
                raise ValueError(f"draw_baseline_from_distrib needs baselines of shape (R,) + {x.shape[1:]} "
                                 "(R reference examples)" + ("" if reference is None else f", got {reference.shape}"))
        elif kwargs.get("baselines") is not None:
            as_baselines(kwargs["baselines"], x)
        if "target" in inspect.signature(self.attribution_method.attribute).parameters:
            args = ForwardArgs.of(kwargs.get("additional_forward_args"), len(x))
            as_target(kwargs.get("target"), output_shape(self.forward_func, x, args))

    def _sums(self, x, kwargs, nt_samples, batch, stdevs, draw, generator) -> tuple[Any, Any, Any]:
        """Sums over the copies of each example: of the attributions, of their squares (float64,
        of x's shape) and of the deltas ((N,), None without)."""
        n = len(x)
        total = total_sq = delta = None
        for k in [batch] * (nt_samples // batch) + ([nt_samples % batch] if nt_samples % batch else []):
            noisy = np.repeat(x, k, axis=0) + stdevs * generator.standard_normal((n * k,) + x.shape[1:])
            repeated = _repeated(kwargs, x, k, draw, generator)
            result = self.attribution_method.attribute(noisy.astype(x.dtype), **repeated)
            attributions, part_delta = result if isinstance(result, tuple) else (result, None)
            copies = np.asarray(attributions, np.float64).reshape((n, k) + np.shape(attributions)[1:])
            total = copies.sum(axis=1) + (0.0 if total is None else total)
            total_sq = (copies ** 2).sum(axis=1) + (0.0 if total_sq is None else total_sq)
            if part_delta is not None:
                part = np.asarray(part_delta, np.float64).reshape(n, k).sum(axis=1)
                delta = part if delta is None else delta + part
        return total, total_sq, delta


def _repeated(kwargs: dict, x: np.ndarray, k: int, draw: bool, generator: np.random.Generator) -> dict:
    """The method's arguments for the N * k noisy rows (each example k times in place): per-example
    targets, baselines, feature masks and forward arguments repeated; drawn baselines drawn."""
    n, out = len(x), dict(kwargs)
    target = kwargs.get("target")
    if target is not None and np.ndim(getattr(target, "data", target)) == 1:
        out["target"] = np.repeat(np.asarray(getattr(target, "data", target)), k)
    if "additional_forward_args" in kwargs:
        args = ForwardArgs.of(kwargs["additional_forward_args"], n).repeat(k).args
        out["additional_forward_args"] = args if args else None
    if draw:
        reference = as_inputs(kwargs["baselines"], "baselines")
        out["baselines"] = reference[generator.integers(len(reference), size=n * k)]
    elif kwargs.get("baselines") is not None:
        out["baselines"] = np.repeat(as_baselines(kwargs["baselines"], x), k, axis=0)
    mask = kwargs.get("feature_mask")
    mask = getattr(mask, "data", mask)
    if isinstance(mask, np.ndarray) and mask.ndim == x.ndim and len(mask) == n > 1:  # one mask per example
        out["feature_mask"] = np.repeat(mask, k, axis=0)
    return out
