"""``glassnet lecture``: the course's examples in the course notes' order, each topic's claim
checked on the numbers it measures, written into one self-contained HTML report (``index.html``
in ``--out``) with its figures inline. A progress bar shows the topic running.

``--fast`` runs each example at its shortened setting (about two minutes on 2 cores) and leaves
out the topics marked for the full run only; ``--topics KEY,KEY`` runs a few (the keys:
:func:`topic_keys`). A topic that fails is reported in the page (and the exit status is 1); the
others still run."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from ._common import UsageError, output_folder, written_whole
from ._lecture_core import Context, Outcome, Topic, examples_folder

REPORT = "index.html"
"""The report's file name inside ``--out``."""


def all_topics() -> list[Topic]:
    """Every topic, in the course notes' order."""
    from . import _lecture_advanced, _lecture_architectures, _lecture_basics, _lecture_training

    return [*_lecture_basics.TOPICS, *_lecture_training.TOPICS, *_lecture_advanced.PRACTICAL,
            *_lecture_architectures.TOPICS, *_lecture_advanced.ADVANCED]


def topic_keys() -> list[str]:
    """The keys ``--topics`` takes, in the course's order.

    >>> from glassnet.cli._lecture import topic_keys
    >>> topic_keys()[:4]
    ['perceptron', 'activations', 'circles', 'iris']
    """
    return [topic.key for topic in all_topics()]


def select(text: str | None) -> list[Topic]:
    """The topics ``--topics`` names (comma-separated keys; None: all), in the course's order."""
    topics = all_topics()
    if text is None:
        return topics
    wanted = [key.strip() for key in text.split(",") if key.strip()]
    if not wanted:
        raise UsageError(f"--topics needs at least one topic key; choose from {', '.join(topic_keys())}")
    unknown = [key for key in wanted if key not in topic_keys()]
    if unknown:
        raise UsageError(f"--topics: unknown topic {unknown[0]!r}; choose from {', '.join(topic_keys())}")
    return [topic for topic in topics if topic.key in wanted]


def run_topic(topic: Topic, context: Context) -> Outcome:
    """One topic's outcome; a topic that cannot run here or fails says so instead of stopping the lecture."""
    if topic.full_only and context.fast:
        return Outcome([], None, note="not run with --fast: the full lecture only")
    try:
        return topic.run(context)
    except ImportError as error:   # an optional extra, such as gymnasium for reinforcement learning
        return Outcome([], None, note=f"not run: it needs the package {error.name!r} "
                                      "(pip install 'glassnet[rl]' for reinforcement learning)")
    except Exception as error:   # one failed topic must not lose the others' results
        return Outcome([], None, note=f"error: {type(error).__name__}: {error}")


def _progress(stream):
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("[bold]lecture"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TextColumn("{task.description}"), console=Console(file=stream), transient=True)


def run_topics(topics: list[Topic], context: Context, stream) -> list[tuple[Topic, Outcome, float]]:
    """Run ``topics`` one after the other under a progress bar; one line per topic when it ends."""
    from ._lecture_html import verdict

    rows = []
    with _progress(stream) as progress:
        task = progress.add_task("", total=len(topics))
        for number, topic in enumerate(topics, start=1):
            progress.update(task, description=topic.title)
            start = time.perf_counter()
            outcome = run_topic(topic, context)
            seconds = time.perf_counter() - start
            rows.append((topic, outcome, seconds))
            words = verdict(outcome)[1] + (f" ({outcome.note})" if outcome.held is None else "")
            progress.console.print(f"{number:2d}/{len(topics)} {topic.title}: {words} ({seconds:.1f} s)",
                                   markup=False, highlight=False, soft_wrap=True)   # one line per topic
            progress.advance(task)
    return rows


def lecture(out_dir: str = "glassnet-lecture", fast: bool = False, seed: int = 0, topics: str | None = None,
            stream=None) -> dict:
    """Run the course's topics and write their report, ``out_dir/index.html``.

    Parameters
    ----------
    out_dir : str
        The folder of the report (made if need be; an old report is replaced whole).
    fast : bool
        The examples' shortened settings; the topics marked for the full run are left out.
    seed : int
        The seed of every example.
    topics : str or None
        Comma-separated topic keys (:func:`topic_keys`); None runs them all.
    stream : file, optional
        Where the progress bar and the lines go (default: standard output).

    Returns
    -------
    dict
        ``path`` (the report), and the number of topics whose claim ``held``, ``not_held``,
        ``not_run`` (left out, or missing an optional package) and ``errors`` (failed). Every
        argument is checked before any topic runs (UsageError).
    """
    import importlib

    from .._version import __version__
    from ._lecture_html import render

    stream = stream or sys.stdout
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        # NumPy's generators and scikit-learn's random_state take 0 .. 2**32 - 1
        raise UsageError(f"--seed must be a whole number from 0 to {2**32 - 1}, got {seed!r}")
    out = output_folder(out_dir, "--out", [])
    if (out / REPORT).is_dir():
        raise UsageError(f"--out {out_dir}: {out / REPORT} is a folder; glassnet lecture writes its report there")
    chosen = select(topics)
    examples_folder()   # installed with the package, or the checkout's: a clear error before any work
    start = time.perf_counter()
    # one BLAS thread: the examples' matrices are small, and idle BLAS threads spin on shared cores
    # (threadpoolctl comes with scikit-learn; imported by name, as it ships no type hints)
    threadpool_limits = importlib.import_module("threadpoolctl").threadpool_limits
    with tempfile.TemporaryDirectory(prefix="glassnet-lecture-") as scratch, threadpool_limits(1, "blas"):
        rows = run_topics(chosen, Context(fast=fast, seed=seed, scratch=Path(scratch)), stream)
    seconds = time.perf_counter() - start
    html = render(rows, version=__version__, fast=fast, seed=seed, seconds=seconds,
                  when=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
    out.mkdir(parents=True, exist_ok=True)
    with written_whole(out / REPORT) as report:
        report.write(html)
    outcomes = [outcome for _, outcome, _ in rows]
    errors = sum(o.note.startswith("error") for o in outcomes)
    held, not_held = sum(o.held is True for o in outcomes), sum(o.held is False for o in outcomes)
    not_run = len(outcomes) - held - not_held - errors
    print(f"{held} of {held + not_held} claims held" + (f", {not_run} topics not run" if not_run else "")
          + (f", {errors} failed" if errors else "") + f" ({seconds:.0f} s); report written to {out / REPORT}",
          file=stream)
    summary = {"path": out / REPORT, "held": held, "not_held": not_held, "not_run": not_run, "errors": errors}
    return summary


def add_parser(commands) -> None:
    """``glassnet lecture``'s arguments, on the command line's sub-parsers."""
    parser = commands.add_parser("lecture", help="run the course's examples and write an HTML report of its claims",
                                 description="Run the course's examples in the course's order and write one "
                                 "self-contained HTML report (OUT/index.html): for each topic the course's claim, "
                                 "the numbers measured, whether the claim held, and the figures.")
    parser.add_argument("--out", default="glassnet-lecture", help="folder for index.html (default ./glassnet-lecture)")
    parser.add_argument("--fast", action="store_true", help="the examples' shortened settings (about two minutes on "
                        "2 cores); the slowest topics are left out")
    parser.add_argument("--seed", type=int, default=0, help="seed of every example (default 0)")
    parser.add_argument("--topics", default=None, metavar="KEY,KEY",
                        help="run only these topics (default: all): " + ", ".join(topic_keys()))
