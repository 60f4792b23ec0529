"""The fully connected layer: z = x @ W + b."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import functional as F
from .. import init
from .._checks import boolean, float_dtype, positive_int
from ..random import get_rng
from ..tensor import Parameter, Tensor
from .module import Module, state_array

__all__ = ["Linear"]


class Linear(Module):
    """A fully connected layer: z = x @ W + b, the course's z = W^T x + b for a batch of rows.

    Parameters
    ----------
    in_features : int
        Size of each input vector.
    out_features : int
        Size of each output vector (the number of units).
    bias : bool
        Learn the bias b (default). With ``bias=False``, ``self.bias`` is None and z = x @ W.
    weight_init, bias_init : str or callable
        How ``reset_parameters`` fills W and b: a name from ``glassnet.init.INITIALIZERS``
        ("xavier_uniform", "he_normal", "zeros", ...) or a function
        ``fn(shape, dtype=..., rng=...) -> ndarray``. The default is Xavier/Glorot uniform weights
        and zero biases, as in Keras. PyTorch's default differs: U(-1/sqrt(in), 1/sqrt(in)) for
        both W and b (Kaiming uniform with a = sqrt(5)).
    dtype : float32 or float64
        dtype of the parameters; inputs are converted to it (a Tensor of another dtype is an
        error: glassnet never casts silently).
    rng : int, numpy.random.Generator or None
        Randomness of the initialization (None: the default generator, see ``glassnet.seed``).

    Attributes
    ----------
    weight : Parameter, shape (in_features, out_features)
        W. PyTorch's ``nn.Linear.weight`` is its transpose, ``(out_features, in_features)``.
    bias : Parameter of shape (out_features,), or None

    Shape
    -----
    - input x: ``(..., in_features)``, any number of leading axes (batch, sequence, ...)
    - output z: ``(..., out_features)``

    Example
    -------
    >>> import numpy as np
    >>> from glassnet import nn
    >>> layer = nn.Linear(3, 2, rng=0)
    >>> layer.weight.shape, layer.bias.shape
    ((3, 2), (2,))
    >>> layer(np.ones((5, 3))).shape
    (5, 2)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 weight_init="xavier_uniform", bias_init="zeros", dtype=np.float32, rng=None) -> None:
        super().__init__()
        self.in_features = positive_int(in_features, "in_features")
        self.out_features = positive_int(out_features, "out_features")
        bias = boolean(bias, "bias")
        self.weight_init = init.get(weight_init)
        self.bias_init = init.get(bias_init)
        self.dtype = float_dtype(dtype)
        self.weight = Parameter(state_array((self.in_features, self.out_features), self.dtype))
        if bias:
            self.bias = Parameter(state_array(self.out_features, self.dtype))
        else:
            self.register_parameter("bias", None)  # an empty slot: z = x @ W
        self.reset_parameters(rng)

    def reset_parameters(self, rng=None) -> None:
        """Refill W (and b) from the initializers, in place, so that an optimizer that holds the
        parameters keeps working. ``rng``: seed, Generator or None."""
        generator = get_rng(rng)  # one generator for W and b: a seed must not be reused for both
        self.weight.data[...] = _initial_values(self.weight_init, self.weight.shape, self.dtype,
                                                generator, "weight_init")
        if self.bias is not None:
            self.bias.data[...] = _initial_values(self.bias_init, self.bias.shape, self.dtype,
                                                  generator, "bias_init")

    def forward(self, x) -> Tensor:
        shape = np.shape(x.data if isinstance(x, Tensor) else x)
        if len(shape) == 0 or shape[-1] != self.in_features:
            raise ValueError(
                f"Linear(in_features={self.in_features}, out_features={self.out_features}) expects "
                f"an input whose last dimension is {self.in_features}, got shape {shape}"
            )
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")

    def get_config(self) -> dict:
        """The arguments that rebuild this layer (see ``Module.get_config``). An initializer is
        recorded by its name in ``glassnet.init.INITIALIZERS``; a custom initializer function has
        no name to record and is left out (the default is used), which only matters for a later
        ``reset_parameters``: the weights themselves are saved. ``rng`` is not recorded."""
        config: dict[str, Any] = {"in_features": self.in_features, "out_features": self.out_features,
                  "bias": self.bias is not None}
        config.update(init.initializer_config(self))
        config["dtype"] = self.dtype.name
        return config


def _initial_values(initializer, shape: tuple, dtype, rng, what: str) -> np.ndarray:
    """Call an initializer and check that it returned an array of the asked shape."""
    values = np.asarray(initializer(shape, dtype=dtype, rng=rng))
    if values.shape != tuple(shape):
        name = getattr(initializer, "__name__", repr(initializer))
        raise ValueError(f"{what} {name} returned an array of shape {values.shape}, expected {tuple(shape)}")
    return values
