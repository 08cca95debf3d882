//! The separable collocation fit: [`Fitter`] holds the per-axis factorisations
//! so that refitting new values on the same grid skips them.

use super::{MAX_DIM, TensorSpline, recycle};
use crate::banded::BandLu;
use crate::bspline::knots::{not_a_knot, validate_sites};
use crate::isa::Kernels;
use crate::workspace::{DisjointWriter, MAX_WORKERS, ScratchReq, Workspace};
use crate::{FitError, Isa, Par};
use ndarray::{ArrayView, Dim, Dimension};

/// Lanes (lines) solved together in one block: the rows of a block are
/// `LANES` contiguous values, and the block's forward and backward sweeps
/// (`n × LANES` values, 50 KB for n = 50) stay in L2.
const LANES: usize = 128;

/// Lines gathered per block on the innermost axis of the in-place scheme.
const GATHER_LANES: usize = 64;

/// Below this many grid points a fit runs on the calling thread.
const PAR_THRESHOLD: usize = 1 << 14;

/// Grids up to this many points use the rotating scheme (needs a temporary
/// of the grid's size); larger grids are solved in place in the output.
const ROTATE_MAX_POINTS: usize = 1 << 22;

/// A fit plan for one grid: validated axes, their knot vectors and the `LU`
/// factors of their collocation matrices, computed once.
///
/// Use it to refit new values on a fixed grid without refactoring:
///
/// ```
/// use bsfit::tensor::Fitter;
/// use ndarray::Array2;
/// let x = [0.0, 0.5, 1.5, 2.0, 3.0];
/// let y = [0.0, 1.0, 2.0, 4.0];
/// let fitter = Fitter::new([&x[..], &y[..]])?;
/// for shift in [0.0, 1.0] {
///     let v = Array2::from_shape_fn((5, 4), |(i, j)| x[i] * y[j] + shift);
///     let s = fitter.fit(v.view())?;
///     assert!((s.eval([1.0, 3.0]) - (3.0 + shift)).abs() < 1e-12);
/// }
/// # Ok::<(), bsfit::FitError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Fitter<const D: usize> {
    knots: [Vec<f64>; D],
    lu: [BandLu; D],
    shape: [usize; D],
    par: Par,
    kernels: Kernels,
    scheme: FitScheme,
}

/// How the axis passes of a fit move data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FitScheme {
    /// [`Rotate`](Self::Rotate) for grids up to 2²² points, else
    /// [`InPlace`](Self::InPlace).
    #[default]
    Auto,
    /// Every pass solves along the leading axis and writes its result
    /// transposed with that axis moved last (`D` passes restore the order).
    /// Needs a temporary of the grid's size.
    Rotate,
    /// Passes solve in the output array in place (no temporary; the passes
    /// along short inner axes gather lines into per-worker scratch).
    InPlace,
}

impl<const D: usize> Fitter<D> {
    /// Validates the axes and factors their collocation matrices.
    ///
    /// Errors: [`FitError::AxisTooShort`], [`FitError::NonFiniteSite`],
    /// [`FitError::NonIncreasingSites`], [`FitError::SingularMatrix`], and
    /// [`FitError::InvalidParameter`] for `D = 0` or `D > 6`.
    pub fn new(axes: [&[f64]; D]) -> Result<Self, FitError> {
        if D == 0 || D > MAX_DIM {
            return Err(FitError::InvalidParameter {
                name: "D",
                reason: format!("{D} dimensions; 1 to {MAX_DIM} are supported"),
            });
        }
        let mut knots = Vec::with_capacity(D);
        let mut lus = Vec::with_capacity(D);
        for (axis, x) in axes.iter().enumerate() {
            validate_sites(axis, x)?;
            let t = not_a_knot(x);
            lus.push(BandLu::collocation(axis, x, &t)?);
            knots.push(t);
        }
        let shape = axes.map(|a| a.len());
        Ok(Fitter {
            knots: vec_to_array(knots),
            lu: vec_to_array(lus),
            shape,
            par: Par::auto(),
            kernels: Kernels::detect(),
            scheme: FitScheme::Auto,
        })
    }

    /// Chooses the pass scheme (both give the same coefficients up to rounding).
    pub fn with_scheme(mut self, scheme: FitScheme) -> Self {
        self.scheme = scheme;
        self
    }

    /// Pins the instruction set of the fit kernels.
    ///
    /// Errors: [`FitError::IsaUnavailable`] if this CPU lacks it.
    pub fn with_isa(mut self, isa: Isa) -> Result<Self, FitError> {
        self.kernels = Kernels::new(isa)?;
        Ok(self)
    }

