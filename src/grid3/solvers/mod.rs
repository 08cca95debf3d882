//! Iterative solvers of `A x = b`, written once over the backend traits
//! ([`VectorOps`], [`LinearOperator`], [`Preconditioner`](super::backend::Preconditioner)) so the CPU and GPU backends
//! run the same code.
//!
//! Rules every solver here follows (they matter on a GPU): every operation is
//! checked by the backend before it runs (a vector of another shape or
//! device is an error, returned before anything is recorded); all vectors are allocated
//! before the loop; scalars from reductions stay in backend [`Slot`]s and reach the
//! update coefficients through [`Coef`]; the host reads a slot only at a convergence
//! check, every `check_every` iterations. Each solver has a `Params` struct
//! (`Default`, with the [`Common`] settings), returns a [`SolveInfo`] and reports
//! non-convergence ([`FitError::NoConvergence`]) and divergence ([`FitError::Diverged`],
//! residual growing past `divergence` times its initial value, or NaN) with the residual.
//!
//! * [`relaxation`]: the source's damped leapfrog (`v ← (1−damp) v + dt r`, `x ← x + dt v`).
//! * [`jacobi`]: weighted Jacobi `x ← x + (ω/d) r` with the constant diagonal `d`.
//! * [`chebyshev`]: Chebyshev iteration on spectral bounds `[λ_min, λ_max]`.
//! * [`cg`]: conjugate gradients, optionally preconditioned (PCG).

use super::backend::{Coef, LinearOperator, Residual, Slot, VectorOps};
use crate::FitError;

pub mod cg;
pub mod chebyshev;
pub mod jacobi;
pub mod relaxation;

/// Settings shared by every iterative solver.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Common {
    /// Relative residual to reach (see [`Residual`]). Default `1e-6`.
    pub tol: f64,
    /// Iteration limit. Default 20,000.
    pub max_iter: usize,
    /// Check convergence (one host read of a slot) every this many iterations. Default 1;
    /// a GPU backend would use ~10–50.
    pub check_every: usize,
    /// The iteration is reported divergent when the relative residual exceeds this.
    /// Default `1e3`.
    pub divergence: f64,
}

impl Default for Common {
    fn default() -> Self {
        Common {
            tol: 1e-6,
            max_iter: 20_000,
            check_every: 1,
            divergence: 1e3,
        }
    }
}

impl Common {
    fn validate(&self) -> Result<(), FitError> {
        let bad = |name, reason: &str| {
            Err(FitError::InvalidParameter {
                name,
                reason: reason.into(),
            })
        };
        if !(self.tol > 0.0 && self.tol.is_finite()) {
            return bad("tol", "must be positive and finite");
        }
        if self.check_every == 0 {
            return bad("check_every", "must be at least 1");
        }
        if self.divergence.is_nan() || self.divergence <= 1.0 {
            return bad("divergence", "must be greater than 1");
        }
        Ok(())
    }
}

/// What a converged solve reports.
#[derive(Debug, Clone, PartialEq)]
pub struct SolveInfo {
    /// Solver name.
    pub solver: &'static str,
    /// Iterations performed.
    pub iterations: usize,
    /// Last measured relative residual.
    pub residual: f64,
    /// `(iteration, relative residual)` at every check, starting at iteration 0.
    pub history: Vec<(usize, f64)>,
}

/// Slot of `‖reference‖²`.
impl SolveInfo {
    /// The report of the direct solve (no iterations, no residual history).
    pub fn direct() -> SolveInfo {
        SolveInfo {
            solver: "direct",
            iterations: 0,
            residual: f64::NAN,
            history: Vec::new(),
        }
    }
}

const S_REF: Slot = Slot(0);
/// Slot of the checked `‖residual‖²`.
const S_RES: Slot = Slot(1);

/// The convergence check shared by the solvers.
struct Monitor<'a, B: VectorOps + ?Sized> {
    residual: &'a Residual<'a, B>,
    tmp: Option<B::Vector>,
    ref_norm: f64,
    common: Common,
    solver: &'static str,
    history: Vec<(usize, f64)>,
}

