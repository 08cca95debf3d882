"""make_interp_spline's general curve solver (degrees 0-15, given knots,
any derivative conditions, periodic ends at any degree) against scipy's
own make_interp_spline on the same input."""

import numpy as np
import pytest

import bsfit

scipy_interpolate = pytest.importorskip("scipy.interpolate")


def _sites(n, seed):
    rng = np.random.default_rng(seed)
    return np.sort(rng.uniform(-1.0, 2.0, n)) + np.arange(n) * 0.05


def _check(ours, theirs, x, rtol=1e-10):
    assert ours.k == theirs.k
    np.testing.assert_allclose(ours.t, theirs.t, rtol=0, atol=0)
    scale = np.abs(theirs.c).max() + 1.0
    np.testing.assert_allclose(ours.c, theirs.c, rtol=0, atol=rtol * scale)
    xs = np.linspace(x[0] - 0.2, x[-1] + 0.2, 37)
    scale = np.abs(theirs(xs)).max() + 1.0
    np.testing.assert_allclose(ours(xs), theirs(xs), rtol=0, atol=rtol * scale)


@pytest.mark.parametrize("k", range(0, 8))
def test_default_knots_every_degree(k):
    x = _sites(13, k)
    y = np.sin(3 * x) + x**2
    _check(bsfit.make_interp_spline(x, y, k=k), scipy_interpolate.make_interp_spline(x, y, k=k), x)


@pytest.mark.parametrize("k", [2, 3, 4, 5, 6, 7])
def test_derivative_conditions(k):
    x = _sites(11, 10 + k)
    y = np.cos(2 * x)
    nl = (k - 1) // 2 + (k - 1) % 2
    nr = (k - 1) - nl
    # (scipy takes None, not an empty list, for an end without conditions)
    bc = ([(o, 0.3 * o) for o in range(1, nl + 1)], [(o, -0.2 * o) for o in range(1, nr + 1)] or None)
    _check(
        bsfit.make_interp_spline(x, y, k=k, bc_type=bc),
        scipy_interpolate.make_interp_spline(x, y, k=k, bc_type=bc),
        x,
        rtol=1e-9,
    )


def test_conditions_of_order_zero_and_three_and_two_at_one_end():
    x = _sites(10, 3)
    y = x**3 - x
    for bc in [
        ([(3, 0.5)], [(3, 2.0)]),
        ([(1, 0.0), (2, 1.0)], None),
        (None, [(1, 0.0), (2, 1.0)]),
        ([(3, 0.5)], "natural"),
    ]:
        _check(
            bsfit.make_interp_spline(x, y, k=3, bc_type=bc),
            scipy_interpolate.make_interp_spline(x, y, k=3, bc_type=bc),
            x,
            rtol=1e-9,
        )


@pytest.mark.parametrize("k", range(1, 8))
@pytest.mark.parametrize("n", [2, 3, 5, 8, 40])
def test_periodic_every_degree(k, n):
    x = _sites(n, 100 + n)
    y = np.sin(2 * np.pi * (x - x[0]) / (x[-1] - x[0])) + 0.3
    y[-1] = y[0]
    _check(
        bsfit.make_interp_spline(x, y, k=k, bc_type="periodic"),
        scipy_interpolate.make_interp_spline(x, y, k=k, bc_type="periodic"),
        x,
        rtol=1e-9,
    )


def test_given_knots_trailing_dimensions_complex_and_axis():
    x = np.linspace(0.0, 1.0, 9)
    k = 2
    t = np.r_[[0.0] * 3, np.linspace(0.05, 0.95, 6), [1.0] * 3]
    y = np.stack([np.sin(x), np.cos(x) + 1j * x], axis=0)  # interpolation axis 1
    ours = bsfit.make_interp_spline(x, y, k=k, t=t, axis=1)
    theirs = scipy_interpolate.make_interp_spline(x, y, k=k, t=t, axis=1)
    _check(ours, theirs, x)
    assert ours.c.dtype == np.complex128
    # Repeated interior knots (a continuous, non-smooth quadratic).
    t = np.r_[[0.0] * 3, 0.3, 0.5, 0.5, 0.8, [1.0] * 3]
    xr = np.array([0.0, 0.2, 0.35, 0.5, 0.6, 0.85, 1.0])
    y = np.abs(xr - 0.5)
    y2 = np.stack([y, 2 * y], axis=-1)
    _check(
        bsfit.make_interp_spline(xr, y2, k=k, t=t),
        scipy_interpolate.make_interp_spline(xr, y2, k=k, t=t),
        xr,
    )


def test_errors():
    x = np.linspace(0.0, 1.0, 8)
    y = x**2
    x20 = np.linspace(0.0, 1.0, 20)
    with pytest.raises(NotImplementedError):
        bsfit.make_interp_spline(x20, x20, k=16)
    with pytest.raises(ValueError, match="Too much info for k=0"):
        bsfit.make_interp_spline(x, y, k=0, bc_type="clamped")
    with pytest.raises(ValueError, match="number of derivatives"):
        bsfit.make_interp_spline(x, y, k=4, bc_type=([(1, 0.0)], [(1, 0.0)]))
    with pytest.raises(ValueError, match="Bad boundary conditions"):
        bsfit.make_interp_spline(x, y, k=2, bc_type=([(3, 0.0)], None))
    # A condition on the value at an end repeats that site's row: singular.
    with pytest.raises(ValueError, match="singular"):
        bsfit.make_interp_spline(x, y, k=2, bc_type=([(0, 1.0)], None))
    # Schoenberg-Whitney violated: every site left of the interior knots.
    t = np.r_[[0.0] * 4, 0.9, 0.95, [1.0] * 4]
    xs = np.r_[np.linspace(0.0, 0.4, 5), 1.0]
    with pytest.raises(ValueError):
        bsfit.make_interp_spline(xs, xs, k=3, t=t)
    # Empty trailing dimension: zeros of the right shape, as scipy.
    b = bsfit.make_interp_spline(x, np.zeros((8, 0)), k=2)
    ref = scipy_interpolate.make_interp_spline(x, np.zeros((8, 0)), k=2)
    assert b.c.shape == ref.c.shape
    np.testing.assert_array_equal(b.t, ref.t)
