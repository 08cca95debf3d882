//! `bsfit bench`: one compact table of the fitter and evaluator timings
//! (medians, per ISA and thread count), plus the measured memory bandwidth.
//!
//! ```text
//! bsfit bench [--quick] [--json out.json] [--pin] [--isa scalar,avx2,avx512] [--only fit|fit-small|eval|oneshot|query]
//! ```
//!
//! `--only oneshot` times the one-shot calls in fresh and churned child
//! processes next to the reused plan ([`crate::bench_oneshot`]).
//!
//! The inputs are the workloads of [`bsfit_testkit::workloads`], the same
//! the criterion benches (`cargo bench`) measure.
//!
//! `--pin` pins each rayon worker to one core (`core_affinity`), which makes
//! ISA comparisons steadier on a quiet machine.

use bsfit::bspline::knots::{find_span, not_a_knot};
use bsfit::{Fitter, Isa, Par, TensorSpline, Workspace};
use bsfit_testkit::workloads::{self, FIT4D_SHAPES, FIT4D_SMALL, THREADS};
use clap::{Args, ValueEnum};
use serde::Serialize;
use std::fmt::Write as _;
use std::hint::black_box;
use std::time::Instant;

/// Options of the bench run.
#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// Fewer samples and points (a run of about a minute)
    #[arg(long)]
    quick: bool,
    /// Also write the results as JSON (read by `tools/compare_scipy.py`)
    #[arg(long, value_name = "PATH")]
    json: Option<String>,
    /// Pin each rayon worker to one core (steadier ISA comparisons on a quiet machine)
    #[arg(long)]
    pin: bool,
    /// Instruction sets to measure, comma-separated [default: all available]
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = parse_isa)]
    isa: Vec<Isa>,
    /// Run one part only: all fit shapes, the two small ones, evaluation and basis, the one-shot calls per allocator state, or the evaluation request's rows
    #[arg(long, value_enum)]
    only: Option<Only>,
    /// With `--only oneshot`: shrink every input (a run of seconds, for tests)
    #[arg(long, hide = true)]
    tiny: bool,
}

/// Parts of the bench run (`--only`).
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum Only {
    /// The 4D fits at every shape.
    Fit,
    /// The 4D fits at the small shapes.
    FitSmall,
    /// Evaluation and basis kernels.
    Eval,
    /// The one-shot calls in fresh and churned processes, next to the reused plan.
    Oneshot,
    /// The evaluation request's rows (vector values, partials, vector fit).
    Query,
}

fn parse_isa(s: &str) -> Result<Isa, String> {
    Isa::from_name(s).ok_or_else(|| format!("unknown ISA {s:?} (scalar, avx2, avx512)"))
}

/// A rayon pool of `n` threads, each pinned to core `i` when `pin` is set.
pub(crate) fn pool(n: usize, pin: bool) -> Result<rayon::ThreadPool, String> {
    bsfit::par::thread_pool(n, pin).map_err(|e| e.to_string())
}

/// Timings of one benchmark (seconds).
#[derive(Clone, Copy)]
struct Timing {
    /// Median wall-clock time.
    med: f64,
    /// Minimum wall-clock time.
    min: f64,
    /// Mean on-CPU time per call of the measuring thread (from
    /// `/proc/thread-self/schedstat`; NaN where unavailable). On a shared
    /// machine this excludes the time the thread waited for a core.
    cpu: f64,
}

/// On-CPU time of the calling thread in seconds, if the OS reports it.
fn thread_cpu_s() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = s.split_whitespace().next()?.parse().ok()?;
    Some(ns * 1e-9)
}

/// Median of `samples` timings (seconds) of `f`, after one warm-up call.
fn median_s(samples: usize, f: impl FnMut()) -> f64 {
    measure(samples, f).med
}

/// Wall and CPU timings of `samples` calls of `f`, after one warm-up call.
fn measure(samples: usize, mut f: impl FnMut()) -> Timing {
    f();
    let samples = samples.max(1);
    let mut wall = Vec::with_capacity(samples);
    // The kernel updates a thread's run time at scheduler events, so it is
    // read around the whole loop (mean per call), not per call.
    let c0 = thread_cpu_s();
    for _ in 0..samples {
        let s = Instant::now();
        f();
        wall.push(s.elapsed().as_secs_f64());
    }
    let cpu = match (c0, thread_cpu_s()) {
        (Some(a), Some(b)) => (b - a) / samples as f64,
        _ => f64::NAN,
    };
    wall.sort_by(f64::total_cmp);
    Timing {
        med: wall[wall.len() / 2],
        min: wall[0],
        cpu,
    }
}