    /// The instruction set the fit kernels use.
    pub fn isa(&self) -> Isa {
        self.kernels.isa()
    }

    /// The parallelism used by the fits.
    pub fn par(&self) -> Par {
        self.par
    }

    /// Scratch needed to fit a grid of `shape` with `par`: one block of
    /// `max(n) × 128` values per worker and, for grids up to 2²² points, a
    /// rotation buffer of the grid's size.
    pub fn fit_scratch(shape: [usize; D], par: Par) -> ScratchReq {
        let total: usize = shape.iter().product();
        let workers = if total < PAR_THRESHOLD {
            1
        } else {
            par.degree().clamp(1, MAX_WORKERS)
        };
        ScratchReq {
            shared_f64: if total <= ROTATE_MAX_POINTS { total } else { 0 },
            ..ScratchReq::per_worker::<f64>(workers, Self::per_worker_values(shape))
        }
    }

    /// f64 values of one worker's block of lines.
    fn per_worker_values(shape: [usize; D]) -> usize {
        shape.iter().copied().max().unwrap_or(0) * LANES.max(GATHER_LANES)
    }

    /// A workspace sized for this fitter's grid and parallelism.
    pub fn workspace(&self) -> Workspace {
        Workspace::with_scratch(self.scratch())
    }

    /// [`fit_scratch`](Self::fit_scratch) for this fitter's shape,
    /// parallelism and scheme.
    pub fn scratch(&self) -> ScratchReq {
        let mut req = Self::fit_scratch(self.shape, self.par);
        let total: usize = self.shape.iter().product();
        req.shared_f64 = match self.scheme {
            FitScheme::Auto => req.shared_f64,
            FitScheme::Rotate => total,
            FitScheme::InPlace => 0,
        };
        req
    }

    /// Sets the parallelism used by [`fit`](Self::fit) and [`fit_into`](Self::fit_into).
    pub fn with_par(mut self, par: Par) -> Self {
        self.par = par;
        self
    }

    /// Grid shape (number of sites per axis).
    pub fn shape(&self) -> [usize; D] {
        self.shape
    }

    /// Knot vector of `axis` (n + 4 knots).
    ///
    /// # Panics
    /// If `axis >= D`.
    pub fn knots(&self, axis: usize) -> &[f64] {
        if axis >= D {
            crate::error::panic_index("axis", axis, D);
        }
        &self.knots[axis]
    }

    /// The factored collocation matrix of `axis` (`axis < D`).
    #[cfg(feature = "gpu")]
    pub(super) fn lu(&self, axis: usize) -> &BandLu {
        &self.lu[axis]
    }

    /// The knot vectors of all axes.
    #[cfg(feature = "gpu")]
    pub(super) fn knot_vectors(&self) -> &[Vec<f64>; D] {
        &self.knots
    }

    /// 1-norm condition numbers of the per-axis collocation matrices.
    pub fn condition_estimates(&self) -> [f64; D] {
        std::array::from_fn(|k| self.lu[k].condition_1norm())
    }

    /// Fits values given in row-major order (`values.len()` = product of the
    /// shape) and writes the coefficients, also row-major, to `out`.
    /// Allocates a temporary [`Workspace`]; see [`fit_into_with`](Self::fit_into_with).
    ///
    /// Errors: [`FitError::InvalidParameter`] if a length is wrong,
    /// [`FitError::NonFiniteValue`], [`FitError::NonFiniteResult`].
    pub fn fit_into(&self, values: &[f64], out: &mut [f64]) -> Result<(), FitError> {
        let mut ws = Workspace::new();
        self.fit_into_with(values, out, &mut ws)
    }

