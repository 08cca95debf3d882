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
    /// Wrap the coordinate into the domain,
    /// `x_0 + (x − x_0) mod (x_{n-1} − x_0)` (scipy's
    /// `extrapolate="periodic"`); the default of the axes fitted with a
    /// periodic boundary condition, allowed on any axis.
    Periodic,
    /// Report a point outside the domain (or NaN) as
    /// [`FitError::OutsideDomain`] naming the point, axis and coordinate;
    /// nothing is evaluated. Checked evaluation
    /// ([`TensorSpline::eval_checked`]) always behaves so.
    Error,
}

impl std::str::FromStr for Extrapolate {
    type Err = FitError;
    /// Parses the policy names used by the C ABI and the Python package:
    /// `polynomial` (also `extrapolate`), `clamp`, `nan`, `periodic`,
    /// `error` (also `raise`); case-insensitive.
    fn from_str(s: &str) -> Result<Self, FitError> {
        match s.to_ascii_lowercase().as_str() {
            "polynomial" | "extrapolate" => Ok(Extrapolate::Polynomial),
            "clamp" => Ok(Extrapolate::Clamp),
            "nan" => Ok(Extrapolate::Nan),
            "periodic" => Ok(Extrapolate::Periodic),
            "error" | "raise" => Ok(Extrapolate::Error),
            _ => Err(FitError::InvalidParameter {
                name: "extrapolate",
                reason: format!(
                    "unknown policy {s:?}; expected polynomial, clamp, nan, periodic or error"
                ),
            }),
        }
    }
}

impl Extrapolate {
    /// The policy's name, as [`FromStr`](std::str::FromStr) parses it.
    pub fn name(self) -> &'static str {
        match self {
            Extrapolate::Polynomial => "polynomial",
            Extrapolate::Clamp => "clamp",
            Extrapolate::Nan => "nan",
            Extrapolate::Periodic => "periodic",
            Extrapolate::Error => "error",
        }
    }
}

impl<const D: usize> TensorSpline<D> {
    /// Sets the extrapolation policy of the axes that are not periodic
    /// (see [`Extrapolate`]); periodic axes keep wrapping.
    /// [`Extrapolate::Error`] makes the batch, view and grid calls report
    /// points outside as errors through [`evaluate`](Self::evaluate); the
    /// infallible single-point calls give NaN there.
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

    /// The spline's own per-axis policies: periodic axes wrap, the others
    /// follow [`extrapolate`](Self::extrapolate).
    pub(super) fn own_policy(&self) -> [Extrapolate; D] {
        std::array::from_fn(|k| {
            if self.periodic[k] {
                Extrapolate::Periodic
            } else {
                self.extrapolate
            }
        })
    }

    /// `x` wrapped into the domain of `axis`:
    /// `t_3 + (x − t_3) mod (t_n − t_3)` as scipy does; NaN and ±inf give NaN.
    #[inline(always)]
    pub(super) fn wrap(&self, axis: usize, x: f64) -> f64 {
        let (lo, hi) = self.domain[axis];
        wrap_in(lo, hi, x)
    }

    /// The point at which the spline's own policy evaluates `x`, or `None`
    /// when the result is NaN, for splines that are not
    /// [`plain`](Self::plain); out of line.
    #[cold]
    #[inline(never)]
    pub(super) fn project_other(&self, x: [f64; D]) -> Option<[f64; D]> {
        self.project_with(&self.own_policy(), x)
    }

    /// The point at which per-axis `policy` evaluates `x`, or `None` when
    /// the result is NaN (an axis under [`Extrapolate::Nan`] or
    /// [`Extrapolate::Error`] with its coordinate outside; the driver
    /// reports the latter as an error before evaluating).
    #[inline(always)]
    pub(super) fn project_with(
        &self,
        policy: &[Extrapolate; D],
        mut x: [f64; D],
    ) -> Option<[f64; D]> {
        for k in 0..D {
            x[k] = self.apply_policy(k, policy[k], x[k])?;
        }
        Some(x)
    }

    /// The coordinate at which `policy` evaluates `x` on `axis`, or `None`
    /// when the result is NaN: the one place the policies are applied
    /// (points and grids alike). Under [`Extrapolate::Error`] the
    /// coordinate must already be checked (the driver reports it).
    #[inline(always)]
    pub(super) fn apply_policy(&self, axis: usize, policy: Extrapolate, x: f64) -> Option<f64> {
        let (lo, hi) = self.domain[axis];
        policy_in(lo, hi, policy, x)
    }

    /// `[x_0, x_{n-1}]` of `axis` (`axis < D`): the knots `t_k` and
    /// `t_{len-1-k}` (the end knots of a clamped vector of degree k).
    #[inline(always)]
    pub(super) fn axis_domain(&self, axis: usize) -> (f64, f64) {
        self.domain[axis]
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
        let x = std::array::from_fn(|k| {
            if self.periodic[k] {
                self.wrap(k, x[k])
            } else {
                x[k]
            }
        });
        self.check_inside(&x)?;
        Ok(self.eval_raw(x))
    }

    /// [`FitError::OutsideDomain`] for the first coordinate of `x` outside
    /// the domain or NaN.
    pub(super) fn check_inside(&self, x: &[f64; D]) -> Result<(), FitError> {
        for (axis, &value) in x.iter().enumerate() {
            let (lo, hi) = self.axis_domain(axis);
            if !(value >= lo && value <= hi) {
                return Err(FitError::OutsideDomain {
                    point: None,
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

/// `[x_0, x_{n-1}]` of an axis with the cubic knot vector `t`: the knots
/// `t_3` and `t_{len-4}`.
#[inline(always)]
pub(super) fn domain_of(t: &[f64]) -> (f64, f64) {
    (t[3], t[t.len() - 4])
}

/// `x` wrapped into the domain `[lo, hi]`: `lo + (x − lo) mod (hi − lo)`;
/// NaN and ±inf give NaN.
#[inline(always)]
pub(super) fn wrap_in(lo: f64, hi: f64, x: f64) -> f64 {
    let w = lo + (x - lo).rem_euclid(hi - lo);
    // Rounding can land one ulp past the end; NaN stays NaN.
    if w > hi { hi } else { w }
}

/// The coordinate at which `policy` evaluates `x` on an axis with the knot
/// vector `t`, or `None` when the result is NaN: the one place the policies
/// are applied (evaluation of points and grids, and the sensitivities).
/// Under [`Extrapolate::Error`] the coordinate must already be checked.
#[inline(always)]
pub(super) fn policy_on(t: &[f64], policy: Extrapolate, x: f64) -> Option<f64> {
    let (lo, hi) = domain_of(t);
    policy_in(lo, hi, policy, x)
}

/// [`policy_on`] on an axis with the domain `[lo, hi]`.
#[inline(always)]
pub(super) fn policy_in(lo: f64, hi: f64, policy: Extrapolate, x: f64) -> Option<f64> {
    match policy {
        Extrapolate::Polynomial => Some(x),
        Extrapolate::Periodic => Some(wrap_in(lo, hi, x)),
        // `clamp` keeps NaN (which then gives NaN).
        Extrapolate::Clamp => Some(x.clamp(lo, hi)),
        Extrapolate::Nan | Extrapolate::Error => (x >= lo && x <= hi).then_some(x),
    }
}
