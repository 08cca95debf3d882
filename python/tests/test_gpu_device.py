"""bsfit.gpu with results kept on the device: DeviceArray (to_device),
GpuSpline evaluation at device points and ``keep_on_device=True``, and
GpuFitter.fit from a DeviceArray (lavapipe in CI).

Oracles: the host-path evaluation of the same GpuSpline (numpy points in,
numpy out: the same kernel on the same rounded points, equal to the last
bit), the CPU evaluation of the same spline (bsfit.TensorSpline: float64
within 1e-13, float32 within 1e-5, relative to 1 + the output's scale) and
the CPU fit of the same values. Skipped (with the reason) only when no
adapter exists and BSFIT_REQUIRE_GPU is unset; a build without GPU support
checks that every entry raises NotImplementedError.
"""

import os

import numpy as np
import pytest

import bsfit
import bsfit.gpu as gpu
from bsfit import _bsfit

BUILT = _bsfit._gpu_built()
REQUIRE = os.environ.get("BSFIT_REQUIRE_GPU") == "1"
HAVE = BUILT and gpu.available()
needs_gpu = pytest.mark.skipif(
    not HAVE and not REQUIRE,
    reason="no GPU adapter" if BUILT else "bsfit was built without GPU support",
)


def _dtypes():
    out = [np.float32]
    if HAVE and gpu.supports_float64():
        out.append(np.float64)
    return out


def _tol(dtype):
    return 1e-13 if dtype == np.float64 else 1e-5


def _close(a, b, tol, what):
    a = np.asarray(a)
    b = np.asarray(b)
    assert a.shape == b.shape, (what, a.shape, b.shape)
    nan = np.isnan(b)
    assert np.array_equal(np.isnan(a), nan), what
    scale = np.max(np.abs(b[~nan])) if (~nan).any() else 1.0
    err = np.max(np.abs(a[~nan] - b[~nan]), initial=0.0)
    assert err <= tol * (1.0 + scale), f"{what}: err {err:.3e}, scale {scale:.3e}"


def _same(a, b, what):
    a = np.asarray(a)
    b = np.asarray(b)
    assert a.shape == b.shape and a.dtype == b.dtype, (what, a.shape, b.shape, a.dtype, b.dtype)
    assert np.array_equal(a, b, equal_nan=True), what


def _rounded(x, dtype):
    return np.asarray(x, dtype=dtype).astype(np.float64)


@pytest.mark.skipif(BUILT, reason="this build has GPU support")
def test_without_gpu_support_device_arrays_say_so():
    x = np.linspace(0.0, 1.0, 5)
    for call in (
        lambda: gpu.to_device(x),
        lambda: gpu.DeviceArray(x, dtype=np.float32),
        lambda: _bsfit._GpuArray(x, "float64"),
        gpu.synchronize,
    ):
        with pytest.raises(NotImplementedError, match="without GPU support"):
            call()


@needs_gpu
def test_device_array_round_trip():
    rng = np.random.default_rng(1)
    a = rng.uniform(-3, 3, (4, 3, 2))
    for dtype in _dtypes():
        d = gpu.to_device(a, dtype=dtype)
        assert isinstance(d, gpu.DeviceArray)
        assert d.shape == (4, 3, 2) and d.ndim == 3 and d.size == 24 and len(d) == 4
        assert d.dtype == np.dtype(dtype) and d.device_dtype == np.dtype(dtype)
        back = d.to_numpy()
        assert back.dtype == np.dtype(dtype)
        _same(back, a.astype(dtype), f"{dtype} round trip")
        _same(np.asarray(d), a.astype(dtype), "__array__")
        assert np.asarray(d, dtype=np.float64).dtype == np.float64
        with pytest.raises(ValueError):
            np.asarray(d, copy=False)
        assert "DeviceArray" in repr(d)
    # Non-contiguous and integer input, scalars, empty arrays, complex data.
    d = gpu.DeviceArray(np.arange(12).reshape(3, 4).T, dtype=np.float32)
    _same(d.to_numpy(), np.arange(12).reshape(3, 4).T.astype(np.float32), "transposed")
    s = gpu.to_device(2.5, dtype=np.float32)
    assert s.shape == () and s.to_numpy() == np.float32(2.5)
    with pytest.raises(TypeError):
        len(s)
    e = gpu.to_device(np.empty((0, 3)), dtype=np.float32)
    assert e.shape == (0, 3) and e.to_numpy().shape == (0, 3)
    c = gpu.to_device(np.array([1 + 2j, -0.5j]), dtype=np.float32)
    assert c.shape == (2,) and c.dtype == np.complex64
    _same(c.to_numpy(), np.array([1 + 2j, -0.5j], dtype=np.complex64), "complex")
    with pytest.raises(TypeError):
        gpu.to_device(np.zeros(3), dtype=np.int32)
    with pytest.raises(TypeError):
        gpu.to_device(np.array(["a", "b"]))


