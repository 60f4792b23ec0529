"""Standardize: the data preprocessing step as a layer, so that a saved model carries it."""

from __future__ import annotations

import numpy as np

from .._checks import float_dtype, positive_int
from ..tensor import Tensor, ensure_tensor
from .module import Module, state_array

__all__ = ["Standardize"]


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
