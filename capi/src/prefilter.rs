//! The uniform 3D prefilter (`scipy.ndimage.spline_filter`, order 3).

use crate::exec;
use crate::ptr::{check_capacity, checked_product, fill_nan, slice, slice_mut};
use crate::status::{Error, Status, arg_err, gated};
use bsfit_core::grid3::{self, Boundary as CoreBoundary};
use bsfit_core::{Par, Real};
use ndarray::ArrayView3;

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

/// The body shared by the f64 and f32 prefilters; NaN in `out` on failure.
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
    // SAFETY: forwarded contract.
    let result = unsafe { prefilter3d_inner(values, n0, n1, n2, boundary, out, out_len) };
    if result.is_err() {
        // SAFETY: `out` NULL or writable for `out_len` (caller's contract).
        unsafe { fill_nan(out, out_len) };
    }
    result
}

/// # Safety
/// As [`bsfit_prefilter3d_f64`].
unsafe fn prefilter3d_inner<T: Real>(
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
    crate::ptr::check_ptr(out.cast_const(), "out")?;
    check_capacity(out_len, total, "out")?;
    // SAFETY: `out_len` writable elements, disjoint from `values` (caller's contract).
    let out = unsafe { slice_mut(out, out_len, "out") }?;
    let view = ArrayView3::from_shape((n0, n1, n2), values)
        .map_err(|e| Error::Arg(format!("grid {n0}x{n1}x{n2}: {e}")))?;
    let out = &mut out[..total];
    let n = exec::resolve(0);
    if n <= 1 {
        // One thread: the solve never touches the pool.
        grid3::prefilter_into_generic(view, boundary, out, Par::Seq)?;
    } else {
        exec::install(n, || {
            grid3::prefilter_into_generic(view, boundary, out, Par::with_threads(n))
        })??;
    }
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
/// Writes `out[0 .. n0*n1*n2]` (`out_len >= n0*n1*n2`). Runs on the
/// library's thread pool (`bsfit_set_threads`; one thread: on the calling
/// thread). Besides the output it needs at most about 1 MiB of scratch per
/// thread, whatever the shape (a 1 x 1 x 4194304 grid included).
/// Non-finite samples are detected with the solve (a NaN or infinite sample
/// always leaves a non-finite coefficient), so there is no separate pass
/// over the samples.
///
/// On failure, `out[0 .. out_len]` is filled with NaN, whatever the error;
/// only an `out` that is NULL or misaligned is left alone.
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_MISALIGNED_POINTER`,
/// `BSFIT_STATUS_INVALID_ARGUMENT` (unknown boundary code, `n0*n1*n2`
/// overflows), `BSFIT_STATUS_BUFFER_TOO_SMALL`, `BSFIT_STATUS_AXIS_TOO_SHORT`
/// (an extent is 0), `BSFIT_STATUS_NON_FINITE_VALUE`,
/// `BSFIT_STATUS_NON_FINITE_RESULT` (the coefficients overflow: samples
/// within a factor ~27 of the largest float), `BSFIT_STATUS_THREADS_UNAVAILABLE`.
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
    gated(|| unsafe { prefilter3d(values, n0, n1, n2, boundary, out, out_len) })
}

/// The 3D prefilter in single precision: as `bsfit_prefilter3d_f64`, with
/// `float` samples and coefficients (relative accuracy ~1e-7).
///
/// Errors, output on failure and thread safety: as `bsfit_prefilter3d_f64`.
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
    gated(|| unsafe { prefilter3d(values, n0, n1, n2, boundary, out, out_len) })
}
