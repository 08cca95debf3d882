//! # bsfit C ABI
//!
//! A thin C interface to [`bsfit_core`] (the `bsfit` crate): exact cubic
//! B-spline interpolation on tensor-product grids of 1-6 dimensions with
//! non-uniform axes (scipy's not-a-knot knots), and the uniform 3D prefilter
//! (`scipy.ndimage.spline_filter` for order 3). The header `include/bsfit.h`
//! is generated from this crate by cbindgen; the doc comments below are the
//! header's documentation.
//!
//! ## Conventions
//! * Every function that can fail returns a [`Status`]; `BSFIT_STATUS_OK` (0)
//!   is success. On failure `bsfit_last_error_message()` describes the error.
//! * Out-parameters (handles, scalars, caller buffers) are written only on
//!   success, except where a function says otherwise.
//! * Arrays are row-major (C order): the last axis varies fastest.
//! * NULL pointers, `ndim` outside 1-6, buffers shorter than needed and size
//!   products that overflow are reported as errors; they never crash. What C
//!   cannot check (that a non-NULL pointer points to as many elements as its
//!   length says) is the caller's responsibility.
//! * No panic crosses the boundary: an internal error comes back as
//!   `BSFIT_STATUS_PANIC`. Memory exhaustion aborts the process, as in C++
//!   code built without exceptions.
//!
//! ## Thread safety
//! A `bsfit_spline` is immutable: any number of threads may evaluate the same
//! spline concurrently. A `bsfit_fitter` holds scratch memory reused by every
//! refit: use it from one thread at a time (one fitter per thread, or a lock).
//! Fitting and batch evaluation run in parallel on an internal thread pool
//! sized to the machine (`RAYON_NUM_THREADS` overrides it).
#![warn(missing_docs)]
#![warn(clippy::undocumented_unsafe_blocks)]

mod ptr;
mod sensitivity;
mod status;

#[cfg(test)]
mod tests;

pub use status::Status;

use bsfit_core::grid3::{self, Boundary as CoreBoundary};
use bsfit_core::{
    BoundaryCondition, DynFitter, DynSpline, EndCondition, FitError, Real, Workspace,
};
use ndarray::ArrayView3;
use ptr::{Out, axes, check_capacity, checked_product, get, get_mut, slice, slice_mut};
use status::{Error, arg_err, guard};
use std::ffi::c_char;

/// A fitted cubic tensor-product spline of 1-6 dimensions (opaque).
///
/// Created by `bsfit_spline_fit`, `bsfit_spline_from_parts`,
/// `bsfit_fitter_fit` or `bsfit_fitter_spline`; released by
/// `bsfit_spline_free`. Immutable: safe to evaluate from many threads at once.
#[derive(Debug, Clone)]
pub struct Spline {
    inner: DynSpline,
}

/// A fit plan for one grid plus its scratch memory (opaque): refits of new
/// values on the same grid skip the per-axis factorisations and allocate
/// nothing.
///
/// Created by `bsfit_fitter_new`, released by `bsfit_fitter_free`. Not safe
/// to use from two threads at the same time.
#[derive(Debug)]
pub struct Fitter {
    plan: DynFitter,
    ws: Workspace,
    /// Grid points, cached: `DynFitter::len` builds the shape as a `Vec`,
    /// and a refit must not allocate.
    len: usize,
    /// Coefficients per fit (cached for the same reason).
    coefs_len: usize,
}

/// End condition of one end of an axis of the N-D fitter
/// (`bsfit_fitter_new_bc`), with scipy's `make_interp_spline` meaning.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// Not-a-knot (both ends of the axis, or neither).
    NotAKnot = 0,
    /// Second derivative 0.
    Natural = 1,
    /// First derivative 0.
    Clamped = 2,
    /// Periodic (both ends of the axis).
    Periodic = 3,
    /// First derivative given with each fit (`bsfit_fitter_refit_ends`).
    Deriv1 = 4,
    /// Second derivative given with each fit (`bsfit_fitter_refit_ends`).
    Deriv2 = 5,
}

/// The boundary conditions of `left.len()` axes from their end codes.
fn conditions(left: &[u32], right: &[u32]) -> Result<Vec<BoundaryCondition>, Error> {
    let end = |axis: usize, c: u32| -> Result<Option<EndCondition>, Error> {
        Ok(Some(match c {
            0 => EndCondition::NotAKnot,
            1 => EndCondition::Natural,
            2 => EndCondition::Clamped,
            3 => return Ok(None),
            4 => EndCondition::Derivative { order: 1 },
            5 => EndCondition::Derivative { order: 2 },
            _ => {
                return Err(FitError::InvalidBoundary {
                    axis,
                    reason: format!("end code {c} is not a bsfit_end (0 to 5)"),
                }
                .into());
            }
        }))
    };
    left.iter()
        .zip(right)
        .enumerate()
        .map(|(axis, (&l, &r))| match (end(axis, l)?, end(axis, r)?) {
            (None, None) => Ok(BoundaryCondition::PERIODIC),
            (Some(l), Some(r)) => Ok(BoundaryCondition::ends(l, r)),
            _ => Err(FitError::InvalidBoundary {
                axis,
                reason: "BSFIT_END_PERIODIC applies to both ends".into(),
            }
            .into()),
        })
        .collect()
}

/// Boundary condition of one axis of the 3D prefilter: what the
/// coefficients outside the grid are.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Boundary {
    /// `c[i + n] = c[i]` (scipy `mode='grid-wrap'`).
    Periodic = 0,
    /// `c[-1] = c[n] = 0`.
    Zero = 1,
    /// Reflection about the end samples without repeating them:
    /// `c[-j] = c[j]`, `c[n-1+j] = c[n-1-j]` (scipy `mode='mirror'`).
    Mirror = 2,
}

