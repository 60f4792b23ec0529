"""The documentation site (mkdocs.yml, docs/): ``mkdocs build --strict`` passes (no warning, no
broken link or anchor), every public name of glassnet has its entry in the API reference, every
glassnet name and file a page mentions exists, and the pages' Python examples run.

The site is built once per test session into a temporary folder (a few seconds: the API
reference is read from the source by Griffe, nothing is imported by the build)."""

from __future__ import annotations

import ast
import importlib
import os
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import matplotlib
import pytest

import glassnet

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
API = DOCS / "api"

# Modules of the library that are not part of its public API (their own pages would document
# internals): the entry point of ``python -m glassnet``.
NOT_PUBLIC = {"__main__"}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Build the site with ``mkdocs build --strict``; return (folder, the build's output)."""
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1", PYTHONPATH=str(ROOT / "src"))
    run = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
                          str(ROOT / "mkdocs.yml"), "--site-dir", str(out)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    return out, run


def test_strict_build_passes_without_warnings(site):
    out, run = site
    log = run.stdout + run.stderr
    assert run.returncode == 0, log
    assert "WARNING" not in log and "ERROR" not in log, log
    for page in ("index.html", "getting-started/index.html", "api/nn/index.html",
                 "course/perceptron/index.html", "contributing/index.html", "course-lecture/index.html"):
        assert (out / page).is_file(), page


def public_modules() -> list[str]:
    """The public top-level modules and packages of glassnet (each gets an API page)."""
    return sorted(m.name for m in pkgutil.iter_modules(glassnet.__path__)
                  if not m.name.startswith("_") and m.name not in NOT_PUBLIC)


def defined_names(module) -> list[str]:
    """A module's public names: its ``__all__``, else what its source defines at the top level."""
    if hasattr(module, "__all__"):
        return list(module.__all__)
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    names = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names += [t.id for t in targets if isinstance(t, ast.Name)]
    return [name for name in names if not name.startswith("_")]


def anchors(out: Path) -> set[str]:
    """Every object id (``glassnet.nn.Linear``) of the built API reference."""
    found = set()
    for page in (out / "api").rglob("*.html"):
        found |= set(re.findall(r'id="(glassnet(?:\.\w+)+)"', page.read_text(encoding="utf-8")))
    return found


def test_every_public_module_has_an_api_page_in_the_nav():
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for name in public_modules():
        page = API / f"{name}.md"
        assert page.is_file(), f"no API page docs/api/{name}.md for glassnet.{name}"
        assert f"::: glassnet.{name}\n" in page.read_text(encoding="utf-8"), page
        assert f"api/{name}.md" in nav, f"docs/api/{name}.md is not in mkdocs.yml's nav"


def test_every_public_name_is_in_the_api_reference(site):
    out, run = site
    assert run.returncode == 0, run.stdout + run.stderr
    documented = anchors(out)
    missing = []
    for name in public_modules():
        module = importlib.import_module(f"glassnet.{name}")
        for attribute in defined_names(module):
            value = getattr(module, attribute, None)
            if isinstance(value, type(glassnet)):  # a submodule in __all__ (data.augment): its names
                missing += [f"{value.__name__}.{n}" for n in defined_names(value)
                            if f"{value.__name__}.{n}" not in documented]
            elif not {f"glassnet.{name}.{attribute}", f"glassnet.{name}.{attribute}.{attribute}"} & documented:
                missing.append(f"glassnet.{name}.{attribute}")  # (a function named as its module: its path)
        # a public submodule's own __all__: documented on its package's page, under either path
        for sub in pkgutil.iter_modules(getattr(module, "__path__", []), f"glassnet.{name}."):
            if sub.name.rsplit(".", 1)[1].startswith("_"):
                continue
            submodule = importlib.import_module(sub.name)
            for attribute in getattr(submodule, "__all__", []):
                if not {f"glassnet.{name}.{attribute}", f"{sub.name}.{attribute}"} & documented:
                    missing.append(f"{sub.name}.{attribute}")
    assert not missing, f"public names without an API entry: {missing}"
    assert len(documented) > 500  # the whole reference is there, members included


def test_every_top_level_name_is_listed_and_documented(site):
    """``gn.fit``, ``gn.Tensor``...: each name of ``glassnet.__all__`` is on the reference's index
    page and documented where it lives (the same object, on its module's page)."""
    out, run = site
    assert run.returncode == 0, run.stdout + run.stderr
    index = (API / "index.md").read_text(encoding="utf-8")
    documented = anchors(out)
    for name in glassnet.__all__:
        assert f"`glassnet.{name}`" in index or f"`gn.{name}`" in index, name
        obj = getattr(glassnet, name)
        if name == "__version__" or isinstance(obj, type(glassnet)):
            continue
        homes = [a for a in documented if a.rsplit(".", 1)[1] == name and resolves_to(a, obj)]
        assert homes, f"glassnet.{name} is not documented on any module's page"


ALIASES = {"glassnet": "glassnet", "gn": "glassnet", "nn": "glassnet.nn", "F": "glassnet.functional",
           "optim": "glassnet.optim", "losses": "glassnet.losses", "init": "glassnet.init"}
MENTION = re.compile(r"(?<![\w./-])(glassnet|gn|nn|F|optim|losses|init)\.([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)")
PAGES = sorted(p for p in DOCS.rglob("*.md") if "api" not in p.relative_to(DOCS).parts)


def resolve(path: str):
    """The object a dotted name ``glassnet.nn.Linear.forward`` names, or raise AttributeError."""
    parts = path.split(".")
    obj = importlib.import_module(parts[0])
    for i, part in enumerate(parts[1:], start=1):
        if isinstance(obj, type(glassnet)):  # a submodule first: glassnet.gradcheck is also a function
            try:
                obj = importlib.import_module(".".join(parts[:i + 1]))
                continue
            except ModuleNotFoundError:
                pass
        obj = getattr(obj, part)
    return obj


def resolves_to(path: str, obj) -> bool:
    try:
        return resolve(path) is obj
    except (AttributeError, ModuleNotFoundError):
        return False


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_every_name_and_file_a_page_mentions_exists(page):
    text = page.read_text(encoding="utf-8")
    wrong = []
    for alias, rest in MENTION.findall(text):
        if rest in {"md", "py", "json", "csv", "safetensors", "png", "html", "onnx"}:
            continue  # a file name (losses.md), not an attribute
        try:
            resolve(f"{ALIASES[alias]}.{rest}")
        except (AttributeError, ModuleNotFoundError):
            wrong.append(f"{alias}.{rest}")
    for path in re.findall(r"(?<![\w/.])((?:examples|src/glassnet|tests|benchmarks)/[\w/]+\.py)\b", text):
        if not (ROOT / path).is_file():
            wrong.append(path)
    assert not wrong, f"{page.name} mentions names or files that do not exist: {sorted(set(wrong))}"


def python_blocks(text: str) -> list[str]:
    """The page's ```python blocks, in order, but those right after ``<!-- not run: why -->``."""
    blocks = re.findall(r"(<!-- not run[^>]*-->\s*)?```python\n(.*?)```", text, flags=re.DOTALL)
    return [code for skip, code in blocks if not skip]


RUN = [p for p in PAGES if python_blocks(p.read_text(encoding="utf-8"))
       and p.name != "sklearn.md"]  # docs/sklearn.md's blocks run in tests/test_sklearn_integration.py


@pytest.mark.parametrize("page", RUN, ids=lambda p: str(p.relative_to(DOCS)))
def test_the_pages_python_examples_run(page, tmp_path, monkeypatch):
    """Each page's ```python blocks run in order, in one namespace, in an empty folder."""
    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__docs__"}
    for number, block in enumerate(python_blocks(page.read_text(encoding="utf-8")), start=1):
        exec(compile(block, f"docs/{page.relative_to(DOCS)}, python block {number}", "exec"), namespace)
    import matplotlib.pyplot as plt
    plt.close("all")
