"""bsfit: exact cubic B-spline fitting on tensor-product grids.

A Python front end to the Rust library ``bsfit``, speaking scipy's vocabulary:

* :class:`TensorSpline` -- the interpolating cubic tensor-product spline of
  values on a rectilinear grid in 1 to 6 dimensions (non-uniform axes,
  not-a-knot end conditions: exactly ``scipy.interpolate.make_interp_spline(x,
  y, k=3)`` along every axis). Called like ``scipy.interpolate.NdBSpline``.
* :func:`make_ndbspl` -- drop-in for ``scipy.interpolate._ndbspline.make_ndbspl``
  with ``k=3`` (exact direct solve, no iterative solver).
* :class:`Fitter` -- a fit plan for refitting new values on a fixed grid.
* :func:`spline_filter` -- ``scipy.ndimage.spline_filter`` for 3-D arrays,
  ``order=3``, ``mode='mirror'`` or ``'grid-wrap'``; :func:`prefilter` is the
  same solve with a boundary per axis, including bsfit's ``'zero'`` boundary.

Errors on bad input are :class:`FitError` (a subclass of :class:`ValueError`)
carrying the Rust library's message, or :class:`TypeError` for wrong types.
Fits and batch evaluations release the GIL and run in parallel; splines are
immutable and can be used from many threads at once.

Examples
--------
>>> import numpy as np, bsfit
>>> x = np.array([0.0, 0.5, 1.5, 2.0, 3.5]); y = np.array([-1.0, 0.0, 0.5, 1.0])
>>> values = x[:, None] ** 2 * y[None, :]          # x^2 y: reproduced exactly
>>> s = bsfit.TensorSpline((x, y), values)
>>> round(float(s([1.2, 0.3])), 12)                   # 1.2^2 * 0.3
0.432
>>> round(float(s([1.2, 0.3], nu=(1, 1))), 12)        # d2/dxdy = 2x
2.4
"""

from __future__ import annotations

import numpy as np

from . import _bsfit, _sensitivity
from ._bsfit import FitError

__all__ = [
    "FitError",
    "Fitter",
    "MAX_DIM",
    "TensorSpline",
    "make_ndbspl",
    "prefilter",
    "release_cached_memory",
    "spline_filter",
    "__version__",
]

__version__: str = _bsfit.__version__
#: Largest number of dimensions a :class:`TensorSpline` supports.
MAX_DIM: int = _bsfit.MAX_DIM


# --------------------------------------------------------------------------
# Input conversion (dtype and shape vocabulary only; the Rust side validates
# the numbers and reports what is wrong with them).
# --------------------------------------------------------------------------


def _as_real(a, name, dtype=np.float64):
    """``a`` as an ndarray of ``dtype`` (no copy when it already is one).

    Complex, string, datetime and non-numeric object arrays raise TypeError.
    """
    arr = a if isinstance(a, np.ndarray) else np.asarray(a)
    kind = arr.dtype.kind
    if kind == "c":
        raise TypeError(f"{name} must be real, got complex dtype {arr.dtype}")
    if kind == "O":
        try:
            return arr.astype(dtype)
        except (TypeError, ValueError) as e:
            raise TypeError(
                f"{name}: object array not convertible to {np.dtype(dtype).name} ({e})"
            ) from None
    if kind not in "biuf":
        raise TypeError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
    return np.asarray(arr, dtype=dtype)


def _as_points(points):
    """A list of 1-D float64 arrays, one per axis."""
    if isinstance(points, np.ndarray) or not hasattr(points, "__len__"):
        raise TypeError(
            "points must be a tuple of 1-D arrays, one per axis "
            "(for a single axis x, pass (x,))"
        )
    axes = []
    for i, p in enumerate(points):
        a = _as_real(p, f"points[{i}]")
        if a.ndim != 1:
            raise ValueError(f"points[{i}] must be 1-D, got shape {a.shape}")
        axes.append(a)
    return axes


def _as_orders(nu, ndim):
    """Derivative orders as a list of ints, or None when all are zero."""
    if nu is None:
        return None
    arr = np.asarray(nu)
    if arr.dtype.kind not in "iub":
        if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise TypeError(f"derivative orders must be integers, got nu={nu!r}")
    if arr.ndim != 1 or arr.shape[0] != ndim:
        raise ValueError(f"invalid number of derivative orders nu={nu!r} for ndim = {ndim}")
    if np.any(arr < 0):
        raise ValueError(f"derivative orders must be non-negative, got nu={nu!r}")
    orders = [int(v) for v in arr]
    return orders if any(orders) else None


