"""bsfit.torch.interpolate: an autograd.Function of the values and the points.

Oracles: torch.autograd.gradcheck and gradgradcheck (the analytic
gradients against finite differences of the function: order 1 through the
values, order 2 through the points and through both), and the library's
own spline for the forward values (bit for bit).
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import bsfit  # noqa: E402
import bsfit.torch as btorch  # noqa: E402


def grid(rng, shape):
    axes = []
    for n in shape:
        x = np.cumsum(rng.uniform(0.6, 1.4, size=n))
        axes.append((x - x[0]) / (x[-1] - x[0]))
    return tuple(axes)


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
    values = torch.tensor(rng.normal(size=shape + vshape), requires_grad=True)
    xi = torch.tensor(rng.uniform(0.05, 0.95, size=(4, len(shape))), requires_grad=True)
    return axes, values, xi, bc


def test_forward_equals_the_spline(case):
    axes, values, xi, bc = case
    s = bsfit.TensorSpline(axes, values.detach().numpy(), bc_type=bc)
    for nu in (None, (1,) + (0,) * (len(axes) - 1)):
        got = btorch.interpolate(axes, values, xi, nu=nu, bc_type=bc)
        assert got.dtype == torch.float64
        np.testing.assert_array_equal(got.detach().numpy(), s(xi.detach().numpy(), nu=nu))


def test_gradcheck_values_and_points(case):
    axes, values, xi, bc = case
    for nu in (None, (0,) * (len(axes) - 1) + (1,)):
        f = lambda v, p: btorch.interpolate(axes, v, p, nu=nu, bc_type=bc)  # noqa: E731
        assert torch.autograd.gradcheck(f, (values, xi))


def test_gradgradcheck_points(case):
    axes, values, xi, bc = case
    v = values.detach()
    for nu in (None, (1,) + (0,) * (len(axes) - 1)):
        f = lambda p: btorch.interpolate(axes, v, p, nu=nu, bc_type=bc)  # noqa: E731
        assert torch.autograd.gradgradcheck(f, (xi,))


def test_gradgradcheck_values_and_points(case):
    axes, values, xi, bc = case
    f = lambda v, p: btorch.interpolate(axes, v, p, bc_type=bc)  # noqa: E731
    assert torch.autograd.gradgradcheck(f, (values, xi))


def test_gradients_equal_the_library(case):
    axes, values, xi, bc = case
    vshape = tuple(values.shape[len(axes):])
    g = torch.tensor(np.random.default_rng(1).normal(size=(4,) + vshape))
    (g * btorch.interpolate(axes, values, xi, bc_type=bc)).sum().backward()
    x = xi.detach().numpy()
    f = bsfit.Fitter(axes, bc_type=bc)
    np.testing.assert_allclose(values.grad.numpy(), f.data_vjp(x, g.numpy()), atol=1e-14)
    grad = bsfit.TensorSpline(axes, values.detach().numpy(), bc_type=bc).grad(x)
    want = (np.expand_dims(g.numpy(), 1) * grad).reshape(grad.shape[:2] + (-1,)).sum(-1)
    np.testing.assert_allclose(xi.grad.numpy(), want, rtol=1e-13, atol=1e-13)


def test_bad_input():
    axes = (np.linspace(0, 1, 5), np.linspace(0, 1, 6))
    v = torch.zeros((5, 6), dtype=torch.float64)
    with pytest.raises(ValueError, match="grid of shape"):
        btorch.interpolate(axes, torch.zeros((5, 5)), torch.zeros((1, 2)))
    with pytest.raises(ValueError, match="2 coordinates"):
        btorch.interpolate(axes, v, torch.zeros((1, 3)))
    with pytest.raises(ValueError, match="nu"):
        btorch.interpolate(axes, v, torch.zeros((1, 2)), nu=(1, 0, 0))
    with pytest.raises(NotImplementedError, match="complex"):
        btorch.interpolate(axes, v.to(torch.complex128), torch.zeros((1, 2)))
    with pytest.raises(bsfit.FitError):
        btorch.interpolate(axes, v + float("nan"), torch.zeros((1, 2)))
