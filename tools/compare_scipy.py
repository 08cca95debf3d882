#!/usr/bin/env python3
"""Time scipy's 4D cubic spline fit and evaluation, optionally next to bsfit's.

    python3 tools/compare_scipy.py                     # scipy only
    python3 tools/compare_scipy.py --big               # also 200x100x50x30 (~2 GB RAM, slow)
    cargo run --release -- bench --json out.json
    python3 tools/compare_scipy.py --ours out.json     # adds bsfit columns and ratios

What is timed (one thread: OMP/OPENBLAS/MKL/BLIS thread counts are set to 1
before numpy is imported):

* fit: scipy's fastest route to the not-a-knot interpolating tensor spline,
  `make_interp_spline(x_k, c, k=3, axis=k)` applied to each of the 4 axes in
  turn (a banded LAPACK solve with many right-hand sides per axis; the
  global `make_ndbspl` is slower, and its default iterative solver inexact),
  on non-uniform grids of shapes 20x20x10x5, 50x30x20x10, 100x50x30x20
  (and 200x100x50x30 with --big). Data: a smooth function of the sites.
* eval: `NdBSpline(t, c, 3)(xi)` on a batch of random points inside the
  domain of the 50x30x20x10 spline, reported as values per second.

Each figure is the median of repeated runs (at least --min-runs, and more
until about --budget seconds were spent on it).

--ours FILE reads bsfit's timings from JSON. Any object in it (at any depth)
with a "shape" (list of ints or "AxBxCxD") and one of the keys below is used:

    fit time:   "fit_median_s", "fit_s", "median_s", "fit_seconds"
                or "fit_median_ms", "fit_ms", "median_ms" (milliseconds)
    eval rate:  "eval_values_per_s", "values_per_s", "eval_per_s"
                or "eval_mvalues_per_s", "mvalues_per_s" (millions per second)
    optional:   "threads" (shown next to the figures)

for example {"fit": [{"shape": [20, 20, 10, 5], "fit_median_s": 0.0004,
"threads": 1}], "eval": [{"shape": [50, 30, 20, 10], "values_per_s": 2e7}]}.
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
             "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import scipy  # noqa: E402
from scipy.interpolate import NdBSpline, make_interp_spline  # noqa: E402

FIT_SHAPES = [(20, 20, 10, 5), (50, 30, 20, 10), (100, 50, 30, 20)]
BIG_SHAPE = (200, 100, 50, 30)
EVAL_SHAPE = (50, 30, 20, 10)

FIT_KEYS_S = ("fit_median_s", "fit_s", "median_s", "fit_seconds")
FIT_KEYS_MS = ("fit_median_ms", "fit_ms", "median_ms")
EVAL_KEYS = ("eval_values_per_s", "values_per_s", "eval_per_s")
EVAL_KEYS_M = ("eval_mvalues_per_s", "mvalues_per_s")


def sites(rng, n, lo, hi):
    """Strictly increasing non-uniform sites on [lo, hi] (gaps in [0.5, 1.5] h)."""
    gaps = rng.uniform(0.5, 1.5, size=n - 1)
    x = np.concatenate([[0.0], np.cumsum(gaps)])
    return lo + (hi - lo) * x / x[-1]


def problem(shape, seed=1):
    rng = np.random.default_rng(seed)
    ranges = [(0.7, 1.3), (0.02, 2.0), (0.1, 0.6), (0.0, 0.08)]
    axes = [sites(rng, n, *ranges[k % 4]) for k, n in enumerate(shape)]
    grids = np.meshgrid(*axes, indexing="ij", sparse=True)
    values = np.sin(3.0 * grids[0]) * np.exp(-grids[1]) + grids[2] * grids[3]
    return axes, np.ascontiguousarray(np.broadcast_to(values, shape), dtype=float)


def fit_separable(axes, values):
    c = values
    knots = []
    for k, x in enumerate(axes):
        b = make_interp_spline(x, c, k=3, axis=k)
        knots.append(b.t)
        c = np.moveaxis(b.c, 0, k)  # BSpline keeps the interpolation axis first
    return tuple(knots), c


def timed(fn, min_runs, budget):
    times = []
    start = time.perf_counter()
    while len(times) < min_runs or (time.perf_counter() - start < budget and len(times) < 101):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), len(times)


def parse_shape(s):
    if isinstance(s, str):
        return tuple(int(p) for p in s.lower().replace("×", "x").split("x"))
    return tuple(int(p) for p in s)


def load_ours(path):
    """{shape: {"fit": seconds, "eval": values/s, "threads": n}} from bsfit's JSON."""
    with open(path) as f:
        doc = json.load(f)
    out = {}

    def visit(node):
        if isinstance(node, dict):
            if "shape" in node:
                try:
                    shape = parse_shape(node["shape"])
                except (TypeError, ValueError):
                    shape = None
                if shape:
                    entry = out.setdefault(shape, {})
                    for k in FIT_KEYS_S:
                        if isinstance(node.get(k), (int, float)):
                            entry["fit"] = float(node[k])
                    for k in FIT_KEYS_MS:
                        if isinstance(node.get(k), (int, float)):
                            entry["fit"] = float(node[k]) * 1e-3
                    for k in EVAL_KEYS:
                        if isinstance(node.get(k), (int, float)):
                            entry["eval"] = float(node[k])
                    for k in EVAL_KEYS_M:
                        if isinstance(node.get(k), (int, float)):
                            entry["eval"] = float(node[k]) * 1e6
                    if isinstance(node.get("threads"), int):
                        entry["threads"] = node["threads"]
            for v in node.values():
                visit(v)
        elif isinstance(node, list):
            for v in node:
                visit(v)

    visit(doc)
    return out