_AXIS_NAMES = ("not-a-knot", "natural", "clamped", "periodic")


def _is_end(e):
    """Whether ``e`` is one end in scipy's spelling: None, a name, or a list
    of ``(order, value)`` pairs."""
    if e is None or isinstance(e, str):
        return True
    try:
        return all(len(p) == 2 and not isinstance(p, str) for p in e)
    except TypeError:
        return False


def _is_axis(a):
    """Whether ``a`` is one axis' ``bc_type``: a name or a ``(left, right)`` pair."""
    if isinstance(a, str):
        return True
    try:
        return len(a) == 2 and all(_is_end(e) for e in a)
    except TypeError:
        return False


def _parse_bc(bc_type, shape):
    """scipy's ``bc_type`` spellings -> per-axis ``(left, right)`` names for
    the native layer and the explicit end arrays ``(left, right)``."""
    ndim = len(shape)
    if bc_type is None:
        return None, (None, None)
    if isinstance(bc_type, str) or (
        not (len(bc_type) == ndim and all(_is_axis(a) for a in bc_type))
        and _is_axis(bc_type)
    ):
        per_axis = [bc_type] * ndim
    else:
        per_axis = list(bc_type)
        if len(per_axis) != ndim:
            raise ValueError(
                f"bc_type has {len(per_axis)} entries for {ndim} axes "
                "(give one bc_type for all axes or one per axis)"
            )
    names, ends = [], [None, None]
    for axis, a in enumerate(per_axis):
        if a is None:
            a = "not-a-knot"
        if isinstance(a, str):
            if a not in _AXIS_NAMES:
                raise ValueError(f"axis {axis}: unknown bc_type {a!r}; expected one of {_AXIS_NAMES}")
            names.append((a, a))
            continue
        if not _is_axis(a):
            raise ValueError(f"axis {axis}: bc_type {a!r} is not a name or a (left, right) pair")
        pair = []
        for side, e in enumerate(a):
            if e is None:
                e = "not-a-knot"
            if isinstance(e, str):
                if e not in ("not-a-knot", "natural", "clamped"):
                    raise ValueError(f"axis {axis}: unknown end condition {e!r}")
                pair.append(e)
                continue
            e = list(e)
            if len(e) != 1:
                raise ValueError(
                    f"axis {axis}: {len(e)} conditions at the {('left', 'right')[side]} end; "
                    "one (order, value) per end is supported"
                )
            order, value = e[0]
            if order not in (1, 2):
                raise ValueError(f"axis {axis}: derivative order {order!r}; 1 or 2 are supported")
            other = tuple(n for k, n in enumerate(shape) if k != axis)
            v = _as_real(value, "bc_type value")
            if v.shape != other:
                try:
                    v = np.broadcast_to(v, other)
                except ValueError:
                    raise ValueError(
                        f"axis {axis}: {('left', 'right')[side]} end values of shape {v.shape}; "
                        f"expected shape {other} (the other axes' sites)"
                    ) from None
            ends[side] = np.ascontiguousarray(v, dtype=np.float64)
            pair.append(f"d{order}")
        names.append(tuple(pair))
    return names, tuple(ends)


def _readonly(a):
    a.flags.writeable = False
    return a


# --------------------------------------------------------------------------
# TensorSpline
# --------------------------------------------------------------------------


