//! The uniform 3D path: cubic B-spline coefficients of samples on a regular grid.
//!
//! Samples `F` on an `n₀ × n₁ × n₂` grid (row-major, axis 2 contiguous) and cubic
//! B-spline coefficients `c` are related by `F = B c`, where `B = b ⊗ b ⊗ b` is the
//! 27-point stencil with 1D taps `b = [1/6, 2/3, 1/6]` (weights: centre 8/27, face 2/27,
//! edge 1/54, corner 1/216) and a [`Boundary`] per axis.
//!
//! * [`backend`]: the backend-neutral solver traits (CPU here, wgpu with feature `gpu`).
//! * [`cpu`]: the CPU backend.
//! * [`operator`]: the stencil operators (direct 27-point and separable forms).
//! * [`direct`]: the exact separable solve behind [`prefilter`].
//! * [`solvers`]: relaxation, Jacobi, Chebyshev, CG/PCG, generic over the backend traits.
//! * [`spai`]: the SPAI preconditioner stencils.
//! * [`solve()`]: every method behind one call.
//! * [`band`]: one axis of a stencil per boundary, and the symmetrised mirror.
//! * [`theory`]: spectral bounds per boundary and predicted iteration counts.

pub mod backend;
pub mod band;
pub mod cpu;
pub mod direct;
pub mod operator;
mod prefilter;
mod solve;
pub mod solvers;
pub mod spai;
mod stencil;
pub mod theory;

#[cfg(feature = "gpu")]
pub mod gpu;

pub use operator::BSPLINE_TAPS;
pub use prefilter::{
    prefilter, prefilter_f32, prefilter_generic, prefilter_into, prefilter_into_generic,
};
pub use solve::{Formulation, Method, SolveOptions, SolveReport, solve};
pub use solvers::SolveInfo;
pub use stencil::StencilForm;

/// What the coefficients outside the grid are, per axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Boundary {
    /// `c[i + n] = c[i]` (scipy `mode='grid-wrap'`).
    Periodic,
    /// `c[-1] = c[n] = 0` (what the source OpenCL kernel does along z).
    Zero,
    /// Reflection about the end samples without repeating them: `c[-j] = c[j]`,
    /// `c[n-1+j] = c[n-1-j]` (scipy `mode='mirror'`).
    Mirror,
}

impl Boundary {
    /// Parses `periodic`, `zero` or `mirror` (case-insensitive; `wrap`, `grid-wrap` also work).
    pub fn from_name(s: &str) -> Option<Boundary> {
        match s.trim().to_ascii_lowercase().as_str() {
            "periodic" | "wrap" | "grid-wrap" | "p" => Some(Boundary::Periodic),
            "zero" | "zeros" | "z" => Some(Boundary::Zero),
            "mirror" | "m" => Some(Boundary::Mirror),
            _ => None,
        }
    }

    /// Lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Boundary::Periodic => "periodic",
            Boundary::Zero => "zero",
            Boundary::Mirror => "mirror",
        }
    }
}
