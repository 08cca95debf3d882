//! `bsfit._bsfit`: the native half of the `bsfit` Python package.
//!
//! Marshalling only, over bsfit's runtime-dimension API ([`DynSpline`],
//! [`DynFitter`]) and the uniform 3D prefilter
//! ([`bsfit::grid3::prefilter_into`]): it checks array shapes (the Rust API
//! takes flat row-major slices), borrows numpy buffers without copying,
//! builds the library's evaluation request ([`Query`]) from its arguments,
//! writes results straight into new numpy arrays, releases the GIL around
//! every fit and evaluation, and turns [`bsfit::FitError`] into
//! `bsfit.FitError` (a `ValueError`). Names (boundary conditions,
//! extrapolation policies) are parsed by the library's own `FromStr`
//! implementations; there is no loop over points here.
//!
//! The scipy vocabulary (`TensorSpline`, `make_ndbspl`, `spline_filter`,
//! dtype conversion, complex values as pairs of real components, `xi` of
//! shape `(..., ndim)`) lives in the pure-Python package
//! `python/bsfit/__init__.py`.

use std::borrow::Cow;
use std::sync::Mutex;

use bsfit::grid3::Boundary;
use bsfit::tensor::{Partial, Query};
use bsfit::{BoundaryCondition, Degree, DynFitter, DynSpline, Extrapolate, Real, Workspace};
use numpy::ndarray::{ArrayView, ArrayView2, Dimension, IxDyn};
use numpy::{
    Element, PyArray1, PyArray3, PyArrayDyn, PyArrayMethods, PyReadonlyArray, PyReadonlyArray1,
    PyReadonlyArray2, PyReadonlyArray3, PyReadonlyArrayDyn, PyReadwriteArrayDyn,
    PyUntypedArrayMethods,
};
use pyo3::create_exception;
use pyo3::exceptions::{PyNotImplementedError, PyTypeError, PyValueError};
use pyo3::prelude::*;

mod curve;
mod gpu;
mod ndimage;

mod sensitivity;

create_exception!(
    bsfit,
    FitError,
    PyValueError,
    "Raised when bsfit rejects its input (a subclass of ValueError).\n\n\
     The message is the one of the Rust library's `FitError`: it names the axis,\n\
     index or value at fault. A point outside the domain under the 'raise'\n\
     policy also carries the attributes `axis`, `point` (the index of the point,\n\
     or None) and `value` (the coordinate)."
);

/// Converts a library error into `bsfit.FitError` (a `ValueError`); a point
/// outside the domain also gets the attributes `axis`, `point` and `value`.
/// What the library does not implement ([`bsfit::FitError::Unsupported`])
/// is `NotImplementedError`.
pub(crate) fn fit_err(e: bsfit::FitError) -> PyErr {
    if let bsfit::FitError::Unsupported { .. } = e {
        return PyNotImplementedError::new_err(e.to_string());
    }
    let where_ = match e {
        bsfit::FitError::OutsideDomain {
            point, axis, value, ..
        } => Some((axis, point, value)),
        _ => None,
    };
    let err = FitError::new_err(e.to_string());
    if let Some((axis, point, value)) = where_ {
        Python::attach(|py| {
            let v = err.value(py);
            // Setting attributes on a fresh exception instance cannot fail
            // in practice; if it did, the message still says it all.
            let _ = v.setattr("axis", axis);
            let _ = v.setattr("point", point);
            let _ = v.setattr("value", value);
        });
    }
    err
}

/// A `bsfit.FitError` with a message of the binding's own (shape checks).
pub(crate) fn value_err(msg: String) -> PyErr {
    FitError::new_err(msg)
}