@needs_gpu
def test_device_points_and_results_match_host_path_and_cpu():
    rng = np.random.default_rng(5)
    pts = tuple(np.cumsum(rng.uniform(0.2, 1.0, n)) - 0.7 for n in (6, 5, 7))
    values = rng.uniform(-1, 1, (6, 5, 7, 3))
    s = bsfit.TensorSpline(pts, values)
    xi = rng.uniform(-1.5, 4.0, (4, 10, 3))
    orders = [(0, 0, 0), (1, 0, 0), (0, 2, 1), (3, 0, 0)]
    axes = ([0.1, 1.0, 2.5], [-0.5, 0.7], [0.0, 1.1, 2.2, 3.3])
    for dtype in _dtypes():
        tol = _tol(dtype)
        g = gpu.GpuSpline(s, dtype=dtype)
        xr = _rounded(xi, dtype)
        dx = gpu.to_device(xi, dtype=dtype)
        cases = [
            ("value", lambda x, **k: g(x, **k), lambda x: s(x), tol),
            ("d", lambda x, **k: g(x, nu=(1, 0, 1), **k), lambda x: s(x, nu=(1, 0, 1)), 100 * tol),
            ("nan", lambda x, **k: g(x, extrapolate=False, **k), lambda x: s(x, extrapolate=False), tol),
            (
                "per axis",
                lambda x, **k: g(x, extrapolate=["clamp", True, False], **k),
                lambda x: s(x, extrapolate=["clamp", True, False]),
                tol,
            ),
            ("partials", lambda x, **k: g.partials(x, orders, **k), lambda x: s.partials(x, orders), 100 * tol),
            ("grad", lambda x, **k: g.grad(x, **k), lambda x: s.grad(x), 100 * tol),
        ]
        for what, dev, cpu, t in cases:
            host = dev(xr)
            # Device points, numpy out.
            _same(dev(dx), host, f"{dtype} {what}: device points")
            # Device points, results kept on the device.
            kept = dev(dx, keep_on_device=True)
            gpu.synchronize()
            assert isinstance(kept, gpu.DeviceArray)
            assert kept.shape == host.shape and kept.device_dtype == np.dtype(dtype)
            _same(kept.to_numpy().astype(np.float64), host, f"{dtype} {what}: kept")
            # Host points, results kept on the device.
            _same(dev(xr, keep_on_device=True).to_numpy().astype(np.float64), host, f"{what}: host in")
            _close(host, cpu(xr), t, f"{dtype} {what} vs CPU")
        # A grid kept on the device.
        ax = tuple(_rounded(a, dtype) for a in axes)
        kept = g.eval_grid(ax, nu=(0, 1, 0), keep_on_device=True)
        assert kept.shape == (3, 2, 4, 3)
        host = g.eval_grid(ax, nu=(0, 1, 0))
        _close(kept.to_numpy().astype(np.float64), host, tol, f"{dtype} grid kept")
        _close(host, s.eval_grid(ax, nu=(0, 1, 0)), 100 * tol, f"{dtype} grid vs CPU")
        # No partials: an empty result, on the device too.
        assert g.partials(dx, [], keep_on_device=True).shape == (4, 10, 0, 3)
        assert g.partials(dx, []).shape == (4, 10, 0, 3)
        # Out-of-domain points under "raise": checked on the host.
        with pytest.raises(bsfit.FitError):
            g(dx, extrapolate="raise", keep_on_device=True)
        inside = gpu.to_device([[0.5, 0.5, 0.5]], dtype=dtype)
        _same(g(inside, extrapolate="raise"), g(np.array([[0.5, 0.5, 0.5]]), extrapolate="raise"), "raise")


@needs_gpu
def test_results_kept_on_device_feed_the_next_fit():
    rng = np.random.default_rng(7)
    x = np.linspace(0.0, 3.0, 8)
    y = np.linspace(-1.0, 1.0, 6)
    values = rng.uniform(-1, 1, (8, 6, 2))
    s = bsfit.TensorSpline((x, y), values)
    # Resample on another grid inside the domain, on the device, and refit there.
    gx, gy = np.linspace(0.0, 3.0, 5), np.linspace(-1.0, 1.0, 7)
    sites = np.stack(np.meshgrid(gx, gy, indexing="ij"), axis=-1)
    xi = rng.uniform(-0.5, 3.5, (30, 2))
    for dtype in _dtypes():
        tol = _tol(dtype)
        g = gpu.GpuSpline(s, dtype=dtype)
        samples = g(gpu.to_device(sites, dtype=dtype), keep_on_device=True)
        assert samples.shape == (5, 7, 2)
        f = gpu.GpuFitter((gx, gy), dtype=dtype)
        refit = f.fit(samples)
        assert refit.value_shape == (2,) and refit.device_dtype == np.dtype(dtype)
        host_samples = samples.to_numpy().astype(np.float64)
        from_host = f.fit(host_samples)
        xr = _rounded(xi, dtype)
        _same(refit(xr), from_host(xr), f"{dtype} device fit vs host-path fit")
        cpu = bsfit.Fitter((gx, gy)).fit(host_samples)
        _close(refit(xr), cpu(xr), 10 * tol, f"{dtype} device fit vs CPU")
        _close(refit.grad(xr), cpu.grad(xr), 1000 * tol, f"{dtype} device fit grad vs CPU")
    # Complex values through the device.
    c = gpu.to_device((1 + 1j) * np.add.outer(gx, gy), dtype=np.float32)
    fc = gpu.GpuFitter((gx, gy), dtype=np.float32).fit(c)
    want = bsfit.TensorSpline((gx, gy), (1 + 1j) * np.add.outer(gx, gy))
    pts = _rounded(xi[:5], np.float32)
    got = fc(pts)
    assert got.dtype == np.complex128
    _close(got.real, want(pts).real, 1e-5, "complex real")
    _close(got.imag, want(pts).imag, 1e-5, "complex imag")
    kept = fc(gpu.to_device(pts, dtype=np.float32), keep_on_device=True)
    assert kept.shape == (5,) and kept.dtype == np.complex64
    _close(kept.to_numpy().astype(np.complex128), got, 1e-6, "complex kept")


