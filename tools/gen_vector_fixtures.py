#!/usr/bin/env python3
"""Generate the scipy reference fixtures of vector-valued and complex splines
for `tests/vector_values.rs`.

    python3 tools/gen_vector_fixtures.py     # writes tests/fixtures/vector/*.json

Requires numpy and scipy (generated with scipy 1.17.1). Deterministic: fixed
seed, shortest round-trip float repr.

Each fixture is a cubic interpolating tensor-product spline of values with
trailing dimensions (scipy's `NdBSpline` semantics: values of shape
`(n_0, ..., n_{D-1}, *vshape)`, coefficients `(m_0, ..., m_{D-1}, *vshape)`)
on a random non-uniform grid, 1 to 4 dimensions, with a boundary condition
per axis:

* coefficients: `make_interp_spline(x_k, c, k=3, axis=k, bc_type=...)`
  applied axis by axis (a direct banded solve per axis, so exact to
  rounding); the trailing dimensions ride along, as in scipy.
* evaluations: `NdBSpline(t, c, 3)(xi, nu=orders)` at random points (inside
  the domain and a few slightly outside; periodic axes wrapped into the
  domain first, as `BSpline(..., extrapolate="periodic")` does), shape
  `(points, *vshape)` per order vector.
* complex fixtures store values, coefficients and evaluations as real and
  imaginary parts, interleaved as a trailing dimension of 2 (how the library
  takes complex values).

JSON layout (C order):

    {"name", "dim", "shape", "vshape", "complex": bool,
     "bc": ["not-a-knot" | "natural" | "clamped" | "periodic", ...],
     "axes", "values", "knots", "coef_shape", "coefficients", "points",
     "derivs": [{"orders": [...], "values": [...]}, ...]}
"""

import argparse
import json
import os

import numpy as np
from scipy.interpolate import NdBSpline, make_interp_spline

SEED = 20261207


def sites(rng, n):
    steps = rng.uniform(0.3, 1.7, size=n - 1)
    return rng.uniform(-1, 1) + np.concatenate([[0.0], np.cumsum(steps)])


def fit(axes, values, bcs):
    c = values
    knots = []
    for k, (x, bc) in enumerate(zip(axes, bcs)):
        b = make_interp_spline(x, c, k=3, axis=k, bc_type=None if bc == "not-a-knot" else bc)
        knots.append(b.t)
        c = b.c
        if k != 0:
            # make_interp_spline puts the interpolation axis first.
            c = np.moveaxis(c, 0, k)
    return knots, c


def case(rng, name, shape, vshape, bcs, cplx=False):
    dim = len(shape)
    axes = [sites(rng, n) for n in shape]
    full = tuple(shape) + tuple(vshape)
    values = rng.standard_normal(full)
    if cplx:
        values = values + 1j * rng.standard_normal(full)
    for k, bc in enumerate(bcs):
        if bc == "periodic":
            sl_first = [slice(None)] * len(full)
            sl_last = [slice(None)] * len(full)
            sl_first[k] = 0
            sl_last[k] = -1
            values[tuple(sl_last)] = values[tuple(sl_first)]
    knots, c = fit(axes, values, bcs)
    spl = NdBSpline(tuple(knots), c, 3)
    lo = np.array([a[0] for a in axes])
    hi = np.array([a[-1] for a in axes])
    npts = 12
    pts = lo + (hi - lo) * rng.uniform(-0.1, 1.1, size=(npts, dim))
    pts[:4] = lo + (hi - lo) * rng.uniform(0, 1, size=(4, dim))
    ev = pts.copy()
    for k, bc in enumerate(bcs):
        if bc == "periodic":
            ev[:, k] = lo[k] + np.mod(ev[:, k] - lo[k], hi[k] - lo[k])
    order_sets = [[0] * dim]
    for k in range(dim):
        o = [0] * dim
        o[k] = 1
        order_sets.append(o)
    o = [0] * dim
    o[0] = 2
    order_sets.append(o)
    if dim > 1:
        o = [0] * dim
        o[0] = 1
        o[dim - 1] = 1
        order_sets.append(o)
    derivs = []
    for o in order_sets:
        v = np.asarray(spl(ev, nu=o))
        if cplx:
            v = np.stack([v.real, v.imag], axis=-1)
        derivs.append({"orders": o, "values": v.ravel().tolist()})

    def flat(a):
        if cplx:
            a = np.stack([a.real, a.imag], axis=-1)
        return np.ascontiguousarray(a).ravel().tolist()

    vs = list(vshape) + ([2] if cplx else [])
    return {
        "name": name,
        "dim": dim,
        "shape": list(shape),
        "vshape": vs,
        "complex": cplx,
        "bc": bcs,
        "axes": [a.tolist() for a in axes],
        "values": flat(values),
        "knots": [t.tolist() for t in knots],
        "coef_shape": list(c.shape[:dim]),
        "coefficients": flat(c),
        "points": pts.tolist(),
        "derivs": derivs,
    }


CASES = [
    ("d1_v3", (9,), (3,), ["not-a-knot"]),
    ("d1_v2x2_natural", (7,), (2, 2), ["natural"]),
    ("d2_v2", (6, 8), (2,), ["not-a-knot", "not-a-knot"]),
    ("d2_v3_periodic_clamped", (9, 5), (3,), ["periodic", "clamped"]),
    ("d3_v4", (5, 6, 4), (4,), ["not-a-knot", "natural", "not-a-knot"]),
    ("d3_v2x3", (4, 5, 6), (2, 3), ["not-a-knot", "not-a-knot", "clamped"]),
    ("d4_v8", (5, 4, 6, 4), (8,), ["not-a-knot"] * 4),
    ("d4_v1", (4, 5, 4, 5), (1,), ["not-a-knot", "periodic", "not-a-knot", "natural"]),
]
COMPLEX_CASES = [
    ("d1_complex", (8,), (), ["not-a-knot"]),
    ("d2_complex_v2", (6, 5), (2,), ["natural", "not-a-knot"]),
    ("d3_complex", (5, 4, 6), (), ["not-a-knot", "clamped", "not-a-knot"]),
]


def main():
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "..", "tests", "fixtures", "vector"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rng = np.random.default_rng(SEED)
    for name, shape, vshape, bcs in CASES:
        data = case(rng, name, shape, vshape, bcs)
        with open(os.path.join(args.out, name + ".json"), "w") as f:
            json.dump(data, f)
    for name, shape, vshape, bcs in COMPLEX_CASES:
        data = case(rng, name, shape, vshape, bcs, cplx=True)
        with open(os.path.join(args.out, name + ".json"), "w") as f:
            json.dump(data, f)
    print(f"wrote {len(CASES) + len(COMPLEX_CASES)} fixtures to {args.out}")


if __name__ == "__main__":
    main()
