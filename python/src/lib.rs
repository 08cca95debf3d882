//! `bsfit._bsfit`: the native half of the `bsfit` Python package.
//!
//! A thin layer over bsfit's runtime-dimension API ([`DynSpline`],
//! [`DynFitter`]) and the uniform 3D prefilter
//! ([`bsfit::grid3::prefilter_into`]). It holds no numerical logic: it checks
//! shapes (the Rust API takes flat row-major slices), borrows numpy buffers
//! without copying when they are C-contiguous, writes results straight into
//! new numpy arrays, releases the GIL around every fit and batch evaluation,
//! and turns [`bsfit::FitError`] into `bsfit.FitError` (a `ValueError`).
//!
//! The scipy vocabulary (`TensorSpline`, `make_ndbspl`, `spline_filter`, dtype
//! conversion, `xi` of shape `(..., ndim)`) lives in the pure-Python package
//! `python/bsfit/__init__.py`.

use std::borrow::Cow;
use std::sync::Mutex;

use bsfit::grid3::Boundary;
use bsfit::{BoundaryCondition, DynFitter, DynSpline, EndCondition, Real, Workspace};
use numpy::ndarray::{ArrayView, Dimension, IxDyn};
use numpy::{
    Element, PyArray1, PyArray2, PyArray3, PyArrayDyn, PyArrayMethods, PyReadonlyArray,
    PyReadonlyArray1, PyReadonlyArray2, PyReadonlyArray3, PyReadonlyArrayDyn, PyReadwriteArrayDyn,
    PyUntypedArrayMethods,
};
use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use rayon::prelude::*;

mod sensitivity;

create_exception!(
    bsfit,
    FitError,
    PyValueError,
    "Raised when bsfit rejects its input (a subclass of ValueError).\n\n\
     The message is the one of the Rust library's `FitError`: it names the axis,\n\
     index or value at fault."
);

/// Points per rayon task in the batch gradient and Hessian.
const CHUNK: usize = 256;

/// Converts a library error into `bsfit.FitError` (a `ValueError`).
fn fit_err(e: bsfit::FitError) -> PyErr {
    FitError::new_err(e.to_string())
}

/// A `bsfit.FitError` with a message of the binding's own (shape checks).
fn value_err(msg: String) -> PyErr {
    FitError::new_err(msg)
}

/// The row-major contents of a numpy array, taken while attached to Python
/// and read (copied only if not C-contiguous) after detaching, so that the
/// copy of a large strided array does not hold the GIL.
enum RowMajor<'a, D: Dimension> {
    /// A C-contiguous buffer, used in place.
    Slice(&'a [f64]),
    /// Any other layout: copied in logical (row-major) order by [`RowMajor::get`].
    View(ArrayView<'a, f64, D>),
}

impl<'a, D: Dimension> RowMajor<'a, D> {
    /// Borrows `a` (no copy yet).
    fn new(a: &'a PyReadonlyArray<'_, f64, D>) -> Self {
        // `as_slice` also accepts Fortran-contiguous arrays: check C order first.
        match a.as_slice() {
            Ok(s) if a.is_c_contiguous() => RowMajor::Slice(s),
            _ => RowMajor::View(a.as_array()),
        }
    }

    /// The row-major data: borrowed, or copied from a strided view.
    fn get(&self) -> Cow<'a, [f64]> {
        match self {
            RowMajor::Slice(s) => Cow::Borrowed(s),
            RowMajor::View(v) => Cow::Owned(v.iter().copied().collect()),
        }
    }
}

/// The row-major contents of `a`: borrowed when C-contiguous, copied otherwise.
fn slice_or_copy<'a, D: Dimension>(a: &'a PyReadonlyArray<'_, f64, D>) -> Cow<'a, [f64]> {
    RowMajor::new(a).get()
}

/// A shape as Python writes it: `(6, 5)`, `(30,)`, `()`.
fn py_shape(shape: &[usize]) -> String {
    match shape {
        [n] => format!("({n},)"),
        _ => {
            let parts: Vec<String> = shape.iter().map(|n| n.to_string()).collect();
            format!("({})", parts.join(", "))
        }
    }
}

