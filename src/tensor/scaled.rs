//! Exponent-tracked evaluation: the path taken when the fast evaluation's
//! result is not finite although every coordinate is.
//!
//! The fast path multiplies coefficients by basis weights in plain `f64`.
//! With extreme scales that can fail although the exact result is
//! representable: far outside the domain the weights of the boundary piece
//! grow like `(|x − t|/h)³` and overflow before the value does; a derivative
//! of order `m` along an axis with knot spacing `h` has weights of size
//! `h^{−m}`, which overflow for `h ≈ 1e-120` and underflow to 0 for
//! `h ≈ 1e300` — and an overflowed partial product times an underflowed
//! weight is `inf · 0 = NaN`.
//!
//! Here every axis' weights are computed in scaled units and carry a binary
//! exponent:
//! 1. Lengths are measured in units of `2^g`, `g` the exponent of the span's
//!    own length, and the distances `x − t_j` are further divided by `2^e`,
//!    `e ≥ 0` chosen so that they are at most a few units
//!    ([`basis_derivs_scaled`]). The weights of derivative order `o` come
//!    out as the true ones times `2^{g·o − e·(3−o)}`, all of moderate size.
//! 2. They are normalised so that the largest magnitude lies in
//!    `[2^{−3}, 2^{−2})`: then `Σ_r |w_r| < 1` on every axis, every partial
//!    sum of the contraction is bounded by `max |c|` and nothing overflows.
//! 3. The contraction (the scalar reference) gives `acc`, and the result is
//!    `acc · 2^E`, `E` the sum of the axes' exponents, by exact power-of-two
//!    scaling that rounds once: it overflows to `±inf` only where the true
//!    value does and underflows gradually to 0.

use super::TensorSpline;
use crate::bspline::{ORDER, basis::basis_derivs_scaled};
use crate::isa::contract_scalar;

/// Binary exponent of a finite non-zero `v`: `2^e ≤ |v| < 2^{e+1}`.
fn exponent(v: f64) -> i32 {
    let bits = v.abs().to_bits();
    let biased = (bits >> 52) as i32;
    if biased == 0 {
        // Subnormal: scale into the normal range first.
        exponent(v * pow2(64)) - 64
    } else {
        biased - 1023
    }
}

/// `2^e` for `−1074 ≤ e ≤ 1023` (subnormal below −1022).
fn pow2(e: i32) -> f64 {
    debug_assert!((-1074..=1023).contains(&e));
    if e >= -1022 {
        f64::from_bits(((e + 1023) as u64) << 52)
    } else {
        f64::from_bits(1u64 << (e + 1074))
    }
}

/// `v · 2^e` rounded once: overflows to `±inf` and underflows gradually
/// exactly where the exact product does.
pub(crate) fn scale2(v: f64, e: i64) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    // v = m · 2^a with 1 ≤ |m| < 2 (both scalings exact).
    let a = exponent(v);
    let m = if a >= -1022 {
        v * pow2(-a)
    } else {
        v * pow2(1022) * pow2(-a - 1022)
    };
    let t = i64::from(a) + e;
    if t > 1023 {
        m * f64::INFINITY
    } else if t >= -1022 {
        m * pow2(t as i32)
    } else if t < -1075 {
        m * 0.0
    } else {
        // m · 2^{t+1022} is normal and exact; the last multiply rounds once.
        m * pow2((t + 1022) as i32) * pow2(-1022)
    }
}

impl<const D: usize> TensorSpline<D> {
    /// The mixed partial derivative of `orders` (each ≤ 3) at the finite
    /// point `x`, with exponent tracking (module docs).
    #[cold]
    #[inline(never)]
    pub(super) fn eval_deriv_scaled(&self, x: [f64; D], orders: [usize; D], comp: usize) -> f64 {
        let mut total_exp: i64 = 0;
        let mut spans = [0usize; D];
        let mut base = 0usize;
        let mut w = [[0.0f64; ORDER]; D];
        for k in 0..D {
            let t = &self.knots[k];
            let s = self.span(k, x[k]);
            spans[k] = s;
            base += (s - 3) * self.strides[k];
            let o = orders[k];
            // The span is non-empty (validated knots), its length normal.
            let g = exponent(t[s + 1] - t[s]);
            let unit = pow2((-g).clamp(-1022, 1023));
            // Largest distance from x to the six knots of the triangle, in units.
            let far = (x[k] * unit - t[s - 2] * unit)
                .abs()
                .max((t[s + 3] * unit - x[k] * unit).abs());
            let e = if far > 4.0 { exponent(far) - 1 } else { 0 };
            let dist = unit * pow2(-e);
            let row = basis_derivs_scaled(t, s, x[k], o, unit, dist)[o];
            let m = row.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            if m == 0.0 {
                // An exactly vanishing weight row (e.g. the third derivative
                // along an axis on which the spline is quadratic there).
                return 0.0;
            }
            if !m.is_finite() {
                return f64::NAN;
            }
            let f = exponent(m) + 3;
            let norm = pow2(-f);
            w[k] = row.map(|v| v * norm);
            total_exp += i64::from(f) - i64::from(g) * o as i64 + i64::from(e) * (3 - o) as i64;
        }
        let acc = contract_scalar(&self.coefs, &self.strides, base + comp, &w);
        scale2(acc, total_exp)
    }

    /// `v` if finite or if some coordinate is not finite; otherwise the
    /// exponent-tracked value of the same derivative.
    #[inline(always)]
    pub(super) fn finite_or_scaled(&self, v: f64, x: &[f64; D], orders: [usize; D]) -> f64 {
        self.finite_or_scaled_comp(v, x, orders, 0)
    }

    /// [`finite_or_scaled`](Self::finite_or_scaled) for component `comp`
    /// of a vector-valued spline.
    #[inline(always)]
    pub(super) fn finite_or_scaled_comp(
        &self,
        v: f64,
        x: &[f64; D],
        orders: [usize; D],
        comp: usize,
    ) -> f64 {
        if v.is_finite() || x.iter().any(|c| !c.is_finite()) {
            v
        } else {
            self.eval_deriv_scaled(*x, orders, comp)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponent_and_pow2_agree() {
        for e in -1074..=1023 {
            let v = pow2(e);
            assert_eq!(exponent(v), e, "{e}");
            if e > -1074 {
                assert_eq!(exponent(v * 1.5), e, "{e}");
            }
        }
    }

    #[test]
    fn scale2_rounds_once() {
        let p = pow2;
        let cases: [(f64, i64, f64); 10] = [
            (1.5, 0, 1.5),
            (1.5, 1023, 1.5 * p(1023)),
            (1.0, 1024, f64::INFINITY),
            (-1.0, 5000, f64::NEG_INFINITY),
            // 1.5 · 2^-1074 is a tie: to even, 2^-1073.
            (3.0, -1075, p(-1073)),
            // Half the smallest subnormal: a tie to even, 0.
            (1.0, -1075, 0.0),
            (1.25e300, -2000, 1.25e300 * p(-1000) * p(-1000)),
            (1e-300, 1900, 1e-300 * p(950) * p(950)),
            (-7.0, -1070, -7.0 * p(-1070)),
            (p(-1074), 1074, 1.0),
        ];
        for (v, e, want) in cases {
            let got = scale2(v, e);
            assert_eq!(got.to_bits(), want.to_bits(), "{v}·2^{e}: {got} vs {want}");
        }
    }
}
