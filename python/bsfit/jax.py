"""JAX: the interpolating spline as a differentiable function of the data.

:func:`interpolate` fits the cubic tensor spline through ``values`` on a grid
and evaluates it (or a mixed partial) at points ``xi``, as a
``jax.custom_vjp`` function: gradients with respect to ``values`` are the
exact adjoint of the fit (:meth:`bsfit.Fitter.data_vjp`, no iterative solve
traced), gradients with respect to ``xi`` are the spline's own partials, and
both are differentiable again, to any order (each derivative is the same
pair of host computations with derivative orders raised by one). The
numbers come from bsfit's native code through ``jax.pure_callback``: the
function works under ``jit`` and ``vmap`` (a batch of points is one
evaluation, a batch of tables one fit per table), on the CPU host; on an
accelerator the arrays travel to the host and back. Reverse mode only (``grad``, ``vjp``,
``jacrev``; a ``custom_vjp`` function has no forward mode).

Use float64 (``jax.config.update("jax_enable_x64", True)``): with JAX's
default float32 the results are computed in float64 and rounded.

Examples
--------
>>> import jax, jax.numpy as jnp, numpy as np
>>> jax.config.update("jax_enable_x64", True)
>>> import bsfit.jax
>>> x = np.linspace(0.0, 1.0, 8); y = np.linspace(0.0, 2.0, 6)
>>> values = jnp.asarray(np.add.outer(x**2, y))              # x^2 + y
>>> loss = lambda v, p: bsfit.jax.interpolate((x, y), v, p).sum()
>>> gv, gp = jax.grad(loss, argnums=(0, 1))(values, jnp.array([[0.3, 1.1]]))
>>> gv.shape, np.round(np.asarray(gp), 12).tolist()        # d/dx = 2x, d/dy = 1
((8, 6), [[0.6, 1.0]])
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from . import FitError, Fitter, _autodiff

__all__ = ["interpolate"]


def interpolate(points, values, xi, *, nu=None, bc_type=None):
    """The spline through ``values`` on the grid ``points``, at ``xi``;
    differentiable with respect to ``values`` and ``xi``.

    Parameters
    ----------
    points : tuple of 1-D array_like
        The grid's sites per axis (as :class:`bsfit.TensorSpline`): concrete
        arrays, not traced (close over them under ``jit``).
    values : jax array, shape ``(m1, ..., mN) + vshape``
        Values on the grid, real; trailing dimensions ``vshape`` give a
        vector-valued spline.
    xi : jax array, shape ``(..., N)``
        Points, one per row.
    nu : sequence of int, optional
        Derivative order per axis (default: the value).
    bc_type : optional
        End conditions, as for :class:`bsfit.TensorSpline` (static; explicit
        end values are constants, not differentiated).

    Returns
    -------
    jax array, shape ``xi.shape[:-1] + vshape``
        Extrapolating outside the domain with the boundary polynomials
        (periodic axes wrap), like the spline's default.

    Raises
    ------
    TypeError
        For traced ``points`` or a non-numeric argument.
    ValueError
        For shapes that do not match the grid; :class:`bsfit.FitError` (a
        ValueError) for non-finite values (under ``jit``, where the values
        are traced, the fit's error reaches the caller as JAX's runtime
        error carrying the same message).
    NotImplementedError
        For complex values.
    """
    axes = _autodiff.static_points(points)
    fitter = Fitter(axes, bc_type)
    ndim = fitter.ndim
    orders = _autodiff.check_orders(nu, ndim)
    values = jnp.asarray(values)
    xi = jnp.asarray(xi)
    if jnp.iscomplexobj(values) or jnp.iscomplexobj(xi):
        raise NotImplementedError("bsfit.jax.interpolate: complex values are not supported")
    if values.shape[:ndim] != fitter.shape:
        raise ValueError(
            f"values of shape {values.shape} on a grid of shape {fitter.shape}: "
            "values must have the grid's shape, then the value shape"
        )
    if xi.ndim == 0 or xi.shape[-1] != ndim:
        raise ValueError(f"xi of shape {xi.shape}: the last axis must hold the {ndim} coordinates")
    if not isinstance(values, jax.core.Tracer):
        # Concrete values are checked here, where the error can be raised as
        # is (inside a callback it would reach the caller as a runtime error).
        bad = np.argwhere(~np.isfinite(np.asarray(values)))
        if bad.size:
            index = [int(i) for i in bad[0]]
            raise FitError(f"value at index {index} is not finite ({np.asarray(values)[tuple(index)]})")
    dtype = jnp.result_type(values, xi, 1.0)
    vshape = tuple(values.shape[ndim:])
    out = _evaluate(fitter, (orders,), vshape, dtype)(values.astype(dtype), xi.astype(dtype))
    return out.reshape(xi.shape[:-1] + vshape)


def _host(fn, dtype):
    """A host callback returning ``fn``'s result as a contiguous ``dtype`` array."""

    def call(*args):
        return np.ascontiguousarray(fn(*args), dtype=dtype)

    return call


