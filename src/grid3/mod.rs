//! The uniform 3D path: cubic B-spline coefficients of samples on a regular grid.

pub mod backend;

#[cfg(feature = "gpu")]
pub mod gpu;
