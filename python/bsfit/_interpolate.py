"""scipy's interpolate signatures on top of bsfit's cubic fit.

:func:`make_interp_spline`, :class:`BSpline` and
:class:`RegularGridInterpolator` return or extend scipy's own classes, so
that the objects work wherever scipy's do; this module imports scipy (the
``bsfit`` package loads it on first use of one of these names).

The argument checks and their messages follow scipy 1.17's
``scipy/interpolate/_bsplines.py`` and ``_rgi.py`` (BSD-3-Clause,
Copyright (c) 2001-2002 Enthought, Inc. 2003, SciPy Developers), so that a
caller sees the same errors as with scipy.
"""

from __future__ import annotations

import operator

import numpy as np
from scipy.interpolate import BSpline as _ScipyBSpline
from scipy.interpolate import RegularGridInterpolator as _ScipyRGI

from . import FitError, TensorSpline, _bsfit, _end_values, _pairs, make_ndbspl

__all__ = ["BSpline", "RegularGridInterpolator", "make_interp_spline"]

try:  # numpy >= 1.25
    from numpy.exceptions import AxisError as _AxisError
except ImportError:  # pragma: no cover
    _AxisError = np.AxisError


def _float_array(a, check_finite):
    """scipy's ``_as_float_array``: C-contiguous float64 (complex128 for
    complex input), optionally checked for NaN and infinity."""
    a = np.ascontiguousarray(a)
    dtype = np.complex128 if np.issubdtype(a.dtype, np.complexfloating) else np.float64
    a = a.astype(dtype, copy=False)
    if check_finite and not np.isfinite(a).all():
        raise ValueError("Array must not contain infs or nans.")
    return a


def _normalize_axis(axis, ndim):
    axis = operator.index(axis)
    if not -ndim <= axis < ndim:
        raise _AxisError(axis, ndim)
    return axis % ndim


def _is_clamped(t):
    """Whether the cubic knot vector ``t`` has four equal knots at each end."""
    return bool(np.all(t[:4] == t[0]) and np.all(t[-4:] == t[-1]))


# --------------------------------------------------------------------------
# BSpline
# --------------------------------------------------------------------------


class BSpline(_ScipyBSpline):
    """``scipy.interpolate.BSpline`` whose cubic evaluation runs on bsfit.

    A subclass of scipy's class, so it works wherever a ``BSpline`` does
    (``t``, ``c``, ``k``, ``extrapolate``, ``axis``, ``tck``,
    ``derivative``, ``antiderivative``, ``integrate``, ``insert_knot``,
    ``PPoly.from_spline``, pickling). :func:`make_interp_spline` returns
    one.

    Calls ``self(x, nu, extrapolate)`` of a spline of degree 1, 3 or 5
    whose knots bsfit can represent (``k + 1`` equal knots at each end and
    strictly increasing interior knots, or a cubic periodic knot vector) and
    whose ``c`` has one coefficient per basis function are evaluated by
    bsfit (the same numbers as scipy's, to rounding; ``extrapolate`` True,
    False or ``"periodic"``). Everything else -- other degrees (such as the
    quadratic spline ``derivative()`` returns), other knot vectors,
    ``derivative``, ``antiderivative``, ``integrate`` and the other
    methods -- is scipy's own code on the same ``t`` and ``c``, which is
    exact.

    ``t`` and ``c`` of a spline from :func:`make_interp_spline` are
    read-only (bsfit's fitted arrays, shared without a copy); assign new
    arrays to change them.
    """

    def _bsfit_spline(self):
        """The bsfit spline of the current ``t`` and ``c``, or None where
        bsfit cannot represent it (then scipy's code evaluates)."""
        t, c = self.t, self.c
        cache = self.__dict__.get("_bsfit_cache")
        if cache is not None and cache[0] is t and cache[1] is c:
            return cache[2]
        native = None
        k = self.k
        if (
            k in (1, 3, 5)
            and isinstance(t, np.ndarray)
            and isinstance(c, np.ndarray)
            and t.ndim == 1
            and c.ndim >= 1
            and t.size >= 2 * k + 2
            and c.shape[0] == t.size - k - 1
            and c.dtype.kind in "fc"
            and c.size > 0
        ):
            periodic = k == 3 and not _is_clamped(t)
            try:
                native = TensorSpline.from_parts((t,), c, periodic=[periodic], k=k)
            except (FitError, TypeError, ValueError):
                native = None
        self._bsfit_cache = (t, c, native)
        return native

    def __call__(self, x, nu=0, extrapolate=None):
        """Evaluate the spline (or its derivative of order ``nu``) at ``x``,
        as ``scipy.interpolate.BSpline.__call__``.

        Parameters
        ----------
        x : array_like
            Points.
        nu : int, optional
            Derivative order (default 0).
        extrapolate : bool or 'periodic', optional
            Outside the base interval: the boundary pieces (True), NaN
            (False) or periodic wrapping. Default: ``self.extrapolate``.

        Returns
        -------
        ndarray
            Shape: the interpolation axis of ``c`` replaced by ``x``'s shape.
        """
        native = self._bsfit_spline()
        x_arr = np.asarray(x)
        if (
            native is None
            or x_arr.dtype.kind not in "biuf"
            or not isinstance(nu, (int, np.integer))
            or nu < 0
        ):
            return super().__call__(x, nu, extrapolate)
        if extrapolate is None:
            extrapolate = self.extrapolate
        if isinstance(extrapolate, str) and extrapolate == "periodic":
            policy = "periodic"
        else:
            policy = "polynomial" if extrapolate else "nan"
        x_shape, x_ndim = x_arr.shape, x_arr.ndim
        pts = np.asarray(x_arr, dtype=np.float64).reshape(-1, 1)
        # One policy per axis: a periodic knot vector evaluates as asked.
        out = native._evaluate(pts, [(int(nu),)], [policy], ())
        out = out.reshape(x_shape + self.c.shape[1:])
        if self.axis != 0:
            # The interpolation axis goes where it was in the data (scipy's rule).
            order = list(range(out.ndim))
            order = order[x_ndim:x_ndim + self.axis] + order[:x_ndim] + order[x_ndim + self.axis:]
            out = out.transpose(order)
        return getattr(self, "_asarray", np.asarray)(out)


