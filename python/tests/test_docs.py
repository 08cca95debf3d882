"""The docstring examples run (and fail if they drift)."""

import doctest

import bsfit
import bsfit._interpolate


def test_docstring_examples():
    result = doctest.testmod(bsfit, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 15
    assert result.failed == 0
    result = doctest.testmod(bsfit._interpolate, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 3
    assert result.failed == 0
