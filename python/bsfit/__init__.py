"""bsfit: exact cubic B-spline fitting on tensor-product grids.

A Python front end to the Rust library ``bsfit``, speaking scipy's vocabulary:

* :class:`TensorSpline` -- the interpolating cubic tensor-product spline of
  values on a rectilinear grid in 1 to 6 dimensions (non-uniform axes,
  scipy's ``bc_type`` end conditions, not-a-knot by default: exactly
  ``scipy.interpolate.make_interp_spline(x, y, k=3)`` along every axis).
  Values may be scalars, vectors or arrays per grid point (trailing
  dimensions, as ``scipy.interpolate.NdBSpline``) and real or complex.
  Called like ``NdBSpline``; also :meth:`~TensorSpline.grad`,
  :meth:`~TensorSpline.hessian`, :meth:`~TensorSpline.partials` (several
  derivatives from one basis computation) and :meth:`~TensorSpline.eval_grid`.
* :func:`make_ndbspl` -- ``scipy.interpolate._ndbspline.make_ndbspl`` for
  ``k=3`` (exact direct solve, no iterative solver).
* :class:`Fitter` -- a fit plan for refitting new values on a fixed grid.
* :func:`make_interp_spline`, :class:`BSpline`, :class:`RegularGridInterpolator`
  -- scipy's signatures on top of bsfit's cubic fit (these three need scipy:
  they return or extend scipy's own classes).
* :func:`spline_filter` -- ``scipy.ndimage.spline_filter`` (any dimension,
  order and mode; see :mod:`bsfit.ndimage`); :func:`prefilter` is the
  uniform grid's direct solve with a boundary per axis, including bsfit's
  ``'zero'`` boundary.

Errors on bad input are :class:`FitError` (a subclass of :class:`ValueError`)
carrying the Rust library's message, :class:`ValueError` or :class:`TypeError`
with scipy's message where a scipy signature is implemented; what bsfit does
not implement (another spline degree, a boundary condition scipy accepts but
bsfit does not) raises :class:`NotImplementedError` naming the feature.
Fits and evaluations release the GIL and run in parallel; splines are
immutable and can be used from many threads at once.

Memory: a spline holds its knots and its coefficients, nothing else;
``del spline`` hands the coefficient array back at once (to the library's
cache of recent buffers, 64 MiB at most by default: see
:func:`set_cache_limit` and :func:`release_cached_memory`).

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

import operator

import numpy as np

from . import _bsfit, _sensitivity
from ._bsfit import FitError
from . import ndimage  # noqa: E402,F401  (scipy.ndimage's spline functions)

__all__ = [
    "BSpline",
    "FitError",
    "Fitter",
    "MAX_DIM",
    "RegularGridInterpolator",
    "TensorSpline",
    "make_interp_spline",
    "make_ndbspl",
    "prefilter",
    "release_cached_memory",
    "set_cache_limit",
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


def _pairs(c):
    """A complex array as float64 (real, imaginary) pairs along a new last
    axis: a view of a C-contiguous complex128 array, no copy."""
    c = np.ascontiguousarray(c, dtype=np.complex128)
    return c.view(np.float64).reshape(c.shape + (2,))


def _as_values(a, name):
    """``(array, is_complex)``: real data as float64; complex data as float64
    pairs (a trailing dimension of 2 the library fits as two components)."""
    arr = a if isinstance(a, np.ndarray) else np.asarray(a)
    if arr.dtype.kind == "c":
        return _pairs(arr), True
    if arr.dtype.kind == "O":
        try:
            return _as_real(arr, name), False
        except TypeError:
            try:
                return _pairs(arr.astype(np.complex128)), True
            except (TypeError, ValueError):
                pass
            raise
    return _as_real(arr, name), False


def _unpair(a):
    """The inverse of :func:`_pairs` for a result whose last axis is 2."""
    return a.view(np.complex128)[..., 0]


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
    """Derivative orders as a tuple of ``ndim`` ints (zeros for None)."""
    if nu is None:
        return (0,) * ndim
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
    return tuple(int(v) for v in arr)


def _is_flag(e):
    """Whether ``e`` is a truth value in scipy's sense (a bool or an integer)."""
    return isinstance(e, (bool, np.bool_, int, np.integer))


def _policy(extrapolate, ndim):
    """scipy's ``extrapolate`` spellings -> the library's policy names.

    True is ``"polynomial"`` (the boundary pieces continue), False ``"nan"``;
    a name is passed on as it is (the library parses it: ``"polynomial"``,
    ``"clamp"``, ``"nan"``, ``"periodic"``, ``"raise"``); a sequence gives
    one policy per axis.
    """
    if _is_flag(extrapolate):
        return "polynomial" if extrapolate else "nan"
    if isinstance(extrapolate, str):
        return extrapolate
    try:
        per_axis = list(extrapolate)
    except TypeError:
        raise TypeError(
            "extrapolate must be a bool, a policy name or a sequence of them "
            f"(one per axis), got {extrapolate!r}"
        ) from None
    if len(per_axis) != ndim:
        raise ValueError(f"extrapolate has {len(per_axis)} entries for {ndim} axes")
    names = []
    for e in per_axis:
        if not (_is_flag(e) or isinstance(e, str)):
            raise TypeError(f"extrapolate: per-axis entries must be bools or names, got {e!r}")
        names.append(_policy(e, ndim))
    return names


