//! The native half of `bsfit.ndimage`: scipy.ndimage's `spline_filter1d`,
//! `spline_filter` and `map_coordinates` over [`bsfit::ndimage`].
//!
//! Inputs are float64 or float32 numpy arrays of any dimension and layout,
//! borrowed without copying; results are float64, written into a caller's
//! array (`out`) or into a new one allocated by the library. The GIL is
//! released while the library computes (in parallel). Mode names are parsed
//! by [`bsfit::ndimage::Mode`] (scipy's names); argument handling in
//! scipy's manner (output dtypes, complex input, scipy's error messages)
//! lives in `python/bsfit/ndimage.py`. The functions' names start with
//! `_ndimage_`: they are that module's helpers, not public API.

use bsfit::ndimage::{self as nd, Mode};
use bsfit::{FitError, Par};
use numpy::ndarray::{ArrayD, ArrayViewD, ArrayViewMutD};
use numpy::{PyArrayDyn, PyArrayMethods, PyReadonlyArrayDyn};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;

/// An input array: float64 or float32 (other dtypes are converted in Python).
#[derive(FromPyObject)]
enum Input<'py> {
    F64(PyReadonlyArrayDyn<'py, f64>),
    F32(PyReadonlyArrayDyn<'py, f32>),
}

/// A borrowed input, detached from Python.
enum View<'a> {
    F64(ArrayViewD<'a, f64>),
    F32(ArrayViewD<'a, f32>),
}

/// A library error as a Python `ValueError` (its message names the argument).
fn err(e: FitError) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// scipy's `_extend_mode_to_code`: a mode name, else
/// `RuntimeError('boundary mode not supported')`.
fn mode(m: &Bound<'_, PyAny>) -> PyResult<Mode> {
    m.extract::<String>()
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| PyRuntimeError::new_err("boundary mode not supported"))
}

/// The operation to run on a detached view: into a caller's array, or
/// into a new one.
trait Op: Sync {
    fn into(&self, v: View<'_>, out: ArrayViewMutD<'_, f64>) -> Result<(), FitError>;
    fn fresh(&self, v: View<'_>) -> Result<ArrayD<f64>, FitError>;
}

/// Runs `op` on `input` with the GIL released, into `out` or a new array.
fn run<'py>(
    py: Python<'py>,
    input: &Input<'py>,
    out: Option<Bound<'py, PyArrayDyn<f64>>>,
    op: &impl Op,
) -> PyResult<Bound<'py, PyArrayDyn<f64>>> {
    let view = || match input {
        Input::F64(a) => View::F64(a.as_array()),
        Input::F32(a) => View::F32(a.as_array()),
    };
    match out {
        Some(out) => {
            {
                let mut rw = out
                    .try_readwrite()
                    .map_err(|e| PyValueError::new_err(format!("output array: {e}")))?;
                let o = rw.as_array_mut();
                let v = view();
                py.detach(|| op.into(v, o)).map_err(err)?;
            }
            Ok(out)
        }
        None => {
            let v = view();
            let a = py.detach(|| op.fresh(v)).map_err(err)?;
            Ok(PyArrayDyn::from_owned_array(py, a))
        }
    }
}

struct Filter1d {
    order: usize,
    axis: usize,
    mode: Mode,
}

impl Op for Filter1d {
    fn into(&self, v: View<'_>, o: ArrayViewMutD<'_, f64>) -> Result<(), FitError> {
        let (order, axis, mode, par) = (self.order, self.axis, self.mode, Par::auto());
        match v {
            View::F64(v) => nd::spline_filter1d_into(v, order, axis, mode, o, par),
            View::F32(v) => nd::spline_filter1d_into(v, order, axis, mode, o, par),
        }
    }
    fn fresh(&self, v: View<'_>) -> Result<ArrayD<f64>, FitError> {
        match v {
            View::F64(v) => nd::spline_filter1d(v, self.order, self.axis, self.mode),
            View::F32(v) => nd::spline_filter1d(v, self.order, self.axis, self.mode),
        }
    }
}

struct Filter {
    order: usize,
    mode: Mode,
}

impl Op for Filter {
    fn into(&self, v: View<'_>, o: ArrayViewMutD<'_, f64>) -> Result<(), FitError> {
        match v {
            View::F64(v) => nd::spline_filter_into(v, self.order, self.mode, o, Par::auto()),
            View::F32(v) => nd::spline_filter_into(v, self.order, self.mode, o, Par::auto()),
        }
    }
    fn fresh(&self, v: View<'_>) -> Result<ArrayD<f64>, FitError> {
        match v {
            View::F64(v) => nd::spline_filter(v, self.order, self.mode),
            View::F32(v) => nd::spline_filter(v, self.order, self.mode),
        }
    }
}

