"""Dask: evaluate splines over chunked point clouds and fit many tables on a cluster.

* :func:`evaluate` -- a spline (or one of its partials) at a ``dask.array``
  of points, block by block (``map_blocks``): any chunking along the points,
  the result chunked like them. The spline travels to the workers once, as
  one task of the graph (splines pickle as their knots and coefficients).
* :func:`fit_many` -- many tables on one grid fitted in parallel: a dask
  array of tables gives a dask array of coefficients, a sequence of tables
  (arrays or ``dask.delayed`` objects) gives one delayed
  :class:`~bsfit.TensorSpline` per table. The fit plan
  (:class:`~bsfit.Fitter`) travels to the workers once.

Every block runs the same native code as a local call, so results are
bit for bit those of the local spline or fit.

Examples
--------
>>> import numpy as np, dask.array as da, bsfit, bsfit.dask
>>> x = np.linspace(0.0, 1.0, 10)
>>> s = bsfit.TensorSpline((x, x), np.add.outer(x, x**2))
>>> pts = da.random.default_rng(0).uniform(size=(10_000, 2), chunks=(2_500, 2))
>>> v = bsfit.dask.evaluate(s, pts)
>>> v.chunks
((2500, 2500, 2500, 2500),)
>>> bool((v.compute() == s(pts.compute())).all())
True
"""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np

from . import Fitter, TensorSpline

__all__ = ["evaluate", "fit_many"]


def _evaluate_block(xi, spline, nu, extrapolate):
    return spline(xi, nu=nu, extrapolate=extrapolate)


def evaluate(spline, xi, nu=None, extrapolate=None):
    """``spline(xi, nu, extrapolate)`` over a dask array of points.

    Parameters
    ----------
    spline : TensorSpline
        The spline (its shape and dtype are read here, so not a delayed one).
    xi : dask.array.Array or array_like, shape (..., ndim)
        Points, one per row, any chunks along the leading dimensions (the
        coordinate axis is rechunked to one chunk).
    nu, extrapolate : optional
        As for :meth:`bsfit.TensorSpline.__call__`.

    Returns
    -------
    dask.array.Array, shape ``xi.shape[:-1] + spline.value_shape``
        Chunked like ``xi``'s leading dimensions (the value dimensions in one
        chunk); ``spline.dtype``.

    Raises
    ------
    TypeError
        If ``spline`` is not a :class:`bsfit.TensorSpline`.
    ValueError
        If the last axis of ``xi`` does not hold ``spline.ndim`` coordinates.
    """
    if not isinstance(spline, TensorSpline):
        raise TypeError(f"spline must be a bsfit.TensorSpline, got {type(spline).__name__}")
    xi = da.asarray(xi)
    if xi.ndim == 0 or xi.shape[-1] != spline.ndim:
        raise ValueError(f"Shapes: xi.shape={xi.shape} and ndim={spline.ndim}")
    if not (np.issubdtype(xi.dtype, np.floating) or np.issubdtype(xi.dtype, np.integer)):
        raise TypeError(f"xi must be real numbers, got dtype {xi.dtype}")
    # Checks nu and extrapolate here, not in the first task.
    spline(np.zeros((0, spline.ndim)), nu=nu, extrapolate=extrapolate)
    xi = xi.rechunk({xi.ndim - 1: -1})
    vshape = spline.value_shape
    lead = xi.ndim - 1
    chunks = xi.chunks[:-1] + tuple((n,) for n in vshape)
    new_axis = list(range(lead, lead + len(vshape))) or None
    # One task holds the spline; every block depends on it.
    s = dask.delayed(spline, pure=True)
    return da.map_blocks(
        _evaluate_block,
        xi,
        s,
        nu,
        extrapolate,
        dtype=spline.dtype,
        chunks=chunks,
        drop_axis=lead,
        new_axis=new_axis,
        meta=np.empty((0,) * (lead + len(vshape)), dtype=spline.dtype),
    )


def _fit_block(tables, fitter):
    out = np.empty((tables.shape[0],) + fitter.coef_shape + tables.shape[1 + fitter.ndim:])
    for i, t in enumerate(tables):
        fitter.fit(t, out=out[i])
    return out


def _fit_one(table, fitter):
    return fitter.fit(table)


def fit_many(points, tables, *, bc_type=None):
    """Fit many tables on one grid in parallel (on a Dask cluster or locally).

    Parameters
    ----------
    points : tuple of 1-D array_like
        The grid's sites per axis, as for :class:`bsfit.TensorSpline`.
    tables : dask.array.Array or sequence
        Either a dask array of shape ``(m,) + grid shape + vshape`` (any
        chunks along the first axis, the others are rechunked to one chunk),
        or a sequence of tables, each an array (or a ``dask.delayed`` array)
        of shape ``grid shape + vshape``.
    bc_type : optional
        End conditions, as for :class:`bsfit.TensorSpline`.

    Returns
    -------
    dask.array.Array or list of dask.delayed
        For a dask array: the coefficients, shape ``(m,) +
        Fitter(points, bc_type).coef_shape + vshape``, chunked like
        ``tables`` along the first axis (``fitter.spline_from(c[i])`` makes
        spline ``i``). For a sequence: one delayed
        :class:`bsfit.TensorSpline` per table (``dask.compute(*result)``).

    Raises
    ------
    ValueError
        For a dask array whose shape does not match the grid (the values
        themselves are checked by each fit: :class:`bsfit.FitError`).
    TypeError
        For ``tables`` of another type.
    """
    fitter = Fitter(points, bc_type)
    f = dask.delayed(fitter, pure=True)
    ndim = fitter.ndim
    if isinstance(tables, da.Array):
        if tables.ndim < ndim + 1 or tables.shape[1 : ndim + 1] != fitter.shape:
            raise ValueError(
                f"tables of shape {tables.shape} on a grid of shape {fitter.shape}: "
                "want (number of tables,) + grid shape + value shape"
            )
        if np.issubdtype(tables.dtype, np.complexfloating):
            raise NotImplementedError("bsfit.dask.fit_many: complex tables are not supported")
        tables = tables.rechunk({k: -1 for k in range(1, tables.ndim)})
        vshape = tables.shape[ndim + 1 :]
        chunks = (tables.chunks[0],) + tuple((n,) for n in fitter.coef_shape + vshape)
        return da.map_blocks(
            _fit_block, tables, f, dtype=np.float64, chunks=chunks, meta=np.empty((0,) * tables.ndim)
        )
    if isinstance(tables, (str, bytes)) or not hasattr(tables, "__iter__"):
        raise TypeError(
            f"tables must be a dask array or a sequence of tables, got {type(tables).__name__}"
        )
    if isinstance(tables, np.ndarray):
        raise TypeError("tables must be a dask array or a sequence of tables, got one ndarray")
    fit = dask.delayed(_fit_one, pure=True)
    return [fit(t, f) for t in tables]
