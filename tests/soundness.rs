//! Hostile inputs at the boundaries where data enters the crate: deserialised
//! splines, hand-built knot vectors and the checked single-kernel entry
//! points. Each must come back as a `FitError`, never as an out-of-bounds
//! access, a panic or a NaN inside the domain.

use bsfit::banded::BandLu;
use bsfit::bspline::knots::not_a_knot;
use bsfit::isa::checked;
use bsfit::{FitError, Isa, TensorSpline};

/// A factored collocation matrix of `n` uniform sites.
fn lu(n: usize) -> BandLu {
    let x: Vec<f64> = (0..n).map(|i| i as f64).collect();
    BandLu::collocation(0, &x, &not_a_knot(&x)).unwrap()
}

#[test]
fn subnormal_knot_spacing_is_rejected() {
    // A clamped knot vector whose whole extent is the smallest subnormal.
    let e = 5e-324;
    let t = vec![0.0, 0.0, 0.0, 0.0, e, e, e, e];
    let err = TensorSpline::<1>::from_parts([t], vec![1.0; 4]).unwrap_err();
    assert!(
        matches!(&err, FitError::InvalidData(m) if m.contains("axis 0") && m.contains("t[4]")),
        "{err}"
    );
    // One subnormal interior span on the second axis.
    let good = vec![0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0];
    let bad = vec![0.0, 0.0, 0.0, 0.0, 1e-310, 1.0, 1.0, 1.0, 1.0];
    let err = TensorSpline::<2>::from_parts([good.clone(), bad], vec![1.0; 20]).unwrap_err();
    assert!(
        matches!(&err, FitError::InvalidData(m) if m.contains("axis 1")),
        "{err}"
    );
    // The smallest normal spacing is accepted and evaluates finitely.
    let m = f64::MIN_POSITIVE;
    let t = vec![0.0, 0.0, 0.0, 0.0, m, m, m, m];
    let s = TensorSpline::<1>::from_parts([t], vec![1.0, 2.0, 3.0, 4.0]).unwrap();
    assert!(s.eval([m / 2.0]).is_finite());
}

#[test]
fn checked_kernels_reject_every_short_buffer() {
    let lu = lu(9);
    for isa in Isa::available() {
        for (len, stride, m) in [(0, 4, 4), (8 * 4 + 3, 4, 4), (8 * 16, 8, 9)] {
            let mut b = vec![1.0; len];
            let guard = b.clone();
            let r = checked::solve_lanes(isa, &lu, &mut b, stride, m);
            assert!(
                matches!(r, Err(FitError::InvalidParameter { .. })),
                "{isa}: {len} values, stride {stride}, {m} lanes"
            );
            assert_eq!(b, guard, "{isa}: buffer touched on error");
        }
        // Exactly sized buffers inside a larger allocation: the guard values
        // after the last lane stay untouched.
        for m in [1, 3, 4, 7, 8, 9, 16, 17, 64, 65] {
            let stride = m + 2;
            let need = 8 * stride + m;
            let mut b = vec![1.0; need + 16];
            checked::solve_lanes(isa, &lu, &mut b[..need], stride, m).unwrap();
            assert!(b[need..].iter().all(|&v| v == 1.0), "{isa} m={m}");
        }
        let mut dst = vec![0.0; 11];
        assert!(checked::transpose(isa, &[0.0; 12], 3, 4, &mut dst).is_err());
        assert!(checked::transpose(isa, &[0.0; 12], usize::MAX, 2, &mut dst).is_err());
        let t = not_a_knot(&[0.0, 1.0, 2.0, 3.0, 4.0]);
        let mut out = vec![[[0.0; 4]; 3]; 2];
        assert!(checked::basis_batch(isa, &t, &[3, 4], &[0.5], 0, &mut out).is_err());
        assert!(checked::basis_batch(isa, &t, &[3, 99], &[0.5, 1.0], 0, &mut out).is_err());
        assert!(checked::basis_single(isa, &t[..7], 3, 0.5).is_err());
    }
}

#[test]
fn unavailable_isa_is_an_error_not_a_kernel_call() {
    for isa in Isa::ALL.into_iter().filter(|i| !i.is_available()) {
        let mut b = vec![0.0; 9];
        assert_eq!(
            checked::solve_lanes(isa, &lu(9), &mut b, 1, 1),
            Err(FitError::IsaUnavailable { isa: isa.name() })
        );
    }
}

#[cfg(feature = "serde")]
mod hostile_serde {
    use super::*;

    fn load<const D: usize>(json: &str) -> Result<TensorSpline<D>, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn hostile_splines_are_errors() {
        let cases = [
            // Too few knots for a cubic.
            r#"{"knots":[[0,0,0,1]],"coefficients":[]}"#,
            // Coefficient count does not match the knots.
            r#"{"knots":[[0,0,0,0,1,1,1,1]],"coefficients":[1,2,3]}"#,
            r#"{"knots":[[0,0,0,0,1,1,1,1]],"coefficients":[1,2,3,4,5]}"#,
            // Decreasing interior knots.
            r#"{"knots":[[0,0,0,0,2,1,3,3,3,3]],"coefficients":[1,2,3,4,5,6]}"#,
            // Not clamped.
            r#"{"knots":[[0,0,0,0.5,1,1,1,1]],"coefficients":[1,2,3,4]}"#,
            // Subnormal extent.
            r#"{"knots":[[0,0,0,0,5e-324,5e-324,5e-324,5e-324]],"coefficients":[1,2,3,4]}"#,
            // Overflowing extent.
            r#"{"knots":[[-1.7e308,-1.7e308,-1.7e308,-1.7e308,1.7e308,1.7e308,1.7e308,1.7e308]],"coefficients":[1,2,3,4]}"#,
            // Missing field, wrong type.
            r#"{"knots":[[0,0,0,0,1,1,1,1]]}"#,
            r#"{"knots":"x","coefficients":[1,2,3,4]}"#,
        ];
        for json in cases {
            assert!(load::<1>(json).is_err(), "accepted: {json}");
        }
        // Wrong dimension.
        assert!(load::<2>(r#"{"knots":[[0,0,0,0,1,1,1,1]],"coefficients":[1,2,3,4]}"#).is_err());
        // A product of extents that overflows usize is an error, not an allocation.
        let big = format!(
            r#"{{"knots":[{k},{k}],"coefficients":[]}}"#,
            k = "[0,0,0,0,1,1,1,1]"
        );
        assert!(load::<2>(&big).is_err());
        // And a valid one loads and evaluates.
        let s = load::<1>(r#"{"knots":[[0,0,0,0,1,1,1,1]],"coefficients":[1,1,1,1]}"#).unwrap();
        assert!((s.eval([0.3]) - 1.0).abs() < 1e-15);
    }
}
