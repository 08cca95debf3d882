//! Sensitivities to the data: how the fitted spline's values move with the
//! values on the grid (bucketed risk, gradients for calibration).
//!
//! The fit is linear, so the value (or a derivative) of the spline a fitter
//! fits at a point `x` is `sum_i F[i] * prod_a w_a[i_a]` over the grid
//! values `F`, with one short weight vector per axis
//! (`bsfit_fitter_data_weights`), and the gradient of
//! `sum_p g_p * s(x_p)` with respect to the values is one scatter and one
//! transposed separable solve (`bsfit_fitter_data_vjp`). Both follow the
//! fitter's evaluation policy: periodic axes wrap, the others continue
//! with the boundary polynomial; a NaN coordinate gives NaN weights and
//! contributes nothing to a gradient.

use super::Fitter;
use crate::ptr::{check_capacity, get, get_mut, slice, slice_mut};
use crate::status::{Error, Status, arg_err, guard};
use bsfit_core::FitError;
use bsfit_core::tensor::MAX_DIM;

/// Per-axis orders from `orders` (NULL: all 0, the value).
///
/// # Safety
/// `orders` is NULL or points to `ndim` readable values.
unsafe fn orders_of(orders: *const usize, ndim: usize) -> Result<[usize; MAX_DIM], Error> {
    let mut o = [0usize; MAX_DIM];
    if !orders.is_null() {
        // SAFETY: `ndim` values (caller's contract).
        let given = unsafe { slice(orders, ndim, "orders") }?;
        o[..ndim].copy_from_slice(given);
    }
    Ok(o)
}

/// Fails unless `ndim` is the fitter's dimension (checked before reading
/// `ndim` coordinates).
fn check_dim(f: &Fitter, ndim: usize) -> Result<(), Error> {
    let want = f.plan.ndim();
    if ndim != want {
        return Err(FitError::DimensionMismatch {
            expected: want,
            got: ndim,
        }
        .into());
    }
    Ok(())
}

