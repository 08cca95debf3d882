//! The `bsfit` command-line tool.
//!
//! ```text
//! bsfit [demo options]     Black–Scholes 4D price-table demo (default)
//! bsfit bench [options]    compact benchmark table of the 4D fitter and evaluator
//! bsfit grid3 [options]    uniform 3D solver report
//! bsfit memfit [options]   peak memory of one large fit
//! ```

mod grid3_report;
mod memfit;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("-h") | Some("--help") | Some("help") => {
            println!(
                "usage: bsfit [demo options] | bsfit bench [options] | bsfit grid3 [options] | bsfit memfit [options]"
            );
            Ok(())
        }
        Some("grid3") => grid3_report::run(&args[1..]),
        Some("memfit") => memfit::run(&args[1..]),
        _ => Err("this build has no subcommands yet".to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bsfit: {e}");
            ExitCode::FAILURE
        }
    }
}