/// The version of the library, e.g. `"0.1.0"` (a static string; never free it).
///
/// Thread safety: may be called from any thread.
#[unsafe(no_mangle)]
pub extern "C" fn bsfit_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// Returns to the allocator the memory the one-shot fits and prefilters
/// keep for their next call: the workspaces of recent calls and the
/// coefficient arrays of freed splines (at most 4 x 32 MiB and 1 GiB).
/// Nothing else changes; the next call allocates afresh.
///
/// Thread safety: may be called from any thread, at any time.
#[unsafe(no_mangle)]
pub extern "C" fn bsfit_release_cached_memory() {
    bsfit_core::release_cached_memory();
}

/// The message of the last failed `bsfit_*` call on the calling thread, or
/// `""` if the last call succeeded. The message names the axis, index or
/// value at fault, e.g. `"axis 1: sites must be strictly increasing, but
/// x[3] = 0.5 <= x[2] = 0.5"`.
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
        .unwrap_or(Status::Unknown)
        .name()
        .as_ptr()
        .cast()
}

// ---------------------------------------------------------------------------
// Splines
// ---------------------------------------------------------------------------

/// Fails unless `ndim` is the spline's dimension: checked before a point of
/// `ndim` coordinates is read, so a wrong `ndim` never reads past the
/// caller's array.
fn check_point_dim(s: &Spline, ndim: usize) -> Result<(), Error> {
    let want = s.inner.ndim();
    if ndim != want {
        return Err(FitError::DimensionMismatch {
            expected: want,
            got: ndim,
        }
        .into());
    }
    Ok(())
}

/// Moves a spline to the heap and hands its pointer to the caller.
///
/// # Safety
/// `out` must be valid for a write.
unsafe fn emit_spline(out: Out<*mut Spline>, inner: DynSpline) {
    let p = Box::into_raw(Box::new(Spline { inner }));
    // SAFETY: `out` was checked by `Out::new`; validity is the caller's contract.
    unsafe { out.write(p) }
}

/// Fits the interpolating cubic spline (not-a-knot end conditions on every
/// axis, as scipy's `make_interp_spline(x, y, k=3)` per axis) to values on
/// the grid `sites[0] x ... x sites[ndim-1]`.
///
/// * `ndim`: number of dimensions, 1 to 6.
/// * `sites[k]`: the `lens[k]` strictly increasing, finite sites of axis `k`
///   (at least 4 per axis; any spacing).
/// * `values`: the `lens[0] * ... * lens[ndim-1]` values, row-major.
/// * `out`: receives the new spline on success (free it with
///   `bsfit_spline_free`); left untouched on failure.
///
/// Errors: `BSFIT_STATUS_INVALID_ARGUMENT` (ndim, size overflow),
/// `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_AXIS_TOO_SHORT`,
/// `BSFIT_STATUS_NON_FINITE_SITE`, `BSFIT_STATUS_NON_INCREASING_SITES`,
/// `BSFIT_STATUS_NON_FINITE_VALUE`, `BSFIT_STATUS_SINGULAR_MATRIX`,
/// `BSFIT_STATUS_NON_FINITE_RESULT`.
///
/// Thread safety: reentrant; the inputs are only read.
///
/// # Safety
/// Non-NULL pointers must point to as many elements as described above.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_spline_fit(
    ndim: usize,
    sites: *const *const f64,
    lens: *const usize,
    values: *const f64,
    out: *mut *mut Spline,
) -> Status {
    guard(|| {
        let out = Out::new(out, "out")?;
        // SAFETY: `ndim` arrays of `lens[k]` sites (caller's contract).
        let axes = unsafe { axes(ndim, sites, lens, ("sites", "lens"), true) }?;
        let lens: Vec<usize> = axes.iter().map(|a| a.len()).collect();
        let total = checked_product(&lens, "lens")?;
        // SAFETY: `total` values (caller's contract).
        let values = unsafe { slice(values, total, "values") }?;
        let spline = DynSpline::fit(&axes, values)?;
        // SAFETY: `out` is a valid slot (caller's contract).
        unsafe { emit_spline(out, spline) };
        Ok(())
    })
}

/// Builds a spline from knot vectors and row-major coefficients (as read back
/// by `bsfit_spline_knots` and `bsfit_spline_coefs`, or computed elsewhere,
/// e.g. by scipy), after checking that they describe a clamped cubic spline:
/// every knot vector has `n + 4 >= 8` finite knots, four equal knots at each
/// end and strictly increasing knots in between; `n_coefs` is the product of
/// the `n`s; every coefficient is finite.
///
/// * `knots[k]`: the `knot_lens[k]` knots of axis `k`, `k < ndim`.
/// * `coefs`: `n_coefs` coefficients, row-major.
/// * `out`: receives the new spline on success; untouched on failure.
///
/// Errors: `BSFIT_STATUS_INVALID_ARGUMENT`, `BSFIT_STATUS_NULL_POINTER`,
/// `BSFIT_STATUS_INVALID_DATA` (naming the inconsistency).
///
/// Thread safety: reentrant; the inputs are only read (and copied).
///
/// # Safety
/// Non-NULL pointers must point to as many elements as described above.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_spline_from_parts(
    ndim: usize,
    knots: *const *const f64,
    knot_lens: *const usize,
    coefs: *const f64,
    n_coefs: usize,
    out: *mut *mut Spline,
) -> Status {
    guard(|| {
        let out = Out::new(out, "out")?;
        // SAFETY: `ndim` arrays of `knot_lens[k]` knots (caller's contract).
        let knots = unsafe { axes(ndim, knots, knot_lens, ("knots", "knot_lens"), false) }?;
        // SAFETY: `n_coefs` values (caller's contract).
        let coefs = unsafe { slice(coefs, n_coefs, "coefs") }?;
        let spline =
            DynSpline::from_parts(knots.iter().map(|k| k.to_vec()).collect(), coefs.to_vec())?;
        // SAFETY: `out` is a valid slot (caller's contract).
        unsafe { emit_spline(out, spline) };
        Ok(())
    })
}