struct Map<'a> {
    coords: ArrayViewD<'a, f64>,
    order: usize,
    mode: Mode,
    cval: f64,
    prefilter: bool,
}

impl Op for Map<'_> {
    fn into(&self, v: View<'_>, o: ArrayViewMutD<'_, f64>) -> Result<(), FitError> {
        let (c, k, m, cv, pf) = (
            self.coords.view(),
            self.order,
            self.mode,
            self.cval,
            self.prefilter,
        );
        match v {
            View::F64(v) => nd::map_coordinates_into(v, c, k, m, cv, pf, o, Par::auto()),
            View::F32(v) => nd::map_coordinates_into(v, c, k, m, cv, pf, o, Par::auto()),
        }
    }
    fn fresh(&self, v: View<'_>) -> Result<ArrayD<f64>, FitError> {
        let (c, k, m, cv, pf) = (
            self.coords.view(),
            self.order,
            self.mode,
            self.cval,
            self.prefilter,
        );
        match v {
            View::F64(v) => nd::map_coordinates(v, c, k, m, cv, pf),
            View::F32(v) => nd::map_coordinates(v, c, k, m, cv, pf),
        }
    }
}

/// `spline_filter1d` (float64 result) into `out` or a new array.
#[pyfunction]
#[pyo3(signature = (input, order, axis, mode, out=None))]
fn _ndimage_spline_filter1d<'py>(
    py: Python<'py>,
    input: Input<'py>,
    order: usize,
    axis: usize,
    mode: &Bound<'py, PyAny>,
    out: Option<Bound<'py, PyArrayDyn<f64>>>,
) -> PyResult<Bound<'py, PyArrayDyn<f64>>> {
    let op = Filter1d {
        order,
        axis,
        mode: self::mode(mode)?,
    };
    run(py, &input, out, &op)
}

/// `spline_filter` (every axis; float64 result) into `out` or a new array.
#[pyfunction]
#[pyo3(signature = (input, order, mode, out=None))]
fn _ndimage_spline_filter<'py>(
    py: Python<'py>,
    input: Input<'py>,
    order: usize,
    mode: &Bound<'py, PyAny>,
    out: Option<Bound<'py, PyArrayDyn<f64>>>,
) -> PyResult<Bound<'py, PyArrayDyn<f64>>> {
    let op = Filter {
        order,
        mode: self::mode(mode)?,
    };
    run(py, &input, out, &op)
}

/// `map_coordinates` (float64 coordinates of shape `(ndim, ...)`, float64
/// result of shape `coordinates.shape[1:]`) into `out` or a new array.
#[pyfunction]
#[pyo3(signature = (input, coordinates, order, mode, cval, prefilter, out=None))]
#[allow(clippy::too_many_arguments)]
fn _ndimage_map_coordinates<'py>(
    py: Python<'py>,
    input: Input<'py>,
    coordinates: PyReadonlyArrayDyn<'py, f64>,
    order: usize,
    mode: &Bound<'py, PyAny>,
    cval: f64,
    prefilter: bool,
    out: Option<Bound<'py, PyArrayDyn<f64>>>,
) -> PyResult<Bound<'py, PyArrayDyn<f64>>> {
    let op = Map {
        coords: coordinates.as_array(),
        order,
        mode: self::mode(mode)?,
        cval,
        prefilter,
    };
    run(py, &input, out, &op)
}

/// The canonical name of a mode (scipy's spelling), or scipy's
/// `RuntimeError('boundary mode not supported')`.
#[pyfunction]
fn _ndimage_mode(mode: &Bound<'_, PyAny>) -> PyResult<&'static str> {
    Ok(self::mode(mode)?.name())
}

/// Adds the `_ndimage_*` functions to the native module `bsfit._bsfit`.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_ndimage_mode, m)?)?;
    m.add_function(wrap_pyfunction!(_ndimage_spline_filter1d, m)?)?;
    m.add_function(wrap_pyfunction!(_ndimage_spline_filter, m)?)?;
    m.add_function(wrap_pyfunction!(_ndimage_map_coordinates, m)?)?;
    Ok(())
}
