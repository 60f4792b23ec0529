"""Tensor, the array that records how it was computed, for reverse-mode automatic differentiation.

A :class:`Tensor` wraps a NumPy array. Every differentiable op (in ``glassnet.ops``) computes its
output with NumPy and attaches a ``backward`` closure, written right under the forward, that maps
the gradient of the output to the gradients of its inputs. ``Tensor.backward()`` checks its
argument and hands over to the engine in ``glassnet.autograd``, which walks the graph in reverse
topological order, calls each closure once, undoes broadcasting in one place
(:func:`unbroadcast`) and adds up the contributions of a tensor used several times. Grad mode
(:func:`no_grad`) lives there too; both stay importable from here.
"""

from __future__ import annotations

import numpy as np

from . import autograd as _autograd
from ._checks import FLOAT_DTYPES, boolean, float_dtype
from .autograd import _GradMode, enable_grad, is_grad_enabled, no_grad, unbroadcast

__all__ = ["Parameter", "Tensor", "as_float_array", "enable_grad", "ensure_tensor", "is_grad_enabled", "no_grad",
           "tensor", "unbroadcast"]


def as_float_array(data, dtype=None) -> np.ndarray:
    """Convert ``data`` to a float ndarray: float32 by default, float64 kept when given.

    Integer and boolean inputs become float32; Python scalars and lists become float32. A value
    too large for ``dtype`` (float64 1e300 into float32) is a ValueError, not an inf.
    """
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, np.matrix):  # its * is a matrix product and it stays 2-d: seen as a plain ndarray
        data = np.asarray(data)
    if dtype is not None:
        target = float_dtype(dtype)
        try:
            with np.errstate(over="raise"):  # 1e300 into float32: an error, never a silent inf
                return np.asarray(data, dtype=target)
        except FloatingPointError:
            raise ValueError(f"the values overflow {target} (max {np.finfo(target).max:.2g}); scale them "
                             "down, or use float64") from None
    if isinstance(data, np.ndarray):
        if data.dtype in FLOAT_DTYPES:
            return data
        if data.dtype.kind in "biuf":
            return data.astype(np.float32)
        raise TypeError(f"cannot make a Tensor from an array of dtype {data.dtype}")
    if isinstance(data, np.generic) and data.dtype in FLOAT_DTYPES:
        return np.asarray(data)
    array = np.asarray(data)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"cannot make a Tensor from {type(data).__name__} of dtype {array.dtype}")
    return array.astype(np.float32)


