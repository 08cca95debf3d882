#!/usr/bin/env python3
"""Generate the scipy fixtures for `bsfit::grid3::prefilter` (tests/grid3_prefilter.rs).

For every shape and mode: random samples F (fixed seed) and
scipy.ndimage.spline_filter(F, order=3, mode=MODE, output=float64), with
MODE = 'grid-wrap' (Boundary::Periodic) and 'mirror' (Boundary::Mirror).

Run from the repository root:  python3 tools/gen_grid3_fixtures.py
Writes tests/fixtures/grid3/spline_filter.json (floats written with repr, so they
round-trip exactly).
"""
import json
import os

import numpy as np
import scipy
from scipy import ndimage

SHAPES = [
    (1, 1, 1), (1, 2, 3), (2, 3, 1), (2, 2, 2), (3, 3, 3), (3, 1, 2),
    (4, 5, 6), (7, 3, 8), (16, 9, 5), (1, 1, 40), (33, 2, 4), (6, 11, 1),
]
MODES = {"grid-wrap": "periodic", "mirror": "mirror"}


def main():
    rng = np.random.default_rng(20240604)
    cases = []
    for shape in SHAPES:
        f = rng.uniform(-1.0, 1.0, size=shape)
        for mode, name in MODES.items():
            c = ndimage.spline_filter(f, order=3, mode=mode, output=np.float64)
            cases.append({
                "shape": list(shape),
                "boundary": name,
                "mode": mode,
                "values": [float(v) for v in f.ravel()],
                "coefficients": [float(v) for v in c.ravel()],
            })
    out = {
        "generator": "tools/gen_grid3_fixtures.py",
        "scipy": scipy.__version__,
        "numpy": np.__version__,
        "cases": cases,
    }
    path = os.path.join("tests", "fixtures", "grid3", "spline_filter.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        json.dump(out, fh, indent=None, separators=(",", ":"))
        fh.write("\n")
    print(f"wrote {len(cases)} cases to {path}")


if __name__ == "__main__":
    main()
