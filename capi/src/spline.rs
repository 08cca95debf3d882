//! `bsfit_spline`: fitted splines, built from a fit or from their parts,
//! evaluated and inspected.

use crate::exec;
use crate::ptr::{Out, axes, check_capacity, checked_product, flags, get, slice, slice_mut};
use crate::status::{Error, Status, arg_err, gated, guard};
use bsfit_core::{DynSpline, FitError};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A fitted cubic tensor-product spline of 1-6 dimensions (opaque).
///
/// Created by `bsfit_spline_fit`, `bsfit_spline_from_parts`,
/// `bsfit_spline_from_parts_periodic`, `bsfit_fitter_fit`,
/// `bsfit_fitter_fit_ends` or `bsfit_fitter_spline`; released by
/// `bsfit_spline_free`. Immutable apart from its thread setting: safe to
/// evaluate from many threads at once.
#[derive(Debug)]
pub struct Spline {
    pub(crate) inner: DynSpline,
    /// `bsfit_spline_set_threads` (0: the process-wide setting).
    pub(crate) threads: AtomicUsize,
}

impl Spline {
    /// A handle for `inner` that follows the process-wide thread setting.
    pub(crate) fn new(inner: DynSpline) -> Self {
        Spline {
            inner,
            threads: AtomicUsize::new(0),
        }
    }
}

/// Moves a spline to the heap and hands its pointer to the caller.
///
/// # Safety
/// `out` must be valid for a write.
pub(crate) unsafe fn emit_spline(out: Out<*mut Spline>, inner: DynSpline) {
    let p = Box::into_raw(Box::new(Spline::new(inner)));
    // SAFETY: `out` was checked by `Out::new`; validity is the caller's contract.
    unsafe { out.write(p) }
}

