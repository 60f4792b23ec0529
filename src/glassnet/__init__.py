"""glassnet: a glass-box neural-network library on NumPy.

Every op's forward and backward stand side by side in ``glassnet.ops``; every op, layer, loss
and optimizer is checked against finite differences and against PyTorch in the test suite.
"""

from . import (
    data,
    distributions,
    functional,
    init,
    io,
    losses,
    nn,
    ops,
    optim,
    plot,
    train,
)
from ._malloc import tune_malloc as _tune_malloc
from ._version import __version__
from .gradcheck import GradcheckError, gradcheck
from .io import load, load_weights, save, save_weights
from .ops import concatenate, maximum, minimum, stack, where
from .random import seed
from .tensor import Parameter, Tensor, enable_grad, is_grad_enabled, no_grad, tensor
from .train import (
    BackupAndRestore,
    Callback,
    EarlyStopping,
    GradientMonitor,
    History,
    LearningRateSchedule,
    ModelCheckpoint,
    ProgressBar,
    TerminateOnNaN,
    diagnose,
    evaluate,
    fit,
    predict,
)

_tune_malloc()  # glibc's allocator keeps a step's temporaries on warm pages: see _malloc.py

__all__ = [
    "GradcheckError", "Parameter", "Tensor", "__version__", "concatenate", "distributions", "functional",
    "enable_grad", "gradcheck", "init", "is_grad_enabled", "losses", "maximum", "minimum", "nn", "no_grad",
    "ops", "optim", "seed", "stack", "tensor", "where",
    "io", "load", "load_weights", "save", "save_weights",
    "data", "plot", "train", "BackupAndRestore", "Callback", "EarlyStopping", "History", "LearningRateSchedule",
    "ModelCheckpoint", "ProgressBar", "TerminateOnNaN", "evaluate", "fit", "predict",
    "GradientMonitor", "diagnose",
]
