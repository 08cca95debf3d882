//! `bsfit_fitter`: a fit plan for one grid, refitted without allocating.

use crate::exec;
use crate::ptr::{Out, axes, check_capacity, fill_nan, get, get_mut, slice, slice_mut};
use crate::spline::{Spline, emit_spline};
use crate::status::{Error, Status, gated, guard};
use bsfit_core::{BoundaryCondition, Degree, DynFitter, EndCondition, FitError, Par, Workspace};

/// A fit plan for one grid plus its scratch memory (opaque): refits of new
/// values on the same grid skip the per-axis factorisations and allocate
/// nothing.
///
/// Created by `bsfit_fitter_new` or `bsfit_fitter_new_bc`, released by
/// `bsfit_fitter_free`. Not safe to use from two threads at the same time.
#[derive(Debug)]
pub struct Fitter {
    pub(crate) plan: DynFitter,
    pub(crate) ws: Workspace,
    /// Grid points, cached: `DynFitter::len` builds the shape as a `Vec`,
    /// and a refit must not allocate.
    pub(crate) len: usize,
    /// Coefficients per fit (cached for the same reason).
    coefs_len: usize,
    /// The sites of each axis, as given.
    sites: Vec<Vec<f64>>,
    /// `bsfit_fitter_set_threads` (0: the process-wide setting).
    threads: usize,
    /// The thread count the plan and its workspace are built for.
    built_for: usize,
    /// Workers of a fit with that plan: 1 means a refit never touches the
    /// thread pool and runs on the calling thread.
    workers: usize,
}

/// `plan` with `par`, and the number of workers its fits use.
fn with_par(plan: DynFitter, par: Par) -> (DynFitter, usize) {
    macro_rules! each {
        ($($v:ident),*) => {
            match plan {
                $(DynFitter::$v(f) => {
                    let f = f.with_par(par);
                    let workers = f.scratch().workers;
                    (DynFitter::$v(f), workers)
                })*
                // A variant this version does not know: keep its plan, and
                // treat it as parallel (its refits run in the pool).
                other => (other, usize::MAX),
            }
        };
    }
    each!(D1, D2, D3, D4, D5, D6)
}

impl Fitter {
    /// Boxes a plan built (inside the pool) for `n` threads.
    fn new(plan: DynFitter, sites: Vec<Vec<f64>>, n: usize) -> Self {
        let (plan, workers) = with_par(plan, Par::with_threads(n));
        Fitter {
            ws: plan.workspace(),
            len: plan.len(),
            coefs_len: plan.coef_shape().iter().product(),
            plan,
            sites,
            threads: 0,
            built_for: n,
            workers,
        }
    }

    /// Rebuilds the plan's parallelism if the thread setting now resolves to
    /// another count (allocates only then); returns the count.
    fn tune(&mut self) -> usize {
        let n = exec::resolve(self.threads);
        if n != self.built_for {
            let (plan, workers) = with_par(self.plan.clone(), Par::with_threads(n));
            self.ws = plan.workspace();
            self.plan = plan;
            self.built_for = n;
            self.workers = workers;
        }
        n
    }

    /// Runs `op` with the plan and its workspace: on the calling thread when
    /// a fit uses one worker, else in the pool.
    fn run<R: Send>(
        &mut self,
        op: impl FnOnce(&DynFitter, &mut Workspace) -> R + Send,
    ) -> Result<R, Error> {
        let n = self.tune();
        let (plan, ws) = (&self.plan, &mut self.ws);
        if self.workers <= 1 {
            Ok(op(plan, ws))
        } else {
            exec::install(n, || op(plan, ws))
        }
    }

