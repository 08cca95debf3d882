#!/usr/bin/env python3
"""bsfit vs scipy from Python, in one process: fit, batch evaluation, memory.

Run (after `pip install ./python` and `pip install scipy`):

    python python/bench/bench_vs_scipy.py            # full run (under a minute)
    python python/bench/bench_vs_scipy.py --quick    # fewer repeats

What it measures (medians over repeats, wall clock, all cores; bsfit and
scipy called as users call them):

* fit, 4D 50x30x20x10 (300,000 points, non-uniform axes):
  - bsfit.TensorSpline(points, values)             (one-shot)
  - bsfit.Fitter(points).fit(values, out=buf)      (refit into a buffer)
  - scipy: make_interp_spline(k=3) along each axis in turn (the exact
    separable fit; its coefficients equal bsfit's to ~1e-12)
  - scipy make_ndbspl: at this size its sparse global system is far too slow
    (and its default iterative solver inexact); timed on a small grid only.
* evaluation of 1,000,000 random points of that spline:
  bsfit TensorSpline(xi) vs scipy NdBSpline(xi) (on a subset, scaled up).
* RegularGridInterpolator(method="cubic") on that grid: construction, and
  evaluation of the 1,000,000 points (bounds_error=True, and fill_value=None),
  bsfit.RegularGridInterpolator vs scipy's (make_ndbspl + gcrotmk).
* value + gradient + Hessian (15 outputs) through TensorSpline.partials.
* the 3D prefilter of a 128^3 float64 array, periodic: bsfit.spline_filter
  vs scipy.ndimage.spline_filter(mode="grid-wrap").
* peak memory of a 30M-point fit (200x100x50x30, 240 MB of float64) in a
  fresh child process: ru_maxrss before and after the fit, vs the input size.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

# scipy's separable fit (LAPACK gbsv with many right-hand sides) runs fastest
# with one BLAS thread on a 2-core machine: 38 ms vs 60-140 ms with OpenBLAS'
# default threads, measured. Give scipy its best unless the caller chose.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402


def times(fn, repeats, warmup=1):
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return ts


def median_time(fn, repeats, warmup=1):
    return statistics.median(times(fn, repeats, warmup))


def grid(shape, seed=0):
    rng = np.random.default_rng(seed)
    pts = []
    for n in shape:
        gaps = rng.uniform(0.5, 1.5, n - 1)
        x = np.concatenate([[0.0], np.cumsum(gaps)])
        pts.append(x / x[-1])
    return tuple(pts)


def table(points):
    m = np.meshgrid(*points, indexing="ij", sparse=True)
    v = np.zeros(tuple(len(p) for p in points))
    for k, x in enumerate(m):
        v = v + np.sin((k + 1) * 2.0 * x) * (1 + 0.1 * k)
    return np.ascontiguousarray(v)


def scipy_separable(points, values):
    from scipy.interpolate import make_interp_spline

    c = values
    knots = []
    for k, x in enumerate(points):
        b = make_interp_spline(x, c, k=3, axis=k)
        knots.append(b.t)
        c = np.moveaxis(b.c, 0, k)
    return tuple(knots), np.ascontiguousarray(c)


def memory_child(shape):
    """Runs in a fresh process: peak RSS around one large fit."""
    import bsfit

    points = grid(shape, 1)
    values = np.random.default_rng(2).uniform(-1, 1, size=shape)
    input_bytes = values.nbytes
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    t0 = time.perf_counter()
    s = bsfit.TensorSpline(points, values)
    t_fit = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    assert s.shape == shape
    c = s.c  # a view of the spline's buffer: no copy
    assert c.shape == shape
    after_c = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    # Refit into a preallocated buffer: no result allocation at all.
    f = bsfit.Fitter(points)
    out = np.empty(shape)
    f.fit(values, out=out)  # warm
    t0 = time.perf_counter()
    f.fit(values, out=out)
    t_refit = time.perf_counter() - t0
    print(json.dumps({
        "input_bytes": input_bytes,
        "rss_before_fit": before,
        "rss_after_fit": after,
        "rss_after_c": after_c,
        "fit_s": t_fit,
        "refit_s": t_refit,
    }))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats")
    ap.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    big = (200, 100, 50, 30)
    if args.memory_child:
        memory_child(big)
        return

    import scipy
    from scipy.interpolate import NdBSpline

    import bsfit
    import bsfit.ndimage

    # The memory child first: a child's peak RSS starts at its parent's RSS
    # when it is forked, so it must start before this process grows.
    mem = subprocess.run([sys.executable, __file__, "--memory-child"],
                         capture_output=True, text=True, check=True)

    reps = 5 if args.quick else 15
    print(f"bsfit {bsfit.__version__}, numpy {np.__version__}, scipy {scipy.__version__}, "
          f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
          f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}, "
          "load average %.2f %.2f %.2f" % os.getloadavg())
    rows = []

    # ---- fit 50x30x20x10 -------------------------------------------------
    shape = (50, 30, 20, 10)
    points = grid(shape)
    values = table(points)
    t_ref, c_ref = scipy_separable(points, values)
    s = bsfit.TensorSpline(points, values)
    err = np.max(np.abs(s.c - c_ref)) / np.max(np.abs(c_ref))
    assert err < 1e-12, err

    fitter = bsfit.Fitter(points)
    out = np.empty(shape)
    one_shot = times(lambda: bsfit.TensorSpline(points, values), reps * 20)
    t_bs = statistics.median(one_shot)
    t_bs_refit = median_time(lambda: fitter.fit(values, out=out), reps * 20)
    t_bs_fitnew = median_time(lambda: fitter.fit(values), reps * 20)
    t_sp = median_time(lambda: scipy_separable(points, values), reps)
    rows.append(("fit 50x30x20x10 one-shot TensorSpline", t_bs, t_sp))
    rows.append(("fit 50x30x20x10 Fitter.fit(values)", t_bs_fitnew, t_sp))
    rows.append(("fit 50x30x20x10 Fitter.fit(values, out=)", t_bs_refit, t_sp))

    # make_ndbspl: only on a small grid (global sparse system; 256 nnz per row).
    from scipy.interpolate._ndbspline import make_ndbspl
    from scipy.sparse.linalg import spsolve

    small = (12, 10, 8, 6)
    sp_pts = grid(small, 3)
    sp_vals = table(sp_pts)
    t_nd = median_time(lambda: make_ndbspl(sp_pts, sp_vals, k=3, solver=spsolve), 3, warmup=0)
    t_nd_bs = median_time(lambda: bsfit.make_ndbspl(sp_pts, sp_vals), reps * 20)
    rows.append(("fit 12x10x8x6 make_ndbspl (scipy: spsolve)", t_nd_bs, t_nd))

    # ---- evaluation of 1M points ------------------------------------------
    n = 1_000_000
    rng = np.random.default_rng(7)
    xi = np.column_stack([rng.uniform(p[0], p[-1], n) for p in points])
    ref = NdBSpline(t_ref, c_ref, 3)
    t_ev = median_time(lambda: s(xi), reps)
    sub = 100_000
    t_ev_sp = median_time(lambda: ref(xi[:sub]), max(3, reps // 3)) * (n / sub)
    np.testing.assert_allclose(s(xi[:sub]), ref(xi[:sub]), rtol=1e-11, atol=1e-12)
    rows.append(("eval 1M points, values", t_ev, t_ev_sp))
    nu = (1, 0, 0, 0)
    t_ev_d = median_time(lambda: s(xi, nu=nu), reps)
    t_ev_d_sp = median_time(lambda: ref(xi[:sub], nu=nu), max(3, reps // 3)) * (n / sub)
    rows.append(("eval 1M points, d/dx0", t_ev_d, t_ev_d_sp))
    t_grad = median_time(lambda: s.grad(xi), max(3, reps // 3))
    rows.append(("grad 1M points (4 partials)", t_grad, 4 * t_ev_d_sp))

    # ---- RegularGridInterpolator(method="cubic"), same grid and points -----
    # scipy builds it with make_ndbspl and its default iterative solver
    # (gcrotmk, atol 1e-6: approximate); bsfit solves exactly. Both with
    # the default bounds_error=True, and with fill_value=None (extrapolate).
    from scipy.interpolate import RegularGridInterpolator as ScipyRGI

    t_rgi_sp = median_time(lambda: ScipyRGI(points, values, method="cubic"), 1, warmup=0)
    t_rgi_bs = median_time(
        lambda: bsfit.RegularGridInterpolator(points, values, method="cubic"), reps * 20)
    rows.append(("RGI cubic build 50x30x20x10", t_rgi_bs, t_rgi_sp))
    rgi_sp = ScipyRGI(points, values, method="cubic")
    rgi_bs = bsfit.RegularGridInterpolator(points, values, method="cubic")
    grid_pts = np.stack(np.meshgrid(*points, indexing="ij"), axis=-1).reshape(-1, 4)
    rgi_err_sp = np.max(np.abs(rgi_sp(grid_pts) - values.ravel()))
    rgi_err_bs = np.max(np.abs(rgi_bs(grid_pts) - values.ravel()))
    t_rgi_ev = median_time(lambda: rgi_bs(xi), reps)
    t_rgi_ev_sp = median_time(lambda: rgi_sp(xi[:sub]), max(3, reps // 3)) * (n / sub)
    rows.append(("RGI cubic eval 1M points (bounds_error)", t_rgi_ev, t_rgi_ev_sp))
    rgi_sp.bounds_error = rgi_bs.bounds_error = False
    rgi_sp.fill_value = rgi_bs.fill_value = None
    t_rgi_ex = median_time(lambda: rgi_bs(xi), reps)
    t_rgi_ex_sp = median_time(lambda: rgi_sp(xi[:sub]), max(3, reps // 3)) * (n / sub)
    rows.append(("RGI cubic eval 1M points (fill_value=None)", t_rgi_ex, t_rgi_ex_sp))
    del rgi_sp, rgi_bs, grid_pts

    # Degree 5 on the same grid and points: the cost per point against k = 3.
    s5 = bsfit.make_ndbspl(points, values, k=5)
    ref5 = NdBSpline(s5.t, s5.c, 5)
    np.testing.assert_allclose(s5(xi[:sub]), ref5(xi[:sub]), rtol=1e-10, atol=1e-11)
    t_ev5 = median_time(lambda: s5(xi), reps)
    t_ev5_sp = median_time(lambda: ref5(xi[:sub]), 3) * (n / sub)
    rows.append(("eval 1M points, values, k=5", t_ev5, t_ev5_sp))
    del s5, ref5

    # Value, gradient and Hessian (15 outputs) in one call vs one value.
    hd = [(0, 0, 0, 0)] + [tuple(int(a == i) for a in range(4)) for i in range(4)] + [
        tuple(int(a == i) + int(a == j) for a in range(4)) for i in range(4) for j in range(i, 4)]
    t_part = median_time(lambda: s.partials(xi, hd), max(3, reps // 3))
    rows.append((f"partials 1M points ({len(hd)} outputs)", t_part, len(hd) * t_ev_d_sp))

    # One point per call: the Python-call overhead of each library.
    x1 = xi[0].copy()
    calls = 2000

    def loop(f):
        return lambda: [f(x1) for _ in range(calls)]

    t_one = median_time(loop(s), max(3, reps // 3)) / calls
    t_one_sp = median_time(loop(ref), max(3, reps // 3)) / calls
    rows.append(("eval 1 point per call", t_one, t_one_sp))

    # The 3D prefilter, one-shot from Python, 128^3 float64, periodic.
    from scipy import ndimage
    f3 = np.random.default_rng(1).standard_normal((128, 128, 128))
    t_pf = median_time(lambda: bsfit.spline_filter(f3, mode="grid-wrap"), reps)
    t_pf_sp = median_time(lambda: ndimage.spline_filter(f3, order=3, mode="grid-wrap"),
                          max(3, reps // 3))
    rows.append(("spline_filter 128^3 float64 grid-wrap", t_pf, t_pf_sp))

    # map_coordinates, order 3 (prefilter included, ndimage's default), on
    # a 256^3 float64 volume at 1M random points.
    vol = np.random.default_rng(4).standard_normal((256, 256, 256))
    coords = np.random.default_rng(5).uniform(0.0, 255.0, size=(3, n))
    got = bsfit.ndimage.map_coordinates(vol, coords[:, :sub], order=3)
    want = ndimage.map_coordinates(vol, coords[:, :sub], order=3)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)
    t_mc = median_time(lambda: bsfit.ndimage.map_coordinates(vol, coords, order=3),
                       max(3, reps // 3))
    t_mc_sp = median_time(lambda: ndimage.map_coordinates(vol, coords, order=3), 3)
    rows.append(("map_coordinates 256^3 order 3, 1M points", t_mc, t_mc_sp))
    del vol, coords

    print()
    print(f"{'workload':44s} {'bsfit':>12s} {'scipy':>12s} {'scipy/bsfit':>12s}")
    for name, a, b in rows:
        print(f"{name:44s} {fmt(a):>12s} {fmt(b):>12s} {b / a:11.1f}x")
    print(f"one-shot fit: min {min(one_shot) * 1e3:.2f} ms, median {t_bs * 1e3:.2f} ms "
          "(fresh 2.4 MB buffers per fit: the allocator's state decides)")
    small_n = 50_000  # the size `bsfit bench` (Rust) uses
    t_small = median_time(lambda: s(xi[:small_n]), reps * 10)
    print(f"k=5 evaluation per point: {t_ev5 / t_ev:.2f}x k=3 (1M points, same grid)")
    print(f"\nbsfit eval throughput: {n / t_ev / 1e6:.1f} M points/s (values, 1M points), "
          f"{n / t_ev_d / 1e6:.1f} M points/s (d/dx0), "
          f"{small_n / t_small / 1e6:.1f} M points/s (values, 50,000 points as in `bsfit bench`)")
    print("scipy NdBSpline timed on 100,000 points and scaled to 1M; "
          "'grad' scipy column = 4 x its d/dx0 time, 'partials' = outputs x it.")
    print(f"RGI cubic on the grid: max |interpolant - data| scipy {rgi_err_sp:.1e} "
          f"(iterative solver), bsfit {rgi_err_bs:.1e}; scipy's RGI evaluation timed on "
          "100,000 points and scaled to 1M.")

    # ---- memory of a 30M-point fit (fresh process) ------------------------
    m = json.loads(mem.stdout.strip().splitlines()[-1])
    gib = 1024.0 ** 2
    inp = m["input_bytes"]
    print(f"\n30M-point fit {'x'.join(map(str, big))} (fresh process):")
    print(f"  input {inp / gib:.0f} MiB; peak RSS before fit {m['rss_before_fit'] / gib:.0f} MiB, "
          f"after fit {m['rss_after_fit'] / gib:.0f} MiB")
    print(f"  fit raised the peak by {(m['rss_after_fit'] - m['rss_before_fit']) / inp:.2f}x the input "
          f"(the coefficients are 1.00x); peak RSS / input = {m['rss_after_fit'] / inp:.2f}")
    print(f"  reading spline.c afterwards: peak RSS {m['rss_after_c'] / gib:.0f} MiB (a view, no copy)")
    print(f"  one-shot fit {m['fit_s'] * 1e3:.0f} ms, refit into a buffer {m['refit_s'] * 1e3:.0f} ms")
    print("load average at the end %.2f %.2f %.2f" % os.getloadavg())


def fmt(t):
    if t < 1e-5:
        return f"{t * 1e6:.2f} us"
    if t < 1e-3:
        return f"{t * 1e6:.0f} us"
    if t < 1:
        return f"{t * 1e3:.2f} ms"
    return f"{t:.2f} s"


if __name__ == "__main__":
    main()
