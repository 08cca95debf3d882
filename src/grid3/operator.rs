//! CPU operators: the B-spline stencil `B = b ⊗ b ⊗ b` and general separable stencils,
//! implementing [`LinearOperator`] / [`Preconditioner`] for [`CpuOps`].

use super::Boundary;
use super::backend::{LinearOperator, Preconditioner, SolveBackend, VectorOps};
use super::band::Band1d;
use super::cpu::CpuOps;
use super::stencil::{
    AxisT, StencilForm, apply, apply_reference, plane_tasks, separable_scratch_len,
};
use super::theory::bspline_bounds;
use crate::error::panic_short;
use crate::isa::Kernels;
use crate::workspace::{ScratchReq, Workspace};
use crate::{FitError, Isa, Par, Real};
use std::sync::Mutex;

/// The 1D cubic B-spline taps `b = [1/6, 2/3, 1/6]` (values of `B₃` at the grid points).
pub const BSPLINE_TAPS: [f64; 3] = [1.0 / 6.0, 2.0 / 3.0, 1.0 / 6.0];

/// Diagonal of `B`: `(2/3)³ = 8/27`.
pub const DIAG_B: f64 = 8.0 / 27.0;

/// Diagonal of `B²` (away from `Zero` boundaries): `(Σ w²)³ = (1/36 + 16/36 + 1/36)³ = 0.125`.
pub const DIAG_B2: f64 = 0.125;

/// A separable stencil `M₀ ⊗ M₁ ⊗ M₂` on the CPU, with its own workspace
/// for [`apply_slice`](StencilOp::apply_slice) and the solver traits.
#[derive(Debug)]
pub struct StencilOp<T: Real> {
    axes: [AxisT<T>; 3],
    form: StencilForm,
    par: Par,
    kernels: Kernels,
    diagonal: f64,
    bounds: (f64, f64),
    workspace: Mutex<Workspace>,
}

impl<T: Real> Clone for StencilOp<T> {
    fn clone(&self) -> Self {
        StencilOp {
            axes: self.axes.clone(),
            form: self.form,
            par: self.par,
            kernels: self.kernels,
            diagonal: self.diagonal,
            bounds: self.bounds,
            workspace: Mutex::new(Workspace::with_scratch(self.scratch())),
        }
    }
}

impl<T: Real> StencilOp<T> {
    /// The B-spline operator `B` on `shape` (every extent ≥ 1) with `boundary` per axis.
    ///
    /// With `symmetric`, `Mirror` axes use the symmetrised matrix `S b S⁻¹`
    /// ([`super::band`]): same eigenvalues, symmetric, what the Krylov solvers need.
    pub fn bspline(
        shape: [usize; 3],
        boundary: [Boundary; 3],
        symmetric: bool,
        form: StencilForm,
        par: Par,
    ) -> Self {
        let axes = std::array::from_fn(|a| {
            AxisT::from_band(&Band1d::new(
                &BSPLINE_TAPS,
                shape[a],
                boundary[a],
                symmetric,
            ))
        });
        StencilOp {
            axes,
            form,
            par,
            kernels: Kernels::detect(),
            diagonal: DIAG_B,
            bounds: bspline_bounds(shape, boundary),
            workspace: Mutex::new(Workspace::new()),
        }
        .sized()
    }

    /// The separable stencil with the same symmetric 1D `taps` on every axis.
    /// Spectrum bounds are not known for it and reported as `(NaN, NaN)`.
    pub(crate) fn separable_taps(
        taps: &[f64],
        shape: [usize; 3],
        boundary: [Boundary; 3],
        symmetric: bool,
        par: Par,
    ) -> Self {
        let axes = std::array::from_fn(|a| {
            AxisT::from_band(&Band1d::new(taps, shape[a], boundary[a], symmetric))
        });
        let h = taps.len() / 2;
        StencilOp {
            axes,
            form: StencilForm::Separable,
            par,
            kernels: Kernels::detect(),
            diagonal: taps[h].powi(3),
            bounds: (f64::NAN, f64::NAN),
            workspace: Mutex::new(Workspace::new()),
        }
        .sized()
    }

    /// Grid shape.
    pub fn shape(&self) -> [usize; 3] {
        [self.axes[0].n, self.axes[1].n, self.axes[2].n]
    }

    /// Sizes the operator's own workspace.
    fn sized(self) -> Self {
        let req = self.scratch();
        self.workspace
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .reserve(req);
        self
    }

    /// Values of `T` per task of [`apply_with`](Self::apply_with).
    fn per_worker(&self) -> usize {
        match self.form {
            StencilForm::Direct => 0,
            StencilForm::Separable => separable_scratch_len(&self.axes),
        }
    }

    /// Scratch of [`apply_with`](Self::apply_with): the separable form's
    /// plane cache (`2h + 3` planes) per task; nothing for the direct form.
    pub fn scratch(&self) -> ScratchReq {
        let [n0, n1, n2] = self.shape();
        ScratchReq::per_worker::<T>(plane_tasks(n0, n1 * n2, self.par), self.per_worker())
    }

