//! The GPU from Python: `_GpuSpline`, `_GpuFitter` and `_GpuArray`, the
//! library's `DynGpuSpline` / `DynGpuFitter` / `DynDeviceArray` on one
//! process-wide device (opened on first use). Evaluation builds the same
//! `Query` as `_Spline.evaluate`; with a `_GpuArray` of points it runs on
//! the device's points and leaves the results there. Without the `gpu`
//! feature every entry raises `NotImplementedError`.

use crate::{EndArrays, PyFitter, PySpline};
use numpy::{PyArray1, PyArrayDyn, PyReadonlyArrayDyn};
use pyo3::prelude::*;

/// The message of every GPU call in a build without GPU support.
#[cfg(not(feature = "gpu"))]
const NO_GPU: &str = "bsfit was built without GPU support";

#[cfg(not(feature = "gpu"))]
fn no_gpu<T>() -> PyResult<T> {
    Err(pyo3::exceptions::PyNotImplementedError::new_err(NO_GPU))
}

#[cfg(feature = "gpu")]
mod imp {
    use bsfit::gpu::GpuContext;
    use pyo3::prelude::*;
    use std::sync::{Arc, OnceLock};

    /// The process-wide device, opened once (or the reason it could not be).
    static DEVICE: OnceLock<Result<Arc<GpuContext>, String>> = OnceLock::new();

    /// The device, opening it on first use.
    pub(crate) fn device(py: Python<'_>) -> PyResult<Arc<GpuContext>> {
        let d = DEVICE.get_or_init(|| {
            py.detach(|| GpuContext::new().map(Arc::new).map_err(|e| e.to_string()))
        });
        d.clone()
            .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(format!("no GPU: {e}")))
    }

    /// The precision named by a numpy dtype name.
    pub(crate) fn precision(name: &str) -> PyResult<bsfit::tensor::gpu::GpuPrecision> {
        name.parse().map_err(crate::fit_err)
    }

    /// `TypeError` unless the array's precision is `want` (the spline's or
    /// plan's), naming both.
    pub(crate) fn same_precision(
        what: &str,
        array: &bsfit::tensor::gpu::DynDeviceArray,
        want: bsfit::tensor::gpu::GpuPrecision,
    ) -> PyResult<()> {
        if array.precision() == want {
            Ok(())
        } else {
            Err(pyo3::exceptions::PyTypeError::new_err(format!(
                "{what}: a {} device array for a {} GPU spline or plan",
                array.precision().name(),
                want.name()
            )))
        }
    }
}

/// Whether this build has GPU support.
#[pyfunction]
fn _gpu_built() -> bool {
    cfg!(feature = "gpu")
}

/// The adapter's name, opening the device if needed. Raises
/// `NotImplementedError` without GPU support, `RuntimeError` when no
/// adapter exists.
#[pyfunction]
fn _gpu_device_name(py: Python<'_>) -> PyResult<String> {
    #[cfg(feature = "gpu")]
    {
        Ok(imp::device(py)?.name().to_string())
    }
    #[cfg(not(feature = "gpu"))]
    {
        let _ = py;
        no_gpu()
    }
}

/// Waits, with the GIL released, until the device has finished all work
/// submitted to it (fits and evaluations whose results stay on the device
/// return before the device is done).
#[pyfunction]
fn _gpu_synchronize(py: Python<'_>) -> PyResult<()> {
    #[cfg(feature = "gpu")]
    {
        let ctx = imp::device(py)?;
        py.detach(|| ctx.wait()).map_err(crate::fit_err)
    }
    #[cfg(not(feature = "gpu"))]
    {
        let _ = py;
        no_gpu()
    }
}

/// Whether the device computes in float64.
#[pyfunction]
fn _gpu_supports_f64(py: Python<'_>) -> PyResult<bool> {
    #[cfg(feature = "gpu")]
    {
        Ok(imp::device(py)?.supports_f64())
    }
    #[cfg(not(feature = "gpu"))]
    {
        let _ = py;
        no_gpu()
    }
}

/// A spline resident on the device (knots and coefficients uploaded once).
#[pyclass(frozen, weakref, module = "bsfit._bsfit", name = "_GpuSpline")]
pub struct PyGpuSpline {
    #[cfg(feature = "gpu")]
    inner: bsfit::tensor::gpu::DynGpuSpline,
}

#[pymethods]
impl PyGpuSpline {
    /// Uploads a host spline in the precision named by `dtype`
    /// (`"float32"` or `"float64"`).
    #[staticmethod]
    fn upload(py: Python<'_>, spline: &PySpline, dtype: &str) -> PyResult<Self> {
        #[cfg(feature = "gpu")]
        {
            let ctx = imp::device(py)?;
            let p = imp::precision(dtype)?;
            let inner = py
                .detach(|| bsfit::tensor::gpu::DynGpuSpline::new(ctx, &spline.inner, p))
                .map_err(crate::fit_err)?;
            Ok(PyGpuSpline { inner })
        }
        #[cfg(not(feature = "gpu"))]
        {
            let _ = (py, spline, dtype);
            no_gpu()
        }
    }

