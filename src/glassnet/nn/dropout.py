"""Dropout: randomly silence units during training."""

from __future__ import annotations

from .. import functional as F
from .._checks import probability
from ..random import get_rng
from ..tensor import Tensor
from .module import Module

__all__ = ["Dropout"]


class Dropout(Module):
    """Inverted dropout: in training, zero each value with probability ``p`` and scale the others
    by 1 / (1 - p), so that the expected value is unchanged; in evaluation mode, the identity.
    The gradient flows through the kept values, scaled by the same 1 / (1 - p). See ``F.dropout``.

    Parameters
    ----------
    p : float in [0, 1)
        Probability of dropping a value.
    rng : int, numpy.random.Generator or None
        Randomness of the masks. A seed makes one generator, drawn from call after call (the
        masks differ between calls but the sequence is reproducible). None: the library's default
        generator at each call (see ``glassnet.seed``).

    Shape
    -----
    - input: ``(*)``, any shape
    - output: ``(*)``, the same shape

    Example
    -------
    >>> import numpy as np
    >>> from glassnet import nn
    >>> layer = nn.Dropout(p=0.5, rng=0)
    >>> y = layer(np.ones((2, 4)))
    >>> sorted(set(y.numpy().ravel().tolist()))
    [0.0, 2.0]
    >>> layer.eval()(np.ones(3)).numpy()
    array([1., 1., 1.])
    """

    def __init__(self, p: float = 0.5, rng=None) -> None:
        super().__init__()
        self.p = probability(p, "p")
        # Resolve a seed once: passing the int on each call would repeat the same mask.
        self.rng = None if rng is None else get_rng(rng)

    def forward(self, x) -> Tensor:
        return F.dropout(x, self.p, training=self.training, rng=self.rng)

    def extra_repr(self) -> str:
        return f"p={self.p}"

    def get_config(self) -> dict:
        """``{"p": p}``. The generator is not recorded: a rebuilt layer draws its masks from the
        default generator (``glassnet.seed``) unless it is given a new ``rng``."""
        return {"p": self.p}
