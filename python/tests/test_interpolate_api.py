"""scipy's interpolate signatures: make_ndbspl, make_interp_spline (BSpline)
and RegularGridInterpolator, against scipy itself."""

import pickle

import numpy as np
import pytest
from conftest import random_sites, rel_err
from scipy.interpolate import BSpline as ScipyBSpline
from scipy.interpolate import PPoly
from scipy.interpolate import RegularGridInterpolator as ScipyRGI
from scipy.interpolate import make_interp_spline as scipy_mis
from scipy.sparse.linalg import spsolve

import bsfit


def close(got, want, tol):
    """NaN where the reference is NaN, relative error <= tol elsewhere."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    return rel_err(got[ok], want[ok]) <= tol if ok.any() else True


# --------------------------------------------------------------------------
# make_interp_spline
# --------------------------------------------------------------------------

BC_TYPES = [
    None,
    "not-a-knot",
    "natural",
    "clamped",
    "periodic",
    ("natural", "clamped"),
    ([(1, 0.5)], [(2, -1.0)]),
    ([(2, 0.0)], "clamped"),
]


def sample(rng, n, tail=(), periodic=False, complex_=False):
    x = random_sites(rng, n)
    y = rng.uniform(-1, 1, size=(n,) + tail)
    if complex_:
        y = y + 1j * rng.uniform(-1, 1, size=(n,) + tail)
    if periodic:
        y[-1] = y[0]
    return x, y


@pytest.mark.parametrize("bc_type", BC_TYPES, ids=str)
@pytest.mark.parametrize("tail", [(), (3,), (2, 2)], ids=str)
def test_make_interp_spline_matches_scipy(bc_type, tail):
    rng = np.random.default_rng(len(str(bc_type)) + len(tail))
    x, y = sample(rng, 12, tail, periodic=bc_type == "periodic")
    if isinstance(bc_type, tuple):
        # Explicit values: one per component.
        bc_type = tuple(e if isinstance(e, str) else [(e[0][0], np.full(tail, e[0][1]))]
                        for e in bc_type)
    ref = scipy_mis(x, y, k=3, bc_type=bc_type)
    b = bsfit.make_interp_spline(x, y, k=3, bc_type=bc_type)
    assert isinstance(b, ScipyBSpline) and isinstance(b, bsfit.BSpline)
    assert b.k == 3 and b.axis == 0 and b.extrapolate == ref.extrapolate
    np.testing.assert_array_equal(b.t, ref.t)
    assert b.c.shape == ref.c.shape
    assert rel_err(b.c, ref.c) <= 1e-12
    xx = np.linspace(x[0] - 0.2, x[-1] + 0.2, 41)
    for nu in (0, 1, 2, 3):
        assert rel_err(b(xx, nu), ref(xx, nu)) <= 1e-11, nu
    # scipy's own methods work on it and agree.
    assert close(b.derivative()(xx), ref.derivative()(xx), 1e-11)
    assert close(b.antiderivative(2)(xx), ref.antiderivative(2)(xx), 1e-11)
    assert close(b.integrate(x[1], x[-2]), ref.integrate(x[1], x[-2]), 1e-11)
    assert close(b.integrate(x[0] - 1, x[-1] + 1, extrapolate=True),
                 ref.integrate(x[0] - 1, x[-1] + 1, extrapolate=True), 1e-11)


@pytest.mark.parametrize("axis", [0, 1, -1, 2])
def test_make_interp_spline_axis_and_complex(axis):
    rng = np.random.default_rng(axis + 5)
    x = random_sites(rng, 9)
    shape = [2, 3, 4]
    shape[axis] = 9
    y = rng.normal(size=shape) + 1j * rng.normal(size=shape)
    ref = scipy_mis(x, y, axis=axis)
    b = bsfit.make_interp_spline(x, y, axis=axis)
    assert b.axis == ref.axis and b.c.dtype == np.complex128
    assert rel_err(b.c, ref.c) <= 1e-12
    for xx in (1.3, np.linspace(x[0], x[-1], 7), np.linspace(x[0], x[-1], 6).reshape(2, 3)):
        got, want = b(xx), ref(xx)
        assert got.shape == want.shape and got.dtype == want.dtype
        assert rel_err(got, want) <= 1e-12


def test_bspline_stands_in_for_scipys():
    x = np.linspace(0.0, 4.0, 9)
    y = x**3 - x
    b = bsfit.make_interp_spline(x, y)
    ref = scipy_mis(x, y)
    # PPoly.from_spline takes it as a BSpline; tck, insert_knot, pickling.
    p = PPoly.from_spline(b)
    np.testing.assert_allclose(p(x), y, atol=1e-12)
    t, c, k = b.tck
    assert k == 3 and t is b.t
    assert rel_err(b.insert_knot(1.7)(x), y) <= 1e-13
    b2 = pickle.loads(pickle.dumps(b))
    assert isinstance(b2, bsfit.BSpline)
    np.testing.assert_array_equal(b2(x + 0.1), b(x + 0.1))
    # The fitted arrays are shared, read-only; assigning new ones works.
    with pytest.raises(ValueError):
        b.c[0] = 1.0
    b.c = b.c * 2
    np.testing.assert_allclose(b(x), 2 * y, atol=1e-12)
    # A BSpline built by hand evaluates like scipy's, for any degree
    # (non-cubic degrees and knot vectors bsfit cannot represent are scipy's code).
    for tt, cc, kk in [(ref.t, ref.c, 3), (ref.derivative().t, ref.derivative().c, 2),
                       (np.r_[0, 0, 0, 0, 1, 1, 2, 3, 3, 3, 3.0], np.arange(7.0), 3)]:
        mine, theirs = bsfit.BSpline(tt, cc, kk), ScipyBSpline(tt, cc, kk)
        xx = np.linspace(-0.5, tt[-1] + 0.5, 23)
        assert rel_err(mine(xx), theirs(xx)) <= 1e-12


def test_make_interp_spline_errors_like_scipy():
    x = np.linspace(0.0, 1.0, 8)
    y = x**2
    with pytest.raises(ValueError, match="Unknown boundary condition"):
        bsfit.make_interp_spline(x, y, bc_type=42)
    with pytest.raises(ValueError):
        bsfit.make_interp_spline(x, y, bc_type=[(1, 0.0)])
    with pytest.raises(ValueError, match="number of derivatives"):
        bsfit.make_interp_spline(x, y, bc_type=([(1, 0.0)], None))
    with pytest.raises(ValueError, match="Bad boundary conditions"):
        bsfit.make_interp_spline(x, y, bc_type=([(6, 0.0)], [(1, 0.0)]))
    with pytest.raises(ValueError, match="Shapes of x"):
        bsfit.make_interp_spline(x, y[:5])
    with pytest.raises(ValueError, match="duplicates"):
        bsfit.make_interp_spline(np.r_[0, 0, x[1:]], np.r_[0, y])
    with pytest.raises(ValueError, match="infs or nans"):
        bsfit.make_interp_spline(x, np.where(x > 0.5, np.nan, y))
    with pytest.raises(ValueError, match="First and last"):
        bsfit.make_interp_spline(x, y, bc_type="periodic")
    with pytest.raises(ValueError, match="Unknown boundary condition"):
        bsfit.make_interp_spline(x, y, bc_type="typo")
    with pytest.raises(TypeError):
        bsfit.make_interp_spline(x, y, k=2.5)
    with pytest.raises(NotImplementedError, match="k = 16"):
        bsfit.make_interp_spline(np.linspace(0.0, 1.0, 20), np.zeros(20), k=16)
    # What the tuned cubic systems do not take goes to the general curve
    # solver: the same result as scipy's.
    for kw in (
        dict(bc_type=([(3, 0.0)], [(1, 0.0)])),
        dict(bc_type=([(1, 0.0), (2, 0.0)], None)),
    ):
        ours, ref = bsfit.make_interp_spline(x, y, **kw), scipy_mis(x, y, **kw)
        assert rel_err(ours.c, ref.c) <= 1e-11
    ours = bsfit.make_interp_spline(x[:3], y[:3], bc_type="natural")
    assert ours.c.shape == (5,)
    assert rel_err(ours.c, scipy_mis(x[:3], y[:3], bc_type="natural").c) <= 1e-12
    with pytest.raises(ValueError, match="expected 1, got 0"):
        bsfit.make_interp_spline(x[:3], y[:3])
    # Explicit knots: bsfit's own give the tuned fit, others the general solver.
    t = bsfit.make_interp_spline(x, y).t
    assert np.array_equal(bsfit.make_interp_spline(x, y, t=np.array(t)).t, t)
    t2 = np.array(t)
    t2[5] += 0.01
    ours, ref = bsfit.make_interp_spline(x, y, t=t2), scipy_mis(x, y, t=t2)
    assert np.array_equal(ours.t, t2)
    assert rel_err(ours.c, ref.c) <= 1e-11
    with pytest.raises(ValueError, match="sorted"):
        bsfit.make_interp_spline(x, y, t=t2[::-1])


# --------------------------------------------------------------------------
# RegularGridInterpolator
# --------------------------------------------------------------------------


def rgi_case(shape, tail=(), complex_=False, seed=0):
    rng = np.random.default_rng(seed)
    axes = [random_sites(rng, n) for n in shape]
    v = rng.uniform(-1, 1, size=tuple(shape) + tail)
    if complex_:
        v = v + 1j * rng.uniform(-1, 1, size=tuple(shape) + tail)
    return rng, axes, v


@pytest.mark.parametrize("tail", [(), (2,), (2, 3)], ids=str)
@pytest.mark.parametrize("complex_", [False, True])
@pytest.mark.parametrize("descending", [(), (0,), (1, 2)], ids=str)
def test_rgi_cubic_matches_scipy(tail, complex_, descending):
    rng, axes, v = rgi_case((7, 6, 5), tail, complex_, seed=len(tail) + 3 * len(descending))
    for a in descending:
        axes[a] = axes[a][::-1].copy()
    ref = ScipyRGI(axes, v, method="cubic", solver=spsolve)
    ours = bsfit.RegularGridInterpolator(axes, v, method="cubic")
    assert isinstance(ours, ScipyRGI)
    lo = np.array([min(a[0], a[-1]) for a in axes])
    hi = np.array([max(a[0], a[-1]) for a in axes])
    xi = lo + rng.uniform(size=(4, 5, 3)) * (hi - lo)
    got, want = ours(xi), ref(xi)
    assert got.shape == want.shape == (4, 5) + tail and got.dtype == want.dtype
    assert rel_err(got, want) <= 1e-10  # scipy's global sparse solve, to its rounding
    for nu in [(1, 0, 0), (0, 2, 1)]:
        assert rel_err(ours(xi, nu=nu), ref(xi, nu=nu)) <= 1e-9
    # Other methods are scipy's code, unchanged.
    for method in ("linear", "nearest"):
        np.testing.assert_array_equal(ours(xi, method=method), ref(xi, method=method))


def test_rgi_bounds_and_fill_values_like_scipy():
    rng, axes, v = rgi_case((6, 5), seed=9)
    lo = np.array([a[0] for a in axes])
    hi = np.array([a[-1] for a in axes])
    xi = np.array([lo + 0.3 * (hi - lo), hi + 0.1, [lo[0] - 1.0, hi[1]], [np.nan, hi[1]],
                   [hi[0] + 1.0, np.nan]])
    for fill in (np.nan, None, 7.5, 2):
        ours = bsfit.RegularGridInterpolator(axes, v, "cubic", bounds_error=False, fill_value=fill)
        ref = ScipyRGI(axes, v, "cubic", bounds_error=False, fill_value=fill, solver=spsolve)
        got, want = ours(xi), ref(xi)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        ok = ~np.isnan(want)
        np.testing.assert_allclose(got[ok], want[ok], rtol=1e-10, atol=1e-12)
    ours = bsfit.RegularGridInterpolator(axes, v, "cubic")
    with pytest.raises(ValueError, match="^One of the requested xi is out of bounds in dimension 1$"):
        ours([[lo[0], hi[1] + 1.0]])
    with pytest.raises(ValueError, match="out of bounds in dimension 0"):
        ours([[np.nan, hi[1]]])
    # fill_value assigned after construction is used.
    ours.bounds_error = False
    ours.fill_value = -3.0
    assert ours([[hi[0] + 1, hi[1]]])[0] == -3.0
    # xi of one point as a 1-D array, and as a tuple of coordinate arrays.
    assert ours(lo).shape == (1,)
    np.testing.assert_array_equal(ours((xi[:2, 0], xi[:2, 1])), ours(xi[:2]))


def test_rgi_method_changes_and_errors():
    _, axes, v = rgi_case((7, 6), seed=2)
    ours = bsfit.RegularGridInterpolator(axes, v)  # linear
    ref = ScipyRGI(axes, v, solver=None)
    xi = np.array([[a[2] * 0.9 + a[3] * 0.1 for a in axes]])
    want = ScipyRGI(axes, v, method="cubic", solver=spsolve)(xi)
    assert rel_err(ours(xi, method="cubic"), want) <= 1e-10
    np.testing.assert_array_equal(ours(xi), ref(xi))
    with pytest.raises(ValueError, match="not defined"):
        ours(xi, method="wobbly")
    with pytest.raises(ValueError, match="dimension"):
        ours(np.zeros((2, 3)), method="cubic")
    with pytest.raises(ValueError, match="points in dimension"):
        bsfit.RegularGridInterpolator([axes[0], axes[1][:3]], v[:, :3], method="cubic")
    with pytest.raises(ValueError, match="ascending or descending"):
        bsfit.RegularGridInterpolator([axes[0][[0, 2, 1, 3, 4, 5]], axes[1]], v, method="cubic")
    # Solver options are accepted and not used (the solve is exact).
    s1 = bsfit.RegularGridInterpolator(axes, v, method="cubic", solver=spsolve,
                                       solver_args={"atol": 1e-3})
    np.testing.assert_array_equal(s1(xi), bsfit.RegularGridInterpolator(axes, v, "cubic")(xi))


def test_rgi_pickles():
    _, axes, v = rgi_case((6, 5), (2,), seed=4)
    ours = bsfit.RegularGridInterpolator(axes, v, method="cubic", bounds_error=False)
    again = pickle.loads(pickle.dumps(ours))
    xi = np.array([[a[1] for a in axes]])
    np.testing.assert_array_equal(again(xi), ours(xi))
