"""The PyTorch twin of every activation in glassnet's registry (``glassnet.functional.ACTIVATIONS``),
for the oracle tests of glassnet.functional, glassnet.nn and the transformer.

A twin is ``twin(t, **parameters)`` with glassnet's parameter names (alpha, axis), and is always
called with every parameter given. A new activation adds its line to ``TWINS`` (and, if it has
parameters, a line of other values to try to ``OTHER_PARAMETERS``); the tests then check it against
PyTorch as a function, as a layer, saved and loaded, and inside a transformer.
"""

import torch
import torch.nn.functional as TF

from glassnet import functional as F

TWINS = {  # registry name: PyTorch
    "step": lambda t: (t >= 0).to(t.dtype) + 0 * t,  # torch has no step; 0 * t: a zero gradient in torch
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": TF.relu,
    "leaky_relu": lambda t, alpha: TF.leaky_relu(t, negative_slope=alpha),
    "elu": lambda t, alpha: TF.elu(t, alpha=alpha),
    "softmax": lambda t, axis: TF.softmax(t, dim=axis),
    "log_softmax": lambda t, axis: TF.log_softmax(t, dim=axis),
    "softplus": TF.softplus,
    "silu": TF.silu,
    "gelu": TF.gelu,  # PyTorch's default is the exact erf form
    "mish": TF.mish,
    "identity": lambda t: t * 1,
}

OTHER_PARAMETERS = {  # registry name: parameters other than the defaults, each list tried too
    "leaky_relu": [{"alpha": 0.2}],
    "elu": [{"alpha": 0.5}],
    "softmax": [{"axis": 0}],
    "log_softmax": [{"axis": 0}],
}


def registered_names() -> list:
    """Every canonical registry name (no aliases), in registry order."""
    return [name for name, entry in F.ACTIVATIONS.items() if name == entry.name]


def cases() -> dict:
    """Test id -> (registry name, parameters): every registered activation at its defaults
    (parameters ``{}``, so that the defaults themselves are exercised) and at the other values
    of ``OTHER_PARAMETERS``. The ids are the names, then e.g. "leaky_relu alpha=0.2"."""
    found = {}
    for name in registered_names():
        found[name] = (name, {})
        for parameters in OTHER_PARAMETERS.get(name, []):
            label = " ".join(f"{key}={value}" for key, value in parameters.items())
            found[f"{name} {label}"] = (name, parameters)
    return found


def glassnet_and_torch(name: str, parameters: dict):
    """(glassnet's function, PyTorch's twin) of one case; the twin gets every parameter, at the
    registry's defaults where the case gives none."""
    entry = F.get_activation(name)
    given = entry.check_parameters(**parameters)
    return (lambda x: entry.function(x, **parameters)), (lambda t: TWINS[name](t, **given))