/// Checks that `shape` (of a values or coefficient array) is the grid's shape.
fn check_grid_shape(what: &str, shape: &[usize], grid: &[usize]) -> PyResult<()> {
    if shape.len() != grid.len() {
        return Err(value_err(format!(
            "{what} of shape {} for a grid of shape {}: {}",
            py_shape(shape),
            py_shape(grid),
            bsfit::FitError::DimensionMismatch {
                expected: grid.len(),
                got: shape.len(),
            }
        )));
    }
    for (axis, (&v, &g)) in shape.iter().zip(grid).enumerate() {
        if v != g && what != "values" {
            return Err(value_err(format!(
                "{what} has extent {v} along axis {axis}, the grid {g} (grid shape {})",
                py_shape(grid)
            )));
        }
        if v != g {
            return Err(fit_err(bsfit::FitError::ShapeMismatch {
                axis,
                axis_len: g,
                values_len: v,
            }));
        }
    }
    Ok(())
}

/// Explicit end-derivative values (left, right), each optional.
type EndArrays<'py> = (
    Option<PyReadonlyArrayDyn<'py, f64>>,
    Option<PyReadonlyArrayDyn<'py, f64>>,
);

/// One end's condition from its name: `"not-a-knot"`, `"natural"`,
/// `"clamped"`, or `"d1"` / `"d2"` for a derivative of that order whose
/// values come with the fit.
fn end_condition(name: &str) -> PyResult<EndCondition> {
    Ok(match name {
        "not-a-knot" => EndCondition::NotAKnot,
        "natural" => EndCondition::Natural,
        "clamped" => EndCondition::Clamped,
        "d1" => EndCondition::Derivative { order: 1 },
        "d2" => EndCondition::Derivative { order: 2 },
        other => {
            return Err(value_err(format!(
                "unknown end condition {other:?}: expected \"not-a-knot\", \"natural\", \"clamped\", \"d1\" or \"d2\""
            )));
        }
    })
}

/// Per-axis conditions from `(left, right)` names (`("periodic", "periodic")`
/// for a periodic axis); `None`: not-a-knot everywhere.
fn conditions(bc: Option<Vec<(String, String)>>, ndim: usize) -> PyResult<Vec<BoundaryCondition>> {
    let Some(bc) = bc else {
        return Ok(vec![BoundaryCondition::NOT_A_KNOT; ndim]);
    };
    bc.iter()
        .map(|(l, r)| match (l.as_str(), r.as_str()) {
            ("periodic", "periodic") => Ok(BoundaryCondition::PERIODIC),
            ("periodic", _) | (_, "periodic") => Err(value_err(
                "\"periodic\" applies to both ends of an axis".into(),
            )),
            (l, r) => Ok(BoundaryCondition::ends(
                end_condition(l)?,
                end_condition(r)?,
            )),
        })
        .collect()
}

/// Checks that `points` has shape `(n, ndim)`.
fn check_points(points: &PyReadonlyArray2<'_, f64>, ndim: usize) -> PyResult<usize> {
    let shape = points.shape();
    if shape[1] != ndim {
        return Err(value_err(format!(
            "points have {} coordinates but the spline has {ndim} dimensions",
            shape[1]
        )));
    }
    Ok(shape[0])
}

/// A fitted cubic tensor-product spline (immutable; shareable between threads).
///
/// Wrapped by `bsfit.TensorSpline`, which adds scipy's calling conventions.
#[pyclass(frozen, module = "bsfit._bsfit", name = "_Spline")]
pub struct PySpline {
    inner: DynSpline,
}

