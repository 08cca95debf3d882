//! Adversarial inputs for the N-D fitter and evaluator: nearly coincident
//! sites, extreme magnitudes, constant data, minimal and degenerate axes,
//! unusual memory layouts, six dimensions, concurrent evaluation and reuse of
//! a fit plan. Oracles are exact identities (power-of-two scaling, constants,
//! polynomial reproduction, bit equality with a fresh or contiguous fit), not
//! values produced by the code under test.

use crate::common;
use bsfit::{FitError, Fitter, Par, TensorSpline};
use common::{Rng, TensorPoly, random_sites};
use ndarray::{Array, Array1, Array2, Array3, ArrayView, Dim, Dimension, IxDyn, ShapeBuilder, s};
use std::num::NonZeroUsize;

fn grid_values<const D: usize>(
    axes: &[Vec<f64>],
    f: impl Fn([f64; D]) -> f64,
) -> Array<f64, Dim<[usize; D]>>
where
    Dim<[usize; D]>: Dimension,
{
    let shape: Vec<usize> = axes.iter().map(|a| a.len()).collect();
    Array::from_shape_fn(IxDyn(&shape), |idx| {
        f(std::array::from_fn(|k| axes[k][idx[k]]))
    })
    .into_dimensionality::<Dim<[usize; D]>>()
    .unwrap()
}

fn axes_ref<const D: usize>(axes: &[Vec<f64>]) -> [&[f64]; D] {
    std::array::from_fn(|k| axes[k].as_slice())
}

/// `max_i |s(x_i) − v_i|` computed point by point.
fn residual<const D: usize>(
    s: &TensorSpline<D>,
    axes: &[Vec<f64>],
    v: &Array<f64, Dim<[usize; D]>>,
) -> f64
where
    Dim<[usize; D]>: Dimension,
{
    let shape = v.shape().to_vec();
    v.iter()
        .enumerate()
        .map(|(flat, &val)| {
            let mut rem = flat;
            let mut x = [0.0; D];
            for k in (0..D).rev() {
                x[k] = axes[k][rem % shape[k]];
                rem /= shape[k];
            }
            (s.eval(x) - val).abs()
        })
        .fold(0.0, f64::max)
}

#[test]
fn nearly_coincident_sites_fit_or_error_never_nan() {
    for rel in [1e-12, 1e-14, 1e-15, f64::EPSILON] {
        for n in [4usize, 5, 8, 20] {
            // Sites 1, 1+rel, 1+2rel, … then 2, 2+2rel, …: two clusters of
            // nearly coincident sites (relative spacing `rel`).
            let x: Vec<f64> = (0..n)
                .map(|i| {
                    let (base, j) = if i < n / 2 {
                        (1.0, i)
                    } else {
                        (2.0, i - n / 2)
                    };
                    base + base * rel * j as f64
                })
                .collect();
            assert!(x.windows(2).all(|w| w[0] < w[1]), "{x:?}");
            let mut rng = Rng(n as u64);
            let y = Array1::from_shape_fn(n, |_| rng.uniform(-1.0, 1.0));
            match TensorSpline::fit_with_report([&x[..]], y.view()) {
                Ok((s, report)) => {
                    assert!(s.coefficients_slice().iter().all(|c| c.is_finite()));
                    assert!(report.condition[0].is_finite() && report.condition[0] >= 1.0);
                    // Backward stable: residual bounded by eps · condition · |y|.
                    let tol = 1e3 * f64::EPSILON * report.condition[0];
                    assert!(
                        report.max_abs_residual <= tol,
                        "rel {rel} n {n}: {report:?}"
                    );
                }
                Err(e) => assert!(
                    matches!(
                        e,
                        FitError::SingularMatrix { axis: 0, .. }
                            | FitError::NonFiniteResult { axis: 0, .. }
                    ),
                    "rel {rel} n {n}: {e:?}"
                ),
            }
        }
    }
}

#[test]
fn adjacent_floats_as_sites() {
    // Consecutive representable numbers: spacing of one ulp.
    let mut x = vec![1.0f64];
    for _ in 0..5 {
        let last = *x.last().unwrap();
        x.push(next_up(last));
    }
    let y = Array1::from_vec(vec![0.0, 1.0, 0.0, 1.0, 0.0, 1.0]);
    match TensorSpline::fit([&x[..]], y.view()) {
        Ok(s) => assert!(s.coefficients_slice().iter().all(|c| c.is_finite())),
        Err(e) => assert!(!e.to_string().is_empty()),
    }
}

