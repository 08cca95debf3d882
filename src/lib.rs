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
//!   default build does not compile wgpu.
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

pub use bspline::boundary::{BoundaryCondition, EndCondition};
pub use error::FitError;
pub use isa::Isa;
pub use par::Par;
pub use real::Real;
pub use tensor::{DynFitter, DynSpline, Extrapolate, Fitter, TensorSpline};
pub use workspace::{ScratchReq, Workspace};

/// Returns the memory the one-shot calls keep for their next call to the
/// allocator: the workspaces of recent fits and the coefficient arrays of
/// dropped splines (at most 4 × 32 MiB and 1 GiB; see [`TensorSpline::fit`]).
/// Nothing else changes: the next one-shot call allocates afresh.
pub fn release_cached_memory() {
    recycle::release();
}

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
