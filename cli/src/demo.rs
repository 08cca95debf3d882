//! Black–Scholes price-table demo (the default subcommand).
//!
//! Tabulates the analytic European call price `C(m, τ, σ, r)` (strike 1, see
//! [`bsfit_testkit::analytic::black_scholes`]) on the non-uniform 4D grid of
//! [`bsfit_testkit::workloads::price_table`], fits the interpolating cubic
//! spline with [`TensorSpline::fit`], and compares the spline's value and
//! derivatives with the analytic price and greeks at random points inside the
//! domain. Then the bucketed greeks of one option (see [`crate::buckets`]):
//! the sensitivity of its interpolated price, delta and vega to every node
//! of the table, checked against finite differences of refits.
//!
//! ```text
//! bsfit [demo] [--grid 50x30x20x10] [--threads N] [--no-pin] [--points 100000] [--seed 1] [--fits 21]
//! ```

use bsfit::{Fitter, Isa, TensorSpline};
use bsfit_testkit::analytic::black_scholes as bs;
use bsfit_testkit::workloads::price_table::{self, M_RANGE, R_RANGE, SIGMA_RANGE, TAU_RANGE};
use clap::Args;
use ndarray::Array4;
use std::time::Instant;

/// Options of the demo.
#[derive(Args, Debug, Clone, PartialEq)]
pub struct DemoArgs {
    /// Grid size over (moneyness, maturity, volatility, rate), each at least 4
    #[arg(long, value_name = "AxBxCxD", default_value = "50x30x20x10", value_parser = parse_grid)]
    pub grid: [usize; 4],
    /// Rayon threads for the fit and the batch evaluation [default: all cores]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub threads: Option<u64>,
    /// Do not pin the worker threads to cores (pinned by default)
    #[arg(long)]
    pub no_pin: bool,
    /// Random evaluation points inside the domain
    #[arg(long, value_name = "N", default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub points: u64,
    /// Seed of the point generator (SplitMix64)
    #[arg(long, value_name = "S", default_value_t = 1)]
    pub seed: u64,
    /// Timed fits; the median is reported (at least 20)
    #[arg(long, value_name = "N", default_value_t = 21, value_parser = clap::value_parser!(u64).range(20..))]
    pub fits: u64,
}

fn parse_grid(s: &str) -> Result<[usize; 4], String> {
    crate::args::sizes_n(s, &['x', 'X', '×'], 4)
        .map_err(|e| format!("want four sizes of at least 4 like 50x30x20x10: {e}"))
}

/// Error statistics of one quantity.
struct ErrorStats {
    name: &'static str,
    max_abs: f64,
    rms: f64,
    max_ref: f64,
    worst_at: [f64; 4],
}

