"""Concurrency, pickling and refits on a fixed grid."""

import gc
import pickle
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from conftest import random_points, random_sites, rel_err, scipy_fit

import bsfit


@pytest.fixture
def spline4(rng):
    axes = tuple(random_sites(rng, n) for n in (12, 9, 7, 6))
    values = rng.normal(size=(12, 9, 7, 6))
    return axes, values, bsfit.TensorSpline(axes, values)


def test_concurrent_evaluation_gives_the_same_results(spline4, rng):
    axes, _, s = spline4
    batches = [random_points(rng, axes, 5000, 500)[0] for _ in range(16)]
    nus = [None, (1, 0, 0, 0), (0, 2, 0, 1), (1, 1, 1, 1)]
    expected = [[s(b, nu=nu) for nu in nus] + [s.grad(b), s.hessian(b)] for b in batches]

    def work(i):
        b = batches[i % len(batches)]
        return [s(b, nu=nu) for nu in nus] + [s.grad(b), s.hessian(b)]

    with ThreadPoolExecutor(max_workers=8) as ex:
        results = list(ex.map(work, range(64)))
    for i, r in enumerate(results):
        for got, want in zip(r, expected[i % len(batches)]):
            np.testing.assert_array_equal(got, want)


def test_concurrent_fits_on_one_fitter(spline4, rng):
    axes, _, _ = spline4
    f = bsfit.Fitter(axes)
    data = [rng.normal(size=f.shape) for _ in range(8)]
    want = [bsfit.TensorSpline(axes, v) for v in data]
    with ThreadPoolExecutor(max_workers=6) as ex:
        got = list(ex.map(lambda i: f.fit(data[i % 8]), range(48)))
    for i, g in enumerate(got):
        assert g == want[i % 8]


def ticks_inside(call):
    """Timestamps another Python thread records during the middle 40% of call().

    That thread needs the GIL to run: it only gets ticks in there if call()
    released the GIL (a holder of the GIL gives it up only between bytecodes,
    i.e. before or after the native call).
    """
    ticks = []
    stop = threading.Event()

    def ticker():
        while not stop.is_set():
            ticks.append(time.perf_counter())

    t = threading.Thread(target=ticker)
    t.start()
    try:
        time.sleep(0.01)
        t0 = time.perf_counter()
        call()
        t1 = time.perf_counter()
    finally:
        stop.set()
        t.join()
    lo, hi = t0 + 0.3 * (t1 - t0), t1 - 0.3 * (t1 - t0)
    return t1 - t0, sum(lo < x < hi for x in ticks)


def test_gil_is_released_during_batch_evaluation_and_fits(spline4, rng):
    axes, _, s = spline4
    big = random_points(rng, axes, 3_000_000, 0)[0]
    big_axes = tuple(np.linspace(0, 1, n) for n in (200, 100, 50, 30))
    big_values = np.ones((200, 100, 50, 30))
    fitter = bsfit.Fitter(big_axes)
    calls = {
        "hessian": lambda: s.hessian(big[:1_000_000]),
        "eval": lambda: s(big, nu=(1, 0, 0, 1)),
        "fit": lambda: fitter.fit(big_values),
        "prefilter": lambda: bsfit.prefilter(np.ones((224, 224, 224))),
    }
    for name, call in calls.items():
        duration, inside = ticks_inside(call)
        if duration < 0.06:
            continue  # too short to tell reliably on this machine
        assert inside > 0, (name, duration)


def test_pickle_round_trip(spline4, rng):
    axes, _, s = spline4
    for proto in range(2, pickle.HIGHEST_PROTOCOL + 1):
        s2 = pickle.loads(pickle.dumps(s, protocol=proto))
        assert s2 == s and s2 is not s
        pts = random_points(rng, axes)[0]
        np.testing.assert_array_equal(s2(pts), s(pts))
        np.testing.assert_array_equal(s2(pts, nu=(0, 1, 0, 2)), s(pts, nu=(0, 1, 0, 2)))
    s3 = bsfit.TensorSpline(axes, np.zeros(s.shape), extrapolate=False)
    assert pickle.loads(pickle.dumps(s3)).extrapolate is False
    f = pickle.loads(pickle.dumps(bsfit.Fitter(axes)))
    assert f.shape == s.shape and f.fit(np.zeros(s.shape)).shape == s.shape


def test_pickle_is_validated_on_load(spline4):
    _, _, s = spline4
    func, (t, c, ext, periodic) = s.__reduce__()
    bad = np.array(c)
    bad[0, 0, 0, 0] = np.inf
    payload = pickle.dumps(s).replace(np.asarray(c).tobytes(), bad.tobytes())
    assert payload != pickle.dumps(s)
    with pytest.raises(ValueError, match="not finite"):
        pickle.loads(payload)


def test_fitter_refits_match_one_shot_fits(rng):
    axes = tuple(random_sites(rng, n) for n in (9, 8, 7))
    f = bsfit.Fitter(axes)
    assert f.ndim == 3 and f.shape == (9, 8, 7)
    assert repr(f) == "Fitter(ndim=3, shape=(9, 8, 7))"
    t_ref, _ = scipy_fit(axes, np.zeros(f.shape))
    for t, tr in zip(f.t, t_ref):
        np.testing.assert_array_equal(t, tr)
    out = np.empty(f.shape)
    for _ in range(5):
        v = rng.normal(size=f.shape)
        s = f.fit(v)
        assert isinstance(s, bsfit.TensorSpline)
        assert s == bsfit.TensorSpline(axes, v)
        _, c_ref = scipy_fit(axes, v)
        assert rel_err(s.c, c_ref) <= 1e-12
        r = f.fit(v, out=out)
        assert r is out
        np.testing.assert_array_equal(out, s.c)
        assert f.spline_from(out) == s
        # Non-contiguous values are accepted.
        np.testing.assert_array_equal(f.fit(np.asfortranarray(v)).c, s.c)


def test_spline_is_immutable(spline4):
    axes, _, s = spline4
    with pytest.raises(ValueError):
        s.c[0, 0, 0, 0] = 1.0
    with pytest.raises(ValueError):
        s.c.flags.writeable = True
    # The coefficient array is a view of the spline's buffer that keeps it alive.
    c = bsfit.TensorSpline(axes, np.ones(s.shape)).c
    gc.collect()
    junk = [np.full(s.shape, 7.0) for _ in range(10)]
    del junk
    assert np.all(np.abs(c - 1.0) < 1e-12)
    with pytest.raises(ValueError):
        s.t[0][0] = 1.0
    with pytest.raises(AttributeError):
        s.foo = 1


def test_repr(spline4):
    _, _, s = spline4
    r = repr(s)
    assert r.startswith("TensorSpline(ndim=4, shape=(12, 9, 7, 6), domain=[(")


def test_release_cached_memory_between_one_shot_fits(rng):
    # Above the cache's minimum size: the second fit reuses the first's
    # dropped array unless the cache was emptied; both must equal the plan.
    axes = tuple(random_sites(rng, n) for n in (40, 41, 42))
    plan = bsfit.Fitter(axes)
    for release in (False, True, False):
        values = rng.normal(size=(40, 41, 42))
        junk = bsfit.TensorSpline(axes, np.full((40, 41, 42), 1e300))
        del junk
        gc.collect()
        if release:
            bsfit.release_cached_memory()
        s = bsfit.TensorSpline(axes, values)
        want = plan.fit(values)
        assert np.array_equal(s.c, want.c)
    threads = [threading.Thread(target=bsfit.release_cached_memory) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
