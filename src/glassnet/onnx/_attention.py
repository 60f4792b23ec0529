"""Converters for the attention family: ``self_attention`` (the fused multi-head attention of
``MultiheadAttention`` and the transformer encoder), ``masked_softmax`` (the composed path of
``scaled_dot_product_attention``), and the masks, ``mask_bias`` and ``causal_mask``.

The masks are the delicate part. ``glassnet.functional.attention_bias`` turns each mask into an
additive array with ``ops.mask_bias`` and then sums them with NumPy, so the sum reaches the
attention op as a plain array that no longer says where it came from. Freezing it into the graph
would freeze the sample's padding, batch size and length. So:

* ``causal_mask`` is written from the lengths (Range, Less), which follow the input's length;
* ``mask_bias`` is written as ``Where(mask, -inf, 0)`` of its mask: an input of the graph (a
  padding mask passed to the forward), the causal mask above, or a constant of the model;
* the attention op sums the pieces written since the previous attention op as
  ``attention_bias`` does (a padding mask ``(N, S)`` spread to ``(N, 1, 1, S)``), after checking
  that the same sum in NumPy gives exactly the array it received.

Each mask's bias, and each causal mask, is written once however many encoder layers read it.

The softmax keeps glassnet's rule for a query whose keys are all masked out: weights of zero,
not ONNX Softmax's NaN (max -inf -> 0, sum 0 -> 1).
"""

from __future__ import annotations

import weakref

import numpy as np

from ._graph import require_onnx
from ._registry import converter

__all__ = ["depends_on_input", "softmax_rows"]

# graph -> the mask pieces written since the last attention op: (mask's name, array, ONNX name)
_PENDING: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
# graph -> {ONNX name of a mask: ONNX name of its additive bias, ("causal", sizes): the causal mask}
_WRITTEN: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def depends_on_input(graph, name: str) -> bool:
    """Whether the ONNX value ``name`` is computed from an input of the graph (walking back
    through the nodes written so far), rather than from initializers alone."""
    inputs = {info.name for info in graph.inputs}
    producers = {output: node for node in graph.nodes for output in node.output}
    seen, todo = set(), [name]
    while todo:
        current = todo.pop()
        if current in inputs:
            return True
        if current in seen or current not in producers:
            continue
        seen.add(current)
        todo.extend(n for n in producers[current].input if n)
    return False


# ---- the masks: written when made, summed again by the attention op that uses them ------------

@converter("causal_mask", dynamic_ints=True)
def convert_causal_mask(graph, call):
    """``(L, S)`` boolean, True where key j is after query i (j > i), from L and S computed from
    the input's shape when they follow the sequence length."""
    sizes = (call.arguments["query_length"], call.arguments["key_length"])
    written = _WRITTEN.setdefault(graph, {})
    key = ("causal",) + tuple((int(n), getattr(n, "constant", None), getattr(n, "terms", None)) for n in sizes)
    if key not in written:  # every encoder layer asks for the same mask: written once
        zero, one = graph.constant(np.array(0, np.int64), "zero"), graph.constant(np.array(1, np.int64), "one")
        positions = [graph.node("Range", [zero, graph.squeeze(graph.ints([size]), [0]), one],  # 0-d limits
                                hint="position")[0] for size in sizes]
        rows = graph.unsqueeze(positions[0], [1])  # (L, 1) against (S,)
        written[key] = graph.node("Less", [rows, positions[1]], hint="causal_mask")[0]
    return written[key]


@converter("mask_bias")
def convert_mask_bias(graph, call):
    """A boolean mask -> ``Where(mask, -inf, 0)``; a float mask -> itself in the model's dtype.
    The piece is also remembered for the next attention op (see the module's docstring)."""
    arguments = call.arguments
    mask = arguments["mask"]
    data = np.asarray(getattr(mask, "data", mask))
    if not graph.is_bound(mask) and id(mask) in graph.varying:
        raise graph.error(f"its {arguments['name']} was computed from the input outside glassnet.ops; "
                          "pass it to the forward as an input instead")
    source = graph.value(mask)
    written = _WRITTEN.setdefault(graph, {})
    if source not in written:  # each encoder layer makes the same bias of the same mask: once
        if data.dtype == bool:
            written[source] = graph.node("Where", [source, _scalar(graph, -np.inf), _scalar(graph, 0.0)],
                                         hint="mask_bias")[0]
        else:
            written[source] = graph.node("Cast", [source], hint="mask_bias", to=_onnx_dtype(graph.dtype))[0]
    _PENDING.setdefault(graph, []).append((arguments["name"], call.output, written[source]))
    return written[source]


def _pieces_sum(pieces, rank: int) -> np.ndarray | None:
    """The pieces' arrays summed as ``attention_bias`` sums them (a padding mask ``(N, S)``
    spread to ``(N, 1, ..., 1, S)``, rank - 2 ones), or None if there are none."""
    total = None
    for name, array, _ in pieces:
        if name == "key_padding_mask":
            array = array.reshape(array.shape[:-1] + (1,) * (rank - 2) + array.shape[-1:])
        total = array if total is None else total + array
    return total


