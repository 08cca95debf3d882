//! One axis of a separable stencil: a symmetric Toeplitz band with boundary rows.
//!
//! A stencil with taps `t[-h..=h]` applied along an axis of length `n` is the
//! `n × n` matrix `M` with `(M c)_i = Σ_d t_d c_{map(i + d)}`, where `map` folds
//! an index outside `0..n` back according to the [`Boundary`]:
//!
//! * `Periodic`: `map(j) = j mod n` (circulant `M`);
//! * `Zero`: indices outside `0..n` are dropped (`c_j = 0` there; banded Toeplitz `M`);
//! * `Mirror`: whole-sample symmetric extension of period `2n − 2`,
//!   `c_{−j} = c_j`, `c_{n−1+j} = c_{n−1−j}` (scipy `mode='mirror'`); `n = 1` maps every
//!   index to 0.
//!
//! Rows `h+1 ≤ i < n−h−1` are the interior Toeplitz rows; the others are stored
//! explicitly as `(column, weight)` lists with repeated columns merged.
//!
//! **Symmetrised mirror.** The mirror matrix is not symmetric (row 0 of the cubic
//! B-spline matrix is `[2/3, 1/3]`, column 0 is `[2/3, 1/6]`), but `W M` is, with the
//! trapezoid weights `W = diag(1/2, 1, …, 1, 1/2)`: the whole-sample symmetric extension
//! is self-adjoint in the trapezoid inner product (it is the DCT-I structure). So
//! `M_s = S M S⁻¹` with `S = W^{1/2}` is symmetric, has the same eigenvalues as `M`, and
//! is what the Krylov solvers iterate on: they solve `M_s (S c) = S f`.

use super::Boundary;

/// One axis of a separable stencil (see the module docs).
#[derive(Debug, Clone)]
pub(crate) struct Band1d {
    /// Axis length.
    pub n: usize,
    /// Half-width of the stencil.
    pub h: usize,
    /// Interior taps `t[-h..=h]`.
    pub taps: Vec<f64>,
    /// Rows `[0, lo)` are explicit.
    pub lo: usize,
    /// Rows `[hi, n)` are explicit; rows `[lo, hi)` are interior Toeplitz rows.
    pub hi: usize,
    /// Explicit rows: `rows[i]` for `i < lo`, `rows[lo + (i - hi)]` for `i >= hi`.
    pub rows: Vec<Vec<(usize, f64)>>,
}

/// Where index `j` (possibly outside `0..n`) lands under `boundary`, or `None` if it is zero.
pub(crate) fn fold_index(j: isize, n: usize, boundary: Boundary) -> Option<usize> {
    let ni = n as isize;
    match boundary {
        Boundary::Periodic => Some(j.rem_euclid(ni) as usize),
        Boundary::Zero => (0..ni).contains(&j).then_some(j as usize),
        Boundary::Mirror => {
            if n == 1 {
                return Some(0);
            }
            let p = 2 * ni - 2;
            let m = j.rem_euclid(p);
            Some(if m >= ni { p - m } else { m } as usize)
        }
    }
}

/// The mirror symmetrisation scale `s_i` of an axis: `1/√2` at both ends, 1 inside
/// (all ones for other boundaries and for `n = 1`).
pub(crate) fn mirror_scale(n: usize, boundary: Boundary) -> Vec<f64> {
    let mut s = vec![1.0; n];
    if boundary == Boundary::Mirror && n >= 2 {
        s[0] = std::f64::consts::FRAC_1_SQRT_2;
        s[n - 1] = std::f64::consts::FRAC_1_SQRT_2;
    }
    s
}