    /// Fails with `BSFIT_STATUS_SHAPE_MISMATCH` unless `n_values` is the grid's size.
    fn check_values(&self, n_values: usize) -> Result<(), Error> {
        if n_values != self.len {
            return Err(Error::Shape(format!(
                "n_values = {n_values}, but the grid {:?} has {} points",
                self.plan.shape(),
                self.len
            )));
        }
        Ok(())
    }
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
    let end = |side: &str, axis: usize, c: u32| -> Result<Option<EndCondition>, Error> {
        Ok(Some(match c {
            0 => EndCondition::NotAKnot,
            1 => EndCondition::Natural,
            2 => EndCondition::Clamped,
            3 => return Ok(None),
            4 => EndCondition::Derivative { order: 1 },
            5 => EndCondition::Derivative { order: 2 },
            _ => {
                return Err(Error::Arg(format!(
                    "{side}[{axis}] = {c} is not a bsfit_end (0 to 5)"
                )));
            }
        }))
    };
    left.iter()
        .zip(right)
        .enumerate()
        .map(
            |(axis, (&l, &r))| match (end("left", axis, l)?, end("right", axis, r)?) {
                (None, None) => Ok(BoundaryCondition::PERIODIC),
                (Some(l), Some(r)) => Ok(BoundaryCondition::ends(l, r)),
                _ => Err(FitError::InvalidBoundary {
                    axis,
                    reason: "BSFIT_END_PERIODIC applies to both ends".into(),
                }
                .into()),
            },
        )
        .collect()
}

/// The end code of a condition.
fn code(e: EndCondition) -> Result<End, Error> {
    Ok(match e {
        EndCondition::NotAKnot => End::NotAKnot,
        EndCondition::Natural => End::Natural,
        EndCondition::Clamped => End::Clamped,
        EndCondition::Derivative { order: 1 } => End::Deriv1,
        EndCondition::Derivative { order: 2 } => End::Deriv2,
        other => {
            return Err(Error::Internal(format!(
                "end condition {other:?} has no bsfit_end code"
            )));
        }
    })
}