def _contract(g, up, nlead, m, ndim, vshape):
    """``sum_{j, value dims} g[..., j, v] * up[..., j, k, v]``: shape lead + (ndim,).

    ``g``: lead + (m,) + vshape; ``up``: lead + (m * ndim,) + vshape."""
    lead = g.shape[:nlead]
    up = up.reshape(lead + (m, ndim) + vshape)
    prod = jnp.expand_dims(g, nlead + 1) * up
    axes = (nlead,) + tuple(range(nlead + 2, nlead + 2 + len(vshape)))
    return prod.sum(axis=axes)


def _evaluate(fitter, orders, vshape, dtype):
    """``(values, xi) -> partials orders of the spline of values at xi``
    (lead + (len(orders),) + vshape), with its derivatives defined."""
    ndim = fitter.ndim
    m = len(orders)
    host = _host(partial(_autodiff.evaluate, fitter, orders, vshape), dtype)

    @jax.custom_vjp
    def f(values, xi):
        shape = jax.ShapeDtypeStruct(xi.shape[:-1] + (m,) + vshape, dtype)
        return jax.pure_callback(host, shape, values, xi, vmap_method="expand_dims")

    def fwd(values, xi):
        return f(values, xi), (values, xi)

    def bwd(res, g):
        values, xi = res
        g_values = _transpose(fitter, orders, vshape, dtype)(xi, g)
        up = _evaluate(fitter, _autodiff.raised(orders, ndim), vshape, dtype)(values, xi)
        g_xi = _contract(g, up, xi.ndim - 1, m, ndim, vshape)
        return g_values, g_xi

    f.defvjp(fwd, bwd)
    return f


def _transpose(fitter, orders, vshape, dtype):
    """``(xi, g) -> sum_j data_vjp(xi, g[..., j, ...], orders[j])`` (the
    values' shape), with its derivatives defined."""
    ndim = fitter.ndim
    m = len(orders)

    @jax.custom_vjp
    def t(xi, g):
        host = _host(
            partial(_autodiff.transpose, fitter, orders, vshape, xi.ndim - 1), dtype
        )
        shape = jax.ShapeDtypeStruct(fitter.shape + vshape, dtype)
        return jax.pure_callback(host, shape, xi, g, vmap_method="expand_dims")

    def fwd(xi, g):
        return t(xi, g), (xi, g)

    def bwd(res, ct):
        xi, g = res
        # <ct, t(xi, g)> = sum g * evaluate(ct, xi): linear in g, and its
        # xi-derivative is the raised partials of the spline of ct.
        both = orders + _autodiff.raised(orders, ndim)
        s = _evaluate(fitter, both, vshape, dtype)(ct, xi)
        nlead = xi.ndim - 1
        g_g = s[(slice(None),) * nlead + (slice(0, m),)]
        up = s[(slice(None),) * nlead + (slice(m, None),)]
        return _contract(g, up, nlead, m, ndim, vshape), g_g

    t.defvjp(fwd, bwd)
    return t
