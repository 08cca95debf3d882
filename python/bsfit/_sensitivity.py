"""Sensitivities to the data: ``Fitter.data_weights`` and ``Fitter.data_vjp``.

The fit is linear in the values, so the spline a :class:`~bsfit.Fitter`
fits to values ``F`` has, at a point ``x``,
``s(x) = sum_i F[i] * w_0[i_0] * ... * w_{N-1}[i_{N-1}]``, with one short
weight vector per axis computed from the factorisations the fitter holds
(``data_weights``); the gradient of ``sum_p g_p * s(x_p)`` with respect to
``F`` (``data_vjp``) is one scatter and one transposed separable solve.
Exact (no finite differences, no iterative solve), for every boundary
condition; vector values share the weights.
"""

from __future__ import annotations

import numpy as np

from . import _bsfit


def data_weights(fitter, x, nu=None):
    """See :meth:`bsfit.Fitter.data_weights`."""
    from . import _as_orders, _as_real, _readonly

    ndim = fitter.ndim
    pt = _as_real(x, "x").reshape(-1)
    if pt.shape[0] != ndim:
        raise ValueError(f"x has {pt.shape[0]} coordinates but the grid has {ndim} dimensions")
    orders = _as_orders(nu, ndim)
    axes, _ends = _bsfit.fitter_data_weights(fitter._f, [float(v) for v in pt], orders)
    return tuple(_readonly(a) for a in axes)


def data_vjp(fitter, xi, g, nu=None, return_ends=False):
    """See :meth:`bsfit.Fitter.data_vjp`."""
    from . import _as_orders, _as_real

    ndim = fitter.ndim
    pts = _as_real(xi, "xi")
    if pts.ndim == 0 or pts.shape[-1] != ndim:
        raise ValueError(
            f"xi of shape {pts.shape}: the last axis must hold the {ndim} coordinates"
        )
    lead = pts.shape[:-1]
    cot = _as_real(g, "g")
    if cot.shape[: len(lead)] != lead:
        raise ValueError(
            f"g of shape {cot.shape} for points of shape {lead}: "
            "g must have shape xi.shape[:-1] + value shape"
        )
    vshape = cot.shape[len(lead):]
    n = int(np.prod(lead, dtype=np.int64))
    nc = int(np.prod(vshape, dtype=np.int64))
    if nc == 0:
        raise ValueError(f"empty value shape {vshape}")
    grad, left, right, end_shape = _bsfit.fitter_data_vjp(
        fitter._f,
        np.ascontiguousarray(pts.reshape(n, ndim)),
        np.ascontiguousarray(cot.reshape(n, nc)),
        _as_orders(nu, ndim),
        bool(return_ends),
    )
    out = grad.reshape(fitter.shape + vshape)
    if not return_ends:
        return out
    ends = tuple(
        None if e.size == 0 else e.reshape(tuple(end_shape) + vshape) for e in (left, right)
    )
    return out, ends