def _bias(graph, bias, rank: int) -> str | None:
    """The ONNX name of the additive bias of an attention op whose scores have rank ``rank``:
    the sum of the mask pieces written since the previous attention op, once it is checked that
    they add up to the very array the op received; None when there is no bias."""
    pieces = _PENDING.pop(graph, [])
    if bias is None:
        return None
    bias = np.asarray(bias)
    total = _pieces_sum(pieces, rank)
    if total is None or total.shape != bias.shape or not np.array_equal(total, bias):
        if id(bias) in graph.varying or any(depends_on_input(graph, name) for _, _, name in pieces):
            raise graph.error("its mask was computed from the input in a way the exporter cannot "
                              "rebuild (it rebuilds the masks of glassnet.functional.attention_bias: "
                              "attn_mask, key_padding_mask, is_causal)")
        return graph.constant(bias.astype(graph.dtype, copy=False), "attention_bias")
    names = []
    for name, array, onnx_name in pieces:
        if name == "key_padding_mask" and rank > 2:  # (N, S) -> (N, 1, ..., 1, S)
            onnx_name = graph.unsqueeze(onnx_name, range(array.ndim - 1, array.ndim + rank - 3))
        names.append(onnx_name)
    total_name = names[0]
    for name in names[1:]:
        total_name = graph.node("Add", [total_name, name], hint="attention_bias")[0]
    return total_name


def _scalar(graph, value: float) -> str:
    return graph.constant(np.array(value, graph.dtype), hint="scalar")


def _onnx_dtype(dtype) -> int:
    return require_onnx().helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


# ---- the softmax and the attention ops ----------------------------------------------------------

def softmax_rows(graph, scores: str, bias: str | None) -> str:
    """softmax(scores + bias) over the last axis, a row whose entries are all -inf giving zeros
    (``ops.masked_softmax``'s rule): e^(s - m) / sum with m = 0 and sum = 1 on such a row."""
    if bias is None:  # no mask: no row can be empty
        return graph.node("Softmax", [scores], axis=-1)[0]
    scores = graph.node("Add", [scores, bias])[0]
    row_max = graph.reduce("ReduceMax", scores, [-1], keepdims=True)
    empty = graph.node("Equal", [row_max, _scalar(graph, -np.inf)], hint="empty_row")[0]
    row_max = graph.node("Where", [empty, _scalar(graph, 0.0), row_max])[0]
    exps = graph.node("Exp", [graph.node("Sub", [scores, row_max])[0]])[0]
    sums = graph.node("Where", [empty, _scalar(graph, 1.0), graph.reduce("ReduceSum", exps, [-1], keepdims=True)])[0]
    return graph.node("Div", [exps, sums], hint="weights")[0]


@converter("masked_softmax")
def convert_masked_softmax(graph, call):
    """softmax(scale * x + bias) over the last axis (``ops.masked_softmax``)."""
    arguments = call.arguments
    x, scale = arguments["x"], float(arguments["scale"])
    scores = graph.value(x)
    if scale != 1.0:
        scores = graph.node("Mul", [scores, _scalar(graph, scale)])[0]
    return softmax_rows(graph, scores, _bias(graph, arguments["bias"], x.ndim))


@converter("self_attention")
def convert_self_attention(graph, call):
    """``ops.self_attention``: split qkv ``(N, L, 3E)`` into the heads' q, k, v ``(N, H, L, D)``,
    softmax(q k^T * scale + bias) v, the heads side by side again ``(N, L, E)``."""
    arguments = call.arguments
    if arguments["dropout_mask"] is not None:
        raise graph.error("it was called with a dropout mask (training mode); the exporter runs the "
                          "model in eval mode")
    qkv, heads = arguments["qkv"], int(arguments["num_heads"])
    embed = qkv.shape[2] // 3
    split = graph.node("Reshape", [graph.value(qkv), graph.constant(
        np.array([0, 0, 3, heads, embed // heads], np.int64))], hint="heads")[0]
    split = graph.node("Transpose", [split], perm=[2, 0, 3, 1, 4], hint="heads")[0]  # (3, N, H, L, D)
    q, k, v = (graph.node("Gather", [split, graph.constant(np.array(i, np.int64))], axis=0, hint=part)[0]
               for i, part in enumerate("qkv"))
    keys_t = graph.node("Transpose", [k], perm=[0, 1, 3, 2])[0]
    scores = graph.node("MatMul", [q, keys_t], hint="scores")[0]
    scores = graph.node("Mul", [scores, _scalar(graph, float(arguments["scale"]))], hint="scores")[0]
    weights = softmax_rows(graph, scores, _bias(graph, arguments["bias"], 4))
    out = graph.node("MatMul", [weights, v])[0]
    out = graph.node("Transpose", [out], perm=[0, 2, 1, 3])[0]  # (N, L, H, D)
    return graph.node("Reshape", [out, graph.constant(np.array([0, 0, embed], np.int64))], hint="attention")[0]
