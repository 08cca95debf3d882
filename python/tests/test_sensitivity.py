"""Sensitivities to the data: Fitter.data_weights and Fitter.data_vjp.

Oracles from outside the code under test: scipy's make_interp_spline
fitted to unit vectors (its value or derivative at x is the weight of that
site), central finite differences of refits, and the dense tensor of the
per-axis weights against data_vjp with one-hot cotangents.
"""

import numpy as np
import pytest

import bsfit
from conftest import random_sites

scipy_interpolate = pytest.importorskip("scipy.interpolate")

BCS = ["not-a-knot", "natural", "clamped", "periodic"]


def scipy_weights(x, bc, x0, nu):
    """The weight of each site: scipy's spline through a unit vector, at x0."""
    n = len(x)
    w = np.zeros(n)
    for i in range(n):
        e = np.zeros(n)
        e[i] = 1.0
        if bc == "periodic":
            if i == n - 1:
                continue  # the repeated end: the fit does not read it
            if i == 0:
                e[-1] = 1.0
        s = scipy_interpolate.make_interp_spline(x, e, k=3, bc_type=bc)
        if bc == "periodic":
            s.extrapolate = "periodic"
        w[i] = s(x0, nu=nu)
    return w


@pytest.mark.parametrize("bc", BCS)
def test_weights_equal_scipy_per_axis(bc):
    rng = np.random.default_rng(3)
    x = random_sites(rng, 8)
    y = random_sites(rng, 6)
    f = bsfit.Fitter((x, y), bc_type=bc)
    for _ in range(4):
        span_x, span_y = x[-1] - x[0], y[-1] - y[0]
        pt = np.array(
            [rng.uniform(x[0] - 0.1 * span_x, x[-1] + 0.1 * span_x), rng.uniform(y[0], y[-1])]
        )
        for nu in ([0, 0], [1, 0], [2, 1]):
            wx, wy = f.data_weights(pt, nu=nu)
            ref_x = scipy_weights(x, bc, pt[0], nu[0])
            ref_y = scipy_weights(y, bc, pt[1], nu[1])
            assert np.allclose(wx, ref_x, rtol=1e-10, atol=1e-10 * np.abs(ref_x).max())
            assert np.allclose(wy, ref_y, rtol=1e-10, atol=1e-10 * np.abs(ref_y).max())


def objective(fitter, values, xi, g, nu):
    return float(np.sum(g * fitter.fit(values)(xi, nu=nu)))


@pytest.mark.parametrize("bc", [("natural", "periodic"), ("clamped", "not-a-knot")])
def test_vjp_equals_finite_differences_of_refits(bc):
    rng = np.random.default_rng(5)
    axes = (random_sites(rng, 6), random_sites(rng, 5))
    f = bsfit.Fitter(axes, bc_type=list(bc))
    v = rng.uniform(-2.0, 2.0, size=f.shape)
    if bc[1] == "periodic":
        v[:, -1] = v[:, 0]
    lo = np.array([a[0] for a in axes])
    hi = np.array([a[-1] for a in axes])
    xi = lo + rng.uniform(-0.1, 1.1, size=(9, 2)) * (hi - lo)
    g = rng.uniform(-1.0, 1.0, size=9)
    for nu in (None, [1, 0], [2, 1]):
        grad = f.data_vjp(xi, g, nu=nu)
        assert grad.shape == f.shape
        h = 1e-6 * 2.0
        tol = 1e-7 * np.abs(grad).max()
        for i in range(f.shape[0]):
            for j in range(f.shape[1]):
                js = [j]
                if bc[1] == "periodic" and j in (0, f.shape[1] - 1):
                    js = [0, f.shape[1] - 1]  # one node stored twice
                w = v.copy()
                w[i, js] += h
                up = objective(f, w, xi, g, nu)
                w[i, js] -= 2 * h
                fd = (up - objective(f, w, xi, g, nu)) / (2 * h)
                assert abs(fd - grad[i, js].sum()) <= tol, (nu, i, j)
        if bc[1] == "periodic":
            assert np.all(grad[:, -1] == 0.0)


def test_dense_weights_equal_one_hot_vjp_and_vector_cotangents():
    rng = np.random.default_rng(7)
    axes = tuple(random_sites(rng, n) for n in (5, 4, 6))
    f = bsfit.Fitter(axes, bc_type=["natural", "periodic", "not-a-knot"])
    pt = np.array([(a[0] + a[-1]) / 2 + 0.1 for a in axes])
    for nu in (None, [0, 1, 2]):
        w = f.data_weights(pt, nu=nu)
        dense = np.einsum("i,j,k->ijk", *w)
        grad = f.data_vjp(pt, 1.0, nu=nu)
        assert np.abs(grad - dense).max() <= 1e-13 * max(np.abs(dense).max(), 1.0)
        # Vector cotangents: one gradient per component, the values' shape.
        g = np.array([[0.5, -2.0, 1.0]])
        gv = f.data_vjp(pt[None, :], g, nu=nu)
        assert gv.shape == f.shape + (3,)
        for c in range(3):
            assert np.abs(gv[..., c] - g[0, c] * dense).max() <= 1e-13 * max(np.abs(dense).max(), 1.0)
    # The weights reproduce the fitted spline.
    v = rng.uniform(-1, 1, size=f.shape)
    v[:, -1, :] = v[:, 0, :]
    w = f.data_weights(pt)
    assert abs(np.einsum("ijk,i,j,k->", v, *w) - f.fit(v)(pt)) < 1e-12


def test_end_value_gradients_1d():
    x = np.array([0.0, 0.4, 1.1, 1.5, 2.6, 3.0])
    v = np.sin(x)
    ends = (0.7, -1.3)
    xi = np.array([[0.2], [1.9], [3.3]])
    g = np.array([1.0, -0.5, 0.25])

    def fitter(d):
        return bsfit.Fitter((x,), bc_type=([(1, d[0])], [(2, d[1])]))

    grad, (gl, gr) = fitter(ends).data_vjp(xi, g, nu=[1], return_ends=True)
    h = 1e-6
    for e, got in ((0, gl), (1, gr)):
        fds = []
        for s in (1, -1):
            d = list(ends)
            d[e] += s * h
            fds.append(objective(fitter(d), v, xi, g, [1]))
        fd = (fds[0] - fds[1]) / (2 * h)
        assert abs(fd - float(got)) <= 1e-7 * (np.abs(grad).max() + abs(gl) + abs(gr))
    assert fitter(ends).data_vjp(xi, g, return_ends=True)[1][0] is not None
    assert bsfit.Fitter((x,)).data_vjp(xi, g, return_ends=True)[1] == (None, None)


def test_errors():
    f = bsfit.Fitter((np.arange(5.0), np.arange(6.0)))
    with pytest.raises(ValueError):
        f.data_weights([1.0, 2.0, 3.0])
    with pytest.raises(ValueError):
        f.data_weights([1.0, 2.0], nu=[1])
    with pytest.raises(ValueError):
        f.data_vjp(np.zeros((3, 3)), np.zeros(3))
    with pytest.raises(ValueError):
        f.data_vjp(np.zeros((3, 2)), np.zeros(4))
    with pytest.raises(TypeError):
        f.data_vjp(np.zeros((3, 2)), np.zeros(3, dtype=complex))