/// Fails unless `ndim` is the spline's dimension: checked before a point of
/// `ndim` coordinates is read, so a wrong `ndim` never reads past the
/// caller's array.
pub(crate) fn check_point_dim(s: &Spline, ndim: usize) -> Result<(), Error> {
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

/// Smallest positive knot spacing of an axis, as a fraction of its extent,
/// that the evaluation resolves exactly (2^-300, about 4.9e-91).
const MIN_RELATIVE_SPACING: f64 = 4.909093465297727e-91;

/// Refuses knot vectors whose smallest positive spacing is below
/// [`MIN_RELATIVE_SPACING`] times the axis' extent: the evaluation's
/// exponent-tracked path cannot represent the basis weights of such a span
/// (a derivative would come back as 0 where its true value is finite).
/// Knots that are not finite or out of order are left to the library's
/// own checks.
fn check_spacing(knots: &[&[f64]]) -> Result<(), Error> {
    for (axis, t) in knots.iter().enumerate() {
        let (Some(&lo), Some(&hi)) = (t.first(), t.last()) else {
            continue;
        };
        let extent = hi - lo;
        if !extent.is_finite() || extent <= 0.0 {
            continue;
        }
        for (i, w) in t.windows(2).enumerate() {
            let h = w[1] - w[0];
            if h > 0.0 && h < MIN_RELATIVE_SPACING * extent {
                return Err(FitError::InvalidData(format!(
                    "axis {axis}: knot spacing t[{}] - t[{i}] = {h:e} is below 2^-300 times the knots' extent {extent:e}; \
                     the evaluation cannot resolve it exactly",
                    i + 1
                ))
                .into());
            }
        }
    }
    Ok(())
}

/// Fits the interpolating cubic spline (not-a-knot end conditions on every
/// axis, as scipy's `make_interp_spline(x, y, k=3)` per axis) to values on
/// the grid `sites[0] x ... x sites[ndim-1]`. Runs on the library's thread
/// pool (`bsfit_set_threads`).
///
/// * `ndim`: number of dimensions, 1 to 6.
/// * `sites[k]`: the `lens[k]` strictly increasing, finite sites of axis `k`
///   (at least 4 per axis; any spacing).
/// * `values`: the `lens[0] * ... * lens[ndim-1]` values, row-major.
/// * `out`: receives the new spline on success (free it with
///   `bsfit_spline_free`); left untouched on failure.
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_MISALIGNED_POINTER`,
/// `BSFIT_STATUS_INVALID_ARGUMENT` (`ndim` outside 1-6, the product of
/// `lens` overflows, an axis' extent `x[n-1] - x[0]` overflows),
/// `BSFIT_STATUS_AXIS_TOO_SHORT`, `BSFIT_STATUS_NON_FINITE_SITE`,
/// `BSFIT_STATUS_NON_INCREASING_SITES`, `BSFIT_STATUS_SINGULAR_MATRIX` (sites
/// too close together for their spread), `BSFIT_STATUS_NON_FINITE_VALUE`,
/// `BSFIT_STATUS_NON_FINITE_RESULT`, `BSFIT_STATUS_THREADS_UNAVAILABLE`.
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
    gated(|| {
        let out = Out::new(out, "out")?;
        // SAFETY: `ndim` arrays of `lens[k]` sites (caller's contract).
        let axes = unsafe { axes(ndim, sites, lens, ("sites", "lens"), true) }?;
        let lens: Vec<usize> = axes.iter().map(|a| a.len()).collect();
        let total = checked_product(&lens, "lens")?;
        // SAFETY: `total` values (caller's contract).
        let values = unsafe { slice(values, total, "values") }?;
        let spline = exec::install(0, || DynSpline::fit(&axes, values))??;
        // SAFETY: `out` is a valid slot (caller's contract).
        unsafe { emit_spline(out, spline) };
        Ok(())
    })
}

/// The body of the two `from_parts` constructors.
///
/// # Safety
/// As [`bsfit_spline_from_parts_periodic`] (`periodic` may be NULL: no periodic axis).
unsafe fn from_parts(
    ndim: usize,
    knots: *const *const f64,
    knot_lens: *const usize,
    periodic: Option<*const bool>,
    coefs: *const f64,
    n_coefs: usize,
    out: *mut *mut Spline,
) -> Result<(), Error> {
    let out = Out::new(out, "out")?;
    // SAFETY: `ndim` arrays of `knot_lens[k]` knots (caller's contract).
    let knots = unsafe { axes(ndim, knots, knot_lens, ("knots", "knot_lens"), false) }?;
    let periodic = match periodic {
        // SAFETY: `ndim` flags (caller's contract), read as bytes.
        Some(p) => unsafe { flags(p, ndim, "periodic") }?,
        None => vec![false; ndim],
    };
    // SAFETY: `n_coefs` values (caller's contract).
    let coefs = unsafe { slice(coefs, n_coefs, "coefs") }?;
    check_spacing(&knots)?;
    let spline = DynSpline::from_parts_periodic(
        knots.iter().map(|k| k.to_vec()).collect(),
        coefs.to_vec(),
        &periodic,
    )?;
    // SAFETY: `out` is a valid slot (caller's contract).
    unsafe { emit_spline(out, spline) };
    Ok(())
}

/// Builds a spline from knot vectors and row-major coefficients (as read back
/// by `bsfit_spline_knots` and `bsfit_spline_coefs`, or computed elsewhere,
/// e.g. by scipy), after checking that they describe a clamped cubic spline:
/// every knot vector has `n + 4 >= 8` finite knots, four equal knots at each
/// end and strictly increasing knots in between; `n_coefs` is the product of
/// the `n`s; every coefficient is finite. Periodic splines (whose outer
/// knots are not clamped) are rebuilt with `bsfit_spline_from_parts_periodic`.
///
/// Knot vectors whose smallest positive spacing is less than 2^-300 (about
/// 4.9e-91) times their extent `t[last] - t[0]` are refused
/// (`BSFIT_STATUS_INVALID_DATA`): the evaluation cannot represent the basis
/// weights of such a span exactly, and would return 0 for derivatives whose
/// true value is finite.
///
/// * `knots[k]`: the `knot_lens[k]` knots of axis `k`, `k < ndim`.
/// * `coefs`: `n_coefs` coefficients, row-major.
/// * `out`: receives the new spline on success; untouched on failure.
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_MISALIGNED_POINTER`,
/// `BSFIT_STATUS_INVALID_ARGUMENT` (`ndim` outside 1-6),
/// `BSFIT_STATUS_INVALID_DATA` (naming the knot, coefficient or count at
/// fault).
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
    // SAFETY: the caller's contract is this function's.
    gated(|| unsafe { from_parts(ndim, knots, knot_lens, None, coefs, n_coefs, out) })
}