def _normalized_extrapolate(extrapolate):
    """The ``extrapolate`` attribute as stored: a bool, a name or a tuple."""
    if _is_flag(extrapolate):
        return bool(extrapolate)
    if isinstance(extrapolate, str):
        return extrapolate
    return tuple(bool(e) if _is_flag(e) else e for e in extrapolate)


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


def _end_values(value, target, is_complex, what):
    """Explicit end values as float64 (pairs for complex data) of ``target``
    shape (a scalar broadcasts; any array of ``prod(target)`` values is
    reshaped, as scipy does)."""
    v = np.asarray(value)
    if is_complex:
        v = v.astype(np.complex128)
    else:
        v = _as_real(v, "bc_type value")
    if v.shape != target:
        if v.size == int(np.prod(target)) and v.size > 1:
            v = v.reshape(target)
        else:
            try:
                v = np.broadcast_to(v, target)
            except ValueError:
                raise ValueError(
                    f"{what} values of shape {v.shape}; expected shape {target} "
                    "(the other axes' sites and the value shape)"
                ) from None
    return _pairs(v) if is_complex else np.ascontiguousarray(v, dtype=np.float64)


def _bc_per_axis(bc_type, ndim):
    """scipy's ``bc_type`` forms -> one entry per axis."""
    if bc_type is None:
        return [None] * ndim
    if isinstance(bc_type, str):
        return [bc_type] * ndim
    try:
        n = len(bc_type)
    except TypeError:
        raise ValueError(f"Unknown boundary condition: {bc_type!r}") from None
    if not (n == ndim and all(a is None or _is_axis(a) for a in bc_type)) and _is_axis(bc_type):
        return [bc_type] * ndim
    if n != ndim:
        raise ValueError(
            f"bc_type has {n} entries for {ndim} axes "
            "(give one bc_type for all axes or one per axis)"
        )
    return list(bc_type)


