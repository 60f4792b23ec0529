"""LearningRateSchedule: the callback that sets the optimizer's learning rates at the start of
each epoch, from a built-in schedule (step, exponential, cosine) or a function of yours."""

from __future__ import annotations

import math
import numbers

from .._checks import non_negative_int, non_negative_number, positive_int, positive_number
from .callbacks import Callback

__all__ = ["LearningRateSchedule"]


class LearningRateSchedule(Callback):
    """Set the learning rate of each parameter group at the start of each epoch (counted from 0)
    from a schedule, as PyTorch's schedulers do: each group from its own initial lr, so a body
    trained at 1e-4 and a head at 1e-2 keep their ratio.

    Parameters
    ----------
    schedule : callable or str
        ``schedule(epoch, initial_lr) -> lr``, or the name of a built-in one (``initial`` is
        the optimizer's lr when training starts):

        * "step": lr = initial * gamma ** (epoch // step_size)
        * "exponential": lr = initial * gamma ** epoch
        * "cosine": lr = eta_min + (initial - eta_min) (1 + cos(pi epoch / T_max)) / 2
    step_size : int
        Epochs per step of the "step" schedule.
    gamma : float
        The factor (> 0) of the "step" and "exponential" schedules.
    T_max, eta_min : int, float
        Half period and floor of the "cosine" schedule.
    groups : list of int or None
        The indices of the parameter groups (``optimizer.param_groups``) it sets; None: all.

    Notes
    -----
    Every learning rate of a built-in schedule is checked (> 0) when training starts, so a
    cosine schedule with ``eta_min=0`` needs ``epochs <= T_max``.

    Example
    -------
    >>> import glassnet as gn
    >>> gn.LearningRateSchedule("step", step_size=2, gamma=0.5).lr_at(epoch=3, initial=0.1)
    0.05
    """

    _BUILT_IN = ("step", "exponential", "cosine")
    _state_types = {"initial_lr": (list,)}
    _state_checks = {"initial_lr": (lambda lrs: all(_is_rate(lr) for lr in lrs),
                                    "a list of learning rates > 0, one per group")}

    def __init__(self, schedule, step_size=10, gamma=0.1, T_max=None, eta_min=0.0, groups=None) -> None:
        if isinstance(schedule, str):
            if schedule not in self._BUILT_IN:
                raise ValueError(f"unknown schedule {schedule!r}; choose 'step', 'exponential', 'cosine' or a function")
            if schedule == "cosine" and T_max is None:
                raise TypeError("the cosine schedule needs T_max > 0 (epochs per half period), got None")
            if schedule == "cosine":
                T_max = positive_number(T_max, "T_max")
            if schedule == "step":
                step_size = positive_int(step_size, "step_size")
            gamma, eta_min = positive_number(gamma, "gamma"), non_negative_number(eta_min, "eta_min")
        elif not callable(schedule):
            raise TypeError("schedule must be a name or a function (epoch, initial_lr) -> lr")
        self.schedule, self.step_size, self.gamma, self.T_max, self.eta_min = schedule, step_size, gamma, T_max, eta_min
        self.groups = _group_indices(groups)

    def lr_at(self, epoch: int, initial: float) -> float:
        """The learning rate of ``epoch`` for an initial learning rate ``initial``."""
        if self.schedule == "step":
            return initial * self.gamma ** (epoch // self.step_size)
        if self.schedule == "exponential":
            return initial * self.gamma ** epoch
        if self.schedule == "cosine":
            return self.eta_min + (initial - self.eta_min) * (1 + math.cos(math.pi * epoch / self.T_max)) / 2
        lr = self.schedule(epoch, initial)
        if isinstance(lr, bool) or not isinstance(lr, numbers.Real):
            raise TypeError(f"the schedule function must return the lr, a number; it returned "
                            f"{type(lr).__name__} {str(lr)[:40]!r} at epoch {epoch}")
        return float(lr)

    def check(self, trainer) -> None:
        """The groups must exist, and a built-in schedule must keep every epoch's lr > 0 (a
        function of yours is called only when its epoch comes)."""
        count = len(trainer.optimizer.param_groups)
        wrong = [index for index in self.groups or () if index >= count]
        if wrong:
            raise ValueError(f"LearningRateSchedule(groups={self.groups}): the optimizer has {count} "
                             f"parameter group{'s' if count != 1 else ''} (indices 0 to {count - 1})")
        if isinstance(self.schedule, str):
            epochs = trainer.params.get("epochs", 0)
            for group in self._scheduled(trainer.optimizer.param_groups):
                for epoch in range(epochs):
                    try:
                        lr = self.lr_at(epoch, group["lr"])
                    except OverflowError:  # gamma ** epoch past the float range
                        lr = math.inf
                    if not _is_rate(lr):
                        raise ValueError(f"the {self.schedule} schedule gives lr={lr} at epoch {epoch} "
                                         f"(of {epochs}); the learning rate must stay > 0")

    def _scheduled(self, param_groups: list) -> list:
        return [param_groups[index] for index in self.groups] if self.groups is not None else list(param_groups)

    def load_state_dict(self, state: dict) -> None:
        """Also refuses more initial learning rates than the optimizer has groups."""
        rates = state.get("initial_lr") if isinstance(state, dict) else None
        groups = getattr(self.optimizer, "param_groups", None)
        if isinstance(rates, list) and groups is not None and len(rates) > len(groups):
            raise ValueError(f"LearningRateSchedule.load_state_dict: {len(rates)} initial learning rates, but the "
                             f"optimizer has {len(groups)} parameter group{'s' if len(groups) != 1 else ''}")
        super().load_state_dict(state)

    def on_train_begin(self, logs=None):
        self.initial_lr = [group["lr"] for group in self.optimizer.param_groups]

    def on_epoch_begin(self, epoch, logs=None):
        groups = self.optimizer.param_groups
        if len(self.initial_lr) > len(groups):
            raise ValueError(f"LearningRateSchedule: it holds {len(self.initial_lr)} initial learning rates, "
                             f"the optimizer has {len(groups)} parameter groups")
        self.initial_lr += [group["lr"] for group in groups[len(self.initial_lr):]]  # groups added since
        chosen = range(len(groups)) if self.groups is None else self.groups
        rates = {index: self.lr_at(epoch, self.initial_lr[index]) for index in chosen}
        for index, lr in rates.items():  # all checked before any is set
            if not _is_rate(lr):
                raise ValueError(f"the schedule gave lr={lr} at epoch {epoch} for parameter group {index}; "
                                 "it must be > 0 and finite")
        for index, lr in rates.items():
            groups[index]["lr"] = lr


def _is_rate(lr) -> bool:
    return isinstance(lr, (int, float)) and not isinstance(lr, bool) and lr > 0 and math.isfinite(lr)


def _group_indices(groups) -> list[int] | None:
    if groups is None:
        return None
    if isinstance(groups, (str, bytes)) or not hasattr(groups, "__iter__"):
        raise TypeError(f"groups must be a list of parameter-group indices or None, got {type(groups).__name__}")
    indices = [non_negative_int(index, "groups item") for index in groups]
    if not indices or len(set(indices)) != len(indices):
        raise ValueError(f"groups must list distinct parameter-group indices, got {indices}")
    return indices
