//! Degrees 1, 3 and 5 per axis: polynomial reproduction of tensor products
//! of polynomials of each axis' degree (values and every partial, against
//! the polynomials' own derivatives), fit-then-evaluate on the grid,
//! partials against central differences, grid queries against point
//! queries, every ISA against the scalar reference, the extrapolation
//! policies, vector values against per-component fits, and the typed errors
//! (too few sites, unsupported degrees and conditions).

use crate::common::{Rng, random_sites};
use bsfit::tensor::{Partial, Query};
use bsfit::{BoundaryCondition, Degree, DynFitter, Extrapolate, FitError, Fitter, Isa};
use ndarray::{Array2, ArrayD, IxDyn};

/// A polynomial of degree `k` in one variable with random coefficients.
#[derive(Clone, Debug)]
struct Poly(Vec<f64>);

impl Poly {
    fn random(rng: &mut Rng, k: usize) -> Poly {
        Poly((0..=k).map(|_| rng.uniform(-1.0, 1.0)).collect())
    }
    fn deriv(&self, x: f64, order: usize) -> f64 {
        let mut s = 0.0;
        for (i, &c) in self.0.iter().enumerate() {
            if i >= order {
                let mut f = 1.0;
                for j in 0..order {
                    f *= (i - j) as f64;
                }
                s += c * f * x.powi((i - order) as i32);
            }
        }
        s
    }
}

/// `Σ_t Π_a p_{t,a}(x_a)`: a sum of tensor products of per-axis
/// polynomials of each axis' degree, which a spline of those degrees
/// reproduces exactly.
struct TensorPoly {
    terms: Vec<Vec<Poly>>,
}

impl TensorPoly {
    fn random(rng: &mut Rng, degrees: &[usize], terms: usize) -> Self {
        TensorPoly {
            terms: (0..terms)
                .map(|_| degrees.iter().map(|&k| Poly::random(rng, k)).collect())
                .collect(),
        }
    }
    fn deriv(&self, x: &[f64], orders: &[usize]) -> f64 {
        self.terms
            .iter()
            .map(|t| {
                t.iter()
                    .zip(x)
                    .zip(orders)
                    .map(|((p, &xa), &o)| p.deriv(xa, o))
                    .product::<f64>()
            })
            .sum()
    }
}

fn degree(k: usize) -> Degree {
    Degree::try_from(k).unwrap()
}

/// Row-major values of `f` on the grid `axes`.
fn grid_values(axes: &[Vec<f64>], f: impl Fn(&[f64]) -> f64) -> Vec<f64> {
    let shape: Vec<usize> = axes.iter().map(|a| a.len()).collect();
    let total: usize = shape.iter().product();
    (0..total)
        .map(|mut q| {
            let mut x = vec![0.0; axes.len()];
            for a in (0..axes.len()).rev() {
                x[a] = axes[a][q % shape[a]];
                q /= shape[a];
            }
            f(&x)
        })
        .collect()
}

fn fit_dyn(axes: &[Vec<f64>], degrees: &[usize], values: &[f64]) -> bsfit::DynSpline {
    let refs: Vec<&[f64]> = axes.iter().map(|a| &a[..]).collect();
    let bc = vec![BoundaryCondition::NOT_A_KNOT; axes.len()];
    let ks: Vec<Degree> = degrees.iter().map(|&k| degree(k)).collect();
    DynFitter::with_boundary_degrees(&refs, &bc, &ks)
        .unwrap()
        .fit(values)
        .unwrap()
}

/// The degree sets tried in 1 to 4 dimensions (mixed per axis).
const CASES: [&[usize]; 17] = [
    &[1],
    &[2],
    &[3],
    &[4],
    &[5],
    &[2, 4],
    &[4, 3, 2],
    &[2, 5, 1, 4],
    &[1, 5],
    &[5, 3],
    &[5, 5],
    &[1, 1],
    &[3, 1, 5],
    &[5, 5, 1],
    &[1, 3, 5, 3],
    &[5, 5, 5, 5],
    &[5, 1, 3, 1],
];