class Tensor:
    """An n-dimensional array that records the ops applied to it, for reverse-mode autodiff.

    Parameters
    ----------
    data : array_like
        The values. float32 and float64 arrays are kept as they are (no copy); integers, booleans,
        Python scalars and lists become float32.
    requires_grad : bool
        Whether ``backward()`` should compute ``.grad`` for this tensor.
    dtype : {None, "float32", "float64"}
        Force a dtype.

    Attributes
    ----------
    data : ndarray
        The values.
    grad : ndarray or None
        The gradient of the last ``backward()`` (accumulated across calls, like PyTorch), same
        shape and dtype as ``data``. Only leaf tensors (made by the user) keep one.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> x = gn.Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad
    array([2., 4., 6.])
    """

    __slots__ = ("data", "grad", "requires_grad", "_parents", "_backward", "_op", "_pending",
                 "__weakref__")
    __array_priority__ = 1000  # so that ndarray + Tensor calls Tensor.__radd__

    def __init__(self, data, requires_grad: bool = False, dtype=None) -> None:
        self.data = as_float_array(data, dtype)
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._parents = ()
        self._backward = None
        self._op = ""
        self._pending = None  # the gradient being summed for this node during backward()

    @classmethod
    def _from_op(cls, data: np.ndarray, parents: tuple, backward, op: str) -> Tensor:
        """Make the output of an op. It records history only if grad mode is on and an input
        needs a gradient; otherwise the closure is dropped at once and nothing is kept alive."""
        out = object.__new__(cls)
        # NumPy returns a scalar, not an array, for a 0-d result (x.sum(), a 0-d x * y).
        out.data = data if type(data) is np.ndarray else np.asarray(data)
        out.grad = None
        out._op = op
        out.requires_grad = False
        out._parents = ()
        out._backward = None
        out._pending = None
        if _GradMode.enabled:
            for parent in parents:
                if parent.requires_grad:
                    out.requires_grad = True
                    out._parents = parents
                    out._backward = backward
                    break
        return out

    # ---- basic properties ------------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def is_leaf(self) -> bool:
        return self._backward is None

    def __len__(self) -> int:
        return len(self.data)

    def numpy(self) -> np.ndarray:
        """The values as an ndarray (shared with the tensor, not a copy)."""
        return self.data

    def item(self) -> float:
        """The value of a one-element tensor as a Python float."""
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self.data.item()

    def detach(self) -> Tensor:
        """A tensor sharing the values but cut from the graph (no gradient flows through it)."""
        return Tensor(self.data)

    def astype(self, dtype) -> Tensor:
        """A copy in another float dtype; the gradient flows back cast to this tensor's dtype."""
        return _ops.astype(self, dtype)

    def zero_grad(self) -> None:
        self.grad = None

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="Tensor(")
        extra = ", requires_grad=True" if self.requires_grad else ""
        if self.dtype != np.float32:
            extra = f", dtype={self.dtype}" + extra
        return f"Tensor({body}{extra})"

    def __hash__(self) -> int:
        return id(self)

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ValueError(
                f"the truth value of a Tensor of shape {self.shape} is ambiguous; "
                "use .data.any() or .data.all()"
            )
        return bool(self.data)

    # ---- reverse-mode autodiff -------------------------------------------------------------
    def backward(self, grad=None, retain_graph: bool = False) -> None:
        """Compute the gradient of this tensor with respect to every leaf that requires one.

        Parameters
        ----------
        grad : array_like, optional
            dL/dself. May be omitted only when this tensor holds a single value (then it is 1).
        retain_graph : bool
            Keep the graph so that ``backward`` can be called on it again. By default the
            closures and links are dropped as they are used, which frees the intermediate arrays.

        Notes
        -----
        Gradients are added into each leaf's ``.grad`` (call ``zero_grad`` between steps).
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward() on a tensor that does not require grad: no input of the computation "
                "had requires_grad=True (or it ran under no_grad())"
            )
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward() without a gradient needs a scalar output, got shape {self.shape}; "
                    "pass grad= (dL/d output, same shape) or reduce with .sum() or .mean() first"
                )
            grad = np.ones(self.shape, dtype=self.dtype)
        else:
            grad = np.array(grad.data if isinstance(grad, Tensor) else grad, dtype=self.dtype)
            if grad.shape != self.shape:
                raise ValueError(
                    f"backward(grad=...) needs shape {self.shape} (the tensor's), got {grad.shape}"
                )
        _autograd.backward(self, grad, boolean(retain_graph, "retain_graph"))

    # ---- operators (the ops live in glassnet.ops; these are thin bindings) ------------------
    def __add__(self, other) -> Tensor:
        return _ops.add(self, other)

    def __radd__(self, other) -> Tensor:
        return _ops.add(other, self)

    def __sub__(self, other) -> Tensor:
        return _ops.sub(self, other)

    def __rsub__(self, other) -> Tensor:
        return _ops.sub(other, self)

    def __mul__(self, other) -> Tensor:
        return _ops.mul(self, other)

    def __rmul__(self, other) -> Tensor:
        return _ops.mul(other, self)

    def __truediv__(self, other) -> Tensor:
        return _ops.div(self, other)

    def __rtruediv__(self, other) -> Tensor:
        return _ops.div(other, self)

    def __neg__(self) -> Tensor:
        return _ops.neg(self)

    def __pow__(self, exponent) -> Tensor:
        return _ops.power(self, exponent)

    def __rpow__(self, base) -> Tensor:
        return _ops.power(base, self)

    def __matmul__(self, other) -> Tensor:
        return _ops.matmul(self, other)

    def __rmatmul__(self, other) -> Tensor:
        return _ops.matmul(other, self)

    def __getitem__(self, index) -> Tensor:
        return _ops.getitem(self, index)

    def __lt__(self, other) -> Tensor:
        return _compare(np.less, self, other)

    def __le__(self, other) -> Tensor:
        return _compare(np.less_equal, self, other)

    def __gt__(self, other) -> Tensor:
        return _compare(np.greater, self, other)

    def __ge__(self, other) -> Tensor:
        return _compare(np.greater_equal, self, other)

    # == and != compare element-wise (NumPy's meaning), so they return a Tensor, not object's bool
    def __eq__(self, other) -> Tensor:  # type: ignore[override]
        return _compare(np.equal, self, other)

    def __ne__(self, other) -> Tensor:  # type: ignore[override]
        return _compare(np.not_equal, self, other)

    def exp(self) -> Tensor:
        return _ops.exp(self)

    def log(self) -> Tensor:
        return _ops.log(self)

    def sqrt(self) -> Tensor:
        return _ops.sqrt(self)

    def abs(self) -> Tensor:
        return _ops.abs(self)

    def tanh(self) -> Tensor:
        return _ops.tanh(self)

    def sigmoid(self) -> Tensor:
        return _ops.sigmoid(self)

    def relu(self) -> Tensor:
        return _ops.relu(self)

    def clip(self, low=None, high=None) -> Tensor:
        return _ops.clip(self, low, high)

    def sum(self, axis=None, keepdims=False) -> Tensor:
        return _ops.sum(self, axis, keepdims)

    def mean(self, axis=None, keepdims=False) -> Tensor:
        return _ops.mean(self, axis, keepdims)

    def max(self, axis=None, keepdims=False) -> Tensor:
        return _ops.max(self, axis, keepdims)

    def min(self, axis=None, keepdims=False) -> Tensor:
        return _ops.min(self, axis, keepdims)

    def var(self, axis=None, keepdims=False, ddof=0) -> Tensor:
        return _ops.var(self, axis, keepdims, ddof)

    def reshape(self, *shape) -> Tensor:
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _ops.reshape(self, shape)

    def transpose(self, *axes) -> Tensor:
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return _ops.transpose(self, axes or None)

    def permute(self, *axes) -> Tensor:
        return self.transpose(*axes)

    @property
    def T(self) -> Tensor:
        return _ops.transpose(self, None)


class Parameter(Tensor):
    """A Tensor that is a learnable weight of a Module. It requires a gradient unless it is frozen
    (``requires_grad = False``, e.g. by ``Module.freeze()``): then backward gives it none and the
    optimizers leave it alone."""

    __slots__ = ()

    def __init__(self, data, dtype=None) -> None:
        super().__init__(data, requires_grad=True, dtype=dtype)

    def __repr__(self) -> str:
        return "Parameter" + super().__repr__()[len("Tensor"):]


def _compare(ufunc, a, b) -> Tensor:
    """Element-wise comparison: a boolean Tensor, outside the graph (no gradient)."""
    a_data = a.data if isinstance(a, Tensor) else a
    b_data = b.data if isinstance(b, Tensor) else b
    out = object.__new__(Tensor)
    out.data = ufunc(a_data, b_data)
    out.grad, out.requires_grad, out._parents, out._backward, out._op = None, False, (), None, "compare"
    out._pending = None
    return out


def tensor(data, requires_grad: bool = False, dtype=None) -> Tensor:
    """Shorthand for ``Tensor(data, requires_grad, dtype)``."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def ensure_tensor(x, dtype=None) -> Tensor:
    """Return ``x`` if it is a Tensor, else wrap it as a constant (of ``dtype`` when given)."""
    if isinstance(x, Tensor):
        return x
    return Tensor(x, dtype=dtype)


# The ops import Tensor from this module, so they are bound here, once the class exists.
from . import ops as _ops  # noqa: E402
