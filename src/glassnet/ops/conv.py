"""Convolution over any number of spatial axes (1-D signals, 2-D images, ...), and the window
helpers that pooling (``glassnet.ops.pooling``) and the transposed convolution share.

Layout: inputs are ``(N, C, *spatial)`` and convolution weights ``(out_channels, in_channels,
*kernel)``, as in PyTorch and ONNX. Every op works on a *window view*: a strided view of the
padded input, of shape ``(N, C, *out, *kernel)``, whose entry ``[n, c, i, j, ..., a, b, ...]`` is
the input value that kernel offset ``(a, b, ...)`` sees at output position ``(i, j, ...)``.
Building it copies nothing (``ops._views.strided``).

* ``conv`` copies the view once into a matrix with one ROW per (channel, kernel offset) and one
  COLUMN per output position ``(n, i)`` (``im2col``, shape ``(C * K, N * L)``), and computes every
  output with ONE matrix product ``W2 @ cols``. In this layout the copy's innermost run is a row
  of output positions (contiguous in the input when the stride is 1), not the k entries of one
  kernel row, and the product's output comes out channel-major, ``(O, N * L)``. With stride 1
  over 2+ axes the columns take the *wide* layout (``_grid``): one image's positions are read as
  one flat run of the padded image per kernel offset, a few unused columns between rows.
* Large work areas (the columns, the products, col2im's sums) are reused from step to step by
  ``buffer`` when nothing references them any more.
* The backward of each op loops over the kernel offsets only (k*k iterations for a k x k kernel,
  never over output positions): the gradient that offset ``(a, b)`` sends back lands on a strided
  slice of the padded input, which is added in place (``col2im``). No ``np.add.at``.
* ``glassnet.ops.conv_transpose`` is conv's adjoint, built from the same two pieces swapped: its
  forward is a matrix product and ``col2im``, its input gradient ``im2col`` and a product.

Output size along each spatial axis (PyTorch's formula, floor division):

    out = (size + 2 padding - dilation (kernel - 1) - 1) // stride + 1
"""

from __future__ import annotations

import math
import sys
from collections import OrderedDict

import numpy as np

from ..tensor import Tensor
from ._views import strided

__all__ = ["buffer", "col2im", "conv", "expand", "im2col", "output_size", "pool_arguments"]


# ---- helpers: arguments, sizes, padding, window views ---------------------------------------
def expand(value, d: int, name: str, minimum: int = 1) -> tuple:
    """``value`` (an int, or a sequence of d ints) as a tuple of d ints, each >= ``minimum``:
    ``expand(2, 2, "stride") == (2, 2)``. Raises TypeError or ValueError naming ``name``."""
    items = tuple(value) if isinstance(value, (tuple, list)) else (value,) * d
    if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in items):
        raise TypeError(f"{name} must be an int or a tuple of {d} ints, got {value!r}")
    if len(items) != d:  # the right type, the wrong number of axes
        raise ValueError(f"{name} must be an int or a tuple of {d} ints, got {len(items)} values {value!r}")
    if any(v < minimum for v in items):
        raise ValueError(f"{name} must be >= {minimum} on every axis, got {value!r}")
    return tuple(int(v) for v in items)


def pool_arguments(kernel_size, stride, padding, dilation, d: int, name: str) -> tuple:
    """Sizes as tuples; stride defaults to the kernel size. As in PyTorch, padding may be at
    most half the (dilated) kernel, so that no window lies entirely in the padding."""
    kernel = expand(kernel_size, d, "kernel_size")
    stride = kernel if stride is None else expand(stride, d, "stride")
    padding = expand(padding, d, "padding", 0)
    dilation = expand(dilation, d, "dilation")
    if any(2 * p > spacing * (k - 1) + 1 for p, k, spacing in zip(padding, kernel, dilation)):
        raise ValueError(f"{name}: padding {padding} must be at most half the kernel size "
                         f"{kernel} (dilation {dilation})")
    return kernel, stride, padding, dilation


def output_size(size: tuple, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple) -> tuple:
    """The output's spatial shape (see the module docstring), one entry per spatial axis."""
    return tuple((n + 2 * p - d * (k - 1) - 1) // s + 1
                 for n, k, s, p, d in zip(size, kernel, stride, padding, dilation))


