//! Status codes, the thread-local error message, and the guard every entry
//! point runs its body in.

use bsfit_core::FitError;
use std::cell::RefCell;
use std::ffi::c_char;
use std::panic::{self, AssertUnwindSafe};

/// The result of every `bsfit_*` call that can fail.
///
/// `BSFIT_STATUS_OK` (0) is success. Codes 1-18 are the library's error
/// kinds; codes from 100 come from the C layer itself. After any code other
/// than `BSFIT_STATUS_OK`, `bsfit_last_error_message()` gives the full message
/// (naming the axis, index or value at fault). New codes may be added in later
/// versions: treat an unknown code as a failure.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// Success.
    Ok = 0,
    /// An axis has fewer sites than a cubic not-a-knot spline needs (4), or a
    /// 3D grid has an empty axis.
    AxisTooShort = 1,
    /// A site coordinate is NaN or infinite.
    NonFiniteSite = 2,
    /// Sites are not strictly increasing (duplicate or out of order).
    NonIncreasingSites = 3,
    /// A data value is NaN or infinite.
    NonFiniteValue = 4,
    /// The length of an axis does not match the values' extent along it.
    ShapeMismatch = 5,
    /// The number of dimensions does not match the spline's (a point, an
    /// `orders` array or a batch of points of the wrong dimension).
    DimensionMismatch = 6,
    /// The collocation matrix of an axis is numerically singular (sites too
    /// close together).
    SingularMatrix = 7,
    /// The solve produced a non-finite coefficient (overflow).
    NonFiniteResult = 8,
    /// The requested instruction set is not available on this CPU.
    IsaUnavailable = 9,
    /// A parameter checked by the library is out of range (for example an
    /// axis index, or a buffer length the library checks).
    InvalidParameter = 10,
    /// An iterative solver did not converge.
    NoConvergence = 11,
    /// An iterative solver diverged.
    Diverged = 12,
    /// The GPU backend failed.
    Gpu = 13,
    /// Knots or coefficients passed to a constructor are inconsistent.
    InvalidData = 14,
    /// A point lies outside the spline's domain where the call requires it
    /// inside (checked evaluation).
    OutsideDomain = 15,
    /// A boundary condition cannot be used on an axis (a not-a-knot end
    /// paired with a derivative end, a derivative order other than 1 or 2,
    /// explicit end values on a second axis, an unknown condition code).
    InvalidBoundary = 16,
    /// The values at the two ends of a periodic axis differ.
    PeriodicMismatch = 17,
    /// Explicit end-derivative values of the wrong length, missing, or given
    /// for an end that takes none.
    EndValuesShape = 18,
    /// A required pointer argument is NULL (or misaligned for its type).
    NullPointer = 100,
    /// An argument checked by the C layer is invalid: `ndim` outside 1-6, a
    /// buffer shorter than needed, a size product that overflows, an unknown
    /// boundary code.
    InvalidArgument = 101,
    /// An internal error (a Rust panic) was caught at the boundary. Please
    /// report it; the library remains usable.
    Panic = 102,
    /// An error kind this version of the C layer does not know.
    Unknown = 103,
}

