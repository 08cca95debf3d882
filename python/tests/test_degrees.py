"""Degrees 1 and 5 (and mixed per axis) against scipy: make_interp_spline,
make_ndbspl (scipy's global collocation with a direct sparse solve as the
oracle), RegularGridInterpolator's "slinear" and "quintic" methods, the
BSpline stand-in, pickling, and the errors."""

import pickle

import numpy as np
import pytest
from conftest import random_sites, rel_err
from scipy.interpolate import NdBSpline
from scipy.interpolate import RegularGridInterpolator as ScipyRGI
from scipy.interpolate import make_interp_spline as scipy_mis
from scipy.interpolate._ndbspline import make_ndbspl as scipy_make_ndbspl
from scipy.sparse.linalg import spsolve

import bsfit


@pytest.mark.parametrize("k", [1, 3, 5])
@pytest.mark.parametrize("n", [6, 7, 12])
def test_make_interp_spline_matches_scipy(k, n):
    rng = np.random.default_rng(100 * k + n)
    x = random_sites(rng, n)
    y = rng.normal(size=(n, 2))
    ours = bsfit.make_interp_spline(x, y, k=k)
    ref = scipy_mis(x, y, k=k)
    assert ours.k == k
    np.testing.assert_array_equal(ours.t, ref.t)
    assert rel_err(ours.c, ref.c) <= 1e-12
    xs = np.linspace(x[0] - 0.1 * (x[-1] - x[0]), x[-1] + 0.1 * (x[-1] - x[0]), 57)
    for nu in range(k + 2):
        want = ref(xs, nu=nu) if nu <= k else np.zeros((57, 2))
        assert rel_err(ours(xs, nu=nu), want) <= 1e-11, nu
    for ext in (False, "periodic"):
        got, want = ours(xs, extrapolate=ext), ref(xs, extrapolate=ext)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        ok = ~np.isnan(want)
        assert rel_err(got[ok], want[ok]) <= 1e-11
    # scipy's own methods on the same t and c.
    assert rel_err(ours.derivative()(xs), ref.derivative()(xs)) <= 1e-11
    assert rel_err(ours.integrate(x[0], x[-1]), ref.integrate(x[0], x[-1])) <= 1e-11


def test_make_interp_spline_degree_rules():
    x = np.linspace(0.0, 1.0, 5)
    y = x**2
    # Fewer than k + 1 sites: scipy's message.
    with pytest.raises(ValueError, match="expected 1, got 0"):
        bsfit.make_interp_spline(x, y, k=5)
    # k = 1: bc_type can only be None (periodic changes nothing), as in scipy.
    with pytest.raises(ValueError, match="Too much info for k=1"):
        bsfit.make_interp_spline(x, y, k=1, bc_type="natural")
    yp = np.sin(2 * np.pi * x)
    yp[-1] = yp[0]
    lin = bsfit.make_interp_spline(x, yp, k=1, bc_type="periodic")
    ref = scipy_mis(x, yp, k=1, bc_type="periodic")
    np.testing.assert_array_equal(lin.t, ref.t)
    assert rel_err(lin(np.linspace(-0.5, 1.5, 9)), ref(np.linspace(-0.5, 1.5, 9))) <= 1e-12
    # Other conditions at k = 5, and other degrees: the general curve solver.
    x6 = np.linspace(0.0, 1.0, 8)
    yy = np.cos(2 * np.pi * x6)
    ours = bsfit.make_interp_spline(x6, yy, k=5, bc_type="periodic")
    ref = scipy_mis(x6, yy, k=5, bc_type="periodic")
    np.testing.assert_array_equal(ours.t, ref.t)
    assert rel_err(ours.c, ref.c) <= 1e-11
    bc = ([(1, 0.0), (2, 1.0)], [(1, 0.0), (2, -1.0)])
    ours = bsfit.make_interp_spline(x6, yy, k=5, bc_type=bc)
    ref = scipy_mis(x6, yy, k=5, bc_type=bc)
    assert rel_err(ours.c, ref.c) <= 1e-11
    # One condition per end is too few at k = 5 (scipy's message).
    for bc in ("natural", "clamped"):
        with pytest.raises(ValueError, match="expected 4, got 1\\+1"):
            bsfit.make_interp_spline(x6, yy, k=5, bc_type=bc)
    for k in (2, 4, 7):
        ours = bsfit.make_interp_spline(x6, x6**2, k=k)
        ref = scipy_mis(x6, x6**2, k=k)
        assert rel_err(ours.c, ref.c) <= 1e-11


