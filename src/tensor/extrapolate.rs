//! What evaluation does outside the domain: the [`Extrapolate`] policy of a
//! spline, and the checked evaluation that reports such points as errors.

use super::TensorSpline;
use crate::FitError;

/// What a [`TensorSpline`] returns at a point outside its domain
/// `[x_0, x_{n-1}]` on some axis.
///
/// Set with [`TensorSpline::with_extrapolate`]; applied by every evaluation
/// call (`eval`, `eval_deriv`, `eval_grad`, `eval_hessian`, the batch, view
/// and grid calls). The domain is closed: both end sites are inside.
///
/// ```
/// use bsfit::{Extrapolate, TensorSpline};
/// use ndarray::Array1;
///
/// let x = [0.0, 1.0, 2.0, 3.0, 4.0];
/// let s = TensorSpline::fit([&x[..]], Array1::from_iter(x.map(|v| v * v)).view())?;
/// assert!((s.eval([5.0]) - 25.0).abs() < 1e-12); // the boundary polynomial
/// let s = s.with_extrapolate(Extrapolate::Clamp);
/// assert!((s.eval([5.0]) - 16.0).abs() < 1e-12); // the value at x = 4
/// let s = s.with_extrapolate(Extrapolate::Nan);
/// assert!(s.eval([5.0]).is_nan());
/// # Ok::<(), bsfit::FitError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum Extrapolate {
    /// Continue with the polynomial of the boundary piece (scipy's
    /// `extrapolate=True`). The default.
    #[default]
    Polynomial,
    /// Project each coordinate onto its axis' domain before evaluating:
    /// values and derivatives are those of the spline at the projected
    /// point (so the derivative along a clamped axis is that of the
    /// boundary piece at the end site, not 0).
    Clamp,
    /// NaN for values and every derivative when any coordinate is outside
    /// the domain (scipy's `extrapolate=False`).
    Nan,
}

impl<const D: usize> TensorSpline<D> {
    /// Sets the extrapolation policy (see [`Extrapolate`]).
    #[must_use]
    pub fn with_extrapolate(mut self, policy: Extrapolate) -> Self {
        self.extrapolate = policy;
        self
    }

    /// The extrapolation policy (default [`Extrapolate::Polynomial`]).
    pub fn extrapolate(&self) -> Extrapolate {
        self.extrapolate
    }

    /// Whether evaluation uses coordinates as given: the default policy
    /// and no periodic axis.
    #[inline(always)]
    pub(super) fn plain(&self) -> bool {
        self.extrapolate == Extrapolate::Polynomial && !self.periodic.iter().any(|&p| p)
    }

    /// `x` wrapped into the domain of `axis` if that axis is periodic:
    /// `t_3 + (x − t_3) mod (t_n − t_3)` as scipy does; NaN and ±inf give NaN.
    #[inline(always)]
    pub(super) fn wrap(&self, axis: usize, x: f64) -> f64 {
        if self.periodic[axis] {
            let (lo, hi) = self.axis_domain(axis);
            let w = lo + (x - lo).rem_euclid(hi - lo);
            // Rounding can land one ulp past the end; NaN stays NaN.
            if w > hi { hi } else { w }
        } else {
            x
        }
    }

    /// The point at which the spline's own policy evaluates `x`, or `None`
    /// when the result is NaN ([`Extrapolate::Nan`] outside the domain), for
    /// splines that are not [`plain`](Self::plain); out of line.
    #[cold]
    #[inline(never)]
    pub(super) fn project_other(&self, x: [f64; D]) -> Option<[f64; D]> {
        self.project_with(self.extrapolate, x)
    }

    /// [`project`](Self::project) under an explicit `policy`.
    #[inline(always)]
    pub(super) fn project_with(&self, policy: Extrapolate, mut x: [f64; D]) -> Option<[f64; D]> {
        for (k, v) in x.iter_mut().enumerate() {
            *v = self.wrap(k, *v);
        }
        match policy {
            Extrapolate::Polynomial => Some(x),
            Extrapolate::Clamp => {
                for k in 0..D {
                    let (lo, hi) = self.axis_domain(k);
                    // `clamp` keeps NaN (which then gives NaN).
                    x[k] = x[k].clamp(lo, hi);
                }
                Some(x)
            }
            Extrapolate::Nan => (0..D)
                .all(|k| {
                    let (lo, hi) = self.axis_domain(k);
                    x[k] >= lo && x[k] <= hi
                })
                .then_some(x),
        }
    }

    /// `[x_0, x_{n-1}]` of `axis` (`axis < D`): the knots `t_3` and
    /// `t_{len-4}` (the end knots of a clamped vector).
    #[inline(always)]
    pub(super) fn axis_domain(&self, axis: usize) -> (f64, f64) {
        let t = &self.knots[axis];
        (t[3], t[t.len() - 4])
    }

    /// The spline's value at `x`, or an error if `x` is outside the domain
    /// (whatever the extrapolation policy).
    ///
    /// Errors: [`FitError::OutsideDomain`] naming the first axis whose
    /// coordinate is outside `[x_0, x_{n-1}]` or NaN.
    ///
    /// ```
    /// use bsfit::{FitError, TensorSpline};
    /// use ndarray::Array2;
    ///
    /// let x = [0.0, 1.0, 2.0, 3.0];
    /// let v = Array2::from_shape_fn((4, 4), |(i, j)| x[i] + x[j]);
    /// let s = TensorSpline::fit([&x[..], &x[..]], v.view())?;
    /// assert!((s.eval_checked([1.5, 3.0])? - 4.5).abs() < 1e-12);
    /// assert!(matches!(
    ///     s.eval_checked([1.5, 3.5]),
    ///     Err(FitError::OutsideDomain { axis: 1, .. })
    /// ));
    /// # Ok::<(), bsfit::FitError>(())
    /// ```
    pub fn eval_checked(&self, x: [f64; D]) -> Result<f64, FitError> {
        let x = std::array::from_fn(|k| self.wrap(k, x[k]));
        self.check_inside(&x)?;
        Ok(self.eval_raw(x))
    }

    /// [`FitError::OutsideDomain`] for the first coordinate of `x` outside
    /// the domain or NaN.
    fn check_inside(&self, x: &[f64; D]) -> Result<(), FitError> {
        for (axis, &value) in x.iter().enumerate() {
            let (lo, hi) = self.axis_domain(axis);
            if !(value >= lo && value <= hi) {
                return Err(FitError::OutsideDomain {
                    axis,
                    value,
                    lo,
                    hi,
                });
            }
        }
        Ok(())
    }
}
