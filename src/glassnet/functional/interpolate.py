"""Upsampling and downsampling by interpolation: ``interpolate`` (PyTorch's name), nearest on
(N, C, L) and (N, C, H, W), linear on (N, C, L), bilinear on (N, C, H, W), with PyTorch's
``align_corners=False`` arithmetic. The primitive (a gather along one axis, with its
scatter-add backward) is ``glassnet.ops.interpolate_axis``; this module computes which input
entries each output reads, exactly as PyTorch's CPU kernels do."""

from __future__ import annotations

import math
import numbers

import numpy as np

from .. import ops
from .._checks import one_of
from ..tensor import Tensor, ensure_tensor

__all__ = ["SHORTCUT_LIMIT", "interpolate", "linear_source", "nearest_source"]

MODES = {"nearest": (1, 2), "linear": (1,), "bilinear": (2,)}  # mode -> the spatial ranks it takes
SHORTCUT_LIMIT = 128  # output height + width up to which PyTorch's 2-D nearest takes shortcuts


def nearest_source(n_in: int, n_out: int, scale_factor: float | None, dtype, shortcuts: bool) -> np.ndarray:
    """The input index each of ``n_out`` outputs copies (PyTorch's legacy "nearest"):

        index[j] = min(floor(j * scale), n_in - 1),   scale = 1 / scale_factor, or n_in / n_out

    ``scale_factor`` given (not None): its inverse is the scale, as PyTorch uses it. The product
    is rounded to float32 before the floor, as PyTorch's ``floorf`` does; the scale is in
    ``dtype`` (PyTorch's 1-D kernel: the input's; its 2-D kernel: float32, whatever the input).
    ``shortcuts``: PyTorch's 2-D kernel on small images (the two output sizes adding up to at
    most ``SHORTCUT_LIMIT`` = 128) copies an axis whose size does not change and halves indices
    (j // 2) when the size doubles, whatever the scale factor; on larger images, and in 1-D, it
    does not (``interpolate(x, scale_factor=1.2)`` on 3 entries reads 0, 0, 1). Two PyTorch
    quirks stay out: its backward (1-D and 2-D, at every size) takes the shortcuts its forward
    does not, and for float64 1-D
    it uses a float32 scale where its forward uses a float64 one (81 / 2.7 reads entry 30, its
    gradient goes to 29); glassnet's gradient is always the gradient of the output it returned.

    Example
    -------
    >>> from glassnet.functional.interpolate import nearest_source
    >>> nearest_source(3, 7, None, "float64", shortcuts=False)
    array([0, 0, 0, 1, 1, 2, 2])
    """
    if shortcuts and n_out == n_in:
        return np.arange(n_out)
    if shortcuts and n_out == 2 * n_in:
        return np.arange(n_out) // 2
    work = np.dtype(np.float32 if shortcuts else dtype).type  # shortcuts: the 2-D kernel, float scale
    scale = work(1.0 / scale_factor) if scale_factor is not None else work(n_in) / work(n_out)
    position = (np.arange(n_out, dtype=work) * scale).astype(np.float32)
    return np.minimum(np.floor(position).astype(np.int64), n_in - 1)


def linear_source(n_in: int, n_out: int, scale_factor: float | None, dtype) -> tuple:
    """``(index0, index1, lam)``: output j mixes input entries index0[j] and index1[j] with
    weights 1 - lam[j] and lam[j] (PyTorch's ``align_corners=False``). Each output is the
    centre of a cell of the output grid, mapped back onto the input grid:

        position = max(scale (j + 0.5) - 0.5, 0),   scale = 1 / scale_factor, or n_in / n_out
        index0 = min(floor(position), n_in - 1),  index1 = index0 + 1 (n_in - 1 at the end),
        lam = position - index0, clipped to [0, 1]

    with the scale in the input's dtype and the position computed in float64, then rounded to
    the input's dtype, as PyTorch does. An axis whose size does not change is copied.

    Example
    -------
    >>> from glassnet.functional.interpolate import linear_source
    >>> index0, index1, lam = linear_source(2, 4, None, "float64")
    >>> index0, index1, lam
    (array([0, 0, 0, 1]), array([1, 1, 1, 1]), array([0.  , 0.25, 0.75, 0.25]))
    """
    kind = np.dtype(dtype).type
    if n_out == n_in:
        index = np.arange(n_in)
        return index, index, np.zeros(n_in, dtype=dtype)
    scale = kind(1.0 / scale_factor) if scale_factor is not None else kind(n_in) / kind(n_out)
    # PyTorch's j + 0.5 is a double, so the product is too: rounded to the dtype only at the end.
    position = np.maximum(np.float64(scale) * (np.arange(n_out) + 0.5) - 0.5, 0).astype(dtype)
    index0 = np.minimum(np.floor(position.astype(np.float32)).astype(np.int64), n_in - 1)
    lam = np.clip(position - index0.astype(dtype), 0, 1).astype(dtype)
    index1 = index0 + (index0 < n_in - 1)
    return index0, index1, lam


