//! Fitted tensor splines and the separable fit on the device (feature `gpu`).
//!
//! * [`GpuSpline`]: a [`TensorSpline`](crate::TensorSpline) uploaded once
//!   (knots and coefficients resident), evaluated at batches of points: values,
//!   any mixed partial derivatives and gradients ([`Derivs`]), from host slices
//!   or from device arrays, results to the host or left on the device;
//!   [`RowLayout`] chooses how its coefficient rows are read (an expanded
//!   table of one aligned vector per row for small `f32` tables).
//! * [`GpuFitter`]: a [`Fitter`](crate::Fitter) on the device: the factored
//!   per-axis collocation matrices uploaded once, one in-place pass per axis,
//!   nothing created and only the values uploaded per refit.
//! * [`DynGpuSpline`], [`DynGpuFitter`]: the same of run-time dimension
//!   and precision ([`GpuPrecision`]), holding their context (the form the
//!   C ABI and the Python package use).
//! * [`DeviceArray`]: points, results, values and coefficients on the device;
//!   [`DynDeviceArray`] of run-time precision.
//! * [`GpuReal`]: the precision, `f64` where the adapter has `SHADER_F64`
//!   ([`GpuContext::supports_f64`](crate::gpu::GpuContext::supports_f64)),
//!   or `f32`: in the type, so a spline and its arrays agree.
//!
//! Both run on the [`GpuContext`](crate::gpu::GpuContext) of the 3D path.
//! The kernels are generated per shape (WGSL source baked with the sizes),
//! compiled on first use and cached by the context.

mod array;
mod dynamic;
mod finite;
mod fit;
mod spline;
mod wgsl;

pub use array::{DeviceArray, GpuReal};
pub use dynamic::{DynDeviceArray, DynGpuFitter, DynGpuSpline, GpuPrecision};
pub use fit::GpuFitter;
pub use spline::{Derivs, EXPANDED_AUTO_MAX_BYTES, GpuSpline, MAX_OUTPUTS, RowLayout};
