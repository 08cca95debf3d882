#!/usr/bin/env bash
# Build, install and test the Python package the way a user gets it:
# `pip install ./python` into a fresh virtual environment, then pytest and
# the README's example. Run from the repository root:  bash python/ci.sh
#
# Environment: PYTHON (default python3) creates the venv; BSFIT_VENV (default
# .venv at the repository root, git-ignored) is where it lives.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
venv="${BSFIT_VENV:-$root/.venv}"
py="$venv/bin/python"

if [ ! -x "$py" ]; then
    "${PYTHON:-python3}" -m venv "$venv"
fi
# scipy is pinned: its own test files (shipped in its wheel) run below with
# bsfit patched in, and their expectations are scipy 1.17.1's.
"$py" -m pip install --quiet --disable-pip-version-check maturin numpy "scipy==1.17.1" pytest mypy
# The optional fronts' frameworks, so that tests/test_jax.py, test_torch.py and
# test_dask.py run instead of skipping. torch from PyPI brings its CUDA
# libraries (PyPI is the only index CI reaches; the CPU-only wheel index is
# not): about 3 GB downloaded, 5.4 GB installed. pip took 360 s for torch on
# 2 busy cores, uv (parallel downloads and unpacking) 98 s: uv installs them.
echo "== install jax dask[distributed] torch (uv)"
t0=$SECONDS
"$py" -m pip install --quiet --disable-pip-version-check uv
"$py" -m uv pip install --quiet --python "$py" jax "dask[distributed]" torch
echo "   took $((SECONDS - t0)) s"

# A module left in the source tree by `maturin develop` must not shadow or
# leak into the wheel under test.
rm -f python/bsfit/_bsfit*.so python/bsfit/_bsfit*.pyd
echo "== pip install ./python"
"$py" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps ./python

# Run from a scratch directory so that `import bsfit` finds the installed
# package, not python/bsfit.
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
cd "$scratch"
"$py" - <<'PY'
import bsfit, sysconfig, os
where = os.path.dirname(bsfit.__file__)
print(f"bsfit {bsfit.__version__} from {where}")
assert where.startswith(sysconfig.get_paths()["purelib"]) or where.startswith(sysconfig.get_paths()["platlib"]), where
PY

# The wheel is built with GPU support: with lavapipe installed (CI) the GPU
# tests must find an adapter instead of skipping.
if ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1; then
    export BSFIT_REQUIRE_GPU=1 WGPU_BACKEND="${WGPU_BACKEND:-vulkan}"
fi
export XDG_RUNTIME_DIR="$scratch/xdg"
mkdir -p -m 700 "$XDG_RUNTIME_DIR"

echo "== pytest"
"$py" -m pytest -q -p no:cacheprovider "$root/python/tests"

echo "== scipy 1.17.1's own interpolate tests with bsfit patched in (fallbacks counted)"
"$py" "$root/python/tests/scipy_suite/run_scipy_tests.py"

echo "== scipy 1.17.1's own ndimage tests with bsfit patched in (any fallback fails)"
PYTHONPATH="$root/python/tests${PYTHONPATH:+:$PYTHONPATH}" "$py" -m pytest -q -p no:cacheprovider \
    -p scipy_ndimage_plugin \
    --pyargs scipy.ndimage.tests.test_interpolation scipy.ndimage.tests.test_splines

echo "== type stubs match the module (mypy stubtest)"
"$py" -m mypy.stubtest bsfit

echo "== README examples (python/README.md and the root README)"
"$py" - "$root/python/README.md" "$root/README.md" <<'PY'
import re, sys
for path in sys.argv[1:]:
    text = open(path, encoding="utf-8").read()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks, f"no ```python block in {path}"
    for i, code in enumerate(blocks):
        exec(compile(code, f"{path}[python block {i}]", "exec"), {"__name__": "__main__"})
    print(f"{path}: {len(blocks)} block(s) ran")
PY
echo "python/ci.sh: OK"
