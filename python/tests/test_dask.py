"""bsfit.dask on a LocalCluster of two worker processes: 10^7 points
evaluated and 64 tables fitted on the workers equal the local results bit
for bit (the oracle: the same spline and fitter called in this process)."""

import numpy as np
import pytest

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

import bsfit  # noqa: E402
import bsfit.dask as bdask  # noqa: E402


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
    )
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


def price_like(shape, seed):
    rng = np.random.default_rng(seed)
    axes = tuple(np.sort(rng.uniform(0.0, 1.0, n)) for n in shape)
    return axes


def test_evaluate_ten_million_points_bit_for_bit(client):
    def block_points(i, n, lo, hi):
        """Block i of the points: the same numbers on a worker and here (a
        nested function: shipped by value, the workers need not import this
        file)."""
        return lo + np.random.default_rng([3, i]).uniform(size=(n, len(lo))) * (hi - lo)

    axes = price_like((20, 15, 10, 8), 1)
    values = np.random.default_rng(2).normal(size=(20, 15, 10, 8))
    s = bsfit.TensorSpline(axes, values)
    lo = np.array([a[0] for a in axes])
    hi = np.array([a[-1] for a in axes])
    # Blocks of several sizes, made on the workers (10^7 points, 320 MB,
    # never travel); the same blocks made here are the local oracle's input.
    sizes = (3_000_001, 4_000_000, 2_999_999)
    make = dask.delayed(block_points, pure=True)
    xi = da.concatenate(
        [da.from_delayed(make(i, n, lo, hi), shape=(n, 4), dtype=float) for i, n in enumerate(sizes)]
    )
    out = bdask.evaluate(s, xi)
    assert out.shape == (10**7,) and out.chunks == (sizes,)
    got = out.compute()
    local = np.concatenate([block_points(i, n, lo, hi) for i, n in enumerate(sizes)])
    np.testing.assert_array_equal(got, s(local))


def test_evaluate_vector_values_and_shaped_points(client):
    rng = np.random.default_rng(4)
    axes = price_like((9, 8, 7), 5)
    s = bsfit.TensorSpline(axes, rng.normal(size=(9, 8, 7, 2, 3)))
    pts = rng.uniform(0.0, 1.0, size=(50, 7, 3))
    xi = da.from_array(pts, chunks=(13, 4, 1))
    out = bdask.evaluate(s, xi, extrapolate="clamp")
    assert out.shape == (50, 7, 2, 3)
    assert out.chunks == ((13, 13, 13, 11), (4, 3), (2,), (3,))
    np.testing.assert_array_equal(out.compute(), s(pts, extrapolate="clamp"))
    # A mixed partial, and points that do not need the coordinate axis merged.
    xi = da.from_array(pts, chunks=(25, 7, 3))
    out = bdask.evaluate(s, xi, nu=(1, 0, 2))
    assert out.chunks == ((25, 25), (7,), (2,), (3,))
    np.testing.assert_array_equal(out.compute(), s(pts, nu=(1, 0, 2)))


def test_fit_sixty_four_tables_bit_for_bit(client):
    axes = price_like((24, 16, 12, 8), 6)
    fitter = bsfit.Fitter(axes, bc_type="natural")
    tables = da.random.default_rng(7).normal(size=(64, 24, 16, 12, 8), chunks=(8, 24, 16, 6, 8))
    coefs = bdask.fit_many(axes, tables, bc_type="natural")
    assert coefs.shape == (64,) + fitter.coef_shape
    assert coefs.chunks[0] == (8,) * 8
    got = coefs.compute()
    local = tables.compute()
    for i in range(64):
        np.testing.assert_array_equal(got[i], fitter.fit(local[i]).c)
    # One delayed spline per table, from tables made on the workers.
    make = dask.delayed(lambda i: np.random.default_rng(i).normal(size=(24, 16, 12, 8, 2)))
    splines = dask.compute(*bdask.fit_many(axes, [make(i) for i in range(64)], bc_type="natural"))
    assert len(splines) == 64
    for i, sp in enumerate(splines):
        want = fitter.fit(np.random.default_rng(i).normal(size=(24, 16, 12, 8, 2)))
        assert sp.value_shape == (2,)
        np.testing.assert_array_equal(sp.c, want.c)


def test_a_bad_table_raises_the_fit_error(client):
    axes = (np.linspace(0, 1, 5),) * 2
    tables = np.zeros((4, 5, 5))
    tables[2, 1, 3] = np.nan
    with pytest.raises(bsfit.FitError, match=r"\[1, 3\]"):
        bdask.fit_many(axes, da.from_array(tables, chunks=(2, 5, 5))).compute()


def test_bad_input():
    s = bsfit.TensorSpline((np.linspace(0, 1, 5),) * 2, np.zeros((5, 5)))
    with pytest.raises(ValueError, match="ndim=2"):
        bdask.evaluate(s, da.zeros((10, 3)))
    with pytest.raises(TypeError, match="TensorSpline"):
        bdask.evaluate(object(), da.zeros((10, 2)))
    with pytest.raises(ValueError):
        bdask.evaluate(s, da.zeros((10, 2)), nu=(1,))
    with pytest.raises(ValueError, match="grid of shape"):
        bdask.fit_many((np.linspace(0, 1, 5),) * 2, da.zeros((3, 5, 4)))
    with pytest.raises(TypeError, match="sequence"):
        bdask.fit_many((np.linspace(0, 1, 5),) * 2, np.zeros((3, 5, 5)))
