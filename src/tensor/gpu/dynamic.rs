//! Device splines and fit plans whose dimension and precision are chosen at
//! run time: [`DynGpuSpline`] and [`DynGpuFitter`], the device forms of
//! [`DynSpline`] and [`DynFitter`] that the C ABI and the Python package
//! hold. Each call dispatches once on the variant and runs the typed code
//! ([`GpuSpline`], [`GpuFitter`]); nothing here loops over points.

use std::sync::Arc;

use super::{GpuFitter, GpuSpline};
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
