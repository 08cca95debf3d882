//! Banded LU with partial pivoting (LAPACK's `gbtrf`/`gbtrs` scheme) for the
//! systems that are not totally positive: collocation rows mixed with
//! derivative conditions at the ends, knot vectors given by the caller, and
//! the cyclic systems of periodic splines of any degree
//! ([`crate::bspline::interp`]).
//!
//! Storage is by rows: row `i` holds columns `i − kl ..= i + kl + ku` (the
//! band plus the `kl` extra upper diagonals that row interchanges can fill),
//! entry `(i, j)` at `a[i·width + kl + j − i]`, `width = 2·kl + ku + 1`.
//! Step `j` picks the largest entry of column `j` among rows `j ..= j + kl`,
//! swaps that row with row `j` on the columns `j ..= j + kl + ku` only, and
//! stores the multipliers of column `j` in place; the multipliers are never
//! moved afterwards, so the forward solve applies interchange `j` and then
//! column `j`'s multipliers, in order (the "LINPACK" form of `P A = L U`).

use crate::FitError;

/// `L U` factors with row interchanges of an `n × n` band matrix with `kl`
/// lower and `ku` upper diagonals.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PivotedBandLu {
    n: usize,
    kl: usize,
    ku: usize,
    a: Vec<f64>,
    piv: Vec<usize>,
}

impl PivotedBandLu {
    /// Factors the matrix whose row `i` is `rows[i] = (first column,
    /// values)`: `A[i][first + r] = values[r]`. `kl` and `ku` are taken
    /// from the rows. `axis` labels errors.
    ///
    /// Errors: [`FitError::SingularMatrix`] for a zero (or non-finite)
    /// pivot, naming the row; [`FitError::InvalidParameter`] for a row that
    /// reaches outside the matrix.
    pub(crate) fn factor(axis: usize, rows: &[(usize, Vec<f64>)]) -> Result<Self, FitError> {
        let n = rows.len();
        let (mut kl, mut ku) = (0usize, 0usize);
        for (i, (first, vals)) in rows.iter().enumerate() {
            let last = first + vals.len().max(1) - 1;
            if last >= n {
                return Err(FitError::InvalidParameter {
                    name: "knots",
                    reason: format!(
                        "axis {axis}: row {i} of the interpolation system reaches column {last} \
                         of {n} (too few coefficients for the conditions)"
                    ),
                });
            }
            for (r, &v) in vals.iter().enumerate() {
                if v != 0.0 {
                    let j = first + r;
                    kl = kl.max(i.saturating_sub(j));
                    ku = ku.max(j.saturating_sub(i));
                }
            }
        }
        let width = 2 * kl + ku + 1;
        let mut a = vec![0.0; n * width];
        for (i, (first, vals)) in rows.iter().enumerate() {
            for (r, &v) in vals.iter().enumerate() {
                if v != 0.0 {
                    a[i * width + kl + first + r - i] = v;
                }
            }
        }
        let mut piv = vec![0usize; n];
        let at = |i: usize, j: usize| i * width + kl + j - i;
        for j in 0..n {
            let rows_end = (j + kl + 1).min(n);
            let mut p = j;
            let mut best = a[at(j, j)].abs();
            for i in j + 1..rows_end {
                let v = a[at(i, j)].abs();
                if v > best {
                    best = v;
                    p = i;
                }
            }
            let pivot = a[at(p, j)];
            if pivot == 0.0 || !pivot.is_finite() {
                return Err(FitError::SingularMatrix {
                    axis,
                    row: j,
                    pivot,
                });
            }
            piv[j] = p;
            let cols_end = (j + kl + ku + 1).min(n);
            if p != j {
                for c in j..cols_end {
                    a.swap(at(j, c), at(p, c));
                }
            }
            let inv = 1.0 / pivot;
            for i in j + 1..rows_end {
                let m = a[at(i, j)] * inv;
                a[at(i, j)] = m;
                if m != 0.0 {
                    for c in j + 1..cols_end {
                        a[at(i, c)] -= m * a[at(j, c)];
                    }
                }
            }
            a[at(j, j)] = inv;
        }
        Ok(PivotedBandLu { n, kl, ku, a, piv })
    }

