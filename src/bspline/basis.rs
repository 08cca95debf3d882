//! Scalar Cox–de Boor recurrence: the reference implementation of the cubic
//! basis and its derivatives. Every SIMD kernel is tested against it.
//!
//! On the knot span `t[i] ≤ x < t[i+1]` exactly four cubic B-splines are
//! non-zero: `B_{i-3}, …, B_i`. They are built by the triangular recurrence
//! (de Boor, *A Practical Guide to Splines*, BSPLVB)
//!
//! ```text
//! N_{j,0} = 1 on the span,
//! N_{j,p}(x) = (x - t_j)/(t_{j+p} - t_j) · N_{j,p-1}(x)
//!            + (t_{j+p+1} - x)/(t_{j+p+1} - t_{j+1}) · N_{j+1,p-1}(x),
//! ```
//!
//! evaluated with `left[r] = x - t[i+1-r]` and `right[r] = t[i+r] - x` in the
//! numerators and the knot differences `t[i+1+r] - t[i+1+r-j]` themselves as
//! denominators: every one of them contains the non-empty span `[t_i, t_{i+1}]`
//! (so none of the zero-length intervals of a clamped vector occurs), and
//! unlike the textbook `right + left` they carry no rounding of `x`, so the
//! weights stay accurate to a few ulps however far outside the domain `x`
//! lies (the sum `right + left` loses all its digits once `|x|` dwarfs the
//! knot spacing).
//! Derivatives use `N'_{j,p} = p·(N_{j,p-1}/(t_{j+p}-t_j) - N_{j+1,p-1}/(t_{j+p+1}-t_{j+1}))`
//! applied repeatedly to the lower-degree rows of the same triangle (Piegl &
//! Tiller, *The NURBS Book*, A2.3). For a valid span every denominator that
//! occurs contains the non-empty interval `[t_i, t_{i+1}]`, so none is zero.

use super::{DEGREE, MAX_ORDER, ORDER};

/// Values of the four non-zero cubic basis functions `B_{span-3..=span}` at `x`.
///
/// `t` is a clamped knot vector and `span` a valid span from
/// [`find_span`](super::knots::find_span) (`3 ≤ span ≤ t.len() - 5`). The
/// values are non-negative and sum to 1 inside the domain; outside it they are
/// the boundary piece's polynomials (extrapolation).
#[inline]
pub fn basis(t: &[f64], span: usize, x: f64) -> [f64; ORDER] {
    let mut n = [0.0; ORDER];
    let mut left = [0.0; ORDER];
    let mut right = [0.0; ORDER];
    n[0] = 1.0;
    for j in 1..=DEGREE {
        left[j] = x - t[span + 1 - j];
        right[j] = t[span + j] - x;
        let mut saved = 0.0;
        for r in 0..j {
            let temp = n[r] / (t[span + r + 1] - t[span + 1 + r - j]);
            n[r] = saved + right[r + 1] * temp;
            saved = left[j - r] * temp;
        }
        n[j] = saved;
    }
    n
}

/// Values and derivatives of orders `0..=nd` (`nd ≤ 3`) of the four non-zero
/// cubic basis functions at `x`: `out[k][r]` is `d^k B_{span-3+r} / dx^k`.
/// Rows `k > nd` are left zero. Orders above 3 are identically zero for a cubic.
#[inline]
pub fn basis_derivs(t: &[f64], span: usize, x: f64, nd: usize) -> [[f64; ORDER]; ORDER] {
    basis_derivs_scaled(t, span, x, nd, 1.0, 1.0)
}

