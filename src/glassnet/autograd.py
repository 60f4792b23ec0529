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
from collections.abc import Iterator

import numpy as np

__all__ = ["backward", "enable_grad", "grad", "is_grad_enabled", "no_grad", "unbroadcast"]


class _GradMode:
    enabled = True


def no_grad() -> contextlib.AbstractContextManager[None]:
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
    return _grad_mode(False)


def enable_grad() -> contextlib.AbstractContextManager[None]:
    """Context manager that records the graph again, even inside :func:`no_grad` (PyTorch's
    ``torch.enable_grad``): code that needs a gradient, such as an explainer, works wherever it is
    called from.

    Example
    -------
    >>> import glassnet as gn
    >>> w = gn.Tensor([1.0, 2.0], requires_grad=True)
    >>> with gn.no_grad(), gn.enable_grad():
    ...     y = w * 2
    >>> y.requires_grad
    True
    """
    return _grad_mode(True)


@contextlib.contextmanager
def _grad_mode(enabled: bool) -> Iterator[None]:
    """Record the graph or not inside the block, and put the previous mode back after it."""
    previous = _GradMode.enabled
    _GradMode.enabled = enabled
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
    _propagate(root, grad, retain_graph, _accumulate_leaf)


def _propagate(root, grad: np.ndarray, retain_graph: bool, on_leaf, on_node=None) -> None:
    """The walk itself: each node's closure once, in reverse topological order. ``on_leaf(leaf,
    grad, owned)`` receives every gradient that reaches a leaf; ``on_node(node, grad)``, if given,
    each non-leaf node's whole gradient before its closure runs (:func:`grad` uses both)."""
    if root._backward is None:
        on_leaf(root, grad, True)
        return
    order = _topological_order(root)
    root._pending = grad
    try:
        for node in order:
            g, node._pending = node._pending, None  # dL/dnode, summed over its uses
            if g is None:
                continue
            if on_node is not None:
                on_node(node, g)
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
                    on_leaf(parent, pg, fresh)
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


def grad(outputs, inputs, grad_outputs=None, retain_graph: bool = False, allow_unused: bool = False) -> tuple:
    """The gradient of ``outputs`` with respect to each of ``inputs``, returned, not stored:
    PyTorch's ``torch.autograd.grad``. No ``.grad`` changes anywhere (a model's parameters keep
    theirs), so it suits a gradient that is not a training step: an input's saliency, a layer's
    activation gradient (Grad-CAM), a gradient penalty's measurement.

    Parameters
    ----------
    outputs : Tensor
        The output; it must require grad.
    inputs : Tensor or sequence of Tensors
        What to differentiate by: leaves (``requires_grad=True``) or intermediate Tensors of the
        graph that led to ``outputs``.
    grad_outputs : array_like, optional
        dL/d(outputs), of the output's shape; may be omitted for a one-element output (then 1).
    retain_graph : bool
        Keep the graph for another backward pass (by default it is freed, as by ``backward``).
    allow_unused : bool
        An input that ``outputs`` does not depend on is a ValueError, or gets None with True.

    Returns
    -------
    tuple of np.ndarray (or None)
        One gradient per input, of its shape and dtype.

    Example
    -------
    >>> import glassnet as gn
    >>> from glassnet.autograd import grad
    >>> x = gn.Tensor([1.0, 2.0], requires_grad=True)
    >>> h = x * x                              # an intermediate tensor
    >>> grad((h * 3).sum(), (x, h))            # d/dx 3x^2 = 6x, d/dh 3h = 3; x.grad stays None
    (array([ 6., 12.], dtype=float32), array([3., 3.], dtype=float32))
    >>> x.grad is None
    True
    """
    targets = _grad_inputs(inputs)
    seed = _grad_seed(outputs, grad_outputs)
    found: dict[int, np.ndarray] = {}

    def collect(tensor, g, owned=False):
        key = id(tensor)
        if key not in wanted:
            return
        if key in found:
            found[key] += g  # our own copy: in place, in the input's dtype
        else:
            found[key] = np.array(g, dtype=tensor.data.dtype)

    wanted = {id(t) for t in targets}
    _propagate(outputs, seed, bool(retain_graph), collect, collect)
    result = tuple(found.get(id(t)) for t in targets)
    for position, (tensor, value) in enumerate(zip(targets, result)):
        if value is None and not allow_unused:
            raise ValueError(f"inputs[{position}] (shape {tensor.data.shape}) is not used to compute the "
                             "output: no gradient flows to it; pass allow_unused=True to get None for it")
    return result


def _grad_inputs(inputs) -> tuple:
    """``inputs`` of :func:`grad` as a tuple of Tensors that require grad (or a clear error)."""
    targets = (inputs,) if hasattr(inputs, "_parents") else tuple(inputs)
    if not targets:
        raise ValueError("grad needs at least one input to differentiate by")
    for position, tensor in enumerate(targets):
        if not hasattr(tensor, "_parents"):
            raise TypeError(f"inputs[{position}] must be a Tensor, got {type(tensor).__name__}")
        if not tensor.requires_grad:
            raise ValueError(f"inputs[{position}] (shape {tensor.data.shape}) does not require grad: "
                             "nothing can be differentiated by it")
    return targets


def _grad_seed(outputs, grad_outputs) -> np.ndarray:
    """dL/d(outputs) for :func:`grad`: ones for a one-element output, else ``grad_outputs``."""
    if not hasattr(outputs, "_parents"):
        raise TypeError(f"outputs must be a Tensor, got {type(outputs).__name__}")
    if not outputs.requires_grad:
        raise ValueError("outputs does not require grad: no input of the computation had "
                         "requires_grad=True (or it ran under no_grad())")
    data = outputs.data
    if grad_outputs is None:
        if data.size != 1:
            raise ValueError(f"grad_outputs is needed for an output of shape {data.shape} (only a "
                             "one-element output has the default of 1)")
        return np.ones(data.shape, dtype=data.dtype)
    seed = np.array(getattr(grad_outputs, "data", grad_outputs), dtype=data.dtype)
    if seed.shape != data.shape:
        raise ValueError(f"grad_outputs needs shape {data.shape} (the output's), got {seed.shape}")
    return seed


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
