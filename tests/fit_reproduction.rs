//! Exact reproduction of tensor-product cubic polynomials (they lie in the
//! spline space, so interpolation must return them exactly), the fit's
//! linearity, interpolation of arbitrary data on the grid, and extrapolation.

use crate::common;
use bsfit::{Fitter, TensorSpline};
use common::{Rng, TensorPoly, random_sites};
use ndarray::{Array, Dim, Dimension, IxDyn};

/// Builds the grid, samples `f` on it (row-major), fits, and returns the spline and axes.
fn fit_fn<const D: usize>(axes: &[Vec<f64>], f: impl Fn([f64; D]) -> f64) -> TensorSpline<D>
where
    Dim<[usize; D]>: Dimension,
{
    let shape: Vec<usize> = axes.iter().map(|a| a.len()).collect();
    let values = Array::from_shape_fn(IxDyn(&shape), |idx| {
        f(std::array::from_fn(|k| axes[k][idx[k]]))
    });
    let values = values.into_dimensionality::<Dim<[usize; D]>>().unwrap();
    let ax: [&[f64]; D] = std::array::from_fn(|k| axes[k].as_slice());
    TensorSpline::fit(ax, values.view()).unwrap()
}

fn check_poly<const D: usize>(seed: u64, sizes: [usize; D])
where
    Dim<[usize; D]>: Dimension,
{
    let mut rng = Rng(seed);
    let axes: Vec<Vec<f64>> = sizes
        .iter()
        .map(|&n| random_sites(&mut rng, n, rng_start(seed), 3.0 / n as f64))
        .collect();
    let poly = TensorPoly::<D>::random(&mut rng, 3);
    let s = fit_fn::<D>(&axes, |x| poly.deriv(x, [0; D]));
    let mut prng = Rng(seed ^ 0xABCD);
    let order_sets: Vec<[usize; D]> = {
        let mut v = vec![[0; D]];
        for k in 0..D {
            for o in 1..=3 {
                let mut a = [0; D];
                a[k] = o;
                v.push(a);
            }
        }
        // A mixed second partial and a mixed (2,1) partial.
        if D >= 2 {
            let mut a = [0; D];
            a[0] = 1;
            a[D - 1] = 1;
            v.push(a);
            let mut b = [0; D];
            b[0] = 2;
            b[1] = 1;
            v.push(b);
        }
        v
    };
    for orders in order_sets {
        for _ in 0..100 {
            // Points inside the domain and up to two end spacings outside
            // (extrapolation continues the boundary pieces, which are the
            // polynomial itself; further out, rounding in the coefficients
            // is amplified like (distance / spacing)^3).
            let x: [f64; D] = std::array::from_fn(|k| {
                let a = &axes[k];
                let n = a.len();
                let (lo, hi) = (
                    a[0] - 2.0 * (a[1] - a[0]),
                    a[n - 1] + 2.0 * (a[n - 1] - a[n - 2]),
                );
                prng.uniform(lo, hi)
            });
            let want = poly.deriv(x, orders);
            let got = s.eval_deriv(x, orders);
            // Relative to the magnitude of the terms (so cancellation in the sum
            // does not shrink the scale); a derivative of order m carries the
            // value's rounding amplified by up to ~(1/h)^m.
            let sc = poly
                .abs_scale(x, orders)
                .max(poly.abs_scale(x, [0; D]))
                .max(1e-3);
            let tol = 1e-11 * sc * 30f64.powi(orders.iter().sum::<usize>() as i32);
            assert!(
                (got - want).abs() <= tol,
                "D={D} sizes={sizes:?} orders={orders:?} x={x:?}: got {got}, want {want}, tol {tol}"
            );
        }
    }
    // eval agrees with eval_deriv(order 0) and eval_many; gradient agrees with partials.
    let pts: Vec<[f64; D]> = (0..50)
        .map(|_| std::array::from_fn(|k| prng.uniform(axes[k][0], *axes[k].last().unwrap())))
        .collect();
    let many = s.eval_many(&pts);
    for (p, m) in pts.iter().zip(&many) {
        assert_eq!(s.eval(*p), *m);
        assert_eq!(s.eval_deriv(*p, [0; D]), *m);
        let g = s.eval_grad(*p);
        for k in 0..D {
            let mut o = [0; D];
            o[k] = 1;
            assert!((g[k] - s.eval_deriv(*p, o)).abs() <= 1e-13 * (1.0 + g[k].abs()));
        }
    }
}

fn rng_start(seed: u64) -> f64 {
    -1.0 + (seed % 7) as f64 * 0.1
}

#[test]
fn reproduces_cubics_1d() {
    for (seed, n) in [(1, 4), (2, 5), (3, 6), (4, 7), (5, 17), (6, 100)] {
        check_poly::<1>(seed, [n]);
    }
}

#[test]
fn reproduces_cubics_2d() {
    check_poly::<2>(11, [4, 4]);
    check_poly::<2>(12, [9, 5]);
    check_poly::<2>(13, [30, 17]);
}

#[test]
fn reproduces_cubics_3d() {
    check_poly::<3>(21, [4, 5, 6]);
    check_poly::<3>(22, [12, 9, 20]);
}

#[test]
fn reproduces_cubics_4d() {
    check_poly::<4>(31, [4, 4, 4, 4]);
    check_poly::<4>(32, [11, 7, 6, 5]);
    check_poly::<4>(33, [50, 30, 20, 10]);
}

#[test]
fn reproduces_cubics_5d() {
    check_poly::<5>(41, [6, 5, 4, 7, 5]);
}

#[test]
fn reproduces_cubics_6d() {
    check_poly::<6>(51, [5, 4, 6, 4, 5, 4]);
}

