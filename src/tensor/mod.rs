//! Tensor-product cubic splines on rectilinear grids: the separable
//! collocation fit ([`Fitter`]) and the fitted spline ([`TensorSpline`]).
//!
//! # The fit
//! With one not-a-knot knot vector per axis, the interpolation conditions on
//! the grid read `(C_0 ⊗ C_1 ⊗ … ⊗ C_{D-1}) · c = f`, where `C_k` is the
//! collocation matrix of axis `k` ([`BandLu`](crate::banded::BandLu)). The
//! Kronecker structure makes the solve separable:
//! `c = (C_0⁻¹ ⊗ … ⊗ C_{D-1}⁻¹) f`: solve along axis 0 for every line, then
//! along axis 1 on the result, and so on. Each `C_k` is factored once and
//! reused for all lines of its axis. The order of the axes does not change
//! the result (up to rounding).

mod contract;
mod driver;
mod dynamic;
mod eval;
mod extrapolate;
mod fit;
mod general;
#[cfg(feature = "gpu")]
pub mod gpu;
mod grid_eval;
mod kernel;
pub mod query;
mod scaled;
mod sensitivity;
mod spline;
mod tree;
mod view_eval;

pub use crate::workspace::{ScratchReq, Workspace};
pub use dynamic::{DynFitter, DynSpline};
pub use extrapolate::Extrapolate;
pub use fit::{FitScheme, Fitter};
pub use query::{Partial, Points, Query};
pub use sensitivity::DataWeights;
pub use spline::{FitReport, TensorSpline};

/// Maximum number of dimensions supported (ndarray's static dimensions).
pub const MAX_DIM: usize = 6;
