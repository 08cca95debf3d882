//! `bsfit bench`: one compact table of the fitter and evaluator timings
//! (medians, per ISA and thread count), plus the measured memory bandwidth.
//!
//! ```text
//! bsfit bench [--quick] [--json out.json] [--pin] [--isa scalar,avx2,avx512] [--only fit|fit-small|eval]
//! ```
//!
//! `--pin` pins each rayon worker to one core (`core_affinity`), which makes
//! ISA comparisons steadier on a quiet machine.

use bsfit::{Fitter, Isa, Par, TensorSpline};
use std::fmt::Write as _;
use std::hint::black_box;
use std::time::Instant;

/// Options of the bench run.
struct Opts {
    quick: bool,
    json: Option<String>,
    pin: bool,
    isas: Vec<Isa>,
    only: Option<String>,
}

fn parse(args: &[String]) -> Result<Opts, String> {
    let mut o = Opts {
        quick: false,
        json: None,
        pin: false,
        isas: Isa::available(),
        only: None,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => o.quick = true,
            "--pin" => o.pin = true,
            "--only" => o.only = Some(it.next().ok_or("--only needs fit|fit-small|eval")?.clone()),
            "--json" => o.json = Some(it.next().ok_or("--json needs a path")?.clone()),
            "--isa" => {
                let list = it.next().ok_or("--isa needs a list")?;
                o.isas = list
                    .split(',')
                    .map(|s| {
                        Isa::from_name(s)
                            .ok_or(format!("unknown ISA {s:?}"))
                            .and_then(|i| i.require().map_err(|e| e.to_string()))
                    })
                    .collect::<Result<_, _>>()?;
            }
            other => return Err(format!("unknown bench option {other:?}")),
        }
    }
    Ok(o)
}

