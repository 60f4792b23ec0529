"""The reverse-mode engine behind ``Tensor.backward()``: grad mode, the walk over the graph, and
the one place where broadcasting is undone.

An op's output (made by ``Tensor._from_op``) keeps its inputs in ``_parents`` and a ``_backward``
closure that maps dL/d(output) to dL/d(each input). :func:`backward` visits every node that leads
to the root once, in reverse topological order (a node after every node that uses it), so that
the gradient of a node is complete, summed over all its uses, before its own closure runs. The
closures are the backward rules of the ops; they live right under their forward in
``glassnet.ops``, never here.

Nothing here imports :mod:`glassnet.tensor`: the engine reads only the attributes a Tensor
carries (``data``, ``grad``, ``requires_grad``, ``_parents``, ``_backward``, ``_pending``).

Example
-------
>>> import glassnet as gn
>>> x = gn.Tensor([1.0, 2.0], requires_grad=True)
>>> (x * x + x).sum().backward()          # d/dx (x^2 + x) = 2x + 1, x used twice
>>> x.grad
array([3., 5.], dtype=float32)
"""

from __future__ import annotations

import contextlib

import numpy as np

__all__ = ["backward", "is_grad_enabled", "no_grad", "unbroadcast"]


class _GradMode:
    enabled = True


@contextlib.contextmanager
def no_grad():
    """Context manager that records no graph: ops inside return tensors without history.

    Example
    -------
    >>> import glassnet as gn
    >>> w = gn.Tensor([1.0, 2.0], requires_grad=True)
    >>> with gn.no_grad():
    ...     y = w * 2
    >>> y.requires_grad
    False
    """
    previous = _GradMode.enabled
    _GradMode.enabled = False
    try:
        yield
    finally:
        _GradMode.enabled = previous


def is_grad_enabled() -> bool:
    """True unless inside :func:`no_grad`.

    >>> import glassnet as gn
    >>> with gn.no_grad():
    ...     print(gn.is_grad_enabled())
    False
    """
    return _GradMode.enabled


def unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``grad`` down to ``shape``: the one place where NumPy broadcasting is undone.

    If the forward broadcast ``x`` of shape ``shape`` to ``grad.shape``, every copy of an entry
    received gradient, so the entry's gradient is the sum over the broadcast axes.

    >>> import numpy as np
    >>> from glassnet.autograd import unbroadcast
    >>> unbroadcast(np.ones((4, 2, 3)), (2, 1)).tolist()     # 4 * 3 copies of each entry
    [[12.0], [12.0]]
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad.reshape(shape)


def backward(root, grad: np.ndarray, retain_graph: bool = False) -> None:
    """Add dL/d(leaf) into ``.grad`` of every leaf that requires a gradient and leads to ``root``.

    ``grad`` is dL/d(root), already of the root's shape and dtype (``Tensor.backward`` checks and
    converts it). Without ``retain_graph`` each node's closure and links are dropped once used,
    which frees the intermediate arrays.
    """
    if root._backward is None:
        _accumulate_leaf(root, grad, owned=True)
        return
    order = _topological_order(root)
    root._pending = grad
    try:
        for node in order:
            g, node._pending = node._pending, None  # dL/dnode, summed over its uses
            if g is None:
                continue
            parent_grads = node._backward(g)
            if not isinstance(parent_grads, tuple):  # an op with one input returns one array
                parent_grads = (parent_grads,)
            for parent, pg in zip(node._parents, parent_grads):
                if pg is None or not parent.requires_grad:
                    continue
                if pg.shape != parent.data.shape:
                    pg = unbroadcast(pg, parent.data.shape)
                if parent._backward is None:  # a leaf: nothing flows further, add it now
                    # A closure returns g itself, a view, or a fresh array of its own.
                    fresh = type(pg) is np.ndarray and pg is not g and pg.base is None
                    _accumulate_leaf(parent, pg, owned=fresh)
                elif parent._pending is None:
                    parent._pending = pg
                else:
                    # Out of place: a closure may hand the same array to several inputs.
                    parent._pending = parent._pending + pg
            if not retain_graph:
                node._backward = _freed
                node._parents = ()
    except BaseException:
        for node in order:
            node._pending = None
        raise


def _freed(g):
    raise RuntimeError(
        "backward() through a graph a second time: its intermediate values were freed by the "
        "first backward(); pass retain_graph=True to the first call to keep them"
    )


def _accumulate_leaf(leaf, grad: np.ndarray, owned: bool) -> None:
    if grad.dtype != leaf.data.dtype:
        grad = np.asarray(grad, dtype=leaf.data.dtype)
        owned = True
    if leaf.grad is None:
        # The array may be shared with another leaf's gradient or be a view of one, so the
        # leaf gets its own copy unless the array is known to be fresh (np.array, not .copy():
        # a 0-d gradient may arrive as a NumPy scalar, and .grad is always an array).
        leaf.grad = grad if owned else np.array(grad)
    else:
        leaf.grad += grad


def _topological_order(root) -> list:
    """The non-leaf nodes that lead to ``root`` through tensors that require grad, ``root``
    first and every node before its inputs. Iterative depth-first search: a chain of thousands
    of ops must not hit Python's recursion limit."""
    order, visited = [], {id(root)}
    stack = [(root, iter(root._parents))]
    while stack:
        node, parents = stack[-1]
        for parent in parents:
            if parent._backward is not None and parent.requires_grad and id(parent) not in visited:
                visited.add(id(parent))
                stack.append((parent, iter(parent._parents)))
                break
        else:
            stack.pop()
            order.append(node)
    order.reverse()
    return order