/// One fit row of the JSON output.
#[derive(Serialize)]
struct FitRecord {
    shape: [usize; 4],
    threads: usize,
    isa: &'static str,
    median_ms: f64,
    min_ms: f64,
    /// On-CPU time of the fitting thread; `null` where not measured.
    cpu_ms: Option<f64>,
    /// Boundary conditions of the axes (`null`: not-a-knot everywhere, the
    /// shape table).
    #[serde(skip_serializing_if = "Option::is_none")]
    bc: Option<&'static str>,
}

/// One evaluation row of the JSON output.
#[derive(Serialize)]
struct EvalRecord {
    kind: &'static str,
    shape: [usize; 4],
    isa: &'static str,
    threads: usize,
    ns_per_value: f64,
    mvalues_per_s: f64,
    /// On-CPU time of the evaluating thread; `null` where not measured.
    cpu_ns_per_value: Option<f64>,
}

/// Memory bandwidths of the JSON output (GB/s).
#[derive(Serialize)]
struct Bandwidth {
    ram_1t: f64,
    ram_2t: f64,
    cache_2t: f64,
}

/// The JSON output of `--json`.
#[derive(Serialize)]
struct Report {
    machine: String,
    bandwidth_gbs: Bandwidth,
    fit4d: Vec<FitRecord>,
    eval4d: Vec<EvalRecord>,
}

/// `Some(v)` for finite `v` (JSON has no NaN).
fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

/// `[&[f64]; 4]` views of owned axes.
fn views(ax: &[Vec<f64>; 4]) -> [&[f64]; 4] {
    std::array::from_fn(|k| ax[k].as_slice())
}

/// Read+write bandwidth (GB/s, counting 16 bytes per element) of a scaled
/// in-place sweep over `len` f64 on `threads` threads.
pub(crate) fn bandwidth(len: usize, threads: usize, reps: usize) -> Result<f64, String> {
    use rayon::prelude::*;
    let p = pool(threads, false)?;
    let mut a = vec![1.0f64; len];
    let t = p.install(|| {
        median_s(reps, || {
            a.par_chunks_mut(len.div_ceil(threads)).for_each(|c| {
                for v in c {
                    *v = *v * 0.999_999 + 1e-9;
                }
            })
        })
    });
    black_box(&a);
    Ok(16.0 * len as f64 / t / 1e9)
}

