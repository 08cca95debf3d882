//! Banded LU of the per-axis collocation matrix, factored once and solved for
//! every line along the axis.
//!
//! The collocation matrix `C_ij = B_j(x_i)` of a not-a-knot cubic spline has
//! at most four non-zeros per row and lower and upper bandwidth 2: row 0 is
//! `e_0`, row n-1 is `e_{n-1}`, rows 1 and n-2 have four entries (the merged
//! end pieces) and interior rows `i` are `[B_{i-1}, B_i, B_{i+1}](x_i)`
//! (tridiagonal, since `x_i` is the knot where `B_{i+2}` starts). `C` is
//! totally positive, so Gaussian elimination without pivoting is stable
//! (de Boor, *A Practical Guide to Splines*, ch. XIII) and creates no fill-in
//! outside the band: `C = L U` with `L` unit lower, bandwidth 2 and `U` upper,
//! bandwidth 2.

mod pivoted;
mod wide;

pub(crate) use pivoted::PivotedBandLu;
pub(crate) use wide::WideLu;

use crate::FitError;
use crate::bspline::{basis::basis, knots::find_span};

/// Pivots below this magnitude (relative to the row sums of 1 of `C`) mean the
/// sites are too close for the factorisation to carry any digits.
const PIVOT_FLOOR: f64 = 64.0 * f64::EPSILON;

/// `L U` factors of a pentadiagonal matrix, without pivoting.
///
/// Invariant: `lower().len() == upper().len()` and every `1/U_ii` is finite.
/// The fields are private and [`factor`](Self::factor) is the only
/// constructor (the type is deliberately not deserialisable), so the SIMD
/// kernels, which loop over the rows of both factors, can rely on it.
#[derive(Debug, Clone, PartialEq)]
pub struct BandLu {
    /// `l[i] = [L_{i,i-2}, L_{i,i-1}]` (zero where out of range).
    l: Vec<[f64; 2]>,
    /// `u[i] = [1/U_ii, U_{i,i+1}, U_{i,i+2}]` (zero where out of range).
    u: Vec<[f64; 3]>,
    /// 1-norm of the factored matrix.
    norm1: f64,
}

impl BandLu {
    /// Factors the collocation matrix of `sites` for the knot vector `t`.
    /// `axis` only labels errors.
    pub fn collocation(axis: usize, sites: &[f64], t: &[f64]) -> Result<BandLu, FitError> {
        let n = sites.len();
        // Band storage a[i][2 + (j - i)] = C_ij for |j - i| <= 2.
        let mut a = vec![[0.0f64; 5]; n];
        for (i, &x) in sites.iter().enumerate() {
            let span = find_span(t, x);
            let b = basis(t, span, x);
            for (r, &v) in b.iter().enumerate() {
                let j = span - 3 + r;
                let off = j as isize - i as isize;
                if (-2..=2).contains(&off) {
                    a[i][(off + 2) as usize] = v;
                } else {
                    // Only the end rows reach this, where the basis value is exactly zero.
                    debug_assert!(
                        v == 0.0,
                        "collocation entry outside the band: C[{i}][{j}] = {v}"
                    );
                }
            }
        }
        Self::factor(axis, a)
    }

    /// Factors a pentadiagonal matrix given in band storage
    /// `a[i][2 + (j - i)] = A_ij` (entries outside the matrix are ignored).
    pub fn factor(axis: usize, mut a: Vec<[f64; 5]>) -> Result<BandLu, FitError> {
        let n = a.len();
        // Zero the entries that fall outside the matrix.
        for (i, row) in a.iter_mut().enumerate() {
            for (k, v) in row.iter_mut().enumerate() {
                let j = i as isize + k as isize - 2;
                if j < 0 || j >= n as isize || !v.is_finite() {
                    *v = if j < 0 || j >= n as isize { 0.0 } else { *v };
                }
            }
        }
        let mut norm1 = 0.0f64;
        for j in 0..n {
            let mut s = 0.0;
            for i in j.saturating_sub(2)..(j + 3).min(n) {
                s += a[i][2 + j - i].abs();
            }
            norm1 = norm1.max(s);
        }
        let mut l = vec![[0.0f64; 2]; n];
        let mut u = vec![[0.0f64; 3]; n];
        for k in 0..n {
            let pivot = a[k][2];
            if pivot.is_nan() || pivot.abs() <= PIVOT_FLOOR {
                return Err(FitError::SingularMatrix {
                    axis,
                    row: k,
                    pivot,
                });
            }
            u[k] = [1.0 / pivot, a[k][3], a[k][4]];
            for d in 1..=2 {
                let i = k + d;
                if i >= n {
                    break;
                }
                // A_ik sits at a[i][2 - d].
                let m = a[i][2 - d] / pivot;
                l[i][2 - d] = m;
                a[i][2 - d] = 0.0;
                // A_ij -= m * A_kj for j = k+1, k+2.
                for e in 1..=2 {
                    let j = k + e;
                    if j < n {
                        a[i][2 + j - i] -= m * a[k][2 + e];
                    }
                }
            }
        }
        Ok(BandLu { l, u, norm1 })
    }

