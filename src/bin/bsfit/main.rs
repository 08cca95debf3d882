//! The `bsfit` command-line tool.
//!
//! ```text
//! bsfit [demo options]     Black–Scholes 4D price-table demo (default)
//! bsfit bench [options]    compact benchmark table of the 4D fitter and evaluator
//! bsfit grid3 [options]    uniform 3D solver report (`--device gpu` with feature `gpu`)
//! bsfit gpu-bench [options] device timings of the 3D path (feature `gpu`)
//! bsfit memfit [options]   peak memory of one large fit
//! ```

mod bench;
mod demo;
#[cfg(feature = "gpu")]
mod gpu_bench;
mod grid3_report;
mod memfit;

use std::process::ExitCode;

const USAGE: &str = "usage:
  bsfit [demo] [--grid 50x30x20x10] [--threads N] [--points N] [--seed S]
      Black-Scholes 4D price-table demo (default)
  bsfit bench [--quick] [--json out.json] [--pin] [--isa scalar,avx2,avx512] [--only fit|fit-small|eval]
      compact table of the 4D fit/eval/basis timings per ISA, with memory bandwidth
  bsfit grid3 [--n 128 | --shape AxBxC] [--bc periodic,periodic,zero] [--precision f32|f64]
              [--tol 1e-6] [--solver all|...] [--plot out.svg] [--csv out.csv] [--device cpu|gpu]
      uniform 3D solver report
  bsfit gpu-bench [--n 128,256,512] [--cpu] [--batches 7]
      device timings of the 3D path (build with --features gpu)
  bsfit memfit [--grid 200x100x50x30] [--api view|into]
      peak memory of one large fit";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("-h") | Some("--help") | Some("help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some("bench") => bench::run(&args[1..]),
        Some("demo") => demo::run(&args[1..]),
        Some("grid3") => grid3_report::run(&args[1..]),
        #[cfg(feature = "gpu")]
        Some("gpu-bench") => return ExitCode::from(gpu_bench::main(&args[1..]) as u8),
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
