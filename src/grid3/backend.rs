//! The backend-neutral solver interface of the uniform 3D path.
//!
//! Every iterative solver in [`crate::grid3`] is written once, generic over
//! [`VectorOps`] (where vectors live and how BLAS-1 operations run) and
//! [`LinearOperator`] / [`Preconditioner`] (what is applied to them). The CPU
//! backend implements these on slices; the `gpu` backend implements them on
//! device buffers, so the same solver code drives both.
//!
//! Scalars produced by reductions (dot products, norms) stay on the backend in
//! numbered [`Slot`]s and are combined into update coefficients through
//! [`Coef`] without leaving it: a GPU never has to send a dot product to the
//! host to compute a CG step. The solver reads a slot back to the host
//! ([`VectorOps::read_slot`], one round trip on a GPU) only when it checks
//! convergence, every `check_every` iterations.

use crate::FitError;

/// Index of a scalar register kept by a backend (at least [`MIN_SLOTS`] exist).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Slot(pub usize);

/// Number of scalar slots every backend provides.
pub const MIN_SLOTS: usize = 16;

/// A coefficient of a vector update, evaluated on the backend.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Coef {
    /// A constant known on the host.
    Const(f64),
    /// The value of a slot.
    Slot(Slot),
    /// `slot_a / slot_b` (e.g. CG's `α = rᵀz / pᵀAp`).
    Ratio(Slot, Slot),
    /// `-slot_a / slot_b`.
    NegRatio(Slot, Slot),
}

/// Vectors of one fixed grid shape and the BLAS-1 operations on them.
///
/// Every operation checks its vectors (their length, and on a GPU their
/// device) and its slots before it runs or records anything, and returns
/// [`FitError::InvalidParameter`] naming the argument at fault otherwise.
pub trait VectorOps {
    /// A grid-shaped vector owned by this backend.
    type Vector;

    /// Grid shape `[n0, n1, n2]` (row-major, axis 2 contiguous).
    fn shape(&self) -> [usize; 3];

    /// Allocates a zeroed vector. Solvers call this only while building their
    /// state, never inside the iteration loop.
    ///
    /// # Errors
    /// [`FitError::InvalidParameter`] (host) or [`FitError::Gpu`] (device)
    /// when the vector cannot be allocated.
    fn alloc(&self) -> Result<Self::Vector, FitError>;

    /// `dst ← src`.
    ///
    /// # Errors
    /// [`FitError::InvalidParameter`] if a vector is not one of this backend.
    fn copy(&self, src: &Self::Vector, dst: &mut Self::Vector) -> Result<(), FitError>;

    /// `y ← a·x + b·y`.
    ///
    /// # Errors
    /// [`FitError::InvalidParameter`] if a vector is not one of this backend
    /// or a coefficient names a slot `≥` [`MIN_SLOTS`].
    fn axpby(
        &self,
        a: Coef,
        x: &Self::Vector,
        b: Coef,
        y: &mut Self::Vector,
    ) -> Result<(), FitError>;

    /// `slot ← xᵀy` (accumulated in at least f64 precision on the CPU).
    ///
    /// # Errors
    /// As [`axpby`](Self::axpby).
    fn dot(&self, x: &Self::Vector, y: &Self::Vector, slot: Slot) -> Result<(), FitError>;

    /// `slot ← value`.
    ///
    /// # Errors
    /// [`FitError::InvalidParameter`] for a slot `≥` [`MIN_SLOTS`].
    fn set_slot(&self, slot: Slot, value: f64) -> Result<(), FitError>;

    /// Reads a slot to the host; on a GPU this waits for queued work (one round trip).
    ///
    /// # Errors
    /// [`FitError::InvalidParameter`] for a slot `≥` [`MIN_SLOTS`];
    /// [`FitError::Gpu`] if the device fails.
    fn read_slot(&self, slot: Slot) -> Result<f64, FitError>;
}

/// [`FitError::InvalidParameter`] unless `slot` is below [`MIN_SLOTS`].
pub(crate) fn check_slot(slot: Slot) -> Result<(), FitError> {
    if slot.0 < MIN_SLOTS {
        Ok(())
    } else {
        Err(FitError::InvalidParameter {
            name: "slot",
            reason: format!("slot {} of {MIN_SLOTS}", slot.0),
        })
    }
}

/// [`check_slot`] for every slot a coefficient reads.
pub(crate) fn check_coef(c: Coef) -> Result<(), FitError> {
    match c {
        Coef::Const(_) => Ok(()),
        Coef::Slot(s) => check_slot(s),
        Coef::Ratio(a, b) | Coef::NegRatio(a, b) => check_slot(a).and(check_slot(b)),
    }
}

/// A linear operator `y ← A x` on vectors of a backend.
pub trait LinearOperator<B: VectorOps + ?Sized> {
    /// `y ← A x`. `x` and `y` are distinct vectors.
    ///
    /// # Errors
    /// [`FitError::InvalidParameter`] if the backend, `x` or `y` is not of
    /// the operator's shape (or, on a GPU, of its device); nothing runs or
    /// is recorded then.
    fn apply(&self, ops: &B, x: &B::Vector, y: &mut B::Vector) -> Result<(), FitError>;

    /// The constant diagonal of `A` (the operators here are stencils).
    fn diagonal(&self) -> f64;

