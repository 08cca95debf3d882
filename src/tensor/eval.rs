//! Evaluation of values and partial derivatives.
//!
//! At a point `x`, each axis `k` contributes its knot span `s_k` and four basis
//! weights `w_k[0..4]` (values or derivatives of the requested order). The
//! spline value is the contraction of the `4^D` coefficient block starting at
//! `(s_0 - 3, …, s_{D-1} - 3)`:
//! `Σ_{r ∈ {0..3}^D} Π_k w_k[r_k] · c[s_0 - 3 + r_0, …]`.
//! The innermost four coefficients of each row are contiguous.
//!
//! Fast paths (chosen by the spline's [`Isa`](crate::Isa)): the span is found
//! in O(1) on uniform axes (one multiply, one floor, one corrective
//! comparison) and by binary search otherwise; the basis of all axes is
//! computed together, one axis per SIMD lane; the contraction runs on rows of
//! four coefficients in `ymm` registers. The scalar ISA runs the reference
//! code ([`basis`], [`basis_derivs`], [`find_span`]).

use super::TensorSpline;
use super::kernel::{Deriv, Grad, Hessian, Value};
use super::query::{Partial, Query};
use crate::bspline::knots::find_span;
use crate::isa::Kernels;
use ndarray::ArrayView2;

/// Points per rayon task in batch evaluation.
pub(super) const BATCH_MIN: usize = 512;

impl<const D: usize> TensorSpline<D> {
    /// Knot span of `x` on `axis`: equal to
    /// [`find_span`](crate::bspline::knots::find_span), in O(1) on uniform axes.
    #[inline(always)]
    pub(super) fn span(&self, axis: usize, x: f64) -> usize {
        let t = &self.knots[axis];
        match self.uniform[axis] {
            Some((x0, inv_h)) if self.kernels != Kernels::Scalar => {
                let n = t.len() - 4;
                // ⌊(x − x0)/h⌋ − 1 clamped to [0, n − 4]: after the clamp the
                // value is ≥ 0, where truncation is the floor (no libm call);
                // NaN → 0 (`max` drops NaN), ±inf clamp.
                // `as i64` saturates (NaN → 0) in one conversion; the
                // integer clamp then bounds it.
                let g = ((x - x0) * inv_h - 1.0) as i64;
                let c = g.clamp(0, (n - 4) as i64) as usize;
                let s = 3 + c;
                // One step corrects the rounding of the multiply near a knot
                // (branch-free: both neighbours are valid indices, since
                // 3 ≤ s ≤ n − 1 and t has n + 4 knots).
                let up = (s < n - 1) & (x >= t[s + 1]);
                let down = (s > 3) & (x < t[s]);
                s + up as usize - down as usize
            }
            _ => find_span(t, x),
        }
    }

    /// The knot span evaluation uses for `x` on `axis` (always equal to
    /// [`find_span`](crate::bspline::knots::find_span); computed in O(1) on
    /// uniform axes by the SIMD ISAs), or `None` if `axis >= D`.
    pub fn span_of(&self, axis: usize, x: f64) -> Option<usize> {
        if self.general {
            return (axis < D).then(|| {
                crate::bspline::knots::find_span_k(&self.knots[axis], self.degrees[axis].get(), x)
            });
        }
        (axis < D).then(|| self.span(axis, x))
    }

    /// Spans of all axes and the flat offset of the coefficient block.
    #[inline(always)]
    pub(super) fn locate(&self, x: &[f64; D]) -> ([usize; D], usize) {
        let mut spans = [0usize; D];
        let mut base = 0usize;
        for k in 0..D {
            spans[k] = self.span(k, x[k]);
            base += (spans[k] - 3) * self.strides[k];
        }
        (spans, base)
    }

    /// The spline's value at `x` (outside the domain: see
    /// [`extrapolate`](Self::extrapolate)).
    #[inline]
    pub fn eval(&self, x: [f64; D]) -> f64 {
        self.one(Value, x)
    }

    /// The value at `x` with the boundary polynomials outside the domain.
    #[inline]
    pub(super) fn eval_raw(&self, x: [f64; D]) -> f64 {
        self.one_raw(Value, x)
    }