# --------------------------------------------------------------------------
# make_interp_spline
# --------------------------------------------------------------------------


def _end_spec(deriv):
    """One end of scipy's ``bc_type`` after its string aliases: None, a
    name bsfit takes as it is, or a list of ``(order, value)``."""
    if deriv is None:
        return []
    if isinstance(deriv, str):
        if deriv in ("clamped", "natural"):
            return deriv
        raise ValueError(f"Unknown boundary condition : {deriv}")
    try:
        pairs = [tuple(p) for p in deriv]
        for p in pairs:
            if len(p) != 2:
                raise TypeError
    except TypeError as e:
        raise ValueError(
            "Derivatives, `bc_type`, should be specified as a pair of "
            "iterables of pairs of (order, value)."
        ) from e
    return pairs


def _curve_spline(x, y, k, t, periodic, conds, axis):
    """``make_interp_spline`` through the library's general curve solver
    (any degree up to 15, any knots, any derivative conditions, periodic
    ends at any degree): ``y`` has the interpolation axis first."""
    is_complex = y.dtype.kind == "c"
    rest = y.shape[1:]
    yv = _pairs(y) if is_complex else y
    m = int(np.prod(yv.shape[1:], dtype=np.int64))
    y2 = np.ascontiguousarray(yv.reshape(y.shape[0], m))

    def end_values(c):
        rows = []
        for _, value in c:
            v = np.broadcast_to(np.asarray(value), rest)
            if is_complex:
                v = _pairs(v.astype(np.complex128))
            rows.append(np.asarray(v, dtype=np.float64).reshape(m))
        return np.ascontiguousarray(np.array(rows, dtype=np.float64).reshape(len(c), m))

    if periodic:
        ends = "periodic"
    elif conds[0] or conds[1]:
        ends = "derivatives"
    else:
        ends = "free"
    tk, c = _bsfit._interp_curve(
        np.ascontiguousarray(x, dtype=np.float64), y2, k,
        None if t is None else np.ascontiguousarray(t, dtype=np.float64),
        ends, [o for o, _ in conds[0]], [o for o, _ in conds[1]],
        end_values(conds[0]), end_values(conds[1]),
    )
    c = c.reshape((c.shape[0],) + yv.shape[1:])
    if is_complex:
        c = np.ascontiguousarray(c).view(np.complex128).reshape((c.shape[0],) + rest)
    return BSpline.construct_fast(
        tk, c, k, extrapolate="periodic" if periodic else True, axis=axis
    )


