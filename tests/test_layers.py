"""The layer order holds: no module of src/glassnet imports a layer above its own.

Data flows one way (docs/architecture.md): tensor < ops < functional/losses/init < nn/optim < io <
train < plot/sklearn < cli. A module may import its own layer and the layers below it. Every
import counts, also one inside a function (a lazy import is still a dependency), so the source is
read with ``ast``, not imported. The modules beside the stack have their place in the same table:
``random``, ``_checks``, ``_safetensors_file`` and ``_malloc`` need NumPy (or the standard
library) alone and sit under everything; ``data`` (NumPy arrays in and out; it imports only
``random``) beside ``tensor``; ``gradcheck`` (it needs only Tensor) beside ``ops``.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = "glassnet"
SOURCE = Path(__file__).resolve().parent.parent / "src" / PACKAGE

# The layer of each top-level module or package of glassnet, bottom first. A module or package
# not in this table fails the test: place it in a layer. "glassnet" is the package's __init__,
# which re-exports every layer, so only the top may import it.
LAYERS = [
    ("random", "_checks", "_safetensors_file", "_version", "_malloc"),
    ("tensor", "autograd", "data"),
    ("ops", "gradcheck"),
    ("functional", "losses", "init", "distributions"),
    ("nn", "optim"),
    ("io", "_io_build", "onnx", "interop"),
    ("train",),
    ("plot", "sklearn", "rl", "explain"),
    ("cli", "__main__", PACKAGE),
]
LEVEL = {name: level for level, names in enumerate(LAYERS) for name in names}

# Upward imports that are known and explained. Each is a real exception to the order: remove it
# here once the code no longer needs it (test_known_exceptions_still_exist says when).
KNOWN_EXCEPTIONS = {
    ("glassnet.tensor", "glassnet.ops"):
        "Tensor's operators (a + b, a @ b, a.sum()) call the ops, which build Tensors: the import "
        "stands at the end of tensor.py, once the class exists",
}


def module_name(path: Path, root: Path = SOURCE) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name: str, root: Path = SOURCE) -> bool:
    """Whether ``name`` (dotted, from glassnet) is a module or package in the source tree."""
    relative = Path(*name.split(".")[1:])
    return (root / relative).with_suffix(".py").is_file() or (root / relative / "__init__.py").is_file()


def imports_of(path: Path, root: Path = SOURCE):
    """(line, imported glassnet module, the statement, whether at module level) for every import in
    ``path``, also those inside functions. ``from . import x`` names the module x when x is a
    module, else the package itself (x is a name defined in its __init__)."""
    name, is_package = module_name(path, root), path.name == "__init__.py"
    text = path.read_text()
    tree = ast.parse(text, filename=str(path))
    in_functions = {id(inner) for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                    for inner in ast.walk(node) if inner is not node}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # level 1 is the module's own package, 2 its parent, ...
                package = name.split(".") if is_package else name.split(".")[:-1]
                base = ".".join(package[:len(package) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            targets = [f"{module}.{alias.name}" if is_module(f"{module}.{alias.name}", root) else module
                       for alias in node.names]
        else:
            continue
        for target in dict.fromkeys(targets):
            if target == PACKAGE or target.startswith(PACKAGE + "."):
                statement = " ".join(ast.get_source_segment(text, node).split())
                yield node.lineno, target, statement, id(node) not in in_functions


def layer_of(name: str) -> str:
    """The table's key for a module: its first name under glassnet (the package itself for glassnet)."""
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else PACKAGE


FILES = sorted(SOURCE.rglob("*.py"))


def test_the_source_is_found():
    assert len(FILES) > 40 and (SOURCE / "tensor.py").is_file()


@pytest.mark.parametrize("path", FILES, ids=lambda path: str(path.relative_to(SOURCE)))
def test_every_module_is_in_a_layer(path):
    layer = layer_of(module_name(path))
    assert layer in LEVEL, (f"{path.relative_to(SOURCE.parent.parent)}: '{layer}' is in no layer; "
                            f"add it to LAYERS in {Path(__file__).name}")


def upward_imports():
    """(importer, imported, where, statement) for every import that goes up the layer order."""
    found = []
    for path in FILES:
        importer = module_name(path)
        for line, imported, statement, _ in imports_of(path):
            if layer_of(importer) in LEVEL and layer_of(imported) in LEVEL \
                    and LEVEL[layer_of(imported)] > LEVEL[layer_of(importer)]:
                found.append((importer, imported, f"{path.relative_to(SOURCE.parent.parent)}:{line}", statement))
    return found


def test_no_import_goes_up_the_layer_order():
    violations = [f"{where}: {importer} (layer {LEVEL[layer_of(importer)]}) imports {imported} "
                  f"(layer {LEVEL[layer_of(imported)]}): {statement}"
                  for importer, imported, where, statement in upward_imports()
                  if (importer, imported) not in KNOWN_EXCEPTIONS]
    assert not violations, "imports that go up the layer order:\n" + "\n".join(violations)


def test_known_exceptions_still_exist():
    found = {(importer, imported) for importer, imported, _, _ in upward_imports()}
    stale = [pair for pair in KNOWN_EXCEPTIONS if pair not in found]
    assert not stale, f"no longer imported, remove from KNOWN_EXCEPTIONS: {stale}"


def test_the_package_is_not_imported_by_what_it_imports():
    """``import glassnet`` runs glassnet/__init__.py, which imports every layer at module level. A
    module it reaches that imports a name from the package at module level reads a half-built
    module: a cycle. (Inside a function, ``import glassnet`` is only run later, after the import.)"""
    module_level = {}
    for path in FILES:
        module_level[module_name(path)] = {imported for _, imported, _, top in imports_of(path) if top}
    reached, todo = set(), [PACKAGE]
    while todo:
        name = todo.pop()
        for imported in module_level.get(name, ()):
            parts = imported.split(".")
            for end in range(2, len(parts) + 1):  # importing a.b.c runs a.b's __init__ first
                if ".".join(parts[:end]) not in reached:
                    reached.add(".".join(parts[:end]))
                    todo.append(".".join(parts[:end]))
    cycles = [f"{name} imports the package {PACKAGE} at module level, and {PACKAGE} imports {name}"
              for name in sorted(reached) if PACKAGE in module_level.get(name, ())
              and (name, PACKAGE) not in KNOWN_EXCEPTIONS]
    assert not cycles, "\n".join(cycles)


def test_the_checker_sees_every_kind_of_import(tmp_path):
    root = tmp_path / PACKAGE
    (root / "train").mkdir(parents=True)
    (root / "__init__.py").write_text("__version__ = '0'\nfrom . import tensor, train\n")
    (root / "tensor.py").write_text("import numpy as np\n")
    (root / "train" / "__init__.py").write_text("from .fit import fit\n")
    (root / "train" / "fit.py").write_text(
        "from ..tensor import Tensor\n"
        "import glassnet.tensor as t\n"
        "from glassnet import tensor\n"
        "from .. import __version__\n"
        "def fit():\n"
        "    from ..io import save\n"
        "    import glassnet as gn\n")
    found = [(line, imported, top) for line, imported, _, top in imports_of(root / "train" / "fit.py", root)]
    assert found == [(1, "glassnet.tensor", True), (2, "glassnet.tensor", True), (3, "glassnet.tensor", True),
                     (4, "glassnet", True), (6, "glassnet.io", False), (7, "glassnet", False)]
    assert [imported for _, imported, _, _ in imports_of(root / "__init__.py", root)] == \
        ["glassnet.tensor", "glassnet.train"]