class TensorSpline:
    """Interpolating cubic tensor-product B-spline on a rectilinear grid.

    Fits the cubic spline through ``values`` on the grid
    ``points[0] x points[1] x ... x points[ndim-1]`` with not-a-knot end
    conditions along every axis: the knots of each axis are those of
    ``scipy.interpolate.make_interp_spline(points[k], ..., k=3)``, and the
    coefficients equal scipy's separable fit to rounding. The solve is exact
    (banded LU per axis, factored once), in parallel, with the GIL released.

    Parameters
    ----------
    points : tuple of ndarray of float, shapes (m1,), ..., (mN,)
        Strictly increasing sites of each axis, at least 4 per axis,
        1 <= N <= 6. Uniform or not.
    values : array_like, shape (m1, ..., mN)
        Values on the grid, any memory layout and any real dtype (converted
        to float64; a C-contiguous float64 array is used without a copy).
    bc_type : optional
        End conditions, in the spellings of
        ``scipy.interpolate.make_interp_spline``: ``"not-a-knot"`` (the
        default), ``"natural"``, ``"clamped"``, ``"periodic"``, or a
        ``(left, right)`` pair whose ends are ``"natural"``, ``"clamped"`` or
        ``[(order, value)]`` with order 1 or 2. One entry applies to every
        axis; a sequence with one entry per axis sets each axis (in 2-D, two
        names are read per axis: write a pair of names for both axes as
        ``[(l, r), (l, r)]``). Explicit ``value`` s in N-D are arrays over the
        other axes' sites (shape ``points`` without that axis; scalars
        broadcast), allowed on one axis. Natural, clamped, explicit and
        periodic axes have ``m + 2`` coefficients; periodic axes need equal
        values at both ends and wrap on evaluation.
    extrapolate : bool, optional
        Default of :meth:`__call__`: whether points outside the domain get
        the boundary polynomial pieces (True, the default) or NaN (periodic
        axes always wrap).

    Attributes
    ----------
    t : tuple of ndarray
        Knot vector of each axis (coefficients + 4 knots, as scipy chooses
        them for the axis' ``bc_type``), read-only.
    c : ndarray
        B-spline coefficients, read-only (``m_k`` or ``m_k + 2`` per axis).
    periodic : tuple of bool
        Which axes are periodic.
    k : int
        The degree, 3.
    extrapolate : bool
        Default extrapolation mode.

    Raises
    ------
    FitError
        (a ValueError) for too few sites, non-increasing or non-finite
        sites, NaN or infinite values, a shape that does not match the
        points, or more than 6 dimensions.
    TypeError
        For complex, string or otherwise non-numeric input.

    See Also
    --------
    make_ndbspl : the same fit under scipy's name.
    Fitter : refits on a fixed grid.

    Notes
    -----
    A spline is immutable; one instance may be evaluated from many threads
    at once. It pickles as its knots and coefficients (validated on load).
    Fits and batch evaluations release the GIL: other threads must not write
    to the arrays passed in until the call returns.

    Examples
    --------
    >>> import numpy as np, bsfit
    >>> rng = np.random.default_rng(0)
    >>> pts = tuple(np.sort(rng.uniform(0, 1, n)) for n in (8, 7, 6))
    >>> vals = rng.normal(size=(8, 7, 6))
    >>> s = bsfit.TensorSpline(pts, vals)
    >>> grid = np.stack(np.meshgrid(*pts, indexing="ij"), axis=-1)
    >>> bool(np.allclose(s(grid), vals))
    True
    """

    __slots__ = ("_s", "_t", "_c", "extrapolate", "__weakref__")

    k = 3

    def __init__(self, points, values, bc_type=None, *, extrapolate=True):
        axes = _as_points(points)
        vals = _as_real(values, "values")
        bc, ends = _parse_bc(bc_type, tuple(len(a) for a in axes))
        self._init(_bsfit._Spline.fit(axes, vals, bc, ends), extrapolate)

    def _init(self, native, extrapolate):
        self._s = native
        self._t = None
        self._c = None
        self.extrapolate = bool(extrapolate)

    @classmethod
    def _wrap(cls, native, extrapolate=True):
        self = cls.__new__(cls)
        self._init(native, extrapolate)
        return self

    @classmethod
    def from_parts(cls, t, c, *, extrapolate=True, periodic=None):
        """A spline from knot vectors and coefficients (like ``NdBSpline(t, c, 3)``).

        Parameters
        ----------
        t : tuple of 1-D array_like
            Clamped cubic knot vectors, one per axis: ``n_k + 4 >= 8``
            finite knots, four equal knots at each end, strictly increasing
            in between.
        c : array_like, shape (n_1, ..., n_N)
            Finite coefficients.
        extrapolate : bool, optional
            Default extrapolation mode.
        periodic : sequence of bool, optional
            Axes whose coordinates evaluation wraps into the domain (their
            knots need not be clamped). Default: none.

        Raises
        ------
        FitError
            If the knots and coefficients are inconsistent.
        """
        knots = _as_points(t)
        coefs = _as_real(c, "c")
        if periodic is not None:
            periodic = [bool(p) for p in periodic]
        return cls._wrap(_bsfit._Spline.from_parts(knots, coefs, periodic), extrapolate)

    # -- attributes ---------------------------------------------------------

    @property
    def t(self):
        """Knot vectors, one read-only array per axis."""
        if self._t is None:
            self._t = tuple(_readonly(self._s.knots(k)) for k in range(self._s.ndim))
        return self._t

    @property
    def c(self):
        """Coefficients: a read-only ndarray of the grid's shape (a view of the
        spline's own buffer, not a copy)."""
        if self._c is None:
            self._c = self._s.coefficients()
        return self._c

    @property
    def ndim(self):
        """Number of dimensions."""
        return self._s.ndim

    @property
    def periodic(self):
        """Per axis, whether it is periodic (evaluation wraps it)."""
        return tuple(self._s.periodic)

    @property
    def shape(self):
        """Grid shape (coefficients per axis)."""
        return tuple(self._s.shape)

    @property
    def domain(self):
        """``((lo_0, hi_0), ..., (lo_N, hi_N))``: the first and last site of each axis."""
        return tuple((float(t[3]), float(t[-4])) for t in self.t)

    # -- evaluation ---------------------------------------------------------

    def _points(self, xi):
        xi = _as_real(xi, "xi")
        ndim = self._s.ndim
        if xi.ndim == 0 or xi.shape[-1] != ndim:
            raise ValueError(f"Shapes: xi.shape={xi.shape} and ndim={ndim}")
        return xi.shape[:-1], np.ascontiguousarray(xi.reshape(-1, ndim))

    def __call__(self, xi, nu=None, extrapolate=None):
        """Evaluate the spline or one of its mixed partial derivatives.

        Parameters
        ----------
        xi : array_like, shape (..., ndim)
            Points, one per row.
        nu : sequence of int, length ndim, optional
            Derivative order along each axis (0 = value). Orders above 3 give 0.
        extrapolate : bool, optional
            Outside the domain: the boundary polynomial pieces (True) or NaN
            (False). Default: ``self.extrapolate``.

        Returns
        -------
        ndarray, shape (...)
            Same semantics as ``scipy.interpolate.NdBSpline.__call__``.
        """
        if extrapolate is None:
            extrapolate = self.extrapolate
        lead, pts = self._points(xi)
        orders = _as_orders(nu, self._s.ndim)
        return self._s.eval_many(pts, orders, bool(extrapolate)).reshape(lead)

    def grad(self, xi):
        """Gradient at each point.

        Parameters
        ----------
        xi : array_like, shape (..., ndim)

        Returns
        -------
        ndarray, shape (..., ndim)
            ``[d/dx_0, ..., d/dx_{ndim-1}]``; extrapolates outside the domain.
        """
        lead, pts = self._points(xi)
        d = self._s.ndim
        return self._s.grad_many(pts).reshape(lead + (d,))

    def hessian(self, xi):
        """Hessian at each point.

        Parameters
        ----------
        xi : array_like, shape (..., ndim)

        Returns
        -------
        ndarray, shape (..., ndim, ndim)
            ``H[..., i, j] = d2/dx_i dx_j`` (symmetric); extrapolates outside
            the domain.
        """
        lead, pts = self._points(xi)
        d = self._s.ndim
        return self._s.hessian_many(pts).reshape(lead + (d, d))

    # -- interop ------------------------------------------------------------

    def to_scipy(self):
        """The equivalent ``scipy.interpolate.NdBSpline(t, c, 3)`` (imports scipy).

        ``NdBSpline`` has no periodic extrapolation: on periodic axes it
        agrees with this spline inside the domain only."""
        from scipy.interpolate import NdBSpline

        return NdBSpline(
            tuple(np.array(t) for t in self.t),
            np.array(self.c),
            3,
            extrapolate=self.extrapolate,
        )

    def __reduce__(self):
        if any(self.periodic):
            return (_from_parts, (self.t, self.c, self.extrapolate, self.periodic))
        return (_from_parts, (self.t, self.c, self.extrapolate))

    def __eq__(self, other):
        if not isinstance(other, TensorSpline):
            return NotImplemented
        return self._s.equals(other._s) and self.extrapolate == other.extrapolate

    __hash__ = None

    def __repr__(self):
        dom = ", ".join(f"({lo:.6g}, {hi:.6g})" for lo, hi in self.domain)
        return f"TensorSpline(ndim={self.ndim}, shape={self.shape}, domain=[{dom}], k=3)"