#[test]
fn power_of_two_scaling_is_exact_across_magnitudes() {
    // Scaling the values by 2^k scales the coefficients by exactly 2^k while
    // nothing under- or overflows: values from ~1e-271 to ~1e271.
    let mut rng = Rng(5);
    let axes: Vec<Vec<f64>> = vec![
        random_sites(&mut rng, 9, 0.0, 1.0),
        random_sites(&mut rng, 7, -2.0, 0.5),
    ];
    let base = grid_values::<2>(&axes, |x| (x[0] * 1.3).sin() + x[1] * x[1]);
    let s0 = TensorSpline::fit(axes_ref::<2>(&axes), base.view()).unwrap();
    for k in [-900, -500, -64, 64, 500, 900] {
        let f = 2f64.powi(k);
        let v = base.mapv(|a| a * f);
        let s = TensorSpline::fit(axes_ref::<2>(&axes), v.view()).unwrap();
        for (a, b) in s.coefficients_slice().iter().zip(s0.coefficients_slice()) {
            assert_eq!(*a, b * f, "2^{k}");
        }
    }
}

#[test]
fn values_spanning_1e_minus_300_to_1e300() {
    let n = 13;
    let x: Vec<f64> = (0..n).map(|i| i as f64).collect();
    let y = Array1::from_shape_fn(n, |i| {
        10f64.powf(-300.0 + 600.0 * i as f64 / (n - 1) as f64)
    });
    let (s, report) = TensorSpline::fit_with_report([&x[..]], y.view()).unwrap();
    assert!(s.coefficients_slice().iter().all(|c| c.is_finite()));
    // Relative to the largest value, the residual is at rounding level.
    assert!(report.max_rel_residual < 1e-14, "{report:?}");
    // Alternating signs at 1e300 stay finite; near f64::MAX the
    // coefficients overflow, which must be an error, never infinities.
    for amp in [1e300, 1.7e308] {
        let y = Array1::from_shape_fn(n, |i| if i % 2 == 0 { amp } else { -amp });
        match TensorSpline::fit([&x[..]], y.view()) {
            Ok(s) => {
                assert!(s.coefficients_slice().iter().all(|c| c.is_finite()));
                assert!(
                    residual(
                        &s,
                        std::slice::from_ref(&x),
                        &y.into_dimensionality().unwrap()
                    ) <= 1e-13 * amp
                );
            }
            Err(e) => assert!(
                matches!(e, FitError::NonFiniteResult { axis: 0, .. }),
                "{e:?}"
            ),
        }
    }
    // Subnormal values: no NaN, and zero stays zero.
    let y = Array1::from_shape_fn(n, |i| if i % 3 == 0 { 5e-324 } else { 0.0 });
    let s = TensorSpline::fit([&x[..]], y.view()).unwrap();
    assert!(s.coefficients_slice().iter().all(|c| c.is_finite()));
}

#[test]
fn constant_values_give_constant_coefficients() {
    let mut rng = Rng(11);
    let axes: Vec<Vec<f64>> = (0..3)
        .map(|k| random_sites(&mut rng, 5 + k, 0.0, 0.7))
        .collect();
    for c in [0.0, 1.0, -3.5, 1e300, -1e-300, 5e-324] {
        let v = grid_values::<3>(&axes, |_| c);
        let s = TensorSpline::fit(axes_ref::<3>(&axes), v.view()).unwrap();
        for &k in s.coefficients_slice() {
            // The constant is in the spline space with all coefficients equal to it.
            // Subnormal constants carry no relative precision: a few units
            // of the smallest subnormal are the resolution there.
            let floor = 16.0 * 5e-324;
            assert!(
                (k - c).abs() <= 16.0 * f64::EPSILON * c.abs() + floor,
                "{k} vs {c}"
            );
        }
        if c == 0.0 {
            assert!(s.coefficients_slice().iter().all(|&k| k == 0.0));
        }
        for _ in 0..20 {
            let x: [f64; 3] =
                std::array::from_fn(|k| rng.uniform(axes[k][0], *axes[k].last().unwrap()));
            assert!((s.eval(x) - c).abs() <= 64.0 * f64::EPSILON * c.abs() + 64.0 * 5e-324);
            assert!(s.eval_deriv(x, [1, 0, 0]).abs() <= 1e-10 * c.abs().max(f64::MIN_POSITIVE));
        }
    }
}