#[test]
fn polynomials_of_each_axis_degree_are_reproduced_with_all_partials() {
    let mut rng = Rng::new(51);
    for degrees in CASES {
        let d = degrees.len();
        let axes: Vec<Vec<f64>> = degrees
            .iter()
            .map(|&k| {
                let n = k + 1 + (rng.uniform(0.0, 4.0) as usize);
                random_sites(&mut rng, n, -1.0, 2.0 / n as f64)
            })
            .collect();
        let f = TensorPoly::random(&mut rng, degrees, 2);
        let values = grid_values(&axes, |x| f.deriv(x, &vec![0; d]));
        let s = fit_dyn(&axes, degrees, &values);
        assert_eq!(
            s.degrees(),
            degrees.iter().map(|&k| degree(k)).collect::<Vec<_>>()
        );
        // Points inside and somewhat outside the domain (extrapolation with
        // the boundary pieces reproduces the polynomial too).
        let npts = 40;
        let pts = Array2::from_shape_fn((npts, d), |(_, a)| {
            let (lo, hi) = (axes[a][0], axes[a][axes[a].len() - 1]);
            let w = hi - lo;
            rng.uniform(lo - 0.1 * w, hi + 0.1 * w)
        });
        // Every order up to degree + 1 per axis, one axis at a time, plus
        // mixed first partials.
        let mut outputs = vec![Partial::VALUE];
        for a in 0..d {
            for o in 1..=degrees[a] + 1 {
                let mut orders = vec![0; d];
                orders[a] = o;
                outputs.push(Partial::new(&orders).unwrap());
            }
        }
        if d >= 2 {
            outputs.push(Partial::d2(0, 1));
        }
        let q = Query::at(pts.view()).outputs(&outputs);
        let got = s.evaluate(&q).unwrap();
        let scale = 1.0
            + grid_values(&axes, |x| f.deriv(x, &vec![0; d]).abs())
                .iter()
                .fold(0.0f64, |m, v| m.max(*v));
        for i in 0..npts {
            let x: Vec<f64> = pts.row(i).to_vec();
            for (j, p) in outputs.iter().enumerate() {
                let orders: Vec<usize> = (0..d).map(|a| p.order(a)).collect();
                let want = f.deriv(&x, &orders);
                let g = got[[i, j]];
                let tol = 1e-10 * scale * 10f64.powi(orders.iter().sum::<usize>() as i32);
                assert!(
                    (g - want).abs() <= tol,
                    "degrees {degrees:?} point {x:?} orders {orders:?}: {g} vs {want}"
                );
            }
        }
    }
}

#[test]
fn fit_then_evaluate_reproduces_the_grid_values() {
    let mut rng = Rng::new(52);
    for degrees in CASES {
        let d = degrees.len();
        let axes: Vec<Vec<f64>> = degrees
            .iter()
            .map(|&k| {
                let n = k + 1 + (rng.uniform(0.0, 5.0) as usize);
                random_sites(&mut rng, n, 0.0, 1.0)
            })
            .collect();
        let values: Vec<f64> = grid_values(&axes, |x| x.iter().map(|v| v.sin()).sum::<f64>())
            .iter()
            .map(|v| v + rng.uniform(-0.5, 0.5))
            .collect();
        let s = fit_dyn(&axes, degrees, &values);
        let refs: Vec<&[f64]> = axes.iter().map(|a| &a[..]).collect();
        let on_grid = s.evaluate(&Query::grid(&refs)).unwrap();
        assert_eq!(on_grid.len(), values.len());
        for (g, v) in on_grid.iter().zip(&values) {
            assert!(
                (g - v).abs() < 1e-11,
                "degrees {degrees:?} ({d}D): {g} vs {v}"
            );
        }
    }
}