/// Creates a fit plan for the grid `sites[0] x ... x sites[ndim-1]` (same
/// arguments and checks as `bsfit_spline_fit`): validates the sites,
/// factors each axis' collocation matrix once, and allocates the scratch
/// memory every later refit reuses (sized for the thread count in force,
/// `bsfit_set_threads`).
///
/// `out` receives the new fitter on success (free it with
/// `bsfit_fitter_free`); it is left untouched on failure.
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_MISALIGNED_POINTER`,
/// `BSFIT_STATUS_INVALID_ARGUMENT` (`ndim` outside 1-6, the product of
/// `lens` overflows, an axis' extent `x[n-1] - x[0]` overflows),
/// `BSFIT_STATUS_AXIS_TOO_SHORT`, `BSFIT_STATUS_NON_FINITE_SITE`,
/// `BSFIT_STATUS_NON_INCREASING_SITES`, `BSFIT_STATUS_SINGULAR_MATRIX` (sites
/// too close together for their spread), `BSFIT_STATUS_THREADS_UNAVAILABLE`.
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
    gated(|| {
        let out = Out::new(out, "out")?;
        // SAFETY: `ndim` arrays of `lens[k]` sites (caller's contract).
        let axes = unsafe { axes(ndim, sites, lens, ("sites", "lens"), true) }?;
        let n = exec::resolve(0);
        let plan = exec::install(n, || DynFitter::new(&axes))??;
        // SAFETY: `out` is a valid slot (caller's contract).
        unsafe { emit_fitter(out, plan, &axes, n) };
        Ok(())
    })
}

/// Boxes a fit plan with its workspace into `out`.
///
/// # Safety
/// `out` is a valid slot.
unsafe fn emit_fitter(out: Out<*mut Fitter>, plan: DynFitter, axes: &[&[f64]], n: usize) {
    let sites = axes.iter().map(|a| a.to_vec()).collect();
    let p = Box::into_raw(Box::new(Fitter::new(plan, sites, n)));
    // SAFETY: `out` is a valid slot (caller's contract).
    unsafe { out.write(p) };
}

/// `bsfit_fitter_new` with a boundary condition per axis: `left[k]` and
/// `right[k]` are the `bsfit_end` codes of the ends of axis `k` (both
/// `BSFIT_END_PERIODIC` for a periodic axis; not-a-knot on both ends or
/// neither). Axes whose condition is not not-a-knot have `n + 2`
/// coefficients and `n + 6` knots; knots and coefficients are those of
/// scipy's `make_interp_spline(x, y, k=3, bc_type=...)` per axis (see
/// `bsfit_spline_knots`). `BSFIT_END_DERIV1`/`BSFIT_END_DERIV2` take their
/// values with each fit (`bsfit_fitter_refit_ends`), on one axis only.
///
/// Errors: as `bsfit_fitter_new`; `BSFIT_STATUS_INVALID_ARGUMENT` also for
/// a code that is not a `bsfit_end`; `BSFIT_STATUS_INVALID_BOUNDARY`
/// (`BSFIT_END_PERIODIC` on one end only, not-a-knot with another condition,
/// derivative values on two axes, a periodic axis with fewer than 4 sites).
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
    gated(|| {
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
        let bc = conditions(l, r)?;
        let n = exec::resolve(0);
        let plan = exec::install(n, || DynFitter::with_boundary(&axes, &bc))??;
        // SAFETY: `out` is a valid slot (caller's contract).
        unsafe { emit_fitter(out, plan, &axes, n) };
        Ok(())
    })
}

/// `bsfit_fitter_new_bc` with a degree per axis: `degrees[k]` is 1 to 5
/// (scipy's `make_interp_spline(x, y, k)` knots: `n + k + 1` knots and `n`
/// coefficients on an axis of `n >= k + 1` sites). `left` and `right` may
/// both be NULL for not-a-knot ends on every axis; axes of degree other than 3
/// take not-a-knot ends only. Splines from this plan report their degrees
/// through `bsfit_spline_degrees`, and every evaluation entry point serves
/// them (derivatives of order above an axis' degree are 0).
///
/// Errors: as `bsfit_fitter_new_bc`; `BSFIT_STATUS_AXIS_TOO_SHORT` below
/// `k + 1` sites; `BSFIT_STATUS_UNSUPPORTED` for a degree other than 1 to
/// 5, or a condition other than not-a-knot on an axis of degree other than 3;
/// `BSFIT_STATUS_NULL_POINTER` if only one of `left` and `right` is NULL.
///
/// Thread safety: reentrant.
///
/// # Safety
/// Non-NULL pointers must point to as many elements as described (`left`,
/// `right` and `degrees`: `ndim` values each).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_fitter_new_degrees(
    ndim: usize,
    sites: *const *const f64,
    lens: *const usize,
    left: *const End,
    right: *const End,
    degrees: *const u32,
    out: *mut *mut Fitter,
) -> Status {
    gated(|| {
        let out = Out::new(out, "out")?;
        // SAFETY: `ndim` arrays of `lens[k]` sites (caller's contract).
        let axes = unsafe { axes(ndim, sites, lens, ("sites", "lens"), true) }?;
        let bc = if left.is_null() && right.is_null() {
            vec![BoundaryCondition::NOT_A_KNOT; ndim]
        } else {
            // SAFETY: `ndim` codes each (caller's contract), read as
            // integers (unknown codes are errors).
            let (l, r) = unsafe {
                (
                    slice(left.cast::<u32>(), ndim, "left")?,
                    slice(right.cast::<u32>(), ndim, "right")?,
                )
            };
            conditions(l, r)?
        };
        // SAFETY: `ndim` degrees (caller's contract).
        let ks = unsafe { slice(degrees, ndim, "degrees") }?;
        let ks = ks
            .iter()
            .map(|&k| Degree::try_from(k as usize))
            .collect::<Result<Vec<_>, _>>()?;
        let n = exec::resolve(0);
        let plan = exec::install(n, || DynFitter::with_boundary_degrees(&axes, &bc, &ks))??;
        // SAFETY: `out` is a valid slot (caller's contract).
        unsafe { emit_fitter(out, plan, &axes, n) };
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
    let _ = gated(|| {
        // SAFETY: created by `Box::into_raw` in this library and not yet freed
        // (caller's contract).
        drop(unsafe { Box::from_raw(fitter) });
        Ok(())
    });
}

/// Writes one `usize` read from a live fitter.
///
/// # Safety
/// `fitter` NULL or live; `out` NULL or writable.
unsafe fn read_usize(
    fitter: *const Fitter,
    out: *mut usize,
    f: impl FnOnce(&Fitter) -> usize,
) -> Status {
    guard(|| {
        // SAFETY: a live fitter (caller's contract).
        let fit = unsafe { get(fitter, "fitter") }?;
        let out = Out::new(out, "out")?;
        // SAFETY: writable (caller's contract).
        unsafe { out.write(f(fit)) };
        Ok(())
    })
}

/// Number of dimensions of the fitter's grid into `*out`.
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_MISALIGNED_POINTER`.
///
/// Thread safety: read-only, but a fitter must not be used by two threads at once.
///
/// # Safety
/// `fitter` must be NULL or a live fitter; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_fitter_ndim(fitter: *const Fitter, out: *mut usize) -> Status {
    // SAFETY: forwarded contract.
    unsafe { read_usize(fitter, out, |f| f.plan.ndim()) }
}

