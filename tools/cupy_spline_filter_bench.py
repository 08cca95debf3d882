"""CuPy's 3D cubic prefilter next to `bsfit gpu-bench`'s direct-solve rows.

`cupyx.scipy.ndimage.spline_filter(order=3, mode='grid-wrap', output=float32)`
on n³ f32 grids (the periodic solve of the 3D table), and CuPy's device copy of
the same grid (read + write), the bandwidth reference of the same run. Timed
with CUDA events; medians of 15 after one warm-up.

Usage: python3 tools/cupy_spline_filter_bench.py [n,...]   (default 128,256,512)
"""
import sys

import cupy as cp
import numpy as np
from cupyx.scipy import ndimage


def timed(f, reps=15):
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
    sizes = [int(s) for s in (sys.argv[1] if len(sys.argv) > 1 else "128,256,512").split(",")]
    print(f"cupy {cp.__version__}, {cp.cuda.runtime.getDeviceProperties(0)['name'].decode()}")
    print("| n³ f32 | CuPy copy ms | CuPy copy GB/s | spline_filter grid-wrap ms | spline_filter mirror ms |")
    print("| --- | --- | --- | --- | --- |")
    rng = cp.random.default_rng(1)
    for n in sizes:
        a = rng.random((n, n, n), dtype=cp.float32)
        b = cp.empty_like(a)
        tc = timed(lambda: cp.copyto(b, a))
        tw = timed(lambda: ndimage.spline_filter(a, order=3, mode="grid-wrap", output=cp.float32))
        tm = timed(lambda: ndimage.spline_filter(a, order=3, mode="mirror", output=cp.float32))
        print(f"| {n}³ | {tc:.3f} | {2 * a.nbytes / tc / 1e6:.0f} | {tw:.3f} | {tm:.3f} |")
        del a, b


if __name__ == "__main__":
    main()
