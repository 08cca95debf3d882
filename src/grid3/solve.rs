//! [`solve`]: every method and formulation behind one entry point (CPU backend).

use super::Boundary;
use super::backend::{LinearOperator, Residual, SolveBackend, Squared, VectorOps};
use super::band::mirror_scale;
use super::cpu::CpuOps;
use super::direct::DirectPlan;
use super::operator::{DIAG_B2, StencilOp};
use super::prefilter::validate;
use super::solvers::{self, Common, SolveInfo};
use super::spai::{self, Target};
use super::stencil::StencilForm;
use crate::{FitError, Par, Real};
use ndarray::{Array3, ArrayView3};

/// A solution method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// The source's damped leapfrog relaxation ([`solvers::relaxation`]).
    Relaxation,
    /// Weighted Jacobi ([`solvers::jacobi`]).
    Jacobi,
    /// Chebyshev iteration on the analytic bounds ([`solvers::chebyshev`]).
    Chebyshev,
    /// Conjugate gradients ([`solvers::cg`]).
    Cg,
    /// PCG with the 3³ SPAI stencil ([`super::spai`]).
    Pcg3,
    /// PCG with the 5³ SPAI stencil.
    Pcg5,
    /// The exact separable solve ([`super::direct`]); ignores the formulation.
    Direct,
}

impl Method {
    /// All methods, slowest first.
    pub const ALL: [Method; 7] = [
        Method::Relaxation,
        Method::Jacobi,
        Method::Chebyshev,
        Method::Cg,
        Method::Pcg3,
        Method::Pcg5,
        Method::Direct,
    ];

    /// Short name (`relax`, `jacobi`, `chebyshev`, `cg`, `pcg3`, `pcg5`, `direct`).
    pub fn name(self) -> &'static str {
        match self {
            Method::Relaxation => "relax",
            Method::Jacobi => "jacobi",
            Method::Chebyshev => "chebyshev",
            Method::Cg => "cg",
            Method::Pcg3 => "pcg3",
            Method::Pcg5 => "pcg5",
            Method::Direct => "direct",
        }
    }

    /// Parses [`Method::name`].
    pub fn from_name(s: &str) -> Option<Method> {
        Method::ALL
            .into_iter()
            .find(|m| m.name() == s.trim().to_ascii_lowercase())
    }
}

/// Which linear system is iterated on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Formulation {
    /// `B c = F` (spectrum `⊂ [1/27, 1]` on periodic grids).
    #[default]
    Interpolate,
    /// The source's normal equations `B² c = B F` (spectrum `⊂ [1/729, 1]`); converged
    /// when the data residual `‖F − B c‖/‖F‖` reaches the tolerance.
    NormalEquations,
}

impl Formulation {
    /// Short name (`B` or `B2`).
    pub fn name(self) -> &'static str {
        match self {
            Formulation::Interpolate => "B",
            Formulation::NormalEquations => "B2",
        }
    }
}

/// Options of [`solve`].
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct SolveOptions {
    /// Method. Default [`Method::Direct`].
    pub method: Method,
    /// Formulation. Default [`Formulation::Interpolate`].
    pub formulation: Formulation,
    /// Tolerance, iteration limit, check interval, divergence limit.
    pub common: Common,
    /// How `B` is applied. Default separable.
    pub form: StencilForm,
    /// Parallelism. Default [`Par::auto`].
    pub par: Par,
    /// Jacobi weight (`None` = optimal).
    pub omega: Option<f64>,
    /// Relaxation time step.
    pub dt: f64,
    /// Relaxation damping.
    pub damp: f64,
}

impl Default for SolveOptions {
    fn default() -> Self {
        SolveOptions {
            method: Method::Direct,
            formulation: Formulation::Interpolate,
            common: Common::default(),
            form: StencilForm::Separable,
            par: Par::auto(),
            omega: None,
            dt: 0.5,
            damp: 0.15,
        }
    }
}

impl SolveOptions {
    /// Options for `method` and `formulation`, the rest default.
    pub fn new(method: Method, formulation: Formulation) -> Self {
        SolveOptions {
            method,
            formulation,
            ..SolveOptions::default()
        }
    }
}

/// What [`solve`] reports.
#[derive(Debug, Clone, PartialEq)]
pub struct SolveReport {
    /// The iterative solver's report (`iterations = 0` and an empty history for `Direct`).
    pub info: SolveInfo,
    /// `‖F − B c‖ / ‖F‖` of the returned coefficients, computed afterwards in f64.
    pub data_residual: f64,
    /// Wall time of the method itself in seconds (operators, vectors and factors built,
    /// the solve run; input validation and the `data_residual` evaluation excluded).
    pub seconds: f64,
}