/// Number of grid points into `*out`: the values each fit takes
/// (`n_values`), the product of `bsfit_fitter_shape`.
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_MISALIGNED_POINTER`.
///
/// Thread safety: read-only, but a fitter must not be used by two threads at once.
///
/// # Safety
/// `fitter` must be NULL or a live fitter; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_fitter_len(fitter: *const Fitter, out: *mut usize) -> Status {
    // SAFETY: forwarded contract.
    unsafe { read_usize(fitter, out, |f| f.len) }
}

/// Number of coefficients each fit produces into `*out`: the product of
/// `bsfit_fitter_coefs_shape` (equal to `bsfit_fitter_len` when every axis
/// is not-a-knot).
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_MISALIGNED_POINTER`.
///
/// Thread safety: read-only, but a fitter must not be used by two threads at once.
///
/// # Safety
/// `fitter` must be NULL or a live fitter; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_fitter_coefs_len(fitter: *const Fitter, out: *mut usize) -> Status {
    // SAFETY: forwarded contract.
    unsafe { read_usize(fitter, out, |f| f.coefs_len) }
}

/// Copies `src` to the caller's `out[0 .. out_len]` for a live fitter.
///
/// # Safety
/// `fitter` NULL or live; `out` NULL or writable for `out_len` elements.
unsafe fn read_array<T: Copy>(
    fitter: *const Fitter,
    out: *mut T,
    out_len: usize,
    f: impl FnOnce(&Fitter) -> Result<Vec<T>, Error>,
) -> Status {
    guard(|| {
        // SAFETY: a live fitter (caller's contract).
        let fit = unsafe { get(fitter, "fitter") }?;
        crate::ptr::check_ptr(out.cast_const(), "out")?;
        let v = f(fit)?;
        check_capacity(out_len, v.len(), "out")?;
        // SAFETY: `out_len` writable elements (caller's contract).
        let out = unsafe { slice_mut(out, out_len, "out") }?;
        out[..v.len()].copy_from_slice(&v);
        Ok(())
    })
}

