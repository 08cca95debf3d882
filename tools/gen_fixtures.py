#!/usr/bin/env python3
"""Generate the scipy reference fixtures for `tests/scipy_parity.rs`.

Regenerate (deterministic: fixed seed, output is byte-for-byte reproducible
with the same numpy/scipy versions):

    python3 tools/gen_fixtures.py            # writes tests/fixtures/ndspline/*.json,
                                             # tests/fixtures/bc/*.json and
                                             # tests/fixtures/degrees/*.json
    python3 tools/gen_fixtures.py --only-degrees   # only the degree fixtures
    python3 tools/gen_fixtures.py --out DIR  # somewhere else (DIR/ndspline, DIR/bc
                                             # with --bc-out)

Requires numpy and scipy (generated with scipy 1.17.1, numpy 2.4.6).

What each fixture holds
-----------------------
A cubic (k = 3) not-a-knot interpolating tensor-product spline on a random
non-uniform rectilinear grid in 1 to 5 dimensions, with random values.

* knots: per axis, `scipy.interpolate.make_interp_spline(x, y, k=3).t`
  (n + 4 knots: the end sites repeated four times, interior knots at
  x[2], ..., x[n-3]).
* coefficients: built separably, one axis at a time, with
  `make_interp_spline(x_k, c, k=3, axis=k)`. Each call is a direct banded
  solve, so the reference is accurate to rounding. For D > 1 they are
  cross-checked against `make_ndbspl(..., solver=spsolve)` (global sparse
  collocation) to 1e-11. (`make_ndbspl`'s default iterative solver is not
  used: its coefficients are only good to ~1e-3.)
* evaluations: `scipy.interpolate.NdBSpline(t, c, 3)(xi, nu=orders)` for
  several derivative-order vectors (each order 0..2), at random points inside
  the domain and a few slightly outside it (scipy extrapolates with the
  boundary polynomial pieces). In 1D the same values are also produced by
  `BSpline(t, c, 3)(x, nu)` and the two are checked against each other here.

JSON layout (arrays in C / row-major order, floats written with Python's
shortest round-trip repr so no precision is lost):

    {
      "name": str, "dim": D, "shape": [n_0, ..., n_{D-1}],
      "axes": [[x_0 ...], ...],            # sites per axis
      "values": [...],                     # prod(shape) values, C order
      "knots": [[t_0 ...], ...],           # n_k + 4 knots per axis
      "coefficients": [...],               # prod(shape) coefficients, C order
      "points": [[x_0, ..., x_{D-1}], ...],
      "outside": [bool, ...],              # per point: outside the domain?
      "derivs": [{"orders": [o_0, ...], "values": [...]}, ...]
    }

Degrees 1, 2, 4 and 5 (tests/fixtures/degrees/*.json, `tests/degree_parity.rs`)
-------------------------------------------------------------------------
The layout above plus ``"degrees": [k_0, ...]`` (each 1 to 5, mixed per
axis): knots and coefficients from ``make_interp_spline(x_a, c, k=k_a,
axis=a)`` axis by axis (scipy's ``_not_a_knot(x, k)`` knots: ``k + 1``
copies of each end site around ``x[(k+1)//2 : -(k+1)//2]``), cross-checked
against ``make_ndbspl(..., k=degrees, solver=spsolve)``; evaluations from
``NdBSpline(t, c, degrees)`` for every order up to ``k_a + 1`` along each
axis (order ``k_a + 1`` is written as 0, which ``NdBSpline`` does not
compute) and two mixed orders.

Boundary conditions (tests/fixtures/bc/*.json, `tests/boundary_parity.rs`)
-------------------------------------------------------------------------
The same layout plus, per axis, its `bc_type`:

    "bc": ["not-a-knot" | "periodic" | {"left": END, "right": END}, ...]
    END = "natural" | "clamped" | {"order": 1 | 2}    # explicit values
    "end_left": [...], "end_right": [...]   # explicit values of the one
                                            # explicit axis, C order over the
                                            # other axes' sites (absent if none)

* knots and coefficients: `make_interp_spline(x_k, c, k=3, axis=k,
  bc_type=...)` applied axis by axis, the axis with explicit values first
  (its values are then exactly the arrays over the other axes' sites), then
  the others in order. Natural, clamped and explicit ends give n + 2
  coefficients on their axis (scipy's `_augknt` knots), periodic axes n + 2
  (scipy's periodic knots; values at both ends equal).
* evaluations: `NdBSpline` at the points with the periodic axes' coordinates
  wrapped into the domain as `BSpline(..., extrapolate="periodic")` does (in
  1D cross-checked against `BSpline` itself); some points lie outside the
  domain, where periodic axes wrap and the others extrapolate.
"""

