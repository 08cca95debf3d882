//! Sparse-approximate-inverse (SPAI) stencils `K ≈ B⁻¹` (or `≈ (B²)⁻¹`) for PCG.
//!
//! `B = b ⊗ b ⊗ b` is separable, so we take `K = k ⊗ k ⊗ k` with a symmetric 1D `k` of
//! width 3 or 5 and fit `k` once by least squares: minimise `‖k ∗ g − δ‖₂` over the full
//! support of the convolution, where `g = b` (interpolation) or `g = b ∗ b` (normal
//! equations). With `k` symmetric the unknowns are its `h + 1 = ⌊w/2⌋ + 1` distinct
//! taps: a `(w + |g| − 1) × (h + 1)` dense least-squares problem `A k = δ` (at most
//! 13 × 5 for the widths the device accepts), solved by its normal equations
//! `AᵀA k = Aᵀδ` with a Cholesky factorisation and cached in a `OnceLock`. The
//! normal equations square the condition number of `A`, which is small here: the
//! columns of `A` are shifted copies of `g`, whose symbol lies in `[1/3, 1]` (`b`)
//! or `[1/9, 1]` (`b ∗ b`), so `cond(AᵀA)` stays below about 81 and the taps lose
//! at most two digits (the tests check the optimality condition `Aᵀ(A k − δ) = 0`
//! to 1e-14). For reference, the exact inverse of `b` has taps
//! `√3 · z^|k|`, `z = √3 − 2` (1.732, −0.464, 0.124, −0.033, …); the 5-tap fit is close
//! to its truncation. `K` is applied separably (`3w` multiply-adds per point) with the
//! same boundary folding as `B` (symmetrised on mirror axes), which keeps it symmetric;
//! it is positive definite because the symbol `k̂(θ)` is positive (checked in tests).

use std::sync::OnceLock;

use super::operator::BSPLINE_TAPS;

/// Which system a stencil approximates the inverse of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// `B`.
    Interpolate,
    /// `B²`.
    NormalEquations,
}

fn convolve(a: &[f64], b: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; a.len() + b.len() - 1];
    for (i, &x) in a.iter().enumerate() {
        for (j, &y) in b.iter().enumerate() {
            out[i + j] += x * y;
        }
    }
    out
}

/// The design matrix of [`design`]: `rows × (h + 1)`, row-major; column `t`
/// holds `g` shifted to `h − t` plus (for `t > 0`) `g` shifted to `h + t`.
fn design_matrix(width: usize, g: &[f64]) -> (Vec<f64>, usize, usize) {
    let h = width / 2;
    let rows = width + g.len() - 1;
    let cols = h + 1;
    let mut a = vec![0.0; rows * cols];
    for r in 0..rows {
        for t in 0..cols {
            let pos = [h as isize - t as isize, h as isize + t as isize];
            for &s in &pos[..if t == 0 { 1 } else { 2 }] {
                let gi = r as isize - s;
                if (0..g.len() as isize).contains(&gi) {
                    a[r * cols + t] += g[gi as usize];
                }
            }
        }
    }
    (a, rows, cols)
}

/// Least-squares fit of a symmetric `width`-tap `k` with `k ∗ g ≈ δ`: the
/// normal equations of the design matrix, solved by Cholesky (see the
/// module's note on their conditioning).
fn design(width: usize, g: &[f64]) -> Vec<f64> {
    if width == 0 || g.is_empty() {
        return Vec::new();
    }
    let h = width / 2;
    let (a, rows, n) = design_matrix(width, g);
    let centre = rows / 2;
    // M = AᵀA (n × n, symmetric positive definite: the columns are
    // independent), rhs = Aᵀδ_centre = row `centre` of A.
    let mut m = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let v: f64 = (0..rows).map(|r| a[r * n + i] * a[r * n + j]).sum();
            m[i * n + j] = v;
            m[j * n + i] = v;
        }
    }
    let mut x: Vec<f64> = (0..n).map(|t| a[centre * n + t]).collect();
    // Cholesky M = L Lᵀ, L stored in the lower triangle of `m`.
    for j in 0..n {
        let d = m[j * n + j] - (0..j).map(|k| m[j * n + k] * m[j * n + k]).sum::<f64>();
        let d = d.sqrt();
        m[j * n + j] = d;
        for i in j + 1..n {
            let v = m[i * n + j] - (0..j).map(|k| m[i * n + k] * m[j * n + k]).sum::<f64>();
            m[i * n + j] = v / d;
        }
    }
    // L y = rhs, then Lᵀ k = y.
    for i in 0..n {
        let v = x[i] - (0..i).map(|k| m[i * n + k] * x[k]).sum::<f64>();
        x[i] = v / m[i * n + i];
    }
    for i in (0..n).rev() {
        let v = x[i] - (i + 1..n).map(|k| m[k * n + i] * x[k]).sum::<f64>();
        x[i] = v / m[i * n + i];
    }
    (0..width)
        .map(|i| x[(i as isize - h as isize).unsigned_abs()])
        .collect()
}

