"""Adam, AdamW and Adamax: momentum plus a per-weight scale of the step, with bias correction."""

from __future__ import annotations

import numpy as np

from .._checks import boolean, non_negative_number, number_in_range
from .optimizer import Optimizer


def _betas(betas) -> tuple[float, float]:
    """(beta1, beta2) as two floats in [0, 1); TypeError or ValueError naming the bad one."""
    pair = betas.tolist() if isinstance(betas, np.ndarray) else betas
    if not isinstance(pair, (tuple, list)) or len(pair) != 2:
        raise TypeError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    beta1, beta2 = (number_in_range(beta, f"betas[{i}]", 0, 1, include_high=False)
                    for i, beta in enumerate(pair))
    return beta1, beta2


def _lerp_into(exp_avg: np.ndarray, grad: np.ndarray, beta1: float, work: np.ndarray) -> None:
    """exp_avg = beta1 exp_avg + (1 - beta1) grad, in place, in the order torch's lerp uses:
    m + w (g - m) for a small weight w = 1 - beta1 < 0.5, else g - (g - m)(1 - w), which is g
    itself for beta1 = 0 (as in PyTorch; m + (g - m) need not round back to g)."""
    weight = 1.0 - beta1
    np.subtract(grad, exp_avg, out=work)
    if weight < 0.5:
        work *= weight
        exp_avg += work
    else:
        work *= 1.0 - weight
        np.subtract(grad, work, out=exp_avg)


