//! The N-D rows of `bsfit gpu-bench`: batch evaluation of a fitted 4D table
//! and the separable fit on the device, f64 and f32.
//!
//! Timings are submit-and-wait medians: a batch submits `reps` evaluations
//! (or fits) back to back, waits once and is divided by `reps`; the median
//! over the batches is reported. So each figure is device time plus a share
//! of one submit-and-wait (~0.04 ms), and for the fits also the gaps
//! between submissions.

use std::time::Instant;

use bsfit::gpu::GpuContext;
use bsfit::tensor::gpu::{Derivs, DeviceArray, GpuFitter, GpuReal, GpuSpline, RowLayout};
use bsfit::{FitError, Fitter, TensorSpline};
use bsfit_testkit::workloads::{grid_values, price_table};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Median over `batches` of (`reps` submissions of `f`, one wait) / `reps`, seconds.
fn time(
    ctx: &GpuContext,
    reps: usize,
    batches: usize,
    mut f: impl FnMut() -> Result<(), FitError>,
) -> Result<f64, FitError> {
    f()?;
    ctx.wait()?;
    let mut t = Vec::with_capacity(batches);
    for _ in 0..batches {
        let t0 = Instant::now();
        for _ in 0..reps {
            f()?;
        }
        ctx.wait()?;
        t.push(t0.elapsed().as_secs_f64() / reps as f64);
    }
    Ok(median(t))
}

fn shape_str(s: [usize; 4]) -> String {
    format!("{}×{}×{}×{}", s[0], s[1], s[2], s[3])
}

fn table(shape: [usize; 4]) -> Result<(Fitter<4>, TensorSpline<4>), FitError> {
    table_bc(shape, [bsfit::BoundaryCondition::NOT_A_KNOT; 4])
}

/// The price table of `shape` fitted on the CPU under `bc`.
fn table_bc(
    shape: [usize; 4],
    bc: [bsfit::BoundaryCondition; 4],
) -> Result<(Fitter<4>, TensorSpline<4>), FitError> {
    let axes = price_table::axes(shape);
    let fitter =
        Fitter::with_boundary([&axes[0][..], &axes[1][..], &axes[2][..], &axes[3][..]], bc)?;
    let values = grid_values(shape);
    let arr = ndarray::Array4::from_shape_vec((shape[0], shape[1], shape[2], shape[3]), values)
        .map_err(|e| FitError::InvalidData(e.to_string()))?;
    let spline = fitter.fit(arr.view())?;
    Ok((fitter, spline))
}

fn eval_row<T: GpuReal>(
    ctx: &GpuContext,
    spline: &TensorSpline<4>,
    pts: &[[f64; 4]],
    batches: usize,
    layout: RowLayout,
) -> Result<String, FitError> {
    let dev = GpuSpline::<4, T>::new(ctx, spline)?.with_row_layout(layout)?;
    // Host points in (f64, converted and streamed up), host values out.
    let view = ndarray::ArrayView2::from_shape((pts.len(), 4), pts.as_flattened())
        .map_err(|e| FitError::InvalidData(e.to_string()))?;
    let query = bsfit::tensor::Query::at(view);
    let t0 = Instant::now();
    dev.evaluate(&query)?;
    let host_first = t0.elapsed().as_secs_f64();
    let host = time(ctx, 1, batches, || dev.evaluate(&query).map(|_| ()))?;
    let rows = match dev.row_layout() {
        RowLayout::Expanded => "expanded",
        _ => "packed",
    };
    let flat: Vec<T> = pts.iter().flatten().map(|&v| T::from_f64(v)).collect();
    let p = DeviceArray::from_slice(ctx, &flat)?;
    let n = pts.len();
    let vals = DeviceArray::<T>::zeroed(ctx, n)?;
    let grads = DeviceArray::<T>::zeroed(ctx, n * 4)?;
    let (value, grad, vg) = (
        Derivs::value(),
        Derivs::gradient(),
        Derivs::value_and_gradient(),
    );
    let grads5 = DeviceArray::<T>::zeroed(ctx, n * 5)?;
    // The first device evaluation of a fresh spline (its tables built at
    // upload), against the median below.
    let fresh = GpuSpline::<4, T>::new(ctx, spline)?.with_row_layout(layout)?;
    ctx.wait()?;
    let t0 = Instant::now();
    fresh.eval_device(&p, &value, &vals)?;
    ctx.wait()?;
    let first = t0.elapsed().as_secs_f64();
    drop(fresh);
    let tv = time(ctx, 3, batches, || dev.eval_device(&p, &value, &vals))?;
    let tg = time(ctx, 3, batches, || dev.eval_device(&p, &grad, &grads))?;
    let tvg = time(ctx, 3, batches, || dev.eval_device(&p, &vg, &grads5))?;
    // The value again, after the other kernels (a check on warm-up effects).
    let tv2 = time(ctx, 3, batches, || dev.eval_device(&p, &value, &vals))?;
    // Accuracy against the CPU on the first 10,000 points.
    let m = n.min(10_000);
    let got = vals.read(ctx)?;
    let mut err = 0.0f64;
    let mut scale = 0.0f64;
    for (q, g) in pts[..m].iter().zip(&got) {
        // At the point as rounded to T (what the device evaluated).
        let c = spline.eval(q.map(|v| T::from_f64(v).to_f64()));
        err = err.max((g.to_f64() - c).abs());
        scale = scale.max(c.abs());
    }
    Ok(format!(
        "| {} | {} | {} | {:.3} | {:.3} | {:.2} | {:.3} | {:.3} | {:.3} | {:.2} | {:.3} | {:.2} | {:.2} | {:.3} | {:.1e} |",
        T::WGSL,
        rows,
        n,
        tv * 1e3,
        first * 1e3,
        first / tv,
        host * 1e3,
        host_first * 1e3,
        tv2 * 1e3,
        n as f64 / tv / 1e9,
        tg * 1e3,
        tg / tv,
        4.0 * n as f64 / tg / 1e9,
        tvg * 1e3,
        err / scale
    ))
}