/// The grid's shape, the number of sites of each axis, into `out[0 .. ndim]`
/// (`out_len >= ndim`).
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_MISALIGNED_POINTER`,
/// `BSFIT_STATUS_BUFFER_TOO_SMALL`. `out` is untouched on failure.
///
/// Thread safety: read-only, but a fitter must not be used by two threads at once.
///
/// # Safety
/// `fitter` must be NULL or a live fitter; `out` NULL or writable for `out_len` elements.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_fitter_shape(
    fitter: *const Fitter,
    out: *mut usize,
    out_len: usize,
) -> Status {
    // SAFETY: forwarded contract.
    unsafe { read_array(fitter, out, out_len, |f| Ok(f.plan.shape())) }
}

/// The coefficients of each axis into `out[0 .. ndim]` (`out_len >= ndim`):
/// `n` for an axis of `n` sites under not-a-knot ends, `n + 2` under any
/// other condition. The spline of a fit has this shape (`bsfit_spline_shape`).
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_MISALIGNED_POINTER`,
/// `BSFIT_STATUS_BUFFER_TOO_SMALL`. `out` is untouched on failure.
///
/// Thread safety: read-only, but a fitter must not be used by two threads at once.
///
/// # Safety
/// `fitter` must be NULL or a live fitter; `out` NULL or writable for `out_len` elements.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_fitter_coefs_shape(
    fitter: *const Fitter,
    out: *mut usize,
    out_len: usize,
) -> Status {
    // SAFETY: forwarded contract.
    unsafe { read_array(fitter, out, out_len, |f| Ok(f.plan.coef_shape())) }
}

/// Copies the sites of `axis` (as given to the constructor) into `out`
/// (`out_len` at least the axis' entry of `bsfit_fitter_shape`).
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_MISALIGNED_POINTER`,
/// `BSFIT_STATUS_INVALID_ARGUMENT` (`axis >= ndim`),
/// `BSFIT_STATUS_BUFFER_TOO_SMALL`. `out` is untouched on failure.
///
/// Thread safety: read-only, but a fitter must not be used by two threads at once.
///
/// # Safety
/// `fitter` must be NULL or a live fitter; `out` NULL or writable for `out_len` elements.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_fitter_sites(
    fitter: *const Fitter,
    axis: usize,
    out: *mut f64,
    out_len: usize,
) -> Status {
    // SAFETY: forwarded contract.
    unsafe {
        read_array(fitter, out, out_len, |f| match f.sites.get(axis) {
            Some(s) => Ok(s.clone()),
            None => Err(Error::Arg(format!(
                "axis {axis} of a {}-dimensional grid",
                f.sites.len()
            ))),
        })
    }
}

/// The end conditions of every axis: `left[k]` and `right[k]` receive the
/// `bsfit_end` codes of axis `k` (`len >= ndim`); both are
/// `BSFIT_END_PERIODIC` on a periodic axis.
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_MISALIGNED_POINTER`,
/// `BSFIT_STATUS_BUFFER_TOO_SMALL`. `left` and `right` are untouched on
/// failure.
///
/// Thread safety: read-only, but a fitter must not be used by two threads at once.
///
/// # Safety
/// `fitter` must be NULL or a live fitter; `left` and `right` NULL or
/// writable for `len` elements each.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_fitter_ends(
    fitter: *const Fitter,
    left: *mut End,
    right: *mut End,
    len: usize,
) -> Status {
    guard(|| {
        // SAFETY: a live fitter (caller's contract).
        let f = unsafe { get(fitter, "fitter") }?;
        crate::ptr::check_ptr(left.cast_const(), "left")?;
        crate::ptr::check_ptr(right.cast_const(), "right")?;
        let bc = f.plan.boundary();
        let mut codes = Vec::with_capacity(bc.len());
        for b in &bc {
            codes.push(match *b {
                BoundaryCondition::Ends { left, right } => (code(left)?, code(right)?),
                _ if b.is_periodic() => (End::Periodic, End::Periodic),
                other => {
                    return Err(Error::Internal(format!(
                        "condition {other:?} has no bsfit_end code"
                    )));
                }
            });
        }
        check_capacity(len, codes.len(), "left")?;
        // SAFETY: `len` writable elements each (caller's contract); written
        // as `End` values, which are valid `bsfit_end` codes.
        let (l, r) = unsafe {
            (
                slice_mut(left, len, "left")?,
                slice_mut(right, len, "right")?,
            )
        };
        for (k, (a, b)) in codes.into_iter().enumerate() {
            l[k] = a;
            r[k] = b;
        }
        Ok(())
    })
}