def _pad(x: np.ndarray, padding: tuple, value: float = 0.0) -> np.ndarray:
    """x ``(N, C, *spatial)`` with ``padding[i]`` entries of ``value`` on both ends of spatial
    axis i (``np.pad`` is slow for small arrays: one allocation and one copy instead)."""
    if not any(padding):
        return x
    shape = x.shape[:2] + tuple(n + 2 * p for n, p in zip(x.shape[2:], padding))
    padded = np.full(shape, value, dtype=x.dtype) if value else np.zeros(shape, dtype=x.dtype)
    padded[_interior(x.shape, padding)] = x
    return padded


def _interior(shape: tuple, padding: tuple) -> tuple:
    """The index of the unpadded input inside the padded array."""
    return (slice(None), slice(None)) + tuple(slice(p, p + n) for n, p in zip(shape[2:], padding))


def _windows(padded: np.ndarray, kernel: tuple, stride: tuple, dilation: tuple, out: tuple) -> np.ndarray:
    """The read-only view ``(N, C, *out, *kernel)`` of ``padded`` ``(N, C, *spatial)``.

    Moving one output position along axis i moves ``stride[i]`` input entries; moving one kernel
    offset moves ``dilation[i]`` entries: the view's strides are the input's strides times those.
    """
    spatial_strides = padded.strides[2:]
    strides = (padded.strides[:2] + tuple(s * st for s, st in zip(spatial_strides, stride))
               + tuple(s * d for s, d in zip(spatial_strides, dilation)))
    return strided(padded, padded.shape[:2] + out + kernel, strides)


def _offset_slices(offset: tuple, stride: tuple, dilation: tuple, out: tuple) -> tuple:
    """The index of the padded-input entries that kernel offset ``offset`` sees, one per output
    position: along axis i, ``offset[i] * dilation[i] + stride[i] * j`` for j < out[i]."""
    return (slice(None), slice(None)) + tuple(
        slice(o * d, o * d + s * (n - 1) + 1, s) for o, s, d, n in zip(offset, stride, dilation, out)
    )


def _check_sizes(op: str, x_shape: tuple, kernel: tuple, stride: tuple, padding: tuple,
                 dilation: tuple) -> tuple:
    """The output's spatial shape, or a ValueError if a window does not fit in the input."""
    if len(x_shape) != len(kernel) + 2:
        raise ValueError(f"{op}: a {len(kernel)}-d kernel {kernel} needs an input of "
                         f"{len(kernel) + 2} dimensions (N, C, *spatial), got shape {x_shape}")
    out = output_size(x_shape[2:], kernel, stride, padding, dilation)
    if any(n < 1 for n in out):
        raise ValueError(
            f"{op}: the input's spatial size {x_shape[2:]} with padding {padding} is too small for "
            f"kernel {kernel} with dilation {dilation} (output size would be {out})"
        )
    return out


def _gather_offsets(grads, padded_shape, dtype, kernel, stride, dilation, out, padding, x_shape):
    """The input gradient from per-offset contributions: ``grads(k, offset)`` returns the
    gradient ``(N, C, *out)`` that kernel offset number k sends to the entries it saw; they are
    added onto strided slices of a zero padded array, whose interior is the input gradient."""
    padded_grad = np.zeros(padded_shape, dtype=dtype)
    for k, offset in enumerate(np.ndindex(*kernel)):
        padded_grad[_offset_slices(offset, stride, dilation, out)] += grads(k, offset)
    if any(padding):
        return padded_grad[_interior(x_shape, padding)]
    return padded_grad


def im2col(padded: np.ndarray, kernel: tuple, stride: tuple, dilation: tuple, out: tuple) -> np.ndarray:
    """The windows of ``padded`` ``(N, C, *spatial)`` as a matrix ``(C * prod(kernel), N *
    prod(out))``: one row per (channel, kernel offset), holding what that offset sees at every
    output position ``(n, i)``. The transpose of the window view (N, C, *out, *kernel) -> (C,
    *kernel, N, *out) is free; the reshape is the one copy, whose inner run is a row of ``out``
    (a row of positions, rather than the few entries of one kernel row: ~3-5x faster here)."""
    n, channels = padded.shape[:2]
    return _column_view(padded, kernel, stride, dilation, out).reshape(channels * math.prod(kernel),
                                                                       n * math.prod(out))


def _column_view(padded: np.ndarray, kernel: tuple, stride: tuple, dilation: tuple, out: tuple) -> np.ndarray:
    """The window view transposed to the columns' order, ``(C, *kernel, N, *out)`` (no copy)."""
    d = len(kernel)
    spatial, kernel_axes = tuple(range(2, 2 + d)), tuple(range(2 + d, 2 + 2 * d))
    return _windows(padded, kernel, stride, dilation, out).transpose((1,) + kernel_axes + (0,) + spatial)


