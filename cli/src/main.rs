//! `bsfit`, the command-line tool of the bsfit library.
//!
//! ```text
//! bsfit [demo] [options]     Black–Scholes 4D price-table demo (the default)
//! bsfit bench [options]      compact benchmark table of the 4D fitter and evaluator
//! bsfit grid3 [options]      uniform 3D solver report (`--device gpu` with feature `gpu`)
//! bsfit gpu-bench [options]  device timings of the 3D path (feature `gpu`)
//! bsfit memfit [options]     peak memory of one large fit
//! ```
//!
//! `bsfit bench --only oneshot` runs its measurements in child processes of
//! this executable (a hidden `bench-child` subcommand).
//!
//! Exit status: 0 on success, 1 when a run fails (`bsfit: <message>` on
//! stderr), 2 for a command line that does not parse (unknown subcommand or
//! option, bad value).

mod args;
mod bench;
mod bench_oneshot;
mod bench_sens;
mod buckets;
mod demo;
mod gpu_bench;
mod grid3_report;
mod memfit;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Fast cubic B-spline fitting: demo, benchmarks and reports.
///
/// Without a subcommand, runs the demo (its options are accepted here too).
#[derive(Parser, Debug)]
#[command(name = "bsfit", version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    demo: demo::DemoArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Black–Scholes 4D price-table demo (the default)
    Demo(demo::DemoArgs),
    /// Compact table of the 4D fit/eval/basis timings per ISA, with memory bandwidth
    Bench(bench::BenchArgs),
    /// Uniform 3D solver report: iterations, time, residual and bandwidth per solver
    Grid3(grid3_report::Grid3Args),
    /// Device timings of the 3D path (needs a build with `--features gpu`)
    GpuBench(gpu_bench::GpuBenchArgs),
    /// Peak memory of one large fit
    Memfit(memfit::MemfitArgs),
    /// One child process of `bench --only oneshot`: one case in one allocator state
    #[command(hide = true)]
    BenchChild(bench_oneshot::ChildArgs),
    /// The sensitivity rows of the bench alone (data gradient, per-axis weights)
    #[command(hide = true)]
    BenchSens(bench_sens::BenchSensArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        None => demo::run(&cli.demo),
        Some(Command::Demo(a)) => demo::run(&a),
        Some(Command::Bench(a)) => bench::run(&a),
        Some(Command::Grid3(a)) => grid3_report::run(&a),
        Some(Command::GpuBench(a)) => gpu_bench::run(&a),
        Some(Command::Memfit(a)) => memfit::run(&a),
        Some(Command::BenchChild(a)) => bench_oneshot::run_child(&a),
        Some(Command::BenchSens(a)) => bench_sens::run(&a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bsfit: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;
    use clap::error::ErrorKind;

    fn parse(line: &str) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("bsfit").chain(line.split_whitespace()))
    }

    #[test]
    fn command_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn no_subcommand_is_the_demo() {
        let c = parse("").unwrap();
        assert!(c.command.is_none());
        assert_eq!(c.demo.grid, [50, 30, 20, 10]);
        let c = parse("--grid 100x50x30x20 --points=500").unwrap();
        assert!(c.command.is_none());
        assert_eq!(c.demo.grid, [100, 50, 30, 20]);
        assert_eq!(c.demo.points, 500);
    }

    #[test]
    fn subcommands_parse() {
        assert!(matches!(
            parse("bench --quick --only fit-small").unwrap().command,
            Some(Command::Bench(_))
        ));
        assert!(matches!(
            parse("bench --only oneshot --pin --json o.json")
                .unwrap()
                .command,
            Some(Command::Bench(_))
        ));
        assert!(matches!(
            parse("bench-child --case fit-small --state fresh --reps 3")
                .unwrap()
                .command,
            Some(Command::BenchChild(_))
        ));
        assert!(matches!(
            parse("grid3 --n 32 --solver cg,direct --bc periodic,periodic,zero")
                .unwrap()
                .command,
            Some(Command::Grid3(_))
        ));
        assert!(matches!(
            parse("gpu-bench --n 64,128 --cpu").unwrap().command,
            Some(Command::GpuBench(_))
        ));
        assert!(matches!(
            parse("memfit --grid 20x10 --api into").unwrap().command,
            Some(Command::Memfit(_))
        ));
        assert!(matches!(
            parse("demo --seed 3").unwrap().command,
            Some(Command::Demo(_))
        ));
    }

    #[test]
    fn unknown_input_is_a_usage_error() {
        for bad in [
            "bogus",
            "--frobnicate",
            "bench --frobnicate",
            "bench --only everything",
            "bench --isa sse9",
            "grid3 --n 0",
            "grid3 --n 8 --shape 8x8x8",
            "grid3 --bc periodic,zero",
            "memfit --api copy",
            "gpu-bench --n 12,x",
            "demo --fits 3",
            "--grid 10x10x10",
        ] {
            let e = parse(bad).expect_err(bad);
            assert_eq!(e.exit_code(), 2, "{bad}: {e}");
        }
        let help = parse("bench --help").unwrap_err();
        assert_eq!(help.kind(), ErrorKind::DisplayHelp);
        assert_eq!(help.exit_code(), 0);
    }
}
