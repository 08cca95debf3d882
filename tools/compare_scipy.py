#!/usr/bin/env python3
"""Time scipy's 4D cubic spline fit and evaluation, optionally next to bsfit's.

    python3 tools/compare_scipy.py                     # scipy only
    python3 tools/compare_scipy.py --big               # also 200x100x50x30 (~2 GB RAM, slow)
    cargo run --release -- bench --json out.json
    python3 tools/compare_scipy.py --ours out.json     # adds bsfit columns and ratios
    ./target/release/bsfit bench --only oneshot --pin --json oneshot.json
    python3 tools/compare_scipy.py --oneshot --ours oneshot.json   # one-shot ratios and bars

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
* prefilter: `scipy.ndimage.spline_filter(x, order=3, mode='grid-wrap')`
  (the periodic cubic prefilter, what `bsfit::grid3::prefilter` computes
  with `Boundary::Periodic` on every axis) on random 128^3 and 256^3 f64
  grids and a 128^3 f32 grid (`output=np.float32`).

--oneshot times only what `bsfit bench --only oneshot` is compared with:
the 50x30x20x10 fit and the prefilters.

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

The records of `bsfit bench --only oneshot --json` (a top-level "oneshot"
list; objects with a "case") are read apart: for fit-small and the
prefilters the script prints scipy's time over bsfit's one-shot time in each
allocator state (fresh and churned processes; first call and repeated
calls) and over the reused plan, with the bars (fit-small >= 85x,
prefilter-128 >= 20x, on the worst one-shot figure). bsfit runs on 2
threads there, scipy on one.
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
from scipy.ndimage import spline_filter  # noqa: E402

FIT_SHAPES = [(20, 20, 10, 5), (50, 30, 20, 10), (100, 50, 30, 20)]
BIG_SHAPE = (200, 100, 50, 30)
EVAL_SHAPE = (50, 30, 20, 10)
ONESHOT_FIT_SHAPE = (50, 30, 20, 10)
# (bsfit one-shot case, edge length, dtype) of the prefilter timings.
PREFILTER_CASES = [("prefilter-128", 128, np.float64), ("prefilter-256", 256, np.float64),
                   ("prefilter-f32-128", 128, np.float32)]
# Bars on scipy / worst bsfit one-shot time.
ONESHOT_BARS = {"fit-small": 85.0, "prefilter-128": 20.0}

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
            if "case" in node:
                return  # a `bench --only oneshot` record: see load_oneshot
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


def load_oneshot(path):
    """{case: record} of the `bsfit bench --only oneshot --json` records in FILE."""
    with open(path) as f:
        doc = json.load(f)
    recs = doc.get("oneshot", []) if isinstance(doc, dict) else []
    return {r["case"]: r for r in recs if isinstance(r, dict) and "case" in r}


def time_prefilter(n, dtype, min_runs, budget):
    """Median seconds of spline_filter(order=3, mode='grid-wrap') on a random n^3 grid."""
    rng = np.random.default_rng(5)
    x = rng.uniform(-1.0, 1.0, size=(n, n, n)).astype(dtype)
    t, runs = timed(lambda: spline_filter(x, order=3, output=dtype, mode="grid-wrap"),
                    min_runs, budget)
    return t, runs


def print_oneshot(oneshot, scipy_s, scipy_shapes):
    """Ratios scipy / bsfit per allocator state, for the cases timed here."""
    print()
    print("one-shot (bsfit bench --only oneshot; bsfit 2 threads, scipy 1): "
          "scipy time / bsfit time")
    head = (f"{'case':<18} {'scipy':>10} {'fresh 1st':>10} {'fresh rep':>10} "
            f"{'churn 1st':>10} {'churn rep':>10} {'plan':>8}  bar")
    print(head)
    print("-" * len(head))
    for case, t in scipy_s.items():
        r = oneshot.get(case)
        if r is None:
            print(f"{case:<18} {fmt_time(t):>10}  (no bsfit record)")
            continue
        if tuple(r.get("shape", ())) != scipy_shapes[case]:
            print(f"{case:<18} {fmt_time(t):>10}  (bsfit timed {shape_str(r.get('shape', []))}, "
                  f"scipy {shape_str(scipy_shapes[case])}: no ratio)")
            continue
        ms = [r[st][fig]["median"] for st in ("fresh", "churned")
              for fig in ("first_ms", "repeated_ms")]
        plan = min(r[st]["plan_ms"]["median"] for st in ("fresh", "churned"))
        ratios = [t * 1e3 / m for m in ms]
        line = f"{case:<18} {fmt_time(t):>10}"
        line += "".join(f" {x:>9.1f}x" for x in ratios)
        line += f" {t * 1e3 / plan:>7.1f}x"
        bar = ONESHOT_BARS.get(case)
        if bar is not None:
            worst = min(ratios)
            line += f"  >= {bar:.0f}x: worst {worst:.1f}x {'met' if worst >= bar else 'MISSED'}"
        print(line)


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
    ap.add_argument("--oneshot", action="store_true",
                    help=f"time only the {shape_str(ONESHOT_FIT_SHAPE)} fit and the prefilters "
                         "(for `bsfit bench --only oneshot --json`)")
    args = ap.parse_args()

    ours = load_ours(args.ours) if args.ours else {}
    oneshot = load_oneshot(args.ours) if args.ours else {}
    if args.oneshot:
        shapes = [ONESHOT_FIT_SHAPE]
    else:
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
    saved = {"scipy": scipy.__version__, "numpy": np.__version__, "fit": [], "eval": [],
             "prefilter": []}
    scipy_oneshot = {}
    for shape in shapes:
        axes, values = problem(shape)
        t, runs = timed(lambda: fit_separable(axes, values), args.min_runs, args.budget)
        saved["fit"].append({"shape": list(shape), "fit_median_s": t, "runs": runs})
        if shape == ONESHOT_FIT_SHAPE:
            scipy_oneshot["fit-small"] = t
        line = f"{shape_str(shape):<16} {values.size:>11,} {fmt_time(t):>11} {runs:>5}"
        if ours:
            o = ours.get(shape, {})
            tf = o.get("fit")
            line += f" {fmt_time(tf):>11} {str(o.get('threads', '-')):>7}"
            line += f" {t / tf:>7.1f}x" if tf else f" {'-':>8}"
        print(line, flush=True)

    print()
    print("prefilter: spline_filter(x, order=3, mode='grid-wrap') on a random n^3 grid")
    for case, n, dtype in PREFILTER_CASES:
        t, runs = time_prefilter(n, dtype, args.min_runs, args.budget)
        scipy_oneshot[case] = t
        name = np.dtype(dtype).name
        saved["prefilter"].append({"case": case, "n": n, "dtype": name,
                                   "median_s": t, "runs": runs})
        print(f"  {n}^3 {name:<8} {fmt_time(t):>11} ({runs} runs)", flush=True)
    if oneshot:
        shapes_timed = {case: (n, n, n) for case, n, _ in PREFILTER_CASES}
        shapes_timed["fit-small"] = ONESHOT_FIT_SHAPE
        print_oneshot(oneshot, scipy_oneshot, shapes_timed)

    if args.oneshot:
        return save(args.save, saved)

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

    return save(args.save, saved)


def save(path, saved):
    """Writes scipy's figures to `path` (if given); the exit status."""
    if path:
        with open(path, "w") as f:
            json.dump(saved, f, indent=1)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