def _parse_bc(bc_type, shape, vshape=(), is_complex=False, values=True):
    """scipy's ``bc_type`` spellings -> per-axis ``(left, right)`` names of
    the library (``BoundaryCondition::from_names`` parses them) and the
    explicit end arrays ``(left, right)``.

    Structured ends ``[(order, value)]`` become the names ``"d1"`` / ``"d2"``
    plus the values, of shape ``shape`` without the axis, then ``vshape``.
    With ``values=False`` only the names are returned (and the end arrays
    are None).
    """
    ndim = len(shape)
    if bc_type is None:
        return None, (None, None)
    per_axis = _bc_per_axis(bc_type, ndim)
    names, ends = [], [None, None]
    for axis, a in enumerate(per_axis):
        if a is None:
            a = "not-a-knot"
        if isinstance(a, str):
            names.append((a, a))
            continue
        if not _is_axis(a):
            raise ValueError(f"axis {axis}: bc_type {a!r} is not a name or a (left, right) pair")
        pair = []
        for side, e in enumerate(a):
            end = ("left", "right")[side]
            if e is None:
                e = "not-a-knot"
            if isinstance(e, str):
                pair.append(e)
                continue
            e = list(e)
            if len(e) != 1:
                raise NotImplementedError(
                    f"axis {axis}: {len(e)} conditions at the {end} end; bsfit "
                    "implements one (order, value) per end of a cubic spline"
                )
            order, value = e[0]
            if not isinstance(order, (int, np.integer)) or not 0 <= order <= 3:
                raise ValueError(
                    f"axis {axis}: derivative order {order!r} at the {end} end; "
                    "a cubic spline has orders 0 to 3"
                )
            if order not in (1, 2):
                raise NotImplementedError(
                    f"axis {axis}: a condition on derivative order {order} at the {end} "
                    "end is not implemented in bsfit (orders 1 and 2 are)"
                )
            if values:
                other = tuple(n for k, n in enumerate(shape) if k != axis) + tuple(vshape)
                ends[side] = _end_values(value, other, is_complex, f"axis {axis}: {end} end")
            pair.append(f"d{int(order)}")
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
    ``points[0] x points[1] x ... x points[ndim-1]``, with scipy's end
    conditions per axis (not-a-knot by default): the knots of each axis are
    those of ``scipy.interpolate.make_interp_spline(points[k], ..., k=3,
    bc_type=...)``, and the coefficients equal scipy's separable fit to
    rounding. The solve is exact (banded LU per axis, factored once), in
    parallel, with the GIL released.

    Values may carry trailing dimensions (``scipy.interpolate.NdBSpline``'s
    semantics): every component is fitted in the same passes and evaluated
    from one basis computation per point. Complex values are fitted as two
    real components.

    Parameters
    ----------
    points : tuple of ndarray of float, shapes (m1,), ..., (mN,)
        Strictly increasing sites of each axis, at least 4 per axis,
        1 <= N <= 6. Uniform or not.
    values : array_like, shape (m1, ..., mN, \\*vshape)
        Values on the grid, any memory layout, any real dtype (converted to
        float64; a C-contiguous float64 array is used without a copy) or
        complex (complex128 results). Trailing dimensions ``vshape`` make a
        vector- (or array-) valued spline.
    bc_type : optional
        End conditions, in the spellings of
        ``scipy.interpolate.make_interp_spline``: ``"not-a-knot"`` (the
        default), ``"natural"``, ``"clamped"``, ``"periodic"``, or a
        ``(left, right)`` pair whose ends are ``"natural"``, ``"clamped"`` or
        ``[(order, value)]`` with order 1 or 2. One entry applies to every
        axis; a sequence with one entry per axis sets each axis (in 2-D, two
        names are read per axis: write a pair of names for both axes as
        ``[(l, r), (l, r)]``). Explicit ``value`` s in N-D are arrays over the
        other axes' sites and the value shape (shape ``points`` without that
        axis, then ``vshape``; scalars broadcast), allowed on one axis.
        Natural, clamped, explicit and periodic axes have ``m + 2``
        coefficients; periodic axes need equal values at both ends and wrap
        on evaluation. Other orders (0, 3) or several conditions at one end
        raise NotImplementedError.
    extrapolate : bool, str or sequence, optional
        The default policy of every evaluation outside the domain:
        True (the boundary polynomial pieces continue, scipy's default),
        False or ``"nan"`` (NaN), ``"clamp"`` (the value at the projection
        onto the domain), ``"periodic"`` (wrap into the domain), ``"raise"``
        (a :class:`FitError` naming the first point outside), or a sequence
        of those, one per axis. Periodic axes always wrap unless the policy
        is given per axis.
    k : int or sequence of int, optional
        Degree, one for all axes or one per axis: 1, 3 (default) or 5, with
        the knots of ``scipy.interpolate.make_interp_spline(x, y, k)``
        (not-a-knot) and at least ``k + 1`` sites on the axis. Axes of
        degree 1 or 5 take not-a-knot ends only (other ``bc_type`` raise
        NotImplementedError); other degrees raise NotImplementedError.

    Attributes
    ----------
    t : tuple of ndarray
        Knot vector of each axis (coefficients + k + 1 knots, as scipy
        chooses them for the axis' degree and ``bc_type``), read-only.
    c : ndarray
        B-spline coefficients, shape ``shape + value_shape``, read-only
        (``m_k`` or ``m_k + 2`` per axis); complex128 for complex values.
    periodic : tuple of bool
        Which axes are periodic.
    k : int or tuple of int
        The degree (a tuple when the axes differ); ``degrees`` is always
        the tuple.
    extrapolate : bool, str or tuple
        Default extrapolation policy (assignable).

    Raises
    ------
    FitError
        (a ValueError) for too few sites, non-increasing or non-finite
        sites, NaN or infinite values, a shape that does not match the
        points, or more than 6 dimensions.
    TypeError
        For string or otherwise non-numeric input.
    NotImplementedError
        For a ``bc_type`` scipy accepts that bsfit does not implement.

    See Also
    --------
    make_ndbspl : the same fit under scipy's name.
    Fitter : refits on a fixed grid.

    Notes
    -----
    A spline is immutable; one instance may be evaluated from many threads
    at once. It pickles as its knots and coefficients (validated on load).
    Fits and evaluations release the GIL: other threads must not write
    to the arrays passed in until the call returns.

    Memory: the spline owns exactly its coefficients (``c`` is a view of
    them, no copy). When the last reference goes (``del spline``, and no
    ``spline.c`` kept elsewhere) they are handed back at once: arrays of
    512 KiB and more go to the library's cache of recent buffers (64 MiB at
    most by default), which the next fit of that size reuses, larger ones
    to the system; :func:`set_cache_limit` sets the limit (0: no cache) and
    :func:`release_cached_memory` empties it.

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

    A vector-valued spline (two components per grid point) and its
    gradient, NaN outside the domain:

    >>> v = np.stack([vals, 2 * vals], axis=-1)
    >>> s2 = bsfit.TensorSpline(pts, v, extrapolate=False)
    >>> s2([[0.5, 0.5, 0.5], [2.0, 0.5, 0.5]]).shape
    (2, 2)
    >>> g = s2.grad([[0.5, 0.5, 0.5], [2.0, 0.5, 0.5]])
    >>> g.shape, bool(np.isnan(g[1]).all())
    ((2, 3, 2), True)
    """

    __slots__ = ("_s", "_t", "_c", "_complex", "_extrapolate", "__weakref__")

    def __init__(self, points, values, bc_type=None, *, extrapolate=True, k=3):
        axes = _as_points(points)
        ks = _as_degrees(k, len(axes))
        vals, is_complex = _as_values(values, "values")
        shape = tuple(len(a) for a in axes)
        vshape = vals.shape[len(axes):len(vals.shape) - is_complex]
        bc, ends = _parse_bc(bc_type, shape, vshape, is_complex)
        native = _bsfit._Spline.fit(axes, vals, bc, ends, list(ks))
        self._init(native, is_complex, extrapolate)

    def _init(self, native, is_complex, extrapolate):
        self._s = native
        self._t = None
        self._c = None
        self._complex = bool(is_complex)
        self._extrapolate = True
        self.extrapolate = extrapolate

    @classmethod
    def _wrap(cls, native, is_complex=False, extrapolate=True):
        self = cls.__new__(cls)
        self._init(native, is_complex, extrapolate)
        return self

    @classmethod
    def from_parts(cls, t, c, *, extrapolate=True, periodic=None, k=3):
        """A spline from knot vectors and coefficients (like ``NdBSpline(t, c, k)``).

        Parameters
        ----------
        t : tuple of 1-D array_like
            Clamped knot vectors, one per axis: for degree ``k``,
            ``n + k + 1 >= 2k + 2`` finite knots, ``k + 1`` equal knots at
            each end, strictly increasing in between.
        c : array_like, shape (n_1, ..., n_N, \\*vshape)
            Finite coefficients, real or complex; trailing dimensions are
            the value shape.
        extrapolate : bool, str or sequence, optional
            Default extrapolation policy (see :class:`TensorSpline`).
        periodic : sequence of bool, optional
            Axes whose coordinates evaluation wraps into the domain (their
            knots need not be clamped; cubic axes only). Default: none.
        k : int or sequence of int, optional
            Degree, one for all axes or one per axis: 1, 3 (default) or 5.

        Raises
        ------
        FitError
            If the knots and coefficients are inconsistent.
        NotImplementedError
            For a degree other than 1 to 5.
        """
        knots = _as_points(t)
        ks = _as_degrees(k, len(knots))
        coefs, is_complex = _as_values(c, "c")
        if periodic is not None:
            periodic = [bool(p) for p in periodic]
        native = _bsfit._Spline.from_parts(knots, coefs, periodic, list(ks))
        return cls._wrap(native, is_complex, extrapolate)

    # -- attributes ---------------------------------------------------------

    @property
    def extrapolate(self):
        """Default extrapolation policy: True, False, a name (``"clamp"``,
        ``"nan"``, ``"periodic"``, ``"raise"``) or one entry per axis.
        Assigning checks the value."""
        return self._extrapolate

    @extrapolate.setter
    def extrapolate(self, value):
        # An evaluation at no point: the library parses the policy.
        ndim = self._s.ndim
        self._s.evaluate(np.empty((0, ndim)), [(0,) * ndim], _policy(value, ndim))
        self._extrapolate = _normalized_extrapolate(value)

    @property
    def t(self):
        """Knot vectors, one read-only array per axis."""
        if self._t is None:
            self._t = tuple(_readonly(self._s.knots(k)) for k in range(self._s.ndim))
        return self._t

    @property
    def c(self):
        """Coefficients: a read-only ndarray of shape ``shape + value_shape``
        (a view of the spline's own buffer, not a copy; complex128 for
        complex values)."""
        if self._c is None:
            c = self._s.coefficients()
            self._c = _unpair(c) if self._complex else c
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
    def degrees(self):
        """The degree of each axis (a tuple of 1 to 5)."""
        return tuple(self._s.degrees)

    @property
    def k(self):
        """The degree: an int when every axis has the same, else the tuple
        of :attr:`degrees`."""
        ks = self.degrees
        return ks[0] if len(set(ks)) == 1 else ks

    @property
    def shape(self):
        """Grid shape (coefficients per axis)."""
        return tuple(self._s.shape)

    @property
    def value_shape(self):
        """Shape of the value at one point: ``()`` for scalar values."""
        vs = tuple(self._s.value_shape)
        return vs[:-1] if self._complex else vs

    @property
    def dtype(self):
        """``float64``, or ``complex128`` for complex values."""
        return np.dtype(np.complex128 if self._complex else np.float64)

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
        return xi.shape[:-1], xi.reshape(-1, ndim)

    def _policy(self, extrapolate):
        if extrapolate is None:
            extrapolate = self._extrapolate
        return _policy(extrapolate, self._s.ndim)

    def _finish(self, out, lead, tail=()):
        """A native result as ``lead + tail + value_shape`` (complex128 for
        complex values: a view of the (real, imaginary) pairs)."""
        if self._complex:
            out = _unpair(out)
        return out.reshape(tuple(lead) + tuple(tail) + self.value_shape)

    def _evaluate(self, xi, orders, extrapolate, tail):
        lead, pts = self._points(xi)
        out = self._s.evaluate(pts, orders, self._policy(extrapolate))
        return self._finish(out, lead, tail)

    def __call__(self, xi, nu=None, extrapolate=None):
        """Evaluate the spline or one of its mixed partial derivatives.

        Parameters
        ----------
        xi : array_like, shape (..., ndim)
            Points, one per row.
        nu : sequence of int, length ndim, optional
            Derivative order along each axis (0 = value). Orders above the
            axis' degree give 0.
        extrapolate : bool, str or sequence, optional
            The policy outside the domain (see :class:`TensorSpline`):
            True, False, ``"clamp"``, ``"nan"``, ``"periodic"``, ``"raise"``,
            or one per axis. Default: ``self.extrapolate``.

        Returns
        -------
        ndarray, shape (...) + value_shape
            Same semantics as ``scipy.interpolate.NdBSpline.__call__``.
        """
        orders = [_as_orders(nu, self._s.ndim)]
        return self._evaluate(xi, orders, extrapolate, ())

    def partials(self, xi, orders, extrapolate=None):
        """Several mixed partial derivatives at each point, from one basis
        computation per point.

        Parameters
        ----------
        xi : array_like, shape (..., ndim)
            Points, one per row.
        orders : sequence of sequences of int
            The derivatives, each as per-axis orders like ``nu`` of
            :meth:`__call__` (``(0,) * ndim`` is the value).
        extrapolate : bool, str or sequence, optional
            As for :meth:`__call__`.

        Returns
        -------
        ndarray, shape (...) + (len(orders),) + value_shape
            ``out[..., j, ...]`` equals ``self(xi, nu=orders[j])``.

        Examples
        --------
        >>> import numpy as np, bsfit
        >>> x = np.linspace(0.0, 3.0, 7)
        >>> s = bsfit.TensorSpline((x, x), np.add.outer(x**3, x**2))
        >>> p = s.partials([[1.0, 2.0]], [(0, 0), (1, 0), (0, 2)])
        >>> np.round(p, 12).tolist()   # x^3 + y^2, 3x^2, 2
        [[5.0, 3.0, 2.0]]
        """
        ndim = self._s.ndim
        orders = [_as_orders(o, ndim) for o in orders]
        if not orders:
            lead, _ = self._points(xi)
            return np.empty(tuple(lead) + (0,) + self.value_shape, dtype=self.dtype)
        return self._evaluate(xi, orders, extrapolate, (len(orders),))

    def grad(self, xi, extrapolate=None):
        """Gradient at each point.

        Parameters
        ----------
        xi : array_like, shape (..., ndim)
        extrapolate : bool, str or sequence, optional
            As for :meth:`__call__` (default ``self.extrapolate``).

        Returns
        -------
        ndarray, shape (..., ndim) + value_shape
            ``[d/dx_0, ..., d/dx_{ndim-1}]``.
        """
        d = self._s.ndim
        orders = [tuple(int(i == k) for i in range(d)) for k in range(d)]
        return self._evaluate(xi, orders, extrapolate, (d,))

    def hessian(self, xi, extrapolate=None):
        """Hessian at each point.

        Parameters
        ----------
        xi : array_like, shape (..., ndim)
        extrapolate : bool, str or sequence, optional
            As for :meth:`__call__` (default ``self.extrapolate``).

        Returns
        -------
        ndarray, shape (..., ndim, ndim) + value_shape
            ``H[..., i, j] = d2/dx_i dx_j`` (symmetric).
        """
        d = self._s.ndim
        orders = [
            tuple(int(a == i) + int(a == j) for a in range(d)) for i in range(d) for j in range(d)
        ]
        return self._evaluate(xi, orders, extrapolate, (d, d))

    def eval_grid(self, axes, nu=None, extrapolate=None):
        """Values (or one mixed partial derivative) on the grid
        ``axes[0] x ... x axes[ndim-1]``, computed separably (a few
        operations per grid point instead of a full evaluation each).

        Parameters
        ----------
        axes : sequence of 1-D array_like
            One coordinate array per axis (any order, any length).
        nu : sequence of int, length ndim, optional
            Derivative order along each axis.
        extrapolate : bool, str or sequence, optional
            As for :meth:`__call__`.

        Returns
        -------
        ndarray, shape (len(axes[0]), ..., len(axes[ndim-1])) + value_shape
            Equal to evaluating at every grid point.

        Examples
        --------
        >>> import numpy as np, bsfit
        >>> x = np.linspace(0.0, 3.0, 7)
        >>> s = bsfit.TensorSpline((x, x), np.add.outer(x**3, x**2))
        >>> np.round(s.eval_grid(([1.0, 2.0], [0.5])), 12).tolist()
        [[1.25], [8.25]]
        """
        grid = _as_points(axes)
        ndim = self._s.ndim
        if len(grid) != ndim:
            raise ValueError(f"eval_grid: {len(grid)} coordinate arrays for ndim = {ndim}")
        orders = [_as_orders(nu, ndim)]
        out = self._s.evaluate(grid, orders, self._policy(extrapolate))
        return self._finish(out, tuple(len(a) for a in grid))

    # -- interop ------------------------------------------------------------

    def to_scipy(self):
        """The equivalent ``scipy.interpolate.NdBSpline(t, c, k)`` (imports scipy).

        ``NdBSpline`` knows only ``extrapolate`` True or False: False and
        ``"nan"`` map to False, every other policy to True (so on periodic
        axes, or under ``"clamp"``, it agrees with this spline inside the
        domain only)."""
        from scipy.interpolate import NdBSpline

        ext = self._extrapolate
        return NdBSpline(
            tuple(np.array(t) for t in self.t),
            np.array(self.c),
            self.degrees,
            extrapolate=not (ext is False or ext == "nan"),
        )

    def __reduce__(self):
        args = (self.t, self.c, self._extrapolate, self.periodic)
        # Degrees only when an axis is not cubic: cubic pickles keep the
        # earlier form (and load in earlier versions).
        if any(k != 3 for k in self.degrees):
            args += (self.degrees,)
        return (_from_parts, args)

    def __eq__(self, other):
        if not isinstance(other, TensorSpline):
            return NotImplemented
        return (
            self._complex == other._complex
            and self._s.equals(other._s)
            and self._extrapolate == other._extrapolate
        )

    __hash__ = None

    def __repr__(self):
        dom = ", ".join(f"({lo:.6g}, {hi:.6g})" for lo, hi in self.domain)
        extra = ""
        if self.value_shape:
            extra += f", value_shape={self.value_shape}"
        if self._complex:
            extra += ", dtype=complex128"
        return (
            f"TensorSpline(ndim={self.ndim}, shape={self.shape}{extra}, domain=[{dom}], "
            f"k={self.k})"
        )


def _from_parts(t, c, extrapolate=True, periodic=None, k=3):
    """Unpickling helper: validates the parts (see TensorSpline.from_parts);
    pickles written before degrees other than 3 existed have no ``k``."""
    return TensorSpline.from_parts(t, c, extrapolate=extrapolate, periodic=periodic, k=k)


def _as_degrees(k, ndim):
    """Per-axis degrees from ``k`` (an int for every axis or one per axis):
    a tuple of ints. The library checks the values (1 to 5; others raise
    NotImplementedError)."""
    try:
        ks = tuple(k)
    except TypeError:
        ks = (k,) * ndim
    if len(ks) != ndim:
        raise ValueError(f"k has {len(ks)} entries for {ndim} dimensions (k={k!r})")
    ks = tuple(operator.index(kk) for kk in ks)
    for kk in ks:
        if kk < 0:
            raise ValueError(f"Expect non-negative k (k={k!r}).")
    return ks


def make_ndbspl(points, values, k=3, *, solver=None, **solver_args):
    """Interpolating cubic spline on a regular grid: scipy's ``make_ndbspl``.

    ``scipy.interpolate._ndbspline.make_ndbspl(points, values, k=3)`` with
    not-a-knot end conditions along every axis, solved exactly and
    separably: ``solver`` and ``solver_args`` are accepted and not used
    (scipy's default iterative solver is approximate; this result equals
    scipy's direct ``spsolve`` to rounding, and no solver can fail to
    converge).

    Parameters
    ----------
    points : tuple of ndarray of float, shapes (m1,), ..., (mN,)
        Strictly increasing sites, at least 4 per axis, 1 <= N <= 6 (as in
        scipy 1.17, descending sites are an error).
    values : array_like, shape (m1, ..., mN, \\*vshape)
        Data on the grid; trailing dimensions and complex values as scipy.
    k : int or sequence of int, optional
        Spline degree, one for all axes or one per axis: 1, 3 (default) or
        5, with scipy's not-a-knot knots for each. Other degrees raise
        NotImplementedError.

    Returns
    -------
    TensorSpline
        Evaluates like ``NdBSpline``; :meth:`TensorSpline.to_scipy` gives one.

    Raises
    ------
    ValueError
        For a ``k`` of another length than ``points``, fewer than ``k + 1``
        points on an axis (scipy's message), and as :class:`TensorSpline`.
    TypeError
        For a non-integer degree.
    NotImplementedError
        For a degree other than 1 to 5.
    """
    del solver, solver_args
    if isinstance(points, np.ndarray) and points.ndim == 2:
        points = list(points)
    points = _as_points(points)
    ndim = len(points)
    try:
        ks = tuple(k)
    except TypeError:
        ks = (k,) * ndim
    if len(ks) != ndim:
        raise ValueError(f"k has {len(ks)} entries for {ndim} dimensions (k={k!r})")
    ks = tuple(operator.index(kk) for kk in ks)
    for d, kk in enumerate(ks):
        numpts = len(points[d])
        if numpts <= kk:
            raise ValueError(
                f"There are {numpts} points in dimension {d}, but order {kk} "
                f"requires at least  {kk + 1} points per dimension."
            )
    return TensorSpline(points, values, k=ks)


# --------------------------------------------------------------------------
# Fitter
# --------------------------------------------------------------------------


class Fitter:
    """A fit plan for a fixed grid: factor once, refit many value arrays.

    Validates the sites and factors each axis' collocation matrix once, and
    keeps a workspace reused by every :meth:`fit` (a fit from a second thread
    while one is running uses a temporary workspace instead of waiting).
    Each fit may have its own value shape and be real or complex.

    Parameters
    ----------
    points : tuple of ndarray of float, shapes (m1,), ..., (mN,)
        As for :class:`TensorSpline`.
    bc_type : optional
        As for :class:`TensorSpline`; explicit end values are used by every
        fit (their shape: the other axes' sites, then the value shape of the
        values fitted).
    k : int or sequence of int, optional
        Degree per axis, as for :class:`TensorSpline`.

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
    >>> f.fit(np.ones((6, 5, 3))).value_shape       # three components per point
    (3,)
    """

    __slots__ = ("_f", "_points", "_bc_type", "_ends", "_k", "__weakref__")

    def __init__(self, points, bc_type=None, *, k=3):
        axes = _as_points(points)
        ks = _as_degrees(k, len(axes))
        shape = tuple(len(a) for a in axes)
        bc, _ = _parse_bc(bc_type, shape, values=False)
        self._f = _bsfit._Fitter(axes, bc, list(ks))
        self._points = tuple(_readonly(np.array(a)) for a in axes)
        self._bc_type = bc_type
        self._ends = None
        self._k = ks

    def _end_arrays(self, vshape, is_complex):
        """The explicit end values for values of ``vshape`` (cached per shape)."""
        if self._bc_type is None:
            return None
        key = (tuple(vshape), is_complex)
        cached = self._ends
        if cached is not None and cached[0] == key:
            return cached[1]
        _, ends = _parse_bc(self._bc_type, self.shape, vshape, is_complex)
        self._ends = (key, ends)
        return ends

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
        """Shape of the coefficients of a scalar fit (``m + 2`` on axes whose
        ``bc_type`` is not not-a-knot); a fit of values with trailing
        dimensions has those after it."""
        return tuple(self._f.coef_shape)

    @property
    def t(self):
        """Knot vectors of the fitted splines, one read-only array per axis."""
        return tuple(_readonly(self._f.knots(k)) for k in range(self._f.ndim))

    def spline_from(self, c, *, extrapolate=True):
        """The spline on this grid's knots with coefficients ``c``.

        Parameters
        ----------
        c : array_like, shape ``self.coef_shape + vshape``
            Coefficients, e.g. filled by ``fit(values, out=c)`` (copied);
            real or complex.
        extrapolate : bool, str or sequence, optional
            Default extrapolation policy of the spline.

        Returns
        -------
        TensorSpline

        Raises
        ------
        FitError
            For a wrong shape or a non-finite coefficient.
        """
        coefs, is_complex = _as_values(c, "c")
        return TensorSpline._wrap(self._f.spline_from(coefs), is_complex, extrapolate)

    def fit(self, values, out=None):
        """Fit ``values`` on this grid.

        Parameters
        ----------
        values : array_like, shape ``self.shape + vshape``
            Any layout, any real dtype (converted to float64) or complex.
        out : ndarray, optional
            A writeable, C-contiguous array of shape ``self.coef_shape +
            vshape`` (float64; complex128 for complex values) that receives
            the coefficients (no allocation of the result).

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
            If ``out`` is not an ndarray of the right dtype.
        ValueError
            If ``out`` is not C-contiguous and writeable, or overlaps ``values``.

        Notes
        -----
        The GIL is released while fitting: other Python threads must not
        write to ``values`` or touch ``out`` until the call returns.
        """
        vals, is_complex = _as_values(values, "values")
        vshape = vals.shape[self._f.ndim:len(vals.shape) - is_complex]
        ends = self._end_arrays(vshape, is_complex)
        if out is None:
            return TensorSpline._wrap(self._f.fit(vals, ends), is_complex)
        want = np.complex128 if is_complex else np.float64
        if not isinstance(out, np.ndarray) or out.dtype != want:
            raise TypeError(f"out must be a {np.dtype(want).name} ndarray")
        if not (out.flags.c_contiguous and out.flags.writeable):
            raise ValueError("out must be C-contiguous and writeable")
        if np.may_share_memory(vals, out) or np.may_share_memory(values, out):
            raise ValueError("out must not overlap values (the fit reads all values first)")
        self._f.fit_into(vals, _pairs(out) if is_complex else out, ends)
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
        return (_make_fitter, (self._points, self._bc_type, self._k))

    def __repr__(self):
        return f"Fitter(ndim={self.ndim}, shape={self.shape})"


def _make_fitter(points, bc_type=None, k=3):
    """Unpickling helper of :class:`Fitter`."""
    return Fitter(points, bc_type, k=k)


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
    """Multidimensional spline filter: ``scipy.ndimage.spline_filter``.

    The same function as :func:`bsfit.ndimage.spline_filter` (any
    dimension, orders 0 to 5, every scipy mode, output dtype or array, NaN
    propagated and empty input returned empty as scipy does). Finite 3-D
    input of at least 4 samples per axis with ``order=3``, ``mode`` ``'mirror'`` or ``'grid-wrap'`` and a
    float32/float64 output runs on the uniform grid's direct solve
    (:func:`prefilter`), the fastest path for volumes.

    Parameters
    ----------
    input : array_like
        Samples, any real (or complex) dtype.
    order : int, optional
        Spline order, 0 to 5 (default 3).
    output : dtype or ndarray, optional
        Output dtype (default ``numpy.float64``) or an array of the
        input's shape that receives the result.
    mode : str, optional
        Boundary mode, as in scipy (default ``'mirror'``). For zero
        coefficients outside the grid (or a different boundary per axis)
        use :func:`prefilter`.

    Returns
    -------
    ndarray
        The coefficients (``output`` itself when it is an array).

    Raises
    ------
    RuntimeError, ValueError, TypeError
        As scipy, for a bad order, mode, output or input.
    """
    from . import ndimage

    arr = input if isinstance(input, np.ndarray) else np.asarray(input)
    out_arr = output if isinstance(output, np.ndarray) else None
    try:
        dtype = np.dtype(out_arr.dtype if out_arr is not None else output)
    except TypeError:
        dtype = None
    fast = (
        order == 3
        and isinstance(mode, str)
        and mode in _SCIPY_MODES
        and dtype in (np.dtype(np.float32), np.dtype(np.float64))
        and arr.ndim == 3
        and min(arr.shape) >= 4
        and arr.dtype.kind in "biuf"
        and (out_arr is None or out_arr.shape == arr.shape)
    )
    if fast:
        try:
            result = prefilter(arr, boundary=_SCIPY_MODES[mode], dtype=dtype)
        except FitError:
            # Non-finite samples: scipy propagates them; so does the
            # general filter.
            fast = False
    if not fast:
        return ndimage.spline_filter(input, order=order, output=output, mode=mode)
    if out_arr is None:
        return result
    out_arr[...] = result
    return out_arr


def release_cached_memory():
    """Return what the library's cache of recent buffers holds to the system.

    To make repeated one-shot calls as fast as a reused :class:`Fitter`, the
    library keeps the workspaces of recent fits and prefilters and the
    coefficient arrays of dropped splines (from 512 KiB; at most four of
    each kind, together at most the limit of :func:`set_cache_limit`,
    64 MiB by default) for the next call of that size. Call this after the
    last large fit to let that memory go; nothing else changes (the limit
    stays).

    >>> import bsfit
    >>> bsfit.release_cached_memory()
    """
    _bsfit.release_cached_memory()


def set_cache_limit(nbytes):
    """Set how many bytes the library's cache of recent buffers may hold;
    return the previous limit.

    The cache (see :func:`release_cached_memory`) keeps the workspaces of
    recent one-shot fits and prefilters and the coefficient arrays of
    dropped splines, so that the next call of that size skips faulting in
    and zeroing fresh pages. It holds at most ``nbytes`` together (64 MiB by
    default; at most four entries of each kind, the oldest going first); an
    array larger than the limit is freed when its spline is dropped, and a
    kept array only serves a request of at least half its size and is
    shrunk to it, so a spline never holds more memory than its
    coefficients. ``0`` turns the cache off and frees what it holds at once:
    ``del spline`` then returns the coefficients to the system immediately.
    The limit applies to the whole process and is thread-safe.

    Parameters
    ----------
    nbytes : int
        The new limit in bytes, >= 0.

    Returns
    -------
    int
        The previous limit.

    >>> import bsfit
    >>> previous = bsfit.set_cache_limit(256 << 20)   # keep the buffers of larger fits warm
    >>> bsfit.set_cache_limit(previous) == 256 << 20
    True
    """
    n = operator.index(nbytes)
    if not 0 <= n < 1 << 64:
        raise ValueError(f"cache limit must be between 0 and 2**64 - 1 bytes, got {nbytes!r}")
    return _bsfit.set_cache_limit(n)


# --------------------------------------------------------------------------
# scipy's interpolate signatures (bsfit._interpolate imports scipy: loaded
# on first use, so that `import bsfit` needs numpy only)
# --------------------------------------------------------------------------

_SCIPY_NAMES = ("BSpline", "RegularGridInterpolator", "make_interp_spline")


def __getattr__(name):
    if name in _SCIPY_NAMES:
        from . import _interpolate

        value = getattr(_interpolate, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'bsfit' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_SCIPY_NAMES))
