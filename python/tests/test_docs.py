"""The docstring examples run (and fail if they drift)."""

import doctest

import bsfit


def test_docstring_examples():
    result = doctest.testmod(bsfit, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 10
    assert result.failed == 0
