"""The examples in the nn docstrings run and print what they show."""

import doctest

import pytest

import glassnet.nn
from glassnet.nn import activation, container, dropout, linear, module, normalization


@pytest.mark.parametrize("source", [glassnet.nn, module, linear, activation, container, dropout, normalization],
                         ids=lambda m: m.__name__)
def test_docstring_examples_run(source):
    result = doctest.testmod(source, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