    /// [`fit_into`](Self::fit_into) with a reusable workspace: once `ws` is
    /// large enough ([`workspace`](Self::workspace)), this performs no heap
    /// allocation with `Par::Seq` or when called from inside a rayon worker
    /// (the parallel passes use `rayon::join`, whose jobs live on the stack,
    /// and one pre-sized arena per worker). Called from outside the pool, a
    /// parallel fit hands one job to rayon's injector queue, which allocates
    /// one block per 63 jobs: amortised, not zero.
    ///
    /// Errors: as [`fit_into`](Self::fit_into).
    pub fn fit_into_with(
        &self,
        values: &[f64],
        out: &mut [f64],
        ws: &mut Workspace,
    ) -> Result<(), FitError> {
        let total: usize = self.shape.iter().product();
        for (len, what) in [(values.len(), "values"), (out.len(), "out")] {
            if len != total {
                return Err(FitError::InvalidParameter {
                    name: what,
                    reason: format!("length {len}, expected {total} (grid {:?})", self.shape),
                });
            }
        }
        let req = self.scratch();
        let (mut slots, temp) = ws.split(req, Self::per_worker_values(self.shape), f64::NAN);
        let scratch = slots.as_mut_slice();
        let workers = scratch.len();
        let mut run = || {
            if !temp.is_empty() {
                self.rotating_passes(values, out, temp, scratch)
            } else {
                self.in_place_passes(values, out, scratch)
            }
        };
        // Called from outside the pool, move the whole fit onto a worker
        // with one `join` (one injected job per fit instead of one per pass).
        let failed = if workers > 1 && rayon::current_thread_index().is_none() {
            rayon::join(run, || ()).0
        } else {
            run()
        };
        match failed {
            None => Ok(()),
            Some(axis) => {
                if let Some(k) = values.iter().position(|v| !v.is_finite()) {
                    return Err(self.non_finite_value(k, values[k]));
                }
                Err(FitError::NonFiniteResult {
                    axis,
                    condition: self.lu[axis].condition_1norm(),
                })
            }
        }
    }

    /// Fits values given as any ndarray view (any memory layout).
    ///
    /// Errors: [`FitError::ShapeMismatch`] (naming the axis),
    /// [`FitError::NonFiniteValue`] (naming the multi-index),
    /// [`FitError::NonFiniteResult`].
    pub fn fit(
        &self,
        values: ArrayView<'_, f64, Dim<[usize; D]>>,
    ) -> Result<TensorSpline<D>, FitError>
    where
        Dim<[usize; D]>: Dimension,
    {
        let vshape = values.shape();
        for axis in 0..D {
            if vshape[axis] != self.shape[axis] {
                return Err(FitError::ShapeMismatch {
                    axis,
                    axis_len: self.shape[axis],
                    values_len: vshape[axis],
                });
            }
        }
        match values.as_slice() {
            Some(s) => self.fit_slice(s),
            None => {
                let v: Vec<f64> = values.iter().copied().collect();
                self.fit_slice(&v)
            }
        }
    }

    /// Fits row-major `values` into a new spline, with a workspace and an
    /// output buffer from the process-wide cache ([`super::recycle`]).
    pub(super) fn fit_slice(&self, values: &[f64]) -> Result<TensorSpline<D>, FitError> {
        let mut coefs = recycle::take_buffer(values.len());
        let mut ws = recycle::take_workspace();
        let r = self.fit_into_with(values, &mut coefs, &mut ws);
        recycle::give_workspace(ws);
        match r {
            Ok(()) => Ok(self.spline_unchecked(coefs)),
            Err(e) => {
                recycle::give_buffer(coefs);
                Err(e)
            }
        }
    }

    /// The spline on this plan's knots with coefficients of the right length.
    pub(super) fn spline_unchecked(&self, coefs: Vec<f64>) -> TensorSpline<D> {
        TensorSpline::from_parts_unchecked(self.knots.clone(), self.shape, coefs)
            .with_kernels(self.kernels)
    }

    fn non_finite_value(&self, flat: usize, value: f64) -> FitError {
        let mut index = vec![0; D];
        let mut rem = flat;
        for axis in (0..D).rev() {
            index[axis] = rem % self.shape[axis];
            rem /= self.shape[axis];
        }
        FitError::NonFiniteValue { index, value }
    }

