//! The evaluation request across the C ABI: any set of partials at points
//! or on a grid, a policy per axis, vector-valued (and complex) values.
//! Each call builds one `Query` and runs the library's driver; nothing here
//! loops over points or applies a policy.

use crate::Status;
use crate::exec;
use crate::ptr::{Out, axes, check_capacity, check_ptr, checked_product, get, slice, slice_mut};
use crate::spline::{Spline, check_point_dim, emit_spline};
use crate::status::{Error, arg_err, gated};
use bsfit_core::tensor::{MAX_DIM, Partial, Query};
use bsfit_core::{DynFitter, DynSpline, Extrapolate};
use std::sync::atomic::Ordering;

/// What evaluation does outside the domain along one axis
/// (`bsfit_spline_evaluate`, `bsfit_spline_evaluate_grid`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// The spline's own policy on this axis (the boundary polynomial unless
    /// the spline says otherwise; periodic axes wrap).
    Spline = 0,
    /// Continue with the polynomial of the boundary piece (scipy's
    /// `extrapolate=True`).
    Polynomial = 1,
    /// Evaluate at the nearest point of the domain.
    Clamp = 2,
    /// NaN for every output of a point outside (scipy's `extrapolate=False`).
    Nan = 3,
    /// Wrap the coordinate into the domain (any axis).
    Periodic = 4,
    /// Fail with `BSFIT_STATUS_OUTSIDE_DOMAIN` naming the first point
    /// outside; `out` is then left untouched.
    Error = 5,
}

/// The query's per-axis policies from `ndim` codes (`NULL`: the spline's).
///
/// # Safety
/// `policy` is NULL or `ndim` readable codes.
unsafe fn policies(
    s: &DynSpline,
    policy: *const u32,
    ndim: usize,
) -> Result<Option<[Extrapolate; MAX_DIM]>, Error> {
    // SAFETY: forwarded contract.
    unsafe { policies_for(&s.periodic_axes(), s.extrapolate(), policy, ndim) }
}

/// [`policies`] for a spline whose periodic axes are `periodic` and whose
/// own policy is `own` (the host or the device spline).
///
/// # Safety
/// `policy` is NULL or `ndim` readable codes.
pub(crate) unsafe fn policies_for(
    periodic: &[bool],
    own: Extrapolate,
    policy: *const u32,
    ndim: usize,
) -> Result<Option<[Extrapolate; MAX_DIM]>, Error> {
    if policy.is_null() {
        return Ok(None);
    }
    // SAFETY: `ndim` codes (caller's contract).
    let codes = unsafe { slice(policy, ndim, "policy") }?;
    let mut out = [Extrapolate::Polynomial; MAX_DIM];
    for (axis, &c) in codes.iter().enumerate() {
        out[axis] = match c {
            0 if periodic[axis] => Extrapolate::Periodic,
            0 => own,
            1 => Extrapolate::Polynomial,
            2 => Extrapolate::Clamp,
            3 => Extrapolate::Nan,
            4 => Extrapolate::Periodic,
            5 => Extrapolate::Error,
            _ => {
                return arg_err(format!(
                    "policy[{axis}] = {c} is not a bsfit_policy (0 to 5)"
                ));
            }
        };
    }
    Ok(Some(out))
}

/// The outputs from `n_outputs × ndim` row-major orders (`NULL`: the value).
///
/// # Safety
/// `orders` is NULL or `n_outputs * ndim` readable values.
pub(crate) unsafe fn partials(
    orders: *const usize,
    n_outputs: usize,
    ndim: usize,
) -> Result<Vec<Partial>, Error> {
    if orders.is_null() {
        if n_outputs > 1 {
            return arg_err(format!(
                "orders is NULL with n_outputs = {n_outputs} (NULL means one output, the value)"
            ));
        }
        return Ok(vec![Partial::VALUE]);
    }
    if n_outputs == 0 {
        return arg_err("n_outputs is 0".into());
    }
    let Some(len) = n_outputs.checked_mul(ndim) else {
        return arg_err(format!(
            "n_outputs * ndim = {n_outputs} * {ndim} overflows size_t"
        ));
    };
    // SAFETY: `n_outputs * ndim` values (caller's contract).
    let o = unsafe { slice(orders, len, "orders") }?;
    o.chunks_exact(ndim.max(1))
        .map(|row| Partial::new(row).map_err(Error::from))
        .collect()
}

