//! scipy.ndimage's spline functions in any dimension: the uniform path of
//! [`crate::grid3`] generalised to N-D arrays, B-spline orders 0–5 and
//! every scipy boundary mode.
//!
//! * [`spline_filter1d`] / [`spline_filter`]: B-spline coefficients of an
//!   array along one axis or all of them (scipy's `spline_filter1d` /
//!   `spline_filter`), exact recursive filters with scipy's poles and
//!   boundary initialisation.
//! * [`map_coordinates`]: values of that spline at arbitrary points,
//!   with scipy's handling of every [`Mode`] at evaluation time and its
//!   pre-padding for `nearest` and `grid-constant`; points in parallel.
//!
//! Arrays are `ndarray` views of any dimension and memory layout, f64 or
//! f32 (read as f64); results are f64, as scipy computes them. The
//! `*_into` forms write into a caller's array and take an explicit
//! [`Par`](crate::Par). Results agree with scipy 1.17.1 to rounding
//! (`tests/ndimage.rs`, fixtures from `tools/gen_ndimage_fixtures.py`).
//!
//! ```
//! use bsfit::ndimage::{map_coordinates, spline_filter, Mode};
//! use ndarray::{array, ArrayD, IxDyn};
//!
//! let f = ArrayD::from_shape_fn(IxDyn(&[6, 5, 4]), |i| (i[0] * i[1] + i[2]) as f64);
//! let c = spline_filter(f.view(), 3, Mode::Mirror)?;
//! assert_eq!(c.shape(), f.shape());
//! // Values between the samples; at a sample, the sample itself.
//! let pts = array![[2.0, 2.5], [3.0, 1.25], [1.0, 0.5]].into_dyn();
//! let v = map_coordinates(f.view(), pts.view(), 3, Mode::Mirror, 0.0, true)?;
//! assert!((v[0] - f[[2, 3, 1]]).abs() < 1e-12);
//! # Ok::<(), bsfit::FitError>(())
//! ```

mod filter;
mod interp;
pub mod mode;

pub use filter::{spline_filter, spline_filter_into, spline_filter1d, spline_filter1d_into};
pub use interp::{MAX_DIMS, map_coordinates, map_coordinates_into};
pub use mode::Mode;
