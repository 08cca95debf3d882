#!/usr/bin/env python3
"""bsfit's GPU from Python against CuPy, as users call them.

    python python/bench/bench_gpu.py [--quick]

In one process, on one GPU:

* evaluation of 10^7 random points of a 4-D spline (50x30x20x10), float64
  and float32 on the device: ``bsfit.gpu.GpuSpline(xi)`` from a numpy
  array with the result back in numpy (both transfers included), against
  CuPy's ``cupyx.scipy.interpolate.NdBSpline`` on CuPy arrays already on
  the device (no transfer), and bsfit's CPU evaluation on this host;
* the fit of a 30M-point 4-D table (200x100x50x30) from numpy:
  ``bsfit.gpu.GpuFitter.fit`` (upload and solve; the coefficients stay on
  the device) against this host's CPU refit (``bsfit.Fitter.fit(values,
  out=)``), with the PCIe floor measured by CuPy in the same run (the
  table's bytes host to device, and back).

Prints one table; needs numpy, cupy and a bsfit wheel built with ``gpu``.
"""

import argparse
import os
import statistics
import sys
import time

import numpy as np


def timed(fn, repeats, sync=lambda: None, warmup=1):
    for _ in range(warmup):
        fn()
        sync()
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync()
        out.append(time.perf_counter() - t0)
    return statistics.median(out), min(out)


def grid(shape, seed):
    rng = np.random.default_rng(seed)
    return tuple(np.sort(rng.uniform(0.0, 1.0, n)) + np.arange(n) for n in shape)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats")
    args = ap.parse_args()
    reps = 3 if args.quick else 9

    import cupy as cp
    from cupyx.scipy.interpolate import NdBSpline as CpNdBSpline

    import bsfit
    import bsfit.gpu

    sync = cp.cuda.Device().synchronize
    print(f"bsfit {bsfit.__version__}, cupy {cp.__version__}, numpy {np.__version__}, "
          f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    print(f"device: {bsfit.gpu.device_name()}; CuPy's device: "
          f"{cp.cuda.runtime.getDeviceProperties(0)['name'].decode()}")
    rows = []

    # ---- evaluation of 10^7 points -----------------------------------------
    shape = (50, 30, 20, 10)
    pts = grid(shape, 1)
    vals = np.random.default_rng(2).uniform(-1.0, 1.0, size=shape)
    s = bsfit.TensorSpline(pts, vals)
    n = 10_000_000
    rng = np.random.default_rng(3)
    xi = np.column_stack([rng.uniform(p[0], p[-1], n) for p in pts])
    t_cpu, _ = timed(lambda: s(xi), reps)
    ref = s(xi[:100_000])
    cp_s = CpNdBSpline(tuple(cp.asarray(t) for t in s.t), cp.asarray(s.c), 3)
    xi_d = cp.asarray(xi)
    t_cp, _ = timed(lambda: cp_s(xi_d), reps, sync)
    got = cp.asnumpy(cp_s(xi_d[:100_000]))
    err_cp = np.max(np.abs(got - ref))
    for dtype, tol in ((np.float64, 1e-12), (np.float32, 1e-4)):
        if dtype == np.float64 and not bsfit.gpu.supports_float64():
            print("the adapter has no 64-bit shader arithmetic: float64 skipped")
            continue
        g = bsfit.gpu.GpuSpline(s, dtype=dtype)
        err = np.max(np.abs(g(xi[:100_000]) - ref))
        assert err < tol * (1 + np.max(np.abs(ref))), (dtype, err)
        t_g, t_g_min = timed(lambda: g(xi), reps)
        name = np.dtype(dtype).name
        rows.append((f"eval 1e7 pts 4D {name}: bsfit.gpu from numpy", t_g, t_cp, t_cpu))
        print(f"  {name}: max |gpu - cpu| {err:.1e}; min {t_g_min * 1e3:.2f} ms")
    print(f"  CuPy NdBSpline max |cupy - bsfit cpu| {err_cp:.1e}")
    del xi_d, cp_s

    # ---- 30M-point fit from host memory --------------------------------------
    big = (200, 100, 50, 30)
    bpts = grid(big, 4)
    bvals = np.random.default_rng(5).uniform(-1.0, 1.0, size=big)
    nbytes = bvals.nbytes
    t_up, _ = timed(lambda: cp.asarray(bvals), reps, sync)
    dev = cp.asarray(bvals)
    host = np.empty_like(bvals)
    t_down, _ = timed(lambda: dev.get(out=host), reps, sync)
    del dev
    fitter = bsfit.Fitter(bpts)
    out = np.empty(big)
    t_cpu_fit, _ = timed(lambda: fitter.fit(bvals, out=out), reps)
    for dtype in (np.float64, np.float32):
        if dtype == np.float64 and not bsfit.gpu.supports_float64():
            continue
        gf = bsfit.gpu.GpuFitter(bpts, dtype=dtype)
        gs = gf.fit(bvals)
        probe = np.column_stack([p[[3, 50, 10, 7][a] % len(p)] for a, p in enumerate(bpts)])
        want = bsfit.TensorSpline(bpts, bvals)(probe)
        assert np.allclose(gs(probe), want, rtol=1e-4, atol=1e-4)
        del gs
        # Timed to completion: fit() returns once the work is queued.
        t_gfit, t_gfit_min = timed(lambda: gf.fit(bvals), reps, bsfit.gpu.synchronize)
        name = np.dtype(dtype).name
        rows.append((f"fit 30M 4D {name}: GpuFitter.fit from numpy", t_gfit, None, t_cpu_fit))
        floor = nbytes * np.dtype(dtype).itemsize / 8 / (nbytes / t_up)
        print(f"  fit {name}: median {t_gfit * 1e3:.1f} ms, min {t_gfit_min * 1e3:.1f} ms; "
              f"{t_gfit / floor:.2f}x the upload floor of its {np.dtype(dtype).itemsize}-byte "
              f"values ({floor * 1e3:.1f} ms); host CPU refit {t_cpu_fit * 1e3:.1f} ms")
    print(f"  PCIe floor (CuPy, {nbytes / 2**20:.0f} MiB): up {t_up * 1e3:.1f} ms "
          f"({nbytes / t_up / 1e9:.1f} GB/s), down {t_down * 1e3:.1f} ms "
          f"({nbytes / t_down / 1e9:.1f} GB/s)")

    print()
    print(f"{'workload':48s} {'bsfit gpu':>10s} {'cupy':>10s} {'cupy/bsfit':>10s} "
          f"{'host cpu':>10s} {'cpu/gpu':>8s}")
    for name, t, t_peer, t_host in rows:
        peer = f"{t_peer * 1e3:9.2f}ms {t_peer / t:9.1f}x" if t_peer else f"{'-':>10s} {'-':>10s}"
        print(f"{name:48s} {t * 1e3:8.2f}ms {peer} {t_host * 1e3:8.2f}ms {t_host / t:7.2f}x")


if __name__ == "__main__":
    main()