/// Releases a spline. NULL is allowed (nothing happens).
///
/// Thread safety: no other thread may use the spline during or after this call.
///
/// # Safety
/// `spline` must be NULL or a pointer returned by this library and not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_spline_free(spline: *mut Spline) {
    if spline.is_null() {
        return;
    }
    // SAFETY: created by `Box::into_raw` in this library and not yet freed
    // (caller's contract); dropping a `DynSpline` does not panic.
    drop(unsafe { Box::from_raw(spline) });
}

/// Number of dimensions of the spline (1-6) into `*out`.
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`.
///
/// Thread safety: safe to call concurrently on the same spline.
///
/// # Safety
/// `spline` must be NULL or a live spline; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_spline_ndim(spline: *const Spline, out: *mut usize) -> Status {
    guard(|| {
        // SAFETY: a live spline (caller's contract).
        let s = unsafe { get(spline, "spline") }?;
        let out = Out::new(out, "out")?;
        // SAFETY: writable (caller's contract).
        unsafe { out.write(s.inner.ndim()) };
        Ok(())
    })
}

/// The spline's shape (coefficients per axis, equal to the fitted grid's
/// sites per axis) into `out[0 .. ndim]`; `out_len` must be at least `ndim`.
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_INVALID_ARGUMENT`
/// (buffer too short).
///
/// Thread safety: safe to call concurrently on the same spline.
///
/// # Safety
/// `spline` must be NULL or a live spline; `out` NULL or writable for `out_len` elements.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_spline_shape(
    spline: *const Spline,
    out: *mut usize,
    out_len: usize,
) -> Status {
    guard(|| {
        // SAFETY: a live spline (caller's contract).
        let s = unsafe { get(spline, "spline") }?;
        let shape = s.inner.shape();
        check_capacity(out_len, shape.len(), "out")?;
        // SAFETY: `out_len` writable elements (caller's contract).
        let out = unsafe { slice_mut(out, out_len, "out") }?;
        out[..shape.len()].copy_from_slice(&shape);
        Ok(())
    })
}

/// Number of knots of `axis` (`n + 4` for `n` sites) into `*out`.
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_INVALID_PARAMETER`
/// (`axis >= ndim`).
///
/// Thread safety: safe to call concurrently on the same spline.
///
/// # Safety
/// `spline` must be NULL or a live spline; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_spline_knots_len(
    spline: *const Spline,
    axis: usize,
    out: *mut usize,
) -> Status {
    guard(|| {
        // SAFETY: a live spline (caller's contract).
        let s = unsafe { get(spline, "spline") }?;
        let out = Out::new(out, "out")?;
        let n = s.inner.knots(axis)?.len();
        // SAFETY: writable (caller's contract).
        unsafe { out.write(n) };
        Ok(())
    })
}

/// Copies the knots of `axis` into `out` (`out_len` at least
/// `bsfit_spline_knots_len`). They equal scipy's `make_interp_spline(x, y,
/// k=3).t` for the axis' sites: `x0` four times, `x2 ... x(n-3)`, `x(n-1)` four
/// times.
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_INVALID_PARAMETER`
/// (`axis >= ndim`), `BSFIT_STATUS_INVALID_ARGUMENT` (buffer too short).
///
/// Thread safety: safe to call concurrently on the same spline.
///
/// # Safety
/// `spline` must be NULL or a live spline; `out` NULL or writable for `out_len` elements.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_spline_knots(
    spline: *const Spline,
    axis: usize,
    out: *mut f64,
    out_len: usize,
) -> Status {
    guard(|| {
        // SAFETY: a live spline (caller's contract).
        let s = unsafe { get(spline, "spline") }?;
        let t = s.inner.knots(axis)?;
        check_capacity(out_len, t.len(), "out")?;
        // SAFETY: `out_len` writable elements (caller's contract).
        let out = unsafe { slice_mut(out, out_len, "out") }?;
        out[..t.len()].copy_from_slice(t);
        Ok(())
    })
}

/// Number of coefficients (the product of the shape) into `*out`.
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`.
///
/// Thread safety: safe to call concurrently on the same spline.
///
/// # Safety
/// `spline` must be NULL or a live spline; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_spline_coefs_len(spline: *const Spline, out: *mut usize) -> Status {
    guard(|| {
        // SAFETY: a live spline (caller's contract).
        let s = unsafe { get(spline, "spline") }?;
        let out = Out::new(out, "out")?;
        // SAFETY: writable (caller's contract).
        unsafe { out.write(s.inner.coefficients().len()) };
        Ok(())
    })
}

