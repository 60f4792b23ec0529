"""A Griffe extension for glassnet's docstrings (used by mkdocs.yml, never by the library).

glassnet's docstrings follow numpydoc, with one house habit: a single runnable example sits under
an ``Example`` heading (numpydoc's name is ``Examples``). Griffe reads an unknown heading as an
admonition and its ``>>>`` lines as Markdown quotes; renamed, they become highlighted code. Some
docstrings also name things with Sphinx roles (``:func:`save` ``), shown here as code spans.
The docstrings themselves stay as they are (tests/test_docstrings.py runs them).

The activation layers (``nn.ReLU``, ``nn.LeakyReLU``, ...) are made from the activation registry
when glassnet.nn is imported, so the source has no ``class`` statement for Griffe to read: they
are read by inspection and added to the module (and its ``__all__``, which ``glassnet.nn``'s
``from .activation import *`` re-exports).
"""

from __future__ import annotations

import importlib
import re
from typing import Any

import griffe

_EXAMPLE_HEADING = re.compile(r"^(\s*)Example\n\1-+$", re.MULTILINE)
_SPHINX_ROLE = re.compile(r":(?:func|class|meth|mod|data|attr|exc|obj):`[~.]?([^`]+)`")


def _numpydoc_examples(text: str) -> str:
    """``Example`` + dashes -> ``Examples`` + dashes (any indentation); a Sphinx role
    (``:func:`save` ``), which Markdown would show as it is, -> a code span (`` `save` ``)."""
    text = _SPHINX_ROLE.sub(lambda m: f"`{m.group(1)}`", text)
    return _EXAMPLE_HEADING.sub(lambda m: f"{m.group(1)}Examples\n{m.group(1)}--------", text)


class ExampleHeadings(griffe.Extension):
    """Renames every ``Example`` section of a docstring to numpydoc's ``Examples``."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _numpydoc_examples(obj.docstring.value)


class RegistryLayers(griffe.Extension):
    """Adds the activation layer classes of ``glassnet.nn.activation`` (made at import time)."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        if pkg.name != "glassnet":
            return
        static = pkg["nn.activation"]
        names = list(importlib.import_module("glassnet.nn.activation").__all__)
        inspected = griffe.inspect("glassnet.nn.activation")
        for name in names:
            layer = inspected[name]
            for member in [m for m in layer.members if m != "__init__"]:
                del layer.members[member]  # the class attribute `activation` and dunders
            if layer.docstring is not None:
                layer.docstring.value = _numpydoc_examples(layer.docstring.value)
            static.set_member(name, layer)
            pkg["nn"].set_member(name, griffe.Alias(name, layer, parent=pkg["nn"]))
        exports = [e for e in pkg["nn"].exports or [] if isinstance(e, str)]
        pkg["nn"].exports = exports + [name for name in names if name not in exports]
