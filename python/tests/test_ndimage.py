"""bsfit.ndimage against scipy.ndimage, called the same way.

Every order, mode and dimension 1-4 for spline_filter1d, spline_filter and
map_coordinates; input dtypes and layouts; output dtypes and arrays; complex
input; NaN; empty and 0-d arrays; scipy's exceptions for bad input; the GIL
released during the work. (scipy's own ndimage test files run with these
functions patched in: scipy_ndimage_plugin.py, from python/ci.sh.)
"""

import threading
import time

import numpy as np
import pytest

from bsfit import ndimage as bnd

ndimage = pytest.importorskip("scipy.ndimage")

MODES = ["mirror", "reflect", "grid-mirror", "wrap", "grid-wrap", "nearest", "constant",
         "grid-constant"]
SHAPES = [(23,), (7, 9), (6, 5, 8), (4, 3, 5, 6), (1, 6), (2, 3, 1)]


def close(a, b, rtol=1e-12):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, b.shape, a.dtype, b.dtype)
    scale = max(1.0, float(np.nanmax(np.abs(b)))) if b.size and np.isfinite(b).any() else 1.0
    np.testing.assert_allclose(a, b, rtol=0, atol=rtol * scale, equal_nan=True)


@pytest.fixture
def rng():
    return np.random.default_rng(20261207)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("order", range(6))
def test_filters_match_scipy(shape, order, rng):
    f = rng.uniform(-1, 1, shape)
    for mode in MODES:
        for axis in range(-len(shape), len(shape)):
            close(bnd.spline_filter1d(f, order, axis, mode=mode),
                  ndimage.spline_filter1d(f, order, axis, mode=mode))
        if order >= 2:
            close(bnd.spline_filter(f, order, mode=mode), ndimage.spline_filter(f, order, mode=mode))


@pytest.mark.parametrize("shape", [(23,), (7, 9), (6, 5, 8), (4, 3, 5, 6)])
@pytest.mark.parametrize("order", range(6))
def test_map_coordinates_matches_scipy(shape, order, rng):
    f = rng.uniform(-1, 1, shape)
    pts = np.array([rng.uniform(-4, n + 3, 60) for n in shape])
    pts[:, :5] = np.array([rng.integers(0, n, 5) for n in shape])  # on samples
    for mode in MODES:
        for prefilter in (True, False):
            for cval in (0.0, -1.5):
                close(bnd.map_coordinates(f, pts, order=order, mode=mode, cval=cval, prefilter=prefilter),
                      ndimage.map_coordinates(f, pts, order=order, mode=mode, cval=cval, prefilter=prefilter),
                      1e-11)


def test_input_dtypes_and_layouts(rng):
    f = rng.uniform(-100, 100, (9, 8, 7))
    views = {
        "C": f, "F": np.asfortranarray(f), "strided": f[::2, :, ::-1], "transposed": f.transpose(2, 0, 1),
        "f32": f.astype(np.float32), "int32": f.astype(np.int32), "uint8": np.abs(f).astype(np.uint8),
        "bool": f > 0, "big-endian": f.astype(">f8"), "int64": f.astype(np.int64), "list": f[:3, :2, 0].tolist(),
    }
    pts = np.array([rng.uniform(-1, n, 40) for n in (9, 8, 7)])
    for name, a in views.items():
        arr = np.asarray(a)
        close(bnd.spline_filter(a), ndimage.spline_filter(a))
        close(bnd.spline_filter1d(a, 4, 0, mode="reflect"), ndimage.spline_filter1d(a, 4, 0, mode="reflect"))
        if arr.ndim == 3 and arr.dtype == bool:
            # Boolean outputs (the default for boolean input) are not supported.
            with pytest.raises(NotImplementedError):
                bnd.map_coordinates(a, pts, order=3)
        elif arr.ndim == 3:
            # Integer inputs give integer outputs (rounded as scipy rounds).
            got = bnd.map_coordinates(a, pts, order=3)
            want = ndimage.map_coordinates(a, pts, order=3)
            if got.dtype.kind == "f":
                close(got, want, 1e-11)
            else:
                assert got.dtype == want.dtype, name
                assert np.abs(got.astype(float) - want.astype(float)).max() <= 1, name
                assert np.mean(got == want) > 0.95, name


