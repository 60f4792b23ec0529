"""RMSprop: Adagrad with a decaying average of squared gradients instead of a growing sum."""

from __future__ import annotations

import numpy as np

from .._checks import boolean, non_negative_number, number_in_range
from .optimizer import Optimizer


class RMSprop(Optimizer):
    """RMSprop, with PyTorch's semantics (element-wise; every average starts at 0)::

        v = alpha * v + (1 - alpha) * grad^2               running mean of squared gradients
        w = w - lr * grad / (sqrt(v) + eps)

    Unlike Adagrad's sum, the average forgets old gradients (time constant about 1 / (1 - alpha)
    steps), so the step size does not shrink for ever.

    ``centered=True`` divides by an estimate of the standard deviation of the gradient instead of
    its root mean square: with ``m = alpha * m + (1 - alpha) * grad`` (the running mean),
    ``sqrt(v)`` becomes ``sqrt(v - m^2)``.

    ``momentum`` (mu > 0) accumulates the normalized steps, as ``torch.optim.RMSprop`` does::

        b = mu * b + grad / (sqrt(v) + eps)
        w = w - lr * b

    ``weight_decay`` (wd) replaces ``grad`` by ``grad + wd * w`` before all of the above.

    Parameters
    ----------
    params : iterable of Parameter, or of dict
        The tensors to optimize, e.g. ``model.parameters()``, or parameter groups
        ``[{"params": body, "lr": 1e-4}, {"params": head}]`` (see :class:`Optimizer`).
    lr : float
        The learning rate (> 0).
    alpha : float
        Decay of the running averages, in [0, 1).
    eps : float
        Added to the denominator (>= 0).
    weight_decay : float
        L2 penalty factor (>= 0).
    momentum : float
        mu, in [0, 1). 0 means no momentum buffer.
    centered : bool
        Normalize by the running standard deviation instead of the root mean square.

    Notes
    -----
    State per parameter: ``"square_avg"`` (v), ``"grad_avg"`` (m, when centered),
    ``"momentum_buffer"`` (b, when momentum > 0): PyTorch's names.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> w = gn.Parameter(np.array([1.0, -3.0]))
    >>> opt = gn.optim.RMSprop([w], lr=0.01, alpha=0.75, eps=0.0)
    >>> (w * w).sum().backward()          # v = grad^2 / 4, so the step is 2 lr sign(grad)
    >>> opt.step()
    >>> w.data
    array([ 0.98, -2.98])
    """

    _hyperparameters = ("lr", "alpha", "eps", "weight_decay", "momentum", "centered")
    _non_negative_state = ("square_avg",)

    def __init__(self, params, lr: float = 0.01, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False) -> None:
        super().__init__(params, lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                         momentum=momentum, centered=centered)

    def _check_group(self, group: dict) -> None:
        group["alpha"] = number_in_range(group["alpha"], "alpha", 0, 1, include_high=False)
        group["eps"] = non_negative_number(group["eps"], "eps")
        group["weight_decay"] = non_negative_number(group["weight_decay"], "weight_decay")
        group["momentum"] = number_in_range(group["momentum"], "momentum", 0, 1, include_high=False)
        group["centered"] = boolean(group["centered"], "centered")

    def _init_state(self, weight: np.ndarray, group: dict) -> dict:
        state = {"square_avg": np.zeros_like(weight)}
        if group["centered"]:
            state["grad_avg"] = np.zeros_like(weight)
        if group["momentum"]:
            state["momentum_buffer"] = np.zeros_like(weight)
        return state

    def _update(self, weight: np.ndarray, grad: np.ndarray, state: dict, group: dict) -> None:
        alpha, momentum = group["alpha"], group["momentum"]
        grad = self._gradient_with_decay(weight, grad, group["weight_decay"], slot=0)
        work = self._buffer(weight, 1)
        decay = 1.0 - alpha
        square_avg = state["square_avg"]
        square_avg *= alpha
        np.multiply(grad, grad, out=work)
        work *= decay
        square_avg += work                                     # v = alpha v + (1 - alpha) g^2
        if group["centered"]:
            grad_avg = state["grad_avg"]
            # m + (1 - alpha)(g - m) = alpha m + (1 - alpha) g, in the order torch's lerp uses.
            np.subtract(grad, grad_avg, out=work)
            work *= decay
            grad_avg += work
            np.multiply(grad_avg, grad_avg, out=work)
            np.subtract(square_avg, work, out=work)           # v - m^2, a variance
            # Rounding can push it a hair below 0, where sqrt would give NaN.
            np.maximum(work, 0.0, out=work)
            np.sqrt(work, out=work)
        else:
            np.sqrt(square_avg, out=work)
        work += group["eps"]
        np.divide(grad, work, out=work)                        # g / (sqrt(v) + eps)
        if momentum:
            buffer = state["momentum_buffer"]
            buffer *= momentum
            buffer += work                                     # b = mu b + g / (sqrt(v) + eps)
            weight -= np.multiply(buffer, group["lr"], out=work)
        else:
            work *= group["lr"]
            weight -= work
