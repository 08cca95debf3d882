//! Status codes, the thread-local error message, and the guard every entry
//! point runs its body in.

use crate::exec;
use bsfit_core::FitError;
use std::cell::RefCell;
use std::ffi::c_char;
use std::panic::{self, AssertUnwindSafe};

/// The result of every `bsfit_*` call that can fail.
///
/// `BSFIT_STATUS_OK` (0) is success. Every other code is one kind of fault;
/// each function's documentation lists the codes it can return. After any
/// code other than `BSFIT_STATUS_OK`, `bsfit_last_error_message()` gives the
/// message (naming the axis, index or value at fault). Codes 9-13 and 15 were
/// used by earlier versions and are not reused; new codes may be added in
/// later versions: treat an unknown code as a failure.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// Success.
    Ok = 0,
    /// An axis has fewer sites than its spline needs (4), or a 3D grid has an
    /// empty axis.
    AxisTooShort = 1,
    /// A site coordinate is NaN or infinite.
    NonFiniteSite = 2,
    /// Sites are not strictly increasing (duplicate or out of order).
    NonIncreasingSites = 3,
    /// A data value (a sample, or an explicit end-derivative value) is NaN or
    /// infinite.
    NonFiniteValue = 4,
    /// An input array's length does not match the handle it is given to: the
    /// values of a refit (`n_values` is not `bsfit_fitter_len`), the
    /// coefficients of `bsfit_fitter_spline` (not `bsfit_fitter_coefs_len`).
    ShapeMismatch = 5,
    /// The number of dimensions does not match the spline's (a point, an
    /// `orders` array or a batch of points of the wrong dimension).
    DimensionMismatch = 6,
    /// The collocation matrix of an axis is numerically singular (sites too
    /// close together for their spread).
    SingularMatrix = 7,
    /// The solve produced a non-finite coefficient (the result overflows).
    NonFiniteResult = 8,
    /// Knots or coefficients passed to a constructor do not describe a
    /// spline this library can evaluate exactly (the message names the knot,
    /// coefficient or count at fault).
    InvalidData = 14,
    /// A point lies outside the spline's domain on an axis evaluated under
    /// `BSFIT_POLICY_ERROR` (the message names the point, axis and
    /// coordinate).
    OutsideDomain = 15,
    /// A boundary condition cannot be used on an axis: `BSFIT_END_PERIODIC`
    /// on one end only, a not-a-knot end paired with another condition,
    /// explicit end values on a second axis, a periodic axis with fewer than
    /// 4 sites.
    InvalidBoundary = 16,
    /// The values at the two ends of a periodic axis differ.
    PeriodicMismatch = 17,
    /// Explicit end-derivative values of the wrong length, missing, or given
    /// for an end that takes none.
    EndValuesShape = 18,
    /// A feature this library does not implement, or was built without: a
    /// spline degree other than 1 to 5, a boundary condition other than
    /// not-a-knot on an axis of degree other than 3, the sensitivities of a spline
    /// that is not cubic, a `bsfit_gpu_*` call in a build without GPU
    /// support (cargo feature `gpu`); the message names it.
    Unsupported = 19,
    /// A required pointer argument is NULL.
    NullPointer = 100,
    /// An argument is outside its range: `ndim` outside 1-6, `axis >= ndim`,
    /// an unknown `bsfit_end` or `bsfit_boundary` code, a thread count above
    /// 1024, sizes whose product overflows `size_t`, or sites whose extent
    /// `x[n-1] - x[0]` overflows a double.
    InvalidArgument = 101,
    /// An internal error: a Rust panic caught at the boundary, or a library
    /// error the C layer does not expect. Please report it (with the
    /// message); the library remains usable.
    InternalError = 102,
    /// A pointer argument is not aligned for its type (a `double *` not on an
    /// 8-byte boundary, ...).
    MisalignedPointer = 104,
    /// An output buffer is shorter than the result (its length argument is
    /// less than the number of elements to write; the message says how many).
    BufferTooSmall = 105,
    /// The library's thread pool could not be started (the system refused to
    /// create threads).
    ThreadsUnavailable = 106,
    /// The GPU could not be used: no adapter, the device was lost, an
    /// allocation on it failed, or the adapter lacks what the call needs
    /// (`BSFIT_PRECISION_F64` without 64-bit shader arithmetic); the message
    /// names the adapter and the cause.
    GpuError = 108,
}