    /// The factors of the `n × n` identity (the system of an axis whose
    /// coefficients are its values, or that is solved elsewhere).
    pub fn identity(n: usize) -> BandLu {
        BandLu {
            l: vec![[0.0; 2]; n],
            u: vec![[1.0, 0.0, 0.0]; n],
            norm1: 1.0,
        }
    }

    /// Matrix size.
    pub fn len(&self) -> usize {
        self.u.len()
    }

    /// Whether the matrix is empty (never, for a fitted axis).
    pub fn is_empty(&self) -> bool {
        self.u.is_empty()
    }

    /// `[L_{i,i-2}, L_{i,i-1}]` for each row.
    pub fn lower(&self) -> &[[f64; 2]] {
        &self.l
    }

    /// `[1/U_ii, U_{i,i+1}, U_{i,i+2}]` for each row.
    pub fn upper(&self) -> &[[f64; 3]] {
        &self.u
    }

    /// Solves `A x = b` in place for one line stored with stride `stride`
    /// (`b[i * stride]`, `i < n`): the scalar reference solve.
    ///
    /// # Panics
    /// If `b` is shorter than `(n - 1) * stride + 1`.
    pub fn solve_strided(&self, b: &mut [f64], stride: usize) {
        let n = self.len();
        if n == 0 {
            return;
        }
        let need = (n - 1) * stride + 1;
        if b.len() < need {
            crate::error::panic_short(&"BandLu::solve_strided", need, b.len());
        }
        for i in 1..n {
            let [l2, l1] = self.l[i];
            let mut v = b[i * stride] - l1 * b[(i - 1) * stride];
            if i >= 2 {
                v -= l2 * b[(i - 2) * stride];
            }
            b[i * stride] = v;
        }
        for i in (0..n).rev() {
            let [inv, u1, u2] = self.u[i];
            let mut v = b[i * stride];
            if i + 1 < n {
                v -= u1 * b[(i + 1) * stride];
            }
            if i + 2 < n {
                v -= u2 * b[(i + 2) * stride];
            }
            b[i * stride] = v * inv;
        }
    }

    /// Solves `A X = B` in place for `m` lines held side by side: row `i` of
    /// all lines is `b[i * row_stride .. i * row_stride + m]`. The recurrence
    /// runs on whole rows, so the inner loops vectorise across lines.
    ///
    /// # Panics
    /// If `m > row_stride` or `b` is shorter than `(n - 1) * row_stride + m`.
    pub(crate) fn solve_rows(&self, b: &mut [f64], row_stride: usize, m: usize) {
        let n = self.len();
        if n == 0 || m == 0 {
            return;
        }
        let need = (n - 1) * row_stride + m;
        if m > row_stride || b.len() < need {
            crate::error::panic_short(&"BandLu::solve_rows", need, b.len());
        }
        let b = &mut b[..need];
        for i in 1..n {
            let [l2, l1] = self.l[i];
            let (head, tail) = b.split_at_mut(i * row_stride);
            let cur = &mut tail[..m];
            let p1 = &head[(i - 1) * row_stride..(i - 1) * row_stride + m];
            if i >= 2 {
                let p2 = &head[(i - 2) * row_stride..(i - 2) * row_stride + m];
                for ((c, &a1), &a2) in cur.iter_mut().zip(p1).zip(p2) {
                    *c = *c - l1 * a1 - l2 * a2;
                }
            } else {
                for (c, &a1) in cur.iter_mut().zip(p1) {
                    *c -= l1 * a1;
                }
            }
        }
        for i in (0..n).rev() {
            let [inv, u1, u2] = self.u[i];
            let (head, tail) = b.split_at_mut(((i + 1) * row_stride).min(need));
            let cur = &mut head[i * row_stride..i * row_stride + m];
            if i + 2 < n {
                let (n1, n2) = (&tail[..m], &tail[row_stride..row_stride + m]);
                for ((c, &a1), &a2) in cur.iter_mut().zip(n1).zip(n2) {
                    *c = (*c - u1 * a1 - u2 * a2) * inv;
                }
            } else if i + 1 < n {
                for (c, &a1) in cur.iter_mut().zip(&tail[..m]) {
                    *c = (*c - u1 * a1) * inv;
                }
            } else {
                for c in cur.iter_mut() {
                    *c *= inv;
                }
            }
        }
    }