/// The row-major contents of a numpy array, taken while attached to Python
/// and read (copied only if not C-contiguous) after detaching, so that the
/// copy of a large strided array does not hold the GIL.
pub(crate) enum RowMajor<'a, D: Dimension> {
    /// A C-contiguous buffer, used in place.
    Slice(&'a [f64]),
    /// Any other layout: copied in logical (row-major) order by [`RowMajor::get`].
    View(ArrayView<'a, f64, D>),
}

impl<'a, D: Dimension> RowMajor<'a, D> {
    /// Borrows `a` (no copy yet).
    pub(crate) fn new(a: &'a PyReadonlyArray<'_, f64, D>) -> Self {
        // `as_slice` also accepts Fortran-contiguous arrays: check C order first.
        match a.as_slice() {
            Ok(s) if a.is_c_contiguous() => RowMajor::Slice(s),
            _ => RowMajor::View(a.as_array()),
        }
    }

    /// The row-major data: borrowed, or copied from a strided view.
    pub(crate) fn get(&self) -> Cow<'a, [f64]> {
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

/// Checks that `shape` (of a values, coefficient or output array) starts
/// with the grid's shape and returns the rest: the value shape.
fn value_shape<'s>(what: &str, shape: &'s [usize], grid: &[usize]) -> PyResult<&'s [usize]> {
    if shape.len() < grid.len() {
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
        if v == g {
            continue;
        }
        if what == "values" {
            return Err(fit_err(bsfit::FitError::ShapeMismatch {
                axis,
                axis_len: g,
                values_len: v,
            }));
        }
        return Err(value_err(format!(
            "{what} has extent {v} along axis {axis}, the grid {g} (grid shape {})",
            py_shape(grid)
        )));
    }
    Ok(&shape[grid.len()..])
}

/// Explicit end-derivative values (left, right), each optional.
pub(crate) type EndArrays<'py> = (
    Option<PyReadonlyArrayDyn<'py, f64>>,
    Option<PyReadonlyArrayDyn<'py, f64>>,
);

/// The owned row-major end values (empty where there are none).
pub(crate) fn owned_ends(ends: Option<EndArrays<'_>>) -> [Vec<f64>; 2] {
    let (left, right) = ends.unwrap_or((None, None));
    let owned = |a: &Option<PyReadonlyArrayDyn<'_, f64>>| {
        a.as_ref()
            .map(|a| slice_or_copy(a).into_owned())
            .unwrap_or_default()
    };
    [owned(&left), owned(&right)]
}

/// Per-axis conditions from `(left, right)` names, parsed by the library
/// ([`BoundaryCondition::from_names`]); `None`: not-a-knot everywhere.
fn conditions(bc: Option<Vec<(String, String)>>, ndim: usize) -> PyResult<Vec<BoundaryCondition>> {
    let Some(bc) = bc else {
        return Ok(vec![BoundaryCondition::NOT_A_KNOT; ndim]);
    };
    bc.iter()
        .map(|(l, r)| BoundaryCondition::from_names(l, r).map_err(fit_err))
        .collect()
}

/// Per-axis degrees from their numbers, checked by the library
/// ([`Degree::try_from`]: 1, 3 or 5, else `NotImplementedError`); `None`:
/// cubic everywhere.
fn degrees(k: Option<Vec<usize>>, ndim: usize) -> PyResult<Vec<Degree>> {
    let Some(k) = k else {
        return Ok(vec![Degree::Cubic; ndim]);
    };
    if k.len() != ndim {
        return Err(value_err(format!(
            "{} degrees for {ndim} dimensions",
            k.len()
        )));
    }
    k.into_iter()
        .map(|d| Degree::try_from(d).map_err(fit_err))
        .collect()
}

/// Where an evaluation runs: the rows of an `(n, ndim)` array (any layout)
/// or the grid of per-axis coordinate arrays.
#[derive(FromPyObject)]
enum Where<'py> {
    /// Points as rows.
    Rows(PyReadonlyArray2<'py, f64>),
    /// Per-axis coordinates of a grid.
    Grid(Vec<PyReadonlyArray1<'py, f64>>),
}

/// The policy argument: one name for every axis, or one per axis.
#[derive(FromPyObject)]
pub(crate) enum PolicyArg {
    /// The same policy on every axis (periodic axes keep wrapping).
    One(String),
    /// One policy per axis.
    Axes(Vec<String>),
}

/// Builds the evaluation request of `_Spline.evaluate` (and of the device
/// spline's) from its Python arguments and runs `f` on it: `at` the rows of
/// an `(n, ndim)` float64 array or a list of per-axis 1-D arrays (a grid),
/// `orders` the partials, `policy` one name, one per axis, or None.
pub(crate) fn with_query<'py, R>(
    at: &Bound<'py, PyAny>,
    orders: &[Vec<usize>],
    policy: Option<PolicyArg>,
    f: impl FnOnce(&Query<'_>) -> PyResult<R>,
) -> PyResult<R> {
    let at: Where<'py> = at.extract().map_err(|_| {
        PyTypeError::new_err(
            "evaluation points must be a float64 array of shape (n, ndim) \
             or a list of 1-D float64 arrays (a grid)",
        )
    })?;
    let partials: Vec<Partial> = orders
        .iter()
        .map(|o| Partial::new(o))
        .collect::<Result<_, _>>()
        .map_err(fit_err)?;
    let rows: Option<ArrayView2<'_, f64>>;
    let grid: Vec<Cow<'_, [f64]>>;
    match &at {
        Where::Rows(p) => {
            rows = Some(p.as_array());
            grid = Vec::new();
        }
        Where::Grid(axes) => {
            rows = None;
            grid = axes.iter().map(slice_or_copy).collect();
        }
    }
    let refs: Vec<&[f64]> = grid.iter().map(|a| &a[..]).collect();
    let mut query = match rows {
        Some(view) => Query::at(view),
        None => Query::grid(&refs),
    }
    .outputs(&partials);
    match policy {
        None => {}
        Some(PolicyArg::One(name)) => {
            query = query.policy(name.parse::<Extrapolate>().map_err(fit_err)?);
        }
        Some(PolicyArg::Axes(names)) => {
            let list = names
                .iter()
                .map(|n| n.parse::<Extrapolate>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(fit_err)?;
            query = query.policy_axes(&list);
        }
    }
    f(&query)
}