fn fit_row<T: GpuReal>(
    ctx: &GpuContext,
    fitter: &Fitter<4>,
    cpu: &TensorSpline<4>,
    batches: usize,
) -> Result<String, FitError> {
    let shape = fitter.shape();
    let total: usize = shape.iter().product();
    let total_out: usize = fitter.coef_shape().iter().product();
    let mut plan = GpuFitter::<4, T>::new(ctx, fitter)?;
    let values = grid_values(shape);
    let reps = (3_000_000 / total).clamp(3, 50);
    let tvals: Vec<T> = values.iter().map(|&v| T::from_f64(v)).collect();
    let dv = DeviceArray::from_slice(ctx, &tvals)?;
    // Accuracy of one fit against the CPU's coefficients.
    plan.fit_slice(&values)?;
    let mut c = vec![T::from_f64(0.0); total_out];
    plan.read_coefficients(&mut c)?;
    let cc = cpu.coefficients_slice();
    let scale = cc.iter().fold(0.0f64, |a, v| a.max(v.abs()));
    let err = c
        .iter()
        .zip(cc)
        .fold(0.0f64, |a, (g, c)| a.max((g.to_f64() - c).abs()))
        / scale;
    let passes = time(ctx, reps, batches, || {
        plan.run_passes();
        Ok(())
    })?;
    let from_device = time(ctx, reps, batches, || plan.fit_device(&dv))?;
    // The transfer alone: the values, already in `T`, written into a
    // device array through the same streamed staging path.
    let upload = time(ctx, 1, batches, || dv.write(ctx, &tvals))?;
    let from_host = time(ctx, 1, batches, || plan.fit_slice(&values))?;
    // Host values in, host coefficients out (read back and checked).
    let round_trip = time(ctx, 1, batches, || {
        plan.fit_slice(&values)?;
        plan.read_coefficients(&mut c)
    })?;
    let bytes = (total * size_of::<T>()) as f64;
    let bc = if fitter.boundary() == [bsfit::BoundaryCondition::NOT_A_KNOT; 4] {
        "not-a-knot"
    } else {
        "natural/clamped"
    };
    Ok(format!(
        "| {} | {bc} | {} | {:.3} | {:.0} | {:.3} | {:.3} | {:.1} | {:.3} | {:.3} | {:.1e} |",
        shape_str(shape),
        T::WGSL,
        passes * 1e3,
        4.0 * 2.0 * bytes / passes / 1e9,
        from_device * 1e3,
        upload * 1e3,
        bytes / upload / 1e9,
        from_host * 1e3,
        round_trip * 1e3,
        err
    ))
}

