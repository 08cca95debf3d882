"""`del spline` hands the coefficient memory back (measured as resident memory)."""

import gc
import sys
import weakref

import numpy as np
import pytest

import bsfit

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="reads /proc/self/statm")

MB = 1 << 20


def rss():
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    import resource

    return pages * resource.getpagesize()


def big_case():
    # 8M coefficients (64 MiB): far above the allocator's mmap threshold, so
    # freed memory leaves the process at once.
    axes = (np.linspace(0, 1, 200), np.linspace(0, 1, 200), np.linspace(0, 1, 200))
    values = np.random.default_rng(0).uniform(size=(200, 200, 200))
    return axes, values


def test_del_spline_releases_its_coefficients():
    axes, values = big_case()
    nbytes = values.nbytes
    bsfit.release_cached_memory()
    gc.collect()
    base = rss()
    s = bsfit.TensorSpline(axes, values)
    ref = weakref.ref(s)
    c = s.c  # a view of the spline's buffer keeps it alive ...
    held = rss()
    assert held - base >= 0.9 * nbytes
    del s
    gc.collect()
    assert ref() is None  # no reference cycle keeps the Python object
    bsfit.release_cached_memory()
    assert rss() - base >= 0.9 * nbytes  # ... while the view lives
    assert c.shape == (200, 200, 200) and np.isfinite(c[-1, -1, -1])
    del c
    gc.collect()
    # Dropped coefficient arrays go to the library's bounded cache for the
    # next fit of that size; emptying it returns them to the system.
    bsfit.release_cached_memory()
    assert rss() - base <= 0.1 * nbytes


def test_evaluation_results_do_not_keep_the_spline():
    axes, values = big_case()
    s = bsfit.TensorSpline(axes, values)
    ref = weakref.ref(s)
    out = s(np.full((10, 3), 0.5))
    g = s.grad(np.full((10, 3), 0.5))
    del s
    gc.collect()
    assert ref() is None
    for a in (out, g):
        base = a if a.base is None else a.base
        assert isinstance(base, np.ndarray) and base.flags.owndata
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(g))


def test_set_cache_limit_returns_the_previous_limit_and_bounds_the_cache():
    axes, values = big_case()
    nbytes = values.nbytes
    previous = bsfit.set_cache_limit(0)
    try:
        assert previous >= 0
        assert bsfit.set_cache_limit(1 << 30) == 0
        assert bsfit.set_cache_limit(0) == 1 << 30
        # No cache: `del spline` returns the coefficients to the system at once.
        gc.collect()
        base = rss()
        s = bsfit.TensorSpline(axes, values)
        assert rss() - base >= 0.9 * nbytes
        del s
        gc.collect()
        assert rss() - base <= 0.1 * nbytes
        # A cache large enough keeps the dropped array for the next fit ...
        bsfit.set_cache_limit(2 * nbytes)
        s = bsfit.TensorSpline(axes, values)
        del s
        gc.collect()
        assert rss() - base >= 0.9 * nbytes
        # ... lowering the limit below it frees it.
        bsfit.set_cache_limit(nbytes // 4)
        assert rss() - base <= 0.1 * nbytes
        with pytest.raises(ValueError):
            bsfit.set_cache_limit(-1)
        with pytest.raises(TypeError):
            bsfit.set_cache_limit(1.5)
    finally:
        bsfit.set_cache_limit(previous)