/// Runs `q` (with the per-axis policies, if any) into `out`, on the
/// spline's thread setting.
fn run(
    s: &Spline,
    q: Query<'_>,
    policy: Option<[Extrapolate; MAX_DIM]>,
    out: &mut [f64],
) -> Result<(), Error> {
    let ndim = s.inner.ndim();
    let q = match policy {
        Some(p) => q.policy_axes(&p[..ndim]),
        None => q,
    };
    let need: usize = s.inner.output_shape(&q)?.iter().product();
    check_capacity(out.len(), need, "out")?;
    let threads = s.threads.load(Ordering::Relaxed);
    exec::install(threads, || s.inner.evaluate_into(&q, &mut out[..need]))??;
    Ok(())
}

/// Evaluates `n_outputs` mixed partial derivatives at `n` points, all from
/// one basis computation per point, in parallel.
///
/// * `points[0 .. n*ndim]`: the points, row-major (point `i` is
///   `points[i*ndim .. i*ndim + ndim]`).
/// * `orders[0 .. n_outputs*ndim]`: output `j` is the partial of orders
///   `orders[j*ndim .. j*ndim + ndim]` (all 0: the value; above 3 along an
///   axis: 0). `NULL` with `n_outputs == 1`: the value. Price, delta, gamma
///   and vega of a 4D table are one call with four rows of orders.
/// * `policy[0 .. ndim]`: a `bsfit_policy` per axis, or `NULL` for the
///   spline's own.
/// * `out[0 .. out_len]`: receives `n * n_outputs * n_components` values,
///   row-major `(point, output, component)` (`n_components` from
///   `bsfit_spline_value_shape`; 1 for scalar values, the real and imaginary
///   parts for complex values fitted as a trailing dimension of 2).
///
/// On any error `out` is left untouched. `n == 0` succeeds without reading
/// `points` or writing `out`.
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_MISALIGNED_POINTER`,
/// `BSFIT_STATUS_DIMENSION_MISMATCH` (`ndim` is not the spline's),
/// `BSFIT_STATUS_INVALID_ARGUMENT` (a size overflows, an unknown policy
/// code, `orders == NULL` with several outputs, `n_outputs == 0`, an order
/// above 255), `BSFIT_STATUS_BUFFER_TOO_SMALL`,
/// `BSFIT_STATUS_OUTSIDE_DOMAIN` (an axis under `BSFIT_POLICY_ERROR`),
/// `BSFIT_STATUS_THREADS_UNAVAILABLE`.
///
/// Thread safety: safe to call concurrently on the same spline.
///
/// # Safety
/// `spline` must be NULL or a live spline; `points` NULL or `n*ndim`
/// readable values; `orders` NULL or `n_outputs*ndim` readable values;
/// `policy` NULL or `ndim` readable codes; `out` NULL or writable for
/// `out_len` elements, not overlapping the inputs.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_spline_evaluate(
    spline: *const Spline,
    points: *const f64,
    n: usize,
    ndim: usize,
    orders: *const usize,
    n_outputs: usize,
    policy: *const u32,
    out: *mut f64,
    out_len: usize,
) -> Status {
    gated(|| {
        // SAFETY: a live spline (caller's contract).
        let s = unsafe { get(spline, "spline") }?;
        check_point_dim(s, ndim)?;
        // SAFETY: as documented (caller's contract).
        let partials = unsafe { partials(orders, n_outputs, ndim) }?;
        // SAFETY: as documented (caller's contract).
        let policy = unsafe { policies(&s.inner, policy, ndim) }?;
        if n == 0 {
            return Ok(());
        }
        let Some(len) = n.checked_mul(ndim) else {
            return arg_err(format!("n * ndim = {n} * {ndim} overflows size_t"));
        };
        // SAFETY: `n * ndim` values (caller's contract).
        let pts = unsafe { slice(points, len, "points") }?;
        check_ptr(out.cast_const(), "out")?;
        // SAFETY: `out_len` writable elements, disjoint from the inputs.
        let out = unsafe { slice_mut(out, out_len, "out") }?;
        let q = Query::at_slice(pts, ndim)?.outputs(&partials);
        run(s, q, policy, out)
    })
}

/// Evaluates `n_outputs` mixed partial derivatives on the grid
/// `coords[0] x ... x coords[ndim-1]` (coordinate lists of `lens[k]`
/// values, any order), separably: O(4 * ndim) per output value instead of
/// O(4^ndim). `orders` and `policy` as in `bsfit_spline_evaluate`.
///
/// `out` receives `lens[0] * ... * lens[ndim-1] * n_outputs * n_components`
/// values, row-major `(i_0, ..., i_(ndim-1), output, component)`; on any
/// error it is left untouched. An empty coordinate list gives an empty
/// result (nothing is read or written).
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_MISALIGNED_POINTER`,
/// `BSFIT_STATUS_DIMENSION_MISMATCH`, `BSFIT_STATUS_INVALID_ARGUMENT` (as
/// `bsfit_spline_evaluate`), `BSFIT_STATUS_BUFFER_TOO_SMALL`,
/// `BSFIT_STATUS_OUTSIDE_DOMAIN`, `BSFIT_STATUS_THREADS_UNAVAILABLE`.
///
/// Thread safety: safe to call concurrently on the same spline.
///
/// # Safety
/// `spline` must be NULL or a live spline; `coords` NULL or `ndim` pointers,
/// each NULL or `lens[k]` readable values; `lens` NULL or `ndim` values;
/// `orders`, `policy` as in `bsfit_spline_evaluate`; `out` NULL or
/// writable for `out_len` elements.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_spline_evaluate_grid(
    spline: *const Spline,
    coords: *const *const f64,
    lens: *const usize,
    ndim: usize,
    orders: *const usize,
    n_outputs: usize,
    policy: *const u32,
    out: *mut f64,
    out_len: usize,
) -> Status {
    gated(|| {
        // SAFETY: a live spline (caller's contract).
        let s = unsafe { get(spline, "spline") }?;
        check_point_dim(s, ndim)?;
        // SAFETY: as documented (caller's contract).
        let partials = unsafe { partials(orders, n_outputs, ndim) }?;
        // SAFETY: as documented (caller's contract).
        let policy = unsafe { policies(&s.inner, policy, ndim) }?;
        // SAFETY: `ndim` lists of `lens[k]` coordinates (caller's contract).
        let grid = unsafe { axes(ndim, coords, lens, ("coords", "lens"), true) }?;
        let lens: Vec<usize> = grid.iter().map(|a| a.len()).collect();
        if checked_product(&lens, "lens")? == 0 {
            return Ok(());
        }
        check_ptr(out.cast_const(), "out")?;
        // SAFETY: `out_len` writable elements (caller's contract).
        let out = unsafe { slice_mut(out, out_len, "out") }?;
        let q = Query::grid(&grid).outputs(&partials);
        run(s, q, policy, out)
    })
}