/// The per-axis sensitivities of the fitted spline at the point
/// `x[0 .. ndim]` to the values on the grid: the value (`orders` NULL) or
/// the mixed partial derivative of orders `orders[0 .. ndim]` of the spline
/// this fitter fits to values `F` there is
/// `sum_i F[i] * w_0[i_0] * ... * w_(ndim-1)[i_(ndim-1)]`, for every `F`.
///
/// * `out[0 .. L]`, `L = lens[0] + ... + lens[ndim-1]` (`out_len >= L`):
///   the weights of axis 0 (one per site), then those of axis 1, and so on.
///   On a periodic axis the last site's weight is 0: the fit does not read
///   that value (it repeats the first).
/// * `end_weights`: NULL, or 2 values receiving the weights of the left and
///   right end values of the axis whose ends are `BSFIT_END_DERIV1`/
///   `BSFIT_END_DERIV2` (0 where there are none): the sensitivity to the end
///   value at the other axes' sites `j` is that weight times the product of
///   the other axes' `w_a[j_a]`.
///
/// Orders above 3 give zero weights. Computed from the factorisations the
/// fitter holds, in `O(L)`; allocates nothing.
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_DIMENSION_MISMATCH`,
/// `BSFIT_STATUS_BUFFER_TOO_SMALL`.
///
/// Thread safety: reads the plan only; a fitter must still not be used by two
/// threads at once.
///
/// # Safety
/// `fitter` must be NULL or a live fitter; `x` NULL or `ndim` readable
/// values; `orders` NULL or `ndim` readable values; `out` NULL or writable
/// for `out_len` elements; `end_weights` NULL or writable for 2 elements.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_fitter_data_weights(
    fitter: *const Fitter,
    x: *const f64,
    ndim: usize,
    orders: *const usize,
    out: *mut f64,
    out_len: usize,
    end_weights: *mut f64,
) -> Status {
    guard(|| {
        // SAFETY: a live fitter (caller's contract).
        let f = unsafe { get(fitter, "fitter") }?;
        check_dim(f, ndim)?;
        // SAFETY: `ndim` values (caller's contract).
        let x = unsafe { slice(x, ndim, "x") }?;
        // SAFETY: NULL or `ndim` values (caller's contract).
        let orders = unsafe { orders_of(orders, ndim) }?;
        let total: usize = f.plan.shape().iter().sum();
        check_capacity(out_len, total, "out")?;
        // SAFETY: `out_len` writable elements (caller's contract).
        let out = unsafe { slice_mut(out, out_len, "out") }?;
        let mut ends = [0.0; 2];
        f.plan
            .data_weights_into(x, &orders[..ndim], &mut out[..total], &mut ends)?;
        if !end_weights.is_null() {
            // SAFETY: 2 writable elements (caller's contract).
            let e = unsafe { slice_mut(end_weights, 2, "end_weights") }?;
            e.copy_from_slice(&ends);
        }
        Ok(())
    })
}

/// The gradient of `sum_p g_p * s(x_p)` with respect to the values on the
/// grid, where `s` is the spline this fitter fits to the values (the
/// value, `orders` NULL, or the mixed partial of orders `orders[0 .. ndim]`),
/// `x_p` the `n` points given row-major in `points[0 .. n*ndim]` and `g_p`
/// their cotangents: the exact adjoint of the fit followed by evaluation.
///
/// * `ncomp`: components per value (1 for scalar values; `prod(vshape)` for
///   vector values fitted together, 2 for complex values).
/// * `cotangents[0 .. n*ncomp]`: `g_p`, point-major.
/// * `out[0 .. m]`, `m = bsfit_fitter_len * ncomp` (`out_len >= m`): the
///   gradient, the values' shape (row-major, components last). On a
///   periodic axis the whole sensitivity of the shared node is at index 0
///   and index `n-1` gets 0 (the fit does not read it).
/// * `left[0 .. n_left]`, `right[0 .. n_right]`: with `n = 0` (the pointer
///   may be NULL) skipped; otherwise they receive the gradient with respect
///   to the end values of the axis whose ends are `BSFIT_END_DERIV1`/
///   `BSFIT_END_DERIV2`, in the layout of `bsfit_fitter_refit_ends` times
///   `ncomp` (`n_left`/`n_right` exactly that length).
///
/// Points follow the fitter's policy (periodic axes wrap, the others
/// extrapolate); a point with a NaN coordinate contributes nothing.
/// `n == 0` writes a zero gradient without reading `points` or
/// `cotangents`. Runs in parallel; with the fitter's scratch grown by the
/// first call, later calls of the same size allocate nothing.
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_DIMENSION_MISMATCH`,
/// `BSFIT_STATUS_BUFFER_TOO_SMALL` (the gradient buffer),
/// `BSFIT_STATUS_INVALID_ARGUMENT` (`ncomp == 0`, a size that overflows,
/// end buffers of the wrong length, or given for an end that takes no
/// values).
///
/// Thread safety: uses the fitter's scratch: one thread at a time per fitter.
///
/// # Safety
/// `fitter` must be NULL or a live fitter; `points` NULL or `n*ndim`
/// readable values; `orders` NULL or `ndim` readable values; `cotangents`
/// NULL or `n*ncomp` readable values; `out` NULL or writable for `out_len`
/// elements; `left`/`right` NULL or writable for `n_left`/`n_right`
/// elements; the writable buffers overlap nothing else.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)] // points, orders, cotangents, the output and two end buffers
pub unsafe extern "C" fn bsfit_fitter_data_vjp(
    fitter: *mut Fitter,
    points: *const f64,
    n: usize,
    ndim: usize,
    orders: *const usize,
    cotangents: *const f64,
    ncomp: usize,
    out: *mut f64,
    out_len: usize,
    left: *mut f64,
    n_left: usize,
    right: *mut f64,
    n_right: usize,
) -> Status {
    guard(|| {
        // SAFETY: a live fitter, used by this thread only (caller's contract).
        let f = unsafe { get_mut(fitter, "fitter") }?;
        check_dim(f, ndim)?;
        if ncomp == 0 {
            return arg_err("ncomp = 0; values have at least one component".into());
        }
        let (Some(np), Some(nc), Some(m)) = (
            n.checked_mul(ndim),
            n.checked_mul(ncomp),
            f.len.checked_mul(ncomp),
        ) else {
            return arg_err(format!("sizes overflow size_t (n = {n}, ncomp = {ncomp})"));
        };
        // SAFETY: NULL or `ndim` values (caller's contract).
        let orders = unsafe { orders_of(orders, ndim) }?;
        let (points, cot): (&[f64], &[f64]) = if n == 0 {
            (&[], &[])
        } else {
            // SAFETY: `n*ndim` and `n*ncomp` values (caller's contract).
            unsafe {
                (
                    slice(points, np, "points")?,
                    slice(cotangents, nc, "cotangents")?,
                )
            }
        };
        check_capacity(out_len, m, "out")?;
        // SAFETY: `out_len` writable elements (caller's contract).
        let out = unsafe { slice_mut(out, out_len, "out") }?;
        // SAFETY: writable for `n_left`/`n_right` elements; empty ends need no pointer.
        let (l, r) = unsafe {
            (
                end_buffer(left, n_left, "left")?,
                end_buffer(right, n_right, "right")?,
            )
        };
        if n_left == 0 && n_right == 0 {
            f.plan
                .data_vjp(points, cot, &orders[..ndim], &mut out[..m], &mut f.ws)?;
        } else {
            let view = ndarray::ArrayView2::from_shape((n, ndim), points)
                .map_err(|e| Error::Arg(format!("points: {e}")))?;
            let capped = orders.map(|o| o.min(4));
            let partial = bsfit_core::tensor::Partial::new(&capped[..ndim])?;
            let q = bsfit_core::tensor::Query::at(view).outputs(&[partial]);
            f.plan
                .data_vjp_query(&q, cot, &mut out[..m], [l, r], &mut f.ws)?;
        }
        Ok(())
    })
}

/// `n` writable end values at `p`; `n = 0` needs no pointer.
///
/// # Safety
/// If `n > 0`, `p` is NULL or points to `n` writable values used by nothing else.
unsafe fn end_buffer<'a>(
    p: *mut f64,
    n: usize,
    name: &'static str,
) -> Result<&'a mut [f64], Error> {
    if n == 0 {
        return Ok(&mut []);
    }
    // SAFETY: forwarded contract.
    unsafe { slice_mut(p, n, name) }
}