/// Cubic B-spline coefficients of `values` by the method of `options`.
///
/// Iterative methods start from `c = 0`. On `Mirror` axes they iterate on the
/// symmetrised system (`S B S⁻¹ (S c) = S F`, [`super::band`]), so their convergence test
/// measures the residual in the trapezoid-weighted norm; [`SolveReport::data_residual`]
/// is always the plain `‖F − B c‖/‖F‖`. For `NormalEquations`, `B²`'s diagonal is taken
/// as 0.125 everywhere (exact except next to `Zero` boundaries, where it is `17/36` per
/// axis instead of `1/2`; Jacobi there is a Richardson step with that constant).
///
/// # Errors
/// Input errors as [`super::prefilter`]; [`FitError::NoConvergence`] and
/// [`FitError::Diverged`] from the solvers; [`FitError::InvalidParameter`] for bad options;
/// [`FitError::NonFiniteResult`] if the coefficients overflow.
pub fn solve<T: Real>(
    values: ArrayView3<'_, T>,
    boundary: [Boundary; 3],
    options: &SolveOptions,
) -> Result<(Array3<T>, SolveReport), FitError> {
    validate(&values)?;
    let (n0, n1, n2) = values.dim();
    let shape = [n0, n1, n2];
    let f: Vec<T> = values.iter().copied().collect();
    let (c, info, seconds) = if options.method == Method::Direct {
        let start = std::time::Instant::now();
        let mut c = vec![T::ZERO; f.len()];
        DirectPlan::<T>::new(shape, boundary, options.par).solve(&f, &mut c);
        let seconds = start.elapsed().as_secs_f64();
        super::prefilter::check_finite(&f, &c)?;
        let info = SolveInfo::direct();
        (c, info, seconds)
    } else {
        iterate(&CpuOps::<T>::new(shape, options.par), &f, boundary, options)?
    };
    report(&f, c, shape, boundary, info, seconds)
}

/// The coefficients as an array with the solve's report (the data residual
/// `‖F − B c‖/‖F‖` evaluated in f64), for the CPU and GPU entry points.
pub(crate) fn report<T: Real>(
    f: &[T],
    c: Vec<T>,
    shape: [usize; 3],
    boundary: [Boundary; 3],
    info: SolveInfo,
    seconds: f64,
) -> Result<(Array3<T>, SolveReport), FitError> {
    let data_residual = data_residual(f, &c, shape, boundary);
    let out = Array3::from_shape_vec(shape, c)
        .map_err(|e| FitError::InvalidData(format!("output shape: {e}")))?;
    Ok((
        out,
        SolveReport {
            info,
            data_residual,
            seconds,
        },
    ))
}

/// `⌊log₂ max |F|⌋` (0 for all-zero data).
fn pow2_exponent<T: Real>(f: &[T]) -> i32 {
    let m = f.iter().fold(0.0f64, |m, v| m.max(v.to_f64().abs()));
    if m > 0.0 && m.is_finite() {
        m.log2().floor() as i32
    } else {
        0
    }
}

/// `v · 2^k`, applied in two halves so that each factor is representable in `T`.
fn scale_pow2<T: Real>(v: T, k: i32) -> T {
    let a = k / 2;
    v * T::from_f64(2f64.powi(a)) * T::from_f64(2f64.powi(k - a))
}

/// `‖F − B c‖ / ‖F‖` in f64 (0 if `F = 0`).
pub(crate) fn data_residual<T: Real>(
    f: &[T],
    c: &[T],
    shape: [usize; 3],
    bc: [Boundary; 3],
) -> f64 {
    let cf: Vec<f64> = c.iter().map(|v| v.to_f64()).collect();
    let mut bcv = vec![0.0; cf.len()];
    StencilOp::<f64>::bspline(shape, bc, false, StencilForm::Separable, Par::auto())
        .apply_slice(&cf, &mut bcv);
    // Scaled by max |F| so that the squares cannot overflow.
    let scale = f.iter().fold(0.0f64, |m, v| m.max(v.to_f64().abs()));
    let inv = if scale > 1e-290 && scale.is_finite() {
        1.0 / scale
    } else {
        1.0
    };
    let (mut num, mut den) = (0.0, 0.0);
    for (a, b) in f.iter().zip(&bcv) {
        let a = a.to_f64() * inv;
        let b = b * inv;
        num += (a - b) * (a - b);
        den += a * a;
    }
    if den == 0.0 {
        num.sqrt()
    } else {
        (num / den).sqrt()
    }
}

