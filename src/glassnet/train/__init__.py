"""Training: the fit loop, callbacks and metrics."""

from .callbacks import (
    Callback, EarlyStopping, History, LearningRateSchedule, ModelCheckpoint, TerminateOnNaN,
)
from .progress import ProgressBar
from .ensemble import Ensemble
from .fit import evaluate, fit, predict
from . import metrics

__all__ = [
    "Callback", "EarlyStopping", "Ensemble", "History", "LearningRateSchedule", "ModelCheckpoint", "ProgressBar",
    "TerminateOnNaN", "evaluate", "fit", "metrics", "predict",
]
