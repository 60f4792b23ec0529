"""What a layer computes differently while it is traced for export, so that its graph keeps
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
    """``layer._encoding`` for export: the whole table as one Tensor, cut to the length by an op."""
    def encoding(length: int, spread: bool) -> Tensor:
        table = _TABLES.get(layer)
        if table is None or table.shape != (layer.max_len, layer.d_model) or table.dtype != layer.dtype:
            if layer.max_len * layer.d_model > _MAX_TABLE:
                raise ValueError(f"PositionalEncoding(max_len={layer.max_len}, d_model={layer.d_model}): its "
                                 f"table of {layer.max_len * layer.d_model} entries is too large to export; "
                                 "build the layer with a smaller max_len")
            table = _TABLES[layer] = Tensor(layer.pe)
        rows = table[:length]
        return rows.reshape(length, 1, layer.d_model) if spread else rows

    return encoding


@contextmanager
def export_forwards(model: Module) -> Iterator[None]:
    """Within the block, each ``PositionalEncoding`` of ``model`` takes its rows from
    :func:`_positional_encoding` (an instance attribute, removed after, whatever happened)."""
    layers = [m for m in model.modules() if type(m) is PositionalEncoding and "_encoding" not in vars(m)]
    try:
        for layer in layers:
            object.__setattr__(layer, "_encoding", _positional_encoding(layer))
        yield
    finally:
        for layer in layers:
            vars(layer).pop("_encoding", None)
