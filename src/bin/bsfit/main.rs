//! The `bsfit` command-line tool.

#[cfg(feature = "gpu")]
mod gpu_bench;
mod grid3_report;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() > 1 && args[1] == "grid3" {
        if let Err(e) = grid3_report::run(&args[2..]) {
            eprintln!("{e}");
            std::process::exit(2);
        }
    }
    #[cfg(feature = "gpu")]
    if args.len() > 1 && args[1] == "gpu-bench" {
        std::process::exit(gpu_bench::main(&args[2..]));
    }
}