/// Runs the bench and prints the table; writes JSON when asked.
pub fn run(o: &BenchArgs) -> Result<(), String> {
    if o.only == Some(Only::Oneshot) {
        let isa = match o.isa[..] {
            [] => None,
            [isa] => Some(isa),
            _ => return Err("--only oneshot measures one ISA (the children's BSFIT_ISA); give at most one --isa".into()),
        };
        return crate::bench_oneshot::run(&crate::bench_oneshot::Options {
            quick: o.quick,
            pin: o.pin,
            tiny: o.tiny,
            isa,
            json: o.json.as_deref(),
        });
    }
    let isas = if o.isa.is_empty() {
        Isa::available()
    } else {
        for isa in &o.isa {
            isa.require().map_err(|e| e.to_string())?;
        }
        o.isa.clone()
    };
    let machine = machine_name();
    if o.only == Some(Only::Query) {
        let mut table = format!("machine: {machine}\n");
        let pts = workloads::unit_points(
            workloads::EVAL_BATCH_SIZES[workloads::EVAL_BATCH_SIZES.len() - 1],
        );
        query_rows(
            &pool(1, o.pin)?,
            &pool(2, o.pin)?,
            if o.quick { 3 } else { 10 },
            o.quick,
            &pts,
            &mut table,
        )?;
        print!("{table}");
        return Ok(());
    }
    let mut table = String::new();
    let mut fit_json = Vec::new();
    let mut eval_json = Vec::new();
    let reps = if o.quick { 3 } else { 10 };
    let bw_big = bandwidth(30_000_000, 2, reps)?;
    let bw_big1 = bandwidth(30_000_000, 1, reps)?;
    let bw_cache = bandwidth(300_000, 2, 20 * reps)?;
    let _ = writeln!(
        table,
        "machine: {machine}\nmemory bandwidth (read+write sweep): {bw_big1:.1} GB/s 1 thread, {bw_big:.1} GB/s 2 threads (240 MB); {bw_cache:.1} GB/s 2 threads (2.4 MB)"
    );
    let _ = writeln!(
        table,
        "\nfit4d, ms per fit: median, min, and mean on-CPU time of the fitting thread (1 thread)"
    );
    let _ = writeln!(
        table,
        "{:<16} {:>3} {}  floor: 1 sweep ms (GB/s), median/floor per ISA",
        "shape",
        "thr",
        isas.iter()
            .map(|i| format!("{:>26}", format!("{} med/min/cpu", i.name())))
            .collect::<String>(),
    );
    let shapes: &[[usize; 4]] = match o.only {
        None | Some(Only::Fit) => &FIT4D_SHAPES,
        Some(Only::FitSmall) => &FIT4D_SHAPES[..FIT4D_SMALL],
        Some(Only::Eval | Only::Oneshot | Only::Query) => &[],
    };
    for &shape in shapes {
        let total: usize = shape.iter().product();
        let ax = workloads::unit_axes(shape);
        let v = workloads::grid_values(shape);
        let mut out = vec![0.0; total];
        for threads in THREADS {
            let p = pool(threads, o.pin)?;
            // The floor of this row: one read+write sweep of the values at
            // the bandwidth of this data size and thread count, measured in
            // this run.
            let bw = bandwidth(total, threads, if total > 10_000_000 { 3 } else { 20 })?;
            let sweep_ms = 16.0 * total as f64 / (bw * 1e9) * 1e3;
            let mut ratios = String::new();
            let mut row = format!("{:<16} {:>3} ", format!("{shape:?}"), threads);
            for &isa in &isas {
                let f = Fitter::new(views(&ax))
                    .map_err(|e| e.to_string())?
                    .with_par(Par::with_threads(threads))
                    .with_isa(isa)
                    .map_err(|e| e.to_string())?;
                let mut ws = f.workspace();
                let samples = if total > 10_000_000 {
                    if o.quick { 2 } else { 5 }
                } else if total > 1_000_000 {
                    if o.quick { 5 } else { 20 }
                } else if o.quick {
                    30
                } else {
                    200
                };
                let tm = p.install(|| {
                    measure(samples, || {
                        f.fit_into_with(&v, &mut out, &mut ws)
                            .expect("finite grid fit");
                    })
                });
                let (ms, min_ms) = (tm.med * 1e3, tm.min * 1e3);
                // Thread CPU time is only the whole fit's when one thread runs it.
                let cpu_ms = if threads == 1 { tm.cpu * 1e3 } else { f64::NAN };
                let _ = write!(row, "{ms:>9.3} {min_ms:>7.3} {cpu_ms:>7.3} ");
                let _ = write!(ratios, " {:>5.2}", ms / sweep_ms);
                fit_json.push(FitRecord {
                    shape,
                    threads,
                    isa: isa.name(),
                    median_ms: ms,
                    min_ms,
                    cpu_ms: finite(cpu_ms),
                    bc: None,
                });
            }
            let _ = writeln!(table, "{row} {sweep_ms:>8.3} ({bw:>5.1}) {ratios}");
        }
        if total > 10_000_000 {
            let sweeps = 4.0 * 16.0 * total as f64 / (bw_big * 1e9) * 1e3;
            let _ = writeln!(
                table,
                "  (4 read+write sweeps of {} MB at {bw_big:.1} GB/s = {sweeps:.1} ms)",
                total * 8 / 1_000_000
            );
        }
    }

    if matches!(o.only, None | Some(Only::Fit | Only::FitSmall)) {
        bc_rows(o, &isas, &mut table, &mut fit_json)?;
    }
    if matches!(o.only, Some(Only::Fit | Only::FitSmall)) {
        print!("{table}");
        return write_json(o, machine, [bw_big1, bw_big, bw_cache], fit_json, eval_json);
    }
    // Evaluation on the fitted 50×30×20×10 spline (2.4 MB of coefficients,
    // beyond L2) and on a 20×20×10×5 one (80 kB, L2-resident), at random
    // points: single points per call, small batches, and batches of 1k,
    // 100k and 1M points.
    let p1 = pool(1, o.pin)?;
    let p2 = pool(2, o.pin)?;
    let nmax = workloads::EVAL_BATCH_SIZES[workloads::EVAL_BATCH_SIZES.len() - 1];
    let all_pts: Vec<[f64; 4]> = workloads::unit_points(nmax);
    let npts = if o.quick { 50_000 } else { 200_000 };
    for (shape, kinds) in [
        (
            workloads::EVAL4D_L2_SHAPE,
            &["value", "grad", "batch-1M"][..],
        ),
        (
            workloads::EVAL4D_SHAPE,
            &[
                "value",
                "grad",
                "hess",
                "batch-100",
                "batch-1k",
                "batch-100k",
                "batch-1M-1thr",
                "batch-1M",
            ][..],
        ),
    ] {
        let ax = workloads::unit_axes(shape);
        let vals = ndarray::Array4::from_shape_vec(
            (shape[0], shape[1], shape[2], shape[3]),
            workloads::grid_values(shape),
        )
        .map_err(|e| e.to_string())?;
        let spline = TensorSpline::fit(views(&ax), vals.view()).map_err(|e| e.to_string())?;
        let _ = writeln!(
            table,
            "\neval4d {}x{}x{}x{}: median ns per value and mean on-CPU ns ({npts} random points; \
             batch-N: M values/s over N points per call)",
            shape[0], shape[1], shape[2], shape[3]
        );
        let _ = writeln!(
            table,
            "{:<16} {:>3} {}",
            "kind",
            "thr",
            isas.iter()
                .map(|i| format!("{:>9}", i.name()))
                .collect::<String>()
        );
        for &kind in kinds {
            let threads =
                if kind.starts_with("batch-1") && !kind.ends_with("1thr") && kind != "batch-100" {
                    2
                } else {
                    1
                };
            let n = match kind {
                "batch-1k" => 1_000,
                "batch-100k" => 100_000,
                "batch-1M" | "batch-1M-1thr" => nmax,
                _ => npts,
            };
            let pts = &all_pts[..n];
            let mut row = format!("{kind:<16} {threads:>3} ");
            for &isa in &isas {
                let s = spline.clone().with_isa(isa).map_err(|e| e.to_string())?;
                let mut out = vec![0.0; n];
                let p = if threads == 1 { &p1 } else { &p2 };
                // Each sample evaluates about 1M values: short batches repeat.
                let calls = (nmax / n).max(1);
                let tm = p.install(|| match kind {
                    "value" => measure(reps, || {
                        let mut acc = 0.0;
                        for p in pts {
                            acc += s.eval(*p);
                        }
                        black_box(acc);
                    }),
                    "grad" => measure(reps, || {
                        let mut acc = 0.0;
                        for p in pts {
                            acc += s.eval_grad(*p)[0];
                        }
                        black_box(acc);
                    }),
                    "hess" => measure(reps, || {
                        let mut acc = 0.0;
                        for p in pts {
                            acc += s.eval_hessian(*p)[0][1];
                        }
                        black_box(acc);
                    }),
                    "batch-100" => measure(reps, || {
                        let m = workloads::EVAL_SMALL_BATCH;
                        for (c, o) in pts.chunks(m).zip(out.chunks_mut(m)) {
                            s.eval_many_into(c, o).expect("lengths match");
                        }
                        black_box(&out);
                    }),
                    _ => measure(reps, || {
                        for _ in 0..calls {
                            s.eval_many_into(pts, &mut out).expect("lengths match");
                        }
                        black_box(&out);
                    }),
                });
                let total = if kind.starts_with("batch-1") && kind != "batch-100" {
                    n * calls
                } else {
                    n
                };
                let ns = tm.med * 1e9 / total as f64;
                let mv = total as f64 / tm.med / 1e6;
                let cpu_ns = if threads == 1 {
                    tm.cpu * 1e9 / total as f64
                } else {
                    f64::NAN
                };
                if kind.starts_with("batch-1") && kind != "batch-100" {
                    let _ = write!(row, "{mv:>12.1} {:>7}", "");
                } else {
                    let _ = write!(row, "{ns:>12.1} {cpu_ns:>7.1}");
                }
                eval_json.push(EvalRecord {
                    kind,
                    shape,
                    isa: isa.name(),
                    threads,
                    ns_per_value: ns,
                    mvalues_per_s: mv,
                    cpu_ns_per_value: finite(cpu_ns),
                });
            }
            let _ = writeln!(table, "{row}");
        }
    }

    interpn_rows(&p1, &p2, reps, npts, &all_pts, &mut table, &mut eval_json)?;
    query_rows(&p1, &p2, reps, o.quick, &all_pts, &mut table)?;

    // Basis kernels: batch (lanes = points) and single point (lanes = functions),
    // on the not-a-knot knots of the basis bench's sites.
    let t = not_a_knot(&workloads::basis_sites());
    let nb = workloads::BASIS_POINTS[workloads::BASIS_POINTS.len() - 1];
    let xs = workloads::basis_points(nb);
    let spans: Vec<usize> = xs.iter().map(|&x| find_span(&t, x)).collect();
    let mut bout = vec![[[0.0; 4]; 3]; nb];
    let _ = writeln!(table, "\nbasis (ns per point, {nb} points, spans given)");
    for (name, nd) in [
        ("batch values", 0usize),
        ("batch d0..d2", 2),
        ("single values", 0),
    ] {
        let mut row = format!("{name:<16} {:>3} ", 1);
        for &isa in &isas {
            let tm = median_s(20 * reps, || {
                if name.starts_with("single") {
                    let mut acc = 0.0;
                    for (&x, &s) in xs.iter().zip(&spans) {
                        acc += bsfit::isa::checked::basis_single(isa, &t, s, x)
                            .map(|b| b[1])
                            .unwrap_or(0.0);
                    }
                    black_box(acc);
                } else {
                    bsfit::isa::checked::basis_batch(isa, &t, &spans, &xs, nd, &mut bout)
                        .expect("valid spans");
                    black_box(&bout);
                }
            });
            let _ = write!(row, "{:>9.2}", tm * 1e9 / nb as f64);
        }
        let _ = writeln!(table, "{row}");
    }
    print!("{table}");
    write_json(o, machine, [bw_big1, bw_big, bw_cache], fit_json, eval_json)
}

