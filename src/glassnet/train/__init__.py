"""Training: the fit loop, callbacks and metrics."""

from . import metrics
from .backup import BackupAndRestore
from .callbacks import (
    Callback,
    CallbackList,
    EarlyStopping,
    History,
    LearningRateSchedule,
    TerminateOnNaN,
)
from .checkpoint import ModelCheckpoint
from .ensemble import Ensemble
from .fit import evaluate, fit, predict
from .progress import ProgressBar

__all__ = [
    "BackupAndRestore", "Callback", "CallbackList", "EarlyStopping", "Ensemble", "History", "LearningRateSchedule",
    "ModelCheckpoint", "ProgressBar", "TerminateOnNaN", "evaluate", "fit", "metrics", "predict",
]
