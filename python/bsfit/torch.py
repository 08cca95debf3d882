"""PyTorch: the interpolating spline as a differentiable function of the data.

:func:`interpolate` fits the cubic tensor spline through ``values`` on a grid
and evaluates it (or a mixed partial) at points ``xi``, as a
``torch.autograd.Function``: gradients with respect to ``values`` are the
exact adjoint of the fit (:meth:`bsfit.Fitter.data_vjp`), gradients with
respect to ``xi`` are the spline's own partials, and the backward passes are
themselves differentiable (``create_graph=True``: Hessians, double
backward), to any order. The numbers come from bsfit's native code on the
CPU (tensors on another device travel to the host and back).

Use float64 tensors for exact gradients (float32 inputs are computed in
float64 and rounded).

Examples
--------
>>> import numpy as np, torch
>>> import bsfit.torch
>>> x = np.linspace(0.0, 1.0, 8); y = np.linspace(0.0, 2.0, 6)
>>> values = torch.tensor(np.add.outer(x**2, y), requires_grad=True)   # x^2 + y
>>> p = torch.tensor([[0.3, 1.1]], dtype=torch.float64, requires_grad=True)
>>> bsfit.torch.interpolate((x, y), values, p).sum().backward()
>>> values.grad.shape, np.round(p.grad.numpy(), 12).tolist()        # d/dx = 2x, d/dy = 1
(torch.Size([8, 6]), [[0.6, 1.0]])
"""

from __future__ import annotations

import numpy as np
import torch

from . import Fitter, _autodiff

__all__ = ["interpolate"]


def interpolate(points, values, xi, *, nu=None, bc_type=None):
    """The spline through ``values`` on the grid ``points``, at ``xi``;
    differentiable with respect to ``values`` and ``xi``.

    Parameters
    ----------
    points : tuple of 1-D array_like
        The grid's sites per axis (as :class:`bsfit.TensorSpline`);
        constants, not differentiated.
    values : torch.Tensor, shape ``(m1, ..., mN) + vshape``
        Values on the grid, real; trailing dimensions ``vshape`` give a
        vector-valued spline.
    xi : torch.Tensor, shape ``(..., N)``
        Points, one per row.
    nu : sequence of int, optional
        Derivative order per axis (default: the value).
    bc_type : optional
        End conditions, as for :class:`bsfit.TensorSpline` (explicit end
        values are constants, not differentiated).

    Returns
    -------
    torch.Tensor, shape ``xi.shape[:-1] + vshape``
        On ``values``' device, in the floating dtype of the inputs;
        extrapolating outside the domain with the boundary polynomials
        (periodic axes wrap), like the spline's default.

    Raises
    ------
    TypeError
        For arguments that are not tensors or arrays of numbers.
    ValueError
        For shapes that do not match the grid; :class:`bsfit.FitError` (a
        ValueError) for non-finite values.
    NotImplementedError
        For complex values.
    """
    if isinstance(points, torch.Tensor):
        raise TypeError("points must be a tuple of 1-D arrays, one per axis")
    axes = _autodiff.static_points([_numpy(p) if isinstance(p, torch.Tensor) else p for p in points])
    fitter = Fitter(axes, bc_type)
    ndim = fitter.ndim
    orders = _autodiff.check_orders(nu, ndim)
    values = torch.as_tensor(values)
    xi = torch.as_tensor(xi)
    if values.is_complex() or xi.is_complex():
        raise NotImplementedError("bsfit.torch.interpolate: complex values are not supported")
    if tuple(values.shape[:ndim]) != fitter.shape:
        raise ValueError(
            f"values of shape {tuple(values.shape)} on a grid of shape {fitter.shape}: "
            "values must have the grid's shape, then the value shape"
        )
    if xi.ndim == 0 or xi.shape[-1] != ndim:
        raise ValueError(
            f"xi of shape {tuple(xi.shape)}: the last axis must hold the {ndim} coordinates"
        )
    floats = [t.dtype for t in (values, xi) if t.dtype.is_floating_point]
    dtype = floats[0] if floats else torch.get_default_dtype()
    if len(floats) == 2:
        dtype = torch.promote_types(*floats)
    vshape = tuple(values.shape[ndim:])
    out = _Evaluate.apply(fitter, (orders,), vshape, values.to(dtype), xi.to(device=values.device, dtype=dtype))
    return out.reshape(tuple(xi.shape[:-1]) + vshape)


