//! `bsfit grid3`: solves `B c = F` for a random field with every method and prints the
//! measured iterations beside the theory, time, time per iteration, final residual and
//! effective bandwidth; writes residual histories (CSV) and a convergence plot (SVG).

use bsfit::grid3::Boundary;
use bsfit::grid3::direct::DirectPlan;
use bsfit::grid3::spai::{self, Target};
use bsfit::grid3::{Formulation, Method, SolveOptions, solve, theory};
use bsfit::{FitError, Par, Real};
use ndarray::Array3;
use std::fmt::Write as _;

const USAGE: &str = "usage: bsfit grid3 [--n 128 | --shape 200x200x100] [--bc periodic,periodic,zero] \
[--precision f32|f64] [--tol 1e-6] [--solver all|relax|jacobi|chebyshev|cg|pcg3|pcg5|direct[,..]] \
[--formulation both|B|B2] [--max-iter 1000] [--check-every 1] [--plot path.svg] [--csv path.csv] \
[--device cpu|gpu]";

struct Args {
    shape: [usize; 3],
    bc: [Boundary; 3],
    f32: bool,
    tol: f64,
    methods: Vec<Method>,
    forms: Vec<Formulation>,
    max_iter: usize,
    check_every: usize,
    plot: Option<String>,
    csv: Option<String>,
    /// Run on the GPU (feature `gpu`; f32).
    gpu: bool,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut a = Args {
        shape: [128; 3],
        bc: [Boundary::Periodic; 3],
        f32: false,
        tol: 1e-6,
        methods: Method::ALL.to_vec(),
        forms: vec![Formulation::Interpolate, Formulation::NormalEquations],
        max_iter: 1000,
        check_every: 1,
        plot: None,
        csv: None,
        gpu: false,
    };
    let mut it = args.iter();
    while let Some(k) = it.next() {
        let mut val = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{k} needs a value\n{USAGE}"))
        };
        let num = |v: String| v.parse::<usize>().map_err(|e| format!("{k} {v}: {e}"));
        match k.as_str() {
            "--n" => a.shape = [num(val()?)?; 3],
            "--shape" => {
                let v = val()?;
                let p: Vec<usize> = v
                    .split(['x', 'X', ','])
                    .map(|s| s.trim().parse::<usize>())
                    .collect::<Result<_, _>>()
                    .map_err(|e| format!("--shape {v}: {e}"))?;
                a.shape = p
                    .try_into()
                    .map_err(|_| format!("--shape {v}: need 3 extents"))?;
            }
            "--bc" => {
                let v = val()?;
                let p: Vec<Boundary> = v
                    .split(',')
                    .map(|s| {
                        Boundary::from_name(s).ok_or_else(|| format!("--bc: unknown boundary {s}"))
                    })
                    .collect::<Result<_, _>>()?;
                a.bc = match p.len() {
                    1 => [p[0]; 3],
                    3 => [p[0], p[1], p[2]],
                    _ => return Err(format!("--bc {v}: need 1 or 3 boundaries")),
                };
            }
            "--precision" => {
                a.f32 = match val()?.as_str() {
                    "f32" => true,
                    "f64" => false,
                    o => return Err(format!("--precision {o}: f32 or f64")),
                }
            }
            "--tol" => {
                let v = val()?;
                a.tol = v.parse().map_err(|e| format!("--tol {v}: {e}"))?;
            }
            "--solver" => {
                let v = val()?;
                a.methods = if v == "all" {
                    Method::ALL.to_vec()
                } else {
                    v.split(',')
                        .map(|s| {
                            Method::from_name(s).ok_or_else(|| format!("--solver: unknown {s}"))
                        })
                        .collect::<Result<_, _>>()?
                };
            }
            "--formulation" => {
                a.forms = match val()?.as_str() {
                    "both" => vec![Formulation::Interpolate, Formulation::NormalEquations],
                    "B" | "b" => vec![Formulation::Interpolate],
                    "B2" | "b2" => vec![Formulation::NormalEquations],
                    o => return Err(format!("--formulation {o}: both, B or B2")),
                }
            }
            "--max-iter" => a.max_iter = num(val()?)?,
            "--check-every" => a.check_every = num(val()?)?.max(1),
            "--plot" => a.plot = Some(val()?),
            "--csv" => a.csv = Some(val()?),
            "--device" => {
                a.gpu = match val()?.as_str() {
                    "cpu" => false,
                    "gpu" if cfg!(feature = "gpu") => true,
                    "gpu" => return Err("--device gpu needs a build with --features gpu".into()),
                    o => return Err(format!("--device {o}: cpu or gpu")),
                }
            }
            "-h" | "--help" => return Err(USAGE.to_string()),
            o => return Err(format!("unknown option {o}\n{USAGE}")),
        }
    }
    if a.shape.contains(&0) {
        return Err("every extent must be at least 1".into());
    }
    Ok(a)
}

