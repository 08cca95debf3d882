//! Sensitivities to the data: the native half of `Fitter.data_weights` and
//! `Fitter.data_vjp` (see `bsfit::tensor::DataWeights`). Shape checks and
//! GIL handling only; the core computes.

use numpy::{PyArray1, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::prelude::*;

use crate::{PyFitter, RowMajor, fit_err, value_err};

/// The per-axis orders `nu` (`None`: all 0), checked against `ndim`.
fn orders(nu: Option<Vec<usize>>, ndim: usize) -> PyResult<Vec<usize>> {
    match nu {
        None => Ok(vec![0; ndim]),
        Some(nu) if nu.len() == ndim => Ok(nu),
        Some(nu) => Err(value_err(format!(
            "nu has {} orders but the grid has {ndim} dimensions",
            nu.len()
        ))),
    }
}

/// Per-axis weight arrays and the (left, right) end-value weights.
type AxisWeights<'py> = (Vec<Bound<'py, PyArray1<f64>>>, (f64, f64));

/// Per-axis sensitivities of the fitted spline at `x` (`ndim` coordinates)
/// to the values on the grid: one array per axis, and the weights of the
/// (left, right) explicit end values (0 where there are none).
#[pyfunction]
#[pyo3(signature = (fitter, x, nu=None))]
fn fitter_data_weights<'py>(
    py: Python<'py>,
    fitter: PyRef<'py, PyFitter>,
    x: Vec<f64>,
    nu: Option<Vec<usize>>,
) -> PyResult<AxisWeights<'py>> {
    let f = &fitter.inner;
    let nu = orders(nu, f.ndim())?;
    let w = f.data_weights(&x, &nu).map_err(fit_err)?;
    let axes = w
        .axes()
        .iter()
        .map(|a| PyArray1::from_slice(py, a))
        .collect();
    let [l, r] = w.end_weights();
    Ok((axes, (l, r)))
}

/// The gradient of `sum g * s(points)` with respect to the values (flat,
/// `len * ncomp`, values' order), and with respect to the (left, right)
/// explicit end values when `ends` is true (else empty arrays), with the
/// end values' grid shape. `points`: `(n, ndim)`; `g`: `(n, ncomp)`.
#[pyfunction]
#[pyo3(signature = (fitter, points, g, nu=None, ends=false))]
#[allow(clippy::type_complexity)]
fn fitter_data_vjp<'py>(
    py: Python<'py>,
    fitter: PyRef<'py, PyFitter>,
    points: PyReadonlyArray2<'py, f64>,
    g: PyReadonlyArray2<'py, f64>,
    nu: Option<Vec<usize>>,
    ends: bool,
) -> PyResult<(
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<f64>>,
    Vec<usize>,
)> {
    let fitter: &PyFitter = &fitter;
    let f = &fitter.inner;
    let ndim = f.ndim();
    let nu = orders(nu, ndim)?;
    let (n, d) = (points.shape()[0], points.shape()[1]);
    if d != ndim {
        return Err(value_err(format!(
            "points have {d} coordinates but the grid has {ndim} dimensions"
        )));
    }
    let (gn, nc) = (g.shape()[0], g.shape()[1]);
    if gn != n || nc == 0 {
        return Err(value_err(format!(
            "cotangents of shape ({gn}, {nc}) for {n} points"
        )));
    }
    let len = f.len() * nc;
    let explicit = f
        .boundary()
        .iter()
        .position(|b| b.explicit_ends().iter().any(|&e| e));
    let end_len = |e: usize| -> usize {
        match explicit {
            Some(k) if ends && f.boundary()[k].explicit_ends()[e] => {
                f.end_values_shape(k).iter().product::<usize>() * nc
            }
            _ => 0,
        }
    };
    let (ll, rl) = (end_len(0), end_len(1));
    let end_shape = explicit.map(|k| f.end_values_shape(k)).unwrap_or_default();
    let points = RowMajor::new(&points);
    let g = RowMajor::new(&g);
    let (grad, left, right) = py
        .detach(|| {
            let (points, g) = (points.get(), g.get());
            let mut grad = vec![0.0; len];
            let mut left = vec![0.0; ll];
            let mut right = vec![0.0; rl];
            fitter.with_workspace(|ws| {
                if ll + rl == 0 {
                    f.data_vjp(&points, &g, &nu, &mut grad, ws)
                } else {
                    let view = numpy::ndarray::ArrayView2::from_shape((n, ndim), &points[..])
                        .map_err(|e| bsfit::FitError::InvalidParameter {
                            name: "points",
                            reason: e.to_string(),
                        })?;
                    let capped: Vec<usize> = nu.iter().map(|&o| o.min(4)).collect();
                    let q = bsfit::tensor::Query::at(view)
                        .outputs(&[bsfit::tensor::Partial::new(&capped)?]);
                    f.data_vjp_query(&q, &g, &mut grad, [&mut left, &mut right], ws)
                }
            })?;
            Ok::<_, bsfit::FitError>((grad, left, right))
        })
        .map_err(fit_err)?;
    Ok((
        PyArray1::from_vec(py, grad),
        PyArray1::from_vec(py, left),
        PyArray1::from_vec(py, right),
        end_shape,
    ))
}

/// Adds the functions of this file to the native module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(fitter_data_weights, m)?)?;
    m.add_function(wrap_pyfunction!(fitter_data_vjp, m)?)?;
    Ok(())
}
