"""Activations and other compositions of the ops. Nothing here has a backward of its own: where
an activation needs its own numerics (sigmoid, softmax, softplus) the primitive lives in
``glassnet.ops`` with its backward beside it, and this module names it.

Every function takes a Tensor of any shape ``(*)`` and returns one of the same shape, unless
noted. Each is safe for any finite input: no overflow warnings, no NaN at +-1e4.

Example
-------
>>> import numpy as np, glassnet as gn
>>> from glassnet import functional as F
>>> F.relu(gn.Tensor(np.array([-1.0, 2.0]))).numpy()
array([0., 2.])
"""

from __future__ import annotations

import math

import numpy as np

from . import ops
from .ops.conv import expand, pool_arguments
from .random import get_rng
from .tensor import Tensor, ensure_tensor


def step(x) -> Tensor:
    """The perceptron's step: phi(z) = 1 if z >= 0 else 0.

    Derivative: 0 wherever it exists (undefined at 0), so no gradient flows through it.
    """
    return ops.step(ensure_tensor(x))


def sigmoid(x) -> Tensor:
    """phi(z) = 1 / (1 + e^-z), in (0, 1).

    Derivative: phi'(z) = phi(z) (1 - phi(z)), at most 1/4 (the vanishing gradient).
    """
    return ops.sigmoid(ensure_tensor(x))


def tanh(x) -> Tensor:
    """phi(z) = tanh(z) = (e^z - e^-z) / (e^z + e^-z), in (-1, 1), zero-centred.

    Derivative: phi'(z) = 1 - tanh(z)^2.
    """
    return ops.tanh(ensure_tensor(x))


def relu(x) -> Tensor:
    """phi(z) = max(0, z).

    Derivative: 1 for z > 0, 0 for z < 0 (and 0 at z = 0, as in PyTorch).
    """
    return ops.relu(ensure_tensor(x))


def leaky_relu(x, alpha: float = 0.01) -> Tensor:
    """phi(z) = z if z >= 0 else alpha z (alpha small, typically 0.01).

    Derivative: 1 for z > 0, alpha for z <= 0 (the gradient never dies).
    """
    x = ensure_tensor(x)
    return ops.where(x.data > 0, x, x * alpha)


def elu(x, alpha: float = 1.0) -> Tensor:
    """phi(z) = z if z > 0 else alpha (e^z - 1).

    Derivative: 1 for z > 0, alpha e^z for z <= 0. The exponential is taken of min(z, 0) so
    that large positive z cannot overflow in the branch that is thrown away.
    (The gradient at exactly 0 is alpha, as in PyTorch.)
    """
    x = ensure_tensor(x)
    negative = ops.exp(ops.clip(x, high=0.0)) - 1.0
    return ops.where(x.data > 0, x, negative * alpha)


def softmax(x, axis: int = -1) -> Tensor:
    """phi(z)_i = e^(z_i) / sum_j e^(z_j) along ``axis``: probabilities that sum to 1.

    Derivative: d phi_i / d z_j = phi_i (delta_ij - phi_j).
    """
    return ops.softmax(ensure_tensor(x), axis)


def log_softmax(x, axis: int = -1) -> Tensor:
    """log phi(z)_i = z_i - log sum_j e^(z_j), computed with the max subtracted (no overflow).

    Derivative: d/dz_j log phi_i = delta_ij - phi_j.
    """
    return ops.log_softmax(ensure_tensor(x), axis)


def softplus(x) -> Tensor:
    """phi(z) = log(1 + e^z), a smooth ReLU.

    Derivative: phi'(z) = sigmoid(z).
    """
    return ops.softplus(ensure_tensor(x))


def silu(x) -> Tensor:
    """SiLU (swish): phi(z) = z sigmoid(z).

    Derivative: phi'(z) = sigmoid(z) (1 + z (1 - sigmoid(z))).
    """
    x = ensure_tensor(x)
    return x * ops.sigmoid(x)


def gelu(x) -> Tensor:
    """GELU, exact form: phi(z) = z Phi(z) = z (1 + erf(z / sqrt 2)) / 2, Phi the normal CDF.

    Derivative: phi'(z) = Phi(z) + z e^(-z^2/2) / sqrt(2 pi).
    """
    x = ensure_tensor(x)
    return x * ((ops.erf(x * (1.0 / math.sqrt(2.0))) + 1.0) * 0.5)