/// Copies the row-major coefficients into `out` (`out_len` at least
/// `bsfit_spline_coefs_len`).
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_INVALID_ARGUMENT`
/// (buffer too short).
///
/// Thread safety: safe to call concurrently on the same spline.
///
/// # Safety
/// `spline` must be NULL or a live spline; `out` NULL or writable for `out_len` elements.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_spline_coefs(
    spline: *const Spline,
    out: *mut f64,
    out_len: usize,
) -> Status {
    guard(|| {
        // SAFETY: a live spline (caller's contract).
        let s = unsafe { get(spline, "spline") }?;
        let c = s.inner.coefficients();
        check_capacity(out_len, c.len(), "out")?;
        // SAFETY: `out_len` writable elements (caller's contract).
        let out = unsafe { slice_mut(out, out_len, "out") }?;
        out[..c.len()].copy_from_slice(c);
        Ok(())
    })
}

/// The spline's value at the point `x[0 .. ndim]` into `*out`.
///
/// `ndim` must equal the spline's dimension. Outside the fitted domain the
/// boundary polynomial pieces continue (scipy's `extrapolate=True`); a NaN
/// coordinate gives NaN.
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_DIMENSION_MISMATCH`.
///
/// Thread safety: safe to call concurrently on the same spline.
///
/// # Safety
/// `spline` must be NULL or a live spline; `x` NULL or `ndim` readable
/// values; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_spline_eval(
    spline: *const Spline,
    x: *const f64,
    ndim: usize,
    out: *mut f64,
) -> Status {
    guard(|| {
        // SAFETY: a live spline (caller's contract).
        let s = unsafe { get(spline, "spline") }?;
        check_point_dim(s, ndim)?;
        // SAFETY: `ndim` values (caller's contract).
        let x = unsafe { slice(x, ndim, "x") }?;
        let out = Out::new(out, "out")?;
        let v = s.inner.eval(x)?;
        // SAFETY: writable (caller's contract).
        unsafe { out.write(v) };
        Ok(())
    })
}

/// The mixed partial derivative `d^(o0+...+o(ndim-1)) s / dx0^o0 ... dx(ndim-1)^o(ndim-1)`
/// at `x` into `*out`, with the per-axis orders `orders[0 .. ndim]` (all 0:
/// the value). Orders up to 3 per axis are exact (the third derivative is
/// piecewise constant); higher orders give 0.
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_DIMENSION_MISMATCH`.
///
/// Thread safety: safe to call concurrently on the same spline.
///
/// # Safety
/// `spline` must be NULL or a live spline; `x` and `orders` NULL or `ndim`
/// readable values each; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_spline_eval_deriv(
    spline: *const Spline,
    x: *const f64,
    orders: *const usize,
    ndim: usize,
    out: *mut f64,
) -> Status {
    guard(|| {
        // SAFETY: a live spline (caller's contract).
        let s = unsafe { get(spline, "spline") }?;
        check_point_dim(s, ndim)?;
        // SAFETY: `ndim` values (caller's contract).
        let x = unsafe { slice(x, ndim, "x") }?;
        // SAFETY: `ndim` values (caller's contract).
        let orders = unsafe { slice(orders, ndim, "orders") }?;
        let out = Out::new(out, "out")?;
        let v = s.inner.eval_deriv(x, orders)?;
        // SAFETY: writable (caller's contract).
        unsafe { out.write(v) };
        Ok(())
    })
}

/// The gradient `[ds/dx0, ..., ds/dx(ndim-1)]` at `x[0 .. ndim]` into
/// `out[0 .. ndim]` (`out_len >= ndim`).
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_DIMENSION_MISMATCH`,
/// `BSFIT_STATUS_INVALID_ARGUMENT` (buffer too short).
///
/// Thread safety: safe to call concurrently on the same spline.
///
/// # Safety
/// `spline` must be NULL or a live spline; `x` NULL or `ndim` readable
/// values; `out` NULL or writable for `out_len` elements.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_spline_grad(
    spline: *const Spline,
    x: *const f64,
    ndim: usize,
    out: *mut f64,
    out_len: usize,
) -> Status {
    guard(|| {
        // SAFETY: a live spline (caller's contract).
        let s = unsafe { get(spline, "spline") }?;
        check_point_dim(s, ndim)?;
        // SAFETY: `ndim` values (caller's contract).
        let x = unsafe { slice(x, ndim, "x") }?;
        check_capacity(out_len, ndim, "out")?;
        // SAFETY: `out_len` writable elements (caller's contract).
        let out = unsafe { slice_mut(out, out_len, "out") }?;
        let mut g = [0.0; bsfit_core::tensor::MAX_DIM];
        s.inner.grad_into(x, &mut g[..ndim])?;
        out[..ndim].copy_from_slice(&g[..ndim]);
        Ok(())
    })
}

