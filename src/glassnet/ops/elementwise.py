"""Element-wise ops. Each forward is followed by its backward: ``backward(g)`` receives dL/dout
and returns dL/dinput for each input (broadcasting is undone by the engine, not here).

Example
-------
>>> import numpy as np
>>> from glassnet import Tensor, ops
>>> x = Tensor(np.array([0.0, 1.0, 2.0]), requires_grad=True)
>>> y = ops.mul(x, ops.exp(x))  # y = x e^x, so dy/dx = (1 + x) e^x
>>> y.sum().backward()
>>> bool(np.allclose(x.grad, (1 + x.data) * np.exp(x.data)))
True
"""

from __future__ import annotations

import numpy as np
from scipy import special

from .._checks import FLOAT_DTYPES, float_dtype
from ..tensor import Tensor


def _binary_operands(a, b):
    """Two Tensors of one dtype. A constant (number or array) takes the Tensor's dtype, so that
    float32 stays float32; two Tensors of different dtypes are an error, never a silent upcast."""
    a_is, b_is = isinstance(a, Tensor), isinstance(b, Tensor)
    if a_is and b_is:
        if a.data.dtype != b.data.dtype:
            raise TypeError(
                f"dtype mismatch: {a.data.dtype} and {b.data.dtype}; "
                "convert one with .astype() (glassnet never upcasts silently)"
            )
        return a, b
    if a_is:
        return a, _constant(b, a.data.dtype)
    if b_is:
        return _constant(a, b.data.dtype), b
    raise TypeError("at least one operand must be a Tensor")


def _constant(value, dtype) -> Tensor:
    array = np.asarray(value)
    if array.dtype != dtype and (array.dtype.kind in "biu" or array.dtype in FLOAT_DTYPES):
        array = array.astype(dtype)
    return Tensor(array)


def add(a, b) -> Tensor:
    a, b = _binary_operands(a, b)

    def backward(g):
        return g, g

    return Tensor._from_op(a.data + b.data, (a, b), backward, "add")


def sub(a, b) -> Tensor:
    a, b = _binary_operands(a, b)

    def backward(g):
        return g, (-g if b.requires_grad else None)

    return Tensor._from_op(a.data - b.data, (a, b), backward, "sub")


def mul(a, b) -> Tensor:
    a, b = _binary_operands(a, b)

    def backward(g):
        return (g * b.data if a.requires_grad else None), (g * a.data if b.requires_grad else None)

    return Tensor._from_op(a.data * b.data, (a, b), backward, "mul")


def div(a, b) -> Tensor:
    a, b = _binary_operands(a, b)
    out = a.data / b.data

    def backward(g):
        ga = g / b.data if a.requires_grad else None
        gb = -g * out / b.data if b.requires_grad else None  # d(a/b)/db = -a/b^2 = -out/b
        return ga, gb

    return Tensor._from_op(out, (a, b), backward, "div")


def neg(a: Tensor) -> Tensor:
    def backward(g):
        return -g

    return Tensor._from_op(-a.data, (a,), backward, "neg")


def power(a, b) -> Tensor:
    """a ** b. d/da = b a^(b-1), 0 where b = 0; d/db = a^b log a (only where a > 0)."""
    a, b = _binary_operands(a, b)
    out = a.data ** b.data

    def backward(g):
        ga = gb = None
        if a.requires_grad:
            # At a = 0, b = 0 the factor a^(b-1) is infinite, yet d(a^0)/da = 0 (PyTorch's rule).
            with np.errstate(divide="ignore", invalid="ignore"):
                ga = g * np.where(b.data == 0, 0, b.data * a.data ** (b.data - 1))
        if b.requires_grad:
            with np.errstate(divide="ignore", invalid="ignore"):
                log_a = np.where(a.data > 0, np.log(np.where(a.data > 0, a.data, 1)), 0)
            gb = g * out * log_a
        return ga, gb

    return Tensor._from_op(out, (a, b), backward, "pow")


def exp(a: Tensor) -> Tensor:
    out = np.exp(a.data)

    def backward(g):
        return g * out

    return Tensor._from_op(out, (a,), backward, "exp")


def log(a: Tensor) -> Tensor:
    out = np.log(a.data)

    def backward(g):
        return g / a.data

    return Tensor._from_op(out, (a,), backward, "log")


