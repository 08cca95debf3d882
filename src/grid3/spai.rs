//! Sparse-approximate-inverse (SPAI) stencils `K ≈ B⁻¹` (or `≈ (B²)⁻¹`) for PCG.
//!
//! `B = b ⊗ b ⊗ b` is separable, so we take `K = k ⊗ k ⊗ k` with a symmetric 1D `k` of
//! width 3 or 5 and fit `k` once by least squares: minimise `‖k ∗ g − δ‖₂` over the full
//! support of the convolution, where `g = b` (interpolation) or `g = b ∗ b` (normal
//! equations). That is a `(w + |g| − 1) × w` dense least-squares problem, solved with
//! faer's QR and cached in a `OnceLock`. For reference, the exact inverse of `b` has taps
//! `√3 · z^|k|`, `z = √3 − 2` (1.732, −0.464, 0.124, −0.033, …); the 5-tap fit is close
//! to its truncation. `K` is applied separably (`3w` multiply-adds per point) with the
//! same boundary folding as `B` (symmetrised on mirror axes), which keeps it symmetric;
//! it is positive definite because the symbol `k̂(θ)` is positive (checked in tests).

use faer::Mat;
use faer::linalg::solvers::SolveLstsq;
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

/// Least-squares fit of a symmetric `width`-tap `k` with `k ∗ g ≈ δ`.
fn design(width: usize, g: &[f64]) -> Vec<f64> {
    let h = width / 2;
    let rows = width + g.len() - 1;
    let centre = rows / 2;
    // Unknowns: k_0 .. k_h (symmetric), column t adds tap t at ±t.
    let a = Mat::<f64>::from_fn(rows, h + 1, |r, t| {
        let mut v = 0.0;
        let pos = [h as isize - t as isize, h as isize + t as isize];
        for &s in &pos[..if t == 0 { 1 } else { 2 }] {
            let gi = r as isize - s;
            if (0..g.len() as isize).contains(&gi) {
                v += g[gi as usize];
            }
        }
        v
    });
    let rhs = Mat::<f64>::from_fn(rows, 1, |r, _| if r == centre { 1.0 } else { 0.0 });
    let sol = a.qr().solve_lstsq(&rhs);
    let half: Vec<f64> = (0..=h).map(|t| sol[(t, 0)]).collect();
    (0..width)
        .map(|i| half[(i as isize - h as isize).unsigned_abs()])
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
}
