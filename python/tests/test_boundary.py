"""bc_type: TensorSpline and Fitter against scipy's make_interp_spline per axis."""

import pickle

import numpy as np
import pytest
from conftest import random_points, random_sites, rel_err
from scipy.interpolate import BSpline, NdBSpline, make_interp_spline

import bsfit


def make_periodic(values, axis):
    idx_last = [slice(None)] * values.ndim
    idx_first = [slice(None)] * values.ndim
    idx_last[axis] = -1
    idx_first[axis] = 0
    values[tuple(idx_last)] = values[tuple(idx_first)]


def scipy_bc_fit(axes, values, per_axis, explicit_axis=None):
    """make_interp_spline along each axis with its bc_type, the explicit axis first."""
    order = ([explicit_axis] if explicit_axis is not None else []) + [
        k for k in range(len(axes)) if k != explicit_axis
    ]
    c = np.asarray(values, dtype=float)
    t = [None] * len(axes)
    for k in order:
        b = make_interp_spline(axes[k], c, k=3, axis=k, bc_type=per_axis[k])
        t[k] = b.t
        c = np.moveaxis(b.c, 0, k)
    return t, c


def wrap(points, t, periodic):
    p = np.array(points, dtype=float)
    for k, per in enumerate(periodic):
        if per:
            lo, hi = t[k][3], t[k][-4]
            p[:, k] = lo + (p[:, k] - lo) % (hi - lo)
    return p


CASES = [
    ((7,), "natural"),
    ((9,), "clamped"),
    ((4,), "periodic"),
    ((5,), "periodic"),
    ((12,), "periodic"),
    ((8,), ("natural", "clamped")),
    ((6, 7), "periodic"),
    ((6, 7), ["natural", "periodic"]),
    ((5, 6, 4), ["clamped", "not-a-knot", "periodic"]),
    ((5, 4, 6, 4), ["not-a-knot", "natural", "periodic", "clamped"]),
]


@pytest.mark.parametrize("shape,bc_type", CASES, ids=lambda v: str(v))
def test_homogeneous_conditions_match_scipy(shape, bc_type):
    rng = np.random.default_rng(sum(shape) + 13)
    axes = tuple(random_sites(rng, n) for n in shape)
    d = len(shape)
    per_axis = [bc_type] * d if isinstance(bc_type, (str, tuple)) else bc_type
    values = rng.uniform(-1.0, 1.0, size=shape)
    for k, b in enumerate(per_axis):
        if b == "periodic":
            make_periodic(values, k)
    t_ref, c_ref = scipy_bc_fit(axes, values, per_axis)
    s = bsfit.TensorSpline(axes, values, bc_type)
    for t, tr in zip(s.t, t_ref):
        np.testing.assert_array_equal(t, tr)
    assert s.c.shape == c_ref.shape
    assert rel_err(s.c, c_ref) <= 1e-12
    periodic = tuple(b == "periodic" for b in per_axis)
    assert s.periodic == periodic
    pts, _ = random_points(rng, axes, 40)
    # Some points one or two periods away on the periodic axes.
    pts[:10] += np.where(periodic, 2.0 * np.array([a[-1] - a[0] for a in axes]), 0.0)
    ref = NdBSpline(tuple(t_ref), c_ref, 3)
    for nu in [(0,) * d, (1,) + (0,) * (d - 1), (0,) * (d - 1) + (2,)]:
        want = ref(wrap(pts, t_ref, periodic), nu=nu)
        assert rel_err(s(pts, nu=nu), want) <= 1e-12
    if d == 1 and periodic[0]:
        b = BSpline(t_ref[0], c_ref, 3, extrapolate="periodic")
        assert rel_err(s(pts), b(pts[:, 0])) <= 1e-12


