//! GPU offload of the uniform 3D path through wgpu compute shaders (f32).
//!
//! * [`GpuContext`]: adapter and device (Vulkan unless `WGPU_BACKEND` says
//!   otherwise), its limits, the compiled-pipeline cache and the offload counters.
//! * [`GpuOps`]: the [`VectorOps`](crate::grid3::backend::VectorOps) backend —
//!   vectors are device buffers, solver scalars live in a device slot buffer, so
//!   the backend-neutral solvers run here unchanged.
//! * [`GpuStencil`] / [`GpuBand`]: the B-spline operator and general separable
//!   stencils (the SPAI preconditioner) as
//!   [`LinearOperator`](crate::grid3::backend::LinearOperator) /
//!   [`Preconditioner`](crate::grid3::backend::Preconditioner).
//! * [`DirectPlan`]: the exact separable direct solve, one pass per axis
//!   ([`DirectOptions`] picks its kernel).
//!
//! # Sizes are checked before anything is recorded
//! Every plan, operator and backend remembers its grid shape and its
//! context; handed a vector of another length or context (or a backend of
//! another shape) it returns [`FitError::InvalidParameter`] and records
//! nothing. The kernels then run without wgpu's runtime bounds checks, which
//! those host checks make redundant (each pipeline's `SAFETY` comment says
//! which checks bound its indices); [`GpuOptions::checked`] or
//! `BSFIT_GPU_CHECKED=1` keeps the runtime checks on as well.
//!
//! # Offload discipline
//! Data is uploaded once; every buffer is created when a plan or a solver's
//! state is built; an iteration records dispatches only (coefficients travel as
//! immediate data, dot products land in device slots and feed the next update
//! without leaving the device); the host reads one scalar every `check_every`
//! iterations. [`GpuContext::counters`] counts allocations, uploads, submissions
//! and round trips so tests can check this.

mod direct;
mod ops;
mod shaders;
mod solve;
mod stencil;

pub use crate::gpu::{GpuContext, GpuCounters, GpuOptions};
pub use direct::{ContiguousLoad, ContiguousPass, DirectKernel, DirectOptions, DirectPlan};
pub use ops::{GpuOps, GpuVector, NSLOTS};
pub use solve::solve;
pub use stencil::{GpuBand, GpuForm, GpuStencil, MAX_TAPS};

use ndarray::{Array3, ArrayView3};

use crate::FitError;
use crate::grid3::Boundary;

/// The shaders' boundary code: 0 periodic, 1 zero, 2 mirror.
pub(crate) fn bc_code(b: Boundary) -> u32 {
    match b {
        Boundary::Periodic => 0,
        Boundary::Zero => 1,
        Boundary::Mirror => 2,
    }
}

fn to_vec(values: &ArrayView3<'_, f32>) -> Result<([usize; 3], Vec<f32>), FitError> {
    crate::grid3::prefilter::validate(values)?;
    let (n0, n1, n2) = values.dim();
    Ok(([n0, n1, n2], values.iter().copied().collect()))
}

/// Cubic B-spline coefficients `c` with `B c = values` by the exact separable
/// solve on the device (f32): the GPU counterpart of
/// [`crate::grid3::prefilter_f32`].
///
/// Uploads the grid, runs one pass per axis, downloads the result. For many
/// grids use [`prefilter_batch`] (one submission for all), for repeated
/// solves of one shape keep a [`DirectPlan`].
///
/// # Errors
/// [`FitError::AxisTooShort`] / [`FitError::NonFiniteValue`] as the CPU
/// prefilter; [`FitError::Gpu`] if the grid exceeds a device limit or the
/// device fails.
pub fn prefilter(
    ctx: &GpuContext,
    values: ArrayView3<'_, f32>,
    boundary: [Boundary; 3],
) -> Result<Array3<f32>, FitError> {
    prefilter_batch(ctx, &[values], boundary).map(|mut v| v.remove(0))
}

/// [`prefilter`] of several grids (shapes may differ) in one submission:
/// every grid is checked and uploaded first, then each grid's passes and the
/// copy of its result into a read-back buffer are recorded into one command
/// encoder, submitted once, and the results read after one wait. A grid
/// larger than the storage-binding limit is solved in slabs within the same
/// submission.
///
/// # Errors
/// As [`prefilter`], for the first grid at fault (nothing is submitted then).
pub fn prefilter_batch(
    ctx: &GpuContext,
    grids: &[ArrayView3<'_, f32>],
    boundary: [Boundary; 3],
) -> Result<Vec<Array3<f32>>, FitError> {
    let drv = GpuOps::new(ctx, [1, 1, 1])?;
    drv.set_flush_every(u64::MAX);
    // Per grid: its shape and the vectors holding the result, by first plane.
    let mut parts = Vec::with_capacity(grids.len());
    for g in grids {
        let (shape, data) = to_vec(g)?;
        let slabs = if (data.len() * 4) as u64 > ctx.max_binding() {
            direct::record_slabs(ctx, &drv, shape, boundary, &data)?
        } else {
            let plan = DirectPlan::new(ctx, shape, boundary)?;
            let v = GpuVector::new(ctx, data.len(), "grid")?;
            ctx.upload(&v.buffer, 0, &data);
            plan.record(&drv, &v)?;
            vec![(0, shape[0], v)]
        };
        parts.push((shape, slabs));
    }
    let staging: Vec<wgpu::Buffer> = parts
        .iter()
        .map(|(shape, slabs)| {
            let plane = shape[1] * shape[2];
            let st = ctx.staging((shape[0] * plane * 4) as u64);
            for (a, b, v) in slabs {
                drv.copy_region(&v.buffer, 0, &st, a * plane, (b - a) * plane);
            }
            st
        })
        .collect();
    drv.flush();
    parts
        .iter()
        .zip(&staging)
        .map(|((s, _), st)| {
            let mut out = vec![0.0f32; s[0] * s[1] * s[2]];
            ctx.read_mapped(st, (out.len() * 4) as u64, &mut out)?;
            Array3::from_shape_vec((s[0], s[1], s[2]), out)
                .map_err(|e| FitError::InvalidData(e.to_string()))
        })
        .collect()
}
