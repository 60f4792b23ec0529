"""The callbacks ``glassnet train`` adds from its options: ``--early-stopping``, ``--resume`` (a
BackupAndRestore) and ``--diagnose`` (a GradientMonitor, whose report it prints after training)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def train_callbacks(args, backup_dir: Path) -> tuple[list, Any, Any]:
    """``(callbacks, the BackupAndRestore or None, the GradientMonitor or None)``. The backup is
    kept until the model is saved (a failed save loses nothing); it goes last, after the monitor,
    so that it saves the monitor's records too."""
    import glassnet as gn

    callbacks: list = []
    if args.early_stopping:
        callbacks.append(gn.EarlyStopping(monitor="val_loss", patience=args.early_stopping,
                                          restore_best_weights=True))
    monitor = gn.GradientMonitor() if args.diagnose else None
    backup = gn.BackupAndRestore(backup_dir, delete_checkpoint=False) if args.resume else None
    callbacks += [c for c in (monitor, backup) if c is not None]
    return callbacks, backup, monitor


def print_diagnosis(monitor, stream) -> None:
    """``--diagnose``: the monitor's per-layer table and its findings (or "no problems found")."""
    print(f"diagnosis ({len(monitor.records)} epochs recorded):", file=stream)
    print(monitor.report(), file=stream)