/// How many end-derivative values each fit takes at the left and at the
/// right end (`*n_left`, `*n_right`): the product of the other axes' sites
/// (1 in 1D) at an end with `BSFIT_END_DERIV1` or `BSFIT_END_DERIV2`, 0 at
/// every other end. Pass exactly these counts to `bsfit_fitter_refit_ends`.
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_MISALIGNED_POINTER`.
/// Nothing is written on failure.
///
/// Thread safety: read-only, but a fitter must not be used by two threads at once.
///
/// # Safety
/// `fitter` must be NULL or a live fitter; `n_left`, `n_right` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_fitter_end_values_len(
    fitter: *const Fitter,
    n_left: *mut usize,
    n_right: *mut usize,
) -> Status {
    guard(|| {
        // SAFETY: a live fitter (caller's contract).
        let f = unsafe { get(fitter, "fitter") }?;
        let (nl, nr) = (Out::new(n_left, "n_left")?, Out::new(n_right, "n_right")?);
        let mut counts = [0usize; 2];
        for (axis, b) in f.plan.boundary().iter().enumerate() {
            let m: usize = f.plan.end_values_shape(axis).iter().product();
            for (c, explicit) in counts.iter_mut().zip(b.explicit_ends()) {
                if explicit {
                    *c = m;
                }
            }
        }
        // SAFETY: writable (caller's contract).
        unsafe {
            nl.write(counts[0]);
            nr.write(counts[1]);
        }
        Ok(())
    })
}

/// Refits: solves for the coefficients of row-major `values` (`n_values`
/// must equal `bsfit_fitter_len`) and writes them, row-major, to
/// `coefs[0 .. m]`, `m = bsfit_fitter_coefs_len` (`coefs_len >= m`). The
/// plan's factorisations and scratch are reused: the refit allocates no
/// memory. A fitter whose fits use one worker (one thread, or a grid below
/// 16384 points) runs on the calling thread; otherwise the refit runs on
/// the library's pool, handing it one job (whose queue allocates one block
/// per 63 jobs).
///
/// On failure, `coefs[0 .. coefs_len]` is filled with NaN, whatever the
/// error, so a failed refit never leaves stale or half-solved coefficients
/// behind; only a `coefs` that is NULL or misaligned is left alone.
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_MISALIGNED_POINTER`,
/// `BSFIT_STATUS_SHAPE_MISMATCH` (`n_values`), `BSFIT_STATUS_BUFFER_TOO_SMALL`
/// (`coefs_len`), `BSFIT_STATUS_NON_FINITE_VALUE`,
/// `BSFIT_STATUS_NON_FINITE_RESULT`, `BSFIT_STATUS_PERIODIC_MISMATCH`,
/// `BSFIT_STATUS_END_VALUES_SHAPE` (an axis takes end values: use
/// `bsfit_fitter_refit_ends`), `BSFIT_STATUS_THREADS_UNAVAILABLE`.
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
    gated(|| unsafe {
        refit(
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
    })
}

/// `bsfit_fitter_refit` with the derivative values of the axis whose ends
/// are `BSFIT_END_DERIV1`/`BSFIT_END_DERIV2`: `left[0 .. n_left]` and
/// `right[0 .. n_right]`, each row-major over the other axes' sites (one
/// value in 1D); an end that takes none has `n = 0` (the pointer may then
/// be NULL). `bsfit_fitter_end_values_len` gives the counts.
///
/// On failure, `coefs[0 .. coefs_len]` is filled with NaN (as for
/// `bsfit_fitter_refit`).
///
/// Errors: as `bsfit_fitter_refit`; `BSFIT_STATUS_END_VALUES_SHAPE` for a
/// wrong `n_left`/`n_right`; `BSFIT_STATUS_NON_FINITE_VALUE` for a non-finite
/// end value.
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
    // SAFETY: forwarded contract.
    gated(|| unsafe {
        refit(
            fitter, values, n_values, left, n_left, right, n_right, coefs, coefs_len,
        )
    })
}

