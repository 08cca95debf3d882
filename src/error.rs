//! The crate's error type.
//!
//! Every fallible public function returns [`FitError`]. Each variant names the
//! axis, index or value at fault so a caller can report it without guessing.
//! Contract violations that cannot come from user data (a scratch buffer that
//! is too short, an axis index `>= D` passed to an accessor documented to
//! panic) panic through the `#[cold]` helpers at the bottom of this file.

use std::fmt;

/// Errors reported by fitting, evaluation setup, the 3D solvers and the GPU backend.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum FitError {
    /// An axis has fewer sites than a cubic not-a-knot spline needs.
    #[error("axis {axis} has {len} sites; at least {min} are needed")]
    AxisTooShort {
        /// Axis at fault.
        axis: usize,
        /// Number of sites supplied.
        len: usize,
        /// Minimum number of sites.
        min: usize,
    },
    /// A site coordinate is NaN or infinite.
    #[error("axis {axis}: site {index} is not finite ({value})")]
    NonFiniteSite {
        /// Axis at fault.
        axis: usize,
        /// Index of the site on that axis.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// Sites are not strictly increasing (duplicate or out of order).
    #[error("axis {axis}: sites must be strictly increasing, but x[{index}] = {value} <= x[{}] = {prev}", index - 1)]
    NonIncreasingSites {
        /// Axis at fault.
        axis: usize,
        /// Index of the first site that is not greater than its predecessor.
        index: usize,
        /// The site before it.
        prev: f64,
        /// The offending site.
        value: f64,
    },
    /// A data value is NaN or infinite.
    #[error("value at grid index {index:?} is not finite ({value})")]
    NonFiniteValue {
        /// Multi-index of the offending value.
        index: Vec<usize>,
        /// The offending value.
        value: f64,
    },
    /// The length of an axis does not match the values' extent along it.
    #[error("axis {axis} has {axis_len} sites but the values have extent {values_len} along it")]
    ShapeMismatch {
        /// Axis at fault.
        axis: usize,
        /// Number of sites on the axis.
        axis_len: usize,
        /// Extent of the values array along the axis.
        values_len: usize,
    },
    /// The number of dimensions does not match what the call expects.
    #[error("expected {expected} dimensions, got {got}")]
    DimensionMismatch {
        /// Dimensions expected.
        expected: usize,
        /// Dimensions supplied.
        got: usize,
    },
    /// The collocation matrix of an axis is numerically singular (sites too close).
    #[error(
        "axis {axis}: collocation matrix is numerically singular at row {row} (pivot {pivot:e}); sites are too close together"
    )]
    SingularMatrix {
        /// Axis at fault.
        axis: usize,
        /// Row where elimination broke down.
        row: usize,
        /// The pivot found there.
        pivot: f64,
    },
    /// The fit produced non-finite coefficients (overflow or severe ill-conditioning).
    #[error(
        "axis {axis}: the solve produced a non-finite coefficient (condition estimate {condition:e})"
    )]
    NonFiniteResult {
        /// Axis whose pass produced it.
        axis: usize,
        /// Condition estimate of that axis' collocation matrix.
        condition: f64,
    },
    /// The requested instruction set is not available on this CPU.
    #[error("instruction set {isa} is not available on this CPU")]
    IsaUnavailable {
        /// Name of the instruction set.
        isa: &'static str,
    },
    /// A point handed to a checked evaluation (or to a query under
    /// [`Extrapolate::Error`](crate::Extrapolate::Error)) lies outside the
    /// spline's domain `[lo, hi]` on `axis` (or the coordinate is NaN).
    #[error("{}axis {axis}: coordinate {value} is outside the domain [{lo}, {hi}]", point.map(|p| format!("point {p}, ")).unwrap_or_default())]
    OutsideDomain {
        /// The index of the point at fault in a batch (`None` for a single
        /// point; for a grid, the flat row-major index of the first grid
        /// point with that coordinate).
        point: Option<usize>,
        /// Axis at fault.
        axis: usize,
        /// The offending coordinate.
        value: f64,
        /// Lower end of the domain on that axis (`x_0`).
        lo: f64,
        /// Upper end of the domain on that axis (`x_{n-1}`).
        hi: f64,
    },
    /// A parameter is out of its valid range.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParameter {
        /// Name of the parameter.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// An iterative solver stopped at its iteration limit before reaching the tolerance.
    #[error(
        "{solver} did not converge in {iterations} iterations (relative residual {residual:e}, tolerance {tolerance:e})"
    )]
    NoConvergence {
        /// Solver name.
        solver: &'static str,
        /// Iterations performed.
        iterations: usize,
        /// Last relative residual.
        residual: f64,
        /// Requested tolerance.
        tolerance: f64,
    },
    /// An iterative solver diverged (residual grew past the divergence limit or became NaN).
    #[error("{solver} diverged at iteration {iteration} (relative residual {residual:e})")]
    Diverged {
        /// Solver name.
        solver: &'static str,
        /// Iteration at which divergence was detected.
        iteration: usize,
        /// Relative residual at that point.
        residual: f64,
    },
    /// The GPU backend failed (no adapter, device lost, buffer too large, …).
    #[error("GPU: {0}")]
    Gpu(String),
    /// A boundary condition cannot be used on an axis (a not-a-knot end
    /// paired with a derivative end, a derivative order other than 1 or 2,
    /// explicit end values on a second axis, a periodic axis with fewer
    /// than 4 sites).
    #[error("axis {axis}: invalid boundary condition: {reason}")]
    InvalidBoundary {
        /// Axis at fault.
        axis: usize,
        /// What is wrong.
        reason: String,
    },
    /// The values at the two ends of a periodic axis differ (beyond
    /// `1e-15 + 1e-5·|last|`, numpy's `allclose`, as scipy checks).
    #[error(
        "axis {axis} is periodic but its end values differ at index {index:?} of the other axes: first {first}, last {last}"
    )]
    PeriodicMismatch {
        /// The periodic axis.
        axis: usize,
        /// Multi-index over the other axes (in order, the periodic axis left out).
        index: Vec<usize>,
        /// Value at the first site.
        first: f64,
        /// Value at the last site.
        last: f64,
    },
    /// Explicit end-derivative values of the wrong length (or missing, or
    /// given for an end that takes none).
    #[error(
        "axis {axis}: {end} end values: {got} values given, expected an array of shape {expected:?} (the other axes' sites)"
    )]
    EndValuesShape {
        /// The axis whose end takes the values.
        axis: usize,
        /// `"left"` or `"right"`.
        end: &'static str,
        /// The expected shape (the grid shape without `axis`; `[]` for one value).
        expected: Vec<usize>,
        /// Number of values given.
        got: usize,
    },
    /// A feature this library does not implement (a spline degree other
    /// than 1 to 5; a boundary condition other than not-a-knot at a
    /// degree other than 3; the data sensitivities of such a spline). Fronts report it
    /// as "not implemented" (Python: `NotImplementedError`).
    #[error("not supported: {feature}")]
    Unsupported {
        /// What is not supported, with the offending value.
        feature: String,
    },
    /// Deserialised or user-constructed data is internally inconsistent.
    #[error("invalid spline data: {0}")]
    InvalidData(String),
}

/// Panics with a message about an index out of range. Kept cold and out of line.
#[cold]
#[inline(never)]
#[track_caller]
pub(crate) fn panic_index(what: &str, index: usize, len: usize) -> ! {
    panic!("{what} index {index} out of range (len {len})")
}

/// Panics with a message about a buffer that is too short. Kept cold and out of line.
#[cold]
#[inline(never)]
#[track_caller]
pub(crate) fn panic_short(what: &dyn fmt::Display, need: usize, got: usize) -> ! {
    panic!("{what}: buffer too short (need {need}, got {got})")
}
