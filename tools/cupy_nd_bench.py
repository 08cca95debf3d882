"""CuPy's N-D B-spline evaluation on the tables of `bsfit gpu-bench`'s N-D rows.

`cupyx.scipy.interpolate.NdBSpline` (f64) on the 4D price-table layout
(non-uniform moneyness and maturity, uniform volatility and rate; not-a-knot
cubic knots), random coefficients, random points in the domain: values, one
first partial (nu = (1, 0, 0, 0)) and the gradient as four such calls.
Timed with CUDA events; medians of 7 after one warm-up. Also CuPy's device
copy (read + write) of 256 MB, the bandwidth reference of the same run.

Usage: python3 tools/cupy_nd_bench.py [points]   (default 10,000,000)
"""
import sys

import cupy as cp
import numpy as np
from cupyx.scipy.interpolate import NdBSpline


def moneyness(n, a=2.0):
    u = np.linspace(-1.0, 1.0, n)
    return 1.0 + 0.3 * np.sinh(a * u) / np.sinh(a)


def maturity(n):
    s = np.linspace(np.sqrt(0.02), np.sqrt(2.0), n)
    return s * s


def axes(shape):
    return [moneyness(shape[0]), maturity(shape[1]),
            np.linspace(0.1, 0.6, shape[2]), np.linspace(0.0, 0.08, shape[3])]


def not_a_knot(x):
    return np.concatenate([[x[0]] * 4, x[2:-2], [x[-1]] * 4])


def timed(f, reps=7):
    f()
    cp.cuda.Device().synchronize()
    start, stop = cp.cuda.Event(), cp.cuda.Event()
    out = []
    for _ in range(reps):
        start.record()
        f()
        stop.record()
        stop.synchronize()
        out.append(cp.cuda.get_elapsed_time(start, stop))
    return float(np.median(out))


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000
    print(f"cupy {cp.__version__}, {cp.cuda.runtime.getDeviceProperties(0)['name'].decode()}")
    a = cp.zeros(32 * 1024 * 1024, dtype=cp.float64)
    b = cp.empty_like(a)
    t = timed(lambda: cp.copyto(b, a))
    print(f"CuPy device copy 256 MB: {t:.3f} ms = {2 * a.nbytes / t / 1e6:.0f} GB/s (read + write)")
    del a, b
    rng = cp.random.default_rng(1)
    print("| table | points | NdBSpline value ms | G values/s | ∂/∂m ms | gradient (4 calls) ms |")
    print("| --- | --- | --- | --- | --- | --- |")
    for shape in [(50, 30, 20, 10), (200, 100, 50, 30)]:
        ax = axes(shape)
        t = tuple(cp.asarray(not_a_knot(x)) for x in ax)
        c = rng.random(shape, dtype=cp.float64)
        spl = NdBSpline(t, c, 3)
        xi = cp.stack([rng.uniform(x[0], x[-1], n) for x in ax], axis=1)
        tv = timed(lambda: spl(xi))
        td = timed(lambda: spl(xi, nu=(1, 0, 0, 0)))
        tg = timed(lambda: [spl(xi, nu=tuple(int(j == k) for j in range(4))) for k in range(4)], reps=3)
        print(f"| {'×'.join(map(str, shape))} | {n} | {tv:.2f} | {n / tv / 1e6:.3f} | {td:.2f} | {tg:.2f} |")
        del xi, spl, c


if __name__ == "__main__":
    main()
