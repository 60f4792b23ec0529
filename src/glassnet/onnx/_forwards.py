"""Forwards that a layer runs differently while it is traced for export, so that its graph keeps
the sequence length dynamic. ``PositionalEncoding`` adds its table cut to the length with NumPy
(the table grows as longer sequences come); traced that way, the cut rows would be a constant of
the sample's length. Here the whole table (``max_len`` rows, what the graph must hold to run at
any length) is one constant Tensor, and the cut an op, ``getitem`` with the length as its stop.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager

from ..nn.module import Module
from ..nn.transformer import PositionalEncoding
from ..tensor import Tensor

__all__ = ["export_forwards"]

# the largest table an export writes (entries): 64 M float32 is 256 MB of graph
_MAX_TABLE = 2**26
# one table Tensor per layer, the same object in every trace of an export (and the next export)
_TABLES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _positional_encoding(layer: PositionalEncoding):
    def forward(x) -> Tensor:
        x = x if isinstance(x, Tensor) else Tensor(x, dtype=layer.dtype)
        if x.ndim not in (2, 3) or x.shape[-1] != layer.d_model:
            return PositionalEncoding.forward(layer, x)  # its own error
        axis = 1 if (layer.batch_first and x.ndim == 3) else 0
        table = _TABLES.get(layer)
        if table is None or table.shape != (layer.max_len, layer.d_model) or table.dtype != layer.dtype:
            if layer.max_len * layer.d_model > _MAX_TABLE:
                raise ValueError(f"PositionalEncoding(max_len={layer.max_len}, d_model={layer.d_model}): its "
                                 f"table of {layer.max_len * layer.d_model} entries is too large to export; "
                                 "build the layer with a smaller max_len")
            table = _TABLES[layer] = Tensor(layer.pe)
        encoding = table[:x.shape[axis]]
        if axis == 0 and x.ndim == 3:
            encoding = encoding.reshape(x.shape[0], 1, layer.d_model)
        return layer.dropout(x + encoding)

    return forward


@contextmanager
def export_forwards(model: Module) -> Iterator[None]:
    """Within the block, each ``PositionalEncoding`` of ``model`` runs :func:`_positional_encoding`'s
    forward (an instance attribute, removed after, whatever happened)."""
    layers = [m for m in model.modules() if type(m) is PositionalEncoding and "forward" not in vars(m)]
    try:
        for layer in layers:
            object.__setattr__(layer, "forward", _positional_encoding(layer))
        yield
    finally:
        for layer in layers:
            vars(layer).pop("forward", None)