/// [`basis_derivs`] in scaled units, for the exponent-tracked evaluation:
/// the knot differences are multiplied by `unit` and the distances `x − t_j`
/// by `dist` (both powers of two, so the scalings are exact barring
/// underflow). Row `k` is then the true `k`-th derivative times
/// `unit^{-k} · (dist/unit)^{3-k}`: the derivative of order `k` of the cubic
/// basis is homogeneous of degree `−k` in the unit of length and of degree
/// `3 − k` in the distances alone (each level of the triangle multiplies by
/// one distance and divides by one knot difference; each derivative step
/// divides by one knot difference instead).
#[inline(always)]
pub(crate) fn basis_derivs_scaled(
    t: &[f64],
    span: usize,
    x: f64,
    nd: usize,
    unit: f64,
    dist: f64,
) -> [[f64; ORDER]; ORDER] {
    let p = DEGREE;
    let nd = nd.min(p);
    // ndu[j][r]: basis functions (upper triangle incl. diagonal) and knot differences (lower).
    let mut ndu = [[0.0f64; ORDER]; ORDER];
    let mut left = [0.0; ORDER];
    let mut right = [0.0; ORDER];
    ndu[0][0] = 1.0;
    for j in 1..=p {
        left[j] = x * dist - t[span + 1 - j] * dist;
        right[j] = t[span + j] * dist - x * dist;
        let mut saved = 0.0;
        for r in 0..j {
            ndu[j][r] = (t[span + r + 1] - t[span + 1 + r - j]) * unit;
            let temp = ndu[r][j - 1] / ndu[j][r];
            ndu[r][j] = saved + right[r + 1] * temp;
            saved = left[j - r] * temp;
        }
        ndu[j][j] = saved;
    }
    let mut out = [[0.0f64; ORDER]; ORDER];
    for j in 0..=p {
        out[0][j] = ndu[j][p];
    }
    let mut a = [[0.0f64; ORDER]; 2];
    for r in 0..=p {
        let (mut s1, mut s2) = (0usize, 1usize);
        a[0][0] = 1.0;
        for k in 1..=nd {
            let mut d = 0.0;
            let rk = r as isize - k as isize;
            let pk = p - k;
            if r >= k {
                a[s2][0] = a[s1][0] / ndu[pk + 1][rk as usize];
                d = a[s2][0] * ndu[rk as usize][pk];
            }
            let j1 = if rk >= -1 { 1 } else { (-rk) as usize };
            let j2 = if (r as isize - 1) <= pk as isize {
                k - 1
            } else {
                p - r
            };
            for j in j1..=j2 {
                let idx = (rk + j as isize) as usize;
                a[s2][j] = (a[s1][j] - a[s1][j - 1]) / ndu[pk + 1][idx];
                d += a[s2][j] * ndu[idx][pk];
            }
            if r <= pk {
                a[s2][k] = -a[s1][k - 1] / ndu[pk + 1][r];
                d += a[s2][k] * ndu[r][pk];
            }
            out[k][r] = d;
            std::mem::swap(&mut s1, &mut s2);
        }
    }
    let mut fac = p as f64;
    for (k, row) in out.iter_mut().enumerate().take(nd + 1).skip(1) {
        for v in row.iter_mut() {
            *v *= fac;
        }
        fac *= (p - k) as f64;
    }
    out
}

/// Values of the `k + 1` non-zero basis functions of degree `k ≤ 5`,
/// `B_{span-k..=span}`, at `x` (entries `k + 1..` are zero): the
/// recurrence of [`basis`] at any degree. `span` is a valid span from
/// [`find_span_k`](super::knots::find_span_k).
#[inline(always)]
pub fn basis_k(t: &[f64], k: usize, span: usize, x: f64) -> [f64; MAX_ORDER] {
    let mut n = [0.0; MAX_ORDER];
    let mut left = [0.0; MAX_ORDER];
    let mut right = [0.0; MAX_ORDER];
    n[0] = 1.0;
    for j in 1..=k {
        left[j] = x - t[span + 1 - j];
        right[j] = t[span + j] - x;
        let mut saved = 0.0;
        for r in 0..j {
            let temp = n[r] / (t[span + r + 1] - t[span + 1 + r - j]);
            n[r] = saved + right[r + 1] * temp;
            saved = left[j - r] * temp;
        }
        n[j] = saved;
    }
    n
}

