"""TensorSpline against scipy: make_interp_spline per axis, NdBSpline, make_ndbspl."""

import itertools

import numpy as np
import pytest
from conftest import random_points, random_sites, rel_err, scipy_fit
from scipy.interpolate import NdBSpline
from scipy.interpolate._ndbspline import make_ndbspl as scipy_make_ndbspl
from scipy.sparse.linalg import spsolve

import bsfit

SHAPES = [
    (4,), (5,), (9,), (40,),
    (4, 5), (9, 6), (17, 11),
    (4, 5, 6), (9, 7, 5), (12, 6, 8),
    (5, 4, 6, 7), (7, 6, 5, 4),
    (4, 5, 4, 5, 4), (6, 5, 4, 4, 5),
    (5, 4, 4, 6, 4, 5),
]


def case(shape, seed):
    rng = np.random.default_rng(seed)
    axes = tuple(random_sites(rng, n) for n in shape)
    values = rng.uniform(-1.0, 1.0, size=shape)
    return rng, axes, values


def order_sets(d):
    orders = [(0,) * d]
    for a in range(d):
        for o in (1, 2, 3):
            v = [0] * d
            v[a] = o
            orders.append(tuple(v))
    if d > 1:
        orders.append((1,) * d)
        orders.append((2,) * d)
    return orders


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_knots_and_coefficients_match_scipy(shape):
    _, axes, values = case(shape, sum(shape))
    t_ref, c_ref = scipy_fit(axes, values)
    s = bsfit.TensorSpline(axes, values)
    assert s.k == 3
    assert s.ndim == len(shape) and s.shape == shape
    assert len(s.t) == len(shape)
    for t, tr in zip(s.t, t_ref):
        np.testing.assert_array_equal(t, tr)
    assert s.c.shape == shape
    assert rel_err(s.c, c_ref) <= 1e-12


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_values_and_derivatives_match_ndbspline(shape):
    rng, axes, values = case(shape, 7 * sum(shape))
    t_ref, c_ref = scipy_fit(axes, values)
    ref = NdBSpline(t_ref, c_ref, 3)
    s = bsfit.TensorSpline(axes, values)
    pts, is_out = random_points(rng, axes)
    assert is_out.sum() >= 5
    for nu in order_sets(len(shape)):
        want = ref(pts, nu=nu)
        got = s(pts, nu=nu)
        assert rel_err(got, want) <= 1e-12, nu
        # extrapolate=False: NaN exactly where scipy gives NaN.
        want_f = ref(pts, nu=nu, extrapolate=False)
        got_f = s(pts, nu=nu, extrapolate=False)
        np.testing.assert_array_equal(np.isnan(got_f), np.isnan(want_f))
        np.testing.assert_array_equal(np.isnan(got_f), is_out)
        assert rel_err(got_f[~is_out], want_f[~is_out]) <= 1e-12, nu


@pytest.mark.parametrize("shape", [(9,), (9, 6), (9, 7, 5), (5, 4, 6, 7), (6, 5, 4, 4, 5)],
                         ids=lambda s: "x".join(map(str, s)))
def test_grad_and_hessian_match_ndbspline(shape):
    rng, axes, values = case(shape, 3 * sum(shape) + 1)
    t_ref, c_ref = scipy_fit(axes, values)
    ref = NdBSpline(t_ref, c_ref, 3)
    s = bsfit.TensorSpline(axes, values)
    d = len(shape)
    pts, _ = random_points(rng, axes)
    g = s.grad(pts)
    h = s.hessian(pts)
    assert g.shape == (len(pts), d) and h.shape == (len(pts), d, d)
    for i in range(d):
        nu = [0] * d
        nu[i] = 1
        assert rel_err(g[:, i], ref(pts, nu=nu)) <= 1e-12
        for j in range(d):
            nu = [0] * d
            nu[i] += 1
            nu[j] += 1
            assert rel_err(h[:, i, j], ref(pts, nu=nu)) <= 1e-12, (i, j)