fn minimal_axes_case<const D: usize>()
where
    Dim<[usize; D]>: Dimension,
{
    let mut rng = Rng(D as u64 * 31);
    let axes: Vec<Vec<f64>> = (0..D)
        .map(|_| random_sites(&mut rng, 4, -1.0, 0.6))
        .collect();
    // Four sites per axis: the spline space is exactly the tensor cubics.
    let poly = TensorPoly::<D>::random(&mut rng, 2);
    let v = grid_values::<D>(&axes, |x| poly.deriv(x, [0; D]));
    let s = TensorSpline::fit(axes_ref::<D>(&axes), v.view()).unwrap();
    for _ in 0..50 {
        let x: [f64; D] = std::array::from_fn(|k| rng.uniform(axes[k][0], axes[k][3]));
        let want = poly.deriv(x, [0; D]);
        let scale = poly.abs_scale(x, [0; D]).max(1.0);
        assert!((s.eval(x) - want).abs() <= 1e-11 * scale, "D={D}");
    }
}

#[test]
fn minimal_axes_in_every_dimension() {
    minimal_axes_case::<1>();
    minimal_axes_case::<2>();
    minimal_axes_case::<3>();
    minimal_axes_case::<4>();
    minimal_axes_case::<5>();
    minimal_axes_case::<6>();
}

fn degenerate_axis_case<const D: usize>()
where
    Dim<[usize; D]>: Dimension,
{
    for bad in 0..D {
        let axes: Vec<Vec<f64>> = (0..D)
            .map(|k| {
                if k == bad {
                    vec![0.5]
                } else {
                    vec![0.0, 1.0, 2.0, 3.0]
                }
            })
            .collect();
        let v = grid_values::<D>(&axes, |_| 1.0);
        let err = TensorSpline::fit(axes_ref::<D>(&axes), v.view()).unwrap_err();
        assert_eq!(
            err,
            FitError::AxisTooShort {
                axis: bad,
                len: 1,
                min: 4
            },
            "D={D}"
        );
        assert!(err.to_string().contains(&format!("axis {bad}")));
    }
    // Every axis of length 1: the first is reported.
    let axes: Vec<Vec<f64>> = vec![vec![0.0]; D];
    let v = grid_values::<D>(&axes, |_| 1.0);
    let err = TensorSpline::fit(axes_ref::<D>(&axes), v.view()).unwrap_err();
    assert_eq!(
        err,
        FitError::AxisTooShort {
            axis: 0,
            len: 1,
            min: 4
        }
    );
}

#[test]
fn degenerate_length_one_axis_is_an_error() {
    degenerate_axis_case::<1>();
    degenerate_axis_case::<2>();
    degenerate_axis_case::<3>();
    degenerate_axis_case::<4>();
    degenerate_axis_case::<5>();
    degenerate_axis_case::<6>();
}

#[test]
fn non_contiguous_and_negative_stride_views() {
    let mut rng = Rng(3);
    let big = Array3::from_shape_fn((14, 9, 12), |_| rng.uniform(-1.0, 1.0));
    let x: Vec<f64> = (0..7).map(|i| i as f64 * 0.5).collect();
    let y: Vec<f64> = (0..9).map(|i| (i as f64).powf(1.2)).collect();
    let z: Vec<f64> = (0..6).map(|i| i as f64 - 3.0).collect();
    let axes = [&x[..], &y[..], &z[..]];
    let views: Vec<ArrayView<'_, f64, ndarray::Ix3>> = vec![
        big.slice(s![..;2, .., ..;2]),
        big.slice(s![..;-2, .., 1..;2]),
        big.slice(s![1..8, ..;-1, ..;-2]),
        big.slice(s![7..;1, .., 6..]),
    ];
    for (i, v) in views.into_iter().enumerate() {
        let fresh = v.as_standard_layout().into_owned();
        assert!(i == 3 || v.as_slice().is_none());
        let a = TensorSpline::fit(axes, v).unwrap();
        let b = TensorSpline::fit(axes, fresh.view()).unwrap();
        assert_eq!(a.coefficients_slice(), b.coefficients_slice(), "view {i}");
    }
    // Column-major storage.
    let mut f = Array3::<f64>::zeros((7, 9, 6).f());
    f.assign(&big.slice(s![..7, .., ..6]));
    let a = TensorSpline::fit(axes, f.view()).unwrap();
    let b = TensorSpline::fit(
        axes,
        big.slice(s![..7, .., ..6]).as_standard_layout().view(),
    )
    .unwrap();
    assert_eq!(a.coefficients_slice(), b.coefficients_slice());
}