    /// The rotating scheme: pass `p` solves along the leading axis of an
    /// array laid out as `[n_p, rest]` (lanes = the contiguous `rest`) and
    /// writes its result transposed, `[rest, n_p]`, so that axis `p` moves
    /// last. After `D` passes the axes are back in order, and every pass
    /// reads full contiguous rows. Buffers alternate between `out` and
    /// `temp` so that the last pass writes `out`. Returns the failing axis.
    fn rotating_passes(
        &self,
        values: &[f64],
        out: &mut [f64],
        temp: &mut [f64],
        scratch: &mut [&mut [f64]],
    ) -> Option<usize> {
        let total = values.len();
        let kernels = self.kernels;
        for axis in 0..D {
            let to_out = (D - 1 - axis).is_multiple_of(2);
            let (src, dst): (&[f64], &mut [f64]) = match (axis, to_out) {
                (0, true) => (values, &mut *out),
                (0, false) => (values, &mut *temp),
                (_, true) => (&*temp, &mut *out),
                (_, false) => (&*out, &mut *temp),
            };
            let lu = &self.lu[axis];
            let n = lu.len();
            let rest = total / n;
            let units = rest.div_ceil(LANES);
            // Unit `u` writes the contiguous block [u·LANES·n, (u·LANES + m)·n)
            // of the [rest, n] destination: leaves get disjoint sub-slices.
            let ok = for_each_leaf_split(
                scratch,
                units,
                dst,
                LANES * n,
                &|scr: &mut [f64], lo: usize, hi: usize, dst: &mut [f64]| {
                    let mut ok = true;
                    for unit in lo..hi {
                        let j0 = unit * LANES;
                        let m = LANES.min(rest - j0);
                        let block = &mut dst[(unit - lo) * LANES * n..][..m * n];
                        debug_assert!((n - 1) * rest + j0 + m <= src.len());
                        // SAFETY: lu.lower() and lu.upper() have n rows
                        // (BandLu invariant); src rows 0..n of lanes
                        // j0..j0+m lie in the [n, rest] source (len total);
                        // `block` holds exactly n*m values; scratch holds
                        // n*LANES ≥ n*max(m, 64) values; the three are
                        // distinct borrows.
                        unsafe {
                            ok &= kernels.lu_solve_transpose_raw(
                                lu.lower(),
                                lu.upper(),
                                src.as_ptr().add(j0),
                                rest,
                                block.as_mut_ptr(),
                                m,
                                scr.as_mut_ptr(),
                            );
                        }
                    }
                    ok
                },
            );
            if !ok {
                return Some(axis);
            }
        }
        None
    }

    /// The in-place scheme for large grids (no temporary): axis 0 solves
    /// from `values` into `out` with lanes over the contiguous remainder,
    /// then every other axis is solved in `out` in place, seen as
    /// `[outer, n, inner]`: with lanes over `inner` when `inner ≥ 8`, else
    /// by gathering blocks of 64 lines into scratch (a 4 × 4-tiled
    /// transpose when `inner = 1`). Returns the failing axis.
    fn in_place_passes(
        &self,
        values: &[f64],
        out: &mut [f64],
        scratch: &mut [&mut [f64]],
    ) -> Option<usize> {
        let isa = self.kernels;
        let out_w = DisjointWriter::new(out);
        let out_w = &out_w;
        for axis in 0..D {
            // SAFETY (all `src.at`/`dst.at` below): offsets stay inside the
            // grid (len = values.len() = out.len()), and each leaf touches
            // only the elements of its own units (disjoint lines).
            let src = |i: usize| -> *const f64 {
                if axis == 0 {
                    values[i..].as_ptr()
                } else {
                    // SAFETY: see above.
                    unsafe { out_w.at(i) }
                }
            };
            // SAFETY: see above.
            let dst = |i: usize| -> *mut f64 { unsafe { out_w.at(i) } };
            let lu = &self.lu[axis];
            let n = lu.len();
            let outer: usize = self.shape[..axis].iter().product();
            let inner: usize = self.shape[axis + 1..].iter().product();
            let ok = if inner >= 8 {
                let per = inner.div_ceil(LANES);
                for_each_leaf(scratch, outer * per, &|scr: &mut [f64], lo, hi| {
                    let mut ok = true;
                    for unit in lo..hi {
                        let (o, b) = (unit / per, unit % per);
                        let j0 = b * LANES;
                        let m = LANES.min(inner - j0);
                        let base = o * n * inner + j0;
                        let sp = scr.as_mut_ptr();
                        // SAFETY: rows 0..n of lanes
                        // base..base+m (stride inner) lie in the grid; units
                        // own disjoint (o, lane) sets, so no element is
                        // written by two leaves; scratch holds n*m values.
                        unsafe {
                            isa.lu_forward_raw(lu.lower(), src(base), inner, sp, m, m);
                            ok &= isa.lu_backward_raw(lu.upper(), sp, m, dst(base), inner, m);
                        }
                    }
                    ok
                })
            } else {
                let lines = outer * inner;
                let units = lines.div_ceil(GATHER_LANES);
                for_each_leaf(scratch, units, &|scr: &mut [f64], lo, hi| {
                    let mut ok = true;
                    for unit in lo..hi {
                        let q0 = unit * GATHER_LANES;
                        let m = GATHER_LANES.min(lines - q0);
                        let sp = scr.as_mut_ptr();
                        // SAFETY: line q covers elements
                        // base(q) + i*inner, i < n, inside the grid; units own
                        // disjoint lines; scratch holds n*m values.
                        unsafe {
                            if inner == 1 {
                                // Lines q0..q0+m are contiguous rows of length n.
                                isa.transpose_raw(src(q0 * n), n, sp, m, m, n);
                            } else {
                                for lane in 0..m {
                                    let q = q0 + lane;
                                    let b0 = (q / inner) * n * inner + q % inner;
                                    for i in 0..n {
                                        *sp.add(i * m + lane) = *src(b0 + i * inner);
                                    }
                                }
                            }
                            isa.lu_forward_raw(lu.lower(), sp, m, sp, m, m);
                            ok &= isa.lu_backward_raw(lu.upper(), sp, m, sp, m, m);
                            if inner == 1 {
                                isa.transpose_raw(sp, m, dst(q0 * n), n, n, m);
                            } else {
                                for lane in 0..m {
                                    let q = q0 + lane;
                                    let b0 = (q / inner) * n * inner + q % inner;
                                    for i in 0..n {
                                        *dst(b0 + i * inner) = *sp.add(i * m + lane);
                                    }
                                }
                            }
                        }
                    }
                    ok
                })
            };
            if !ok {
                return Some(axis);
            }
        }
        None
    }
}