def col2im(cols: np.ndarray, padded_shape: tuple, kernel: tuple, stride: tuple, dilation: tuple,
           out: tuple, padding: tuple, x_shape: tuple) -> np.ndarray:
    """The adjoint of :func:`im2col` followed by the crop of the padding: every entry of the
    matrix ``cols`` ``(C * prod(kernel), N * prod(out))`` is added onto the input entry its
    window position saw, and the interior ``x_shape`` of the padded sum is returned (a view).

    The row block of kernel offset a, viewed as ``(N, C, *out)``, lands on one strided slice
    of the padded array, so the loop runs over the K kernel offsets, never over positions."""
    n, channels = padded_shape[:2]
    # (C, *kernel, N, *out); offset a's block (C, N, *out) swapped to (N, C, *out), a free view.
    blocks = cols.reshape((channels,) + kernel + (n,) + out)
    return _gather_offsets(lambda k, offset: blocks[(slice(None),) + offset].swapaxes(0, 1),
                           padded_shape, cols.dtype, kernel, stride, dilation, out, padding, x_shape)


_BUFFERS: OrderedDict = OrderedDict()  # (use, shape, dtype) -> the array last handed out
_MAX_BUFFERS = 32


def _unheld_references() -> int:
    """What ``sys.getrefcount`` reports for a cached array nobody else holds, measured the way
    :func:`buffer` looks (the cache's reference, a local name, the call's argument) rather than
    assumed: interpreters differ in how many of those they count."""
    cache = {"probe": np.empty(1)}
    array = cache.get("probe")
    return sys.getrefcount(array)


_UNHELD = _unheld_references()


def buffer(use: tuple, shape: tuple, dtype, zero: bool = False) -> np.ndarray:
    """A C-contiguous ``shape`` array for the work area ``use``: the one handed out for the same
    (use, shape, dtype) last time when nothing else references it any more, else a new one.

    Reusing a work area saves its allocation and, for the large ones (im2col's columns), the
    page faults of first touching fresh memory: up to a third of a LeNet step under load. Safety
    is the reference count: a graph's closure (e.g. ``retain_graph``), a view (its ``base``), a
    ``.grad`` or a caller still holding the array keeps it out of reuse, so a live array is never
    overwritten. (Not thread-safe: one training loop per process, as for the graph itself.)
    ``zero``: filled with zeros, whether new or reused."""
    key = (use, shape, np.dtype(dtype))
    array = _BUFFERS.get(key)
    # More references than the cache's, ``array`` here and the call's own: someone holds it.
    if array is None or sys.getrefcount(array) > _UNHELD:
        array = np.zeros(shape, dtype=dtype) if zero else np.empty(shape, dtype=dtype)
        _BUFFERS[key] = array
        if len(_BUFFERS) > _MAX_BUFFERS:
            _BUFFERS.popitem(last=False)
    elif zero:
        array.fill(0)
    _BUFFERS.move_to_end(key)
    return array


def _grid(out: tuple, padded_shape: tuple, stride: tuple) -> tuple:
    """How one image's output positions lie along the columns of the column matrix: their count
    P per image and the step, in columns, of one position along each spatial axis.

    With stride 1 on 2+ spatial axes the positions take the *wide* layout: position ``i`` is
    column ``i . s`` with s the padded input's element strides, the columns between rows being
    unused. Kernel offset a then reads the padded image shifted by ``a . s``: one contiguous run
    per (channel, image), where the plain layout (s: ``out``'s own strides, P = prod(out)) copies
    short rows of ``out`` one by one (col2im's adds: ~10x faster for LeNet's 10x10 outputs)."""
    if len(out) >= 2 and all(step == 1 for step in stride):
        steps = tuple(math.prod(padded_shape[3 + i:]) for i in range(len(out)))
        return sum((o - 1) * step for o, step in zip(out, steps)) + 1, steps
    return math.prod(out), tuple(math.prod(out[i + 1:]) for i in range(len(out)))


def _grid_view(a2: np.ndarray, n: int, out: tuple, per_image: int, steps: tuple) -> np.ndarray:
    """The ``(rows, N, *out)`` view of the output positions in a C-contiguous ``(rows, N * P)``."""
    item = a2.itemsize
    return strided(a2, (a2.shape[0], n) + out,
                   (a2.strides[0], per_image * item) + tuple(step * item for step in steps), writeable=True)