#[pymethods]
impl PySpline {
    /// Fits the interpolating spline to `values` (shape: the lengths of
    /// `axes`, any layout) on the grid `axes[0] × … × axes[ndim-1]`.
    /// `bc`: per axis `(left, right)` condition names (see
    /// [`conditions`]); `ends`: the explicit derivative values of the left
    /// and right end (arrays over the other axes' sites, row-major).
    #[staticmethod]
    #[pyo3(signature = (axes, values, bc=None, ends=None))]
    fn fit(
        py: Python<'_>,
        axes: Vec<PyReadonlyArray1<'_, f64>>,
        values: PyReadonlyArrayDyn<'_, f64>,
        bc: Option<Vec<(String, String)>>,
        ends: Option<EndArrays<'_>>,
    ) -> PyResult<Self> {
        let axes: Vec<Cow<'_, [f64]>> = axes.iter().map(slice_or_copy).collect();
        let grid: Vec<usize> = axes.iter().map(|a| a.len()).collect();
        check_grid_shape("values", values.shape(), &grid)?;
        let bc = conditions(bc, axes.len())?;
        let values = RowMajor::new(&values);
        let (left, right) = ends.unwrap_or((None, None));
        let left = left.as_ref().map(slice_or_copy);
        let right = right.as_ref().map(slice_or_copy);
        let refs: Vec<&[f64]> = axes.iter().map(|a| &a[..]).collect();
        let inner = py
            .detach(|| {
                DynFitter::with_boundary(&refs, &bc)?.fit_with_ends(
                    &values.get(),
                    [
                        left.as_deref().unwrap_or(&[]),
                        right.as_deref().unwrap_or(&[]),
                    ],
                )
            })
            .map_err(fit_err)?;
        Ok(PySpline { inner })
    }

    /// Builds a spline from knot vectors and a coefficient array whose shape
    /// is `(len(t) - 4 for t in knots)`; every consistency condition is
    /// checked (with the GIL released: this is how a pickle is loaded).
    /// `periodic`: per axis, whether evaluation wraps it (default: none).
    #[staticmethod]
    #[pyo3(signature = (knots, coefs, periodic=None))]
    fn from_parts(
        py: Python<'_>,
        knots: Vec<PyReadonlyArray1<'_, f64>>,
        coefs: PyReadonlyArrayDyn<'_, f64>,
        periodic: Option<Vec<bool>>,
    ) -> PyResult<Self> {
        let periodic = periodic.unwrap_or_else(|| vec![false; knots.len()]);
        let knots: Vec<Vec<f64>> = knots
            .iter()
            .map(|t| slice_or_copy(t).into_owned())
            .collect();
        let grid: Vec<usize> = knots.iter().map(|t| t.len().saturating_sub(4)).collect();
        if coefs.shape() != grid.as_slice() {
            return Err(fit_err(bsfit::FitError::InvalidData(format!(
                "coefficients of shape {} for knot vectors implying the shape {}",
                py_shape(coefs.shape()),
                py_shape(&grid)
            ))));
        }
        let coefs = RowMajor::new(&coefs);
        let inner = py
            .detach(|| DynSpline::from_parts_periodic(knots, coefs.get().into_owned(), &periodic))
            .map_err(fit_err)?;
        Ok(PySpline { inner })
    }

    /// Number of dimensions.
    #[getter]
    fn ndim(&self) -> usize {
        self.inner.ndim()
    }

    /// Per axis, whether evaluation wraps it (periodic axes).
    #[getter]
    fn periodic(&self) -> Vec<bool> {
        self.inner.periodic_axes()
    }

    /// Grid shape (coefficients per axis).
    #[getter]
    fn shape(&self) -> Vec<usize> {
        self.inner.shape()
    }

