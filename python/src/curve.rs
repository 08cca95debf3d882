//! `_interp_curve`: scipy's `make_interp_spline` for the cases the tensor
//! fitter does not cover (even degrees, degrees above 5, given knots,
//! several derivative conditions at one end, periodic ends at any degree),
//! over [`bsfit::bspline::interp::Interp1d`]. Marshalling only.

use bsfit::bspline::interp::{CurveEnds, Interp1d};
use numpy::{PyArray1, PyArray2, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::prelude::*;

use crate::{RowMajor, fit_err, value_err};

/// `(t, c)` as numpy arrays.
type KnotsAndCoefs<'py> = (Bound<'py, PyArray1<f64>>, Bound<'py, PyArray2<f64>>);

/// Knots and coefficients `(t, c)` of the degree-`k` curve through `y`
/// (`n × m`) at the sites `x`: `ends` is `"free"` (knots `t`, default
/// scipy's not-a-knot ones), `"periodic"` or `"derivatives"` (the orders
/// `left`/`right` with values `left_values` (`len(left) × m`) and
/// `right_values`; default knots scipy's `_augknt`). `c` is `n_t × m`.
#[pyfunction]
#[pyo3(signature = (x, y, k, t, ends, left, right, left_values, right_values))]
#[allow(clippy::too_many_arguments)]
fn _interp_curve<'py>(
    py: Python<'py>,
    x: PyReadonlyArray1<'py, f64>,
    y: PyReadonlyArray2<'py, f64>,
    k: usize,
    t: Option<PyReadonlyArray1<'py, f64>>,
    ends: &str,
    left: Vec<usize>,
    right: Vec<usize>,
    left_values: PyReadonlyArray2<'py, f64>,
    right_values: PyReadonlyArray2<'py, f64>,
) -> PyResult<KnotsAndCoefs<'py>> {
    let ends = match ends {
        "free" => CurveEnds::Free,
        "periodic" => CurveEnds::Periodic,
        "derivatives" => CurveEnds::Derivatives { left, right },
        other => return Err(value_err(format!("unknown curve ends {other:?}"))),
    };
    let m = y.shape()[1];
    for (what, a) in [
        ("left_values", &left_values),
        ("right_values", &right_values),
    ] {
        if a.shape()[1] != m {
            return Err(value_err(format!(
                "{what} has {} components per row, y has {m}",
                a.shape()[1]
            )));
        }
    }
    let x = RowMajor::new(&x);
    let y = RowMajor::new(&y);
    let lv = RowMajor::new(&left_values);
    let rv = RowMajor::new(&right_values);
    let t = t.as_ref().map(RowMajor::new);
    let (knots, c) = py
        .detach(|| {
            let t = t.as_ref().map(|t| t.get());
            let curve = Interp1d::new(&x.get(), k, t.as_deref(), &ends)?;
            let c = curve.solve(&y.get(), m, &lv.get(), &rv.get())?;
            Ok::<_, bsfit::FitError>((curve.knots().to_vec(), c))
        })
        .map_err(fit_err)?;
    let nt = knots.len() - k - 1;
    let c =
        numpy::ndarray::Array2::from_shape_vec((nt, m), c).map_err(|e| value_err(e.to_string()))?;
    Ok((
        PyArray1::from_vec(py, knots),
        PyArray2::from_owned_array(py, c),
    ))
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_interp_curve, m)?)?;
    Ok(())
}