    /// The mixed partial derivative `∂^{Σ orders} s / ∂x_0^{orders[0]} … ∂x_{D-1}^{orders[D-1]}`
    /// at `x`. Orders up to 3 per axis are exact (the third is piecewise
    /// constant); any order above 3 gives 0.
    ///
    /// Where the plain `f64` contraction overflows although every coordinate
    /// is finite (extreme knot spacings, points far outside the domain), the
    /// value is recomputed with per-axis binary exponents: the result is
    /// finite wherever the exact derivative is representable, `±inf` where
    /// it overflows, and never NaN for finite coordinates and coefficients.
    ///
    /// Outside the domain: see [`extrapolate`](Self::extrapolate)
    /// ([`Extrapolate::Nan`](super::Extrapolate::Nan) gives NaN for every
    /// order, above 3 too).
    #[inline]
    pub fn eval_deriv(&self, x: [f64; D], orders: [usize; D]) -> f64 {
        self.one(Deriv(orders), x)
    }

    /// The gradient `[∂s/∂x_0, …, ∂s/∂x_{D-1}]` at `x` (spans and basis
    /// computed once for all partials). Outside the domain: see
    /// [`extrapolate`](Self::extrapolate).
    pub fn eval_grad(&self, x: [f64; D]) -> [f64; D] {
        self.one(Grad, x)
    }

    /// The Hessian `[∂²s/∂x_i∂x_j]` at `x` (symmetric; spans and basis
    /// computed once). Outside the domain: see
    /// [`extrapolate`](Self::extrapolate).
    pub fn eval_hessian(&self, x: [f64; D]) -> [[f64; D]; D] {
        self.one(Hessian, x)
    }

    /// Values at many points, in parallel (rayon). NaN coordinates give NaN;
    /// outside the domain: see [`extrapolate`](Self::extrapolate). A
    /// vector-valued spline gives `n · n_components` values, point-major.
    ///
    /// On coefficient arrays of 2¹⁶ values and more, runs of at least 2048
    /// points are evaluated in the order of their coefficient blocks (a
    /// counting sort per run of 8192 points, no allocation) so that
    /// consecutive points share cache lines; the results are in the
    /// caller's order and equal, bit for bit, what each point gives alone
    /// ([`eval`](Self::eval)). The same holds for every batch evaluation
    /// ([`evaluate`](Self::evaluate) runs them all).
    pub fn eval_many(&self, points: &[[f64; D]]) -> Vec<f64> {
        let mut out = vec![0.0; points.len() * self.ncomp];
        self.run_flat(points, Partial::VALUE, &mut out);
        out
    }

    /// The same mixed partial derivative at many points, in parallel.
    pub fn eval_deriv_many(&self, points: &[[f64; D]], orders: [usize; D]) -> Vec<f64> {
        let mut out = vec![0.0; points.len() * self.ncomp];
        match Partial::new(&orders) {
            Ok(p) => self.run_flat(points, p, &mut out),
            // Orders above 255 along an axis: the derivative is 0 (NaN where
            // the policy gives NaN), as the 4th derivative.
            Err(_) => {
                let capped = orders.map(|o| o.min(4));
                if let Ok(p) = Partial::new(&capped) {
                    self.run_flat(points, p, &mut out);
                }
            }
        }
        out
    }

    /// Writes the values at `points` into `out` in parallel, without allocating.
    ///
    /// Errors: [`crate::FitError::InvalidParameter`] if `out` does not hold
    /// `points.len() · n_components` values.
    pub fn eval_many_into(
        &self,
        points: &[[f64; D]],
        out: &mut [f64],
    ) -> Result<(), crate::FitError> {
        if points.len() * self.ncomp != out.len() {
            return Err(crate::FitError::InvalidParameter {
                name: "out",
                reason: format!("length {} for {} points", out.len(), points.len()),
            });
        }
        self.run_flat(points, Partial::VALUE, out);
        Ok(())
    }

    /// One partial at `points` through the driver (lengths already right).
    fn run_flat(&self, points: &[[f64; D]], p: Partial, out: &mut [f64]) {
        let flat = points.as_flattened();
        if let Ok(view) = ArrayView2::from_shape((points.len(), D), flat) {
            // Cannot fail: D columns, one partial along existing axes, an
            // output of the right length.
            let _ = self.evaluate_into(&Query::at(view).outputs(&[p]), out);
        }
    }
}
