"""Gradient clipping: a remedy for exploding gradients, applied between backward() and step().

Both functions change the gradients IN PLACE (``param.grad`` keeps its array, with new values):
that is their purpose. Parameters whose ``.grad`` is None, and frozen parameters
(``requires_grad=False``, see ``Module.freeze``), are skipped.

Example
-------
>>> import numpy as np, glassnet as gn
>>> w = gn.Parameter(np.array([3.0, 4.0]))
>>> w.grad = np.array([3.0, 4.0])              # norm 5
>>> gn.optim.clip_grad_norm([w], max_norm=1.0)
5.0
>>> np.round(w.grad, 6)                        # rescaled to norm 1
array([0.6, 0.8])
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .._checks import boolean, positive_number
from ._groups import tensor_list


def _gradients(params, owner: str) -> list:
    """The gradient arrays of ``params`` (a Tensor or an iterable of Tensors), None skipped, and
    those of frozen parameters (``requires_grad=False``) too: a stale gradient there is not part of
    the step, so it must neither count in the norm nor be changed."""
    return [param.grad for param in tensor_list(params, owner)
            if param.grad is not None and param.requires_grad]


def clip_grad_norm(params, max_norm: float, norm_type: float = 2.0,
                   error_if_nonfinite: bool = False) -> float:
    """Rescale all gradients together so that their joint norm is at most ``max_norm``.

    The gradients are treated as one long vector g (all parameters concatenated)::

        total = ||g||_p = (sum_i |g_i|^p)^(1/p)        (p = inf: max_i |g_i|)
        if total > max_norm:  g = g * max_norm / (total + 1e-6)

    The direction of the step is kept; only its length is capped. As in PyTorch's
    ``clip_grad_norm_``, the factor is ``max_norm / (total + 1e-6)`` and is applied whenever it
    is below 1 (the 1e-6 keeps the division safe for a zero gradient).

    Parameters
    ----------
    params : Tensor or iterable of Tensor
        E.g. ``model.parameters()``. Gradients are modified in place; None gradients and frozen
        parameters' are skipped.
    max_norm : float
        The largest allowed norm (> 0).
    norm_type : float
        p, > 0, or ``float("inf")`` (or the string ``"inf"``) for the largest absolute value.
    error_if_nonfinite : bool
        If the total norm is NaN or infinite, raise RuntimeError instead of returning it.

    Returns
    -------
    float
        The total norm of the gradients before clipping (0.0 if no parameter has a gradient).
        A NaN or infinite norm is returned as it is and the gradients are left unchanged
        (PyTorch would multiply them by NaN or 0); check the result, or pass
        ``error_if_nonfinite=True``, to catch a diverging run.
    """
    max_norm = positive_number(max_norm, "max_norm")
    if (isinstance(norm_type, str) and norm_type == "inf") or (
            isinstance(norm_type, numbers.Real) and norm_type == math.inf):
        norm_type = math.inf                    # the largest absolute value
    else:
        norm_type = positive_number(norm_type, "norm_type")
    error_if_nonfinite = boolean(error_if_nonfinite, "error_if_nonfinite")
    grads = _gradients(params, "clip_grad_norm")
    if not grads:
        return 0.0
    # One norm per tensor, then the norm of those norms: equal to the norm of the concatenation,
    # without building it.
    norms = np.array([np.linalg.norm(g.ravel(), ord=norm_type) for g in grads], dtype=np.float64)
    total = float(norms.max() if norm_type == math.inf else np.linalg.norm(norms, ord=norm_type))
    if not math.isfinite(total):
        if error_if_nonfinite:
            raise RuntimeError(
                f"clip_grad_norm: the total {norm_type}-norm of the gradients is {total}; "
                "training has diverged (or set error_if_nonfinite=False to get the value back)"
            )
        return total
    scale = max_norm / (total + 1e-6)
    if scale < 1.0:
        for g in grads:
            g *= scale
    return total


def clip_grad_value(params, clip_value: float) -> None:
    """Clamp every gradient entry into ``[-clip_value, clip_value]``, in place::

        g_i = min(max(g_i, -clip_value), clip_value)

    Unlike :func:`clip_grad_norm` this changes the direction of the step. Same as PyTorch's
    ``clip_grad_value_``.

    Parameters
    ----------
    params : Tensor or iterable of Tensor
        E.g. ``model.parameters()``. None gradients and frozen parameters' are skipped.
    clip_value : float
        The largest allowed absolute value (> 0).

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> w = gn.Parameter(np.zeros(3))
    >>> w.grad = np.array([-5.0, 0.5, 2.0])
    >>> gn.optim.clip_grad_value([w], 1.0)
    >>> w.grad
    array([-1. ,  0.5,  1. ])
    """
    clip_value = positive_number(clip_value, "clip_value")
    for g in _gradients(params, "clip_grad_value"):
        np.clip(g, -clip_value, clip_value, out=g)