/// `bsfit_spline_from_parts` with periodic axes: `periodic[k]` (`k < ndim`)
/// says whether axis `k` is periodic, as `bsfit_spline_periodic` reports it
/// for a spline fitted with `BSFIT_END_PERIODIC`. The knot vector of a
/// periodic axis need not be clamped (its three outer knots at each end need
/// only not decrease); evaluation wraps its coordinate into the domain
/// `[t[3], t[n]]`. The knots, coefficients and flags read back from any
/// spline rebuild it exactly.
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_MISALIGNED_POINTER`,
/// `BSFIT_STATUS_INVALID_ARGUMENT` (`ndim` outside 1-6),
/// `BSFIT_STATUS_INVALID_DATA` (naming the knot, coefficient or count at
/// fault).
///
/// Thread safety: reentrant; the inputs are only read (and copied).
///
/// # Safety
/// Non-NULL pointers must point to as many elements as described above
/// (`periodic`: `ndim` values).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_spline_from_parts_periodic(
    ndim: usize,
    knots: *const *const f64,
    knot_lens: *const usize,
    periodic: *const bool,
    coefs: *const f64,
    n_coefs: usize,
    out: *mut *mut Spline,
) -> Status {
    // SAFETY: the caller's contract is this function's.
    gated(|| unsafe { from_parts(ndim, knots, knot_lens, Some(periodic), coefs, n_coefs, out) })
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
    // Dropping returns the coefficient array to the library's cache (a lock).
    let _ = gated(|| {
        // SAFETY: created by `Box::into_raw` in this library and not yet freed
        // (caller's contract).
        drop(unsafe { Box::from_raw(spline) });
        Ok(())
    });
}

/// Number of dimensions of the spline (1-6) into `*out`.
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_MISALIGNED_POINTER`.
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

/// Copies `src` into the caller's buffer `out` of `out_len` elements.
///
/// # Safety
/// `out` NULL or writable for `out_len` elements.
unsafe fn copy_out<T: Copy>(
    src: &[T],
    out: *mut T,
    out_len: usize,
    name: &'static str,
) -> Result<(), Error> {
    crate::ptr::check_ptr(out.cast_const(), name)?;
    check_capacity(out_len, src.len(), name)?;
    // SAFETY: `out_len` writable elements (caller's contract).
    let out = unsafe { slice_mut(out, out_len, name) }?;
    out[..src.len()].copy_from_slice(src);
    Ok(())
}

/// The spline's shape, its number of coefficients per axis, into
/// `out[0 .. ndim]` (`out_len >= ndim`). For a fitted spline an axis of `n`
/// sites has `n` coefficients under not-a-knot ends and `n + 2` under any
/// other condition (natural, clamped, explicit derivatives, periodic); for a
/// spline built from parts it is the axis' number of knots minus 4.
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_MISALIGNED_POINTER`,
/// `BSFIT_STATUS_BUFFER_TOO_SMALL`. `out` is untouched on failure.
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
        // SAFETY: forwarded contract.
        unsafe { copy_out(&s.inner.shape(), out, out_len, "out") }
    })
}

/// The domain of every axis, `out[2k] = lo`, `out[2k + 1] = hi` for axis
/// `k < ndim` (`out_len >= 2 * ndim`): the first and last site of a fitted
/// axis (`t[3]` and `t[n]` of its knots). Outside it, evaluation follows the
/// boundary polynomials (or wraps, on a periodic axis).
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_MISALIGNED_POINTER`,
/// `BSFIT_STATUS_BUFFER_TOO_SMALL`. `out` is untouched on failure.
///
/// Thread safety: safe to call concurrently on the same spline.
///
/// # Safety
/// `spline` must be NULL or a live spline; `out` NULL or writable for `out_len` elements.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_spline_domain(
    spline: *const Spline,
    out: *mut f64,
    out_len: usize,
) -> Status {
    guard(|| {
        // SAFETY: a live spline (caller's contract).
        let s = unsafe { get(spline, "spline") }?;
        let flat: Vec<f64> = s.inner.domain().iter().flat_map(|&(a, b)| [a, b]).collect();
        // SAFETY: forwarded contract.
        unsafe { copy_out(&flat, out, out_len, "out") }
    })
}

