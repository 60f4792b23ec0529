"""The plumbing every explainer shares: reading ``inputs``, ``target``, ``baselines`` and
``additional_forward_args`` as Captum does, running the model in evaluation mode (and putting it
back), and the scores f(x)[target] and their input gradients, chunk by chunk of rows.

An explainer's ``attribute`` reads its arguments with :func:`prepare` (which runs the model once on
the first example to learn its output's shape, so that ``target`` is checked before anything
else runs), then calls :func:`scores` or :func:`input_gradients` on the rows it builds. A row of
those is one example (or a scaled or noisy copy of one): ``target`` and the per-example
``additional_forward_args`` travel with the rows (:class:`ForwardArgs`).

Example
-------
>>> import numpy as np
>>> from glassnet import nn
>>> from glassnet.explain._common import input_gradients, prepare
>>> model = nn.Linear(3, 2)
>>> x, target, args = prepare(model, np.ones((4, 3)), 1, None)
>>> values, grads = input_gradients(model, x, target, args)
>>> values.shape, grads.shape, bool(np.allclose(grads, model.weight.data[:, 1]))
((4,), (4, 3), True)
"""

from __future__ import annotations

import contextlib
import numbers
from collections.abc import Iterator
from typing import Any

import numpy as np

from .. import autograd
from ..autograd import no_grad
from ..nn.module import Module
from ..tensor import Tensor

__all__ = ["Attribution", "ForwardArgs", "as_baselines", "as_inputs", "as_target", "evaluating",
           "forward", "input_gradients", "model_dtype", "output_shape", "prepare", "scores"]


class Attribution:
    """The base of every explainer: holds ``forward_func`` (a glassnet Module or any callable
    from a Tensor (N, ...) to a Tensor (N, classes), (N, 1) or (N,)), checked once here.
    :class:`~glassnet.explain.NoiseTunnel` wraps any of them.

    Example
    -------
    >>> import numpy as np
    >>> from glassnet import nn
    >>> from glassnet.explain import Attribution
    >>> from glassnet.explain._common import input_gradients, prepare
    >>> class GradientTimesTwo(Attribution):
    ...     def attribute(self, inputs, target=None):
    ...         x, target, args = prepare(self.forward_func, inputs, target, None)
    ...         return 2 * input_gradients(self.forward_func, x, target, args)[1]
    >>> model = nn.Linear(2, 1)
    >>> bool(np.allclose(GradientTimesTwo(model).attribute(np.ones((3, 2))), 2 * model.weight.data[:, 0]))
    True
    """

    def __init__(self, forward_func) -> None:
        if not callable(forward_func):
            raise TypeError(f"forward_func must be a glassnet Module or a callable Tensor -> Tensor, "
                            f"got {type(forward_func).__name__}")
        self.forward_func = forward_func

    def attribute(self, inputs, *args, **kwargs):
        """The attributions of ``inputs``, an array of their shape (each explainer defines it)."""
        raise NotImplementedError(f"{type(self).__name__} does not define attribute()")

    def has_convergence_delta(self) -> bool:
        """Whether ``attribute`` can return a convergence delta (Captum's name)."""
        return False


# ---- the arguments ---------------------------------------------------------------------------
def as_inputs(inputs, name: str = "inputs") -> np.ndarray:
    """``inputs`` (a NumPy array, a Tensor's ``.data``, nested lists) as a float array of at least
    one example, finite: float32 and float64 kept, integers and booleans as float32. Never a view
    that an explainer could write through: the explainers only read it."""
    data = inputs.data if isinstance(inputs, Tensor) else inputs
    try:
        array = np.asarray(data)
    except ValueError as error:  # ragged nested lists
        raise ValueError(f"{name} is not a rectangular array: {error}") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a real array (a NumPy array or Tensor), got dtype {array.dtype}")
    if array.ndim == 0 or 0 in array.shape:
        raise ValueError(f"{name} must have shape (N, ...) with N >= 1 examples and at least one value each, "
                         f"got shape {array.shape}")
    if array.dtype.kind != "f":
        array = array.astype(np.float32)
    elif array.dtype not in (np.float32, np.float64):
        array = array.astype(np.float32)  # float16: computed in float32
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def as_baselines(baselines, x: np.ndarray, name: str = "baselines") -> np.ndarray:
    """The reference point of each example, an array of ``x.shape`` and dtype: None -> zeros; a
    number for every feature; an array of ``x.shape[1:]`` or ``(1,) + x.shape[1:]`` (the same for
    every example) or of ``x.shape`` (one per example), as Captum broadcasts them."""
    if baselines is None:
        return np.zeros_like(x)
    values: Any = baselines.data if isinstance(baselines, Tensor) else baselines
    if isinstance(values, bool) or not isinstance(values, (numbers.Real, np.ndarray, list, tuple)):
        raise TypeError(f"{name} must be None, a number or an array, got {type(baselines).__name__}")
    number: Any = np.asarray(values)
    if number.ndim == 0:
        if number.dtype.kind not in "iuf" or not np.isfinite(number):
            raise ValueError(f"{name} must be a finite number or an array, got {values!r}")
        return np.full_like(x, number)
    array = as_inputs(values, name)
    if array.shape not in (x.shape[1:], (1,) + x.shape[1:], x.shape):
        raise ValueError(f"{name} must be a number or an array of shape {x.shape[1:]} (one for every example) or "
                         f"{x.shape} (one per example), got shape {array.shape}")
    return np.broadcast_to(array.reshape((-1,) + x.shape[1:]), x.shape).astype(x.dtype)