#[test]
fn six_dimensional_grid() {
    let mut rng = Rng(66);
    let sizes = [5usize, 4, 6, 4, 5, 4];
    let axes: Vec<Vec<f64>> = sizes
        .iter()
        .map(|&n| {
            let start = rng.uniform(-1.0, 1.0);
            random_sites(&mut rng, n, start, 0.5)
        })
        .collect();
    let poly = TensorPoly::<6>::random(&mut rng, 2);
    let v = grid_values::<6>(&axes, |x| poly.deriv(x, [0; 6]));
    let (s, report) = TensorSpline::fit_with_report(axes_ref::<6>(&axes), v.view()).unwrap();
    assert!(report.max_rel_residual < 1e-13, "{report:?}");
    for _ in 0..100 {
        let x: [f64; 6] =
            std::array::from_fn(|k| rng.uniform(axes[k][0], *axes[k].last().unwrap()));
        let scale = poly.abs_scale(x, [0; 6]).max(1.0);
        assert!((s.eval(x) - poly.deriv(x, [0; 6])).abs() <= 1e-11 * scale);
        let mut o = [0; 6];
        o[2] = 1;
        o[5] = 2;
        let sc = poly.abs_scale(x, o).max(scale);
        assert!((s.eval_deriv(x, o) - poly.deriv(x, o)).abs() <= 1e-8 * sc);
    }
}

#[test]
fn concurrent_evaluation_matches_sequential() {
    let mut rng = Rng(8);
    let axes: Vec<Vec<f64>> = (0..3)
        .map(|_| random_sites(&mut rng, 20, 0.0, 0.2))
        .collect();
    let v = grid_values::<3>(&axes, |x| (x[0] + 2.0 * x[1]).sin() * x[2].cos());
    let s = TensorSpline::fit(axes_ref::<3>(&axes), v.view()).unwrap();
    let pts: Vec<[f64; 3]> = (0..4000)
        .map(|_| std::array::from_fn(|_| rng.uniform(-0.5, 4.5)))
        .collect();
    let seq: Vec<f64> = pts.iter().map(|p| s.eval(*p)).collect();
    let seq_grad: Vec<[f64; 3]> = pts.iter().map(|p| s.eval_grad(*p)).collect();
    let shared = &s;
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|t| {
                let pts = &pts;
                scope.spawn(move || {
                    // Each thread walks the points in a different order.
                    let mut out = vec![0.0; pts.len()];
                    let mut grads = vec![[0.0; 3]; pts.len()];
                    for j in 0..pts.len() {
                        let i = (j * 7 + t * 613) % pts.len();
                        out[i] = shared.eval(pts[i]);
                        grads[i] = shared.eval_grad(pts[i]);
                    }
                    (out, grads, shared.eval_many(pts))
                })
            })
            .collect();
        for h in handles {
            let (out, grads, many) = h.join().unwrap();
            assert_eq!(out, seq);
            assert_eq!(many, seq);
            assert_eq!(grads, seq_grad);
        }
    });
}

