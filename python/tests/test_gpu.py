"""bsfit.gpu against the CPU spline (lavapipe in CI).

Oracle: the CPU evaluation of the same spline (bsfit.TensorSpline) and the
CPU fit of the same values (bsfit.Fitter): float64 within 1e-12, float32
within 1e-5 relative to the output's scale. Skipped (with the reason) only
when no adapter exists and BSFIT_REQUIRE_GPU is unset; a build without GPU
support checks that every entry raises NotImplementedError.
"""

import os

import numpy as np
import pytest

import bsfit
import bsfit.gpu as gpu
from bsfit import _bsfit

BUILT = _bsfit._gpu_built()
REQUIRE = os.environ.get("BSFIT_REQUIRE_GPU") == "1"


def _adapter():
    if not BUILT:
        return None
    try:
        return gpu.device_name()
    except RuntimeError as e:
        if REQUIRE:
            raise
        return str(e)


ADAPTER = _adapter()
HAVE = BUILT and gpu.available()
needs_gpu = pytest.mark.skipif(
    not HAVE and not REQUIRE,
    reason=f"no GPU adapter ({ADAPTER})" if BUILT else "bsfit was built without GPU support",
)


def _dtypes():
    out = [np.float32]
    if HAVE and gpu.supports_float64():
        out.append(np.float64)
    return out


def _tol(dtype):
    return 1e-12 if dtype == np.float64 else 1e-5


def _close(a, b, tol, what):
    a = np.asarray(a)
    b = np.asarray(b)
    assert a.shape == b.shape, (what, a.shape, b.shape)
    nan = np.isnan(b)
    assert np.array_equal(np.isnan(a), nan), what
    scale = np.max(np.abs(b[~nan])) if (~nan).any() else 1.0
    err = np.max(np.abs(a[~nan] - b[~nan]), initial=0.0)
    assert err <= tol * (1.0 + scale), f"{what}: err {err:.3e}, scale {scale:.3e}"


def _grid(rng, shape):
    return tuple(np.cumsum(rng.uniform(0.2, 1.0, n)) - 0.7 for n in shape)


@pytest.mark.skipif(BUILT, reason="this build has GPU support")
def test_without_gpu_support_every_entry_says_so():
    x = np.linspace(0.0, 1.0, 5)
    s = bsfit.TensorSpline((x,), x**2)
    assert not gpu.available()
    for call in (
        lambda: gpu.GpuSpline(s),
        lambda: gpu.GpuFitter((x,)),
        gpu.device_name,
        gpu.supports_float64,
        lambda: _bsfit._GpuSpline.upload(s._s, "float64"),
    ):
        with pytest.raises(NotImplementedError, match="without GPU support"):
            call()


@needs_gpu
@pytest.mark.parametrize(
    "bc_type",
    [
        None,
        "natural",
        "clamped",
        ("periodic", "not-a-knot"),
        (None, ([(1, 0.5)], [(2, -1.0)])),
        ((("natural", "clamped")), "periodic"),
    ],
)
def test_fitter_matches_cpu(bc_type):
    rng = np.random.default_rng(3)
    pts = _grid(rng, (7, 6))
    for vshape in [(), (2,)]:
        values = rng.uniform(-1, 1, (7, 6) + vshape)
        for axis, bc in enumerate(bc_type if isinstance(bc_type, tuple) else [bc_type] * 2):
            if bc == "periodic":
                idx = [slice(None)] * values.ndim
                first = list(idx)
                first[axis] = 0
                idx[axis] = -1
                values[tuple(idx)] = values[tuple(first)]
        cpu = bsfit.Fitter(pts, bc_type=bc_type).fit(values)
        xi = np.stack([rng.uniform(p[0] - 1, p[-1] + 1, 50) for p in pts], axis=-1)
        for dtype in _dtypes():
            dev = gpu.GpuFitter(pts, bc_type=bc_type, dtype=dtype).fit(values)
            assert dev.value_shape == vshape
            assert dev.device_dtype == np.dtype(dtype)
            tol = _tol(dtype)
            xr = xi.astype(dtype).astype(np.float64)
            _close(dev(xr), cpu(xr), tol, f"{bc_type} {vshape} value")
            _close(dev(xr, nu=(1, 1)), cpu(xr, nu=(1, 1)), 10 * tol, f"{bc_type} d11")
            _close(dev.grad(xr), cpu.grad(xr), 10 * tol, f"{bc_type} grad")
            _close(dev(xr, extrapolate=False), cpu(xr, extrapolate=False), tol, "nan policy")


@needs_gpu
def test_uploaded_spline_matches_cpu_points_partials_grid():
    rng = np.random.default_rng(5)
    pts = _grid(rng, (6, 5, 7))
    values = rng.uniform(-1, 1, (6, 5, 7, 3))
    s = bsfit.TensorSpline(pts, values)
    xi = rng.uniform(-1.5, 4.0, (4, 10, 3))
    orders = [(0, 0, 0), (1, 0, 0), (0, 2, 1), (3, 0, 0)]
    for dtype in _dtypes():
        g = gpu.GpuSpline(s, dtype=dtype)
        assert g.ndim == 3 and g.value_shape == (3,)
        tol = _tol(dtype)
        xr = xi.astype(dtype).astype(np.float64)
        _close(g(xr), s(xr), tol, "value")
        _close(g.partials(xr, orders), s.partials(xr, orders), 10 * tol, "partials")
        axes = ([0.1, 1.0, 2.5], [-0.5, 0.7], [0.0, 1.1, 2.2, 3.3])
        axes = tuple(np.asarray(a, dtype).astype(np.float64) for a in axes)
        _close(g.eval_grid(axes), s.eval_grid(axes), tol, "grid")
        _close(g.eval_grid(axes, nu=(0, 1, 0)), s.eval_grid(axes, nu=(0, 1, 0)), 10 * tol, "grid d")
        with pytest.raises(ValueError):
            g(np.zeros((2, 2)))


@needs_gpu
def test_complex_values_and_errors():
    x = np.linspace(0.0, 2.0, 6)
    values = np.exp(1j * x)[:, None] * (1 + x[None, :])
    f = gpu.GpuFitter((x, x), dtype=np.float32)
    dev = f.fit(values)
    cpu = bsfit.TensorSpline((x, x), values)
    xi = np.array([[0.3, 1.7], [1.1, 0.2]], dtype=np.float32).astype(np.float64)
    got = dev(xi)
    assert got.dtype == np.complex128
    _close(got.real, cpu(xi).real, 1e-5, "complex real")
    _close(got.imag, cpu(xi).imag, 1e-5, "complex imag")
    with pytest.raises(ValueError):
        f.fit(np.zeros((6, 5)))
    with pytest.raises(bsfit.FitError):
        f.fit(np.full((6, 6), np.nan))
    with pytest.raises(TypeError):
        gpu.GpuFitter((x, x), dtype=np.int32)
    with pytest.raises(TypeError):
        gpu.GpuSpline("not a spline")
    with pytest.raises(bsfit.FitError):
        dev(np.array([[0.3, 9.0]]), extrapolate="raise")
