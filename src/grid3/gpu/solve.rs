//! [`solve`]: every method and formulation of the CPU [`crate::grid3::solve`] on the
//! device, running the same generic solvers over [`GpuOps`].

use std::time::Instant;

use ndarray::{Array3, ArrayView3};

use super::direct::DirectPlan;
use super::ops::{GpuOps, GpuVector};
use super::stencil::{GpuBand, GpuForm, GpuStencil};
use crate::FitError;
use crate::gpu::context::GpuContext;
use crate::grid3::backend::{LinearOperator, Preconditioner, SolveBackend};
use crate::grid3::solve::iterate;
use crate::grid3::solvers::SolveInfo;
use crate::grid3::{Boundary, Method, SolveOptions, SolveReport, StencilForm};

/// Cubic B-spline coefficients of `values` by the method of `options`, on the device
/// (f32): the GPU counterpart of [`crate::grid3::solve`], with the same options,
/// the same solver code and the same conventions (iterative methods start from 0;
/// mirror axes iterate on the symmetrised system; `data_residual` is the plain
/// `‖F − B c‖/‖F‖` evaluated in f64 on the host).
///
/// `StencilForm::Direct` selects the fused 27-point kernel, `Separable` three
/// 3-tap passes. `options.par` is ignored. `common.check_every` is honoured as
/// given; each check costs one host round trip (~0.1 ms on an H100), so on a GPU
/// 10–50 is the sensible range. [`SolveReport::seconds`] covers building the
/// device operators, the solve and the final wait; the upload of `values` and
/// the download of the result are excluded (pipelines compile on first use and
/// are cached in `ctx`).
///
/// # Errors
/// Input errors as [`crate::grid3::prefilter`]; solver errors as the CPU solve;
/// [`FitError::Gpu`] for device limits and failures.
pub fn solve(
    ctx: &GpuContext,
    values: ArrayView3<'_, f32>,
    boundary: [Boundary; 3],
    options: &SolveOptions,
) -> Result<(Array3<f32>, SolveReport), FitError> {
    crate::grid3::prefilter::validate(&values)?;
    let (n0, n1, n2) = values.dim();
    let shape = [n0, n1, n2];
    let f: Vec<f32> = values.iter().copied().collect();
    let ops = GpuOps::new(ctx, shape)?;
    let (info, seconds, c) = if options.method == Method::Direct {
        let v = ops.upload(&f)?;
        ops.finish()?;
        let start = Instant::now();
        DirectPlan::new(ctx, shape, boundary)?.record(&ops, &v)?;
        ops.finish()?;
        let seconds = start.elapsed().as_secs_f64();
        let info = SolveInfo::direct();
        let c = ops.download(&v)?;
        crate::grid3::prefilter::check_finite(&f, &c)?;
        (info, seconds, c)
    } else {
        let (c, info, seconds) = iterate(&ops, &f, boundary, options)?;
        (info, seconds, c)
    };
    crate::grid3::solve::report(&f, c, shape, boundary, info, seconds)
}

impl<'c> SolveBackend for GpuOps<'c> {
    type Elem = f32;

    fn upload(&self, host: &[f32]) -> Result<GpuVector, FitError> {
        GpuOps::upload(self, host)
    }

    fn download(&self, v: &GpuVector) -> Result<Vec<f32>, FitError> {
        GpuOps::download(self, v)
    }

    fn finish(&self) -> Result<(), FitError> {
        GpuOps::finish(self)
    }

    fn bspline<'s>(
        &'s self,
        boundary: [Boundary; 3],
        symmetric: bool,
        form: StencilForm,
    ) -> Result<Box<dyn LinearOperator<Self> + 's>, FitError> {
        let form = match form {
            StencilForm::Direct => GpuForm::Fused27,
            StencilForm::Separable => GpuForm::Separable,
        };
        Ok(Box::new(GpuStencil::bspline(
            self, boundary, symmetric, form,
        )?))
    }

    fn separable<'s>(
        &'s self,
        taps: &[f64],
        boundary: [Boundary; 3],
        symmetric: bool,
    ) -> Result<Box<dyn Preconditioner<Self> + 's>, FitError> {
        Ok(Box::new(GpuBand::separable(
            self, taps, boundary, symmetric,
        )?))
    }
}
