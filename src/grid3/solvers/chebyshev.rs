//! Chebyshev iteration (Saad, *Iterative Methods for Sparse Linear Systems*, Alg. 12.1).
//!
//! With the spectrum in `[λ_min, λ_max]`, `θ = (λ_max + λ_min)/2`, `δ = (λ_max − λ_min)/2`,
//! `σ = θ/δ`: `d₀ = r₀/θ`; then `x ← x + d`, `r ← r − A d`, `ρ' = 1/(2σ − ρ)`,
//! `d ← ρ'ρ d + (2ρ'/δ) r`. No inner products: only the convergence check reads the
//! backend. The error falls like `2((√κ−1)/(√κ+1))^k`: ~35 iterations per 10⁻⁶ on `B`
//! (`κ = 27`), ~186 on `B²` (`κ = 729`). The bounds come from the operator
//! ([`LinearOperator::spectrum_bounds`], analytic per boundary in
//! [`crate::grid3::theory`]) unless given.

use super::{Check, Common, Monitor, SolveInfo, iterate, residual};
use crate::FitError;
use crate::grid3::backend::{Coef, LinearOperator, Residual, VectorOps};

/// Parameters of [`solve`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[non_exhaustive]
pub struct Params {
    /// Spectral bounds `(λ_min, λ_max)`; `None` (default) = the operator's.
    pub bounds: Option<(f64, f64)>,
    /// Tolerance, limits, check interval.
    pub common: Common,
}

/// Solves `a x = b` from the initial `x`.
///
/// # Errors
/// [`FitError::InvalidParameter`] (bad bounds), [`FitError::NoConvergence`],
/// [`FitError::Diverged`] (e.g. bounds that miss part of the spectrum).
pub fn solve<B: VectorOps + ?Sized, A: LinearOperator<B> + ?Sized>(
    ops: &B,
    a: &A,
    b: &B::Vector,
    x: &mut B::Vector,
    check: &Residual<'_, B>,
    params: &Params,
) -> Result<SolveInfo, FitError> {
    let (lo, hi) = params.bounds.unwrap_or_else(|| a.spectrum_bounds());
    if !(lo > 0.0 && hi >= lo && hi.is_finite()) {
        return Err(FitError::InvalidParameter {
            name: "bounds",
            reason: format!("need 0 < λ_min <= λ_max, got ({lo}, {hi})"),
        });
    }
    let theta = 0.5 * (hi + lo);
    // A single eigenvalue: keep δ tiny but positive (the first step is then exact).
    let delta = (0.5 * (hi - lo)).max(theta * 1e-12);
    let sigma = theta / delta;
    let mut rho = 1.0 / sigma;
    let mut mon = Monitor::new(ops, check, b, params.common, "chebyshev")?;
    let mut r = ops.alloc()?;
    let mut d = ops.alloc()?;
    let mut ad = ops.alloc()?;
    residual(ops, a, b, x, &mut r)?;
    ops.axpby(Coef::Const(1.0 / theta), &r, Coef::Const(0.0), &mut d)?;
    iterate!(mon, ops, x, r, it, {
        ops.axpby(Coef::Const(1.0), &d, Coef::Const(1.0), x)?;
        a.apply(ops, &d, &mut ad)?;
        ops.axpby(Coef::Const(-1.0), &ad, Coef::Const(1.0), &mut r)?;
        let rho_new = 1.0 / (2.0 * sigma - rho);
        ops.axpby(
            Coef::Const(2.0 * rho_new / delta),
            &r,
            Coef::Const(rho_new * rho),
            &mut d,
        )?;
        rho = rho_new;
    })
}
