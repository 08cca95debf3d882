"""bsfit.jax.interpolate: a custom_vjp function of the values and the points.

Oracles: jax.test_util.check_grads (the VJPs against central finite
differences of the function, order 1 through the values, order 2 through
the points and through both), the library's own spline for the forward
values (bit for bit), and loops of unbatched calls for vmap.
"""

import numpy as np
import pytest

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
from jax.test_util import check_grads  # noqa: E402

import bsfit  # noqa: E402
import bsfit.jax as bjax  # noqa: E402


def grid(rng, shape):
    """Mildly non-uniform sites on [0, 1] per axis (finite differences of
    step 1e-4 stay accurate on them)."""
    axes = []
    for n in shape:
        x = np.cumsum(rng.uniform(0.6, 1.4, size=n))
        axes.append((x - x[0]) / (x[-1] - x[0]))
    return tuple(axes)


def inside(rng, d, n):
    return rng.uniform(0.05, 0.95, size=(n, d))


CASES = {
    "2d": ((7, 6), (), None),
    "2d-vector-natural": ((6, 8), (2,), "natural"),
    "4d": ((5, 4, 6, 4), (), None),
}


@pytest.fixture(params=list(CASES))
def case(request):
    shape, vshape, bc = CASES[request.param]
    rng = np.random.default_rng(sum(shape))
    axes = grid(rng, shape)
    values = rng.normal(size=shape + vshape)
    xi = inside(rng, len(shape), 5)
    return axes, values, xi, bc


def test_forward_equals_the_spline(case):
    axes, values, xi, bc = case
    s = bsfit.TensorSpline(axes, values, bc_type=bc)
    for nu in (None, (1,) + (0,) * (len(axes) - 1), (0,) * (len(axes) - 1) + (2,)):
        got = bjax.interpolate(axes, jnp.asarray(values), jnp.asarray(xi), nu=nu, bc_type=bc)
        np.testing.assert_array_equal(np.asarray(got), s(xi, nu=nu))
    f = jax.jit(lambda v, p: bjax.interpolate(axes, v, p, bc_type=bc))
    np.testing.assert_array_equal(np.asarray(f(values, xi)), s(xi))


def test_check_grads_values_order_1(case):
    axes, values, xi, bc = case
    for nu in (None, (1,) + (0,) * (len(axes) - 1)):
        f = lambda v: bjax.interpolate(axes, v, xi, nu=nu, bc_type=bc)  # noqa: E731
        check_grads(f, (jnp.asarray(values),), order=1, modes=["rev"], eps=1e-6)


def test_check_grads_points_order_2(case):
    axes, values, xi, bc = case
    for nu in (None, (0,) * (len(axes) - 1) + (1,)):
        f = lambda p: bjax.interpolate(axes, values, p, nu=nu, bc_type=bc)  # noqa: E731
        check_grads(f, (jnp.asarray(xi),), order=2, modes=["rev"], eps=1e-6)


def test_check_grads_values_and_points_order_2(case):
    axes, values, xi, bc = case
    f = lambda v, p: bjax.interpolate(axes, v, p, bc_type=bc)  # noqa: E731
    check_grads(f, (jnp.asarray(values), jnp.asarray(xi)), order=2, modes=["rev"], eps=1e-6)


def test_gradients_equal_the_library(case):
    axes, values, xi, bc = case
    vshape = values.shape[len(axes):]
    rng = np.random.default_rng(2)
    g = rng.normal(size=xi.shape[:-1] + vshape)

    def loss(v, p):
        return jnp.sum(jnp.asarray(g) * bjax.interpolate(axes, v, p, bc_type=bc))

    gv, gp = jax.jit(jax.grad(loss, argnums=(0, 1)))(jnp.asarray(values), jnp.asarray(xi))
    f = bsfit.Fitter(axes, bc_type=bc)
    np.testing.assert_allclose(np.asarray(gv), f.data_vjp(xi, g), rtol=0, atol=1e-14)
    grad = bsfit.TensorSpline(axes, values, bc_type=bc).grad(xi)  # (n, d) + vshape
    want = (np.expand_dims(g, 1) * grad).reshape(grad.shape[:2] + (-1,)).sum(-1)
    np.testing.assert_allclose(np.asarray(gp), want, rtol=1e-13, atol=1e-13)
    # The Hessian through the points (reverse over reverse: a custom_vjp
    # function has no forward mode) is the spline's Hessian.
    if not vshape:
        h = jax.jacrev(jax.jacrev(lambda p: bjax.interpolate(axes, values, p, bc_type=bc)))(jnp.asarray(xi[0]))
        np.testing.assert_allclose(
            np.asarray(h), bsfit.TensorSpline(axes, values, bc_type=bc).hessian(xi[0]), atol=1e-12
        )


def test_vmap_over_points_tables_and_both():
    rng = np.random.default_rng(4)
    axes = grid(rng, (6, 7))
    tables = rng.normal(size=(3, 6, 7))
    pts = inside(rng, 2, 3 * 4).reshape(3, 4, 2)
    one = lambda v, p: bjax.interpolate(axes, v, p)  # noqa: E731
    s = [bsfit.TensorSpline(axes, t) for t in tables]
    got = jax.vmap(one, in_axes=(None, 0))(tables[0], pts)
    np.testing.assert_array_equal(np.asarray(got), np.stack([s[0](p) for p in pts]))
    got = jax.vmap(one, in_axes=(0, None))(tables, pts[0])
    np.testing.assert_array_equal(np.asarray(got), np.stack([si(pts[0]) for si in s]))
    got = jax.jit(jax.vmap(one))(tables, pts)
    np.testing.assert_array_equal(np.asarray(got), np.stack([si(p) for si, p in zip(s, pts)]))
    # Per-example gradients with respect to the table and the points.
    grads = jax.vmap(jax.grad(lambda v, p: one(v, p).sum(), argnums=(0, 1)))(tables, pts)
    f = bsfit.Fitter(axes)
    for i in range(3):
        np.testing.assert_allclose(
            np.asarray(grads[0][i]), f.data_vjp(pts[i], np.ones(4)), atol=1e-14
        )
        np.testing.assert_allclose(np.asarray(grads[1][i]), s[i].grad(pts[i]), atol=1e-13)


def test_bad_input():
    axes = (np.linspace(0, 1, 5), np.linspace(0, 1, 6))
    v = jnp.zeros((5, 6))
    with pytest.raises(ValueError, match="grid of shape"):
        bjax.interpolate(axes, jnp.zeros((5, 5)), jnp.zeros((1, 2)))
    with pytest.raises(ValueError, match="2 coordinates"):
        bjax.interpolate(axes, v, jnp.zeros((1, 3)))
    with pytest.raises(ValueError, match="nu"):
        bjax.interpolate(axes, v, jnp.zeros((1, 2)), nu=(1,))
    with pytest.raises(NotImplementedError, match="complex"):
        bjax.interpolate(axes, v + 1j, jnp.zeros((1, 2)))
    with pytest.raises(bsfit.FitError, match="not finite"):
        bjax.interpolate(axes, v.at[2, 3].set(jnp.nan), jnp.zeros((1, 2)))
    with pytest.raises(Exception, match="not finite"):
        jax.jit(lambda a: bjax.interpolate(axes, a, jnp.zeros((1, 2))))(v.at[2, 3].set(jnp.inf))
    with pytest.raises(TypeError, match="traced"):
        jax.jit(lambda a: bjax.interpolate((a, axes[1]), v, jnp.zeros((1, 2))))(axes[0])