/// The Hessian `H[i][j] = d2s/dxi dxj` at `x[0 .. ndim]` into
/// `out[0 .. ndim*ndim]`, row-major (`out_len >= ndim*ndim`; symmetric).
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_DIMENSION_MISMATCH`,
/// `BSFIT_STATUS_INVALID_ARGUMENT` (buffer too short).
///
/// Thread safety: safe to call concurrently on the same spline.
///
/// # Safety
/// `spline` must be NULL or a live spline; `x` NULL or `ndim` readable
/// values; `out` NULL or writable for `out_len` elements.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_spline_hessian(
    spline: *const Spline,
    x: *const f64,
    ndim: usize,
    out: *mut f64,
    out_len: usize,
) -> Status {
    guard(|| {
        // SAFETY: a live spline (caller's contract).
        let s = unsafe { get(spline, "spline") }?;
        check_point_dim(s, ndim)?;
        // SAFETY: `ndim` values (caller's contract).
        let x = unsafe { slice(x, ndim, "x") }?;
        let need = ndim * ndim;
        check_capacity(out_len, need, "out")?;
        // SAFETY: `out_len` writable elements (caller's contract).
        let out = unsafe { slice_mut(out, out_len, "out") }?;
        let mut h = [0.0; bsfit_core::tensor::MAX_DIM * bsfit_core::tensor::MAX_DIM];
        s.inner.hessian_into(x, &mut h[..need])?;
        out[..need].copy_from_slice(&h[..need]);
        Ok(())
    })
}

/// Batch evaluation: the values (`orders == NULL`) or the mixed partial
/// derivative of orders `orders[0 .. ndim]` at `n` points, given row-major in
/// `points[0 .. n*ndim]` (point `i` is `points[i*ndim .. i*ndim + ndim]`),
/// into `out[0 .. n]` (`out_len >= n`). Runs in parallel.
///
/// With `extrapolate` false, a point outside the fitted domain on any axis
/// gives NaN (scipy's `extrapolate=False`); with `extrapolate` true the
/// boundary polynomials continue. `n == 0` succeeds without reading or
/// writing anything (the pointers may then be NULL).
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_DIMENSION_MISMATCH`
/// (`ndim` is not the spline's), `BSFIT_STATUS_INVALID_ARGUMENT` (buffer
/// too short, `n*ndim` overflows).
///
/// Thread safety: safe to call concurrently on the same spline.
///
/// # Safety
/// `spline` must be NULL or a live spline; `points` NULL or `n*ndim`
/// readable values; `orders` NULL or `ndim` readable values; `out` NULL or
/// writable for `out_len` elements, not overlapping `points`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_spline_eval_many(
    spline: *const Spline,
    points: *const f64,
    n: usize,
    ndim: usize,
    orders: *const usize,
    extrapolate: bool,
    out: *mut f64,
    out_len: usize,
) -> Status {
    guard(|| {
        // SAFETY: a live spline (caller's contract).
        let s = unsafe { get(spline, "spline") }?;
        check_point_dim(s, ndim)?;
        if n == 0 {
            return Ok(());
        }
        let Some(len) = n.checked_mul(ndim) else {
            return arg_err(format!("n * ndim = {n} * {ndim} overflows size_t"));
        };
        // SAFETY: `n * ndim` values (caller's contract).
        let points = unsafe { slice(points, len, "points") }?;
        let orders = if orders.is_null() {
            None
        } else {
            // SAFETY: `ndim` values (caller's contract).
            Some(unsafe { slice(orders, ndim, "orders") }?)
        };
        check_capacity(out_len, n, "out")?;
        // SAFETY: `out_len` writable elements, disjoint from `points` (caller's contract).
        let out = unsafe { slice_mut(out, out_len, "out") }?;
        s.inner
            .eval_many_into(points, orders, extrapolate, &mut out[..n])?;
        Ok(())
    })
}

// ---------------------------------------------------------------------------
// Fitters
// ---------------------------------------------------------------------------

/// Creates a fit plan for the grid `sites[0] x ... x sites[ndim-1]` (same
/// arguments and checks as `bsfit_spline_fit`): validates the sites,
/// factors each axis' collocation matrix once, and allocates the scratch
/// memory every later refit reuses.
///
/// `out` receives the new fitter on success (free it with
/// `bsfit_fitter_free`); it is left untouched on failure.
///
/// Errors: `BSFIT_STATUS_INVALID_ARGUMENT`, `BSFIT_STATUS_NULL_POINTER`,
/// `BSFIT_STATUS_AXIS_TOO_SHORT`, `BSFIT_STATUS_NON_FINITE_SITE`,
/// `BSFIT_STATUS_NON_INCREASING_SITES`, `BSFIT_STATUS_SINGULAR_MATRIX`.
///
/// Thread safety: reentrant. The new fitter must then be used by one thread
/// at a time.
///
/// # Safety
/// Non-NULL pointers must point to as many elements as described.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_fitter_new(
    ndim: usize,
    sites: *const *const f64,
    lens: *const usize,
    out: *mut *mut Fitter,
) -> Status {
    guard(|| {
        let out = Out::new(out, "out")?;
        // SAFETY: `ndim` arrays of `lens[k]` sites (caller's contract).
        let axes = unsafe { axes(ndim, sites, lens, ("sites", "lens"), true) }?;
        let plan = DynFitter::new(&axes)?;
        // SAFETY: `out` is a valid slot (caller's contract).
        unsafe { emit_fitter(out, plan) };
        Ok(())
    })
}

/// Boxes a fit plan with its workspace into `out`.
///
/// # Safety
/// `out` is a valid slot.
unsafe fn emit_fitter(out: Out<*mut Fitter>, plan: DynFitter) {
    let ws = plan.workspace();
    let len = plan.len();
    let coefs_len = plan.coef_shape().iter().product();
    let p = Box::into_raw(Box::new(Fitter {
        plan,
        ws,
        len,
        coefs_len,
    }));
    // SAFETY: `out` is a valid slot (caller's contract).
    unsafe { out.write(p) };
}

