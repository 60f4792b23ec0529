"""Training: the fit loop, callbacks and metrics."""

from . import metrics
from .backup import BackupAndRestore
from .callbacks import (
    Callback,
    CallbackList,
    EarlyStopping,
    History,
    TerminateOnNaN,
)
from .checkpoint import ModelCheckpoint
from .diagnostics import Diagnosis, Finding, GradientMonitor, diagnose
from .ensemble import Ensemble
from .fit import evaluate, fit, predict
from .progress import ProgressBar
from .schedule import LearningRateSchedule

__all__ = [
    "BackupAndRestore", "Callback", "CallbackList", "EarlyStopping", "Ensemble", "History", "LearningRateSchedule",
    "ModelCheckpoint", "ProgressBar", "TerminateOnNaN", "evaluate", "fit", "metrics", "predict",
    "Diagnosis", "Finding", "GradientMonitor", "diagnose",
]
