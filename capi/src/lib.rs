//! # bsfit C ABI
//!
//! A thin C interface to [`bsfit_core`] (the `bsfit` crate): exact cubic
//! B-spline interpolation on tensor-product grids of 1-6 dimensions with
//! non-uniform axes (scipy's `make_interp_spline` knots, any boundary
//! condition per axis), and the uniform 3D prefilter
//! (`scipy.ndimage.spline_filter` for order 3). The header `include/bsfit.h`
//! is generated from this crate by cbindgen; the doc comments below are the
//! header's documentation, and `include/bsfit.hpp` is a C++17 layer over it.
//!
//! ## Conventions
//! * Every function that can fail returns a [`Status`]; `BSFIT_STATUS_OK` (0)
//!   is success, and each function lists the other codes it can return
//!   (`BSFIT_STATUS_INTERNAL_ERROR`, which reports a bug, can come from any
//!   of them and is not repeated). On failure `bsfit_last_error_message()`
//!   describes the error.
//! * Outputs on failure: handles and scalars are written only on success;
//!   every output buffer is left untouched by a failed call, except the
//!   buffers of `bsfit_fitter_refit`, `bsfit_fitter_refit_ends` and the
//!   prefilters, which are filled with NaN on any failure (so that a failed
//!   solve never leaves stale or half-computed numbers behind).
//! * Arrays are row-major (C order): the last axis varies fastest.
//! * NULL or misaligned pointers, `ndim` outside 1-6, buffers shorter than
//!   needed and size products that overflow are reported as errors; they
//!   never crash. What C cannot check (that a non-NULL pointer points to as
//!   many elements as its length says) is the caller's responsibility.
//! * Nothing is written to stdout or stderr: an internal error (a Rust
//!   panic) comes back as `BSFIT_STATUS_INTERNAL_ERROR` with its message,
//!   silently.
//!
//! ## Ownership and memory
//! Handles (`bsfit_spline *`, `bsfit_fitter *`) belong to the caller from
//! the call that returns them until `bsfit_*_free`; the library keeps no
//! pointer to caller memory after a call returns (inputs are copied where
//! they are kept). Strings returned by the library belong to it. The
//! one-shot calls (`bsfit_spline_fit`, the prefilters) keep recently used
//! scratch and the coefficient arrays of freed splines for their next call
//! (at most 4 arrays and 64 MiB together by default, `bsfit_set_cache_limit`);
//! `bsfit_release_cached_memory` returns
//! them. The prefilter needs at most about 1 MiB of scratch per thread
//! besides its output, whatever the grid's shape. Memory exhaustion aborts
//! the process, as in C++ code built without exceptions.
//!
//! ## Threads
//! A `bsfit_spline` is immutable (apart from its thread setting): any number
//! of threads may evaluate the same spline concurrently. A `bsfit_fitter`
//! holds scratch memory reused by every refit: use it from one thread at a
//! time (one fitter per thread, or a lock). Single-point evaluations run on
//! the calling thread. Fits, refits of large grids, batch evaluations and
//! the prefilter run on a thread pool owned by the library (never rayon's
//! global pool): `bsfit_set_threads` sets its size for the process (default:
//! `RAYON_NUM_THREADS`, else every CPU the process may use), and
//! `bsfit_spline_set_threads` / `bsfit_fitter_set_threads` override it per
//! handle. With one thread a call runs on a worker of its calling thread's
//! own (or on the calling thread itself, for refits and the prefilter), so
//! sequential callers on many threads never wait for one another.
//!
//! ## fork()
//! A child process created by `fork()` can use every function: the library
//! recognises the new process and starts its own thread pools there (the
//! parent's worker threads do not exist in the child). A `fork()` in one
//! thread waits, in a `pthread_atfork` handler, until the bsfit calls that
//! may hold a lock in other threads have returned, so the child never
//! inherits a lock held mid-call. Handles created before the fork remain
//! valid in both processes.
#![warn(missing_docs)]
#![warn(clippy::undocumented_unsafe_blocks)]

mod exec;
mod ptr;
mod sensitivity;
mod status;

// The C API in the header's order: splines, fitters, the 3D prefilter
// (each module is its own group, so that rustfmt keeps the order).
mod spline;

mod fitter;

mod prefilter;

mod gpu;

mod query;

#[cfg(test)]
mod tests;

pub use fitter::{End, Fitter};
pub use gpu::{GpuArray, GpuDevice, GpuFitter, GpuSpline, Precision};
pub use prefilter::Boundary;
pub use query::Policy;
pub use spline::Spline;
pub use status::Status;

use ptr::Out;
use status::{Error, gated, guard};
use std::ffi::c_char;

