"""Converters of the layer ops: linear, matmul, softmax and log-softmax, convolution (1-3 D,
stride, padding, dilation, groups), transposed convolution, max and average pooling, layer norm,
embedding (Gather) and interpolate_axis (Upsample). BatchNorm and Dropout in eval mode need none
of their own: BatchNorm is an affine map of sub/mul/reshape, Dropout the identity."""

from __future__ import annotations

import numpy as np

from ._elementwise import binary_operands
from ._registry import converter


@converter("linear")
def _linear(graph, call):
    """z = x @ W + b: Gemm for a 2-D input, else MatMul (and Add)."""
    arguments = call.arguments
    x, weight, bias = arguments["x"], arguments["weight"], arguments["bias"]
    names = [graph.value(x), graph.value(weight)]
    if x.ndim == 2:
        return graph.node("Gemm", names + ([graph.value(bias)] if bias is not None else []))[0]
    out = graph.node("MatMul", names)[0]
    return graph.node("Add", [out, graph.value(bias)])[0] if bias is not None else out


@converter("matmul")
def _matmul(graph, call):
    arguments = call.arguments
    return graph.node("MatMul", binary_operands(graph, arguments["a"], arguments["b"]))[0]


@converter("softmax", "log_softmax")
def _softmax(graph, call):
    arguments = call.arguments
    x = arguments["x"]
    op_type = "Softmax" if call.op == "softmax" else "LogSoftmax"
    return graph.node(op_type, [graph.value(x)], axis=int(arguments["axis"]) % x.ndim)[0]


def _pads(padding) -> list[int]:
    """ONNX pads: every axis' begin, then every axis' end (glassnet pads both ends alike)."""
    return [int(p) for p in padding] * 2


@converter("conv")
def _conv(graph, call):
    arguments = call.arguments
    x, weight, bias = arguments["x"], arguments["weight"], arguments["bias"]
    inputs = [graph.value(x), graph.value(weight)] + ([graph.value(bias)] if bias is not None else [])
    return graph.node("Conv", inputs, kernel_shape=list(weight.shape[2:]), strides=list(arguments["stride"]),
                      pads=_pads(arguments["padding"]), dilations=list(arguments["dilation"]),
                      group=x.shape[1] // weight.shape[1])[0]


@converter("conv_transpose")
def _conv_transpose(graph, call):
    arguments = call.arguments
    x, weight, bias = arguments["x"], arguments["weight"], arguments["bias"]
    inputs = [graph.value(x), graph.value(weight)] + ([graph.value(bias)] if bias is not None else [])
    return graph.node("ConvTranspose", inputs, kernel_shape=list(weight.shape[2:]),
                      strides=list(arguments["stride"]), pads=_pads(arguments["padding"]),
                      output_padding=list(arguments["output_padding"]), dilations=list(arguments["dilation"]),
                      group=x.shape[1] // weight.shape[0])[0]


@converter("max_pool")
def _max_pool(graph, call):
    arguments = call.arguments
    return graph.node("MaxPool", [graph.value(arguments["x"])], kernel_shape=list(arguments["kernel"]),
                      strides=list(arguments["stride"]), pads=_pads(arguments["padding"]),
                      dilations=list(arguments["dilation"]))[0]


@converter("avg_pool")
def _avg_pool(graph, call):
    arguments = call.arguments
    return graph.node("AveragePool", [graph.value(arguments["x"])], kernel_shape=list(arguments["kernel"]),
                      strides=list(arguments["stride"]), pads=_pads(arguments["padding"]),
                      count_include_pad=int(bool(arguments["count_include_pad"])))[0]


@converter("layer_norm")
def _layer_norm(graph, call):
    """LayerNormalization from opset 17; before it, its formula in Reduce/Sub/Div nodes."""
    arguments = call.arguments
    x, weight, bias, ndim, eps = (arguments[name] for name in ("x", "weight", "bias", "ndim", "eps"))
    name = graph.value(x)
    shape = x.shape[x.ndim - ndim:]
    if graph.opset >= 17:
        scale = graph.value(weight) if weight is not None else graph.constant(np.ones(shape, x.dtype), "ones")
        inputs = [name, scale] + ([graph.value(bias)] if bias is not None else [])
        return graph.node("LayerNormalization", inputs, axis=-ndim, epsilon=float(eps))[0]
    axes = list(range(x.ndim - ndim, x.ndim))
    centered = graph.node("Sub", [name, graph.reduce("ReduceMean", name, axes, True)])[0]
    var = graph.reduce("ReduceMean", graph.node("Mul", [centered, centered])[0], axes, True)
    std = graph.node("Sqrt", [graph.node("Add", [var, graph.value(float(eps), x.dtype)])[0]])[0]
    out = graph.node("Div", [centered, std])[0]
    if weight is not None:
        out = graph.node("Mul", [out, graph.value(weight)])[0]
    if bias is not None:
        out = graph.node("Add", [out, graph.value(bias)])[0]
    return out


@converter("embedding")
def _embedding(graph, call):
    """Rows of the weight: Gather(weight, indices) (padding_idx only matters for training)."""
    arguments = call.arguments
    indices = arguments["indices"]
    if not graph.is_bound(indices) and id(indices) in graph.varying:
        raise graph.error("the indices were computed from the input outside glassnet.ops; pass the "
                          "integer array the model receives straight to the embedding")
    return graph.node("Gather", [graph.value(arguments["weight"]), graph.value(indices)], axis=0)[0]


@converter("interpolate_axis")
def _interpolate_axis(graph, call):
    """Nearest: a Gather of index0 along the axis; linear: (1 - lam) x[index0] + lam x[index1]."""
    arguments = call.arguments
    x, axis = arguments["x"], int(arguments["axis"]) % arguments["x"].ndim
    index0, index1, lam = arguments["index0"], arguments["index1"], arguments["lam"]
    name = graph.value(x)
    first = graph.node("Gather", [name, graph.constant(np.asarray(index0, np.int64), "index")], axis=axis)[0]
    if index1 is None:
        return first
    shape = [1] * x.ndim
    shape[axis] = len(index0)
    weight = np.asarray(lam, dtype=x.dtype).reshape(shape)
    second = graph.node("Gather", [name, graph.constant(np.asarray(index1, np.int64), "index")], axis=axis)[0]
    first = graph.node("Mul", [first, graph.constant((1 - weight).astype(x.dtype), "weight")])[0]
    second = graph.node("Mul", [second, graph.constant(weight, "weight")])[0]
    return graph.node("Add", [first, second])[0]
