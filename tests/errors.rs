//! Every `FitError` variant the fitter can return is triggered, and names the
//! axis, index or value at fault.

use bsfit::{FitError, Fitter, TensorSpline};
use ndarray::{Array1, Array2, Array3};

const X4: [f64; 4] = [0.0, 1.0, 2.0, 3.0];

#[test]
fn short_axis() {
    let v = Array2::<f64>::zeros((4, 3));
    let err = TensorSpline::fit([&X4[..], &[0.0, 1.0, 2.0][..]], v.view()).unwrap_err();
    assert_eq!(
        err,
        FitError::AxisTooShort {
            axis: 1,
            len: 3,
            min: 4
        }
    );
    assert!(err.to_string().contains("axis 1"));
}

#[test]
fn non_finite_site() {
    let v = Array1::<f64>::zeros(4);
    let err = TensorSpline::fit([&[0.0, f64::INFINITY, 2.0, 3.0][..]], v.view()).unwrap_err();
    assert!(
        matches!(err, FitError::NonFiniteSite { axis: 0, index: 1, value } if value.is_infinite())
    );
}

#[test]
fn duplicate_and_decreasing_sites() {
    let v = Array2::<f64>::zeros((4, 5));
    let err = TensorSpline::fit([&X4[..], &[0.0, 1.0, 1.0, 2.0, 3.0][..]], v.view()).unwrap_err();
    assert_eq!(
        err,
        FitError::NonIncreasingSites {
            axis: 1,
            index: 2,
            prev: 1.0,
            value: 1.0
        }
    );
    let err = TensorSpline::fit(
        [&[3.0, 2.0, 1.0, 0.0][..], &[0.0, 1.0, 2.0, 3.0, 4.0][..]],
        v.view(),
    )
    .unwrap_err();
    assert!(matches!(
        err,
        FitError::NonIncreasingSites {
            axis: 0,
            index: 1,
            ..
        }
    ));
    assert!(err.to_string().contains("strictly increasing"));
}

#[test]
fn shape_mismatch() {
    let v = Array2::<f64>::zeros((4, 6));
    let err = TensorSpline::fit([&X4[..], &[0.0, 1.0, 2.0, 3.0, 4.0][..]], v.view()).unwrap_err();
    assert_eq!(
        err,
        FitError::ShapeMismatch {
            axis: 1,
            axis_len: 5,
            values_len: 6
        }
    );
}

#[test]
fn non_finite_value_names_index() {
    let mut v = Array3::<f64>::zeros((4, 5, 4));
    v[[2, 3, 1]] = f64::NAN;
    let y = [0.0, 1.0, 2.0, 3.0, 4.0];
    let err = TensorSpline::fit([&X4[..], &y[..], &X4[..]], v.view()).unwrap_err();
    assert!(
        matches!(&err, FitError::NonFiniteValue { index, value } if index == &vec![2, 3, 1] && value.is_nan())
    );
    // Also through a non-standard layout.
    let t = v.view().reversed_axes();
    let err = TensorSpline::fit([&X4[..], &y[..], &X4[..]], t).unwrap_err();
    assert!(matches!(&err, FitError::NonFiniteValue { index, .. } if index == &vec![1, 3, 2]));
}

#[test]
fn overflow_in_solve_is_reported() {
    // Values near f64::MAX with an oscillating pattern overflow the coefficients.
    let v = Array1::from(vec![1.7e308, -1.7e308, 1.7e308, -1.7e308, 1.7e308]);
    let err = TensorSpline::fit([&[0.0, 1.0, 2.0, 3.0, 4.0][..]], v.view()).unwrap_err();
    assert!(
        matches!(err, FitError::NonFiniteResult { axis: 0, condition } if condition > 1.0),
        "{err:?}"
    );
}

#[test]
fn singular_collocation_is_reported() {
    // Sites 1e-300 apart: the collocation matrix has a vanishing pivot.
    let x = [0.0, 1e-300, 2e-300, 1.0];
    assert!(matches!(
        Fitter::new([&x[..]]),
        Err(FitError::SingularMatrix { axis: 0, .. }) | Ok(_)
    ));
    let x = [0.0, 1.0, 1.0 + 1e-15, 2.0];
    match Fitter::new([&x[..]]) {
        Err(FitError::SingularMatrix { axis: 0, .. }) => {}
        Ok(f) => assert!(f.condition_estimates()[0] > 1e10),
        Err(e) => panic!("unexpected {e:?}"),
    }
}

#[test]
fn flat_buffer_lengths_are_checked() {
    let f = Fitter::new([&X4[..], &X4[..]]).unwrap();
    let mut out = vec![0.0; 16];
    assert!(matches!(
        f.fit_into(&[0.0; 15], &mut out),
        Err(FitError::InvalidParameter { name: "values", .. })
    ));
    let mut short = vec![0.0; 3];
    assert!(matches!(
        f.fit_into(&[0.0; 16], &mut short),
        Err(FitError::InvalidParameter { name: "out", .. })
    ));
}

#[test]
fn from_parts_validates() {
    let t = vec![0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0];
    assert!(TensorSpline::<1>::from_parts([t.clone()], vec![0.0; 4]).is_ok());
    assert!(matches!(
        TensorSpline::<1>::from_parts([t.clone()], vec![0.0; 5]),
        Err(FitError::InvalidData(_))
    ));
    let bad = vec![0.0, 0.0, 0.0, 0.5, 1.0, 1.0, 1.0, 1.0];
    assert!(matches!(
        TensorSpline::<1>::from_parts([bad], vec![0.0; 4]),
        Err(FitError::InvalidData(_))
    ));
    let nan = vec![0.0, 0.0, 0.0, 0.0, f64::NAN, 1.0, 1.0, 1.0, 1.0];
    assert!(matches!(
        TensorSpline::<1>::from_parts([nan], vec![0.0; 5]),
        Err(FitError::InvalidData(_))
    ));
}

#[test]
fn eval_never_panics_on_odd_points() {
    let v = Array2::from_shape_fn((4, 5), |(i, j)| (i * j) as f64);
    let s = TensorSpline::fit([&X4[..], &[0.0, 1.0, 2.0, 3.0, 4.0][..]], v.view()).unwrap();
    for x in [
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        1e308,
        -1e308,
        5e-324,
        0.0,
    ] {
        let _ = s.eval([x, 1.0]);
        let _ = s.eval_deriv([1.0, x], [2, 1]);
        let _ = s.eval_grad([x, x]);
    }
    assert!(s.eval([f64::NAN, 1.0]).is_nan());
    assert_eq!(s.eval_deriv([1.0, 1.0], [4, 0]), 0.0);
}

#[cfg(feature = "serde")]
#[test]
fn serde_round_trip() {
    let v = Array2::from_shape_fn((4, 5), |(i, j)| (i as f64).sin() + j as f64);
    let s = TensorSpline::fit([&X4[..], &[0.0, 1.0, 2.5, 3.0, 4.0][..]], v.view()).unwrap();
    let json = serde_json::to_string(&s).unwrap();
    let back: TensorSpline<2> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, s);
    assert_eq!(back.eval([1.3, 2.2]), s.eval([1.3, 2.2]));
    // Wrong dimension and corrupted data are errors, not panics.
    assert!(serde_json::from_str::<TensorSpline<3>>(&json).is_err());
    let corrupted = json.replace("2.5", "9.5");
    assert!(serde_json::from_str::<TensorSpline<2>>(&corrupted).is_err());
}