    /// 1-norm condition number `‖A‖₁ ‖A⁻¹‖₁`, computed exactly one column of
    /// `A⁻¹` at a time (`O(n²)` time, `O(n)` memory; no dense matrix).
    pub fn condition_1norm(&self) -> f64 {
        let n = self.len();
        let mut col = vec![0.0; n];
        let mut inv_norm = 0.0f64;
        for j in 0..n {
            col.fill(0.0);
            col[j] = 1.0;
            self.solve_strided(&mut col, 1);
            inv_norm = inv_norm.max(col.iter().map(|v| v.abs()).sum());
        }
        self.norm1 * inv_norm
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bspline::knots::not_a_knot;

    fn dense_collocation(x: &[f64], t: &[f64]) -> Vec<Vec<f64>> {
        let n = x.len();
        let mut c = vec![vec![0.0; n]; n];
        for i in 0..n {
            let span = find_span(t, x[i]);
            let b = basis(t, span, x[i]);
            for r in 0..4 {
                c[i][span - 3 + r] = b[r];
            }
        }
        c
    }

    #[test]
    fn solves_match_dense_product() {
        for n in [4usize, 5, 6, 7, 12, 31] {
            let x: Vec<f64> = (0..n)
                .map(|i| (i as f64).powf(1.3) + 0.1 * (i as f64).sin())
                .collect();
            let t = not_a_knot(&x);
            let lu = BandLu::collocation(0, &x, &t).unwrap();
            let c = dense_collocation(&x, &t);
            let m = 3;
            let stride = 5;
            let mut b: Vec<f64> = (0..n * stride)
                .map(|k| ((k * 7919) % 101) as f64 / 10.0 - 5.0)
                .collect();
            let orig = b.clone();
            lu.solve_rows(&mut b, stride, m);
            for lane in 0..m {
                for i in 0..n {
                    let ax: f64 = (0..n).map(|j| c[i][j] * b[j * stride + lane]).sum();
                    assert!((ax - orig[i * stride + lane]).abs() < 1e-12, "n={n}");
                }
                // Scalar strided reference gives the same answer.
                let mut line: Vec<f64> = (0..n).map(|i| orig[i * stride + lane]).collect();
                lu.solve_strided(&mut line, 1);
                for i in 0..n {
                    assert!(
                        (line[i] - b[i * stride + lane]).abs() <= 1e-14 * (1.0 + line[i].abs())
                    );
                }
            }
            // Lanes beyond m are untouched.
            for i in 0..n {
                for lane in m..stride {
                    assert_eq!(b[i * stride + lane], orig[i * stride + lane]);
                }
            }
        }
    }

    #[test]
    fn condition_of_uniform_axis_is_moderate() {
        let x: Vec<f64> = (0..50).map(|i| i as f64).collect();
        let t = not_a_knot(&x);
        let lu = BandLu::collocation(0, &x, &t).unwrap();
        let k = lu.condition_1norm();
        assert!(k > 1.0 && k < 10.0, "{k}");
    }

    #[test]
    fn singular_pivot_is_reported() {
        let a = vec![[0.0, 0.0, 1.0, 1.0, 0.0], [0.0, 1.0, 1.0, 0.0, 0.0]];
        assert!(matches!(
            BandLu::factor(3, a),
            Err(FitError::SingularMatrix {
                axis: 3,
                row: 1,
                ..
            })
        ));
    }
}
