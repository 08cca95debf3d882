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
//! * [`DirectPlan`]: the exact separable direct solve, one pass per axis.
//!
//! # Offload discipline
//! Data is uploaded once; every buffer is created when a plan or a solver's
//! state is built; an iteration records dispatches only (coefficients travel as
//! immediate data, dot products land in device slots and feed the next update
//! without leaving the device); the host reads one scalar every `check_every`
//! iterations. [`GpuContext::counters`] counts allocations, uploads, submissions
//! and round trips so tests can check this.

mod context;
mod direct;
mod ops;
mod shaders;
mod stencil;

pub use context::{GpuContext, GpuCounters, GpuOptions};
pub use direct::DirectPlan;
pub use ops::{GpuOps, GpuVector, NSLOTS};
pub use stencil::{BSPLINE_TAPS, GpuBand, GpuForm, GpuStencil, MAX_TAPS};

/// Boundary rule per axis as the shaders encode it.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum Bc {
    /// Wrap around.
    Periodic = 0,
    /// Coefficients outside are zero.
    Zero = 1,
    /// Whole-sample reflection (scipy `mirror`).
    Mirror = 2,
}

#[doc(hidden)]
pub mod internal {
    //! Entry points taking raw boundary codes, for tests of the kernels.
    use super::*;
    use crate::FitError;

    /// Boundary code: 0 periodic, 1 zero, 2 mirror.
    pub fn bc(code: u32) -> Bc {
        match code {
            0 => Bc::Periodic,
            1 => Bc::Zero,
            _ => Bc::Mirror,
        }
    }

    pub use super::Bc;

    /// Direct solve of a flat grid in place on the device.
    pub fn direct(
        ctx: &GpuContext,
        shape: [usize; 3],
        bc: [Bc; 3],
        data: &[f32],
    ) -> Result<Vec<f32>, FitError> {
        let ops = GpuOps::new(ctx, shape)?;
        let plan = DirectPlan::new(ctx, shape, bc)?;
        let v = ops.upload(data)?;
        plan.record(&ops, &v);
        ops.download(&v)
    }

    /// The B operator on the device.
    pub fn stencil<'c>(
        ops: &GpuOps<'c>,
        bc: [Bc; 3],
        sym: bool,
        form: GpuForm,
    ) -> Result<GpuStencil, FitError> {
        GpuStencil::new(ops, bc, sym, form, (1.0 / 27.0, 1.0))
    }

    /// A separable stencil with `taps` on every axis.
    pub fn band<'c>(
        ops: &GpuOps<'c>,
        taps: &[f64],
        bc: [Bc; 3],
        sym: bool,
    ) -> Result<GpuBand, FitError> {
        GpuBand::new(ops, taps, bc, sym, (f64::NAN, f64::NAN))
    }
}