    /// Number of rows.
    pub(crate) fn len(&self) -> usize {
        self.n
    }

    /// Solves `A X = B` in place for the `inner` right-hand sides held side
    /// by side in `b` (row `i` of all of them at `b[i·inner..(i+1)·inner]`).
    /// Returns whether every result is finite.
    pub(crate) fn solve_rows(&self, b: &mut [f64], inner: usize) -> bool {
        let (n, kl, ku) = (self.n, self.kl, self.ku);
        let width = 2 * kl + ku + 1;
        debug_assert_eq!(b.len(), n * inner);
        let at = |i: usize, j: usize| i * width + kl + j - i;
        for j in 0..n {
            let p = self.piv[j];
            if p != j {
                let (head, tail) = b.split_at_mut(p * inner);
                head[j * inner..(j + 1) * inner].swap_with_slice(&mut tail[..inner]);
            }
            let (head, tail) = b.split_at_mut((j + 1) * inner);
            let cur = &head[j * inner..];
            for i in j + 1..(j + kl + 1).min(n) {
                let m = self.a[at(i, j)];
                if m != 0.0 {
                    let row = &mut tail[(i - j - 1) * inner..(i - j) * inner];
                    for (r, &c) in row.iter_mut().zip(cur) {
                        *r -= m * c;
                    }
                }
            }
        }
        let mut ok = true;
        for i in (0..n).rev() {
            let (head, tail) = b.split_at_mut((i + 1) * inner);
            let cur = &mut head[i * inner..];
            for j in i + 1..(i + kl + ku + 1).min(n) {
                let u = self.a[at(i, j)];
                if u != 0.0 {
                    let next = &tail[(j - i - 1) * inner..(j - i) * inner];
                    for (c, &x) in cur.iter_mut().zip(next) {
                        *c -= u * x;
                    }
                }
            }
            let inv = self.a[at(i, i)];
            for c in cur.iter_mut() {
                *c *= inv;
                ok &= c.is_finite();
            }
        }
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Dense `A x` for the row form.
    fn apply(rows: &[(usize, Vec<f64>)], x: &[f64]) -> Vec<f64> {
        rows.iter()
            .map(|(f, v)| v.iter().enumerate().map(|(r, a)| a * x[f + r]).sum())
            .collect()
    }

    #[test]
    fn solves_a_system_that_needs_pivoting() {
        // Zero on the first diagonal entry: elimination without interchanges
        // would divide by zero.
        let rows = vec![
            (0, vec![0.0, 2.0, 1.0]),
            (0, vec![3.0, 1.0, 0.5, 0.0]),
            (1, vec![1.0, 4.0, 1.0]),
            (2, vec![0.2, -1.0, 2.0]),
            (2, vec![0.0, 1.0, 3.0]),
        ];
        let x = [1.0, -2.0, 0.5, 3.0, -1.5];
        let b = apply(&rows, &x);
        let lu = PivotedBandLu::factor(0, &rows).unwrap();
        // Two right-hand sides side by side: b and 2b.
        let mut rhs: Vec<f64> = b.iter().flat_map(|&v| [v, 2.0 * v]).collect();
        assert!(lu.solve_rows(&mut rhs, 2));
        for i in 0..x.len() {
            assert!((rhs[2 * i] - x[i]).abs() < 1e-13, "{i}: {}", rhs[2 * i]);
            assert!((rhs[2 * i + 1] - 2.0 * x[i]).abs() < 1e-13);
        }
    }

    #[test]
    fn singular_matrix_names_the_row() {
        let rows = vec![(0, vec![1.0, 1.0]), (0, vec![2.0, 2.0])];
        match PivotedBandLu::factor(3, &rows) {
            Err(FitError::SingularMatrix {
                axis: 3, row: 1, ..
            }) => {}
            other => panic!("{other:?}"),
        }
        let rows = vec![(0, vec![1.0, 1.0]), (1, vec![2.0, 2.0])];
        assert!(matches!(
            PivotedBandLu::factor(0, &rows),
            Err(FitError::InvalidParameter { .. })
        ));
    }
}
