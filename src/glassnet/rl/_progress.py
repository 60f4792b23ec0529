"""The progress line ``Agent.learn`` shows on standard error while it learns.

On a terminal one line rewritten in place; elsewhere (a file, a pipe, a notebook log) a line at
each tenth of the run, so that a log stays short::

    steps 12,000/50,000 | episodes 130 | mean return (last 100) 143.2
"""

from __future__ import annotations

import math
import sys
import time


class Progress:
    """Shows the agent's step count, episodes and recent mean return; ``update`` is cheap."""

    def __init__(self, total: int, start: int, enabled: bool, stream=None) -> None:
        self.total, self.start, self.enabled = total, start, enabled
        self.stream = stream if stream is not None else sys.stderr
        self.interactive = enabled and getattr(self.stream, "isatty", lambda: False)()
        self.began = self.shown = time.perf_counter()
        self.next_tenth = 1

    def line(self, timesteps: int, record) -> str:
        mean = record.mean_return()
        shown = "-" if math.isnan(mean) else f"{mean:.1f}"
        return (f"steps {timesteps - self.start:,}/{self.total:,} | episodes {record.n_episodes} | "
                f"mean return (last 100) {shown}")

    def update(self, timesteps: int, record) -> None:
        if not self.enabled:
            return
        done = timesteps - self.start
        if self.interactive:
            now = time.perf_counter()
            if now - self.shown >= 0.2:          # a few redraws a second, not one per step
                self.shown = now
                print("\r" + self.line(timesteps, record), end="", file=self.stream, flush=True)
        elif done * 10 >= self.next_tenth * self.total:
            self.next_tenth = done * 10 // self.total + 1
            print(self.line(timesteps, record), file=self.stream, flush=True)

    def close(self, timesteps: int, record) -> None:
        if not self.enabled:
            return
        seconds = time.perf_counter() - self.began
        end = "\r" if self.interactive else ""
        print(f"{end}{self.line(timesteps, record)} | {seconds:.1f} s", file=self.stream, flush=True)