def test_boolean_outputs_are_not_implemented(rng):
    f = rng.uniform(-20, 20, (8, 9))
    for fn in ("spline_filter", "spline_filter1d"):
        with pytest.raises(NotImplementedError):
            getattr(bnd, fn)(f, output=bool)
    with pytest.raises(NotImplementedError):
        bnd.map_coordinates(f, np.zeros((2, 3)), output=bool)


@pytest.mark.parametrize("out", [np.float32, np.float64, np.int16, np.uint8, np.int64, "f", "float64",
                                 np.dtype(">f8"), np.dtype("<i4")])
def test_output_dtypes(out, rng):
    f = rng.uniform(-20, 20, (8, 9))
    pts = np.array([rng.uniform(-1, 9, 50), rng.uniform(-1, 10, 50)])
    for fn, args in [("spline_filter", (f,)), ("spline_filter1d", (f,)), ("map_coordinates", (f, pts))]:
        got = getattr(bnd, fn)(*args, output=out)
        want = getattr(ndimage, fn)(*args, output=out)
        assert got.dtype == want.dtype
        if got.dtype.kind == "f":
            tol = 1e-6 if got.dtype.itemsize == 4 else 1e-12
            close(got, want, tol)
        else:
            # Exact but for values within rounding of a half-integer or an integer.
            assert np.mean(got == want) > 0.97, (fn, out)


def test_output_arrays(rng):
    f = rng.uniform(-1, 1, (10, 11))
    pts = np.array([rng.uniform(0, 9, 30), rng.uniform(0, 10, 30)])
    for dtype in (np.float64, np.float32, ">f8"):
        for make in (np.zeros, lambda s, dtype: np.zeros(s[::-1], dtype).T):
            out = make((10, 11), dtype=dtype)
            r = bnd.spline_filter(f, output=out)
            assert r is out
            close(out.astype(float), ndimage.spline_filter(f, output=np.float64), 1e-6)
            out1 = make((10, 11), dtype=dtype)
            assert bnd.spline_filter1d(f, 5, 0, output=out1, mode="grid-wrap") is out1
            close(out1.astype(float), ndimage.spline_filter1d(f, 5, 0, mode="grid-wrap"), 1e-6)
        o = np.zeros(30, dtype=dtype)
        assert bnd.map_coordinates(f, pts, output=o) is o
        close(o.astype(float), ndimage.map_coordinates(f, pts), 1e-6)
    # In place: the output is the input.
    g = f.copy()
    assert bnd.spline_filter(g, output=g) is g
    close(g, ndimage.spline_filter(f))
    # A strided output view.
    big = np.zeros((20, 11))
    bnd.spline_filter(f, output=big[::2])
    close(big[::2], ndimage.spline_filter(f))


def test_complex_input(rng):
    f = rng.uniform(-1, 1, (6, 7)) + 1j * rng.uniform(-1, 1, (6, 7))
    pts = np.array([rng.uniform(-1, 6, 20), rng.uniform(-1, 7, 20)])
    close(bnd.spline_filter(f), ndimage.spline_filter(f))
    close(bnd.spline_filter1d(f, 2, 0), ndimage.spline_filter1d(f, 2, 0))
    for mode in MODES:
        close(bnd.map_coordinates(f, pts, mode=mode, cval=0.5 - 2j),
              ndimage.map_coordinates(f, pts, mode=mode, cval=0.5 - 2j), 1e-11)
    with pytest.warns(UserWarning, match="promoting specified output dtype to complex"):
        r = bnd.spline_filter(f, output=np.float64)
    assert r.dtype == np.complex128
    with pytest.raises(RuntimeError, match="output must have complex dtype"):
        bnd.map_coordinates(f, pts, output="f8")
    with pytest.raises(RuntimeError, match="output must have complex dtype"):
        bnd.map_coordinates(f, pts, output=np.zeros(20))