/// The body of the refits: NaN in `coefs` after any failure.
///
/// # Safety
/// As [`bsfit_fitter_refit_ends`].
#[allow(clippy::too_many_arguments)]
unsafe fn refit(
    fitter: *mut Fitter,
    values: *const f64,
    n_values: usize,
    left: *const f64,
    n_left: usize,
    right: *const f64,
    n_right: usize,
    coefs: *mut f64,
    coefs_len: usize,
) -> Result<(), Error> {
    // SAFETY: forwarded contract.
    let result = unsafe {
        refit_inner(
            fitter, values, n_values, left, n_left, right, n_right, coefs, coefs_len,
        )
    };
    if result.is_err() {
        // SAFETY: `coefs` NULL or writable for `coefs_len` (caller's contract).
        unsafe { fill_nan(coefs, coefs_len) };
    }
    result
}

/// # Safety
/// As [`bsfit_fitter_refit_ends`].
#[allow(clippy::too_many_arguments)]
unsafe fn refit_inner(
    fitter: *mut Fitter,
    values: *const f64,
    n_values: usize,
    left: *const f64,
    n_left: usize,
    right: *const f64,
    n_right: usize,
    coefs: *mut f64,
    coefs_len: usize,
) -> Result<(), Error> {
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
    crate::ptr::check_ptr(coefs.cast_const(), "coefs")?;
    f.check_values(n_values)?;
    check_capacity(coefs_len, f.coefs_len, "coefs")?;
    // SAFETY: `coefs_len` writable elements, disjoint from `values` (caller's contract).
    let coefs = unsafe { slice_mut(coefs, coefs_len, "coefs") }?;
    let out = &mut coefs[..f.coefs_len];
    f.run(|plan, ws| plan.fit_into_ends(values, ends, out, ws))??;
    Ok(())
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
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_MISALIGNED_POINTER`,
/// `BSFIT_STATUS_SHAPE_MISMATCH` (`n_values`), `BSFIT_STATUS_NON_FINITE_VALUE`,
/// `BSFIT_STATUS_NON_FINITE_RESULT`, `BSFIT_STATUS_PERIODIC_MISMATCH`,
/// `BSFIT_STATUS_END_VALUES_SHAPE` (an axis takes end values: use
/// `bsfit_fitter_fit_ends`), `BSFIT_STATUS_THREADS_UNAVAILABLE`.
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
    // SAFETY: forwarded contract; no end values.
    gated(|| unsafe {
        fit(
            fitter,
            values,
            n_values,
            std::ptr::null(),
            0,
            std::ptr::null(),
            0,
            out,
        )
    })
}

/// `bsfit_fitter_fit` with end-derivative values, as `bsfit_fitter_refit_ends`
/// takes them.
///
/// Errors: as `bsfit_fitter_fit`; `BSFIT_STATUS_END_VALUES_SHAPE` for a
/// wrong `n_left`/`n_right`; `BSFIT_STATUS_NON_FINITE_VALUE` for a non-finite
/// end value. `*out` is untouched on failure.
///
/// Thread safety: as `bsfit_fitter_fit`.
///
/// # Safety
/// As `bsfit_fitter_fit`; `left`/`right` NULL or readable for
/// `n_left`/`n_right` values.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn bsfit_fitter_fit_ends(
    fitter: *mut Fitter,
    values: *const f64,
    n_values: usize,
    left: *const f64,
    n_left: usize,
    right: *const f64,
    n_right: usize,
    out: *mut *mut Spline,
) -> Status {
    // SAFETY: forwarded contract.
    gated(|| unsafe { fit(fitter, values, n_values, left, n_left, right, n_right, out) })
}

/// The body of the two fits into a new spline.
///
/// # Safety
/// As [`bsfit_fitter_fit_ends`].
#[allow(clippy::too_many_arguments)]
unsafe fn fit(
    fitter: *mut Fitter,
    values: *const f64,
    n_values: usize,
    left: *const f64,
    n_left: usize,
    right: *const f64,
    n_right: usize,
    out: *mut *mut Spline,
) -> Result<(), Error> {
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
    let out = Out::new(out, "out")?;
    f.check_values(n_values)?;
    let mut coefs = vec![0.0; f.coefs_len];
    f.run(|plan, ws| plan.fit_into_ends(values, ends, &mut coefs, ws))??;
    let spline = f.plan.spline_from(coefs)?;
    // SAFETY: `out` is a valid slot (caller's contract).
    unsafe { emit_spline(out, spline) };
    Ok(())
}

/// The spline on the fitter's grid and knots with row-major coefficients
/// `coefs[0 .. n_coefs]` (`n_coefs` equal to `bsfit_fitter_coefs_len`), e.g. as
/// written by `bsfit_fitter_refit`, into `*out` (untouched on failure).
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_MISALIGNED_POINTER`,
/// `BSFIT_STATUS_SHAPE_MISMATCH` (`n_coefs`), `BSFIT_STATUS_INVALID_DATA` (a
/// non-finite coefficient, e.g. from a failed refit).
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
    gated(|| {
        // SAFETY: a live fitter (caller's contract).
        let f = unsafe { get(fitter, "fitter") }?;
        // SAFETY: `n_coefs` values (caller's contract).
        let coefs = unsafe { slice(coefs, n_coefs, "coefs") }?;
        let out = Out::new(out, "out")?;
        if n_coefs != f.coefs_len {
            return Err(Error::Shape(format!(
                "n_coefs = {n_coefs}, but the fitter's splines have {} coefficients (shape {:?})",
                f.coefs_len,
                f.plan.coef_shape()
            )));
        }
        let spline = f.plan.spline_from(coefs.to_vec())?;
        // SAFETY: `out` is a valid slot (caller's contract).
        unsafe { emit_spline(out, spline) };
        Ok(())
    })
}