def _wide_im2col(padded: np.ndarray, kernel: tuple, dilation: tuple, per_image: int,
                 steps: tuple, out: np.ndarray) -> np.ndarray:
    """:func:`im2col` in the wide layout (stride 1): ``(C * K, N * P)``, where row (c, a) holds
    image n's run ``padded[n, c].flat[a . s : a . s + P]`` (``padded`` C-contiguous), copied
    into ``out``."""
    n, channels = padded.shape[:2]
    item = padded.itemsize
    view = strided(padded, (channels,) + kernel + (n, per_image),
                   (padded.strides[1],) + tuple(dl * st * item for dl, st in zip(dilation, steps))
                   + (padded.strides[0], item))
    np.copyto(_into(out, view.shape), view)
    return out


def _wide_col2im(cols: np.ndarray, padded_shape: tuple, kernel: tuple, dilation: tuple,
                 per_image: int, steps: tuple, padding: tuple, x_shape: tuple) -> np.ndarray:
    """The adjoint of :func:`_wide_im2col` and the crop of the padding: offset a's rows add onto
    the padded images' flat runs starting at ``a . s``, one contiguous add per offset."""
    n, channels = padded_shape[:2]
    # Summed channel-major, (C, N, *padded) in the order of the rows' blocks (C, N, P): each
    # add walks both arrays in the same order (~1.8x faster than adding into (N, C, ...)).
    flat = buffer(("col2im",), (channels, n, math.prod(padded_shape[2:])), cols.dtype, zero=True)
    blocks = cols.reshape((channels,) + kernel + (n, per_image))
    for offset in np.ndindex(*kernel):
        shift = sum(a * dl * st for a, dl, st in zip(offset, dilation, steps))
        flat[:, :, shift:shift + per_image] += blocks[(slice(None),) + offset]
    padded_grad = flat.reshape((channels, n) + padded_shape[2:]).swapaxes(0, 1)  # a view
    return padded_grad[_interior(x_shape, padding)] if any(padding) else padded_grad


# A convolution's column matrix (C * K, N * P) is written by im2col and read back by each product;
# whole, it outgrows the core's L2 cache (LeNet: 5.7 MB and 5.2 MB; L2 0.5-2 MB). Made a few
# images at a time (_BLOCK_BYTES of columns), each block is still in cache when its product reads
# it. Two ways, by the number of rows (C * K):
# * few rows (<= _BLOCK_ROWS; LeNet's first layer: 25): memory-bound products, so the backward's
#   products run block by block too, each block's columns made again (cheap, into cache) into one
#   small work area: ~3x faster products for that layer;
# * more rows (LeNet's second layer: 150): compute-bound products, and small blocks would slow the
#   backward's (~1.2x measured). The forward's blocks are written into one whole matrix, kept for
#   the backward's unblocked products: LeNet's second layer forward ~1,140 -> ~1,000 us.
_BLOCK_BYTES = 512 * 1024
_BLOCK_ROWS = 64


