"""The multi-layer perceptron, built once for everyone: the CLI, the scikit-learn estimators, you.

``mlp`` stacks the course's layers into a ``Sequential``::

    [Impute] -> [Standardize] -> (Linear -> [BatchNorm1d] -> activation -> [Dropout]) per hidden layer -> Linear

The output layer is linear: it gives logits (one per class, for ``losses.cross_entropy``) or
values (for ``losses.mse``); the loss or the caller applies the output activation.

Example
-------
>>> import numpy as np
>>> from glassnet import nn
>>> model = nn.mlp(4, (16, 8), 3, activation="tanh", dropout=0.1, rng=0)
>>> [type(layer).__name__ for layer in model]
['Linear', 'Tanh', 'Dropout', 'Linear', 'Tanh', 'Dropout', 'Linear']
>>> model(np.zeros((5, 4), np.float32)).shape
(5, 3)
"""

from __future__ import annotations

import numpy as np

from .._checks import boolean, one_of, positive_int, probability, real_number
from ..functional import get_activation, hidden_activation_names
from ..random import get_rng
from .activation import make_activation
from .container import Sequential
from .dropout import Dropout
from .linear import Linear
from .module import Module
from .normalization import BatchNorm1d
from .preprocessing import IMPUTE_STRATEGIES, Impute, Standardize

__all__ = ["mlp"]


# ---- the builder ---------------------------------------------------------------------------------
def mlp(n_features: int, hidden_layer_sizes, n_outputs: int, activation: str = "relu", *,
        batch_norm: bool = False, dropout: float = 0.0, weight_init=None, standardize_with=None,
        impute: str | None = None, fill_value: float = 0.0, dtype=np.float32, rng=None) -> Sequential:
    """A multi-layer perceptron:
    [Impute] -> [Standardize] -> (Linear -> [BatchNorm1d] -> activation -> [Dropout]) per hidden layer -> Linear.

    Parameters
    ----------
    n_features : int
        Input width: X has shape ``(batch, n_features)``.
    hidden_layer_sizes : iterable of int
        The width of each hidden layer, e.g. ``(10,)`` or ``(64, 32)``; empty for no hidden layer
        (a linear model).
    n_outputs : int
        Output width: one logit per class, or one value per regression target.
    activation : str
        The hidden layers' activation: a name from the activation registry usable between hidden
        layers, ``glassnet.functional.hidden_activation_names(aliases=True)``.
    batch_norm : bool
        A ``BatchNorm1d`` between each hidden Linear and its activation.
    dropout : float in [0, 1)
        A ``Dropout(dropout)`` after each hidden activation (none for 0).
    weight_init : str or callable, optional
        The initializer of every Linear's W (biases start at 0). None: the one the activation's
        registry entry names (``he_uniform`` for ReLU-like units, else ``xavier_uniform``) for the
        hidden layers, and
        ``xavier_uniform`` for the linear output layer.
    standardize_with : array of shape (n_samples, n_features), optional
        Training data: a ``Standardize`` layer fitted on it comes first, so the model takes raw
        features.
    impute : {None, "mean", "median", "constant"}
        None (default): no Impute layer, and NaN in the input stays an error. Else an
        ``Impute(n_features, strategy=impute, fill_value=fill_value)`` comes first, fitted on
        ``standardize_with`` (needed for "mean" and "median"), and ``Standardize`` is then fitted
        on the filled data: the model takes raw rows with gaps (NaN).
    fill_value : float
        The Impute layer's fill value: for "constant", and for a column with no observed value.
    dtype : float32 or float64
        The parameters' dtype.
    rng : int, numpy.random.Generator or None
        One generator, made once from a seed, draws every layer's initial W in order, and then
        the dropout masks. None: glassnet's default generator (``glassnet.seed``).

    Returns
    -------
    Sequential
        Input ``(batch, n_features)``, output ``(batch, n_outputs)``.

    Example
    -------
    >>> import numpy as np
    >>> from glassnet import nn
    >>> X = np.random.default_rng(0).normal(5.0, 2.0, size=(50, 2))
    >>> model = nn.mlp(2, (10,), 2, standardize_with=X, batch_norm=True, rng=0)
    >>> [type(layer).__name__ for layer in model]
    ['Standardize', 'Linear', 'BatchNorm1d', 'ReLU', 'Linear']
    >>> X[0, 1] = np.nan
    >>> model = nn.mlp(2, (10,), 2, standardize_with=X, impute="median", rng=0)
    >>> [type(layer).__name__ for layer in model][:3], model(X).shape
    (['Impute', 'Standardize', 'Linear'], (50, 2))
    """
    sizes = _check_arguments(n_features, hidden_layer_sizes, n_outputs, activation, batch_norm, dropout)
    rng = None if rng is None else get_rng(rng)   # a seed made into one Generator, shared below

    layers: list[Module] = _preprocessing(n_features, standardize_with, impute, fill_value, dtype)
    hidden_init = get_activation(activation).init if weight_init is None else weight_init
    width = n_features
    for size in sizes:
        layers.append(Linear(width, size, weight_init=hidden_init, dtype=dtype, rng=rng))
        if batch_norm:
            layers.append(BatchNorm1d(size, dtype=dtype))
        layers.append(make_activation(activation))
        if dropout > 0:
            layers.append(Dropout(dropout, rng=rng))
        width = size
    output_init = "xavier_uniform" if weight_init is None else weight_init
    layers.append(Linear(width, n_outputs, weight_init=output_init, dtype=dtype, rng=rng))
    return Sequential(*layers)


def _preprocessing(n_features, data, impute, fill_value, dtype) -> list:
    """[Impute] -> [Standardize], each fitted on ``data``: Standardize on the filled values, the
    very values it will see behind the Impute layer."""
    if impute is None:
        return [] if data is None else [Standardize(n_features, dtype=dtype).fit(data)]
    imputer = Impute(n_features, one_of(impute, "impute", IMPUTE_STRATEGIES),
                     real_number(fill_value, "fill_value"), dtype=dtype)
    if data is None:
        if impute != "constant":
            raise ValueError(f"impute={impute!r} learns from training data: pass standardize_with=X_train")
        return [imputer]
    imputer.fit(data)
    data = np.asarray(data, dtype=np.float64)
    filled = np.where(np.isnan(data), imputer.statistics.astype(np.float64), data)
    return [imputer, Standardize(n_features, dtype=dtype).fit(filled)]


def _check_arguments(n_features, hidden_layer_sizes, n_outputs, activation, batch_norm, dropout) -> list:
    """The hidden layer sizes as a list of ints, once every argument of ``mlp`` is checked."""
    positive_int(n_features, "n_features")
    positive_int(n_outputs, "n_outputs")
    if isinstance(hidden_layer_sizes, (str, bytes)) or not hasattr(hidden_layer_sizes, "__iter__"):
        raise TypeError("hidden_layer_sizes must be an iterable of ints such as (10,) or (64, 32), "
                        f"got {type(hidden_layer_sizes).__name__} {hidden_layer_sizes!r}")
    sizes = [positive_int(size, f"hidden_layer_sizes[{index}]")
             for index, size in enumerate(hidden_layer_sizes)]
    one_of(activation, "activation", hidden_activation_names(aliases=True))
    boolean(batch_norm, "batch_norm")
    probability(dropout, "dropout")
    return sizes