/// The version of the library, e.g. `"0.1.0"` (a static string; never free
/// it), equal to `BSFIT_VERSION_MAJOR.BSFIT_VERSION_MINOR.BSFIT_VERSION_PATCH`
/// of the header it was built with.
///
/// Thread safety: may be called from any thread.
#[unsafe(no_mangle)]
pub extern "C" fn bsfit_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// Returns to the allocator the memory the one-shot fits and prefilters
/// keep for their next call: the workspaces of recent calls and the
/// coefficient arrays of freed splines (at most 4 arrays and, together, the limit of `bsfit_set_cache_limit`).
/// Nothing else changes; the next call allocates afresh.
///
/// Thread safety: may be called from any thread, at any time.
#[unsafe(no_mangle)]
pub extern "C" fn bsfit_release_cached_memory() {
    let _ = gated(|| {
        bsfit_core::release_cached_memory();
        Ok(())
    });
}

/// Sets the most memory, in bytes, that the one-shot calls keep cached for
/// their next call (workspaces and the coefficient arrays of freed splines;
/// 64 MiB by default) and returns the previous limit. 0 turns the cache off
/// and frees what it holds; a smaller limit frees the oldest entries at
/// once. A freed spline's array is kept only if it fits in the limit, and
/// a kept array is reused only for a spline of nearly its size (never
/// holding more memory than the spline needs).
///
/// Thread safety: may be called from any thread, at any time.
#[unsafe(no_mangle)]
pub extern "C" fn bsfit_set_cache_limit(bytes: usize) -> usize {
    bsfit_core::set_cache_limit(bytes)
}

/// The message of the last failed `bsfit_*` call on the calling thread, or
/// `""` if the last call succeeded. The message names the axis, index or
/// value at fault, e.g. `"axis 1: sites must be strictly increasing, but
/// x[3] = 0.5 <= x[2] = 0.5"`; numbers too long to print in full are
/// written in exponent form (`1e308`).
///
/// Never NULL. The string belongs to the library: it stays valid until the
/// next `bsfit_*` call on the same thread (other than this function,
/// `bsfit_version` and `bsfit_status_name`); copy it to keep it.
///
/// Thread safety: per-thread state; may be called from any thread.
#[unsafe(no_mangle)]
pub extern "C" fn bsfit_last_error_message() -> *const c_char {
    status::last_error_ptr()
}

/// The name of a status code, e.g. `"BSFIT_STATUS_NULL_POINTER"` (a static
/// string), or `"BSFIT_STATUS_UNKNOWN"` for a code this version does not define.
///
/// Thread safety: may be called from any thread.
#[unsafe(no_mangle)]
pub extern "C" fn bsfit_status_name(status: i32) -> *const c_char {
    Status::from_code(status)
        .map_or("BSFIT_STATUS_UNKNOWN\0", Status::name)
        .as_ptr()
        .cast()
}

/// Sets the number of threads the library's parallel calls use in this
/// process, for every handle without a setting of its own
/// (`bsfit_spline_set_threads`, `bsfit_fitter_set_threads`): 1 runs every
/// call on one thread (callers on different threads still run side by
/// side), `n > 1` uses a pool of `n` threads shared by all callers, 0
/// restores the default (`RAYON_NUM_THREADS` if set to a positive number,
/// else every CPU the process may use). Calls already running keep the
/// count they started with; fitters re-size their scratch on their next
/// refit. Pools are started on first use.
///
/// Errors: `BSFIT_STATUS_INVALID_ARGUMENT` (`threads > 1024`).
///
/// Thread safety: may be called from any thread, at any time.
#[unsafe(no_mangle)]
pub extern "C" fn bsfit_set_threads(threads: usize) -> Status {
    guard(|| exec::set_global(threads))
}

/// The number of threads a call on a handle without its own setting uses
/// now (`bsfit_set_threads`, or the default when that is 0) into `*out`.
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_MISALIGNED_POINTER`.
///
/// Thread safety: may be called from any thread.
///
/// # Safety
/// `out` must be NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_get_threads(out: *mut usize) -> Status {
    gated(|| {
        let out = Out::new(out, "out")?;
        // SAFETY: writable (caller's contract).
        unsafe { out.write(exec::resolve(0)) };
        Ok(())
    })
}

/// Raises an internal error on purpose, for the library's own tests of the
/// error path: `where_ == 0` panics on the calling thread, anything else on
/// a worker of the thread pool. Returns `BSFIT_STATUS_INTERNAL_ERROR` with
/// the panic's message, and writes nothing to stderr. Not part of the
/// header.
#[unsafe(no_mangle)]
pub extern "C" fn bsfit_debug_panic(where_: i32) -> Status {
    gated(|| {
        if where_ == 0 {
            panic!("deliberate panic (bsfit_debug_panic)");
        }
        exec::install(2, || -> Result<(), Error> {
            panic!("deliberate panic on a worker (bsfit_debug_panic)")
        })?
    })
}