class ForwardArgs:
    """``additional_forward_args`` as a tuple (Captum: None, one object or a tuple), passed after
    the input to ``forward_func``. The arrays and Tensors among them whose first axis has one entry
    per example are per-example: they follow the rows (sliced, repeated) as the inputs do; every
    other argument is passed as it is."""

    def __init__(self, args: tuple, per_example: tuple[bool, ...]) -> None:
        self.args, self.per_example = args, per_example

    @classmethod
    def of(cls, additional_forward_args, n: int) -> ForwardArgs:
        """Read ``additional_forward_args`` for ``n`` examples."""
        if additional_forward_args is None:
            args: tuple = ()
        elif isinstance(additional_forward_args, tuple):
            args = additional_forward_args
        else:
            args = (additional_forward_args,)
        per_example = tuple(isinstance(a, (np.ndarray, Tensor)) and np.ndim(a.data if isinstance(a, Tensor) else a) > 0
                            and len(a) == n for a in args)
        return cls(args, per_example)

    def _map(self, pick) -> ForwardArgs:
        args = tuple(_apply_rows(a, pick) if each else a for a, each in zip(self.args, self.per_example))
        return ForwardArgs(args, self.per_example)

    def rows(self, index) -> tuple:
        """The arguments for the rows ``index`` (a slice or an integer array)."""
        return self._map(lambda a: a[index]).args

    def tile(self, times: int) -> ForwardArgs:
        """For ``times`` copies of the batch one after the other (integrated gradients' steps)."""
        return self._map(lambda a: np.concatenate([a] * times))

    def repeat(self, times: int) -> ForwardArgs:
        """For each example repeated ``times`` times in place (NoiseTunnel's samples)."""
        return self._map(lambda a: np.repeat(a, times, axis=0))


def _apply_rows(arg, pick):
    """``pick`` applied to an array, or to a Tensor's values (a new Tensor without history)."""
    return Tensor(pick(arg.data)) if isinstance(arg, Tensor) else pick(arg)


def as_target(target, shape: tuple) -> np.ndarray | None:
    """``target`` checked against the model's output ``shape`` ((N,), (N, 1) or (N, classes)): None
    (only for one value per example) stays None; an int (every example) or a sequence of N ints
    becomes an int array (N,). Anything else is a ValueError naming ``target`` and the shape."""
    n, classes = shape[0], (shape[1] if len(shape) == 2 else None)
    if target is None:
        if classes not in (None, 1):
            raise ValueError(f"target is None, but the model's output has shape {shape}: give the class to "
                             "explain (an int, or one per example)")
        return None
    if classes is None:
        raise ValueError(f"target must be None for an output of shape {shape} (one value per example), "
                         f"got {target!r}")
    values = np.asarray(target.data if isinstance(target, Tensor) else target)
    if isinstance(target, bool) or values.dtype == bool or values.dtype.kind not in "iu" or values.ndim > 1:
        raise ValueError(f"target must be None, an int or a sequence of ints, one per example (the output has "
                         f"shape {shape}), got {target!r}")
    if values.ndim == 1 and len(values) != n:
        raise ValueError(f"target has {len(values)} entries but there are {n} examples (the output has shape "
                         f"{shape}): give an int or one per example")
    if np.any(values < 0) or np.any(values >= classes):
        raise ValueError(f"target must be in [0, {classes}) for the model's output of shape {shape}, got {target!r}")
    return np.broadcast_to(values.astype(np.int64), (n,)).copy()


# ---- running the model -----------------------------------------------------------------------
@contextlib.contextmanager
def evaluating(forward_func) -> Iterator[None]:
    """Run a Module (or the Module of a bound method) in evaluation mode, every sub-module's mode
    put back afterwards: Dropout off, BatchNorm on its running statistics, which stay as they are.

    >>> from glassnet import nn
    >>> from glassnet.explain._common import evaluating
    >>> model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    >>> with evaluating(model):
    ...     print(model[1].training)
    False
    >>> model[1].training
    True
    """
    module = forward_func if isinstance(forward_func, Module) else getattr(forward_func, "__self__", None)
    if not isinstance(module, Module):
        yield
        return
    modes = [(m, m.training) for m in module.modules()]
    try:
        for m, _ in modes:
            m.training = False  # not eval(): that would also touch what freeze() recorded
        yield
    finally:
        for m, mode in modes:
            m.training = mode


