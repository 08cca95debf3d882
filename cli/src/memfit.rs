//! `bsfit memfit`: fits one large grid and reports the process's peak resident
//! memory against the size of the input values, for checking the fitter's
//! memory use (run it under `/usr/bin/time -v` for an external figure).
//!
//! ```text
//! bsfit memfit [--grid 200x100x50x30] [--api view|into]
//! ```
//!
//! * `--grid`: sizes of 1 to 6 axes (default `200x100x50x30`, 30M points, 240 MB).
//! * `--api view`: `Fitter::fit` on an ndarray view (the default);
//!   `--api into`: `Fitter::fit_into` from a flat buffer into a caller's buffer.

use bsfit::{Fitter, TensorSpline};
use clap::{Args, ValueEnum};
use ndarray::{ArrayView, Dim, Dimension};
use std::time::Instant;

/// Options of `bsfit memfit`.
#[derive(Args, Debug, Clone)]
pub struct MemfitArgs {
    /// Sizes of 1 to 6 axes (the default is 30M points, 240 MB)
    #[arg(long, value_name = "AxBx..", default_value = "200x100x50x30", value_parser = parse_grid)]
    grid: Grid,
    /// `view`: `Fitter::fit` on an ndarray view; `into`: `Fitter::fit_into` from a flat buffer into a caller's buffer
    #[arg(long, value_enum, default_value_t = Api::View)]
    api: Api,
}

/// The sizes of `--grid`.
#[derive(Debug, Clone)]
struct Grid(Vec<usize>);

fn parse_grid(s: &str) -> Result<Grid, String> {
    let g = crate::args::sizes(s, &['x'], 1)?;
    if !(1..=6).contains(&g.len()) {
        return Err(format!("{} axes; 1 to 6 are supported", g.len()));
    }
    Ok(Grid(g))
}

/// The fitting call measured (`--api`).
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum Api {
    /// `Fitter::fit` on an ndarray view.
    View,
    /// `Fitter::fit_into` from a flat buffer into a caller's buffer.
    Into,
}

/// Runs the fit and prints the memory report.
pub fn run(a: &MemfitArgs) -> Result<(), String> {
    let (grid, api) = (&a.grid.0[..], a.api);
    match grid.len() {
        1 => fit_grid::<1>(grid, api),
        2 => fit_grid::<2>(grid, api),
        3 => fit_grid::<3>(grid, api),
        4 => fit_grid::<4>(grid, api),
        5 => fit_grid::<5>(grid, api),
        6 => fit_grid::<6>(grid, api),
        d => Err(format!("--grid: {d} axes; 1 to 6 are supported")),
    }
}

/// Peak resident set size of this process in bytes (Linux `VmHWM`), if known.
pub(crate) fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn fit_grid<const D: usize>(grid: &[usize], api: Api) -> Result<(), String>
where
    Dim<[usize; D]>: Dimension,
{
    let shape: [usize; D] = std::array::from_fn(|k| grid[k]);
    let axes: Vec<Vec<f64>> = shape
        .iter()
        .map(|&n| (0..n).map(|i| i as f64 + 0.25 * (i as f64).sin()).collect())
        .collect();
    let ax: [&[f64]; D] = std::array::from_fn(|k| axes[k].as_slice());
    let total: usize = shape.iter().product();
    let input_bytes = (total * std::mem::size_of::<f64>()) as u64;
    // Smooth values, generated straight into the flat row-major buffer.
    let value_at = |flat: usize| {
        let mut rem = flat;
        let mut v = 0.0;
        for k in (0..D).rev() {
            let x = axes[k][rem % shape[k]];
            rem /= shape[k];
            v += (0.1 * (k + 1) as f64 * x).sin();
        }
        v
    };
    let values: Vec<f64> = (0..total).map(value_at).collect();
    let rss_values = peak_rss();
    let t0 = Instant::now();
    let fitter = Fitter::<D>::new(ax).map_err(|e| e.to_string())?;
    let spline = if api == Api::Into {
        let mut out = vec![0.0; total];
        fitter
            .fit_into(&values, &mut out)
            .map_err(|e| e.to_string())?;
        let knots: [Vec<f64>; D] = std::array::from_fn(|k| fitter.knots(k).to_vec());
        TensorSpline::from_parts(knots, out).map_err(|e| e.to_string())?
    } else {
        let mut dim = Dim::<[usize; D]>::default();
        dim.slice_mut().copy_from_slice(&shape);
        let view = ArrayView::from_shape(dim, &values).map_err(|e| e.to_string())?;
        fitter.fit(view).map_err(|e| e.to_string())?
    };
    let secs = t0.elapsed().as_secs_f64();
    // Spot check of the interpolation at grid points spread over the buffer.
    let mut worst = 0.0f64;
    for j in 0..1000usize {
        let flat = (j.wrapping_mul(2_654_435_761) ^ j) % total;
        let mut rem = flat;
        let mut x = [0.0; D];
        for k in (0..D).rev() {
            x[k] = axes[k][rem % shape[k]];
            rem /= shape[k];
        }
        worst = worst.max((spline.eval(x) - values[flat]).abs());
    }
    let peak = peak_rss();
    let mb = |b: u64| b as f64 / 1e6;
    println!(
        "grid {grid:?}: {total} points, input {:.1} MB, api {}",
        mb(input_bytes),
        if api == Api::Into { "into" } else { "view" }
    );
    println!("fit: {secs:.3} s, max grid residual (1000 points) {worst:.2e}");
    if let (Some(p), Some(v)) = (peak, rss_values) {
        println!(
            "peak RSS {:.1} MB = {:.2} x input (after generating the values: {:.1} MB)",
            mb(p),
            p as f64 / input_bytes as f64,
            mb(v)
        );
    }
    if worst.is_nan() || worst > 1e-9 {
        return Err(format!("grid residual {worst:e} is too large"));
    }
    Ok(())
}
