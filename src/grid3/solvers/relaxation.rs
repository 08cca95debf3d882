//! The source's damped leapfrog relaxation (the baseline).
//!
//! `r = b − A x`, `v ← (1 − damp) v + dt r`, `x ← x + dt v`: a heavy-ball method with
//! step `dt²` and momentum `1 − damp`. With the source's `dt = 0.5`, `damp = 0.15` on the
//! normal equations (spectrum `[1/729, 1]`) its rate is ≈ 0.99766, about 6,000
//! iterations per 10⁻⁶ ([`crate::grid3::theory::leapfrog_iterations`]).

use super::{Check, Common, Monitor, SolveInfo, iterate, residual};
use crate::FitError;
use crate::grid3::backend::{Coef, LinearOperator, Residual, VectorOps};

/// Parameters of [`solve`].
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Params {
    /// Time step. Default 0.5 (the source's).
    pub dt: f64,
    /// Damping of the velocity per step. Default 0.15 (the source's).
    pub damp: f64,
    /// Tolerance, limits, check interval.
    pub common: Common,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            dt: 0.5,
            damp: 0.15,
            common: Common::default(),
        }
    }
}

/// Solves `a x = b` from the initial `x`.
///
/// # Errors
/// [`FitError::InvalidParameter`], [`FitError::NoConvergence`], [`FitError::Diverged`].
pub fn solve<B: VectorOps + ?Sized, A: LinearOperator<B> + ?Sized>(
    ops: &B,
    a: &A,
    b: &B::Vector,
    x: &mut B::Vector,
    check: &Residual<'_, B>,
    params: &Params,
) -> Result<SolveInfo, FitError> {
    if !(params.dt > 0.0 && (0.0..1.0).contains(&params.damp)) {
        return Err(FitError::InvalidParameter {
            name: "dt/damp",
            reason: "need dt > 0 and 0 <= damp < 1".into(),
        });
    }
    let mut mon = Monitor::new(ops, check, b, params.common, "relaxation")?;
    let mut r = ops.alloc()?;
    let mut v = ops.alloc()?;
    residual(ops, a, b, x, &mut r)?;
    iterate!(mon, ops, x, r, it, {
        ops.axpby(
            Coef::Const(params.dt),
            &r,
            Coef::Const(1.0 - params.damp),
            &mut v,
        )?;
        ops.axpby(Coef::Const(params.dt), &v, Coef::Const(1.0), x)?;
        residual(ops, a, b, x, &mut r)?;
    })
}