def _numpy(t):
    return t.detach().cpu().numpy()


def _tensor(a, like):
    """The float64 array ``a`` as a tensor of ``like``'s dtype and device."""
    return torch.from_numpy(np.require(a, requirements=["C", "W"])).to(
        dtype=like.dtype, device=like.device
    )


def _contract(g, up, nlead, m, ndim, vshape):
    """``sum_{j, value dims} g[..., j, v] * up[..., j, k, v]``: shape lead + (ndim,).

    ``g``: lead + (m,) + vshape; ``up``: lead + (m * ndim,) + vshape."""
    lead = tuple(g.shape[:nlead])
    up = up.reshape(lead + (m, ndim) + vshape)
    prod = g.unsqueeze(nlead + 1) * up
    dims = (nlead,) + tuple(range(nlead + 2, nlead + 2 + len(vshape)))
    return prod.sum(dim=dims)


class _Evaluate(torch.autograd.Function):
    """``(values, xi) -> partials orders of the spline of values at xi``
    (lead + (len(orders),) + vshape)."""

    @staticmethod
    def forward(ctx, fitter, orders, vshape, values, xi):
        ctx.fitter, ctx.orders, ctx.vshape = fitter, orders, vshape
        ctx.save_for_backward(values, xi)
        out = _autodiff.evaluate(fitter, orders, vshape, _numpy(values), _numpy(xi))
        return _tensor(out, values)

    @staticmethod
    def backward(ctx, g):
        values, xi = ctx.saved_tensors
        fitter, orders, vshape = ctx.fitter, ctx.orders, ctx.vshape
        g_values = g_xi = None
        if ctx.needs_input_grad[3]:
            g_values = _Transpose.apply(fitter, orders, vshape, xi, g)
        if ctx.needs_input_grad[4]:
            raised = _autodiff.raised(orders, fitter.ndim)
            up = _Evaluate.apply(fitter, raised, vshape, values, xi)
            g_xi = _contract(g, up, xi.ndim - 1, len(orders), fitter.ndim, vshape)
        return None, None, None, g_values, g_xi


class _Transpose(torch.autograd.Function):
    """``(xi, g) -> sum_j data_vjp(xi, g[..., j, ...], orders[j])`` (the
    values' shape)."""

    @staticmethod
    def forward(ctx, fitter, orders, vshape, xi, g):
        ctx.fitter, ctx.orders, ctx.vshape = fitter, orders, vshape
        ctx.save_for_backward(xi, g)
        out = _autodiff.transpose(fitter, orders, vshape, xi.ndim - 1, _numpy(xi), _numpy(g))
        return _tensor(out, g)

    @staticmethod
    def backward(ctx, ct):
        xi, g = ctx.saved_tensors
        fitter, orders, vshape = ctx.fitter, ctx.orders, ctx.vshape
        ndim, m = fitter.ndim, len(orders)
        # <ct, t(xi, g)> = sum g * evaluate(ct, xi): linear in g, and its
        # xi-derivative is the raised partials of the spline of ct.
        both = orders + _autodiff.raised(orders, ndim)
        s = _Evaluate.apply(fitter, both, vshape, ct, xi)
        nlead = xi.ndim - 1
        g_g = s[(slice(None),) * nlead + (slice(0, m),)]
        up = s[(slice(None),) * nlead + (slice(m, None),)]
        g_xi = _contract(g, up, nlead, m, ndim, vshape) if ctx.needs_input_grad[3] else None
        return None, None, None, g_xi, g_g
