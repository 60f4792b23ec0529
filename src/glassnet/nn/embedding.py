"""The embedding layer: a learned vector per token id (lookup in ``glassnet.functional``,
primitive and backward in ``glassnet.ops.embedding``)."""

from __future__ import annotations

import numpy as np

from .. import functional as F
from .._checks import float_dtype, integer, positive_int
from ..random import get_rng
from ..tensor import Parameter, Tensor
from .module import Module, state_array

__all__ = ["Embedding"]


class Embedding(Module):
    """A table of ``num_embeddings`` learned vectors of size ``embedding_dim``; an integer index
    picks its row. Equivalent to a Linear layer without bias applied to one-hot vectors, without
    building them.

    Parameters
    ----------
    num_embeddings : int
        The number of ids (the vocabulary size); valid indices are 0 .. num_embeddings - 1.
    embedding_dim : int
        The size of each vector.
    padding_idx : int or None
        An id whose row gets no gradient (it stays as initialized: zeros), for the padding of
        sequences of unequal length. A negative value counts from the end, as in PyTorch.
    dtype : float32 or float64
    rng : int, numpy.random.Generator or None
        Randomness of the initialization: N(0, 1), PyTorch's default.

    Attributes
    ----------
    weight : Parameter, shape (num_embeddings, embedding_dim)

    Shape
    -----
    - input: integer indices of any shape ``(*)``, a NumPy array or a list (not a Tensor:
      Tensors hold floats)
    - output: ``(*, embedding_dim)``

    Example
    -------
    >>> import numpy as np
    >>> from glassnet import nn
    >>> layer = nn.Embedding(10, 4, padding_idx=0, rng=0)
    >>> tokens = np.array([[1, 2, 0], [3, 0, 0]])
    >>> out = layer(tokens)
    >>> out.shape
    (2, 3, 4)
    >>> out.sum().backward()
    >>> layer.weight.grad[0], layer.weight.grad[2]
    (array([0., 0., 0., 0.], dtype=float32), array([1., 1., 1., 1.], dtype=float32))
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 dtype=np.float32, rng=None) -> None:
        super().__init__()
        self.num_embeddings = positive_int(num_embeddings, "num_embeddings")
        self.embedding_dim = positive_int(embedding_dim, "embedding_dim")
        padding_idx = integer(padding_idx, "padding_idx", allow_none=True)
        if padding_idx is not None:
            if not -self.num_embeddings <= padding_idx < self.num_embeddings:
                raise ValueError(f"padding_idx must be in [-{self.num_embeddings}, "
                                 f"{self.num_embeddings}), got {padding_idx}")
            padding_idx %= self.num_embeddings
        self.padding_idx = padding_idx
        self.dtype = float_dtype(dtype)
        self.weight = Parameter(state_array((self.num_embeddings, self.embedding_dim), self.dtype))
        self.reset_parameters(rng)

    def reset_parameters(self, rng=None) -> None:
        """Refill the table from N(0, 1) in place, with the padding row zero."""
        self.weight.data[...] = get_rng(rng).standard_normal(self.weight.shape)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    def forward(self, indices) -> Tensor:
        return F.embedding(indices, self.weight, self.padding_idx)

    def get_config(self) -> dict:
        return {"num_embeddings": self.num_embeddings, "embedding_dim": self.embedding_dim,
                "padding_idx": self.padding_idx, "dtype": self.dtype.name}

    def extra_repr(self) -> str:
        extra = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{extra}"