fn error_stats(
    name: &'static str,
    points: &[[f64; 4]],
    spline: &[f64],
    exact: impl Fn(f64, f64, f64, f64) -> f64,
) -> ErrorStats {
    let mut s = ErrorStats {
        name,
        max_abs: 0.0,
        rms: 0.0,
        max_ref: 0.0,
        worst_at: points[0],
    };
    let mut sum_sq = 0.0;
    for (p, &v) in points.iter().zip(spline) {
        let e = exact(p[0], p[1], p[2], p[3]);
        let err = (v - e).abs();
        // A NaN error is recorded as the maximum, so it shows in the table.
        if !s.max_abs.is_nan() && (err.is_nan() || err > s.max_abs) {
            s.max_abs = err;
            s.worst_at = *p;
        }
        sum_sq += err * err;
        s.max_ref = s.max_ref.max(e.abs());
    }
    s.rms = (sum_sq / points.len() as f64).sqrt();
    s
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

fn fmt_count(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn fmt_time(seconds: f64) -> String {
    if seconds < 1e-3 {
        format!("{:.1} µs", seconds * 1e6)
    } else if seconds < 1.0 {
        format!("{:.2} ms", seconds * 1e3)
    } else {
        format!("{:.3} s", seconds)
    }
}

/// Runs the demo.
///
/// Errors: a failed fit, or any NaN among the results.
pub fn run(opts: &DemoArgs) -> Result<(), String> {
    // The demo runs in its own pool; its workers are pinned to cores
    // (core_affinity) unless --no-pin, so the timings do not depend on where
    // the scheduler happens to move them.
    let n = opts.threads.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        |t| t as usize,
    );
    let pool = bsfit::par::thread_pool(n, !opts.no_pin).map_err(|e| e.to_string())?;
    pool.install(|| run_with(opts))
}

fn run_with(o: &DemoArgs) -> Result<(), String> {
    let [nm, nt, ns, nr] = o.grid;
    let [m, tau, sigma, r] = price_table::axes(o.grid);
    let table = Array4::from_shape_fn((nm, nt, ns, nr), |(i, j, k, l)| {
        bs::call_price(m[i], tau[j], sigma[k], r[l])
    });
    let axes: [&[f64]; 4] = [&m, &tau, &sigma, &r];

    // Fit: warm up once, then the median of `fits` timed fits.
    let mut spline = TensorSpline::<4>::fit(axes, table.view()).map_err(|e| e.to_string())?;
    let mut fit_times = Vec::with_capacity(o.fits as usize);
    for _ in 0..o.fits {
        let t0 = Instant::now();
        spline = TensorSpline::<4>::fit(axes, table.view()).map_err(|e| e.to_string())?;
        fit_times.push(t0.elapsed().as_secs_f64());
    }
    let fit_time = median(fit_times);

    // Refit on the fixed grid, as a pricing engine does when the prices move:
    // the plan (factorisations) and the workspace are reused, nothing is allocated.
    let fitter = Fitter::new(axes).map_err(|e| e.to_string())?;
    let mut ws = fitter.workspace();
    let flat = table.as_slice().ok_or("the table is in standard layout")?;
    let mut coefs = vec![0.0; flat.len()];
    fitter
        .fit_into_with(flat, &mut coefs, &mut ws)
        .map_err(|e| e.to_string())?;
    let mut refit_times = Vec::with_capacity(o.fits as usize);
    for _ in 0..o.fits {
        let t0 = Instant::now();
        fitter
            .fit_into_with(flat, &mut coefs, &mut ws)
            .map_err(|e| e.to_string())?;
        refit_times.push(t0.elapsed().as_secs_f64());
    }
    let refit_time = median(refit_times);
    if coefs.as_slice() != spline.coefficients_slice() {
        return Err("refit coefficients differ from the fit's".into());
    }

    // Random off-grid points inside the domain.
    let n_points = o.points as usize;
    let points = price_table::points(n_points, o.seed);

    // Batch evaluation throughput: median of 5 runs.
    let mut values = spline.eval_many(&points);
    let mut eval_times = Vec::new();
    for _ in 0..5 {
        let t0 = Instant::now();
        values = spline.eval_many(&points);
        eval_times.push(t0.elapsed().as_secs_f64());
    }
    let eval_time = median(eval_times);

    let deriv = |orders: [usize; 4]| spline.eval_deriv_many(&points, orders);
    let rows = [
        error_stats("price  C", &points, &values, bs::call_price),
        error_stats(
            "delta  ∂C/∂m",
            &points,
            &deriv([1, 0, 0, 0]),
            bs::call_delta,
        ),
        error_stats(
            "gamma  ∂²C/∂m²",
            &points,
            &deriv([2, 0, 0, 0]),
            bs::call_gamma,
        ),
        error_stats("vega   ∂C/∂σ", &points, &deriv([0, 0, 1, 0]), bs::call_vega),
        error_stats(
            "       ∂C/∂τ",
            &points,
            &deriv([0, 1, 0, 0]),
            bs::call_theta_tau,
        ),
        error_stats("rho    ∂C/∂r", &points, &deriv([0, 0, 0, 1]), bs::call_rho),
    ];

    let n_values = nm * nt * ns * nr;
    println!(
        "bsfit: Black–Scholes European call table (K = 1, no dividends), cubic not-a-knot spline"
    );
    println!();
    println!(
        "  axes        m ∈ [{}, {}] (finest at the money), τ ∈ [{}, {}] (uniform in √τ),",
        M_RANGE.0, M_RANGE.1, TAU_RANGE.0, TAU_RANGE.1
    );
    println!(
        "              σ ∈ [{}, {}], r ∈ [{}, {}] (uniform)",
        SIGMA_RANGE.0, SIGMA_RANGE.1, R_RANGE.0, R_RANGE.1
    );
    println!(
        "  grid        {nm} × {nt} × {ns} × {nr} = {} values",
        fmt_count(n_values)
    );
    println!(
        "  fit         {} (TensorSpline::fit: plan, allocation and solve; median of {} fits)",
        fmt_time(fit_time),
        o.fits,
    );
    println!(
        "  refit       {} (Fitter::fit_into_with, reused plan and workspace; median of {}; {:.0} M values/s)",
        fmt_time(refit_time),
        o.fits,
        n_values as f64 / refit_time / 1e6
    );
    println!(
        "  ISA         {}    threads: {}{}",
        Isa::detect(),
        rayon::current_num_threads(),
        if o.no_pin { "" } else { " (pinned)" }
    );
    println!(
        "  eval_many   {} points in {} (median of 5; {:.2} M values/s)",
        fmt_count(n_points),
        fmt_time(eval_time),
        n_points as f64 / eval_time / 1e6
    );
    println!(
        "  check       {} random points inside the domain (SplitMix64, seed {}) vs the analytic formulas",
        fmt_count(n_points),
        o.seed
    );
    println!();
    println!(
        "  {:<16} {:>11} {:>11} {:>11}   worst at (m, τ, σ, r)",
        "quantity", "max |err|", "RMS err", "max |exact|"
    );
    println!("  {}", "─".repeat(16 + 3 * 12 + 3 + 32));
    for s in &rows {
        let w = s.worst_at;
        println!(
            "  {:<16} {:>11.3e} {:>11.3e} {:>11.3e}   ({:.4}, {:.4}, {:.4}, {:.4})",
            pad(s.name, 16),
            s.max_abs,
            s.rms,
            s.max_ref,
            w[0],
            w[1],
            w[2],
            w[3]
        );
    }

    // Bucketed greeks: the option's price, delta and vega per table node.
    let buckets = crate::buckets::bucketed(axes, &table, crate::buckets::OPTION)?;
    crate::buckets::print(&buckets, crate::buckets::OPTION, axes);
    if let Some(q) = buckets
        .quantities
        .iter()
        .find(|q| !(q.value.is_finite() && q.max_rel_diff.is_finite()))
    {
        return Err(format!("non-finite bucketed {}", q.name.trim()));
    }

    let bad: Vec<&str> = rows
        .iter()
        .filter(|s| !(s.max_abs.is_finite() && s.rms.is_finite() && s.max_ref.is_finite()))
        .map(|s| s.name.trim())
        .collect();
    if !bad.is_empty() || !fit_time.is_finite() || !refit_time.is_finite() {
        return Err(format!("non-finite results for: {}", bad.join(", ")));
    }
    Ok(())
}

/// Left-aligns `s` to `width` characters (not bytes: the names hold `∂`, `²`).
pub(crate) fn pad(s: &str, width: usize) -> String {
    let n = s.chars().count();
    format!("{s}{}", " ".repeat(width.saturating_sub(n)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Demo {
        #[command(flatten)]
        args: DemoArgs,
    }

    fn parse(line: &str) -> Result<DemoArgs, clap::Error> {
        Demo::try_parse_from(std::iter::once("demo").chain(line.split_whitespace())).map(|d| d.args)
    }

    #[test]
    fn parses_flags() {
        let o = parse("--grid 100x50x30x20 --threads 3 --points=500 --seed 7 --no-pin").unwrap();
        assert_eq!(o.grid, [100, 50, 30, 20]);
        assert_eq!(o.threads, Some(3));
        assert_eq!(o.points, 500);
        assert_eq!(o.seed, 7);
        assert!(o.no_pin);
        let d = parse("").unwrap();
        assert_eq!(
            (d.grid, d.threads, d.no_pin, d.points, d.seed, d.fits),
            ([50, 30, 20, 10], None, false, 100_000, 1, 21)
        );
        assert_eq!(parse("--grid 8X8×8x8").unwrap().grid, [8; 4]);
    }

    #[test]
    fn rejects_bad_flags() {
        for bad in [
            "--grid 10x10x10",
            "--grid 10x3x10x10",
            "--grid axbxcxd",
            "--threads 0",
            "--points",
            "--points -5",
            "--points 0",
            "--fits 3",
            "--frobnicate",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