/// The evaluation request's rows on the 50×30×20×10 grid, each a ratio to
/// its scalar baseline measured in the same loop (alternating samples): a
/// spline of 8 components against a scalar one per point (batches of 1M
/// points on 2 threads), value + gradient + Hessian through one query (21
/// outputs) against one value (100k points on 1 thread), a grid of
/// 100×60×40×20 points against the same points one by one (2 threads), and
/// the fit of 8 components against one.
fn query_rows(
    p1: &rayon::ThreadPool,
    p2: &rayon::ThreadPool,
    reps: usize,
    quick: bool,
    all_pts: &[[f64; 4]],
    table: &mut String,
) -> Result<(), String> {
    use bsfit::tensor::Query;
    let shape = workloads::EVAL4D_SHAPE;
    let ax = workloads::unit_axes(shape);
    let base = workloads::grid_values(shape);
    let nc = 8;
    let vec_vals: Vec<f64> = base
        .iter()
        .flat_map(|&v| (0..nc).map(move |c| v * (1.0 + 0.1 * c as f64)))
        .collect();
    let fitter = bsfit::Fitter::new(views(&ax)).map_err(|e| e.to_string())?;
    let mut ws = fitter.workspace();
    let ncoef: usize = fitter.coef_shape().iter().product();
    let mut c1 = vec![0.0; ncoef];
    let mut c8 = vec![0.0; ncoef * nc];
    fitter
        .fit_into_with(&base, &mut c1, &mut ws)
        .map_err(|e| e.to_string())?;
    fitter
        .fit_into_vector(&vec_vals, &[nc], [&[], &[]], &mut c8, &mut ws)
        .map_err(|e| e.to_string())?;
    let s1 = fitter
        .spline_from_vector(c1.clone(), &[])
        .map_err(|e| e.to_string())?;
    let s8 = fitter
        .spline_from_vector(c8.clone(), &[nc])
        .map_err(|e| e.to_string())?;
    let _ = writeln!(
        table,
        "\nquery {}x{}x{}x{}: ratio to the scalar baseline in the same loop (median of alternating samples)",
        shape[0], shape[1], shape[2], shape[3]
    );
    let samples = if quick { 5 } else { reps.max(5) };
    // Alternating samples of two closures; the median of each.
    let pair =
        |pool: &rayon::ThreadPool, a: &mut (dyn FnMut() + Send), b: &mut (dyn FnMut() + Send)| {
            let (mut ta, mut tb) = (Vec::new(), Vec::new());
            pool.install(|| {
                a();
                b();
                for _ in 0..samples {
                    let t = std::time::Instant::now();
                    a();
                    ta.push(t.elapsed().as_secs_f64());
                    let t = std::time::Instant::now();
                    b();
                    tb.push(t.elapsed().as_secs_f64());
                }
            });
            ta.sort_by(f64::total_cmp);
            tb.sort_by(f64::total_cmp);
            (ta[ta.len() / 2], tb[tb.len() / 2])
        };
    let n = all_pts.len();
    let flat: &[f64] = all_pts.as_flattened();
    let q = Query::at_slice(flat, 4).map_err(|e| e.to_string())?;
    let mut o1 = vec![0.0; n];
    let mut o8 = vec![0.0; n * nc];
    let (t1, t8) = pair(
        p2,
        &mut || s1.evaluate_into(&q, &mut o1).expect("sizes match"),
        &mut || s8.evaluate_into(&q, &mut o8).expect("sizes match"),
    );
    let _ = writeln!(
        table,
        "{:<28} {:>3} {:>9.1} ns/point scalar {:>9.1} ns/point 8 components  ratio {:>5.2} (bar 3)",
        "vector values, 1M points",
        2,
        t1 * 1e9 / n as f64,
        t8 * 1e9 / n as f64,
        t8 / t1
    );
    let m = 100_000.min(n);
    let qv = Query::at_slice(&flat[..4 * m], 4).map_err(|e| e.to_string())?;
    let qh = Query::at_slice(&flat[..4 * m], 4)
        .map_err(|e| e.to_string())?
        .value()
        .gradient()
        .hessian();
    let mut ov = vec![0.0; m];
    let mut oh = vec![0.0; m * 21];
    let (tv, th) = pair(
        p1,
        &mut || s1.evaluate_into(&qv, &mut ov).expect("sizes match"),
        &mut || s1.evaluate_into(&qh, &mut oh).expect("sizes match"),
    );
    let _ = writeln!(
        table,
        "{:<28} {:>3} {:>9.1} ns/point value  {:>9.1} ns/point value+grad+hess ratio {:>5.2} (bar 3.5)",
        "partials, 100k points",
        1,
        tv * 1e9 / m as f64,
        th * 1e9 / m as f64,
        th / tv
    );
    // Grid evaluation against the same points evaluated one by one: a
    // 100×60×40×20 grid (25×15×10×5 with --quick) inside the domain.
    let gshape: [usize; 4] = if quick {
        [25, 15, 10, 5]
    } else {
        [100, 60, 40, 20]
    };
    let gaxes: [Vec<f64>; 4] = std::array::from_fn(|k| {
        let (lo, hi) = (ax[k][0], ax[k][ax[k].len() - 1]);
        let g = gshape[k];
        (0..g)
            .map(|i| lo + (hi - lo) * (i as f64 + 0.5) / g as f64)
            .collect()
    });
    let gviews: [&[f64]; 4] = std::array::from_fn(|k| &gaxes[k][..]);
    let ng: usize = gshape.iter().product();
    let mut gpts = Vec::with_capacity(4 * ng);
    for &a in &gaxes[0] {
        for &b in &gaxes[1] {
            for &c in &gaxes[2] {
                for &d in &gaxes[3] {
                    gpts.extend_from_slice(&[a, b, c, d]);
                }
            }
        }
    }
    let qg = Query::grid(&gviews);
    let qp = Query::at_slice(&gpts, 4).map_err(|e| e.to_string())?;
    let mut og = vec![0.0; ng];
    let mut op = vec![0.0; ng];
    let (tp, tg) = pair(
        p2,
        &mut || s1.evaluate_into(&qp, &mut op).expect("sizes match"),
        &mut || s1.evaluate_into(&qg, &mut og).expect("sizes match"),
    );
    let dev = og
        .iter()
        .zip(&op)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f64, f64::max);
    let _ = writeln!(
        table,
        "{:<28} {:>3} {:>9.3} ms points         {:>9.3} ms grid               speedup {:>5.1} (bar 20; max |grid - points| {:.1e})",
        format!(
            "grid {}x{}x{}x{}",
            gshape[0], gshape[1], gshape[2], gshape[3]
        ),
        2,
        tp * 1e3,
        tg * 1e3,
        tp / tg,
        dev
    );
    let mut ws8 = fitter.workspace();
    let (f1, f8) = pair(
        p2,
        &mut || fitter.fit_into_with(&base, &mut c1, &mut ws).expect("fits"),
        &mut || {
            fitter
                .fit_into_vector(&vec_vals, &[nc], [&[], &[]], &mut c8, &mut ws8)
                .expect("fits")
        },
    );
    let _ = writeln!(
        table,
        "{:<28} {:>3} {:>9.3} ms scalar        {:>9.3} ms 8 components       ratio {:>5.2} (bar 8)",
        "fit, 8 components",
        2,
        f1 * 1e3,
        f8 * 1e3,
        f8 / f1
    );
    Ok(())
}

