//! Banded LU of the collocation matrix of an axis of degree 2, 4 or 5 (half
//! bandwidth `k − 1`), factored once and solved along the axis for every
//! line.
//!
//! With scipy's not-a-knot knots of odd degree `k`, the site `x_i` of an
//! interior row is the knot where `B_{i+m+1}` starts (`m = (k−1)/2`), so the
//! row holds `B_{i-m} … B_{i+m}` (bandwidth `(k−1)/2`); the rows next to
//! the ends see the merged end pieces and reach `k − 1` columns to one
//! side. At even `k` the interior knots are midpoints of sites and the row
//! of `x_i` holds `B_{i-k/2} … B_{i+k/2}`. Every collocation matrix of
//! B-splines is totally positive: elimination without pivoting is
//! stable and creates no fill-in outside the band `k − 1` (de Boor, *A
//! Practical Guide to Splines*, ch. XIII). At `k = 1` the matrix is the
//! identity and no system is built; `k = 3` has its tuned pentadiagonal
//! [`BandLu`](super::BandLu).

use crate::FitError;
use crate::bspline::basis::basis_k;
use crate::bspline::knots::find_span_k;

/// Pivots below this magnitude (the rows sum to 1) mean the sites are too
/// close for the factorisation to carry any digits.
const PIVOT_FLOOR: f64 = 64.0 * f64::EPSILON;

/// `L U` factors, without pivoting, of an `n × n` band matrix of half
/// bandwidth `w`, stored by rows: entry `(i, j)`, `|j − i| ≤ w`, at
/// `a[i·(2w+1) + w + j − i]`, `L` (unit diagonal) below and `U` on and
/// above the diagonal, whose diagonal is stored inverted.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct WideLu {
    w: usize,
    n: usize,
    a: Vec<f64>,
    norm1: f64,
}

impl WideLu {
    /// Factors the collocation matrix `C_ij = B_j(x_i)` of degree `k` on
    /// the sites with the knot vector `t` (`n + k + 1` knots). `axis` only
    /// labels errors.
    pub(crate) fn collocation(
        axis: usize,
        sites: &[f64],
        t: &[f64],
        k: usize,
    ) -> Result<WideLu, FitError> {
        let n = sites.len();
        let w = k.saturating_sub(1).max(1);
        let width = 2 * w + 1;
        let mut a = vec![0.0f64; n * width];
        for (i, &x) in sites.iter().enumerate() {
            let span = find_span_k(t, k, x);
            let b = basis_k(t, k, span, x);
            for (r, &v) in b.iter().enumerate().take(k + 1) {
                let j = (span + r) as isize - k as isize;
                let off = j - i as isize;
                if off.unsigned_abs() <= w && j >= 0 && (j as usize) < n {
                    a[i * width + (w as isize + off) as usize] = v;
                } else {
                    debug_assert!(v == 0.0, "collocation entry outside the band");
                }
            }
        }
        let mut norm1 = 0.0f64;
        for j in 0..n {
            let mut s = 0.0;
            for i in j.saturating_sub(w)..(j + w + 1).min(n) {
                s += a[i * width + w + j - i].abs();
            }
            norm1 = norm1.max(s);
        }
        for p in 0..n {
            let pivot = a[p * width + w];
            if pivot.is_nan() || pivot.abs() <= PIVOT_FLOOR {
                return Err(FitError::SingularMatrix {
                    axis,
                    row: p,
                    pivot,
                });
            }
            for i in p + 1..(p + w + 1).min(n) {
                let m = a[i * width + w + p - i] / pivot;
                a[i * width + w + p - i] = m;
                for j in p + 1..(p + w + 1).min(n) {
                    a[i * width + w + j - i] -= m * a[p * width + w + j - p];
                }
            }
            a[p * width + w] = 1.0 / pivot;
        }
        Ok(WideLu { w, n, a, norm1 })
    }

    /// Number of rows.
    pub(crate) fn len(&self) -> usize {
        self.n
    }

    /// Solves `A X = B` in place for the lines held side by side in `b`:
    /// row `i` of all lines is `b[i·inner .. (i+1)·inner]` (`b` has
    /// `n · inner` values). The inner loops run over whole rows and
    /// vectorise across lines. Returns whether every result is finite.
    pub(crate) fn solve_rows(&self, b: &mut [f64], inner: usize) -> bool {
        let (n, w) = (self.n, self.w);
        let width = 2 * w + 1;
        debug_assert_eq!(b.len(), n * inner);
        for i in 1..n {
            let (head, tail) = b.split_at_mut(i * inner);
            let cur = &mut tail[..inner];
            for j in i.saturating_sub(w)..i {
                let l = self.a[i * width + w + j - i];
                if l != 0.0 {
                    let prev = &head[j * inner..(j + 1) * inner];
                    for (c, &p) in cur.iter_mut().zip(prev) {
                        *c -= l * p;
                    }
                }
            }
        }
        let mut ok = true;
        for i in (0..n).rev() {
            let (head, tail) = b.split_at_mut((i + 1) * inner);
            let cur = &mut head[i * inner..];
            for j in i + 1..(i + w + 1).min(n) {
                let u = self.a[i * width + w + j - i];
                if u != 0.0 {
                    let next = &tail[(j - i - 1) * inner..(j - i) * inner];
                    for (c, &p) in cur.iter_mut().zip(next) {
                        *c -= u * p;
                    }
                }
            }
            let inv = self.a[i * width + w];
            for c in cur.iter_mut() {
                *c *= inv;
            }
            ok &= crate::isa::scalar::all_finite(cur);
        }
        ok
    }

    /// 1-norm condition number `‖A‖₁ ‖A⁻¹‖₁`, one column of `A⁻¹` at a time.
    pub(crate) fn condition_1norm(&self) -> f64 {
        let n = self.n;
        let mut col = vec![0.0; n];
        let mut inv_norm = 0.0f64;
        for j in 0..n {
            col.fill(0.0);
            col[j] = 1.0;
            self.solve_rows(&mut col, 1);
            inv_norm = inv_norm.max(col.iter().map(|v| v.abs()).sum());
        }
        self.norm1 * inv_norm
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bspline::Degree;
    use crate::bspline::knots::not_a_knot_k;

    #[test]
    fn quintic_solve_matches_dense_collocation() {
        let x = [0.0, 0.4, 1.0, 1.3, 2.0, 2.2, 3.1, 4.0, 4.2, 5.0];
        let t = not_a_knot_k(&x, Degree::Quintic);
        let lu = WideLu::collocation(0, &x, &t, 5).unwrap();
        let n = x.len();
        let c: Vec<f64> = (0..n)
            .map(|i| (i as f64 * 0.7).sin() + 0.1 * i as f64)
            .collect();
        // b = C c with the dense collocation matrix from the basis.
        let mut b = vec![0.0; n];
        for (i, &xi) in x.iter().enumerate() {
            let span = find_span_k(&t, 5, xi);
            let w = basis_k(&t, 5, span, xi);
            for r in 0..6 {
                b[i] += w[r] * c[span - 5 + r];
            }
        }
        // Two lines side by side: the second is twice the first.
        let mut rows: Vec<f64> = b.iter().flat_map(|&v| [v, 2.0 * v]).collect();
        assert!(lu.solve_rows(&mut rows, 2));
        for i in 0..n {
            assert!((rows[2 * i] - c[i]).abs() < 1e-12, "{i}");
            assert!((rows[2 * i + 1] - 2.0 * c[i]).abs() < 1e-12);
        }
        assert!(lu.condition_1norm() >= 1.0);
    }
}
