"""Permutation importance (Breiman, 2001): how much a model's score drops when one column of X is
shuffled, breaking its link with y while keeping its distribution. scikit-learn's names and
meaning (``sklearn.inspection.permutation_importance``); a glassnet Module gets the same loop,
with the same random draws, so the two agree on the same model.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.metrics import accuracy_score, log_loss, mean_absolute_error, mean_squared_error, r2_score
from sklearn.utils import Bunch, check_random_state

from .._checks import positive_int
from ..autograd import no_grad
from ..nn import Module
from ..tensor import Tensor
from ._common import evaluating

__all__ = ["permutation_importance"]


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))  # subtract the row max so exp cannot overflow
    return e / e.sum(axis=1, keepdims=True)


def _classes(out: np.ndarray, name: str) -> int:
    if out.ndim != 2 or out.shape[1] < 2:
        raise ValueError(f"scoring={name!r} needs class scores of shape (N, C) with C >= 2 from the model, got "
                         f"output shape {out.shape}; pass a callable scoring(model, X, y) instead")
    return out.shape[1]


def _regression(out: np.ndarray, y: np.ndarray) -> np.ndarray:
    return out.reshape(y.shape) if out.size == y.size else out


def _accuracy(out: np.ndarray, y: np.ndarray) -> float:
    _classes(out, "accuracy")
    return float(accuracy_score(y, out.argmax(axis=1)))


# name -> metric(outputs, y), larger is better (scikit-learn's scorer names and signs)
METRICS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "accuracy": _accuracy,
    "neg_log_loss": lambda out, y: -log_loss(y, _softmax(out), labels=np.arange(_classes(out, "neg_log_loss"))),
    "neg_mean_squared_error": lambda out, y: -mean_squared_error(y, _regression(out, y)),
    "neg_mean_absolute_error": lambda out, y: -mean_absolute_error(y, _regression(out, y)),
    "neg_root_mean_squared_error": lambda out, y: -float(np.sqrt(mean_squared_error(y, _regression(out, y)))),
    "r2": lambda out, y: r2_score(y, _regression(out, y)),
}


def permutation_importance(model, X, y, *, scoring=None, n_repeats: int = 5, random_state=None) -> Bunch:
    """The drop in ``model``'s score when each column of ``X`` is shuffled, ``n_repeats`` times.

        importances[j, r] = score(X, y) - score(X with column j shuffled, r-th time, y)

    - A scikit-learn estimator (``glassnet.sklearn.MLPClassifier``, ...): this is
      ``sklearn.inspection.permutation_importance(model, X, y, scoring=scoring, n_repeats=...,
      random_state=...)``.
    - A glassnet Module (outputs ``(N, C)`` class scores, or ``(N,)``/``(N, k)`` values): the
      same loop and the same random draws (one seed drawn from ``random_state``, each column
      shuffled by a fresh RandomState of that seed, the shuffles compounding), the model run in
      eval mode without a graph. ``scoring``: None (accuracy of the arg-max for ``(N, C>1)``
      outputs, else negative mean squared error), a name from :data:`METRICS` ("accuracy",
      "neg_log_loss" (softmax of the outputs), "neg_mean_squared_error",
      "neg_mean_absolute_error", "neg_root_mean_squared_error", "r2"), or a callable
      ``scoring(model, X, y) -> float`` (larger is better).

    Shapes: X ``(n_samples, n_features)``, y ``(n_samples,)`` (or ``(n_samples, k)`` targets).
    ``random_state``: None, an int or a ``numpy.random.RandomState`` (scikit-learn's).

    Returns a ``sklearn.utils.Bunch`` with ``importances_mean`` ``(n_features,)``,
    ``importances_std`` ``(n_features,)`` and ``importances`` ``(n_features, n_repeats)``.

    Example
    -------
    >>> import numpy as np
    >>> from glassnet import nn
    >>> from glassnet.explain import permutation_importance
    >>> model = nn.Linear(3, 1, rng=0)
    >>> model.weight.data[:] = [[2.0], [0.0], [0.5]]         # y depends on column 0 most, not on 1
    >>> X = np.random.default_rng(0).normal(size=(200, 3)).astype(np.float32)
    >>> y = X @ np.array([2.0, 0.0, 0.5], np.float32)
    >>> result = permutation_importance(model, X, y, n_repeats=3, random_state=0)
    >>> result.importances.shape, result.importances_mean.argmax(), float(result.importances_mean[1])
    ((3, 3), np.int64(0), 0.0)
    """
    n_repeats = positive_int(n_repeats, "n_repeats")
    if not isinstance(random_state, (type(None), int, np.integer, np.random.RandomState)) \
            or isinstance(random_state, bool):
        raise TypeError(f"random_state must be None, an int or a numpy.random.RandomState, got "
                        f"{type(random_state).__name__} {random_state!r}")
    if not isinstance(model, Module):
        if not (hasattr(model, "fit") and callable(model.fit)):
            raise TypeError(f"model must be a glassnet Module or a scikit-learn estimator (with fit), got "
                            f"{type(model).__name__}")
        from sklearn.inspection import permutation_importance as sklearn_permutation_importance
        return sklearn_permutation_importance(model, X, y, scoring=scoring, n_repeats=n_repeats,
                                              random_state=random_state)
    X, y = _module_data(model, X, y)
    metric = _module_scoring(scoring)
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max + 1)
    with evaluating(model):
        baseline = metric(model, X, y)
        scores = np.empty((X.shape[1], n_repeats))
        for column in range(X.shape[1]):
            draws = np.random.RandomState(seed)
            shuffled, order = X.copy(), np.arange(len(X))
            for repeat in range(n_repeats):
                draws.shuffle(order)
                shuffled[:, column] = shuffled[order, column]
                scores[column, repeat] = metric(model, shuffled, y)
    importances = baseline - scores
    return Bunch(importances_mean=importances.mean(axis=1), importances_std=importances.std(axis=1),
                 importances=importances)


def _module_data(model: Module, X, y) -> tuple[np.ndarray, np.ndarray]:
    """X as a finite (N, F) float array (the model's dtype when it has parameters), y of N rows."""
    X = np.asarray(X.data if isinstance(X, Tensor) else X)
    if X.dtype == object or not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
        raise TypeError(f"X must be a numeric array of shape (n_samples, n_features), got dtype {X.dtype}")
    if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(f"X must have shape (n_samples, n_features) with at least one of each, got {X.shape}")
    if not np.isfinite(X).all():
        raise ValueError("X must be finite (it holds NaN or inf)")
    dtypes = {p.dtype for p in model.parameters()}
    X = X.astype(dtypes.pop() if len(dtypes) == 1 else np.result_type(X.dtype, np.float32), copy=False)
    y = np.asarray(y.data if isinstance(y, Tensor) else y)
    if y.ndim == 0 or len(y) != len(X):
        raise ValueError(f"y must have one entry per row of X ({len(X)}), got shape {y.shape}")
    return X, y


def _module_scoring(scoring) -> Callable[[Module, np.ndarray, np.ndarray], float]:
    """``scoring(model, X, y) -> float`` for a Module, from None, a name or a callable."""
    if callable(scoring):
        return lambda model, X, y: float(scoring(model, X, y))
    if scoring is not None and not isinstance(scoring, str):
        raise TypeError(f"scoring must be None, a name or a callable scoring(model, X, y), got "
                        f"{type(scoring).__name__} {scoring!r}")
    if scoring is not None and scoring not in METRICS:
        raise ValueError(f"scoring {scoring!r} is not one a Module can be scored by; choose one of "
                         f"{sorted(METRICS)}, or pass a callable scoring(model, X, y)")

    def score(model: Module, X: np.ndarray, y: np.ndarray) -> float:
        with no_grad():
            out = model(Tensor(X))
        if not isinstance(out, Tensor):
            raise TypeError(f"the model returned a {type(out).__name__}, not a Tensor")
        out = out.data
        name = scoring or ("accuracy" if out.ndim == 2 and out.shape[1] > 1 else "neg_mean_squared_error")
        return float(METRICS[name](out, y))

    return score
