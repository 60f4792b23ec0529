"""What :class:`~glassnet.train.GradientMonitor` and :func:`~glassnet.train.diagnose` share: the
layers and activations they watch, the statistics of one batch, the records, the findings
(:class:`Finding`) and the report.

The definitions, once (the monitor's and diagnose's docstrings refer here):

* A **layer** is a module that owns trainable parameters itself (``requires_grad``), named as in
  ``model.named_modules()`` ("(model)" for the root), in that order (the forward order of an
  ``nn.Sequential``). A layer's gradient norm is the L2 norm of all its trainable parameters'
  gradients taken together (weight and bias), computed in float64; its weight norm likewise.
* An **activation** is an activation layer: ReLU, LeakyReLU and ELU are watched for dead units,
  Sigmoid and Tanh for saturation. A **unit** is one entry of the layer's output per sample
  (``output.shape[1:]``); it is **dead** when its output is never above 0 on any sample of the
  batches a record covers (for these three, output > 0 exactly when the input is). An output is
  **saturated** when the derivative there is below 5% of its largest value: sigmoid
  ``a (1 - a) < 0.05 * 0.25``, tanh ``1 - a^2 < 0.05`` (a: the output), i.e. ``|z| > 4.4`` and
  ``|z| > 2.2``; the saturated fraction counts outputs over all samples and units.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from .._checks import number_in_range, positive_number

DEAD_KINDS = ("relu", "leaky_relu", "elu")     # output > 0 exactly when active
SATURATING = {"sigmoid": 0.25, "tanh": 1.0}    # the derivative's largest value, at z = 0
SATURATED_SHARE = 0.05                         # "saturated": derivative below 5% of that
LAYER_KEYS = ("grad_norm", "weight_norm", "update_ratio")
ACTIVATION_KEYS = ("dead", "saturated")
TOTAL_KEYS = ("total_grad_norm", "max_grad_norm")

REMEDIES = {
    "vanishing": "use a ReLU-family activation with He init (or Xavier/Glorot init for sigmoid/tanh), "
                 "or add batch normalization",
    "exploding": "lower the learning rate, clip the gradients (fit(..., clip_grad_norm=1.0)), or use "
                 "Xavier/He init (smaller weights)",
    "dead": "lower the learning rate, start the biases at 0 with He init, or use LeakyReLU/ELU",
    "saturated": "use Xavier/Glorot init (smaller weights), standardize the inputs, add batch "
                 "normalization, or use a ReLU-family activation",
}


@dataclasses.dataclass(frozen=True)
class Finding:
    """One problem found in the records, with what to try.

    Attributes
    ----------
    kind : str
        "vanishing", "exploding", "dead" or "saturated".
    value, threshold : float
        The number that tripped it (the smallest first/last ratio, the largest growth or
        fraction; inf for non-finite gradients) and the threshold it crossed.
    where : str or None
        The layers or activations concerned ("first / last" names for a ratio).
    epoch, batch : int or None
        The worst record's epoch and batch (counted from 0; batch None for a record of an epoch).
    message, remedy : str
        One sentence with the numbers; one line of the course's remedies.

    Example
    -------
    >>> from glassnet.train import Finding
    >>> print(Finding("dead", 0.9, 0.5, "1", 0, None, "90% of the units of '1' are dead.", "use LeakyReLU"))
    dead: 90% of the units of '1' are dead. Try: use LeakyReLU
    """

    kind: str
    value: float
    threshold: float
    where: str | None
    epoch: int | None
    batch: int | None
    message: str
    remedy: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.message} Try: {self.remedy}"


def check_thresholds(vanishing_ratio, exploding_growth, exploding_ratio, dead_fraction, saturated_fraction) -> dict:
    """The thresholds, checked (ValueError/TypeError naming the bad one), as a dict."""
    return {"vanishing_ratio": positive_number(vanishing_ratio, "vanishing_ratio"),
            "exploding_growth": number_in_range(exploding_growth, "exploding_growth", 1.0, include_low=False),
            "exploding_ratio": number_in_range(exploding_ratio, "exploding_ratio", 1.0, include_low=False),
            "dead_fraction": number_in_range(dead_fraction, "dead_fraction", 0.0, 1.0, include_low=False),
            "saturated_fraction": number_in_range(saturated_fraction, "saturated_fraction", 0.0, 1.0,
                                                  include_low=False)}


# ---- what is watched -------------------------------------------------------------------------------
def class_names(model) -> dict[str, str]:
    """``{name: class name}`` of every module, named as the records name them."""
    return {name or "(model)": type(module).__name__ for name, module in model.named_modules()}


def trainable_layers(model) -> list[tuple[str, list]]:
    """``[(name, [its own trainable parameters])]`` of every module that owns one."""
    layers = []
    for name, module in model.named_modules():
        params = [p for p in module._parameters.values() if p is not None and p.requires_grad]
        if params:
            layers.append((name or "(model)", params))
    return layers


def watched_activations(model) -> list[tuple[str, object, str]]:
    """``[(name, module, kind)]`` of the activation layers whose units are watched; kind is the
    registry name ("relu", "sigmoid", ...)."""
    found = []
    for name, module in model.named_modules():
        kind = getattr(getattr(module, "activation", None), "name", None)
        if kind in DEAD_KINDS or kind in SATURATING:
            found.append((name or "(model)", module, kind))
    return found


def norm(arrays) -> float:
    """The L2 norm of ``arrays`` taken together, in float64 (0.0 for none; inf or nan for values
    that are, without a warning: a diverging run is what the monitor is there to report)."""
    with np.errstate(all="ignore"):
        return math.sqrt(sum(float(np.sum(np.square(a, dtype=np.float64))) for a in arrays))


# ---- one record in the making ---------------------------------------------------------------------
def new_partial(epoch: int, batch, step: int) -> dict:
    """The sums of a record being made: ``batches`` with statistics, per-layer sums of the gradient
    norms and update ratios (with their counts: a zero weight has no ratio), the total norms, the
    units seen active and the saturated outputs counted per activation."""
    return {"epoch": epoch, "batch": batch, "step": step, "batches": 0, "grad": {}, "update": {},
            "updates": {}, "total": 0.0, "max": 0.0, "active": {}, "saturated": {}, "nonfinite": False}


def add_activation(partial: dict, name: str, kind: str, output: np.ndarray) -> None:
    """Count one forward pass of an activation into ``partial`` (see the module docstring)."""
    if output.ndim == 0 or output.shape[0] == 0:
        return
    if kind in DEAD_KINDS:
        active = np.any(output > 0, axis=0)
        seen = partial["active"].get(name)
        partial["active"][name] = active if seen is None or seen.shape != active.shape else seen | active
    else:
        slope = output * (1.0 - output) if kind == "sigmoid" else 1.0 - np.square(output)
        flat = np.count_nonzero(slope < SATURATED_SHARE * SATURATING[kind])
        counts = partial["saturated"].get(name, [0, 0])
        partial["saturated"][name] = [counts[0] + int(flat), counts[1] + int(output.size)]


def add_gradients(partial: dict, layers, before, total) -> None:
    """Add one step's gradient norms (and update ratios, when ``before``, the weights before the
    step, is given) of ``layers`` to ``partial``; ``total`` is the norm before clipping (None: the
    norm of the gradients as they are)."""
    squares = 0.0
    for (name, params), old in zip(layers, before if before is not None else [None] * len(layers)):
        grads = [p.grad for p in params if p.grad is not None]
        value = norm(grads)
        squares += value * value
        partial["grad"][name] = partial["grad"].get(name, 0.0) + value
        if old is not None:
            size = norm(old)
            if size > 0:
                with np.errstate(all="ignore"):  # inf - inf in a diverged weight: nan, reported as such
                    step = [p.data - w for p, w in zip(params, old)]
                partial["update"][name] = partial["update"].get(name, 0.0) + norm(step) / size
                partial["updates"][name] = partial["updates"].get(name, 0) + 1
    total = math.sqrt(squares) if total is None else float(total)
    partial["total"] += total
    partial["max"] = max(partial["max"], total) if math.isfinite(total) else math.inf
    partial["batches"] += 1
    if not (math.isfinite(total) and math.isfinite(squares)):
        partial["nonfinite"] = True


def close(partial: dict, layers, activations) -> dict:
    """The record of ``partial``: means over its batches, the weights' norms now, the fractions."""
    count = partial["batches"]

    def mean(total, n):
        return total / n if n else math.nan

    dead = {name: 1.0 - float(np.mean(partial["active"][name])) if name in partial["active"] else math.nan
            for name, _, kind in activations if kind in DEAD_KINDS}
    saturated = {name: mean(*partial["saturated"].get(name, [0, 0]))
                 for name, _, kind in activations if kind in SATURATING}
    return {"epoch": partial["epoch"], "batch": partial["batch"], "step": partial["step"], "batches": count,
            "grad_norm": {name: mean(partial["grad"].get(name, 0.0), count) for name, _ in layers},
            "weight_norm": {name: norm([p.data for p in params]) for name, params in layers},
            "update_ratio": {name: mean(partial["update"].get(name, 0.0), partial["updates"].get(name, 0))
                             for name, _ in layers},
            "total_grad_norm": mean(partial["total"], count), "max_grad_norm": partial["max"] if count else math.nan,
            "dead": dead, "saturated": saturated, "nonfinite": partial["nonfinite"]}


