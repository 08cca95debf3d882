//! Batch evaluation on ndarray views: points as an `(n, D)` view of any
//! memory layout, results written into caller-owned views. Each call is a
//! [`Query`] run by the driver ([`TensorSpline::evaluate_into`]); a
//! contiguous `out` is written in place (the request's output list is the
//! only allocation, none per point), any other layout
//! through one temporary.

use super::TensorSpline;
use super::query::{Partial, Query};
use crate::FitError;
use ndarray::{ArrayView2, ArrayViewMut, ArrayViewMut1, ArrayViewMut2, Dimension};

/// Runs `q` into `out` (any layout): in place when `out` is contiguous in
/// standard order, else through a temporary.
fn run_into<const D: usize, E: Dimension>(
    s: &TensorSpline<D>,
    q: &Query<'_>,
    mut out: ArrayViewMut<'_, f64, E>,
) -> Result<(), FitError> {
    let want: usize = s.check_query(q)?.iter().product();
    if out.len() != want {
        return Err(FitError::InvalidParameter {
            name: "out",
            reason: format!("length {} for {} points", out.len(), q.len()?),
        });
    }
    match out.as_slice_mut() {
        Some(o) => s.evaluate_into(q, o),
        None => {
            let mut tmp = vec![0.0; want];
            s.evaluate_into(q, &mut tmp)?;
            for (d, v) in out.iter_mut().zip(tmp) {
                *d = v;
            }
            Ok(())
        }
    }
}

impl<const D: usize> TensorSpline<D> {
    /// Writes the values at the rows of `points` (shape `(n, D)`, any memory
    /// layout: C, Fortran, strided, negative strides) into `out` (length `n`,
    /// any stride), in parallel, with no allocation per point (a contiguous
    /// `out` is written in place). Outside the domain: see
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
        run_into(self, &Query::at(points), out)
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
        run_into(
            self,
            &Query::at(points).outputs(&[Partial::new(&orders)?]),
            out,
        )
    }

    /// Writes the gradient (as [`eval_grad`](Self::eval_grad)) at the rows of
    /// `points` into the rows of `out` (shape `(n, D)`, any layout), in
    /// parallel, with no allocation per point.
    ///
    /// Errors: [`FitError::DimensionMismatch`] if `points` does not have `D`
    /// columns, [`FitError::InvalidParameter`] if `out` is not `(n, D)`.
    pub fn eval_grad_into(
        &self,
        points: ArrayView2<'_, f64>,
        out: ArrayViewMut2<'_, f64>,
    ) -> Result<(), FitError> {
        if points.ncols() == D && out.dim() != (points.nrows(), D) {
            return Err(FitError::InvalidParameter {
                name: "out",
                reason: format!(
                    "shape {:?} for {} points of dimension {D}",
                    out.shape(),
                    points.nrows()
                ),
            });
        }
        run_into(self, &Query::at(points).gradient(), out)
    }
}
