"""Linear maps and dropout: the functional forms of ``nn.Linear`` and ``nn.Dropout``."""

from __future__ import annotations

import numpy as np

from .. import ops
from .._checks import boolean, probability
from ..random import get_rng
from ..tensor import Tensor, ensure_tensor

__all__ = ["dropout", "linear"]


def linear(x, weight, bias=None) -> Tensor:
    """z = x @ W + b: the course's z = W^T x + b for a batch of row vectors.

    Shapes: x ``(..., in_features)``, weight ``(in_features, out_features)``,
    bias ``(out_features,)`` -> ``(..., out_features)``.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> from glassnet import functional as F
    >>> F.linear(gn.Tensor(np.array([[1.0, 2.0]])), gn.Tensor(np.eye(2)), gn.Tensor(np.array([0.5, 0.0]))).numpy()
    array([[1.5, 2. ]])
    """
    return ops.linear(ensure_tensor(x, dtype=weight.dtype), weight, bias)


def dropout(x, p: float = 0.5, training: bool = True, rng=None) -> Tensor:
    """Inverted dropout: zero each value with probability p and scale the rest by 1 / (1 - p),
    so that the expectation is unchanged and evaluation needs no rescaling. Identity when not
    training or p = 0. ``rng``: seed, Generator or None (see ``glassnet.random``).

    Shapes: x ``(*)`` -> the shape of x.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> from glassnet import functional as F
    >>> F.dropout(gn.Tensor(np.ones(6)), p=0.5, rng=0).numpy()
    array([2., 0., 0., 0., 2., 2.])
    """
    p = probability(p, "p", include_one=True)
    training = boolean(training, "training")
    x = ensure_tensor(x)
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * np.zeros(x.shape, dtype=x.dtype)
    keep = get_rng(rng).random(x.shape) >= p
    return x * (keep * np.asarray(1.0 / (1.0 - p), dtype=x.dtype))

