//! The sensitivity rows of the bench: the exact data gradient
//! (`Fitter::data_vjp`) of 10⁶ points on the 50×30×20×10 grid against
//! evaluating those points plus one refit (bar ≤ 2×), and the per-axis
//! weights of one point (`Fitter::data_weights`, bar ≤ 2 µs).
//!
//! [`rows`] appends them to a bench table; `bsfit bench-sens` (hidden)
//! prints them alone.

use bsfit::tensor::Query;
use bsfit::{Fitter, Workspace};
use bsfit_testkit::workloads;
use clap::Args;
use std::fmt::Write as _;
use std::hint::black_box;
use std::time::Instant;

/// Options of `bsfit bench-sens`.
#[derive(Args, Debug, Clone)]
pub struct BenchSensArgs {
    /// Fewer samples and 10⁵ points instead of 10⁶
    #[arg(long)]
    quick: bool,
    /// Pin each rayon worker to one core
    #[arg(long)]
    pin: bool,
}

/// Prints the sensitivity rows with the machine's name.
pub fn run(o: &BenchSensArgs) -> Result<(), String> {
    let p1 = crate::bench::pool(1, o.pin)?;
    let p2 = crate::bench::pool(2, o.pin)?;
    let n = if o.quick { 100_000 } else { 1_000_000 };
    let pts: Vec<[f64; 4]> = workloads::unit_points(n);
    let mut table = String::new();
    let _ = writeln!(table, "machine: {}", crate::bench::machine_name());
    rows(&p1, &p2, if o.quick { 3 } else { 7 }, &pts, &mut table)?;
    print!("{table}");
    Ok(())
}

/// Medians of alternating samples of the closures in `fs`, run in `pool`
/// (one warm-up call each).
fn medians<const N: usize>(
    pool: &rayon::ThreadPool,
    samples: usize,
    fs: &mut [&mut (dyn FnMut() + Send); N],
) -> [f64; N] {
    let mut t: [Vec<f64>; N] = std::array::from_fn(|_| Vec::new());
    pool.install(|| {
        for f in fs.iter_mut() {
            f();
        }
        for _ in 0..samples.max(1) {
            for (f, ts) in fs.iter_mut().zip(t.iter_mut()) {
                let s = Instant::now();
                f();
                ts.push(s.elapsed().as_secs_f64());
            }
        }
    });
    t.map(|mut v| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    })
}

/// Appends the sensitivity rows to `table`: on 1 and 2 threads, the data
/// gradient of `pts` (random cotangents, the value at each point) against
/// evaluating the values there plus one refit of the grid, measured in the
/// same loop (alternating samples); then the per-axis weights of one
/// point, into a buffer and allocating.
pub fn rows(
    p1: &rayon::ThreadPool,
    p2: &rayon::ThreadPool,
    samples: usize,
    pts: &[[f64; 4]],
    table: &mut String,
) -> Result<(), String> {
    let shape = workloads::EVAL4D_SHAPE;
    let ax = workloads::unit_axes(shape);
    let axes: [&[f64]; 4] = std::array::from_fn(|k| ax[k].as_slice());
    let values = workloads::grid_values(shape);
    let n = pts.len();
    let flat = pts.as_flattened();
    let view = ndarray::ArrayView2::from_shape((n, 4), flat).map_err(|e| e.to_string())?;
    let q = Query::at(view);
    let g: Vec<f64> = (0..n)
        .map(|i| ((i * 7919) % 1000) as f64 / 500.0 - 1.0)
        .collect();
    let _ = writeln!(
        table,
        "\nsensitivities {}x{}x{}x{}: data_vjp of {n} points vs evaluating them + one refit (same loop)",
        shape[0], shape[1], shape[2], shape[3]
    );
    for (threads, pool) in [(1, p1), (2, p2)] {
        let fitter = Fitter::new(axes)
            .map_err(|e| e.to_string())?
            .with_par(bsfit::Par::with_threads(threads));
        let mut ws = fitter.workspace();
        let mut coefs = vec![0.0; fitter.coef_shape().iter().product()];
        fitter
            .fit_into_with(&values, &mut coefs, &mut ws)
            .map_err(|e| e.to_string())?;
        let spline = fitter
            .spline_from_vector(coefs.clone(), &[])
            .map_err(|e| e.to_string())?;
        let mut vals = vec![0.0; n];
        let mut grad = vec![0.0; values.len()];
        let mut vws = Workspace::with_scratch(fitter.data_vjp_scratch(n, 1));
        let [te, tf, tv] = medians(
            pool,
            samples,
            &mut [
                &mut || spline.evaluate_into(&q, &mut vals).expect("sizes match"),
                &mut || {
                    fitter
                        .fit_into_with(&values, &mut coefs, &mut ws)
                        .expect("fits")
                },
                &mut || {
                    fitter
                        .data_vjp(view, &g, [0; 4], &mut grad, &mut vws)
                        .expect("sizes match")
                },
            ],
        );
        black_box((&vals, &grad));
        let _ = writeln!(
            table,
            "{:<28} {:>3} {:>9.2} ms  eval {:>8.2} ms + refit {:>7.3} ms  ratio {:>5.2} (bar 2)",
            "data_vjp",
            threads,
            tv * 1e3,
            te * 1e3,
            tf * 1e3,
            tv / (te + tf)
        );
    }
    // One point at a time, cycling through the points.
    let fitter = Fitter::new(axes).map_err(|e| e.to_string())?;
    let m = n.min(100_000);
    let mut buf = vec![0.0; shape.iter().sum()];
    let mut ends = [0.0; 2];
    let [ti, ta] = medians(
        p1,
        samples,
        &mut [
            &mut || {
                for p in &pts[..m] {
                    fitter
                        .data_weights_into(*p, [0; 4], &mut buf, &mut ends)
                        .expect("sizes match");
                    black_box(&buf);
                }
            },
            &mut || {
                for p in &pts[..m] {
                    black_box(fitter.data_weights(*p, [0; 4]));
                }
            },
        ],
    );
    let _ = writeln!(
        table,
        "{:<28} {:>3} {:>9.0} ns/point into a buffer, {:>6.0} ns/point allocating (bar 2000)",
        "data_weights, one point",
        1,
        ti * 1e9 / m as f64,
        ta * 1e9 / m as f64
    );
    Ok(())
}