def fmt_time(s):
    if s is None:
        return "-"
    if s < 1e-3:
        return f"{s * 1e6:.1f} µs"
    if s < 1.0:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.3f} s"


def shape_str(shape):
    return "x".join(str(n) for n in shape)


def main():
    ap = argparse.ArgumentParser(description="Time scipy's 4D spline fit/eval (one thread).")
    ap.add_argument("--big", action="store_true", help=f"also fit {shape_str(BIG_SHAPE)}")
    ap.add_argument("--ours", metavar="FILE", help="bsfit timings (JSON) to compare with")
    ap.add_argument("--points", type=int, default=100_000, help="evaluation batch size")
    ap.add_argument("--min-runs", type=int, default=5, help="minimum repetitions per figure")
    ap.add_argument("--budget", type=float, default=2.0,
                    help="seconds to keep repeating one figure (beyond --min-runs)")
    ap.add_argument("--save", metavar="FILE", help="write scipy's figures as JSON")
    args = ap.parse_args()

    ours = load_ours(args.ours) if args.ours else {}
    shapes = FIT_SHAPES + ([BIG_SHAPE] if args.big else [])

    print(f"scipy {scipy.__version__}, numpy {np.__version__}, Python "
          f"{platform.python_version()}, {platform.machine()}; one thread "
          f"(OMP/OPENBLAS/MKL_NUM_THREADS=1)")
    print("fit: make_interp_spline(x_k, c, k=3, axis=k) on each axis in turn "
          f"(median of >= {args.min_runs} runs)")
    print()
    head = f"{'shape':<16} {'values':>11} {'scipy fit':>11} {'runs':>5}"
    if ours:
        head += f" {'bsfit fit':>11} {'threads':>7} {'speedup':>8}"
    print(head)
    print("-" * len(head))
    saved = {"scipy": scipy.__version__, "numpy": np.__version__, "fit": [], "eval": []}
    for shape in shapes:
        axes, values = problem(shape)
        t, runs = timed(lambda: fit_separable(axes, values), args.min_runs, args.budget)
        saved["fit"].append({"shape": list(shape), "fit_median_s": t, "runs": runs})
        line = f"{shape_str(shape):<16} {values.size:>11,} {fmt_time(t):>11} {runs:>5}"
        if ours:
            o = ours.get(shape, {})
            tf = o.get("fit")
            line += f" {fmt_time(tf):>11} {str(o.get('threads', '-')):>7}"
            line += f" {t / tf:>7.1f}x" if tf else f" {'-':>8}"
        print(line, flush=True)

    # Batch evaluation throughput.
    axes, values = problem(EVAL_SHAPE)
    knots, coefs = fit_separable(axes, values)
    spl = NdBSpline(knots, coefs, 3)
    rng = np.random.default_rng(7)
    lo = np.array([x[0] for x in axes])
    hi = np.array([x[-1] for x in axes])
    xi = lo + rng.uniform(size=(args.points, len(axes))) * (hi - lo)
    t, runs = timed(lambda: spl(xi), args.min_runs, args.budget)
    rate = args.points / t
    saved["eval"].append({"shape": list(EVAL_SHAPE), "points": args.points,
                          "values_per_s": rate, "runs": runs})
    print()
    print(f"eval: NdBSpline(t, c, 3)(xi), {args.points:,} random points inside the "
          f"domain of {shape_str(EVAL_SHAPE)} (median of {runs} runs)")
    print(f"  scipy  {rate / 1e6:8.3f} M values/s")
    if ours:
        o = ours.get(EVAL_SHAPE, {})
        if "eval" in o:
            th = o.get("threads", "?")
            print(f"  bsfit  {o['eval'] / 1e6:8.3f} M values/s  (threads: {th})"
                  f"  ratio {o['eval'] / rate:.1f}x")
        else:
            print(f"  bsfit  - (no eval rate for {shape_str(EVAL_SHAPE)} in {args.ours})")

    if args.save:
        with open(args.save, "w") as f:
            json.dump(saved, f, indent=1)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