def linear(x, weight, bias=None) -> Tensor:
    """z = x @ W + b: the course's z = W^T x + b for a batch of row vectors.

    Shapes: x ``(..., in_features)``, weight ``(in_features, out_features)``,
    bias ``(out_features,)`` -> ``(..., out_features)``.
    """
    return ops.linear(ensure_tensor(x, dtype=weight.dtype), weight, bias)


def dropout(x, p: float = 0.5, training: bool = True, rng=None) -> Tensor:
    """Inverted dropout: zero each value with probability p and scale the rest by 1 / (1 - p),
    so that the expectation is unchanged and evaluation needs no rescaling. Identity when not
    training or p = 0. ``rng``: seed, Generator or None (see ``glassnet.random``).
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability must be in [0, 1], got {p}")
    x = ensure_tensor(x)
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * np.zeros(x.shape, dtype=x.dtype)
    keep = get_rng(rng).random(x.shape) >= p
    return x * (keep * np.asarray(1.0 / (1.0 - p), dtype=x.dtype))


ACTIVATIONS = {
    "step": step,
    "sigmoid": sigmoid,
    "logistic": sigmoid,
    "tanh": tanh,
    "relu": relu,
    "leaky_relu": leaky_relu,
    "elu": elu,
    "softplus": softplus,
    "silu": silu,
    "gelu": gelu,
    "identity": lambda x: ensure_tensor(x),
}


# ---- convolution, pooling, flatten, layer norm, embedding -------------------------------------
# The primitives (with their backward) are in glassnet.ops.conv and glassnet.ops.embedding;
# these functions accept ints or tuples for sizes, as PyTorch's do, and check their arguments.

def _conv(x, weight, bias, stride, padding, dilation, d: int, name: str) -> Tensor:
    if weight.ndim != d + 2:
        raise ValueError(f"{name} needs a weight of {d + 2} dimensions (out_channels, in_channels, "
                         f"*kernel), got shape {weight.shape}")
    x = ensure_tensor(x, dtype=weight.dtype)
    return ops.conv(x, weight, bias, expand(stride, d, "stride"), expand(padding, d, "padding", 0),
                    expand(dilation, d, "dilation"))


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1) -> Tensor:
    """1-D convolution (cross-correlation) of a batch of multi-channel signals:

        y[n, o, i] = b[o] + sum over c, a of  w[o, c, a] * x_padded[n, c, stride * i + dilation * a]

    Shapes: x ``(N, C_in, L)``, weight ``(C_out, C_in, k)``, bias ``(C_out,)`` ->
    ``(N, C_out, L_out)`` with L_out = (L + 2 padding - dilation (k - 1) - 1) // stride + 1.
    ``stride``, ``padding`` (zeros on both ends) and ``dilation``: an int or a 1-tuple.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> from glassnet import functional as F
    >>> x = gn.Tensor(np.array([[[1.0, 2.0, 4.0, 8.0]]]))
    >>> F.conv1d(x, gn.Tensor(np.array([[[-1.0, 1.0]]]))).numpy()
    array([[[1., 2., 4.]]])
    """
    return _conv(x, weight, bias, stride, padding, dilation, 1, "conv1d")


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1) -> Tensor:
    """2-D convolution (cross-correlation) of a batch of multi-channel images.

    Shapes: x ``(N, C_in, H, W)``, weight ``(C_out, C_in, kH, kW)``, bias ``(C_out,)`` ->
    ``(N, C_out, H_out, W_out)``, each output size as in :func:`conv1d`. ``stride``,
    ``padding`` and ``dilation``: an int (both axes) or a pair (height, width).

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> from glassnet import functional as F
    >>> x = gn.Tensor(np.ones((2, 3, 8, 8)))
    >>> F.conv2d(x, gn.Tensor(np.ones((4, 3, 3, 3))), stride=2, padding=1).shape
    (2, 4, 4, 4)
    """
    return _conv(x, weight, bias, stride, padding, dilation, 2, "conv2d")


def max_pool1d(x, kernel_size, stride=None, padding=0, dilation=1) -> Tensor:
    """The maximum of each window of ``kernel_size`` values, windows ``stride`` apart (default:
    ``kernel_size``, no overlap); padding adds -inf on both ends. The gradient flows to each
    window's max (to the first one on ties, as in PyTorch).

    Shapes: x ``(N, C, L)`` -> ``(N, C, L_out)``, L_out as in :func:`conv1d`.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> from glassnet import functional as F
    >>> F.max_pool1d(gn.Tensor(np.array([[[1.0, 5.0, 2.0, 0.0, 3.0]]])), 2).numpy()
    array([[[5., 2.]]])
    """
    x = ensure_tensor(x)
    return ops.max_pool(x, *pool_arguments(kernel_size, stride, padding, dilation, 1, "max_pool1d"))


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1) -> Tensor:
    """2-D max pooling; sizes are an int (both axes) or a pair (height, width). See
    :func:`max_pool1d`.

    Shapes: x ``(N, C, H, W)`` -> ``(N, C, H_out, W_out)``.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> from glassnet import functional as F
    >>> F.max_pool2d(gn.Tensor(np.arange(16.0).reshape(1, 1, 4, 4)), 2).numpy()
    array([[[[ 5.,  7.],
             [13., 15.]]]])
    """
    x = ensure_tensor(x)
    return ops.max_pool(x, *pool_arguments(kernel_size, stride, padding, dilation, 2, "max_pool2d"))


def avg_pool1d(x, kernel_size, stride=None, padding=0, count_include_pad: bool = True) -> Tensor:
    """The mean of each window of ``kernel_size`` values, windows ``stride`` apart (default:
    ``kernel_size``); padding adds zeros, which count in the mean unless ``count_include_pad``
    is False (PyTorch's default: True).

    Shapes: x ``(N, C, L)`` -> ``(N, C, L_out)``, L_out as in :func:`conv1d`.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> from glassnet import functional as F
    >>> F.avg_pool1d(gn.Tensor(np.array([[[1.0, 5.0, 2.0, 0.0, 3.0]]])), 2).numpy()
    array([[[3., 1.]]])
    """
    x = ensure_tensor(x)
    kernel, stride, padding, _ = pool_arguments(kernel_size, stride, padding, 1, 1, "avg_pool1d")
    return ops.avg_pool(x, kernel, stride, padding, bool(count_include_pad))


def avg_pool2d(x, kernel_size, stride=None, padding=0, count_include_pad: bool = True) -> Tensor:
    """2-D average pooling; sizes are an int (both axes) or a pair. See :func:`avg_pool1d`.

    Shapes: x ``(N, C, H, W)`` -> ``(N, C, H_out, W_out)``.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> from glassnet import functional as F
    >>> F.avg_pool2d(gn.Tensor(np.arange(16.0).reshape(1, 1, 4, 4)), 2).numpy()
    array([[[[ 2.5,  4.5],
             [10.5, 12.5]]]])
    """
    x = ensure_tensor(x)
    kernel, stride, padding, _ = pool_arguments(kernel_size, stride, padding, 1, 2, "avg_pool2d")
    return ops.avg_pool(x, kernel, stride, padding, bool(count_include_pad))


def global_avg_pool(x) -> Tensor:
    """The mean of each channel over all its positions: one value per sample and channel.

    Shapes: x ``(N, C, *spatial)`` (at least one spatial axis) -> ``(N, C)``.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> from glassnet import functional as F
    >>> F.global_avg_pool(gn.Tensor(np.ones((2, 3, 4, 5)))).shape
    (2, 3)
    """
    x = ensure_tensor(x)
    if x.ndim < 3:
        raise ValueError(f"global_avg_pool expects an input of shape (N, C, *spatial) (3 or more "
                         f"dimensions), got shape {x.shape}")
    return x.mean(axis=tuple(range(2, x.ndim)))


def flatten(x, start_dim: int = 1, end_dim: int = -1) -> Tensor:
    """Merge the axes ``start_dim`` to ``end_dim`` (both included) into one, in row-major order.

    Shapes: ``(N, C, H, W)`` -> ``(N, C * H * W)`` with the defaults.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> from glassnet import functional as F
    >>> F.flatten(gn.Tensor(np.ones((2, 3, 4, 5)))).shape
    (2, 60)
    """
    x = ensure_tensor(x)
    ndim = max(x.ndim, 1)
    start, end = (_axis_index(axis, ndim, name) for axis, name in
                  ((start_dim, "start_dim"), (end_dim, "end_dim")))
    if start > end:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for an "
                         f"input of shape {x.shape}")
    shape = x.shape[:start] + (math.prod(x.shape[start:end + 1]),) + x.shape[end + 1:]
    return x.reshape(shape)


def _axis_index(axis, ndim: int, name: str) -> int:
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(axis).__name__} {axis!r}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"{name} {axis} is out of range for an input with {ndim} dimensions")
    return int(axis) % ndim


def layer_norm(x, normalized_shape, weight=None, bias=None, eps: float = 1e-5) -> Tensor:
    """Normalize each sample over its last axes (``normalized_shape``), then scale and shift:

        y = (x - mean) / sqrt(var + eps) * gamma + beta

    mean and var (the biased one, divided by n) are taken over the last
    ``len(normalized_shape)`` axes of each sample separately: unlike batch norm, no statistic
    crosses the batch, so training and evaluation compute the same thing.

    Shapes: x ``(*, *normalized_shape)``; weight (gamma) and bias (beta) ``normalized_shape``
    -> the shape of x.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> from glassnet import functional as F
    >>> F.layer_norm(gn.Tensor(np.array([[1.0, 3.0], [10.0, 30.0]])), 2, eps=0.0).numpy()
    array([[-1.,  1.],
           [-1.,  1.]])
    """
    shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
    x = ensure_tensor(x, dtype=None if weight is None else weight.dtype)
    if x.ndim < len(shape) or x.shape[x.ndim - len(shape):] != shape:
        raise ValueError(f"layer_norm over the last axes {shape} expects an input of shape "
                         f"(..., {', '.join(map(str, shape))}), got {x.shape}")
    for name, parameter in (("weight", weight), ("bias", bias)):
        if parameter is not None and (parameter.shape != shape or parameter.dtype != x.dtype):
            raise ValueError(f"layer_norm: {name} must have shape {shape} and dtype {x.dtype} "
                             f"(the input's), got {parameter.shape} {parameter.dtype}")
    return ops.layer_norm(x, weight, bias, len(shape), eps)


def embedding(indices, weight, padding_idx=None) -> Tensor:
    """Look up rows of ``weight``: out[..., :] = weight[indices[...], :]. The gradient of a row
    is the sum over the positions that picked it; the row ``padding_idx`` (if given, negative
    counts from the end) gets none.

    Shapes: indices ``(*)`` integers in [0, num_embeddings), weight
    ``(num_embeddings, embedding_dim)`` -> ``(*, embedding_dim)``.

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> from glassnet import functional as F
    >>> F.embedding(np.array([[0, 2], [1, 0]]), gn.Tensor(np.eye(3))).shape
    (2, 2, 3)
    """
    count = weight.shape[0]
    if isinstance(indices, Tensor):
        raise TypeError(f"embedding needs integer indices, got a {indices.dtype} Tensor (Tensors "
                        "hold floats); pass a NumPy integer array, such as x.numpy().astype(int)")
    indices = np.asarray(indices)
    if indices.dtype.kind not in "iu":
        raise TypeError(f"embedding needs integer indices, got an array of dtype {indices.dtype}")
    if indices.size and (indices.min() < 0 or indices.max() >= count):
        raise IndexError(f"embedding index out of range: indices must be in [0, {count}), got "
                         f"values from {indices.min()} to {indices.max()}")
    if padding_idx is not None:
        if isinstance(padding_idx, bool) or not isinstance(padding_idx, (int, np.integer)):
            raise TypeError(f"padding_idx must be an int or None, got {padding_idx!r}")
        if not -count <= padding_idx < count:
            raise ValueError(f"padding_idx must be in [-{count}, {count}), got {padding_idx}")
        padding_idx = int(padding_idx) % count
    return ops.embedding(indices, weight, padding_idx)


# ---- attention and positional encoding --------------------------------------------------------
# The masked softmax (with its backward) and the mask helpers are in glassnet.ops.attention.

def scaled_dot_product_attention(query, key, value, attn_mask=None, key_padding_mask=None,
                                 is_causal: bool = False, dropout_p: float = 0.0,
                                 training: bool = True, rng=None, scale=None,
                                 need_weights: bool = False):
    """Attention (Vaswani et al., 2017): each query takes the average of the values, weighted by
    how well it matches each key,

        weights = softmax(q k^T / sqrt(d_k) + mask),   output = dropout(weights) v

    with the softmax over the keys (the last axis).

    Masks follow ``torch.nn.MultiheadAttention``: a **boolean mask is True where a key is masked
    out**; a float mask is added to the scores (-inf masks out). This is the opposite of the
    boolean ``attn_mask`` of ``torch.nn.functional.scaled_dot_product_attention``, where True
    means "may attend": invert such a mask (``~mask``) when porting code. Masks are constants (no
    gradient flows into a float mask). A query whose keys are
    all masked out gets weights of zero and an output of zero (no NaN), and no gradient flows
    back through it; PyTorch's ``scaled_dot_product_attention`` does the same, its
    ``MultiheadAttention`` gives NaN.

    Parameters
    ----------
    query, key, value : Tensor or array
        The leading (batch, head) axes broadcast against each other, as in ``matmul``.
    attn_mask : bool or float array, optional
        Broadcastable to the scores' shape ``(..., L, S)``, typically ``(L, S)``.
    key_padding_mask : bool or float array, optional
        ``(N, S)`` (``(S,)`` for a 2-D query): True marks keys that are padding, for every query
        (and head) of that sequence. N is the first axis of the scores.
    is_causal : bool
        Mask out the future: query i attends to keys j <= i only (combined with the masks above).
    dropout_p : float in [0, 1]
        Dropout on the weights, applied when ``training`` (inverted: kept weights are scaled by
        1 / (1 - p)).
    training : bool
    rng : int, numpy.random.Generator or None
        Randomness of the dropout.
    scale : float, optional
        Multiplies q k^T; default 1 / sqrt(d_k), d_k = query.shape[-1].
    need_weights : bool
        Also return the weights (after dropout, as PyTorch's ``MultiheadAttention`` does).

    Returns
    -------
    output : Tensor, or (output, weights) with ``need_weights``

    Shape
    -----
    - query ``(..., L, E)``, key ``(..., S, E)``, value ``(..., S, E_v)``
    - output ``(..., L, E_v)``, weights ``(..., L, S)``

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> from glassnet import functional as F
    >>> q = k = v = gn.Tensor(np.eye(3))
    >>> out, weights = F.scaled_dot_product_attention(q, k, v, is_causal=True, need_weights=True)
    >>> weights.numpy().round(2)
    array([[1.  , 0.  , 0.  ],
           [0.36, 0.64, 0.  ],
           [0.26, 0.26, 0.47]])
    """
    query = ensure_tensor(query)
    key, value = ensure_tensor(key, dtype=query.dtype), ensure_tensor(value, dtype=query.dtype)
    for name, tensor in (("query", query), ("key", key), ("value", value)):
        if tensor.ndim < 2:
            raise ValueError(f"scaled_dot_product_attention: {name} must have 2 or more dimensions "
                             f"(..., sequence, features), got shape {tensor.shape}")
        if tensor.dtype != query.dtype:
            raise TypeError(f"scaled_dot_product_attention: {name} is {tensor.dtype} but query is "
                            f"{query.dtype}; convert one with .astype()")
    if key.shape[-1] != query.shape[-1]:
        raise ValueError(f"scaled_dot_product_attention: key must have query's {query.shape[-1]} "
                         f"features, got key shape {key.shape} and query shape {query.shape}")
    if key.shape[-2] == 0:
        raise ValueError(f"scaled_dot_product_attention: key must hold at least one position "
                         f"(S >= 1) to attend to, got key shape {key.shape}")
    if value.shape[-2] != key.shape[-2]:
        raise ValueError(f"scaled_dot_product_attention: value must have one row per key "
                         f"({key.shape[-2]}), got value shape {value.shape} and key shape {key.shape}")
    try:
        batch = np.broadcast_shapes(query.shape[:-2], key.shape[:-2], value.shape[:-2])
    except ValueError:
        raise ValueError(f"scaled_dot_product_attention: the leading axes of query {query.shape}, "
                         f"key {key.shape} and value {value.shape} do not broadcast") from None
    scores_shape = batch + (query.shape[-2], key.shape[-2])
    bias = attention_bias(scores_shape, query.dtype, attn_mask, key_padding_mask, is_causal)
    if scale is None:
        scale = 1.0 / math.sqrt(query.shape[-1])
    weights = ops.masked_softmax(query @ ops.swapaxes(key, -1, -2), bias, scale)
    if training and dropout_p != 0.0:
        weights = dropout(weights, dropout_p, training=True, rng=rng)
    elif not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"dropout probability must be in [0, 1], got {dropout_p}")
    output = weights @ value
    return (output, weights) if need_weights else output


def attention_bias(scores_shape: tuple, dtype, attn_mask=None, key_padding_mask=None,
                   is_causal: bool = False):
    """The masks of :func:`scaled_dot_product_attention` as one additive float array (0 where a
    key may be attended, -inf where it is masked out, or a float mask's values) that broadcasts to
    ``scores_shape`` ``(..., L, S)``; None when there is no mask. Checks each mask's shape."""
    length, keys = scores_shape[-2:]
    biases = []
    if attn_mask is not None:
        bias = ops.mask_bias(attn_mask, np.dtype(dtype), "attn_mask")
        try:
            fits = bias.ndim >= 2 and np.broadcast_shapes(bias.shape, scores_shape) == tuple(scores_shape)
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(f"attn_mask must broadcast to the scores' shape {tuple(scores_shape)} "
                             f"(..., L={length}, S={keys}), e.g. ({length}, {keys}); got shape {bias.shape}")
        biases.append(bias)
    if key_padding_mask is not None:
        bias = ops.mask_bias(key_padding_mask, np.dtype(dtype), "key_padding_mask")
        expected = (keys,) if len(scores_shape) == 2 else (scores_shape[0], keys)
        if bias.shape != expected:
            raise ValueError(f"key_padding_mask must have shape {expected} ((batch, S) for batched "
                             f"input, (S,) unbatched), got {bias.shape}")
        # (N, S) -> (N, 1, ..., 1, S): the same keys are masked for every head and query.
        biases.append(bias.reshape(bias.shape[:-1] + (1,) * (len(scores_shape) - 2) + (keys,)))
    if is_causal:
        biases.append(ops.mask_bias(ops.causal_mask(length, keys), np.dtype(dtype), "is_causal"))
    if not biases:
        return None
    total = biases[0]
    for bias in biases[1:]:
        total = total + bias
    return total


def sinusoidal_positional_encoding(length: int, d_model: int, dtype=np.float32) -> np.ndarray:
    """The fixed positional encoding of Vaswani et al. (2017), one row per position:

        PE[pos, 2i] = sin(pos / 10000^(2i / d_model)),   PE[pos, 2i + 1] = cos(pos / 10000^(2i / d_model))

    Each pair of columns is a sinusoid of its own wavelength, from 2 pi to 10000 * 2 pi, so that
    PE[pos + k] is a linear function of PE[pos]. Computed in float64, returned in ``dtype``. An
    odd ``d_model`` is allowed: the last column is a sine.

    Shapes: -> ``(length, d_model)``.

    Example
    -------
    >>> from glassnet import functional as F
    >>> F.sinusoidal_positional_encoding(3, 4).round(3)
    array([[ 0.   ,  1.   ,  0.   ,  1.   ],
           [ 0.841,  0.54 ,  0.01 ,  1.   ],
           [ 0.909, -0.416,  0.02 ,  1.   ]], dtype=float32)
    """
    for name, value in (("length", length), ("d_model", d_model)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"sinusoidal_positional_encoding: {name} must be a positive int, got {value!r}")
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"sinusoidal_positional_encoding: dtype must be float32 or float64, got {dtype}")
    position = np.arange(length, dtype=np.float64)[:, None]
    # 1 / 10000^(2i / d), as exp(-2i log(10000) / d)
    frequencies = np.exp(np.arange(0, d_model, 2, dtype=np.float64) * (-math.log(10000.0) / d_model))
    encoding = np.empty((length, d_model))
    encoding[:, 0::2] = np.sin(position * frequencies)
    encoding[:, 1::2] = np.cos(position * frequencies[: d_model // 2])
    return encoding.astype(dtype)
