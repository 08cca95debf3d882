//! The evaluation driver: runs a [`Query`] on a [`TensorSpline`].
//!
//! Every batch, view and grid evaluation of the crate — the convenience
//! methods of [`TensorSpline`] and [`DynSpline`](super::DynSpline), the C
//! ABI and the Python package — comes here:
//! 1. the outputs are resolved to per-axis orders, the policy to one
//!    [`Extrapolate`] per axis; under [`Extrapolate::Error`] the points are
//!    checked first and the first one outside is reported;
//! 2. points are split into runs for rayon (runs of
//!    [`LOCAL_CHUNK`](super::kernel) points on tables beyond L2, where each
//!    run is evaluated in cell order), each run one ISA dispatch of the
//!    fused kernel ([`Batch`]); the op is the plain value or one partial of
//!    a scalar spline (their tuned kernels) or, for anything else, the
//!    multi-output kernel ([`Multi`]: one basis computation per point, one
//!    contraction per output and every component together);
//! 3. grids go to the separable contraction (`grid_eval`), one per output.

use super::kernel::{Batch, Deriv, Grad, Hessian, Multi, PointWrite, Src, Value};
use super::query::{Points, Query};
use super::tree::Tree;
use super::{Extrapolate, TensorSpline};
use crate::FitError;
use ndarray::{ArrayD, ArrayView2, Axis, IxDyn};

impl<const D: usize> TensorSpline<D> {
    /// Runs `query` and returns its result, of shape
    /// `(n, outputs, *value_shape)` for points and
    /// `(m_0, …, m_{D-1}, outputs, *value_shape)` for a grid (see
    /// [`Query`](super::Query)).
    ///
    /// Errors: as [`evaluate_into`](Self::evaluate_into).
    pub fn evaluate(&self, query: &Query<'_>) -> Result<ArrayD<f64>, FitError> {
        let shape = self.output_shape(query)?;
        let len = checked_len(&shape)?;
        let mut out = crate::recycle::zeroed::<f64>(len);
        self.evaluate_into(query, &mut out)?;
        ArrayD::from_shape_vec(IxDyn(&shape), out).map_err(|e| FitError::InvalidParameter {
            name: "query",
            reason: e.to_string(),
        })
    }

    /// The shape of `query`'s result on this spline (see
    /// [`evaluate`](Self::evaluate)).
    ///
    /// Errors: [`FitError::InvalidParameter`] for a partial along a missing
    /// axis or a result too large for memory.
    pub fn output_shape(&self, query: &Query<'_>) -> Result<Vec<usize>, FitError> {
        let nout = query.partials(D)?.len();
        let mut shape = query.points_shape();
        shape.push(nout);
        shape.extend_from_slice(&self.vshape);
        checked_len(&shape).map_err(|e| match (e, query.points()) {
            (FitError::InvalidParameter { reason, .. }, Points::Grid(_)) => {
                FitError::InvalidParameter {
                    name: "coords",
                    reason,
                }
            }
            (e, _) => e,
        })?;
        Ok(shape)
    }

    /// Runs `query`, writing its result row-major into `out` (see
    /// [`evaluate`](Self::evaluate) for the layout). Point queries allocate
    /// only the resolved output list (nothing per point); grid queries also
    /// allocate the partial contractions.
    ///
    /// Errors: [`FitError::InvalidParameter`] if `out` has another length
    /// than the result or an output differentiates along a missing axis;
    /// [`FitError::DimensionMismatch`] for points with another number of
    /// columns, a grid with another number of axes or a per-axis policy
    /// list of another length; [`FitError::OutsideDomain`] for the first
    /// point outside the domain on an axis under [`Extrapolate::Error`]
    /// (`out` is then left as it was).
    pub fn evaluate_into(&self, query: &Query<'_>, out: &mut [f64]) -> Result<(), FitError> {
        let shape = self.check_query(query)?;
        let policy = query.resolve_policy(self.extrapolate, &self.periodic)?;
        let policy: [Extrapolate; D] = std::array::from_fn(|k| policy[k]);
        let partials = query.partials(D)?;
        let want = checked_len(&shape)?;
        if out.len() != want {
            let what = match query.points() {
                Points::Rows(p) => format!("{} points", p.nrows()),
                Points::Grid(_) => format!("a grid of shape {:?}", query.points_shape()),
            };
            return Err(FitError::InvalidParameter {
                name: "out",
                reason: format!(
                    "length {} for {what} (the result has shape {shape:?})",
                    out.len()
                ),
            });
        }
        let orders: Vec<[usize; D]> = partials
            .iter()
            .map(|p| std::array::from_fn(|k| p.order(k)))
            .collect();
        match query.points() {
            Points::Rows(points) => {
                if policy.contains(&Extrapolate::Error) {
                    self.check_rows(points, &policy)?;
                }
                self.run_rows(*points, &policy, &orders, out);
            }
            Points::Grid(axes) => {
                let coords: [&[f64]; D] = std::array::from_fn(|k| axes[k]);
                if policy.contains(&Extrapolate::Error) {
                    self.check_grid(&coords, &policy)?;
                }
                self.run_grid(coords, &policy, &orders, out);
            }
        }
        Ok(())
    }

