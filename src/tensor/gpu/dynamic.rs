//! Device splines and fit plans whose dimension and precision are chosen at
//! run time: [`DynGpuSpline`] and [`DynGpuFitter`], the device forms of
//! [`DynSpline`] and [`DynFitter`] that the C ABI and the Python package
//! hold, and [`DynDeviceArray`], a [`DeviceArray`] of run-time precision
//! that keeps points, results and values on the device between calls. Each
//! call dispatches once on the variant and runs the typed code
//! ([`GpuSpline`], [`GpuFitter`]); nothing here loops over points.

use std::sync::Arc;

use super::{DeviceArray, GpuFitter, GpuReal, GpuSpline};
use crate::FitError;
use crate::gpu::GpuContext;
use crate::tensor::{DynFitter, DynSpline, Extrapolate, Query};
use ndarray::ArrayD;

/// The precision of a device spline or plan: `f64` needs an adapter with
/// `SHADER_F64` ([`GpuContext::supports_f64`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum GpuPrecision {
    /// Single precision: knots, coefficients, points and results in `f32`.
    F32,
    /// Double precision.
    #[default]
    F64,
}

impl std::str::FromStr for GpuPrecision {
    type Err = FitError;
    /// `f32` / `float32` / `single`, `f64` / `float64` / `double`.
    fn from_str(s: &str) -> Result<Self, FitError> {
        match s {
            "f32" | "float32" | "single" => Ok(GpuPrecision::F32),
            "f64" | "float64" | "double" => Ok(GpuPrecision::F64),
            other => Err(FitError::InvalidParameter {
                name: "dtype",
                reason: format!("unknown precision {other:?}: expected float32 or float64"),
            }),
        }
    }
}

impl GpuPrecision {
    /// The numpy name of the precision: `"float32"` or `"float64"`.
    pub fn name(self) -> &'static str {
        match self {
            GpuPrecision::F32 => "float32",
            GpuPrecision::F64 => "float64",
        }
    }
}

/// The typed array of a [`DynDeviceArray`].
#[derive(Debug)]
enum Data {
    F32(DeviceArray<f32>),
    F64(DeviceArray<f64>),
}

/// A flat array resident on the device whose precision is chosen at run
/// time: the [`DeviceArray`] of the dynamic front, holding its
/// [`GpuContext`]. Points to evaluate at ([`DynGpuSpline::evaluate_device`]),
/// the results of an evaluation, or grid values to fit
/// ([`DynGpuFitter::fit_device`]); results left here feed the next call
/// without a trip through host memory.
///
/// The host side is always `f64`: uploads round to the array's precision,
/// reads widen back. A call handed an array of another precision, length or
/// context returns [`FitError::InvalidParameter`] before recording anything.
///
/// ```
/// use std::sync::Arc;
/// use bsfit::gpu::GpuContext;
/// use bsfit::tensor::gpu::{DynDeviceArray, GpuPrecision};
///
/// // Skips without an adapter.
/// let Ok(ctx) = GpuContext::new() else { return Ok(()) };
/// let a = DynDeviceArray::from_slice(Arc::new(ctx), GpuPrecision::F32, &[0.5, 1.25, -2.0])?;
/// assert_eq!(a.len(), 3);
/// assert_eq!(a.read()?, vec![0.5, 1.25, -2.0]);
/// # Ok::<(), bsfit::FitError>(())
/// ```
#[derive(Debug)]
pub struct DynDeviceArray {
    ctx: Arc<GpuContext>,
    data: Data,
}

impl DynDeviceArray {
    /// A zeroed array of `len` elements in `precision` on the device of
    /// `ctx`.
    ///
    /// # Errors
    /// As [`DeviceArray::zeroed`]: [`FitError::Gpu`] for
    /// [`GpuPrecision::F64`] on an adapter without f64 shaders or an array
    /// over the device's storage-binding limit.
    pub fn zeroed(
        ctx: Arc<GpuContext>,
        precision: GpuPrecision,
        len: usize,
    ) -> Result<Self, FitError> {
        let data = match precision {
            GpuPrecision::F32 => Data::F32(DeviceArray::zeroed(&ctx, len)?),
            GpuPrecision::F64 => Data::F64(DeviceArray::zeroed(&ctx, len)?),
        };
        Ok(Self { ctx, data })
    }

