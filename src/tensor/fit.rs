//! The separable collocation fit: [`Fitter`] holds the per-axis factorisations
//! so that refitting new values on the same grid skips them.

use super::{MAX_DIM, TensorSpline};
use crate::BoundaryCondition;
use crate::bspline::Degree;
use crate::bspline::boundary::AxisSystem;
use crate::bspline::knots::validate_sites_k;
use crate::isa::Kernels;
use crate::recycle;
use crate::workspace::{DisjointWriter, MAX_WORKERS, ScratchReq, Workspace};
use crate::{FitError, Isa, Par};
use ndarray::{ArrayView, ArrayViewD, Dim, Dimension};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Lanes (lines) solved together in one block: the rows of a block are
/// `LANES` contiguous values, and the block's forward and backward sweeps
/// (`n × LANES` values, 50 KB for n = 50) stay in L2.
const LANES: usize = 128;

/// Lines gathered per block on the innermost axis of the in-place scheme.
const GATHER_LANES: usize = 64;

/// Below this many grid points a fit runs on the calling thread.
const PAR_THRESHOLD: usize = 1 << 14;

/// Grids up to this many points use the rotating scheme (needs a temporary
/// of the grid's size); larger grids are solved in blocks or in place.
const ROTATE_MAX_POINTS: usize = 1 << 22;

/// Largest trailing block (coefficients) the blocked scheme solves in one
/// piece: a quarter of the L2 cache (32768 f64 values in a 1 MiB L2).
/// A worker streams the block's values through a temporary into its output
/// (three blocks), which stays in three quarters of the L2. Measured at
/// 200×100×50×30 on 2 threads (AVX2, 512 kB L2): blocks of 50×30 (this
/// bound) 155 ms, of 100×50×30 (2 MiB) 200–230 ms, in place 188–234 ms.
fn block_max_values(caches: crate::cache_sizes::CacheSizes) -> usize {
    caches.l2 / 32
}

/// How a fit of a given grid moves its data (the resolved [`FitScheme`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Passes {
    /// One rotating pass per axis through a temporary of the grid's size.
    Rotate,
    /// One pass per axis in the output.
    InPlace,
    /// The trailing axes `k..D` solved per index of the leading ones, then
    /// each leading axis in place.
    Blocked(usize),
}

impl Passes {
    /// The scheme for `shape` (sites) with `coef` coefficients per axis.
    fn resolve(scheme: FitScheme, shape: &[usize], coef: &[usize]) -> Passes {
        let total: usize = shape.iter().product();
        let d = shape.len();
        let caches = crate::cache_sizes::CacheSizes::get();
        let block_max = block_max_values(caches);
        // The first split whose trailing block fits: at most D - 1.
        let split = (1..d)
            .find(|&k| coef[k..].iter().product::<usize>() <= block_max)
            .unwrap_or(d.saturating_sub(1));
        match scheme {
            FitScheme::Rotate => Passes::Rotate,
            FitScheme::InPlace => Passes::InPlace,
            FitScheme::Blocked if d >= 2 => Passes::Blocked(split),
            FitScheme::Blocked => Passes::InPlace,
            // Rotation (three grid-sized arrays) while they fit in half
            // the last-level cache.
            FitScheme::Auto if total.saturating_mul(24) <= caches.l3 / 2 => Passes::Rotate,
            // Blocks that leave one leading axis: two sweeps.
            FitScheme::Auto if d >= 3 && split == 1 => Passes::Blocked(split),
            FitScheme::Auto if total <= ROTATE_MAX_POINTS => Passes::Rotate,
            // Blocks pay when they save at least one sweep.
            FitScheme::Auto if d >= 3 && split + 2 <= d => Passes::Blocked(split),
            FitScheme::Auto => Passes::InPlace,
        }
    }

    /// Values of the grid-sized rotation temporary.
    fn rotation_len(self, coef: &[usize]) -> usize {
        match self {
            Passes::Rotate => coef.iter().product(),
            _ => 0,
        }
    }

    /// Values of the per-worker block temporary.
    fn block_len(self, coef: &[usize]) -> usize {
        match self {
            Passes::Blocked(k) => coef[k..].iter().product(),
            _ => 0,
        }
    }
}

/// A fit plan for one grid: validated axes, their boundary conditions, knot
/// vectors and the `LU` factors of their collocation systems, computed once.
///
/// Every axis has a [`BoundaryCondition`] (not-a-knot unless chosen with
/// [`with_boundary`](Self::with_boundary)); an axis with another condition
/// has `n + 2` coefficients (see [`crate::bspline::boundary`]).
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
    /// Per-axis systems (boxed: they are large and `Fitter`s are moved).
    sys: Box<[AxisSystem; D]>,
    shape: [usize; D],
    coef_shape: [usize; D],
    /// The axis whose ends take derivative values with the fit, if any.
    explicit_axis: Option<usize>,
    par: Par,
    pub(super) kernels: Kernels,
    scheme: FitScheme,
}

/// How the axis passes of a fit move data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FitScheme {
    /// [`Rotate`](Self::Rotate) while its three grid-sized arrays fit in
    /// half the last-level cache; then [`Blocked`](Self::Blocked) when the trailing
    /// block leaves a single leading axis (two sweeps of the grid); else
    /// [`Rotate`](Self::Rotate) for grids up to 2²² points; above that
    /// [`Blocked`](Self::Blocked) when it saves a sweep, else
    /// [`InPlace`](Self::InPlace). The block bound is derived from the
    /// machine's cache sizes, read once per process.
    #[default]
    Auto,
    /// Every pass solves along the leading axis and writes its result
    /// transposed with that axis moved last (`D` passes restore the order).
    /// Needs a temporary of the grid's size.
    Rotate,
    /// Passes solve in the output array in place (no temporary; the passes
    /// along short inner axes gather lines into per-worker scratch).
    InPlace,
    /// For grids beyond cache: the trailing axes whose block fits in a
    /// quarter of the L2 cache are solved together, one block (one index of
    /// the leading axes) at a time by the rotating scheme in a per-worker temporary, while the
    /// block is in L2: one read+write sweep of the grid for all of them.
    /// Then each leading axis in place, one sweep each. With a 1 MiB L2, a
    /// 4D grid such as 200×100×50×30 (blocks of 50×30) costs 3 sweeps
    /// instead of 4, and 100×50×30×20 (blocks of 50×30×20) two.
    /// [`Auto`](Self::Auto) picks it as its doc says; 1D grids fall back to
    /// [`InPlace`](Self::InPlace).
    Blocked,
}

impl<const D: usize> Fitter<D> {
    /// Validates the axes and factors their collocation matrices
    /// (not-a-knot on every axis).
    ///
    /// Errors: [`FitError::AxisTooShort`], [`FitError::NonFiniteSite`],
    /// [`FitError::NonIncreasingSites`], [`FitError::SingularMatrix`], and
    /// [`FitError::InvalidParameter`] for `D = 0` or `D > 6`.
    pub fn new(axes: [&[f64]; D]) -> Result<Self, FitError> {
        Self::with_boundary(axes, [BoundaryCondition::NOT_A_KNOT; D])
    }

