//! [`solve`]: every method and formulation of the CPU [`crate::grid3::solve`] on the
//! device, running the same generic solvers over [`GpuOps`].

use std::time::Instant;

use ndarray::{Array3, ArrayView3};

use super::context::GpuContext;
use super::direct::DirectPlan;
use super::ops::{GpuOps, GpuVector};
use super::stencil::{GpuBand, GpuForm, GpuStencil};
use crate::FitError;
use crate::grid3::backend::{LinearOperator, Preconditioner, Residual, Squared, VectorOps};
use crate::grid3::operator::DIAG_B2;
use crate::grid3::solve::run_method;
use crate::grid3::solvers::SolveInfo;
use crate::grid3::spai::{self, Target};
use crate::grid3::{Boundary, Formulation, Method, SolveOptions, SolveReport, StencilForm};

/// The symmetrisation scale of the grid in f32 (the CPU path's, rounded).
fn grid_scale(shape: [usize; 3], bc: [Boundary; 3]) -> Option<Vec<f32>> {
    crate::grid3::solve::grid_scale(shape, bc).map(|s| s.into_iter().map(|v| v as f32).collect())
}

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
    let mut f: Vec<f32> = values.iter().copied().collect();
    let ops = GpuOps::new(ctx, shape)?;
    let (info, seconds, c) = if options.method == Method::Direct {
        let v = ops.upload(&f)?;
        ops.finish()?;
        let start = Instant::now();
        DirectPlan::new(ctx, shape, boundary)?.record(&ops, &v);
        ops.finish()?;
        let seconds = start.elapsed().as_secs_f64();
        let info = SolveInfo {
            solver: "direct",
            iterations: 0,
            residual: f64::NAN,
            history: Vec::new(),
        };
        (info, seconds, ops.download(&v)?)
    } else {
        let scale = grid_scale(shape, boundary);
        if let Some(s) = &scale {
            f.iter_mut().zip(s).for_each(|(v, w)| *v *= w);
        }
        let sf = ops.upload(&f)?;
        ops.finish()?;
        let start = Instant::now();
        let mut x = ops.alloc()?;
        let info = iterate(&ops, &sf, &mut x, boundary, options)?;
        ops.finish()?;
        let seconds = start.elapsed().as_secs_f64();
        let mut c = ops.download(&x)?;
        if let Some(s) = &scale {
            c.iter_mut().zip(s).for_each(|(v, w)| *v /= w);
        }
        (info, seconds, c)
    };
    let f: Vec<f32> = values.iter().copied().collect();
    let data_residual = crate::grid3::solve::data_residual(&f, &c, shape, boundary);
    let out = Array3::from_shape_vec((n0, n1, n2), c)
        .map_err(|e| FitError::InvalidData(format!("output shape: {e}")))?;
    Ok((
        out,
        SolveReport {
            info,
            data_residual,
            seconds,
        },
    ))
}

fn iterate(
    ops: &GpuOps<'_>,
    sf: &GpuVector,
    x: &mut GpuVector,
    bc: [Boundary; 3],
    o: &SolveOptions,
) -> Result<SolveInfo, FitError> {
    let form = match o.form {
        StencilForm::Direct => GpuForm::Fused27,
        StencilForm::Separable => GpuForm::Separable,
    };
    let b = GpuStencil::bspline(ops, bc, true, form)?;
    let precond = match o.method {
        Method::Pcg3 | Method::Pcg5 => {
            let width = if o.method == Method::Pcg3 { 3 } else { 5 };
            let target = match o.formulation {
                Formulation::Interpolate => Target::Interpolate,
                Formulation::NormalEquations => Target::NormalEquations,
            };
            Some(GpuBand::separable(
                ops,
                &spai::taps(width, target),
                bc,
                true,
            )?)
        }
        _ => None,
    };
    let precond = precond
        .as_ref()
        .map(|m| m as &dyn Preconditioner<GpuOps<'_>>);
    match o.formulation {
        Formulation::Interpolate => run_method(ops, &b, precond, sf, x, &Residual::System, o),
        Formulation::NormalEquations => {
            let a = Squared::new(ops, &b, DIAG_B2)?;
            let mut rhs = ops.alloc()?;
            b.apply(ops, sf, &mut rhs);
            let check = Residual::Data { op: &b, data: sf };
            run_method(ops, &a, precond, &rhs, x, &check, o)
        }
    }
}
