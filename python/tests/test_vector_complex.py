"""Vector-valued and complex splines against scipy's NdBSpline; partials,
eval_grid and pickling of vector splines; Fitter with value shapes."""

import pickle

import numpy as np
import pytest
from conftest import random_points, random_sites, rel_err
from scipy.interpolate import NdBSpline, make_interp_spline
from scipy.interpolate._ndbspline import make_ndbspl as scipy_make_ndbspl
from scipy.sparse.linalg import spsolve

import bsfit

SHAPES = [(9,), (7, 6), (6, 5, 4), (5, 4, 6, 4)]
VSHAPES = [(1,), (2,), (3, 2), (2, 1, 3)]


def scipy_fit(axes, values):
    """scipy's separable fit (make_interp_spline per axis), any dtype."""
    c = np.asarray(values)
    knots = []
    for k, x in enumerate(axes):
        b = make_interp_spline(x, c, k=3, axis=k)
        knots.append(np.asarray(b.t, dtype=float))
        c = np.moveaxis(np.asarray(b.c), 0, k)
    return tuple(knots), np.ascontiguousarray(c)


def order_list(d):
    out = [(0,) * d]
    for a in range(d):
        for o in (1, 2, 3):
            out.append(tuple(o if j == a else 0 for j in range(d)))
    if d > 1:
        out.append((1,) * d)
    return out


def case(shape, vshape, seed, dtype=float):
    rng = np.random.default_rng(seed)
    axes = tuple(random_sites(rng, n) for n in shape)
    values = rng.uniform(-1.0, 1.0, size=shape + vshape)
    if dtype is complex:
        values = values + 1j * rng.uniform(-1.0, 1.0, size=shape + vshape)
    return rng, axes, values


@pytest.mark.parametrize("vshape", VSHAPES, ids=str)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_vector_values_match_ndbspline(shape, vshape):
    rng, axes, values = case(shape, vshape, 31 * sum(shape) + len(vshape))
    t_ref, c_ref = scipy_fit(axes, values)
    ref = NdBSpline(t_ref, c_ref, 3)
    s = bsfit.TensorSpline(axes, values)
    assert s.value_shape == vshape and s.shape == shape
    assert s.c.shape == shape + vshape
    for t, tr in zip(s.t, t_ref):
        np.testing.assert_array_equal(t, tr)
    assert rel_err(s.c, c_ref) <= 1e-11
    pts, is_out = random_points(rng, axes)
    for nu in order_list(len(shape)):
        got = s(pts, nu=nu)
        assert got.shape == (len(pts),) + vshape
        assert rel_err(got, ref(pts, nu=nu)) <= 1e-11, nu
    # NaN outside, as scipy's extrapolate=False.
    got = s(pts, extrapolate=False)
    want = ref(pts, extrapolate=False)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    assert np.all(np.isnan(got[is_out]))
    assert rel_err(got[~is_out], want[~is_out]) <= 1e-11


@pytest.mark.parametrize("vshape", [(2,), (3, 2)], ids=str)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_vector_fit_equals_componentwise_scalar_fits(shape, vshape):
    rng, axes, values = case(shape, vshape, 7 * sum(shape))
    s = bsfit.TensorSpline(axes, values)
    pts, _ = random_points(rng, axes)
    for idx in np.ndindex(vshape):
        comp = bsfit.TensorSpline(axes, values[(Ellipsis,) + idx])
        assert rel_err(s.c[(Ellipsis,) + idx], comp.c) <= 1e-13
        assert rel_err(s(pts)[(Ellipsis,) + idx], comp(pts)) <= 1e-13


def test_make_ndbspl_with_trailing_dimensions_matches_scipy():
    _, axes, values = case((6, 5, 7), (2, 2), 5)
    ours = bsfit.make_ndbspl(axes, values)
    ref = scipy_make_ndbspl(axes, values, k=3, solver=spsolve)
    assert ours.c.shape == ref.c.shape
    assert rel_err(ours.c, ref.c) <= 1e-11


@pytest.mark.parametrize("shape,vshape", [((9,), ()), ((7, 6), ()), ((6, 5, 4), (2,)),
                                          ((5, 4, 6, 4), (3,))], ids=str)