/// `bsfit_fitter_new` with a boundary condition per axis: `left[k]` and
/// `right[k]` are the `bsfit_end` codes of the ends of axis `k` (both
/// `BSFIT_END_PERIODIC` for a periodic axis; not-a-knot on both ends or
/// neither). Axes whose condition is not not-a-knot have `n + 2`
/// coefficients (`bsfit_fitter_coefs_len`); knots and coefficients are
/// those of scipy's `make_interp_spline(x, y, k=3, bc_type=...)` per axis.
/// `BSFIT_END_DERIV1`/`BSFIT_END_DERIV2` take their values with each fit
/// (`bsfit_fitter_refit_ends`), on one axis only.
///
/// Errors: as `bsfit_fitter_new`, and `BSFIT_STATUS_INVALID_BOUNDARY`
/// (an unknown code, `BSFIT_END_PERIODIC` on one end only, not-a-knot with
/// a derivative end, derivative values on two axes).
///
/// Thread safety: reentrant.
///
/// # Safety
/// Non-NULL pointers must point to as many elements as described (`left`
/// and `right`: `ndim` values each).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_fitter_new_bc(
    ndim: usize,
    sites: *const *const f64,
    lens: *const usize,
    left: *const End,
    right: *const End,
    out: *mut *mut Fitter,
) -> Status {
    guard(|| {
        let out = Out::new(out, "out")?;
        // SAFETY: `ndim` arrays of `lens[k]` sites (caller's contract).
        let axes = unsafe { axes(ndim, sites, lens, ("sites", "lens"), true) }?;
        // SAFETY: `ndim` codes each (caller's contract), read as integers
        // (a C caller may pass any value; unknown codes are errors).
        let (l, r) = unsafe {
            (
                slice(left.cast::<u32>(), ndim, "left")?,
                slice(right.cast::<u32>(), ndim, "right")?,
            )
        };
        let plan = DynFitter::with_boundary(&axes, &conditions(l, r)?)?;
        // SAFETY: `out` is a valid slot (caller's contract).
        unsafe { emit_fitter(out, plan) };
        Ok(())
    })
}

/// Number of coefficients per fit into `*out`: the grid points, with `n + 2`
/// on the axes whose condition is not not-a-knot.
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`.
///
/// Thread safety: read-only, but a fitter must not be used by two threads at once.
///
/// # Safety
/// `fitter` must be NULL or a live fitter; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_fitter_coefs_len(fitter: *const Fitter, out: *mut usize) -> Status {
    guard(|| {
        // SAFETY: a live fitter (caller's contract).
        let f = unsafe { get(fitter, "fitter") }?;
        let out = Out::new(out, "out")?;
        // SAFETY: writable (caller's contract).
        unsafe { out.write(f.coefs_len) };
        Ok(())
    })
}

/// Releases a fitter. NULL is allowed (nothing happens).
///
/// Thread safety: no other thread may use the fitter during or after this call.
///
/// # Safety
/// `fitter` must be NULL or a pointer returned by this library and not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_fitter_free(fitter: *mut Fitter) {
    if fitter.is_null() {
        return;
    }
    // SAFETY: created by `Box::into_raw` in this library and not yet freed
    // (caller's contract).
    drop(unsafe { Box::from_raw(fitter) });
}

/// Number of dimensions of the fitter's grid into `*out`.
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`.
///
/// Thread safety: read-only, but a fitter must not be used by two threads at once.
///
/// # Safety
/// `fitter` must be NULL or a live fitter; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_fitter_ndim(fitter: *const Fitter, out: *mut usize) -> Status {
    guard(|| {
        // SAFETY: a live fitter (caller's contract).
        let f = unsafe { get(fitter, "fitter") }?;
        let out = Out::new(out, "out")?;
        // SAFETY: writable (caller's contract).
        unsafe { out.write(f.plan.ndim()) };
        Ok(())
    })
}

/// Number of grid points (values per fit, coefficients per refit) into `*out`.
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`.
///
/// Thread safety: read-only, but a fitter must not be used by two threads at once.
///
/// # Safety
/// `fitter` must be NULL or a live fitter; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_fitter_len(fitter: *const Fitter, out: *mut usize) -> Status {
    guard(|| {
        // SAFETY: a live fitter (caller's contract).
        let f = unsafe { get(fitter, "fitter") }?;
        let out = Out::new(out, "out")?;
        // SAFETY: writable (caller's contract).
        unsafe { out.write(f.len) };
        Ok(())
    })
}

/// Refits: solves for the coefficients of row-major `values` (`n_values`
/// must equal `bsfit_fitter_len`) and writes them, row-major, to
/// `coefs[0 .. m]`, `m = bsfit_fitter_coefs_len` (`coefs_len >= m`; `m` is
/// `n_values` unless an axis has another condition than not-a-knot). The
/// plan's factorisations and scratch are reused: the refit allocates no
/// memory (on grids of 16384 points or more it runs in parallel and hands
/// one job to the thread pool, whose queue allocates one block per 63 jobs).
///
/// The solve runs in `coefs` itself (no copy): if it fails after the argument
/// checks (`BSFIT_STATUS_NON_FINITE_VALUE`, `BSFIT_STATUS_NON_FINITE_RESULT`),
/// `coefs[0 .. m]` is filled with NaN rather than left half-written.
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_INVALID_ARGUMENT`
/// (length), `BSFIT_STATUS_NON_FINITE_VALUE`, `BSFIT_STATUS_NON_FINITE_RESULT`,
/// `BSFIT_STATUS_PERIODIC_MISMATCH`, `BSFIT_STATUS_END_VALUES_SHAPE` (an
/// axis takes end values: use `bsfit_fitter_refit_ends`).
///
/// Thread safety: mutates the fitter's scratch: one thread at a time per fitter.
///
/// # Safety
/// `fitter` must be NULL or a live fitter; `values` NULL or `n_values`
/// readable values; `coefs` NULL or writable for `coefs_len` elements, not
/// overlapping `values`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_fitter_refit(
    fitter: *mut Fitter,
    values: *const f64,
    n_values: usize,
    coefs: *mut f64,
    coefs_len: usize,
) -> Status {
    // SAFETY: forwarded contract; no end values.
    unsafe {
        bsfit_fitter_refit_ends(
            fitter,
            values,
            n_values,
            std::ptr::null(),
            0,
            std::ptr::null(),
            0,
            coefs,
            coefs_len,
        )
    }
}