def make_interp_spline(x, y, k=3, t=None, bc_type=None, axis=0, check_finite=True):
    """Interpolating B-spline: ``scipy.interpolate.make_interp_spline``.

    The interpolating spline of degree ``k`` through ``(x, y)`` along
    ``axis``, fitted by bsfit (exact banded solve, every trailing component
    in the same passes, complex values as two real components), returned
    as a :class:`BSpline` -- a subclass of ``scipy.interpolate.BSpline`` --
    so it stands in wherever scipy's result does. Degrees 1, 3 and 5 with
    scipy's default knots (and at ``k=3`` periodic ends or one derivative
    condition of order 1 or 2 per end) run on the tensor fitter's tuned
    systems; every other case scipy accepts -- degrees 0 to 15, knots ``t``
    of the caller's, any number of derivative conditions of any order at
    either end, periodic ends at any degree -- on the library's general
    curve solver (a banded LU with partial pivoting, as scipy's ``gbsv``).

    Parameters
    ----------
    x : array_like, shape (n,)
        Strictly increasing abscissas.
    y : array_like, shape (..., n, ...)
        Ordinates, real or complex; ``n`` along ``axis``.
    k : int, optional
        Degree, 0 to 15 (default 3); scipy's not-a-knot knots by default
        (``[x, x[-1]]`` at ``k=0``, ``[x[0], x, x[-1]]`` at ``k=1``).
    t : array_like, optional
        Knots (``n + k + 1`` plus one per derivative condition), as scipy:
        sorted, covering the sites; sites and knots that violate the
        Schoenberg-Whitney conditions raise ``bsfit.FitError``.
    bc_type : optional
        As in scipy: None or ``"not-a-knot"``, ``"periodic"``,
        ``"natural"``, ``"clamped"``, or ``(deriv_l, deriv_r)`` with each
        end None, a name or ``[(order, value), ...]``.
    axis : int, optional
        Interpolation axis of ``y``.
    check_finite : bool, optional
        Whether to reject NaN and infinity (bsfit rejects them in any case).

    Returns
    -------
    BSpline

    Raises
    ------
    ValueError
        For inconsistent input, with scipy's messages.
    TypeError
        For a non-integer ``k``.
    NotImplementedError
        For a degree above 15, and knots ``t`` with periodic ends (as scipy).

    Examples
    --------
    >>> import numpy as np, bsfit
    >>> x = np.linspace(0.0, 2.0, 9)
    >>> b = bsfit.make_interp_spline(x, x**3)
    >>> round(float(b(1.5)), 12), round(float(b.derivative()(1.5)), 12)
    (3.375, 6.75)
    """
    # The bc_type spellings, as scipy reads them.
    if bc_type is None or (isinstance(bc_type, str) and bc_type in ("not-a-knot", "periodic")):
        deriv_l = deriv_r = None
    elif isinstance(bc_type, str):
        deriv_l = deriv_r = bc_type
    else:
        try:
            deriv_l, deriv_r = bc_type
        except (TypeError, ValueError) as e:
            raise ValueError(f"Unknown boundary condition: {bc_type}") from e
    periodic = isinstance(bc_type, str) and bc_type == "periodic"

    x = _float_array(x, check_finite)
    if x.dtype.kind == "c":
        raise TypeError("x must be real")
    y = _float_array(y, check_finite)
    axis = _normalize_axis(axis, y.ndim)
    y = np.moveaxis(y, axis, 0)

    if periodic and not np.allclose(y[0], y[-1], atol=1e-15):
        raise ValueError("First and last points does not match while periodic case expected")
    if x.size != y.shape[0]:
        raise ValueError(f"Shapes of x {x.shape} and y {y.shape} are incompatible")
    if np.any(x[1:] == x[:-1]):
        raise ValueError("Expect x to not have duplicates")
    if x.ndim != 1 or np.any(x[1:] < x[:-1]):
        raise ValueError("Expect x to be a 1D strictly increasing sequence.")

    k = operator.index(k)
    if k < 0:
        raise ValueError("Expect non-negative k.")
    if k == 0:
        # scipy's special case: the knots [x, x_{n-1}] and c = y.
        if any(v is not None for v in (t, deriv_l, deriv_r)):
            raise ValueError("Too much info for k=0: t and bc_type can only be None.")
        periodic = False
    if k == 1 and t is None:
        # scipy's special case: the knots [x_0, x, x_{n-1}], any bc_type
        # but derivative conditions (periodic changes nothing).
        if not (deriv_l is None and deriv_r is None):
            raise ValueError("Too much info for k=1: bc_type can only be None.")
        periodic = False
    if periodic and t is not None:
        raise NotImplementedError(
            "For periodic case t is constructed automatically and can not be passed manually"
        )

    n = x.size
    # The conditions as (order, values) per end, scipy's string aliases expanded.
    conds = [[], []]
    if not periodic and (deriv_l is not None or deriv_r is not None):
        for side, d in enumerate((deriv_l, deriv_r)):
            spec = _end_spec(d)
            if isinstance(spec, str):
                spec = [(1 if spec == "clamped" else 2, 0.0)]
            for order, value in spec:
                if not 0 <= order <= k:
                    raise ValueError(f"Bad boundary conditions at {x[0] if side == 0 else x[-1]}.")
                conds[side].append((int(order), value))
        nt = n + k - 1
        if t is not None:
            nt = np.asarray(t).size - k - 1
        if nt - n != len(conds[0]) + len(conds[1]):
            raise ValueError(
                "The number of derivatives at boundaries does not "
                f"match: expected {nt - n}, got {len(conds[0])}+{len(conds[1])}"
            )

    if t is not None:
        t = _float_array(t, check_finite)
        if t.ndim != 1 or np.any(t[1:] < t[:-1]):
            raise ValueError("Expect t to be a 1-D sorted array_like.")
        if t.size < x.size + k + 1:
            raise ValueError(f"Got {t.size} knots, need at least {x.size + k + 1}.")
        if (x[0] < t[k]) or (x[-1] > t[-k]):
            raise ValueError(f"Out of bounds w/ x = {x}.")
        if not (conds[0] or conds[1]) and t.size - k - 1 != n:
            raise ValueError(
                "The number of derivatives at boundaries does not "
                f"match: expected {t.size - k - 1 - n}, got 0+0"
            )

    if not periodic and not (conds[0] or conds[1]) and n < k + 1:
        raise ValueError(
            "The number of derivatives at boundaries does not "
            f"match: expected {k + 1 - n}, got 0+0"
        )

    # The tensor fitter's tuned cubic systems (and degrees 1 and 5 with
    # not-a-knot knots) where they apply; every other case through the
    # general curve solver.
    one_each = [len(c) for c in conds] == [1, 1] and all(c[0][0] in (1, 2) for c in conds)
    tuned = y.size > 0 and (
        (k in (1, 3, 5) and not periodic and not (conds[0] or conds[1]))
        or (k == 3 and n >= 4 and (periodic or one_each))
    )
    if not tuned:
        return _curve_spline(x, y, k, t, periodic, conds, axis)

    if periodic:
        names = ("periodic", "periodic")
        left = right = None
    elif conds[0] or conds[1]:
        names = tuple(f"d{c[0][0]}" for c in conds)
        left, right = (
            _end_values(c[0][1], y.shape[1:], y.dtype.kind == "c", "end") for c in conds
        )
    else:
        names = ("not-a-knot", "not-a-knot")
        left = right = None

    is_complex = y.dtype.kind == "c"
    values = _pairs(y) if is_complex else y
    native = _bsfit._Spline.fit([x], values, [names], (left, right), [k])
    spline = TensorSpline._wrap(native, is_complex)
    knots, coefs = spline.t[0], spline.c
    if t is not None and not np.array_equal(t, knots):
        return _curve_spline(x, y, k, t, periodic, conds, axis)
    b = BSpline.construct_fast(
        knots, coefs, k, extrapolate="periodic" if periodic else True, axis=axis
    )
    b._bsfit_cache = (b.t, b.c, spline)
    return b