impl Status {
    /// The code of a library error.
    pub fn of(e: &FitError) -> Status {
        match e {
            FitError::AxisTooShort { .. } => Status::AxisTooShort,
            FitError::NonFiniteSite { .. } => Status::NonFiniteSite,
            FitError::NonIncreasingSites { .. } => Status::NonIncreasingSites,
            FitError::NonFiniteValue { .. } => Status::NonFiniteValue,
            FitError::ShapeMismatch { .. } => Status::ShapeMismatch,
            FitError::DimensionMismatch { .. } => Status::DimensionMismatch,
            FitError::SingularMatrix { .. } => Status::SingularMatrix,
            FitError::NonFiniteResult { .. } => Status::NonFiniteResult,
            FitError::IsaUnavailable { .. } => Status::IsaUnavailable,
            FitError::InvalidParameter { .. } => Status::InvalidParameter,
            FitError::NoConvergence { .. } => Status::NoConvergence,
            FitError::Diverged { .. } => Status::Diverged,
            FitError::Gpu(_) => Status::Gpu,
            FitError::InvalidData(_) => Status::InvalidData,
            FitError::OutsideDomain { .. } => Status::OutsideDomain,
            FitError::InvalidBoundary { .. } => Status::InvalidBoundary,
            FitError::PeriodicMismatch { .. } => Status::PeriodicMismatch,
            FitError::EndValuesShape { .. } => Status::EndValuesShape,
            _ => Status::Unknown,
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
            Status::IsaUnavailable => "BSFIT_STATUS_ISA_UNAVAILABLE\0",
            Status::InvalidParameter => "BSFIT_STATUS_INVALID_PARAMETER\0",
            Status::NoConvergence => "BSFIT_STATUS_NO_CONVERGENCE\0",
            Status::Diverged => "BSFIT_STATUS_DIVERGED\0",
            Status::Gpu => "BSFIT_STATUS_GPU\0",
            Status::InvalidData => "BSFIT_STATUS_INVALID_DATA\0",
            Status::OutsideDomain => "BSFIT_STATUS_OUTSIDE_DOMAIN\0",
            Status::InvalidBoundary => "BSFIT_STATUS_INVALID_BOUNDARY\0",
            Status::PeriodicMismatch => "BSFIT_STATUS_PERIODIC_MISMATCH\0",
            Status::EndValuesShape => "BSFIT_STATUS_END_VALUES_SHAPE\0",
            Status::NullPointer => "BSFIT_STATUS_NULL_POINTER\0",
            Status::InvalidArgument => "BSFIT_STATUS_INVALID_ARGUMENT\0",
            Status::Panic => "BSFIT_STATUS_PANIC\0",
            Status::Unknown => "BSFIT_STATUS_UNKNOWN\0",
        }
    }

    /// The status with code `code`, if there is one.
    pub(crate) fn from_code(code: i32) -> Option<Status> {
        const ALL: [Status; 23] = [
            Status::Ok,
            Status::AxisTooShort,
            Status::NonFiniteSite,
            Status::NonIncreasingSites,
            Status::NonFiniteValue,
            Status::ShapeMismatch,
            Status::DimensionMismatch,
            Status::SingularMatrix,
            Status::NonFiniteResult,
            Status::IsaUnavailable,
            Status::InvalidParameter,
            Status::NoConvergence,
            Status::Diverged,
            Status::Gpu,
            Status::InvalidData,
            Status::OutsideDomain,
            Status::InvalidBoundary,
            Status::PeriodicMismatch,
            Status::EndValuesShape,
            Status::NullPointer,
            Status::InvalidArgument,
            Status::Panic,
            Status::Unknown,
        ];
        ALL.into_iter().find(|s| *s as i32 == code)
    }
}

/// An error raised by an entry point: a library error, or one the C layer
/// detects before calling the library.
#[derive(Debug)]
pub(crate) enum Error {
    /// From the library.
    Fit(FitError),
    /// A NULL (or misaligned) pointer argument, by parameter name.
    Null(&'static str),
    /// An invalid argument, with the message.
    Arg(String),
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
            Error::Fit(e) => (Status::of(&e), e.to_string()),
            Error::Null(name) => (
                Status::NullPointer,
                format!("argument `{name}` is NULL or misaligned"),
            ),
            Error::Arg(msg) => (Status::InvalidArgument, msg),
        }
    }
}

/// Shorthand for an [`Error::Arg`].
pub(crate) fn arg_err<T>(msg: String) -> Result<T, Error> {
    Err(Error::Arg(msg))
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
/// [`Status::Panic`]), maps errors to their status code, and records the
/// thread's last error message (cleared on success).
///
/// Every `extern "C"` function of this crate that can fail is one call to
/// this guard, so no panic unwinds into the caller.
pub(crate) fn guard<F>(body: F) -> Status
where
    F: FnOnce() -> Result<(), Error>,
{
    // The body only touches caller memory through checked pointers and
    // writes its outputs last; a panic leaves nothing half-built that a later
    // call could observe through a handle, so asserting unwind safety is sound.
    match panic::catch_unwind(AssertUnwindSafe(body)) {
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
            let msg = format!("internal error (panic): {}", panic_message(&*payload));
            // Dropping a payload can itself panic; do not let that escape either.
            if let Err(inner) = panic::catch_unwind(AssertUnwindSafe(move || drop(payload))) {
                std::mem::forget(inner);
            }
            set_last_error(&msg);
            Status::Panic
        }
    }
}