def test_make_ndbspl_matches_scipy_direct_solve():
    _, axes, values = case((7, 6, 5), 11)
    ours = bsfit.make_ndbspl(axes, values)
    ref = scipy_make_ndbspl(axes, values, k=3, solver=spsolve)
    for t, tr in zip(ours.t, ref.t):
        np.testing.assert_array_equal(t, tr)
    assert rel_err(ours.c, ref.c) <= 1e-11  # scipy's global sparse solve, to its rounding
    # Drop-in: scipy-only keywords are accepted.
    again = bsfit.make_ndbspl(axes, values, 3, solver=spsolve)
    assert again == ours
    # Even degrees match scipy's direct solve too; k = 0 is not implemented;
    # k of the wrong length or type is bad input.
    for k in (2, (3, 4, 2)):
        even = bsfit.make_ndbspl(axes, values, k=k)
        ref = scipy_make_ndbspl(axes, values, k=k, solver=spsolve)
        assert rel_err(even.c, ref.c) <= 1e-10
    with pytest.raises(NotImplementedError, match="k = 0"):
        bsfit.make_ndbspl(axes, values, k=(3, 0, 3))
    with pytest.raises(ValueError, match="5 points in dimension 2, but order 5"):
        bsfit.make_ndbspl(axes, values, k=5)  # checked first, as scipy does
    for k in ((3, 3), (3, 3, 3, 3)):
        with pytest.raises(ValueError, match="entries for 3 dimensions"):
            bsfit.make_ndbspl(axes, values, k=k)
    with pytest.raises(TypeError):
        bsfit.make_ndbspl(axes, values, k=3.5)
    assert bsfit.make_ndbspl(axes, values, k=(3, 3, 3)) == ours


def test_to_scipy_is_equivalent():
    rng, axes, values = case((8, 6, 5, 4), 5)
    s = bsfit.TensorSpline(axes, values)
    ref = s.to_scipy()
    assert isinstance(ref, NdBSpline) and ref.k == (3, 3, 3, 3)
    pts, _ = random_points(rng, axes)
    assert rel_err(s(pts), ref(pts)) <= 1e-12
    assert rel_err(s(pts, nu=(1, 0, 2, 1)), ref(pts, nu=(1, 0, 2, 1))) <= 1e-12


def tensor_cubic(axes, coef):
    """A random tensor-product cubic: prod_k (a_k0 + a_k1 x + a_k2 x^2 + a_k3 x^3)."""
    def f(*xs):
        out = 1.0
        for x, a in zip(xs, coef):
            out = out * (a[0] + a[1] * x + a[2] * x**2 + a[3] * x**3)
        return out
    return f


def dpoly(a, x, o):
    p = np.polynomial.Polynomial(a).deriv(o) if o else np.polynomial.Polynomial(a)
    return p(x)


@pytest.mark.parametrize("d", [1, 2, 3, 4, 5, 6])
def test_reproduces_tensor_product_cubics_exactly(d):
    # Oracle independent of scipy: a cubic per axis is reproduced, with its
    # derivatives, everywhere (also outside: the boundary pieces are the same cubic).
    rng = np.random.default_rng(100 + d)
    shape = [(9, 7, 6, 5, 4, 4)[k] for k in range(d)]
    # Jittered uniform sites: well-conditioned, so third derivatives (which
    # divide coefficient differences by h^3) stay at rounding level too.
    axes = tuple(np.linspace(-1, 2, n) + rng.uniform(-0.3, 0.3, n) * 3 / (n - 1)
                 for n in shape)
    coef = rng.uniform(-1, 1, size=(d, 4))
    grids = np.meshgrid(*axes, indexing="ij")
    values = tensor_cubic(axes, coef)(*grids)
    s = bsfit.TensorSpline(axes, values)
    pts = rng.uniform(-1.2, 2.2, size=(200, d))
    nus = [(0,) * d] + [tuple(rng.integers(0, 4, size=d)) for _ in range(4)]
    for nu in nus:
        want = np.ones(len(pts))
        for k in range(d):
            want = want * dpoly(coef[k], pts[:, k], nu[k])
        got = s(pts, nu=nu)
        assert np.max(np.abs(got - want)) <= 1e-11 * max(1.0, np.max(np.abs(want))), nu
    # Orders above the degree: zero.
    assert np.all(s(pts, nu=(4,) + (0,) * (d - 1)) == 0.0)


def test_xi_shapes_follow_ndbspline():
    rng, axes, values = case((6, 5, 7), 3)
    s = bsfit.TensorSpline(axes, values)
    ref = s.to_scipy()
    lo = np.array([a[0] for a in axes])
    hi = np.array([a[-1] for a in axes])
    for lead in [(), (1,), (5,), (2, 3), (2, 1, 4)]:
        xi = lo + rng.uniform(size=lead + (3,)) * (hi - lo)
        out = s(xi)
        assert out.shape == lead
        assert rel_err(out, ref(xi)) <= 1e-12
        assert s.grad(xi).shape == lead + (3,)
        assert s.hessian(xi).shape == lead + (3, 3)
    # Lists and non-contiguous views are accepted.
    xi = np.tile(lo, 2) + rng.uniform(size=(10, 6)) * np.tile(hi - lo, 2)
    view = xi[:, ::2]
    assert not view.flags.c_contiguous
    assert rel_err(s(view), ref(np.ascontiguousarray(view))) <= 1e-12
    assert rel_err(s(view.tolist()), ref(view)) <= 1e-12
    # Empty batches.
    assert s(np.empty((0, 3))).shape == (0,)
    assert s.grad(np.empty((0, 3))).shape == (0, 3)