    /// An array of `data.len()` elements holding `data` rounded to
    /// `precision` (one upload).
    ///
    /// # Errors
    /// As [`zeroed`](Self::zeroed).
    pub fn from_slice(
        ctx: Arc<GpuContext>,
        precision: GpuPrecision,
        data: &[f64],
    ) -> Result<Self, FitError> {
        let a = Self::zeroed(ctx, precision, data.len())?;
        a.write(data)?;
        Ok(a)
    }

    /// Overwrites the whole array with `data` rounded to its precision (one
    /// upload, queued behind the work already submitted).
    ///
    /// # Errors
    /// [`FitError::InvalidParameter`] unless `data.len()` is the array's
    /// length.
    pub fn write(&self, data: &[f64]) -> Result<(), FitError> {
        self.check_len(data.len(), "data")?;
        match &self.data {
            Data::F32(a) => {
                // Rounded by all threads one staging chunk at a time.
                let mut tmp = Vec::new();
                self.ctx
                    .stream_upload_converted(&a.buffer, 0, data, &mut tmp, |src, dst| {
                        for (d, &x) in dst.iter_mut().zip(src) {
                            *d = f32::from_f64(x);
                        }
                    })
            }
            Data::F64(a) => a.write(&self.ctx, data),
        }
    }

    /// Copies the array to the host after all submitted work (one round
    /// trip), widened to `f64`.
    ///
    /// # Errors
    /// [`FitError::Gpu`] if the device fails.
    pub fn read(&self) -> Result<Vec<f64>, FitError> {
        Ok(match &self.data {
            Data::F32(a) => a.read(&self.ctx)?.into_iter().map(f32::to_f64).collect(),
            Data::F64(a) => a.read(&self.ctx)?,
        })
    }