/// The boundary-condition rows: the 50×30×20×10 fit on 2 threads with each
/// condition on every axis, mixed, and with explicit end values, as a
/// ratio to the not-a-knot fit measured in the same loop (alternating
/// samples, so that machine noise hits both alike).
fn bc_rows(
    o: &BenchArgs,
    isas: &[Isa],
    table: &mut String,
    fit_json: &mut Vec<FitRecord>,
) -> Result<(), String> {
    use bsfit::{BoundaryCondition as Bc, EndCondition as End};
    let shape = workloads::EVAL4D_SHAPE;
    let threads = 2;
    let ax = workloads::unit_axes(shape);
    let explicit = Bc::ends(End::Derivative { order: 1 }, End::Derivative { order: 2 });
    let rows: [(&'static str, [Bc; 4]); 6] = [
        ("not-a-knot", [Bc::NOT_A_KNOT; 4]),
        ("natural", [Bc::NATURAL; 4]),
        ("clamped", [Bc::CLAMPED; 4]),
        ("periodic", [Bc::PERIODIC; 4]),
        (
            "mixed nak/nat/per/cla",
            [Bc::NOT_A_KNOT, Bc::NATURAL, Bc::PERIODIC, Bc::CLAMPED],
        ),
        (
            "explicit d1/d2 axis 0",
            [explicit, Bc::NOT_A_KNOT, Bc::NOT_A_KNOT, Bc::NOT_A_KNOT],
        ),
    ];
    let mut v = workloads::grid_values(shape);
    for axis in 0..4 {
        workloads::make_periodic(&mut v, shape, axis);
    }
    let ends: Vec<f64> = workloads::grid_values([shape[1], shape[2], shape[3]]);
    let _ = writeln!(
        table,
        "
fit4d {shape:?}, {threads} threads, per boundary condition: median ms and ratio to not-a-knot"
    );
    let p = pool(threads, o.pin)?;
    let samples = if o.quick { 30 } else { 200 };
    for &isa in isas {
        let fitters = rows
            .iter()
            .map(|(_, bc)| {
                Fitter::with_boundary(views(&ax), *bc)
                    .and_then(|f| f.with_isa(isa))
                    .map(|f| f.with_par(Par::with_threads(threads)))
                    .map_err(|e| e.to_string())
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut wss: Vec<Workspace> = fitters.iter().map(|f| f.workspace()).collect();
        let mut outs: Vec<Vec<f64>> = fitters
            .iter()
            .map(|f| vec![0.0; f.coef_shape().iter().product()])
            .collect();
        let mut times = vec![Vec::with_capacity(samples); rows.len()];
        p.install(|| {
            for (i, f) in fitters.iter().enumerate() {
                for _ in 0..5 {
                    let e: [&[f64]; 2] = if i == 5 { [&ends, &ends] } else { [&[], &[]] };
                    f.fit_into_ends(&v, e, &mut outs[i], &mut wss[i])
                        .expect("fit");
                }
            }
            for _ in 0..samples {
                for (i, f) in fitters.iter().enumerate() {
                    let e: [&[f64]; 2] = if i == 5 { [&ends, &ends] } else { [&[], &[]] };
                    let t0 = Instant::now();
                    f.fit_into_ends(&v, e, &mut outs[i], &mut wss[i])
                        .expect("fit");
                    times[i].push(t0.elapsed().as_secs_f64());
                }
            }
        });
        let med = |t: &mut Vec<f64>| {
            t.sort_by(f64::total_cmp);
            t[t.len() / 2]
        };
        let meds: Vec<f64> = times.iter_mut().map(med).collect();
        let mins: Vec<f64> = times.iter().map(|t| t[0]).collect();
        // On-CPU time of one thread fitting alone (Par::Seq): the work of
        // each condition, insensitive to other processes taking the cores.
        let p1 = pool(1, o.pin)?;
        let cpu: Vec<f64> = p1.install(|| {
            fitters
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    let f = f.clone().with_par(Par::Seq);
                    let e: [&[f64]; 2] = if i == 5 { [&ends, &ends] } else { [&[], &[]] };
                    measure(samples / 4, || {
                        f.fit_into_ends(&v, e, &mut outs[i], &mut wss[i])
                            .expect("fit");
                    })
                    .cpu
                })
                .collect()
        });
        for (i, (name, _)) in rows.iter().enumerate() {
            let _ = writeln!(
                table,
                "{:<24} {:>7} {:>9.3} ms  {:>5.2}x   1-thread cpu {:>7.3} ms  {:>5.2}x",
                name,
                isa.name(),
                meds[i] * 1e3,
                meds[i] / meds[0],
                cpu[i] * 1e3,
                cpu[i] / cpu[0]
            );
            fit_json.push(FitRecord {
                shape,
                threads,
                isa: isa.name(),
                median_ms: meds[i] * 1e3,
                min_ms: mins[i] * 1e3,
                cpu_ms: None,
                bc: Some(name),
            });
        }
    }
    Ok(())
}

/// Writes the `--json` report, if asked for.
fn write_json(
    o: &BenchArgs,
    machine: String,
    [ram_1t, ram_2t, cache_2t]: [f64; 3],
    fit4d: Vec<FitRecord>,
    eval4d: Vec<EvalRecord>,
) -> Result<(), String> {
    let Some(path) = &o.json else {
        return Ok(());
    };
    let report = Report {
        machine,
        bandwidth_gbs: Bandwidth {
            ram_1t,
            ram_2t,
            cache_2t,
        },
        fit4d,
        eval4d,
    };
    let mut json = serde_json::to_string(&report).map_err(|e| e.to_string())?;
    json.push('\n');
    std::fs::write(path, json).map_err(|e| format!("{path}: {e}"))?;
    println!("wrote {path}");
    Ok(())
}

/// CPU model, core count and best ISA of this machine.
pub(crate) fn machine_name() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!("{model}, {cores} cores, best ISA {}", Isa::best())
}

