"""Bad input: ValueError (bsfit.FitError) or TypeError with a useful message, never a crash."""

import numpy as np
import pytest

import bsfit

X = np.linspace(0.0, 1.0, 6)
Y = np.array([0.0, 0.1, 0.5, 0.7, 2.0])
V = np.outer(np.sin(X), np.cos(Y))


def test_fit_error_is_a_value_error():
    assert issubclass(bsfit.FitError, ValueError)


@pytest.mark.parametrize(
    "points, values, match",
    [
        ((X[:3],), np.zeros(3), "axis 0 has 3 sites; at least 4"),
        ((np.array([]),), np.zeros(0), "axis 0 has 0 sites"),
        ((X, Y), np.zeros((6, 4)), "axis 1 has 5 sites but the values have extent 4"),
        ((X, Y), np.zeros((5, 6)), "axis 0 has 6 sites but the values have extent 5"),
        ((X, Y), np.zeros(30), r"shape \(30,\) for a grid of shape \(6, 5\)"),
        ((X, Y), np.zeros(6), "expected 2 dimensions, got 1"),
        ((X, X[::-1]), np.zeros((6, 6)), "axis 1: sites must be strictly increasing"),
        ((X, np.array([0.0, 1.0, 1.0, 2.0, 3.0])), np.zeros((6, 5)), "strictly increasing"),
        ((np.array([0.0, np.nan, 1.0, 2.0]),), np.zeros(4), "site 1 is not finite"),
        ((np.array([0.0, 1.0, 2.0, np.inf]),), np.zeros(4), "site 3 is not finite"),
        ((X, Y), np.where(np.arange(30).reshape(6, 5) == 7, np.nan, 0.0), r"\[1, 2\] is not finite"),
        ((X, Y), np.full((6, 5), np.inf), "not finite"),
        ((X,) * 7, np.zeros((6,) * 7), "7 dimensions"),
        ((), np.zeros(()), "0 dimensions"),
        ((X.reshape(2, 3),), np.zeros(6), "must be 1-D"),
    ],
)
def test_invalid_fits_raise_value_error(points, values, match):
    with pytest.raises(ValueError, match=match):
        bsfit.TensorSpline(points, values)
    # make_ndbspl: the same errors (too few sites in scipy's words).
    with pytest.raises(ValueError):
        bsfit.make_ndbspl(points, values)


def test_make_ndbspl_too_few_points_in_scipy_words():
    with pytest.raises(ValueError, match="There are 3 points in dimension 0, but order 3"):
        bsfit.make_ndbspl((X[:3],), np.zeros(3))
    with pytest.raises(ValueError, match="There are 0 points in dimension 1"):
        bsfit.make_ndbspl((X, np.array([])), np.zeros((6, 0)))


def test_overflowing_values_raise():
    with pytest.raises(bsfit.FitError, match="non-finite coefficient"):
        bsfit.TensorSpline((X,), np.array([0, 1e308, -1e308, 1e308, -1e308, 0.0]))


@pytest.mark.parametrize(
    "points, values",
    [
        ((X, Y), np.array([["a"] * 5] * 6)),
        ((X, Y), np.array([[object()] * 5] * 6, dtype=object)),
        ((X.astype(complex), Y), V),
        ((X, ["a", "b", "c", "d", "e"]), V),
        (X, V[:, 0]),  # a bare array instead of a tuple of arrays
        (3.0, V),
        ((X, Y), np.zeros((6, 5), dtype="datetime64[s]")),
    ],
)
def test_wrong_types_raise_type_error(points, values):
    with pytest.raises(TypeError):
        bsfit.TensorSpline(points, values)


def test_object_arrays_of_numbers_are_accepted():
    s = bsfit.TensorSpline((X, Y), V.astype(object))
    assert s == bsfit.TensorSpline((X, Y), V)
    # numpy converts None to NaN: reported as a non-finite value.
    with pytest.raises(bsfit.FitError, match="not finite"):
        bsfit.TensorSpline((X, Y), np.array([[None] * 5] * 6, dtype=object))


def test_bad_evaluation_input():
    s = bsfit.TensorSpline((X, Y), V)
    for xi in [np.zeros(3), np.zeros((4, 3)), np.zeros((4, 1)), 0.5]:
        with pytest.raises(ValueError, match="Shapes"):
            s(xi)
        with pytest.raises(ValueError, match="Shapes"):
            s.grad(xi)
        with pytest.raises(ValueError, match="Shapes"):
            s.hessian(xi)
    with pytest.raises(TypeError):
        s(np.zeros((3, 2), dtype=complex))
    with pytest.raises(TypeError):
        s([["a", "b"]])
    with pytest.raises(ValueError, match="derivative orders"):
        s([[0.5, 0.5]], nu=(1,))
    with pytest.raises(ValueError, match="derivative orders"):
        s([[0.5, 0.5]], nu=(1, 0, 0))
    with pytest.raises(ValueError, match="non-negative"):
        s([[0.5, 0.5]], nu=(-1, 0))
    with pytest.raises(TypeError, match="integers"):
        s([[0.5, 0.5]], nu=(0.5, 0))
    # NaN coordinates give NaN, not an error.
    out = s([[np.nan, 0.5], [0.5, 0.5]])
    assert np.isnan(out[0]) and np.isfinite(out[1])
    assert np.isnan(s([[0.5, np.nan]], extrapolate=False)[0])
    # Infinite coordinates do not crash.
    s([[np.inf, 0.5], [-np.inf, 0.5]])


