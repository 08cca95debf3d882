//! # bsfit-testkit
//!
//! What bsfit's tests, criterion benches and the `bsfit` command-line tool
//! share, kept out of the library so that its dependency tree and public API
//! hold only the library:
//!
//! * [`analytic`]: the error function, the standard normal distribution and
//!   Black–Scholes European call prices and greeks in closed form (the data of
//!   the demo and the oracle of the price-table tests);
//! * [`SplitMix64`]: the one seeded generator behind every random input;
//! * [`workloads`]: the benchmark inputs (shapes, axes, values, points, 3D
//!   fields), so that `cargo bench` and `bsfit bench` measure the same inputs
//!   produced by the same code.
//!
//! The crate does not depend on `bsfit`: the library takes it as a
//! dev-dependency, and a dependency back on the library would link a second
//! copy of it into the library's own tests.
//!
//! ```
//! use bsfit_testkit::{SplitMix64, analytic::black_scholes::call_price, workloads};
//!
//! let mut rng = SplitMix64::new(1);
//! let m = rng.uniform(0.7, 1.3);
//! assert!(call_price(m, 1.0, 0.2, 0.01) > (m - 1.0f64).max(0.0));
//! let [x, ..] = workloads::unit_axes(workloads::EVAL4D_SHAPE);
//! assert_eq!((x.len(), x[0], x[49]), (50, 0.0, 1.0));
//! ```
#![warn(missing_docs)]
#![doc(test(attr(deny(warnings))))]

pub mod analytic;
pub mod rng;
pub mod workloads;

pub use rng::SplitMix64;
