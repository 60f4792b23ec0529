"""Training diagnostics: :class:`GradientMonitor` (a callback) and :func:`diagnose` (one measurement
at the current weights): per-layer gradient norms, weight norms, update-to-weight ratios, dead
ReLU units and saturated sigmoid/tanh units, and the course's problems they reveal (vanishing and
exploding gradients, dead units, saturation), each with a remedy.

The definitions of "layer", "unit", "dead" and "saturated" are in :mod:`._diagnosis`.

Example
-------
>>> import numpy as np, glassnet as gn
>>> from glassnet import nn, optim
>>> X = np.random.default_rng(0).normal(size=(64, 4)); y = (X[:, 0] > 0).astype(int)
>>> model = nn.Sequential(nn.Linear(4, 8, rng=0), nn.ReLU(), nn.Linear(8, 2, rng=1))
>>> monitor = gn.GradientMonitor()
>>> _ = gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=0.1),
...            epochs=3, batch_size=16, callbacks=[monitor], verbose=0, seed=0)
>>> len(monitor.records), monitor.layers, monitor.history("grad_norm").shape
(3, ['0', '2'], (3, 2))
"""

from __future__ import annotations

import math
import sys

import numpy as np

from .. import losses
from .._checks import non_negative_int, positive_int
from ..autograd import grad
from ..random import get_rng
from ..tensor import Tensor
from . import _diagnosis as stats
from ._checks import as_inputs, as_targets, check_model, fills_missing, model_dtype
from ._diagnosis import Finding, RecordsView
from .callbacks import Callback, check_stream

__all__ = ["Diagnosis", "Finding", "GradientMonitor", "diagnose"]


_RECORD_KEYS = {"epoch", "batch", "step", "batches", *stats.LAYER_KEYS, *stats.ACTIVATION_KEYS, *stats.TOTAL_KEYS,
                "nonfinite"}


def _is_records(value) -> bool:
    """A list of records as the monitor writes them (what a backup may hold)."""
    return all(isinstance(record, dict) and set(record) == _RECORD_KEYS and all(
        isinstance(record[key], dict) for key in stats.LAYER_KEYS + stats.ACTIVATION_KEYS) for record in value)


def _is_partial(value) -> bool:
    """None, or the sums of a record in the making: its entries, the units' flags boolean arrays."""
    if value is None:
        return True
    return (set(value) == set(stats.new_partial(0, None, 0)) and isinstance(value["batches"], int)
            and all(isinstance(value[key], dict) for key in ("grad", "update", "updates", "active", "saturated"))
            and all(isinstance(flags, np.ndarray) and flags.dtype == bool for flags in value["active"].values()))


