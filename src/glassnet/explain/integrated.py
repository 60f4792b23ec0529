"""Integrated gradients (Sundararajan, Taly and Yan, 2017), Captum's names, call shape and
quadrature rules.

The attribution of input value i is the path integral of the gradient along the straight line
from a baseline x' to the input x:

    IG_i(x) = (x_i - x'_i) * integral over a in [0, 1] of  df(x' + a (x - x'))[target] / dx_i  da

approximated by a sum over ``n_steps`` points a_k with weights w_k (:func:`step_sizes_and_alphas`).
By the fundamental theorem of calculus for line integrals the attributions of an example sum to
f(x) - f(x') ("completeness"); the convergence delta, sum of attributions - (f(x) - f(x')),
measures how far the quadrature is from it.
"""

from __future__ import annotations

import numpy as np

from .._checks import boolean, one_of, positive_int
from ._common import Attribution, ForwardArgs, as_baselines, as_inputs, input_gradients, prepare, scores

__all__ = ["METHODS", "IntegratedGradients", "step_sizes_and_alphas"]

METHODS = ("riemann_right", "riemann_left", "riemann_middle", "riemann_trapezoid", "gausslegendre")
"""The quadrature rules, Captum's names."""


def step_sizes_and_alphas(n_steps: int, method: str = "gausslegendre") -> tuple[np.ndarray, np.ndarray]:
    """Captum's quadrature on [0, 1]: the weights w_k (step sizes) and the points a_k (alphas),
    each of shape (n_steps,), float64, so that integral of g ~ sum_k w_k g(a_k).

    - riemann_left / right / middle: w_k = 1/n at a_k = k/n, (k+1)/n, (k+1/2)/n (k = 0..n-1);
    - riemann_trapezoid: a_k = k/(n-1), w_k = 1/n, halved at both ends (Captum's weights: they sum
      to 1 - 1/n, not 1);
    - gausslegendre: the Gauss-Legendre nodes and weights of degree n, moved from [-1, 1] to
      [0, 1] (exact for polynomials of degree up to 2n - 1).

    The Riemann rules need n_steps >= 2 (as in Captum), Gauss-Legendre n_steps >= 1.

    Example
    -------
    >>> from glassnet.explain.integrated import step_sizes_and_alphas
    >>> sizes, alphas = step_sizes_and_alphas(4, "riemann_trapezoid")
    >>> sizes.tolist(), alphas.round(3).tolist()
    ([0.125, 0.25, 0.25, 0.125], [0.0, 0.333, 0.667, 1.0])
    >>> sizes, alphas = step_sizes_and_alphas(2, "gausslegendre")     # exact for cubics
    >>> round(float((sizes * alphas ** 3).sum()), 12)                  # integral of a^3 = 1/4
    0.25
    """
    method = one_of(method, "method", METHODS)
    n = positive_int(n_steps, "n_steps")
    if method == "gausslegendre":
        nodes, weights = np.polynomial.legendre.leggauss(n)
        return 0.5 * weights, 0.5 * (1.0 + nodes)
    if n < 2:
        raise ValueError(f"n_steps must be >= 2 for method={method!r} (Captum's Riemann rules), got {n}")
    sizes = np.full(n, 1.0 / n)
    if method == "riemann_trapezoid":
        sizes[0] /= 2
        sizes[-1] /= 2
        return sizes, np.linspace(0.0, 1.0, n)
    first = {"riemann_left": 0.0, "riemann_right": 1.0 / n, "riemann_middle": 0.5 / n}[method]
    return sizes, np.linspace(first, first + 1.0 - 1.0 / n, n)