/// Every status, in code order.
const ALL: [Status; 22] = [
    Status::Ok,
    Status::AxisTooShort,
    Status::NonFiniteSite,
    Status::NonIncreasingSites,
    Status::NonFiniteValue,
    Status::ShapeMismatch,
    Status::DimensionMismatch,
    Status::SingularMatrix,
    Status::NonFiniteResult,
    Status::InvalidData,
    Status::InvalidBoundary,
    Status::PeriodicMismatch,
    Status::EndValuesShape,
    Status::Unsupported,
    Status::OutsideDomain,
    Status::NullPointer,
    Status::InvalidArgument,
    Status::InternalError,
    Status::MisalignedPointer,
    Status::BufferTooSmall,
    Status::ThreadsUnavailable,
    Status::GpuError,
];

impl Status {
    /// The code of a library error. Library errors no C function can cause
    /// (solver, GPU and instruction-set errors) are internal errors here.
    pub(crate) fn of(e: &FitError) -> Status {
        match e {
            FitError::AxisTooShort { .. } => Status::AxisTooShort,
            FitError::NonFiniteSite { .. } => Status::NonFiniteSite,
            FitError::NonIncreasingSites { .. } => Status::NonIncreasingSites,
            FitError::NonFiniteValue { .. } => Status::NonFiniteValue,
            FitError::ShapeMismatch { .. } => Status::ShapeMismatch,
            FitError::DimensionMismatch { .. } => Status::DimensionMismatch,
            FitError::SingularMatrix { .. } => Status::SingularMatrix,
            FitError::NonFiniteResult { .. } => Status::NonFiniteResult,
            FitError::InvalidParameter { .. } => Status::InvalidArgument,
            FitError::InvalidData(_) => Status::InvalidData,
            FitError::InvalidBoundary { .. } => Status::InvalidBoundary,
            FitError::PeriodicMismatch { .. } => Status::PeriodicMismatch,
            FitError::EndValuesShape { .. } => Status::EndValuesShape,
            FitError::OutsideDomain { .. } => Status::OutsideDomain,
            FitError::Gpu(_) => Status::GpuError,
            FitError::Unsupported { .. } => Status::Unsupported,
            _ => Status::InternalError,
        }
    }

    /// The constant's name, e.g. `"BSFIT_STATUS_NULL_POINTER"`, NUL-terminated.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Status::Ok => "BSFIT_STATUS_OK\0",
            Status::AxisTooShort => "BSFIT_STATUS_AXIS_TOO_SHORT\0",
            Status::NonFiniteSite => "BSFIT_STATUS_NON_FINITE_SITE\0",
            Status::NonIncreasingSites => "BSFIT_STATUS_NON_INCREASING_SITES\0",
            Status::NonFiniteValue => "BSFIT_STATUS_NON_FINITE_VALUE\0",
            Status::ShapeMismatch => "BSFIT_STATUS_SHAPE_MISMATCH\0",
            Status::DimensionMismatch => "BSFIT_STATUS_DIMENSION_MISMATCH\0",
            Status::SingularMatrix => "BSFIT_STATUS_SINGULAR_MATRIX\0",
            Status::NonFiniteResult => "BSFIT_STATUS_NON_FINITE_RESULT\0",
            Status::InvalidData => "BSFIT_STATUS_INVALID_DATA\0",
            Status::InvalidBoundary => "BSFIT_STATUS_INVALID_BOUNDARY\0",
            Status::PeriodicMismatch => "BSFIT_STATUS_PERIODIC_MISMATCH\0",
            Status::EndValuesShape => "BSFIT_STATUS_END_VALUES_SHAPE\0",
            Status::Unsupported => "BSFIT_STATUS_UNSUPPORTED\0",
            Status::OutsideDomain => "BSFIT_STATUS_OUTSIDE_DOMAIN\0",
            Status::NullPointer => "BSFIT_STATUS_NULL_POINTER\0",
            Status::InvalidArgument => "BSFIT_STATUS_INVALID_ARGUMENT\0",
            Status::InternalError => "BSFIT_STATUS_INTERNAL_ERROR\0",
            Status::MisalignedPointer => "BSFIT_STATUS_MISALIGNED_POINTER\0",
            Status::BufferTooSmall => "BSFIT_STATUS_BUFFER_TOO_SMALL\0",
            Status::ThreadsUnavailable => "BSFIT_STATUS_THREADS_UNAVAILABLE\0",
            Status::GpuError => "BSFIT_STATUS_GPU_ERROR\0",
        }
    }

    /// The status with code `code`, if there is one.
    pub(crate) fn from_code(code: i32) -> Option<Status> {
        ALL.into_iter().find(|s| *s as i32 == code)
    }
}