def test_any_layout_and_dtype_of_values():
    _, axes, values = case((7, 6, 5), 9)
    s = bsfit.TensorSpline(axes, values)
    f = np.asfortranarray(values)
    assert bsfit.TensorSpline(axes, f) == s
    big = np.zeros((14, 6, 10))
    big[::2, :, ::2] = values
    assert bsfit.TensorSpline(axes, big[::2, :, ::2]) == s
    assert bsfit.TensorSpline(axes, values[::-1, ::-1][::-1, ::-1]) == s
    assert bsfit.TensorSpline(axes, values.tolist()) == s
    # float32 values are fitted as float64.
    s32 = bsfit.TensorSpline(axes, values.astype(np.float32))
    assert s32 == bsfit.TensorSpline(axes, values.astype(np.float32).astype(np.float64))
    ints = np.arange(7 * 6 * 5).reshape(7, 6, 5)
    assert bsfit.TensorSpline(axes, ints) == bsfit.TensorSpline(axes, ints.astype(float))
    # Axes given as lists or float32 arrays.
    ax32 = tuple(a.astype(np.float32) for a in axes)
    s_ax = bsfit.TensorSpline([list(a) for a in ax32], values)
    for t, a in zip(s_ax.t, ax32):
        assert t[0] == np.float64(a[0])


def test_grid_values_interpolated(rng):
    axes = tuple(random_sites(rng, n) for n in (10, 8, 6, 5))
    values = rng.normal(size=(10, 8, 6, 5))
    s = bsfit.TensorSpline(axes, values)
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)
    assert rel_err(s(grid), values) <= 1e-12


def test_uniform_axes_match_scipy():
    # Uniform axes take bsfit's O(1) span lookup: still scipy's result, also at the knots.
    axes = (np.linspace(0, 1, 11), np.linspace(-2, 2, 9), np.arange(6.0))
    rng = np.random.default_rng(1)
    values = rng.normal(size=(11, 9, 6))
    t_ref, c_ref = scipy_fit(axes, values)
    ref = NdBSpline(t_ref, c_ref, 3)
    s = bsfit.TensorSpline(axes, values)
    knots_pts = np.array(list(itertools.product(*[t[3:-3] for t in t_ref])))
    for nu in [(0, 0, 0), (1, 0, 0), (0, 2, 1), (3, 0, 0)]:
        assert rel_err(s(knots_pts, nu=nu), ref(knots_pts, nu=nu)) <= 1e-12, nu


def test_domain_boundaries_with_extrapolate_false():
    # The domain is closed: points on its faces and corners are inside, as in scipy.
    _, axes, values = case((6, 5, 7), 21)
    s = bsfit.TensorSpline(axes, values)
    ref = s.to_scipy()
    corners = np.array(list(itertools.product(*[(a[0], a[-1]) for a in axes])))
    faces = np.array([[a[0], axes[1][2], axes[2][3]] for a in [axes[0]]] +
                     [[axes[0][-1], axes[1][-1], 0.5 * (axes[2][0] + axes[2][-1])]])
    pts = np.vstack([corners, faces])
    for nu in [(0, 0, 0), (1, 2, 0), (3, 0, 1)]:
        got = s(pts, nu=nu, extrapolate=False)
        want = ref(pts, nu=nu, extrapolate=False)
        assert not np.any(np.isnan(got))
        assert rel_err(got, want) <= 1e-12, nu
    eps = np.nextafter(axes[0][-1], np.inf)
    assert np.isnan(s([[eps, axes[1][0], axes[2][0]]], extrapolate=False)[0])
    assert np.isnan(ref([[eps, axes[1][0], axes[2][0]]], extrapolate=False)[0])
    # The constructor's default applies when the call does not say.
    s_no = bsfit.TensorSpline(axes, values, extrapolate=False)
    assert np.isnan(s_no([[eps, axes[1][0], axes[2][0]]])[0])
    assert np.isfinite(s_no([[eps, axes[1][0], axes[2][0]]], extrapolate=True)[0])
    assert s_no.to_scipy().extrapolate is False
