"""The math of the layers, as functions of Tensors (PyTorch's ``torch.nn.functional``), one file
per family:

- ``activations``: the activation functions (step, sigmoid, tanh, relu, leaky_relu, ...: every
  name in ``ACTIVATIONS``) and their registry (``ACTIVATIONS``, ``get_activation``)
- ``core``: linear, dropout
- ``conv``: conv1d, conv2d, conv_transpose (1d, 2d), max/avg pooling, global_avg_pool, flatten
- ``interpolate``: interpolate (nearest, linear, bilinear resizing)
- ``normalization``: batch_norm, layer_norm
- ``attention``: scaled_dot_product_attention, attention_bias, sinusoidal_positional_encoding
- ``embeddings``: embedding
- ``similarity``: normalize, cosine_similarity

The primitives that need their own backward live in ``glassnet.ops``; these functions compose
them, check their arguments and accept ints or tuples for sizes, as PyTorch's do.

Example
-------
>>> import numpy as np, glassnet as gn
>>> from glassnet import functional as F
>>> F.relu(gn.Tensor(np.array([-1.0, 2.0]))).numpy()
array([0., 2.])
"""

from . import activations
from .activations import *  # noqa: F403 (the activations and their registry: activations.__all__)
from .attention import attention_bias, scaled_dot_product_attention, sinusoidal_positional_encoding
from .conv import (
    avg_pool1d,
    avg_pool2d,
    conv1d,
    conv2d,
    conv_transpose,
    conv_transpose1d,
    conv_transpose2d,
    flatten,
    global_avg_pool,
    max_pool1d,
    max_pool2d,
)
from .core import dropout, linear
from .embeddings import embedding
from .interpolate import interpolate
from .normalization import batch_norm, layer_norm
from .similarity import cosine_similarity, normalize

__all__ = [
    # linear maps and dropout
    "dropout", "linear",
    # convolution, pooling, flatten
    "avg_pool1d", "avg_pool2d", "conv1d", "conv2d", "conv_transpose", "conv_transpose1d",
    "conv_transpose2d", "flatten", "global_avg_pool", "max_pool1d",
    "max_pool2d",
    # resizing
    "interpolate",
    # normalization
    "batch_norm", "layer_norm",
    # attention and positional encoding
    "attention_bias", "scaled_dot_product_attention", "sinusoidal_positional_encoding",
    # embedding
    "embedding",
    # unit vectors and cosine similarity
    "cosine_similarity", "normalize",
]
__all__ += activations.__all__
