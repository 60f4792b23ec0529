"""The package's type hints hold (PEP 561: glassnet ships ``py.typed``), so CI enforces them:
mypy finds no error in src/glassnet (settings in pyproject.toml), and user code written as the
documentation shows (tests/typed_usage.py) passes ``mypy --strict`` and runs."""

import os
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import glassnet as gn

ROOT = Path(__file__).resolve().parents[1]
USAGE = ROOT / "tests" / "typed_usage.py"


def _mypy(arguments: list, cache: Path) -> subprocess.Popen:
    mypy = shutil.which("mypy") or str(Path(sys.executable).with_name("mypy"))
    # MYPYPATH: this checkout's glassnet, not an installed copy; the cache lives in tmp_path
    env = {**os.environ, "MYPYPATH": str(ROOT / "src")}
    return subprocess.Popen([mypy, "--cache-dir", str(cache), *arguments], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_mypy_reports_nothing(tmp_path):
    # The two runs at once (each analyses the whole package): the suite waits for one.
    package = _mypy(["src/glassnet"], tmp_path / "package")
    # As a user's project sees an installed glassnet: its own modules' errors are not the user's
    # (--follow-imports=silent; the run above checks them), their hints are.
    usage = _mypy(["--strict", "--follow-imports=silent", str(USAGE)], tmp_path / "usage")
    results = {"src/glassnet": package, "tests/typed_usage.py": usage}
    failures = {}
    for name, process in results.items():
        output, _ = process.communicate(timeout=300)
        if process.returncode != 0:
            failures[name] = output
    assert not failures, "\n".join(f"mypy {name}:\n{output}" for name, output in failures.items())


def test_typed_usage_runs():
    """The checked script is real code: it runs, so its hints describe what the library does."""
    runpy.run_path(str(USAGE))["main"]()


def test_py_typed_ships_with_the_package():
    assert (Path(gn.__file__).parent / "py.typed").is_file()
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'glassnet = ["py.typed"]' in pyproject   # package-data: the wheel carries the marker


# ---- code the hints showed wrong ----------------------------------------------------------------
def test_stop_training_outside_fit_says_so():
    # Callback.trainer is None until fit calls set_context: the hint said so, the code did not.
    with pytest.raises(RuntimeError, match=r"Callback\.stop_training\(\) works only during fit"):
        gn.Callback().stop_training()
