"""The data preprocessing steps as layers, so that a saved model carries them: ``Impute`` fills
missing values, ``Standardize`` scales. Both learn from training data with ``fit``, not from
gradients, and keep what they learned in buffers."""

from __future__ import annotations

import warnings

import numpy as np

from .._checks import float_dtype, one_of, positive_int, real_number
from ..ops import where
from ..tensor import Tensor, ensure_tensor
from .module import Module, state_array

__all__ = ["IMPUTE_STRATEGIES", "Impute", "Standardize"]

IMPUTE_STRATEGIES = ("mean", "median", "constant")


class Standardize(Module):
    """z = (x - mean) / scale per feature, with ``mean`` and ``scale`` learned from training data
    by :meth:`fit` (not by gradient descent): buffers, saved with the model.

    Putting the preprocessing inside the model means a saved model takes raw features: whoever
    loads it cannot forget, or get wrong, the scaling it was trained with.

    Parameters
    ----------
    num_features : int
        Number of input features.
    dtype : str or numpy dtype
        float32 (default) or float64.

    Shape
    -----
    - input: ``(batch, num_features)``
    - output: the same

    Example
    -------
    >>> import numpy as np
    >>> from glassnet import nn
    >>> layer = nn.Standardize(2).fit(np.array([[0.0, 10.0], [2.0, 30.0]]))
    >>> layer(np.array([[1.0, 20.0]])).numpy()
    array([[0., 0.]], dtype=float32)
    """

    def __init__(self, num_features: int, dtype="float32") -> None:
        super().__init__()
        self.num_features = positive_int(num_features, "num_features")
        self.dtype = float_dtype(dtype)
        self.register_buffer("mean", state_array(self.num_features, self.dtype))
        self.register_buffer("scale", state_array(self.num_features, self.dtype, fill=1))

    def fit(self, X) -> Standardize:
        """Take the mean and standard deviation of each column of ``X`` (training data only,
        so that nothing about the test data leaks into the model). A constant column gets
        scale 1 rather than a division by zero. Returns self."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.num_features:
            raise ValueError(f"Standardize.fit expects shape (n, {self.num_features}), got {X.shape}")
        if len(X) == 0 or not np.all(np.isfinite(X)):
            raise ValueError("Standardize.fit needs a non-empty array of finite values")
        std = X.std(axis=0)
        self.mean[...] = X.mean(axis=0)
        self.scale[...] = np.where(std > 0, std, 1.0)
        return self

    def forward(self, x) -> Tensor:
        x = ensure_tensor(x, dtype=self.dtype)
        if x.ndim != 2 or x.shape[1] != self.num_features:
            raise ValueError(f"Standardize expects input of shape (batch, {self.num_features}), got {x.shape}")
        return (x - self.mean) / self.scale

    def extra_repr(self) -> str:
        return f"num_features={self.num_features}"

    def get_config(self) -> dict:
        return {"num_features": self.num_features, "dtype": self.dtype.name}


class Impute(Module):
    """Fill missing values: each NaN in column j becomes ``statistics[j]``, learned from training
    data by :meth:`fit` (not by gradient descent) and saved with the model.

    The course lists "handling missing data" among the preprocessing steps (with normalization
    and scaling) without giving a formula; this is the usual per-column fill, the one of
    scikit-learn's ``SimpleImputer``, with the same numbers::

        mean:      statistics[j] = mean of the observed (non-NaN) values of column j
        median:    statistics[j] = their median (the mean of the two middle ones for an even count)
        constant:  statistics[j] = fill_value
        forward:   out = x where x is observed, statistics where x is NaN

    Put it first, before ``Standardize`` (``nn.mlp(..., impute="median")`` does): a saved model
    then takes raw rows with gaps. ``gn.fit``, ``gn.evaluate`` and ``gn.predict`` let NaN through
    to a model whose first layer is an Impute (its ``accepts_missing``); any other model still
    refuses NaN.

    Choices, and why:

    * Only NaN is missing. An infinite value is an error, in :meth:`fit` and in the forward
      pass, as in SimpleImputer: it is a broken value, not a gap, and filling it would hide that.
    * A column with no observed value in the training data is filled with ``fill_value`` (with a
      warning): scikit-learn's ``keep_empty_features=True``, which fills such a column with 0,
      the default ``fill_value``. SimpleImputer's default drops the column instead, which would
      change the input width the rest of the model was built for.
    * Before :meth:`fit`, every column's statistic is ``fill_value``.
    * Statistics are computed in float64, then stored in the layer's dtype: SimpleImputer's bit
      for bit on float64 data (on float32 data it sums in float32, so the last bit may differ).
    * No parameters. The gradient passes to the observed cells unchanged and is 0 for the filled
      ones, which do not depend on x: ``gn.where``'s rule, the op this layer is made of.

    Parameters
    ----------
    num_features : int
        Number of input features.
    strategy : {"mean", "median", "constant"}
        How :meth:`fit` chooses each column's fill value.
    fill_value : float
        The fill value of the "constant" strategy, and of columns without an observed value.
    dtype : float32 (default) or float64

    Shape
    -----
    - input: ``(batch, num_features)``, NaN where a value is missing
    - output: the same, without NaN

    Example
    -------
    >>> import numpy as np
    >>> from glassnet import nn
    >>> X = np.array([[1.0, 10.0], [np.nan, 30.0], [3.0, np.nan]])
    >>> layer = nn.Impute(2, strategy="mean").fit(X)
    >>> layer.statistics
    array([ 2., 20.], dtype=float32)
    >>> layer(np.array([[np.nan, 5.0]])).numpy()
    array([[2., 5.]], dtype=float32)
    """

    accepts_missing = True  # read by gn.fit / evaluate / predict: NaN in X is filled here

    def __init__(self, num_features: int, strategy: str = "mean", fill_value: float = 0.0,
                 dtype="float32") -> None:
        super().__init__()
        self.num_features = positive_int(num_features, "num_features")
        self.strategy = one_of(strategy, "strategy", IMPUTE_STRATEGIES)
        self.fill_value = real_number(fill_value, "fill_value")
        self.dtype = float_dtype(dtype)
        fill = _stored(np.array([self.fill_value]), self.dtype, "fill_value")[0]
        self.register_buffer("statistics", state_array(self.num_features, self.dtype, fill=fill))

    def fit(self, X) -> Impute:
        """Learn each column's fill value from the training data ``X`` of shape
        ``(n_samples, num_features)``, NaN where a value is missing. Returns self. Bad data raises
        before anything changes."""
        X = np.asarray(X.data if isinstance(X, Tensor) else X)
        if X.dtype.kind not in "biuf":
            raise TypeError(f"Impute.fit expects numbers, got an array of dtype {X.dtype}")
        X = X.astype(np.float64)
        if X.ndim != 2 or X.shape[1] != self.num_features or len(X) == 0:
            raise ValueError(f"Impute.fit expects a non-empty array of shape (n, {self.num_features}), "
                             f"got {X.shape}")
        if np.isinf(X).any():
            raise ValueError("Impute.fit: X contains infinite values; only NaN counts as missing")
        statistics = np.full(self.num_features, self.fill_value)
        if self.strategy != "constant":
            statistics = _column_statistics(X, self.strategy, self.fill_value)
        self.statistics[...] = _stored(statistics, self.dtype, "a fitted statistic")
        return self

    def forward(self, x) -> Tensor:
        x = ensure_tensor(x, dtype=self.dtype)
        if x.ndim != 2 or x.shape[1] != self.num_features:
            raise ValueError(f"Impute expects input of shape (batch, {self.num_features}), got {x.shape}")
        if np.isinf(x.data).any():
            raise ValueError("Impute: the input contains infinite values; only NaN counts as missing")
        return where(np.isnan(x.data), self.statistics, x)

    def extra_repr(self) -> str:
        return f"num_features={self.num_features}, strategy={self.strategy!r}, fill_value={self.fill_value}"

    def get_config(self) -> dict:
        return {"num_features": self.num_features, "strategy": self.strategy,
                "fill_value": self.fill_value, "dtype": self.dtype.name}


def _column_statistics(X: np.ndarray, strategy: str, fill_value: float) -> np.ndarray:
    """The mean or median of the observed values of each column of ``X`` (float64); a column
    without one gets ``fill_value``, with a warning that names it."""
    empty = np.isnan(X).all(axis=0)
    with warnings.catch_warnings():  # an all-NaN column: NumPy warns, we fill it just below
        warnings.simplefilter("ignore", RuntimeWarning)
        statistics = np.nanmean(X, axis=0) if strategy == "mean" else np.nanmedian(X, axis=0)
    if empty.any():
        warnings.warn(f"Impute: column(s) {np.flatnonzero(empty).tolist()} have no observed value "
                      f"in the training data; they are filled with fill_value={fill_value}",
                      UserWarning, stacklevel=3)
        statistics[empty] = fill_value
    return statistics


def _stored(values: np.ndarray, dtype: np.dtype, what: str) -> np.ndarray:
    """``values`` cast to ``dtype``; a value the dtype cannot hold (1e39 in float32) is an error."""
    with np.errstate(over="ignore"):  # an overflow becomes inf, refused just below
        stored = values.astype(dtype)
    if not np.all(np.isfinite(stored)):
        raise ValueError(f"{what} does not fit in {dtype.name}: {values[~np.isfinite(stored)][0]}")
    return stored
