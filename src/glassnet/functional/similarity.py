"""Unit vectors and cosine similarity, with PyTorch's arithmetic (``F.normalize``,
``F.cosine_similarity``): the pieces of a contrastive loss such as ``losses.info_nce``.

Both are composed of Tensor ops (``ops.vector_norm``, clip, division, sum), so autodiff gives
their backward. They differ, as in PyTorch, in how ``eps`` enters the gradient of a vector
shorter than ``eps``; see each function.
"""

from __future__ import annotations

import numpy as np

from .. import ops
from .._checks import positive_number
from ..ops.shape import check_axis
from ..tensor import Tensor, ensure_tensor

__all__ = ["cosine_similarity", "normalize"]


def normalize(x, axis: int = -1, eps: float = 1e-12) -> Tensor:
    """Scale each vector along ``axis`` to unit length: y = x / max(||x||_2, eps).

    PyTorch's ``F.normalize(x, p=2, dim=axis, eps=eps)``. A vector shorter than ``eps`` is
    divided by ``eps`` (a zero vector stays zero, with no 0 / 0); there the clamp passes no
    gradient to the norm, so dy/dx = I / eps, as in PyTorch.

    Shapes: x ``(*)`` -> the shape of x.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> from glassnet import functional as F
    >>> F.normalize(gn.Tensor(np.array([[3.0, 4.0], [0.0, 0.0]]))).numpy()
    array([[0.6, 0.8],
           [0. , 0. ]])
    """
    x = ensure_tensor(x)
    axis = check_axis(axis, x.ndim, "normalize")
    eps = _eps(eps, x.dtype, "normalize")
    return x / ops.clip(ops.vector_norm(x, axis, keepdims=True), eps)


def cosine_similarity(a, b, axis: int = -1, eps: float = 1e-8) -> Tensor:
    """cos(a, b) = a . b / (max(||a||_2, eps) max(||b||_2, eps)) along ``axis``.

    PyTorch's ``F.cosine_similarity(a, b, dim=axis, eps=eps)`` (but NumPy's default axis, the
    last). ``a`` and ``b`` broadcast to a common shape first, and ``axis`` is an axis of that
    shape. As in PyTorch each vector is divided by its own clamped norm, then the products are
    summed, so the result stays within [-1, 1]; the clamp changes the norm's value only, not its
    gradient (PyTorch clamps under no_grad). Away from ||a|| < eps (or ||b|| < eps) this is the
    exact derivative; a zero vector gets the gradient b / (||b|| eps), as in PyTorch.

    Shapes: a and b broadcastable to ``S`` -> ``S`` without ``axis``.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> from glassnet import functional as F
    >>> a = gn.Tensor(np.array([[1.0, 0.0], [1.0, 1.0]]))
    >>> F.cosine_similarity(a, np.array([1.0, 0.0])).numpy().round(4)
    array([1.    , 0.7071])
    """
    a, b = _operands(a, b)
    try:
        shape = np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(f"cosine_similarity: shapes {a.shape} and {b.shape} do not broadcast to a "
                         "common shape") from None
    axis = check_axis(axis, len(shape), "cosine_similarity")
    eps = _eps(eps, a.dtype, "cosine_similarity")
    return (_unit(a, shape, axis, eps) * _unit(b, shape, axis, eps)).sum(axis=axis)


def _unit(x: Tensor, shape: tuple, axis: int, eps: float) -> Tensor:
    """x broadcast to ``shape`` (the norm is of the broadcast vector: a size-1 axis repeated),
    divided by max(||x||, eps) with the gradient of ||x|| itself."""
    if x.shape != shape:
        x = x * np.ones(shape, dtype=x.dtype)  # the engine sums the gradient back to x's shape
    norm = ops.vector_norm(x, axis, keepdims=True)
    # PyTorch clamps the norm in place under no_grad: the value becomes max(||x||, eps) but the
    # gradient is still that of ||x||. Adding the difference as a constant does exactly that.
    return x / (norm + Tensor(np.maximum(norm.data, eps) - norm.data))


def _operands(a, b) -> tuple:
    """Two Tensors of one dtype (an array takes the other operand's dtype; never an upcast)."""
    if isinstance(a, Tensor) and isinstance(b, Tensor) and a.dtype != b.dtype:
        raise TypeError(f"cosine_similarity: a and b have dtypes {a.dtype} and {b.dtype}; convert "
                        "one with .astype() (glassnet never upcasts silently)")
    a = ensure_tensor(a, dtype=b.dtype if isinstance(b, Tensor) else None)
    return a, ensure_tensor(b, dtype=a.dtype)


def _eps(eps, dtype: np.dtype, name: str) -> float:
    """``eps`` > 0 that stays > 0 in ``dtype``: an eps that rounds to 0 would let a zero vector
    divide 0 by 0."""
    eps = positive_number(eps, f"{name}: eps")
    if np.dtype(dtype).type(eps) == 0:
        raise ValueError(f"{name}: eps={eps:g} rounds to 0 in {np.dtype(dtype)} (the input's dtype); "
                         f"use at least {np.finfo(dtype).smallest_subnormal:g}")
    return eps
