"""spline_filter / prefilter against scipy.ndimage and against the stencil itself."""

import numpy as np
import pytest
from conftest import rel_err
from scipy import ndimage

import bsfit

SHAPES = [(1, 1, 1), (2, 3, 1), (3, 3, 3), (4, 5, 6), (7, 3, 8), (16, 9, 5), (33, 2, 4), (20, 24, 28)]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("mode", ["mirror", "grid-wrap"])
def test_float64_matches_scipy(shape, mode):
    rng = np.random.default_rng(sum(shape))
    f = rng.uniform(-1, 1, size=shape)
    want = ndimage.spline_filter(f, order=3, mode=mode, output=np.float64)
    got = bsfit.spline_filter(f, order=3, mode=mode, output=np.float64)
    assert got.dtype == np.float64 and got.shape == shape
    assert rel_err(got, want) <= 1e-12


@pytest.mark.parametrize("mode", ["mirror", "grid-wrap"])
@pytest.mark.parametrize("src", [np.float32, np.float64])
def test_float32_matches_scipy(mode, src):
    rng = np.random.default_rng(3)
    f = rng.uniform(-1, 1, size=(24, 17, 30)).astype(src)
    want = ndimage.spline_filter(f, order=3, mode=mode, output=np.float32)
    got = bsfit.spline_filter(f, mode=mode, output=np.float32)
    assert got.dtype == np.float32
    assert rel_err(got, want) <= 1e-6


def test_default_mode_is_mirror_and_layouts():
    rng = np.random.default_rng(4)
    f = rng.normal(size=(12, 10, 8))
    want = ndimage.spline_filter(f)
    assert rel_err(bsfit.spline_filter(f), want) <= 1e-12
    # Any layout and dtype of the input.
    assert rel_err(bsfit.spline_filter(np.asfortranarray(f)), want) <= 1e-12
    assert rel_err(bsfit.spline_filter(f.transpose(2, 0, 1)), ndimage.spline_filter(f.transpose(2, 0, 1))) <= 1e-12
    assert rel_err(bsfit.spline_filter(f[::-1, :, ::2]), ndimage.spline_filter(f[::-1, :, ::2])) <= 1e-12
    ints = rng.integers(-5, 5, size=(6, 7, 8))
    assert rel_err(bsfit.spline_filter(ints), ndimage.spline_filter(ints)) <= 1e-12
    # dtype spellings.
    assert bsfit.spline_filter(f, output="float32").dtype == np.float32
    assert bsfit.spline_filter(f, output=np.dtype("f8")).dtype == np.float64
    # An output array receives the result.
    out = np.empty((12, 10, 8), dtype=np.float32)
    r = bsfit.spline_filter(f, output=out)
    assert r is out
    assert rel_err(out, ndimage.spline_filter(f, output=np.float32)) <= 1e-6


def apply_stencil(c, modes):
    """B c with the 1-D taps [1/6, 2/3, 1/6] along each axis (ndimage modes)."""
    out = c
    for axis, mode in enumerate(modes):
        out = ndimage.correlate1d(out, [1 / 6, 2 / 3, 1 / 6], axis=axis, mode=mode, cval=0.0)
    return out


def test_prefilter_boundaries_per_axis_invert_the_stencil():
    # Oracle independent of scipy's spline_filter: applying the stencil with the
    # same boundaries to the coefficients gives the samples back.
    rng = np.random.default_rng(5)
    f = rng.normal(size=(9, 12, 7))
    names = {"periodic": "wrap", "zero": "constant", "mirror": "mirror"}
    for bounds in [("periodic", "zero", "mirror"), ("zero",) * 3, ("mirror", "periodic", "zero")]:
        c = bsfit.prefilter(f, boundary=bounds)
        back = apply_stencil(c, [names[b] for b in bounds])
        assert rel_err(back, f) <= 1e-13, bounds
    c32 = bsfit.prefilter(f.astype(np.float32), boundary="zero")
    assert c32.dtype == np.float32
    assert rel_err(apply_stencil(c32.astype(float), ["constant"] * 3), f) <= 2e-6
    assert rel_err(bsfit.prefilter(f, "periodic"), ndimage.spline_filter(f, mode="grid-wrap")) <= 1e-12
