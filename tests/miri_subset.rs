//! Small cases of the scalar fit and evaluation paths, sized for Miri
//! (`cargo +nightly miri test --test miri_subset`): they run the raw-pointer
//! line gather/scatter of the separable solve, the banded solver and the
//! Cox–de Boor kernels under Miri's checks for undefined behaviour. Exact
//! oracles: tensor cubics are reproduced, and a strided view fits like its copy.

use bsfit::{Fitter, Par, TensorSpline};
use ndarray::{Array2, Array3, s};

fn poly(x: f64, y: f64, z: f64) -> f64 {
    (1.0 + x - 0.5 * x * x * x) * (2.0 - y * y) * (0.5 + z)
}

#[test]
fn fit_3d_reproduces_cubic_and_evaluates() {
    let x = [0.0, 0.4, 1.0, 1.7, 2.0];
    let y = [-1.0, 0.0, 0.5, 1.0];
    let z = [0.0, 1.0, 1.5, 2.5, 3.0, 3.2];
    let v = Array3::from_shape_fn((5, 4, 6), |(i, j, k)| poly(x[i], y[j], z[k]));
    let f = Fitter::new([&x[..], &y[..], &z[..]])
        .unwrap()
        .with_par(Par::Seq);
    let sp = f.fit(v.view()).unwrap();
    for p in [[0.3, -0.2, 2.7], [1.9, 0.9, 0.1], [0.0, -1.0, 3.2]] {
        let want = poly(p[0], p[1], p[2]);
        assert!((sp.eval(p) - want).abs() < 1e-12 * (1.0 + want.abs()));
    }
    // ∂/∂z of the cubic is (1 + x - x³/2)(2 - y²).
    let g = sp.eval_grad([0.5, 0.5, 1.0]);
    assert!((g[2] - (1.0 + 0.5 - 0.0625) * 1.75).abs() < 1e-11);
    let many = sp.eval_many(&[[0.5, 0.5, 1.0], [1.0, 0.0, 2.0]]);
    assert_eq!(many[0], sp.eval([0.5, 0.5, 1.0]));
    let mut out = vec![0.0; 5 * 4 * 6];
    f.fit_into(v.as_slice().unwrap(), &mut out).unwrap();
    assert_eq!(out, sp.coefficients_slice());
}

#[test]
fn strided_view_fits_like_its_copy() {
    let big = Array2::from_shape_fn((10, 12), |(i, j)| (i * 12 + j) as f64 * 0.1);
    let view = big.slice(s![..;-2, 1..;2]);
    let a = [0.0, 1.0, 2.0, 3.0, 4.0];
    let b = [0.0, 0.5, 1.0, 2.0, 3.0, 3.5];
    let s1 = TensorSpline::fit([&a[..], &b[..]], view).unwrap();
    let s2 = TensorSpline::fit([&a[..], &b[..]], view.to_owned().view()).unwrap();
    assert_eq!(s1, s2);
}

/// The uniform 3D direct solve (raw-pointer lane scatter) and the stencil
/// operator, scalar kernels: `B (B⁻¹ f) = f` against each other.
#[test]
fn grid3_direct_solve_scalar() {
    use bsfit::Isa;
    use bsfit::grid3::direct::DirectPlan;
    use bsfit::grid3::operator::StencilOp;
    use bsfit::grid3::{Boundary, StencilForm};
    let shape = [3, 4, 5];
    let f: Vec<f64> = (0..60).map(|i| ((i * 37) % 11) as f64 - 5.0).collect();
    for bc in [
        [Boundary::Periodic; 3],
        [Boundary::Zero, Boundary::Mirror, Boundary::Periodic],
    ] {
        let mut c = vec![f64::NAN; 60];
        DirectPlan::<f64>::new(shape, bc, Par::Seq)
            .with_isa(Isa::Scalar)
            .unwrap()
            .solve(&f, &mut c);
        let mut back = vec![f64::NAN; 60];
        StencilOp::<f64>::bspline(shape, bc, false, StencilForm::Separable, Par::Seq)
            .with_isa(Isa::Scalar)
            .unwrap()
            .apply_slice(&c, &mut back);
        for (a, b) in back.iter().zip(&f) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
    }
}