@contextlib.contextmanager
def _grad_enabled() -> Iterator[None]:
    """Record the graph even inside the caller's ``no_grad()`` (Captum enables grad the same way):
    an input gradient needs it."""
    previous = autograd._GradMode.enabled
    autograd._GradMode.enabled = True
    try:
        yield
    finally:
        autograd._GradMode.enabled = previous


def model_dtype(forward_func, default) -> np.dtype:
    """The dtype the rows are given to the model in: a Module's parameters' (a float32 model takes
    float32 rows), else ``default`` (the inputs' dtype)."""
    module = forward_func if isinstance(forward_func, Module) else getattr(forward_func, "__self__", None)
    first = next(iter(module.parameters()), None) if isinstance(module, Module) else None
    return np.dtype(first.dtype if first is not None else default)


def forward(forward_func, rows, args: tuple) -> Tensor:
    """``forward_func(rows, *args)``, checked: a Tensor of shape (n,), (n, 1) or (n, classes) for
    ``n = len(rows)``."""
    out = forward_func(rows, *args)
    n = len(rows)
    if not isinstance(out, Tensor):
        raise TypeError(f"forward_func must return a glassnet Tensor, got {type(out).__name__}")
    if out.ndim not in (1, 2) or out.shape[0] != n:
        raise ValueError(f"forward_func must return one value per example or one row of class scores, shape "
                         f"({n},), ({n}, 1) or ({n}, classes) for a batch of {n}, got shape {out.shape}")
    return out


def output_shape(forward_func, x: np.ndarray, args: ForwardArgs) -> tuple:
    """The shape of the model's output for all of ``x``, from one run on the first example (in
    evaluation mode, no graph)."""
    dtype = model_dtype(forward_func, x.dtype)
    with evaluating(forward_func), no_grad():
        out = forward(forward_func, Tensor(x[:1].astype(dtype)), args.rows(slice(0, 1)))
    return (len(x),) + out.shape[1:]


def prepare(forward_func, inputs, target, additional_forward_args) -> tuple:
    """(x, target, args) of an explainer's ``attribute``: the inputs (:func:`as_inputs`), the
    additional arguments (:class:`ForwardArgs`) and ``target`` checked against the output's shape,
    which one run of the model on the first example tells."""
    x = as_inputs(inputs)
    args = ForwardArgs.of(additional_forward_args, len(x))
    return x, as_target(target, output_shape(forward_func, x, args)), args


def _select(out: Tensor, target: np.ndarray | None) -> Tensor:
    """The score of each row: its one value, or the entry of its target class."""
    if target is None:
        return out.reshape(len(out))
    return out[np.arange(len(out)), target]


def _chunks(n: int, batch_size: int | None) -> Iterator[slice]:
    step = n if batch_size is None else batch_size
    for start in range(0, n, step):
        yield slice(start, min(start + step, n))


def scores(forward_func, x: np.ndarray, target: np.ndarray | None, args: ForwardArgs,
           batch_size: int | None = None) -> np.ndarray:
    """f(x)[target] of each row, (len(x),) in ``x``'s dtype: evaluation mode, no graph, at most
    ``batch_size`` rows per forward pass."""
    dtype = model_dtype(forward_func, x.dtype)
    parts = []
    with evaluating(forward_func), no_grad():
        for rows in _chunks(len(x), batch_size):
            out = forward(forward_func, Tensor(x[rows].astype(dtype)), args.rows(rows))
            parts.append(_select(out, None if target is None else target[rows]).data)
    return np.concatenate(parts).astype(x.dtype)


def input_gradients(forward_func, x: np.ndarray, target: np.ndarray | None, args: ForwardArgs,
                    batch_size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(scores, grads): f(x)[target] of each row, (len(x),), and its gradient with respect to the
    row, of ``x``'s shape, both in ``x``'s dtype. Evaluation mode; at most ``batch_size`` rows per
    pass. Rows are independent in evaluation mode, so the gradient of the sum of the scores is
    each row's own gradient. No ``.grad`` changes (``glassnet.autograd.grad``)."""
    dtype = model_dtype(forward_func, x.dtype)
    values, grads = np.empty(len(x), x.dtype), np.empty_like(x)
    with evaluating(forward_func), _grad_enabled():
        for rows in _chunks(len(x), batch_size):
            leaf = Tensor(x[rows].astype(dtype), requires_grad=True)
            score = _select(forward(forward_func, leaf, args.rows(rows)), None if target is None else target[rows])
            if not score.requires_grad:
                raise ValueError("the output of forward_func does not depend on its input through glassnet ops "
                                 "(no graph): it cannot be differentiated")
            (grad,) = autograd.grad(score.sum(), leaf, allow_unused=True)
            if grad is None:
                raise ValueError("the output of forward_func does not depend on its input through glassnet ops: "
                                 "it cannot be differentiated with respect to the input")
            grads[rows], values[rows] = grad, score.data
    return values, grads

