"""L1 and L2 regularization: penalty terms added to the loss, differentiated by autodiff.

The course's regularization adds a term to the loss that grows with the size of the weights::

    J = loss + lambda * sum_i |w_i|        (L1: pushes weights to exactly 0, sparse models)
    J = loss + lambda * sum_i w_i^2        (L2: shrinks all weights, smooth models)

Each penalty is one node of the graph, ``glassnet.ops.l1_penalty`` / ``l2_penalty`` in
``ops/fused.py`` with its backward right under its forward: ``J.backward()`` adds its gradient,
``lambda * sign(w)`` or ``2 * lambda * w``, to every weight's ``.grad`` like any other term.

L2 and weight decay: ``l2_penalty(params, lambda)`` adds ``2 * lambda * w`` to the gradient,
and ``SGD(..., weight_decay=wd)`` adds ``wd * w``; so ``weight_decay=wd`` is the same as
``l2_penalty(params, wd / 2)``. (The optimizer's version is cheaper; the penalty's shows up in
the loss value.) Frozen parameters (``requires_grad=False``, see ``Module.freeze``) are skipped:
constants carry no penalty, as the optimizers give them no weight decay.

Example
-------
>>> import numpy as np, glassnet as gn
>>> w = gn.Parameter(np.array([1.0, -2.0]))
>>> penalty = gn.optim.l2_penalty([w], 0.1)     # 0.1 * (1 + 4)
>>> round(penalty.item(), 12)
0.5
>>> penalty.backward()
>>> w.grad                                      # 2 * 0.1 * w
array([ 0.2, -0.4])
"""

from __future__ import annotations

import numpy as np

from .. import ops
from .._checks import non_negative_number
from ..tensor import Tensor
from ._groups import tensor_list


def _penalty(penalty, params, strength: float, owner: str) -> Tensor:
    """``penalty`` (ops.l1_penalty or ops.l2_penalty) over the tensors of ``params`` that require
    a gradient. A frozen parameter (``requires_grad=False``) is a constant: no penalty, no
    gradient; if every one is frozen the penalty is a constant 0."""
    params = tensor_list(params, owner)
    if not params:
        raise ValueError(f"{owner}: got an empty list of parameters")
    strength = non_negative_number(strength, "strength")
    trainable = tuple(param for param in params if param.requires_grad)
    if not trainable:
        return Tensor(np.zeros((), dtype=params[0].dtype))
    return penalty(trainable, strength)


def l1_penalty(params, strength: float) -> Tensor:
    """The L1 regularization term: ``strength * sum_i |w_i|`` over every entry of every tensor.

    Gradient: ``strength * sign(w)`` (0 at w = 0, as in PyTorch).

    Parameters
    ----------
    params : Tensor or iterable of Tensor
        E.g. ``model.parameters()`` (often only the weights, not the biases); those with
        ``requires_grad=False`` (frozen) are skipped.
    strength : float
        lambda (>= 0).

    Returns
    -------
    Tensor
        A scalar, to add to the loss.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> w = gn.Parameter(np.array([1.0, -2.0]))
    >>> gn.optim.l1_penalty([w], 0.5).item()
    1.5
    """
    return _penalty(ops.l1_penalty, params, strength, "l1_penalty")


def l2_penalty(params, strength: float) -> Tensor:
    """The L2 regularization term: ``strength * sum_i w_i^2`` over every entry of every tensor.

    Gradient: ``2 * strength * w``; so ``l2_penalty(params, wd / 2)`` equals the optimizers'
    ``weight_decay=wd``.

    Parameters
    ----------
    params : Tensor or iterable of Tensor
        E.g. ``model.parameters()`` (often only the weights, not the biases); those with
        ``requires_grad=False`` (frozen) are skipped.
    strength : float
        lambda (>= 0).

    Returns
    -------
    Tensor
        A scalar, to add to the loss.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> w = gn.Parameter(np.array([1.0, -2.0]))
    >>> gn.optim.l2_penalty([w], 0.5).item()
    2.5
    """
    return _penalty(ops.l2_penalty, params, strength, "l2_penalty")