#[test]
fn partials_match_central_differences() {
    let mut rng = Rng::new(53);
    for degrees in [&[5usize, 3][..], &[5, 1, 5][..], &[3, 5, 1, 5][..]] {
        let d = degrees.len();
        let axes: Vec<Vec<f64>> = degrees
            .iter()
            .map(|_| random_sites(&mut rng, 9, 0.0, 0.5))
            .collect();
        let values = grid_values(&axes, |x| {
            x.iter()
                .enumerate()
                .map(|(a, v)| ((a + 1) as f64 * v).cos())
                .product::<f64>()
        });
        let s = fit_dyn(&axes, degrees, &values);
        let h = 1e-6;
        for _ in 0..20 {
            let x: Vec<f64> = axes
                .iter()
                .map(|a| rng.uniform(a[0] + 0.05, a[a.len() - 1] - 0.05))
                .collect();
            for a in 0..d {
                if degrees[a] == 1 {
                    continue; // kinks at the sites: differences across them are not derivatives
                }
                let mut orders = vec![0; d];
                orders[a] = 1;
                let mut xp = x.clone();
                let mut xm = x.clone();
                xp[a] += h;
                xm[a] -= h;
                let fd = (s.eval(&xp).unwrap() - s.eval(&xm).unwrap()) / (2.0 * h);
                let got = s.eval_deriv(&x, &orders).unwrap();
                assert!(
                    (got - fd).abs() < 1e-6,
                    "{degrees:?} axis {a}: {got} vs {fd}"
                );
                // Second derivative from differences of first derivatives.
                let mut o2 = orders.clone();
                o2[a] = 2;
                let fd2 = (s.eval_deriv(&xp, &orders).unwrap()
                    - s.eval_deriv(&xm, &orders).unwrap())
                    / (2.0 * h);
                let got2 = s.eval_deriv(&x, &o2).unwrap();
                assert!(
                    (got2 - fd2).abs() < 1e-5 * (1.0 + got2.abs()),
                    "{degrees:?} d2 axis {a}: {got2} vs {fd2}"
                );
            }
        }
        // Gradient and Hessian entry points agree with the partials.
        let x: Vec<f64> = axes.iter().map(|a| 0.5 * (a[0] + a[a.len() - 1])).collect();
        let mut g = vec![0.0; d];
        s.grad_into(&x, &mut g).unwrap();
        let mut hm = vec![0.0; d * d];
        s.hessian_into(&x, &mut hm).unwrap();
        for a in 0..d {
            let mut o = vec![0; d];
            o[a] = 1;
            assert_eq!(g[a], s.eval_deriv(&x, &o).unwrap());
            for b in 0..d {
                let mut o = vec![0; d];
                o[a] += 1;
                o[b] += 1;
                let want = s.eval_deriv(&x, &o).unwrap();
                assert!((hm[a * d + b] - want).abs() <= 1e-12 * (1.0 + want.abs()));
            }
        }
    }
}

#[test]
fn grid_queries_equal_point_queries_under_every_policy() {
    let mut rng = Rng::new(54);
    let degrees = [5usize, 1, 3];
    let axes: Vec<Vec<f64>> = degrees
        .iter()
        .map(|&k| random_sites(&mut rng, k + 4, 0.0, 1.0))
        .collect();
    let values: Vec<f64> = grid_values(&axes, |x| x[0] * x[0] - x[1] * x[2] + x[2].sin());
    let s = fit_dyn(&axes, &degrees, &values);
    let coords: Vec<Vec<f64>> = axes
        .iter()
        .map(|a| {
            let (lo, hi) = (a[0], a[a.len() - 1]);
            (0..7)
                .map(|i| lo - 0.5 + (hi - lo + 1.0) * i as f64 / 6.0)
                .collect()
        })
        .collect();
    let refs: Vec<&[f64]> = coords.iter().map(|c| &c[..]).collect();
    let outputs = [
        Partial::VALUE,
        Partial::d(0),
        Partial::d2(0, 2),
        Partial::d(1),
    ];
    for policy in [
        Extrapolate::Polynomial,
        Extrapolate::Clamp,
        Extrapolate::Nan,
    ] {
        let grid = s
            .evaluate(&Query::grid(&refs).outputs(&outputs).policy(policy))
            .unwrap();
        let pts: Vec<f64> = grid_values(&coords, |_| 0.0)
            .iter()
            .enumerate()
            .flat_map(|(q, _)| {
                let (i, j, k) = (q / 49, (q / 7) % 7, q % 7);
                [coords[0][i], coords[1][j], coords[2][k]]
            })
            .collect();
        let pts = Array2::from_shape_vec((343, 3), pts).unwrap();
        let rows = s
            .evaluate(&Query::at(pts.view()).outputs(&outputs).policy(policy))
            .unwrap();
        let flat_g: Vec<f64> = grid.iter().copied().collect();
        let flat_r: Vec<f64> = rows.iter().copied().collect();
        assert_eq!(flat_g.len(), flat_r.len());
        for (q, (a, b)) in flat_g.iter().zip(&flat_r).enumerate() {
            assert!(
                a == b || (a.is_nan() && b.is_nan()),
                "{policy:?} {q}: {a} vs {b}"
            );
        }
        // The policies themselves: clamp evaluates at the clamped point,
        // NaN outside, polynomial extrapolates.
        for i in 0..343 {
            let x: Vec<f64> = pts.row(i).to_vec();
            let inside = (0..3).all(|a| x[a] >= axes[a][0] && x[a] <= axes[a][axes[a].len() - 1]);
            let clamped: Vec<f64> = (0..3)
                .map(|a| x[a].clamp(axes[a][0], axes[a][axes[a].len() - 1]))
                .collect();
            let v = rows[[i, 0]];
            match policy {
                Extrapolate::Nan => assert_eq!(v.is_nan(), !inside),
                Extrapolate::Clamp => assert_eq!(v, s.eval(&clamped).unwrap()),
                _ => assert!(v.is_finite()),
            }
        }
    }
    // Under Error the first point outside is reported.
    let err = s
        .evaluate(&Query::grid(&refs).policy(Extrapolate::Error))
        .unwrap_err();
    assert!(matches!(err, FitError::OutsideDomain { .. }));
}