def _from_parts(t, c, extrapolate=True, periodic=None):
    """Unpickling helper: validates the parts (see TensorSpline.from_parts)."""
    return TensorSpline.from_parts(t, c, extrapolate=extrapolate, periodic=periodic)


def make_ndbspl(points, values, k=3, *, solver=None, **solver_args):
    """Interpolating cubic spline on a regular grid: scipy's ``make_ndbspl``.

    Drop-in for ``scipy.interpolate._ndbspline.make_ndbspl(points, values,
    k=3)`` with not-a-knot end conditions along every axis. bsfit solves the
    collocation system exactly and separably, so ``solver`` and
    ``solver_args`` are accepted and ignored (scipy's default iterative
    solver is only approximate; this result equals scipy's direct solve).

    Parameters
    ----------
    points : tuple of ndarray of float, shapes (m1,), ..., (mN,)
        Strictly increasing sites, at least 4 per axis, 1 <= N <= 6
        (scipy also accepts descending sites; bsfit reports them as an error).
    values : array_like, shape (m1, ..., mN)
        Data on the grid (scipy's trailing batch dimensions are not supported).
    k : int or sequence of int, optional
        Spline degree: 3 only.

    Returns
    -------
    TensorSpline
        Evaluates like ``NdBSpline``; :meth:`TensorSpline.to_scipy` gives one.

    Raises
    ------
    ValueError
        For a degree other than 3, and as :class:`TensorSpline`.
    """
    del solver, solver_args
    ks = np.atleast_1d(np.asarray(k))
    if ks.dtype.kind not in "iu" or np.any(ks != 3):
        raise ValueError(f"bsfit fits cubic splines only (k=3), got k={k!r}")
    return TensorSpline(points, values)


