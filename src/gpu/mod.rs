//! The wgpu device shared by every GPU path (feature `gpu`).
//!
//! * [`GpuContext`]: adapter and device (Vulkan unless `WGPU_BACKEND` says
//!   otherwise), its limits and optional features (`SHADER_F64`), the
//!   compiled-pipeline cache and the offload counters ([`GpuCounters`]).
//! * [`GpuOptions`]: backends, runtime bounds checks in the shaders
//!   ([`GpuOptions::checked`], or `BSFIT_GPU_CHECKED=1` for the whole
//!   process), a cap on the storage-binding size, and the kernel variants of
//!   the tensor paths ([`GpuTuning`]).
//!
//! Every device plan, operator and spline checks the length and context of
//! each vector or array it is handed before it records anything, and returns
//! [`FitError::InvalidParameter`](crate::FitError::InvalidParameter)
//! otherwise; that is what lets the kernels run without runtime bounds
//! checks.
//!
//! The uniform 3D path lives in [`crate::grid3::gpu`]; fitted tensor splines
//! and the separable fit on the device in [`crate::tensor::gpu`]. Both record
//! into the same context, so one device serves both.

pub(crate) mod context;

pub use context::{GpuContext, GpuCounters, GpuOptions, GpuTuning};