def test_invalid_parts_raise():
    s = bsfit.TensorSpline((X, Y), V)
    t, c = s.t, s.c
    ok = bsfit.TensorSpline.from_parts(t, c)
    assert ok == s
    bad_c = np.array(c)
    bad_c[2, 3] = np.nan
    with pytest.raises(ValueError, match="not finite"):
        bsfit.TensorSpline.from_parts(t, bad_c)
    with pytest.raises(ValueError, match="shape"):
        bsfit.TensorSpline.from_parts(t, c.T)
    with pytest.raises(ValueError, match="shape"):
        bsfit.TensorSpline.from_parts(t, c.ravel())
    t_bad = (t[0][::-1], t[1])
    with pytest.raises(ValueError, match="invalid spline data"):
        bsfit.TensorSpline.from_parts(t_bad, c)
    t_short = (t[0][:7], t[1])
    with pytest.raises(ValueError):
        bsfit.TensorSpline.from_parts(t_short, np.zeros((3, 5)))
    unclamped = (np.array([0, 0, 0, 0.5, 1, 1, 1, 1, 1.0]), t[1])
    with pytest.raises(ValueError, match="clamped"):
        bsfit.TensorSpline.from_parts(unclamped, np.zeros((5, 5)))


def test_fitter_errors():
    f = bsfit.Fitter((X, Y))
    with pytest.raises(ValueError, match="extent"):
        f.fit(np.zeros((6, 4)))
    with pytest.raises(ValueError, match="not finite"):
        f.fit(np.full((6, 5), np.nan))
    with pytest.raises(TypeError):
        f.fit(np.zeros((6, 5)), out=np.zeros((6, 5), dtype=np.float32))
    with pytest.raises(TypeError):
        f.fit(np.zeros((6, 5)), out=[0.0] * 30)
    with pytest.raises(ValueError, match="C-contiguous"):
        f.fit(np.zeros((6, 5)), out=np.zeros((5, 6)).T)
    with pytest.raises(ValueError, match="C-contiguous"):
        f.fit(np.zeros((6, 5)), out=np.zeros((6, 10))[:, ::2])
    ro = np.zeros((6, 5))
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        f.fit(np.zeros((6, 5)), out=ro)
    with pytest.raises(ValueError, match="extent"):
        f.fit(np.zeros((6, 5)), out=np.zeros((6, 4)))
    v = np.ones((6, 5))
    with pytest.raises(ValueError, match="overlap"):
        f.fit(v, out=v)
    with pytest.raises(ValueError, match="overlap"):
        f.fit(v[:, :], out=v)
    with pytest.raises(ValueError, match="shape"):
        f.fit(np.zeros((6, 5)), out=np.zeros(30))
    with pytest.raises(ValueError):
        bsfit.Fitter((X[:2], Y))
    with pytest.raises(ValueError, match="7 dimensions"):
        bsfit.Fitter((X,) * 7)


def test_spline_filter_is_scipys_in_every_mode_order_and_dimension():
    sn = pytest.importorskip("scipy.ndimage")
    rng = np.random.default_rng(5)
    a = rng.standard_normal((4, 5, 6))
    for mode in ["mirror", "grid-wrap", "reflect", "nearest", "constant", "wrap",
                 "grid-mirror", "grid-constant"]:
        for order in [2, 3, 4, 5]:
            want = sn.spline_filter(a, order=order, mode=mode)
            got = bsfit.spline_filter(a, order=order, mode=mode)
            assert np.allclose(got, want, rtol=1e-12, atol=1e-12), (mode, order)
    b = rng.standard_normal((7, 9))
    assert np.allclose(bsfit.spline_filter(b), sn.spline_filter(b), rtol=1e-12, atol=1e-12)
    got = bsfit.spline_filter(a, output=np.int32)
    assert got.dtype == np.int32
    assert np.array_equal(got, sn.spline_filter(a, output=np.int32))
    # scipy propagates NaN and returns empty input empty.
    nan = a.copy()
    nan[1, 2, 3] = np.nan
    assert np.array_equal(np.isnan(bsfit.spline_filter(nan)), np.isnan(sn.spline_filter(nan)))
    assert bsfit.spline_filter(np.zeros((3, 0, 3))).shape == (3, 0, 3)
    assert bsfit.spline_filter(np.ones((1, 1, 1)))[0, 0, 0] == 1.0
    for order in [0, 1, 6]:  # scipy: "spline order not supported"
        with pytest.raises(RuntimeError):
            bsfit.spline_filter(a, order=order)
    with pytest.raises((RuntimeError, ValueError)):
        bsfit.spline_filter(a, mode="bogus")


def test_prefilter_errors():
    a = np.zeros((4, 5, 6))
    with pytest.raises(ValueError, match="unknown boundary"):
        bsfit.prefilter(a, boundary="reflect")
    with pytest.raises(TypeError):
        bsfit.prefilter(a, boundary=("zero", "zero"))
    with pytest.raises(ValueError, match="3-D"):
        bsfit.prefilter(np.zeros((2, 2, 2, 2)))
    with pytest.raises(TypeError):
        bsfit.prefilter(a.astype(complex))
    with pytest.raises(TypeError, match="float32 or float64"):
        bsfit.prefilter(a, dtype=np.float16)