/// Prints the N-D tables: evaluation of the 4D price-table layout at
/// `points` random points, and the device fits of two table sizes.
pub(super) fn run(ctx: &GpuContext, points: usize, batches: usize) -> Result<(), FitError> {
    let f64_ok = ctx.supports_f64();
    println!();
    println!(
        "4D device fit (the passes in place; from device values: copy + passes; upload alone: the values in the device precision written into a device array through the streamed staging path; from host: f64 values checked, converted, streamed up + passes + wait; host to host: the same + read-back of the coefficients into a host buffer), and the CPU fit on this host (all cores, Fitter::fit_into):"
    );
    println!(
        "| grid | boundary | precision | passes ms | GB/s (4 read+write sweeps) | from device ms | upload of the values alone ms | upload GB/s | from host ms | host to host ms | max rel. error vs CPU |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    let mut cpu_rows = Vec::new();
    for shape in [price_table::SHAPE, [200, 100, 50, 30]] {
        let (fitter, cpu) = table(shape)?;
        if f64_ok {
            println!("{}", fit_row::<f64>(ctx, &fitter, &cpu, batches)?);
        }
        println!("{}", fit_row::<f32>(ctx, &fitter, &cpu, batches)?);
        // Natural and clamped axes: out-of-place passes with end rows.
        use bsfit::BoundaryCondition as Bc;
        let (bc_fitter, bc_cpu) =
            table_bc(shape, [Bc::NATURAL, Bc::CLAMPED, Bc::NATURAL, Bc::CLAMPED])?;
        if f64_ok {
            println!("{}", fit_row::<f64>(ctx, &bc_fitter, &bc_cpu, batches)?);
        }
        println!("{}", fit_row::<f32>(ctx, &bc_fitter, &bc_cpu, batches)?);
        let values = grid_values(shape);
        let mut out = vec![0.0; values.len()];
        let mut ws = fitter.workspace();
        let mut t = Vec::new();
        for _ in 0..5 {
            let t0 = Instant::now();
            fitter.fit_into_with(&values, &mut out, &mut ws)?;
            t.push(t0.elapsed().as_secs_f64());
        }
        cpu_rows.push(format!(
            "{}: CPU refit {:.3} ms ({} rayon threads)",
            shape_str(shape),
            median(t) * 1e3,
            rayon::current_num_threads()
        ));
    }
    for r in cpu_rows {
        println!("{r}");
    }
    let shape = price_table::SHAPE;
    let (_, spline) = table(shape)?;
    let pts = price_table::points(points, 17);
    println!();
    println!(
        "4D batch evaluation, {} table (non-uniform m, τ; uniform σ, r), random points in the domain, device arrays in and out (and from host memory):",
        shape_str(shape)
    );
    println!(
        "| precision | rows | points | value ms | first call of a fresh spline ms | first / next | from host ms (f64 points in, f64 values out) | from host, first call ms | value ms (again, last) | G values/s | gradient ms | gradient / value | G partials/s | value+gradient ms | max rel. error vs CPU |"
    );
    println!(
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    );
    // The default layout of each precision first, then the other one.
    if f64_ok {
        for layout in [RowLayout::Auto, RowLayout::Packed] {
            println!("{}", eval_row::<f64>(ctx, &spline, &pts, batches, layout)?);
        }
    }
    for layout in [RowLayout::Auto, RowLayout::Packed, RowLayout::Auto] {
        println!("{}", eval_row::<f32>(ctx, &spline, &pts, batches, layout)?);
    }
    drop(pts);
    batch_rows(ctx, batches)
}

/// One submission for several problems against one call each, host data in
/// and (for the prefilter) out, each timing ending in a wait: `fit_batch` of
/// eight value sets of the 50×30×20×10 grid against eight `fit_slice`, and
/// `grid3::gpu::prefilter_batch` of eight 64³ f32 grids against eight
/// `prefilter`.
fn batch_rows(ctx: &GpuContext, batches: usize) -> Result<(), FitError> {
    use bsfit::grid3::Boundary;
    use bsfit::grid3::gpu::{prefilter, prefilter_batch};
    const SETS: usize = 8;
    println!();
    println!("Batched submissions ({SETS} problems; ms for all {SETS}, median):");
    println!("| what | one submission | {SETS} calls | calls / batch |");
    println!("| --- | --- | --- | --- |");
    let shape = price_table::SHAPE;
    let (fitter, _) = table(shape)?;
    let base = grid_values(shape);
    let sets: Vec<Vec<f64>> = (0..SETS)
        .map(|i| base.iter().map(|v| v * (1.0 + 0.01 * i as f64)).collect())
        .collect();
    let refs: Vec<&[f64]> = sets.iter().map(Vec::as_slice).collect();
    let row = |name: &str, one: f64, many: f64| {
        println!(
            "| {name} | {:.3} | {:.3} | {:.2} |",
            one * 1e3,
            many * 1e3,
            many / one
        );
    };
    if ctx.supports_f64() {
        let mut plan = GpuFitter::<4, f64>::new(ctx, &fitter)?;
        let one = time(ctx, 1, batches, || plan.fit_batch(&refs))?;
        let many = time(ctx, 1, batches, || {
            for v in &refs {
                plan.fit_slice(v)?;
            }
            Ok(())
        })?;
        row(
            &format!("fit_batch, {} f64, host values", shape_str(shape)),
            one,
            many,
        );
    }
    let n = 64;
    let grids: Vec<ndarray::Array3<f32>> = (0..SETS)
        .map(|i| {
            ndarray::Array3::from_shape_fn((n, n, n), |(a, b, c)| {
                ((a * 7 + b * 3 + c + i) % 17) as f32 - 8.0
            })
        })
        .collect();
    let views: Vec<_> = grids.iter().map(|g| g.view()).collect();
    let bc = [Boundary::Periodic; 3];
    let one = time(ctx, 1, batches, || {
        prefilter_batch(ctx, &views, bc).map(drop)
    })?;
    let many = time(ctx, 1, batches, || {
        for v in &views {
            prefilter(ctx, v.view(), bc)?;
        }
        Ok(())
    })?;
    row(
        "prefilter_batch, 64³ f32 periodic, host in and out",
        one,
        many,
    );
    Ok(())
}
