//! The integration tests, as one test binary: each module is one area of the
//! public API (one file beside this one). One binary links the library once,
//! which keeps a release build of the suite a fraction of one binary per file.
//!
//! Run one area with a filter: `cargo test --release --test suite -- isa_equivalence::`.
//! `zero_alloc` (a counting global allocator) and `miri_subset` (run under
//! Miri) stay separate binaries.

mod common;
mod fuzz_logic;

mod adversarial;
mod black_scholes;
mod boundary_parity;
mod degree_parity;
mod degrees;
mod errors;
mod eval_api;
mod extrapolation_far;
mod fit_reproduction;
mod fuzz_corpus;
mod gpu;
mod gpu_boundary;
mod gpu_device_dyn;
mod gpu_nd;
mod grid3_operator;
mod grid3_prefilter;
mod grid3_solvers;
mod isa_equivalence;
mod ndimage;
mod oneshot_recycle;
mod properties;
mod scipy_parity;
mod sensitivity;
mod soundness;
mod vector_values;
