//! Target (d): the uniform 3D path — [`prefilter`], [`prefilter_f32`] and
//! every iterative [`solve`] method — on small arbitrary grids and boundaries.
//!
//! Invariants: a successful prefilter has finite coefficients `c` with
//! `B c = f` to rounding (checked with the padded 27-point oracle written from
//! the boundary definitions, not with the crate's operator); memory layout does
//! not change the result; `f32` agrees with `f64` to single precision times the
//! operator's condition number (at most 27); an iterative solve either reaches
//! its tolerance on the plain data residual, or reports `NoConvergence`,
//! `Diverged` or `InvalidParameter` naming the option at fault.

use super::{Input, decode_values};
use bsfit::FitError;
use bsfit::grid3::{Boundary, Formulation, Method, SolveOptions, prefilter, prefilter_f32, solve};
use ndarray::{Array3, ArrayView3, Axis};

// The cargo-fuzz targets load this file without the test suite around it,
// so it declares the oracle module itself (the suite's copy is the same file).
#[allow(clippy::duplicate_mod)]
#[path = "../common/mod.rs"]
mod common;

/// `‖B c − f‖∞` with the independent oracle.
fn oracle_residual_inf(c: &[f64], f: &[f64], shape: [usize; 3], bc: [Boundary; 3]) -> f64 {
    common::oracle(c, shape, bc)
        .iter()
        .zip(f)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max)
}

/// `‖B c − f‖₂ / ‖f‖₂` with the independent oracle (absolute if `f = 0`).
fn oracle_residual_rel(c: &[f64], f: &[f64], shape: [usize; 3], bc: [Boundary; 3]) -> f64 {
    let bcv = common::oracle(c, shape, bc);
    // Scaled by max |f| so that the squares cannot overflow.
    let scale = f.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let inv = if scale > 1e-290 { 1.0 / scale } else { 1.0 };
    let (mut num, mut den) = (0.0, 0.0);
    for (a, b) in bcv.iter().zip(f) {
        let (a, b) = (a * inv, b * inv);
        num += (a - b) * (a - b);
        den += b * b;
    }
    if den == 0.0 {
        num.sqrt()
    } else {
        (num / den).sqrt()
    }
}

fn check_input_error(err: &FitError, shape: [usize; 3], values: &[f64]) {
    assert!(!err.to_string().is_empty());
    match err {
        FitError::AxisTooShort { axis, len, .. } => {
            assert!(*axis < 3 && shape[*axis] == *len && *len == 0, "{err:?}");
        }
        FitError::NonFiniteValue { index, value } => {
            assert!(
                index.len() == 3 && (0..3).all(|k| index[k] < shape[k]),
                "{err:?}"
            );
            let v = values[(index[0] * shape[1] + index[1]) * shape[2] + index[2]];
            assert!(!v.is_finite() && v.to_bits() == value.to_bits(), "{err:?}");
        }
        other => panic!("unexpected input error {other:?}"),
    }
}

