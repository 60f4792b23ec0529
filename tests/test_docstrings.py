"""Every docstring example in glassnet runs and prints what it shows.

The modules are discovered by walking the package, so a new module is covered without editing a
list. Each module's examples run with empty globals (an example imports what it uses, so that a
reader can paste it), in an empty working folder with an empty temporary folder, which must both
be empty afterwards: an example that writes a file cleans up after itself. ``import torch`` fails
inside an example: the examples show glassnet alone.
"""

import doctest
import importlib
import pkgutil
import sys
import tempfile

import pytest

import glassnet

OPTIONS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS


def discover_modules() -> list:
    """Every module of the package, by name (``__main__`` is a script: importing it runs the CLI)."""
    found = pkgutil.walk_packages(glassnet.__path__, prefix="glassnet.")
    return ["glassnet", *sorted(info.name for info in found if not info.name.endswith(".__main__"))]


MODULES = discover_modules()


def find_examples(name: str) -> list:
    """The module's docstring tests that hold at least one example, with empty globals."""
    module = importlib.import_module(name)
    return [test for test in doctest.DocTestFinder().find(module, name, globs={}) if test.examples]


def is_public(name: str) -> bool:
    return not any(part.startswith("_") for part in name.split("."))


def is_package(name: str) -> bool:
    return hasattr(importlib.import_module(name), "__path__")


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name, tmp_path, monkeypatch, capsys):
    workdir, tempdir = tmp_path / "cwd", tmp_path / "tmp"
    workdir.mkdir(), tempdir.mkdir()
    monkeypatch.chdir(workdir)
    monkeypatch.setattr(tempfile, "tempdir", str(tempdir))
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` raises ImportError
    runner = doctest.DocTestRunner(optionflags=OPTIONS)
    tests = find_examples(name)
    for test in tests:
        runner.run(test)
    result = runner.summarize(verbose=False)
    report = capsys.readouterr().out
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed:\n{report}"
    assert result.attempted == sum(len(test.examples) for test in tests)
    assert not list(workdir.iterdir()), f"examples in {name} left files in the working folder"
    assert not list(tempdir.iterdir()), f"examples in {name} left files in the temporary folder"


def test_the_modules_are_discovered_and_hold_examples():
    assert {"glassnet.tensor", "glassnet.ops.conv", "glassnet.nn.linear", "glassnet.optim.adam",
            "glassnet.train.fit", "glassnet.data.datasets", "glassnet.sklearn.mlp", "glassnet.cli"} <= set(MODULES)
    counts = {name: sum(len(test.examples) for test in find_examples(name)) for name in MODULES}
    assert sum(counts.values()) >= 300, f"only {sum(counts.values())} examples found: {counts}"


@pytest.mark.parametrize("name", [name for name in MODULES if is_public(name) and not is_package(name)])
def test_every_public_module_has_an_example(name):
    # STYLE.md: every public function has a short runnable example. A package's __init__ only
    # re-exports; its modules carry the examples.
    assert find_examples(name), f"{name} has no docstring example (>>> lines)"
