//! Conjugate gradients, optionally preconditioned (PCG).
//!
//! Standard PCG for SPD `A` and SPD `M⁻¹`: `z = M⁻¹r`, `α = rᵀz / pᵀAp`,
//! `x ← x + αp`, `r ← r − αAp`, `β = r'ᵀz' / rᵀz`, `p ← z' + βp`. Both inner products
//! stay in backend slots and enter the updates as [`Coef::Ratio`] / [`Coef::NegRatio`]:
//! no host round trip per iteration. The convergence test uses the recurrence residual
//! (or the data residual, see [`Residual`]). Without a preconditioner CG needs about
//! `ln(ε)/ln((√κ−1)/(√κ+1))` iterations: ~35 on `B`, ~186 on `B²` per 10⁻⁶.

use super::{Check, Common, Monitor, SolveInfo, iterate, residual};
use crate::FitError;
use crate::grid3::backend::{Coef, LinearOperator, Preconditioner, Residual, Slot, VectorOps};

/// Parameters of [`solve`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[non_exhaustive]
pub struct Params {
    /// Tolerance, limits, check interval.
    pub common: Common,
}

const S_RZ: [Slot; 2] = [Slot(2), Slot(3)];
const S_PAP: Slot = Slot(4);

/// Solves `a x = b` from the initial `x`, preconditioned by `m` if given.
///
/// # Errors
/// [`FitError::InvalidParameter`], [`FitError::NoConvergence`], [`FitError::Diverged`]
/// (also on breakdown, which shows up as a NaN residual).
pub fn solve<B: VectorOps + ?Sized, A: LinearOperator<B> + ?Sized>(
    ops: &B,
    a: &A,
    m: Option<&dyn Preconditioner<B>>,
    b: &B::Vector,
    x: &mut B::Vector,
    check: &Residual<'_, B>,
    params: &Params,
) -> Result<SolveInfo, FitError> {
    let name = if m.is_some() { "pcg" } else { "cg" };
    let mut mon = Monitor::new(ops, check, b, params.common, name)?;
    let mut r = ops.alloc()?;
    let mut p = ops.alloc()?;
    let mut ap = ops.alloc()?;
    let mut z = match m {
        Some(_) => Some(ops.alloc()?),
        None => None,
    };
    residual(ops, a, b, x, &mut r)?;
    let mut cur = 0usize;
    match (m, z.as_mut()) {
        (Some(m), Some(z)) => {
            m.apply(ops, &r, z)?;
            ops.dot(&r, z, S_RZ[cur])?;
            ops.copy(z, &mut p)?;
        }
        _ => {
            ops.dot(&r, &r, S_RZ[cur])?;
            ops.copy(&r, &mut p)?;
        }
    }
    iterate!(mon, ops, x, r, it, {
        a.apply(ops, &p, &mut ap)?;
        ops.dot(&p, &ap, S_PAP)?;
        ops.axpby(Coef::Ratio(S_RZ[cur], S_PAP), &p, Coef::Const(1.0), x)?;
        ops.axpby(
            Coef::NegRatio(S_RZ[cur], S_PAP),
            &ap,
            Coef::Const(1.0),
            &mut r,
        )?;
        let next = 1 - cur;
        let zr: &B::Vector = match (m, z.as_mut()) {
            (Some(m), Some(z)) => {
                m.apply(ops, &r, z)?;
                z
            }
            _ => &r,
        };
        ops.dot(&r, zr, S_RZ[next])?;
        ops.axpby(
            Coef::Const(1.0),
            zr,
            Coef::Ratio(S_RZ[next], S_RZ[cur]),
            &mut p,
        )?;
        cur = next;
    })
}