def interpolate(x, size=None, scale_factor=None, mode: str = "nearest", align_corners=None) -> Tensor:
    """Resize the spatial axes of ``x`` to ``size``, or by ``scale_factor`` (exactly one of the
    two), as ``torch.nn.functional.interpolate`` does with ``align_corners=False``:

    - ``"nearest"`` (N, C, L) or (N, C, H, W): each output copies input entry
      floor(j / scale_factor) (see :func:`nearest_source`);
    - ``"linear"`` (N, C, L), ``"bilinear"`` (N, C, H, W): each output mixes the two input
      entries around the position its cell centre maps to (see :func:`linear_source`); bilinear
      is linear along W, then along H.

    Output size per axis: ``size``, or floor(n * scale_factor); the given scale factor (not the
    ratio of the sizes) is the one the positions use, as in PyTorch. The gradient of each output
    flows back to the entries it read, with the same weights.

    Shapes: x ``(N, C, L)`` or ``(N, C, H, W)`` -> ``(N, C, *size)``. ``size``: an int or a tuple
    of ints (one per spatial axis); ``scale_factor``: a positive number or a tuple.
    ``align_corners``: None or False (the only arithmetic implemented).

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> from glassnet import functional as F
    >>> x = gn.Tensor(np.array([[[0.0, 10.0]]]))
    >>> F.interpolate(x, scale_factor=2).numpy()
    array([[[ 0.,  0., 10., 10.]]])
    >>> F.interpolate(x, scale_factor=2, mode="linear").numpy()
    array([[[ 0. ,  2.5,  7.5, 10. ]]])
    """
    x = ensure_tensor(x)
    mode = one_of(mode, "mode", tuple(MODES))
    d = x.ndim - 2
    if d not in MODES[mode]:
        wanted = " or ".join(f"{r + 2}-D {('(N, C, L)', '(N, C, H, W)')[r - 1]}" for r in MODES[mode])
        raise ValueError(f"interpolate: mode {mode!r} needs a {wanted} input, got shape {x.shape}")
    if align_corners is not None and (mode == "nearest" or align_corners is not False):
        raise ValueError(f"interpolate: align_corners must be None (or False for linear modes), got "
                         f"{align_corners!r}; only PyTorch's align_corners=False arithmetic is implemented")
    if not all(x.shape[2:]):
        raise ValueError(f"interpolate: every spatial axis of the input needs at least 1 entry, got shape {x.shape}")
    sizes, factors = resize_arguments(size, scale_factor, x.shape[2:])
    # Last axis first: PyTorch's bilinear is linear along W inside linear along H.
    for axis in reversed(range(d)):
        n_in, n_out, factor = x.shape[2 + axis], sizes[axis], factors[axis]
        if mode == "nearest":
            shortcuts = d == 2 and sum(sizes) <= SHORTCUT_LIMIT  # as PyTorch's 2-D kernel does
            source = nearest_source(n_in, n_out, factor, np.float32 if d == 2 else x.dtype, shortcuts)
            x = ops.interpolate_axis(x, 2 + axis, source)
        else:
            x = ops.interpolate_axis(x, 2 + axis, *linear_source(n_in, n_out, factor, x.dtype))
    return x


def resize_arguments(size, scale_factor, spatial: tuple) -> tuple:
    """``(sizes, factors)``, one entry per spatial axis (factors None when ``size`` is given),
    after :func:`check_resize` and the checks that no output axis is empty or beyond indexing."""
    sizes, factors = check_resize(size, scale_factor, len(spatial))
    given = sizes if sizes is not None else tuple(n * f for n, f in zip(spatial, factors))
    if not all(n < np.iinfo(np.intp).max for n in given):  # inf included: no index reaches it
        raise ValueError(f"interpolate: size {size!r} / scale_factor {scale_factor!r} on spatial size "
                         f"{spatial} asks for more output entries than an array can index")
    if sizes is not None:
        return sizes, (None,) * len(spatial)
    sizes = tuple(math.floor(n * f) for n, f in zip(spatial, factors))  # PyTorch: int(n * f)
    if any(n < 1 for n in sizes):
        raise ValueError(f"interpolate: scale_factor {scale_factor!r} on spatial size {spatial} gives "
                         f"output size {sizes}: every axis needs at least 1 entry")
    return sizes, factors


def check_resize(size, scale_factor, d: int) -> tuple:
    """``(sizes, None)`` or ``(None, factors)`` as tuples of d entries, after PyTorch's checks:
    exactly one of the two, ints / real numbers, positive and finite, one per spatial axis."""
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor, got "
                         + ("neither" if size is None else f"both (size={size!r}, scale_factor={scale_factor!r})"))
    if size is not None:
        sizes = _per_axis(size, d, "size")
        if not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in sizes):
            raise TypeError(f"interpolate: size must be an int or a tuple of {d} ints, got {size!r}")
        if any(n < 1 for n in sizes):
            raise ValueError(f"interpolate: size must be positive on every axis, got {size!r}")
        return tuple(int(n) for n in sizes), None
    factors = _per_axis(scale_factor, d, "scale_factor")
    if not all(isinstance(f, numbers.Real) and not isinstance(f, bool) for f in factors):
        raise TypeError(f"interpolate: scale_factor must be a number or a tuple of {d} numbers, "
                        f"got {scale_factor!r}")
    if not all(math.isfinite(f) and f > 0 for f in factors):
        raise ValueError(f"interpolate: scale_factor must be positive and finite, got {scale_factor!r}")
    return None, tuple(float(f) for f in factors)


def _per_axis(value, d: int, name: str) -> tuple:
    if isinstance(value, (tuple, list)):
        if len(value) != d:
            raise ValueError(f"interpolate: {name} needs one entry per spatial axis ({d}), got {value!r}")
        return tuple(value)
    return (value,) * d