# ---- reading the records ----------------------------------------------------------------------------
class RecordsView:
    """What the monitor and a diagnosis share: ``layers``, ``activations`` (names), ``records``
    (dicts, see GradientMonitor), ``thresholds``; tables, findings and the report."""

    layers: list[str]
    activations: list[str]
    records: list[dict]
    thresholds: dict
    classes: dict[str, str] = {}  # name -> the module's class name, for the report

    def history(self, key: str) -> np.ndarray:
        """``key`` over the records: ``(n_records, n_layers)`` for "grad_norm", "weight_norm",
        "update_ratio" (columns: ``layers``), ``(n_records, n_activations)`` for "dead" and
        "saturated" (columns: the activations that have the statistic), ``(n_records,)`` for
        "total_grad_norm" and "max_grad_norm"."""
        if key in TOTAL_KEYS:
            return np.array([record[key] for record in self.records], dtype=np.float64)
        if key not in LAYER_KEYS + ACTIVATION_KEYS:
            raise ValueError(f"key must be one of {list(LAYER_KEYS + ACTIVATION_KEYS + TOTAL_KEYS)}, got {key!r}")
        names = self.layers if key in LAYER_KEYS else [name for name in self.activations
                                                        if self.records and name in self.records[0][key]]
        return np.array([[record[key].get(name, math.nan) for name in names] for record in self.records],
                        dtype=np.float64).reshape(len(self.records), len(names))

    def gradient_ratio(self) -> np.ndarray:
        """The first layer's gradient norm over the last layer's, one per record, shape (n_records,)
        (nan with fewer than two layers)."""
        norms = self.history("grad_norm")
        if norms.shape[1] < 2:
            return np.full(len(norms), math.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            return norms[:, 0] / norms[:, -1]

    def findings(self) -> list[Finding]:
        """The problems the records show (see GradientMonitor), each with a remedy; [] for none."""
        return findings(self)

    def report(self) -> str:
        """A per-layer table and the findings (or "no problems found"), as text."""
        return report(self)


def _where(record: dict) -> str:
    batch = "" if record["batch"] is None else f", batch {record['batch'] + 1}"
    return f"epoch {record['epoch'] + 1}{batch}"


def findings(view: RecordsView) -> list[Finding]:
    """Vanishing, exploding, dead and saturated findings of ``view``'s records."""
    records, limits = view.records, view.thresholds
    out: list[Finding] = []
    if not records:
        return out
    ratios = view.gradient_ratio()
    ends = f"{view.layers[0]} / {view.layers[-1]}" if len(view.layers) > 1 else None
    pair = f"layer {view.layers[0]!r} vs {view.layers[-1]!r}" if ends else ""

    def add(kind, value, threshold, where, index, message):
        record = records[index]
        worst = f" (worst at {_where(record)})" if len(records) > 1 else ""
        out.append(Finding(kind, float(value), threshold, where, record["epoch"], record["batch"],
                           f"{message}{worst}.", REMEDIES[kind]))

    def share(count):  # "in 3 of 5 records" (nothing for a single record)
        return f" in {count} of {len(records)} records" if len(records) > 1 else ""

    low = np.flatnonzero(ratios < limits["vanishing_ratio"])
    if len(low):
        worst = int(low[np.argmin(ratios[low])])
        add("vanishing", ratios[worst], limits["vanishing_ratio"], ends, worst,
            f"the first layer's gradient norm is {ratios[worst]:.2g} times the last layer's ({pair}){share(len(low))}, "
            f"below {limits['vanishing_ratio']:g}: the early layers barely learn")
    broken = [i for i, record in enumerate(records) if record["nonfinite"]]
    totals, first = view.history("max_grad_norm"), records[0]["total_grad_norm"]
    growth = totals / first if first > 0 else np.zeros_like(totals)
    if broken:
        add("exploding", math.inf, limits["exploding_growth"], None, broken[0],
            f"the loss or the gradients became NaN or infinite{share(len(broken))}")
    elif len(growth) and np.nanmax(growth) > limits["exploding_growth"]:
        worst = int(np.nanargmax(growth))
        add("exploding", growth[worst], limits["exploding_growth"], None, worst,
            f"the total gradient norm grew {growth[worst]:.3g} times from the first record "
            f"({first:.3g} to {totals[worst]:.3g}), more than {limits['exploding_growth']:g}")
    high = np.flatnonzero(ratios > limits["exploding_ratio"])
    if len(high):
        worst = int(high[np.argmax(ratios[high])])
        add("exploding", ratios[worst], limits["exploding_ratio"], ends, worst,
            f"the first layer's gradient norm is {ratios[worst]:.3g} times the last layer's ({pair})"
            f"{share(len(high))}, above {limits['exploding_ratio']:g}")
    for kind, limit, what in (("dead", "dead_fraction", "never active (dead)"),
                              ("saturated", "saturated_fraction", "saturated")):
        table = view.history(kind)
        if not table.size or not np.any(table > limits[limit]):
            continue
        names = [name for name in view.activations if name in records[0][kind]]
        worst_each = np.nanmax(np.where(np.isnan(table), -1.0, table), axis=0)
        over = [j for j in range(len(names)) if worst_each[j] > limits[limit]]
        index = int(np.nanargmax(np.where(np.isnan(table[:, over]), -1.0, table[:, over]).max(axis=1)))
        listed = ", ".join(f"{names[j]!r} {worst_each[j]:.0%}" for j in over)
        add(kind, max(worst_each[j] for j in over), limits[limit], ", ".join(names[j] for j in over), index,
            f"{'units' if kind == 'dead' else 'outputs'} {what} above {limits[limit]:.0%} in {len(over)} of "
            f"{len(names)} activation layers: {listed}" + (" (the largest of each)" if len(records) > 1 else ""))
    return out


def _number(value: float) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3g}"


