//! Spectral bounds of the B-spline operator per boundary and the iteration counts
//! the classical convergence theory predicts.
//!
//! The 1D matrix `b` (taps `[1/6, 2/3, 1/6]`) on `n` points has these eigenvalues:
//!
//! * `Periodic` (circulant): `2/3 + cos(2πk/n)/3`, `k = 0..n`. Largest 1 (`k = 0`);
//!   smallest `1/3` for even `n`, `2/3 − cos(π/n)/3` for odd `n` (and 1 for `n = 1`).
//! * `Zero` (Toeplitz `tridiag(1/6, 2/3, 1/6)`): `2/3 + cos(kπ/(n+1))/3`, `k = 1..=n`,
//!   so `[2/3 − cos(π/(n+1))/3, 2/3 + cos(π/(n+1))/3]`, strictly inside `(1/3, 1)`.
//! * `Mirror` (whole-sample symmetric extension, diagonalised by the DCT-I):
//!   `2/3 + cos(πk/(n−1))/3`, `k = 0..n`: exactly `[1/3, 1]` for `n ≥ 2` (1 for `n = 1`).
//!   The mirror matrix is not symmetric but similar to a symmetric one
//!   (see [`super::band`]), so these are its eigenvalues too.
//!
//! `B = b₀ ⊗ b₁ ⊗ b₂` has the products as eigenvalues: `λ_min(B) = Π λ_min(b_a)`,
//! `λ_max(B) = Π λ_max(b_a)`; on a periodic grid with even sizes `[1/27, 1]`. The
//! normal-equations matrix `A = B²` has the squares (`[1/729, 1]`).
//!
//! With `κ = λ_max/λ_min` and a residual reduction `ε`, the iteration counts are
//! `ln ε / ln ρ`, with the asymptotic rate `ρ`:
//! Richardson/Jacobi with the optimal step `(κ−1)/(κ+1)`; Chebyshev and CG
//! `(√κ−1)/(√κ+1)` (CG's bound without its factor 2); weighted Jacobi with weight ω
//! and diagonal `d`: `max |1 − ωλ/d|` over the two ends; the damped leapfrog
//! (heavy ball with step `dt²` and momentum `1 − damp`): the largest root modulus of
//! `μ² − (1 + β − dt²λ) μ + β`, maximised over the two ends.

use super::Boundary;
use std::f64::consts::PI;

/// Bounds `[λ_min, λ_max]` of the 1D B-spline matrix on `n ≥ 1` points.
pub fn axis_bounds(n: usize, boundary: Boundary) -> (f64, f64) {
    match boundary {
        Boundary::Periodic => {
            if n == 1 {
                (1.0, 1.0)
            } else if n.is_multiple_of(2) {
                (1.0 / 3.0, 1.0)
            } else {
                (2.0 / 3.0 - (PI / n as f64).cos() / 3.0, 1.0)
            }
        }
        Boundary::Zero => {
            let c = (PI / (n as f64 + 1.0)).cos() / 3.0;
            (2.0 / 3.0 - c, 2.0 / 3.0 + c)
        }
        Boundary::Mirror => {
            if n == 1 {
                (1.0, 1.0)
            } else {
                (1.0 / 3.0, 1.0)
            }
        }
    }
}

/// Bounds `[λ_min, λ_max]` of `B = b ⊗ b ⊗ b` on `shape` with `boundary` per axis.
pub fn bspline_bounds(shape: [usize; 3], boundary: [Boundary; 3]) -> (f64, f64) {
    let mut lo = 1.0;
    let mut hi = 1.0;
    for a in 0..3 {
        let (l, h) = axis_bounds(shape[a], boundary[a]);
        lo *= l;
        hi *= h;
    }
    (lo, hi)
}

fn count(rate: f64, tol: f64) -> Option<f64> {
    if rate.is_nan() || rate >= 1.0 {
        return None;
    }
    if rate <= 0.0 {
        return Some(1.0);
    }
    Some((tol.ln() / rate.ln()).round().max(1.0))
}

/// Iterations of optimally weighted Jacobi / Richardson to reduce the residual by `tol`.
pub fn richardson_iterations(bounds: (f64, f64), tol: f64) -> Option<f64> {
    let k = bounds.1 / bounds.0;
    count((k - 1.0) / (k + 1.0), tol)
}

/// Iterations of Chebyshev or CG (and PCG, given the preconditioned bounds).
pub fn chebyshev_iterations(bounds: (f64, f64), tol: f64) -> Option<f64> {
    let s = (bounds.1 / bounds.0).sqrt();
    count((s - 1.0) / (s + 1.0), tol)
}