/// An error raised by an entry point: a library error, or one the C layer
/// detects before calling the library.
#[derive(Debug)]
pub(crate) enum Error {
    /// From the library.
    Fit(FitError),
    /// A NULL pointer argument, by parameter name.
    Null(&'static str),
    /// A misaligned pointer argument, by parameter name.
    Misaligned(&'static str),
    /// An argument outside its range, with the message.
    Arg(String),
    /// An output buffer `name` of `len` elements where `need` are written.
    Short {
        /// Parameter name.
        name: &'static str,
        /// Elements the caller's buffer holds.
        len: usize,
        /// Elements the call writes.
        need: usize,
    },
    /// An input array whose length does not match the handle, with the message.
    Shape(String),
    /// The thread pool could not be started, with the message.
    Threads(String),
    /// A feature the library was built without, with the message.
    #[cfg_attr(feature = "gpu", allow(dead_code))]
    Unsupported(String),
    /// A state the C layer does not expect (a bug), with the message.
    Internal(String),
}

impl From<FitError> for Error {
    fn from(e: FitError) -> Self {
        Error::Fit(e)
    }
}

impl Error {
    /// The status code and the message.
    fn into_parts(self) -> (Status, String) {
        match self {
            Error::Fit(e) => (Status::of(&e), compact_numbers(&e.to_string())),
            Error::Null(name) => (Status::NullPointer, format!("argument `{name}` is NULL")),
            Error::Misaligned(name) => (
                Status::MisalignedPointer,
                format!("argument `{name}` is not aligned for its type"),
            ),
            Error::Arg(msg) => (Status::InvalidArgument, compact_numbers(&msg)),
            Error::Short { name, len, need } => (
                Status::BufferTooSmall,
                format!("`{name}` holds {len} elements; {need} are needed"),
            ),
            Error::Shape(msg) => (Status::ShapeMismatch, msg),
            Error::Threads(msg) => (Status::ThreadsUnavailable, msg),
            Error::Unsupported(msg) => (Status::Unsupported, msg),
            Error::Internal(msg) => (Status::InternalError, format!("internal error: {msg}")),
        }
    }
}

/// Shorthand for an [`Error::Arg`].
pub(crate) fn arg_err<T>(msg: String) -> Result<T, Error> {
    Err(Error::Arg(msg))
}

/// Numbers written out in full (`1e308` prints as a 1 and 308 zeros with
/// Rust's `Display`, `1e-300` as 300 zeros and a 1) rewritten in exponent
/// form: every run of digits (with an optional fraction) longer than 21
/// characters becomes its shortest `{:e}` form. Shorter numbers, which
/// include every double between 1e-7 and 1e21 in its shortest form, are kept.
pub(crate) fn compact_numbers(msg: &str) -> String {
    let b = msg.as_bytes();
    let mut out = String::with_capacity(msg.len());
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() {
            // Copy up to the next digit (char boundaries: digits are ASCII).
            let j = b[i..]
                .iter()
                .position(u8::is_ascii_digit)
                .map_or(b.len(), |k| i + k);
            out.push_str(&msg[i..j]);
            i = j;
            continue;
        }
        let mut j = i;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        if j + 1 < b.len() && b[j] == b'.' && b[j + 1].is_ascii_digit() {
            j += 1;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
        }
        let token = &msg[i..j];
        match token.parse::<f64>() {
            Ok(v) if token.len() > 21 => out.push_str(&format!("{v:e}")),
            _ => out.push_str(token),
        }
        i = j;
    }
    out
}

thread_local! {
    /// The NUL-terminated message of the last failed call on this thread;
    /// empty (no bytes) after a successful call.
    static LAST_ERROR: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Records `msg` as this thread's last error (interior NULs become spaces).
fn set_last_error(msg: &str) {
    let _ = LAST_ERROR.try_with(|cell| {
        if let Ok(mut buf) = cell.try_borrow_mut() {
            buf.clear();
            buf.extend(msg.bytes().map(|b| if b == 0 { b' ' } else { b }));
            buf.push(0);
        }
    });
}

/// Clears this thread's last error (no allocation).
fn clear_last_error() {
    let _ = LAST_ERROR.try_with(|cell| {
        if let Ok(mut buf) = cell.try_borrow_mut() {
            buf.clear();
        }
    });
}

/// Pointer to this thread's last error message (`""` if none).
pub(crate) fn last_error_ptr() -> *const c_char {
    LAST_ERROR
        .try_with(|cell| match cell.try_borrow() {
            Ok(buf) if !buf.is_empty() => buf.as_ptr().cast::<c_char>(),
            _ => c"".as_ptr(),
        })
        .unwrap_or(c"".as_ptr())
}

/// Text of a panic payload.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_string()
    }
}

