"""bsfit on the GPU (wgpu: Vulkan, Metal, DX12; lavapipe on CPU-only hosts).

* :class:`GpuFitter` -- the fit of :class:`bsfit.Fitter` on the device:
  every boundary condition (scipy's ``bc_type``), scalar, vector and complex
  values; each :meth:`GpuFitter.fit` uploads the values, solves on the
  device and returns a :class:`GpuSpline` whose coefficients stay there.
* :class:`GpuSpline` -- a spline resident on the device, from a fit or
  uploaded from a :class:`bsfit.TensorSpline`; called like it (numpy in,
  numpy out): values, partial derivatives, gradients and grids.
* :class:`DeviceArray` (:func:`to_device`) -- an array resident on the
  device: results optionally kept there for the next call. A
  :class:`GpuSpline` evaluates at the points of a :class:`DeviceArray` and,
  with ``keep_on_device=True``, returns its results as one (same shape as
  the numpy result); :meth:`GpuFitter.fit` takes its values from one.
  Nothing crosses host memory until :meth:`DeviceArray.to_numpy`.

``dtype`` is ``numpy.float64`` (needs an adapter with 64-bit shader
arithmetic, :func:`supports_float64`) or ``numpy.float32``: the precision
on the device (inputs and results are float64 arrays on the host; a
:class:`DeviceArray` must have the precision of the spline or plan it is
given to).

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

Results kept on the device feed the next call:

>>> if bsfit.gpu.available():
...     pts = bsfit.gpu.to_device([[1.0, 2.0], [0.5, 0.5]], dtype=np.float32)
...     vals = s(pts, keep_on_device=True)  # a DeviceArray of shape (2,)
...     print(vals.shape, np.round(vals.to_numpy(), 4).tolist())
... else:
...     print((2,), [3.0, 1.0])
(2,) [3.0, 1.0]
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

__all__ = [
    "DeviceArray",
    "GpuFitter",
    "GpuSpline",
    "available",
    "device_name",
    "supports_float64",
    "synchronize",
    "to_device",
]

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


def synchronize():
    """Waits until the device has finished all work submitted to it.

    :meth:`GpuFitter.fit` and calls with ``keep_on_device=True`` return
    once their work is queued; results read back to numpy (and
    :meth:`DeviceArray.to_numpy`) wait for it themselves. Call this to time
    device work, or to surface a device error at a known point.
    """
    _require_built()
    _bsfit._gpu_synchronize()


class DeviceArray:
    """An array resident on the GPU: points to evaluate at, evaluation
    results kept on the device, or grid values to fit.

    Parameters
    ----------
    array : array_like
        Real or complex data of any shape, uploaded once (rounded to
        ``dtype``; complex data as (real, imaginary) pairs).
    dtype : numpy dtype, optional
        ``float64`` (default) or ``float32``: the precision on the device.
        It must be the precision of the :class:`GpuSpline` or
        :class:`GpuFitter` the array is given to.

    :meth:`to_numpy` (and ``numpy.asarray``) copies it back, as an array of
    :attr:`dtype` and :attr:`shape`.
    """

    __slots__ = ("_a", "_shape", "_complex", "__weakref__")

    def __init__(self, array, dtype=np.float64):
        _require_built()
        name = _dtype_name(dtype)
        vals, is_complex = _as_values(array, "array")
        self._init(_bsfit._GpuArray(vals, name),
                   vals.shape[:-1] if is_complex else vals.shape, is_complex)

    def _init(self, a, shape, is_complex):
        self._a = a
        self._shape = tuple(int(n) for n in shape)
        self._complex = bool(is_complex)

    @classmethod
    def _wrap(cls, a, shape, is_complex):
        self = cls.__new__(cls)
        self._init(a, shape, is_complex)
        return self

    @property
    def shape(self):
        """The array's shape."""
        return self._shape

    @property
    def ndim(self):
        """Number of dimensions."""
        return len(self._shape)

    @property
    def size(self):
        """Number of elements (complex ones counted once)."""
        return int(np.prod(self._shape, dtype=np.int64))

    @property
    def dtype(self):
        """The element type on the device: float32 or float64 (complex64 or
        complex128 for complex data)."""
        real = self._a.dtype
        if self._complex:
            return np.dtype(np.complex64 if real == "float32" else np.complex128)
        return np.dtype(real)

    @property
    def device_dtype(self):
        """The precision on the device: float32 or float64."""
        return np.dtype(self._a.dtype)

    def __len__(self):
        if not self._shape:
            raise TypeError("len() of a 0-d DeviceArray")
        return self._shape[0]

    def to_numpy(self):
        """A copy on the host (after all submitted work), of :attr:`dtype`
        and :attr:`shape`."""
        out = self._a.to_numpy()
        if self._complex:
            out = _unpair(out.reshape(self._shape + (2,)))
        else:
            out = out.reshape(self._shape)
        return out.astype(self.dtype, copy=False)

    def __array__(self, dtype=None, copy=None):
        if copy is False:
            raise ValueError("a DeviceArray cannot be viewed without a copy to the host")
        out = self.to_numpy()
        return out if dtype is None else out.astype(dtype, copy=False)

    def __repr__(self):
        return f"DeviceArray(shape={self._shape}, dtype={self.dtype.name})"