class Adam(Optimizer):
    """Adam, with PyTorch's bias correction (element-wise; t counts this parameter's steps)::

        m = beta1 * m + (1 - beta1) * grad            first moment (momentum), starts at 0
        v = beta2 * v + (1 - beta2) * grad^2          second moment, starts at 0
        m_hat = m / (1 - beta1^t)                     bias correction: m and v start at 0,
        v_hat = v / (1 - beta2^t)                     so early averages are too small
        w = w - lr * m_hat / (sqrt(v_hat) + eps)

    computed, as in ``torch.optim.Adam``, as ``w = w - (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps)``
    with ``bc1 = 1 - beta1^t`` and ``bc2 = 1 - beta2^t``.

    ``amsgrad=True`` normalizes by the largest v seen so far (``v_max = max(v_max, v)``), so the
    step size of a weight never grows back.

    ``weight_decay`` (wd) is L2 regularization: ``grad`` becomes ``grad + wd * w`` before the
    moments, so the decay is rescaled by Adam like any gradient. :class:`AdamW` decouples it.

    Parameters
    ----------
    params : iterable of Parameter, or of dict
        The tensors to optimize, e.g. ``model.parameters()``, or parameter groups
        ``[{"params": body, "lr": 1e-4}, {"params": head}]`` (see :class:`Optimizer`).
    lr : float
        The learning rate (> 0).
    betas : (float, float)
        (beta1, beta2), each in [0, 1).
    eps : float
        Added to the denominator (>= 0).
    weight_decay : float
        L2 penalty factor (>= 0).
    amsgrad : bool
        Use the running maximum of v.

    Notes
    -----
    State per parameter: ``"step"`` (t), ``"exp_avg"`` (m), ``"exp_avg_sq"`` (v),
    ``"max_exp_avg_sq"`` (v_max, with amsgrad): PyTorch's names.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> w = gn.Parameter(np.array([1.0, -3.0]))
    >>> opt = gn.optim.Adam([w], lr=0.1, eps=0.0)
    >>> (w * w).sum().backward()
    >>> opt.step()                        # step 1: m_hat / sqrt(v_hat) = sign(grad)
    >>> w.data
    array([ 0.9, -2.9])
    """

    _hyperparameters = ("lr", "betas", "eps", "weight_decay", "amsgrad")
    _non_negative_state = ("exp_avg_sq", "max_exp_avg_sq")
    _decoupled = False

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False) -> None:
        super().__init__(params, lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)

    def _check_group(self, group: dict) -> None:
        group["betas"] = _betas(group["betas"])
        group["eps"] = non_negative_number(group["eps"], "eps")
        group["weight_decay"] = non_negative_number(group["weight_decay"], "weight_decay")
        group["amsgrad"] = boolean(group["amsgrad"], "amsgrad")

    def _init_state(self, weight: np.ndarray, group: dict) -> dict:
        state = {"step": 0, "exp_avg": np.zeros_like(weight), "exp_avg_sq": np.zeros_like(weight)}
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = np.zeros_like(weight)
        return state

    def _update(self, weight: np.ndarray, grad: np.ndarray, state: dict, group: dict) -> None:
        beta1, beta2 = group["betas"]
        lr, weight_decay = group["lr"], group["weight_decay"]
        state["step"] += 1
        step = state["step"]
        if self._decoupled:
            if weight_decay:
                weight *= 1.0 - lr * weight_decay               # AdamW: w = w - lr wd w
        else:
            grad = self._gradient_with_decay(weight, grad, weight_decay, slot=0)
        work = self._buffer(weight, 1)

        exp_avg = state["exp_avg"]
        _lerp_into(exp_avg, grad, beta1, work)                  # m = beta1 m + (1 - beta1) g
        exp_avg_sq = state["exp_avg_sq"]
        exp_avg_sq *= beta2
        np.multiply(grad, grad, out=work)
        work *= 1.0 - beta2
        exp_avg_sq += work                                      # v = beta2 v + (1 - beta2) g^2
        if group["amsgrad"]:
            second = np.maximum(state["max_exp_avg_sq"], exp_avg_sq, out=state["max_exp_avg_sq"])
        else:
            second = exp_avg_sq

        bias_correction1 = 1.0 - beta1 ** step
        bias_correction2 = 1.0 - beta2 ** step
        step_size = lr / bias_correction1
        np.sqrt(second, out=work)
        work /= bias_correction2 ** 0.5
        work += group["eps"]                                    # sqrt(v_hat) + eps
        with np.errstate(divide="ignore", invalid="ignore"):  # 0 only with eps = 0: NaN, as in torch
            np.divide(exp_avg, work, out=work)
        work *= step_size
        weight -= work                                          # w = w - lr m_hat / (sqrt(v_hat) + eps)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter): before each Adam step,::

        w = w - lr * wd * w

    and the gradient itself is left alone. With Adam's L2 ``weight_decay`` the decay term passes
    through the moments and is divided by sqrt(v_hat), so weights with large gradients are barely
    decayed; AdamW shrinks every weight by the same factor (1 - lr wd). Same as
    ``torch.optim.AdamW``; the other parameters and the state are Adam's.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> w = gn.Parameter(np.array([1.0, -3.0]))
    >>> opt = gn.optim.AdamW([w], lr=0.1, weight_decay=0.5, eps=0.0)
    >>> (w * w).sum().backward()
    >>> opt.step()                        # w (1 - 0.05) - 0.1 sign(grad)
    >>> w.data
    array([ 0.85, -2.75])
    """

    _decoupled = True

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.01, amsgrad: bool = False) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad)


class Adamax(Optimizer):
    """Adamax (Kingma and Ba, section 7.1): Adam with the infinity norm in place of the root mean
    square, as ``torch.optim.Adamax`` computes it::

        m = beta1 * m + (1 - beta1) * grad            first moment, starts at 0
        u = max(beta2 * u, |grad| + eps)              a decaying maximum of |grad|, starts at 0
        w = w - (lr / (1 - beta1^t)) * m / u          only m needs bias correction

    u is a running maximum, not an average, so it does not start too small and needs no bias
    correction. Each weight moves by at most about lr / (1 - beta1^t) per step.
    ``weight_decay`` (wd) is L2 regularization: ``grad`` becomes ``grad + wd * w`` first.

    Parameters
    ----------
    params : iterable of Parameter, or of dict
        The tensors to optimize, e.g. ``model.parameters()``, or parameter groups
        ``[{"params": body, "lr": 1e-4}, {"params": head}]`` (see :class:`Optimizer`).
    lr : float
        The learning rate (> 0); PyTorch's default 2e-3.
    betas : (float, float)
        (beta1, beta2), each in [0, 1).
    eps : float
        Added to |grad| inside the maximum (>= 0), so u > 0. With eps = 0, a weight whose
        gradient has always been 0 gets m / u = 0 / 0 = NaN, as in PyTorch.
    weight_decay : float
        L2 penalty factor (>= 0).

    Notes
    -----
    State per parameter: ``"step"`` (t), ``"exp_avg"`` (m), ``"exp_inf"`` (u): PyTorch's names.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> w = gn.Parameter(np.array([1.0, -3.0]))
    >>> opt = gn.optim.Adamax([w], lr=0.1, eps=0.0)
    >>> (w * w).sum().backward()
    >>> opt.step()                        # step 1: m_hat / u = sign(grad)
    >>> w.data
    array([ 0.9, -2.9])
    """

    _hyperparameters = ("lr", "betas", "eps", "weight_decay")
    _non_negative_state = ("exp_inf",)

    def __init__(self, params, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr, betas=betas, eps=eps, weight_decay=weight_decay)

    def _check_group(self, group: dict) -> None:
        group["betas"] = _betas(group["betas"])
        group["eps"] = non_negative_number(group["eps"], "eps")
        group["weight_decay"] = non_negative_number(group["weight_decay"], "weight_decay")

    def _init_state(self, weight: np.ndarray, group: dict) -> dict:
        return {"step": 0, "exp_avg": np.zeros_like(weight), "exp_inf": np.zeros_like(weight)}

    def _update(self, weight: np.ndarray, grad: np.ndarray, state: dict, group: dict) -> None:
        beta1, beta2 = group["betas"]
        state["step"] += 1
        grad = self._gradient_with_decay(weight, grad, group["weight_decay"], slot=0)
        work = self._buffer(weight, 1)

        exp_avg = state["exp_avg"]
        _lerp_into(exp_avg, grad, beta1, work)                  # m = beta1 m + (1 - beta1) g
        exp_inf = state["exp_inf"]
        exp_inf *= beta2
        np.abs(grad, out=work)
        work += group["eps"]
        np.maximum(exp_inf, work, out=exp_inf)                  # u = max(beta2 u, |g| + eps)

        # (lr / (1 - beta1^t)) * m / u, multiplied before the division as torch's addcdiv does
        np.multiply(exp_avg, group["lr"] / (1.0 - beta1 ** state["step"]), out=work)
        with np.errstate(divide="ignore", invalid="ignore"):  # u = 0 only with eps = 0: NaN, as in torch
            work /= exp_inf
        weight -= work                                          # w = w - lr m_hat / u