def test_complex_values_match_scipy(shape, vshape):
    rng, axes, values = case(shape, vshape, 3 * sum(shape), complex)
    t_ref, c_ref = scipy_fit(axes, values)
    ref = NdBSpline(t_ref, c_ref, 3)
    s = bsfit.TensorSpline(axes, values)
    assert s.dtype == np.complex128 and s.value_shape == vshape
    assert s.c.dtype == np.complex128 and s.c.shape == shape + vshape
    assert rel_err(s.c, c_ref) <= 1e-11
    pts, _ = random_points(rng, axes)
    for nu in order_list(len(shape))[:4]:
        got = s(pts, nu=nu)
        assert got.dtype == np.complex128
        assert rel_err(got, ref(pts, nu=nu)) <= 1e-11
    # Real and imaginary parts are the fits of the parts.
    re = bsfit.TensorSpline(axes, values.real)
    im = bsfit.TensorSpline(axes, values.imag)
    assert rel_err(s(pts), re(pts) + 1j * im(pts)) <= 1e-13
    g = s.grad(pts)
    assert g.dtype == np.complex128 and g.shape == (len(pts), len(shape)) + vshape
    assert rel_err(g, re.grad(pts) + 1j * im.grad(pts)) <= 1e-13
    # c is a read-only view (no copy).
    with pytest.raises(ValueError):
        s.c[(0,) * s.c.ndim] = 1.0
    assert s.to_scipy().c.dtype == np.complex128


def test_complex_with_explicit_ends_matches_scipy():
    x = np.linspace(0.0, 2.0, 9)
    y = np.exp(1j * x)
    bc = ([(1, 1j)], [(2, -np.exp(2j))])
    ref = make_interp_spline(x, y, k=3, bc_type=bc)
    s = bsfit.TensorSpline((x,), y, bc)
    assert rel_err(s.c, ref.c) <= 1e-12
    # N-D: end values over the other axes' sites, then the value shape.
    rng = np.random.default_rng(2)
    axes = (x, np.linspace(-1.0, 1.0, 5))
    v = rng.normal(size=(9, 5, 2)) + 1j * rng.normal(size=(9, 5, 2))
    left = rng.normal(size=(5, 2)) + 1j * rng.normal(size=(5, 2))
    s2 = bsfit.TensorSpline(axes, v, [([(1, left)], "natural"), None])
    re = bsfit.TensorSpline(axes, v.real, [([(1, left.real)], "natural"), None])
    im = bsfit.TensorSpline(axes, v.imag, [([(1, left.imag)], "natural"), None])
    assert rel_err(s2.c, re.c + 1j * im.c) <= 1e-14
    np.testing.assert_allclose(s2([[0.0, 0.3]], nu=(1, 0))[0],
                               bsfit.TensorSpline((axes[1],), left)([[0.3]])[0], atol=1e-12)


@pytest.mark.parametrize("vshape", [(), (2,), (2, 3)], ids=str)
@pytest.mark.parametrize("d", [1, 2, 3, 4])
def test_partials_equal_per_order_calls(d, vshape):
    shape = (8, 7, 6, 5)[:d]
    rng, axes, values = case(shape, vshape, 11 * d + len(vshape))
    s = bsfit.TensorSpline(axes, values)
    pts, _ = random_points(rng, axes)
    orders = order_list(d) + [tuple(rng.integers(0, 3, size=d)) for _ in range(3)]
    xi = pts.reshape(2, -1, d)
    p = s.partials(xi, orders)
    assert p.shape == xi.shape[:-1] + (len(orders),) + vshape
    for j, nu in enumerate(orders):
        want = s(xi, nu=nu)
        np.testing.assert_allclose(p[:, :, j], want, rtol=1e-13, atol=1e-13 * np.abs(want).max())
    # gradient and Hessian are partials too.
    g = s.grad(pts)
    h = s.hessian(pts)
    assert g.shape == (len(pts), d) + vshape and h.shape == (len(pts), d, d) + vshape
    for i in range(d):
        e = tuple(int(a == i) for a in range(d))
        np.testing.assert_allclose(g[:, i], s(pts, nu=e), rtol=1e-13, atol=1e-12)
        for j in range(d):
            nu = tuple(int(a == i) + int(a == j) for a in range(d))
            np.testing.assert_allclose(h[:, i, j], s(pts, nu=nu), rtol=1e-13, atol=1e-11)
    # No outputs: an empty result of the right shape.
    assert s.partials(pts, []).shape == (len(pts), 0) + vshape


@pytest.mark.parametrize("vshape", [(), (3,)], ids=str)
@pytest.mark.parametrize("d", [1, 2, 3, 4])
def test_eval_grid_equals_pointwise(d, vshape):
    shape = (9, 7, 6, 5)[:d]
    rng, axes, values = case(shape, vshape, 5 * d + len(vshape))
    s = bsfit.TensorSpline(axes, values)
    lo = np.array([a[0] for a in axes])
    hi = np.array([a[-1] for a in axes])
    span = hi - lo
    # Unsorted coordinates, some outside the domain, different lengths.
    coords = [rng.uniform(lo[k] - 0.1 * span[k], hi[k] + 0.1 * span[k], size=4 + k)
              for k in range(d)]
    mesh = np.stack(np.meshgrid(*coords, indexing="ij"), axis=-1)
    for nu in [None, (1,) + (0,) * (d - 1), (0,) * (d - 1) + (2,)]:
        for ext in [True, False, "clamp", "periodic"]:
            g = s.eval_grid(coords, nu=nu, extrapolate=ext)
            assert g.shape == tuple(len(c) for c in coords) + vshape
            want = s(mesh, nu=nu, extrapolate=ext)
            np.testing.assert_array_equal(np.isnan(g), np.isnan(want))
            ok = ~np.isnan(want)
            np.testing.assert_allclose(g[ok], want[ok], rtol=1e-12,
                                       atol=1e-12 * np.abs(want[ok]).max())


