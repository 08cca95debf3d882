//! The wgpu device shared by every GPU path (feature `gpu`).
//!
//! * [`GpuContext`]: adapter and device (Vulkan unless `WGPU_BACKEND` says
//!   otherwise), its limits and optional features (`SHADER_F64`), the
//!   compiled-pipeline cache and the offload counters ([`GpuCounters`]).
//!
//! The uniform 3D path lives in [`crate::grid3::gpu`]; fitted tensor splines
//! and the separable fit on the device in [`crate::tensor::gpu`]. Both record
//! into the same context, so one device serves both.

pub(crate) mod context;

pub use context::{GpuContext, GpuCounters, GpuOptions};