/// The Rust peer on the same 50×30×20×10 grid values and random points:
/// interpn 0.11's tensor-product cubic B-spline interpolator on rectilinear
/// grids (`multibspline::rectilinear`): its coefficient construction from
/// the values into caller-provided storage (a refit, 1 thread), one value
/// per call, and batches of 1M points (structure-of-arrays coordinates, as
/// its API takes them) on 1 thread and split in halves on 2. Checked first
/// against the grid values at grid sites, which both interpolants reproduce.
fn interpn_rows(
    p1: &rayon::ThreadPool,
    p2: &rayon::ThreadPool,
    reps: usize,
    npts: usize,
    all_pts: &[[f64; 4]],
    table: &mut String,
    eval_json: &mut Vec<EvalRecord>,
) -> Result<(), String> {
    use interpn::multibspline::rectilinear::{MultiBsplineRectilinear, coefficients};
    let shape = workloads::EVAL4D_SHAPE;
    let ax = workloads::unit_axes(shape);
    let grids: [&[f64]; 4] = std::array::from_fn(|k| &ax[k][..]);
    let vals = workloads::grid_values(shape);
    let mut coefs = vec![0.0; vals.len()];
    let mut scratch = vec![0.0; MultiBsplineRectilinear::<f64, 4>::construction_scratch_len(shape)];
    let fit = p1.install(|| {
        measure(reps, || {
            coefficients(&grids, &vals, &mut coefs, &mut scratch).expect("valid grid");
            black_box(&coefs);
        })
    });
    let sp = MultiBsplineRectilinear::new(&grids, &coefs, false)?;
    for i in 0..10 {
        let id: [usize; 4] = std::array::from_fn(|k| (i * 7 + k) % shape[k]);
        let x: [f64; 4] = std::array::from_fn(|k| ax[k][id[k]]);
        let flat = (0..4).fold(0, |a, k| a * shape[k] + id[k]);
        let v = sp.interp_one(x)?;
        if (v - vals[flat]).abs() > 1e-9 {
            return Err(format!("interpn at grid site {x:?}: {v} vs {}", vals[flat]));
        }
    }
    let soa: [Vec<f64>; 4] = std::array::from_fn(|k| all_pts.iter().map(|p| p[k]).collect());
    let n = all_pts.len();
    let mut out = vec![0.0; n];
    let single = p1.install(|| {
        measure(reps, || {
            let mut acc = 0.0;
            for p in &all_pts[..npts] {
                acc += sp.interp_one(*p).expect("valid inputs");
            }
            black_box(acc);
        })
    });
    let one = p1.install(|| {
        measure(reps, || {
            let obs: [&[f64]; 4] = std::array::from_fn(|k| &soa[k][..]);
            sp.interp(&obs, &mut out).expect("valid inputs");
            black_box(&out);
        })
    });
    let two = p2.install(|| {
        measure(reps, || {
            let h = n / 2;
            let (o0, o1) = out.split_at_mut(h);
            rayon::join(
                || {
                    let obs: [&[f64]; 4] = std::array::from_fn(|k| &soa[k][..h]);
                    sp.interp(&obs, o0).expect("valid inputs");
                },
                || {
                    let obs: [&[f64]; 4] = std::array::from_fn(|k| &soa[k][h..]);
                    sp.interp(&obs, o1).expect("valid inputs");
                },
            );
            black_box(&out);
        })
    });
    let ns = single.med * 1e9 / npts as f64;
    let (m1, m2) = (n as f64 / one.med / 1e6, n as f64 / two.med / 1e6);
    let _ = writeln!(
        table,
        "\npeer: interpn 0.11 multibspline (rectilinear), {}x{}x{}x{}, the same values and points\n\
         refit (ms)         1 {:>12.3}\n\
         value              1 {ns:>12.1}\n\
         batch-1M-1thr      1 {m1:>12.1}\n\
         batch-1M           2 {m2:>12.1}",
        shape[0],
        shape[1],
        shape[2],
        shape[3],
        fit.med * 1e3
    );
    for (kind, threads, nsv, mv) in [
        ("value", 1, ns, 1e3 / ns),
        ("batch-1M-1thr", 1, 1e3 / m1, m1),
        ("batch-1M", 2, 1e3 / m2, m2),
    ] {
        eval_json.push(EvalRecord {
            kind,
            shape,
            isa: "interpn",
            threads,
            ns_per_value: nsv,
            mvalues_per_s: mv,
            cpu_ns_per_value: None,
        });
    }
    Ok(())
}
