//! Batch evaluation on ndarray views: points as an `(n, D)` view of any
//! memory layout, results written into caller-owned views, no allocation.
//!
//! The rows are split in halves with `rayon::join` down to blocks of
//! [`BATCH_MIN`] points; a block whose points are one contiguous row-major
//! slice is read as `[f64; D]` chunks, any other block (column-major,
//! strided, negative strides) gathers each point into a `[f64; D]` on the
//! stack.

use super::TensorSpline;
use super::eval::BATCH_MIN;
use crate::FitError;
use ndarray::{ArrayView2, ArrayViewMut, ArrayViewMut1, ArrayViewMut2, Axis, Dimension};

/// Checks that `points` has `D` columns and returns its row count.
fn check_points<const D: usize>(points: &ArrayView2<'_, f64>) -> Result<usize, FitError> {
    if points.ncols() != D {
        return Err(FitError::DimensionMismatch {
            expected: D,
            got: points.ncols(),
        });
    }
    Ok(points.nrows())
}

/// Runs `f` on matching row blocks of `points` and `out`, in parallel.
fn par_blocks<E, F>(points: ArrayView2<'_, f64>, out: ArrayViewMut<'_, f64, E>, f: &F)
where
    E: Dimension,
    F: Fn(ArrayView2<'_, f64>, ArrayViewMut<'_, f64, E>) + Sync,
{
    let n = points.nrows();
    if n <= BATCH_MIN {
        f(points, out);
        return;
    }
    let mid = n / 2;
    let (p0, p1) = points.split_at(Axis(0), mid);
    let (o0, o1) = out.split_at(Axis(0), mid);
    rayon::join(|| par_blocks(p0, o0, f), || par_blocks(p1, o1, f));
}

/// Calls `g(i, x)` for each point of the block, in order.
#[inline(always)]
fn for_each_point<const D: usize>(
    points: &ArrayView2<'_, f64>,
    mut g: impl FnMut(usize, [f64; D]),
) {
    if let Some(flat) = points.as_slice() {
        let (pts, _) = flat.as_chunks::<D>();
        for (i, p) in pts.iter().enumerate() {
            g(i, *p);
        }
    } else {
        for (i, row) in points.outer_iter().enumerate() {
            let mut x = [0.0; D];
            for (xk, v) in x.iter_mut().zip(row.iter()) {
                *xk = *v;
            }
            g(i, x);
        }
    }
}

/// Writes `value(x)` for every point into the 1-D `out`.
fn fill_values<const D: usize>(
    points: ArrayView2<'_, f64>,
    out: ArrayViewMut1<'_, f64>,
    value: &(impl Fn([f64; D]) -> f64 + Sync),
) {
    par_blocks(points, out, &|p, mut o| {
        if let Some(os) = o.as_slice_mut() {
            for_each_point::<D>(&p, |i, x| {
                if let Some(v) = os.get_mut(i) {
                    *v = value(x);
                }
            });
        } else {
            let mut it = o.iter_mut();
            for_each_point::<D>(&p, |_, x| {
                if let Some(v) = it.next() {
                    *v = value(x);
                }
            });
        }
    });
}

impl<const D: usize> TensorSpline<D> {
    /// Writes the values at the rows of `points` (shape `(n, D)`, any memory
    /// layout: C, Fortran, strided, negative strides) into `out` (length `n`,
    /// any stride), in parallel, without allocating. Outside the domain: see
    /// [`extrapolate`](Self::extrapolate).
    ///
    /// Errors: [`FitError::DimensionMismatch`] if `points` does not have `D`
    /// columns, [`FitError::InvalidParameter`] if `out.len() != n`.
    ///
    /// ```
    /// use bsfit::TensorSpline;
    /// use ndarray::{Array1, Array2, array};
    ///
    /// let x = [0.0, 1.0, 2.0, 3.0, 4.0];
    /// let y = [0.0, 0.5, 1.0, 1.5];
    /// let v = Array2::from_shape_fn((5, 4), |(i, j)| x[i] * y[j]);
    /// let s = TensorSpline::fit([&x[..], &y[..]], v.view())?;
    /// // Three points as the columns of a 2 × 3 array: its transpose is a
    /// // column-major (3, 2) view.
    /// let cols = array![[0.5, 1.0, 3.5], [0.25, 1.0, 1.5]];
    /// let mut out = Array1::zeros(3);
    /// s.eval_into(cols.t(), out.view_mut())?;
    /// for (i, p) in cols.t().outer_iter().enumerate() {
    ///     assert!((out[i] - p[0] * p[1]).abs() < 1e-12);
    /// }
    /// # Ok::<(), bsfit::FitError>(())
    /// ```
    pub fn eval_into(
        &self,
        points: ArrayView2<'_, f64>,
        out: ArrayViewMut1<'_, f64>,
    ) -> Result<(), FitError> {
        let n = check_points::<D>(&points)?;
        check_out_len(out.len(), n)?;
        if self.plain() {
            fill_values::<D>(points, out, &|x| self.eval_raw(x));
        } else {
            fill_values::<D>(points, out, &|x| self.eval(x));
        }
        Ok(())
    }

    /// Writes the mixed partial derivative of `orders` (as
    /// [`eval_deriv`](Self::eval_deriv)) at the rows of `points` into `out`;
    /// layouts, parallelism and errors as [`eval_into`](Self::eval_into).
    pub fn eval_deriv_into(
        &self,
        points: ArrayView2<'_, f64>,
        orders: [usize; D],
        out: ArrayViewMut1<'_, f64>,
    ) -> Result<(), FitError> {
        let n = check_points::<D>(&points)?;
        check_out_len(out.len(), n)?;
        fill_values::<D>(points, out, &|x| self.eval_deriv(x, orders));
        Ok(())
    }

    /// Writes the gradient (as [`eval_grad`](Self::eval_grad)) at the rows of
    /// `points` into the rows of `out` (shape `(n, D)`, any layout), in
    /// parallel, without allocating.
    ///
    /// Errors: [`FitError::DimensionMismatch`] if `points` does not have `D`
    /// columns, [`FitError::InvalidParameter`] if `out` is not `(n, D)`.
    pub fn eval_grad_into(
        &self,
        points: ArrayView2<'_, f64>,
        out: ArrayViewMut2<'_, f64>,
    ) -> Result<(), FitError> {
        let n = check_points::<D>(&points)?;
        if out.dim() != (n, D) {
            return Err(FitError::InvalidParameter {
                name: "out",
                reason: format!("shape {:?} for {n} points of dimension {D}", out.shape()),
            });
        }
        par_blocks(points, out, &|p, mut o| {
            let mut rows = o.outer_iter_mut();
            for_each_point::<D>(&p, |_, x| {
                if let Some(mut row) = rows.next() {
                    for (r, g) in row.iter_mut().zip(self.eval_grad(x)) {
                        *r = g;
                    }
                }
            });
        });
        Ok(())
    }
}

fn check_out_len(len: usize, n: usize) -> Result<(), FitError> {
    if len != n {
        return Err(FitError::InvalidParameter {
            name: "out",
            reason: format!("length {len} for {n} points"),
        });
    }
    Ok(())
}