@needs_gpu
def test_device_values_that_are_not_finite_are_refused():
    x = np.linspace(0.0, 2.0, 6)
    y = np.linspace(0.0, 1.0, 5)
    values = np.add.outer(x, y)
    for dtype in _dtypes():
        f = gpu.GpuFitter((x, y), dtype=dtype)
        good = f.fit(gpu.to_device(values, dtype=dtype))
        for bad in (np.nan, np.inf, -np.inf):
            v = values.copy()
            v[4, 1] = bad
            v[5, 0] = np.nan
            with pytest.raises(ValueError, match=r"\[4, 1\]"):
                f.fit(gpu.to_device(v, dtype=dtype))
        # The spline of the last good fit is untouched.
        _close(good(np.array([[1.0, 0.5]])), np.array([1.5]), 10 * _tol(dtype), f"{dtype} good fit")


@needs_gpu
def test_device_arrays_that_do_not_fit_are_refused():
    x = np.linspace(0.0, 2.0, 6)
    s = bsfit.TensorSpline((x, x), np.add.outer(x, x))
    g32 = gpu.GpuSpline(s, dtype=np.float32)
    f32 = gpu.GpuFitter((x, x), dtype=np.float32)
    with pytest.raises(ValueError, match="Shapes"):
        g32(gpu.to_device(np.zeros((4, 3)), dtype=np.float32))
    with pytest.raises(ValueError, match="Shapes"):
        g32(gpu.to_device(1.0, dtype=np.float32))
    with pytest.raises(TypeError, match="complex"):
        g32(gpu.to_device(np.zeros((2, 2), complex), dtype=np.float32))
    with pytest.raises(ValueError, match="shape"):
        f32.fit(gpu.to_device(np.zeros((6, 5)), dtype=np.float32))
    # A plan whose axis takes explicit end values fits host values only.
    fe = gpu.GpuFitter((x, x), bc_type=(None, ([(1, 0.5)], [(2, -1.0)])), dtype=np.float32)
    with pytest.raises(bsfit.FitError):
        fe.fit(gpu.to_device(np.zeros((6, 6)), dtype=np.float32))
    if gpu.supports_float64():
        p64 = gpu.to_device(np.zeros((3, 2)), dtype=np.float64)
        with pytest.raises(TypeError, match="float64 DeviceArray for a float32 GpuSpline"):
            g32(p64)
        with pytest.raises(TypeError, match="float64 DeviceArray for a float32 GpuFitter"):
            f32.fit(gpu.to_device(np.zeros((6, 6)), dtype=np.float64))
        g64 = gpu.GpuSpline(s, dtype=np.float64)
        with pytest.raises(TypeError, match="float32 DeviceArray for a float64 GpuSpline"):
            g64(gpu.to_device(np.zeros((3, 2)), dtype=np.float32), keep_on_device=True)
        # The binding checks the precision itself too.
        with pytest.raises(TypeError, match="float64 device array"):
            g32._g.evaluate_device(p64._a, [(0, 0)])
    # The raw array: wrong lengths.
    a = _bsfit._GpuArray(np.zeros(4), "float32")
    assert len(a) == 4 and a.dtype == "float32"
    a.write(np.arange(4.0))
    _same(a.to_numpy(), np.arange(4.0), "write")
    with pytest.raises(bsfit.FitError, match="elements"):
        a.write(np.zeros(5))
    with pytest.raises(bsfit.FitError, match="whole number"):
        g32._g.evaluate_device(_bsfit._GpuArray(np.zeros(5), "float32"), [(0, 0)])
    with pytest.raises(bsfit.FitError, match="length"):
        f32._plans.clear()
        plan = _bsfit._GpuFitter(f32._f, [], "float32")
        plan.fit_device(_bsfit._GpuArray(np.zeros(35), "float32"))
    with pytest.raises(bsfit.FitError):
        _bsfit._GpuArray(np.zeros(2), "float16")