#[test]
fn interpolates_arbitrary_data_on_the_grid() {
    let mut rng = Rng(77);
    let axes: Vec<Vec<f64>> = [13usize, 8, 6, 5]
        .iter()
        .map(|&n| random_sites(&mut rng, n, 0.0, 1.0))
        .collect();
    let shape: Vec<usize> = axes.iter().map(|a| a.len()).collect();
    let vals = Array::from_shape_fn(IxDyn(&shape), |_| rng.uniform(-5.0, 5.0))
        .into_dimensionality::<ndarray::Ix4>()
        .unwrap();
    let ax: [&[f64]; 4] = std::array::from_fn(|k| axes[k].as_slice());
    let (s, report) = TensorSpline::fit_with_report(ax, vals.view()).unwrap();
    assert!(report.max_abs_residual < 1e-12, "{report:?}");
    for c in report.condition {
        assert!(c.is_finite() && c >= 1.0);
    }
    for (idx, &v) in vals.indexed_iter() {
        let x = [
            axes[0][idx.0],
            axes[1][idx.1],
            axes[2][idx.2],
            axes[3][idx.3],
        ];
        assert!((s.eval(x) - v).abs() < 1e-12);
    }
    assert_eq!(s.coefficients().shape(), vals.shape());
    for k in 0..4 {
        assert_eq!(s.knots(k).len(), axes[k].len() + 4);
    }
}

#[test]
fn fit_is_linear() {
    let mut rng = Rng(5);
    let axes: Vec<Vec<f64>> = [9usize, 7, 6]
        .iter()
        .map(|&n| random_sites(&mut rng, n, -1.0, 0.5))
        .collect();
    let shape: Vec<usize> = axes.iter().map(|a| a.len()).collect();
    let mk = |rng: &mut Rng| {
        Array::from_shape_fn(IxDyn(&shape), |_| rng.uniform(-1.0, 1.0))
            .into_dimensionality::<ndarray::Ix3>()
            .unwrap()
    };
    let (f, g) = (mk(&mut rng), mk(&mut rng));
    let (a, b) = (2.5, -0.75);
    let h = &f * a + &g * b;
    let fitter = Fitter::new([&axes[0][..], &axes[1][..], &axes[2][..]]).unwrap();
    let (cf, cg, ch) = (
        fitter.fit(f.view()).unwrap(),
        fitter.fit(g.view()).unwrap(),
        fitter.fit(h.view()).unwrap(),
    );
    for ((x, y), z) in cf
        .coefficients()
        .iter()
        .zip(cg.coefficients().iter())
        .zip(ch.coefficients().iter())
    {
        assert!((a * x + b * y - z).abs() < 1e-12);
    }
}

#[test]
fn any_memory_layout_gives_the_same_fit() {
    let mut rng = Rng(9);
    let x = random_sites(&mut rng, 7, 0.0, 1.0);
    let y = random_sites(&mut rng, 5, 0.0, 1.0);
    let z = random_sites(&mut rng, 6, 0.0, 1.0);
    let v = Array::from_shape_fn((7, 5, 6), |_| rng.uniform(-1.0, 1.0));
    let reference = TensorSpline::fit([&x[..], &y[..], &z[..]], v.view()).unwrap();
    // Fortran order.
    let mut f = Array::zeros(ndarray::ShapeBuilder::f(v.raw_dim()));
    f.assign(&v);
    let s_f = TensorSpline::fit([&x[..], &y[..], &z[..]], f.view()).unwrap();
    assert_eq!(s_f.coefficients(), reference.coefficients());
    // Negative strides: reverse an axis of a bigger array and its sites.
    // Negative strides: a standard-layout array holding v reversed along axis 1,
    // viewed with that axis inverted again (logically equal to v, stride < 0).
    let stored = Array::from_shape_fn((7, 5, 6), |(i, j, k)| v[[i, 4 - j, k]]);
    let mut flipped = stored.view();
    flipped.invert_axis(ndarray::Axis(1));
    assert!(flipped.strides()[1] < 0);
    let s_n = TensorSpline::fit([&x[..], &y[..], &z[..]], flipped).unwrap();
    assert_eq!(s_n.coefficients(), reference.coefficients());
    // A strided (sliced) view.
    let big = Array::from_shape_fn((14, 5, 6), |(i, j, k)| {
        if i % 2 == 0 {
            v[[i / 2, j, k]]
        } else {
            f64::NAN
        }
    });
    let s_s = TensorSpline::fit(
        [&x[..], &y[..], &z[..]],
        big.slice(ndarray::s![..;2, .., ..]),
    )
    .unwrap();
    assert_eq!(s_s.coefficients(), reference.coefficients());
}

#[test]
fn sequential_and_parallel_fits_agree() {
    let mut rng = Rng(19);
    let axes: Vec<Vec<f64>> = [40usize, 30, 20, 10]
        .iter()
        .map(|&n| random_sites(&mut rng, n, 0.0, 1.0))
        .collect();
    let shape: Vec<usize> = axes.iter().map(|a| a.len()).collect();
    let v = Array::from_shape_fn(IxDyn(&shape), |_| rng.uniform(-1.0, 1.0))
        .into_dimensionality::<ndarray::Ix4>()
        .unwrap();
    let ax: [&[f64]; 4] = std::array::from_fn(|k| axes[k].as_slice());
    let seq = Fitter::new(ax)
        .unwrap()
        .with_par(bsfit::Par::Seq)
        .fit(v.view())
        .unwrap();
    let par = Fitter::new(ax)
        .unwrap()
        .with_par(bsfit::Par::with_threads(4))
        .fit(v.view())
        .unwrap();
    assert_eq!(seq.coefficients(), par.coefficients());
}
