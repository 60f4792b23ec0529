"""Adagrad: a learning rate per weight, shrinking with the sum of its squared gradients."""

from __future__ import annotations

import numpy as np

from .._checks import non_negative_number
from .optimizer import Optimizer


class Adagrad(Optimizer):
    """Adagrad, exactly as the course writes it (element-wise)::

        G = G + grad^2
        w = w - eta / sqrt(G + eps) * grad

    G starts at ``initial_accumulator_value``. Weights with large past gradients take small steps,
    rarely-updated weights keep large ones (good for sparse features); since G only grows, the
    step size only shrinks, which can stop training early.

    Parameters
    ----------
    params : iterable of Parameter, or of dict
        The tensors to optimize, e.g. ``model.parameters()``, or parameter groups
        ``[{"params": body, "lr": 1e-4}, {"params": head}]`` (see :class:`Optimizer`).
    lr : float
        The learning rate eta (> 0).
    eps : float
        epsilon (>= 0), keeps the division finite while G is 0. eps = 0 is allowed (it makes the
        formula PyTorch's), but then a weight whose gradients so far were all 0 becomes NaN.
    weight_decay : float
        L2 penalty factor wd (>= 0): ``grad`` becomes ``grad + wd * w`` (PyTorch's rule).
    initial_accumulator_value : float
        The starting value of G (>= 0).

    Notes
    -----
    **Relation to torch.optim.Adagrad.** PyTorch puts epsilon outside the root:
    ``w = w - eta * grad / (sqrt(G) + eps)``. The two differ only through eps, by about
    ``eps / (2 G)`` of a step, so only while G is tiny: on the first steps of a weight whose first
    gradients are small (|grad| = 1e-3 on step 1 gives 5e-5 of that step; the course's form
    steps less). With the default eps = 1e-10 the difference is small: in the tests (a
    small MLP, lr = 0.1, 25 steps, float64) the weights differ from PyTorch's by at most 3e-6 of
    the largest weight. With eps = 0 the two formulas are the same and agree to rounding.
    PyTorch's ``lr_decay`` is not provided. With parameter groups, each group's G starts at its own
    ``initial_accumulator_value``; torch.optim.Adagrad (2.13) starts every group at the
    constructor's value.

    State per parameter: ``"sum"`` (G).

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> w = gn.Parameter(np.array([1.0, -3.0]))
    >>> opt = gn.optim.Adagrad([w], lr=0.5, eps=0.0)
    >>> (w * w).sum().backward()          # grad = 2 w = [2, -6], G = [4, 36]
    >>> opt.step()                        # each weight moves by eta * sign(grad) on step 1
    >>> w.data
    array([ 0.5, -2.5])
    """

    _hyperparameters = ("lr", "eps", "weight_decay", "initial_accumulator_value")
    _non_negative_state = ("sum",)

    def __init__(self, params, lr: float = 0.01, eps: float = 1e-10, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0) -> None:
        super().__init__(params, lr, eps=eps, weight_decay=weight_decay,
                         initial_accumulator_value=initial_accumulator_value)

    def _check_group(self, group: dict) -> None:
        group["eps"] = non_negative_number(group["eps"], "eps")
        group["weight_decay"] = non_negative_number(group["weight_decay"], "weight_decay")
        group["initial_accumulator_value"] = non_negative_number(
            group["initial_accumulator_value"], "initial_accumulator_value")

    def _init_state(self, weight: np.ndarray, group: dict) -> dict:
        return {"sum": np.full_like(weight, group["initial_accumulator_value"])}

    def _update(self, weight: np.ndarray, grad: np.ndarray, state: dict, group: dict) -> None:
        grad = self._gradient_with_decay(weight, grad, group["weight_decay"], slot=0)
        work = self._buffer(weight, 1)
        accumulated = state["sum"]
        accumulated += np.multiply(grad, grad, out=work)      # G = G + grad^2
        np.add(accumulated, group["eps"], out=work)
        np.sqrt(work, out=work)                                # sqrt(G + eps)
        np.divide(grad, work, out=work)
        work *= group["lr"]
        weight -= work                                         # w = w - eta / sqrt(G + eps) * grad