/// The value shape of the spline: writes its number of dimensions to
/// `*vndim` (0 for scalar values) and, when `shape` is not NULL, the
/// dimensions to `shape[0 .. vndim]` (`shape_len >= vndim`), and the number
/// of components (their product, 1 for scalar values) to `*n_components`
/// when it is not NULL.
///
/// Errors: `BSFIT_STATUS_NULL_POINTER` (`spline` or `vndim`),
/// `BSFIT_STATUS_MISALIGNED_POINTER`, `BSFIT_STATUS_BUFFER_TOO_SMALL`
/// (`shape_len` too small).
///
/// # Safety
/// `spline` must be NULL or a live spline; `vndim` NULL or writable;
/// `shape` NULL or writable for `shape_len` elements; `n_components` NULL
/// or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_spline_value_shape(
    spline: *const Spline,
    vndim: *mut usize,
    shape: *mut usize,
    shape_len: usize,
    n_components: *mut usize,
) -> Status {
    gated(|| {
        // SAFETY: a live spline (caller's contract).
        let s = unsafe { get(spline, "spline") }?;
        let vndim = Out::new(vndim, "vndim")?;
        let vs = s.inner.value_shape();
        if !shape.is_null() {
            check_capacity(shape_len, vs.len(), "shape")?;
            // SAFETY: `shape_len` writable elements (caller's contract).
            let dst = unsafe { slice_mut(shape, shape_len, "shape") }?;
            dst[..vs.len()].copy_from_slice(vs);
        }
        if !n_components.is_null() {
            // SAFETY: writable (caller's contract), checked non-NULL.
            unsafe { n_components.write(vs.iter().product()) };
        }
        // SAFETY: writable (caller's contract).
        unsafe { vndim.write(vs.len()) };
        Ok(())
    })
}