    /// Number of dimensions.
    #[getter]
    fn ndim(&self) -> PyResult<usize> {
        #[cfg(feature = "gpu")]
        {
            Ok(self.inner.ndim())
        }
        #[cfg(not(feature = "gpu"))]
        {
            no_gpu()
        }
    }

    /// The value shape.
    #[getter]
    fn value_shape(&self) -> PyResult<Vec<usize>> {
        #[cfg(feature = "gpu")]
        {
            Ok(self.inner.value_shape().to_vec())
        }
        #[cfg(not(feature = "gpu"))]
        {
            no_gpu()
        }
    }

    /// `"float32"` or `"float64"`: the precision on the device.
    #[getter]
    fn dtype(&self) -> PyResult<&'static str> {
        #[cfg(feature = "gpu")]
        {
            Ok(match self.inner.precision() {
                bsfit::tensor::gpu::GpuPrecision::F32 => "float32",
                bsfit::tensor::gpu::GpuPrecision::F64 => "float64",
            })
        }
        #[cfg(not(feature = "gpu"))]
        {
            no_gpu()
        }
    }

    /// The request of `_Spline.evaluate` run on the device: `orders` at the
    /// rows of `at` (or its grid) under `policy`; a new float64 array of
    /// shape `(n, len(orders), *value_shape)` (grid: `(m_0, …, len(orders),
    /// *value_shape)`), with the GIL released.
    #[pyo3(signature = (at, orders, policy=None))]
    fn evaluate<'py>(
        &self,
        py: Python<'py>,
        at: &Bound<'py, PyAny>,
        orders: Vec<Vec<usize>>,
        policy: Option<crate::PolicyArg>,
    ) -> PyResult<Bound<'py, PyArrayDyn<f64>>> {
        #[cfg(feature = "gpu")]
        {
            use numpy::IntoPyArray;
            crate::with_query(at, &orders, policy, |query| {
                let r = py
                    .detach(|| self.inner.evaluate(query))
                    .map_err(crate::fit_err)?;
                Ok(r.into_pyarray(py))
            })
        }
        #[cfg(not(feature = "gpu"))]
        {
            let _ = (py, at, orders, policy);
            no_gpu()
        }
    }

    /// `evaluate` at the points of the device array `points` (`ndim`
    /// coordinates per point, row-major, the spline's precision): `orders`
    /// under `policy` into a new device array of `n * len(orders) *
    /// prod(value_shape)` elements, laid out `(n, len(orders),
    /// *value_shape)`; nothing is read back. The GIL is released.
    #[pyo3(signature = (points, orders, policy=None))]
    fn evaluate_device(
        &self,
        py: Python<'_>,
        points: &PyGpuArray,
        orders: Vec<Vec<usize>>,
        policy: Option<crate::PolicyArg>,
    ) -> PyResult<PyGpuArray> {
        #[cfg(feature = "gpu")]
        {
            imp::same_precision("points", &points.inner, self.inner.precision())?;
            let none = numpy::PyArray2::<f64>::zeros(py, [0, self.inner.ndim()], false);
            crate::with_query(none.as_any(), &orders, policy, |query| {
                let r = py
                    .detach(|| self.inner.evaluate_device(&points.inner, query))
                    .map_err(crate::fit_err)?;
                Ok(PyGpuArray { inner: r })
            })
        }
        #[cfg(not(feature = "gpu"))]
        {
            let _ = (py, points, orders, policy);
            no_gpu()
        }
    }
}

/// A fit plan on the device for the grid and boundary conditions of a host
/// plan, for one value shape.
#[pyclass(module = "bsfit._bsfit", name = "_GpuFitter")]
pub struct PyGpuFitter {
    #[cfg(feature = "gpu")]
    inner: bsfit::tensor::gpu::DynGpuFitter,
}

#[pymethods]
impl PyGpuFitter {
    /// The device plan of `fitter` for values of shape `vshape` per site in
    /// the precision named by `dtype`.
    #[new]
    fn new(py: Python<'_>, fitter: &PyFitter, vshape: Vec<usize>, dtype: &str) -> PyResult<Self> {
        #[cfg(feature = "gpu")]
        {
            let ctx = imp::device(py)?;
            let p = imp::precision(dtype)?;
            let inner = py
                .detach(|| bsfit::tensor::gpu::DynGpuFitter::new(ctx, &fitter.inner, &vshape, p))
                .map_err(crate::fit_err)?;
            Ok(PyGpuFitter { inner })
        }
        #[cfg(not(feature = "gpu"))]
        {
            let _ = (py, fitter, vshape, dtype);
            no_gpu()
        }
    }