#[test]
fn every_isa_matches_the_scalar_reference() {
    let mut rng = Rng::new(55);
    for degrees in [[5usize, 5, 5, 5], [1, 3, 5, 1], [5, 1, 1, 5]] {
        let axes: Vec<Vec<f64>> = (0..4)
            .map(|a| random_sites(&mut rng, [13, 9, 8, 7][a], 0.0, 1.0))
            .collect();
        let refs: [&[f64]; 4] = std::array::from_fn(|a| &axes[a][..]);
        let ks = degrees.map(degree);
        let fitter = Fitter::with_degrees(refs, ks).unwrap();
        let values = ndarray::Array4::from_shape_fn((13, 9, 8, 7), |_| rng.uniform(-1.0, 1.0));
        let s = fitter.fit(values.view()).unwrap();
        let reference = s.clone().with_isa(Isa::Scalar).unwrap();
        for n in [1usize, 2, 3, 7, 8, 9, 17, 257, 3000] {
            let pts = Array2::from_shape_fn((n, 4), |(_, a)| {
                rng.uniform(axes[a][0] - 0.3, axes[a][axes[a].len() - 1] + 0.3)
            });
            let outputs = [Partial::VALUE, Partial::d(1), Partial::d2(0, 3)];
            let q = Query::at(pts.view()).outputs(&outputs);
            let want = reference.evaluate(&q).unwrap();
            for isa in Isa::available() {
                let got = s.clone().with_isa(isa).unwrap().evaluate(&q).unwrap();
                for (g, w) in got.iter().zip(want.iter()) {
                    assert!(
                        (g - w).abs() <= 1e-12 * (1.0 + w.abs()),
                        "{isa:?} n={n}: {g} vs {w}"
                    );
                }
            }
        }
    }
}

#[test]
fn vector_values_equal_per_component_fits() {
    let mut rng = Rng::new(56);
    let axes: Vec<Vec<f64>> = vec![
        random_sites(&mut rng, 8, 0.0, 1.0),
        random_sites(&mut rng, 5, 0.0, 1.0),
    ];
    let refs: [&[f64]; 2] = [&axes[0], &axes[1]];
    let fitter = Fitter::with_degrees(refs, [Degree::Quintic, Degree::Linear]).unwrap();
    let nc = 3;
    let vals = ArrayD::from_shape_fn(IxDyn(&[8, 5, nc]), |_| rng.uniform(-1.0, 1.0));
    let sv = fitter.fit_vector(vals.view()).unwrap();
    let pts = Array2::from_shape_fn((50, 2), |(_, a)| {
        rng.uniform(axes[a][0] - 0.2, axes[a][axes[a].len() - 1])
    });
    let outputs = [Partial::VALUE, Partial::d(0)];
    let got = sv
        .evaluate(&Query::at(pts.view()).outputs(&outputs))
        .unwrap();
    for c in 0..nc {
        let comp = vals
            .index_axis(ndarray::Axis(2), c)
            .to_owned()
            .into_dimensionality::<ndarray::Ix2>()
            .unwrap();
        let s = fitter.fit(comp.view()).unwrap();
        let want = s
            .evaluate(&Query::at(pts.view()).outputs(&outputs))
            .unwrap();
        for i in 0..50 {
            for j in 0..2 {
                let (g, w) = (got[[i, j, c]], want[[i, j]]);
                assert!((g - w).abs() <= 1e-12 * (1.0 + w.abs()));
            }
        }
    }
}