/// One table row.
struct Row {
    method: Method,
    form: Formulation,
    iterations: Option<usize>,
    theory: Option<f64>,
    seconds: f64,
    residual: f64,
    gbs: f64,
    note: String,
    history: Vec<(usize, f64)>,
}

/// Grid sweeps (reads + writes of one grid-sized vector) per iteration, counted from the
/// solver code: an application of `B` reads and writes once (2), `axpby` 3, `dot` 2
/// (1 for `xᵀx`), `copy` 2; `B²` is two applications; the normal-equations data check
/// adds an application, an `axpby` and a dot (6). The direct solve is counted as 3
/// read+write sweeps (6), as in the bar it is measured against.
fn sweeps(m: Method, f: Formulation) -> f64 {
    let a = match f {
        Formulation::Interpolate => 2.0,
        Formulation::NormalEquations => 4.0,
    };
    let check = match f {
        Formulation::Interpolate => 1.0,
        Formulation::NormalEquations => 6.0,
    };
    match m {
        Method::Relaxation => a + 9.0 + check,
        Method::Jacobi => a + 6.0 + check,
        Method::Chebyshev => a + 9.0 + check,
        Method::Cg => a + 2.0 + 6.0 + 1.0 + 3.0 + check,
        Method::Pcg3 | Method::Pcg5 => a + 2.0 + 6.0 + 2.0 + 2.0 + 3.0 + check,
        Method::Direct => 6.0,
    }
}

fn theory_iters(
    m: Method,
    f: Formulation,
    shape: [usize; 3],
    bc: [Boundary; 3],
    tol: f64,
) -> Option<f64> {
    let b = theory::bspline_bounds(shape, bc);
    let bounds = match f {
        Formulation::Interpolate => b,
        Formulation::NormalEquations => (b.0 * b.0, b.1 * b.1),
    };
    let target = match f {
        Formulation::Interpolate => Target::Interpolate,
        Formulation::NormalEquations => Target::NormalEquations,
    };
    match m {
        Method::Relaxation => theory::leapfrog_iterations(bounds, 0.5, 0.15, tol),
        Method::Jacobi => theory::richardson_iterations(bounds, tol),
        Method::Chebyshev | Method::Cg => theory::chebyshev_iterations(bounds, tol),
        Method::Pcg3 => theory::chebyshev_iterations(spai::preconditioned_bounds(3, target), tol),
        Method::Pcg5 => theory::chebyshev_iterations(spai::preconditioned_bounds(5, target), tol),
        Method::Direct => None,
    }
}

fn field<T: Real>(shape: [usize; 3]) -> Array3<T> {
    let mut s = 0x5EED_u64;
    Array3::from_shape_fn((shape[0], shape[1], shape[2]), |_| {
        s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        T::from_f64((z >> 11) as f64 / (1u64 << 52) as f64 - 1.0)
    })
}