def test_explicit_values_are_arrays_over_the_other_axes():
    rng = np.random.default_rng(5)
    axes = tuple(random_sites(rng, n) for n in (6, 5, 7))
    values = rng.uniform(-1.0, 1.0, size=(6, 5, 7))
    make_periodic(values, 0)
    left = rng.uniform(-1.0, 1.0, size=(6, 7))
    make_periodic(left, 0)
    bc_axis1 = ([(1, left)], [(2, 0.5)])  # the scalar broadcasts
    per_axis = ["periodic", bc_axis1, "natural"]
    ref_axis1 = ([(1, left)], [(2, np.full((6, 7), 0.5))])
    t_ref, c_ref = scipy_bc_fit(axes, values, ["periodic", ref_axis1, "natural"], explicit_axis=1)
    s = bsfit.TensorSpline(axes, values, per_axis)
    assert rel_err(s.c, c_ref) <= 1e-12
    # The same through a Fitter (the end values are used by every fit).
    f = bsfit.Fitter(axes, per_axis)
    assert f.coef_shape == c_ref.shape
    assert rel_err(f.fit(values).c, c_ref) <= 1e-12
    out = np.empty(f.coef_shape)
    f.fit(values, out=out)
    assert rel_err(out, c_ref) <= 1e-12
    # Pickles keep the periodic axes.
    s2 = pickle.loads(pickle.dumps(s))
    assert s2.periodic == (True, False, False)
    p = np.array([[axes[0][0] - 3.0 * (axes[0][-1] - axes[0][0]) + 0.1, axes[1][2], axes[2][3]]])
    assert s2(p) == s(p)


def test_one_dimensional_explicit_pair_like_scipy():
    x = np.array([0.0, 0.4, 1.1, 1.5, 2.6, 3.0])
    y = np.sin(x)
    bc = ([(1, 1.0)], [(2, -0.1)])
    b = make_interp_spline(x, y, k=3, bc_type=bc)
    s = bsfit.TensorSpline((x,), y, bc)
    np.testing.assert_array_equal(s.t[0], b.t)
    assert rel_err(s.c, b.c) <= 1e-12
    assert abs(float(s([0.0], nu=(1,))) - 1.0) < 1e-12


def test_cubic_is_reproduced_with_its_own_end_derivatives():
    x = np.array([-1.0, -0.2, 0.5, 0.9, 2.0])
    p = lambda v: 2 * v**3 - v**2 + 3 * v - 1
    dp = lambda v: 6 * v**2 - 2 * v + 3
    s = bsfit.TensorSpline((x,), p(x), ([(1, dp(-1.0))], [(1, dp(2.0))]))
    q = np.linspace(-1.0, 2.0, 17)[:, None]
    assert np.max(np.abs(s(q) - p(q[:, 0]))) < 1e-12 * 20


@pytest.mark.parametrize(
    "bc_type,match",
    [
        ("wobbly", "unknown end condition"),
        (42, "Unknown boundary condition: 42"),
        (["natural"], "1 entries for 2 axes"),
        ([(2, 0.0), "natural"], "not a name"),
        (([(7, 0.0)], [(1, 0.0)]), "order 7"),
        (([(-1, 0.0)], [(1, 0.0)]), "order -1"),
        ([("not-a-knot", "natural"), "natural"], "not-a-knot"),
        ([("periodic", "natural"), "natural"], "periodic"),
        ([([(1, np.zeros(3))], "natural"), "clamped"], r"expected shape \(5,\)"),
        ([([(1, 0.0)], "natural"), ([(1, 0.0)], "natural")], "second axis"),
    ],
)
def test_bad_bc_type_raises_value_error(bc_type, match):
    x = np.linspace(0.0, 1.0, 6)
    y = np.linspace(0.0, 2.0, 5)
    with pytest.raises(ValueError, match=match):
        bsfit.TensorSpline((x, y), np.zeros((6, 5)), bc_type)
    with pytest.raises(ValueError, match=match):
        bsfit.Fitter((x, y), bc_type).fit(np.zeros((6, 5)))


@pytest.mark.parametrize(
    "bc_type,match",
    [
        (([(3, 0.0)], [(1, 0.0)]), "order 3"),
        (([(0, 0.0)], [(1, 0.0)]), "order 0"),
        (([(1, 0.0), (2, 0.0)], [(1, 0.0)]), "2 conditions at the left end"),
    ],
)
def test_unimplemented_bc_type_raises_not_implemented(bc_type, match):
    # Forms scipy accepts for cubic splines that bsfit does not implement.
    x = np.linspace(0.0, 1.0, 6)
    with pytest.raises(NotImplementedError, match=match):
        bsfit.TensorSpline((x,), np.zeros(6), bc_type)


def test_periodic_mismatch_names_axis_and_values():
    x = np.linspace(0.0, 1.0, 6)
    v = np.arange(6.0)
    with pytest.raises(bsfit.FitError, match=r"axis 0 .*first 0.*last 5"):
        bsfit.TensorSpline((x,), v, "periodic")
