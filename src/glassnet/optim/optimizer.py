"""The optimizer base class: a list of parameters, a learning rate, per-parameter state.

An optimizer turns the gradients that ``backward()`` left in each parameter's ``.grad`` into a
change of the parameter's values. The training loop is always the same three lines::

    optimizer.zero_grad()     # forget the last batch's gradients (``.grad = None``)
    loss.backward()           # fill ``.grad`` of every parameter
    optimizer.step()          # move ``.data`` against the gradient

A subclass only writes the update of one parameter, ``_update(weight, grad, state)``, in place on
the NumPy array ``weight``. The base class handles the bookkeeping: it skips parameters without a
gradient, keeps the state of each parameter (velocity, running averages, step count) in
``state[index]``, validates hyperparameters, and saves and loads all of that.

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

from .._checks import positive_number
from ..tensor import Tensor


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


class Optimizer:
    """Base class of the optimizers: holds the parameters, ``lr`` and the per-parameter ``state``.

    Parameters
    ----------
    params : iterable of Parameter
        The tensors to optimize, e.g. ``model.parameters()`` (a generator is fine: it is read once
        into a list). Each must be a Tensor with ``requires_grad=True``; the list must not be empty
        or hold the same tensor twice.
    lr : float
        The learning rate eta (> 0). A public attribute: a schedule may change it between steps.

    Attributes
    ----------
    params : list of Tensor
        The parameters, in the order given.
    lr : float
        The learning rate; setting it checks the value again.
    state : dict
        ``state[i]`` holds the state of ``params[i]`` (a dict of arrays and counts), made on the
        first step that parameter has a gradient.

    Subclasses list their hyperparameters in ``_hyperparameters`` and pass them by name to
    ``super().__init__(params, lr, name=value, ...)``, which sets them and calls
    ``_check_hyperparameters()`` (checks from ``glassnet._checks``; also run by
    ``load_state_dict``). They make a parameter's state in ``_init_state(weight)`` and update it in
    ``_update(weight, grad, state)``.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> w = gn.Parameter(np.array([1.0, -2.0]))
    >>> opt = gn.optim.SGD([w], lr=0.1)
    >>> (w * w).sum().backward()          # dL/dw = 2 w
    >>> opt.step()
    >>> w.data
    array([ 0.8, -1.6])
    """

    _hyperparameters: tuple = ("lr",)
    # State entries that are sums of squares, so never negative (load_state_dict checks them).
    _non_negative_state: tuple = ()

    def __init__(self, params, lr: float, **hyperparameters) -> None:
        self.params = _parameter_list(params, type(self).__name__)
        self.lr = lr
        # A subclass passes its own hyperparameters (those of ``_hyperparameters`` but lr) by
        # name: they are set, then checked and normalized together by _check_hyperparameters.
        for name, value in hyperparameters.items():
            setattr(self, name, value)
        if hyperparameters:
            self._check_hyperparameters()
        self.state: dict = {}
        # Work arrays shared by all parameters (they are updated one after another): one flat
        # array per (dtype, slot), viewed in each parameter's shape. Not state: never saved.
        self._work: dict = {}

    # ---- the learning rate ----------------------------------------------------------------
    @property
    def lr(self) -> float:
        return self._lr

    @lr.setter
    def lr(self, value) -> None:
        self._lr = positive_number(value, "lr")

    # ---- the training loop ----------------------------------------------------------------
    def zero_grad(self) -> None:
        """Forget the gradients: set ``.grad = None`` on every parameter.

        None (rather than an array of zeros) lets the next ``backward()`` store its gradient
        without adding into an old one, and lets ``step()`` skip parameters that got none.
        """
        for param in self.params:
            param.grad = None

    def step(self, *, error_if_nonfinite: bool = True) -> None:
        """Update every parameter that has a gradient, in place (``param.data`` keeps its array).

        Parameters whose ``.grad`` is None (not used in the last backward pass) are skipped, and
        their state does not advance. ``.grad`` is only read, never written.

        All or nothing: every gradient is checked before the first update, and a NaN or infinite
        one raises FloatingPointError (naming the parameter) with no parameter and no state
        changed; ``error_if_nonfinite=False`` applies such a step as PyTorch does (the weights
        become NaN). Inside :func:`whole_steps` (``fit`` and the estimators train there) a Ctrl-C
        during the updates takes effect after the last one, never between two.
        """
        # Check every gradient first, so that a bad one leaves no parameter half-updated.
        pending = self._checked_gradients(error_if_nonfinite)
        interrupts = _INTERRUPTS
        in_main = threading.get_ident() == _MAIN_THREAD  # signals reach the main thread only
        interrupts.updating = in_main
        try:
            for index, weight, grad in pending:
                state = self.state.get(index)
                if state is None:
                    state = self.state[index] = self._init_state(weight)
                self._update(weight, grad, state)
        finally:
            if in_main:
                interrupts.updating = False
        if in_main and interrupts.received:  # a Ctrl-C held back by whole_steps: it lands now
            interrupts.received = False
            raise KeyboardInterrupt

    def _checked_gradients(self, error_if_nonfinite: bool) -> list:
        """``[(index, weight, grad)]`` of the parameters that have a gradient, each checked."""
        pending = []
        total = 0.0
        with np.errstate(over="ignore", invalid="ignore"):  # finite values may add up past float32
            for index, param in enumerate(self.params):
                grad = param.grad
                if grad is None:
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
                pending.append((index, weight, grad))
                if error_if_nonfinite:  # a NaN or inf makes the sum non-finite: one pass, no array
                    total += float(np.add.reduce(grad, axis=None))
        if error_if_nonfinite and not math.isfinite(total):  # then look closer (finite sums may overflow)
            for index, weight, grad in pending:
                if not np.isfinite(grad).all():
                    raise FloatingPointError(
                        f"{type(self).__name__}: the gradient of parameter {index} (shape {weight.shape}) "
                        "holds NaN or infinite values; no parameter was changed. The loss has probably "
                        "diverged: lower the learning rate or scale the inputs "
                        "(step(error_if_nonfinite=False) applies it)")
        return pending

    # ---- what a subclass writes -------------------------------------------------------------
    def _check_hyperparameters(self) -> None:
        """Check and normalize the hyperparameters with ``glassnet._checks`` (TypeError for a wrong
        type, ValueError for a wrong value); ``lr`` is checked by its setter."""

    def _init_state(self, weight: np.ndarray) -> dict:
        """The state of a parameter before its first update (arrays shaped like ``weight``)."""
        return {}

    def _update(self, weight: np.ndarray, grad: np.ndarray, state: dict) -> None:
        """Change ``weight`` in place from ``grad`` (read only) and ``state`` (updated in place)."""
        raise NotImplementedError(f"{type(self).__name__} must implement _update")

    def _buffer(self, weight: np.ndarray, slot: int) -> np.ndarray:
        """A scratch array shaped like ``weight``, overwritten by the next parameter's update.

        ``slot`` tells apart the scratch arrays one update needs at the same time.
        """
        key = (weight.dtype, slot)
        flat = self._work.get(key)
        if flat is None or flat.size < weight.size:
            largest = max(p.data.size for p in self.params if p.data.dtype == weight.dtype)
            flat = self._work[key] = np.empty(max(largest, weight.size), dtype=weight.dtype)
        return flat[: weight.size].reshape(weight.shape)

    def _gradient_with_decay(self, weight, grad, weight_decay: float, slot: int = 0):
        """g + wd * w (L2 weight decay, PyTorch's rule), in a scratch array; g itself if wd = 0."""
        if weight_decay == 0.0:
            return grad
        decayed = np.multiply(weight, weight_decay, out=self._buffer(weight, slot))
        decayed += grad
        return decayed

    # ---- saving and loading -----------------------------------------------------------------
    def state_dict(self) -> dict:
        """A copy of the optimizer's hyperparameters and per-parameter state.

        Returns ``{"type": class name, "hyperparameters": {name: value},
        "state": {index: {name: array copy or int}}}``; later steps do not change it.
        """
        return {
            "type": type(self).__name__,
            "hyperparameters": {name: getattr(self, name) for name in self._hyperparameters},
            "state": {
                index: {key: _copy(value) for key, value in entries.items()}
                for index, entries in self.state.items()
            },
        }

    def load_state_dict(self, state_dict: Mapping) -> None:
        """Restore what :meth:`state_dict` saved, for the same parameters in the same order.

        Everything is checked before anything changes: the type, the hyperparameters (as the
        constructor checks them) and each parameter's state, which must hold exactly the entries
        this optimizer keeps with those hyperparameters: a step count (an int >= 0) and arrays of
        the parameter's shape and dtype (nothing is cast), no sum of squares negative. A problem
        raises TypeError or ValueError and leaves the optimizer as it was. NaN is loaded as saved
        (a diverged run resumes as it was). Arrays are copied: the saved dict stays untouched.
        """
        name = type(self).__name__
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"load_state_dict expects the dict of state_dict(), got {type(state_dict).__name__}")
        unknown = set(state_dict) - {"type", "hyperparameters", "state"}
        if unknown:
            raise ValueError(f"load_state_dict: unknown entries {sorted(map(str, unknown))}; {name}.state_dict() "
                             "holds 'type', 'hyperparameters' and 'state'")
        saved_type = state_dict.get("type", name)
        if saved_type != name:
            raise ValueError(f"load_state_dict: the state was saved by {str(saved_type)[:60]}, not {name}")
        hyperparameters, saved_state = state_dict.get("hyperparameters", {}), state_dict.get("state", {})
        for entry, value in (("hyperparameters", hyperparameters), ("state", saved_state)):
            if not isinstance(value, Mapping):
                raise TypeError(f"load_state_dict: {entry!r} must be a dict, got {type(value).__name__}")
        unknown = set(hyperparameters) - set(self._hyperparameters)
        if unknown:
            raise ValueError(f"load_state_dict: unknown hyperparameters {sorted(map(str, unknown))} for {name}")
        previous = {key: getattr(self, key) for key in self._hyperparameters}
        try:
            for key, value in hyperparameters.items():
                setattr(self, key, value)
            self._check_hyperparameters()
            state = {}  # checked against these hyperparameters: they decide the entries (amsgrad, momentum)
            for index, entries in saved_state.items():
                position = self._parameter_index(index)
                if position in state:
                    raise ValueError(f"load_state_dict: two states for parameter {position} ({index!r})")
                state[position] = self._restored(position, entries)
        except BaseException:
            for key, value in previous.items():
                setattr(self, key, value)
            raise
        self.state = state

    def _parameter_index(self, index) -> int:
        """A state's key as the position of its parameter: an int, or its digits (a JSON key)."""
        if isinstance(index, str) and index.isdigit():
            index = int(index)
        if not isinstance(index, (int, np.integer)) or isinstance(index, (bool, np.bool_)):
            raise TypeError(f"load_state_dict: parameter index {repr(index)[:40]} is not an int")
        if not 0 <= index < len(self.params):
            raise ValueError(f"load_state_dict: state for parameter {index}, but {type(self).__name__} has "
                             f"{len(self.params)} parameters")
        return int(index)

    def _restored(self, index: int, entries) -> dict:
        """A copy of the saved state of parameter ``index``, after checking it holds what
        ``_init_state`` makes: the same entries, ints as ints >= 0, arrays like the parameter."""
        name, weight = type(self).__name__, self.params[index].data
        if not isinstance(entries, Mapping):
            raise TypeError(f"load_state_dict: the state of parameter {index} must be a dict, got "
                            f"{type(entries).__name__}")
        expected = self._init_state(np.empty(0, weight.dtype))  # the entries and their kinds, no allocation
        missing = [key for key in expected if key not in entries]
        unknown = [key for key in entries if key not in expected]
        if missing:
            raise ValueError(f"load_state_dict: the state of parameter {index} lacks {', '.join(map(repr, missing))}")
        if unknown:
            raise ValueError(f"load_state_dict: the state of parameter {index} has entries "
                             f"{', '.join(repr(key)[:40] for key in unknown)} that {name} does not keep")
        restored: dict[str, int | np.ndarray] = {}
        for key, kind in expected.items():
            value, what = entries[key], f"load_state_dict: {key!r} of parameter {index}"
            if isinstance(kind, int):
                if not isinstance(value, (int, np.integer)) or isinstance(value, (bool, np.bool_)):
                    raise TypeError(f"{what} is {str(value)[:40]}; a step count is an int >= 0")
                if value < 0:
                    raise ValueError(f"{what} is {value}; a step count is an int >= 0")
                restored[key] = int(value)
                continue
            value = np.asarray(value.data if isinstance(value, Tensor) else value)
            if value.dtype != weight.dtype:
                raise TypeError(f"{what} has dtype {value.dtype}, the parameter has dtype {weight.dtype}; "
                                "nothing is cast")
            if value.shape != weight.shape:
                raise ValueError(f"{what} has shape {value.shape}, the parameter has shape {weight.shape}")
            if key in self._non_negative_state and (value < 0).any():
                raise ValueError(f"{what} holds negative values, which no run makes (a sum of squares)")
            restored[key] = value.copy()
        return restored

    def __repr__(self) -> str:
        settings = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._hyperparameters)
        return f"{type(self).__name__}({len(self.params)} parameters, {settings})"