class GradientMonitor(RecordsView, Callback):
    """Record per-layer gradient statistics during ``fit`` and say what is wrong.

    Each record holds, per layer (a module owning trainable parameters), the gradient's L2 norm,
    the weight norm and the update-to-weight ratio ``||W_after - W_before|| / ||W_before||`` of a
    step; per activation layer, the fraction of dead ReLU-family units and of saturated
    sigmoid/tanh outputs; and the total gradient norm (before clipping: fit's
    ``logs["grad_norm"]`` when ``fit(clip_grad_norm=...)`` clips). Definitions: :mod:`._diagnosis`.

    With ``every="epoch"`` a record covers one epoch: the gradient norms, update ratios and
    total norm are means over its batches (``max_grad_norm`` the largest), the weight norm is
    taken after its last step, a unit is dead when never active in any of its batches and the
    saturated fraction counts the outputs of all its batches. With ``every=N`` the run's batches
    0, N, 2N, ... (counted over all epochs) are recorded one each. The per-layer gradients are
    those the step applied (after clipping; clipping scales all layers alike, so ratios keep).

    Findings (:meth:`findings`, over all records, the worst one named):

    * vanishing: the first layer's gradient norm over the last's below ``vanishing_ratio``, or
      below 1 while an activation layer has more than ``saturated_fraction`` saturated outputs;
    * exploding: a NaN/inf loss or gradient, the total norm growing more than
      ``exploding_growth`` times from the first record, or the first/last ratio above
      ``exploding_ratio``;
    * dead: an activation layer with more than ``dead_fraction`` dead units;
    * saturated: one with more than ``saturated_fraction`` saturated outputs.

    The activation statistics come from forward hooks attached when training begins and removed
    when it ends, also when fit raises (a run that raised on NaN or inf gradients or weights ends
    its records with a non-finite one): a model without a monitor runs exactly as before, and
    the monitor never changes training.
    BackupAndRestore resumes the records exactly.

    Parameters
    ----------
    every : "epoch" or int
        One record per epoch, or one per ``every``-th batch.
    vanishing_ratio, exploding_growth, exploding_ratio : float
        Thresholds: > 0, > 1, > 1. The default vanishing_ratio 0.1 flags the sigmoid networks of
        six 30-unit layers on the digits, with Glorot init (first/output layer ratio about 2e-4)
        and with N(0, 1) init (0.015-0.054 over ten seeds at full batch; up to 0.15 on batches of
        16, where its saturation flags it), and none of the healthy ones measured:
        ReLU with He init (0.56-1.5), sigmoid with batch norm (0.39-0.68), the digits CNNs
        (0.32-0.67), ReLU/tanh MLPs of 2-8 layers with glassnet's default init (1.1-3.3).
    dead_fraction, saturated_fraction : float in (0, 1]
        saturated_fraction 0.25: a sigmoid network with N(0, 1) init has about half its outputs
        saturated (0.49-0.55 over eight seeds), Glorot or batch norm none, tanh with Glorot 3-5%.
    verbose : int
        1: print :meth:`report` to ``stream`` (standard output) when training ends.

    Attributes
    ----------
    layers, activations : list of str
        The watched layers' and activation layers' names (``model.named_modules()``).
    records : list of dict
        ``{"epoch", "batch" (None for an epoch), "step" (global batch index), "batches",
        "grad_norm", "weight_norm", "update_ratio" ({layer: float}), "total_grad_norm",
        "max_grad_norm", "dead", "saturated" ({activation: fraction}), "nonfinite"}``.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> from glassnet import nn, optim
    >>> X = np.random.default_rng(0).normal(size=(64, 3)); y = (X[:, 0] > 0).astype(int)
    >>> model = nn.Sequential(nn.Linear(3, 8, rng=0), nn.Sigmoid(), nn.Linear(8, 2, rng=1))
    >>> monitor = gn.GradientMonitor(every=2)
    >>> _ = gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=0.1),
    ...            epochs=2, batch_size=16, callbacks=[monitor], verbose=0, seed=0)
    >>> [record["step"] for record in monitor.records], monitor.findings()
    ([0, 2, 4, 6], [])
    """

    _state_types = {"records": (list,), "_partial": (dict, type(None)), "_step": (int,), "_every": (str, int)}
    _state_checks = {"records": (_is_records, "a list of records"), "_partial": (_is_partial, "a record's sums"),
                     "_step": (lambda step: step >= 0, "a count >= 0")}

    def __init__(self, every="epoch", vanishing_ratio=0.1, exploding_growth=1e3, exploding_ratio=1e2,
                 dead_fraction=0.5, saturated_fraction=0.25, verbose: int = 0, stream=None) -> None:
        if not (isinstance(every, str) and every == "epoch"):
            if isinstance(every, str):
                raise ValueError(f"every must be 'epoch' or a positive number of batches, got {every!r}")
            every = positive_int(every, "every")
        self.thresholds = stats.check_thresholds(vanishing_ratio, exploding_growth, exploding_ratio,
                                                 dead_fraction, saturated_fraction)
        self.verbose = non_negative_int(verbose, "verbose")
        self.stream = check_stream(stream, "GradientMonitor")
        self.every, self._every = every, every
        self.layers, self.activations, self.records = [], [], []
        self._partial: dict | None = None
        self._handles: list = []
        self._step, self._before, self._recording = 0, None, False

    # ---- the hooks fit calls --------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self._release()  # a monitor reused after an interrupted run starts clean
        model = self.model
        self._layers = stats.trainable_layers(model)
        self._activations = stats.watched_activations(model)
        self.layers = [name for name, _ in self._layers]
        self.activations = [name for name, _, _ in self._activations]
        self.classes = stats.class_names(model)
        self.records, self._partial, self._step, self._every = [], None, 0, self.every
        try:
            for name, module, kind in self._activations:
                self._handles.append(module.register_forward_hook(self._hook(name, kind)))
        except BaseException:
            self._release()
            raise

    def load_state_dict(self, state: dict) -> None:
        if isinstance(state, dict) and state.get("_every", self.every) != self.every:
            raise ValueError(f"GradientMonitor.load_state_dict: the records were taken with every="
                             f"{state['_every']!r}, this monitor has every={self.every!r}")
        super().load_state_dict(state)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        if self.every == "epoch" and (self._partial is None or self._partial["epoch"] != epoch):
            self._partial = stats.new_partial(epoch, None, self._step)

    def on_batch_begin(self, batch, logs=None):
        self._recording = self.every == "epoch" or self._step % self.every == 0
        if not self._recording:
            return
        if self.every != "epoch":
            self._partial = stats.new_partial(self._epoch, batch, self._step)
        self._before = [[p.data.copy() for p in params] for _, params in self._layers]

    def on_batch_end(self, batch, logs=None):
        if self._recording and self._partial is not None:
            self._partial["step"] = self._step
            loss = (logs or {}).get("loss")
            if loss is not None and not math.isfinite(loss):  # no step was taken: stale gradients
                self._partial["nonfinite"] = True
            else:
                stats.add_gradients(self._partial, self._layers, self._before, (logs or {}).get("grad_norm"))
            if self.every != "epoch":
                self._close()
        self._recording, self._before = False, None
        self._step += 1

    def on_epoch_end(self, epoch, logs=None):
        if self.every == "epoch":
            self._close()

    def on_train_end(self, logs=None):
        self._release()
        if self.verbose:
            print(self.report(), file=self.stream or sys.stdout)

    # ---- the pieces -----------------------------------------------------------------------------
    def _hook(self, name: str, kind: str):
        def record(module, args, output):
            if self._recording and self._partial is not None:
                stats.add_activation(self._partial, name, kind, np.asarray(getattr(output, "data", output)))

        return record

    def _close(self) -> None:
        partial, self._partial = self._partial, None
        if partial is not None and (partial["batches"] or partial["nonfinite"]):
            self.records.append(stats.close(partial, self._layers, self._activations))

    def on_train_failed(self, error):
        self._release(failed=True)

    def _release(self, failed: bool = False) -> None:
        """Remove the hooks. When training raised (``failed``) and the gradients or the weights
        are not finite, the record in the making ends the records, as non-finite."""
        handles, self._handles = getattr(self, "_handles", []), []
        for handle in handles:
            handle.remove()
        if failed and self._partial is not None:
            params = [p for _, group in self._layers for p in group]
            if any(not np.all(np.isfinite(a)) for p in params for a in (p.data, p.grad) if a is not None):
                self._partial["nonfinite"] = True
                self._close()
        self._recording, self._before = False, None