/// Target (d).
pub fn grid3(data: &[u8]) {
    let mut inp = Input::new(data);
    let shape: [usize; 3] = std::array::from_fn(|_| {
        let b = inp.u8();
        if b == 255 { 0 } else { 1 + (b % 9) as usize }
    });
    let bc: [Boundary; 3] = std::array::from_fn(|_| match inp.u8() % 3 {
        0 => Boundary::Periodic,
        1 => Boundary::Zero,
        _ => Boundary::Mirror,
    });
    let allow_bad = inp.u8().is_multiple_of(8);
    let total: usize = shape.iter().product();
    let values = decode_values(&mut inp, total, allow_bad);
    let arr = Array3::from_shape_vec(shape, values.clone()).expect("shape");
    let vmax = values.iter().fold(0.0f64, |m, v| m.max(v.abs()));

    // Exact prefilter, f64.
    let c = match prefilter(arr.view(), bc) {
        Err(FitError::NonFiniteResult { axis, condition }) => {
            // Only possible within a factor 27 of f64::MAX (‖B⁻¹‖∞ ≤ 3 per axis).
            assert!(axis < 3 && condition == 3.0);
            assert!(
                vmax * 27.0 > f64::MAX / (1.0 + 1e-12),
                "overflow for max |f| = {vmax:e}"
            );
            return;
        }
        Err(e) => {
            check_input_error(&e, shape, &values);
            return;
        }
        Ok(c) => c,
    };
    assert!(values.iter().all(|v| v.is_finite()));
    let cs = c.as_slice().expect("standard layout");
    assert!(
        cs.iter().all(|v| v.is_finite()),
        "non-finite coefficient from prefilter (max |f| = {vmax:e})"
    );
    // ‖B⁻¹‖∞ ≤ 27 on every grid and boundary (each axis factor ≤ 3).
    let tol = 64.0 * 27.0 * f64::EPSILON * vmax + 1e-300;
    let r = oracle_residual_inf(cs, &values, shape, bc);
    assert!(
        r <= tol,
        "prefilter residual {r:e} > {tol:e} ({shape:?} {bc:?})"
    );

    // Any memory layout gives the same coefficients.
    if inp.u8() & 1 == 1 {
        let mut rev = arr.clone();
        rev.invert_axis(Axis(1));
        let rev = rev.as_standard_layout().into_owned();
        let mut v: ArrayView3<'_, f64> = rev.view();
        v.invert_axis(Axis(1));
        let c2 = prefilter(v, bc).expect("same values");
        assert_eq!(c2, c, "negative-stride view");
    }

    // f32 against f64, where the values fit in f32 comfortably.
    if vmax <= 1e30 {
        let a32 = arr.mapv(|v| v as f32);
        let c32 = prefilter_f32(a32.view(), bc).expect("f32 values are finite");
        // Input rounding (2^-24 relative) and f32 arithmetic, amplified by ‖B⁻¹‖ ≤ 27.
        let tol32 = 27.0 * 16.0 * f32::EPSILON as f64 * vmax + 27.0 * 1e-37;
        for (a, b) in c32.iter().zip(cs) {
            assert!(
                (*a as f64 - b).abs() <= tol32,
                "f32 {a} vs f64 {b} (max |f| {vmax:e}, {shape:?} {bc:?})"
            );
        }
    }

    // One iterative (or direct) solve with fuzzed options.
    let method = Method::ALL[inp.u8() as usize % Method::ALL.len()];
    let formulation = if inp.u8() & 1 == 0 {
        Formulation::Interpolate
    } else {
        Formulation::NormalEquations
    };
    let mut o = SolveOptions::new(method, formulation);
    let mut unusual = false;
    let sel = inp.u8();
    o.common.tol = [1e-3, 1e-6, 1e-9, 1e-12][sel as usize % 4];
    o.common.max_iter = 1 + (inp.u8() as usize) * 2;
    o.common.check_every = 1 + (inp.u8() % 4) as usize;
    if sel >= 200 {
        unusual = true;
        match sel % 6 {
            0 => o.common.tol = [0.0, -1.0, f64::NAN, f64::INFINITY][inp.u8() as usize % 4],
            1 => o.common.check_every = 0,
            2 => o.common.divergence = [1.0, 0.5, f64::NAN][inp.u8() as usize % 3],
            3 => o.omega = Some([0.0, -1.0, 2.5, f64::NAN, 1e9][inp.u8() as usize % 5]),
            4 => o.dt = [0.0, -1.0, f64::NAN, 10.0][inp.u8() as usize % 4],
            _ => o.damp = [0.0, -1.0, f64::NAN, 10.0][inp.u8() as usize % 4],
        }
    }
    match solve(arr.view(), bc, &o) {
        Ok((c, report)) => {
            let cs = c.as_slice().expect("standard layout");
            assert!(
                cs.iter().all(|v| v.is_finite()),
                "{method:?}: non-finite result"
            );
            let r = oracle_residual_rel(cs, &values, shape, bc);
            let want = if method == Method::Direct {
                1e-12
            } else {
                // The convergence test runs on the system (or symmetrised)
                // residual; the plain data residual is within a small factor.
                10.0 * o.common.tol + 1e-12
            };
            assert!(
                r <= want,
                "{method:?}/{formulation:?}: data residual {r:e} > {want:e}; report {:?}",
                report.info
            );
            assert!(report.data_residual.is_finite());
            assert!(report.info.iterations <= o.common.max_iter);
        }
        Err(e) => {
            assert!(!e.to_string().is_empty());
            match e {
                FitError::NoConvergence {
                    iterations,
                    residual,
                    tolerance,
                    ..
                } => {
                    assert!(method != Method::Direct);
                    assert!(
                        iterations <= o.common.max_iter + o.common.check_every,
                        "{e:?}"
                    );
                    assert!(residual.is_nan() || residual > tolerance, "{e:?}");
                }
                FitError::Diverged { .. } => assert!(method != Method::Direct, "{e:?}"),
                FitError::InvalidParameter { name, .. } => {
                    assert!(
                        unusual,
                        "InvalidParameter {name} for default options: {e:?}"
                    );
                }
                other => panic!("{method:?}: unexpected error {other:?}"),
            }
        }
    }
}
