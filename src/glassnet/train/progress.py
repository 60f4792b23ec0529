"""The progress bar ``fit`` shows: a ``rich`` bar on a terminal, plain lines elsewhere."""

from __future__ import annotations

import sys
import time

from .._checks import non_negative_int
from .callbacks import Callback, check_stream


class ProgressBar(Callback):
    """Progress of ``fit``: on a terminal, a ``rich`` bar per epoch with the batch loss, the
    time left, and the epoch's metrics when it ends; when the output is not a terminal (a file,
    a pipe, a notebook log), one plain line per epoch; at ``verbose=0``, nothing.

    ``fit`` adds one by itself (with its ``verbose``) unless its callbacks hold one.

    Parameters
    ----------
    verbose : int
        0: silent; 1 or more: shown.
    stream : file, optional
        Where to write (standard output by default).

    Example
    -------
    >>> import io, numpy as np, glassnet as gn
    >>> from glassnet import nn, optim
    >>> model, log = nn.Sequential(nn.Linear(1, 2, rng=0)), io.StringIO()
    >>> history = gn.fit(model, np.array([[-1.0], [1.0]]), np.array([0, 1]), loss="cross_entropy",
    ...                  optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=2,
    ...                  callbacks=[gn.ProgressBar(stream=log)])
    >>> log.getvalue().splitlines()[1].startswith("epoch 2/2  loss ")
    True
    """

    def __init__(self, verbose: int = 1, stream=None) -> None:
        self.verbose = non_negative_int(verbose, "verbose")
        self.stream = check_stream(stream, "ProgressBar")
        self.progress = None

    def _out(self):
        return self.stream or sys.stdout

    def on_train_begin(self, logs=None):
        self.epochs, self.steps = self.params.get("epochs"), self.params.get("steps")
        self.interactive = self.verbose > 0 and getattr(self._out(), "isatty", lambda: False)()
        self.progress = None
        if self.interactive:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            self.progress = Progress(TextColumn("epoch {task.fields[epoch]}"), BarColumn(),
                                     TextColumn("{task.fields[info]}"), TimeRemainingColumn(),
                                     console=Console(file=self._out()), transient=False)
            self.progress.start()

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()
        if self.progress is not None:
            self.task = self.progress.add_task("", total=self.steps, epoch=f"{epoch + 1}/{self.epochs}", info="")

    def on_batch_end(self, batch, logs=None):
        if self.progress is not None:
            info = f"loss {logs['loss']:.4f}" if logs and "loss" in logs else ""
            self.progress.update(self.task, advance=1, info=info)

    def on_epoch_end(self, epoch, logs=None):
        text = "  ".join(f"{key} {value:.4f}" for key, value in (logs or {}).items() if key != "lr")
        if self.progress is not None:
            self.progress.update(self.task, completed=self.steps, info=text)
        elif self.verbose > 0:
            seconds = time.perf_counter() - self.started
            print(f"epoch {epoch + 1}/{self.epochs}  {text}  ({seconds:.2f} s)", file=self._out(), flush=True)

    def on_train_end(self, logs=None):
        self.close()

    def close(self) -> None:
        """Stop the live bar (idempotent; ``fit`` calls it also when training fails)."""
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