    /// Knot vector of `axis` (a new array).
    fn knots<'py>(&self, py: Python<'py>, axis: usize) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let t = self.inner.knots(axis).map_err(fit_err)?;
        Ok(PyArray1::from_slice(py, t))
    }

    /// Coefficients, with the grid's shape: a read-only view of the spline's
    /// own buffer (no copy), which keeps the spline alive.
    fn coefficients<'py>(slf: Bound<'py, Self>) -> PyResult<Bound<'py, PyArrayDyn<f64>>> {
        let spline = &slf.get().inner;
        let view = ArrayView::from_shape(IxDyn(&spline.shape()), spline.coefficients())
            .map_err(|e| value_err(format!("coefficient view: {e}")))?;
        // SAFETY: the array's base object is `slf`, which owns `spline`; the
        // class is frozen and `DynSpline` never changes its coefficients, so
        // the buffer stays valid and is never reallocated while the array
        // lives. It is made read-only before Python sees it, and numpy refuses
        // to make it writeable again (its base exposes no writable buffer).
        let array = unsafe { PyArrayDyn::borrow_from_array(&view, slf.clone().into_any()) };
        array.readwrite().make_nonwriteable();
        Ok(array)
    }

    /// Values (or the mixed partial derivative of orders `nu`) at the rows of
    /// `points` (shape `(n, ndim)`); `extrapolate=False` gives NaN outside
    /// the domain. Runs in parallel with the GIL released.
    #[pyo3(signature = (points, nu=None, extrapolate=true))]
    fn eval_many<'py>(
        &self,
        py: Python<'py>,
        points: PyReadonlyArray2<'py, f64>,
        nu: Option<Vec<usize>>,
        extrapolate: bool,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let n = check_points(&points, self.inner.ndim())?;
        let pts = RowMajor::new(&points);
        let out = PyArray1::<f64>::zeros(py, n, false);
        {
            let mut rw = out.readwrite();
            let o = rw.as_slice_mut()?;
            let spline = &self.inner;
            py.detach(|| spline.eval_many_into(&pts.get(), nu.as_deref(), extrapolate, o))
                .map_err(fit_err)?;
        }
        Ok(out)
    }

    /// Gradients at the rows of `points` (shape `(n, ndim)`), as an array of
    /// shape `(n, ndim)`. Runs in parallel with the GIL released.
    fn grad_many<'py>(
        &self,
        py: Python<'py>,
        points: PyReadonlyArray2<'py, f64>,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let d = self.inner.ndim();
        let n = check_points(&points, d)?;
        let pts = RowMajor::new(&points);
        let out = PyArray2::<f64>::zeros(py, [n, d], false);
        {
            let mut rw = out.readwrite();
            let o = rw.as_slice_mut()?;
            let spline = &self.inner;
            py.detach(|| {
                let pts = pts.get();
                o.par_chunks_mut(d * CHUNK)
                    .zip(pts.par_chunks(d * CHUNK))
                    .try_for_each(|(o, p)| {
                        o.chunks_exact_mut(d)
                            .zip(p.chunks_exact(d))
                            .try_for_each(|(o, x)| spline.grad_into(x, o))
                    })
            })
            .map_err(fit_err)?;
        }
        Ok(out)
    }

    /// Hessians at the rows of `points` (shape `(n, ndim)`), as an array of
    /// shape `(n, ndim, ndim)`. Runs in parallel with the GIL released.
    fn hessian_many<'py>(
        &self,
        py: Python<'py>,
        points: PyReadonlyArray2<'py, f64>,
    ) -> PyResult<Bound<'py, PyArray3<f64>>> {
        let d = self.inner.ndim();
        let n = check_points(&points, d)?;
        let pts = RowMajor::new(&points);
        let out = PyArray3::<f64>::zeros(py, [n, d, d], false);
        {
            let mut rw = out.readwrite();
            let o = rw.as_slice_mut()?;
            let spline = &self.inner;
            py.detach(|| {
                let pts = pts.get();
                o.par_chunks_mut(d * d * CHUNK)
                    .zip(pts.par_chunks(d * CHUNK))
                    .try_for_each(|(o, p)| {
                        o.chunks_exact_mut(d * d)
                            .zip(p.chunks_exact(d))
                            .try_for_each(|(o, x)| spline.hessian_into(x, o))
                    })
            })
            .map_err(fit_err)?;
        }
        Ok(out)
    }

    /// Whether both splines have the same knots and coefficients.
    fn equals(&self, other: &PySpline) -> bool {
        self.inner == other.inner
    }
}