fn run_all<T: Real>(a: &Args) -> Vec<Row> {
    let f = field::<T>(a.shape);
    let len: usize = a.shape.iter().product();
    let bytes = (len * T::BYTES) as f64;
    let mut rows = Vec::new();
    for &m in &a.methods {
        let forms: &[Formulation] = if m == Method::Direct {
            &[Formulation::Interpolate]
        } else {
            &a.forms
        };
        for &form in forms {
            let mut o = SolveOptions::new(m, form);
            o.common.tol = a.tol;
            o.common.max_iter = a.max_iter;
            o.common.check_every = a.check_every;
            let theory = theory_iters(m, form, a.shape, a.bc, a.tol);
            eprint!("  {} {} ... ", m.name(), form.name());
            let row = match solve_on(a, &f, &o) {
                Ok((_, rep)) => {
                    let mut seconds = rep.seconds;
                    if m == Method::Direct && !a.gpu {
                        // Median of repeated solves with a prebuilt plan.
                        let plan = DirectPlan::<T>::new(a.shape, a.bc, Par::auto());
                        let src: Vec<T> = f.iter().copied().collect();
                        let mut out = vec![T::ZERO; len];
                        let mut t: Vec<f64> = (0..9)
                            .map(|_| {
                                let s = std::time::Instant::now();
                                plan.solve(&src, &mut out);
                                s.elapsed().as_secs_f64()
                            })
                            .collect();
                        t.sort_by(f64::total_cmp);
                        seconds = t[4];
                    }
                    let it = rep.info.iterations;
                    let per = if m == Method::Direct {
                        1.0
                    } else {
                        it.max(1) as f64
                    };
                    Row {
                        method: m,
                        form,
                        // The direct solve is not iterative: printed as "—".
                        iterations: (m != Method::Direct).then_some(it),
                        theory,
                        seconds,
                        residual: rep.data_residual,
                        gbs: sweeps(m, form) * bytes * per / seconds / 1e9,
                        note: String::new(),
                        history: rep.info.history,
                    }
                }
                Err(e) => {
                    let (iters, res) = match &e {
                        FitError::NoConvergence {
                            iterations,
                            residual,
                            ..
                        } => (*iterations, *residual),
                        FitError::Diverged {
                            iteration,
                            residual,
                            ..
                        } => (*iteration, *residual),
                        _ => (0, f64::NAN),
                    };
                    Row {
                        method: m,
                        form,
                        iterations: None,
                        theory,
                        seconds: f64::NAN,
                        residual: res,
                        gbs: f64::NAN,
                        note: format!("{e} [{iters} it]"),
                        history: Vec::new(),
                    }
                }
            };
            eprintln!("done");
            rows.push(row);
        }
    }
    rows
}

/// The CPU solve, or the GPU one with `--device gpu` (which times the direct
/// method itself, as the median of repeated device solves).
fn solve_on<T: Real>(
    a: &Args,
    f: &Array3<T>,
    o: &SolveOptions,
) -> Result<(Array3<T>, bsfit::grid3::SolveReport), FitError> {
    #[cfg(feature = "gpu")]
    if a.gpu {
        return crate::gpu_bench::report_solve(f, a.bc, o);
    }
    solve(f.view(), a.bc, o)
}

fn table(a: &Args, rows: &[Row]) -> String {
    let mut s = String::new();
    let bcs: Vec<&str> = a.bc.iter().map(|b| b.name()).collect();
    let _ = writeln!(
        s,
        "grid3: {}x{}x{} {} bc={} tol={:e} threads={}",
        a.shape[0],
        a.shape[1],
        a.shape[2],
        if a.f32 { "f32" } else { "f64" },
        bcs.join(","),
        a.tol,
        rayon::current_num_threads()
    );
    let _ = writeln!(
        s,
        "| solver | system | iterations | theory | time (ms) | ms/iter | ‖F−Bc‖/‖F‖ | GB/s | note |"
    );
    let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---:|---:|---|");
    for r in rows {
        let it = r.iterations.map_or("—".into(), |i| i.to_string());
        let th = r.theory.map_or("—".into(), |t| format!("{t:.0}"));
        let per = match r.iterations {
            Some(i) if i > 0 => format!("{:.3}", r.seconds * 1e3 / i as f64),
            _ => "—".into(),
        };
        let sys = if r.method == Method::Direct {
            "B (exact)"
        } else {
            r.form.name()
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {:.2} | {} | {:.2e} | {:.1} | {} |",
            r.method.name(),
            sys,
            it,
            th,
            r.seconds * 1e3,
            per,
            r.residual,
            r.gbs,
            r.note
        );
    }
    s
}