class IntegratedGradients(Attribution):
    """Integrated gradients: for each input value, (x - baseline) times the mean gradient of the
    target's score along the straight path from the baseline to the input.

    Parameters
    ----------
    forward_func : Module or callable
        A glassnet model, or a function from a Tensor (N, ...) to a Tensor (N, classes), (N, 1)
        or (N,).
    multiply_by_inputs : bool
        True (the default): the attributions above ("global" attributions, which sum to
        f(x) - f(baseline)); False: the integrated gradient alone, without the factor (x - x').

    Example
    -------
    >>> import numpy as np
    >>> from glassnet import nn
    >>> from glassnet.explain import IntegratedGradients
    >>> model = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 3))
    >>> x = np.random.default_rng(0).normal(size=(2, 4))
    >>> ig = IntegratedGradients(model)
    >>> attributions, delta = ig.attribute(x, target=2, n_steps=64)
    >>> attributions.shape, delta.shape
    ((2, 4), (2,))
    >>> bool(np.all(np.abs(delta) < 1e-4))                      # they sum to f(x) - f(0)
    True
    """

    def __init__(self, forward_func, multiply_by_inputs: bool = True) -> None:
        super().__init__(forward_func)
        self.multiply_by_inputs = boolean(multiply_by_inputs, "multiply_by_inputs")

    def has_convergence_delta(self) -> bool:
        return True

    def attribute(self, inputs, baselines=None, target=None, additional_forward_args=None, n_steps: int = 50,
                  method: str = "gausslegendre", internal_batch_size: int | None = None,
                  return_convergence_delta: bool = True):
        """Integrated gradients of every input value.

        Parameters
        ----------
        inputs : array_like or Tensor, shape (N, ...)
            The examples (a Tensor's values, never its graph).
        baselines : None, number or array
            The reference x': None (zeros), a number for every value, an array of
            ``inputs.shape[1:]`` (the same for every example) or of ``inputs.shape``.
        target : None, int or sequence of N ints
            The class whose score is explained (None for one output per example).
        additional_forward_args : None, object or tuple
            Passed after the input to ``forward_func``; arrays and Tensors with one row per
            example go with their example along the path.
        n_steps : int
            The number of points on the path (>= 2 for the Riemann rules).
        method : str
            "gausslegendre" (the default), "riemann_trapezoid", "riemann_left",
            "riemann_right" or "riemann_middle" (:func:`step_sizes_and_alphas`).
        internal_batch_size : int or None
            At most this many rows (points of the path, over all examples) per forward pass;
            None: all N * n_steps rows at once. (Captum never goes below the N rows of one step,
            with a warning; here a step's rows are split too.) The result is the same.
        return_convergence_delta : bool
            Also return the delta of each example.

        Returns
        -------
        attributions : ndarray of the inputs' shape and float dtype
        delta : ndarray (N,), only with ``return_convergence_delta``
            Sum of each example's attributions - (f(x) - f(baseline)) (Captum's sign).
        """
        sizes, alphas = step_sizes_and_alphas(n_steps, method)
        internal_batch_size = positive_int(internal_batch_size, "internal_batch_size", allow_none=True)
        return_convergence_delta = boolean(return_convergence_delta, "return_convergence_delta")
        x = as_inputs(inputs)
        base = as_baselines(baselines, x)
        x, target, args = prepare(self.forward_func, x, target, additional_forward_args)
        total = _path_integral(self.forward_func, x, base, target, args, sizes, alphas, internal_batch_size)
        attributions = total * (x - base) if self.multiply_by_inputs else total
        attributions = attributions.astype(x.dtype)
        if not return_convergence_delta:
            return attributions
        change = (scores(self.forward_func, x, target, args, internal_batch_size).astype(np.float64)
                  - scores(self.forward_func, base, target, args, internal_batch_size))
        delta = attributions.reshape(len(x), -1).sum(axis=1, dtype=np.float64) - change
        return attributions, delta.astype(x.dtype)


def _path_integral(forward_func, x, base, target, args, sizes, alphas, batch_size) -> np.ndarray:
    """sum_k w_k * df(x' + a_k (x - x'))[target] / dx, float64, of x's shape.

    The N * n_steps points are rows r = k * N + i (step k of example i, Captum's order: each step
    holds the whole batch), taken ``batch_size`` rows at a time (all at once for None)."""
    n, steps = len(x), len(alphas)
    total = np.zeros(x.shape, np.float64)
    rows = n * steps if batch_size is None else batch_size
    for start in range(0, n * steps, rows):
        index = np.arange(start, min(start + rows, n * steps))
        step, example = np.divmod(index, n)
        shape = (len(index),) + (1,) * (x.ndim - 1)
        points = base[example] + alphas[step].reshape(shape) * (x[example] - base[example])
        chunk_args = ForwardArgs(args.rows(example), args.per_example)  # each row's example's arguments
        _, grads = input_gradients(forward_func, points.astype(x.dtype), None if target is None else target[example],
                                   chunk_args)
        np.add.at(total, example, sizes[step].reshape(shape) * grads)
    return total

