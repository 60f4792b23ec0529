"""Loss functions: ``loss(prediction, target) -> Tensor``.

``prediction`` is a Tensor (the network's output); ``target`` an array or Tensor (no gradient
flows into it). ``reduction`` is ``"mean"`` (default), ``"sum"`` or ``"none"``:

* element-wise losses (mse, mae, huber, binary cross-entropies, hinge): ``"none"`` returns one
  term per element, shape of the prediction, and ``"mean"`` averages all of them;
* distribution losses (cross_entropy, kl_div): ``"none"`` returns one term per sample, shape
  ``(batch,)``; ``"mean"`` averages over the batch.

A target must have the prediction's shape (a target of shape ``(n,)`` for a prediction of shape
``(n, 1)`` is accepted and reshaped); anything else raises, instead of broadcasting to an
``(n, n)`` matrix as plain NumPy would.

Every loss says what its prediction is, in the attribute ``from_logits`` (Keras' name), set by the
``@_takes_logits(...)`` line above its definition. ``fit``, ``evaluate`` and the metrics read it
to cut a one-column output into two classes (at 0 for logits, at 0.5 otherwise):

* True: raw scores, before any sigmoid or softmax: ``cross_entropy``,
  ``binary_cross_entropy_with_logits``, ``hinge`` (a margin, whose sign is the class);
* False: ``binary_cross_entropy`` and ``kl_div`` (probabilities), and the regression losses
  ``mse``, ``mae``, ``huber``, which compare the prediction with the target on the target's own
  scale: not a raw score. On labels 0/1 their prediction estimates P(y = 1), hence a cut at 0.5.

A loss of your own (a function, a lambda) sets it the same way, e.g.
``my_loss.from_logits = True``; without it a one-column accuracy is an error, not a guess. A
``functools.partial`` of a loss takes the attribute of the loss it wraps. ``fit(loss="name")``
looks the name up in ``LOSSES`` (``losses.get``).

``info_nce`` (SimCLR's contrastive loss) is the one loss of two network outputs, the projections
of two views, with no target: it is not in ``LOSSES`` (``fit`` calls ``loss(model(X), y)``); a
training loop of its own calls it.

Example
-------
>>> import numpy as np, glassnet as gn
>>> logits = gn.Tensor(np.array([[2.0, 0.5, -1.0]]), requires_grad=True)
>>> loss = gn.losses.cross_entropy(logits, np.array([0]))
>>> loss.backward()
>>> gn.losses.cross_entropy.from_logits, gn.losses.binary_cross_entropy.from_logits
(True, False)
"""

from __future__ import annotations

import numpy as np

from . import ops
from ._checks import one_of, positive_number
from .functional.similarity import normalize
from .tensor import Tensor, ensure_tensor

REDUCTIONS = ("mean", "sum", "none")
LOSSES: dict = {}  # name -> loss function: every loss below, entered by its @_takes_logits line


def _takes_logits(flag: bool):
    """Mark a loss: ``loss.from_logits = flag`` (see the module docstring for what it means), and
    enter it in ``LOSSES`` under its name, so that ``fit(loss="name")`` finds it."""
    def mark(loss):
        loss.from_logits = flag
        LOSSES[loss.__name__] = loss
        return loss
    return mark


def get(name_or_function):
    """A loss by its name in ``LOSSES`` ("cross_entropy", "mse", ...) or the function itself.

    Example
    -------
    >>> from glassnet import losses
    >>> losses.get("hinge") is losses.hinge
    True
    """
    if callable(name_or_function):
        return name_or_function
    if not isinstance(name_or_function, str):
        raise TypeError(f"loss must be a function or a name such as 'cross_entropy' or 'mse', "
                        f"got {type(name_or_function).__name__} {name_or_function!r}")
    return LOSSES[one_of(name_or_function, "loss", tuple(LOSSES))]


def _check_reduction(reduction: str) -> None:
    one_of(reduction, "reduction", REDUCTIONS)


def _target_array(prediction: Tensor, target, name: str) -> np.ndarray:
    """The target as an array of the prediction's dtype and shape, or a clear error."""
    target = np.asarray(target.data if isinstance(target, Tensor) else target)
    if target.dtype.kind not in "biuf":
        raise TypeError(f"{name}: target must be numeric, got dtype {target.dtype}")
    source = target
    with np.errstate(over="ignore"):  # a value too large for float32 is named just below
        target = target.astype(prediction.dtype, copy=False)
    if target.shape != prediction.shape:
        squeezable = target.size == prediction.size and (
            tuple(n for n in target.shape if n != 1) == tuple(n for n in prediction.shape if n != 1)
        )
        if not squeezable:
            raise ValueError(
                f"{name}: prediction shape {prediction.shape} and target shape {target.shape} differ"
            )
        target = target.reshape(prediction.shape)
    if not np.all(np.isfinite(target)):
        if np.all(np.isfinite(source)):
            raise ValueError(f"{name}: target holds values that overflow {target.dtype} (max "
                             f"{np.finfo(target.dtype).max:.2g})")
        raise ValueError(f"{name}: target contains NaN or inf")
    return target