#[test]
fn reused_plan_and_interleaved_shapes_match_fresh_fits() {
    let mut rng = Rng(21);
    let ax_a: Vec<Vec<f64>> = vec![
        random_sites(&mut rng, 12, 0.0, 0.3),
        random_sites(&mut rng, 9, 1.0, 0.2),
    ];
    let ax_b: Vec<Vec<f64>> = vec![
        random_sites(&mut rng, 4, 0.0, 1.0),
        random_sites(&mut rng, 31, 1.0, 0.1),
    ];
    let fa = Fitter::new(axes_ref::<2>(&ax_a)).unwrap();
    let fb = Fitter::new(axes_ref::<2>(&ax_b)).unwrap();
    for round in 0..6 {
        let (f, ax) = if round % 2 == 0 {
            (&fa, &ax_a)
        } else {
            (&fb, &ax_b)
        };
        let shape = (ax[0].len(), ax[1].len());
        let v = Array2::from_shape_fn(shape, |_| rng.uniform(-10.0, 10.0));
        let fresh = TensorSpline::fit(axes_ref::<2>(ax), v.view()).unwrap();
        let reused = f.fit(v.view()).unwrap();
        assert_eq!(reused, fresh, "round {round}");
        // A dirty output buffer is fully overwritten.
        let mut out = vec![f64::NAN; shape.0 * shape.1];
        f.fit_into(v.as_slice().unwrap(), &mut out).unwrap();
        assert_eq!(out, fresh.coefficients_slice());
        // A failed fit in between leaves the plan usable.
        let mut bad = v.clone();
        bad[[1, 2]] = f64::NAN;
        assert!(
            matches!(f.fit(bad.view()), Err(FitError::NonFiniteValue { ref index, .. }) if index == &vec![1, 2])
        );
    }
}

#[test]
fn parallel_and_sequential_fits_are_bit_identical() {
    // Above the size where the fit goes parallel.
    let mut rng = Rng(77);
    let axes: Vec<Vec<f64>> = [40usize, 30, 31]
        .iter()
        .map(|&n| random_sites(&mut rng, n, 0.0, 0.1))
        .collect();
    let v = grid_values::<3>(&axes, |x| x[0] * x[1] - x[2].sin());
    let seq = Fitter::new(axes_ref::<3>(&axes))
        .unwrap()
        .with_par(Par::Seq)
        .fit(v.view())
        .unwrap();
    for threads in [1usize, 2, 3, 8] {
        let par = Fitter::new(axes_ref::<3>(&axes))
            .unwrap()
            .with_par(Par::Rayon(NonZeroUsize::new(threads).unwrap()))
            .fit(v.view())
            .unwrap();
        assert_eq!(par, seq, "{threads} threads");
    }
}

#[test]
fn from_parts_rejects_non_finite_coefficients() {
    let t = vec![0.0, 0.0, 0.0, 0.0, 3.0, 3.0, 3.0, 3.0];
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let err = TensorSpline::<1>::from_parts([t.clone()], vec![1.0, 2.0, bad, 4.0]).unwrap_err();
        assert!(
            matches!(err, FitError::InvalidData(ref m) if m.contains("coefficient 2")),
            "{err:?}"
        );
    }
}

#[test]
fn evaluation_at_extreme_points_never_panics() {
    let x: Vec<f64> = vec![0.0, 0.5, 1.5, 2.0, 3.0];
    let v = Array2::from_shape_fn((5, 5), |(i, j)| (i * j) as f64);
    let s = TensorSpline::fit([&x[..], &x[..]], v.view()).unwrap();
    let specials = [
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        1e308,
        -1e308,
        5e-324,
        -0.0,
        next_up(3.0f64),
        next_down(0.0f64),
    ];
    for &a in &specials {
        for &b in &specials {
            let val = s.eval([a, b]);
            if a.is_nan() || b.is_nan() {
                assert!(val.is_nan());
            }
            let _ = s.eval_grad([a, b]);
            for o in 0..=4 {
                let _ = s.eval_deriv([a, b], [o, 4 - o]);
            }
        }
    }
    // Just outside the domain the boundary piece continues smoothly.
    let inside = s.eval([3.0, 1.0]);
    assert!((s.eval([next_up(3.0f64), 1.0]) - inside).abs() < 1e-12);
}

/// The next representable number above `x` (`f64::next_up`, which needs Rust 1.86).
fn next_up(x: f64) -> f64 {
    if x.is_nan() || x == f64::INFINITY {
        x
    } else if x == 0.0 {
        f64::from_bits(1)
    } else if x > 0.0 {
        f64::from_bits(x.to_bits() + 1)
    } else {
        f64::from_bits(x.to_bits() - 1)
    }
}

