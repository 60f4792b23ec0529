"""How a layer makes the arrays of its parameters and buffers: :func:`state_array`, which
``glassnet.load`` watches while it builds a model from a file's description."""

from __future__ import annotations

from contextvars import ContextVar

import numpy as np

__all__ = ["state_array"]

# Set by glassnet.io while it builds a model from a file's description: an object whose
# ``module()`` is told of every Module made and whose ``array(shape, dtype)`` of every parameter
# or buffer array before it is allocated, and that raises once the file could not fill them. So a
# file that declares Linear(8000, 8000) over no weights costs nothing to refuse.
_construction_guard: ContextVar = ContextVar("glassnet_construction_guard", default=None)


def state_array(shape, dtype, fill=0) -> np.ndarray:
    """A new array of ``shape`` and ``dtype`` filled with ``fill``: how a layer's constructor makes
    the array of each of its parameters and buffers (``Parameter(state_array(shape, dtype))``), so
    that ``glassnet.load`` checks a declared size against the file before anything is allocated.

    >>> from glassnet.nn.module import state_array
    >>> state_array((2, 3), "float32", fill=1).sum()
    np.float32(6.0)
    """
    guard = _construction_guard.get()
    if guard is not None:
        guard.array(shape, dtype)
    return np.full(shape, fill, dtype)
