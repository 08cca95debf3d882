//! The cubic basis of each knot span in power form, for evaluation inside the
//! domain without divisions.
//!
//! On the span `t_s ≤ x ≤ t_{s+1}` (width `h = t_{s+1} − t_s > 0`) the four
//! non-zero basis functions `B_{s-3+j}` (`j = 0..4`) are cubic polynomials.
//! In the local coordinate `v = (x − t_s)/h ∈ [0, 1]`
//!
//! ```text
//! B_{s-3+j}(x) = c[0][j] + c[1][j]·v + c[2][j]·v² + c[3][j]·v³,
//! B'  = (c[1] + 2c[2]·v + 3c[3]·v²) / h,
//! B'' = (2c[2] + 6c[3]·v) / h²,
//! B''' = 6c[3] / h³.
//! ```
//!
//! The coefficients come from the Cox–de Boor triangle of
//! [`basis`](super::basis::basis) carried out once per span in polynomial
//! arithmetic (`left_r = x − t_{s+1−r} = h·v + (t_s − t_{s+1−r})`,
//! `right_r = t_{s+r} − x = (t_{s+r} − t_s) − h·v`, divided by the same knot
//! differences), so evaluation is three fused multiply-adds per basis row
//! with the four functions in the lanes of one vector.
//!
//! **Accuracy.** Horner's rule on `v ∈ [0, 1]` errs by at most about
//! `6u · Σ_k |c[k][j]|` (`u` the unit roundoff) in `B_j`. For uniform knots
//! `max_j Σ_k |c[k][j]| = 13/6` (about 10 on a not-a-knot end span), and in
//! the local coordinate it stays bounded whatever the spacings: at most 12
//! over thousands of random axes whose spacings span ten decades (the unit
//! test below). A table is built only when every span of the axis has
//! `max_j Σ_k |c[k][j]| ≤` [`KAPPA_MAX`], which bounds the difference from
//! the reference recurrence by about `1e-14` in each weight (the weights sum
//! to 1); points outside the domain (`v ∉ [0, 1]`, where the power form
//! would cancel) use the recurrence.

use super::ORDER;

/// Largest coefficient mass `max_j Σ_k |c[k][j]|` of a span for which the
/// power form is used (uniform knots: 13/6; not-a-knot end spans on uniform
/// sites: below 4).
pub(crate) const KAPPA_MAX: f64 = 16.0;

/// Most spans per axis for which a table is built (160 bytes per span).
pub(crate) const MAX_SPANS: usize = 1 << 16;

/// The basis on one span in power form (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq)]
#[repr(C, align(32))]
pub(crate) struct PowerSpan {
    /// `c[k][j]`: the coefficient of `v^k` in `B_{s-3+j}`.
    pub(crate) c: [[f64; ORDER]; ORDER],
    /// The span's left knot `t_s`.
    pub(crate) t0: f64,
    /// `1/h`, `h = t_{s+1} − t_s`.
    pub(crate) inv_h: f64,
}

/// Product of two polynomials in `v` of total degree ≤ 3 (coefficients
/// beyond degree 3 are zero for the triangle's products).
fn mul(a: [f64; ORDER], b: [f64; 2]) -> [f64; ORDER] {
    let mut r = [0.0; ORDER];
    for k in 0..ORDER {
        r[k] += a[k] * b[0];
        if k + 1 < ORDER {
            r[k + 1] += a[k] * b[1];
        }
    }
    r
}

/// The power form of span `s` of the clamped knot vector `t`
/// (`3 ≤ s ≤ t.len() − 5`, `t[s] < t[s+1]`).
pub(crate) fn power_span(t: &[f64], s: usize) -> PowerSpan {
    let t0 = t[s];
    let h = t[s + 1] - t0;
    // Polynomials in v as [c0, c1, c2, c3].
    let mut n = [[0.0; ORDER]; ORDER];
    n[0][0] = 1.0;
    for j in 1..ORDER {
        let mut saved = [0.0; ORDER];
        for r in 0..j {
            let inv = 1.0 / (t[s + r + 1] - t[s + 1 + r - j]);
            let temp = n[r].map(|c| c * inv);
            // right_{r+1} = (t[s+r+1] − t_s) − h·v
            let right = mul(temp, [t[s + r + 1] - t0, -h]);
            // left_{j−r} = h·v + (t_s − t[s+1−j+r])
            let left = mul(temp, [t0 - t[s + 1 + r - j], h]);
            for k in 0..ORDER {
                n[r][k] = saved[k] + right[k];
            }
            saved = left;
        }
        n[j] = saved;
    }
    let mut c = [[0.0; ORDER]; ORDER];
    for (j, p) in n.iter().enumerate() {
        for k in 0..ORDER {
            c[k][j] = p[k];
        }
    }
    PowerSpan {
        c,
        t0,
        inv_h: 1.0 / h,
    }
}

/// The coefficient mass `max_j Σ_k |c[k][j]|` of a span.
fn kappa(p: &PowerSpan) -> f64 {
    (0..ORDER)
        .map(|j| (0..ORDER).map(|k| p.c[k][j].abs()).sum::<f64>())
        .fold(0.0, f64::max)
}

