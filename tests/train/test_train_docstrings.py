"""The examples in the training and augmentation docstrings run and print what they show."""

import doctest
import sys

import pytest

import glassnet  # noqa: F401  (imports the modules below)

MODULES = ["glassnet.train.fit", "glassnet.train.callbacks", "glassnet.train.metrics", "glassnet.train.ensemble",
           "glassnet.train.progress", "glassnet.data.augment"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    result = doctest.testmod(sys.modules[name], optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 3
    assert result.failed == 0