import argparse
import json
import os
import sys

import numpy as np
from scipy.interpolate import BSpline, NdBSpline, make_interp_spline
from scipy.interpolate._ndbspline import make_ndbspl  # not public in scipy 1.17
from scipy.sparse.linalg import spsolve

SEED = 20240917

# (name, shape). Includes minimal axes (n = 4: no interior knot; n = 5: one).
CASES = [
    ("d1_n4", (4,)),
    ("d1_n5", (5,)),
    ("d1_n8", (8,)),
    ("d1_n23", (23,)),
    ("d1_n60", (60,)),
    ("d2_4x5", (4, 5)),
    ("d2_9x6", (9, 6)),
    ("d2_17x11", (17, 11)),
    ("d3_4x5x6", (4, 5, 6)),
    ("d3_9x7x5", (9, 7, 5)),
    ("d4_5x4x6x7", (5, 4, 6, 7)),
    ("d4_7x6x5x4", (7, 6, 5, 4)),
    ("d5_4x5x4x5x4", (4, 5, 4, 5, 4)),
    ("d5_6x5x4x4x5", (6, 5, 4, 4, 5)),
]

N_INSIDE = 24
N_OUTSIDE = 6
N_RANDOM_ORDERS = 5


def random_sites(rng, n):
    """Strictly increasing sites with strongly varying spacing and offset/scale."""
    kind = rng.integers(0, 3)
    if kind == 0:
        gaps = rng.uniform(0.2, 1.8, size=n - 1)
    elif kind == 1:
        gaps = np.exp(rng.normal(0.0, 0.8, size=n - 1))  # ratios up to ~10x
    else:
        gaps = np.geomspace(1.0, rng.uniform(3.0, 8.0), n - 1)  # graded mesh
        if rng.integers(0, 2):
            gaps = gaps[::-1]
    x = np.concatenate([[0.0], np.cumsum(gaps)])
    scale = 10.0 ** rng.uniform(-1.5, 1.5)
    offset = rng.uniform(-5.0, 5.0) * scale
    x = offset + scale * x / x[-1]
    assert np.all(np.diff(x) > 0)
    return x


def fit_separable(axes, values):
    c = np.asarray(values, dtype=float)
    knots = []
    for k, x in enumerate(axes):
        b = make_interp_spline(x, c, k=3, axis=k)
        knots.append(np.asarray(b.t, dtype=float))
        # BSpline keeps the interpolation axis first in .c: move it back.
        c = np.moveaxis(np.asarray(b.c, dtype=float), 0, k)
    return knots, np.ascontiguousarray(c)


def random_points(rng, axes):
    d = len(axes)
    lo = np.array([x[0] for x in axes])
    hi = np.array([x[-1] for x in axes])
    span = hi - lo
    inside = lo + rng.uniform(0.0, 1.0, size=(N_INSIDE, d)) * span
    # A few points slightly outside: one random coordinate (or all, for the
    # last one) pushed 1-8% of the span beyond an end.
    outside = lo + rng.uniform(0.0, 1.0, size=(N_OUTSIDE, d)) * span
    for i in range(N_OUTSIDE):
        axes_out = range(d) if i == N_OUTSIDE - 1 else [rng.integers(0, d)]
        for a in axes_out:
            delta = rng.uniform(0.01, 0.08) * span[a]
            outside[i, a] = lo[a] - delta if rng.integers(0, 2) else hi[a] + delta
    pts = np.vstack([inside, outside])
    flags = [False] * N_INSIDE + [
        bool(np.any((p < lo) | (p > hi))) for p in outside
    ]
    return pts, flags


def order_sets(rng, d):
    orders = [tuple([0] * d)]
    for a in range(d):
        for o in (1, 2):
            v = [0] * d
            v[a] = o
            orders.append(tuple(v))
    if d > 1:
        orders.append(tuple([1] * d))
        orders.append(tuple([2] * d))
        target = min(3**d, 2 * d + 3 + N_RANDOM_ORDERS)
        while len(orders) < target:
            v = tuple(int(o) for o in rng.integers(0, 3, size=d))
            if v not in orders:
                orders.append(v)
    return orders