    /// Checks everything about `query` but the output buffer and the
    /// points under [`Extrapolate::Error`]: the points' columns or the
    /// grid's axes, the policy list, the outputs and the result's size;
    /// returns the result's shape.
    pub(super) fn check_query(&self, query: &Query<'_>) -> Result<Vec<usize>, FitError> {
        match query.points() {
            Points::Rows(points) if points.ncols() != D => {
                return Err(FitError::DimensionMismatch {
                    expected: D,
                    got: points.ncols(),
                });
            }
            Points::Grid(axes) if axes.len() != D => {
                return Err(FitError::DimensionMismatch {
                    expected: D,
                    got: axes.len(),
                });
            }
            _ => {}
        }
        query.resolve_policy(self.extrapolate, &self.periodic)?;
        self.output_shape(query)
    }

    /// The first point of `points` outside the domain on an axis under
    /// [`Extrapolate::Error`], as an error.
    fn check_rows(
        &self,
        points: &ArrayView2<'_, f64>,
        policy: &[Extrapolate; D],
    ) -> Result<(), FitError> {
        for (i, row) in points.outer_iter().enumerate() {
            for (axis, &value) in row.iter().enumerate() {
                if policy[axis] == Extrapolate::Error {
                    let (lo, hi) = self.axis_domain(axis);
                    if !(value >= lo && value <= hi) {
                        return Err(FitError::OutsideDomain {
                            point: Some(i),
                            axis,
                            value,
                            lo,
                            hi,
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// [`check_rows`](Self::check_rows) for the grid `coords`.
    fn check_grid(&self, coords: &[&[f64]; D], policy: &[Extrapolate; D]) -> Result<(), FitError> {
        for axis in 0..D {
            if policy[axis] != Extrapolate::Error {
                continue;
            }
            let (lo, hi) = self.axis_domain(axis);
            if let Some(i) = coords[axis].iter().position(|&v| !(v >= lo && v <= hi)) {
                // The first grid point (row-major) with this coordinate.
                let inner: usize = coords[axis + 1..].iter().map(|c| c.len()).product();
                let empty = coords.iter().any(|c| c.is_empty());
                if empty {
                    continue;
                }
                return Err(FitError::OutsideDomain {
                    point: Some(i * inner),
                    axis,
                    value: coords[axis][i],
                    lo,
                    hi,
                });
            }
        }
        Ok(())
    }

    /// The points of `points` into `out` (`n · width` values), in parallel.
    fn run_rows(
        &self,
        points: ArrayView2<'_, f64>,
        policy: &[Extrapolate; D],
        orders: &[[usize; D]],
        out: &mut [f64],
    ) {
        // The tuned single-output kernels of scalar splines; the
        // multi-output kernel for everything else.
        if self.ncomp == 1 {
            if orders.len() == 1 {
                if orders[0] == [0; D] {
                    return self.run_rows_with(points, policy, Value, out);
                }
                return self.run_rows_with(points, policy, Deriv(orders[0]), out);
            }
            // The gradient and the Hessian alone: their single-point
            // kernels (the same results as `eval_grad`, `eval_hessian`).
            let unit = |k: usize| -> [usize; D] { std::array::from_fn(|j| usize::from(j == k)) };
            if orders.len() == D && (0..D).all(|k| orders[k] == unit(k)) {
                return self.run_rows_with(points, policy, Grad, out);
            }
            if orders.len() == D * D
                && (0..D * D).all(|q| {
                    let (i, j) = (q / D, q % D);
                    orders[q] == std::array::from_fn(|a| usize::from(a == i) + usize::from(a == j))
                })
            {
                return self.run_rows_with(points, policy, Hessian, out);
            }
        }
        // Several outputs of a scalar spline share partial sums (see
        // `tree.rs`); the plan is built once per request.
        let tree = if self.ncomp == 1 && points.nrows() >= 4 {
            Tree::new(orders, &self.strides)
        } else {
            None
        };
        let op = Multi::new(orders).with_tree(tree.as_ref());
        self.run_rows_with(points, policy, op, out);
    }

    /// `op` at every row of `points`, in runs of [`batch_chunk`](Self::batch_chunk)
    /// points split in halves across the pool.
    fn run_rows_with<P: PointWrite<D> + Sync>(
        &self,
        points: ArrayView2<'_, f64>,
        policy: &[Extrapolate; D],
        op: P,
        out: &mut [f64],
    ) {
        let n = points.nrows();
        let chunk = self.batch_chunk(n);
        let width = op.width(self);
        self.split_rows(points, out, chunk, width, &|p, o| {
            let src = match p.as_slice() {
                Some(flat) => Src::Slice(flat.as_chunks::<D>().0),
                None => Src::View(p),
            };
            self.kernels.dispatch(Batch {
                s: self,
                policy: *policy,
                op,
                src,
                out: o,
            });
        });
    }

    /// Runs `f` on matching runs of rows and results, recursively halved
    /// with `rayon::join` down to `chunk` rows (no allocation).
    #[allow(clippy::only_used_in_recursion)]
    fn split_rows<F>(
        &self,
        points: ArrayView2<'_, f64>,
        out: &mut [f64],
        chunk: usize,
        width: usize,
        f: &F,
    ) where
        F: Fn(ArrayView2<'_, f64>, &mut [f64]) + Sync,
    {
        let n = points.nrows();
        if n <= chunk {
            f(points, out);
            return;
        }
        // Split at a multiple of the chunk so that runs stay whole.
        let mid = (n / 2).div_ceil(chunk) * chunk;
        let (p0, p1) = points.split_at(Axis(0), mid.min(n));
        let (o0, o1) = out.split_at_mut(mid.min(n) * width);
        rayon::join(
            || self.split_rows(p0, o0, chunk, width, f),
            || self.split_rows(p1, o1, chunk, width, f),
        );
    }

    /// The outputs `orders` (all components) at one point under `policy`,
    /// into `dst` (`orders.len() · ncomp` values).
    pub(super) fn point_into(
        &self,
        policy: &[Extrapolate; D],
        orders: &[[usize; D]],
        x: [f64; D],
        dst: &mut [f64],
    ) {
        let pts = [x];
        self.kernels.dispatch(Batch {
            s: self,
            policy: *policy,
            op: Multi::new(orders),
            src: Src::Slice(&pts),
            out: dst,
        });
    }

    /// The grid `coords` into `out` (`(grid, outputs, components)`): one
    /// separable contraction per output, written in place when there is
    /// one output and interleaved through a temporary otherwise.
    fn run_grid(
        &self,
        coords: [&[f64]; D],
        policy: &[Extrapolate; D],
        orders: &[[usize; D]],
        out: &mut [f64],
    ) {
        let nout = orders.len();
        let nc = self.ncomp;
        if out.is_empty() {
            return;
        }
        if self.general {
            return self.grid_general(coords, policy, orders, out);
        }
        if nout == 1 {
            self.grid_partial(coords, policy, orders[0], out);
            return;
        }
        let per = out.len() / nout;
        let mut tmp = crate::recycle::zeroed::<f64>(per);
        for (j, &o) in orders.iter().enumerate() {
            self.grid_partial(coords, policy, o, &mut tmp);
            for (dst, src) in out.chunks_exact_mut(nout * nc).zip(tmp.chunks_exact(nc)) {
                dst[j * nc..(j + 1) * nc].copy_from_slice(src);
            }
        }
    }
}

/// The product of `shape`, checked for overflow and for fitting in memory.
fn checked_len(shape: &[usize]) -> Result<usize, FitError> {
    shape
        .iter()
        .try_fold(1usize, |a, &n| a.checked_mul(n))
        .filter(|&n| n <= isize::MAX as usize / size_of::<f64>())
        .ok_or_else(|| FitError::InvalidParameter {
            name: "query",
            reason: format!("a result of shape {shape:?} does not fit in memory"),
        })
}
