#!/usr/bin/env python3
"""Generate the scipy fixtures for `bsfit::ndimage` (tests/ndimage.rs).

For arrays of 1 to 4 dimensions (random samples, fixed seed; a few edge
shapes with axes of length 1 and 2, and a long line that exercises the
truncated initial-value sums), every order 0-5 and every scipy mode:

Each case names its input (an index into ``inputs``: shape and C-order
values) and holds scipy's results:

* ``scipy.ndimage.spline_filter1d(f, order, axis, mode=MODE)`` along the
  first and the last axis,
* ``scipy.ndimage.spline_filter(f, order, mode=MODE)`` (orders 2-5),
* ``scipy.ndimage.map_coordinates(f, coords, order=order, mode=MODE,
  cval=CVAL, prefilter=True)`` at points inside, on and outside the array
  (and, for some orders, ``prefilter=False``).

Run from the repository root:  python3 tools/gen_ndimage_fixtures.py
Writes tests/fixtures/ndimage/scipy_ndimage.json (floats written with
repr, so they round-trip exactly; no NaN, so the file is strict JSON).
"""
import json
import os

import numpy as np
import scipy
from scipy import ndimage

MODES = ["mirror", "reflect", "grid-mirror", "wrap", "grid-wrap", "nearest",
         "constant", "grid-constant"]
SHAPES = [(9,), (100,), (1,), (2,), (5, 7), (2, 1), (3, 4, 3), (1, 3, 2), (3, 2, 2, 4)]
# Map the points on these shapes only (the others are filter edge cases).
MAP_SHAPES = [(9,), (5, 7), (3, 4, 3), (3, 2, 2, 4), (2,)]
CVAL = -0.75
NPTS = 10


def floats(a):
    return [float(v) for v in np.asarray(a, dtype=np.float64).ravel()]


def points(rng, shape):
    """NPTS points per case: random ones over [-3, n + 2] per axis, plus a
    sample, a half-sample and one far outside."""
    cols = []
    for n in shape:
        c = rng.uniform(-3.0, n + 2.0, NPTS)
        c[0] = rng.integers(0, n)          # on a sample
        c[1] = rng.integers(0, n) + 0.5    # half-way
        c[2] = -9.25 if len(cols) % 2 == 0 else n + 7.5   # far outside
        cols.append(c)
    return np.array(cols)


def main():
    rng = np.random.default_rng(20261207)
    inputs, filters, maps = [], [], []
    for shape in SHAPES:
        f = rng.uniform(-1.0, 1.0, size=shape)
        ndim = len(shape)
        inputs.append({"shape": list(shape), "values": floats(f)})
        index = len(inputs) - 1
        for order in range(6):
            for mode in MODES:
                case = {"input": index, "order": order, "mode": mode}
                axes = sorted({0, ndim - 1})
                case["filter1d"] = {str(a): floats(ndimage.spline_filter1d(
                    f, order=order, axis=a, mode=mode)) for a in axes}
                if order >= 2:
                    case["filter"] = floats(ndimage.spline_filter(f, order=order, mode=mode))
                filters.append(case)
        if shape not in MAP_SHAPES:
            continue
        for order in range(6):
            for mode in MODES:
                pts = points(rng, shape)
                case = {"input": index, "order": order, "mode": mode, "cval": CVAL,
                        "coordinates": floats(pts),
                        "prefilter": floats(ndimage.map_coordinates(
                            f, pts, order=order, mode=mode, cval=CVAL, prefilter=True))}
                if order in (1, 3, 4):
                    case["no_prefilter"] = floats(ndimage.map_coordinates(
                        f, pts, order=order, mode=mode, cval=CVAL, prefilter=False))
                maps.append(case)
    out = {
        "generator": "tools/gen_ndimage_fixtures.py",
        "scipy": scipy.__version__,
        "numpy": np.__version__,
        "inputs": inputs,
        "filters": filters,
        "maps": maps,
    }
    path = os.path.join("tests", "fixtures", "ndimage", "scipy_ndimage.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        json.dump(out, fh, indent=None, separators=(",", ":"), allow_nan=False)
        fh.write("\n")
    print(f"wrote {len(filters)} filter and {len(maps)} map cases to {path}")


if __name__ == "__main__":
    main()