/// The cached 1D taps of width 3 or 5 (other widths are designed on each call).
pub fn taps(width: usize, target: Target) -> Vec<f64> {
    static CACHE: [OnceLock<Vec<f64>>; 4] = [const { OnceLock::new() }; 4];
    let g = || match target {
        Target::Interpolate => BSPLINE_TAPS.to_vec(),
        Target::NormalEquations => convolve(&BSPLINE_TAPS, &BSPLINE_TAPS),
    };
    let slot = match (width, target) {
        (3, Target::Interpolate) => 0,
        (5, Target::Interpolate) => 1,
        (3, Target::NormalEquations) => 2,
        (5, Target::NormalEquations) => 3,
        _ => return design(width, &g()),
    };
    CACHE[slot].get_or_init(|| design(width, &g())).clone()
}

/// Bounds of the 1D symbol of `k ∗ g` over `θ ∈ [0, π]` (sampled finely): the
/// preconditioned 1D spectrum; the 3D one is its cube (both factors are positive).
pub fn preconditioned_bounds(width: usize, target: Target) -> (f64, f64) {
    let k = taps(width, target);
    let g = match target {
        Target::Interpolate => BSPLINE_TAPS.to_vec(),
        Target::NormalEquations => convolve(&BSPLINE_TAPS, &BSPLINE_TAPS),
    };
    let symbol = |c: &[f64], th: f64| {
        let h = (c.len() / 2) as isize;
        c.iter()
            .enumerate()
            .map(|(i, &v)| v * ((i as isize - h) as f64 * th).cos())
            .sum::<f64>()
    };
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for s in 0..=2048 {
        let th = std::f64::consts::PI * s as f64 / 2048.0;
        let v = symbol(&k, th) * symbol(&g, th);
        lo = lo.min(v);
        hi = hi.max(v);
    }
    (lo.powi(3), hi.powi(3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn designs_are_symmetric_positive_and_close_to_the_exact_inverse() {
        let z = 3f64.sqrt() - 2.0;
        let k5 = taps(5, Target::Interpolate);
        // Exact inverse taps √3 z^|k|: the 5-tap least-squares fit is near their truncation.
        for (i, &v) in k5.iter().enumerate() {
            let exact = 3f64.sqrt() * z.powi((i as i32 - 2).abs());
            assert!((v - exact).abs() < 0.05, "tap {i}: {v} vs {exact}");
            assert_eq!(v, k5[4 - i]);
        }
        for w in [3, 5] {
            for t in [Target::Interpolate, Target::NormalEquations] {
                let (lo, hi) = preconditioned_bounds(w, t);
                assert!(lo > 0.0 && hi > lo, "{w} {t:?}: ({lo}, {hi})");
            }
        }
        // 5 taps precondition better than 3: smaller condition number of K B.
        let c = |w| {
            let (lo, hi) = preconditioned_bounds(w, Target::Interpolate);
            hi / lo
        };
        assert!(c(5) < c(3) && c(3) < 27.0);
    }

    /// The taps solve the least-squares problem: the residual `A k − δ` is
    /// orthogonal to every column of the design matrix (the optimality
    /// condition, independent of how the problem was solved), for every
    /// width up to the device's largest and both targets.
    #[test]
    fn designs_satisfy_the_least_squares_optimality_condition() {
        for target in [Target::Interpolate, Target::NormalEquations] {
            let g = match target {
                Target::Interpolate => BSPLINE_TAPS.to_vec(),
                Target::NormalEquations => convolve(&BSPLINE_TAPS, &BSPLINE_TAPS),
            };
            for width in [1, 3, 5, 7, 9] {
                let k = taps(width, target);
                assert_eq!(k.len(), width);
                let h = width / 2;
                let (a, rows, n) = design_matrix(width, &g);
                let half = &k[h..];
                let res: Vec<f64> = (0..rows)
                    .map(|r| {
                        let ak: f64 = (0..n).map(|t| a[r * n + t] * half[t]).sum();
                        ak - if r == rows / 2 { 1.0 } else { 0.0 }
                    })
                    .collect();
                // The residual is that of k ∗ g − δ: the design is the convolution.
                let conv = convolve(&k, &g);
                for r in 0..rows {
                    let want = conv[r] - if r == rows / 2 { 1.0 } else { 0.0 };
                    assert!((res[r] - want).abs() < 1e-15, "{width} {target:?} row {r}");
                }
                for t in 0..n {
                    let dot: f64 = (0..rows).map(|r| a[r * n + t] * res[r]).sum();
                    assert!(dot.abs() < 1e-14, "{width} {target:?} column {t}: {dot:e}");
                }
            }
        }
        assert!(taps(0, Target::Interpolate).is_empty());
    }
}