/// A fitted cubic tensor-product spline (immutable; shareable between
/// threads), scalar- or vector-valued.
///
/// Wrapped by `bsfit.TensorSpline`, which adds scipy's calling conventions.
#[pyclass(frozen, weakref, module = "bsfit._bsfit", name = "_Spline")]
pub struct PySpline {
    pub(crate) inner: DynSpline,
}

#[pymethods]
impl PySpline {
    /// Fits the interpolating spline to `values` on the grid
    /// `axes[0] × … × axes[ndim-1]`. `values` has shape
    /// `(len(axes[0]), …, len(axes[ndim-1]), *vshape)` in any layout; the
    /// trailing dimensions are the value shape. `bc`: per axis
    /// `(left, right)` condition names (see [`conditions`]); `ends`: the
    /// explicit derivative values of the left and right end (arrays over the
    /// other axes' sites and the value shape, row-major).
    /// `k`: the degree of each axis (1, 3 or 5; default 3).
    #[staticmethod]
    #[pyo3(signature = (axes, values, bc=None, ends=None, k=None))]
    fn fit(
        py: Python<'_>,
        axes: Vec<PyReadonlyArray1<'_, f64>>,
        values: PyReadonlyArrayDyn<'_, f64>,
        bc: Option<Vec<(String, String)>>,
        ends: Option<EndArrays<'_>>,
        k: Option<Vec<usize>>,
    ) -> PyResult<Self> {
        let axes: Vec<Cow<'_, [f64]>> = axes.iter().map(slice_or_copy).collect();
        let grid: Vec<usize> = axes.iter().map(|a| a.len()).collect();
        let vshape = value_shape("values", values.shape(), &grid)?.to_vec();
        let bc = conditions(bc, axes.len())?;
        let k = degrees(k, axes.len())?;
        let values = RowMajor::new(&values);
        let ends = owned_ends(ends);
        let refs: Vec<&[f64]> = axes.iter().map(|a| &a[..]).collect();
        let inner = py
            .detach(|| {
                DynFitter::with_boundary_degrees(&refs, &bc, &k)?.fit_vector_with_ends(
                    &values.get(),
                    &vshape,
                    [&ends[0], &ends[1]],
                )
            })
            .map_err(fit_err)?;
        Ok(PySpline { inner })
    }