class Diagnosis(RecordsView):
    """What :func:`diagnose` returns: ``layers``, ``activations``, ``records`` (one record, laid
    out as :class:`GradientMonitor`'s, without update ratios), ``history(key)``,
    ``gradient_ratio()``, ``findings()`` and ``report()``."""

    def __init__(self, layers, activations, record, thresholds, rows: int) -> None:
        self.layers, self.activations, self.records, self.thresholds = layers, activations, [record], thresholds
        self.rows, self.classes = rows, {}

    def report(self) -> str:
        return stats.report(self, f"diagnosis at the current weights ({self.rows} rows), {len(self.layers)} layer(s)")

    def __repr__(self) -> str:
        return f"Diagnosis(layers={len(self.layers)}, findings={[f.kind for f in self.findings()]})"


def diagnose(model, X, y, *, loss, batch_size=None, vanishing_ratio=0.1, exploding_growth=1e3,
             exploding_ratio=1e2, dead_fraction=0.5, saturated_fraction=0.25) -> Diagnosis:
    """One forward and backward pass at the current weights: the statistics of
    :class:`GradientMonitor` (without update ratios) and their findings, "at initialization".

    The pass runs in train mode, as a training step would (BatchNorm on the batch's statistics,
    Dropout on), and changes nothing: the weights, every ``.grad``, the buffers, the random
    generators and every module's mode are as before.

    Parameters
    ----------
    model : Module
    X, y : arrays or Tensors, shape (n_samples, ...)
    loss : callable or str
    batch_size : int, optional
        Rows per forward pass (None: all). The gradient is that of the loss on all rows (each
        batch's weighted by its share of rows: exact for a mean loss); the units are counted over
        all rows.
    vanishing_ratio, exploding_growth, exploding_ratio, dead_fraction, saturated_fraction : float
        As for :class:`GradientMonitor`.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> from glassnet import nn
    >>> X = np.random.default_rng(0).normal(size=(32, 4)); y = np.arange(32) % 2
    >>> model = nn.Sequential(nn.Linear(4, 8, rng=0), nn.ReLU(), nn.Linear(8, 2, rng=1))
    >>> diagnosis = gn.diagnose(model, X, y, loss="cross_entropy")
    >>> diagnosis.history("grad_norm").shape, bool(diagnosis.gradient_ratio()[0] > 0), diagnosis.findings()
    ((1, 2), True, [])
    """
    check_model(model)
    loss_fn = losses.get(loss)
    positive_int(batch_size, "batch_size", allow_none=True)
    thresholds = stats.check_thresholds(vanishing_ratio, exploding_growth, exploding_ratio, dead_fraction,
                                        saturated_fraction)
    dtype = model_dtype(model)
    X = as_inputs(X, dtype, purpose="diagnose", allow_nan=fills_missing(model))
    y = as_targets(y, len(X), dtype=dtype)
    layers, activations = stats.trainable_layers(model), stats.watched_activations(model)
    if not layers:
        raise ValueError(f"the model has no trainable parameters: there is no gradient to diagnose in "
                         f"{type(model).__name__}")
    partial = stats.new_partial(0, None, 0)
    grads = _gradients(model, X, y, loss_fn, batch_size, layers, activations, partial)
    stats.add_gradients(partial, [(name, [_Grad(g) for g in group]) for (name, _), group in zip(layers, grads)],
                        None, None)
    record = stats.close(partial, layers, activations)
    record["update_ratio"] = {}
    diagnosis = Diagnosis([name for name, _ in layers], [name for name, _, _ in activations], record, thresholds,
                          len(X))
    diagnosis.classes = stats.class_names(model)
    return diagnosis