fn write_csv(path: &str, rows: &[Row]) -> Result<(), String> {
    let mut s = String::from("solver,system,iteration,relative_residual\n");
    for r in rows {
        for (i, v) in &r.history {
            let _ = writeln!(s, "{},{},{},{:e}", r.method.name(), r.form.name(), i, v);
        }
    }
    std::fs::write(path, s).map_err(|e| format!("{path}: {e}"))
}

fn write_plot(path: &str, title: &str, rows: &[Row], tol: f64) -> Result<(), String> {
    use plotters::prelude::*;
    let series: Vec<&Row> = rows.iter().filter(|r| r.history.len() > 1).collect();
    let xmax = series
        .iter()
        .flat_map(|r| r.history.last().map(|h| h.0))
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let ymin = series
        .iter()
        .flat_map(|r| r.history.iter().map(|h| h.1))
        .filter(|v| *v > 0.0)
        .fold(tol, f64::min)
        * 0.5;
    let err = |e: &dyn std::fmt::Display| format!("plot {path}: {e}");
    let root = SVGBackend::new(path, (900, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d((1f64..xmax * 1.05).log_scale(), (ymin..2.0f64).log_scale())
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_desc("iteration (log scale)")
        .y_desc("‖F − Bc‖ / ‖F‖ (B² rows: data residual)")
        .y_label_formatter(&|v| format!("{v:.0e}"))
        .draw()
        .map_err(|e| err(&e))?;
    for (k, r) in series.iter().enumerate() {
        let color = Palette99::pick(k).to_rgba();
        let style = if r.form == Formulation::NormalEquations {
            ShapeStyle::from(color).stroke_width(1)
        } else {
            ShapeStyle::from(color).stroke_width(3)
        };
        let pts: Vec<(f64, f64)> = r
            .history
            .iter()
            .filter(|h| h.1 > 0.0)
            .map(|h| ((h.0 as f64).max(1.0), h.1))
            .collect();
        chart
            .draw_series(LineSeries::new(pts, style))
            .map_err(|e| err(&e))?
            .label(format!("{} {}", r.method.name(), r.form.name()))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
    }
    chart
        .draw_series(LineSeries::new(
            vec![(1.0, tol), (xmax * 1.05, tol)],
            BLACK.stroke_width(1),
        ))
        .map_err(|e| err(&e))?
        .label("tolerance")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK));
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::LowerLeft)
        .draw()
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))
}

/// Runs the report with the arguments after `grid3`.
pub fn run(args: &[String]) -> Result<(), String> {
    let a = parse(args)?;
    // The GPU path is f32.
    let a = Args {
        f32: a.f32 || a.gpu,
        ..a
    };
    eprintln!("grid3 report: solving {:?} ...", a.shape);
    #[cfg(feature = "gpu")]
    if a.gpu {
        println!("device: {}", crate::gpu_bench::device_line()?);
    }
    let rows = if a.f32 {
        run_all::<f32>(&a)
    } else {
        run_all::<f64>(&a)
    };
    let t = table(&a, &rows);
    println!("{t}");
    if let Some(p) = &a.csv {
        write_csv(p, &rows)?;
        println!("residual histories: {p}");
    }
    if let Some(p) = &a.plot {
        let title = format!(
            "grid3 {}x{}x{} {} {}",
            a.shape[0],
            a.shape[1],
            a.shape[2],
            if a.f32 { "f32" } else { "f64" },
            a.bc.iter().map(|b| b.name()).collect::<Vec<_>>().join(",")
        );
        write_plot(p, &title, &rows, a.tol)?;
        println!("convergence plot: {p}");
    }
    Ok(())
}
