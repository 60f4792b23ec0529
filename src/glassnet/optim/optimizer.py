"""The optimizer base class: parameter groups with their hyperparameters, per-parameter state.

An optimizer turns the gradients that ``backward()`` left in each parameter's ``.grad`` into a
change of the parameter's values. The training loop is always the same three lines::

    optimizer.zero_grad()     # forget the last batch's gradients (``.grad = None``)
    loss.backward()           # fill ``.grad`` of every parameter
    optimizer.step()          # move ``.data`` against the gradient

A subclass only writes the update of one parameter, ``_update(weight, grad, state, group)``, in
place on the NumPy array ``weight``, with the hyperparameters of the parameter's group. The base
class handles the bookkeeping: the parameter groups (PyTorch's ``param_groups``), skipping frozen
parameters and those without a gradient, the state of each parameter (velocity, running averages,
step count) in ``state[index]``, validating hyperparameters, and (with ``_saving.py``) saving and
loading all of that.

Updates are written with NumPy's in-place operators and ``out=`` arguments into a small shared work
area, so that a step allocates no temporary array per parameter: in a training loop the optimizer
should cost a few element-wise passes over the weights, nothing more.
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
from collections.abc import Mapping

import numpy as np
from scipy.linalg import blas

from .._checks import positive_number
from ._groups import group_parameters, group_specs
from ._saving import Saving

# From this many entries on, ``y += a x`` is BLAS axpy, one pass over x and y, instead of ``a x``
# into a scratch array and an add (two passes, a third array): SGD's momentum update of a 784x1024
# float32 weight, 552 -> 250 us, at 1 thread and at 2; 784x256: 64 -> 31 us (65,536 entries: 11
# -> 9 us). The calls take _AXPY_CHUNK entries each: OpenBLAS runs a longer axpy on all its
# threads, and a threaded axpy left the next threaded product waiting ~8 ms (measured: axpy then
# x @ W at 2 threads, 8.0 ms; in chunks, 0.29 ms).
_AXPY_MIN = 1 << 16
_AXPY_CHUNK = 8192
_AXPY = {np.dtype(np.float32): blas.saxpy, np.dtype(np.float64): blas.daxpy}


class _Interrupts:
    """The SIGINT handler of :func:`whole_steps`: Ctrl-C raises KeyboardInterrupt at once, as
    Python's own handler does, except while an optimizer updates its parameters (Adam's moments
    moved but not its weights would be half a step): then it lands right after the last update."""

    def __init__(self) -> None:
        self.updating = False
        self.received = False

    def __call__(self, signum, frame) -> None:
        if not self.updating:
            raise KeyboardInterrupt
        self.received = True


_INTERRUPTS = _Interrupts()
_MAIN_THREAD = threading.main_thread().ident


@contextlib.contextmanager
def whole_steps():
    """Within this block a Ctrl-C during :meth:`Optimizer.step` takes effect after the step's last
    update, never between two parameters' updates. ``glassnet.fit`` and the scikit-learn
    estimators train inside it; it installs its handler once per run (not once per step, which
    would cost more than a small step), only in the main thread and only over Python's own
    handler (a handler of yours is left alone)."""
    if threading.get_ident() != _MAIN_THREAD or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield
        return
    _INTERRUPTS.updating = _INTERRUPTS.received = False
    signal.signal(signal.SIGINT, _INTERRUPTS)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


class Optimizer(Saving):
    """Base class of the optimizers: parameter groups, each with its hyperparameters, and the
    per-parameter ``state``.

    Parameters
    ----------
    params : iterable of Parameter, or iterable of dict
        The tensors to optimize, e.g. ``model.parameters()`` (a generator is fine: it is read once
        into a list), or parameter groups as PyTorch writes them: dicts ``{"params": ..., "lr": ...}``
        whose missing hyperparameters are the optimizer's arguments. Each parameter appears once.
        A frozen parameter (``requires_grad=False``) may be included: ``step`` skips it while it
        is frozen (no update, no weight decay, no state), even if it holds an old gradient.
    lr : float
        The learning rate eta (> 0); the default of every group.

    Attributes
    ----------
    param_groups : list of dict
        One dict per group: ``"params"`` (its list of parameters) and its hyperparameters
        (``"lr"``, ``"momentum"``, ...). Edit the values between steps (a learning-rate schedule
        sets ``"lr"``): ``step`` checks an edited group again before changing anything. Add a
        group with :meth:`add_param_group`.
    defaults : dict
        The hyperparameters given to the constructor, which fill a new group's missing ones.
    lr : float
        The learning rate of an optimizer with one group; setting it checks the value. With
        several groups, read or set ``param_groups[i]["lr"]`` (``lr`` is then an AttributeError).
    params : list of Tensor
        Every group's parameters, in order: ``state`` is kept by this position.
    state : dict
        ``state[i]`` holds the state of ``params[i]`` (a dict of arrays and counts), made on the
        first step that parameter has a gradient.

    Subclasses list their hyperparameters in ``_hyperparameters`` and pass them by name to
    ``super().__init__(params, lr, name=value, ...)``; they check and normalize one group's values
    in ``_check_group(group)`` (checks from ``glassnet._checks``), make a parameter's state in
    ``_init_state(weight, group)`` and update it in ``_update(weight, grad, state, group)``.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> w = gn.Parameter(np.array([1.0, -2.0]))
    >>> opt = gn.optim.SGD([w], lr=0.1)
    >>> (w * w).sum().backward()          # dL/dw = 2 w
    >>> opt.step()
    >>> w.data
    array([ 0.8, -1.6])

    Parameter groups: a body that learns slowly and a head that learns fast.

    >>> body, head = gn.Parameter(np.ones(2)), gn.Parameter(np.ones(2))
    >>> opt = gn.optim.SGD([{"params": [body], "lr": 0.01}, {"params": [head]}], lr=0.1)
    >>> [group["lr"] for group in opt.param_groups]
    [0.01, 0.1]
    """

    _hyperparameters: tuple = ("lr",)
    # State entries that are sums of squares, so never negative (load_state_dict checks them).
    _non_negative_state: tuple = ()

    def __init__(self, params, lr: float, **hyperparameters) -> None:
        self.state: dict = {}
        # Work arrays shared by all parameters (they are updated one after another): one flat
        # array per (dtype, slot), viewed in each parameter's shape. Not state: never saved.
        self._work: dict = {}
        self.param_groups: list[dict] = []
        self._checked: list[tuple] = []  # each group's values when last checked (see _refresh)
        self.defaults = self._checked_values({"lr": lr, **hyperparameters}, "")
        specs, as_dicts = group_specs(params, type(self).__name__)
        for spec in specs:  # a plain list of parameters: messages need not name its group
            self.add_param_group(spec, _where=None if as_dicts else "")
        if not self.params:
            raise ValueError(f"{type(self).__name__}: the parameter groups hold no parameter; nothing to optimize")

    # ---- the groups -------------------------------------------------------------------------
    def add_param_group(self, param_group: Mapping, *, _where: str | None = None) -> None:
        """Add a group ``{"params": ..., hyperparameter: value}`` (the missing hyperparameters are
        ``defaults``); its parameters must not be in another group. Checked before anything
        changes. Useful to start training a layer later (unfreezing a body gradually).

        Example
        -------
        >>> import numpy as np, glassnet as gn
        >>> opt = gn.optim.Adam([gn.Parameter(np.zeros(3))], lr=0.01)
        >>> opt.add_param_group({"params": [gn.Parameter(np.zeros(2))], "lr": 1e-4})
        >>> [(len(g["params"]), g["lr"]) for g in opt.param_groups]
        [(1, 0.01), (1, 0.0001)]
        """
        owner = type(self).__name__
        where = f"param group {len(self.param_groups)}, " if _where is None else _where
        if not isinstance(param_group, Mapping):
            raise TypeError(f"{owner}: a parameter group must be a dict with 'params', "
                            f"got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError(f"{owner}: {where}the group has no 'params' entry")
        self._refuse_unknown(param_group, where)
        taken = {id(param) for param in self.params}
        params = group_parameters(param_group["params"], owner, where, taken)
        given = {key: value for key, value in param_group.items() if key != "params"}
        values = self._checked_values({**self.defaults, **given}, where)
        group = {"params": params, **values}
        self.param_groups.append(group)
        self._checked.append(self._snapshot(group))

    def __getstate__(self) -> dict:
        # What _refresh compares holds the parameters' ids, which a copy or pickle changes.
        return {key: value for key, value in self.__dict__.items() if key not in ("_checked", "_work")}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state, _work={})
        self._checked = [self._snapshot(group) for group in self.param_groups]

    @property
    def params(self) -> list:
        return [param for group in self.param_groups for param in group["params"]]

    @property
    def lr(self) -> float:
        return self._only_group()["lr"]

    @lr.setter
    def lr(self, value) -> None:
        self._only_group()["lr"] = positive_number(value, "lr")

    def _only_group(self) -> dict:
        if len(self.param_groups) != 1:
            raise AttributeError(
                f"{type(self).__name__} has {len(self.param_groups)} parameter groups, each with its own "
                "learning rate: read or set optimizer.param_groups[i]['lr']")
        return self.param_groups[0]

    def _refuse_unknown(self, values: Mapping, where: str) -> None:
        unknown = [key for key in values if key != "params" and key not in self._hyperparameters]
        if unknown:
            raise ValueError(f"{type(self).__name__}: {where}unknown hyperparameter "
                             f"{', '.join(repr(key)[:40] for key in unknown)}; it takes "
                             f"{', '.join(self._hyperparameters)}")

    def _checked_values(self, values: dict, where: str) -> dict:
        """A checked and normalized copy of one group's hyperparameters (``lr``, then the
        subclass's ``_check_group``); errors start with ``where``."""
        values = dict(values)
        missing = [key for key in self._hyperparameters if key not in values]
        try:
            if missing:
                raise ValueError(f"the group lacks {', '.join(map(repr, missing))}")
            values["lr"] = positive_number(values["lr"], "lr")
            self._check_group(values)
        except (TypeError, ValueError) as error:
            if not where:
                raise
            raise type(error)(f"{type(self).__name__}: {where}{error}") from None
        return values

    def _snapshot(self, group: dict) -> tuple:
        """What was checked of a group: its parameters (by identity), its keys, its values."""
        return (tuple(map(id, group["params"])), len(group), *map(group.get, self._hyperparameters))

    def _refresh(self) -> None:
        """Check again the groups edited since the last step (a schedule's lr, a momentum set by
        hand, parameters put in a group) and take in a group appended to ``param_groups``
        directly; a bad value raises before any step. A check that turns on an option (amsgrad,
        momentum) gives the group's state the entries it now needs (zeros), one that turns it
        off drops them."""
        groups, checked = self.param_groups, self._checked
        if len(groups) < len(checked):
            raise ValueError(f"{type(self).__name__}: a group was removed from param_groups; the state is kept "
                             "by position, so groups can only be added (add_param_group)")
        while len(checked) < len(groups):  # appended by hand: checked as add_param_group would
            self.add_param_group(groups.pop(len(checked)))
        start, snapshot = 0, self._snapshot
        for index, group in enumerate(groups):
            if snapshot(group) != checked[index]:
                where = f"param group {index}, "
                self._refuse_unknown(group, where)
                if "params" not in group:
                    raise ValueError(f"{type(self).__name__}: {where}the group has no 'params' entry")
                params = self._edited_parameters(index, start, where)
                values = self._checked_values({k: v for k, v in group.items() if k != "params"}, where)
                group.update(values, params=params)
                checked[index] = self._snapshot(group)
                self._fit_states(group, start)
            start += len(group["params"])

    def _edited_parameters(self, index: int, start: int, where: str) -> list:
        """The parameters of group ``index`` (from position ``start``), checked again if they were
        edited: the state is kept by position, so once a state exists at or after ``start`` only
        appending to the last group keeps every state with its parameter."""
        group, owner, before = self.param_groups[index], type(self).__name__, self._checked[index][0]
        if tuple(map(id, group["params"])) == before and isinstance(group["params"], list):
            return group["params"]
        taken = {id(p) for other in self.param_groups if other is not group for p in other["params"]}
        params = group_parameters(group["params"], owner, where, taken)
        appended = tuple(map(id, params[:len(before)])) == before and index == len(self.param_groups) - 1
        if not appended and any(position >= start for position in self.state):
            raise ValueError(f"{owner}: {where}its parameters were changed after the optimizer made their state, "
                             "which is kept by position: add parameters in a new group (add_param_group)")
        return params

    def _fit_states(self, group: dict, start: int) -> None:
        """Give the states of ``group``'s parameters (positions from ``start``) exactly the entries
        its hyperparameters need: new ones as ``_init_state`` makes them, unneeded ones dropped."""
        needed = self._init_state(np.empty(0), group).keys()  # the entries alone, nothing allocated
        for position, param in enumerate(group["params"], start):
            state = self.state.get(position)
            if state is None or state.keys() == needed:
                continue
            for key in [key for key in state if key not in needed]:
                del state[key]
            for key, value in self._init_state(param.data, group).items():
                state.setdefault(key, value)

    # ---- the training loop ----------------------------------------------------------------
    def zero_grad(self) -> None:
        """Forget the gradients: set ``.grad = None`` on every parameter.

        None (rather than an array of zeros) lets the next ``backward()`` store its gradient
        without adding into an old one, and lets ``step()`` skip parameters that got none.
        """
        for group in self.param_groups:
            for param in group["params"]:
                param.grad = None

    def step(self, *, error_if_nonfinite: bool = True) -> None:
        """Update every parameter that has a gradient, in place (``param.data`` keeps its array),
        with the hyperparameters of its group.

        Parameters whose ``.grad`` is None (not used in the last backward pass) or that are frozen
        (``requires_grad=False``) are skipped, and their state does not advance. ``.grad`` is only
        read, never written.

        All or nothing: edited groups are checked again and every gradient is checked before the
        first update; a bad hyperparameter raises ValueError/TypeError and a NaN or infinite
        gradient FloatingPointError (naming the parameter), with no parameter and no state
        changed; ``error_if_nonfinite=False`` applies such a step as PyTorch does (the weights
        become NaN). Inside :func:`whole_steps` (``fit`` and the estimators train there) a Ctrl-C
        during the updates takes effect after the last one, never between two.
        """
        self._refresh()
        # Check every gradient first, so that a bad one leaves no parameter half-updated.
        pending = self._checked_gradients(error_if_nonfinite)
        interrupts = _INTERRUPTS
        in_main = threading.get_ident() == _MAIN_THREAD  # signals reach the main thread only
        interrupts.updating = in_main
        try:
            for index, weight, grad, group in pending:
                state = self.state.get(index)
                if state is None:
                    state = self.state[index] = self._init_state(weight, group)
                self._update(weight, grad, state, group)
        finally:
            if in_main:
                interrupts.updating = False
        if in_main and interrupts.received:  # a Ctrl-C held back by whole_steps: it lands now
            interrupts.received = False
            raise KeyboardInterrupt

    def _checked_gradients(self, error_if_nonfinite: bool) -> list:
        """``[(index, weight, grad, group)]`` of the trainable parameters that have a gradient,
        each checked."""
        pending = []
        total = 0.0
        index = -1
        with np.errstate(over="ignore", invalid="ignore"):  # finite values may add up past float32
            for group in self.param_groups:
                for param in group["params"]:
                    index += 1
                    grad = param.grad
                    if grad is None or not param.requires_grad:
                        continue
                    weight = param.data
                    if grad.shape != weight.shape:
                        raise ValueError(
                            f"{type(self).__name__}: parameter {index} has shape {weight.shape} but its "
                            f"gradient has shape {grad.shape}"
                        )
                    if grad.dtype != weight.dtype:
                        raise TypeError(
                            f"{type(self).__name__}: parameter {index} is {weight.dtype} but its gradient "
                            f"is {grad.dtype}; glassnet never casts silently"
                        )
                    if not weight.flags.writeable:  # checked first: no state moves, no BLAS writes through
                        raise ValueError(f"{type(self).__name__}: parameter {index} is read-only (its .data "
                                         "is not writeable); no parameter was changed")
                    pending.append((index, weight, grad, group))
                    if error_if_nonfinite:  # a NaN or inf makes g . g non-finite: one pass, no array
                        flat = grad.ravel(order="K")  # BLAS's dot: ~4x faster than np.add.reduce
                        total += float(np.dot(flat, flat))
        if error_if_nonfinite and not math.isfinite(total):  # then look closer (finite sums may overflow)
            for index, weight, grad, _ in pending:
                if not np.isfinite(grad).all():
                    raise FloatingPointError(
                        f"{type(self).__name__}: the gradient of parameter {index} (shape {weight.shape}) "
                        "holds NaN or infinite values; no parameter was changed. The loss has probably "
                        "diverged: lower the learning rate or scale the inputs "
                        "(step(error_if_nonfinite=False) applies it)")
        return pending

    # ---- what a subclass writes -------------------------------------------------------------
    def _check_group(self, group: dict) -> None:
        """Check and normalize one group's hyperparameters in place with ``glassnet._checks``
        (TypeError for a wrong type, ValueError for a wrong value); ``lr`` is already checked."""

    def _init_state(self, weight: np.ndarray, group: dict) -> dict:
        """The state of a parameter before its first update (arrays shaped like ``weight``)."""
        return {}

    def _update(self, weight: np.ndarray, grad: np.ndarray, state: dict, group: dict) -> None:
        """Change ``weight`` in place from ``grad`` (read only), ``state`` (updated in place) and
        the hyperparameters of its ``group``."""
        raise NotImplementedError(f"{type(self).__name__} must implement _update")

    def _buffer(self, weight: np.ndarray, slot: int) -> np.ndarray:
        """A scratch array shaped like ``weight``, overwritten by the next parameter's update.

        ``slot`` tells apart the scratch arrays one update needs at the same time.
        """
        key = (weight.dtype, slot)
        flat = self._work.get(key)
        if flat is None or flat.size < weight.size:
            largest = max((p.data.size for p in self.params if p.data.dtype == weight.dtype), default=0)
            flat = self._work[key] = np.empty(max(largest, weight.size), dtype=weight.dtype)
        return flat[: weight.size].reshape(weight.shape)

    def _add_scaled(self, target: np.ndarray, scale: float, x: np.ndarray, slot: int = 1) -> None:
        """``target += scale * x`` in place, ``x`` unchanged. ``slot``: the scratch array it may
        use (see :meth:`_buffer`); not 0 by default, which holds :meth:`_gradient_with_decay`'s
        result, often ``x`` itself."""
        axpy = _AXPY.get(target.dtype) if target.size >= _AXPY_MIN else None  # small: no lookups
        if (axpy is not None and scale != 0.0 and x.dtype == target.dtype and target.flags.c_contiguous
                and target.flags.aligned and target.flags.writeable and x.flags.c_contiguous):
            flat_target, flat_x = target.reshape(-1), x.reshape(-1)  # views: axpy works in place
            for start in range(0, flat_target.size, _AXPY_CHUNK):
                stop = start + _AXPY_CHUNK
                axpy(flat_x[start:stop], flat_target[start:stop], a=scale)
            return
        target += np.multiply(x, scale, out=self._buffer(target, slot))

    def _gradient_with_decay(self, weight, grad, weight_decay: float, slot: int = 0):
        """g + wd * w (L2 weight decay, PyTorch's rule), in a scratch array; g itself if wd = 0."""
        if weight_decay == 0.0:
            return grad
        decayed = np.multiply(weight, weight_decay, out=self._buffer(weight, slot))
        decayed += grad
        return decayed

    def __repr__(self) -> str:
        def settings(group: dict) -> str:
            values = ", ".join(f"{key}={group[key]!r}" for key in self._hyperparameters)
            return f"{len(group['params'])} parameters, {values}"

        if len(self.param_groups) == 1:
            return f"{type(self).__name__}({settings(self.param_groups[0])})"
        groups = ", ".join(f"[{settings(group)}]" for group in self.param_groups)
        return f"{type(self).__name__}({len(self.param_groups)} groups: {groups})"