class _Grad:
    """A stand-in parameter holding a gradient (what add_gradients reads)."""

    def __init__(self, grad) -> None:
        self.grad = grad


def _gradients(model, X, y, loss_fn, batch_size, layers, activations, partial) -> list:
    """The gradients of the loss over all rows for each layer's parameters (by autograd.grad: no
    ``.grad`` changes), with the activations counted into ``partial``; the model is left as it was."""
    params = [p for _, group in layers for p in group]
    grads: list = [None] * len(params)
    modes = [(module, module.training, module._asked_training) for module in model.modules()]
    buffers = [(module, name, array, array.copy()) for module in model.modules()
               for name, array in module._buffers.items() if array is not None]
    generators = _generators(model)
    states = [generator.bit_generator.state for generator in generators]
    handles = []
    try:
        for name, module, kind in activations:
            handles.append(module.register_forward_hook(
                lambda module, args, output, name=name, kind=kind:
                stats.add_activation(partial, name, kind, np.asarray(getattr(output, "data", output)))))
        model.train()
        size = len(X) if batch_size is None else batch_size
        for start in range(0, len(X), size):
            rows = slice(start, start + size)
            try:
                value = loss_fn(model(Tensor(X[rows])), y[rows]) * (len(X[rows]) / len(X))
            except (TypeError, ValueError) as error:
                raise type(error)(f"X (shape {X.shape}) and y (shape {y.shape}) do not fit the model and the "
                                  f"loss: {error}") from None
            found = grad(value, params, allow_unused=True)
            grads = [g if new is None else (new if g is None else g + new) for g, new in zip(grads, found)]
    finally:
        for handle in handles:
            handle.remove()
        for module, name, array, saved in buffers:  # the array object and its values (BatchNorm's statistics)
            array[...] = saved
            setattr(module, name, array)
        for generator, state in zip(generators, states):
            generator.bit_generator.state = state
        for module, mode, asked in modes:
            module.training, module._asked_training = mode, asked
    out, index = [], 0
    for _, group in layers:
        out.append([g for g in grads[index:index + len(group)] if g is not None])
        index += len(group)
    return out


def _generators(model) -> list:
    """glassnet's default generator and those the layers hold (Dropout's), each once."""
    found = {id(get_rng(None)): get_rng(None)}
    for module in model.modules():
        for value in vars(module).values():
            if isinstance(value, np.random.Generator):
                found.setdefault(id(value), value)
    return list(found.values())

