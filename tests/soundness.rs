//! Hostile inputs at the boundaries where data enters the crate: deserialised
//! splines and hand-built knot vectors. Each must come back as a `FitError`,
//! never as an out-of-bounds access, a panic or a NaN inside the domain.
//! (The checked single-kernel entry points are tested inside the crate,
//! `src/isa/checked.rs`; device plans handed buffers of another size in
//! `gpu.rs` and `gpu_nd.rs`.)

use bsfit::{FitError, TensorSpline};

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
