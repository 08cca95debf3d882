//! Evaluation of values and partial derivatives.
//!
//! At a point `x`, each axis `k` contributes its knot span `s_k` and four basis
//! weights `w_k[0..4]` (values or derivatives of the requested order). The
//! spline value is the contraction of the `4^D` coefficient block starting at
//! `(s_0 - 3, …, s_{D-1} - 3)`:
//! `Σ_{r ∈ {0..3}^D} Π_k w_k[r_k] · c[s_0 - 3 + r_0, …]`.
//! The innermost four coefficients of each row are contiguous.

use super::TensorSpline;
use crate::bspline::{
    ORDER,
    basis::{basis, basis_derivs},
    knots::find_span,
};
use rayon::prelude::*;

/// Points per rayon task in batch evaluation.
const BATCH_MIN: usize = 512;

impl<const D: usize> TensorSpline<D> {
    /// The spline's value at `x`.
    #[inline]
    pub fn eval(&self, x: [f64; D]) -> f64 {
        let mut w = [[0.0; ORDER]; D];
        let mut base = 0usize;
        for k in 0..D {
            let t = &self.knots[k];
            let span = find_span(t, x[k]);
            w[k] = basis(t, span, x[k]);
            base += (span - 3) * self.strides[k];
        }
        self.contract(base, &w)
    }

    /// The mixed partial derivative `∂^{Σ orders} s / ∂x_0^{orders[0]} … ∂x_{D-1}^{orders[D-1]}`
    /// at `x`. Orders up to 3 per axis are exact (the third is piecewise
    /// constant); any order above 3 gives 0.
    ///
    /// Each term is the coefficients contracted with the last axis' weights,
    /// then scaled by the product of the other axes' weights. If the first of
    /// these overflows (coefficients near `f64::MAX` with a knot spacing far
    /// below 1 on the last axis) while the second underflows, the result is
    /// NaN even where the exact derivative is representable.
    #[inline]
    pub fn eval_deriv(&self, x: [f64; D], orders: [usize; D]) -> f64 {
        if orders.iter().any(|&o| o > 3) {
            return 0.0;
        }
        let mut w = [[0.0; ORDER]; D];
        let mut base = 0usize;
        for k in 0..D {
            let t = &self.knots[k];
            let span = find_span(t, x[k]);
            w[k] = if orders[k] == 0 {
                basis(t, span, x[k])
            } else {
                basis_derivs(t, span, x[k], orders[k])[orders[k]]
            };
            base += (span - 3) * self.strides[k];
        }
        self.contract(base, &w)
    }

    /// The gradient `[∂s/∂x_0, …, ∂s/∂x_{D-1}]` at `x` (spans and basis
    /// computed once for all partials).
    pub fn eval_grad(&self, x: [f64; D]) -> [f64; D] {
        let mut w0 = [[0.0; ORDER]; D];
        let mut w1 = [[0.0; ORDER]; D];
        let mut base = 0usize;
        for k in 0..D {
            let t = &self.knots[k];
            let span = find_span(t, x[k]);
            let d = basis_derivs(t, span, x[k], 1);
            w0[k] = d[0];
            w1[k] = d[1];
            base += (span - 3) * self.strides[k];
        }
        std::array::from_fn(|k| {
            let mut w = w0;
            w[k] = w1[k];
            self.contract(base, &w)
        })
    }

    /// Values at many points, in parallel (rayon). NaN coordinates give NaN.
    pub fn eval_many(&self, points: &[[f64; D]]) -> Vec<f64> {
        points
            .par_iter()
            .with_min_len(BATCH_MIN)
            .map(|p| self.eval(*p))
            .collect()
    }

    /// The same mixed partial derivative at many points, in parallel.
    pub fn eval_deriv_many(&self, points: &[[f64; D]], orders: [usize; D]) -> Vec<f64> {
        points
            .par_iter()
            .with_min_len(BATCH_MIN)
            .map(|p| self.eval_deriv(*p, orders))
            .collect()
    }

    /// Writes the values at `points` into `out` in parallel, without allocating.
    ///
    /// Errors: [`crate::FitError::InvalidParameter`] if the lengths differ.
    pub fn eval_many_into(
        &self,
        points: &[[f64; D]],
        out: &mut [f64],
    ) -> Result<(), crate::FitError> {
        if points.len() != out.len() {
            return Err(crate::FitError::InvalidParameter {
                name: "out",
                reason: format!("length {} for {} points", out.len(), points.len()),
            });
        }
        out.par_iter_mut()
            .zip(points.par_iter())
            .with_min_len(BATCH_MIN)
            .for_each(|(o, p)| *o = self.eval(*p));
        Ok(())
    }

    /// `Σ_r Π_k w[k][r_k] · c[base + Σ_k r_k·stride_k]` over the `4^D` block.
    #[inline]
    fn contract(&self, base: usize, w: &[[f64; ORDER]; D]) -> f64 {
        let last = D - 1;
        let outer = 1usize << (2 * last); // 4^(D-1) rows of 4 contiguous coefficients
        let mut digits = [0usize; D];
        let mut total = 0.0;
        for _ in 0..outer {
            let mut weight = 1.0;
            let mut off = base;
            for k in 0..last {
                weight *= w[k][digits[k]];
                off += digits[k] * self.strides[k];
            }
            let row = &self.coefs[off..off + ORDER];
            let wl = &w[last];
            let inner = row[0] * wl[0] + row[1] * wl[1] + row[2] * wl[2] + row[3] * wl[3];
            total += weight * inner;
            // Odometer over the first D-1 digits (last digit fastest).
            for k in (0..last).rev() {
                digits[k] += 1;
                if digits[k] < ORDER {
                    break;
                }
                digits[k] = 0;
            }
        }
        total
    }
}