def _check_some(count: int, name: str) -> None:
    """The mean of no terms is 0 / 0: a clear error (PyTorch returns nan, which then spreads
    silently into the weights), with the reductions that are defined on an empty batch."""
    if count == 0:
        raise ValueError(f"{name}: the mean over an empty batch (0 samples) is undefined; pass at least "
                         "one sample, or use reduction='sum' (0 for no samples) or 'none'")


def _reduce(terms: Tensor, reduction: str, name: str) -> Tensor:
    if reduction == "mean":
        _check_some(terms.size, name)
        return terms.mean()
    if reduction == "sum":
        return terms.sum()
    return terms


@_takes_logits(False)
def mse(prediction, target, reduction: str = "mean") -> Tensor:
    """Mean squared error: L = 1/n sum_i (y_i - yhat_i)^2. dL/dyhat_i = 2 (yhat_i - y_i) / n."""
    _check_reduction(reduction)
    prediction = ensure_tensor(prediction)
    diff = prediction - _target_array(prediction, target, "mse")
    return _reduce(diff * diff, reduction, "mse")


@_takes_logits(False)
def mae(prediction, target, reduction: str = "mean") -> Tensor:
    """Mean absolute error: L = 1/n sum_i |y_i - yhat_i|. dL/dyhat_i = sign(yhat_i - y_i) / n."""
    _check_reduction(reduction)
    prediction = ensure_tensor(prediction)
    return _reduce(ops.abs(prediction - _target_array(prediction, target, "mae")), reduction, "mae")


@_takes_logits(False)
def huber(prediction, target, delta: float = 1.0, reduction: str = "mean") -> Tensor:
    """Huber loss: 1/2 d^2 where |d| <= delta, else delta (|d| - delta / 2), with d = yhat - y.
    Quadratic near 0 (like MSE), linear in the tails (like MAE): robust to outliers."""
    _check_reduction(reduction)
    delta = positive_number(delta, "delta")
    prediction = ensure_tensor(prediction)
    diff = prediction - _target_array(prediction, target, "huber")
    size = ops.abs(diff)
    quadratic = diff * diff * 0.5
    linear = (size - 0.5 * delta) * delta
    return _reduce(ops.where(size.data <= delta, quadratic, linear), reduction, "huber")


def _binary_targets(prediction: Tensor, target, name: str) -> np.ndarray:
    target = _target_array(prediction, target, name)
    if np.any((target < 0) | (target > 1)):
        raise ValueError(f"{name}: targets must lie in [0, 1]")
    return target