impl Band1d {
    /// The band of `taps` (length `2h+1`, symmetric) on an axis of length `n ≥ 1`.
    /// With `symmetrise`, a `Mirror` band is replaced by `S M S⁻¹` (module docs).
    pub fn new(taps: &[f64], n: usize, boundary: Boundary, symmetrise: bool) -> Band1d {
        debug_assert!(taps.len() % 2 == 1 && n >= 1);
        let h = taps.len() / 2;
        let lo = (h + 1).min(n);
        let hi = n.saturating_sub(h + 1).max(lo);
        let s = if symmetrise {
            mirror_scale(n, boundary)
        } else {
            vec![1.0; n]
        };
        let row = |i: usize| -> Vec<(usize, f64)> {
            let mut r: Vec<(usize, f64)> = Vec::with_capacity(taps.len());
            for (t, &w) in taps.iter().enumerate() {
                let j = i as isize + t as isize - h as isize;
                if let Some(c) = fold_index(j, n, boundary) {
                    let w = w * s[i] / s[c];
                    match r.iter_mut().find(|e| e.0 == c) {
                        Some(e) => e.1 += w,
                        None => r.push((c, w)),
                    }
                }
            }
            r.sort_by_key(|e| e.0);
            r
        };
        let rows = (0..lo).chain(hi..n).map(row).collect();
        Band1d {
            n,
            h,
            taps: taps.to_vec(),
            lo,
            hi,
            rows,
        }
    }

    /// The explicit entries of row `i` (only for `i < lo` or `i >= hi`).
    #[cfg(test)]
    fn edge_row(&self, i: usize) -> &[(usize, f64)] {
        if i < self.lo {
            &self.rows[i]
        } else {
            &self.rows[self.lo + (i - self.hi)]
        }
    }

    /// All entries of row `i` as `(column, weight)`.
    #[cfg(test)]
    fn row(&self, i: usize) -> Vec<(usize, f64)> {
        if i < self.lo || i >= self.hi {
            self.edge_row(i).to_vec()
        } else {
            self.taps
                .iter()
                .enumerate()
                .map(|(t, &w)| (i + t - self.h, w))
                .collect()
        }
    }

    /// The dense matrix (tests and small designs only).
    #[cfg(test)]
    pub fn dense(&self) -> Vec<Vec<f64>> {
        let mut m = vec![vec![0.0; self.n]; self.n];
        for (i, mi) in m.iter_mut().enumerate() {
            for (c, w) in self.row(i) {
                mi[c] += w;
            }
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    const B: [f64; 3] = crate::grid3::BSPLINE_TAPS;

    #[test]
    fn fold_matches_definitions() {
        // scipy mirror for n = 4: ... 2 1 | 0 1 2 3 | 2 1 0 1 ...
        let m: Vec<_> = (-3..8)
            .map(|j| fold_index(j, 4, Boundary::Mirror).unwrap())
            .collect();
        assert_eq!(m, vec![3, 2, 1, 0, 1, 2, 3, 2, 1, 0, 1]);
        assert_eq!(fold_index(-1, 5, Boundary::Periodic), Some(4));
        assert_eq!(fold_index(5, 5, Boundary::Zero), None);
        assert_eq!(fold_index(-7, 1, Boundary::Mirror), Some(0));
    }

    #[test]
    fn rows_sum_and_symmetry() {
        for n in 1..9 {
            for bc in [Boundary::Periodic, Boundary::Zero, Boundary::Mirror] {
                let b = Band1d::new(&B, n, bc, false);
                let d = b.dense();
                for (i, r) in d.iter().enumerate() {
                    let s: f64 = r.iter().sum();
                    let interior = i >= 1 && i + 1 < n;
                    if bc != Boundary::Zero || interior {
                        assert!((s - 1.0).abs() < 1e-15, "{bc:?} n={n} row {i}");
                    }
                }
                let bs = Band1d::new(&B, n, bc, true).dense();
                for (i, r) in bs.iter().enumerate() {
                    for (j, v) in r.iter().enumerate() {
                        assert!((v - bs[j][i]).abs() < 1e-15, "{bc:?} n={n}");
                    }
                }
            }
        }
        // Mirror row 0 is [2/3, 1/3] (c[-1] = c[1]).
        let m = Band1d::new(&B, 5, Boundary::Mirror, false).dense();
        assert!((m[0][0] - 2.0 / 3.0).abs() < 1e-15 && (m[0][1] - 1.0 / 3.0).abs() < 1e-15);
    }
}