# --------------------------------------------------------------------------
# RegularGridInterpolator
# --------------------------------------------------------------------------


def _ndim_coords(points, ndim):
    """scipy's ``_ndim_coords_from_arrays``: points as an array of shape
    ``(..., ndim)`` (a tuple of coordinate arrays is broadcast and stacked)."""
    if isinstance(points, tuple) and len(points) == 1:
        points = points[0]
    if isinstance(points, tuple):
        p = np.broadcast_arrays(*points)
        for j in range(1, len(p)):
            if p[j].shape != p[0].shape:
                raise ValueError("coordinate arrays do not have the same shape")
        out = np.empty(p[0].shape + (len(points),), dtype=float)
        for j, item in enumerate(p):
            out[..., j] = item
        return out
    points = np.asanyarray(points)
    if points.ndim == 1:
        points = points.reshape(-1, ndim)
    return points


class RegularGridInterpolator(_ScipyRGI):
    """``scipy.interpolate.RegularGridInterpolator`` with bsfit's cubic spline.

    A subclass of scipy's class with the same signature and behaviour:

    * ``method="slinear"``, ``"cubic"`` and ``"quintic"`` are bsfit's exact
      not-a-knot fits of degree 1, 3 and 5 (what scipy
      builds with ``make_ndbspl`` and an iterative solver; ``solver`` and
      ``solver_args`` are accepted and not used) and bsfit's evaluation,
      with ``bounds_error`` (the library's ``"raise"`` policy) and
      ``fill_value`` (``None``: the boundary polynomials; NaN: the
      ``"nan"`` policy) applied by the library. Values may have trailing
      dimensions and be complex; descending axes are flipped as scipy does.
    * ``"linear"``, ``"nearest"``, ``"pchip"`` and the ``*_legacy`` methods
      are scipy's own code (inherited, unchanged).

    Parameters
    ----------
    points, values, method, bounds_error, fill_value, solver, solver_args
        As scipy's.

    Examples
    --------
    >>> import numpy as np, bsfit
    >>> x, y = np.linspace(0, 3, 7), np.linspace(0, 2, 5)
    >>> rgi = bsfit.RegularGridInterpolator((x, y), np.add.outer(x**3, y), method="cubic")
    >>> round(float(rgi([1.5, 0.25])[0]), 12)
    3.625
    """

    def _construct_spline(self, method, solver=None, **solver_args):
        return make_ndbspl(self._grid, self._values, self._SPLINE_DEGREE_MAP[method])

    def __call__(self, xi, method=None, *, nu=None):
        """Interpolate at ``xi`` (shape ``(..., ndim)``), as scipy's
        ``RegularGridInterpolator.__call__``; ``nu`` (derivative orders)
        with the spline methods ``"slinear"``, ``"cubic"`` and ``"quintic"``."""
        method = self.method if method is None else method
        if method not in self._ALL_METHODS:
            raise ValueError(f"Method '{method}' is not defined")
        if method not in ("slinear", "cubic", "quintic"):
            return super().__call__(xi, method, nu=nu)
        spline = getattr(self, "_spline", None)
        if self.method != method or spline is None:
            self._validate_grid_dimensions(self._grid, method)
            spline = self._construct_spline(method)
        ndim = len(self._grid)
        xi = _ndim_coords(xi, ndim)
        if xi.shape[-1] != ndim:
            raise ValueError(
                "The requested sample points xi have dimension "
                f"{xi.shape[-1]} but this RegularGridInterpolator has dimension {ndim}"
            )
        xi_shape = xi.shape
        pts = np.asarray(xi.reshape(-1, ndim), dtype=float)
        fill = self.fill_value
        if self.bounds_error:
            policy = "raise"
        elif fill is None:
            policy = "polynomial"
        else:
            policy = "nan"
        try:
            out = spline(pts, nu=nu, extrapolate=policy)
        except FitError as e:
            axis = getattr(e, "axis", None)
            if axis is None:
                raise
            raise ValueError(
                f"One of the requested xi is out of bounds in dimension {axis}"
            ) from None
        if policy == "nan" and not (np.isscalar(fill) and np.isnan(fill)):
            lo = np.array([g[0] for g in self._grid])
            hi = np.array([g[-1] for g in self._grid])
            with np.errstate(invalid="ignore"):
                outside = np.any((pts < lo) | (pts > hi), axis=1)
            outside &= ~np.any(np.isnan(pts), axis=1)
            out[outside] = fill
        return getattr(self, "_asarray", np.asarray)(out.reshape(xi_shape[:-1] + out.shape[1:]))
