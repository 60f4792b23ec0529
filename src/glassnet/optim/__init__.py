"""Optimizers, gradient clipping and penalties.

Example
-------
>>> import numpy as np, glassnet as gn
>>> w = gn.Parameter(np.array([1.0, -2.0]))
>>> opt = gn.optim.Adam([w], lr=0.1)
>>> for _ in range(3):
...     opt.zero_grad()
...     (w * w).sum().backward()
...     opt.step()
"""

from .adagrad import Adagrad
from .adam import Adam, Adamax, AdamW
from .clip import clip_grad_norm, clip_grad_value
from .factory import OPTIMIZERS, make_optimizer
from .optimizer import Optimizer, whole_steps
from .penalties import l1_penalty, l2_penalty
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = [
    "Adagrad", "Adam", "Adamax", "AdamW", "Optimizer", "RMSprop", "SGD", "clip_grad_norm",
    "clip_grad_value", "l1_penalty", "l2_penalty", "OPTIMIZERS", "make_optimizer", "whole_steps",
]