# ---- parameter lists (shared by the optimizers, clipping and penalties) -------------------------
def _parameter_list(params, owner: str) -> list:
    """``params`` as a list of distinct Tensors that require grad, or a clear error."""
    if isinstance(params, Tensor):
        # A Tensor is iterable (row by row), which would silently optimize copies of its rows.
        raise TypeError(f"{owner}: params must be an iterable of Parameters; wrap a single one in a list")
    try:
        params = list(params)
    except TypeError:
        raise TypeError(
            f"{owner}: params must be an iterable of Parameters (e.g. model.parameters()), "
            f"got {type(params).__name__}"
        ) from None
    if not params:
        raise ValueError(f"{owner}: got an empty list of parameters; nothing to optimize")
    seen = set()
    for index, param in enumerate(params):
        if not isinstance(param, Tensor):
            raise TypeError(
                f"{owner}: parameter {index} is a {type(param).__name__}, expected a Parameter "
                "(a Tensor with requires_grad=True)"
            )
        if not param.requires_grad:
            raise ValueError(f"{owner}: parameter {index} does not require grad, so it can never be updated")
        if id(param) in seen:
            raise ValueError(f"{owner}: parameter {index} appears twice in the list")
        seen.add(id(param))
    return params


def _tensors(params, owner: str) -> list:
    """``params`` (a Tensor or an iterable of Tensors) as a list of Tensors, or a clear error."""
    if isinstance(params, Tensor):
        return [params]
    try:
        params = list(params)
    except TypeError:
        raise TypeError(
            f"{owner}: params must be a Tensor or an iterable of Tensors (e.g. model.parameters()), "
            f"got {type(params).__name__}"
        ) from None
    for index, param in enumerate(params):
        if not isinstance(param, Tensor):
            raise TypeError(f"{owner}: item {index} is a {type(param).__name__}, expected a Tensor")
    return params


def _copy(value):
    return value.copy() if isinstance(value, np.ndarray) else value
