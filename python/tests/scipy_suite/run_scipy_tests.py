#!/usr/bin/env python3
"""Run scipy's own interpolate tests with bsfit's functions patched in.

    python python/tests/scipy_suite/run_scipy_tests.py [--bsfit-report=out.json] [pytest args]

Runs ``scipy/interpolate/tests/test_rgi.py`` and ``test_bsplines.py`` from
the installed scipy (its wheel ships them; CI pins scipy 1.17.1) with
``bsfit_scipy_plugin`` loaded: scipy's ``make_ndbspl``,
``make_interp_spline`` and ``RegularGridInterpolator`` are bsfit's, and
scipy's own code answers only where bsfit raises ``NotImplementedError``
(counted and listed in the summary). Exits with pytest's status: any
failing test fails the run, and so does any fallback to scipy (unless
``--bsfit-allow-fallbacks`` is given).
"""

import os
import sys

import pytest

MODULES = [
    "scipy.interpolate.tests.test_rgi",
    "scipy.interpolate.tests.test_bsplines",
]


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)
    import scipy

    print(f"scipy {scipy.__version__} from {os.path.dirname(scipy.__file__)}")
    args = ["-q", "-p", "no:cacheprovider", "-p", "bsfit_scipy_plugin",
            "--pyargs", *MODULES, *argv]
    return pytest.main(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
