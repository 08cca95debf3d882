"""Extrapolation policies: every entry point honours them, per axis too."""

import numpy as np
import pytest
from conftest import random_sites
from scipy.interpolate import BSpline as ScipyBSpline
from scipy.interpolate import NdBSpline
from scipy.interpolate import make_interp_spline as scipy_make_interp_spline

import bsfit


def make(shape=(8, 7, 6), vshape=(), seed=0, **kw):
    rng = np.random.default_rng(seed)
    axes = tuple(random_sites(rng, n) for n in shape)
    values = rng.uniform(-1.0, 1.0, size=shape + vshape)
    return rng, axes, bsfit.TensorSpline(axes, values, **kw)


def points(rng, axes, n=60):
    """Points inside and up to 1.5 spans outside on every axis."""
    lo = np.array([a[0] for a in axes])
    hi = np.array([a[-1] for a in axes])
    span = hi - lo
    p = lo + rng.uniform(-1.5, 2.5, size=(n, len(axes))) * span
    p[: n // 3] = lo + rng.uniform(0, 1, size=(n // 3, len(axes))) * span
    # Points exactly on the domain's faces are inside.
    p[-2] = lo
    p[-1] = hi
    return p


def outside(p, axes):
    lo = np.array([a[0] for a in axes])
    hi = np.array([a[-1] for a in axes])
    return (p < lo) | (p > hi)


def project(p, axes, policies):
    """The point each per-axis policy evaluates (NaN for 'nan'), in numpy."""
    q = np.array(p, dtype=float)
    for k, pol in enumerate(policies):
        lo, hi = axes[k][0], axes[k][-1]
        if pol == "clamp":
            q[:, k] = np.clip(q[:, k], lo, hi)
        elif pol == "periodic":
            q[:, k] = lo + np.mod(q[:, k] - lo, hi - lo)
        elif pol == "nan":
            q[(q[:, k] < lo) | (q[:, k] > hi), k] = np.nan
    return q


ENTRY_POINTS = {
    "call": lambda s, p, **kw: s(p, **kw),
    "call_nu": lambda s, p, **kw: s(p, nu=(1, 0, 2), **kw),
    "grad": lambda s, p, **kw: s.grad(p, **kw),
    "hessian": lambda s, p, **kw: s.hessian(p, **kw),
    "partials": lambda s, p, **kw: s.partials(p, [(0, 0, 0), (0, 1, 0), (1, 1, 1)], **kw),
}


def per_point(a, n):
    return a.reshape(n, -1)


@pytest.mark.parametrize("vshape", [(), (2,)], ids=str)
@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_nan_policy_from_every_entry_point(entry, vshape):
    rng, axes, s = make(vshape=vshape, seed=len(vshape))
    p = points(rng, axes)
    out_any = outside(p, axes).any(axis=1)
    f = ENTRY_POINTS[entry]
    inside_ref = per_point(f(s, p), len(p))
    # The spline's own policy (extrapolate=False at construction) ...
    s_nan = bsfit.TensorSpline.from_parts(s.t, s.c, extrapolate=False)
    # ... or per call, by bool or name.
    for got in (f(s_nan, p), f(s, p, extrapolate=False), f(s, p, extrapolate="nan")):
        got = per_point(got, len(p))
        assert np.all(np.isnan(got[out_any]))
        assert not np.any(np.isnan(got[~out_any]))
        np.testing.assert_array_equal(got[~out_any], inside_ref[~out_any])
    # extrapolate=True at the call overrides the spline's NaN.
    assert not np.any(np.isnan(f(s_nan, p, extrapolate=True)))


def test_nan_policy_from_grid_fitter_pickle_and_scipy_front_ends():
    import pickle

    rng, axes, s = make(seed=3)
    coords = [np.array([a[0] - 0.1, a[1], a[-1] + 0.1]) for a in axes]
    g = s.eval_grid(coords, extrapolate=False)
    mask = np.zeros(g.shape, bool)
    for k in range(3):
        idx = [slice(None)] * 3
        idx[k] = [0, 2]
        mask[tuple(idx)] = True
    assert np.all(np.isnan(g[mask])) and not np.any(np.isnan(g[~mask]))
    f = bsfit.Fitter(axes)
    s2 = f.spline_from(s.c, extrapolate=False)
    assert np.isnan(s2.grad([[a[-1] + 1 for a in axes]])).all()
    s3 = pickle.loads(pickle.dumps(s2))
    assert np.isnan(s3.hessian([[a[-1] + 1 for a in axes]])).all()
    # make_interp_spline's BSpline and RegularGridInterpolator's fill value.
    x = axes[0]
    b = bsfit.make_interp_spline(x, np.sin(x))
    assert np.isnan(b(x[-1] + 1, extrapolate=False)) and np.isnan(b(x[0] - 1, 1, False))
    rgi = bsfit.RegularGridInterpolator(axes, s.c, method="cubic", bounds_error=False)
    r = rgi([[a[-1] + 1 for a in axes], [a[1] for a in axes]])
    assert np.isnan(r[0]) and np.isfinite(r[1])


def test_grad_and_hessian_honour_extrapolate_false():
    # They used to extrapolate whatever the spline's policy.
    rng, axes, _ = make(seed=4)
    s = bsfit.TensorSpline(axes, rng.normal(size=(8, 7, 6)), extrapolate=False)
    far = [[a[-1] + 0.5 for a in axes]]
    assert np.isnan(s.grad(far)).all() and np.isnan(s.hessian(far)).all()
    assert np.isfinite(s.grad(far, extrapolate=True)).all()


@pytest.mark.parametrize(
    "policies",
    [
        ("clamp", "clamp", "clamp"),
        ("periodic", "periodic", "periodic"),
        ("clamp", "nan", "periodic"),
        ("polynomial", "periodic", "clamp"),
        (True, "clamp", False),
    ],
    ids=str,
)
@pytest.mark.parametrize("vshape", [(), (3,)], ids=str)
def test_policies_per_axis(policies, vshape):
    rng, axes, s = make(vshape=vshape, seed=11)
    p = points(rng, axes)
    names = ["polynomial" if x is True else "nan" if x is False else x for x in policies]
    q = project(p, axes, names)
    nan_rows = np.isnan(q).any(axis=1)
    qq = np.where(np.isnan(q), 0.0, q)
    for nu in [(0, 0, 0), (1, 0, 0), (0, 2, 1)]:
        got = s(p, nu=nu, extrapolate=list(policies))
        want = s(qq, nu=nu)
        assert np.all(np.isnan(got[nan_rows]))
        np.testing.assert_allclose(got[~nan_rows], want[~nan_rows], rtol=1e-12, atol=1e-12)
    # The same per-axis policy as the spline's own, through every entry point.
    s2 = bsfit.TensorSpline.from_parts(s.t, s.c, extrapolate=policies)
    assert s2.extrapolate == tuple(policies)
    np.testing.assert_array_equal(s2.grad(p), s.grad(p, extrapolate=policies))
    coords = [np.linspace(a[0] - 0.7 * (a[-1] - a[0]), a[-1] + 0.7 * (a[-1] - a[0]), 5)
              for a in axes]
    mesh = np.stack(np.meshgrid(*coords, indexing="ij"), -1)
    g = s2.eval_grid(coords)
    w = s2(mesh)
    np.testing.assert_array_equal(np.isnan(g), np.isnan(w))
    np.testing.assert_allclose(g[~np.isnan(w)], w[~np.isnan(w)], rtol=1e-12, atol=1e-12)


def test_periodic_policy_is_honoured_not_taken_as_true():
    rng, axes, s = make(shape=(9, 7), seed=5)
    p = points(rng, axes)
    q = project(p, axes, ["periodic", "periodic"])
    got = s(p, extrapolate="periodic")
    np.testing.assert_allclose(got, s(q), rtol=1e-12, atol=1e-12)
    assert not np.allclose(got, s(p, extrapolate=True))
    # One dimension: scipy's BSpline(extrapolate="periodic") is the oracle.
    x = axes[0]
    y = np.cos(x)
    ref = scipy_make_interp_spline(x, y)
    s1 = bsfit.TensorSpline((x,), y, extrapolate="periodic")
    xx = np.linspace(x[0] - 3 * (x[-1] - x[0]), x[-1] + 2 * (x[-1] - x[0]), 101)
    for nu in (0, 1, 2):
        np.testing.assert_allclose(s1(xx[:, None], nu=(nu,)), ref(xx, nu, "periodic"),
                                   rtol=1e-12, atol=1e-12)
    b = bsfit.make_interp_spline(x, y)
    b.extrapolate = "periodic"
    np.testing.assert_allclose(b(xx), ref(xx, extrapolate="periodic"), rtol=1e-12, atol=1e-12)
    # NdBSpline has no periodic mode: to_scipy extrapolates there.
    assert s1.to_scipy().extrapolate is True


def test_clamp_gives_the_boundary_values_and_their_derivatives():
    rng, axes, s = make(shape=(6, 5), seed=6)
    lo = np.array([a[0] for a in axes])
    hi = np.array([a[-1] for a in axes])
    far = np.array([lo - 10.0, hi + 10.0, [lo[0] - 1, hi[1] + 1]])
    at = np.array([lo, hi, [lo[0], hi[1]]])
    for nu in [(0, 0), (1, 0), (1, 1)]:
        np.testing.assert_array_equal(s(far, nu=nu, extrapolate="clamp"), s(at, nu=nu))


def test_raise_policy_names_the_point_and_axis():
    rng, axes, s = make(shape=(6, 5), seed=7)
    inside = np.array([[a[1] for a in axes]] * 4)
    inside[2, 1] = axes[1][-1] + 0.25
    for f in (lambda **kw: s(inside, **kw), lambda **kw: s.grad(inside, **kw),
              lambda **kw: s.partials(inside, [(0, 0), (1, 1)], **kw)):
        with pytest.raises(bsfit.FitError, match="point 2, axis 1") as info:
            f(extrapolate="raise")
        assert (info.value.axis, info.value.point) == (1, 2)
        assert info.value.value == axes[1][-1] + 0.25
        # Only the axes under 'raise' are checked.
        assert np.all(np.isfinite(f(extrapolate=["raise", "clamp"])))
    with pytest.raises(ValueError):
        s(np.array([[np.nan, axes[1][0]]]), extrapolate="raise")
    with pytest.raises(bsfit.FitError, match="axis 0"):
        s.eval_grid([[axes[0][0] - 1.0], [axes[1][0]]], extrapolate="raise")


def test_policy_values_are_checked():
    _, axes, s = make(shape=(6, 5), seed=8)
    x = [[a[1] for a in axes]]
    with pytest.raises(ValueError, match="unknown policy"):
        s(x, extrapolate="wobbly")
    with pytest.raises(ValueError, match="3 entries for 2 axes"):
        s(x, extrapolate=["nan", "nan", "nan"])
    with pytest.raises(ValueError, match="3 entries for 2 axes"):
        s(x, extrapolate=[True, False, True])
    with pytest.raises(TypeError):
        s(x, extrapolate=3.5)
    with pytest.raises(TypeError):
        s(x, extrapolate=[["nan"], "nan"])
    with pytest.raises(ValueError, match="unknown policy"):
        bsfit.TensorSpline(axes, np.zeros((6, 5)), extrapolate="sometimes")
    s.extrapolate = "clamp"
    assert s.extrapolate == "clamp"
    with pytest.raises(ValueError):
        s.extrapolate = "nope"
    assert s.extrapolate == "clamp"
    # Truth values as scipy reads them.
    s.extrapolate = 0
    assert s.extrapolate is False
    assert np.isfinite(s([[axes[0][-1] + 1, axes[1][0]]], extrapolate=1))[0]
    # Names are case-insensitive, as the library parses them.
    assert np.isnan(s([[axes[0][-1] + 1, axes[1][0]]], extrapolate="NaN"))[0]


def test_to_scipy_maps_the_policy():
    _, axes, s = make(shape=(6, 5), seed=9)
    assert isinstance(s.to_scipy(), NdBSpline)
    for ext, want in [(True, True), (False, False), ("nan", False), ("clamp", True)]:
        s.extrapolate = ext
        assert s.to_scipy().extrapolate is want


def test_bspline_policies_match_scipy():
    rng = np.random.default_rng(12)
    x = np.sort(rng.uniform(0, 5, 11))
    y = np.stack([np.sin(x), np.cos(x)], axis=1)
    b = bsfit.make_interp_spline(x, y)
    ref = ScipyBSpline(b.t.copy(), b.c.copy(), 3)
    xx = np.linspace(-3, 9, 77)
    for ext in (True, False, "periodic"):
        for nu in (0, 1, 3):
            got, want = b(xx, nu, ext), ref(xx, nu, ext)
            np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
            ok = ~np.isnan(want)
            np.testing.assert_allclose(got[ok], want[ok], rtol=1e-12, atol=1e-12)
