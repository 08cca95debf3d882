//! Black–Scholes price-table demo (the default subcommand).
//!
//! Tabulates the analytic European call price `C(m, τ, σ, r)` (strike 1, see
//! [`bsfit::analytic::black_scholes`]) on a non-uniform 4D grid, fits the
//! interpolating cubic spline with [`TensorSpline::fit`], and compares the
//! spline's value and derivatives with the analytic price and greeks at random
//! points inside the domain.
//!
//! ```text
//! bsfit [demo] [--grid 50x30x20x10] [--threads N] [--points 100000] [--seed 1] [--fits 21]
//! ```

use bsfit::analytic::black_scholes as bs;
use bsfit::{Fitter, Isa, TensorSpline};
use ndarray::Array4;
use std::time::Instant;

/// Domain of the table: moneyness, maturity (years), volatility, rate.
const M_RANGE: (f64, f64) = (0.7, 1.3);
const TAU_RANGE: (f64, f64) = (0.02, 2.0);
const SIGMA_RANGE: (f64, f64) = (0.1, 0.6);
const R_RANGE: (f64, f64) = (0.0, 0.08);

/// Grading of the moneyness axis: the spacing at the money is `cosh(A)` ≈ 3.8
/// times finer than at the ends.
const M_GRADING: f64 = 2.0;

const USAGE: &str =
    "usage: bsfit [demo] [--grid AxBxCxD] [--threads N] [--points N] [--seed S] [--fits N]
  --grid     grid size over (moneyness, maturity, volatility, rate)   [50x30x20x10]
  --threads  rayon threads for the fit and the batch evaluation       [all cores]
  --no-pin   do not pin the worker threads to cores                   [pinned]
  --points   random evaluation points inside the domain               [100000]
  --seed     seed of the point generator (SplitMix64)                 [1]
  --fits     timed fits; the median is reported (at least 20)         [21]";

/// Demo settings parsed from the command line.
#[derive(Debug, Clone, PartialEq)]
struct Options {
    grid: [usize; 4],
    threads: Option<usize>,
    pin: bool,
    points: usize,
    seed: u64,
    fits: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            grid: [50, 30, 20, 10],
            threads: None,
            pin: true,
            points: 100_000,
            seed: 1,
            fits: 21,
        }
    }
}

fn parse_grid(s: &str) -> Result<[usize; 4], String> {
    let parts: Vec<&str> = s.split(['x', 'X', '×']).collect();
    if parts.len() != 4 {
        return Err(format!(
            "--grid wants four sizes like 50x30x20x10, got `{s}`"
        ));
    }
    let mut g = [0usize; 4];
    for (k, p) in parts.iter().enumerate() {
        g[k] = p
            .trim()
            .parse()
            .map_err(|_| format!("--grid: `{p}` is not a size"))?;
        if g[k] < 4 {
            return Err(format!(
                "--grid: axis {k} has {} points, need at least 4",
                g[k]
            ));
        }
    }
    Ok(g)
}

fn parse_options(args: &[String]) -> Result<Option<Options>, String> {
    let mut o = Options::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) => (f, Some(v.to_string())),
            None => (a.as_str(), None),
        };
        if matches!(flag, "-h" | "--help") {
            return Ok(None);
        }
        let mut value = || -> Result<String, String> {
            match &inline {
                Some(v) => Ok(v.clone()),
                None => it.next().cloned().ok_or(format!("{flag} needs a value")),
            }
        };
        let num = |v: String| -> Result<u64, String> {
            v.trim()
                .parse::<u64>()
                .map_err(|_| format!("{flag}: `{v}` is not a non-negative integer"))
        };
        match flag {
            "--grid" => o.grid = parse_grid(&value()?)?,
            "--no-pin" => o.pin = false,
            "--threads" => {
                let n = num(value()?)? as usize;
                if n == 0 {
                    return Err("--threads must be at least 1".into());
                }
                o.threads = Some(n);
            }
            "--points" => {
                o.points = num(value()?)? as usize;
                if o.points == 0 {
                    return Err("--points must be at least 1".into());
                }
            }
            "--seed" => o.seed = num(value()?)?,
            "--fits" => {
                o.fits = num(value()?)? as usize;
                if o.fits < 20 {
                    return Err("--fits must be at least 20".into());
                }
            }
            _ => return Err(format!("unknown argument `{a}`\n{USAGE}")),
        }
    }
    Ok(Some(o))
}

/// SplitMix64 (Steele, Lea & Flood 2014): small, seeded and reproducible.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[lo, hi)`.
    fn range(&mut self, (lo, hi): (f64, f64)) -> f64 {
        let u = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        lo + (hi - lo) * u
    }
}