    /// Builds a spline from knot vectors and a coefficient array of shape
    /// `(len(t) - 4 for t in knots) + vshape`; every consistency condition
    /// is checked (with the GIL released: this is how a pickle is loaded).
    /// `periodic`: per axis, whether evaluation wraps it (default: none);
    /// `k`: the degree of each axis (default 3), so that axis `j` has
    /// `len(knots[j]) - k[j] - 1` coefficients.
    #[staticmethod]
    #[pyo3(signature = (knots, coefs, periodic=None, k=None))]
    fn from_parts(
        py: Python<'_>,
        knots: Vec<PyReadonlyArray1<'_, f64>>,
        coefs: PyReadonlyArrayDyn<'_, f64>,
        periodic: Option<Vec<bool>>,
        k: Option<Vec<usize>>,
    ) -> PyResult<Self> {
        let periodic = periodic.unwrap_or_else(|| vec![false; knots.len()]);
        let k = degrees(k, knots.len())?;
        let knots: Vec<Vec<f64>> = knots
            .iter()
            .map(|t| slice_or_copy(t).into_owned())
            .collect();
        let grid: Vec<usize> = knots
            .iter()
            .zip(&k)
            .map(|(t, d)| t.len().saturating_sub(d.order()))
            .collect();
        let shape = coefs.shape();
        if shape.len() < grid.len() || shape[..grid.len()] != grid[..] {
            return Err(fit_err(bsfit::FitError::InvalidData(format!(
                "coefficients of shape {} for knot vectors implying the shape {}",
                py_shape(shape),
                py_shape(&grid)
            ))));
        }
        let vshape = shape[grid.len()..].to_vec();
        let coefs = RowMajor::new(&coefs);
        let inner = py
            .detach(|| {
                DynSpline::from_parts_degrees(
                    knots,
                    coefs.get().into_owned(),
                    &periodic,
                    &vshape,
                    &k,
                )
            })
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

    /// The degree of each axis.
    #[getter]
    fn degrees(&self) -> Vec<usize> {
        self.inner.degrees().iter().map(|k| k.get()).collect()
    }

    /// Grid shape (coefficients per axis).
    #[getter]
    fn shape(&self) -> Vec<usize> {
        self.inner.shape()
    }

    /// The value shape (`[]` for scalar values).
    #[getter]
    fn value_shape(&self) -> Vec<usize> {
        self.inner.value_shape().to_vec()
    }

    /// Knot vector of `axis` (a new array).
    fn knots<'py>(&self, py: Python<'py>, axis: usize) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let t = self.inner.knots(axis).map_err(fit_err)?;
        Ok(PyArray1::from_slice(py, t))
    }

    /// Coefficients, of shape `shape + value_shape`: a read-only view of the
    /// spline's own buffer (no copy), which keeps the spline alive.
    fn coefficients<'py>(slf: Bound<'py, Self>) -> PyResult<Bound<'py, PyArrayDyn<f64>>> {
        let spline = &slf.get().inner;
        let mut dims = spline.shape();
        dims.extend_from_slice(spline.value_shape());
        let view = ArrayView::from_shape(IxDyn(&dims), spline.coefficients())
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

    /// Runs one evaluation request: the partial derivatives `orders` (one
    /// tuple of per-axis orders each) at `at` — the rows of an `(n, ndim)`
    /// float64 array of any layout, or the grid of a list of per-axis 1-D
    /// float64 arrays — under `policy` (a name for every axis, a list of one
    /// name per axis, or None for the spline's own; names as the library's
    /// `Extrapolate` parses them: polynomial, clamp, nan, periodic, error).
    /// Returns a new array of shape `(n, len(orders), *value_shape)` for
    /// points and `(m_0, …, m_{ndim-1}, len(orders), *value_shape)` for a
    /// grid. Runs in parallel with the GIL released.
    #[pyo3(signature = (at, orders, policy=None))]
    fn evaluate<'py>(
        &self,
        py: Python<'py>,
        at: &Bound<'py, PyAny>,
        orders: Vec<Vec<usize>>,
        policy: Option<PolicyArg>,
    ) -> PyResult<Bound<'py, PyArrayDyn<f64>>> {
        let spline = &self.inner;
        with_query(at, &orders, policy, |query| {
            let shape = spline.output_shape(query).map_err(fit_err)?;
            let out = PyArrayDyn::<f64>::zeros(py, IxDyn(&shape), false);
            {
                let mut rw = out.readwrite();
                let o = rw.as_slice_mut()?;
                py.detach(|| spline.evaluate_into(query, o))
                    .map_err(fit_err)?;
            }
            Ok(out)
        })
    }

    /// Whether both splines have the same knots, coefficients, value shape
    /// and periodic axes.
    fn equals(&self, other: &PySpline) -> bool {
        self.inner == other.inner
    }
}

