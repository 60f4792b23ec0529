"""Ensembles: several models trained apart, their predicted probabilities averaged (the course's
ensemble methods, a regularizer: the members' errors partly cancel)."""

from __future__ import annotations

import numpy as np

from .._checks import boolean, integer, positive_int
from ..functional import sigmoid, softmax
from ..random import get_rng
from ..tensor import Tensor
from ._checks import as_inputs, fills_missing, model_dtype
from .fit import fit
from .scoring import BATCH_SIZE
from .scoring import outputs as _outputs


class Ensemble:
    """Train ``n_models`` models built by ``build(seed)`` and average their probabilities.

    Parameters
    ----------
    build : callable
        ``build(seed) -> (model, optimizer)``: a new model (with its own initial weights from
        ``seed``) and an optimizer on its parameters.
    n_models : int
        Members of the ensemble.
    bootstrap : bool
        Bagging: each member trains on a bootstrap sample (n draws with replacement) of the
        data. Otherwise each member sees all the data and differs only by its seed.
    seed : int
        Seeds of the members (seed, seed + 1, ...) and of the bootstrap draws.

    Notes
    -----
    The members' outputs must be logits (no final Softmax or Sigmoid layer): the ensemble
    turns them into probabilities itself (softmax per row for one column per class, sigmoid
    for a single column) and averages those, the course's "average the predicted
    probabilities".

    Attributes
    ----------
    models : list of Module
        The trained members, after ``fit``.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> from glassnet import nn, optim
    >>> def build(seed):
    ...     model = nn.Sequential(nn.Linear(2, 8, rng=seed), nn.Tanh(), nn.Linear(8, 2, rng=seed + 100))
    ...     return model, optim.Adam(model.parameters(), lr=0.05)
    >>> X = np.random.default_rng(0).normal(size=(64, 2)).astype(np.float32); y = (X[:, 0] > 0).astype(int)
    >>> ensemble = gn.train.Ensemble(build, n_models=3).fit(X, y, loss="cross_entropy", epochs=20, verbose=0)
    >>> ensemble.predict_proba(X).shape
    (64, 2)
    """

    def __init__(self, build, n_models: int = 5, bootstrap: bool = True, seed: int = 0) -> None:
        if not callable(build):
            raise TypeError("build must be a function seed -> (model, optimizer)")
        self.build, self.n_models = build, positive_int(n_models, "n_models")
        self.bootstrap = boolean(bootstrap, "bootstrap")
        self.seed = integer(seed, "seed")       # the members use seed, seed + 1, ...
        self.models: list = []

    def fit(self, X, y, **fit_options) -> Ensemble:
        """Train every member with ``glassnet.fit(model, X_k, y_k, optimizer=..., seed=seed + k,
        **fit_options)``, where ``(X_k, y_k)`` is the k-th bootstrap sample (or all the data).

        ``fit_options`` are fit's keyword arguments except ``optimizer`` and ``seed`` (the
        ensemble sets them); ``loss`` is required. Returns the ensemble.
        """
        for taken in ("optimizer", "seed"):
            if taken in fit_options:
                raise TypeError(f"Ensemble.fit sets {taken!r} itself: build(seed) makes each optimizer, "
                                "and the members use seed, seed + 1, ...")
        X = np.asarray(X.data if isinstance(X, Tensor) else X)
        y = np.asarray(y.data if isinstance(y, Tensor) else y)
        if X.ndim == 0 or y.ndim == 0 or len(X) != len(y) or len(X) == 0:
            raise ValueError(f"X has {len(X) if X.ndim else 0} samples and y {len(y) if y.ndim else 0}: "
                             "they must match and not be empty")
        rng = get_rng(self.seed)
        models = []
        for k in range(self.n_models):
            index = rng.integers(0, len(X), len(X)) if self.bootstrap else np.arange(len(X))
            model, optimizer = self.build(self.seed + k)
            fit(model, X[index], y[index], optimizer=optimizer, seed=self.seed + k, **fit_options)
            models.append(model)
        self.models = models
        return self

    def predict_proba(self, X) -> np.ndarray:
        """The mean of the members' probabilities: softmax of each member's logits (one column per
        class), or for a single output column the sigmoid, returned as two columns (1 - p, p).
        Each member runs 4096 rows at a time, as :func:`glassnet.predict` does (memory bounded).

        Shape
        -----
        X: (n_samples, ...) -> (n_samples, n_classes), rows summing to 1.
        """
        if not self.models:
            raise RuntimeError("this Ensemble is not fitted yet: call fit first")
        total: float | np.ndarray = 0.0
        for model in self.models:
            inputs = as_inputs(X, model_dtype(model), purpose="predict", allow_nan=fills_missing(model))
            logits = _outputs(model, inputs, BATCH_SIZE)  # in batches: memory bounded, as predict
            if logits.ndim == 2 and logits.shape[1] > 1:
                total = total + softmax(Tensor(logits)).numpy()
            else:
                p = sigmoid(Tensor(logits.reshape(-1))).numpy()
                total = total + np.column_stack([1 - p, p])
        return np.asarray(total) / len(self.models)   # total is an array: there is a model

    def predict(self, X) -> np.ndarray:
        """The class with the highest averaged probability."""
        return self.predict_proba(X).argmax(axis=1)
