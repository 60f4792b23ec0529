"""Stochastic gradient descent, with the course's momentum and Nesterov momentum."""

from __future__ import annotations

import numpy as np

from .._checks import boolean, non_negative_number, number_in_range
from .optimizer import Optimizer


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum, as the course writes it.

    Plain SGD (momentum = 0)::

        w = w - eta * grad

    Momentum (gamma = ``momentum`` > 0), with the velocity v starting at 0::

        v = gamma * v + eta * grad
        w = w - v

    Nesterov momentum (``nesterov=True``) looks one step ahead: after updating v as above,::

        w = w - (gamma * v + eta * grad)

    ``weight_decay`` (wd) is L2 regularization, PyTorch's rule: ``grad`` above is replaced by
    ``grad + wd * w``, the gradient of ``loss + wd/2 * sum(w^2)``.

    Parameters
    ----------
    params : iterable of Parameter, or of dict
        The tensors to optimize, e.g. ``model.parameters()``, or parameter groups
        ``[{"params": body, "lr": 1e-4}, {"params": head}]`` (see :class:`Optimizer`).
    lr : float
        The learning rate eta (> 0).
    momentum : float
        gamma, in [0, 1). 0 is plain SGD.
    nesterov : bool
        Nesterov momentum; needs momentum > 0.
    weight_decay : float
        L2 penalty factor wd (>= 0).

    Notes
    -----
    **Relation to torch.optim.SGD.** PyTorch keeps a buffer without the learning rate,
    ``b = gamma * b + grad`` and steps ``w = w - lr * b``; that buffer is ``v / lr`` here. With a
    constant learning rate (per parameter group) the two give the same weights (checked step by step in the tests).
    When ``lr`` changes during training (a schedule), they differ: here the old velocity keeps the
    step size it was made with and only the new gradient gets the new ``lr``, while PyTorch scales
    its whole buffer, past included, by the new ``lr``. glassnet follows the course's formula, in
    which the velocity is a displacement, so a learning-rate change takes effect gradually.

    State per parameter: ``"velocity"`` (v), only when momentum > 0.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> w = gn.Parameter(np.array([1.0]))
    >>> opt = gn.optim.SGD([w], lr=0.1, momentum=0.9)
    >>> for _ in range(2):
    ...     opt.zero_grad()
    ...     (w * w).sum().backward()      # grad = 2 w
    ...     opt.step()
    >>> w.data                            # v1 = 0.2, w1 = 0.8; v2 = 0.18 + 0.16, w2 = 0.46
    array([0.46])
    """

    _hyperparameters = ("lr", "momentum", "nesterov", "weight_decay")

    def __init__(self, params, lr: float, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay)

    def _check_group(self, group: dict) -> None:
        group["momentum"] = number_in_range(group["momentum"], "momentum", 0, 1, include_high=False)
        group["weight_decay"] = non_negative_number(group["weight_decay"], "weight_decay")
        group["nesterov"] = boolean(group["nesterov"], "nesterov")
        if group["nesterov"] and group["momentum"] == 0.0:
            raise ValueError("nesterov=True needs momentum > 0, got momentum=0.0")

    def _init_state(self, weight: np.ndarray, group: dict) -> dict:
        return {"velocity": np.zeros_like(weight)} if group["momentum"] else {}

    def _update(self, weight: np.ndarray, grad: np.ndarray, state: dict, group: dict) -> None:
        momentum = group["momentum"]
        grad = self._gradient_with_decay(weight, grad, group["weight_decay"])
        lr = group["lr"]
        if not momentum:
            self._add_scaled(weight, -lr, grad)           # w = w - eta grad
            return
        velocity = state["velocity"]
        velocity *= momentum
        self._add_scaled(velocity, lr, grad)              # v = gamma v + eta grad
        if group["nesterov"]:
            self._add_scaled(weight, -lr, grad)           # w = w - eta grad - gamma v
            self._add_scaled(weight, -momentum, velocity)
        else:
            weight -= velocity                            # w = w - v
