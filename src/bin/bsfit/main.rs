//! The `bsfit` command-line tool.

#[cfg(feature = "gpu")]
mod gpu_bench;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match args.first().map(String::as_str) {
        #[cfg(feature = "gpu")]
        Some("gpu-bench") => gpu_bench::main(&args[1..]),
        _ => 0,
    };
    std::process::exit(code);
}