def report(view: RecordsView, title: str | None = None) -> str:
    """The table of ``view`` (first and last record) and its findings."""
    records = view.records
    if not records:
        return (title or "GradientMonitor") + ": nothing recorded yet"
    first, last = records[0], records[-1]
    lines = [title or f"GradientMonitor: {len(records)} record(s), {len(view.layers)} layer(s)",
             f"{'layer':<24} {'grad norm (first -> last)':>28} {'weight norm':>12} {'update ratio':>13}"]
    for name in view.layers:
        change = (_number(first["grad_norm"][name]) if first is last else
                  f"{_number(first['grad_norm'][name])} -> {_number(last['grad_norm'][name])}")
        label = f"{name} ({view.classes[name]})" if name in view.classes else name
        lines.append(f"{label:<24} {change:>28} {_number(last['weight_norm'][name]):>12} "
                     f"{_number(last['update_ratio'].get(name, math.nan)):>13}")
    ratio = view.gradient_ratio()
    lines.append(f"first / last layer gradient ratio: {_number(ratio[0])}"
                 + ("" if len(ratio) == 1 else f" -> {_number(ratio[-1])}")
                 + f"; total gradient norm: {_number(last['total_grad_norm'])}")
    for name in view.activations:
        kind = "dead" if name in last["dead"] else "saturated"
        value = last[kind][name]
        lines.append(f"activation {name!r} ({view.classes.get(name, '?')}): "
                     + ("-" if math.isnan(value) else f"{value:.1%}") + f" {kind} (last record)")
    found = findings(view)
    lines += [f"- {finding}" for finding in found] if found else ["no problems found"]
    return "\n".join(lines)