    /// Validates the axes and factors their systems under the boundary
    /// condition of each axis. Derivative values given with the fit
    /// ([`EndCondition::Derivative`](crate::EndCondition::Derivative)) are
    /// allowed on one axis only.
    ///
    /// ```
    /// use bsfit::{BoundaryCondition as Bc, Fitter};
    /// use ndarray::Array2;
    /// use std::f64::consts::TAU;
    /// let a: Vec<f64> = (0..9).map(|i| TAU * i as f64 / 8.0).collect();
    /// let r = [0.5, 1.0, 1.7, 2.0, 3.0];
    /// let fitter = Fitter::with_boundary([&a[..], &r[..]], [Bc::PERIODIC, Bc::NATURAL])?;
    /// let v = Array2::from_shape_fn((9, 5), |(i, j)| r[j] * a[i].cos());
    /// let s = fitter.fit(v.view())?;
    /// assert_eq!(s.shape(), [11, 7]);
    /// // Evaluation wraps the periodic axis.
    /// assert!((s.eval([0.3 + TAU, 1.2]) - s.eval([0.3, 1.2])).abs() < 1e-12);
    /// # Ok::<(), bsfit::FitError>(())
    /// ```
    ///
    /// Errors: as [`new`](Self::new), and [`FitError::InvalidBoundary`].
    pub fn with_boundary(axes: [&[f64]; D], bc: [BoundaryCondition; D]) -> Result<Self, FitError> {
        Self::with_boundary_degrees(axes, bc, [Degree::Cubic; D])
    }

    /// Validates the axes and factors their collocation matrices with
    /// not-a-knot ends and the degree of each axis (1 to 5, mixed
    /// freely): scipy's `make_interp_spline(x, y, k)` knots per axis, at
    /// least `k + 1` sites per axis.
    ///
    /// ```
    /// use bsfit::{Degree, Fitter};
    /// use ndarray::Array2;
    /// let x = [0.0, 0.5, 1.5, 2.0, 3.0, 3.5, 4.0];
    /// let y = [0.0, 1.0, 2.0];
    /// let fitter = Fitter::with_degrees([&x[..], &y[..]], [Degree::Quintic, Degree::Linear])?;
    /// // Degree 5 in x and 1 in y reproduce x⁵·y.
    /// let v = Array2::from_shape_fn((7, 3), |(i, j)| x[i].powi(5) * y[j]);
    /// let s = fitter.fit(v.view())?;
    /// assert!((s.eval([2.7, 1.5]) - 2.7f64.powi(5) * 1.5).abs() < 1e-9);
    /// assert_eq!(s.degrees(), [Degree::Quintic, Degree::Linear]);
    /// # Ok::<(), bsfit::FitError>(())
    /// ```
    ///
    /// Errors: as [`new`](Self::new) ([`FitError::AxisTooShort`] below
    /// `k + 1` sites).
    pub fn with_degrees(axes: [&[f64]; D], degrees: [Degree; D]) -> Result<Self, FitError> {
        Self::with_boundary_degrees(axes, [BoundaryCondition::NOT_A_KNOT; D], degrees)
    }

    /// [`with_boundary`](Self::with_boundary) with the degree of each axis.
    /// Axes of a degree other than 3 take not-a-knot ends only.
    ///
    /// Errors: as [`with_boundary`](Self::with_boundary), and
    /// [`FitError::Unsupported`] for another condition at a degree other than 3.
    pub fn with_boundary_degrees(
        axes: [&[f64]; D],
        bc: [BoundaryCondition; D],
        degrees: [Degree; D],
    ) -> Result<Self, FitError> {
        if D == 0 || D > MAX_DIM {
            return Err(FitError::InvalidParameter {
                name: "D",
                reason: format!("{D} dimensions; 1 to {MAX_DIM} are supported"),
            });
        }
        let mut explicit_axis = None;
        for (axis, b) in bc.iter().enumerate() {
            if b.explicit_ends().iter().any(|&e| e) {
                if let Some(first) = explicit_axis {
                    return Err(FitError::InvalidBoundary {
                        axis,
                        reason: format!(
                            "derivative values are already given on axis {first}; a second axis \
                             with explicit values would need corner cross-derivatives"
                        ),
                    });
                }
                explicit_axis = Some(axis);
            }
        }
        let mut sys = Vec::with_capacity(D);
        for (axis, x) in axes.iter().enumerate() {
            validate_sites_k(axis, x, degrees[axis])?;
            sys.push(AxisSystem::with_degree(axis, x, bc[axis], degrees[axis])?);
        }
        let sys: Box<[AxisSystem; D]> = Box::new(vec_to_array(sys));
        let shape = axes.map(|a| a.len());
        let coef_shape = std::array::from_fn(|k| sys[k].n_out);
        Ok(Fitter {
            sys,
            shape,
            coef_shape,
            explicit_axis,
            par: Par::auto(),
            kernels: Kernels::detect(),
            scheme: FitScheme::Auto,
        })
    }

    /// The per-axis systems and the axis whose ends take values with the
    /// fit (read by the sensitivities, `super::sensitivity`).
    pub(super) fn systems(&self) -> (&[AxisSystem; D], Option<usize>) {
        (&self.sys, self.explicit_axis)
    }

    /// The degree of each axis.
    pub fn degrees(&self) -> [Degree; D] {
        std::array::from_fn(|k| self.sys[k].degree)
    }

    /// The boundary condition of each axis.
    pub fn boundary(&self) -> [BoundaryCondition; D] {
        std::array::from_fn(|k| self.sys[k].bc)
    }

    /// Shape of the coefficient array: per axis `n` for not-a-knot, `n + 2`
    /// for the other conditions.
    pub fn coef_shape(&self) -> [usize; D] {
        self.coef_shape
    }

