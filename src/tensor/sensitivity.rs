//! Sensitivities to the data: exact adjoints of the fit and of evaluation.
//!
//! The fit is linear in the values. Per axis `a`, a line of `n_a` values
//! `f` becomes the coefficients `c = M_a f` with `M_a = R_a A_a⁻¹ S_a`
//! (the factored system `A_a` of the boundary condition, `R_a` building the
//! coefficients from its solution, `S_a` the values the fit reads; see
//! [`crate::bspline::boundary`]), and the coefficient array of the grid is
//! `C = (M_0 ⊗ … ⊗ M_{D-1}) F`. Evaluation at `x` contracts `C` with one
//! basis row (or derivative row) `b_a(x_a)` per axis, so
//!
//! ```text
//! s(x) = Σ_i F[i] Π_a w_a(x)[i_a],   w_a = M_aᵀ b_a(x_a) = S_aᵀ A_a⁻ᵀ R_aᵀ b_a(x_a),
//! ```
//!
//! one short vector per axis in the sites' index space, from the factors
//! the [`Fitter`] already holds ([`Fitter::data_weights`]; `O(Σ n_a)` per
//! point). For a batch, the gradient of `Σ_p g_p · s(x_p)` with respect to
//! `F` ([`Fitter::data_vjp`]) is the adjoint of evaluation — scatter
//! `g_p` times the `4^D` basis weights of each point into a
//! coefficient-shaped array ([`TensorSpline::evaluate_vjp`]) — followed by
//! the adjoint of the fit: one transposed separable solve,
//! `(M_0ᵀ ⊗ … ⊗ M_{D-1}ᵀ)`, one pass per axis with the same factors
//! ([`AxisSystem::solve_transposed_rows`]).
//!
//! # Conventions
//! * **Vector values**: every component has the same weights; cotangents
//!   have shape `(points, *vshape)` (for a [`Query`]: the shape of its
//!   result) and the gradient the shape of the values.
//! * **Periodic axes** read `n − 1` values per line: the last site repeats
//!   the first and the fit does not read it. The gradient with respect to
//!   the full values array is that of the fit as it reads them: the whole
//!   sensitivity of the shared node sits at index 0 and index `n − 1` gets
//!   0. (Perturbing both ends of a line together, as a periodic table
//!   must, moves the result by the sum, index 0's.)
//! * **Explicit end values** (an axis with
//!   [`EndCondition::Derivative`](crate::EndCondition::Derivative)) enter
//!   the coefficients as `ρ_e ⊗ (⊗_{j≠k} M_j) d_e`: their weights are
//!   `ρ_eᵀ b_k(x_k)` on that axis times the other axes' `w_j`
//!   ([`DataWeights::end_weights`]), and [`Fitter::data_vjp_query`] returns
//!   their gradients, of the end values' shape.
//! * **Outside the domain** the points follow the policy of the query (by
//!   default the fitter's: periodic axes wrap, the others continue with the
//!   boundary polynomial, as the fitted spline evaluates them). A point
//!   whose result is NaN whatever the data — a NaN coordinate, or outside
//!   under [`Extrapolate::Nan`] — contributes nothing to a gradient (its
//!   cotangent is not read); [`Fitter::data_weights`] gives NaN weights
//!   there. [`Extrapolate::Error`] reports the first point outside.
//! * Derivative orders above 3 along an axis give zero weights (the spline
//!   is cubic).
//!
//! # Cost
//! [`Fitter::data_vjp`] computes the basis rows of each point once and
//! scatters them into one private coefficient-shaped accumulator per worker
//! (at most 64 MiB of them together; fewer workers on larger tables), sums
//! the accumulators and runs the transposed passes, in blocks of lanes
//! across the workers. Results are reproducible for a given parallelism
//! ([`Fitter::par`]): the points are split among the workers in fixed
//! contiguous ranges and the accumulators are summed in a fixed order.

use super::extrapolate::{domain_of, policy_on};
use super::query::{Points, Query};
use super::{DynFitter, DynSpline, Extrapolate, Fitter, MAX_DIM, TensorSpline};
use crate::bspline::basis::{basis, basis_derivs};
use crate::bspline::boundary::AxisSystem;
use crate::bspline::knots::find_span;
use crate::isa::{Kernels, Simd, Vf64, WithSimd};
use crate::workspace::{DisjointWriter, MAX_WORKERS, ScratchReq, Workspace};
use crate::{FitError, Par};
use ndarray::ArrayView2;

/// Lines solved together in one block of the transposed passes.
const LANES: usize = 64;

/// Fewest points a worker of the scatter takes.
const MIN_POINTS_PER_WORKER: usize = 4096;

/// Most bytes the per-worker accumulators of the scatter take together.
const ACC_BUDGET_BYTES: usize = 64 << 20;

/// Largest number of outer-axis combinations per point (`4^(D-1)`, D ≤ 6).
const MAX_OUTER: usize = 1 << (2 * (MAX_DIM - 1));

/// The per-axis weights of one point: the value (or derivative) of the
/// spline fitted by a [`Fitter`] at that point is
/// `Σ_i F[i] Π_a axes[a][i_a]` for values `F` on the grid (derivation in
/// `src/tensor/sensitivity.rs`).
#[derive(Debug, Clone, PartialEq)]
pub struct DataWeights {
    axes: Vec<Vec<f64>>,
    ends: [f64; 2],
    end_axis: Option<usize>,
}

impl DataWeights {
    /// The weights of each axis (`n_a` values: one per site).
    pub fn axes(&self) -> &[Vec<f64>] {
        &self.axes
    }

    /// The axis whose ends take derivative values with the fit, if any.
    pub fn end_axis(&self) -> Option<usize> {
        self.end_axis
    }

    /// The weights `ρ_eᵀ b_k(x_k)` of the left and right end values on
    /// [`end_axis`](Self::end_axis) (0 for an end without values, and both
    /// 0 without such an axis): the sensitivity to the end value at the
    /// other axes' sites `j` is this times `Π_{a≠k} axes[a][j_a]`.
    pub fn end_weights(&self) -> [f64; 2] {
        self.ends
    }