/// The power-form table of every span of the clamped knot vector `t`
/// (entry `s − 3` for span `s`), or an empty vector where the axis has more
/// than [`MAX_SPANS`] spans or a span whose coefficient mass exceeds
/// [`KAPPA_MAX`] or is not finite.
pub(crate) fn power_table(t: &[f64]) -> Vec<PowerSpan> {
    if t.len() < 8 {
        return Vec::new();
    }
    let spans = t.len() - 7;
    if spans > MAX_SPANS {
        return Vec::new();
    }
    let table: Vec<PowerSpan> = (3..3 + spans).map(|s| power_span(t, s)).collect();
    let ok = table.iter().all(|p| {
        let k = kappa(p);
        k.is_finite() && k <= KAPPA_MAX && p.inv_h.is_finite() && p.t0.is_finite()
    });
    if ok { table } else { Vec::new() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bspline::basis::{basis, basis_derivs};
    use crate::bspline::knots::not_a_knot;

    fn eval(p: &PowerSpan, x: f64) -> [[f64; ORDER]; 3] {
        let v = (x - p.t0) * p.inv_h;
        let mut out = [[0.0; ORDER]; 3];
        for j in 0..ORDER {
            let c = |k: usize| p.c[k][j];
            out[0][j] = ((c(3) * v + c(2)) * v + c(1)) * v + c(0);
            out[1][j] = ((3.0 * c(3) * v + 2.0 * c(2)) * v + c(1)) * p.inv_h;
            out[2][j] = (6.0 * c(3) * v + 2.0 * c(2)) * p.inv_h * p.inv_h;
        }
        out
    }

    #[test]
    fn power_form_equals_the_recurrence() {
        let sites: Vec<f64> = (0..12).map(|i| (i as f64).powf(1.3) * 0.7 - 2.0).collect();
        let t = not_a_knot(&sites);
        let table = power_table(&t);
        assert_eq!(table.len(), t.len() - 7);
        for (i, p) in table.iter().enumerate() {
            let s = i + 3;
            for q in 0..=16 {
                let x = t[s] + (t[s + 1] - t[s]) * q as f64 / 16.0;
                let want = basis_derivs(&t, s, x, 2);
                let got = eval(p, x);
                let b = basis(&t, s, x);
                for j in 0..ORDER {
                    assert!((got[0][j] - b[j]).abs() <= 4e-15, "{s} {x} {j}");
                    for d in 0..3 {
                        let scale = want[d].iter().fold(1.0f64, |a, v| a.max(v.abs()));
                        assert!(
                            (got[d][j] - want[d][j]).abs() <= 1e-14 * scale,
                            "order {d} span {s} x {x} j {j}: {} vs {}",
                            got[d][j],
                            want[d][j]
                        );
                    }
                }
            }
        }
    }

    #[test]
    // Safe floating-point code over thousands of spans: nothing for Miri to
    // check that the small test above does not, at minutes of interpretation.
    #[cfg_attr(miri, ignore)]
    fn extreme_spacings_keep_the_power_form_accurate() {
        // Spacings spread over ten decades, in random order: the coefficient
        // mass stays far below KAPPA_MAX and the weights match the
        // recurrence to a few ulps of their sum (1).
        let mut rng = bsfit_testkit::SplitMix64::new(7);
        let mut worst = 0.0f64;
        for _ in 0..2000 {
            let n = 6 + (rng.next_u64() % 6) as usize;
            let mut sites = vec![rng.uniform(-1e3, 1e3)];
            for _ in 1..n {
                let h = 10f64.powf(rng.uniform(-5.0, 5.0));
                sites.push(sites[sites.len() - 1] + h);
            }
            let t = not_a_knot(&sites);
            let table = power_table(&t);
            assert_eq!(table.len(), t.len() - 7, "{sites:?}");
            for (i, p) in table.iter().enumerate() {
                worst = worst.max(kappa(p));
                let s = i + 3;
                for q in 0..=8 {
                    let x = (t[s] + (t[s + 1] - t[s]) * q as f64 / 8.0).min(t[s + 1]);
                    if x < t[s] || (x == t[s + 1] && s + 1 < t.len() - 4) {
                        continue;
                    }
                    let got = eval(p, x)[0];
                    let want = basis(&t, s, x);
                    for j in 0..ORDER {
                        assert!((got[j] - want[j]).abs() <= 1e-14, "{sites:?} {s} {x}");
                    }
                }
            }
        }
        assert!(worst <= 12.5, "coefficient mass {worst}");
    }

    #[test]
    // Safe floating-point code over thousands of spans: nothing for Miri to
    // check that the small test above does not, at minutes of interpretation.
    #[cfg_attr(miri, ignore)]
    fn long_axes_get_no_table() {
        let sites: Vec<f64> = (0..MAX_SPANS + 8).map(|i| i as f64).collect();
        assert!(power_table(&not_a_knot(&sites)).is_empty());
        let sites: Vec<f64> = (0..MAX_SPANS).map(|i| i as f64).collect();
        assert!(!power_table(&not_a_knot(&sites)).is_empty());
    }
}
