"""The activation functions and their registry, the one table of activations that everything
reads: ``glassnet.nn`` builds a layer class from each entry, and the transformer, the plots, the
command line and the scikit-learn estimators look names up here.

Nothing here has a backward of its own: where an activation needs its own numerics (sigmoid,
softmax, softplus) the primitive lives in ``glassnet.ops`` with its backward beside it, and the
function here names it. Each function takes a Tensor of any shape ``(*)`` and returns one of the
same shape, and is safe for any finite input: no overflow warnings, no NaN at +-1e4.

To add an activation, define its function here under ``@register(...)``; its layer class, its
name on the command line and in the estimators follow from the entry. Then add its PyTorch twin
to ``tests/activation_twins.py``.

Example
-------
>>> from glassnet import functional as F
>>> entry = F.get_activation("logistic")
>>> entry.name, entry.module, entry.init
('sigmoid', 'Sigmoid', 'xavier_uniform')
>>> dict(F.get_activation("leaky_relu").parameters)
{'alpha': 0.01}
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from .. import ops
from .._checks import boolean, integer, real_number
from ..tensor import Tensor, ensure_tensor

# A new activation adds its name here too: glassnet.functional re-exports this list.
__all__ = [
    "ACTIVATIONS", "Activation", "get_activation", "hidden_activation_names", "register",
    "step", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "softmax", "log_softmax", "softplus", "silu",
    "gelu", "mish", "identity",
]


@dataclass(frozen=True)
class Activation:
    """One entry of the registry.

    Attributes
    ----------
    name : str
        The registry key, the function's name in ``glassnet.functional`` and the name the command
        line and the estimators accept, e.g. ``"leaky_relu"``.
    function : callable
        ``function(x, **parameters) -> Tensor``, e.g. ``F.leaky_relu``.
    module : str
        The name of its layer class in ``glassnet.nn``, e.g. ``"LeakyReLU"``.
    parameters : mapping (read-only)
        Its keyword parameters and their defaults, read from the function's signature, e.g.
        ``{"alpha": 0.01}``; empty for most.
    init : str
        The weight initialization suited to a Linear layer before it (a ``glassnet.init`` name):
        ``"he_uniform"`` for the ReLU family, ``"xavier_uniform"`` for the others.
    hidden : bool
        Usable between the hidden layers of an MLP (False for step, whose gradient is 0, and for
        softmax and log_softmax, which act along an axis).
    aliases : tuple of str
        Other names accepted for it, e.g. ``("logistic",)``, scikit-learn's name for the sigmoid.
    """

    name: str
    function: Callable
    module: str
    parameters: Mapping = field(hash=False)
    init: str
    hidden: bool = True
    aliases: tuple = ()

    def __call__(self, x, **parameters) -> Tensor:
        """The activation itself: ``F.ACTIVATIONS["relu"](x)`` is ``F.relu(x)``."""
        return self.function(x, **parameters)

    def check_parameters(self, **parameters) -> dict:
        """Every parameter of this activation: the given ones checked, the others at their
        defaults. A float default takes a finite real number, an int default an int (never a
        bool); TypeError for a wrong type or an unknown name, ValueError for a wrong value.

        Example
        -------
        >>> from glassnet import functional as F
        >>> F.get_activation("elu").check_parameters(alpha=2)
        {'alpha': 2.0}
        """
        unknown = sorted(set(parameters) - set(self.parameters))
        if unknown:
            raise TypeError(f"{self.name} takes the parameters {list(self.parameters)}, got {unknown}")
        return {name: _check_parameter(parameters.get(name, default), default, name)
                for name, default in self.parameters.items()}


ACTIVATIONS: dict[str, Activation] = {}  # every accepted name, aliases included -> its entry


def register(name: str, *, module: str, init: str, hidden: bool = True, aliases: tuple = ()) -> Callable:
    """Decorator: enter the function it decorates in ``ACTIVATIONS`` under ``name`` (and each
    alias). Its parameters are the keyword arguments after the input, with their defaults; each
    default must be a float or an int, which says what the parameter accepts.
    """
    def add(function: Callable) -> Callable:
        signature = list(inspect.signature(function).parameters.values())[1:]  # after the input x
        parameters = {parameter.name: parameter.default for parameter in signature}
        for key, default in parameters.items():
            if isinstance(default, bool) or not isinstance(default, (int, float)):
                raise TypeError(f"activation {name}: the default of {key} must be a float or an int, "
                                f"got {default!r}")
        if init not in ("he_uniform", "xavier_uniform"):
            raise ValueError(f"activation {name}: init must be 'he_uniform' or 'xavier_uniform', got {init!r}")
        # read-only: a caller editing entry.parameters would change every later default
        entry = Activation(name, function, module, MappingProxyType(parameters), init,
                           boolean(hidden, "hidden"), tuple(aliases))
        for key in (name, *entry.aliases):
            if key in ACTIVATIONS:
                raise ValueError(f"activation {key!r} is registered twice")
        ACTIVATIONS.update(dict.fromkeys((name, *entry.aliases), entry))
        return function
    return add


def get_activation(name: str) -> Activation:
    """The registry entry for ``name`` (an alias gives the entry it stands for).

    Example
    -------
    >>> from glassnet import functional as F
    >>> F.get_activation("relu").module
    'ReLU'
    """
    if not isinstance(name, str):
        raise TypeError(f"an activation is named by a str, got {type(name).__name__} {name!r}")
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; the known ones are {', '.join(ACTIVATIONS)}") from None


def hidden_activation_names(aliases: bool = False) -> tuple[str, ...]:
    """The names of the activations usable between hidden layers, in registry order: the choices
    of ``nn.mlp``, the command line's ``--activation`` and the estimators' ``activation``. With
    ``aliases=True`` the other accepted names (such as scikit-learn's 'logistic') are included.

    Example
    -------
    >>> from glassnet import functional as F
    >>> F.hidden_activation_names()[:4]
    ('sigmoid', 'tanh', 'relu', 'leaky_relu')
    >>> "logistic" in F.hidden_activation_names(aliases=True)
    True
    """
    return tuple(name for name, entry in ACTIVATIONS.items()
                 if entry.hidden and (aliases or name == entry.name))


def _check_parameter(value, default, name: str):
    """``value`` converted to the kind of ``default``: an int, or a finite float."""
    return integer(value, name) if isinstance(default, int) else real_number(value, name)


# ---- the activations, in the order the course meets them ---------------------------------------

@register("step", module="Step", init="xavier_uniform", hidden=False)
def step(x) -> Tensor:
    """The perceptron's step: phi(z) = 1 if z >= 0 else 0.

    Derivative: 0 wherever it exists (undefined at 0), so no gradient flows through it.

    >>> import numpy as np
    >>> from glassnet import functional as F
    >>> F.step(np.array([-0.5, 0.0, 2.0])).numpy()
    array([0., 1., 1.])
    """
    return ops.step(ensure_tensor(x))


@register("sigmoid", module="Sigmoid", init="xavier_uniform", aliases=("logistic",))
def sigmoid(x) -> Tensor:
    """phi(z) = 1 / (1 + e^-z), in (0, 1).

    Derivative: phi'(z) = phi(z) (1 - phi(z)), at most 1/4 (the vanishing gradient).

    >>> import numpy as np
    >>> from glassnet import functional as F
    >>> F.sigmoid(np.array([0.0])).numpy()
    array([0.5])
    """
    return ops.sigmoid(ensure_tensor(x))


@register("tanh", module="Tanh", init="xavier_uniform")
def tanh(x) -> Tensor:
    """phi(z) = tanh(z) = (e^z - e^-z) / (e^z + e^-z), in (-1, 1), zero-centred.

    Derivative: phi'(z) = 1 - tanh(z)^2.

    >>> import numpy as np
    >>> from glassnet import functional as F
    >>> F.tanh(np.array([0.0, 20.0])).numpy()
    array([0., 1.])
    """
    return ops.tanh(ensure_tensor(x))


@register("relu", module="ReLU", init="he_uniform")
def relu(x) -> Tensor:
    """phi(z) = max(0, z).

    Derivative: 1 for z > 0, 0 for z < 0 (and 0 at z = 0, as in PyTorch).

    >>> import numpy as np
    >>> from glassnet import functional as F
    >>> F.relu(np.array([-1.0, 2.0])).numpy()
    array([0., 2.])
    """
    return ops.relu(ensure_tensor(x))


@register("leaky_relu", module="LeakyReLU", init="he_uniform")
def leaky_relu(x, alpha: float = 0.01) -> Tensor:
    """phi(z) = z if z >= 0 else alpha z (alpha small, typically 0.01; PyTorch calls it
    ``negative_slope``).

    Derivative: 1 for z > 0, alpha for z <= 0 (the gradient never dies).

    >>> import numpy as np
    >>> from glassnet import functional as F
    >>> F.leaky_relu(np.array([-2.0, 3.0]), alpha=0.1).numpy()
    array([-0.2,  3. ])
    """
    x = ensure_tensor(x)
    return ops.where(x.data > 0, x, x * alpha)


@register("elu", module="ELU", init="he_uniform")
def elu(x, alpha: float = 1.0) -> Tensor:
    """phi(z) = z if z > 0 else alpha (e^z - 1).

    Derivative: 1 for z > 0, alpha e^z for z <= 0. The exponential is taken of min(z, 0) so
    that large positive z cannot overflow in the branch that is thrown away.
    (The gradient at exactly 0 is alpha, as in PyTorch.)

    >>> import numpy as np
    >>> from glassnet import functional as F
    >>> F.elu(np.array([-50.0, 2.0])).numpy()
    array([-1.,  2.])
    """
    x = ensure_tensor(x)
    negative = ops.exp(ops.clip(x, high=0.0)) - 1.0
    return ops.where(x.data > 0, x, negative * alpha)


@register("softmax", module="Softmax", init="xavier_uniform", hidden=False)
def softmax(x, axis: int = -1) -> Tensor:
    """phi(z)_i = e^(z_i) / sum_j e^(z_j) along ``axis`` (NumPy's name; PyTorch says ``dim``):
    probabilities that sum to 1.

    Derivative: d phi_i / d z_j = phi_i (delta_ij - phi_j).

    >>> import numpy as np
    >>> from glassnet import functional as F
    >>> F.softmax(np.log(np.array([[1.0, 3.0]]))).numpy()
    array([[0.25, 0.75]])
    """
    return ops.softmax(ensure_tensor(x), axis)


@register("log_softmax", module="LogSoftmax", init="xavier_uniform", hidden=False)
def log_softmax(x, axis: int = -1) -> Tensor:
    """log phi(z)_i = z_i - log sum_j e^(z_j) along ``axis``, computed with the max subtracted
    (no overflow).

    Derivative: d/dz_j log phi_i = delta_ij - phi_j.

    >>> import numpy as np
    >>> from glassnet import functional as F
    >>> np.exp(F.log_softmax(np.log(np.array([[1.0, 3.0]]))).numpy())
    array([[0.25, 0.75]])
    """
    return ops.log_softmax(ensure_tensor(x), axis)


@register("softplus", module="Softplus", init="xavier_uniform")
def softplus(x) -> Tensor:
    """phi(z) = log(1 + e^z), a smooth ReLU.

    Derivative: phi'(z) = sigmoid(z).

    >>> import numpy as np
    >>> from glassnet import functional as F
    >>> F.softplus(np.array([0.0, 100.0])).numpy().round(4)
    array([  0.6931, 100.    ])
    """
    return ops.softplus(ensure_tensor(x))


@register("silu", module="SiLU", init="he_uniform")
def silu(x) -> Tensor:
    """SiLU (swish): phi(z) = z sigmoid(z).

    Derivative: phi'(z) = sigmoid(z) (1 + z (1 - sigmoid(z))).

    >>> import numpy as np
    >>> from glassnet import functional as F
    >>> F.silu(np.array([0.0, 50.0])).numpy()
    array([ 0., 50.])
    """
    x = ensure_tensor(x)
    return x * ops.sigmoid(x)


@register("gelu", module="GELU", init="he_uniform")
def gelu(x) -> Tensor:
    """GELU, exact form (PyTorch's default): phi(z) = z Phi(z) = z (1 + erf(z / sqrt 2)) / 2, Phi
    the standard normal CDF.

    Derivative: phi'(z) = Phi(z) + z e^(-z^2/2) / sqrt(2 pi).

    >>> import numpy as np
    >>> from glassnet import functional as F
    >>> F.gelu(np.array([0.0, 10.0])).numpy()
    array([ 0., 10.])
    """
    x = ensure_tensor(x)
    return x * ((ops.erf(x * (1.0 / math.sqrt(2.0))) + 1.0) * 0.5)


@register("mish", module="Mish", init="he_uniform")
def mish(x) -> Tensor:
    """Mish: phi(z) = z tanh(softplus(z)), a smooth, non-monotonic ReLU-like unit.

    Derivative: phi'(z) = tanh(sp) + z sigmoid(z) (1 - tanh(sp)^2), with sp = softplus(z).

    >>> import numpy as np
    >>> from glassnet import functional as F
    >>> F.mish(np.array([0.0, 1.0, 100.0])).numpy().round(4)
    array([  0.    ,   0.8651, 100.    ])
    """
    x = ensure_tensor(x)
    return x * ops.tanh(ops.softplus(x))


@register("identity", module="Identity", init="xavier_uniform")
def identity(x) -> Tensor:
    """phi(z) = z: its input, as a Tensor; a placeholder for "no activation".

    Derivative: 1.

    >>> import numpy as np
    >>> from glassnet import functional as F
    >>> F.identity(np.array([-1.0, 2.0])).numpy()
    array([-1.,  2.])
    """
    return ensure_tensor(x)
