//! The device timings of `bsfit gpu-bench` and the GPU solve of
//! `bsfit grid3 --device gpu` (feature `gpu`).
//!
//! Every timed batch is recorded first and then submitted and waited for, so the
//! figures are device time plus one submit-and-wait (~0.04 ms on an H100,
//! amortised over the batch).

use super::GpuBenchArgs;
use std::sync::OnceLock;
use std::time::Instant;

use bsfit::gpu::GpuTuning;
use bsfit::grid3::backend::{Coef, LinearOperator, Preconditioner, Residual, VectorOps};
use bsfit::grid3::gpu::{
    ContiguousLoad, ContiguousPass, DirectKernel, DirectOptions, DirectPlan, GpuBand, GpuContext,
    GpuForm, GpuOps, GpuOptions, GpuStencil,
};
use bsfit::grid3::solvers::cg;
use bsfit::grid3::spai::{self, Target};
use bsfit::grid3::{Boundary, Method, SolveOptions, SolveReport};
use bsfit::{FitError, Real};
use bsfit_testkit::workloads;
use ndarray::Array3;

/// The process's GPU context (created on first use, with `options` if this
/// is the first use).
fn context_with(options: &GpuOptions) -> Result<&'static GpuContext, FitError> {
    static CTX: OnceLock<Result<GpuContext, FitError>> = OnceLock::new();
    CTX.get_or_init(|| GpuContext::with_options(options))
        .as_ref()
        .map_err(Clone::clone)
}

/// The process's GPU context with default options.
fn context() -> Result<&'static GpuContext, FitError> {
    context_with(&GpuOptions::default())
}

/// The context options of `bsfit gpu-bench`'s flags.
fn options(args: &GpuBenchArgs) -> GpuOptions {
    let mut tuning = GpuTuning::default();
    tuning.fit_chunk = args.fit_chunk.map(|n| n as usize);
    match args.eval_lanes.as_deref() {
        Some("expanded") => tuning.eval_expanded = Some(true),
        Some(l) => tuning.eval_lanes = l.parse().ok(),
        None => {}
    }
    GpuOptions {
        checked: args.checked,
        tuning,
        ..Default::default()
    }
}

/// The adapter line printed above the GPU tables.
pub fn device_line() -> Result<String, String> {
    context().map(|c| c.describe()).map_err(|e| e.to_string())
}

