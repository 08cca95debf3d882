"""bsfit on the GPU (wgpu: Vulkan, Metal, DX12; lavapipe on CPU-only hosts).

* :class:`GpuFitter` -- the fit of :class:`bsfit.Fitter` on the device:
  every boundary condition (scipy's ``bc_type``), scalar, vector and complex
  values; each :meth:`GpuFitter.fit` uploads the values, solves on the
  device and returns a :class:`GpuSpline` whose coefficients stay there.
* :class:`GpuSpline` -- a spline resident on the device, from a fit or
  uploaded from a :class:`bsfit.TensorSpline`; called like it (numpy in,
  numpy out): values, partial derivatives, gradients and grids.

``dtype`` is ``numpy.float64`` (needs an adapter with 64-bit shader
arithmetic, :func:`supports_float64`) or ``numpy.float32``: the precision
on the device (inputs and results are float64 arrays on the host).

The device is opened on first use, once per process. In a build without
GPU support every function and constructor here raises
``NotImplementedError("bsfit was built without GPU support")``;
:func:`available` tells whether a device can be used.

Examples
--------
>>> import numpy as np, bsfit, bsfit.gpu
>>> x = np.linspace(0.0, 3.0, 7)
>>> if bsfit.gpu.available():
...     f = bsfit.gpu.GpuFitter((x, x), bc_type="natural", dtype=np.float32)
...     s = f.fit(np.add.outer(x, x))
...     print(round(float(s([1.0, 2.0])), 4))
... else:
...     print(3.0)
3.0
"""

from __future__ import annotations

import numpy as np

from . import _bsfit
from . import (
    TensorSpline,
    _as_orders,
    _as_points,
    _as_real,
    _as_values,
    _parse_bc,
    _policy,
    _unpair,
)

__all__ = ["GpuFitter", "GpuSpline", "available", "device_name", "supports_float64"]

_NO_GPU = "bsfit was built without GPU support"


def _require_built():
    if not _bsfit._gpu_built():
        raise NotImplementedError(_NO_GPU)


def _dtype_name(dtype):
    name = np.dtype(dtype).name
    if name not in ("float32", "float64"):
        raise TypeError(f"dtype must be float32 or float64, got {name}")
    return name


def available():
    """Whether a GPU can be used: built with GPU support and an adapter found."""
    if not _bsfit._gpu_built():
        return False
    try:
        _bsfit._gpu_device_name()
    except RuntimeError:
        return False
    return True


def device_name():
    """The adapter's name (opens the device). RuntimeError without one."""
    _require_built()
    return _bsfit._gpu_device_name()


def supports_float64():
    """Whether the device computes in float64."""
    _require_built()
    return _bsfit._gpu_supports_f64()