/// A fit plan for one grid: factors the per-axis collocation matrices once
/// and keeps a reusable workspace.
#[pyclass(frozen, module = "bsfit._bsfit", name = "_Fitter")]
pub struct PyFitter {
    inner: DynFitter,
    /// Explicit end-derivative values (left, right) used by every fit.
    ends: [Vec<f64>; 2],
    /// Reused by fits; a fit that finds it busy (another thread) uses a fresh one.
    ws: Mutex<Workspace>,
}

impl PyFitter {
    /// Runs `f` with the shared workspace, or a fresh one if another thread holds it.
    fn with_workspace<R>(&self, f: impl FnOnce(&mut Workspace) -> R) -> R {
        match self.ws.try_lock() {
            Ok(mut ws) => f(&mut ws),
            Err(_) => f(&mut self.inner.workspace()),
        }
    }
}

#[pymethods]
impl PyFitter {
    /// Validates the sites of every axis and factors their collocation matrices.
    /// `bc`: per axis `(left, right)` condition names; `ends`: the explicit
    /// derivative values every fit uses (see `_Spline.fit`).
    #[new]
    #[pyo3(signature = (axes, bc=None, ends=None))]
    fn new(
        axes: Vec<PyReadonlyArray1<'_, f64>>,
        bc: Option<Vec<(String, String)>>,
        ends: Option<EndArrays<'_>>,
    ) -> PyResult<Self> {
        let axes: Vec<Cow<'_, [f64]>> = axes.iter().map(slice_or_copy).collect();
        let refs: Vec<&[f64]> = axes.iter().map(|a| &a[..]).collect();
        let bc = conditions(bc, refs.len())?;
        let inner = DynFitter::with_boundary(&refs, &bc).map_err(fit_err)?;
        let (left, right) = ends.unwrap_or((None, None));
        let owned = |a: &Option<PyReadonlyArrayDyn<'_, f64>>| {
            a.as_ref()
                .map(|a| slice_or_copy(a).into_owned())
                .unwrap_or_default()
        };
        let ends = [owned(&left), owned(&right)];
        let ws = Mutex::new(inner.workspace());
        Ok(PyFitter { inner, ws, ends })
    }

    /// Coefficient shape (`n + 2` on the axes whose condition is not not-a-knot).
    #[getter]
    fn coef_shape(&self) -> Vec<usize> {
        self.inner.coef_shape()
    }

    /// Number of dimensions.
    #[getter]
    fn ndim(&self) -> usize {
        self.inner.ndim()
    }

    /// Grid shape (sites per axis).
    #[getter]
    fn shape(&self) -> Vec<usize> {
        self.inner.shape()
    }

    /// Knot vector of `axis` (a new array).
    fn knots<'py>(&self, py: Python<'py>, axis: usize) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let t = self.inner.knots(axis).map_err(fit_err)?;
        Ok(PyArray1::from_slice(py, t))
    }

    /// The spline on this grid's knots with coefficients `coefs` (the grid's
    /// shape; copied), e.g. written by `fit_into`.
    fn spline_from(
        &self,
        py: Python<'_>,
        coefs: PyReadonlyArrayDyn<'_, f64>,
    ) -> PyResult<PySpline> {
        check_grid_shape("coefficients", coefs.shape(), &self.inner.coef_shape())?;
        let coefs = RowMajor::new(&coefs);
        let inner = py
            .detach(|| self.inner.spline_from(coefs.get().into_owned()))
            .map_err(fit_err)?;
        Ok(PySpline { inner })
    }

    /// Fits `values` (the grid's shape, any layout) into a new spline, with
    /// the GIL released.
    fn fit(&self, py: Python<'_>, values: PyReadonlyArrayDyn<'_, f64>) -> PyResult<PySpline> {
        check_grid_shape("values", values.shape(), &self.inner.shape())?;
        let values = RowMajor::new(&values);
        let inner = py
            .detach(|| {
                let values = values.get();
                let mut coefs = vec![0.0; self.inner.coef_shape().iter().product()];
                let ends = [&self.ends[0][..], &self.ends[1][..]];
                self.with_workspace(|ws| self.inner.fit_into_ends(&values, ends, &mut coefs, ws))?;
                self.inner.spline_from(coefs)
            })
            .map_err(fit_err)?;
        Ok(PySpline { inner })
    }

    /// Fits `values` and writes the coefficients into `out` (the grid's
    /// shape, C-contiguous, float64, writeable), with the GIL released.
    fn fit_into(
        &self,
        py: Python<'_>,
        values: PyReadonlyArrayDyn<'_, f64>,
        mut out: PyReadwriteArrayDyn<'_, f64>,
    ) -> PyResult<()> {
        let grid = self.inner.shape();
        check_grid_shape("values", values.shape(), &grid)?;
        check_grid_shape("out", out.shape(), &self.inner.coef_shape())?;
        let values = RowMajor::new(&values);
        if !out.is_c_contiguous() {
            return Err(value_err("out must be C-contiguous".into()));
        }
        let o = out
            .as_slice_mut()
            .map_err(|_| value_err("out must be C-contiguous".into()))?;
        let ends = [&self.ends[0][..], &self.ends[1][..]];
        py.detach(|| self.with_workspace(|ws| self.inner.fit_into_ends(&values.get(), ends, o, ws)))
            .map_err(fit_err)
    }
}