/// A fit plan for one grid: factors the per-axis collocation matrices once
/// and keeps a reusable workspace.
#[pyclass(frozen, weakref, module = "bsfit._bsfit", name = "_Fitter")]
pub struct PyFitter {
    pub(crate) inner: DynFitter,
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
    /// `bc`: per axis `(left, right)` condition names.
    /// `k`: the degree of each axis (1, 3 or 5; default 3).
    #[new]
    #[pyo3(signature = (axes, bc=None, k=None))]
    fn new(
        axes: Vec<PyReadonlyArray1<'_, f64>>,
        bc: Option<Vec<(String, String)>>,
        k: Option<Vec<usize>>,
    ) -> PyResult<Self> {
        let axes: Vec<Cow<'_, [f64]>> = axes.iter().map(slice_or_copy).collect();
        let refs: Vec<&[f64]> = axes.iter().map(|a| &a[..]).collect();
        let bc = conditions(bc, refs.len())?;
        let k = degrees(k, refs.len())?;
        let inner = DynFitter::with_boundary_degrees(&refs, &bc, &k).map_err(fit_err)?;
        let ws = Mutex::new(inner.workspace());
        Ok(PyFitter { inner, ws })
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

    /// The spline on this grid's knots with coefficients `coefs` (shape
    /// `coef_shape + value_shape`; copied), e.g. written by `fit_into`.
    fn spline_from(
        &self,
        py: Python<'_>,
        coefs: PyReadonlyArrayDyn<'_, f64>,
    ) -> PyResult<PySpline> {
        let vshape = value_shape("coefficients", coefs.shape(), &self.inner.coef_shape())?.to_vec();
        let coefs = RowMajor::new(&coefs);
        let inner = py
            .detach(|| {
                self.inner
                    .spline_from_vector(coefs.get().into_owned(), &vshape)
            })
            .map_err(fit_err)?;
        Ok(PySpline { inner })
    }

    /// Fits `values` (shape `shape + value_shape`, any layout) into a new
    /// spline, with the GIL released; `ends`: explicit end values as for
    /// `_Spline.fit`.
    #[pyo3(signature = (values, ends=None))]
    fn fit(
        &self,
        py: Python<'_>,
        values: PyReadonlyArrayDyn<'_, f64>,
        ends: Option<EndArrays<'_>>,
    ) -> PyResult<PySpline> {
        let vshape = value_shape("values", values.shape(), &self.inner.shape())?.to_vec();
        let values = RowMajor::new(&values);
        let ends = owned_ends(ends);
        let inner = py
            .detach(|| {
                self.inner
                    .fit_vector_with_ends(&values.get(), &vshape, [&ends[0], &ends[1]])
            })
            .map_err(fit_err)?;
        Ok(PySpline { inner })
    }

    /// Fits `values` and writes the coefficients into `out` (shape
    /// `coef_shape + value_shape`, C-contiguous, float64, writeable), with
    /// the GIL released.
    #[pyo3(signature = (values, out, ends=None))]
    fn fit_into(
        &self,
        py: Python<'_>,
        values: PyReadonlyArrayDyn<'_, f64>,
        mut out: PyReadwriteArrayDyn<'_, f64>,
        ends: Option<EndArrays<'_>>,
    ) -> PyResult<()> {
        let vshape = value_shape("values", values.shape(), &self.inner.shape())?.to_vec();
        let out_vshape = value_shape("out", out.shape(), &self.inner.coef_shape())?;
        if out_vshape != vshape.as_slice() {
            return Err(value_err(format!(
                "out has the value shape {}, the values {}",
                py_shape(out_vshape),
                py_shape(&vshape)
            )));
        }
        let values = RowMajor::new(&values);
        if !out.is_c_contiguous() {
            return Err(value_err("out must be C-contiguous".into()));
        }
        let o = out
            .as_slice_mut()
            .map_err(|_| value_err("out must be C-contiguous".into()))?;
        let ends = owned_ends(ends);
        py.detach(|| {
            self.with_workspace(|ws| {
                self.inner
                    .fit_into_vector(&values.get(), &vshape, [&ends[0], &ends[1]], o, ws)
            })
        })
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

/// Sets the byte limit of the library's process-wide cache of recent
/// buffers (the workspaces of one-shot fits and prefilters, the coefficient
/// arrays of dropped splines) and returns the previous limit; `0` turns the
/// cache off and frees what it holds (see [`bsfit::set_cache_limit`]).
#[pyfunction]
fn set_cache_limit(nbytes: usize) -> usize {
    bsfit::set_cache_limit(nbytes)
}

/// The native module `bsfit._bsfit`.
#[pymodule]
fn _bsfit(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PySpline>()?;
    m.add_class::<PyFitter>()?;
    m.add_function(wrap_pyfunction!(prefilter_f64, m)?)?;
    m.add_function(wrap_pyfunction!(prefilter_f32, m)?)?;
    m.add_function(wrap_pyfunction!(release_cached_memory, m)?)?;
    m.add_function(wrap_pyfunction!(set_cache_limit, m)?)?;
    ndimage::register(m)?;
    curve::register(m)?;
    sensitivity::register(m)?;
    gpu::register(m)?;
    m.add("FitError", m.py().get_type::<FitError>())?;
    m.add("MAX_DIM", bsfit::tensor::MAX_DIM)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
