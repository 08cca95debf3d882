//! Cubic B-spline building blocks: not-a-knot knot vectors, span search and
//! the Cox–de Boor recurrence for basis values and derivatives.

pub mod basis;
pub mod boundary;
pub mod knots;
pub(crate) mod power;

/// Spline degree used throughout the crate (cubic).
pub const DEGREE: usize = 3;
/// Number of basis functions that are non-zero on one knot span (`DEGREE + 1`).
pub const ORDER: usize = DEGREE + 1;
