//! `bsfit gpu-bench`: device timings of the 3D path (feature `gpu`).
//!
//! Every timed batch is recorded first and then submitted and waited for, so the
//! figures are device time plus one submit-and-wait (~0.04 ms on an H100,
//! amortised over the batch). Reported per size: the copy bandwidth (the
//! roofline), the exact direct solve, the 27-point and separable stencil passes,
//! CG and PCG to the tolerance, and optionally the CPU direct solve; then the
//! N-D rows (4D batch evaluation and device fits, f64 and f32).

use clap::Args;

/// Options of `bsfit gpu-bench`.
#[derive(Args, Debug, Clone)]
pub struct GpuBenchArgs {
    /// Grid edge lengths, comma-separated
    #[arg(long = "n", value_name = "N,..", value_delimiter = ',', default_value = "128,256,512", value_parser = clap::value_parser!(u64).range(1..))]
    sizes: Vec<u64>,
    /// Also time the CPU direct solve
    #[arg(long)]
    cpu: bool,
    /// Write the direct solve's input and output (raw little-endian f32) for sizes up to 256 into DIR
    #[arg(long, value_name = "DIR")]
    dump: Option<String>,
    /// Random points of the N-D evaluation rows
    #[arg(long = "nd-points", value_name = "N", default_value_t = 10_000_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) nd_points: u64,
    /// Only the N-D rows (tensor evaluation and fit), not the 3D table
    #[arg(long)]
    pub(crate) nd_only: bool,
    /// Only the 3D table, not the N-D rows
    #[arg(long, conflicts_with = "nd_only")]
    pub(crate) no_nd: bool,
    /// Also time each direct-solve kernel per axis (a second table)
    #[arg(long)]
    pub(crate) direct_kernels: bool,
    /// Timed batches per measurement; the median is reported
    #[arg(long, value_name = "K", default_value_t = 7, value_parser = clap::value_parser!(u64).range(1..))]
    batches: u64,
    /// Keep the shaders' runtime bounds checks on (as `BSFIT_GPU_CHECKED=1`)
    #[arg(long)]
    pub(crate) checked: bool,
    /// Loads in flight per thread on the device fit's global-memory passes (1–32; default 8)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=32))]
    pub(crate) fit_chunk: Option<u64>,
    /// Evaluation rows under the automatic layout: 1, 2 or 4 coefficients per load (packed rows) or `expanded`
    #[arg(long, value_name = "L", value_parser = ["1", "2", "4", "expanded"])]
    pub(crate) eval_lanes: Option<String>,
}

/// Runs `bsfit gpu-bench`.
#[cfg(feature = "gpu")]
pub fn run(args: &GpuBenchArgs) -> Result<(), String> {
    device::run(args).map_err(|e| e.to_string())
}

/// Runs `bsfit gpu-bench`: without the `gpu` feature, an error.
#[cfg(not(feature = "gpu"))]
pub fn run(_: &GpuBenchArgs) -> Result<(), String> {
    Err("gpu-bench needs a build with --features gpu".into())
}

#[cfg(feature = "gpu")]
pub use device::{device_line, report_solve};

/// The device timings (feature `gpu`).
#[cfg(feature = "gpu")]
mod device;
/// The N-D rows (feature `gpu`).
#[cfg(feature = "gpu")]
mod nd;
