//! The `bsfit` command-line tool.
//!
//! ```text
//! bsfit [demo options]     Black–Scholes 4D price-table demo (default)
//! bsfit bench [options]    compact benchmark table of the 4D fitter and evaluator
//! bsfit grid3 [options]    uniform 3D solver report
//! bsfit memfit [options]   peak memory of one large fit
//! ```

mod demo;
mod grid3_report;
mod memfit;

use std::process::ExitCode;

const USAGE: &str = "usage:
  bsfit [demo] [--grid 50x30x20x10] [--threads N] [--points N] [--seed S]
      Black-Scholes 4D price-table demo (default)
  bsfit grid3 [--n 128 | --shape AxBxC] [--bc periodic,periodic,zero] [--precision f32|f64]
              [--tol 1e-6] [--solver all|...] [--plot out.svg] [--csv out.csv]
      uniform 3D solver report
  bsfit memfit [--grid 200x100x50x30] [--api view|into]
      peak memory of one large fit";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("-h") | Some("--help") | Some("help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some("demo") => demo::run(&args[1..]),
        Some("grid3") => grid3_report::run(&args[1..]),
        Some("memfit") => memfit::run(&args[1..]),
        _ => demo::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bsfit: {e}");
            ExitCode::FAILURE
        }
    }
}