/// Convergence rate of weighted Jacobi `x += (ω/d) r` (≥ 1: divergent).
pub fn jacobi_rate(bounds: (f64, f64), diagonal: f64, omega: f64) -> f64 {
    let t = omega / diagonal;
    (1.0 - t * bounds.0).abs().max((1.0 - t * bounds.1).abs())
}

/// Iterations of weighted Jacobi with weight `omega` (`None` if it diverges).
pub fn jacobi_iterations(bounds: (f64, f64), diagonal: f64, omega: f64, tol: f64) -> Option<f64> {
    count(jacobi_rate(bounds, diagonal, omega), tol)
}

/// Convergence rate of the damped leapfrog relaxation.
pub fn leapfrog_rate(bounds: (f64, f64), dt: f64, damp: f64) -> f64 {
    let beta = 1.0 - damp;
    let alpha = dt * dt;
    let root = |lam: f64| {
        let b = 1.0 + beta - alpha * lam;
        let disc = b * b - 4.0 * beta;
        if disc < 0.0 {
            beta.sqrt()
        } else {
            (b.abs() + disc.sqrt()) / 2.0
        }
    };
    root(bounds.0).max(root(bounds.1))
}

/// Iterations of the damped leapfrog relaxation (`None` if it diverges).
pub fn leapfrog_iterations(bounds: (f64, f64), dt: f64, damp: f64, tol: f64) -> Option<f64> {
    count(leapfrog_rate(bounds, dt, damp), tol)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Boundary::*;

    /// The figures of the design notes (periodic, even sizes, tol 1e-6).
    #[test]
    fn design_figures() {
        let b = bspline_bounds([8, 8, 8], [Periodic; 3]);
        assert!((b.0 - 1.0 / 27.0).abs() < 1e-15 && b.1 == 1.0);
        let a = (b.0 * b.0, b.1 * b.1);
        assert_eq!(richardson_iterations(b, 1e-6), Some(186.0));
        assert_eq!(richardson_iterations(a, 1e-6), Some(5036.0));
        assert_eq!(chebyshev_iterations(b, 1e-6), Some(35.0));
        assert_eq!(chebyshev_iterations(a, 1e-6), Some(186.0));
        // Unweighted Jacobi: ρ = 2.375 on B (d = 8/27), 7 on A (d = 1/8).
        assert!((jacobi_rate(b, 8.0 / 27.0, 1.0) - 2.375).abs() < 1e-12);
        assert!((jacobi_rate(a, 0.125, 1.0) - 7.0).abs() < 1e-12);
        assert_eq!(jacobi_iterations(b, 8.0 / 27.0, 1.0, 1e-6), None);
        // The source's dt = 0.5, damp = 0.15 on A: ≈ 6000.
        let lf = leapfrog_iterations(a, 0.5, 0.15, 1e-6).unwrap();
        assert!((5500.0..6500.0).contains(&lf), "{lf}");
    }

    /// Bounds against the eigenvalues of small dense matrices (power iteration free:
    /// the 1D formulas are checked on the symmetric tridiagonal by Sturm counts).
    #[test]
    fn axis_bounds_bracket_the_spectrum() {
        for n in 1..12usize {
            for bc in [Periodic, Zero, Mirror] {
                let (lo, hi) = axis_bounds(n, bc);
                // Gershgorin-free check: b v = λ v for the extreme modes.
                let m = super::super::band::Band1d::new(&crate::grid3::BSPLINE_TAPS, n, bc, true)
                    .dense();
                for lam in [lo, hi] {
                    // det(M - λI) must vanish: check by Gaussian elimination on a copy.
                    let mut a: Vec<Vec<f64>> = m.clone();
                    for (i, r) in a.iter_mut().enumerate() {
                        r[i] -= lam;
                    }
                    let det = det(a);
                    assert!(det.abs() < 1e-10, "{bc:?} n={n} λ={lam} det={det}");
                }
            }
        }
    }

    fn det(mut a: Vec<Vec<f64>>) -> f64 {
        let n = a.len();
        let mut d = 1.0;
        for c in 0..n {
            let p = (c..n)
                .max_by(|&i, &j| a[i][c].abs().total_cmp(&a[j][c].abs()))
                .unwrap();
            if a[p][c] == 0.0 {
                return 0.0;
            }
            if p != c {
                a.swap(p, c);
                d = -d;
            }
            d *= a[c][c];
            let pivot_row = a[c].clone();
            for row in a.iter_mut().skip(c + 1) {
                let f = row[c] / pivot_row[c];
                for (v, &p) in row.iter_mut().zip(&pivot_row).skip(c) {
                    *v -= f * p;
                }
            }
        }
        d
    }
}
