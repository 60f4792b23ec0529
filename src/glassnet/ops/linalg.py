"""Matrix products. ``matmul`` follows NumPy: 2-D, batched (leading axes broadcast) and 1-D
operands. The backward of z = a @ b is dz/da = g @ b^T and dz/db = a^T @ g."""

from __future__ import annotations

import numpy as np
from scipy.linalg import blas

from ..tensor import Tensor
from .elementwise import _binary_operands

_GEMM = {np.dtype(np.float32): blas.sgemm, np.dtype(np.float64): blas.dgemm}


def matmul(a, b) -> Tensor:
    """Matrix product ``a @ b``.

    Shapes: ``(..., n, k) @ (..., k, m) -> (..., n, m)``; a 1-D operand is a vector, as in NumPy.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> x = gn.Tensor(np.ones((2, 3)), requires_grad=True)
    >>> (x @ np.ones((3, 4))).shape
    (2, 4)
    """
    a, b = _binary_operands(a, b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul needs tensors with at least 1 dimension, got shapes {a.shape} and {b.shape}")
    inner_a = a.shape[-1]
    inner_b = b.shape[-2] if b.ndim >= 2 else b.shape[0]
    if inner_a != inner_b:
        raise ValueError(
            f"matmul shape mismatch: {a.shape} @ {b.shape}; the last dimension of the first "
            f"({inner_a}) must equal the {'second-to-last' if b.ndim >= 2 else 'only'} dimension "
            f"of the second ({inner_b})"
        )
    try:
        out = a.data @ b.data
    except ValueError as error:  # batch axes that do not broadcast
        raise ValueError(f"matmul shape mismatch: {a.shape} @ {b.shape}: {error}") from None

    def backward(g):
        # Promote 1-D operands to matrices so that one rule covers every case.
        a2 = a.data[None, :] if a.ndim == 1 else a.data
        b2 = b.data[:, None] if b.ndim == 1 else b.data
        g2 = g
        if b.ndim == 1:  # first, so that the scalar g of vector @ vector becomes (1, 1)
            g2 = np.expand_dims(g2, -1)
        if a.ndim == 1:
            g2 = np.expand_dims(g2, -2)
        ga = gb = None
        if a.requires_grad:
            ga = product(g2, b2.T) if g2.ndim == b2.ndim == 2 else g2 @ np.swapaxes(b2, -1, -2)
            if a.ndim == 1:
                ga = ga.reshape(ga.shape[:-2] + ga.shape[-1:])
        if b.requires_grad:
            gb = product(a2.T, g2) if a2.ndim == g2.ndim == 2 else np.swapaxes(a2, -1, -2) @ g2
            if b.ndim == 1:
                gb = gb[..., 0]
        return ga, gb

    return Tensor._from_op(out, (a, b), backward, "matmul")


_FEW_ROWS = 8  # product() calls gemm itself up to this inner dimension (measured: see there)


def product(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` for 2-D arrays ``(m, k) @ (k, n)``, fast when k is small (at most
    ``_FEW_ROWS``): the backward passes' products.

    With k = 1 the product is an outer product (the weight gradient x^T g of a batch of one), and
    NumPy's ``@`` runs it several times slower than BLAS's own gemm called on the same memory
    (900 us against 150 us for 784x1024 float32, one thread): calling gemm directly saves most of
    a batch-1 backward. For a few rows it still saves a quarter (k = 4: 500 against 360 us; k = 16:
    within 5%, so not used). Either way the result is a fresh C-ordered array.

    Example
    -------
    >>> import numpy as np
    >>> from glassnet.ops.linalg import product
    >>> out = product(np.arange(64.0)[:, None], np.ones((1, 32)))   # 64x32 outer product: gemm
    >>> out.shape, out[2, :3]
    ((64, 32), array([2., 2., 2.]))
    """
    gemm = _GEMM.get(a.dtype)
    # Below ~2000 entries the call into SciPy (~5 us) costs more than NumPy's slow product.
    if a.shape[1] > _FEW_ROWS or gemm is None or b.dtype != a.dtype or a.shape[0] * b.shape[1] < 2048:
        return a @ b
    out = np.empty((a.shape[0], b.shape[1]), dtype=a.dtype)
    # gemm is column-major: out.T (n, m) is F-ordered, so writing b^T a^T into it (overwrite_c)
    # fills out with a b in place; beta=0 means out's uninitialized values are never read.
    written = gemm(1.0, b.T, a.T, beta=0.0, c=out.T, overwrite_c=1)
    return out if np.may_share_memory(written, out) else written.T.copy()
