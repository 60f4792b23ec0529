"""Standardization: z = (x - mean) / std per feature, with statistics from the training set only."""

from __future__ import annotations

import numpy as np

__all__ = ["Standardizer", "standardize"]


class Standardizer:
    """Rescale each feature to mean 0 and standard deviation 1: z = (x - mean_) / scale_.

    Fit on the training set only, then apply the same ``mean_`` and ``scale_`` to the test set
    (and to any new data). The test set stands for data the model has never seen; if its
    statistics entered the scaling, information from it would leak into training and the test
    score would be optimistic. Using the training statistics also treats every future input the
    same way, one sample at a time.

    A feature that is constant on the training set (standard deviation 0) gets ``scale_ = 1``:
    it is only centred, never divided by zero.

    Attributes
    ----------
    mean_ : ndarray of float64, shape (n_features,)
    scale_ : ndarray of float64, shape (n_features,)
        The training set's standard deviation (ddof=0), 1 where it is 0.
    n_features_in_ : int

    Shape
    -----
    - X: ``(n_samples, n_features)``; the output has the same shape and float dtype (float32
      stays float32; other dtypes become float64).

    Example
    -------
    >>> import numpy as np
    >>> from glassnet.data import Standardizer
    >>> X_train = np.array([[1.0, 5.0], [3.0, 5.0]], np.float32)
    >>> scaler = Standardizer().fit(X_train)
    >>> scaler.transform(X_train)
    array([[-1.,  0.],
           [ 1.,  0.]], dtype=float32)
    >>> scaler.transform(np.array([[2.0, 7.0]], np.float32))
    array([[0., 2.]], dtype=float32)
    """

    def fit(self, X) -> Standardizer:
        X = _check_matrix(X, "X")
        statistics = X.astype(np.float64)  # float64 sums: float32 loses digits on large sets
        mean, std = statistics.mean(axis=0), statistics.std(axis=0)
        self.mean_ = mean
        self.scale_ = np.where(std > 0, std, 1.0)
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X) -> np.ndarray:
        X = self._check_fitted_input(X, "X")
        return ((X - self.mean_) / self.scale_).astype(X.dtype)

    def fit_transform(self, X) -> np.ndarray:
        return self.fit(X).transform(X)

    def inverse_transform(self, Z) -> np.ndarray:
        """Undo ``transform``: x = z * scale_ + mean_."""
        Z = self._check_fitted_input(Z, "Z")
        return (Z * self.scale_ + self.mean_).astype(Z.dtype)

    def _check_fitted_input(self, X, name: str) -> np.ndarray:
        if not hasattr(self, "mean_"):
            raise RuntimeError("this Standardizer is not fitted yet; call fit(X_train) first")
        X = _check_matrix(X, name)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"{name} has {X.shape[1]} features, but the Standardizer was fitted "
                             f"on {self.n_features_in_}")
        return X


def standardize(X_train, X_test):
    """``(X_train, X_test)`` standardized with the mean and standard deviation of ``X_train``.

    See :class:`Standardizer` for why the test set's own statistics are not used; keep a
    ``Standardizer`` instead when new data will need the same scaling later.

    Shape
    -----
    - X_train: ``(n_train, n_features)``, X_test: ``(n_test, n_features)``; the outputs keep them.

    Example
    -------
    >>> import numpy as np
    >>> from glassnet.data import standardize
    >>> train, test = standardize(np.array([[0.0], [2.0]]), np.array([[4.0]]))
    >>> train.ravel().tolist(), test.ravel().tolist()
    ([-1.0, 1.0], [3.0])
    """
    scaler = Standardizer().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test)


def _check_matrix(X, name: str) -> np.ndarray:
    X = np.asarray(X)
    if X.dtype.kind not in "fiub":
        raise TypeError(f"{name} must hold numbers, got dtype {X.dtype}")
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got shape {X.shape}")
    if X.shape[0] == 0:
        raise ValueError(f"{name} has no samples (shape {X.shape})")
    if not np.isfinite(X).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return X