/// `n` moneyness sites on `M_RANGE`, `m = 1 + 0.3 sinh(A u) / sinh(A)` for
/// uniform `u ∈ [−1, 1]`: finest at the money.
fn moneyness_axis(n: usize) -> Vec<f64> {
    let (lo, hi) = M_RANGE;
    let (mid, half) = (0.5 * (lo + hi), 0.5 * (hi - lo));
    (0..n)
        .map(|i| {
            let u = -1.0 + 2.0 * i as f64 / (n - 1) as f64;
            mid + half * (M_GRADING * u).sinh() / M_GRADING.sinh()
        })
        .collect()
}

/// `n` maturities on `TAU_RANGE`, uniform in `√τ`: the spacing grows linearly,
/// so short maturities (where the price varies fastest) are sampled densely.
fn maturity_axis(n: usize) -> Vec<f64> {
    let (a, b) = (TAU_RANGE.0.sqrt(), TAU_RANGE.1.sqrt());
    (0..n)
        .map(|i| {
            let s = a + (b - a) * i as f64 / (n - 1) as f64;
            s * s
        })
        .collect()
}

fn uniform_axis((lo, hi): (f64, f64), n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| lo + (hi - lo) * i as f64 / (n - 1) as f64)
        .collect()
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

/// Runs the demo with the command-line arguments that follow the subcommand.
///
/// Errors: bad arguments, a failed fit, or any NaN among the results.
pub fn run(args: &[String]) -> Result<(), String> {
    let Some(opts) = parse_options(args)? else {
        println!("{USAGE}");
        return Ok(());
    };
    // The demo runs in its own pool; its workers are pinned to cores
    // (core_affinity) unless --no-pin, so the timings do not depend on where
    // the scheduler happens to move them.
    let n = opts
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let pool = bsfit::par::thread_pool(n, opts.pin).map_err(|e| e.to_string())?;
    pool.install(|| run_with(&opts))
}

fn run_with(o: &Options) -> Result<(), String> {
    let [nm, nt, ns, nr] = o.grid;
    let m = moneyness_axis(nm);
    let tau = maturity_axis(nt);
    let sigma = uniform_axis(SIGMA_RANGE, ns);
    let r = uniform_axis(R_RANGE, nr);
    let table = Array4::from_shape_fn((nm, nt, ns, nr), |(i, j, k, l)| {
        bs::call_price(m[i], tau[j], sigma[k], r[l])
    });
    let axes: [&[f64]; 4] = [&m, &tau, &sigma, &r];

    // Fit: warm up once, then the median of `fits` timed fits.
    let mut spline = TensorSpline::<4>::fit(axes, table.view()).map_err(|e| e.to_string())?;
    let mut fit_times = Vec::with_capacity(o.fits);
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
    let mut refit_times = Vec::with_capacity(o.fits);
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
    let mut rng = SplitMix64(o.seed);
    let points: Vec<[f64; 4]> = (0..o.points)
        .map(|_| {
            [
                rng.range(M_RANGE),
                rng.range(TAU_RANGE),
                rng.range(SIGMA_RANGE),
                rng.range(R_RANGE),
            ]
        })
        .collect();

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
        if o.pin { " (pinned)" } else { "" }
    );
    println!(
        "  eval_many   {} points in {} (median of 5; {:.2} M values/s)",
        fmt_count(o.points),
        fmt_time(eval_time),
        o.points as f64 / eval_time / 1e6
    );
    println!(
        "  check       {} random points inside the domain (SplitMix64, seed {}) vs the analytic formulas",
        fmt_count(o.points),
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
fn pad(s: &str, width: usize) -> String {
    let n = s.chars().count();
    format!("{s}{}", " ".repeat(width.saturating_sub(n)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn parses_flags() {
        let o = parse_options(&args(
            "--grid 100x50x30x20 --threads 3 --points=500 --seed 7",
        ))
        .unwrap()
        .unwrap();
        assert_eq!(o.grid, [100, 50, 30, 20]);
        assert_eq!(o.threads, Some(3));
        assert_eq!(o.points, 500);
        assert_eq!(o.seed, 7);
        assert_eq!(parse_options(&args("--help")).unwrap(), None);
        assert_eq!(parse_options(&[]).unwrap(), Some(Options::default()));
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
            "--fits 3",
            "--frobnicate",
        ] {
            assert!(parse_options(&args(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn axes_cover_the_domain_and_increase() {
        for (axis, (lo, hi)) in [
            (moneyness_axis(50), M_RANGE),
            (maturity_axis(30), TAU_RANGE),
            (uniform_axis(SIGMA_RANGE, 20), SIGMA_RANGE),
        ] {
            assert!((axis[0] - lo).abs() < 1e-15 && (axis[axis.len() - 1] - hi).abs() < 1e-15);
            assert!(axis.windows(2).all(|w| w[0] < w[1]));
        }
        // Finer at the money than at the ends, finer at short maturities.
        let m = moneyness_axis(50);
        assert!(m[25] - m[24] < 0.5 * (m[1] - m[0]));
        let t = maturity_axis(30);
        assert!(t[1] - t[0] < 0.2 * (t[29] - t[28]));
    }
}
