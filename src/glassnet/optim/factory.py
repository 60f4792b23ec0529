"""Optimizers by name: one factory for the CLI's ``--optimizer``, the scikit-learn estimators'
``solver`` and any code that takes an optimizer's name as a setting.

Example
-------
>>> import numpy as np, glassnet as gn
>>> w = gn.Parameter(np.array([1.0, -2.0]))
>>> gn.optim.make_optimizer("nesterov", [w], lr=0.1)
SGD(1 parameters, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.0)
"""

from __future__ import annotations

import inspect

from .._checks import one_of
from .adagrad import Adagrad
from .adam import Adam, Adamax, AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["OPTIMIZERS", "make_optimizer"]

# name -> (class, the hyperparameters the name stands for); the classes' defaults do the rest
_PRESETS = {
    "sgd": (SGD, {}),
    "momentum": (SGD, {"momentum": 0.9}),                       # the course's gamma = 0.9
    "nesterov": (SGD, {"momentum": 0.9, "nesterov": True}),
    "adagrad": (Adagrad, {}),
    "rmsprop": (RMSprop, {}),
    "adam": (Adam, {}),
    "adamw": (AdamW, {}),
    "adamax": (Adamax, {}),
}
OPTIMIZERS = tuple(_PRESETS)


def make_optimizer(name: str, params, lr: float, **hyperparameters) -> Optimizer:
    """The optimizer called ``name`` over ``params`` with learning rate ``lr``.

    Parameters
    ----------
    name : str
        One of ``OPTIMIZERS``: 'sgd' (plain), 'momentum' (SGD with momentum 0.9), 'nesterov'
        (the same with Nesterov's look-ahead), 'adagrad', 'rmsprop', 'adam', 'adamw', 'adamax'.
    params : iterable of Parameter
        E.g. ``model.parameters()``.
    lr : float
        The learning rate eta (> 0).
    **hyperparameters
        Passed to the optimizer's class, over what the name implies: ``weight_decay=1e-4``,
        ``betas=(0.9, 0.99)``, ``make_optimizer("momentum", params, 0.1, momentum=0.5)``.

    Returns
    -------
    Optimizer
        An ``SGD``, ``Adagrad``, ``RMSprop``, ``Adam``, ``AdamW`` or ``Adamax``.

    Raises
    ------
    ValueError
        For an unknown name (or a bad value, from the optimizer).
    TypeError
        For a name that is not a string, or a hyperparameter the optimizer does not take (the
        message lists those it takes).

    Example
    -------
    >>> import numpy as np, glassnet as gn
    >>> w = gn.Parameter(np.array([1.0, -2.0]))
    >>> gn.optim.make_optimizer("adamw", [w], lr=0.01, weight_decay=0.1)
    AdamW(1 parameters, lr=0.01, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.1, amsgrad=False)
    """
    cls, preset = _PRESETS[one_of(name, "optimizer", OPTIMIZERS)]
    accepted = [key for key in inspect.signature(cls).parameters if key not in ("params", "lr")]
    for key in hyperparameters:
        if key not in accepted:
            raise TypeError(f"optimizer {name!r} ({cls.__name__}) has no hyperparameter {key!r}; "
                            f"it takes {', '.join(accepted)}")
    return cls(params, lr=lr, **{**preset, **hyperparameters})