    /// [`read`](Self::read) into `out`.
    ///
    /// # Errors
    /// [`FitError::InvalidParameter`] unless `out.len()` is the array's
    /// length; [`FitError::Gpu`] if the device fails.
    pub fn read_into(&self, out: &mut [f64]) -> Result<(), FitError> {
        self.check_len(out.len(), "out")?;
        match &self.data {
            Data::F32(a) => {
                for (o, v) in out.iter_mut().zip(a.read(&self.ctx)?) {
                    *o = v.to_f64();
                }
            }
            Data::F64(a) => {
                let staging = self.ctx.staging(size_of_val(out) as u64);
                a.read_into(&self.ctx, &staging, out)?;
            }
        }
        Ok(())
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match &self.data {
            Data::F32(a) => a.len(),
            Data::F64(a) => a.len(),
        }
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The precision of the elements on the device.
    pub fn precision(&self) -> GpuPrecision {
        match &self.data {
            Data::F32(_) => GpuPrecision::F32,
            Data::F64(_) => GpuPrecision::F64,
        }
    }

    /// The context the array lives on.
    pub fn context(&self) -> &Arc<GpuContext> {
        &self.ctx
    }

    /// The typed array if its precision is `f32`.
    pub fn as_f32(&self) -> Option<&DeviceArray<f32>> {
        match &self.data {
            Data::F32(a) => Some(a),
            Data::F64(_) => None,
        }
    }

    /// The typed array if its precision is `f64`.
    pub fn as_f64(&self) -> Option<&DeviceArray<f64>> {
        match &self.data {
            Data::F64(a) => Some(a),
            Data::F32(_) => None,
        }
    }

    fn check_len(&self, len: usize, name: &'static str) -> Result<(), FitError> {
        if len == self.len() {
            Ok(())
        } else {
            Err(FitError::InvalidParameter {
                name,
                reason: format!("{len} elements for a device array of {}", self.len()),
            })
        }
    }

    /// The typed array of `T`, or [`FitError::InvalidParameter`] naming
    /// `name` for an array of the other precision.
    fn typed<T: Typed>(&self, name: &'static str) -> Result<&DeviceArray<T>, FitError> {
        T::pick(self).ok_or_else(|| FitError::InvalidParameter {
            name,
            reason: format!(
                "a {} device array where {} is needed",
                self.precision().name(),
                T::PRECISION.name()
            ),
        })
    }
}

/// The device precisions a [`DynDeviceArray`] holds.
trait Typed: GpuReal {
    const PRECISION: GpuPrecision;
    fn pick(a: &DynDeviceArray) -> Option<&DeviceArray<Self>>;
}

impl Typed for f32 {
    const PRECISION: GpuPrecision = GpuPrecision::F32;
    fn pick(a: &DynDeviceArray) -> Option<&DeviceArray<f32>> {
        a.as_f32()
    }
}

impl Typed for f64 {
    const PRECISION: GpuPrecision = GpuPrecision::F64;
    fn pick(a: &DynDeviceArray) -> Option<&DeviceArray<f64>> {
        a.as_f64()
    }
}

/// [`GpuSpline::evaluate_device`] with the typed arrays of `points` and
/// `out`.
fn eval_typed<const D: usize, T: Typed>(
    s: &GpuSpline<'static, D, T>,
    points: &DynDeviceArray,
    query: &Query<'_>,
    out: &DynDeviceArray,
) -> Result<(), FitError> {
    s.evaluate_device(points.typed("points")?, query, out.typed("out")?)
}

/// [`GpuFitter::fit_device`] with the typed array of `values`.
fn fit_typed<const D: usize, T: Typed>(
    f: &GpuFitter<'static, D, T>,
    values: &DynDeviceArray,
) -> Result<(), FitError> {
    f.fit_device(values.typed("values")?)
}

macro_rules! variants {
    ($name:ident, $inner:ident, $doc:literal) => {
        #[doc = $doc]
        #[derive(Debug)]
        #[non_exhaustive]
        pub enum $name {
            /// One dimension, `f32`.
            F32D1($inner<'static, 1, f32>),
            /// Two dimensions, `f32`.
            F32D2($inner<'static, 2, f32>),
            /// Three dimensions, `f32`.
            F32D3($inner<'static, 3, f32>),
            /// Four dimensions, `f32`.
            F32D4($inner<'static, 4, f32>),
            /// Five dimensions, `f32`.
            F32D5($inner<'static, 5, f32>),
            /// Six dimensions, `f32`.
            F32D6($inner<'static, 6, f32>),
            /// One dimension, `f64`.
            F64D1($inner<'static, 1, f64>),
            /// Two dimensions, `f64`.
            F64D2($inner<'static, 2, f64>),
            /// Three dimensions, `f64`.
            F64D3($inner<'static, 3, f64>),
            /// Four dimensions, `f64`.
            F64D4($inner<'static, 4, f64>),
            /// Five dimensions, `f64`.
            F64D5($inner<'static, 5, f64>),
            /// Six dimensions, `f64`.
            F64D6($inner<'static, 6, f64>),
        }
    };
}

variants!(
    DynGpuSpline,
    GpuSpline,
    "A device spline of run-time dimension (1–6) and precision: the device \
     form of [`DynSpline`], keeping its [`GpuContext`] alive."
);
variants!(
    DynGpuFitter,
    GpuFitter,
    "A device fit plan of run-time dimension (1–6) and precision: the \
     device form of [`DynFitter`], keeping its [`GpuContext`] alive. Fits \
     from host values; the coefficients stay on the device until read."
);

/// Runs `$body` with `$s` bound to the typed value.
macro_rules! each {
    ($ty:ident, $value:expr, $s:ident => $body:expr) => {
        match $value {
            $ty::F32D1($s) => $body,
            $ty::F32D2($s) => $body,
            $ty::F32D3($s) => $body,
            $ty::F32D4($s) => $body,
            $ty::F32D5($s) => $body,
            $ty::F32D6($s) => $body,
            $ty::F64D1($s) => $body,
            $ty::F64D2($s) => $body,
            $ty::F64D3($s) => $body,
            $ty::F64D4($s) => $body,
            $ty::F64D5($s) => $body,
            $ty::F64D6($s) => $body,
        }
    };
}

/// Builds the variant of precision `$p` from the CPU value `$src` (a
/// `DynSpline` or `DynFitter`), `$s` bound to its typed value in `$build`.
macro_rules! build {
    ($ty:ident, $src_ty:ident, $src:expr, $p:expr, $s:ident => $build:expr) => {
        match ($p, $src) {
            (GpuPrecision::F32, $src_ty::D1($s)) => $ty::F32D1($build),
            (GpuPrecision::F32, $src_ty::D2($s)) => $ty::F32D2($build),
            (GpuPrecision::F32, $src_ty::D3($s)) => $ty::F32D3($build),
            (GpuPrecision::F32, $src_ty::D4($s)) => $ty::F32D4($build),
            (GpuPrecision::F32, $src_ty::D5($s)) => $ty::F32D5($build),
            (GpuPrecision::F32, $src_ty::D6($s)) => $ty::F32D6($build),
            (GpuPrecision::F64, $src_ty::D1($s)) => $ty::F64D1($build),
            (GpuPrecision::F64, $src_ty::D2($s)) => $ty::F64D2($build),
            (GpuPrecision::F64, $src_ty::D3($s)) => $ty::F64D3($build),
            (GpuPrecision::F64, $src_ty::D4($s)) => $ty::F64D4($build),
            (GpuPrecision::F64, $src_ty::D5($s)) => $ty::F64D5($build),
            (GpuPrecision::F64, $src_ty::D6($s)) => $ty::F64D6($build),
        }
    };
}

impl DynGpuSpline {
    /// Uploads `spline` (knots and coefficients rounded to `precision`, its
    /// periodic axes, value shape and policy) to the device of `ctx`.
    ///
    /// # Errors
    /// As [`GpuSpline::new`].
    pub fn new(
        ctx: Arc<GpuContext>,
        spline: &DynSpline,
        precision: GpuPrecision,
    ) -> Result<Self, FitError> {
        Ok(build!(DynGpuSpline, DynSpline, spline, precision, s =>
            GpuSpline::new_shared(ctx, s)?))
    }

    /// Number of dimensions.
    pub fn ndim(&self) -> usize {
        each!(DynGpuSpline, self, s => s.shape().len())
    }

    /// The precision the device computes in.
    pub fn precision(&self) -> GpuPrecision {
        match self {
            DynGpuSpline::F32D1(_)
            | DynGpuSpline::F32D2(_)
            | DynGpuSpline::F32D3(_)
            | DynGpuSpline::F32D4(_)
            | DynGpuSpline::F32D5(_)
            | DynGpuSpline::F32D6(_) => GpuPrecision::F32,
            _ => GpuPrecision::F64,
        }
    }

    /// The value shape (empty for scalar values).
    pub fn value_shape(&self) -> &[usize] {
        each!(DynGpuSpline, self, s => s.value_shape())
    }

    /// Coefficients per axis.
    pub fn shape(&self) -> Vec<usize> {
        each!(DynGpuSpline, self, s => s.shape().to_vec())
    }

    /// The extrapolation policy of the axes that are not periodic.
    pub fn extrapolate(&self) -> Extrapolate {
        each!(DynGpuSpline, self, s => s.extrapolate())
    }

    /// Which axes wrap (fitted periodic).
    pub fn periodic_axes(&self) -> Vec<bool> {
        each!(DynGpuSpline, self, s => s.periodic_axes().to_vec())
    }

    /// The context the spline lives on.
    pub fn context(&self) -> &GpuContext {
        each!(DynGpuSpline, self, s => s.context())
    }

    /// Runs `query` on the device ([`GpuSpline::evaluate`]): shape
    /// `(points…, outputs, *vshape)`.
    ///
    /// # Errors
    /// As [`GpuSpline::evaluate`].
    pub fn evaluate(&self, query: &Query<'_>) -> Result<ArrayD<f64>, FitError> {
        each!(DynGpuSpline, self, s => s.evaluate(query))
    }

    /// Elements of the result of `query` at `count` points (`count ×
    /// outputs × components`).
    ///
    /// # Errors
    /// As [`GpuSpline::result_len`].
    pub fn result_len(&self, query: &Query<'_>, count: usize) -> Result<usize, FitError> {
        each!(DynGpuSpline, self, s => s.result_len(query, count))
    }

    /// Runs the outputs and policy of `query` (a request on no points,
    /// `Query::at_slice(&[], ndim)`) at the points of `points` (`ndim`
    /// coordinates per point, row-major) into a new device array of the
    /// spline's precision, laid out as [`evaluate`](Self::evaluate)'s result
    /// (point, output, component; [`result_len`](Self::result_len)
    /// elements). Nothing is read back: the results stay on the device.
    ///
    /// # Errors
    /// As [`evaluate_device_into`](Self::evaluate_device_into).
    pub fn evaluate_device(
        &self,
        points: &DynDeviceArray,
        query: &Query<'_>,
    ) -> Result<DynDeviceArray, FitError> {
        if !points.len().is_multiple_of(self.ndim()) {
            return Err(FitError::InvalidParameter {
                name: "points",
                reason: format!(
                    "{} coordinates is not a whole number of {}-dimensional points",
                    points.len(),
                    self.ndim()
                ),
            });
        }
        let len = self.result_len(query, points.len() / self.ndim())?;
        let out = DynDeviceArray::zeroed(points.context().clone(), self.precision(), len)?;
        self.evaluate_device_into(points, query, &out)?;
        Ok(out)
    }

    /// [`evaluate_device`](Self::evaluate_device) into the existing array
    /// `out` (at least [`result_len`](Self::result_len) elements; the rest
    /// is left as it was): no allocation once the kernel is compiled.
    /// Submits without waiting.
    ///
    /// # Errors
    /// [`FitError::InvalidParameter`] for an array of another precision than
    /// the spline's, of another context, `points` not a whole number of
    /// points, `out` too short or the same array as `points`, a query with
    /// points of its own, and as [`GpuSpline::evaluate_device`] for the
    /// request; [`FitError::OutsideDomain`] under [`Extrapolate::Error`].
    pub fn evaluate_device_into(
        &self,
        points: &DynDeviceArray,
        query: &Query<'_>,
        out: &DynDeviceArray,
    ) -> Result<(), FitError> {
        each!(DynGpuSpline, self, s => eval_typed(s, points, query, out))
    }
}

impl DynGpuFitter {
    /// The device plan of `fitter` for values of shape `vshape` per site
    /// (`&[]` for scalar values) in `precision`.
    ///
    /// # Errors
    /// As [`GpuFitter::with_value_shape`].
    pub fn new(
        ctx: Arc<GpuContext>,
        fitter: &DynFitter,
        vshape: &[usize],
        precision: GpuPrecision,
    ) -> Result<Self, FitError> {
        Ok(build!(DynGpuFitter, DynFitter, fitter, precision, f =>
            GpuFitter::new_shared(ctx, f, vshape)?))
    }

    /// Number of dimensions.
    pub fn ndim(&self) -> usize {
        each!(DynGpuFitter, self, f => f.shape().len())
    }

    /// Sites per axis.
    pub fn shape(&self) -> Vec<usize> {
        each!(DynGpuFitter, self, f => f.shape().to_vec())
    }

    /// Coefficients per axis.
    pub fn coef_shape(&self) -> Vec<usize> {
        each!(DynGpuFitter, self, f => f.coef_shape().to_vec())
    }

    /// The value shape (empty for scalar values).
    pub fn value_shape(&self) -> &[usize] {
        each!(DynGpuFitter, self, f => f.value_shape())
    }

    /// Values a fit takes (sites × components).
    pub fn len(&self) -> usize {
        self.shape().iter().product::<usize>() * self.value_shape().iter().product::<usize>()
    }

    /// Whether a fit takes no values (never: every axis has 4 sites or more).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Fits row-major `values` (`(sites…, *vshape)`) on the device with the
    /// explicit end values `ends` where an axis takes them (else two empty
    /// slices); submits without waiting ([`GpuFitter::fit_slice_ends`]).
    ///
    /// # Errors
    /// As [`GpuFitter::fit_slice_ends`].
    pub fn fit(&mut self, values: &[f64], ends: [&[f64]; 2]) -> Result<(), FitError> {
        each!(DynGpuFitter, self, f => f.fit_slice_ends(values, ends))
    }

    /// Fits row-major values already on the device (`values`: the plan's
    /// precision and [`len`](Self::len) elements, e.g. the results of
    /// [`DynGpuSpline::evaluate_device`]) without a trip through host
    /// memory ([`GpuFitter::fit_device`]): checks on the device that every
    /// value is finite (waiting for that check), then submits the passes
    /// without waiting. Equal periodic ends are not checked.
    ///
    /// # Errors
    /// [`FitError::InvalidParameter`] for an array of another precision,
    /// length or context; [`FitError::NonFiniteValue`] naming the first
    /// value that is not finite; [`FitError::EndValuesShape`] if an axis takes
    /// explicit end values (fit from the host with
    /// [`fit`](Self::fit) then).
    pub fn fit_device(&mut self, values: &DynDeviceArray) -> Result<(), FitError> {
        each!(DynGpuFitter, self, f => fit_typed(f, values))
    }

    /// Waits for the last fit and returns its spline on the host
    /// (coefficients widened to `f64`).
    ///
    /// # Errors
    /// As [`GpuFitter::to_spline`].
    pub fn to_spline(&self) -> Result<DynSpline, FitError> {
        Ok(each!(DynGpuFitter, self, f => DynSpline::from(f.to_spline()?)))
    }

    /// The device spline of the last fit's coefficients, copied on the
    /// device (later fits do not change it), with `policy` outside the
    /// domain on the axes that are not periodic
    /// ([`GpuFitter::spline_copy`]).
    ///
    /// # Errors
    /// As [`GpuFitter::spline_copy`].
    pub fn spline(&self, policy: Extrapolate) -> Result<DynGpuSpline, FitError> {
        Ok(match self {
            DynGpuFitter::F32D1(f) => DynGpuSpline::F32D1(f.spline_copy(policy)?),
            DynGpuFitter::F32D2(f) => DynGpuSpline::F32D2(f.spline_copy(policy)?),
            DynGpuFitter::F32D3(f) => DynGpuSpline::F32D3(f.spline_copy(policy)?),
            DynGpuFitter::F32D4(f) => DynGpuSpline::F32D4(f.spline_copy(policy)?),
            DynGpuFitter::F32D5(f) => DynGpuSpline::F32D5(f.spline_copy(policy)?),
            DynGpuFitter::F32D6(f) => DynGpuSpline::F32D6(f.spline_copy(policy)?),
            DynGpuFitter::F64D1(f) => DynGpuSpline::F64D1(f.spline_copy(policy)?),
            DynGpuFitter::F64D2(f) => DynGpuSpline::F64D2(f.spline_copy(policy)?),
            DynGpuFitter::F64D3(f) => DynGpuSpline::F64D3(f.spline_copy(policy)?),
            DynGpuFitter::F64D4(f) => DynGpuSpline::F64D4(f.spline_copy(policy)?),
            DynGpuFitter::F64D5(f) => DynGpuSpline::F64D5(f.spline_copy(policy)?),
            DynGpuFitter::F64D6(f) => DynGpuSpline::F64D6(f.spline_copy(policy)?),
        })
    }

    /// The precision the device computes in.
    pub fn precision(&self) -> GpuPrecision {
        match self {
            DynGpuFitter::F32D1(_)
            | DynGpuFitter::F32D2(_)
            | DynGpuFitter::F32D3(_)
            | DynGpuFitter::F32D4(_)
            | DynGpuFitter::F32D5(_)
            | DynGpuFitter::F32D6(_) => GpuPrecision::F32,
            _ => GpuPrecision::F64,
        }
    }
}