/// Runs the body of an entry point: catches any panic (reported as
/// [`Status::InternalError`], and silent: nothing reaches stderr, see
/// [`exec::quiet`]), maps errors to their status code, and records the
/// thread's last error message (cleared on success).
///
/// Every `extern "C"` function of this crate that can fail is one call to
/// this guard or to [`gated`], so no panic unwinds into the caller.
pub(crate) fn guard<F>(body: F) -> Status
where
    F: FnOnce() -> Result<(), Error>,
{
    // The body only touches caller memory through checked pointers and
    // writes its outputs last; a panic leaves nothing half-built that a later
    // call could observe through a handle, so asserting unwind safety is sound.
    let result = exec::quiet(|| panic::catch_unwind(AssertUnwindSafe(body)));
    match result {
        Ok(Ok(())) => {
            clear_last_error();
            Status::Ok
        }
        Ok(Err(e)) => {
            let (status, msg) = e.into_parts();
            set_last_error(&msg);
            status
        }
        Err(payload) => {
            let at = exec::take_panic_location()
                .map(|l| format!(" at {l}"))
                .unwrap_or_default();
            let msg = format!("internal error (panic{at}): {}", panic_message(&*payload));
            // Dropping a payload can itself panic; do not let that escape either.
            exec::quiet(|| {
                if let Err(inner) = panic::catch_unwind(AssertUnwindSafe(move || drop(payload))) {
                    std::mem::forget(inner);
                }
            });
            set_last_error(&msg);
            Status::InternalError
        }
    }
}

/// [`guard`] for the entry points that may run on the thread pool, take the
/// library's process-wide locks or allocate: the call also holds the fork
/// gate ([`exec::enter`]), so a `fork()` in another thread waits until it
/// has returned and the child never inherits a lock held mid-call.
pub(crate) fn gated<F>(body: F) -> Status
where
    F: FnOnce() -> Result<(), Error>,
{
    let _pass = exec::enter();
    guard(body)
}