#[test]
fn typed_errors_for_short_axes_and_unsupported_degrees() {
    let x = [0.0, 1.0, 2.0, 3.0, 4.0];
    // k = 5 needs 6 sites.
    assert!(matches!(
        Fitter::with_degrees([&x[..], &x[..]], [Degree::Cubic, Degree::Quintic]),
        Err(FitError::AxisTooShort {
            axis: 1,
            len: 5,
            min: 6
        })
    ));
    // k = 1 needs 2, k = 3 needs 4.
    assert!(Fitter::with_degrees([&x[..2]], [Degree::Linear]).is_ok());
    assert!(matches!(
        Fitter::with_degrees([&x[..1]], [Degree::Linear]),
        Err(FitError::AxisTooShort {
            axis: 0,
            len: 1,
            min: 2
        })
    ));
    for k in [0usize, 6, 7] {
        assert!(
            matches!(Degree::try_from(k), Err(FitError::Unsupported { .. })),
            "{k}"
        );
        assert!(matches!(
            k.to_string().parse::<Degree>(),
            Err(FitError::Unsupported { .. })
        ));
    }
    assert!(matches!(
        "cubicc".parse::<Degree>(),
        Err(FitError::InvalidParameter { .. })
    ));
    for (s, k) in [("1", 1), ("3", 3), ("5", 5), ("linear", 1), ("quintic", 5)] {
        assert_eq!(s.parse::<Degree>().unwrap().get(), k);
    }
    // Other conditions at degree 1 and 5 are not implemented.
    let x6 = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    for bc in [
        BoundaryCondition::NATURAL,
        BoundaryCondition::PERIODIC,
        BoundaryCondition::CLAMPED,
    ] {
        for k in [Degree::Linear, Degree::Quintic] {
            assert!(matches!(
                Fitter::with_boundary_degrees([&x6[..]], [bc], [k]),
                Err(FitError::Unsupported { .. })
            ));
        }
    }
    // The sensitivities refuse degrees other than 3.
    let fitter = Fitter::with_degrees([&x6[..]], [Degree::Quintic]).unwrap();
    let mut out = vec![0.0; 7];
    let mut ends = [0.0; 2];
    assert!(matches!(
        fitter.data_weights_into([1.5], [0], &mut out, &mut ends),
        Err(FitError::Unsupported { .. })
    ));
    // Knots given by hand are checked against their degree.
    let t = vec![0.0, 0.0, 1.0, 2.0, 2.0];
    assert!(
        bsfit::DynSpline::from_parts_degrees(
            vec![t.clone()],
            vec![1.0, 2.0, 3.0],
            &[false],
            &[],
            &[Degree::Linear]
        )
        .is_ok()
    );
    assert!(
        bsfit::DynSpline::from_parts_degrees(
            vec![t],
            vec![1.0, 2.0, 3.0],
            &[false],
            &[],
            &[Degree::Cubic]
        )
        .is_err()
    );
}

#[test]
fn linear_interpolates_between_sites_and_reaches_the_fit_of_scipy() {
    // k = 1: the coefficients are the values; between sites the spline is
    // the chord.
    let x = [0.0, 1.0, 3.0, 3.5];
    let y = ndarray::arr1(&[1.0, -1.0, 2.0, 0.0]);
    let s = Fitter::with_degrees([&x[..]], [Degree::Linear])
        .unwrap()
        .fit(y.view())
        .unwrap();
    assert_eq!(s.coefficients_slice(), &[1.0, -1.0, 2.0, 0.0]);
    assert_eq!(s.knots(0), &[0.0, 0.0, 1.0, 3.0, 3.5, 3.5]);
    assert!((s.eval([2.0]) - 0.5).abs() < 1e-15);
    assert!((s.eval_deriv([2.0], [1]) - 1.5).abs() < 1e-15);
    assert_eq!(s.eval_deriv([2.0], [2]), 0.0);
    assert_eq!(s.domain(), [(0.0, 3.5)]);
}
