"""Embedding: a lookup of rows of a weight matrix. The primitive (with its backward) is in
``glassnet.ops.embedding``; this function checks the indices.

(The file is ``embeddings.py``, not ``embedding.py``, so that the name ``glassnet.functional.embedding``
stays the function.)"""

from __future__ import annotations

import numpy as np

from .. import ops
from .._checks import integer
from ..tensor import Tensor

__all__ = ["embedding"]


def embedding(indices, weight, padding_idx=None) -> Tensor:
    """Look up rows of ``weight``: out[..., :] = weight[indices[...], :]. The gradient of a row
    is the sum over the positions that picked it; the row ``padding_idx`` (if given, negative
    counts from the end) gets none.

    Shapes: indices ``(*)`` integers in [0, num_embeddings), weight
    ``(num_embeddings, embedding_dim)`` -> ``(*, embedding_dim)``.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> from glassnet import functional as F
    >>> F.embedding(np.array([[0, 2], [1, 0]]), gn.Tensor(np.eye(3))).shape
    (2, 2, 3)
    """
    count = weight.shape[0]
    if isinstance(indices, Tensor):
        raise TypeError(f"embedding needs integer indices, got a {indices.dtype} Tensor (Tensors "
                        "hold floats); pass a NumPy integer array, such as x.numpy().astype(int)")
    indices = np.asarray(indices)
    if indices.dtype.kind not in "iu":
        raise TypeError(f"embedding needs integer indices, got an array of dtype {indices.dtype}")
    if indices.size and (indices.min() < 0 or indices.max() >= count):
        raise IndexError(f"embedding index out of range: indices must be in [0, {count}), got "
                         f"values from {indices.min()} to {indices.max()}")
    padding_idx = integer(padding_idx, "padding_idx", allow_none=True)
    if padding_idx is not None:
        if not -count <= padding_idx < count:
            raise ValueError(f"padding_idx must be in [-{count}, {count}), got {padding_idx}")
        padding_idx %= count
    return ops.embedding(indices, weight, padding_idx)