@_takes_logits(False)
def binary_cross_entropy(prediction, target, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of probabilities (after a sigmoid):
    L = -1/n sum_i [y_i log(yhat_i) + (1 - y_i) log(1 - yhat_i)].

    Safe at yhat = 0 and 1: each log is clamped at -100, as in PyTorch. Prefer
    :func:`binary_cross_entropy_with_logits` on the pre-sigmoid output: it is exact everywhere.
    """
    _check_reduction(reduction)
    prediction = ensure_tensor(prediction)
    if np.any((prediction.data < 0) | (prediction.data > 1)):
        raise ValueError("binary_cross_entropy: predictions must be probabilities in [0, 1]; "
                         "for raw scores use binary_cross_entropy_with_logits")
    target = _binary_targets(prediction, target, "binary_cross_entropy")
    return _reduce(ops.binary_cross_entropy(prediction, target), reduction, "binary_cross_entropy")


@_takes_logits(True)
def binary_cross_entropy_with_logits(prediction, target, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of sigmoid(z) for logits z, fused for stability:
    L_i = max(z, 0) - z y + log(1 + e^-|z|). dL_i/dz = sigmoid(z) - y."""
    _check_reduction(reduction)
    prediction = ensure_tensor(prediction)
    target = _binary_targets(prediction, target, "binary_cross_entropy_with_logits")
    terms = ops.binary_cross_entropy_with_logits(prediction, target)
    return _reduce(terms, reduction, "binary_cross_entropy_with_logits")


@_takes_logits(True)
def cross_entropy(prediction, target, weight=None, reduction: str = "mean") -> Tensor:
    """Categorical cross-entropy of softmax(logits): L = -1/n sum_i sum_k y_ik log(yhat_ik).

    Parameters
    ----------
    prediction : Tensor, shape (batch, classes)
        Logits (raw scores; the softmax is fused in, via a stable log-softmax).
    target : array, shape (batch,) or (batch, classes)
        Integer class labels, or one-hot / probability rows.
    weight : array, shape (classes,), optional
        A weight per class (integer labels only); ``"mean"`` then divides by the sum of the
        weights of the targets, as PyTorch does.

    Notes
    -----
    The gradient with respect to the logits is (softmax(z) - y) / n.
    """
    _check_reduction(reduction)
    prediction = ensure_tensor(prediction)
    if prediction.ndim != 2:
        raise ValueError(f"cross_entropy: logits must have shape (batch, classes), got {prediction.shape}")
    batch, classes = prediction.shape
    target = np.asarray(target.data if isinstance(target, Tensor) else target)
    labels = probs = sample_weight = None
    if target.ndim == 1:
        if target.shape[0] != batch:
            raise ValueError(f"cross_entropy: {batch} rows of logits but {target.shape[0]} labels")
        labels = target
        if labels.dtype.kind == "f":
            if not np.all(np.isfinite(labels)) or np.any(labels != np.round(labels)):
                raise ValueError("cross_entropy: 1-D targets are class labels and must be integers")
            labels = labels.astype(np.int64)
        elif labels.dtype.kind not in "iu":
            raise TypeError(f"cross_entropy: labels must be integers, got dtype {labels.dtype}")
        if labels.size and (labels.min() < 0 or labels.max() >= classes):
            raise ValueError(
                f"cross_entropy: labels must lie in [0, {classes - 1}] for {classes} classes, "
                f"got values from {labels.min()} to {labels.max()}"
            )
        if weight is not None:
            weight = np.asarray(weight, dtype=prediction.dtype)
            if weight.shape != (classes,):
                raise ValueError(f"cross_entropy: weight must have shape ({classes},), got {weight.shape}")
            sample_weight = weight[labels]
    elif target.shape == prediction.shape:
        probs = _target_array(prediction, target, "cross_entropy")
        if weight is not None:
            raise ValueError("cross_entropy: class weights need integer labels, not probability targets")
    else:
        raise ValueError(
            f"cross_entropy: target must have shape ({batch},) (labels) or {prediction.shape} "
            f"(one-hot or probabilities), got {target.shape}"
        )
    if reduction == "mean":
        _check_some(batch, "cross_entropy")
    return ops.softmax_cross_entropy(prediction, labels, probs, sample_weight, reduction)


@_takes_logits(True)
def hinge(prediction, target, reduction: str = "mean") -> Tensor:
    """Hinge loss: L = 1/n sum_i max(0, 1 - y_i yhat_i), for targets y in {-1, +1}.

    Targets in {0, 1} are accepted and mapped to {-1, +1} (0 -> -1). The gradient is -y_i / n
    where the margin y_i yhat_i < 1, else 0.
    """
    _check_reduction(reduction)
    prediction = ensure_tensor(prediction)
    target = _target_array(prediction, target, "hinge")
    values = set(np.unique(target).tolist())
    if values <= {0.0, 1.0}:
        target = 2 * target - 1
    elif not values <= {-1.0, 1.0}:
        raise ValueError(f"hinge: targets must be -1/+1 (or 0/1), got values {sorted(values)[:5]}")
    return _reduce(ops.relu(1.0 - prediction * target), reduction, "hinge")


@_takes_logits(False)
def kl_div(prediction, target, reduction: str = "mean") -> Tensor:
    """Kullback-Leibler divergence of the predicted distribution from the target one,
    as the course writes it: L = sum_k y_k log(y_k / yhat_k), summed over classes (last axis)
    and averaged over the batch ("batchmean"; PyTorch's ``kl_div(log(yhat), y, "batchmean")``).

    ``prediction`` holds probabilities (e.g. after softmax), ``target`` probabilities too.
    Terms with y_k = 0 are 0. dL/dyhat_k = -y_k / yhat_k / batch.
    """
    _check_reduction(reduction)
    prediction = ensure_tensor(prediction)
    if prediction.ndim == 1:  # one distribution is a batch of one
        prediction = prediction.reshape(1, -1)
        target = np.reshape(target.data if isinstance(target, Tensor) else target, (1, -1))
    target = _target_array(prediction, target, "kl_div")
    if np.any(target < 0) or np.any(prediction.data < 0):
        raise ValueError("kl_div: prediction and target must be probabilities (non-negative)")
    positive = target > 0
    # y log y is a constant; only -y log(yhat) depends on the prediction.
    y_log_y = np.where(positive, target * np.log(np.where(positive, target, 1)), 0)
    safe = ops.where(positive, prediction, 1.0)  # log(yhat) is needed only where y > 0
    terms = y_log_y - target * ops.log(safe)
    return _reduce(terms.sum(axis=-1), reduction, "kl_div")


def info_nce(z1, z2, temperature: float = 0.5, reduction: str = "mean") -> Tensor:
    """SimCLR's NT-Xent (normalized temperature-scaled cross-entropy) of two views' projections.

    Row i of ``z1`` and row i of ``z2`` are two augmented views of sample i. The 2N rows
    z_1..z_2N (z1's, then z2's) are compared by cosine similarity s_ik = z_i . z_k / (|z_i| |z_k|)
    (each norm at least 1e-8, ``F.cosine_similarity``'s eps). Each of the 2N rows is an anchor i
    whose positive j is its other view (j = i + N or i - N) and whose negatives are the other
    2N - 2 rows:

        l(i, j) = -log( exp(s_ij / t) / sum_{k != i} exp(s_ik / t) )
        L = 1/(2N) sum_{i=1}^{2N} l(i, j(i))

    a cross-entropy over the 2N - 1 other rows with the positive as the class. The anchor's own
    term drops out of the sum (a masked, max-shifted log-sum-exp: no overflow, no -1e9 constant).
    With N = 1 the positive is the only other row: L = 0, nothing to contrast (PyTorch's
    formulation with the diagonal masked gives 0 too).

    Parameters
    ----------
    z1, z2 : Tensor, shape (N, D)
        Projections of the first and the second view, N >= 1, one dtype.
    temperature : float
        t > 0: a small t sharpens the softmax over the negatives (SimCLR: 0.1 to 1).
    reduction : {"mean", "sum", "none"}
        "none" returns the 2N terms l(i, j(i)), z1's anchors first.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> z = gn.Tensor(np.array([[1.0, 0.0], [0.0, 1.0]]), requires_grad=True)
    >>> loss = gn.losses.info_nce(z, z, temperature=1.0)  # each positive identical: s_ij = 1
    >>> round(loss.item(), 4)  # -log(e / (e + 2 e^0)) for every anchor
    0.5514
    >>> loss.backward()
    """
    _check_reduction(reduction)
    temperature = positive_number(temperature, "info_nce: temperature")
    z1, z2 = _views(z1, z2, temperature)
    n = z1.shape[0]
    unit = normalize(ops.concatenate([z1, z2], axis=0), axis=1, eps=1e-8)  # (2N, D)
    logits = (unit @ unit.T) * (1.0 / temperature)  # s_ik / t, (2N, 2N)
    anchors = np.arange(2 * n)
    positives = (anchors + n) % (2 * n)  # the other view of the same sample
    # k != i: the anchor's own entry is exp(-inf) = 0 in the sum, and gets no gradient (where).
    others = ops.where(anchors[:, None] != anchors[None, :], logits, -np.inf)
    terms = ops.logsumexp(others, axis=1) - logits[anchors, positives]
    return _reduce(terms, reduction, "info_nce")


def _views(z1, z2, temperature: float) -> tuple:
    """z1 and z2 as Tensors of one shape (N, D), N, D >= 1, one dtype, finite, or a clear error."""
    if isinstance(z1, Tensor) and isinstance(z2, Tensor) and z1.dtype != z2.dtype:
        raise TypeError(f"info_nce: z1 and z2 have dtypes {z1.dtype} and {z2.dtype}; convert one with "
                        ".astype() (glassnet never upcasts silently)")
    z1 = ensure_tensor(z1, dtype=z2.dtype if isinstance(z2, Tensor) else None)
    z2 = ensure_tensor(z2, dtype=z1.dtype)
    if z1.ndim != 2 or z1.shape != z2.shape:
        raise ValueError(f"info_nce: z1 and z2 must have one shape (N, D), the projections of two views "
                         f"of N samples, got {z1.shape} and {z2.shape}")
    if z1.shape[0] == 0 or z1.shape[1] == 0:
        raise ValueError(f"info_nce: needs at least one sample and one feature, got shape {z1.shape}")
    for name, z in (("z1", z1), ("z2", z2)):
        if not np.all(np.isfinite(z.data)):
            raise ValueError(f"info_nce: {name} contains NaN or inf")
    if 1.0 / temperature > float(np.finfo(z1.dtype).max):
        raise ValueError(f"info_nce: temperature {temperature:g} is too small for {z1.dtype}: "
                         "1 / temperature overflows")
    return z1, z2