def make_case(rng, name, shape):
    d = len(shape)
    axes = [random_sites(rng, n) for n in shape]
    values = rng.uniform(-1.0, 1.0, size=shape)
    knots, coefs = fit_separable(axes, values)

    if d > 1:
        # Cross-check against scipy's global N-D collocation with a direct
        # sparse solver (independent of the separable construction).
        glob = make_ndbspl(tuple(axes), values, k=3, solver=spsolve)
        err = np.max(np.abs(glob.c - coefs)) / np.max(np.abs(coefs))
        assert err < 1e-11, (name, err)
        assert all(np.array_equal(a, b) for a, b in zip(glob.t, knots)), name

    spl = NdBSpline(tuple(knots), coefs, 3)
    # Sanity: the reference interpolates its data.
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, d)
    resid = np.max(np.abs(spl(grid) - values.reshape(-1)))
    assert resid < 1e-9 * max(1.0, np.max(np.abs(coefs))), (name, resid)

    pts, flags = random_points(rng, axes)
    derivs = []
    for orders in order_sets(rng, d):
        vals = spl(pts, nu=np.array(orders))
        if d == 1:
            b = BSpline(knots[0], coefs, 3, extrapolate=True)
            v1 = b(pts[:, 0], nu=orders[0])
            scale = max(1.0, np.max(np.abs(v1)))
            assert np.max(np.abs(v1 - vals)) < 1e-12 * scale, name
        assert np.all(np.isfinite(vals)), name
        derivs.append({"orders": list(orders), "values": [float(v) for v in vals]})

    return {
        "name": name,
        "dim": d,
        "shape": list(shape),
        "axes": [[float(v) for v in x] for x in axes],
        "values": [float(v) for v in values.reshape(-1)],
        "knots": [[float(v) for v in t] for t in knots],
        "coefficients": [float(v) for v in coefs.reshape(-1)],
        "points": [[float(v) for v in p] for p in pts],
        "outside": flags,
        "derivs": derivs,
    }


# (name, shape, per-axis bc spec); "E1"/"E2" mark the explicit axis whose
# (left, right) orders are given by the tuple that follows.
BC_CASES = [
    ("d1_natural_n6", (6,), ["natural"]),
    ("d1_clamped_n9", (9,), ["clamped"]),
    ("d1_periodic_n4", (4,), ["periodic"]),
    ("d1_periodic_n5", (5,), ["periodic"]),
    ("d1_periodic_n17", (17,), ["periodic"]),
    ("d1_natural_clamped_n7", (7,), [{"left": "natural", "right": "clamped"}]),
    ("d1_explicit_12_n8", (8,), [{"left": {"order": 1}, "right": {"order": 2}}]),
    ("d1_explicit_21_n4", (4,), [{"left": {"order": 2}, "right": {"order": 1}}]),
    ("d2_periodic_natural", (9, 6), ["periodic", "natural"]),
    ("d2_clamped_explicit", (5, 7), ["clamped", {"left": {"order": 1}, "right": {"order": 1}}]),
    ("d3_mixed", (5, 6, 4), ["natural", "periodic", "not-a-knot"]),
    ("d3_explicit_mid", (5, 6, 4), ["periodic", {"left": {"order": 2}, "right": "natural"}, "clamped"]),
    ("d4_mixed", (5, 4, 6, 4), ["not-a-knot", "natural", "periodic", "clamped"]),
    ("d4_explicit_last", (4, 4, 5, 5), ["periodic", "not-a-knot", "natural", {"left": {"order": 1}, "right": {"order": 2}}]),
]


def scipy_end(end, vals):
    if isinstance(end, str):
        return end
    return [(end["order"], vals)]