# --------------------------------------------------------------------------
# Fitter
# --------------------------------------------------------------------------


class Fitter:
    """A fit plan for a fixed grid: factor once, refit many value arrays.

    Validates the sites and factors each axis' collocation matrix once, and
    keeps a workspace reused by every :meth:`fit` (a fit from a second thread
    while one is running uses a temporary workspace instead of waiting).

    Parameters
    ----------
    points : tuple of ndarray of float, shapes (m1,), ..., (mN,)
        As for :class:`TensorSpline`.
    bc_type : optional
        As for :class:`TensorSpline`; explicit end values are used by every fit.

    Examples
    --------
    >>> import numpy as np, bsfit
    >>> pts = (np.linspace(0, 1, 6), np.geomspace(1, 10, 5))
    >>> f = bsfit.Fitter(pts)
    >>> s = f.fit(np.ones((6, 5)))                  # a new TensorSpline
    >>> buf = np.empty(f.shape)
    >>> c = f.fit(np.zeros((6, 5)), out=buf)        # coefficients into buf
    >>> c is buf
    True
    """

    __slots__ = ("_f", "_points", "_bc_type", "__weakref__")

    def __init__(self, points, bc_type=None):
        axes = _as_points(points)
        bc, ends = _parse_bc(bc_type, tuple(len(a) for a in axes))
        self._f = _bsfit._Fitter(axes, bc, ends)
        self._points = tuple(_readonly(np.array(a)) for a in axes)
        self._bc_type = bc_type

    @property
    def points(self):
        """The grid's sites, one read-only array per axis."""
        return self._points

    @property
    def ndim(self):
        """Number of dimensions."""
        return self._f.ndim

    @property
    def shape(self):
        """Grid shape."""
        return tuple(self._f.shape)

    @property
    def coef_shape(self):
        """Shape of the coefficients (``m + 2`` on axes whose ``bc_type`` is
        not not-a-knot); the shape of ``out`` in :meth:`fit`."""
        return tuple(self._f.coef_shape)

    @property
    def t(self):
        """Knot vectors of the fitted splines, one read-only array per axis."""
        return tuple(_readonly(self._f.knots(k)) for k in range(self._f.ndim))

    def spline_from(self, c, *, extrapolate=True):
        """The spline on this grid's knots with coefficients ``c``.

        Parameters
        ----------
        c : array_like, shape ``self.coef_shape``
            Coefficients, e.g. filled by ``fit(values, out=c)`` (copied).
        extrapolate : bool, optional
            Default extrapolation mode of the spline.

        Returns
        -------
        TensorSpline

        Raises
        ------
        FitError
            For a wrong shape or a non-finite coefficient.
        """
        return TensorSpline._wrap(self._f.spline_from(_as_real(c, "c")), extrapolate)

    def fit(self, values, out=None):
        """Fit ``values`` on this grid.

        Parameters
        ----------
        values : array_like, shape ``self.shape``
            Any layout, any real dtype (converted to float64).
        out : ndarray, optional
            A writeable, C-contiguous float64 array of shape
            ``self.coef_shape`` that receives the coefficients (no
            allocation of the result).

        Returns
        -------
        TensorSpline or ndarray
            A new :class:`TensorSpline` when ``out`` is None; otherwise
            ``out`` itself, holding the coefficients (turn it into a spline
            with :meth:`spline_from`, or keep refitting into it).

        Raises
        ------
        FitError
            For non-finite values or a wrong shape.
        TypeError
            If ``out`` is not a float64 ndarray.
        ValueError
            If ``out`` is not C-contiguous and writeable, or overlaps ``values``.

        Notes
        -----
        The GIL is released while fitting: other Python threads must not
        write to ``values`` or touch ``out`` until the call returns.
        """
        vals = _as_real(values, "values")
        if out is None:
            return TensorSpline._wrap(self._f.fit(vals))
        if not isinstance(out, np.ndarray) or out.dtype != np.float64:
            raise TypeError("out must be a float64 ndarray")
        if not (out.flags.c_contiguous and out.flags.writeable):
            raise ValueError("out must be C-contiguous and writeable")
        if np.may_share_memory(vals, out):
            raise ValueError("out must not overlap values (the fit reads all values first)")
        self._f.fit_into(vals, out)
        return out

    def data_weights(self, x, nu=None):
        """Per-axis sensitivities of the fitted spline at the point ``x`` to the
        values: ``s(x) = sum_i values[i] * w[0][i_0] * ... * w[N-1][i_{N-1}]``
        for every ``values`` (``nu``: derivative orders per axis). Returns a
        tuple of one read-only array per axis; see :mod:`bsfit._sensitivity`."""
        return _sensitivity.data_weights(self, x, nu)

    def data_vjp(self, xi, g, nu=None, return_ends=False):
        """Gradient of ``sum(g * s(xi))`` with respect to the values: an array of
        the values' shape (``g`` of shape ``xi.shape[:-1] + value_shape``); with
        ``return_ends``, also the gradients of the explicit end values (left,
        right; None where absent). Exact: adjoint of the fit and evaluation."""
        return _sensitivity.data_vjp(self, xi, g, nu, return_ends)

    def __reduce__(self):
        return (Fitter, (self._points, self._bc_type))

    def __repr__(self):
        return f"Fitter(ndim={self.ndim}, shape={self.shape})"


