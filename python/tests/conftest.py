"""Shared helpers: random non-uniform grids and scipy's separable reference fit."""

import numpy as np
import pytest

scipy_interpolate = pytest.importorskip("scipy.interpolate")


def random_sites(rng, n):
    """Strictly increasing sites with strongly varying spacing, offset and scale."""
    kind = rng.integers(0, 3)
    if kind == 0:
        gaps = rng.uniform(0.2, 1.8, size=n - 1)
    elif kind == 1:
        gaps = np.exp(rng.normal(0.0, 0.8, size=n - 1))
    else:
        gaps = np.geomspace(1.0, rng.uniform(3.0, 8.0), n - 1)
        if rng.integers(0, 2):
            gaps = gaps[::-1]
    x = np.concatenate([[0.0], np.cumsum(gaps)])
    scale = 10.0 ** rng.uniform(-1.5, 1.5)
    offset = rng.uniform(-5.0, 5.0) * scale
    x = offset + scale * x / x[-1]
    assert np.all(np.diff(x) > 0)
    return x


def scipy_fit(axes, values):
    """Knots and coefficients by scipy: make_interp_spline(k=3) along each axis in turn."""
    c = np.asarray(values, dtype=float)
    knots = []
    for k, x in enumerate(axes):
        b = scipy_interpolate.make_interp_spline(x, c, k=3, axis=k)
        knots.append(np.asarray(b.t, dtype=float))
        c = np.moveaxis(np.asarray(b.c, dtype=float), 0, k)
    return tuple(knots), np.ascontiguousarray(c)


def random_points(rng, axes, n_inside=40, n_outside=10):
    """Points inside the domain and a few 1-8% of the span outside it."""
    d = len(axes)
    lo = np.array([x[0] for x in axes])
    hi = np.array([x[-1] for x in axes])
    span = hi - lo
    inside = lo + rng.uniform(0.0, 1.0, size=(n_inside, d)) * span
    outside = lo + rng.uniform(0.0, 1.0, size=(n_outside, d)) * span
    for i in range(n_outside):
        for a in (range(d) if i == n_outside - 1 else [rng.integers(0, d)]):
            delta = rng.uniform(0.01, 0.08) * span[a]
            outside[i, a] = lo[a] - delta if rng.integers(0, 2) else hi[a] + delta
    pts = np.vstack([inside, outside])
    is_out = np.any((pts < lo) | (pts > hi), axis=1)
    return pts, is_out


def rel_err(a, b):
    """max |a - b| / max |b| (max-norm relative error)."""
    a = np.asarray(a)
    b = np.asarray(b)
    assert a.shape == b.shape, (a.shape, b.shape)
    scale = np.max(np.abs(b))
    return float(np.max(np.abs(a - b)) / (scale if scale > 0 else 1.0))


@pytest.fixture
def rng():
    return np.random.default_rng(20240917)