/// Which axes are periodic (fitted with `BSFIT_END_PERIODIC`, or built with
/// `bsfit_spline_from_parts_periodic`), into `out[0 .. ndim]`
/// (`out_len >= ndim`).
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_MISALIGNED_POINTER`,
/// `BSFIT_STATUS_BUFFER_TOO_SMALL`. `out` is untouched on failure.
///
/// Thread safety: safe to call concurrently on the same spline.
///
/// # Safety
/// `spline` must be NULL or a live spline; `out` NULL or writable for `out_len` elements.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_spline_periodic(
    spline: *const Spline,
    out: *mut bool,
    out_len: usize,
) -> Status {
    guard(|| {
        // SAFETY: a live spline (caller's contract).
        let s = unsafe { get(spline, "spline") }?;
        // SAFETY: forwarded contract.
        unsafe { copy_out(&s.inner.periodic_axes(), out, out_len, "out") }
    })
}

/// The degree of each axis (1 to 5; 3 unless fitted by a plan from
/// `bsfit_fitter_new_degrees`), into `out[0 .. ndim]` (`out_len >= ndim`).
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_MISALIGNED_POINTER`,
/// `BSFIT_STATUS_BUFFER_TOO_SMALL`. `out` is untouched on failure.
///
/// Thread safety: safe to call concurrently on the same spline.
///
/// # Safety
/// `spline` must be NULL or a live spline; `out` NULL or writable for `out_len` elements.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_spline_degrees(
    spline: *const Spline,
    out: *mut u32,
    out_len: usize,
) -> Status {
    guard(|| {
        // SAFETY: a live spline (caller's contract).
        let s = unsafe { get(spline, "spline") }?;
        let ks: Vec<u32> = s.inner.degrees().iter().map(|k| k.get() as u32).collect();
        // SAFETY: forwarded contract.
        unsafe { copy_out(&ks, out, out_len, "out") }
    })
}

/// Number of knots of `axis` into `*out`: the axis' number of coefficients
/// (`bsfit_spline_shape`) plus its degree plus 1 (4 for a cubic axis). For a fitted axis of `n` sites that is
/// `n + 4` under not-a-knot ends and `n + 6` under any other condition.
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_MISALIGNED_POINTER`,
/// `BSFIT_STATUS_INVALID_ARGUMENT` (`axis >= ndim`).
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
/// `bsfit_spline_knots_len`). For a fitted axis of sites `x0 ... x(n-1)`
/// they are scipy's `make_interp_spline(x, y, k=3, bc_type=...).t`:
///
/// * not-a-knot: `x0` four times, `x2 ... x(n-3)`, `x(n-1)` four times;
/// * natural, clamped, explicit derivatives: `x0` four times,
///   `x1 ... x(n-2)`, `x(n-1)` four times;
/// * periodic: `x0 ... x(n-1)` with three knots added at each end by
///   periodic extension of the spacings, `t[2-i] = t[3-i] - (x(n-1-i) -
///   x(n-2-i))` and `t[n+3+i] = t[n+2+i] + (x(i+1) - x(i))`, `i = 0, 1, 2`.
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_MISALIGNED_POINTER`,
/// `BSFIT_STATUS_INVALID_ARGUMENT` (`axis >= ndim`),
/// `BSFIT_STATUS_BUFFER_TOO_SMALL`. `out` is untouched on failure.
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
        // SAFETY: forwarded contract.
        unsafe { copy_out(t, out, out_len, "out") }
    })
}

/// Number of coefficients (the product of the shape) into `*out`.
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_MISALIGNED_POINTER`.
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
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_MISALIGNED_POINTER`,
/// `BSFIT_STATUS_BUFFER_TOO_SMALL`. `out` is untouched on failure.
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
        // SAFETY: forwarded contract.
        unsafe { copy_out(s.inner.coefficients(), out, out_len, "out") }
    })
}

/// The spline's value at the point `x[0 .. ndim]` into `*out`.
///
/// `ndim` must equal the spline's dimension. Outside the fitted domain the
/// boundary polynomial pieces continue (scipy's `extrapolate=True`), except
/// on periodic axes, which wrap; a NaN coordinate gives NaN. Runs on the
/// calling thread.
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_MISALIGNED_POINTER`,
/// `BSFIT_STATUS_DIMENSION_MISMATCH`. `*out` is untouched on failure.
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
/// piecewise constant); higher orders give 0. Runs on the calling thread.
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_MISALIGNED_POINTER`,
/// `BSFIT_STATUS_DIMENSION_MISMATCH`. `*out` is untouched on failure.
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
/// `out[0 .. ndim]` (`out_len >= ndim`). Runs on the calling thread.
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_MISALIGNED_POINTER`,
/// `BSFIT_STATUS_DIMENSION_MISMATCH`, `BSFIT_STATUS_BUFFER_TOO_SMALL`.
/// `out` is untouched on failure.
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
        let mut g = [0.0; bsfit_core::tensor::MAX_DIM];
        s.inner.grad_into(x, &mut g[..ndim])?;
        // SAFETY: forwarded contract.
        unsafe { copy_out(&g[..ndim], out, out_len, "out") }
    })
}