def log1p(a: Tensor) -> Tensor:
    """log(1 + a), accurate for small a."""

    def backward(g):
        return g / (1 + a.data)

    return Tensor._from_op(np.log1p(a.data), (a,), backward, "log1p")


def sqrt(a: Tensor) -> Tensor:
    out = np.sqrt(a.data)

    def backward(g):
        return g / (2 * out)

    return Tensor._from_op(out, (a,), backward, "sqrt")


def abs(a: Tensor) -> Tensor:  # noqa: A001 - NumPy's name
    """|a|; the gradient at 0 is 0 (sign(0) = 0), as in PyTorch."""

    def backward(g):
        return g * np.sign(a.data)

    return Tensor._from_op(np.abs(a.data), (a,), backward, "abs")


def maximum(a, b) -> Tensor:
    """Element-wise max. Where a == b the gradient is split evenly, as in PyTorch."""
    a, b = _binary_operands(a, b)
    return _select_op(a, b, np.maximum, np.greater, "maximum")


def minimum(a, b) -> Tensor:
    """Element-wise min. Where a == b the gradient is split evenly, as in PyTorch."""
    a, b = _binary_operands(a, b)
    return _select_op(a, b, np.minimum, np.less, "minimum")


def _select_op(a, b, pick, wins, name) -> Tensor:
    def backward(g):
        share = wins(a.data, b.data) + 0.5 * (a.data == b.data)  # 1 where a wins, 1/2 on ties
        share = share.astype(g.dtype, copy=False)
        ga = g * share if a.requires_grad else None
        gb = g * (1 - share) if b.requires_grad else None
        return ga, gb

    return Tensor._from_op(pick(a.data, b.data), (a, b), backward, name)


def where(condition, a, b) -> Tensor:
    """``a`` where ``condition`` is true, else ``b``. The gradient goes to the chosen input."""
    cond = np.asarray(condition.data if isinstance(condition, Tensor) else condition, dtype=bool)
    a, b = _binary_operands(a, b)

    def backward(g):
        ga = _select(cond, g, None) if a.requires_grad else None
        gb = _select(cond, None, g) if b.requires_grad else None
        return ga, gb

    return Tensor._from_op(_select(cond, a.data, b.data), (a, b), backward, "where")


# ---- two of NumPy's slow paths, avoided ------------------------------------------------------
# np.where branches on every element: a random condition mispredicts half of them (301,056
# float32: 1,100 us; a multiply takes 40). np.maximum against a scalar is not vectorized (115
# us; against an array, 55). Below _SMALL entries the extra calls cost more than they save.
_SMALL = 4096
_ZEROS_CHUNK = 65536
_ZEROS = {dtype: np.zeros(_ZEROS_CHUNK, dtype) for dtype in FLOAT_DTYPES}
for _block in _ZEROS.values():
    _block.flags.writeable = False
_BITS: dict = {np.dtype(np.float32): np.dtype(np.int32), np.dtype(np.float64): np.dtype(np.int64)}


def _select(cond: np.ndarray, a, b) -> np.ndarray:
    """``np.where(cond, a, b)`` for float arrays of one dtype (None: zeros), without a branch:
    the bits of (a AND m) OR (b AND NOT m), m all ones where cond holds. Bits are copied, so
    every value (-0.0, inf, NaN) is the one np.where picks: ~150 us for 301,056 float32."""
    present = [x for x in (a, b) if x is not None]
    dtype = present[0].dtype
    if (dtype not in _BITS or any(x.dtype != dtype or type(x) is not np.ndarray for x in present)
            or max(x.size for x in (cond, *present)) < _SMALL):
        return np.where(cond, 0 if a is None else a, 0 if b is None else b).astype(dtype, copy=False)
    bits = _BITS[dtype]
    mask = cond.astype(bits)
    np.negative(mask, out=mask)  # -1 (all bits set) where cond holds, else 0
    chosen = [] if a is None else [np.bitwise_and(a.view(bits), mask)]
    if b is not None:
        chosen.append(np.bitwise_and(b.view(bits), np.invert(mask, out=mask)))
    picked = chosen[0] if len(chosen) == 1 else np.bitwise_or(chosen[0], chosen[1])
    return picked.view(dtype)