/// Fits vector-valued data: like `bsfit_spline_fit` with
/// `lens[0] * ... * lens[ndim-1] * vshape[0] * ... * vshape[vndim-1]`
/// values, row-major with the value dimensions last (scipy's `NdBSpline`
/// layout). Complex data: interleaved real and imaginary parts, i.e. a last
/// value dimension of 2 (`double _Complex` / `std::complex<double>` arrays
/// have exactly this layout). Every component is solved in the same passes.
///
/// Errors: `BSFIT_STATUS_NULL_POINTER` (also `vndim > 0` with
/// `vshape == NULL`), `BSFIT_STATUS_MISALIGNED_POINTER`,
/// `BSFIT_STATUS_INVALID_ARGUMENT` (`ndim` outside 1-6, a size overflows),
/// `BSFIT_STATUS_AXIS_TOO_SHORT`, `BSFIT_STATUS_NON_FINITE_SITE`,
/// `BSFIT_STATUS_NON_INCREASING_SITES`, `BSFIT_STATUS_SINGULAR_MATRIX`,
/// `BSFIT_STATUS_NON_FINITE_VALUE`, `BSFIT_STATUS_NON_FINITE_RESULT`,
/// `BSFIT_STATUS_THREADS_UNAVAILABLE`.
///
/// Thread safety: reentrant; the inputs are only read.
///
/// # Safety
/// Non-NULL pointers must point to as many elements as described above.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_spline_fit_vector(
    ndim: usize,
    sites: *const *const f64,
    lens: *const usize,
    values: *const f64,
    vshape: *const usize,
    vndim: usize,
    out: *mut *mut Spline,
) -> Status {
    gated(|| {
        let out = Out::new(out, "out")?;
        // SAFETY: `ndim` arrays of `lens[k]` sites (caller's contract).
        let axes = unsafe { axes(ndim, sites, lens, ("sites", "lens"), true) }?;
        let vshape: &[usize] = if vndim == 0 {
            &[]
        } else {
            // SAFETY: `vndim` values (caller's contract).
            unsafe { slice(vshape, vndim, "vshape") }?
        };
        let mut dims: Vec<usize> = axes.iter().map(|a| a.len()).collect();
        dims.extend_from_slice(vshape);
        let total = checked_product(&dims, "values")?;
        // SAFETY: `total` values (caller's contract).
        let values = unsafe { slice(values, total, "values") }?;
        let spline = exec::install(0, || DynFitter::new(&axes)?.fit_vector(values, vshape))??;
        // SAFETY: `out` is a valid slot (caller's contract).
        unsafe { emit_spline(out, spline) };
        Ok(())
    })
}