def to_device(array, dtype=np.float64):
    """``array`` uploaded to the GPU: :class:`DeviceArray` (``dtype``:
    float32 or float64, the precision on the device)."""
    return DeviceArray(array, dtype)


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

    def _device_points(self, xi):
        """``(lead, points)``: the leading shape and the device array of
        points of ``xi`` (a :class:`DeviceArray`, or host points uploaded)."""
        if isinstance(xi, DeviceArray):
            if xi._complex:
                raise TypeError("xi must be real, got a complex DeviceArray")
            if xi.device_dtype != self.device_dtype:
                raise TypeError(
                    f"xi is a {xi.device_dtype.name} DeviceArray for a "
                    f"{self.device_dtype.name} GpuSpline"
                )
            if xi.ndim == 0 or xi.shape[-1] != self._ndim:
                raise ValueError(f"Shapes: xi.shape={xi.shape} and ndim={self._ndim}")
            return xi.shape[:-1], xi._a
        lead, pts = self._points(xi)
        return lead, _bsfit._GpuArray(pts, self._g.dtype)

    def _run(self, xi, orders, extrapolate, keep_on_device, tail=()):
        """``orders`` at ``xi``; a numpy array or (``keep_on_device``) a
        :class:`DeviceArray` of shape ``lead + tail + value_shape``."""
        policy = self._policy(extrapolate)
        if not keep_on_device and not isinstance(xi, DeviceArray):
            lead, pts = self._points(xi)
            return self._finish(self._g.evaluate(pts, orders, policy), lead, tail)
        lead, pts = self._device_points(xi)
        out = self._g.evaluate_device(pts, orders, policy)
        if keep_on_device:
            return DeviceArray._wrap(out, tuple(lead) + tuple(tail) + self._vshape, self._complex)
        raw = tuple(self._g.value_shape)
        return self._finish(out.to_numpy().reshape((-1, len(orders)) + raw), lead, tail)

    def __call__(self, xi, nu=None, extrapolate=None, keep_on_device=False):
        """Evaluate on the device: as :meth:`bsfit.TensorSpline.__call__`.

        ``xi`` may be a :class:`DeviceArray` of points (this spline's
        precision, last axis ``ndim``); ``keep_on_device=True`` returns the
        result as a :class:`DeviceArray` of the numpy result's shape."""
        return self._run(xi, [_as_orders(nu, self._ndim)], extrapolate, keep_on_device)

    def partials(self, xi, orders, extrapolate=None, keep_on_device=False):
        """Several partials per point (at most 64): as
        :meth:`bsfit.TensorSpline.partials`; ``xi`` and ``keep_on_device``
        as for :meth:`__call__`."""
        orders = [_as_orders(o, self._ndim) for o in orders]
        if not orders:
            lead = xi.shape[:-1] if isinstance(xi, DeviceArray) else self._points(xi)[0]
            empty = np.empty(tuple(lead) + (0,) + self._vshape, dtype=self.dtype)
            return DeviceArray(empty, self.device_dtype) if keep_on_device else empty
        return self._run(xi, orders, extrapolate, keep_on_device, (len(orders),))

    def grad(self, xi, extrapolate=None, keep_on_device=False):
        """Gradient at each point: as :meth:`bsfit.TensorSpline.grad`;
        ``xi`` and ``keep_on_device`` as for :meth:`__call__`."""
        orders = [tuple(int(j == k) for j in range(self._ndim)) for k in range(self._ndim)]
        return self.partials(xi, orders, extrapolate, keep_on_device)

    def eval_grid(self, axes, nu=None, extrapolate=None, keep_on_device=False):
        """Values (or one partial) on a grid: as
        :meth:`bsfit.TensorSpline.eval_grid` (the grid's points are
        evaluated on the device); ``keep_on_device=True`` returns a
        :class:`DeviceArray` of the grid's shape (the grid's points are
        expanded on the host and uploaded)."""
        grid = _as_points(axes)
        if len(grid) != self._ndim:
            raise ValueError(f"eval_grid: {len(grid)} coordinate arrays for ndim = {self._ndim}")
        orders = [_as_orders(nu, self._ndim)]
        shape = tuple(len(a) for a in grid)
        if keep_on_device:
            pts = np.stack(np.meshgrid(*grid, indexing="ij"), axis=-1)
            return self._run(pts, orders, extrapolate, True)
        out = self._g.evaluate(grid, orders, self._policy(extrapolate))
        return self._finish(out, shape)


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
        the device). The device plan of each value shape is built once.

        ``values`` may be a :class:`DeviceArray` (this plan's precision, e.g.
        the results of a :class:`GpuSpline` kept on the device): fitted
        without a trip through host memory (checked for finiteness on the
        device: ``ValueError`` names the first value that is not finite).
        A ``bc_type`` with explicit end values takes host values only."""
        nd = len(self._shape)
        on_device = isinstance(values, DeviceArray)
        if on_device:
            if values.device_dtype.name != self._dtype:
                raise TypeError(
                    f"values is a {values.device_dtype.name} DeviceArray for a "
                    f"{self._dtype} GpuFitter"
                )
            shape, is_complex = values.shape, values._complex
        else:
            vals, is_complex = _as_values(values, "values")
            shape = vals.shape[: vals.ndim - is_complex]
        if len(shape) < nd or tuple(shape[:nd]) != self._shape:
            raise ValueError(f"values of shape {shape} for a grid of shape {self._shape}")
        vshape = tuple(shape[nd:]) + ((2,) if is_complex else ())
        plan = self._plans.get(vshape)
        if plan is None:
            plan = _bsfit._GpuFitter(self._f, list(vshape), self._dtype)
            self._plans[vshape] = plan
        if on_device:
            return GpuSpline._wrap(plan.fit_device(values._a), is_complex)
        ends = None
        if self._bc_type is not None:
            _, ends = _parse_bc(self._bc_type, self._shape, vshape[: len(vshape) - is_complex],
                                is_complex)
        return GpuSpline._wrap(plan.fit(vals, ends), is_complex)