def _positive_part(x: np.ndarray) -> np.ndarray:
    """``np.maximum(x, 0)`` against blocks of a zeros array rather than the scalar 0 (see above)."""
    zeros = _ZEROS.get(x.dtype)
    if zeros is None or x.size < _SMALL or not x.flags.c_contiguous or type(x) is not np.ndarray:
        return np.maximum(x, 0)
    out = np.empty_like(x)
    flat, out_flat = x.reshape(-1), out.reshape(-1)
    for start in range(0, x.size, _ZEROS_CHUNK):
        stop = min(x.size, start + _ZEROS_CHUNK)
        np.maximum(flat[start:stop], zeros[:stop - start], out=out_flat[start:stop])
    return out


def clip(a: Tensor, low=None, high=None) -> Tensor:
    """Clamp to [low, high]. The gradient passes where low <= a <= high (PyTorch's clamp)."""
    if low is None and high is None:
        raise ValueError("clip needs low or high (or both)")
    # Both bounds given: np.clip's own loop, ~3x faster than its one-sided minimum / maximum path.
    out = np.clip(a.data, -np.inf if low is None else low, np.inf if high is None else high)

    def backward(g):
        inside = np.ones(a.data.shape, dtype=bool)
        if low is not None:
            inside &= a.data >= low
        if high is not None:
            inside &= a.data <= high
        return g * inside

    return Tensor._from_op(out.astype(a.data.dtype, copy=False), (a,), backward, "clip")


def astype(a: Tensor, dtype) -> Tensor:
    dtype = float_dtype(dtype)
    source = a.data.dtype

    def backward(g):
        return g.astype(source)

    return Tensor._from_op(a.data.astype(dtype), (a,), backward, "astype")


# ---- activations that need their own numerics ---------------------------------------------
def tanh(a: Tensor) -> Tensor:
    """tanh(a); d/da = 1 - tanh(a)^2."""
    out = np.tanh(a.data)

    def backward(g):
        return g * (1 - out * out)

    return Tensor._from_op(out, (a,), backward, "tanh")


def sigmoid(a: Tensor) -> Tensor:
    """1 / (1 + e^-a); d/da = s (1 - s)."""
    out = _sigmoid_values(a.data)

    def backward(g):
        return g * out * (1 - out)

    return Tensor._from_op(out, (a,), backward, "sigmoid")


def _sigmoid_values(x: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-x), PyTorch's formula, in four passes. Below x = -88 (float32) e^-x
    overflows to inf and 1 / inf = 0, the right limit: that overflow is expected, not warned
    about. (Picking 1 / (1 + e^-|x|) or e^x / (1 + e^x) by the sign of x costs an np.where:
    14x the time.)"""
    out = np.negative(x, out=np.empty(x.shape, x.dtype))  # an array even when x is 0-d
    with np.errstate(over="ignore"):
        np.exp(out, out=out)
    out += 1
    return np.reciprocal(out, out=out)


def relu(a: Tensor) -> Tensor:
    """max(0, a); d/da = 1 where a > 0, else 0."""
    out = _positive_part(a.data)

    def backward(g):
        return g * (a.data > 0)

    return Tensor._from_op(out, (a,), backward, "relu")


def softplus(a: Tensor) -> Tensor:
    """log(1 + e^a) = max(a, 0) + log(1 + e^-|a|), which never overflows (np.logaddexp(0, a)
    computes the same, ~20x slower); d/da = sigmoid(a)."""
    out = _softplus_values(a.data)

    def backward(g):
        return g * _sigmoid_values(a.data)

    return Tensor._from_op(out, (a,), backward, "softplus")


def _softplus_values(x: np.ndarray) -> np.ndarray:
    """max(x, 0) + log1p(e^-|x|), in place in one new array."""
    out = np.abs(x, out=np.empty(x.shape, x.dtype))  # an array even when x is 0-d
    np.negative(out, out=out)
    np.exp(out, out=out)
    np.log1p(out, out=out)
    out += _positive_part(x)
    return out


def step(a: Tensor) -> Tensor:
    """The perceptron's step: 1 where a >= 0, else 0. Its derivative is 0 wherever it exists,
    so the gradient is 0 (a step network does not learn by backpropagation)."""
    out = (a.data >= 0).astype(a.data.dtype)

    def backward(g):
        return np.zeros_like(g)

    return Tensor._from_op(out, (a,), backward, "step")


def erf(a: Tensor) -> Tensor:
    """The error function; d/da = 2/sqrt(pi) e^(-a^2)."""

    def backward(g):
        return g * (2 / np.sqrt(np.pi)) * np.exp(-a.data * a.data)

    return Tensor._from_op(special.erf(a.data), (a,), backward, "erf")