    /// Fits `values` (shape `shape + value_shape`, float64, any layout) on
    /// the device with the explicit end values `ends`, and returns the
    /// fitted device spline (a copy of the coefficients on the device).
    #[pyo3(signature = (values, ends=None))]
    fn fit(
        &mut self,
        py: Python<'_>,
        values: PyReadonlyArrayDyn<'_, f64>,
        ends: Option<EndArrays<'_>>,
    ) -> PyResult<PyGpuSpline> {
        #[cfg(feature = "gpu")]
        {
            let values = crate::RowMajor::new(&values);
            let ends = crate::owned_ends(ends);
            let inner = &mut self.inner;
            let s = py
                .detach(|| {
                    inner.fit(&values.get(), [&ends[0], &ends[1]])?;
                    inner.spline(bsfit::Extrapolate::Polynomial)
                })
                .map_err(crate::fit_err)?;
            Ok(PyGpuSpline { inner: s })
        }
        #[cfg(not(feature = "gpu"))]
        {
            let _ = (py, values, ends);
            no_gpu()
        }
    }

    /// Fits the values of the device array `values` (row-major, shape
    /// `shape + value_shape`, the plan's precision) without a trip through
    /// host memory, and returns the fitted device spline (a copy of the
    /// coefficients on the device). The values are checked for finiteness
    /// on the device; a plan whose axis takes explicit end values refuses.
    fn fit_device(&mut self, py: Python<'_>, values: &PyGpuArray) -> PyResult<PyGpuSpline> {
        #[cfg(feature = "gpu")]
        {
            imp::same_precision("values", &values.inner, self.inner.precision())?;
            let inner = &mut self.inner;
            let s = py
                .detach(|| {
                    inner.fit_device(&values.inner)?;
                    inner.spline(bsfit::Extrapolate::Polynomial)
                })
                .map_err(crate::fit_err)?;
            Ok(PyGpuSpline { inner: s })
        }
        #[cfg(not(feature = "gpu"))]
        {
            let _ = (py, values);
            no_gpu()
        }
    }
}

/// A flat array resident on the device (float32 or float64 there; float64
/// on the host side): points, evaluation results or values to fit, kept on
/// the device between calls.
#[pyclass(frozen, weakref, module = "bsfit._bsfit", name = "_GpuArray")]
pub struct PyGpuArray {
    #[cfg(feature = "gpu")]
    inner: bsfit::tensor::gpu::DynDeviceArray,
}

#[pymethods]
impl PyGpuArray {
    /// Uploads `data` (float64, any shape and layout, taken row-major)
    /// rounded to the precision named by `dtype` (`"float32"` or
    /// `"float64"`).
    #[new]
    fn new(py: Python<'_>, data: PyReadonlyArrayDyn<'_, f64>, dtype: &str) -> PyResult<Self> {
        #[cfg(feature = "gpu")]
        {
            let ctx = imp::device(py)?;
            let p = imp::precision(dtype)?;
            let data = crate::RowMajor::new(&data);
            let inner = py
                .detach(|| bsfit::tensor::gpu::DynDeviceArray::from_slice(ctx, p, &data.get()))
                .map_err(crate::fit_err)?;
            Ok(PyGpuArray { inner })
        }
        #[cfg(not(feature = "gpu"))]
        {
            let _ = (py, data, dtype);
            no_gpu()
        }
    }

    /// Number of elements.
    fn __len__(&self) -> PyResult<usize> {
        #[cfg(feature = "gpu")]
        {
            Ok(self.inner.len())
        }
        #[cfg(not(feature = "gpu"))]
        {
            no_gpu()
        }
    }

    /// `"float32"` or `"float64"`: the precision on the device.
    #[getter]
    fn dtype(&self) -> PyResult<&'static str> {
        #[cfg(feature = "gpu")]
        {
            Ok(self.inner.precision().name())
        }
        #[cfg(not(feature = "gpu"))]
        {
            no_gpu()
        }
    }

    /// Copies the array to the host after all submitted work: a new 1-D
    /// float64 array (widened from float32), with the GIL released.
    fn to_numpy<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray1<f64>>> {
        #[cfg(feature = "gpu")]
        {
            use numpy::IntoPyArray;
            let v = py.detach(|| self.inner.read()).map_err(crate::fit_err)?;
            Ok(v.into_pyarray(py))
        }
        #[cfg(not(feature = "gpu"))]
        {
            let _ = py;
            no_gpu()
        }
    }

    /// Overwrites the whole array with `data` (float64, as many elements,
    /// taken row-major) rounded to its precision.
    fn write(&self, py: Python<'_>, data: PyReadonlyArrayDyn<'_, f64>) -> PyResult<()> {
        #[cfg(feature = "gpu")]
        {
            let data = crate::RowMajor::new(&data);
            py.detach(|| self.inner.write(&data.get()))
                .map_err(crate::fit_err)
        }
        #[cfg(not(feature = "gpu"))]
        {
            let _ = (py, data);
            no_gpu()
        }
    }
}

/// Adds the GPU classes and functions to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyGpuSpline>()?;
    m.add_class::<PyGpuFitter>()?;
    m.add_class::<PyGpuArray>()?;
    m.add_function(wrap_pyfunction!(_gpu_built, m)?)?;
    m.add_function(wrap_pyfunction!(_gpu_device_name, m)?)?;
    m.add_function(wrap_pyfunction!(_gpu_supports_f64, m)?)?;
    m.add_function(wrap_pyfunction!(_gpu_synchronize, m)?)?;
    Ok(())
}