    /// The dense sensitivity tensor `Π_a axes[a][i_a]`, row-major over the
    /// grid (the values' shape without the value shape).
    pub fn dense(&self) -> Vec<f64> {
        outer(self.axes.iter().map(|v| v.as_slice()), 1.0)
    }

    /// The dense sensitivity to the values of end `end` (0 left, 1 right)
    /// of [`end_axis`](Self::end_axis), row-major over the other axes'
    /// sites; `None` without such values.
    pub fn end_dense(&self, end: usize) -> Option<Vec<f64>> {
        let k = self.end_axis?;
        let e = *self.ends.get(end)?;
        Some(outer(
            self.axes
                .iter()
                .enumerate()
                .filter(|&(a, _)| a != k)
                .map(|(_, v)| v.as_slice()),
            e,
        ))
    }
}

/// `scale · Π_a v_a[i_a]`, row-major.
fn outer<'a>(vs: impl Iterator<Item = &'a [f64]>, scale: f64) -> Vec<f64> {
    let mut out = vec![scale];
    for v in vs {
        out = out
            .iter()
            .flat_map(|&a| v.iter().map(move |&b| a * b))
            .collect();
    }
    out
}

/// Where the points of a query come from, with `D` fixed.
enum PointSrc<'q, const D: usize> {
    Rows(ArrayView2<'q, f64>),
    Grid([&'q [f64]; D]),
}

impl<'q, const D: usize> PointSrc<'q, D> {
    /// The points of `query` (checked against `D`).
    fn new(query: &'q Query<'_>) -> Result<Self, FitError> {
        match query.points() {
            Points::Rows(p) if p.ncols() != D => Err(FitError::DimensionMismatch {
                expected: D,
                got: p.ncols(),
            }),
            Points::Grid(axes) if axes.len() != D => Err(FitError::DimensionMismatch {
                expected: D,
                got: axes.len(),
            }),
            Points::Rows(p) => Ok(PointSrc::Rows(p.view())),
            Points::Grid(axes) => Ok(PointSrc::Grid(std::array::from_fn(|k| axes[k]))),
        }
    }

    /// Point `p` (`p < len`).
    #[inline(always)]
    fn get(&self, p: usize) -> [f64; D] {
        match self {
            PointSrc::Rows(v) => std::array::from_fn(|k| v[[p, k]]),
            PointSrc::Grid(axes) => {
                let mut x = [0.0; D];
                let mut rem = p;
                for k in (0..D).rev() {
                    let n = axes[k].len();
                    x[k] = axes[k][rem % n];
                    rem /= n;
                }
                x
            }
        }
    }

    /// The first point outside the domain on an axis under
    /// [`Extrapolate::Error`], as an error.
    fn check(
        &self,
        len: usize,
        knots: &[&[f64]; D],
        policy: &[Extrapolate; D],
    ) -> Result<(), FitError> {
        if !policy.contains(&Extrapolate::Error) {
            return Ok(());
        }
        for p in 0..len {
            let x = self.get(p);
            for axis in 0..D {
                if policy[axis] == Extrapolate::Error {
                    let (lo, hi) = domain_of(knots[axis]);
                    if !(x[axis] >= lo && x[axis] <= hi) {
                        return Err(FitError::OutsideDomain {
                            point: Some(p),
                            axis,
                            value: x[axis],
                            lo,
                            hi,
                        });
                    }
                }
            }
        }
        Ok(())
    }
}

/// The adjoint of evaluating a coefficient array: basis rows per point,
/// scattered with their cotangents.
struct Scatter<'a, const D: usize> {
    knots: [&'a [f64]; D],
    /// Flat strides of the coefficient array (the last is `nc`).
    strides: [usize; D],
    nc: usize,
    policy: [Extrapolate; D],
    /// Orders of each output.
    orders: &'a [[usize; D]],
    /// Highest order asked for along each axis (capped at 3).
    max_order: [usize; D],
}

impl<'a, const D: usize> Scatter<'a, D> {
    fn new(
        knots: [&'a [f64]; D],
        coef_shape: [usize; D],
        nc: usize,
        policy: [Extrapolate; D],
        orders: &'a [[usize; D]],
    ) -> Self {
        let mut strides = [nc; D];
        for k in (0..D.saturating_sub(1)).rev() {
            strides[k] = strides[k + 1] * coef_shape[k + 1];
        }
        let max_order = std::array::from_fn(|k| {
            orders
                .iter()
                .map(|o| o[k])
                .filter(|&o| o <= 3)
                .max()
                .unwrap_or(0)
        });
        Scatter {
            knots,
            strides,
            nc,
            policy,
            orders,
            max_order,
        }
    }

    /// Values of cotangent per point.
    fn width(&self) -> usize {
        self.orders.len() * self.nc
    }

    /// The offsets of the `4^(D-1)` rows of a point's block relative to its
    /// first coefficient (axes `0..D-1`, row-major in the block).
    fn row_offsets(&self, off: &mut [usize; MAX_OUTER]) -> usize {
        off[0] = 0;
        let mut len = 1;
        for k in 0..D - 1 {
            for q in (0..len).rev() {
                let o = off[q];
                for r in (0..4).rev() {
                    off[4 * q + r] = o + r * self.strides[k];
                }
            }
            len *= 4;
        }
        len
    }

    /// The spans' flat offset and the basis rows of every order up to
    /// `max_order` at `x` (after the policy), or `None` when the result is
    /// NaN whatever the coefficients.
    #[inline(always)]
    fn locate(&self, x: [f64; D]) -> Option<(usize, [[[f64; 4]; 4]; D])> {
        let mut base = 0;
        let mut rows = [[[0.0f64; 4]; 4]; D];
        for k in 0..D {
            let t = self.knots[k];
            let xk = policy_on(t, self.policy[k], x[k])?;
            if xk.is_nan() {
                return None;
            }
            let s = find_span(t, xk);
            base += (s - 3) * self.strides[k];
            if self.max_order[k] == 0 {
                rows[k][0] = basis(t, s, xk);
            } else {
                rows[k] = basis_derivs(t, s, xk, self.max_order[k]);
            }
        }
        Some((base, rows))
    }

    /// The basis row of each axis for the orders `ord`.
    #[inline(always)]
    fn pick(rows: &[[[f64; 4]; 4]; D], ord: &[usize; D]) -> [[f64; 4]; D] {
        std::array::from_fn(|k| {
            if ord[k] > 3 {
                [0.0; 4]
            } else {
                rows[k][ord[k]]
            }
        })
    }

    /// Adds the contributions of the points `range` of `src` (cotangents
    /// `cot`, `width()` per point) to `acc`.
    #[inline(always)]
    fn run(
        &self,
        src: &PointSrc<'_, D>,
        cot: &[f64],
        range: std::ops::Range<usize>,
        acc: &mut [f64],
    ) {
        let mut off = [0usize; MAX_OUTER];
        let mut w = [0.0f64; MAX_OUTER];
        let len = self.row_offsets(&mut off);
        let width = self.width();
        let nc = self.nc;
        for p in range {
            let g = &cot[p * width..(p + 1) * width];
            let Some((base, rows)) = self.locate(src.get(p)) else {
                continue;
            };
            for (o, ord) in self.orders.iter().enumerate() {
                let go = &g[o * nc..(o + 1) * nc];
                let b = Self::pick(&rows, ord);
                scatter_block::<D>(acc, base, &off[..len], &mut w, &b, go);
            }
        }
    }
}

/// Adds `g ⊗ (b_0 ⊗ … ⊗ b_{D-1})` to the `4^D` block of `acc` at `base`
/// whose rows (4 coefficients × `g.len()` components, contiguous) start at
/// `base + off[q]`.
#[inline(always)]
fn scatter_block<const D: usize>(
    acc: &mut [f64],
    base: usize,
    off: &[usize],
    w: &mut [f64; MAX_OUTER],
    b: &[[f64; 4]; D],
    g: &[f64],
) {
    // Weights of the outer axes, expanded in place (entry q spawns 4q..4q+4).
    w[0] = 1.0;
    let mut len = 1;
    for bk in &b[..D - 1] {
        for q in (0..len).rev() {
            let v = w[q];
            w[4 * q] = v * bk[0];
            w[4 * q + 1] = v * bk[1];
            w[4 * q + 2] = v * bk[2];
            w[4 * q + 3] = v * bk[3];
        }
        len *= 4;
    }
    let last = &b[D - 1];
    let nc = g.len();
    if nc == 1 {
        let l = last.map(|v| v * g[0]);
        for (&wq, &o) in w[..len].iter().zip(off) {
            let row = &mut acc[base + o..base + o + 4];
            row[0] += wq * l[0];
            row[1] += wq * l[1];
            row[2] += wq * l[2];
            row[3] += wq * l[3];
        }
    } else {
        for (&wq, &o) in w[..len].iter().zip(off) {
            let row = &mut acc[base + o..base + o + 4 * nc];
            for (j, seg) in row.chunks_exact_mut(nc).enumerate() {
                let wj = wq * last[j];
                for (r, &gc) in seg.iter_mut().zip(g) {
                    *r += wj * gc;
                }
            }
        }
    }
}

/// One worker's [`Scatter::run`], compiled with the dispatched ISA's
/// target features (the arithmetic is the same plain multiply-adds on
/// every ISA, so the results are bit-identical; only the code generation
/// differs).
struct ScatterRun<'s, 'a, 'p, const D: usize> {
    sc: &'s Scatter<'a, D>,
    src: &'s PointSrc<'p, D>,
    cot: &'s [f64],
    range: std::ops::Range<usize>,
    acc: &'s mut [f64],
}

impl<const D: usize> WithSimd for ScatterRun<'_, '_, '_, D> {
    type Output = ();
    #[inline(always)]
    fn run<V: Vf64>(self, _: Simd<V>) {
        self.sc.run(self.src, self.cot, self.range, self.acc);
    }
}

/// Runs `f(i, slot)` for `i` in `0..slots.len()` in parallel (one rayon
/// task per slot, by recursive halving: no allocation).
fn for_each_slot<T: Send, F>(slots: &mut [T], base: usize, f: &F)
where
    F: Fn(usize, &mut T) + Sync,
{
    match slots.len() {
        0 => {}
        1 => f(base, &mut slots[0]),
        n => {
            let (a, b) = slots.split_at_mut(n / 2);
            rayon::join(
                || for_each_slot(a, base, f),
                || for_each_slot(b, base + n / 2, f),
            );
        }
    }
}

/// Zeroes `accs`, scatters the points of `src` into them (worker `w` takes
/// the `w`-th of `accs.len()` contiguous ranges) and sums them into
/// `accs[0]`, in a fixed order.
fn scatter_all<const D: usize>(
    kernels: Kernels,
    sc: &Scatter<'_, D>,
    src: &PointSrc<'_, D>,
    n: usize,
    cot: &[f64],
    accs: &mut [&mut [f64]],
) {
    let w = accs.len();
    for_each_slot(accs, 0, &|i, acc: &mut &mut [f64]| {
        acc.fill(0.0);
        kernels.dispatch(ScatterRun {
            sc,
            src,
            cot,
            range: (i * n / w)..((i + 1) * n / w),
            acc,
        });
    });
    if w > 1 {
        let (first, rest) = accs.split_first_mut().expect("at least one accumulator");
        let rest: &[&mut [f64]] = rest;
        let len = first.len();
        let chunk = len.div_ceil(w).max(1 << 12);
        let mut parts: [&mut [f64]; MAX_WORKERS] = std::array::from_fn(|_| &mut [][..]);
        let mut np = 0;
        for (i, c) in first.chunks_mut(chunk).enumerate() {
            if i < MAX_WORKERS {
                parts[i] = c;
                np = i + 1;
            }
        }
        for_each_slot(&mut parts[..np], 0, &|i, part: &mut &mut [f64]| {
            let (start, len) = (i * chunk, part.len());
            for r in rest {
                for (d, &s) in part.iter_mut().zip(&r[start..start + len]) {
                    *d += s;
                }
            }
        });
    }
}

/// Number of scatter workers for `n` points into accumulators of `len`
/// values with parallelism `par`.
fn scatter_workers(n: usize, len: usize, par: Par) -> usize {
    let by_mem = (ACC_BUDGET_BYTES / (len.max(1) * 8)).max(1);
    par.degree()
        .min(n.div_ceil(MIN_POINTS_PER_WORKER))
        .min(by_mem)
        .clamp(1, MAX_WORKERS)
}

/// Checks a caller's buffer length.
fn check_len(name: &'static str, got: usize, want: usize, what: &str) -> Result<(), FitError> {
    if got == want {
        Ok(())
    } else {
        Err(FitError::InvalidParameter {
            name,
            reason: format!("length {got}, expected {want} ({what})"),
        })
    }
}

/// The per-axis orders of the query's outputs.
fn query_orders<const D: usize>(query: &Query<'_>) -> Result<Vec<[usize; D]>, FitError> {
    Ok(query
        .partials(D)?
        .iter()
        .map(|p| std::array::from_fn(|k| p.order(k)))
        .collect())
}

impl<const D: usize> TensorSpline<D> {
    /// The adjoint of evaluation: writes to `out` (the coefficients' shape,
    /// `(shape…, *value_shape)`) the gradient of `Σ cotangents · r` with
    /// respect to the coefficients, where `r` is the result of
    /// [`evaluate`](Self::evaluate)`(query)` and `cotangents` has its shape
    /// (`(n, outputs, *value_shape)` for points, the grid's shape then
    /// outputs and value shape for a grid). Each point scatters its
    /// cotangent times its `4^D` basis weights. Points follow the query's
    /// policy (by default the spline's own); a point whose result is NaN
    /// whatever the coefficients (NaN coordinate, outside under
    /// [`Extrapolate::Nan`]) contributes nothing. In parallel, with the
    /// per-worker accumulators from `ws` (see
    /// [`evaluate_vjp_scratch`](Self::evaluate_vjp_scratch)); no allocation
    /// once `ws` has grown.
    ///
    /// ```
    /// use bsfit::tensor::Query;
    /// use bsfit::{TensorSpline, Workspace};
    /// use ndarray::{Array1, array};
    /// let x = [0.0, 1.0, 2.0, 3.0, 4.0];
    /// let s = TensorSpline::fit([&x[..]], Array1::from_iter(x.map(|v| v * v)).view())?;
    /// let pts = array![[0.5], [2.5]];
    /// let mut grad = vec![0.0; 5];
    /// s.evaluate_vjp(&Query::at(pts.view()), &[1.0, 2.0], &mut grad, &mut Workspace::new())?;
    /// // The evaluation is linear in the coefficients: r = J c, grad = Jᵀ g.
    /// let r = s.evaluate(&Query::at(pts.view()))?;
    /// let c = s.coefficients_slice();
    /// let dot: f64 = grad.iter().zip(c).map(|(a, b)| a * b).sum();
    /// assert!((dot - (r[[0, 0]] + 2.0 * r[[1, 0]])).abs() < 1e-12);
    /// # Ok::<(), bsfit::FitError>(())
    /// ```
    ///
    /// Errors: [`FitError::DimensionMismatch`] for points of another
    /// dimension; [`FitError::InvalidParameter`] for a buffer of the wrong
    /// length or an output along a missing axis;
    /// [`FitError::OutsideDomain`] under [`Extrapolate::Error`].
    pub fn evaluate_vjp(
        &self,
        query: &Query<'_>,
        cotangents: &[f64],
        out: &mut [f64],
        ws: &mut Workspace,
    ) -> Result<(), FitError> {
        self.cubic_only()?;
        let src = PointSrc::<D>::new(query)?;
        let orders = query_orders::<D>(query)?;
        let n = query.len()?;
        let policy = query.resolve_policy(self.extrapolate, &self.periodic)?;
        let policy: [Extrapolate; D] = std::array::from_fn(|k| policy[k]);
        let knots: [&[f64]; D] = std::array::from_fn(|k| self.knots[k].as_slice());
        let sc = Scatter::new(knots, self.shape, self.ncomp, policy, &orders);
        check_len(
            "cotangents",
            cotangents.len(),
            n * sc.width(),
            "the shape of the query's result",
        )?;
        check_len(
            "out",
            out.len(),
            self.coefs.len(),
            "the coefficients' shape",
        )?;
        src.check(n, &knots, &policy)?;
        let workers = scatter_workers(n, out.len(), Par::auto());
        let req = ScratchReq {
            shared_f64: (workers - 1) * out.len(),
            ..ScratchReq::EMPTY
        };
        let (_, shared) = ws.split::<f64>(req, 0, 0.0);
        let mut accs: [&mut [f64]; MAX_WORKERS] = std::array::from_fn(|_| &mut [][..]);
        accs[0] = out;
        for (a, c) in accs[1..workers]
            .iter_mut()
            .zip(shared.chunks_exact_mut(self.coefs.len().max(1)))
        {
            *a = c;
        }
        scatter_all(self.kernels, &sc, &src, n, cotangents, &mut accs[..workers]);
        Ok(())
    }

    /// Scratch of [`evaluate_vjp`](Self::evaluate_vjp) for `n` points.
    pub fn evaluate_vjp_scratch(&self, n: usize) -> ScratchReq {
        let workers = scatter_workers(n, self.coefs.len(), Par::auto());
        ScratchReq {
            shared_f64: (workers - 1) * self.coefs.len(),
            ..ScratchReq::EMPTY
        }
    }
}

impl<const D: usize> Fitter<D> {
    /// The per-axis sensitivities of the value (or the derivative of
    /// `orders`) at `x` to the data: `w_a = M_aᵀ b_a(x_a)` (derivation in
    /// `src/tensor/sensitivity.rs`), so that the spline this plan fits to values
    /// `F` has `Σ_i F[i] Π_a w_a[i_a]` there, for every `F` and every
    /// component of vector values; plus the weights of the explicit end
    /// values where an axis takes them. `x` follows the fitter's policy:
    /// periodic axes wrap, the others extrapolate with the boundary
    /// polynomial; a NaN coordinate gives NaN weights.
    ///
    /// ```
    /// use bsfit::Fitter;
    /// use ndarray::Array2;
    /// let x = [0.0, 0.5, 1.5, 2.0, 3.0];
    /// let y = [0.0, 1.0, 2.0, 4.0];
    /// let fitter = Fitter::new([&x[..], &y[..]])?;
    /// let w = fitter.data_weights([1.2, 2.5], [0, 1]);
    /// let f = Array2::from_shape_fn((5, 4), |(i, j)| (x[i] + 1.0).ln() * y[j].cos());
    /// let s = fitter.fit(f.view())?;
    /// let dot: f64 = w.dense().iter().zip(f.iter()).map(|(a, b)| a * b).sum();
    /// assert!((dot - s.eval_deriv([1.2, 2.5], [0, 1])).abs() < 1e-12);
    /// # Ok::<(), bsfit::FitError>(())
    /// ```
    pub fn data_weights(&self, x: [f64; D], orders: [usize; D]) -> DataWeights {
        let mut axes: Vec<Vec<f64>> = self.shape().iter().map(|&n| vec![0.0; n]).collect();
        let mut ends = [0.0; 2];
        // Not implemented for degrees 1 and 5 (`data_weights_into`
        // reports it): NaN weights.
        let cubic = self.cubic_only().is_ok();
        for (k, v) in axes.iter_mut().enumerate() {
            if cubic {
                self.axis_weights(k, x[k], orders[k], v, &mut ends);
            } else {
                v.fill(f64::NAN);
                ends = [f64::NAN; 2];
            }
        }
        DataWeights {
            axes,
            ends,
            end_axis: self.systems().1,
        }
    }

    /// [`data_weights`](Self::data_weights) into caller buffers, without
    /// allocating: `out` receives the axes' weights one after the other
    /// (`Σ n_a` values), `ends` the end values' weights.
    ///
    /// Errors: [`FitError::InvalidParameter`] if `out` does not hold
    /// `Σ n_a` values.
    pub fn data_weights_into(
        &self,
        x: [f64; D],
        orders: [usize; D],
        out: &mut [f64],
        ends: &mut [f64; 2],
    ) -> Result<(), FitError> {
        self.cubic_only()?;
        let total: usize = self.shape().iter().sum();
        check_len("out", out.len(), total, "the sum of the axes' lengths")?;
        *ends = [0.0; 2];
        let mut rest = out;
        for k in 0..D {
            let (v, r) = rest.split_at_mut(self.shape()[k]);
            self.axis_weights(k, x[k], orders[k], v, ends);
            rest = r;
        }
        Ok(())
    }

    /// `w = M_kᵀ b_k(x)` into `w` (`n_k` values), and the end weights if
    /// `k` takes end values.
    fn axis_weights(&self, k: usize, x: f64, order: usize, w: &mut [f64], ends: &mut [f64; 2]) {
        let (sys, explicit) = self.systems();
        let s = &sys[k];
        let t = s.knots.as_slice();
        let policy = if s.bc.is_periodic() {
            Extrapolate::Periodic
        } else {
            Extrapolate::Polynomial
        };
        let xk = policy_on(t, policy, x).unwrap_or(f64::NAN);
        if xk.is_nan() {
            w.fill(f64::NAN);
            if explicit == Some(k) {
                *ends = [f64::NAN; 2];
            }
            return;
        }
        let span = find_span(t, xk);
        let b = if order > 3 {
            [0.0; 4]
        } else {
            basis_derivs(t, span, xk, order)[order]
        };
        s.basis_row_transposed(span - 3, &b, w);
        if explicit == Some(k) {
            for (e, end) in ends.iter_mut().enumerate() {
                if let Some(rho) = s.response(e) {
                    *end = rho[span - 3..span + 1]
                        .iter()
                        .zip(&b)
                        .map(|(r, v)| r * v)
                        .sum();
                }
            }
        }
    }

    /// The gradient of `Σ_p g_p · s(x_p)` with respect to the values, where
    /// `s` is the spline this plan fits to the values (its derivative of
    /// `orders`), `x_p` the rows of `points` and `g_p` their cotangents:
    /// the adjoint of [`fit_into_vector`](Self::fit_into_vector) followed
    /// by evaluation (derivation in `src/tensor/sensitivity.rs`). `out` has the values'
    /// shape, `(n_0, …, n_{D-1}, *vshape)`, and fixes the value shape:
    /// `cotangents` holds `points.nrows() · Π vshape` values, point-major.
    /// Points follow the fitter's policy (periodic axes wrap, the others
    /// extrapolate); a NaN coordinate contributes nothing. For several
    /// outputs, grids, other policies and the gradient with respect to
    /// explicit end values, see [`data_vjp_query`](Self::data_vjp_query).
    /// In parallel ([`par`](Self::par)); no allocation once `ws` holds
    /// [`data_vjp_scratch`](Self::data_vjp_scratch).
    ///
    /// ```
    /// use bsfit::{Fitter, Workspace};
    /// use ndarray::{Array2, array};
    /// let x = [0.0, 0.5, 1.5, 2.0, 3.0];
    /// let fitter = Fitter::new([&x[..], &x[..]])?;
    /// let pts = array![[0.3, 2.9], [1.7, 1.1]];
    /// let mut grad = vec![0.0; 25];
    /// fitter.data_vjp(pts.view(), &[1.0, -2.0], [0, 0], &mut grad, &mut Workspace::new())?;
    /// // s is linear in the values: Σ g_p s(x_p) = grad · F.
    /// let f = Array2::from_shape_fn((5, 5), |(i, j)| (x[i] - x[j]).sin());
    /// let s = fitter.fit(f.view())?;
    /// let dot: f64 = grad.iter().zip(f.iter()).map(|(a, b)| a * b).sum();
    /// assert!((dot - (s.eval([0.3, 2.9]) - 2.0 * s.eval([1.7, 1.1]))).abs() < 1e-12);
    /// # Ok::<(), bsfit::FitError>(())
    /// ```
    ///
    /// Errors: as [`data_vjp_query`](Self::data_vjp_query).
    pub fn data_vjp(
        &self,
        points: ArrayView2<'_, f64>,
        cotangents: &[f64],
        orders: [usize; D],
        out: &mut [f64],
        ws: &mut Workspace,
    ) -> Result<(), FitError> {
        self.cubic_only()?;
        if points.ncols() != D {
            return Err(FitError::DimensionMismatch {
                expected: D,
                got: points.ncols(),
            });
        }
        let (sys, _) = self.systems();
        let policy = std::array::from_fn(|k| {
            if sys[k].bc.is_periodic() {
                Extrapolate::Periodic
            } else {
                Extrapolate::Polynomial
            }
        });
        let orders = [orders.map(|o| o.min(4))];
        let n = points.nrows();
        self.vjp_impl(
            PointSrc::Rows(points),
            n,
            &orders,
            policy,
            cotangents,
            out,
            [&mut [], &mut []],
            ws,
        )
    }

    /// The general form of [`data_vjp`](Self::data_vjp): the gradient of
    /// `Σ cotangents · r` with respect to the values, where `r` is the
    /// result of [`evaluate`](TensorSpline::evaluate)`(query)` on the
    /// spline this plan fits (`cotangents` has `r`'s shape:
    /// `(n, outputs, *vshape)` or the grid's shape, outputs and value
    /// shape), with the query's policy (by default the fitter's: periodic
    /// axes wrap, the others extrapolate). `out` has the values' shape and
    /// fixes `vshape`. `ends[e]` receives the gradient with respect to the
    /// values of end `e` of the axis that takes them
    /// ([`end_values_shape`](Self::end_values_shape) then `vshape`), or
    /// is empty to skip it (and must be where no end takes values).
    ///
    /// Errors: [`FitError::InvalidParameter`] for a buffer of the wrong
    /// length or an output along a missing axis;
    /// [`FitError::DimensionMismatch`] for points of another dimension or a
    /// per-axis policy list of another length; [`FitError::OutsideDomain`]
    /// for the first point outside on an axis under [`Extrapolate::Error`]
    /// (nothing is written).
    pub fn data_vjp_query(
        &self,
        query: &Query<'_>,
        cotangents: &[f64],
        out: &mut [f64],
        ends: [&mut [f64]; 2],
        ws: &mut Workspace,
    ) -> Result<(), FitError> {
        self.cubic_only()?;
        let (sys, _) = self.systems();
        let src = PointSrc::<D>::new(query)?;
        let orders = query_orders::<D>(query)?;
        let n = query.len()?;
        let periodic: [bool; D] = std::array::from_fn(|k| sys[k].bc.is_periodic());
        let policy = query.resolve_policy(Extrapolate::Polynomial, &periodic)?;
        let policy: [Extrapolate; D] = std::array::from_fn(|k| policy[k]);
        self.vjp_impl(src, n, &orders, policy, cotangents, out, ends, ws)
    }

    /// The data gradient of `n` points of `src`, outputs `orders`, under
    /// `policy` (see [`data_vjp_query`](Self::data_vjp_query)).
    #[allow(clippy::too_many_arguments)]
    fn vjp_impl(
        &self,
        src: PointSrc<'_, D>,
        n: usize,
        orders: &[[usize; D]],
        policy: [Extrapolate; D],
        cotangents: &[f64],
        out: &mut [f64],
        ends: [&mut [f64]; 2],
        ws: &mut Workspace,
    ) -> Result<(), FitError> {
        let (sys, explicit) = self.systems();
        let shape = self.shape();
        let coef_shape = self.coef_shape();
        let grid: usize = shape.iter().product();
        if out.is_empty() || !out.len().is_multiple_of(grid) {
            return Err(FitError::InvalidParameter {
                name: "out",
                reason: format!(
                    "length {}: not a whole number of grids of shape {shape:?}",
                    out.len()
                ),
            });
        }
        let nc = out.len() / grid;
        let coef_len = coef_shape.iter().product::<usize>() * nc;
        let knots: [&[f64]; D] = std::array::from_fn(|k| sys[k].knots.as_slice());
        let sc = Scatter::new(knots, coef_shape, nc, policy, orders);
        check_len(
            "cotangents",
            cotangents.len(),
            n * sc.width(),
            "points × outputs × components",
        )?;
        for (e, buf) in ends.iter().enumerate() {
            if buf.is_empty() {
                continue;
            }
            match explicit.filter(|&k| sys[k].response(e).is_some()) {
                Some(k) => {
                    let want = self.end_values_shape(k).iter().product::<usize>() * nc;
                    check_len("ends", buf.len(), want, "the end values' shape")?;
                }
                None => {
                    return Err(FitError::InvalidParameter {
                        name: "ends",
                        reason: format!(
                            "the {} end of no axis takes derivative values with the fit",
                            ["left", "right"][e]
                        ),
                    });
                }
            }
        }
        src.check(n, &knots, &policy)?;
        let req = self.data_vjp_scratch(n, nc);
        let workers = scatter_workers(n, coef_len, self.par());
        let per_worker = self.pass_scratch();
        let (mut slots, shared) = ws.split::<f64>(req, per_worker, 0.0);
        let (accs_buf, tmp) = shared.split_at_mut(workers * coef_len);
        let mut accs: [&mut [f64]; MAX_WORKERS] = std::array::from_fn(|_| &mut [][..]);
        for (a, c) in accs.iter_mut().zip(accs_buf.chunks_exact_mut(coef_len)) {
            *a = c;
        }
        scatter_all(self.kernels, &sc, &src, n, cotangents, &mut accs[..workers]);
        let acc = std::mem::take(&mut accs[0]);
        self.transposed_passes(acc, tmp, out, ends, nc, slots.as_mut_slice());
        Ok(())
    }

    /// Scratch of [`data_vjp`](Self::data_vjp) and
    /// [`data_vjp_query`](Self::data_vjp_query) for `n` points (outputs)
    /// with `nc` components per value.
    pub fn data_vjp_scratch(&self, n: usize, nc: usize) -> ScratchReq {
        let coef_len = self.coef_shape().iter().product::<usize>() * nc;
        let workers = scatter_workers(n, coef_len, self.par());
        ScratchReq {
            shared_f64: (workers + 1) * coef_len,
            ..ScratchReq::per_worker::<f64>(self.pass_workers(), self.pass_scratch())
        }
    }

    /// Workers of the transposed passes.
    fn pass_workers(&self) -> usize {
        self.par().degree().clamp(1, MAX_WORKERS)
    }

    /// f64 values of one worker's block of the transposed passes.
    fn pass_scratch(&self) -> usize {
        let m = self.coef_shape().iter().copied().max().unwrap_or(0);
        2 * m * LANES
    }

    /// `(⊗_a M_aᵀ)` applied to the coefficient-shaped `acc` (overwritten),
    /// through `tmp` (as long), into `out` (the values' shape); the end
    /// values' gradients into `ends` (where not empty) from the last pass,
    /// along the axis that takes them.
    fn transposed_passes(
        &self,
        acc: &mut [f64],
        tmp: &mut [f64],
        out: &mut [f64],
        ends: [&mut [f64]; 2],
        nc: usize,
        slots: &mut [&mut [f64]],
    ) {
        let (sys, explicit) = self.systems();
        let shape = self.shape();
        let mut dims = self.coef_shape();
        // Any order of the axes gives the result; the axis with end values
        // goes last, where its end gradients are read off.
        let mut order: [usize; D] = std::array::from_fn(|k| k);
        if let Some(k) = explicit {
            order[k..].rotate_left(1);
        }
        let mut ends = ends;
        // The array lives in `acc` before even steps and in `tmp` before odd ones.
        for (step, &a) in order.iter().enumerate() {
            let len_src: usize = dims.iter().product::<usize>() * nc;
            let outer: usize = dims[..a].iter().product();
            let inner: usize = dims[a + 1..].iter().product::<usize>() * nc;
            let last = step == D - 1;
            let rho: [Option<&[f64]>; 2] = if last && explicit == Some(a) {
                [sys[a].response(0), sys[a].response(1)]
            } else {
                [None, None]
            };
            let geo = PassGeometry {
                outer,
                inner,
                n_out: dims[a],
                n_sites: shape[a],
            };
            let len_dst = len_src / dims[a] * shape[a];
            let (ea, eb) = ends.split_at_mut(1);
            let end_bufs = [&mut *ea[0], &mut *eb[0]];
            match (step % 2 == 0, last) {
                (true, true) => {
                    transposed_pass(&sys[a], geo, &acc[..len_src], out, rho, end_bufs, slots)
                }
                (true, false) => transposed_pass(
                    &sys[a],
                    geo,
                    &acc[..len_src],
                    &mut tmp[..len_dst],
                    rho,
                    end_bufs,
                    slots,
                ),
                (false, true) => {
                    transposed_pass(&sys[a], geo, &tmp[..len_src], out, rho, end_bufs, slots)
                }
                (false, false) => transposed_pass(
                    &sys[a],
                    geo,
                    &tmp[..len_src],
                    &mut acc[..len_dst],
                    rho,
                    end_bufs,
                    slots,
                ),
            }
            dims[a] = shape[a];
        }
    }
}

/// The lines of one transposed pass: `outer × inner` lines of `n_out`
/// rows (stride `inner`) in, `n_sites` rows out.
#[derive(Clone, Copy)]
struct PassGeometry {
    outer: usize,
    inner: usize,
    n_out: usize,
    n_sites: usize,
}

/// One transposed pass along an axis: every line of `src` through
/// [`AxisSystem::solve_transposed_rows`] into `dst`, in blocks of
/// [`LANES`] lines gathered into per-worker scratch, the blocks split
/// among the workers; with `rho[e]`, also `ends[e][line] = ρ_eᵀ line`.
fn transposed_pass(
    sys: &AxisSystem,
    geo: PassGeometry,
    src: &[f64],
    dst: &mut [f64],
    rho: [Option<&[f64]>; 2],
    ends: [&mut [f64]; 2],
    slots: &mut [&mut [f64]],
) {
    let PassGeometry {
        outer,
        inner,
        n_out,
        n_sites,
    } = geo;
    let lines = outer * inner;
    let blocks = lines.div_ceil(LANES);
    let workers = slots.len().min(blocks).max(1);
    let dst_len = dst.len();
    let dst = DisjointWriter::new(dst);
    let [e0, e1] = ends;
    let take = [
        rho[0].filter(|_| !e0.is_empty()),
        rho[1].filter(|_| !e1.is_empty()),
    ];
    let end_w = [DisjointWriter::new(e0), DisjointWriter::new(e1)];
    for_each_slot(&mut slots[..workers], 0, &|wi, scratch: &mut &mut [f64]| {
        let (gb, rest) = scratch.split_at_mut(n_out * LANES);
        let wb = &mut rest[..n_sites * LANES];
        let mut bs = [0usize; LANES];
        let mut bd = [0usize; LANES];
        for blk in (wi * blocks / workers)..((wi + 1) * blocks / workers) {
            let l0 = blk * LANES;
            let m = (lines - l0).min(LANES);
            for l in 0..m {
                let (o, i) = ((l0 + l) / inner, (l0 + l) % inner);
                bs[l] = o * n_out * inner + i;
                bd[l] = o * n_sites * inner + i;
            }
            // Lanes contiguous in memory when the block lies in one outer
            // index (inner ≥ LANES): row copies.
            let contiguous = bs[m - 1] == bs[0] + m - 1;
            for r in 0..n_out {
                let row = &mut gb[r * LANES..r * LANES + m];
                if contiguous {
                    row.copy_from_slice(&src[bs[0] + r * inner..bs[0] + r * inner + m]);
                } else {
                    for (v, &b) in row.iter_mut().zip(&bs[..m]) {
                        *v = src[b + r * inner];
                    }
                }
            }
            for e in 0..2 {
                if let Some(rho) = take[e] {
                    let mut dots = [0.0f64; LANES];
                    for (r, &c) in rho.iter().enumerate() {
                        for (d, &v) in dots[..m].iter_mut().zip(&gb[r * LANES..r * LANES + m]) {
                            *d += c * v;
                        }
                    }
                    // SAFETY: lines l0..l0+m belong to this block only, and
                    // `ends[e]` holds one value per line (checked by the caller).
                    unsafe { end_w[e].write(l0, &dots[..m]) };
                }
            }
            sys.solve_transposed_rows(gb, LANES, wb, LANES, m);
            for r in 0..n_sites {
                let row = &wb[r * LANES..r * LANES + m];
                if contiguous {
                    debug_assert!(bd[0] + r * inner + m <= dst_len);
                    // SAFETY: the positions `bd[l] + r·inner` of the lines
                    // of this block are written by this block only (distinct
                    // lines, distinct rows), and lie inside `dst`, which
                    // holds `outer · n_sites · inner` values.
                    unsafe { dst.write(bd[0] + r * inner, row) };
                } else {
                    for (&v, &b) in row.iter().zip(&bd[..m]) {
                        debug_assert!(b + r * inner < dst_len);
                        // SAFETY: as above, one value.
                        unsafe { *dst.at(b + r * inner) = v };
                    }
                }
            }
        }
    });
}

/// Runs `$body` with `$f` bound to the fixed-dimension value inside a
/// [`DynFitter`] or [`DynSpline`], and `D` in scope.
macro_rules! each_dim {
    ($ty:ident, $value:expr, $f:ident => $body:expr) => {
        match $value {
            $ty::D1($f) => {
                #[allow(dead_code)]
                const D: usize = 1;
                $body
            }
            $ty::D2($f) => {
                #[allow(dead_code)]
                const D: usize = 2;
                $body
            }
            $ty::D3($f) => {
                #[allow(dead_code)]
                const D: usize = 3;
                $body
            }
            $ty::D4($f) => {
                #[allow(dead_code)]
                const D: usize = 4;
                $body
            }
            $ty::D5($f) => {
                #[allow(dead_code)]
                const D: usize = 5;
                $body
            }
            $ty::D6($f) => {
                #[allow(dead_code)]
                const D: usize = 6;
                $body
            }
        }
    };
}

/// `slice` as `[T; D]`, or [`FitError::DimensionMismatch`].
fn fixed<T: Copy, const D: usize>(slice: &[T]) -> Result<[T; D], FitError> {
    slice.try_into().map_err(|_| FitError::DimensionMismatch {
        expected: D,
        got: slice.len(),
    })
}

impl DynFitter {
    /// See [`Fitter::data_weights`].
    ///
    /// Errors: [`FitError::DimensionMismatch`] if `x` or `orders` has
    /// another length than the dimension.
    pub fn data_weights(&self, x: &[f64], orders: &[usize]) -> Result<DataWeights, FitError> {
        each_dim!(DynFitter, self, f => Ok(f.data_weights(fixed::<f64, D>(x)?, fixed(orders)?)))
    }

    /// See [`Fitter::data_weights_into`].
    ///
    /// Errors: as [`data_weights`](Self::data_weights), and
    /// [`FitError::InvalidParameter`] for `out` of the wrong length.
    pub fn data_weights_into(
        &self,
        x: &[f64],
        orders: &[usize],
        out: &mut [f64],
        ends: &mut [f64; 2],
    ) -> Result<(), FitError> {
        each_dim!(DynFitter, self, f => f.data_weights_into(fixed::<f64, D>(x)?, fixed(orders)?, out, ends))
    }

    /// See [`Fitter::data_vjp`]; `points` is row-major, `ndim` coordinates
    /// per point.
    ///
    /// Errors: as [`Fitter::data_vjp`]; [`FitError::InvalidParameter`] if
    /// the number of coordinates is not a multiple of the dimension;
    /// [`FitError::DimensionMismatch`] for `orders` of another length.
    pub fn data_vjp(
        &self,
        points: &[f64],
        cotangents: &[f64],
        orders: &[usize],
        out: &mut [f64],
        ws: &mut Workspace,
    ) -> Result<(), FitError> {
        each_dim!(DynFitter, self, f => {
            let q = Query::at_slice(points, D)?;
            let Points::Rows(view) = q.points() else {
                return Err(FitError::DimensionMismatch { expected: D, got: 0 });
            };
            f.data_vjp(view.view(), cotangents, fixed(orders)?, out, ws)
        })
    }

    /// See [`Fitter::data_vjp_query`].
    ///
    /// Errors: as [`Fitter::data_vjp_query`].
    pub fn data_vjp_query(
        &self,
        query: &Query<'_>,
        cotangents: &[f64],
        out: &mut [f64],
        ends: [&mut [f64]; 2],
        ws: &mut Workspace,
    ) -> Result<(), FitError> {
        each_dim!(DynFitter, self, f => f.data_vjp_query(query, cotangents, out, ends, ws))
    }

    /// See [`Fitter::data_vjp_scratch`].
    pub fn data_vjp_scratch(&self, n: usize, nc: usize) -> ScratchReq {
        each_dim!(DynFitter, self, f => f.data_vjp_scratch(n, nc))
    }
}

impl DynSpline {
    /// See [`TensorSpline::evaluate_vjp`].
    ///
    /// Errors: as [`TensorSpline::evaluate_vjp`].
    pub fn evaluate_vjp(
        &self,
        query: &Query<'_>,
        cotangents: &[f64],
        out: &mut [f64],
        ws: &mut Workspace,
    ) -> Result<(), FitError> {
        each_dim!(DynSpline, self, s => s.evaluate_vjp(query, cotangents, out, ws))
    }
}

impl<const D: usize> Fitter<D> {
    /// [`FitError::Unsupported`] unless every axis is cubic (the
    /// sensitivities are implemented for degree 3).
    fn cubic_only(&self) -> Result<(), FitError> {
        cubic_only(&self.degrees())
    }
}

impl<const D: usize> TensorSpline<D> {
    /// [`FitError::Unsupported`] unless every axis is cubic.
    fn cubic_only(&self) -> Result<(), FitError> {
        cubic_only(&self.degrees)
    }
}

/// [`FitError::Unsupported`] naming the first axis that is not cubic.
fn cubic_only(degrees: &[crate::Degree]) -> Result<(), FitError> {
    match degrees.iter().position(|&k| k != crate::Degree::Cubic) {
        None => Ok(()),
        Some(axis) => Err(FitError::Unsupported {
            feature: format!(
                "sensitivities of a spline of degree {} (axis {axis}); they are implemented for degree 3",
                degrees[axis]
            ),
        }),
    }
}