/// `bsfit_fitter_refit` with the derivative values of the axis whose ends
/// are `BSFIT_END_DERIV1`/`BSFIT_END_DERIV2`: `left[0 .. n_left]` and
/// `right[0 .. n_right]`, each row-major over the other axes' sites (one
/// value in 1D); an end that takes none has `n = 0` (the pointer may then
/// be NULL).
///
/// Errors: as `bsfit_fitter_refit`; `BSFIT_STATUS_END_VALUES_SHAPE` for a
/// wrong `n_left`/`n_right`.
///
/// Thread safety: mutates the fitter's scratch: one thread at a time per fitter.
///
/// # Safety
/// As `bsfit_fitter_refit`; `left`/`right` NULL or readable for
/// `n_left`/`n_right` values.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)] // values, two end arrays and the output, each with its length
pub unsafe extern "C" fn bsfit_fitter_refit_ends(
    fitter: *mut Fitter,
    values: *const f64,
    n_values: usize,
    left: *const f64,
    n_left: usize,
    right: *const f64,
    n_right: usize,
    coefs: *mut f64,
    coefs_len: usize,
) -> Status {
    guard(|| {
        // SAFETY: a live fitter, used by this thread only (caller's contract).
        let f = unsafe { get_mut(fitter, "fitter") }?;
        // SAFETY: `n_values` values (caller's contract).
        let values = unsafe { slice(values, n_values, "values") }?;
        // SAFETY: `n_left`/`n_right` values; empty ends need no pointer.
        let ends = unsafe {
            [
                end_values(left, n_left, "left")?,
                end_values(right, n_right, "right")?,
            ]
        };
        let total = f.len;
        if n_values != total {
            return arg_err(format!(
                "n_values = {n_values}, but the grid {:?} has {total} points",
                f.plan.shape()
            ));
        }
        check_capacity(coefs_len, f.coefs_len, "coefs")?;
        // SAFETY: `coefs_len` writable elements, disjoint from `values` (caller's contract).
        let coefs = unsafe { slice_mut(coefs, coefs_len, "coefs") }?;
        let out = &mut coefs[..f.coefs_len];
        f.plan
            .fit_into_ends(values, ends, out, &mut f.ws)
            .inspect_err(|_| out.fill(f64::NAN))?;
        Ok(())
    })
}

/// `n` end values at `p`; `n = 0` needs no pointer.
///
/// # Safety
/// If `n > 0`, `p` is NULL or points to `n` readable values.
unsafe fn end_values<'a>(p: *const f64, n: usize, name: &'static str) -> Result<&'a [f64], Error> {
    if n == 0 {
        return Ok(&[]);
    }
    // SAFETY: forwarded contract.
    unsafe { slice(p, n, name) }
}

/// Fits row-major `values` (`n_values` must equal `bsfit_fitter_len`) into
/// a new spline (`*out`, untouched on failure), reusing the plan and its
/// scratch; only the spline's own memory is allocated.
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_INVALID_ARGUMENT`
/// (length), `BSFIT_STATUS_NON_FINITE_VALUE`, `BSFIT_STATUS_NON_FINITE_RESULT`.
///
/// Thread safety: mutates the fitter's scratch: one thread at a time per
/// fitter. The new spline may be shared freely.
///
/// # Safety
/// `fitter` must be NULL or a live fitter; `values` NULL or `n_values`
/// readable values; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_fitter_fit(
    fitter: *mut Fitter,
    values: *const f64,
    n_values: usize,
    out: *mut *mut Spline,
) -> Status {
    guard(|| {
        // SAFETY: a live fitter, used by this thread only (caller's contract).
        let f = unsafe { get_mut(fitter, "fitter") }?;
        // SAFETY: `n_values` values (caller's contract).
        let values = unsafe { slice(values, n_values, "values") }?;
        let out = Out::new(out, "out")?;
        let total = f.len;
        if n_values != total {
            return arg_err(format!(
                "n_values = {n_values}, but the grid {:?} has {total} points",
                f.plan.shape()
            ));
        }
        let mut coefs = vec![0.0; f.coefs_len];
        f.plan.fit_into_with(values, &mut coefs, &mut f.ws)?;
        let spline = f.plan.spline_from(coefs)?;
        // SAFETY: `out` is a valid slot (caller's contract).
        unsafe { emit_spline(out, spline) };
        Ok(())
    })
}

/// The spline on the fitter's grid and knots with row-major coefficients
/// `coefs[0 .. n_coefs]` (`n_coefs` equal to `bsfit_fitter_coefs_len`), e.g. as
/// written by `bsfit_fitter_refit`, into `*out` (untouched on failure).
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_INVALID_PARAMETER`
/// (length), `BSFIT_STATUS_INVALID_DATA` (a non-finite coefficient).
///
/// Thread safety: reads the plan only; a fitter must still not be used by two
/// threads at once.
///
/// # Safety
/// `fitter` must be NULL or a live fitter; `coefs` NULL or `n_coefs`
/// readable values; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_fitter_spline(
    fitter: *const Fitter,
    coefs: *const f64,
    n_coefs: usize,
    out: *mut *mut Spline,
) -> Status {
    guard(|| {
        // SAFETY: a live fitter (caller's contract).
        let f = unsafe { get(fitter, "fitter") }?;
        // SAFETY: `n_coefs` values (caller's contract).
        let coefs = unsafe { slice(coefs, n_coefs, "coefs") }?;
        let out = Out::new(out, "out")?;
        let spline = f.plan.spline_from(coefs.to_vec())?;
        // SAFETY: `out` is a valid slot (caller's contract).
        unsafe { emit_spline(out, spline) };
        Ok(())
    })
}