class GpuSpline:
    """A cubic tensor-product spline resident on the GPU.

    Parameters
    ----------
    spline : bsfit.TensorSpline
        Uploaded once (knots and coefficients rounded to ``dtype``), with
        its periodic axes, value shape and ``extrapolate``.
    dtype : numpy dtype, optional
        ``float64`` (default) or ``float32``: the precision on the device.
    """

    __slots__ = ("_g", "_complex", "_extrapolate", "_ndim", "_vshape", "__weakref__")

    def __init__(self, spline, dtype=np.float64):
        _require_built()
        if not isinstance(spline, TensorSpline):
            raise TypeError(f"spline must be a bsfit.TensorSpline, got {type(spline).__name__}")
        g = _bsfit._GpuSpline.upload(spline._s, _dtype_name(dtype))
        self._init(g, spline._complex, spline.extrapolate)

    def _init(self, g, is_complex, extrapolate):
        self._g = g
        self._complex = is_complex
        self._extrapolate = extrapolate
        self._ndim = g.ndim
        vshape = tuple(g.value_shape)
        self._vshape = vshape[:-1] if is_complex else vshape

    @classmethod
    def _wrap(cls, g, is_complex, extrapolate=True):
        self = cls.__new__(cls)
        self._init(g, is_complex, extrapolate)
        return self

    @property
    def ndim(self):
        """Number of dimensions."""
        return self._ndim

    @property
    def value_shape(self):
        """Shape of the value at one point (``()`` for scalar values)."""
        return self._vshape

    @property
    def dtype(self):
        """The dtype of results on the host (float64, complex128 for complex values)."""
        return np.dtype(np.complex128 if self._complex else np.float64)

    @property
    def device_dtype(self):
        """The precision on the device: float32 or float64."""
        return np.dtype(self._g.dtype)

    def _points(self, xi):
        xi = _as_real(xi, "xi")
        if xi.ndim == 0 or xi.shape[-1] != self._ndim:
            raise ValueError(f"Shapes: xi.shape={xi.shape} and ndim={self._ndim}")
        return xi.shape[:-1], xi.reshape(-1, self._ndim)

    def _finish(self, out, lead, tail=()):
        if self._complex:
            out = _unpair(out)
        return out.reshape(tuple(lead) + tuple(tail) + self._vshape)

    def _policy(self, extrapolate):
        if extrapolate is None:
            extrapolate = self._extrapolate
        return _policy(extrapolate, self._ndim)

    def __call__(self, xi, nu=None, extrapolate=None):
        """Evaluate on the device: as :meth:`bsfit.TensorSpline.__call__`."""
        lead, pts = self._points(xi)
        out = self._g.evaluate(pts, [_as_orders(nu, self._ndim)], self._policy(extrapolate))
        return self._finish(out, lead)

    def partials(self, xi, orders, extrapolate=None):
        """Several partials per point (at most 64): as
        :meth:`bsfit.TensorSpline.partials`."""
        orders = [_as_orders(o, self._ndim) for o in orders]
        lead, pts = self._points(xi)
        if not orders:
            return np.empty(tuple(lead) + (0,) + self._vshape, dtype=self.dtype)
        out = self._g.evaluate(pts, orders, self._policy(extrapolate))
        return self._finish(out, lead, (len(orders),))

    def grad(self, xi, extrapolate=None):
        """Gradient at each point: as :meth:`bsfit.TensorSpline.grad`."""
        orders = [tuple(int(j == k) for j in range(self._ndim)) for k in range(self._ndim)]
        return self.partials(xi, orders, extrapolate)

    def eval_grid(self, axes, nu=None, extrapolate=None):
        """Values (or one partial) on a grid: as
        :meth:`bsfit.TensorSpline.eval_grid` (the grid's points are
        evaluated on the device)."""
        grid = _as_points(axes)
        if len(grid) != self._ndim:
            raise ValueError(f"eval_grid: {len(grid)} coordinate arrays for ndim = {self._ndim}")
        out = self._g.evaluate(grid, [_as_orders(nu, self._ndim)], self._policy(extrapolate))
        return self._finish(out, tuple(len(a) for a in grid))


class GpuFitter:
    """A fit plan on the GPU for a fixed grid.

    Parameters
    ----------
    points : tuple of ndarray of float
        The grid's sites per axis, as for :class:`bsfit.TensorSpline`.
    bc_type : optional
        scipy's boundary conditions, as for :class:`bsfit.TensorSpline`
        (explicit end values are used by every fit).
    dtype : numpy dtype, optional
        ``float64`` (default) or ``float32``: the precision on the device.
    """

    __slots__ = ("_f", "_shape", "_bc_type", "_dtype", "_plans", "__weakref__")

    def __init__(self, points, bc_type=None, dtype=np.float64):
        _require_built()
        axes = _as_points(points)
        self._shape = tuple(len(a) for a in axes)
        bc, _ = _parse_bc(bc_type, self._shape, values=False)
        self._f = _bsfit._Fitter(axes, bc)
        self._bc_type = bc_type
        self._dtype = _dtype_name(dtype)
        self._plans = {}

    @property
    def shape(self):
        """Sites per axis."""
        return self._shape

    @property
    def ndim(self):
        """Number of dimensions."""
        return len(self._shape)

    def fit(self, values):
        """Fit ``values`` (shape ``shape + value_shape``, real or complex) on
        the device; returns a :class:`GpuSpline` (its coefficients stay on
        the device). The device plan of each value shape is built once."""
        vals, is_complex = _as_values(values, "values")
        nd = len(self._shape)
        if vals.ndim < nd or vals.shape[:nd] != self._shape:
            raise ValueError(f"values of shape {vals.shape} for a grid of shape {self._shape}")
        vshape = vals.shape[nd:]
        plan = self._plans.get(vshape)
        if plan is None:
            plan = _bsfit._GpuFitter(self._f, list(vshape), self._dtype)
            self._plans[vshape] = plan
        ends = None
        if self._bc_type is not None:
            _, ends = _parse_bc(self._bc_type, self._shape, vshape[: len(vshape) - is_complex],
                                is_complex)
        return GpuSpline._wrap(plan.fit(vals, ends), is_complex)