    /// Bounds `[λ_min, λ_max]` on the spectrum of `A` (for Chebyshev and Richardson).
    fn spectrum_bounds(&self) -> (f64, f64);
}

/// A preconditioner `z ← M⁻¹ r`.
pub trait Preconditioner<B: VectorOps + ?Sized> {
    /// `z ← M⁻¹ r`. `r` and `z` are distinct vectors.
    ///
    /// # Errors
    /// As [`LinearOperator::apply`].
    fn apply(&self, ops: &B, r: &B::Vector, z: &mut B::Vector) -> Result<(), FitError>;
}

/// What an iterative solver's convergence test measures, every `check_every` iterations.
///
/// Both variants only use backend operations, so they run on any backend.
pub enum Residual<'a, B: VectorOps + ?Sized> {
    /// `‖b − A x‖ / ‖b‖` of the system `A x = b` being solved. Free: every solver keeps
    /// that residual (CG/PCG's is the recurrence residual).
    System,
    /// `‖f − G x‖ / ‖f‖` for another operator `G` and data `f`: e.g. the data residual
    /// `‖F − B c‖` while solving the normal equations `B² c = B F`. Costs one application
    /// of `G` per check, into a vector the solver allocates before its loop.
    Data {
        /// The operator `G`.
        op: &'a dyn LinearOperator<B>,
        /// The data `f`.
        data: &'a B::Vector,
    },
}

/// `A²` for a symmetric operator `A` (the normal-equations matrix `AᵀA`), applied as
/// two applications of `A` through a vector allocated once at construction.
pub struct Squared<'a, B: VectorOps + ?Sized, A: LinearOperator<B> + ?Sized> {
    inner: &'a A,
    tmp: std::cell::RefCell<B::Vector>,
    diagonal: f64,
}

impl<'a, B: VectorOps + ?Sized, A: LinearOperator<B> + ?Sized> Squared<'a, B, A> {
    /// `A²` with its constant diagonal `diagonal` (the operator cannot know it from `A`'s
    /// diagonal alone: for the B-spline stencil it is `Σ w² = 0.125`, not `(8/27)²`).
    pub fn new(ops: &B, inner: &'a A, diagonal: f64) -> Result<Self, FitError> {
        Ok(Squared {
            inner,
            tmp: std::cell::RefCell::new(ops.alloc()?),
            diagonal,
        })
    }
}

impl<B: VectorOps + ?Sized, A: LinearOperator<B> + ?Sized> LinearOperator<B> for Squared<'_, B, A> {
    fn apply(&self, ops: &B, x: &B::Vector, y: &mut B::Vector) -> Result<(), FitError> {
        let mut t = self.tmp.borrow_mut();
        self.inner.apply(ops, x, &mut t)?;
        self.inner.apply(ops, &t, y)
    }

    fn diagonal(&self) -> f64 {
        self.diagonal
    }

    fn spectrum_bounds(&self) -> (f64, f64) {
        let (lo, hi) = self.inner.spectrum_bounds();
        (lo * lo, hi * hi)
    }
}

/// A backend the shared solve wrapper
/// ([`crate::grid3::solve`] and, with feature `gpu`, `grid3::gpu::solve`)
/// can drive end to end: moving host data in and out, and building the
/// B-spline operator and the separable preconditioners on its vectors. The
/// power-of-two scaling of the data, the mirror symmetrisation and the
/// finiteness check live once in that wrapper, for every backend.
pub trait SolveBackend: VectorOps + Sized {
    /// The host element type of this backend's vectors.
    type Elem: crate::Real;

    /// A backend vector holding `host` (the grid's length).
    ///
    /// # Errors
    /// [`FitError::Gpu`] on a device failure.
    fn upload(&self, host: &[Self::Elem]) -> Result<Self::Vector, FitError>;

    /// The host copy of `v`.
    ///
    /// # Errors
    /// [`FitError::Gpu`] on a device failure.
    fn download(&self, v: &Self::Vector) -> Result<Vec<Self::Elem>, FitError>;

    /// Waits until the work submitted so far has completed (a no-op on the CPU).
    ///
    /// # Errors
    /// [`FitError::Gpu`] on a device failure.
    fn finish(&self) -> Result<(), FitError> {
        Ok(())
    }

    /// The B-spline operator `B` with `boundary` per axis (mirror axes
    /// symmetrised when `symmetric`), applied in `form`.
    ///
    /// # Errors
    /// [`FitError::Gpu`] on a device failure.
    fn bspline<'s>(
        &'s self,
        boundary: [crate::grid3::Boundary; 3],
        symmetric: bool,
        form: crate::grid3::StencilForm,
    ) -> Result<Box<dyn LinearOperator<Self> + 's>, FitError>;

    /// The separable stencil with the symmetric 1D `taps` on every axis (a
    /// SPAI preconditioner).
    ///
    /// # Errors
    /// [`FitError::InvalidParameter`] for an unsupported tap count;
    /// [`FitError::Gpu`] on a device failure.
    fn separable<'s>(
        &'s self,
        taps: &[f64],
        boundary: [crate::grid3::Boundary; 3],
        symmetric: bool,
    ) -> Result<Box<dyn Preconditioner<Self> + 's>, FitError>;
}