/// The next representable number below `x`.
fn next_down(x: f64) -> f64 {
    -next_up(-x)
}

// ---- The uniform 3D path ----

use bsfit::grid3::{Boundary, Formulation, Method, SolveOptions, prefilter, prefilter_f32, solve};

fn grid3_data(scale: f64) -> Array3<f64> {
    let mut rng = Rng(303);
    Array3::from_shape_fn((6, 5, 7), |_| rng.uniform(-1.0, 1.0) * scale)
}

const BOUNDARIES: [[Boundary; 3]; 3] = [
    [Boundary::Periodic; 3],
    [Boundary::Zero, Boundary::Mirror, Boundary::Periodic],
    [Boundary::Mirror; 3],
];

#[test]
fn grid3_prefilter_overflow_is_an_error_not_infinity() {
    for bc in BOUNDARIES {
        // Alternating ±f64::MAX: the coefficients are 3× larger per axis.
        let f = Array3::from_shape_fn((4, 4, 4), |(i, j, k)| {
            if (i + j + k) % 2 == 0 {
                f64::MAX
            } else {
                -f64::MAX
            }
        });
        match prefilter(f.view(), bc) {
            Err(FitError::NonFiniteResult { axis, condition }) => {
                assert!(axis < 3 && condition == 3.0);
            }
            other => panic!("{bc:?}: expected NonFiniteResult, got {other:?}"),
        }
        // 1e300 stays far from overflow: finite, and exactly 2^k-scalable.
        let c = prefilter(grid3_data(1.0).view(), bc).unwrap();
        let big = prefilter(grid3_data(2f64.powi(990)).view(), bc).unwrap();
        for (a, b) in big.iter().zip(c.iter()) {
            assert_eq!(*a, b * 2f64.powi(990));
        }
    }
}

#[test]
fn grid3_iterative_solvers_handle_tiny_and_huge_data() {
    // Before scaling, squared norms of data ~1e-300 underflowed to 0 and the
    // solvers reported convergence at c = 0.
    for scale in [1e-300, 1e-160, 1.0, 1e160, 1e300] {
        for bc in BOUNDARIES {
            let f = grid3_data(scale);
            let exact = prefilter(f.view(), bc).unwrap();
            for method in [Method::Cg, Method::Pcg3, Method::Chebyshev, Method::Jacobi] {
                for formulation in [Formulation::Interpolate, Formulation::NormalEquations] {
                    let mut o = SolveOptions::new(method, formulation);
                    o.common.tol = 1e-10;
                    let (c, report) = solve(f.view(), bc, &o)
                        .unwrap_or_else(|e| panic!("{scale:e} {bc:?} {method:?}: {e}"));
                    assert!(
                        report.data_residual <= 1e-9,
                        "{scale:e} {method:?}: {report:?}"
                    );
                    let cmax = exact.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                    for (a, b) in c.iter().zip(exact.iter()) {
                        assert!(
                            (a - b).abs() <= 1e-8 * cmax,
                            "{scale:e} {bc:?} {method:?} {formulation:?}: {a:e} vs {b:e}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn grid3_f32_agrees_with_f64_and_degenerate_extents() {
    for bc in BOUNDARIES {
        for shape in [(1, 1, 1), (1, 2, 3), (2, 2, 2), (6, 5, 7)] {
            let mut rng = Rng(shape.0 as u64 * 7 + shape.2 as u64);
            let f = Array3::from_shape_fn(shape, |_| rng.uniform(-1.0, 1.0));
            let c = prefilter(f.view(), bc).unwrap();
            let c32 = prefilter_f32(f.mapv(|v| v as f32).view(), bc).unwrap();
            for (a, b) in c32.iter().zip(c.iter()) {
                assert!((*a as f64 - b).abs() <= 27.0 * 16.0 * f32::EPSILON as f64);
            }
        }
    }
    let empty = Array3::<f64>::zeros((3, 0, 2));
    assert_eq!(
        prefilter(empty.view(), [Boundary::Periodic; 3]).unwrap_err(),
        FitError::AxisTooShort {
            axis: 1,
            len: 0,
            min: 1
        }
    );
}
