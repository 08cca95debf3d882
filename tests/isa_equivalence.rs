//! Every available ISA against the scalar reference: whole fits (both pass
//! schemes) and evaluation. Remainder-heavy sizes, dirty (NaN-filled)
//! buffers, seeded inputs. The single kernels (banded solves, transposes,
//! Cox–de Boor) are compared in the crate's own tests (`src/isa/checked.rs`).

use crate::common;

use bsfit::bspline::knots::find_span;
use bsfit::tensor::{FitScheme, Partial, Query};
use bsfit::{FitError, Fitter, Isa, Par, TensorSpline};
use common::{Rng, random_sites};

const SIZES: [usize; 12] = [1, 2, 3, 7, 8, 9, 15, 16, 17, 255, 256, 257];

/// `|a − b| ≤ tol · scale` with `scale = max(1, |b|)` unless given.
fn close(a: f64, b: f64, tol: f64, scale: f64) -> bool {
    (a - b).abs() <= tol * scale.max(1.0)
}

fn grid<const D: usize>(rng: &mut Rng, shape: [usize; D], uniform: bool) -> [Vec<f64>; D] {
    std::array::from_fn(|k| {
        if uniform {
            (0..shape[k]).map(|i| -0.5 + 0.25 * i as f64).collect()
        } else {
            random_sites(rng, shape[k], 0.0, 1.0)
        }
    })
}

