//! `bsfit grid3`: solves `B c = F` for a random field with every method and prints the
//! measured iterations beside the theory, time, time per iteration, final residual and
//! effective bandwidth; writes residual histories (CSV) and a convergence plot (SVG).

use bsfit::grid3::Boundary;
use bsfit::grid3::direct::DirectPlan;
use bsfit::grid3::spai::{self, Target};
use bsfit::grid3::{Formulation, Method, SolveOptions, solve, theory};
use bsfit::{FitError, Par, Real};
use bsfit_testkit::workloads;
use clap::{Args, ValueEnum};
use ndarray::Array3;
use std::fmt::Write as _;

/// Options of the report.
#[derive(Args, Debug, Clone)]
pub struct Grid3Args {
    /// Edge length of a cubic grid
    #[arg(long, value_name = "N", default_value_t = 128, value_parser = clap::value_parser!(u64).range(1..), conflicts_with = "shape")]
    n: u64,
    /// Grid extents, e.g. 200x200x100
    #[arg(long, value_name = "AxBxC", value_parser = parse_shape)]
    shape: Option<[usize; 3]>,
    /// Boundary per axis (periodic, zero, mirror): one for all axes, or three
    #[arg(long, value_name = "BC[,BC,BC]", default_value = "periodic", value_parser = parse_bc)]
    bc: [Boundary; 3],
    /// Floating-point precision of the solve
    #[arg(long, value_enum, default_value_t = Precision::F64)]
    precision: Precision,
    /// Tolerance on the relative residual ‖F − Bc‖/‖F‖
    #[arg(long, default_value_t = 1e-6)]
    tol: f64,
    /// Solvers: all, or a comma-separated list of relax, jacobi, chebyshev, cg, pcg3, pcg5, direct
    #[arg(long, value_name = "LIST", default_value = "all", value_parser = parse_solvers)]
    solver: Solvers,
    /// System solved by the iterative methods: B c = F, the normal equations B² c = B F, or both
    #[arg(long, value_enum, default_value_t = Systems::Both)]
    formulation: Systems,
    /// Iteration limit of the iterative methods
    #[arg(long, value_name = "N", default_value_t = 1000)]
    max_iter: usize,
    /// Iterations between convergence checks (at least 1)
    #[arg(long, value_name = "N", default_value_t = 1)]
    check_every: usize,
    /// Write a convergence plot (SVG)
    #[arg(long, value_name = "PATH")]
    plot: Option<String>,
    /// Write the residual histories (CSV)
    #[arg(long, value_name = "PATH")]
    csv: Option<String>,
    /// Where to solve; the GPU path is f32 and needs a build with `--features gpu`
    #[arg(long, value_enum, default_value_t = Device::Cpu)]
    device: Device,
}

/// `--precision`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum Precision {
    F32,
    F64,
}

/// `--formulation`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum Systems {
    /// Both systems.
    Both,
    /// B c = F.
    #[value(name = "B", alias = "b")]
    B,
    /// B² c = B F.
    #[value(name = "B2", alias = "b2")]
    B2,
}

/// `--device`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum Device {
    Cpu,
    Gpu,
}

fn parse_shape(s: &str) -> Result<[usize; 3], String> {
    crate::args::sizes_n(s, &['x', 'X', ','], 1)
}

fn parse_bc(s: &str) -> Result<[Boundary; 3], String> {
    let p: Vec<Boundary> = s
        .split(',')
        .map(|b| Boundary::from_name(b).ok_or_else(|| format!("unknown boundary {b}")))
        .collect::<Result<_, _>>()?;
    match p[..] {
        [b] => Ok([b; 3]),
        [a, b, c] => Ok([a, b, c]),
        _ => Err("need 1 or 3 boundaries".into()),
    }
}

/// The methods of `--solver`.
#[derive(Debug, Clone)]
struct Solvers(Vec<Method>);

/// One value of `--solver`: `all` or a comma-separated list of methods.
fn parse_solvers(s: &str) -> Result<Solvers, String> {
    if s == "all" {
        return Ok(Solvers(Method::ALL.to_vec()));
    }
    s.split(',')
        .map(|m| Method::from_name(m).ok_or_else(|| format!("unknown solver {m}")))
        .collect::<Result<_, _>>()
        .map(Solvers)
}

/// The report's settings, resolved from [`Grid3Args`].
struct Settings {
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

impl Settings {
    fn new(a: &Grid3Args) -> Result<Settings, String> {
        let gpu = a.device == Device::Gpu;
        if gpu && !cfg!(feature = "gpu") {
            return Err("--device gpu needs a build with --features gpu".into());
        }
        Ok(Settings {
            shape: a.shape.unwrap_or([a.n as usize; 3]),
            bc: a.bc,
            // The GPU path is f32.
            f32: a.precision == Precision::F32 || gpu,
            tol: a.tol,
            methods: a.solver.0.clone(),
            forms: match a.formulation {
                Systems::Both => vec![Formulation::Interpolate, Formulation::NormalEquations],
                Systems::B => vec![Formulation::Interpolate],
                Systems::B2 => vec![Formulation::NormalEquations],
            },
            max_iter: a.max_iter,
            check_every: a.check_every.max(1),
            plot: a.plot.clone(),
            csv: a.csv.clone(),
            gpu,
        })
    }
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

/// The right-hand side: the 3D benches' random field ([`workloads::grid3_field`]).
fn field<T: Real>(shape: [usize; 3]) -> Array3<T> {
    let len = shape.iter().product();
    let v = workloads::grid3_field(len, workloads::GRID3_SEED);
    Array3::from_shape_vec((shape[0], shape[1], shape[2]), v)
        .expect("the field has the grid's length")
        .mapv(T::from_f64)
}

fn run_all<T: Real>(a: &Settings) -> Vec<Row> {
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
    a: &Settings,
    f: &Array3<T>,
    o: &SolveOptions,
) -> Result<(Array3<T>, bsfit::grid3::SolveReport), FitError> {
    #[cfg(feature = "gpu")]
    if a.gpu {
        return crate::gpu_bench::report_solve(f, a.bc, o);
    }
    solve(f.view(), a.bc, o)
}

fn table(a: &Settings, rows: &[Row]) -> String {
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

/// Runs the report.
pub fn run(args: &Grid3Args) -> Result<(), String> {
    let a = Settings::new(args)?;
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