/// Runs `f(scratch, lo, hi)` over `0..units`, split into one contiguous
/// range per scratch slice (worker), in parallel through `rayon::join`
/// (which, unlike `scope`/`spawn`, puts its jobs on the stack and does not
/// allocate). Returns the AND of the results.
fn for_each_leaf<F>(scratch: &mut [&mut [f64]], units: usize, f: &F) -> bool
where
    F: Fn(&mut [f64], usize, usize) -> bool + Sync,
{
    fn rec<F>(scratch: &mut [&mut [f64]], lo: usize, hi: usize, f: &F) -> bool
    where
        F: Fn(&mut [f64], usize, usize) -> bool + Sync,
    {
        if scratch.len() <= 1 || hi - lo < 2 {
            return match scratch.first_mut() {
                Some(s) => f(s, lo, hi),
                None => true,
            };
        }
        let half = scratch.len() / 2;
        let mid = lo + (hi - lo) * half / scratch.len();
        let (a, b) = scratch.split_at_mut(half);
        let (x, y) = rayon::join(|| rec(a, lo, mid, f), || rec(b, mid, hi, f));
        x & y
    }
    rec(scratch, 0, units, f)
}

/// [`for_each_leaf`] for passes whose unit `u` writes the contiguous range
/// `[u·unit_len, (u+1)·unit_len)` of `dst` (the last unit possibly shorter):
/// each leaf also receives its own sub-slice of `dst`, split off with
/// `split_at_mut`, so the leaves' writes are disjoint by construction.
fn for_each_leaf_split<F>(
    scratch: &mut [&mut [f64]],
    units: usize,
    dst: &mut [f64],
    unit_len: usize,
    f: &F,
) -> bool
where
    F: Fn(&mut [f64], usize, usize, &mut [f64]) -> bool + Sync,
{
    fn rec<F>(
        scratch: &mut [&mut [f64]],
        lo: usize,
        hi: usize,
        dst: &mut [f64],
        unit_len: usize,
        f: &F,
    ) -> bool
    where
        F: Fn(&mut [f64], usize, usize, &mut [f64]) -> bool + Sync,
    {
        if scratch.len() <= 1 || hi - lo < 2 {
            return match scratch.first_mut() {
                Some(s) => f(s, lo, hi, dst),
                None => true,
            };
        }
        let half = scratch.len() / 2;
        let mid = lo + (hi - lo) * half / scratch.len();
        let (a, b) = scratch.split_at_mut(half);
        let (da, db) = dst.split_at_mut(((mid - lo) * unit_len).min(dst.len()));
        let (x, y) = rayon::join(
            || rec(a, lo, mid, da, unit_len, f),
            || rec(b, mid, hi, db, unit_len, f),
        );
        x & y
    }
    rec(scratch, 0, units, dst, unit_len, f)
}

/// Converts a vector of exactly `D` items into an array.
pub(crate) fn vec_to_array<T, const D: usize>(v: Vec<T>) -> [T; D] {
    match v.try_into() {
        Ok(a) => a,
        Err(v) => crate::error::panic_index("dimension", v.len(), D),
    }
}
