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
    args = _float64_copies(inputs)
    out = _call(fn, args)
    projection = np.random.default_rng(seed).normal(size=out.shape)
    out.backward(projection.astype(out.dtype))
    analytic = {i: args[i].grad if args[i].grad is not None else np.zeros(args[i].shape) for i in checked}

    def value() -> float:  # the scalar sum(v * fn(*args)) whose gradient backward computed
        return float(np.sum(projection * _call(fn, args).data))

    # (excess over tolerance, input, index, autodiff, numeric, error) of the worst entry so far
    worst: tuple[float, int, tuple, float, float, float] | None = None
    for i in checked:
        entry = _worst_entry(analytic[i], central_differences(value, args[i].data, eps), atol, rtol)
        if entry is not None and (worst is None or entry[0] > worst[0]):
            worst = (entry[0], i, *entry[1:])
    if worst is None or worst[0] <= 0:
        return True
    if raise_exception:
        raise GradcheckError(_report(*worst[1:], atol, rtol))
    return False


def _float64_copies(inputs) -> list:
    """The inputs with every Tensor copied to float64 (a fresh leaf), so the originals are never touched."""
    return [
        Tensor(np.array(x.data, dtype=np.float64), requires_grad=x.requires_grad) if isinstance(x, Tensor) else x
        for x in inputs
    ]


def _call(fn, args) -> Tensor:
    out = fn(*args)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
    return out


def central_differences(value, array: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """d value() / d array by central differences: each entry of ``array`` is nudged in place by
    +eps and -eps (and restored), and (value(+) - value(-)) / (2 eps) is that entry's derivative.

    ``value`` is a function of no arguments that reads ``array``; the result has ``array``'s shape.

    Example
    -------
    >>> import numpy as np
    >>> from glassnet.gradcheck import central_differences
    >>> w = np.array([1.0, 2.0])
    >>> np.round(central_differences(lambda: float(np.sum(w ** 2)), w), 6)  # d/dw sum(w^2) = 2 w
    array([2., 4.])
    """
    numeric = np.zeros(array.shape)
    for j in np.ndindex(array.shape):
        original = array[j]
        array[j] = original + eps
        plus = value()
        array[j] = original - eps
        minus = value()
        array[j] = original
        numeric[j] = (plus - minus) / (2 * eps)
    return numeric


def _worst_entry(analytic: np.ndarray, numeric: np.ndarray, atol: float,
                 rtol: float) -> tuple[float, tuple, float, float, float] | None:
    """(excess over the tolerance, index, autodiff, numeric, error) of the worst entry, or None if empty."""
    error = np.abs(analytic - numeric)
    excess = error - (atol + rtol * np.abs(numeric))
    if not excess.size:
        return None
    j = np.unravel_index(np.argmax(excess), excess.shape)
    return excess[j], j, analytic[j], numeric[j], error[j]


def _report(i: int, j: tuple, got: float, expected: float, error: float, atol: float, rtol: float) -> str:
    return (
        f"gradcheck failed for input {i} at index {tuple(int(k) for k in j)}: autodiff gives "
        f"{got:.8g}, finite differences {expected:.8g} (abs error {error:.3g}, "
        f"allowed {atol:.1g} + {rtol:.1g} * |numeric|)"
    )