/// `bsfit grid3 --device gpu`: [`bsfit::grid3::gpu::solve`] on f32 data; the direct
/// method's time is the median of repeated solves with a prebuilt plan on the device.
pub fn report_solve<T: Real>(
    f: &Array3<T>,
    bc: [Boundary; 3],
    o: &SolveOptions,
) -> Result<(Array3<T>, SolveReport), FitError> {
    let ctx = context()?;
    let f32v = f.mapv(|v| v.to_f64() as f32);
    // A first solve compiles the pipelines; the timed one finds them cached.
    bsfit::grid3::gpu::solve(ctx, f32v.view(), bc, o)?;
    let (c, mut rep) = bsfit::grid3::gpu::solve(ctx, f32v.view(), bc, o)?;
    if o.method == Method::Direct {
        let (n0, n1, n2) = f.dim();
        let ops = GpuOps::new(ctx, [n0, n1, n2])?;
        ops.set_flush_every(u64::MAX);
        let plan = DirectPlan::new(ctx, [n0, n1, n2], bc)?;
        let v = ops.upload(
            f32v.as_slice()
                .unwrap_or(&f32v.iter().copied().collect::<Vec<_>>()),
        )?;
        rep.seconds = time_device(&ops, 10, 7, || plan.record(&ops, &v))?;
    }
    Ok((c.mapv(|v| T::from_f64(v as f64)), rep))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Median over `batches` of (submit + wait of `reps` pre-recorded operations) / reps, in seconds.
fn time_device(
    ops: &GpuOps<'_>,
    reps: usize,
    batches: usize,
    mut record: impl FnMut() -> Result<(), FitError>,
) -> Result<f64, FitError> {
    record()?;
    ops.finish()?;
    let mut t = Vec::with_capacity(batches);
    for _ in 0..batches {
        for _ in 0..reps {
            record()?;
        }
        let t0 = Instant::now();
        ops.finish()?;
        t.push(t0.elapsed().as_secs_f64() / reps as f64);
    }
    Ok(median(t))
}

pub(super) fn run(args: &GpuBenchArgs) -> Result<(), FitError> {
    let ctx = context_with(&options(args))?;
    println!("device: {}", ctx.describe());
    let batches = args.batches as usize;
    if !args.nd_only {
        grid3_table(ctx, args, batches)?;
        if args.direct_kernels {
            kernel_table(ctx, args, batches)?;
        }
    }
    if !args.no_nd {
        super::nd::run(ctx, args.nd_points as usize, batches)?;
    }
    Ok(())
}

fn grid3_table(ctx: &GpuContext, args: &GpuBenchArgs, batches: usize) -> Result<(), FitError> {
    let bc = [Boundary::Periodic; 3];
    println!(
        "| n³ (f32) | shader copy GB/s | transfer copy GB/s | direct ms | direct GB/s (3 sweeps) | × copy roofline | 27-pt ms | 27-pt GB/s | separable ms | separable GB/s | CG it / ms | PCG5 it / ms | CPU direct ms |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for n in args.sizes.iter().map(|&n| n as usize) {
        let shape = [n, n, n];
        let total = n * n * n;
        let bytes = (total * 4) as f64;
        let mem0 = ctx.counters().bytes;
        let ops = GpuOps::new(ctx, shape)?;
        ops.set_flush_every(u64::MAX);
        let reps = (64 * 256 * 256 * 256 / total).clamp(4, 200);
        let host = workloads::grid3_field_f32(total, n as u64);
        let x = ops.upload(&host)?;
        let mut y = ops.alloc()?;
        let copy = time_device(&ops, reps, batches, || ops.shader_copy(&x, &mut y))?;
        let tcopy = time_device(&ops, reps, batches, || ops.copy(&x, &mut y))?;
        let plan = DirectPlan::new(ctx, shape, bc)?;
        let direct = time_device(&ops, reps, batches, || plan.record(&ops, &y))?;
        let fused = GpuStencil::bspline(&ops, bc, true, GpuForm::Fused27)?;
        let t27 = time_device(&ops, reps, batches, || fused.apply(&ops, &x, &mut y))?;
        let sep = GpuStencil::bspline(&ops, bc, true, GpuForm::Separable)?;
        let tsep = time_device(&ops, reps, batches, || sep.apply(&ops, &x, &mut y))?;
        // CG and PCG (5³ SPAI) to 1e-6 on B c = F, fused 27-point operator, one
        // convergence read every 10 iterations; vectors allocated by the solver.
        let mut krylov = Vec::new();
        for precond in [false, true] {
            let m = if precond {
                Some(GpuBand::separable(
                    &ops,
                    &spai::taps(5, Target::Interpolate),
                    bc,
                    true,
                )?)
            } else {
                None
            };
            let mut params = cg::Params::default();
            params.common.tol = 1e-6;
            params.common.check_every = 10;
            let mut sol = ops.alloc()?;
            let mut t = Vec::new();
            let mut its = 0;
            for _ in 0..3 {
                ops.axpby(Coef::Const(0.0), &x, Coef::Const(0.0), &mut sol)?;
                ops.finish()?;
                let t0 = Instant::now();
                let info = cg::solve(
                    &ops,
                    &fused,
                    m.as_ref().map(|m| m as &dyn Preconditioner<GpuOps<'_>>),
                    &x,
                    &mut sol,
                    &Residual::System,
                    &params,
                )?;
                ops.finish()?;
                t.push(t0.elapsed().as_secs_f64());
                its = info.iterations;
            }
            krylov.push(format!("{its} / {:.2}", median(t) * 1e3));
        }
        let cpu = if args.cpu {
            let a = ndarray::Array3::from_shape_vec((n, n, n), host.clone())
                .map_err(|e| FitError::InvalidData(e.to_string()))?;
            let mut t = Vec::new();
            for _ in 0..3 {
                let t0 = Instant::now();
                let c = bsfit::grid3::prefilter_f32(a.view(), bc)?;
                t.push(t0.elapsed().as_secs_f64());
                std::hint::black_box(c);
            }
            format!("{:.2}", median(t) * 1e3)
        } else {
            "–".into()
        };
        let mem = (ctx.counters().bytes - mem0) as f64 / (1u64 << 20) as f64;
        eprintln!("{n}³: device memory allocated for this size: {mem:.0} MiB");
        let gbs = |t: f64, sweeps: f64| sweeps * 2.0 * bytes / t / 1e9;
        let copy_bw = gbs(copy, 1.0);
        println!(
            "| {n}³ | {copy_bw:.0} | {:.0} | {:.3} | {:.0} | {:.2} | {:.3} | {:.0} | {:.3} | {:.0} | {} | {} | {cpu} |",
            gbs(tcopy, 1.0),
            direct * 1e3,
            gbs(direct, 3.0),
            direct / (3.0 * 2.0 * bytes / (copy_bw * 1e9)),
            t27 * 1e3,
            gbs(t27, 1.0),
            tsep * 1e3,
            gbs(tsep, 3.0),
            krylov[0],
            krylov[1],
        );
        if let Some(dir) = &args.dump
            && n <= 256
        {
            let y = ops.upload(&host)?;
            plan.record(&ops, &y)?;
            let out = ops.download(&y)?;
            let write = |name: String, v: &[f32]| {
                std::fs::write(format!("{dir}/{name}"), bytemuck_bytes(v))
                    .map_err(|e| FitError::InvalidData(format!("{dir}: {e}")))
            };
            write(format!("in_{n}.f32"), &host)?;
            write(format!("out_{n}.f32"), &out)?;
        }
    }
    Ok(())
}

/// The direct solve per kernel: the whole solve and each axis pass alone
/// (f32, periodic), with the pass's bandwidth (one read and one write).
fn kernel_table(ctx: &GpuContext, args: &GpuBenchArgs, batches: usize) -> Result<(), FitError> {
    let bc = [Boundary::Periodic; 3];
    let seg = |threads, seg, load, ct, cs| {
        let mut contiguous = ContiguousPass::default();
        (contiguous.load, contiguous.threads, contiguous.seg) = (load, ct, cs);
        DirectKernel::Segmented {
            threads,
            seg,
            contiguous,
        }
    };
    let (t, v, r) = (
        ContiguousLoad::Tile,
        ContiguousLoad::Vec4Tile,
        ContiguousLoad::Registers,
    );
    println!();
    println!(
        "| n³ (f32) | kernel (strided: threads, segment; contiguous: load, threads, segment) | direct ms | axis 2 (contiguous) ms / GB/s | axis 1 ms / GB/s | axis 0 ms / GB/s |"
    );
    println!("| --- | --- | --- | --- | --- | --- |");
    let kernels = [
        ("tiled", DirectKernel::Tiled),
        ("256, 32; f32 tile, 256, 32", seg(256, 32, t, 256, 32)),
        ("256, 64; f32 tile, 256, 64", seg(256, 64, t, 256, 64)),
        ("256, 32; vec4 tile, 256, 16", seg(256, 32, v, 256, 16)),
        ("256, 64; vec4 tile, 256, 16", seg(256, 64, v, 256, 16)),
        ("256, 16; vec4 tile, 256, 16", seg(256, 16, v, 256, 16)),
        (
            "256, auto; vec4 tile, 256, 16 (default)",
            DirectKernel::default(),
        ),
        ("256, auto; vec4 tile, 128, 16", seg(256, 0, v, 128, 16)),
        ("256, auto; registers, 256, 16", seg(256, 0, r, 256, 16)),
    ];
    for n in args.sizes.iter().map(|&n| n as usize) {
        let shape = [n, n, n];
        let total = n * n * n;
        let bytes = (total * 4) as f64;
        let ops = GpuOps::new(ctx, shape)?;
        ops.set_flush_every(u64::MAX);
        let reps = (64 * 256 * 256 * 256 / total).clamp(4, 200);
        let y = ops.upload(&workloads::grid3_field_f32(total, n as u64))?;
        for (name, k) in kernels {
            let mut cells = Vec::new();
            for axes in [&[2usize, 1, 0][..], &[2], &[1], &[0]] {
                let mut options = DirectOptions::default();
                options.kernel = k;
                let plan = DirectPlan::with_axes(ctx, shape, bc, axes, &options)?;
                let t = time_device(&ops, reps, batches, || plan.record(&ops, &y))?;
                cells.push(if axes.len() == 3 {
                    format!("{:.3}", t * 1e3)
                } else {
                    format!("{:.3} / {:.0}", t * 1e3, 2.0 * bytes / t / 1e9)
                });
            }
            println!("| {n}³ | {name} | {} |", cells.join(" | "));
        }
    }
    Ok(())
}

fn bytemuck_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}