def test_pickle_vector_and_complex_splines():
    _, axes, values = case((6, 5, 4), (3, 2), 17)
    for v in (values, values + 0.5j * values[::-1]):
        for ext in (True, False, "clamp", ("nan", "periodic", True)):
            s = bsfit.TensorSpline(axes, v, extrapolate=ext)
            for proto in (2, pickle.HIGHEST_PROTOCOL):
                s2 = pickle.loads(pickle.dumps(s, protocol=proto))
                assert s2 == s and s2 is not s
                assert s2.value_shape == (3, 2) and s2.dtype == s.dtype
                assert s2.extrapolate == s.extrapolate
                pts = np.array([[a[1] for a in axes], [a[-1] + 0.1 for a in axes]])
                np.testing.assert_array_equal(s2(pts), s(pts))
    real = bsfit.TensorSpline(axes, values)
    cplx = bsfit.TensorSpline(axes, values + 0j)
    assert real != cplx  # same numbers, different dtype
    assert real != bsfit.TensorSpline(axes, values[..., :1])


def test_from_parts_with_value_shape():
    _, axes, values = case((6, 5), (2,), 3)
    s = bsfit.TensorSpline(axes, values)
    assert bsfit.TensorSpline.from_parts(s.t, s.c) == s
    sc = bsfit.TensorSpline(axes, values * (1 + 2j))
    assert bsfit.TensorSpline.from_parts(sc.t, sc.c) == sc
    with pytest.raises(ValueError, match="shape"):
        bsfit.TensorSpline.from_parts(s.t, s.c[:, :4])


def test_fitter_with_value_shapes():
    rng, axes, values = case((7, 6, 5), (2,), 23)
    f = bsfit.Fitter(axes)
    s = f.fit(values)
    assert s == bsfit.TensorSpline(axes, values)
    out = np.empty(f.coef_shape + (2,))
    assert f.fit(values, out=out) is out
    np.testing.assert_array_equal(out, s.c)
    assert f.spline_from(out) == s
    # Complex values and a complex out array.
    cv = values + 1j * rng.normal(size=values.shape)
    sc = f.fit(cv)
    assert sc == bsfit.TensorSpline(axes, cv)
    outc = np.empty(f.coef_shape + (2,), dtype=complex)
    f.fit(cv, out=outc)
    np.testing.assert_array_equal(outc, sc.c)
    assert f.spline_from(outc) == sc
    with pytest.raises(TypeError, match="complex128"):
        f.fit(cv, out=out)
    with pytest.raises(ValueError, match="value shape"):
        f.fit(values, out=np.empty(f.coef_shape + (3,)))
    # Scalar values still fit on the same plan.
    assert f.fit(values[..., 0]).value_shape == ()
    # Explicit end values of a Fitter follow each fit's value shape.
    ends = bsfit.Fitter(axes, [None, ([(1, 0.0)], "natural"), None])
    assert ends.fit(values).c.shape == (7, 8, 5, 2)
    np.testing.assert_allclose(ends.fit(values)([[axes[0][2], axes[1][0], axes[2][1]]],
                                                nu=(0, 1, 0)), 0.0, atol=1e-12)


def test_to_scipy_with_value_shape_and_any_point_layout():
    rng, axes, values = case((7, 6, 5), (2, 3), 29)
    s = bsfit.TensorSpline(axes, values)
    ref = s.to_scipy()
    assert isinstance(ref, NdBSpline) and ref.c.shape == (7, 6, 5, 2, 3)
    pts, _ = random_points(rng, axes)
    assert rel_err(s(pts), ref(pts)) <= 1e-12
    # Points of any memory layout (negative and non-unit strides, Fortran order).
    wide = np.repeat(pts, 2, axis=1)[::-1, ::-2]
    assert not wide.flags.c_contiguous
    np.testing.assert_array_equal(s(wide), s(np.ascontiguousarray(wide)))
    np.testing.assert_array_equal(s.grad(np.asfortranarray(pts)), s.grad(pts))
    coords = [a[::-1] for a in axes]
    np.testing.assert_array_equal(s.eval_grid(coords),
                                  s.eval_grid([np.ascontiguousarray(c) for c in coords]))
