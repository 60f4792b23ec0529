"""Modules (layers) with learnable parameters, PyTorch-style: ``nn.Module``, ``nn.Linear``,
``nn.Sequential``, the activation layers, ``nn.Dropout`` and ``nn.BatchNorm1d``.

Example
-------
>>> import numpy as np
>>> from glassnet import nn
>>> model = nn.Sequential(nn.Linear(2, 8, rng=0), nn.ReLU(), nn.Linear(8, 3, rng=1))
>>> model(np.zeros((4, 2))).shape
(4, 3)
"""

from . import activation
from .activation import *  # noqa: F403 (a layer class per registered activation: activation.__all__)
from .activation import make_activation
from .attention import MultiheadAttention
from .builder import mlp
from .container import Sequential
from .conv import Conv1d, Conv2d
from .conv_transpose import ConvTranspose1d, ConvTranspose2d
from .dropout import Dropout
from .embedding import Embedding
from .linear import Linear
from .module import LoadResult, Module, Parameter
from .normalization import BatchNorm1d, BatchNorm2d, LayerNorm
from .pooling import (
    AvgPool1d,
    AvgPool2d,
    Flatten,
    GlobalAvgPool1d,
    GlobalAvgPool2d,
    MaxPool1d,
    MaxPool2d,
    Unflatten,
)
from .preprocessing import Impute, Standardize
from .recurrent import GRU, LSTM, RNN
from .transformer import PositionalEncoding, TransformerEncoder, TransformerEncoderLayer
from .upsample import Upsample

__all__ = [
    "AvgPool1d", "AvgPool2d", "BatchNorm2d", "Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d",
    "Embedding", "Flatten",
    "GlobalAvgPool1d", "GlobalAvgPool2d", "Impute", "LayerNorm", "MaxPool1d", "MaxPool2d",
    "BatchNorm1d", "Dropout", "Linear", "LoadResult", "Module", "Parameter", "Sequential", "Standardize",
    "make_activation",
    "GRU", "LSTM", "RNN",
    "MultiheadAttention", "PositionalEncoding", "TransformerEncoder", "TransformerEncoderLayer",
    "mlp", "Unflatten", "Upsample",
]
__all__ += activation.__all__  # Step, Sigmoid, ..., Identity: one per registry entry



def __getattr__(name: str) -> type[activation._ActivationLayer]:
    """PEP 562: the layer class of an activation registered after import (``nn.Hardtanh``); type
    checkers read any other name of glassnet.nn as an activation layer class (see
    nn/activation.py for the trade-off)."""
    try:
        return getattr(activation, name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