// ---------------------------------------------------------------------------
// The uniform 3D prefilter
// ---------------------------------------------------------------------------

/// Reads three boundary codes.
///
/// # Safety
/// `boundary` must be NULL or point to 3 readable `bsfit_boundary` values.
unsafe fn boundaries(boundary: *const Boundary) -> Result<[CoreBoundary; 3], Error> {
    // Read as plain integers: a C caller may pass any value, which must not
    // become an invalid Rust enum.
    // SAFETY: 3 values of the same size and alignment as u32 (`repr(u32)`).
    let codes = unsafe { slice(boundary.cast::<u32>(), 3, "boundary") }?;
    let mut out = [CoreBoundary::Periodic; 3];
    for (axis, (&code, b)) in codes.iter().zip(&mut out).enumerate() {
        *b = match code {
            0 => CoreBoundary::Periodic,
            1 => CoreBoundary::Zero,
            2 => CoreBoundary::Mirror,
            _ => {
                return arg_err(format!(
                    "boundary[{axis}] = {code} is not a bsfit_boundary (0, 1 or 2)"
                ));
            }
        };
    }
    Ok(out)
}

/// The body shared by the f64 and f32 prefilters.
///
/// # Safety
/// As [`bsfit_prefilter3d_f64`].
unsafe fn prefilter3d<T: Real>(
    values: *const T,
    n0: usize,
    n1: usize,
    n2: usize,
    boundary: *const Boundary,
    out: *mut T,
    out_len: usize,
) -> Result<(), Error> {
    let total = checked_product(&[n0, n1, n2], "n0 * n1 * n2")?;
    // SAFETY: 3 boundary codes (caller's contract).
    let boundary = unsafe { boundaries(boundary) }?;
    // SAFETY: `n0*n1*n2` values (caller's contract).
    let values = unsafe { slice(values, total, "values") }?;
    check_capacity(out_len, total, "out")?;
    // SAFETY: `out_len` writable elements, disjoint from `values` (caller's contract).
    let out = unsafe { slice_mut(out, out_len, "out") }?;
    let view = ArrayView3::from_shape((n0, n1, n2), values)
        .map_err(|e| Error::Arg(format!("grid {n0}x{n1}x{n2}: {e}")))?;
    let out = &mut out[..total];
    grid3::prefilter_into(view, boundary, out).inspect_err(|e| {
        // Non-finite samples are found by the solve's own finiteness check
        // (see `grid3::prefilter_into`), so both errors leave `out` written:
        // it is filled with NaN rather than left holding partial results.
        if matches!(
            e,
            FitError::NonFiniteResult { .. } | FitError::NonFiniteValue { .. }
        ) {
            out.fill(T::from_f64(f64::NAN));
        }
    })?;
    Ok(())
}

/// The 3D prefilter, f64: the cubic B-spline coefficients `c` that
/// interpolate the samples `values` on a uniform `n0 x n1 x n2` grid
/// (row-major, axis 2 contiguous), i.e. `B c = values` with the 27-point
/// stencil `B = b (x) b (x) b`, `b = [1/6, 2/3, 1/6]`, and the boundary condition
/// `boundary[k]` on axis `k` (an array of 3 `bsfit_boundary` values). Exact
/// separable solve. Periodic axes give `scipy.ndimage.spline_filter(values,
/// order=3, mode='grid-wrap')`, mirror axes `mode='mirror'`.
///
/// Writes `out[0 .. n0*n1*n2]` (`out_len >= n0*n1*n2`). Non-finite samples
/// are detected with the solve (a NaN or infinite sample always leaves a
/// non-finite coefficient), so there is no separate pass over the samples:
/// on `BSFIT_STATUS_NON_FINITE_VALUE`, and when the solve itself overflows
/// (`BSFIT_STATUS_NON_FINITE_RESULT`, samples within a factor ~27 of the
/// largest float), that range is filled with NaN. The other errors are
/// found before anything is written. Runs in parallel.
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_INVALID_ARGUMENT`
/// (unknown boundary code, buffer too short, size overflow),
/// `BSFIT_STATUS_AXIS_TOO_SHORT` (an extent is 0),
/// `BSFIT_STATUS_NON_FINITE_VALUE`, `BSFIT_STATUS_NON_FINITE_RESULT`.
///
/// Thread safety: reentrant; `values` is only read.
///
/// # Safety
/// `values` NULL or `n0*n1*n2` readable values; `boundary` NULL or 3
/// readable values; `out` NULL or writable for `out_len` elements, not
/// overlapping `values`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_prefilter3d_f64(
    values: *const f64,
    n0: usize,
    n1: usize,
    n2: usize,
    boundary: *const Boundary,
    out: *mut f64,
    out_len: usize,
) -> Status {
    // SAFETY: the caller's contract is this function's.
    guard(|| unsafe { prefilter3d(values, n0, n1, n2, boundary, out, out_len) })
}

/// The 3D prefilter in single precision: as `bsfit_prefilter3d_f64`, with
/// `float` samples and coefficients (relative accuracy ~1e-7).
///
/// Errors and thread safety: as `bsfit_prefilter3d_f64`.
///
/// # Safety
/// As `bsfit_prefilter3d_f64`, with `float` elements.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_prefilter3d_f32(
    values: *const f32,
    n0: usize,
    n1: usize,
    n2: usize,
    boundary: *const Boundary,
    out: *mut f32,
    out_len: usize,
) -> Status {
    // SAFETY: the caller's contract is this function's.
    guard(|| unsafe { prefilter3d(values, n0, n1, n2, boundary, out, out_len) })
}