    /// `y = M x` on slices of the grid's length, with the operator's form and
    /// its own workspace (sized at construction; a second thread applying
    /// the same operator at the same time gets a temporary one).
    ///
    /// # Panics
    /// If `x` or `y` is not of the grid's length.
    pub fn apply_slice(&self, x: &[T], y: &mut [T]) {
        match self.workspace.try_lock() {
            Ok(mut ws) => self.apply_with(x, y, &mut ws),
            Err(_) => self.apply_with(x, y, &mut Workspace::new()),
        }
    }

    /// `y = M x` with scratch from `ws`: once `ws` holds
    /// [`scratch`](Self::scratch), no heap allocation (with `Par::Seq`, or
    /// called from inside a rayon worker).
    ///
    /// # Panics
    /// If `x` or `y` is not of the grid's length.
    pub fn apply_with(&self, x: &[T], y: &mut [T], ws: &mut Workspace) {
        let len: usize = self.shape().iter().product();
        if x.len() != len || y.len() != len {
            panic_short(&"StencilOp::apply_slice", len, x.len().min(y.len()));
        }
        let (mut slots, _) = ws.split(self.scratch(), self.per_worker(), T::ZERO);
        let bufs = slots.as_mut_slice();
        match self.form {
            StencilForm::Direct => apply::<T, true>(&self.axes, x, y, bufs, self.kernels),
            StencilForm::Separable => apply::<T, false>(&self.axes, x, y, bufs, self.kernels),
        }
    }

    /// `y = M x` by the scalar triple loop over all stencil points (the test oracle).
    ///
    /// # Panics
    /// If `x` or `y` is not of the grid's length.
    pub fn apply_reference(&self, x: &[T], y: &mut [T]) {
        let len: usize = self.shape().iter().product();
        if x.len() != len || y.len() != len {
            panic_short(&"StencilOp::apply_reference", len, x.len().min(y.len()));
        }
        apply_reference(&self.axes, x, y);
    }

    /// The same operator running its kernels with `isa` ([`FitError::IsaUnavailable`] if
    /// this CPU lacks it). Results are bit-identical across instruction sets.
    pub fn with_isa(mut self, isa: Isa) -> Result<Self, FitError> {
        self.kernels = Kernels::new(isa)?;
        Ok(self)
    }

    /// The same operator applied in another form.
    pub fn with_form(mut self, form: StencilForm) -> Self {
        self.form = form;
        self.sized()
    }
}

impl<T: Real> StencilOp<T> {
    /// [`FitError::InvalidParameter`] unless `ops`, `x` and `y` are all of
    /// the operator's shape.
    fn check(&self, ops: &CpuOps<T>, x: &[T], y: &[T]) -> Result<(), FitError> {
        let shape = self.shape();
        let len: usize = shape.iter().product();
        let bad = |name, reason: String| Err(FitError::InvalidParameter { name, reason });
        if ops.shape() != shape {
            return bad(
                "ops",
                format!(
                    "vectors of shape {:?} for an operator of shape {shape:?}",
                    ops.shape()
                ),
            );
        }
        for (name, v) in [("x", x.len()), ("y", y.len())] {
            if v != len {
                return bad(
                    name,
                    format!("{v} elements for an operator of shape {shape:?} ({len} elements)"),
                );
            }
        }
        Ok(())
    }
}

impl<T: Real> LinearOperator<CpuOps<T>> for StencilOp<T> {
    fn apply(&self, ops: &CpuOps<T>, x: &Vec<T>, y: &mut Vec<T>) -> Result<(), FitError> {
        self.check(ops, x, y)?;
        self.apply_slice(x, y);
        Ok(())
    }

    fn diagonal(&self) -> f64 {
        self.diagonal
    }

    fn spectrum_bounds(&self) -> (f64, f64) {
        self.bounds
    }
}

impl<T: Real> Preconditioner<CpuOps<T>> for StencilOp<T> {
    fn apply(&self, ops: &CpuOps<T>, r: &Vec<T>, z: &mut Vec<T>) -> Result<(), FitError> {
        self.check(ops, r, z)?;
        self.apply_slice(r, z);
        Ok(())
    }
}

impl<T: Real> SolveBackend for CpuOps<T> {
    type Elem = T;

    fn upload(&self, host: &[T]) -> Result<Vec<T>, FitError> {
        if host.len() != self.len() {
            return Err(FitError::InvalidParameter {
                name: "host",
                reason: format!(
                    "{} values for a grid of shape {:?}",
                    host.len(),
                    self.shape()
                ),
            });
        }
        let mut v = self.alloc()?;
        v.copy_from_slice(host);
        Ok(v)
    }

    fn download(&self, v: &Vec<T>) -> Result<Vec<T>, FitError> {
        Ok(v.clone())
    }

    fn bspline<'s>(
        &'s self,
        boundary: [Boundary; 3],
        symmetric: bool,
        form: StencilForm,
    ) -> Result<Box<dyn LinearOperator<Self> + 's>, FitError> {
        Ok(Box::new(StencilOp::<T>::bspline(
            self.shape(),
            boundary,
            symmetric,
            form,
            self.par(),
        )))
    }

    fn separable<'s>(
        &'s self,
        taps: &[f64],
        boundary: [Boundary; 3],
        symmetric: bool,
    ) -> Result<Box<dyn Preconditioner<Self> + 's>, FitError> {
        Ok(Box::new(StencilOp::<T>::separable_taps(
            taps,
            self.shape(),
            boundary,
            symmetric,
            self.par(),
        )))
    }
}
