"""A training run for test_train_backup.py, run as a child process that may be killed by SIGKILL.

``python backup_child.py SPEC.json``: SPEC holds ``out`` (a folder), ``seed`` (fit's seed, or
null: then only ``gn.seed`` makes the run reproducible), ``save_freq``, ``epochs`` and ``kill``:
null, ``["batch", epoch, batch]`` (after that batch's hooks), ``["epoch", epoch]`` (when that
epoch begins: the previous epoch's backup is written), ``["train_end"]`` (before the backup is
deleted) or ``["replace", n]`` (inside the n-th
``os.replace``, before it renames: a kill in the middle of writing a backup). It writes the final
weights' bytes to ``out/weights.bin`` (not a safetensors file: the order of its metadata differs
from process to process) and ``out/run.json``: the history and the batches it ran.
"""

import json
import os
import signal
import sys

import numpy as np

import glassnet as gn
from glassnet import nn, optim
from glassnet.data.augment import GaussianNoise


class Killer(gn.Callback):
    """SIGKILLs its own process at a chosen point, and counts the batches this process ran."""

    def __init__(self, kill) -> None:
        self.kill, self.batches = kill, 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        if self.kill == ["epoch", epoch]:
            os.kill(os.getpid(), signal.SIGKILL)

    def on_batch_end(self, batch, logs=None):
        self.batches += 1
        if self.kill == ["batch", self.epoch, batch]:
            os.kill(os.getpid(), signal.SIGKILL)

    def on_train_end(self, logs=None):
        if self.kill == ["train_end"]:  # EarlyStopping has stopped the run, the backup is not yet deleted
            os.kill(os.getpid(), signal.SIGKILL)


def kill_inside_replace(n: int) -> None:
    replace, calls = os.replace, []

    def killing_replace(source, target, *args, **kwargs):
        calls.append(target)
        if len(calls) == n:
            os.kill(os.getpid(), signal.SIGKILL)  # the new backup is written, not yet renamed
        return replace(source, target, *args, **kwargs)

    os.replace = killing_replace


def main(spec: dict) -> None:
    if spec["kill"] and spec["kill"][0] == "replace":
        kill_inside_replace(spec["kill"][1])
    gn.seed(11)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 6)).astype(np.float32)
    y = ((X[:, 0] + rng.normal(scale=1.0, size=90)) > 0).astype(np.int64)  # noisy: it overfits
    model = nn.Sequential(nn.Linear(6, 32, rng=0), nn.BatchNorm1d(32), nn.ReLU(),  # buffers, one of them 0-d
                          nn.Dropout(0.3),  # draws from the default generator
                          nn.Linear(32, 32, rng=1), nn.Tanh(), nn.Dropout(0.2, rng=5),  # its own
                          nn.Linear(32, 2, rng=2))
    killer = Killer(spec["kill"] if spec["kill"] and spec["kill"][0] != "replace" else None)
    callbacks = [gn.LearningRateSchedule("exponential", gamma=0.8),
                 gn.EarlyStopping(monitor="val_loss", patience=spec.get("patience", 4), restore_best_weights=True),
                 killer, gn.BackupAndRestore(os.path.join(spec["out"], "backup"), save_freq=spec["save_freq"])]
    history = gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.Adam(model.parameters(), lr=0.02),
                     epochs=spec["epochs"], batch_size=16, shuffle=True, validation_split=0.25,
                     augment=GaussianNoise(0.05), callbacks=callbacks, seed=spec["seed"], verbose=0)
    with open(os.path.join(spec["out"], "weights.bin"), "wb") as file:  # the raw bytes of every array, in order
        file.write(b"".join(array.tobytes() for array in model.state_dict().values()))
    with open(os.path.join(spec["out"], "run.json"), "w") as file:
        json.dump({"history": history.history, "epoch": history.epoch, "batches": killer.batches}, file)


if __name__ == "__main__":
    with open(sys.argv[1]) as spec_file:
        main(json.load(spec_file))