@pytest.mark.parametrize("ks", [1, 2, 4, 5, (1, 5), (2, 4), (5, 3, 1), (3, 5, 5), (4, 2, 3)])
def test_make_ndbspl_matches_scipy_direct_solve(ks):
    rng = np.random.default_rng(7)
    ndim = 1 if isinstance(ks, int) else len(ks)
    if ndim == 1:
        ndim = 2
    shape = (8, 7, 6)[:ndim]
    axes = tuple(random_sites(rng, n) for n in shape)
    values = rng.normal(size=shape)
    ours = bsfit.make_ndbspl(axes, values, k=ks)
    ref = scipy_make_ndbspl(axes, values, k=ks, solver=spsolve)
    want_k = (ks,) * ndim if isinstance(ks, int) else ks
    assert ours.degrees == want_k
    for t, tr in zip(ours.t, ref.t):
        np.testing.assert_array_equal(t, tr)
    assert rel_err(ours.c, ref.c) <= 1e-10
    lo = np.array([a[0] for a in axes])
    hi = np.array([a[-1] for a in axes])
    xi = lo + rng.uniform(-0.05, 1.05, size=(200, ndim)) * (hi - lo)
    assert rel_err(ours(xi), ref(xi)) <= 1e-10
    for a in range(ndim):
        nu = [0] * ndim
        nu[a] = 1
        assert rel_err(ours(xi, nu=nu), ref(xi, nu=nu)) <= 1e-9
        nu[a] = want_k[a] + 1
        assert np.all(ours(xi, nu=nu) == 0.0)
    # to_scipy gives the same NdBSpline; pickling keeps the degrees.
    sc = ours.to_scipy()
    assert isinstance(sc, NdBSpline) and tuple(sc.k) == want_k
    assert rel_err(sc(xi), ref(xi)) <= 1e-10
    back = pickle.loads(pickle.dumps(ours))
    assert back == ours and back.degrees == want_k
    # A Fitter with the same degrees refits to the same spline.
    f = bsfit.Fitter(axes, k=ks)
    assert f.fit(values) == ours
    assert pickle.loads(pickle.dumps(f)).fit(values) == ours


def test_make_ndbspl_degree_errors():
    rng = np.random.default_rng(3)
    axes = tuple(random_sites(rng, n) for n in (7, 6, 5))
    values = rng.normal(size=(7, 6, 5))
    with pytest.raises(ValueError, match="5 points in dimension 2, but order 5"):
        bsfit.make_ndbspl(axes, values, k=5)
    with pytest.raises(ValueError, match="entries for 3 dimensions"):
        bsfit.make_ndbspl(axes, values, k=(5, 5))
    for k in ((6, 3, 1), (0, 3, 3)):
        with pytest.raises(NotImplementedError, match="k = [06]"):
            bsfit.make_ndbspl(axes, values, k=k)
    # Degree 5 with another bc_type is not implemented.
    with pytest.raises(NotImplementedError, match="degree k = 5"):
        bsfit.TensorSpline(axes, values, bc_type="natural", k=(5, 3, 3))


@pytest.mark.parametrize("method", ["slinear", "cubic", "quintic"])
def test_regular_grid_interpolator_spline_methods(method):
    rng = np.random.default_rng(11)
    axes = (np.sort(rng.uniform(0, 3, 8)), np.sort(rng.uniform(-1, 1, 7)))
    values = rng.normal(size=(8, 7, 2))
    ours = bsfit.RegularGridInterpolator(axes, values, method=method)
    k = {"slinear": 1, "cubic": 3, "quintic": 5}[method]
    # scipy's RGI solves iteratively (gcrotmk); its direct-solve result is
    # the oracle.
    ref = ScipyRGI(axes, values, method=method, solver=spsolve)
    xi = np.column_stack([rng.uniform(0.1, 2.9, 300), rng.uniform(-0.9, 0.9, 300)])
    xi = np.clip(xi, [axes[0][0], axes[1][0]], [axes[0][-1], axes[1][-1]])
    assert rel_err(ours(xi), ref(xi)) <= 1e-10
    assert rel_err(ours(xi, nu=(1, 0)), ref(xi, nu=(1, 0))) <= 1e-9
    # Another method at call time (scipy's own then solves iteratively: the
    # direct-solve interpolator of that method is the oracle), and the
    # linear method stays scipy's.
    other = "quintic" if method != "quintic" else "slinear"
    want = ScipyRGI(axes, values, method=other, solver=spsolve)(xi)
    assert rel_err(ours(xi, method=other), want) <= 1e-10
    np.testing.assert_array_equal(ours(xi, method="linear"), ref(xi, method="linear"))
    # Out of bounds: scipy's error, or fill_value.
    with pytest.raises(ValueError, match="out of bounds"):
        ours([[5.0, 0.0]])
    filled = bsfit.RegularGridInterpolator(axes, values, method=method, bounds_error=False)
    assert np.all(np.isnan(filled([[5.0, 0.0]])))
    assert ours._spline.degrees == (k, k)
    # Too few points for the degree.
    if k > 1:
        with pytest.raises(ValueError, match="points in dimension"):
            bsfit.RegularGridInterpolator((axes[0], axes[1][:k]), values[:, :k], method=method)
