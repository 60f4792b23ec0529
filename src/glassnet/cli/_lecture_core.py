"""What the lecture's topics share: a topic (the course's claim and how it is measured), its
outcome (the numbers, whether the claim held, the figures), and the course's example scripts,
found and run.

The example scripts live in the repository's ``examples/`` folder. A normal (non-editable)
install copies them into the package as ``glassnet/_examples/`` (setup.py's build step), so
``glassnet lecture`` finds them there; a source checkout or an editable install reads
``examples/`` itself.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ._common import UsageError

PACKAGE = Path(__file__).resolve().parents[1]   # .../glassnet


@dataclass(frozen=True)
class Context:
    """How the topics run: the fast setting or the full one, the seed, and a scratch folder for
    the figures the examples write (read back into the report, then removed)."""

    fast: bool
    seed: int
    scratch: Path


@dataclass
class Outcome:
    """What one topic measured: ``numbers`` (one line each), ``held`` (True, False, or None for
    a topic that did not run), ``figures`` as (caption, PNG bytes), and what the example printed."""

    numbers: list[str]
    held: bool | None
    figures: list[tuple[str, bytes]] = field(default_factory=list)
    printed: str = ""
    note: str = ""

    def __post_init__(self):
        if self.held is not None:   # a NumPy bool from a comparison: a plain one, for `is True`
            self.held = bool(self.held)


@dataclass(frozen=True)
class Topic:
    """One topic of the course: the heading of the course notes it belongs to, the course's claim
    in one sentence, where the code is, and the function that measures it."""

    key: str
    section: str
    title: str
    claim: str
    source: str
    run: Callable[[Context], Outcome]
    full_only: bool = False   # too slow for --fast: the full run only


def examples_folder() -> Path:
    """The folder of the course's example scripts: the installed copy, else the source tree's."""
    installed = PACKAGE / "_examples"
    if (installed / "perceptron_xor.py").is_file():
        return installed
    source = PACKAGE.parents[1] / "examples"
    if (source / "perceptron_xor.py").is_file():
        return source
    raise UsageError(f"the course's example scripts are not installed (looked in {installed} and {source}); "
                     "install glassnet from its source tree (pip install .) or run from a checkout")


def load_example(name: str):
    """The example script ``examples/NAME.py`` as a module (loaded once per process)."""
    module_name = f"glassnet_lecture_example_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    path = examples_folder() / f"{name}.py"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise UsageError(f"cannot load the example {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module   # dataclasses look their module up while the file runs
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module


def quietly(function, *args, **kwargs):
    """``(function(*args, **kwargs), what it printed)``: stdout and stderr captured (the progress
    bar keeps the terminal), warnings recorded instead of shown."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed), \
            warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = function(*args, **kwargs)
    for warning in caught:
        printed.write(f"warning: {warning.category.__name__}: {warning.message}\n")
    return result, printed.getvalue()


def run_example(name: str, context: Context) -> tuple[dict, str]:
    """Run ``examples/NAME.py``'s ``main(fast, out, seed)``; its numbers and what it printed."""
    module = load_example(name)
    out = context.scratch / name
    return quietly(module.main, fast=context.fast, out=out, seed=context.seed)


def figures_of(result: dict, captions: dict | None = None) -> list[tuple[str, bytes]]:
    """The PNG files an example wrote (its result's ``figures``), read as (caption, bytes)."""
    captions = captions or {}
    return [(captions.get(Path(path).name, Path(path).stem.replace("_", " ")), Path(path).read_bytes())
            for path in result.get("figures", [])]


def pyplot():
    """matplotlib.pyplot on the Agg backend: figures are drawn to files, never to a window."""
    import matplotlib

    if matplotlib.get_backend().lower() != "agg":
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def png(fig) -> bytes:
    """A matplotlib figure as PNG bytes (the figure closed)."""
    plt = pyplot()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def example_topic(key: str, section: str, title: str, claim: str, example: str,
                  check: Callable[[dict, Context], tuple[bool, list[str]]], *, full_only: bool = False,
                  captions: dict | None = None) -> Topic:
    """A topic measured by one example script: ``check(result, context)`` says whether the claim
    held and which numbers show it."""
    def run(context: Context) -> Outcome:
        result, printed = run_example(example, context)
        held, numbers = check(result, context)
        return Outcome(numbers, held, figures_of(result, captions), printed)

    return Topic(key, section, title, claim, f"examples/{example}.py", run, full_only)