def make_bc_case(rng, name, shape, bc):
    d = len(shape)
    axes = [random_sites(rng, n) for n in shape]
    values = rng.uniform(-1.0, 1.0, size=shape)
    for k, b in enumerate(bc):
        if b == "periodic":
            last = [slice(None)] * d
            first = [slice(None)] * d
            last[k] = -1
            first[k] = 0
            values[tuple(last)] = values[tuple(first)]
    explicit = [k for k, b in enumerate(bc) if isinstance(b, dict) and any(
        isinstance(e, dict) for e in b.values())]
    assert len(explicit) <= 1
    other_shape = None
    end_vals = {}
    if explicit:
        k = explicit[0]
        other_shape = tuple(n for j, n in enumerate(shape) if j != k)
        for side in ("left", "right"):
            if isinstance(bc[k][side], dict):
                v = rng.uniform(-2.0, 2.0, size=other_shape)
                # Periodic along the periodic other axes (scipy checks the
                # arrays it solves along a periodic axis).
                others = [j for j in range(d) if j != k]
                for q, j in enumerate(others):
                    if bc[j] == "periodic":
                        last = [slice(None)] * len(others)
                        first = [slice(None)] * len(others)
                        last[q] = -1
                        first[q] = 0
                        v[tuple(last)] = v[tuple(first)]
                end_vals[side] = v
    order = explicit + [k for k in range(d) if k not in explicit]
    c = np.asarray(values, dtype=float)
    knots = [None] * d
    for k in order:
        b = bc[k]
        if isinstance(b, str):
            bc_type = b
        else:
            bc_type = (scipy_end(b["left"], end_vals.get("left")),
                       scipy_end(b["right"], end_vals.get("right")))
        spl1 = make_interp_spline(axes[k], c, k=3, axis=k, bc_type=bc_type)
        knots[k] = np.asarray(spl1.t, dtype=float)
        c = np.moveaxis(np.asarray(spl1.c, dtype=float), 0, k)
    coefs = np.ascontiguousarray(c)
    periodic = [b == "periodic" for b in bc]

    spl = NdBSpline(tuple(knots), coefs, 3)

    def wrap(pts):
        pts = pts.copy()
        for k in range(d):
            if periodic[k]:
                t = knots[k]
                lo, hi = t[3], t[-4]
                pts[:, k] = lo + (pts[:, k] - lo) % (hi - lo)
        return pts

    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, d)
    resid = np.max(np.abs(spl(grid) - values.reshape(-1)))
    assert resid < 1e-9 * max(1.0, np.max(np.abs(coefs))), (name, resid)

    pts, flags = random_points(rng, axes)
    derivs = []
    for orders in order_sets(rng, d):
        vals = spl(wrap(pts), nu=np.array(orders))
        if d == 1:
            b = BSpline(knots[0], coefs, 3,
                        extrapolate="periodic" if periodic[0] else True)
            v1 = b(pts[:, 0], nu=orders[0])
            scale = max(1.0, np.max(np.abs(v1)))
            assert np.max(np.abs(v1 - vals)) < 1e-12 * scale, name
        assert np.all(np.isfinite(vals)), name
        derivs.append({"orders": list(orders), "values": [float(v) for v in vals]})

    case = {
        "name": name,
        "dim": d,
        "shape": list(shape),
        "bc": bc,
        "axes": [[float(v) for v in x] for x in axes],
        "values": [float(v) for v in values.reshape(-1)],
        "knots": [[float(v) for v in t] for t in knots],
        "coef_shape": list(coefs.shape),
        "coefficients": [float(v) for v in coefs.reshape(-1)],
        "points": [[float(v) for v in p] for p in pts],
        "outside": flags,
        "derivs": derivs,
    }
    for side, v in end_vals.items():
        case["end_" + side] = [float(x) for x in np.asarray(v).reshape(-1)]
    return case


# Degrees (tests/fixtures/degrees/*.json, `tests/degree_parity.rs`): name,
# grid shape, degree per axis.
DEGREE_CASES = [
    ("k1_n2", (2,), (1,)),
    ("k1_n9", (9,), (1,)),
    ("k5_n6", (6,), (5,)),
    ("k5_n7", (7,), (5,)),
    ("k5_n15", (15,), (5,)),
    ("k15_2d", (8, 7), (1, 5)),
    ("k53_2d", (9, 6), (5, 3)),
    ("k55_2d", (7, 10), (5, 5)),
    ("k315_3d", (6, 5, 8), (3, 1, 5)),
    ("k5135_4d", (7, 4, 6, 8), (5, 1, 3, 5)),
    ("k2_n3", (3,), (2,)),
    ("k2_n10", (10,), (2,)),
    ("k4_n5", (5,), (4,)),
    ("k4_n12", (12,), (4,)),
    ("k24_2d", (8, 9), (2, 4)),
    ("k2435_4d", (5, 6, 7, 7), (2, 4, 3, 5)),
]


def fit_separable_k(axes, values, ks):
    """make_interp_spline(x_a, c, k=ks[a], axis=a) along every axis."""
    c = np.asarray(values, dtype=float)
    knots = []
    for a, (x, k) in enumerate(zip(axes, ks)):
        b = make_interp_spline(x, c, k=k, axis=a)
        knots.append(np.asarray(b.t, dtype=float))
        c = np.moveaxis(np.asarray(b.c, dtype=float), 0, a)
    return knots, np.ascontiguousarray(c)