enum Check {
    Continue,
    Converged,
}

impl<'a, B: VectorOps + ?Sized> Monitor<'a, B> {
    fn new(
        ops: &B,
        residual: &'a Residual<'a, B>,
        rhs: &B::Vector,
        common: Common,
        solver: &'static str,
    ) -> Result<Self, FitError> {
        common.validate()?;
        let tmp = match residual {
            Residual::System => {
                ops.dot(rhs, rhs, S_REF)?;
                None
            }
            Residual::Data { data, .. } => {
                ops.dot(data, data, S_REF)?;
                Some(ops.alloc()?)
            }
        };
        let ref_norm = ops.read_slot(S_REF)?.sqrt();
        if !ref_norm.is_finite() {
            return Err(FitError::Diverged {
                solver,
                iteration: 0,
                residual: f64::NAN,
            });
        }
        Ok(Monitor {
            residual,
            tmp,
            ref_norm,
            common,
            solver,
            // Sized for every check up to the iteration limit (at most 2¹⁶
            // entries): no allocation inside the iteration loop.
            history: Vec::with_capacity(
                (common.max_iter / common.check_every)
                    .saturating_add(2)
                    .min(1 << 16),
            ),
        })
    }

    /// Checks at iteration `it` (if due), with `r = b − A x` the solver's residual.
    fn check(
        &mut self,
        ops: &B,
        it: usize,
        x: &B::Vector,
        r: &B::Vector,
    ) -> Result<Check, FitError> {
        if !it.is_multiple_of(self.common.check_every) && it < self.common.max_iter {
            return Ok(Check::Continue);
        }
        match (self.residual, self.tmp.as_mut()) {
            (Residual::Data { op, data }, Some(t)) => {
                op.apply(ops, x, t)?;
                ops.axpby(Coef::Const(1.0), data, Coef::Const(-1.0), t)?;
                ops.dot(t, t, S_RES)?;
            }
            _ => ops.dot(r, r, S_RES)?,
        }
        // One read per check: on a GPU each read is a host round trip.
        let res2 = ops.read_slot(S_RES)?;
        let rel = if res2.is_nan() {
            f64::NAN
        } else if self.ref_norm == 0.0 {
            0.0
        } else {
            res2.max(0.0).sqrt() / self.ref_norm
        };
        self.history.push((it, rel));
        if !rel.is_finite() || rel > self.common.divergence {
            return Err(FitError::Diverged {
                solver: self.solver,
                iteration: it,
                residual: rel,
            });
        }
        if rel <= self.common.tol {
            return Ok(Check::Converged);
        }
        if it >= self.common.max_iter {
            return Err(FitError::NoConvergence {
                solver: self.solver,
                iterations: it,
                residual: rel,
                tolerance: self.common.tol,
            });
        }
        Ok(Check::Continue)
    }

    fn info(self, iterations: usize) -> SolveInfo {
        SolveInfo {
            solver: self.solver,
            iterations,
            residual: self.history.last().map_or(0.0, |h| h.1),
            history: self.history,
        }
    }
}

/// `r ← b − A x`.
fn residual<B: VectorOps + ?Sized, A: LinearOperator<B> + ?Sized>(
    ops: &B,
    a: &A,
    b: &B::Vector,
    x: &B::Vector,
    r: &mut B::Vector,
) -> Result<(), FitError> {
    a.apply(ops, x, r)?;
    ops.axpby(Coef::Const(1.0), b, Coef::Const(-1.0), r)
}

/// Runs `body(it)` for `it = 0, 1, …`, checking convergence before each step.
/// (Shared loop skeleton of the stationary methods.)
macro_rules! iterate {
    ($mon:ident, $ops:ident, $x:ident, $r:ident, $it:ident, $body:block) => {{
        let mut $it = 0usize;
        loop {
            if let Check::Converged = $mon.check($ops, $it, $x, &$r)? {
                break;
            }
            $body
            $it += 1;
        }
        Ok($mon.info($it))
    }};
}
pub(crate) use iterate;