def test_nan_empty_zero_d_and_single_samples():
    g = np.ones((5, 6))
    g[2, 3] = np.nan
    close(bnd.spline_filter(g), ndimage.spline_filter(g))
    close(bnd.spline_filter1d(g, 3, 0), ndimage.spline_filter1d(g, 3, 0))
    f = np.arange(20.0).reshape(4, 5)
    pts = np.array([[np.nan, 1.0, 2.0], [1.0, np.nan, 2.5]])
    for mode in ("constant", "mirror", "wrap", "reflect", "grid-wrap"):
        close(bnd.map_coordinates(f, pts, mode=mode, cval=-1.0),
              ndimage.map_coordinates(f, pts, mode=mode, cval=-1.0))
    # Empty arrays and 0-d arrays, as scipy.
    for e in (np.zeros((0, 3)), np.zeros((4, 0, 2))):
        close(bnd.spline_filter(e), ndimage.spline_filter(e))
        close(bnd.spline_filter1d(e, 3, 0), ndimage.spline_filter1d(e, 3, 0))
    close(bnd.map_coordinates(f, np.zeros((2, 0))), ndimage.map_coordinates(f, np.zeros((2, 0))))
    for order in range(2, 6):
        z = np.array(2.5)
        close(bnd.spline_filter(z, order), ndimage.spline_filter(z, order))
        # A line of one sample is left alone (scipy: exactly 1.0).
        assert bnd.spline_filter(np.ones((1, 1, 1)), order)[0, 0, 0] == 1.0


def same_error(call):
    """Calls ``call(module)`` for bsfit and scipy; both must raise the same type."""
    with pytest.raises(Exception) as want:
        call(ndimage)
    with pytest.raises(type(want.value)) as got:
        call(bnd)
    return str(got.value), str(want.value)


def test_errors_are_scipys():
    f = np.ones((4, 5))
    pts = np.ones((2, 3))
    cases = [
        lambda m: m.spline_filter(f, order=1),
        lambda m: m.spline_filter(f, order=6),
        lambda m: m.spline_filter1d(f, order=-1),
        lambda m: m.spline_filter(f, mode="periodic"),
        lambda m: m.spline_filter1d(f, mode=None),
        lambda m: m.spline_filter1d(f, axis=2),
        lambda m: m.spline_filter(f, output=np.zeros((5, 4))),
        lambda m: m.spline_filter(f, output="U"),
        lambda m: m.map_coordinates(f, pts, order=7),
        lambda m: m.map_coordinates(f, np.ones((3, 3))),
        lambda m: m.map_coordinates(np.array(1.0), np.ones((0, 3))),
        lambda m: m.map_coordinates(f, np.ones(2)),
        lambda m: m.map_coordinates(f, pts + 0j),
        lambda m: m.map_coordinates(f, pts, mode="zero"),
        lambda m: m.map_coordinates(f, pts, output=np.zeros(4)),
        lambda m: m.map_coordinates(f, pts, cval=1j),
    ]
    for case in cases:
        got, want = same_error(case)
        if "not supported" in want or "rank" in want or "shape" in want or "Complex" in want:
            assert got == want
    ro = np.zeros(3)
    ro.flags.writeable = False
    got, want = same_error(lambda m: m.map_coordinates(f, pts, output=ro))
    assert got == want == "output array is read-only."


def ticks_inside(call):
    """Ticks another Python thread records during the middle 40% of call():
    it gets some only if call() released the GIL."""
    ticks = []
    stop = threading.Event()

    def ticker():
        while not stop.is_set():
            ticks.append(time.perf_counter())

    t = threading.Thread(target=ticker)
    t.start()
    try:
        time.sleep(0.01)
        t0 = time.perf_counter()
        call()
        t1 = time.perf_counter()
    finally:
        stop.set()
        t.join()
    lo, hi = t0 + 0.3 * (t1 - t0), t1 - 0.3 * (t1 - t0)
    return t1 - t0, sum(lo < x < hi for x in ticks)


def test_gil_is_released(rng):
    vol = rng.standard_normal((160, 160, 160))
    pts = rng.uniform(0, 159, (3, 3_000_000))
    calls = {
        "spline_filter": lambda: bnd.spline_filter(vol),
        "spline_filter1d": lambda: bnd.spline_filter1d(vol, 5, 1),
        "map_coordinates": lambda: bnd.map_coordinates(vol, pts, prefilter=False),
    }
    for name, call in calls.items():
        duration, inside = ticks_inside(call)
        if duration < 0.06:
            continue  # too short to tell reliably on this machine
        assert inside > 0, (name, duration)
