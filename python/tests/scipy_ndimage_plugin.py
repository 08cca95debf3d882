"""pytest plugin: scipy's own ndimage tests, run with bsfit's functions patched in.

scipy 1.17.1 ships its tests. This plugin replaces ``spline_filter``,
``spline_filter1d`` and ``map_coordinates`` in ``scipy.ndimage`` (and
``spline_filter`` in ``scipy.ndimage._interpolation``, which ``zoom``,
``shift``, ``rotate``, ``affine_transform`` and ``geometric_transform`` call to
prefilter) by ``bsfit.ndimage``'s, once collection is done (scipy's test
decorators look the originals up at import time). A call that raises
``NotImplementedError`` falls back to scipy's function and is counted; every
other exception is the test's to judge.

Run (python/ci.sh does this), with this directory on ``PYTHONPATH``::

    python -m pytest -p scipy_ndimage_plugin \\
        --pyargs scipy.ndimage.tests.test_interpolation scipy.ndimage.tests.test_splines

At the end it prints the calls that reached bsfit and the fallbacks per
function, and fails the session on any fallback (set
``BSFIT_ALLOW_FALLBACK=1`` to only report them). ``BSFIT_SCIPY_REPORT=path``
also writes the counts as JSON.
"""

import functools
import json
import os

import pytest

CALLS: dict = {}
FALLBACKS: dict = {}
_PATCHED: list = []


def _wrap(key, ours, theirs):
    CALLS.setdefault(key, 0)
    FALLBACKS.setdefault(key, 0)

    @functools.wraps(theirs)
    def call(*args, **kwargs):
        try:
            result = ours(*args, **kwargs)
        except NotImplementedError:
            FALLBACKS[key] += 1
            return theirs(*args, **kwargs)
        CALLS[key] += 1
        return result

    return call


def _patch():
    import scipy.ndimage
    import scipy.ndimage._interpolation as interp

    import bsfit.ndimage as ours

    targets = [(scipy.ndimage, name) for name in ("spline_filter", "spline_filter1d", "map_coordinates")]
    targets.append((interp, "spline_filter"))
    for module, name in targets:
        original = getattr(module, name)
        key = f"{module.__name__}.{name}"
        setattr(module, name, _wrap(key, getattr(ours, name), original))
        _PATCHED.append((module, name, original))


def pytest_collection_finish(session):
    _patch()


def pytest_unconfigure(config):
    for module, name, original in reversed(_PATCHED):
        setattr(module, name, original)
    _PATCHED.clear()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    tr = terminalreporter
    tr.section("bsfit.ndimage patched into scipy.ndimage")
    for key in sorted(CALLS):
        tr.write_line(f"{key}: {CALLS[key]} calls to bsfit, {FALLBACKS[key]} fallbacks to scipy")
    stats = {k: len(v) for k, v in tr.stats.items() if k in ("passed", "failed", "error", "skipped", "xfailed", "xpassed")}
    tr.write_line(f"tests: {stats}")
    path = os.environ.get("BSFIT_SCIPY_REPORT")
    if path:
        with open(path, "w") as fh:
            json.dump({"calls": CALLS, "fallbacks": FALLBACKS, "tests": stats}, fh, indent=1)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    if not sum(CALLS.values()) and session.testscollected:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED  # nothing reached bsfit
    if sum(FALLBACKS.values()) and os.environ.get("BSFIT_ALLOW_FALLBACK") != "1":
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