fn fit_all_isas<const D: usize>(rng: &mut Rng, shape: [usize; D]) {
    let axes = grid(rng, shape, false);
    let ax: [&[f64]; D] = std::array::from_fn(|k| &axes[k][..]);
    let total: usize = shape.iter().product();
    let values: Vec<f64> = (0..total).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let reference = Fitter::new(ax)
        .unwrap()
        .with_par(Par::Seq)
        .with_isa(Isa::Scalar)
        .unwrap()
        .with_scheme(FitScheme::InPlace);
    let mut want = vec![0.0; total];
    reference.fit_into(&values, &mut want).unwrap();
    let scale = want.iter().fold(0.0f64, |a, v| a.max(v.abs()));
    for isa in Isa::available() {
        for scheme in [FitScheme::Rotate, FitScheme::InPlace, FitScheme::Blocked] {
            for par in [Par::Seq, Par::with_threads(2)] {
                let f = Fitter::new(ax)
                    .unwrap()
                    .with_par(par)
                    .with_isa(isa)
                    .unwrap()
                    .with_scheme(scheme);
                // A dirty output buffer and a reused workspace.
                let mut out = vec![f64::NAN; total];
                let mut ws = f.workspace();
                for _ in 0..2 {
                    f.fit_into_with(&values, &mut out, &mut ws).unwrap();
                    for (k, (a, b)) in out.iter().zip(&want).enumerate() {
                        assert!(
                            close(*a, *b, 1e-14, scale),
                            "{isa} {scheme:?} {par:?} {shape:?} at {k}: {a} vs {b}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn overflow_in_one_lane_of_a_wide_block_is_reported() {
    // One line of axis 0 (lane `bad` of 200) oscillates near f64::MAX, so
    // its coefficients overflow in the first pass; the other lines are
    // small. Lanes 199 and 100 lie in the last, shifted strip of a block
    // and inside a full one.
    let x = [0.0, 1.0, 2.0, 3.0, 4.0];
    let y: Vec<f64> = (0..200).map(|j| j as f64).collect();
    for bad in [199, 100] {
        let v: Vec<f64> = (0..5 * 200)
            .map(|k| match (k / 200, k % 200 == bad) {
                (i, true) if i % 2 == 0 => 1.7e308,
                (_, true) => -1.7e308,
                _ => 1.0,
            })
            .collect();
        for isa in Isa::available() {
            for scheme in [FitScheme::Rotate, FitScheme::InPlace, FitScheme::Blocked] {
                let f = Fitter::new([&x[..], &y[..]])
                    .unwrap()
                    .with_isa(isa)
                    .unwrap()
                    .with_scheme(scheme);
                let mut out = vec![0.0; v.len()];
                let err = f.fit_into(&v, &mut out).unwrap_err();
                // The error names the first axis solved that overflows: the
                // blocked scheme solves the trailing axis 1 first, where an
                // inner spike alone already overflows (|B⁻¹| > 1 away from
                // the ends), a spike at the end of the line does not.
                let first = if scheme == FitScheme::Blocked && bad == 100 {
                    1
                } else {
                    0
                };
                assert!(
                    matches!(err, FitError::NonFiniteResult { axis, .. } if axis == first),
                    "{isa} {scheme:?} lane {bad}: {err:?}"
                );
            }
        }
    }
}

#[test]
fn blocked_scheme_with_a_two_axis_block_matches_scalar_reference() {
    // 4·20·70·60 = 336k points: the trailing block 20·70·60 exceeds 128 kB,
    // so the blocked scheme solves axes 2–3 per index of axes 0–1 and then
    // axes 0 and 1 in place (the split the auto scheme takes on large grids).
    let mut rng = Rng(17);
    fit_all_isas(&mut rng, [4, 20, 70, 60]);
}

#[test]
fn fits_match_scalar_reference_on_remainder_heavy_shapes() {
    let mut rng = Rng(5);
    fit_all_isas(&mut rng, [257]);
    fit_all_isas(&mut rng, [255, 9]);
    fit_all_isas(&mut rng, [7, 17, 15]);
    fit_all_isas(&mut rng, [9, 5, 3 + 1, 4]); // inner 4 < 8: gathered lines
    fit_all_isas(&mut rng, [4, 4, 4, 4, 5]);
    fit_all_isas(&mut rng, [5, 4, 4, 4, 4, 6]);
    // Above the parallel threshold (2^14 points), so two workers take part.
    fit_all_isas(&mut rng, [33, 17, 16, 2 + 2]);
}

fn eval_all_isas<const D: usize>(rng: &mut Rng, shape: [usize; D], uniform: bool) {
    let axes = grid(rng, shape, uniform);
    let ax: [&[f64]; D] = std::array::from_fn(|k| &axes[k][..]);
    let total: usize = shape.iter().product();
    let values: Vec<f64> = (0..total).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let f = Fitter::new(ax).unwrap();
    let mut coefs = vec![0.0; total];
    f.fit_into(&values, &mut coefs).unwrap();
    let knots: [Vec<f64>; D] = std::array::from_fn(|k| f.knots(k).to_vec());
    let reference = TensorSpline::from_parts(knots, coefs)
        .unwrap()
        .with_isa(Isa::Scalar)
        .unwrap();
    let scale = reference
        .coefficients_slice()
        .iter()
        .fold(0.0f64, |a, v| a.max(v.abs()));
    // Random points (10% margin outside), grid sites and knots exactly.
    let mut pts: Vec<[f64; D]> = (0..300)
        .map(|_| {
            std::array::from_fn(|k| {
                let (lo, hi) = (axes[k][0], axes[k][shape[k] - 1]);
                rng.uniform(lo - 0.1 * (hi - lo), hi + 0.1 * (hi - lo))
            })
        })
        .collect();
    for i in 0..20 {
        pts.push(std::array::from_fn(|k| axes[k][(i * 7 + k) % shape[k]]));
    }
    // One ulp either side of the sites: the ends of a span's local
    // coordinate (v = 0 and 1) for the power-form basis, and just outside.
    for i in 0..20 {
        pts.push(std::array::from_fn(|k| {
            let x = axes[k][(i * 5 + k) % shape[k]];
            if (i + k) % 2 == 0 {
                x.next_up()
            } else {
                x.next_down()
            }
        }));
    }
    for isa in Isa::available() {
        let s = reference.clone().with_isa(isa).unwrap();
        if isa != Isa::Scalar {
            // Four sites have no interior knot: trivially uniform.
            let want: [bool; D] = std::array::from_fn(|k| uniform || shape[k] == 4);
            assert_eq!(s.uniform_axes(), want);
        }
        for p in &pts {
            for k in 0..D {
                assert_eq!(
                    s.span_of(k, p[k]),
                    Some(find_span(reference.knots(k), p[k]))
                );
            }
            let (a, b) = (s.eval(*p), reference.eval(*p));
            assert!(
                close(a, b, 1e-13, scale),
                "{isa} value at {p:?}: {a} vs {b}"
            );
            let (ga, gb) = (s.eval_grad(*p), reference.eval_grad(*p));
            let (ha, hb) = (s.eval_hessian(*p), reference.eval_hessian(*p));
            let dscale = scale * 1e3;
            for i in 0..D {
                assert!(close(ga[i], gb[i], 1e-13, dscale), "{isa} grad {i}");
                for j in 0..D {
                    assert!(
                        close(ha[i][j], hb[i][j], 1e-12, dscale),
                        "{isa} hess {i} {j}"
                    );
                }
            }
            let mut orders = [0usize; D];
            orders[D - 1] = 2;
            orders[0] += 1;
            let (da, db) = (s.eval_deriv(*p, orders), reference.eval_deriv(*p, orders));
            assert!(close(da, db, 1e-12, dscale), "{isa} deriv {orders:?}");
        }
        // Batch (lanes = points) on remainder-heavy lengths, dirty output.
        for &len in &SIZES {
            let len = len.min(pts.len());
            let mut out = vec![f64::NAN; len];
            s.eval_many_into(&pts[..len], &mut out).unwrap();
            for (p, o) in pts[..len].iter().zip(&out) {
                assert!(
                    close(*o, reference.eval(*p), 1e-13, scale),
                    "{isa} batch len={len}"
                );
            }
        }
        // Several partials in one request (shared partial sums on batches):
        // value, gradient, Hessian, a duplicate, third and fourth orders,
        // each against the scalar reference's single partial.
        let mut list: Vec<Vec<usize>> = vec![vec![0; D]];
        for a in 0..D {
            list.push((0..D).map(|k| usize::from(k == a)).collect());
            for b in 0..D {
                list.push(
                    (0..D)
                        .map(|k| usize::from(k == a) + usize::from(k == b))
                        .collect(),
                );
            }
        }
        list.push((0..D).map(|k| if k == 0 { 3 } else { k % 2 }).collect());
        list.push((0..D).map(|k| if k == D - 1 { 4 } else { 0 }).collect());
        list.push(vec![0; D]);
        let partials: Vec<Partial> = list.iter().map(|o| Partial::new(o).unwrap()).collect();
        let flat: Vec<f64> = pts.iter().flatten().copied().collect();
        let q = Query::at_slice(&flat, D).unwrap().outputs(&partials);
        let got = s.evaluate(&q).unwrap();
        let got = got.as_slice().unwrap();
        for (i, p) in pts.iter().enumerate() {
            for (j, o) in list.iter().enumerate() {
                let orders: [usize; D] = std::array::from_fn(|k| o[k]);
                let want = reference.eval_deriv(*p, orders);
                let a = got[i * list.len() + j];
                assert!(
                    close(a, want, 1e-12, scale * 1e4),
                    "{isa} partial {orders:?} at {p:?}: {a} vs {want}"
                );
            }
        }
        let nan_pt = [f64::NAN; D];
        assert!(s.eval(nan_pt).is_nan());
        assert!(s.eval_many(&[nan_pt; 9]).iter().all(|v| v.is_nan()));
    }
}

#[test]
fn evaluation_matches_scalar_reference() {
    let mut rng = Rng(6);
    eval_all_isas(&mut rng, [9], true);
    eval_all_isas(&mut rng, [7, 12], false);
    eval_all_isas(&mut rng, [5, 6, 4], true);
    eval_all_isas(&mut rng, [8, 5, 6, 9], false);
    eval_all_isas(&mut rng, [12, 5, 6, 4], true);
    eval_all_isas(&mut rng, [4, 5, 4, 6, 5], false);
    eval_all_isas(&mut rng, [5, 4, 4, 5, 4, 4], true);
}

/// Batches on a table beyond L2 size are evaluated in cell order (sorted by
/// their coefficient blocks) and scattered back: every result must be the
/// one its point gives alone, bit for bit, in the caller's order, under
/// every policy and ISA, with points outside, NaN, and a length that is not
/// a multiple of the sort's run.
#[test]
fn cell_ordered_batches_equal_pointwise_evaluation() {
    use bsfit::Extrapolate;
    let mut rng = Rng(11);
    let shape = [24, 16, 16, 12]; // 73,728 coefficients (576 KiB)
    let axes = grid(&mut rng, shape, false);
    let ax: [&[f64]; 4] = std::array::from_fn(|k| &axes[k][..]);
    let total: usize = shape.iter().product();
    let values: Vec<f64> = (0..total).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let base = TensorSpline::fit(
        ax,
        ndarray::ArrayView4::from_shape((24, 16, 16, 12), &values).unwrap(),
    )
    .unwrap();
    let n = 20_011;
    let mut pts: Vec<[f64; 4]> = (0..n)
        .map(|_| std::array::from_fn(|_| rng.uniform(-0.1, 1.1)))
        .collect();
    for i in (0..n).step_by(997) {
        pts[i][i % 4] = f64::NAN;
    }
    let same = |a: f64, b: f64| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan());
    for isa in Isa::available() {
        for policy in [
            Extrapolate::Polynomial,
            Extrapolate::Clamp,
            Extrapolate::Nan,
        ] {
            let s = base.clone().with_isa(isa).unwrap().with_extrapolate(policy);
            let mut out = vec![f64::NAN; n];
            s.eval_many_into(&pts, &mut out).unwrap();
            let orders = [1, 0, 2, 0];
            let d = s.eval_deriv_many(&pts, orders);
            for (i, p) in pts.iter().enumerate() {
                assert!(same(out[i], s.eval(*p)), "{isa} {policy:?} value {i}");
                assert!(
                    same(d[i], s.eval_deriv(*p, orders)),
                    "{isa} {policy:?} derivative {i}"
                );
            }
        }
    }
}
