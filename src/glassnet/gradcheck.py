"""Finite-difference gradient check: the first of glassnet's two oracles, public for users.

For each input x that requires a gradient, each entry x_j is nudged both ways and the central
difference (f(x + eps e_j) - f(x - eps e_j)) / (2 eps) is compared with the autodiff gradient.
A non-scalar output f(x) is reduced to the scalar sum(v * f(x)) with a fixed random v, which
checks the vector-Jacobian product that backward computes.
"""

from __future__ import annotations

import numpy as np

from ._checks import boolean, non_negative_int, non_negative_number, positive_number
from .tensor import Tensor


class GradcheckError(AssertionError):
    """Raised by :func:`gradcheck` when autodiff and finite differences disagree."""


def gradcheck(fn, *inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              seed: int = 0, raise_exception: bool = True) -> bool:
    """Check the gradients of ``fn(*inputs)`` against central differences, in float64.

    Parameters
    ----------
    fn : callable
        Takes the inputs (Tensors and anything else) and returns a Tensor of any shape.
    *inputs
        Tensors with ``requires_grad=True`` are checked (they are copied to float64; the
        originals are not touched); other arguments are passed through unchanged.
    eps, atol, rtol : float
        Step of the central difference; an entry passes when
        |autodiff - numeric| <= atol + rtol * |numeric|.
    seed : int
        Seed of the random projection used for non-scalar outputs.
    raise_exception : bool
        Raise :class:`GradcheckError` with a report of the worst entry (default), or return False.

    Returns
    -------
    bool
        True when every entry passes.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> x = gn.Tensor(np.random.default_rng(0).normal(size=(3, 4)), requires_grad=True)
    >>> gn.gradcheck(lambda t: (t * t).tanh(), x)
    True
    """
    eps, atol, rtol = positive_number(eps, "eps"), non_negative_number(atol, "atol"), non_negative_number(rtol, "rtol")
    seed, raise_exception = non_negative_int(seed, "seed"), boolean(raise_exception, "raise_exception")
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input is a Tensor with requires_grad=True")
    args = [
        Tensor(np.array(x.data, dtype=np.float64), requires_grad=x.requires_grad)
        if isinstance(x, Tensor) else x
        for x in inputs
    ]
    projection = None

    def scalar_value() -> float:
        nonlocal projection
        out = fn(*args)
        if not isinstance(out, Tensor):
            raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
        if projection is None:
            projection = np.random.default_rng(seed).normal(size=out.shape)
        return out, float(np.sum(projection * out.data))

    out, _ = scalar_value()
    for i in checked:
        args[i].grad = None
    out.backward(projection.astype(out.dtype))
    analytic = {i: (args[i].grad if args[i].grad is not None else np.zeros(args[i].shape)) for i in checked}

    worst = None  # (excess over tolerance, report)
    for i in checked:
        values = args[i].data
        numeric = np.zeros(values.shape)
        for j in np.ndindex(values.shape):
            original = values[j]
            values[j] = original + eps
            plus = scalar_value()[1]
            values[j] = original - eps
            minus = scalar_value()[1]
            values[j] = original
            numeric[j] = (plus - minus) / (2 * eps)
        error = np.abs(analytic[i] - numeric)
        excess = error - (atol + rtol * np.abs(numeric))
        if excess.size:
            j = np.unravel_index(np.argmax(excess), excess.shape)
            if worst is None or excess[j] > worst[0]:
                worst = (excess[j], i, j, analytic[i][j], numeric[j], error[j])
    if worst is None or worst[0] <= 0:
        return True
    _, i, j, got, expected, error = worst
    report = (
        f"gradcheck failed for input {i} at index {tuple(int(k) for k in j)}: autodiff gives "
        f"{got:.8g}, finite differences {expected:.8g} (abs error {error:.3g}, "
        f"allowed {atol:.1g} + {rtol:.1g} * |numeric|)"
    )
    if raise_exception:
        raise GradcheckError(report)
    return False
