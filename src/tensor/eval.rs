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
use crate::bspline::{
    ORDER,
    basis::{basis, basis_derivs},
    knots::find_span,
};
use crate::isa::Kernels;
use rayon::prelude::*;

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
                let g = (x - x0) * inv_h - 1.0;
                let c = g.max(0.0).min((n - 4) as f64) as usize;
                let mut s = 3 + c;
                // One step corrects the rounding of the multiply near a knot.
                if s < n - 1 && x >= t[s + 1] {
                    s += 1;
                } else if s > 3 && x < t[s] {
                    s -= 1;
                }
                s
            }
            _ => find_span(t, x),
        }
    }

    /// The knot span evaluation uses for `x` on `axis` (always equal to
    /// [`find_span`](crate::bspline::knots::find_span); computed in O(1) on
    /// uniform axes by the SIMD ISAs), or `None` if `axis >= D`.
    pub fn span_of(&self, axis: usize, x: f64) -> Option<usize> {
        (axis < D).then(|| self.span(axis, x))
    }

    /// Spans of all axes and the flat offset of the coefficient block.
    #[inline(always)]
    fn locate(&self, x: &[f64; D]) -> ([usize; D], usize) {
        let mut spans = [0usize; D];
        let mut base = 0usize;
        for k in 0..D {
            spans[k] = self.span(k, x[k]);
            base += (spans[k] - 3) * self.strides[k];
        }
        (spans, base)
    }

    /// Basis rows `0..=nd` (`nd ≤ 2`) of every axis.
    #[inline(always)]
    fn weights(&self, spans: &[usize; D], x: &[f64; D], nd: usize) -> [[[f64; ORDER]; 3]; D] {
        let knots: [&[f64]; D] = std::array::from_fn(|k| &self.knots[k][..]);
        // SAFETY: spans come
        // from `span`, valid for their knot vectors.
        if let Some(w) = unsafe { self.kernels.basis_axes_raw(&knots, spans, x, nd) } {
            return w;
        }
        std::array::from_fn(|k| {
            let t = knots[k];
            if nd == 0 {
                [basis(t, spans[k], x[k]), [0.0; 4], [0.0; 4]]
            } else {
                let d = basis_derivs(t, spans[k], x[k], nd.min(2));
                [d[0], d[1], d[2]]
            }
        })
    }

    /// The spline's value at `x` (outside the domain: see
    /// [`extrapolate`](Self::extrapolate)).
    #[inline]
    pub fn eval(&self, x: [f64; D]) -> f64 {
        match self.project(x) {
            Some(x) => self.eval_raw(x),
            None => f64::NAN,
        }
    }

    /// The value at `x` with the boundary polynomials outside the domain.
    #[inline(always)]
    pub(super) fn eval_raw(&self, x: [f64; D]) -> f64 {
        let (spans, base) = self.locate(&x);
        let knots: [&[f64]; D] = std::array::from_fn(|k| &self.knots[k][..]);
        // SAFETY: spans come from `span`, valid for their knot vectors.
        let w = match unsafe { self.kernels.basis_axes_values_raw(&knots, &spans, &x) } {
            Some(w) => w,
            None => std::array::from_fn(|k| basis(knots[k], spans[k], x[k])),
        };
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
    ///
    /// Outside the domain: see [`extrapolate`](Self::extrapolate)
    /// ([`Extrapolate::Nan`](super::Extrapolate::Nan) gives NaN for every
    /// order, above 3 too).
    #[inline]
    pub fn eval_deriv(&self, x: [f64; D], orders: [usize; D]) -> f64 {
        match self.project(x) {
            Some(x) => self.eval_deriv_raw(x, orders),
            None => f64::NAN,
        }
    }

    /// [`eval_deriv`](Self::eval_deriv) with the boundary polynomials outside
    /// the domain.
    #[inline(always)]
    pub(super) fn eval_deriv_raw(&self, x: [f64; D], orders: [usize; D]) -> f64 {
        if orders.iter().any(|&o| o > 3) {
            return 0.0;
        }
        let (spans, base) = self.locate(&x);
        let w: [[f64; ORDER]; D] = if orders.iter().all(|&o| o <= 2) {
            let nd = orders.iter().copied().max().unwrap_or(0);
            let w = self.weights(&spans, &x, nd);
            std::array::from_fn(|k| w[k][orders[k]])
        } else {
            std::array::from_fn(|k| {
                let t = &self.knots[k];
                if orders[k] == 0 {
                    basis(t, spans[k], x[k])
                } else {
                    basis_derivs(t, spans[k], x[k], orders[k])[orders[k]]
                }
            })
        };
        self.contract(base, &w)
    }

    /// The gradient `[∂s/∂x_0, …, ∂s/∂x_{D-1}]` at `x` (spans and basis
    /// computed once for all partials). Outside the domain: see
    /// [`extrapolate`](Self::extrapolate).
    pub fn eval_grad(&self, x: [f64; D]) -> [f64; D] {
        match self.project(x) {
            Some(x) => self.eval_grad_raw(x),
            None => [f64::NAN; D],
        }
    }

    /// [`eval_grad`](Self::eval_grad) with the boundary polynomials outside
    /// the domain.
    #[inline]
    pub(super) fn eval_grad_raw(&self, x: [f64; D]) -> [f64; D] {
        let (spans, base) = self.locate(&x);
        let w = self.weights(&spans, &x, 1);
        let w0: [[f64; ORDER]; D] = std::array::from_fn(|k| w[k][0]);
        std::array::from_fn(|k| {
            let mut wk = w0;
            wk[k] = w[k][1];
            self.contract(base, &wk)
        })
    }

    /// The Hessian `[∂²s/∂x_i∂x_j]` at `x` (symmetric; spans and basis
    /// computed once). Outside the domain: see
    /// [`extrapolate`](Self::extrapolate).
    pub fn eval_hessian(&self, x: [f64; D]) -> [[f64; D]; D] {
        match self.project(x) {
            Some(x) => self.eval_hessian_raw(x),
            None => [[f64::NAN; D]; D],
        }
    }

    fn eval_hessian_raw(&self, x: [f64; D]) -> [[f64; D]; D] {
        let (spans, base) = self.locate(&x);
        let w = self.weights(&spans, &x, 2);
        let w0: [[f64; ORDER]; D] = std::array::from_fn(|k| w[k][0]);
        let mut h = [[0.0; D]; D];
        for i in 0..D {
            for j in i..D {
                let mut wk = w0;
                if i == j {
                    wk[i] = w[i][2];
                } else {
                    wk[i] = w[i][1];
                    wk[j] = w[j][1];
                }
                h[i][j] = self.contract(base, &wk);
                h[j][i] = h[i][j];
            }
        }
        h
    }

    /// Values at many points, in parallel (rayon). NaN coordinates give NaN;
    /// outside the domain: see [`extrapolate`](Self::extrapolate).
    pub fn eval_many(&self, points: &[[f64; D]]) -> Vec<f64> {
        let mut out = vec![0.0; points.len()];
        self.eval_many_into_impl(points, &mut out);
        out
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
        self.eval_many_into_impl(points, out);
        Ok(())
    }

    fn eval_many_into_impl(&self, points: &[[f64; D]], out: &mut [f64]) {
        // Per point (lanes = axes): measured faster than the lanes = points
        // variant [`eval_batch_seq`](Self::eval_batch_seq), whose basis
        // gathers and transposes cost more than they save.
        // The policy is checked once per batch, not per point.
        let poly = self.plain();
        out.par_chunks_mut(BATCH_MIN)
            .zip(points.par_chunks(BATCH_MIN))
            .for_each(|(o, p)| {
                if poly {
                    for (o, p) in o.iter_mut().zip(p) {
                        *o = self.eval_raw(*p);
                    }
                } else {
                    for (o, p) in o.iter_mut().zip(p) {
                        *o = self.eval(*p);
                    }
                }
            });
    }

    /// Values at `points` on the calling thread, eight points at a time with
    /// the basis computed with lanes = points, then one contraction per
    /// point: the lanes = points variant that [`eval_many`](Self::eval_many)
    /// measured slower than lanes = axes, kept for the benchmarks.
    ///
    /// Errors: [`crate::FitError::InvalidParameter`] if the lengths differ.
    #[doc(hidden)]
    pub fn eval_batch_seq(
        &self,
        points: &[[f64; D]],
        out: &mut [f64],
    ) -> Result<(), crate::FitError> {
        const CH: usize = 8;
        if points.len() != out.len() {
            return Err(crate::FitError::InvalidParameter {
                name: "out",
                reason: format!("length {} for {} points", out.len(), points.len()),
            });
        }
        let len = points.len();
        let mut p0 = 0;
        while p0 < len {
            let m = CH.min(len - p0);
            if m < CH || self.kernels == Kernels::Scalar || !self.plain() {
                for p in p0..p0 + m {
                    out[p] = self.eval(points[p]);
                }
                p0 += m;
                continue;
            }
            let mut bases = [0usize; CH];
            let mut w = [[[0.0f64; ORDER]; D]; CH];
            for k in 0..D {
                let mut xs = [0.0f64; CH];
                let mut spans = [0usize; CH];
                for q in 0..CH {
                    xs[q] = points[p0 + q][k];
                    spans[q] = self.span(k, xs[q]);
                    bases[q] += (spans[q] - 3) * self.strides[k];
                }
                let mut b = [[[0.0f64; ORDER]; 3]; CH];
                // SAFETY: spans come from `span`, so they are valid; all
                // three lengths are CH.
                unsafe {
                    self.kernels
                        .basis_batch_raw(&self.knots[k], &spans, &xs, 0, &mut b)
                };
                for q in 0..CH {
                    w[q][k] = b[q][0];
                }
            }
            for q in 0..CH {
                out[p0 + q] = self.contract(bases[q], &w[q]);
            }
            p0 += CH;
        }
        Ok(())
    }

    /// `Σ_r Π_k w[k][r_k] · c[base + Σ_k r_k·stride_k]` over the `4^D` block.
    #[inline(always)]
    fn contract(&self, base: usize, w: &[[f64; ORDER]; D]) -> f64 {
        let need = base + (0..D).map(|k| 3 * self.strides[k]).sum::<usize>() + 1;
        if need <= self.coefs.len() {
            // SAFETY: the block's last element
            // `base + Σ 3·stride_k` is in bounds (checked just above).
            if let Some(v) = unsafe {
                self.kernels
                    .contract_raw(self.coefs.as_ptr(), &self.strides, base, w)
            } {
                return v;
            }
        }
        contract_scalar(&self.coefs, &self.strides, base, w)
    }
}

/// Scalar reference contraction: odometer over the first `D − 1` digits,
/// rows of four contiguous coefficients.
fn contract_scalar<const D: usize>(
    coefs: &[f64],
    strides: &[usize; D],
    base: usize,
    w: &[[f64; ORDER]; D],
) -> f64 {
    let last = D - 1;
    let outer = 1usize << (2 * last); // 4^(D-1) rows of 4 contiguous coefficients
    let mut digits = [0usize; D];
    let mut total = 0.0;
    for _ in 0..outer {
        let mut weight = 1.0;
        let mut off = base;
        for k in 0..last {
            weight *= w[k][digits[k]];
            off += digits[k] * strides[k];
        }
        let row = &coefs[off..off + ORDER];
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