/// The symmetrisation scale `S` of the grid (1 except on the end planes of mirror axes).
pub(crate) fn grid_scale(shape: [usize; 3], bc: [Boundary; 3]) -> Option<Vec<f64>> {
    if !bc.contains(&Boundary::Mirror) {
        return None;
    }
    let s: [Vec<f64>; 3] = std::array::from_fn(|a| mirror_scale(shape[a], bc[a]));
    let mut out = Vec::with_capacity(shape.iter().product());
    for &a in &s[0] {
        for &b in &s[1] {
            for &c in &s[2] {
                out.push(a * b * c);
            }
        }
    }
    Some(out)
}

/// The one wrapper of every iterative solve, CPU or GPU: iterates on `F`
/// scaled by a power of two to `max |F| ∈ [1, 2)` (exact for normal numbers;
/// the solvers' norms then neither underflow — tiny data would read as
/// converged at `c = 0` — nor overflow, also in a GPU's f32 reduction
/// slots) and on the symmetrised system of mirror axes, then scales back and
/// checks that the coefficients are finite. Returns the coefficients, the
/// solver's report and the seconds from the uploaded data to the finished
/// solve (upload and download excluded).
pub(crate) fn iterate<B: SolveBackend>(
    ops: &B,
    f: &[B::Elem],
    bc: [Boundary; 3],
    o: &SolveOptions,
) -> Result<(Vec<B::Elem>, SolveInfo, f64), FitError> {
    let shape = ops.shape();
    let e = pow2_exponent(f);
    let scale = grid_scale(shape, bc);
    let weight = |i: usize| scale.as_ref().map_or(1.0, |s| s[i]);
    let sf: Vec<B::Elem> = f
        .iter()
        .enumerate()
        .map(|(i, &v)| scale_pow2(v, -e) * B::Elem::from_f64(weight(i)))
        .collect();
    let sf = ops.upload(&sf)?;
    ops.finish()?;
    let start = std::time::Instant::now();
    let b = ops.bspline(bc, true, o.form)?;
    let precond = match o.method {
        Method::Pcg3 | Method::Pcg5 => {
            let width = if o.method == Method::Pcg3 { 3 } else { 5 };
            let target = match o.formulation {
                Formulation::Interpolate => Target::Interpolate,
                Formulation::NormalEquations => Target::NormalEquations,
            };
            Some(ops.separable(&spai::taps(width, target), bc, true)?)
        }
        _ => None,
    };
    let precond = precond.as_deref();
    let mut x = ops.alloc()?;
    let info = match o.formulation {
        Formulation::Interpolate => {
            run_method(ops, &*b, precond, &sf, &mut x, &Residual::System, o)
        }
        Formulation::NormalEquations => {
            let a = Squared::new(ops, &*b, DIAG_B2)?;
            let mut rhs = ops.alloc()?;
            b.apply(ops, &sf, &mut rhs)?;
            let check = Residual::Data { op: &*b, data: &sf };
            run_method(ops, &a, precond, &rhs, &mut x, &check, o)
        }
    }?;
    ops.finish()?;
    let seconds = start.elapsed().as_secs_f64();
    let mut c = ops.download(&x)?;
    for (i, v) in c.iter_mut().enumerate() {
        *v = scale_pow2(*v / B::Elem::from_f64(weight(i)), e);
    }
    super::prefilter::check_finite(f, &c)?;
    Ok((c, info, seconds))
}

/// Runs the iterative method of `o` on `A x = rhs` over any backend: the one
/// dispatch from [`SolveOptions`] to the generic solvers, shared by the CPU
/// and GPU entry points.
pub(crate) fn run_method<B: VectorOps + ?Sized, A: LinearOperator<B> + ?Sized>(
    ops: &B,
    a: &A,
    precond: Option<&dyn super::backend::Preconditioner<B>>,
    rhs: &B::Vector,
    x: &mut B::Vector,
    check: &Residual<'_, B>,
    o: &SolveOptions,
) -> Result<SolveInfo, FitError> {
    match o.method {
        Method::Relaxation => {
            let mut p = solvers::relaxation::Params::default();
            (p.dt, p.damp, p.common) = (o.dt, o.damp, o.common);
            solvers::relaxation::solve(ops, a, rhs, x, check, &p)
        }
        Method::Jacobi => {
            let mut p = solvers::jacobi::Params::default();
            (p.omega, p.common) = (o.omega, o.common);
            solvers::jacobi::solve(ops, a, rhs, x, check, &p)
        }
        Method::Chebyshev => {
            let p = solvers::chebyshev::Params {
                common: o.common,
                ..Default::default()
            };
            solvers::chebyshev::solve(ops, a, rhs, x, check, &p)
        }
        Method::Cg | Method::Pcg3 | Method::Pcg5 => {
            let p = solvers::cg::Params { common: o.common };
            solvers::cg::solve(ops, a, precond, rhs, x, check, &p)
        }
        Method::Direct => Err(FitError::InvalidParameter {
            name: "method",
            reason: "the direct method is not iterative".into(),
        }),
    }
}
