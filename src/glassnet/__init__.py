"""glassnet: a glass-box neural-network library on NumPy.

Every op's forward and backward stand side by side in ``glassnet.ops``; every op, layer, loss
and optimizer is checked against finite differences and against PyTorch in the test suite.
"""

__version__ = "0.1.0"

from . import (  # noqa: E402  # noqa: E402
    data,
    functional,
    init,
    io,  # noqa: E402
    losses,
    nn,
    ops,
    optim,
    plot,
    train,
)
from .gradcheck import GradcheckError, gradcheck  # noqa: E402
from .io import load, load_weights, save, save_weights  # noqa: E402
from .ops import concatenate, maximum, minimum, stack, where  # noqa: E402
from .random import seed  # noqa: E402
from .tensor import Parameter, Tensor, is_grad_enabled, no_grad, tensor  # noqa: E402
from .train import (  # noqa: E402
    Callback,
    EarlyStopping,
    History,
    LearningRateSchedule,
    ModelCheckpoint,
    ProgressBar,
    TerminateOnNaN,
    evaluate,
    fit,
    predict,
)

__all__ = [
    "GradcheckError", "Parameter", "Tensor", "__version__", "concatenate", "functional",
    "gradcheck", "init", "is_grad_enabled", "losses", "maximum", "minimum", "nn", "no_grad",
    "ops", "optim", "seed", "stack", "tensor", "where",
    "io", "load", "load_weights", "save", "save_weights",
    "data", "plot", "train", "Callback", "EarlyStopping", "History", "LearningRateSchedule",
    "ModelCheckpoint", "ProgressBar", "TerminateOnNaN", "evaluate", "fit", "predict",
]