/// Sets the number of threads the fitter's refits and fits use: 1 runs them
/// on the calling thread, `n > 1` on the library's pool of `n` threads, 0
/// (the initial setting) follows `bsfit_set_threads`. The next refit after a
/// change that alters the count re-sizes the scratch (allocates once).
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_MISALIGNED_POINTER`,
/// `BSFIT_STATUS_INVALID_ARGUMENT` (`threads > 1024`).
///
/// Thread safety: a fitter must not be used by two threads at once.
///
/// # Safety
/// `fitter` must be NULL or a live fitter.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_fitter_set_threads(fitter: *mut Fitter, threads: usize) -> Status {
    guard(|| {
        // SAFETY: a live fitter, used by this thread only (caller's contract).
        let f = unsafe { get_mut(fitter, "fitter") }?;
        exec::check_threads(threads)?;
        f.threads = threads;
        Ok(())
    })
}

/// The fitter's thread setting (`bsfit_fitter_set_threads`; 0: follows
/// `bsfit_set_threads`) into `*out`.
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_MISALIGNED_POINTER`.
///
/// Thread safety: read-only, but a fitter must not be used by two threads at once.
///
/// # Safety
/// `fitter` must be NULL or a live fitter; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_fitter_get_threads(
    fitter: *const Fitter,
    out: *mut usize,
) -> Status {
    // SAFETY: forwarded contract.
    unsafe { read_usize(fitter, out, |f| f.threads) }
}