/// Parses three boundary names.
fn boundaries(names: [String; 3]) -> PyResult<[Boundary; 3]> {
    let mut out = [Boundary::Mirror; 3];
    for (b, name) in out.iter_mut().zip(&names) {
        *b = Boundary::from_name(name).ok_or_else(|| {
            value_err(format!(
                "unknown boundary {name:?}; expected 'periodic', 'zero' or 'mirror'"
            ))
        })?;
    }
    Ok(out)
}

/// The 3D prefilter for one element type: a new C-contiguous array.
fn prefilter_impl<'py, T: Real + Element>(
    py: Python<'py>,
    input: PyReadonlyArray3<'py, T>,
    boundary: [String; 3],
) -> PyResult<Bound<'py, PyArray3<T>>> {
    let boundary = boundaries(boundary)?;
    let view = input.as_array();
    let out = PyArray3::<T>::zeros(py, view.dim(), false);
    {
        let mut rw = out.readwrite();
        let o = rw.as_slice_mut()?;
        py.detach(|| bsfit::grid3::prefilter_into(view, boundary, o))
            .map_err(fit_err)?;
    }
    Ok(out)
}

/// Cubic B-spline coefficients of 3D float64 samples (`B c = input`), with
/// one boundary name per axis (`periodic`, `zero`, `mirror`).
#[pyfunction]
fn prefilter_f64<'py>(
    py: Python<'py>,
    input: PyReadonlyArray3<'py, f64>,
    boundary: [String; 3],
) -> PyResult<Bound<'py, PyArray3<f64>>> {
    prefilter_impl(py, input, boundary)
}

/// [`prefilter_f64`] for float32 samples (computed in float32).
#[pyfunction]
fn prefilter_f32<'py>(
    py: Python<'py>,
    input: PyReadonlyArray3<'py, f32>,
    boundary: [String; 3],
) -> PyResult<Bound<'py, PyArray3<f32>>> {
    prefilter_impl(py, input, boundary)
}

/// Returns the memory kept by one-shot fits and prefilters for their next
/// call (workspaces and the coefficient arrays of dropped splines).
#[pyfunction]
fn release_cached_memory() {
    bsfit::release_cached_memory();
}

/// The native module `bsfit._bsfit`.
#[pymodule]
fn _bsfit(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PySpline>()?;
    m.add_class::<PyFitter>()?;
    m.add_function(wrap_pyfunction!(prefilter_f64, m)?)?;
    m.add_function(wrap_pyfunction!(prefilter_f32, m)?)?;
    m.add_function(wrap_pyfunction!(release_cached_memory, m)?)?;
    sensitivity::register(m)?;
    m.add("FitError", m.py().get_type::<FitError>())?;
    m.add("MAX_DIM", bsfit::tensor::MAX_DIM)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
