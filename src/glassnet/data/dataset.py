"""The train/test split every loader returns, and the split itself.

:class:`Dataset` holds the four arrays and their names and unpacks in scikit-learn's order::

    X_train, X_test, y_train, y_test = load_circles(seed=0)

``_split`` is what every loader calls last: a stratified (classification) or plain (regression)
split, cast to the library's dtypes: float32 features, int64 class indices or float32 targets.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .._checks import number_in_range
from ..random import get_rng

__all__ = ["Dataset"]


@dataclass(frozen=True, eq=False)
class Dataset:
    """A train/test split with its names; unpacks as ``X_train, X_test, y_train, y_test``.

    Attributes
    ----------
    X_train : ndarray of float32, shape (n_train, n_features)
    X_test : ndarray of float32, shape (n_test, n_features)
    y_train : ndarray, shape (n_train,)
        int64 class indices for classification, float32 values for regression.
    y_test : ndarray, shape (n_test,)
    feature_names : tuple of str, length n_features
    target_names : tuple of str or None
        The class names, ``target_names[k]`` for label ``k``; None for regression.
    name : str
        The dataset's name ("circles", "iris", or a CSV file's stem).
    task : {"classification", "regression"}

    Example
    -------
    >>> from glassnet.data import load_iris
    >>> data = load_iris(seed=0)
    >>> X_train, X_test, y_train, y_test = data
    >>> X_train.shape, X_test.shape, data.n_classes
    ((112, 4), (38, 4), 3)
    """

    X_train: np.ndarray
    X_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray
    feature_names: tuple
    target_names: tuple | None
    name: str
    task: str = "classification"

    def __iter__(self):
        return iter((self.X_train, self.X_test, self.y_train, self.y_test))

    @property
    def n_features(self) -> int:
        return self.X_train.shape[1]

    @property
    def n_classes(self) -> int | None:
        """The number of classes, or None for a regression set."""
        return None if self.target_names is None else len(self.target_names)

    def standardized(self) -> Dataset:
        """A copy with features standardized by the training set's mean and standard deviation.

        See :class:`glassnet.data.Standardizer` for why only the training set is used.
        """
        from .preprocessing import standardize

        X_train, X_test = standardize(self.X_train, self.X_test)
        return replace(self, X_train=X_train, X_test=X_test)

    def __repr__(self) -> str:
        classes = "" if self.target_names is None else f", n_classes={self.n_classes}"
        return (f"Dataset(name={self.name!r}, task={self.task!r}, n_train={len(self.y_train)}, "
                f"n_test={len(self.y_test)}, n_features={self.n_features}{classes})")


# --- the split and the seed, shared by every loader ---------------------------------------------

def _int_seed(seed) -> int:
    """An int seed as is; a Generator or None (the default generator) draws one."""
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        if not 0 <= seed < 2**32:
            raise ValueError(f"seed must be in [0, 2**32), got {seed}")
        return int(seed)
    return int(get_rng(seed).integers(2**31 - 1))


def _split(X, y, *, name, test_size, seed, feature_names, target_names, task="classification"):
    """Split into train and test sets (stratified for classification) and wrap them in a Dataset."""
    from sklearn.model_selection import train_test_split  # scikit-learn is slow to import

    test_size = number_in_range(test_size, "test_size", 0, 1, include_low=False, include_high=False)
    stratify = y if task == "classification" else None
    try:
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=test_size, random_state=_int_seed(seed), stratify=stratify)
    except ValueError as error:
        raise ValueError(f"cannot split the {len(y)} samples of {name!r} with "
                         f"test_size={test_size}: {error}") from None
    label_dtype = np.int64 if task == "classification" else np.float32
    return Dataset(
        np.ascontiguousarray(X_train, np.float32), np.ascontiguousarray(X_test, np.float32),
        np.ascontiguousarray(y_train, label_dtype), np.ascontiguousarray(y_test, label_dtype),
        tuple(feature_names), None if target_names is None else tuple(target_names), name, task)


def _xy_names(n_features: int) -> tuple:
    return tuple(f"x{i + 1}" for i in range(n_features))