# --------------------------------------------------------------------------
# The uniform 3D prefilter
# --------------------------------------------------------------------------

_BOUNDARIES = ("periodic", "zero", "mirror")
_SCIPY_MODES = {"grid-wrap": "periodic", "mirror": "mirror"}


def _boundaries(boundary):
    if isinstance(boundary, str):
        names = (boundary,) * 3
    else:
        names = tuple(boundary)
        if len(names) != 3 or not all(isinstance(b, str) for b in names):
            raise TypeError(
                "boundary must be one name or a sequence of three names "
                f"from {_BOUNDARIES}, got {boundary!r}"
            )
    for b in names:
        if b.lower() not in _BOUNDARIES:
            raise ValueError(f"unknown boundary {b!r}; expected one of {_BOUNDARIES}")
    return [b.lower() for b in names]


def prefilter(input, boundary="mirror", dtype=None):
    """Cubic B-spline coefficients of samples on a uniform 3-D grid.

    Solves ``B c = input`` exactly, where ``B`` is the 27-point cubic
    B-spline stencil (1-D taps ``[1/6, 2/3, 1/6]`` per axis), with one
    boundary per axis. The solve is separable, parallel and runs with the
    GIL released.

    Parameters
    ----------
    input : array_like, 3-D
        Samples, any layout, any real dtype.
    boundary : str or sequence of 3 str, optional
        What the coefficients outside the grid are, per axis:
        ``'periodic'`` (as scipy's ``mode='grid-wrap'``), ``'mirror'``
        (as scipy's ``mode='mirror'``) or ``'zero'`` (coefficients outside
        the grid are 0; no scipy equivalent).
    dtype : {numpy.float64, numpy.float32}, optional
        Precision of the computation and of the result. Default: float32
        for float32 input, float64 otherwise.

    Returns
    -------
    ndarray
        C-contiguous coefficients, same shape as ``input``.

    Raises
    ------
    FitError
        For an empty axis or a non-finite sample.
    ValueError
        For a non-3-D input or an unknown boundary name.

    See Also
    --------
    spline_filter : the scipy-compatible spelling.
    """
    names = _boundaries(boundary)
    if dtype is None:
        arr = np.asarray(input)
        dtype = np.float32 if arr.dtype == np.float32 else np.float64
    dtype = np.dtype(dtype)
    if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"dtype must be float32 or float64, got {dtype}")
    arr = _as_real(input, "input", dtype)
    if arr.ndim != 3:
        raise ValueError(f"input must be 3-D, got shape {arr.shape}")
    if dtype == np.float32:
        return _bsfit.prefilter_f32(arr, names)
    return _bsfit.prefilter_f64(arr, names)


