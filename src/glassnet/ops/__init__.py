"""Differentiable primitives, by family. In each file a forward is followed by its backward."""

from .attention import causal_mask, mask_bias, masked_softmax, self_attention
from .conv import avg_pool, conv, max_pool
from .conv_transpose import conv_transpose
from .elementwise import (
    abs,
    add,
    astype,
    clip,
    div,
    erf,
    exp,
    log,
    log1p,
    maximum,
    minimum,
    mul,
    neg,
    power,
    relu,
    sigmoid,
    softplus,
    sqrt,
    step,
    sub,
    tanh,
    where,
)
from .embedding import embedding
from .fused import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    l1_penalty,
    l2_penalty,
    linear,
    log_softmax,
    softmax,
    softmax_cross_entropy,
)
from .interpolate import interpolate_axis
from .linalg import matmul
from .normalization import layer_norm
from .recurrent import gru_layer, lstm_layer, rnn_layer
from .reduce import logsumexp, max, mean, min, sum, var, vector_norm
from .shape import concatenate, getitem, permute, reshape, stack, swapaxes, transpose

__all__ = [
    "abs", "add", "astype", "avg_pool", "binary_cross_entropy", "binary_cross_entropy_with_logits",
    "clip", "concatenate", "conv", "conv_transpose", "div", "embedding", "erf", "exp", "getitem",
    "interpolate_axis", "layer_norm",
    "l1_penalty", "l2_penalty",
    "linear", "log", "log1p", "log_softmax", "logsumexp", "matmul", "max", "max_pool", "maximum", "mean", "min",
    "minimum", "mul", "neg", "permute", "power", "relu", "reshape", "sigmoid", "softmax",
    "softmax_cross_entropy", "softplus", "sqrt", "stack", "step", "sub", "sum", "swapaxes", "tanh",
    "transpose", "var", "vector_norm", "where", "gru_layer", "lstm_layer", "rnn_layer",
    "causal_mask", "mask_bias", "masked_softmax", "self_attention",
]