/// Values and derivatives of orders `0..=nd` of the `k + 1` non-zero basis
/// functions of degree `k ≤ 5` at `x`: `out[o][r]` is
/// `d^o B_{span-k+r} / dx^o` (the algorithm of [`basis_derivs`] at any
/// degree; rows above `min(nd, k)` and entries above `k` are zero).
#[inline(always)]
pub fn basis_derivs_k(
    t: &[f64],
    k: usize,
    span: usize,
    x: f64,
    nd: usize,
) -> [[f64; MAX_ORDER]; MAX_ORDER] {
    basis_derivs_m::<MAX_ORDER>(t, k, span, x, nd)
}

/// The degree bound of [`basis_derivs_m`] as used for curves of any degree
/// ([`super::interp`]): `k < 16`.
pub const MAX_ORDER_ANY: usize = 16;

/// [`basis_derivs_k`] with tables of `M` entries: any degree `k < M`
/// (`out[o][r]`, rows above `min(nd, k)` and entries above `k` zero).
#[inline(always)]
pub fn basis_derivs_m<const M: usize>(
    t: &[f64],
    k: usize,
    span: usize,
    x: f64,
    nd: usize,
) -> [[f64; M]; M] {
    debug_assert!(k < M);
    let p = k;
    let nd = nd.min(p);
    let mut ndu = [[0.0f64; M]; M];
    let mut left = [0.0; M];
    let mut right = [0.0; M];
    ndu[0][0] = 1.0;
    for j in 1..=p {
        left[j] = x - t[span + 1 - j];
        right[j] = t[span + j] - x;
        let mut saved = 0.0;
        for r in 0..j {
            ndu[j][r] = t[span + r + 1] - t[span + 1 + r - j];
            let temp = ndu[r][j - 1] / ndu[j][r];
            ndu[r][j] = saved + right[r + 1] * temp;
            saved = left[j - r] * temp;
        }
        ndu[j][j] = saved;
    }
    let mut out = [[0.0f64; M]; M];
    for j in 0..=p {
        out[0][j] = ndu[j][p];
    }
    let mut a = [[0.0f64; M]; 2];
    for r in 0..=p {
        let (mut s1, mut s2) = (0usize, 1usize);
        a[0][0] = 1.0;
        for kk in 1..=nd {
            let mut d = 0.0;
            let rk = r as isize - kk as isize;
            let pk = p - kk;
            if r >= kk {
                a[s2][0] = a[s1][0] / ndu[pk + 1][rk as usize];
                d = a[s2][0] * ndu[rk as usize][pk];
            }
            let j1 = if rk >= -1 { 1 } else { (-rk) as usize };
            let j2 = if (r as isize - 1) <= pk as isize {
                kk - 1
            } else {
                p - r
            };
            for j in j1..=j2 {
                let idx = (rk + j as isize) as usize;
                a[s2][j] = (a[s1][j] - a[s1][j - 1]) / ndu[pk + 1][idx];
                d += a[s2][j] * ndu[idx][pk];
            }
            if r <= pk {
                a[s2][kk] = -a[s1][kk - 1] / ndu[pk + 1][r];
                d += a[s2][kk] * ndu[r][pk];
            }
            out[kk][r] = d;
            std::mem::swap(&mut s1, &mut s2);
        }
    }
    let mut fac = p as f64;
    for (kk, row) in out.iter_mut().enumerate().take(nd + 1).skip(1) {
        for v in row.iter_mut() {
            *v *= fac;
        }
        fac *= (p - kk) as f64;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::knots::{find_span, not_a_knot};
    use super::*;

    /// Independent oracle: the textbook recursive Cox–de Boor definition
    /// (with 0/0 = 0) and its derivative formula, for one basis function.
    fn cox_de_boor(t: &[f64], j: usize, p: usize, x: f64, span: usize) -> f64 {
        if p == 0 {
            return if j == span { 1.0 } else { 0.0 };
        }
        let mut v = 0.0;
        let d1 = t[j + p] - t[j];
        if d1 != 0.0 {
            v += (x - t[j]) / d1 * cox_de_boor(t, j, p - 1, x, span);
        }
        let d2 = t[j + p + 1] - t[j + 1];
        if d2 != 0.0 {
            v += (t[j + p + 1] - x) / d2 * cox_de_boor(t, j + 1, p - 1, x, span);
        }
        v
    }

    fn cox_de_boor_deriv(t: &[f64], j: usize, p: usize, k: usize, x: f64, span: usize) -> f64 {
        if k == 0 {
            return cox_de_boor(t, j, p, x, span);
        }
        let mut v = 0.0;
        let d1 = t[j + p] - t[j];
        if d1 != 0.0 {
            v += p as f64 / d1 * cox_de_boor_deriv(t, j, p - 1, k - 1, x, span);
        }
        let d2 = t[j + p + 1] - t[j + 1];
        if d2 != 0.0 {
            v -= p as f64 / d2 * cox_de_boor_deriv(t, j + 1, p - 1, k - 1, x, span);
        }
        v
    }

    #[test]
    fn matches_recursive_definition() {
        let x = [0.0, 0.3, 1.0, 1.1, 2.5, 2.6, 4.0, 7.0];
        let t = not_a_knot(&x);
        for i in 0..200 {
            let s = -0.5 + 8.0 * i as f64 / 199.0;
            let span = find_span(&t, s);
            let d = basis_derivs(&t, span, s, 3);
            let b = basis(&t, span, s);
            for r in 0..4 {
                let j = span - 3 + r;
                assert!((b[r] - d[0][r]).abs() < 1e-14);
                for k in 0..=3 {
                    let want = cox_de_boor_deriv(&t, j, 3, k, s, span);
                    let tol = 1e-12 * (1.0 + want.abs());
                    assert!(
                        (d[k][r] - want).abs() < tol,
                        "x={s} k={k} r={r}: {} vs {want}",
                        d[k][r]
                    );
                }
            }
        }
    }

    #[test]
    fn any_degree_matches_recursive_definition() {
        use super::super::{
            Degree,
            knots::{find_span_k, not_a_knot_k},
        };
        let x = [0.0, 0.3, 1.0, 1.1, 2.5, 2.6, 4.0, 7.0, 7.5];
        for k in [1usize, 3, 5] {
            let t = not_a_knot_k(&x, Degree::try_from(k).unwrap());
            for i in 0..200 {
                let s = -0.5 + 8.5 * i as f64 / 199.0;
                let span = find_span_k(&t, k, s);
                let d = basis_derivs_k(&t, k, span, s, k);
                let b = basis_k(&t, k, span, s);
                for r in 0..=k {
                    let j = span - k + r;
                    assert!((b[r] - d[0][r]).abs() < 1e-14);
                    for o in 0..=k {
                        let want = cox_de_boor_deriv(&t, j, k, o, s, span);
                        let tol = 1e-11 * (1.0 + want.abs());
                        assert!((d[o][r] - want).abs() < tol, "k={k} x={s} o={o} r={r}");
                    }
                }
                if (0.0..=7.5).contains(&s) {
                    assert!((b.iter().sum::<f64>() - 1.0).abs() < 1e-14);
                }
            }
        }
    }

    #[test]
    fn partition_of_unity_and_derivative_sums() {
        let x = [-2.0, -1.0, 0.5, 0.7, 3.0];
        let t = not_a_knot(&x);
        for i in 0..50 {
            let s = -2.0 + 5.0 * i as f64 / 49.0;
            let span = find_span(&t, s);
            let d = basis_derivs(&t, span, s, 2);
            assert!((d[0].iter().sum::<f64>() - 1.0).abs() < 1e-14);
            assert!(d[1].iter().sum::<f64>().abs() < 1e-12);
            assert!(d[2].iter().sum::<f64>().abs() < 1e-10);
            assert!(d[0].iter().all(|&v| v >= -1e-15));
        }
    }
}