def image_blocks(n: int, rows: int, bytes_per_image: int) -> list:
    """``[(start, stop), ...]``: the batch cut into runs of images whose im2col columns take
    about ``_BLOCK_BYTES`` each; one run when all of them take less than four blocks (then they
    nearly fit in cache as they are). ``rows`` (the column matrix's rows) does not change the
    blocks; it decides, in :func:`conv`, where they go (see above)."""
    blocked = n * bytes_per_image > 4 * _BLOCK_BYTES
    size = max(1, _BLOCK_BYTES // max(1, bytes_per_image) if blocked else n)
    return [(start, min(n, start + size)) for start in range(0, n, size)] or [(0, 0)]  # n = 0: one empty run


def _into(out: np.ndarray, shape: tuple) -> np.ndarray:
    """``out`` seen with ``shape``, never a copy (which would lose what is written into it)."""
    view = out.view()
    view.shape = shape
    return view


class _Columns:
    """The im2col geometry of one convolution: its padded input, where each image's output
    positions lie along the columns (:func:`_grid`: plain or wide layout), and the two copies
    between the padded input and a block of images' columns."""

    def __init__(self, padded, kernel, stride, padding, dilation, out) -> None:
        self.padded, self.padded_shape = padded, padded.shape
        self.kernel, self.stride, self.padding, self.dilation, self.out = kernel, stride, padding, dilation, out
        self.per_image, self.steps = _grid(out, padded.shape, stride)
        self.wide = self.per_image != math.prod(out)

    def columns(self, start: int, stop: int, out: np.ndarray | None = None) -> np.ndarray:
        """im2col of images start..stop-1: ``(C * K, (stop - start) * P)``, written into ``out``
        (e.g. a block of columns of a larger matrix) when given."""
        block = self.padded[start:stop]
        if self.wide:
            if out is None:
                rows = self.padded_shape[1] * math.prod(self.kernel)
                out = buffer(("cols",), (rows, (stop - start) * self.per_image), block.dtype)
            return _wide_im2col(block, self.kernel, self.dilation, self.per_image, self.steps, out)
        if out is None:
            return im2col(block, self.kernel, self.stride, self.dilation, self.out)
        view = _column_view(block, self.kernel, self.stride, self.dilation, self.out)
        np.copyto(_into(out, view.shape), view)
        return out

    def col2im(self, dcols: np.ndarray, start: int, stop: int, x_shape: tuple) -> np.ndarray:
        """The input gradient ``(stop - start, C, *spatial)`` of images start..stop-1 from the
        gradient of their columns (a view of a work area)."""
        block_shape = (stop - start,) + self.padded_shape[1:]
        x_block = (stop - start,) + x_shape[1:]
        if self.wide:
            return _wide_col2im(dcols, block_shape, self.kernel, self.dilation, self.per_image, self.steps,
                                self.padding, x_block)
        return col2im(dcols, block_shape, self.kernel, self.stride, self.dilation, self.out, self.padding, x_block)

    def view(self, a2: np.ndarray, n: int) -> np.ndarray:
        """The ``(rows, N, *out)`` view of the output positions in a ``(rows, N * P)`` array."""
        return _grid_view(a2, n, self.out, self.per_image, self.steps)


# ---- convolution ----------------------------------------------------------------------------
def conv(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride: tuple = (1,),
         padding: tuple = (0,), dilation: tuple = (1,)) -> Tensor:
    """Cross-correlation (what deep learning calls convolution) over d spatial axes:

        y[n, o, i] = b[o] + sum over c, a of  w[o, c, a] * x_padded[n, c, stride * i + dilation * a]

    (i and a are d-dimensional indices). Computed as one matrix product: the flattened weight
    W2 ``(O, C * prod(kernel))`` times the im2col matrix ``cols`` ``(C * prod(kernel), N *
    prod(out))``.

    Backward, with G the upstream gradient arranged like the product's output ``(O, N*L)``:
    dW2 = G @ cols^T (one product), db = row sums of G, and d cols = W2^T @ G, whose row for
    each kernel offset is added back onto the input entries that offset saw.

    ``stride``, ``padding`` and ``dilation`` are tuples with one int per spatial axis (the layers
    and ``glassnet.functional`` expand plain ints).

    Shapes: x ``(N, C, *spatial)``, weight ``(O, C, *kernel)``, bias ``(O,)`` ->
    ``(N, O, *out)``.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> x = gn.Tensor(np.arange(5.0).reshape(1, 1, 5))
    >>> w = gn.Tensor(np.array([[[1.0, 0.0, -1.0]]]))
    >>> gn.ops.conv(x, w).numpy()
    array([[[-2., -2., -2.]]])
    """
    check_operands("conv", x, weight, bias, "(O, C, *kernel)", 1, stride=stride, padding=padding,
                   dilation=dilation)
    kernel = weight.shape[2:]
    n, channels = x.shape[:2]
    out_channels = weight.shape[0]
    out = _check_sizes("conv", x.shape, kernel, stride, padding, dilation)
    row_size = channels * math.prod(kernel)

    grid = _Columns(np.ascontiguousarray(_pad(x.data, padding)), kernel, stride, padding, dilation, out)
    per_image = grid.per_image
    blocks = image_blocks(n, row_size, row_size * per_image * x.dtype.itemsize)
    w2 = weight.data.reshape(out_channels, row_size)
    # (O, N * P): one product per block of images, into a reused work area (y is a copy)
    y2 = buffer(("y2",), (out_channels, n * per_image), x.dtype)
    # Many rows (see _BLOCK_ROWS): the blocks' columns go into one matrix, kept for the backward.
    whole = None if len(blocks) == 1 or row_size <= _BLOCK_ROWS else buffer(("kept",), (row_size, y2.shape[1]), x.dtype)
    for start, stop in blocks:
        cols = grid.columns(start, stop, None if whole is None else whole[:, start * per_image:stop * per_image])
        np.matmul(w2, cols, out=y2[:, start * per_image:stop * per_image])
    # Kept: one block's columns or the whole matrix (the backward: one block), or none (it remakes each block's).
    kept = cols if len(blocks) == 1 else whole
    blocks, grid.padded = (blocks, grid.padded) if kept is None else ([(0, n)], None)
    if bias is not None:
        y2 += bias.data[:, None]
    # (O, N, *out) -> (N, O, *out): a copy whose inner runs are whole rows of positions.
    y = np.ascontiguousarray(grid.view(y2, n).swapaxes(0, 1))

    def backward(g):
        # g in y2's layout (O, N * P); the wide layout's unused columns must be 0.
        g2 = buffer(("g2",), (out_channels, n * per_image), g.dtype, zero=grid.wide)
        grid.view(g2, n)[...] = g.swapaxes(0, 1)
        gb = np.einsum("ij->i", g2) if bias is not None and bias.requires_grad else None  # ~3x g2.sum(axis=1)
        gw_t = np.zeros((row_size, out_channels), g.dtype) if weight.requires_grad else None
        gx = np.empty(x.shape, g.dtype) if x.requires_grad and len(blocks) > 1 else None
        for start, stop in blocks:
            g_block = g2[:, start * per_image:stop * per_image]
            if gw_t is not None:
                # cols @ g^T, transposed after: OpenBLAS runs this long-inner-dimension product
                # ~1.6x faster with the wide operand on the left than as g @ cols^T.
                gw_t += (grid.columns(start, stop) if kept is None else kept) @ g_block.T
            if x.requires_grad:
                dcols = np.matmul(w2.T, g_block, out=buffer(("dcols",), (row_size, g_block.shape[1]), g.dtype))
                block_gx = grid.col2im(dcols, start, stop, x.shape)
                if gx is None:
                    gx = block_gx  # one block: the view of the summed gradient itself
                else:
                    gx[start:stop] = block_gx
        gw = None if gw_t is None else gw_t.T.reshape(weight.shape)
        return (gx, gw) if bias is None else (gx, gw, gb)

    parents = (x, weight) if bias is None else (x, weight, bias)
    return Tensor._from_op(y, parents, backward, "conv")


def check_operands(op: str, x, weight, bias, layout: str, in_axis: int, **sizes: tuple) -> None:
    """PyTorch's checks of a convolution's operands, as ValueError/TypeError naming ``op``.

    ``layout`` names the weight's axes for the messages; ``in_axis`` is the weight axis that
    must match the input's channels (1 for conv's ``(O, C, *kernel)``, 0 for the transposed
    convolution's ``(in_channels, out_channels, *kernel)``; the other one is the bias's length);
    ``sizes``: stride, padding, ... each a tuple with one entry per spatial axis."""
    d = weight.ndim - 2
    if d < 1:
        raise ValueError(f"{op}: the weight must have shape {layout}, got {weight.shape}")
    if 0 in weight.shape:  # an empty kernel would give outputs of the bias alone (PyTorch refuses it)
        raise ValueError(f"{op}: the weight {layout} needs at least 1 entry on every axis, "
                         f"got shape {weight.shape}")
    if x.ndim != weight.ndim:
        raise ValueError(f"{op}: weight {weight.shape} needs an input of {weight.ndim} dimensions "
                         f"(N, C, *spatial), got shape {x.shape}")
    if x.shape[1] != weight.shape[in_axis]:
        raise ValueError(f"{op}: weight {weight.shape} {layout} needs {weight.shape[in_axis]} input "
                         f"channels on axis 1, got {x.shape[1]} (input shape {x.shape})")
    if x.dtype != weight.dtype or (bias is not None and bias.dtype != weight.dtype):
        raise TypeError(f"{op}: input dtype {x.dtype} differs from weight dtype {weight.dtype}"
                        + ("" if bias is None else f" or bias dtype {bias.dtype}"))
    out_channels = weight.shape[1 - in_axis]
    if bias is not None and bias.shape != (out_channels,):
        raise ValueError(f"{op}: bias must have shape {(out_channels,)}, got {bias.shape}")
    for name, value in sizes.items():
        if len(value) != d:
            raise ValueError(f"{op}: {name} needs {d} entries (one per spatial axis), got {value}")