def make_degree_case(rng, name, shape, ks):
    """A not-a-knot spline of degree ks[a] along axis a, in the layout of
    `make_case` plus "degrees"; derivative orders up to k + 1 per axis (the
    order k + 1 is 0)."""
    d = len(shape)
    axes = [random_sites(rng, n) for n in shape]
    values = rng.uniform(-1.0, 1.0, size=shape)
    knots, coefs = fit_separable_k(axes, values, ks)
    if d > 1:
        glob = make_ndbspl(tuple(axes), values, k=ks, solver=spsolve)
        err = np.max(np.abs(glob.c - coefs)) / np.max(np.abs(coefs))
        assert err < 1e-10, (name, err)
        assert all(np.array_equal(a, b) for a, b in zip(glob.t, knots)), name
    spl = NdBSpline(tuple(knots), coefs, ks)
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, d)
    resid = np.max(np.abs(spl(grid) - values.reshape(-1)))
    assert resid < 1e-9 * max(1.0, np.max(np.abs(coefs))), (name, resid)
    pts, flags = random_points(rng, axes)
    orders = [tuple([0] * d)]
    for a in range(d):
        for o in range(1, ks[a] + 2):
            v = [0] * d
            v[a] = o
            orders.append(tuple(v))
    if d > 1:
        orders.append(tuple(min(1, k) for k in ks))
        orders.append(tuple(min(2, k) for k in ks))
    derivs = []
    for o in orders:
        if any(oa > k for oa, k in zip(o, ks)):
            vals = np.zeros(len(pts))  # NdBSpline rejects nu > k; the derivative is 0
        else:
            vals = spl(pts, nu=np.array(o))
        if d == 1 and o[0] <= ks[0]:
            b = BSpline(knots[0], coefs, ks[0], extrapolate=True)
            v1 = b(pts[:, 0], nu=o[0])
            scale = max(1.0, np.max(np.abs(v1)))
            assert np.max(np.abs(v1 - vals)) < 1e-12 * scale, name
        assert np.all(np.isfinite(vals)), name
        derivs.append({"orders": list(o), "values": [float(v) for v in vals]})
    return {
        "name": name,
        "dim": d,
        "shape": list(shape),
        "degrees": list(ks),
        "axes": [[float(v) for v in x] for x in axes],
        "values": [float(v) for v in values.reshape(-1)],
        "knots": [[float(v) for v in t] for t in knots],
        "coefficients": [float(v) for v in coefs.reshape(-1)],
        "points": [[float(v) for v in p] for p in pts],
        "outside": flags,
        "derivs": derivs,
    }


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default_out = os.path.join(here, "..", "tests", "fixtures", "ndspline")
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=default_out, help="output directory")
    ap.add_argument("--only-bc", action="store_true",
                    help="write only the boundary-condition fixtures")
    ap.add_argument("--bc-out", default=os.path.join(here, "..", "tests", "fixtures", "bc"),
                    help="output directory of the boundary-condition fixtures")
    ap.add_argument("--only-degrees", action="store_true",
                    help="write only the degree fixtures")
    ap.add_argument("--degrees-out",
                    default=os.path.join(here, "..", "tests", "fixtures", "degrees"),
                    help="output directory of the degree fixtures")
    args = ap.parse_args()

    os.makedirs(args.degrees_out, exist_ok=True)
    rng = np.random.default_rng(SEED + 29)
    total = 0
    for name, shape, ks in DEGREE_CASES:
        case = make_degree_case(rng, name, shape, ks)
        path = os.path.join(args.degrees_out, name + ".json")
        text = json.dumps(case, separators=(",", ":")) + "\n"
        with open(path, "w") as f:
            f.write(text)
        total += len(text)
        print(f"{os.path.relpath(path)}: {len(text)} bytes", file=sys.stderr)
    print(f"total {total} bytes in {len(DEGREE_CASES)} files", file=sys.stderr)
    if args.only_degrees:
        return

    os.makedirs(args.out, exist_ok=True)
    rng = np.random.default_rng(SEED)
    total = 0
    for name, shape in [] if args.only_bc else CASES:
        case = make_case(rng, name, shape)
        path = os.path.join(args.out, name + ".json")
        text = json.dumps(case, separators=(",", ":")) + "\n"
        with open(path, "w") as f:
            f.write(text)
        total += len(text)
        print(f"{os.path.relpath(path)}: {len(text)} bytes", file=sys.stderr)
    print(f"total {total} bytes in {len(CASES)} files", file=sys.stderr)

    os.makedirs(args.bc_out, exist_ok=True)
    rng = np.random.default_rng(SEED + 13)
    total = 0
    for name, shape, bc in BC_CASES:
        case = make_bc_case(rng, name, shape, bc)
        path = os.path.join(args.bc_out, name + ".json")
        text = json.dumps(case, separators=(",", ":")) + "\n"
        with open(path, "w") as f:
            f.write(text)
        total += len(text)
        print(f"{os.path.relpath(path)}: {len(text)} bytes", file=sys.stderr)
    print(f"total {total} bytes in {len(BC_CASES)} files", file=sys.stderr)


if __name__ == "__main__":
    main()
