"""The docstring examples run (and fail if they drift)."""

import doctest
import importlib

import pytest

import bsfit
import bsfit._interpolate


def test_docstring_examples():
    result = doctest.testmod(bsfit, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 15
    assert result.failed == 0
    result = doctest.testmod(bsfit._interpolate, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 3
    assert result.failed == 0



@pytest.mark.parametrize("name, framework", [("jax", "jax"), ("torch", "torch"), ("dask", "distributed")])
def test_optional_module_examples(name, framework):
    """bsfit.jax, bsfit.torch and bsfit.dask: where their framework is installed."""
    pytest.importorskip(framework)
    module = importlib.import_module(f"bsfit.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 3
    assert result.failed == 0