/// A rayon pool of `n` threads, each pinned to core `i` when `pin` is set.
fn pool(n: usize, pin: bool) -> Result<rayon::ThreadPool, String> {
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

/// SplitMix64 for reproducible inputs.
struct Rng(u64);
impl Rng {
    fn f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn axes(shape: [usize; 4]) -> [Vec<f64>; 4] {
    std::array::from_fn(|k| {
        (0..shape[k])
            .map(|i| i as f64 / (shape[k] - 1) as f64)
            .collect()
    })
}

fn values(shape: [usize; 4]) -> Vec<f64> {
    let total: usize = shape.iter().product();
    let mut rng = Rng(7);
    (0..total).map(|_| rng.f64()).collect()
}

/// Read+write bandwidth (GB/s, counting 16 bytes per element) of a scaled
/// in-place sweep over `len` f64 on `threads` threads.
fn bandwidth(len: usize, threads: usize, reps: usize) -> Result<f64, String> {
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
pub fn run(args: &[String]) -> Result<(), String> {
    let o = parse(args)?;
    let machine = machine_name();
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
        "{:<16} {:>3} {}",
        "shape",
        "thr",
        o.isas
            .iter()
            .map(|i| format!("{:>26}", format!("{} med/min/cpu", i.name())))
            .collect::<String>()
    );
    let all_shapes = [
        [20, 20, 10, 5],
        [50, 30, 20, 10],
        [100, 50, 30, 20],
        [200, 100, 50, 30],
    ];
    let shapes: &[[usize; 4]] = match o.only.as_deref() {
        Some("fit-small") => &all_shapes[..2],
        Some(s) if !s.starts_with("fit") => &[],
        _ => &all_shapes,
    };
    for &shape in shapes {
        let total: usize = shape.iter().product();
        let ax = axes(shape);
        let v = values(shape);
        let mut out = vec![0.0; total];
        for threads in [1usize, 2] {
            let p = pool(threads, o.pin)?;
            let mut row = format!("{:<16} {:>3} ", format!("{shape:?}"), threads);
            for &isa in &o.isas {
                let f = Fitter::new([&ax[0][..], &ax[1][..], &ax[2][..], &ax[3][..]])
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
                fit_json.push(format!(
                    "{{\"shape\":{:?},\"threads\":{threads},\"isa\":\"{}\",\"median_ms\":{ms:.6},\"min_ms\":{min_ms:.6},\"cpu_ms\":{}}}",
                    shape,
                    isa.name(),
                    json_num(cpu_ms)
                ));
            }
            let _ = writeln!(table, "{row}");
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

    if o.only.as_deref().is_some_and(|s| s.starts_with("fit")) {
        print!("{table}");
        return Ok(());
    }
    // Evaluation on the fitted 50×30×20×10 spline at random points.
    let shape = [50, 30, 20, 10];
    let ax = axes(shape);
    let v = values(shape);
    let vals = ndarray::Array4::from_shape_vec((50, 30, 20, 10), v).map_err(|e| e.to_string())?;
    let spline = TensorSpline::fit(
        [&ax[0][..], &ax[1][..], &ax[2][..], &ax[3][..]],
        vals.view(),
    )
    .map_err(|e| e.to_string())?;
    let npts = if o.quick { 50_000 } else { 200_000 };
    let mut rng = Rng(11);
    let pts: Vec<[f64; 4]> = (0..npts)
        .map(|_| [rng.f64(), rng.f64(), rng.f64(), rng.f64()])
        .collect();
    let _ = writeln!(
        table,
        "\neval4d 50x30x20x10, {npts} random points: median ns per value and mean on-CPU ns (batch: M values/s)"
    );
    let _ = writeln!(
        table,
        "{:<16} {:>3} {}",
        "kind",
        "thr",
        o.isas
            .iter()
            .map(|i| format!("{:>9}", i.name()))
            .collect::<String>()
    );
    let p1 = pool(1, o.pin)?;
    let p2 = pool(2, o.pin)?;
    for kind in ["value", "grad", "hess", "batch-lanes", "batch"] {
        let threads = if kind == "batch" { 2 } else { 1 };
        let mut row = format!("{kind:<16} {threads:>3} ");
        for &isa in &o.isas {
            let s = spline.clone().with_isa(isa).map_err(|e| e.to_string())?;
            let mut out = vec![0.0; npts];
            let tm = match kind {
                "value" => p1.install(|| {
                    measure(reps, || {
                        let mut acc = 0.0;
                        for p in &pts {
                            acc += s.eval(*p);
                        }
                        black_box(acc);
                    })
                }),
                "grad" => p1.install(|| {
                    measure(reps, || {
                        let mut acc = 0.0;
                        for p in &pts {
                            acc += s.eval_grad(*p)[0];
                        }
                        black_box(acc);
                    })
                }),
                "hess" => p1.install(|| {
                    measure(reps, || {
                        let mut acc = 0.0;
                        for p in &pts {
                            acc += s.eval_hessian(*p)[0][1];
                        }
                        black_box(acc);
                    })
                }),
                "batch-lanes" => p1.install(|| {
                    measure(reps, || {
                        s.eval_batch_seq(&pts, &mut out).ok();
                        black_box(&out);
                    })
                }),
                _ => p2.install(|| {
                    measure(reps, || {
                        s.eval_many_into(&pts, &mut out).expect("lengths match");
                        black_box(&out);
                    })
                }),
            };
            let ns = tm.med * 1e9 / npts as f64;
            let mv = npts as f64 / tm.med / 1e6;
            let cpu_ns = if threads == 1 {
                tm.cpu * 1e9 / npts as f64
            } else {
                f64::NAN
            };
            if kind == "batch" {
                let _ = write!(row, "{mv:>12.1} {:>7}", "");
            } else {
                let _ = write!(row, "{ns:>12.1} {cpu_ns:>7.1}");
            }
            eval_json.push(format!(
                "{{\"kind\":\"{kind}\",\"shape\":[50,30,20,10],\"isa\":\"{}\",\"threads\":{threads},\"ns_per_value\":{ns:.3},\"mvalues_per_s\":{mv:.3},\"cpu_ns_per_value\":{}}}",
                isa.name(),
                json_num(cpu_ns)
            ));
        }
        let _ = writeln!(table, "{row}");
    }

    // Basis kernels: batch (lanes = points) and single point (lanes = functions).
    let t = &spline.knots(0).to_vec();
    let nb = 4096;
    let xs: Vec<f64> = (0..nb).map(|_| rng.f64()).collect();
    let spans: Vec<usize> = xs
        .iter()
        .map(|&x| bsfit::bspline::knots::find_span(t, x))
        .collect();
    let mut bout = vec![[[0.0; 4]; 3]; nb];
    let _ = writeln!(table, "\nbasis (ns per point, {nb} points, spans given)");
    for (name, nd) in [
        ("batch values", 0usize),
        ("batch d0..d2", 2),
        ("single values", 0),
    ] {
        let mut row = format!("{name:<16} {:>3} ", 1);
        for &isa in &o.isas {
            let tm = median_s(20 * reps, || {
                if name.starts_with("single") {
                    let mut acc = 0.0;
                    for (&x, &s) in xs.iter().zip(&spans) {
                        acc += bsfit::isa::checked::basis_single(isa, t, s, x)
                            .map(|b| b[1])
                            .unwrap_or(0.0);
                    }
                    black_box(acc);
                } else {
                    bsfit::isa::checked::basis_batch(isa, t, &spans, &xs, nd, &mut bout)
                        .expect("valid spans");
                    black_box(&bout);
                }
            });
            let _ = write!(row, "{:>9.2}", tm * 1e9 / nb as f64);
        }
        let _ = writeln!(table, "{row}");
    }
    print!("{table}");
    if let Some(path) = o.json {
        let json = format!(
            "{{\"machine\":{:?},\"bandwidth_gbs\":{{\"ram_1t\":{bw_big1:.2},\"ram_2t\":{bw_big:.2},\"cache_2t\":{bw_cache:.2}}},\"fit4d\":[{}],\"eval4d\":[{}]}}\n",
            machine,
            fit_json.join(","),
            eval_json.join(",")
        );
        std::fs::write(&path, json).map_err(|e| format!("{path}: {e}"))?;
        println!("wrote {path}");
    }
    Ok(())
}

/// A JSON number, or `null` for NaN.
fn json_num(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.6}")
    } else {
        "null".to_string()
    }
}

fn machine_name() -> String {
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
