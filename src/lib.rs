//! # bsfit
//!
//! Fast cubic B-spline fitting on tensor-product grids.
#![warn(missing_docs)]
#![doc(test(attr(deny(warnings))))]

pub mod analytic;
pub mod error;
pub mod grid3;
pub mod isa;
pub mod par;
pub mod real;

pub use error::FitError;
pub use isa::Isa;
pub use par::Par;
pub use real::Real;