/// The Hessian `H[i][j] = d2s/dxi dxj` at `x[0 .. ndim]` into
/// `out[0 .. ndim*ndim]`, row-major (`out_len >= ndim*ndim`; symmetric).
/// Runs on the calling thread.
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_MISALIGNED_POINTER`,
/// `BSFIT_STATUS_DIMENSION_MISMATCH`, `BSFIT_STATUS_BUFFER_TOO_SMALL`.
/// `out` is untouched on failure.
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
        let mut h = [0.0; bsfit_core::tensor::MAX_DIM * bsfit_core::tensor::MAX_DIM];
        s.inner.hessian_into(x, &mut h[..need])?;
        // SAFETY: forwarded contract.
        unsafe { copy_out(&h[..need], out, out_len, "out") }
    })
}

/// Batch evaluation: the values (`orders == NULL`) or the mixed partial
/// derivative of orders `orders[0 .. ndim]` at `n` points, given row-major in
/// `points[0 .. n*ndim]` (point `i` is `points[i*ndim .. i*ndim + ndim]`),
/// into `out[0 .. n]` (`out_len >= n`). Runs on the library's thread pool
/// with the spline's thread count (`bsfit_spline_set_threads`).
///
/// With `extrapolate` false, a point outside the fitted domain on any
/// non-periodic axis gives NaN (scipy's `extrapolate=False`); with
/// `extrapolate` true the boundary polynomials continue. `n == 0` succeeds
/// without reading or writing anything (the pointers may then be NULL).
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_MISALIGNED_POINTER`,
/// `BSFIT_STATUS_DIMENSION_MISMATCH` (`ndim` is not the spline's),
/// `BSFIT_STATUS_INVALID_ARGUMENT` (`n*ndim` overflows),
/// `BSFIT_STATUS_BUFFER_TOO_SMALL`, `BSFIT_STATUS_THREADS_UNAVAILABLE`.
/// `out` is untouched on failure.
///
/// Thread safety: safe to call concurrently on the same spline.
///
/// # Safety
/// `spline` must be NULL or a live spline; `points` NULL or `n*ndim`
/// readable values; `orders` NULL or `ndim` readable values; `out` NULL or
/// writable for `out_len` elements, not overlapping `points`.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)] // points, orders, policy and the output, each with its length
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
    gated(|| {
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
        crate::ptr::check_ptr(out.cast_const(), "out")?;
        check_capacity(out_len, n, "out")?;
        // SAFETY: `out_len` writable elements, disjoint from `points` (caller's contract).
        let out = unsafe { slice_mut(out, out_len, "out") }?;
        let threads = s.threads.load(Ordering::Relaxed);
        exec::install(threads, || {
            s.inner
                .eval_many_into(points, orders, extrapolate, &mut out[..n])
        })??;
        Ok(())
    })
}

/// Sets the number of threads the spline's parallel calls
/// (`bsfit_spline_eval_many`) use: 1 runs them on one thread at a time (the
/// calls of one host thread never wait for another's), `n > 1` on the
/// library's pool of `n` threads, 0 (the initial setting) follows
/// `bsfit_set_threads`. Single-point calls always run on the calling thread.
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_MISALIGNED_POINTER`,
/// `BSFIT_STATUS_INVALID_ARGUMENT` (`threads > 1024`).
///
/// Thread safety: may be called while other threads evaluate the spline;
/// calls already running keep the count they started with.
///
/// # Safety
/// `spline` must be NULL or a live spline.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_spline_set_threads(spline: *mut Spline, threads: usize) -> Status {
    guard(|| {
        // SAFETY: a live spline (caller's contract); the setting is atomic.
        let s = unsafe { get(spline.cast_const(), "spline") }?;
        exec::check_threads(threads)?;
        s.threads.store(threads, Ordering::Relaxed);
        Ok(())
    })
}

/// The spline's thread setting (`bsfit_spline_set_threads`; 0: follows
/// `bsfit_set_threads`) into `*out`.
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_MISALIGNED_POINTER`.
///
/// Thread safety: safe to call concurrently on the same spline.
///
/// # Safety
/// `spline` must be NULL or a live spline; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_spline_get_threads(
    spline: *const Spline,
    out: *mut usize,
) -> Status {
    guard(|| {
        // SAFETY: a live spline (caller's contract).
        let s = unsafe { get(spline, "spline") }?;
        let out = Out::new(out, "out")?;
        // SAFETY: writable (caller's contract).
        unsafe { out.write(s.threads.load(Ordering::Relaxed)) };
        Ok(())
    })
}
