//! # bsfit
//!
//! Fast cubic B-spline fitting on tensor-product grids.
//!
//! * [`TensorSpline`] / [`Fitter`]: interpolating cubic tensor-product splines
//!   in 1–6 dimensions on non-uniform rectilinear grids (not-a-knot end
//!   conditions, exactly scipy's `make_interp_spline(k=3)` per axis), with
//!   values and mixed partial derivatives at one point, at many (slices or
//!   `(n, D)` ndarray views of any layout) or on a grid of per-axis
//!   coordinates (separable), with a choice of behaviour outside the domain
//!   ([`Extrapolate`]).
//! * [`grid3`]: the uniform 3D path (27-point B-spline operator, iterative and
//!   direct solvers), f32 and f64.
//!
//! Kernels are chosen once per fitter/spline from the CPU's instruction sets
//! ([`Isa`]: scalar reference, AVX2+FMA, AVX-512F; `BSFIT_ISA` overrides), and
//! parallel work runs on the current rayon pool ([`Par`]).
//!
//! ```
//! use bsfit::TensorSpline;
//! use ndarray::Array2;
//!
//! let x = [0.0, 0.5, 1.5, 2.0, 3.5];
//! let y = [-1.0, 0.0, 0.5, 1.0];
//! // f(x, y) = x² y is a tensor-product cubic: reproduced exactly.
//! let values = Array2::from_shape_fn((5, 4), |(i, j)| x[i] * x[i] * y[j]);
//! let spline = TensorSpline::fit([&x[..], &y[..]], values.view())?;
//! assert!((spline.eval([1.2, 0.3]) - 1.2 * 1.2 * 0.3).abs() < 1e-12);
//! // ∂²f/∂x∂y = 2x
//! assert!((spline.eval_deriv([1.2, 0.3], [1, 1]) - 2.4).abs() < 1e-12);
//! # Ok::<(), bsfit::FitError>(())
//! ```
//!
//! ## Cargo features
//! * `serde`: `Serialize`/`Deserialize` for [`TensorSpline`] (validated on load)
//!   and its [`Extrapolate`] policy.
//! * `gpu`: wgpu offload of the uniform 3D path (`grid3::gpu`) and of fitted
//!   tensor splines and the separable fit (`tensor::gpu`: evaluation and
//!   fitting on the device, f64 or f32), on one shared device (`gpu`); a
//!   default build does not compile wgpu. Every device plan checks the size
//!   and context of what it is handed before recording anything; shaders
//!   skip wgpu's runtime bounds checks only where those checks bound every
//!   index, and `BSFIT_GPU_CHECKED=1` (or `GpuOptions::checked`) keeps them on.
//! * `bench-internals`: not part of the API (no stability promise); the
//!   checked single-kernel entry points the kernel benchmarks time.
//!
//! ## Memory
//! A spline holds its knots and exactly its coefficients. The one-shot calls
//! keep recent workspaces and the coefficient arrays of dropped splines in a
//! process-wide cache of at most 64 MiB ([`set_cache_limit`],
//! [`release_cached_memory`]).
//!
//! ## Module map
//! * [`bspline`]: knots, span search, scalar Cox–de Boor (the reference).
//! * [`banded`]: per-axis collocation matrices and their banded LU.
//! * [`tensor`]: the fit plan ([`Fitter`], workspaces) and evaluation.
//! * [`isa`]: instruction-set detection and the SIMD kernels.
//! * [`grid3`]: operator, backend-neutral solver traits, solvers, direct prefilter.
#![warn(missing_docs)]
#![doc(test(attr(deny(warnings))))]

pub mod banded;
pub mod bspline;
mod cache_sizes;
pub mod error;
#[cfg(feature = "gpu")]
pub mod gpu;
pub mod grid3;
pub mod isa;
pub mod ndimage;
pub mod par;
pub mod real;
mod recycle;
pub mod tensor;
pub mod workspace;

pub use bspline::Degree;
pub use bspline::boundary::{BoundaryCondition, EndCondition};
pub use error::FitError;
pub use isa::Isa;
pub use par::Par;
pub use real::Real;
pub use tensor::{DynFitter, DynSpline, Extrapolate, Fitter, TensorSpline};
pub use workspace::{ScratchReq, Workspace};

/// Returns the memory the one-shot calls keep for their next call to the
/// allocator: the workspaces of recent fits and the coefficient arrays of
/// dropped splines (see [`set_cache_limit`] for what is kept and how much).
/// Nothing else changes: the limit stays, and the next one-shot call
/// allocates afresh.
pub fn release_cached_memory() {
    recycle::release();
}

/// Sets how many bytes the process-wide cache of the one-shot calls may
/// hold, and returns the previous limit. The default is 64 MiB; `0` turns
/// the cache off and frees what it holds.
///
/// A one-shot call ([`TensorSpline::fit`], [`DynSpline::fit`],
/// [`grid3::prefilter`], …) needs a workspace and a fresh coefficient array.
/// Freshly mapped pages cost a page fault and zeroing on first touch, so
/// the workspaces of recent calls and the coefficient arrays of dropped
/// splines (from 512 KiB) are kept for the next call: repeated one-shot
/// calls then cost what a reused [`Fitter`] costs. Together they hold at
/// most the limit (at most four of each kind); an array or workspace larger
/// than the limit is freed when it is dropped, and when room is needed the
/// oldest entries go first. A kept array serves only a request of between
/// half its length and its length, and is shrunk to the request, so a
/// spline never holds more memory than its coefficients. Lowering the
/// limit frees the oldest entries until the rest fits.
///
/// Raise the limit to keep the buffers of larger fits warm (a dropped
/// 30M-point spline holds 240 MB); lower it, or call
/// [`release_cached_memory`], to return the memory at once. Thread-safe;
/// the limit applies to the whole process.
pub fn set_cache_limit(bytes: usize) -> usize {
    recycle::set_limit(bytes)
}

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
