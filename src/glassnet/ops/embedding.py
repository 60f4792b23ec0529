"""Embedding lookup: gather rows of a weight matrix by integer index, and scatter-add the
gradient back into those rows.

The generic ``getitem`` would do the same, but its backward uses ``np.add.at``, which is slow
(about 3 ms for 3,200 rows of 64 values); here the rows are sorted by index once and each run of
equal indices is summed with ``np.add.reduceat``.
"""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor

__all__ = ["embedding"]


def embedding(indices: np.ndarray, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """Row ``indices[...]`` of ``weight``: out[..., :] = weight[indices[...], :].

    Backward: row v of dweight is the sum of the upstream gradients of every position whose
    index is v (an index used twice gets both contributions). The row ``padding_idx`` (if not
    None) gets no gradient, so it stays as it is during training.

    ``indices`` must be an integer array with every entry in ``[0, num_embeddings)`` (checked by
    the caller, ``glassnet.functional.embedding``).

    Shapes: indices ``(*)``, weight ``(num_embeddings, embedding_dim)`` ->
    ``(*, embedding_dim)``.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> w = gn.Tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    >>> out = gn.ops.embedding(np.array([2, 0, 2]), w)
    >>> out.numpy()
    array([[4., 5.],
           [0., 1.],
           [4., 5.]])
    >>> out.sum().backward()
    >>> w.grad
    array([[1., 1.],
           [0., 0.],
           [2., 2.]])
    """
    out = weight.data[indices]

    def backward(g):
        grad = np.zeros_like(weight.data)
        flat = indices.reshape(-1)
        rows = g.reshape(flat.size, weight.shape[1])
        if padding_idx is not None:
            keep = flat != padding_idx
            flat, rows = flat[keep], rows[keep]
        if flat.size == 0:
            return grad
        order = np.argsort(flat, kind="stable")
        sorted_indices = flat[order]
        # Where each run of equal indices starts in the sorted order.
        starts = np.flatnonzero(np.concatenate(([True], sorted_indices[1:] != sorted_indices[:-1])))
        grad[sorted_indices[starts]] = np.add.reduceat(rows[order], starts, axis=0)
        return grad

    return Tensor._from_op(out, (weight,), backward, "embedding")
