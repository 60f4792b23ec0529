"""Attention maps: the per-head weights of every ``nn.MultiheadAttention`` inside a model, read
during one ordinary forward pass.

A forward pre-hook asks each attention module for its weights per head (``need_weights=True,
average_attn_weights=False``) and a forward hook records them, then hands the caller what it had
asked for (no weights for the transformer encoder's ``need_weights=False``; the mean over the
heads where it asked for averaged weights), so the model computes exactly what it computes
without them. The hooks are removed when the pass ends, also when it fails.
"""

from __future__ import annotations

import inspect

import numpy as np

from ..autograd import no_grad
from ..nn import Module, MultiheadAttention
from ..tensor import Tensor
from ._common import evaluating

__all__ = ["attention_maps"]

# MultiheadAttention.forward's parameters after (query, key, value), for calls that pass them by position
_OPTIONS = tuple(inspect.signature(MultiheadAttention.forward).parameters)[4:]


def attention_maps(model: Module, inputs, *args, **kwargs) -> dict[str, np.ndarray]:
    """Run ``model(inputs, *args, **kwargs)`` in eval mode and return the attention weights of
    every ``nn.MultiheadAttention`` inside it (also those of ``TransformerEncoderLayer`` and
    ``TransformerEncoder``), keyed by the module's name in ``model.named_modules()``.

    Each value has shape ``(N, heads, L, S)``: for example n and head h, row i holds the softmax
    weights with which query position i attends to the S key positions (each row sums to 1,
    masked keys get 0). An unbatched call ``(L, E)`` gives N = 1. A module called several times
    in one pass gives one entry per call: ``name``, ``name#1``, ``name#2``, ...; one the pass
    never calls gives none. The model's output, mode, parameters and buffers are unchanged.

    Example
    -------
    >>> import numpy as np
    >>> from glassnet import nn
    >>> from glassnet.explain import attention_maps
    >>> encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, nhead=2, rng=0), num_layers=2)
    >>> x = np.random.default_rng(0).normal(size=(3, 5, 8)).astype(np.float32)
    >>> maps = attention_maps(encoder, x)
    >>> sorted(maps), maps["layers.0.self_attn"].shape
    (['layers.0.self_attn', 'layers.1.self_attn'], (3, 2, 5, 5))
    >>> bool(np.allclose(maps["layers.1.self_attn"].sum(axis=-1), 1.0))
    True
    """
    if not isinstance(model, Module):
        raise TypeError(f"model must be a glassnet Module, got {type(model).__name__}")
    names: dict[int, str] = {}
    layers = []
    for name, module in model.named_modules():
        if isinstance(module, MultiheadAttention) and id(module) not in names:
            names[id(module)] = name
            layers.append(module)
    if not names:
        raise ValueError(f"the model ({type(model).__name__}) holds no nn.MultiheadAttention: it has no "
                         f"attention weights to show")
    values = inputs.data if isinstance(inputs, Tensor) else inputs
    if isinstance(values, np.ndarray) and values.dtype.kind == "f" and not np.isfinite(values).all():
        raise ValueError("inputs must be finite (they hold NaN or inf)")
    maps: dict[str, np.ndarray] = {}
    asked: list[tuple[bool, bool]] = []  # what each running call asked for (a stack: calls may nest)
    handles = []

    def ask_for_heads(module, call_args, call_kwargs):
        call_kwargs = dict(call_kwargs)
        call_kwargs.update(zip(_OPTIONS, call_args[3:]))
        asked.append((call_kwargs.get("need_weights", True), call_kwargs.get("average_attn_weights", True)))
        call_kwargs.update(need_weights=True, average_attn_weights=False)
        return tuple(call_args[:3]), call_kwargs

    def record(module, call_args, call_kwargs, output):
        need_weights, average = asked.pop()
        out, weights = output
        name, calls = names[id(module)], 0
        key = name
        while key in maps:  # called again in the same pass
            calls += 1
            key = f"{name}#{calls}"
        maps[key] = (weights.data if weights.ndim == 4 else weights.data[None]).copy()  # unbatched: (H, L, S)
        return out, _as_asked(weights, need_weights, average)

    try:
        for layer in layers:
            handles.append(layer.register_forward_pre_hook(ask_for_heads, with_kwargs=True))
            handles.append(layer.register_forward_hook(record, with_kwargs=True))
        with evaluating(model), no_grad():
            model(inputs, *args, **kwargs)
    finally:
        for handle in handles:
            handle.remove()
    return maps


def _as_asked(weights, need_weights: bool, average: bool):
    """The weights the caller of MultiheadAttention asked for, from the per-head ones: None, the
    mean over the heads (computed as the module computes it: on the batched weights), or all."""
    if not need_weights:
        return None
    if not average:
        return weights
    batched = weights if weights.ndim == 4 else weights.reshape((1,) + weights.shape)
    mean = batched.mean(axis=1)
    return mean if weights.ndim == 4 else mean.reshape(mean.shape[1:])