def spline_filter(input, order=3, output=np.float64, mode="mirror"):
    """Multidimensional cubic spline filter: ``scipy.ndimage.spline_filter`` in 3-D.

    Equal (to rounding) to ``scipy.ndimage.spline_filter(input, order=3,
    output=output, mode=mode)`` for 3-D input and ``mode`` ``'mirror'`` or
    ``'grid-wrap'``.

    Parameters
    ----------
    input : array_like, 3-D
        Samples, any real dtype.
    order : int, optional
        Spline order: 3 only.
    output : dtype or ndarray, optional
        ``numpy.float64`` (default) or ``numpy.float32``, or an array of
        one of those dtypes and of the input's shape that receives the
        result.
    mode : {'mirror', 'grid-wrap'}, optional
        Boundary mode, as in scipy. For zero coefficients outside the grid
        (or a different boundary per axis) use :func:`prefilter`.

    Returns
    -------
    ndarray
        The coefficients (``output`` itself when it is an array).

    Raises
    ------
    NotImplementedError
        For ``order != 3``, another mode, an input that is not 3-D, or an
        output dtype other than float32/float64.
    """
    if order != 3:
        raise NotImplementedError(
            f"bsfit.spline_filter supports order=3 only, got order={order!r}"
        )
    if mode not in _SCIPY_MODES:
        raise NotImplementedError(
            f"bsfit.spline_filter supports mode='mirror' and mode='grid-wrap', got "
            f"mode={mode!r} (bsfit.prefilter also offers boundary='zero' per axis)"
        )
    out_arr = output if isinstance(output, np.ndarray) else None
    dtype = np.dtype(out_arr.dtype if out_arr is not None else output)
    if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise NotImplementedError(
            f"bsfit.spline_filter supports float32 and float64 output, got {dtype}"
        )
    arr = input if isinstance(input, np.ndarray) else np.asarray(input)
    if arr.ndim != 3:
        raise NotImplementedError(
            f"bsfit.spline_filter supports 3-D input only, got shape {arr.shape}"
        )
    result = prefilter(arr, boundary=_SCIPY_MODES[mode], dtype=dtype)
    if out_arr is None:
        return result
    if out_arr.shape != result.shape:
        raise ValueError(f"output has shape {out_arr.shape}, input {result.shape}")
    out_arr[...] = result
    return out_arr


def release_cached_memory():
    """Return the memory that one-shot fits and prefilters keep for their next
    call to the allocator.

    To make repeated one-shot calls as fast as a reused :class:`Fitter`, the
    library keeps the workspaces of recent fits and the coefficient arrays of
    dropped splines (at most 4 x 32 MiB and 1 GiB). Call this after the last
    large fit to let that memory go; nothing else changes.

    >>> import bsfit
    >>> bsfit.release_cached_memory()
    """
    _bsfit.release_cached_memory()
