"""Host-side halves of the autodiff adapters (:mod:`bsfit.jax`, :mod:`bsfit.torch`).

Both adapters are built from two linear maps of one :class:`~bsfit.Fitter`
and a tuple of derivative orders ``(nu_1, ..., nu_m)``:

* ``evaluate(values, xi)``: the interpolating spline of ``values`` and its
  partials ``nu_j`` at the points ``xi``, shape
  ``xi.shape[:-1] + (m,) + vshape``;
* ``transpose(xi, g)``: the adjoint of ``evaluate`` with respect to the
  values, ``sum_j Fitter.data_vjp(xi, g[..., j, ...], nu_j)``, an array of
  the values' shape.

Every derivative of either map is a map of the same two kinds with orders
raised by one along an axis (see :func:`raised`), so the adapters define
derivatives of every order from these two host functions. Numbers are
computed by the library (one fit per call, then one evaluation or one
adjoint pass); this module only reshapes.

Batched calls (``vmap``, a batch of tables): the leading ``nb`` dimensions of
both arguments are batch dimensions (size 1 where an argument is not
batched). One table for all points is one fit and one evaluation; a batch
of tables is one fit per table (bit for bit the unbatched results). The
adjoint of a batch of cotangents on shared points is one pass with the
batch as a value dimension.
"""

from __future__ import annotations

import numpy as np


def raised(orders, ndim):
    """The orders of the first partials of each of ``orders``:
    ``[nu_j + e_k for j, for k]`` (``len(orders) * ndim`` entries)."""
    return tuple(
        tuple(o + (a == k) for a, o in enumerate(nu)) for nu in orders for k in range(ndim)
    )


def _batch(a, base_ndim):
    """``a``'s leading batch shape (its dimensions beyond ``base_ndim``)."""
    return a.shape[: a.ndim - base_ndim]


def evaluate(fitter, orders, vshape, values, xi):
    """``evaluate(values, xi)`` (see the module docs), float64, with leading
    batch dimensions shared by ``values`` and ``xi``."""
    ndim = fitter.ndim
    values = np.asarray(values, dtype=np.float64)
    xi = np.asarray(xi, dtype=np.float64)
    grid_ndim = ndim + len(vshape)
    vb = _batch(values, grid_ndim)
    nb = len(vb)
    xb = xi.shape[:nb]
    lead = xi.shape[nb:-1]
    bshape = np.broadcast_shapes(vb, xb)
    m = len(orders)
    if all(s == 1 for s in vb):
        s = fitter.fit(values.reshape(values.shape[nb:]))
        out = s.partials(xi, orders)  # xi's batch dimensions are more points
        if out.shape[:nb] == bshape:
            return out
        return np.broadcast_to(out, bshape + out.shape[nb:])
    out = np.empty(bshape + lead + (m,) + tuple(vshape))
    vals = np.broadcast_to(values, bshape + values.shape[nb:])
    pts = np.broadcast_to(xi, bshape + xi.shape[nb:])
    for b in np.ndindex(*bshape):
        out[b] = fitter.fit(vals[b]).partials(pts[b], orders)
    return out


def transpose(fitter, orders, vshape, lead_ndim, xi, g):
    """``transpose(xi, g)`` (see the module docs), float64, with leading
    batch dimensions shared by ``xi`` and ``g`` (``lead_ndim``: the number of
    point dimensions of ``xi`` without them)."""
    ndim = fitter.ndim
    xi = np.asarray(xi, dtype=np.float64)
    g = np.asarray(g, dtype=np.float64)
    vshape = tuple(vshape)
    # g: batch + lead + (m,) + vshape; xi: batch + lead + (ndim,).
    nb = xi.ndim - lead_ndim - 1
    lead = xi.shape[nb:-1]
    xb, gb = xi.shape[:nb], g.shape[:nb]
    bshape = np.broadcast_shapes(xb, gb)
    grid = fitter.shape

    def one(pts, cot, vs):
        out = np.zeros(grid + vs)
        for j, nu in enumerate(orders):
            out += fitter.data_vjp(pts, cot[(Ellipsis, j) + (slice(None),) * len(vs)], nu)
        return out

    if all(s == 1 for s in gb) and all(s == 1 for s in xb):
        out = one(xi.reshape(xi.shape[nb:]), g.reshape(g.shape[nb:]), vshape)
        return out if not bshape else np.broadcast_to(out, bshape + out.shape)
    if all(s == 1 for s in xb):
        # The cotangents' batch becomes one value dimension.
        cot = g.reshape((-1,) + g.shape[nb:])
        cot = np.moveaxis(cot, 0, len(lead) + 1)
        out = one(xi.reshape(xi.shape[nb:]), cot, (cot.shape[len(lead) + 1],) + vshape)
        out = np.moveaxis(out, ndim, 0)
        return out.reshape(gb + grid + vshape)
    out = np.empty(bshape + grid + vshape)
    pts = np.broadcast_to(xi, bshape + xi.shape[nb:])
    cot = np.broadcast_to(g, bshape + g.shape[nb:])
    for b in np.ndindex(*bshape):
        out[b] = one(pts[b], cot[b], vshape)
    return out


def check_orders(nu, ndim):
    """``nu`` as a tuple of ``ndim`` non-negative ints (``None``: zeros)."""
    if nu is None:
        return (0,) * ndim
    try:
        orders = tuple(int(o) for o in nu)
    except TypeError:
        raise TypeError(f"nu must be a sequence of {ndim} ints, got {nu!r}") from None
    if len(orders) != ndim:
        raise ValueError(f"nu has {len(orders)} orders but the grid has {ndim} dimensions")
    for k, o in enumerate(orders):
        if o < 0:
            raise ValueError(f"nu[{k}] = {o}: derivative orders must be >= 0")
    return orders


def static_points(points):
    """The grid's sites as concrete float64 arrays, one per axis."""
    if isinstance(points, np.ndarray) or np.isscalar(points):
        raise TypeError("points must be a tuple of 1-D arrays, one per axis")
    try:
        return tuple(np.asarray(p, dtype=np.float64) for p in points)
    except TypeError as e:
        raise TypeError(
            "points must be concrete arrays, not traced values "
            f"(under jax.jit, close over the grid instead of passing it): {e}"
        ) from None
