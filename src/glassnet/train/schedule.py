"""LearningRateSchedule: the callback that sets the optimizer's learning rate at the start of
each epoch, from a built-in schedule (step, exponential, cosine) or a function of yours."""

from __future__ import annotations

import math
import numbers

from .._checks import non_negative_number, positive_int, positive_number
from .callbacks import Callback

__all__ = ["LearningRateSchedule"]


class LearningRateSchedule(Callback):
    """Set ``optimizer.lr`` at the start of each epoch (counted from 0) from a schedule.

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

    Every learning rate of a built-in schedule is checked (> 0) when training starts, so a
    cosine schedule with ``eta_min=0`` needs ``epochs <= T_max``.

    Example
    -------
    >>> import glassnet as gn
    >>> gn.LearningRateSchedule("step", step_size=2, gamma=0.5).lr_at(epoch=3, initial=0.1)
    0.05
    """

    _BUILT_IN = ("step", "exponential", "cosine")
    _state_types = {"initial_lr": (int, float)}
    _state_checks = {"initial_lr": (lambda lr: lr > 0 and math.isfinite(lr), "a learning rate > 0")}

    def __init__(self, schedule, step_size=10, gamma=0.1, T_max=None, eta_min=0.0) -> None:
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
        """A built-in schedule must keep every epoch's lr > 0 (a function of yours is called
        only when its epoch comes)."""
        if isinstance(self.schedule, str):
            epochs = trainer.params.get("epochs", 0)
            for epoch in range(epochs):
                try:
                    lr = self.lr_at(epoch, trainer.optimizer.lr)
                except OverflowError:  # gamma ** epoch past the float range
                    lr = math.inf
                if not (lr > 0 and math.isfinite(lr)):
                    raise ValueError(f"the {self.schedule} schedule gives lr={lr} at epoch {epoch} "
                                     f"(of {epochs}); the learning rate must stay > 0")

    def on_train_begin(self, logs=None):
        self.initial_lr = self.optimizer.lr

    def on_epoch_begin(self, epoch, logs=None):
        lr = self.lr_at(epoch, self.initial_lr)
        if not (lr > 0 and math.isfinite(lr)):
            raise ValueError(f"the schedule gave lr={lr} at epoch {epoch}; it must be > 0 and finite")
        self.optimizer.lr = lr