    /// Shape of the derivative values an explicit end of `axis` takes: the
    /// grid shape without `axis`.
    pub fn end_values_shape(&self, axis: usize) -> Vec<usize> {
        (0..D)
            .filter(|&k| k != axis)
            .map(|k| self.shape[k])
            .collect()
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

    /// Scratch needed to fit a grid of `shape` with `par` with not-a-knot
    /// axes: one block of `max(n) × 128` values per worker and, for the
    /// grids [`FitScheme::Auto`] rotates, a rotation buffer of the grid's
    /// size (for the blocked ones, a trailing block of at most a quarter of
    /// the L2 cache per worker). A fitter's
    /// own [`scratch`](Self::scratch) also counts its boundary conditions.
    pub fn fit_scratch(shape: [usize; D], par: Par) -> ScratchReq {
        let total: usize = shape.iter().product();
        let workers = if total < PAR_THRESHOLD {
            1
        } else {
            par.degree().clamp(1, MAX_WORKERS)
        };
        let passes = Passes::resolve(FitScheme::Auto, &shape, &shape);
        ScratchReq {
            shared_f64: passes.rotation_len(&shape),
            ..ScratchReq::per_worker::<f64>(
                workers,
                Self::per_worker_values(shape) + passes.block_len(&shape),
            )
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
    /// parallelism, scheme and boundary conditions (which add a block of
    /// `max(n + 2) × 128` values per worker and, with explicit end values,
    /// two arrays over the other axes).
    pub fn scratch(&self) -> ScratchReq {
        let mut req = Self::fit_scratch(self.shape, self.par);
        req.per_worker_bytes = self.per_worker() * std::mem::size_of::<f64>();
        req.shared_f64 = self.rotation_len() + self.explicit_len();
        req
    }

    /// f64 values of one worker's scratch.
    fn per_worker(&self) -> usize {
        let post = self.sys.iter().any(|s| s.has_post());
        let out = if post {
            self.coef_shape.iter().copied().max().unwrap_or(0) * LANES.max(GATHER_LANES)
        } else {
            0
        };
        Self::per_worker_values(self.shape) + out + self.passes().block_len(&self.coef_shape)
    }

    /// f64 values of one worker's line scratch (before its block temporary).
    fn line_scratch(&self) -> usize {
        self.per_worker() - self.passes().block_len(&self.coef_shape)
    }

    /// The resolved scheme.
    fn passes(&self) -> Passes {
        Passes::resolve(self.scheme, &self.shape, &self.coef_shape)
    }

    /// Length of the rotation buffer (0 for the other schemes).
    fn rotation_len(&self) -> usize {
        self.passes().rotation_len(&self.coef_shape)
    }

    /// Scratch for the explicit end values: two arrays over the other axes'
    /// coefficients and two lines.
    fn explicit_len(&self) -> usize {
        match self.explicit_axis {
            None => 0,
            Some(k) => {
                let g: usize = (0..D)
                    .filter(|&j| j != k)
                    .map(|j| self.coef_shape[j])
                    .product();
                2 * g + 2 * self.coef_shape.iter().copied().max().unwrap_or(0)
            }
        }
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

    /// Knot vector of `axis` (coefficients + 4 knots), as scipy's
    /// `make_interp_spline(x, y, k=3, bc_type=...)` chooses it.
    ///
    /// # Panics
    /// If `axis >= D`.
    pub fn knots(&self, axis: usize) -> &[f64] {
        if axis >= D {
            crate::error::panic_index("axis", axis, D);
        }
        &self.sys[axis].knots
    }

    /// The knot vectors of all axes.
    #[cfg(feature = "gpu")]
    pub(super) fn knot_vectors(&self) -> [Vec<f64>; D] {
        std::array::from_fn(|k| self.sys[k].knots.clone())
    }

    /// 1-norm condition numbers of the per-axis banded systems (for a
    /// periodic axis, of its banded part before the Sherman–Morrison
    /// correction).
    pub fn condition_estimates(&self) -> [f64; D] {
        std::array::from_fn(|k| self.sys[k].condition_1norm())
    }

    /// Fits values given in row-major order (`values.len()` = product of the
    /// shape) and writes the coefficients, also row-major, to `out` (length:
    /// product of [`coef_shape`](Self::coef_shape)).
    /// Allocates a temporary [`Workspace`]; see [`fit_into_with`](Self::fit_into_with).
    ///
    /// Errors: [`FitError::InvalidParameter`] if a length is wrong,
    /// [`FitError::NonFiniteValue`], [`FitError::NonFiniteResult`],
    /// [`FitError::PeriodicMismatch`], [`FitError::EndValuesShape`] if an
    /// axis takes end values (use [`fit_into_ends`](Self::fit_into_ends)).
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
        self.fit_into_ends(values, [&[], &[]], out, ws)
    }

    /// [`fit_into_with`](Self::fit_into_with) with the derivative values of
    /// the axis whose ends are
    /// [`EndCondition::Derivative`](crate::EndCondition::Derivative):
    /// `ends[0]` for the left end, `ends[1]` for the right, each row-major
    /// over the other axes' sites ([`end_values_shape`](Self::end_values_shape);
    /// one value in 1D). An end without explicit values takes an empty slice.
    ///
    /// ```
    /// use bsfit::{BoundaryCondition as Bc, EndCondition as E, Fitter, Workspace};
    /// let x = [0.0, 0.5, 1.25, 2.0, 3.0];
    /// let y = [1.0, 2.0, 4.0, 5.0];
    /// let bc = Bc::ends(E::Derivative { order: 1 }, E::Derivative { order: 2 });
    /// let fitter = Fitter::with_boundary([&x[..], &y[..]], [bc, Bc::NOT_A_KNOT])?;
    /// // f = x³ y: f_x(0, y) = 0, f_xx(3, y) = 18 y.
    /// let f: Vec<f64> = x.iter().flat_map(|&a| y.map(|b| a * a * a * b)).collect();
    /// let right: Vec<f64> = y.iter().map(|&b| 18.0 * b).collect();
    /// let mut c = vec![0.0; 7 * 4];
    /// fitter.fit_into_ends(&f, [&[0.0; 4], &right], &mut c, &mut Workspace::new())?;
    /// # Ok::<(), bsfit::FitError>(())
    /// ```
    ///
    /// Errors: as [`fit_into`](Self::fit_into); [`FitError::EndValuesShape`]
    /// for values of the wrong length, missing, or given to an end that
    /// takes none; [`FitError::NonFiniteValue`] for a non-finite end value.
    pub fn fit_into_ends(
        &self,
        values: &[f64],
        ends: [&[f64]; 2],
        out: &mut [f64],
        ws: &mut Workspace,
    ) -> Result<(), FitError> {
        self.fit_impl(values, 1, ends, out, ws)
    }

    /// Fits vector values: `values` row-major of shape
    /// `(n_0, …, n_{D-1}, *vshape)`, the coefficients written row-major to
    /// `out`, shape `(coef_shape…, *vshape)` (scipy's `NdBSpline` layout).
    /// Every component is solved in the same passes (lines `Π vshape`
    /// times longer); explicit end values, where an axis takes them, have
    /// shape `(end_values_shape…, *vshape)`. Complex values are two real
    /// components (`vshape = [.., 2]`). Allocation as
    /// [`fit_into_with`](Self::fit_into_with) once `ws` has grown.
    ///
    /// ```
    /// use bsfit::{Fitter, Workspace};
    /// let x = [0.0, 1.0, 2.0, 3.0, 4.0];
    /// let fitter = Fitter::new([&x[..]])?;
    /// // Two components per site: (x², x³).
    /// let v: Vec<f64> = x.iter().flat_map(|&a| [a * a, a * a * a]).collect();
    /// let mut c = vec![0.0; 10];
    /// fitter.fit_into_vector(&v, &[2], [&[], &[]], &mut c, &mut Workspace::new())?;
    /// let s = fitter.spline_from_vector(c, &[2])?;
    /// let r = s.evaluate(&bsfit::tensor::Query::at_slice(&[1.5], 1)?)?;
    /// assert!((r[[0, 0, 1]] - 1.5f64.powi(3)).abs() < 1e-12);
    /// # Ok::<(), bsfit::FitError>(())
    /// ```
    ///
    /// Errors: as [`fit_into_ends`](Self::fit_into_ends).
    pub fn fit_into_vector(
        &self,
        values: &[f64],
        vshape: &[usize],
        ends: [&[f64]; 2],
        out: &mut [f64],
        ws: &mut Workspace,
    ) -> Result<(), FitError> {
        let nc = vshape
            .iter()
            .try_fold(1usize, |a, &n| a.checked_mul(n))
            .ok_or_else(|| FitError::InvalidParameter {
                name: "vshape",
                reason: format!("value shape {vshape:?} overflows"),
            })?;
        self.fit_impl(values, nc, ends, out, ws)
    }

    /// The spline on this plan's knots with value shape `vshape` and the
    /// row-major coefficients `coefs` (e.g. from
    /// [`fit_into_vector`](Self::fit_into_vector)).
    ///
    /// Errors: [`FitError::InvalidParameter`] for a wrong length,
    /// [`FitError::InvalidData`] for a non-finite coefficient.
    pub fn spline_from_vector(
        &self,
        coefs: Vec<f64>,
        vshape: &[usize],
    ) -> Result<TensorSpline<D>, FitError> {
        let want = self
            .coef_shape
            .iter()
            .chain(vshape)
            .try_fold(1usize, |a, &n| a.checked_mul(n));
        if want != Some(coefs.len()) {
            return Err(FitError::InvalidParameter {
                name: "coefs",
                reason: format!(
                    "length {}, coefficients {:?} with values of shape {vshape:?}",
                    coefs.len(),
                    self.coef_shape
                ),
            });
        }
        if let Some(i) = coefs.iter().position(|c| !c.is_finite()) {
            return Err(FitError::InvalidData(format!(
                "coefficient {i} is not finite ({})",
                coefs[i]
            )));
        }
        Ok(self
            .spline_unchecked(coefs)
            .with_vshape_unchecked(vshape.to_vec()))
    }

    /// The fit of `nc` components per site (see
    /// [`fit_into_vector`](Self::fit_into_vector)).
    fn fit_impl(
        &self,
        values: &[f64],
        nc: usize,
        ends: [&[f64]; 2],
        out: &mut [f64],
        ws: &mut Workspace,
    ) -> Result<(), FitError> {
        let total = self.shape.iter().product::<usize>().checked_mul(nc);
        let total_out = self.coef_shape.iter().product::<usize>().checked_mul(nc);
        for (len, want, what) in [
            (values.len(), total, "values"),
            (out.len(), total_out, "out"),
        ] {
            if Some(len) != want || nc == 0 {
                return Err(FitError::InvalidParameter {
                    name: what,
                    reason: format!(
                        "length {len}, expected {} (grid {:?}, coefficients {:?}, {nc} components)",
                        want.unwrap_or(usize::MAX),
                        self.shape,
                        self.coef_shape
                    ),
                });
            }
        }
        self.check_ends(&ends, nc)?;
        let mut req = self.scratch();
        req.shared_f64 = self.rotation_len() + self.explicit_len() * nc;
        let rot = self.rotation_len();
        let (mut slots, shared) = ws.split(req, self.per_worker(), f64::NAN);
        let (temp, extra) = shared.split_at_mut(rot);
        let scratch = slots.as_mut_slice();
        let workers = scratch.len();
        let mut run = || -> Result<Option<usize>, FitError> {
            // On the pool's worker: the check of the periodic ends runs in
            // parallel without a second injection.
            self.check_periodic(values, nc)?;
            let failed = match self.passes() {
                // Vector values: every pass in place, the components riding
                // along as the innermost lanes.
                _ if nc > 1 => self.in_place_passes(Some(values), out, scratch, D, nc),
                Passes::Rotate => self.rotating_passes(0, values, out, temp, scratch),
                Passes::InPlace => self.in_place_passes(Some(values), out, scratch, D, 1),
                Passes::Blocked(k) => self
                    .blocked_passes(k, values, out, scratch)
                    .or_else(|| self.in_place_passes(None, out, scratch, k, 1)),
            };
            Ok(match self.explicit_axis {
                Some(k) if failed.is_none() && !self.add_end_values(k, ends, out, extra, nc) => {
                    Some(k)
                }
                _ => failed,
            })
        };
        // Called from outside the pool, move the whole fit onto a worker
        // with one `join` (one injected job per fit instead of one per pass).
        let mut failed = if workers > 1 && rayon::current_thread_index().is_none() {
            rayon::join(run, || ()).0
        } else {
            run()
        }?;
        if failed.is_none() {
            failed = self.wide_passes(out, nc);
        }
        match failed {
            None => Ok(()),
            Some(axis) => {
                if let Some(k) = values.iter().position(|v| !v.is_finite()) {
                    return Err(self.non_finite_value(k, values[k], nc));
                }
                Err(FitError::NonFiniteResult {
                    axis,
                    condition: self.sys[axis].condition_1norm(),
                })
            }
        }
    }

    /// Checks the lengths and finiteness of the explicit end values.
    pub(super) fn check_ends(&self, ends: &[&[f64]; 2], nc: usize) -> Result<(), FitError> {
        for (e, &vals) in ends.iter().enumerate() {
            let end = ["left", "right"][e];
            let takes = self
                .explicit_axis
                .filter(|&k| self.sys[k].bc.explicit_ends()[e]);
            match takes {
                Some(k) => {
                    let want: usize = (0..D)
                        .filter(|&j| j != k)
                        .map(|j| self.shape[j])
                        .product::<usize>()
                        * nc;
                    // (Built on the error paths only: a refit allocates nothing.)
                    let shape = || {
                        let mut shape = self.end_values_shape(k);
                        if nc > 1 {
                            shape.push(nc);
                        }
                        shape
                    };
                    if vals.len() != want {
                        return Err(FitError::EndValuesShape {
                            axis: k,
                            end,
                            expected: shape(),
                            got: vals.len(),
                        });
                    }
                    if let Some(i) = vals.iter().position(|v| !v.is_finite()) {
                        let shape = shape();
                        return Err(FitError::NonFiniteValue {
                            index: unravel(i, &shape),
                            value: vals[i],
                        });
                    }
                }
                None if !vals.is_empty() => {
                    return Err(FitError::EndValuesShape {
                        axis: self.explicit_axis.unwrap_or(0),
                        end,
                        expected: Vec::new(),
                        got: vals.len(),
                    });
                }
                None => {}
            }
        }
        Ok(())
    }

    /// Checks that the values at both ends of every periodic axis agree as
    /// numpy's `allclose(first, last, atol=1e-15)` does (scipy's check).
    pub(super) fn check_periodic(&self, values: &[f64], nc: usize) -> Result<(), FitError> {
        if self.periodic_ends_agree(values, nc) {
            return Ok(());
        }
        // Find and name the first mismatch (error path only).
        for k in 0..D {
            if !self.sys[k].bc.is_periodic() {
                continue;
            }
            let n = self.shape[k];
            let outer: usize = self.shape[..k].iter().product();
            let inner: usize = self.shape[k + 1..].iter().product::<usize>() * nc;
            for o in 0..outer {
                let base = o * n * inner;
                let first = &values[base..base + inner];
                let last = &values[base + (n - 1) * inner..base + n * inner];
                for (i, (&a, &b)) in first.iter().zip(last).enumerate() {
                    // NaN fails the comparison and is reported as a mismatch
                    // only if finite; non-finite values are reported by the fit.
                    if ends_differ(a, b) {
                        let mut other = self.shape.to_vec();
                        other.remove(k);
                        if nc > 1 {
                            other.push(nc);
                        }
                        return Err(FitError::PeriodicMismatch {
                            axis: k,
                            index: unravel(o * inner + i, &other),
                            first: a,
                            last: b,
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// Whether the values at both ends of every periodic axis agree
    /// ([`ends_differ`] nowhere): a branch-free scan that vectorises, over
    /// the outer slabs in parallel for large grids.
    fn periodic_ends_agree(&self, values: &[f64], nc: usize) -> bool {
        use rayon::prelude::*;
        (0..D).all(|k| {
            if !self.sys[k].bc.is_periodic() {
                return true;
            }
            let n = self.shape[k];
            let inner: usize = self.shape[k + 1..].iter().product::<usize>() * nc;
            let slab = n * inner;
            if slab == 0 || !values.len().is_multiple_of(slab) {
                // Lengths are checked before; a mismatch leaves it to the
                // scalar search (which indexes within bounds as before).
                return false;
            }
            // Whether some slab of `group` (whole slabs) has a mismatch: no
            // short-circuit inside, so the loops stay branch-free.
            let differs = |group: &[f64]| {
                let count = group.chunks_exact(slab).fold(0u32, |bad, s| {
                    let (first, last) = (&s[..inner], &s[(n - 1) * inner..]);
                    bad | first
                        .iter()
                        .zip(last)
                        .fold(0u32, |bad, (&a, &b)| bad | u32::from(ends_differ(a, b)))
                });
                count != 0
            };
            // Tasks of at least 2^16 values, whole slabs each.
            let group = slab * (1usize << 16).div_ceil(slab);
            if values.len() > group {
                !values.par_chunks(group).any(differs)
            } else {
                !differs(values)
            }
        })
    }

    /// Adds `ρ_e ⊗ G(d_e)` for each explicit end `e` of axis `k` to the
    /// coefficients (see [`crate::bspline::boundary`]): `G(d)` is the fit of
    /// the end values over the other axes ([`end_fit`](Self::end_fit)).
    /// Returns whether every result is finite.
    fn add_end_values(
        &self,
        k: usize,
        ends: [&[f64]; 2],
        out: &mut [f64],
        extra: &mut [f64],
        nc: usize,
    ) -> bool {
        use rayon::prelude::*;
        let mut ok = true;
        for (e, &vals) in ends.iter().enumerate() {
            let Some(rho) = self.sys[k].response(e) else {
                continue;
            };
            let g = self.end_fit(k, vals, nc, extra);
            // out[o, r, i] += ρ[r] · G[o, i], one block of `o` per task.
            let nk = self.coef_shape[k];
            let inner: usize = self.coef_shape[k + 1..].iter().product::<usize>() * nc;
            let add = |(block, g): (&mut [f64], &[f64])| {
                let mut ok = true;
                for (row, &w) in block.chunks_exact_mut(inner).zip(rho) {
                    for (c, &gv) in row.iter_mut().zip(g) {
                        *c += w * gv;
                    }
                    ok &= crate::isa::scalar::all_finite(row);
                }
                ok
            };
            ok &= if out.len() >= PAR_THRESHOLD && !matches!(self.par, Par::Seq) {
                out.par_chunks_mut(nk * inner)
                    .zip(g.par_chunks(inner))
                    .map(add)
                    .reduce(|| true, |a, b| a & b)
            } else {
                out.chunks_mut(nk * inner)
                    .zip(g.chunks(inner))
                    .map(add)
                    .fold(true, |a, b| a & b)
            };
        }
        ok
    }

    /// `G(d)`: the fit of the end values `vals` of axis `k` (row-major over
    /// the other axes' sites, `nc` components) along the other axes, with
    /// their conditions, by the scalar reference solves (the array is
    /// `1/n_k` of the grid). `extra` holds at least
    /// [`explicit_len`](Self::explicit_len)` · nc` values; the result,
    /// row-major over the other axes' coefficients, lies in it.
    pub(super) fn end_fit<'w>(
        &self,
        k: usize,
        vals: &[f64],
        nc: usize,
        extra: &'w mut [f64],
    ) -> &'w [f64] {
        let g_len: usize = (0..D)
            .filter(|&j| j != k)
            .map(|j| self.coef_shape[j])
            .product::<usize>()
            * nc;
        let (ga, rest) = extra.split_at_mut(g_len);
        let (gb, _) = rest.split_at_mut(g_len);
        // dims of the (D-1)-dimensional array, axis k left out.
        let mut dims = [0usize; MAX_DIM];
        let others: usize = D - 1;
        let mut ax = [0usize; MAX_DIM];
        for (p, j) in (0..D).filter(|&j| j != k).enumerate() {
            dims[p] = self.shape[j];
            ax[p] = j;
        }
        let len0: usize = dims[..others].iter().product::<usize>() * nc;
        ga[..len0].copy_from_slice(&vals[..len0]);
        let mut in_a = true;
        for q in 0..others {
            let (cur, nxt) = if in_a {
                (&mut *ga, &mut *gb)
            } else {
                (&mut *gb, &mut *ga)
            };
            let sys = &self.sys[ax[q]];
            let (n, n_out, n_sys) = (dims[q], sys.n_out, sys.n_sys());
            let outer: usize = dims[..q].iter().product();
            let inner: usize = dims[q + 1..others].iter().product::<usize>() * nc;
            for o in 0..outer {
                // The lines of this block side by side (row stride `inner`),
                // solved in place: the arithmetic of `solve_line`, per lane.
                let block = &mut cur[o * n * inner..(o + 1) * n * inner];
                sys.lu.solve_rows(block, inner, inner);
                let dst = &mut nxt[o * n_out * inner..(o + 1) * n_out * inner];
                if !sys.has_post() {
                    dst[..n_sys * inner].copy_from_slice(&block[..n_sys * inner]);
                    continue;
                }
                for j0 in (0..inner).step_by(128) {
                    let m = 128.min(inner - j0);
                    // SAFETY: rows 0..n_sys of lanes j0..j0+m lie in `block`
                    // (n ≥ n_sys rows of `inner` lanes), rows 0..n_out of
                    // them in `dst`; m ≤ 128; the two are distinct arrays.
                    unsafe {
                        let y = block.as_mut_ptr().add(j0);
                        let _ = sys.correct(Kernels::Scalar, y, inner, m);
                        let _ = sys.expand_rows(y, inner, dst.as_mut_ptr().add(j0), inner, m);
                    }
                }
            }
            dims[q] = n_out;
            in_a = !in_a;
        }
        if in_a { &ga[..g_len] } else { &gb[..g_len] }
    }

    /// Values of the scratch [`end_fit`](Self::end_fit) needs for `nc`
    /// components.
    #[cfg(feature = "gpu")]
    pub(super) fn end_fit_len(&self, nc: usize) -> usize {
        self.explicit_len() * nc
    }

    /// The axis whose ends take derivative values with the fit, if any.
    #[cfg(feature = "gpu")]
    pub(super) fn explicit_axis(&self) -> Option<usize> {
        self.explicit_axis
    }

    /// The per-axis system of `axis` (`axis < D`).
    #[cfg(feature = "gpu")]
    pub(super) fn system(&self, axis: usize) -> &AxisSystem {
        &self.sys[axis]
    }

    /// Fits values given as any ndarray view (any memory layout).
    ///
    /// Errors: [`FitError::ShapeMismatch`] (naming the axis),
    /// [`FitError::NonFiniteValue`] (naming the multi-index),
    /// [`FitError::NonFiniteResult`], [`FitError::PeriodicMismatch`],
    /// [`FitError::EndValuesShape`] if an axis takes end values (use
    /// [`fit_with_ends`](Self::fit_with_ends)).
    pub fn fit(
        &self,
        values: ArrayView<'_, f64, Dim<[usize; D]>>,
    ) -> Result<TensorSpline<D>, FitError>
    where
        Dim<[usize; D]>: Dimension,
    {
        self.fit_with_ends(values, [&[], &[]])
    }

    /// [`fit`](Self::fit) with the derivative values of the explicit ends
    /// (see [`fit_into_ends`](Self::fit_into_ends)).
    ///
    /// Errors: as [`fit`](Self::fit) and [`fit_into_ends`](Self::fit_into_ends).
    pub fn fit_with_ends(
        &self,
        values: ArrayView<'_, f64, Dim<[usize; D]>>,
        ends: [&[f64]; 2],
    ) -> Result<TensorSpline<D>, FitError>
    where
        Dim<[usize; D]>: Dimension,
    {
        self.fit_slice(&row_major(&values, self.shape)?, ends)
    }

    /// Fits vector values given as any ndarray view of shape
    /// `(n_0, …, n_{D-1}, *vshape)` (the trailing dimensions are the value
    /// shape; see [`fit_into_vector`](Self::fit_into_vector)).
    ///
    /// ```
    /// use bsfit::Fitter;
    /// use bsfit::tensor::{Partial, Query};
    /// use ndarray::{Array3, array};
    /// let x = [0.0, 1.0, 2.0, 3.0];
    /// let y = [0.0, 0.5, 1.0, 2.0, 3.0];
    /// // Three components per site: (x + y, x·y, x² − y).
    /// let v = Array3::from_shape_fn((4, 5, 3), |(i, j, c)| match c {
    ///     0 => x[i] + y[j],
    ///     1 => x[i] * y[j],
    ///     _ => x[i] * x[i] - y[j],
    /// });
    /// let s = Fitter::new([&x[..], &y[..]])?.fit_vector(v.view().into_dyn())?;
    /// assert_eq!(s.value_shape(), &[3]);
    /// let p = array![[1.5, 0.25]];
    /// let r = s.evaluate(&Query::at(p.view()).outputs(&[Partial::VALUE, Partial::d(0)]))?;
    /// assert_eq!(r.shape(), &[1, 2, 3]); // (points, outputs, components)
    /// assert!((r[[0, 0, 1]] - 1.5 * 0.25).abs() < 1e-12);
    /// assert!((r[[0, 1, 2]] - 3.0).abs() < 1e-12); // ∂(x² − y)/∂x
    /// # Ok::<(), bsfit::FitError>(())
    /// ```
    ///
    /// Errors: as [`fit`](Self::fit); [`FitError::DimensionMismatch`] for
    /// fewer than `D` dimensions.
    pub fn fit_vector(&self, values: ArrayViewD<'_, f64>) -> Result<TensorSpline<D>, FitError> {
        self.fit_vector_with_ends(values, [&[], &[]])
    }

    /// [`fit_vector`](Self::fit_vector) with the derivative values of the
    /// explicit ends, each of shape `(end_values_shape…, *vshape)`.
    ///
    /// Errors: as [`fit_vector`](Self::fit_vector) and
    /// [`fit_into_vector`](Self::fit_into_vector).
    pub fn fit_vector_with_ends(
        &self,
        values: ArrayViewD<'_, f64>,
        ends: [&[f64]; 2],
    ) -> Result<TensorSpline<D>, FitError> {
        let vs = values.shape();
        if vs.len() < D {
            return Err(FitError::DimensionMismatch {
                expected: D,
                got: vs.len(),
            });
        }
        for axis in 0..D {
            if vs[axis] != self.shape[axis] {
                return Err(FitError::ShapeMismatch {
                    axis,
                    axis_len: self.shape[axis],
                    values_len: vs[axis],
                });
            }
        }
        let vshape = vs[D..].to_vec();
        let flat: std::borrow::Cow<'_, [f64]> = match values.as_slice() {
            Some(s) => s.into(),
            None => values.iter().copied().collect::<Vec<f64>>().into(),
        };
        self.fit_slice_vector(&flat, &vshape, ends)
    }

    /// Fits row-major `values` into a new spline, with a workspace and an
    /// output buffer from the process-wide cache ([`crate::recycle`]).
    pub(super) fn fit_slice(
        &self,
        values: &[f64],
        ends: [&[f64]; 2],
    ) -> Result<TensorSpline<D>, FitError> {
        self.fit_slice_vector(values, &[], ends)
    }

    /// Fits vector values of value shape `vshape` (see
    /// [`fit_into_vector`](Self::fit_into_vector)) into a new spline.
    pub(super) fn fit_slice_vector(
        &self,
        values: &[f64],
        vshape: &[usize],
        ends: [&[f64]; 2],
    ) -> Result<TensorSpline<D>, FitError> {
        let nc: usize = vshape.iter().product();
        let len = self.coef_shape.iter().product::<usize>().checked_mul(nc);
        let Some(len) = len.filter(|&l| l <= isize::MAX as usize / 8) else {
            return Err(FitError::InvalidParameter {
                name: "vshape",
                reason: format!(
                    "value shape {vshape:?} gives more coefficients than fit in memory"
                ),
            });
        };
        let mut coefs = recycle::take_buffer(len);
        let mut ws = recycle::take_workspace();
        let r = self.fit_impl(values, nc, ends, &mut coefs, &mut ws);
        recycle::give_workspace(ws);
        match r {
            Ok(()) => Ok(self
                .spline_unchecked(coefs)
                .with_vshape_unchecked(vshape.to_vec())),
            Err(e) => {
                recycle::give_buffer(coefs);
                Err(e)
            }
        }
    }

    /// The solves along the axes of degree 5 (see
    /// [`AxisSystem::wide`]): after the banded passes, in which their
    /// systems are the identity, `C_k⁻¹` along each such axis `k`, in
    /// place, with the lines of the axis side by side (rows of
    /// `Π coef_shape[k+1..] · nc` contiguous values), one outer block per
    /// task. The Kronecker factors commute, so the result is the fit.
    /// Returns the failing axis.
    fn wide_passes(&self, out: &mut [f64], nc: usize) -> Option<usize> {
        use rayon::prelude::*;
        for axis in 0..D {
            let Some(wide) = &self.sys[axis].wide else {
                continue;
            };
            let n = self.coef_shape[axis];
            debug_assert_eq!(wide.len(), n);
            let inner: usize = self.coef_shape[axis + 1..].iter().product::<usize>() * nc;
            let block = n * inner;
            let ok = if out.len() >= 1 << 15 && out.len() > block {
                out.par_chunks_mut(block)
                    .map(|b| wide.solve_rows(b, inner))
                    .reduce(|| true, |a, b| a & b)
            } else {
                out.chunks_mut(block)
                    .fold(true, |ok, b| ok & wide.solve_rows(b, inner))
            };
            if !ok {
                return Some(axis);
            }
        }
        None
    }

    /// The spline on this plan's knots with coefficients of the right length.
    pub(super) fn spline_unchecked(&self, coefs: Vec<f64>) -> TensorSpline<D> {
        let knots = std::array::from_fn(|k| self.sys[k].knots.clone());
        let periodic = std::array::from_fn(|k| self.sys[k].bc.is_periodic());
        TensorSpline::from_parts_unchecked(knots, self.coef_shape, coefs, self.degrees())
            .with_periodic_unchecked(periodic)
            .with_kernels(self.kernels)
    }

    fn non_finite_value(&self, flat: usize, value: f64, nc: usize) -> FitError {
        let mut shape = self.shape.to_vec();
        if nc > 1 {
            shape.push(nc);
        }
        FitError::NonFiniteValue {
            index: unravel(flat, &shape),
            value,
        }
    }

    /// The rotating scheme: pass `p` solves along the leading axis of an
    /// array laid out as `[n_p, rest]` (lanes = the contiguous `rest`) and
    /// writes its result transposed, `[rest, n_out_p]`, so that axis `p`
    /// moves last (with its `n_out_p` coefficients). After `D` passes the
    /// axes are back in order, and every pass reads full contiguous rows.
    /// Buffers alternate between `out` and `temp` so that the last pass
    /// writes `out`. Only the axes `first..D` are solved (`values` is then
    /// one block of the trailing axes, see [`FitScheme::Blocked`]). Returns
    /// the failing axis.
    fn rotating_passes(
        &self,
        first: usize,
        values: &[f64],
        out: &mut [f64],
        temp: &mut [f64],
        scratch: &mut [&mut [f64]],
    ) -> Option<usize> {
        let mut cur_total = values.len();
        let kernels = self.kernels;
        for axis in first..D {
            let sys = &self.sys[axis];
            let lu = &sys.lu;
            let (n, n_out) = (sys.n_sites, sys.n_out);
            let rest = cur_total / n;
            let next_total = rest * n_out;
            let to_out = (D - 1 - axis).is_multiple_of(2);
            let (src, dst): (&[f64], &mut [f64]) = match (axis == first, to_out) {
                (true, true) => (values, &mut out[..next_total]),
                (true, false) => (values, &mut temp[..next_total]),
                (false, true) => (&temp[..cur_total], &mut out[..next_total]),
                (false, false) => (&out[..cur_total], &mut temp[..next_total]),
            };
            let units = rest.div_ceil(LANES);
            let post = sys.has_post();
            // Unit `u` writes the contiguous block [u·LANES·n_out, (u·LANES + m)·n_out)
            // of the [rest, n_out] destination: leaves get disjoint sub-slices.
            let ok = for_each_leaf_split(
                scratch,
                units,
                dst,
                LANES * n_out,
                &|scr: &mut [f64], lo: usize, hi: usize, dst: &mut [f64]| {
                    let mut ok = true;
                    for unit in lo..hi {
                        let j0 = unit * LANES;
                        let m = LANES.min(rest - j0);
                        let block = &mut dst[(unit - lo) * LANES * n_out..][..m * n_out];
                        debug_assert!((n - 1) * rest + j0 + m <= src.len());
                        if !post {
                            // SAFETY: lu.lower() and lu.upper() have n rows
                            // (BandLu invariant); src rows 0..n of lanes
                            // j0..j0+m lie in the [n, rest] source (len
                            // n·rest); `block` holds exactly n*m values;
                            // scratch holds n*LANES ≥ n*max(m, 64) values;
                            // the three are distinct borrows.
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
                        } else {
                            debug_assert!(n_out * m <= scr.len());
                            // The step: rows 1..=n_sys of the n_out-row
                            // buffer (stride w) hold the solution.
                            let post = |b: *mut f64, w: usize| {
                                // SAFETY: as just stated (the kernel's contract).
                                unsafe { sys.finish_in_place(kernels, b, w) }
                            };
                            // SAFETY: src rows 0..n_sys ≤ n of lanes
                            // j0..j0+m lie in the source; `scr` holds
                            // n_out*LANES values (the per-worker size counts
                            // max n_out × 128); `block` holds n_out*m
                            // values; the two are distinct.
                            unsafe {
                                ok &= kernels.lu_solve_post_transpose_raw(
                                    lu.lower(),
                                    lu.upper(),
                                    src.as_ptr().add(j0),
                                    rest,
                                    block.as_mut_ptr(),
                                    m,
                                    scr.as_mut_ptr(),
                                    n_out,
                                    &post,
                                );
                            }
                        }
                    }
                    ok
                },
            );
            if !ok {
                return Some(axis);
            }
            cur_total = next_total;
        }
        None
    }

    /// The first sweep of the blocked scheme ([`FitScheme::Blocked`]): for
    /// each index `o` of the leading axes `0..k`, the block of `values`
    /// over the trailing axes `k..D` (contiguous, `∏ n_j` values) is solved
    /// along all of them by [`rotating_passes`](Self::rotating_passes) on
    /// one worker, with its temporary in that worker's scratch, into the
    /// block `o` of `out` (`∏ n_out_j` values, the leading axes still at
    /// their sites). Blocks run in parallel; each is read once from memory
    /// and written once. Returns the failing axis (the smallest, if several
    /// blocks fail).
    fn blocked_passes(
        &self,
        k: usize,
        values: &[f64],
        out: &mut [f64],
        scratch: &mut [&mut [f64]],
    ) -> Option<usize> {
        let blk_in: usize = self.shape[k..].iter().product();
        let blk_out: usize = self.coef_shape[k..].iter().product();
        let blocks: usize = self.shape[..k].iter().product();
        let line = self.line_scratch();
        let failed = AtomicUsize::new(usize::MAX);
        let failed = &failed;
        let ok = for_each_leaf_split(
            scratch,
            blocks,
            &mut out[..blocks * blk_out],
            blk_out,
            &|scr: &mut [f64], lo: usize, hi: usize, dst: &mut [f64]| {
                let (lines, temp) = scr.split_at_mut(line);
                let mut one = [lines];
                for (o, block) in (lo..hi).zip(dst.chunks_exact_mut(blk_out)) {
                    let src = &values[o * blk_in..(o + 1) * blk_in];
                    if let Some(axis) =
                        self.rotating_passes(k, src, block, &mut temp[..blk_out], &mut one)
                    {
                        failed.fetch_min(axis, Ordering::Relaxed);
                        return false;
                    }
                }
                true
            },
        );
        (!ok).then(|| failed.load(Ordering::Relaxed).min(D - 1))
    }

    /// The in-place scheme for large grids (no temporary): axis 0 solves
    /// from `values` into `out` with lanes over the contiguous remainder,
    /// then every other axis is solved in `out` in place, seen as
    /// `[outer, n, inner]`: with lanes over `inner` when `inner ≥ 8`, else
    /// by gathering blocks of 64 lines into scratch (a 4 × 4-tiled
    /// transpose when `inner = 1`). An axis with `n_out > n` coefficients
    /// first moves its `outer` blocks apart to their final stride
    /// `n_out · inner` (last block first, so nothing unread is overwritten).
    ///
    /// Only the axes `0..end` are solved; the axes `end..D` are already
    /// solved (their coefficient counts make up the inner extent), and each
    /// element is `nc` contiguous components solved as further lanes. With
    /// `values = None`, axis 0 is solved in place in `out` too. Returns
    /// the failing axis.
    fn in_place_passes(
        &self,
        values: Option<&[f64]>,
        out: &mut [f64],
        scratch: &mut [&mut [f64]],
        end: usize,
        nc: usize,
    ) -> Option<usize> {
        let isa = self.kernels;
        let y_len = Self::per_worker_values(self.shape);
        let done_inner: usize = self.coef_shape[end..].iter().product::<usize>() * nc;
        for axis in 0..end {
            let sys = &self.sys[axis];
            let lu = &sys.lu;
            let (n, n_out, n_sys) = (sys.n_sites, sys.n_out, sys.n_sys());
            let outer: usize = self.coef_shape[..axis].iter().product();
            let inner: usize = self.shape[axis + 1..end].iter().product::<usize>() * done_inner;
            if axis > 0 && n_out != n {
                for o in (1..outer).rev() {
                    out.copy_within(o * n * inner..(o + 1) * n * inner, o * n_out * inner);
                }
            }
            // Row stride between the outer blocks of the source (axis 0
            // has one block).
            let src_block = if axis == 0 { n * inner } else { n_out * inner };
            let dst_block = n_out * inner;
            let post = sys.has_post();
            let out_w = DisjointWriter::new(&mut *out);
            let out_w = &out_w;
            // SAFETY (all `src`/`dst` below): offsets stay inside the
            // grid's current extent (≤ out.len(); values.len() for axis 0),
            // and each leaf touches only the elements of its own units
            // (disjoint lines).
            let src = |i: usize| -> *const f64 {
                match values {
                    Some(v) if axis == 0 => v[i..].as_ptr(),
                    // SAFETY: see above.
                    _ => unsafe { out_w.at(i) },
                }
            };
            // SAFETY: see above.
            let dst = |i: usize| -> *mut f64 { unsafe { out_w.at(i) } };
            let ok = if inner >= 8 {
                let per = inner.div_ceil(LANES);
                for_each_leaf(scratch, outer * per, &|scr: &mut [f64], lo, hi| {
                    let mut ok = true;
                    for unit in lo..hi {
                        let (o, b) = (unit / per, unit % per);
                        let j0 = b * LANES;
                        let m = LANES.min(inner - j0);
                        let (sb, db) = (o * src_block + j0, o * dst_block + j0);
                        let sp = scr.as_mut_ptr();
                        // SAFETY: rows 0..n of lanes sb..sb+m (stride
                        // inner) lie in the source, rows 0..n_out of lanes
                        // db..db+m in `out`; units own disjoint (o, lane)
                        // sets, so no element is written by two leaves;
                        // scratch holds n*m values.
                        unsafe {
                            isa.lu_forward_raw(lu.lower(), src(sb), inner, sp, m, m);
                            if post {
                                ok &= isa.lu_backward_raw(lu.upper(), sp, m, sp, m, m);
                                ok &= sys.correct(isa, sp, m, m);
                                ok &= sys.expand_rows(sp, m, dst(db), inner, m);
                            } else {
                                ok &= isa.lu_backward_raw(lu.upper(), sp, m, dst(db), inner, m);
                            }
                        }
                    }
                    ok
                })
            } else {
                let lines = outer * inner;
                let units = lines.div_ceil(GATHER_LANES);
                for_each_leaf(scratch, units, &|scr: &mut [f64], lo, hi| {
                    let mut ok = true;
                    let (y, e) = scr.split_at_mut(y_len);
                    for unit in lo..hi {
                        let q0 = unit * GATHER_LANES;
                        let m = GATHER_LANES.min(lines - q0);
                        let sp = y.as_mut_ptr();
                        let ep = if post { e.as_mut_ptr() } else { sp };
                        // SAFETY: line q covers elements
                        // base(q) + i*inner, i < n (source) or i < n_out
                        // (destination), inside the grid; units own
                        // disjoint lines; `y` holds n*m values, `e`
                        // n_out*m when there is a post step.
                        unsafe {
                            if inner == 1 {
                                // Line q starts at q·src_block, n values.
                                isa.transpose_raw(src(q0 * src_block), src_block, sp, m, m, n_sys);
                            } else {
                                for lane in 0..m {
                                    let q = q0 + lane;
                                    let b0 = (q / inner) * src_block + q % inner;
                                    for i in 0..n_sys {
                                        *sp.add(i * m + lane) = *src(b0 + i * inner);
                                    }
                                }
                            }
                            isa.lu_forward_raw(lu.lower(), sp, m, sp, m, m);
                            ok &= isa.lu_backward_raw(lu.upper(), sp, m, sp, m, m);
                            if post {
                                ok &= sys.correct(isa, sp, m, m);
                                ok &= sys.expand_rows(sp, m, ep, m, m);
                            }
                            if inner == 1 {
                                isa.transpose_raw(ep, m, dst(q0 * dst_block), dst_block, n_out, m);
                            } else {
                                for lane in 0..m {
                                    let q = q0 + lane;
                                    let b0 = (q / inner) * dst_block + q % inner;
                                    for i in 0..n_out {
                                        *dst(b0 + i * inner) = *ep.add(i * m + lane);
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

/// The values of a view of `shape` in row-major order: borrowed when the
/// view is standard-layout, else copied. [`FitError::ShapeMismatch`] names
/// the first axis whose length differs.
pub(crate) fn row_major<'a, const D: usize>(
    values: &'a ArrayView<'_, f64, Dim<[usize; D]>>,
    shape: [usize; D],
) -> Result<std::borrow::Cow<'a, [f64]>, FitError>
where
    Dim<[usize; D]>: Dimension,
{
    let vshape = values.shape();
    for axis in 0..D {
        if vshape[axis] != shape[axis] {
            return Err(FitError::ShapeMismatch {
                axis,
                axis_len: shape[axis],
                values_len: vshape[axis],
            });
        }
    }
    Ok(match values.as_slice() {
        Some(s) => s.into(),
        None => values.iter().copied().collect::<Vec<f64>>().into(),
    })
}

/// The row-major multi-index of `flat` in `shape`.
/// Whether the values `a` (first) and `b` (last) at the two ends of a
/// periodic axis differ beyond rounding: `|a − b| > 1e-15 + 1e-5·|b|` with
/// both finite (non-finite values are reported by the fit). Branch-free
/// (`&` on `bool`), so that scans over rows vectorise.
#[inline(always)]
fn ends_differ(a: f64, b: f64) -> bool {
    ((a - b).abs() > 1e-15 + 1e-5 * b.abs()) & a.is_finite() & b.is_finite()
}

fn unravel(flat: usize, shape: &[usize]) -> Vec<usize> {
    let mut index = vec![0; shape.len()];
    let mut rem = flat;
    for axis in (0..shape.len()).rev() {
        index[axis] = rem % shape[axis].max(1);
        rem /= shape[axis].max(1);
    }
    index
}

/// Converts a vector of exactly `D` items into an array.
pub(crate) fn vec_to_array<T, const D: usize>(v: Vec<T>) -> [T; D] {
    match v.try_into() {
        Ok(a) => a,
        Err(v) => crate::error::panic_index("dimension", v.len(), D),
    }
}
