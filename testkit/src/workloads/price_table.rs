//! The Black–Scholes price table of the `bsfit` demo: a non-uniform 4D grid
//! over (moneyness `m`, maturity `τ`, volatility `σ`, rate `r`), graded where
//! the call price [`call_price`](crate::analytic::black_scholes::call_price)
//! varies fastest, and random points inside its domain.
//!
//! ```
//! use bsfit_testkit::workloads::price_table::{SHAPE, axes, M_RANGE};
//!
//! let [m, tau, sigma, r] = axes(SHAPE);
//! assert_eq!((m.len(), tau.len(), sigma.len(), r.len()), (50, 30, 20, 10));
//! assert_eq!((m[0], m[49]), M_RANGE);
//! ```

use crate::SplitMix64;

/// The demo's default grid, 50 × 30 × 20 × 10 = 300,000 values.
pub const SHAPE: [usize; 4] = [50, 30, 20, 10];

/// Moneyness `m = S/K` range.
pub const M_RANGE: (f64, f64) = (0.7, 1.3);
/// Maturity `τ` range in years.
pub const TAU_RANGE: (f64, f64) = (0.02, 2.0);
/// Volatility `σ` range.
pub const SIGMA_RANGE: (f64, f64) = (0.1, 0.6);
/// Risk-free rate `r` range.
pub const R_RANGE: (f64, f64) = (0.0, 0.08);

/// Grading `A` of the moneyness axis: the spacing at the money is
/// `cosh(A)` ≈ 3.8 times finer than at the ends.
pub const M_GRADING: f64 = 2.0;

/// `n` moneyness sites on [`M_RANGE`], `m = 1 + 0.3 sinh(A u) / sinh(A)` for
/// uniform `u ∈ [−1, 1]` and `A` = [`M_GRADING`]: finest at the money.
pub fn moneyness_axis(n: usize) -> Vec<f64> {
    let (lo, hi) = M_RANGE;
    let (mid, half) = (0.5 * (lo + hi), 0.5 * (hi - lo));
    (0..n)
        .map(|i| {
            let u = -1.0 + 2.0 * i as f64 / (n - 1) as f64;
            mid + half * (M_GRADING * u).sinh() / M_GRADING.sinh()
        })
        .collect()
}

/// `n` maturities on [`TAU_RANGE`], uniform in `√τ`: the spacing grows
/// linearly, so short maturities (where the price varies fastest) are
/// sampled densely.
pub fn maturity_axis(n: usize) -> Vec<f64> {
    let (a, b) = (TAU_RANGE.0.sqrt(), TAU_RANGE.1.sqrt());
    (0..n)
        .map(|i| {
            let s = a + (b - a) * i as f64 / (n - 1) as f64;
            s * s
        })
        .collect()
}

/// `n` uniformly spaced sites on `[lo, hi]`.
pub fn linear_axis((lo, hi): (f64, f64), n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| lo + (hi - lo) * i as f64 / (n - 1) as f64)
        .collect()
}

/// The four axes of a table of `shape`: [`moneyness_axis`],
/// [`maturity_axis`], and [`linear_axis`] over [`SIGMA_RANGE`] and
/// [`R_RANGE`].
pub fn axes(shape: [usize; 4]) -> [Vec<f64>; 4] {
    [
        moneyness_axis(shape[0]),
        maturity_axis(shape[1]),
        linear_axis(SIGMA_RANGE, shape[2]),
        linear_axis(R_RANGE, shape[3]),
    ]
}

/// `n` points `(m, τ, σ, r)` uniform in the table's domain, from a
/// [`SplitMix64`] seeded with `seed`.
pub fn points(n: usize, seed: u64) -> Vec<[f64; 4]> {
    let mut rng = SplitMix64::new(seed);
    (0..n)
        .map(|_| [M_RANGE, TAU_RANGE, SIGMA_RANGE, R_RANGE].map(|(lo, hi)| rng.uniform(lo, hi)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_cover_the_domain_and_increase() {
        let [m, t, s, r] = axes(SHAPE);
        for (axis, (lo, hi)) in [
            (&m, M_RANGE),
            (&t, TAU_RANGE),
            (&s, SIGMA_RANGE),
            (&r, R_RANGE),
        ] {
            assert!((axis[0] - lo).abs() < 1e-15 && (axis[axis.len() - 1] - hi).abs() < 1e-15);
            assert!(axis.windows(2).all(|w| w[0] < w[1]));
        }
        // Finer at the money than at the ends, finer at short maturities.
        assert!(m[25] - m[24] < 0.5 * (m[1] - m[0]));
        assert!(t[1] - t[0] < 0.2 * (t[29] - t[28]));
    }

    #[test]
    fn points_lie_in_the_domain() {
        for p in points(1000, 1) {
            for (x, (lo, hi)) in p.iter().zip([M_RANGE, TAU_RANGE, SIGMA_RANGE, R_RANGE]) {
                assert!((lo..hi).contains(x));
            }
        }
    }
}
