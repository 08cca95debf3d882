//! Splines and fit plans whose dimension is chosen at run time.
//!
//! [`TensorSpline<D>`] and [`Fitter<D>`] fix the dimension at compile time,
//! which lets the kernels unroll over the axes. Callers that learn the
//! dimension from their data — the C ABI, the Python package, a table read
//! from a file — use [`DynSpline`] and [`DynFitter`] instead: one enum
//! variant per dimension 1–6, flat row-major slices in and out, and every
//! length checked against the dimension ([`FitError`] on a mismatch, never a
//! panic). Each call dispatches once on the variant and then runs the
//! const-generic code.

use super::query::{Partial, Query};
use super::{Extrapolate, Fitter, MAX_DIM, TensorSpline, Workspace};
use crate::{BoundaryCondition, Degree, FitError};
use ndarray::ArrayD;

/// A cubic tensor-product spline of run-time dimension (1–6).
///
/// Immutable once built: share it between threads freely (`Send + Sync`).
///
/// ```
/// use bsfit::DynSpline;
/// let x = [0.0, 1.0, 2.5, 3.0, 4.0];
/// let y = [0.0, 0.5, 1.0, 2.0];
/// // f(x, y) = x³ + x·y, row-major (x slowest).
/// let values: Vec<f64> = x
///     .iter()
///     .flat_map(|&a| y.iter().map(move |&b| a * a * a + a * b))
///     .collect();
/// let s = DynSpline::fit(&[&x[..], &y[..]], &values)?;
/// assert_eq!(s.ndim(), 2);
/// assert!((s.eval(&[1.5, 0.7])? - (1.5f64.powi(3) + 1.05)).abs() < 1e-12);
/// // ∂f/∂x = 3x² + y
/// assert!((s.eval_deriv(&[1.5, 0.7], &[1, 0])? - (6.75 + 0.7)).abs() < 1e-12);
/// # Ok::<(), bsfit::FitError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum DynSpline {
    /// One dimension.
    D1(TensorSpline<1>),
    /// Two dimensions.
    D2(TensorSpline<2>),
    /// Three dimensions.
    D3(TensorSpline<3>),
    /// Four dimensions.
    D4(TensorSpline<4>),
    /// Five dimensions.
    D5(TensorSpline<5>),
    /// Six dimensions.
    D6(TensorSpline<6>),
}

/// A fit plan of run-time dimension (1–6): the [`Fitter`] of a fixed grid.
///
/// Not meant to be shared while refitting: give each thread its own
/// [`Workspace`] (the plan itself is read-only and `Sync`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum DynFitter {
    /// One dimension.
    D1(Fitter<1>),
    /// Two dimensions.
    D2(Fitter<2>),
    /// Three dimensions.
    D3(Fitter<3>),
    /// Four dimensions.
    D4(Fitter<4>),
    /// Five dimensions.
    D5(Fitter<5>),
    /// Six dimensions.
    D6(Fitter<6>),
}

/// Runs `$body` with `$s` bound to the variant's const-generic value and the
/// constant `D` in scope.
macro_rules! dispatch {
    ($ty:ident, $value:expr, $s:ident => $body:expr) => {
        match $value {
            $ty::D1($s) => {
                #[allow(dead_code)]
                const D: usize = 1;
                $body
            }
            $ty::D2($s) => {
                #[allow(dead_code)]
                const D: usize = 2;
                $body
            }
            $ty::D3($s) => {
                #[allow(dead_code)]
                const D: usize = 3;
                $body
            }
            $ty::D4($s) => {
                #[allow(dead_code)]
                const D: usize = 4;
                $body
            }
            $ty::D5($s) => {
                #[allow(dead_code)]
                const D: usize = 5;
                $body
            }
            $ty::D6($s) => {
                #[allow(dead_code)]
                const D: usize = 6;
                $body
            }
        }
    };
}

/// Builds the variant for `ndim`, with `D` in scope in `$body` (which yields
/// `Result<Inner<D>, FitError>`).
macro_rules! construct {
    ($ty:ident, $ndim:expr, $body:expr) => {
        match $ndim {
            1 => {
                const D: usize = 1;
                $body.map($ty::D1)
            }
            2 => {
                const D: usize = 2;
                $body.map($ty::D2)
            }
            3 => {
                const D: usize = 3;
                $body.map($ty::D3)
            }
            4 => {
                const D: usize = 4;
                $body.map($ty::D4)
            }
            5 => {
                const D: usize = 5;
                $body.map($ty::D5)
            }
            6 => {
                const D: usize = 6;
                $body.map($ty::D6)
            }
            n => Err(unsupported_ndim(n)),
        }
    };
}

fn unsupported_ndim(n: usize) -> FitError {
    FitError::InvalidParameter {
        name: "ndim",
        reason: format!("{n} dimensions; 1 to {MAX_DIM} are supported"),
    }
}

/// `slice` as a `[T; D]`, or [`FitError::DimensionMismatch`].
fn fixed<T: Copy, const D: usize>(slice: &[T]) -> Result<[T; D], FitError> {
    slice.try_into().map_err(|_| FitError::DimensionMismatch {
        expected: D,
        got: slice.len(),
    })
}

/// [`FitError::DimensionMismatch`] unless `got == ndim`.
fn check_dims(got: usize, ndim: usize) -> Result<(), FitError> {
    if got == ndim {
        Ok(())
    } else {
        Err(FitError::DimensionMismatch {
            expected: ndim,
            got,
        })
    }
}

/// Checks that a caller's buffer `name` has length `want`.
fn check_len(name: &'static str, got: usize, want: usize) -> Result<(), FitError> {
    if got == want {
        Ok(())
    } else {
        Err(FitError::InvalidParameter {
            name,
            reason: format!("length {got}, expected {want}"),
        })
    }
}

impl DynSpline {
    /// Fits the interpolating cubic spline (not-a-knot ends on every axis) to
    /// row-major `values` on the grid `axes[0] × … × axes[ndim-1]`.
    ///
    /// Errors: [`FitError::InvalidParameter`] for `axes.len()` outside 1–6 or
    /// a `values` length that is not the grid's size; otherwise as
    /// [`TensorSpline::fit`].
    pub fn fit(axes: &[&[f64]], values: &[f64]) -> Result<Self, FitError> {
        DynFitter::new(axes)?.fit(values)
    }

    /// Builds a spline from per-axis knot vectors and row-major coefficients,
    /// validated as [`TensorSpline::from_parts`] does.
    ///
    /// Errors: [`FitError::InvalidParameter`] for `knots.len()` outside 1–6;
    /// [`FitError::InvalidData`] naming the inconsistency.
    pub fn from_parts(knots: Vec<Vec<f64>>, coefs: Vec<f64>) -> Result<Self, FitError> {
        let d = knots.len();
        Self::from_parts_periodic(knots, coefs, &vec![false; d])
    }

    /// [`from_parts`](Self::from_parts) with periodic axes (see
    /// [`TensorSpline::from_parts_periodic`]).
    ///
    /// Errors: as [`from_parts`](Self::from_parts);
    /// [`FitError::DimensionMismatch`] if `periodic.len() != knots.len()`.
    pub fn from_parts_periodic(
        knots: Vec<Vec<f64>>,
        coefs: Vec<f64>,
        periodic: &[bool],
    ) -> Result<Self, FitError> {
        construct!(
            DynSpline,
            knots.len(),
            <[Vec<f64>; D]>::try_from(knots)
                .map_err(|k| unsupported_ndim(k.len()))
                .and_then(|k| {
                    TensorSpline::<D>::from_parts_periodic(k, coefs, fixed::<bool, D>(periodic)?)
                })
        )
    }

    /// The degree of each axis (see [`TensorSpline::degrees`]).
    pub fn degrees(&self) -> Vec<Degree> {
        dispatch!(DynSpline, self, s => s.degrees().to_vec())
    }

    /// Which axes are periodic (see [`TensorSpline::periodic_axes`]).
    pub fn periodic_axes(&self) -> Vec<bool> {
        dispatch!(DynSpline, self, s => s.periodic_axes().to_vec())
    }

    /// The number of dimensions (1–6).
    pub fn ndim(&self) -> usize {
        dispatch!(DynSpline, self, _s => D)
    }

    /// Coefficients per axis (the fitted grid's shape).
    pub fn shape(&self) -> Vec<usize> {
        dispatch!(DynSpline, self, s => s.shape().to_vec())
    }

    /// Knot vector of `axis` (`n + 4` knots).
    ///
    /// Errors: [`FitError::InvalidParameter`] if `axis >= ndim`.
    pub fn knots(&self, axis: usize) -> Result<&[f64], FitError> {
        if axis >= self.ndim() {
            return Err(FitError::InvalidParameter {
                name: "axis",
                reason: format!("axis {axis} of a {}-dimensional spline", self.ndim()),
            });
        }
        Ok(dispatch!(DynSpline, self, s => s.knots(axis)))
    }

    /// Row-major coefficients.
    pub fn coefficients(&self) -> &[f64] {
        dispatch!(DynSpline, self, s => s.coefficients_slice())
    }

    /// Domain `[x_0, x_{n-1}]` of each axis.
    pub fn domain(&self) -> Vec<(f64, f64)> {
        dispatch!(DynSpline, self, s => s.domain().to_vec())
    }

    /// The value at `x` (`x.len() == ndim`).
    ///
    /// Errors: [`FitError::DimensionMismatch`].
    pub fn eval(&self, x: &[f64]) -> Result<f64, FitError> {
        dispatch!(DynSpline, self, s => Ok(s.eval(fixed::<f64, D>(x)?)))
    }

    /// The mixed partial derivative of the given per-axis `orders` at `x`
    /// (see [`TensorSpline::eval_deriv`]).
    ///
    /// Errors: [`FitError::DimensionMismatch`] for `x` or `orders`.
    pub fn eval_deriv(&self, x: &[f64], orders: &[usize]) -> Result<f64, FitError> {
        dispatch!(DynSpline, self, s => {
            Ok(s.eval_deriv(fixed::<f64, D>(x)?, fixed::<usize, D>(orders)?))
        })
    }

    /// Writes the gradient at `x` into `out` (`out.len() == ndim`).
    ///
    /// Errors: [`FitError::DimensionMismatch`], [`FitError::InvalidParameter`].
    pub fn grad_into(&self, x: &[f64], out: &mut [f64]) -> Result<(), FitError> {
        dispatch!(DynSpline, self, s => {
            let x = fixed::<f64, D>(x)?;
            check_len("out", out.len(), D)?;
            out.copy_from_slice(&s.eval_grad(x));
            Ok(())
        })
    }

    /// Writes the Hessian at `x` into `out`, row-major (`out.len() == ndim²`).
    ///
    /// Errors: [`FitError::DimensionMismatch`], [`FitError::InvalidParameter`].
    pub fn hessian_into(&self, x: &[f64], out: &mut [f64]) -> Result<(), FitError> {
        dispatch!(DynSpline, self, s => {
            let x = fixed::<f64, D>(x)?;
            check_len("out", out.len(), D * D)?;
            for (row, h) in out.chunks_exact_mut(D).zip(s.eval_hessian(x)) {
                row.copy_from_slice(&h);
            }
            Ok(())
        })
    }

    /// Sets the extrapolation policy (see [`Extrapolate`]).
    #[must_use]
    pub fn with_extrapolate(self, policy: Extrapolate) -> Self {
        match self {
            DynSpline::D1(s) => DynSpline::D1(s.with_extrapolate(policy)),
            DynSpline::D2(s) => DynSpline::D2(s.with_extrapolate(policy)),
            DynSpline::D3(s) => DynSpline::D3(s.with_extrapolate(policy)),
            DynSpline::D4(s) => DynSpline::D4(s.with_extrapolate(policy)),
            DynSpline::D5(s) => DynSpline::D5(s.with_extrapolate(policy)),
            DynSpline::D6(s) => DynSpline::D6(s.with_extrapolate(policy)),
        }
    }

    /// The extrapolation policy (default [`Extrapolate::Polynomial`]).
    pub fn extrapolate(&self) -> Extrapolate {
        dispatch!(DynSpline, self, s => s.extrapolate())
    }

    /// The value at `x`, or [`FitError::OutsideDomain`] if `x` is outside the
    /// domain (see [`TensorSpline::eval_checked`]).
    ///
    /// Errors: also [`FitError::DimensionMismatch`] if `x.len() != ndim`.
    pub fn eval_checked(&self, x: &[f64]) -> Result<f64, FitError> {
        dispatch!(DynSpline, self, s => s.eval_checked(fixed::<f64, D>(x)?))
    }

    /// Values (`orders = None`) or one mixed partial derivative on the grid
    /// `coords[0] × … × coords[ndim-1]`, written row-major into `out`
    /// (`out.len() == Π coords[k].len()`), computed separably (see
    /// [`TensorSpline::eval_grid`]; allocates its intermediates).
    ///
    /// Errors: [`FitError::DimensionMismatch`] if `coords` or `orders` does
    /// not have `ndim` entries, [`FitError::InvalidParameter`] for the length
    /// of `out`.
    pub fn eval_grid_into(
        &self,
        coords: &[&[f64]],
        orders: Option<&[usize]>,
        out: &mut [f64],
    ) -> Result<(), FitError> {
        let ndim = self.ndim();
        let orders = orders.unwrap_or(&[]);
        if !orders.is_empty() {
            check_dims(orders.len(), ndim)?;
        }
        let q = Query::grid(coords).outputs(&[Partial::new(orders)?]);
        self.evaluate_into(&q, out)
    }

    /// Values (`orders = None`) or one mixed partial derivative at `n` points
    /// given row-major (`points.len() == n · ndim`), written to `out`
    /// (`out.len() == n`), in parallel. With `extrapolate == false` a point
    /// outside the domain on any axis gives NaN (scipy's
    /// `extrapolate=False`, [`Extrapolate::Nan`]) whatever the spline's
    /// policy; otherwise the spline's policy applies
    /// ([`extrapolate`](Self::extrapolate), by default the boundary
    /// polynomials continue).
    ///
    /// Errors: [`FitError::InvalidParameter`] for a length that does not
    /// match, [`FitError::DimensionMismatch`] for `orders`.
    pub fn eval_many_into(
        &self,
        points: &[f64],
        orders: Option<&[usize]>,
        extrapolate: bool,
        out: &mut [f64],
    ) -> Result<(), FitError> {
        let ndim = self.ndim();
        let orders = orders.unwrap_or(&[]);
        if !orders.is_empty() {
            check_dims(orders.len(), ndim)?;
        }
        let mut q = Query::at_slice(points, ndim)?.outputs(&[Partial::new(orders)?]);
        if !extrapolate {
            q = q.policy(Extrapolate::Nan);
        }
        self.evaluate_into(&q, out)
    }

    /// Runs `query` (see [`TensorSpline::evaluate`]): the result has shape
    /// `(points…, outputs, *value_shape)`.
    ///
    /// Errors: as [`TensorSpline::evaluate_into`].
    pub fn evaluate(&self, query: &Query<'_>) -> Result<ArrayD<f64>, FitError> {
        dispatch!(DynSpline, self, s => s.evaluate(query))
    }

    /// Runs `query` into `out`, row-major (see
    /// [`TensorSpline::evaluate_into`]).
    ///
    /// Errors: as [`TensorSpline::evaluate_into`].
    pub fn evaluate_into(&self, query: &Query<'_>, out: &mut [f64]) -> Result<(), FitError> {
        dispatch!(DynSpline, self, s => s.evaluate_into(query, out))
    }

    /// The shape of `query`'s result (see [`TensorSpline::output_shape`]).
    ///
    /// Errors: as [`TensorSpline::output_shape`].
    pub fn output_shape(&self, query: &Query<'_>) -> Result<Vec<usize>, FitError> {
        dispatch!(DynSpline, self, s => s.output_shape(query))
    }

    /// The value shape (`[]` for scalar values).
    pub fn value_shape(&self) -> &[usize] {
        dispatch!(DynSpline, self, s => s.value_shape())
    }

    /// Fits vector values: `values` row-major of shape
    /// `(n_0, …, n_{ndim-1}, *vshape)` (not-a-knot ends on every axis).
    ///
    /// Errors: as [`fit`](Self::fit).
    pub fn fit_vector(axes: &[&[f64]], values: &[f64], vshape: &[usize]) -> Result<Self, FitError> {
        DynFitter::new(axes)?.fit_vector(values, vshape)
    }

    /// [`from_parts_periodic`](Self::from_parts_periodic) for vector values
    /// (see [`TensorSpline::from_parts_vector`]).
    ///
    /// Errors: as [`from_parts_periodic`](Self::from_parts_periodic).
    pub fn from_parts_vector(
        knots: Vec<Vec<f64>>,
        coefs: Vec<f64>,
        periodic: &[bool],
        vshape: &[usize],
    ) -> Result<Self, FitError> {
        let degrees = vec![Degree::Cubic; knots.len()];
        Self::from_parts_degrees(knots, coefs, periodic, vshape, &degrees)
    }

    /// [`from_parts_vector`](Self::from_parts_vector) with a degree per
    /// axis (see [`TensorSpline::from_parts_degrees`]).
    ///
    /// Errors: as [`TensorSpline::from_parts_degrees`];
    /// [`FitError::DimensionMismatch`] for a list of another length.
    pub fn from_parts_degrees(
        knots: Vec<Vec<f64>>,
        coefs: Vec<f64>,
        periodic: &[bool],
        vshape: &[usize],
        degrees: &[Degree],
    ) -> Result<Self, FitError> {
        construct!(
            DynSpline,
            knots.len(),
            <[Vec<f64>; D]>::try_from(knots)
                .map_err(|k| unsupported_ndim(k.len()))
                .and_then(|k| {
                    TensorSpline::<D>::from_parts_degrees(
                        k,
                        coefs,
                        fixed::<bool, D>(periodic)?,
                        vshape,
                        fixed::<Degree, D>(degrees)?,
                    )
                })
        )
    }
}

impl DynFitter {
    /// Validates the axes, builds their knot vectors and factors their
    /// collocation matrices (see [`Fitter::new`]).
    ///
    /// Errors: [`FitError::InvalidParameter`] for `axes.len()` outside 1–6;
    /// otherwise as [`Fitter::new`].
    pub fn new(axes: &[&[f64]]) -> Result<Self, FitError> {
        construct!(
            DynFitter,
            axes.len(),
            fixed::<&[f64], D>(axes).and_then(Fitter::<D>::new)
        )
    }

    /// [`new`](Self::new) with a boundary condition per axis (see
    /// [`Fitter::with_boundary`]).
    ///
    /// Errors: as [`Fitter::with_boundary`]; [`FitError::DimensionMismatch`]
    /// if `bc.len() != axes.len()`.
    pub fn with_boundary(axes: &[&[f64]], bc: &[BoundaryCondition]) -> Result<Self, FitError> {
        construct!(
            DynFitter,
            axes.len(),
            fixed::<&[f64], D>(axes).and_then(|a| Fitter::<D>::with_boundary(a, fixed(bc)?))
        )
    }

    /// [`with_boundary`](Self::with_boundary) with a degree per axis (see
    /// [`Fitter::with_boundary_degrees`]).
    ///
    /// Errors: as [`Fitter::with_boundary_degrees`];
    /// [`FitError::DimensionMismatch`] if `bc.len()` or `degrees.len()`
    /// differs from `axes.len()`.
    pub fn with_boundary_degrees(
        axes: &[&[f64]],
        bc: &[BoundaryCondition],
        degrees: &[Degree],
    ) -> Result<Self, FitError> {
        construct!(
            DynFitter,
            axes.len(),
            fixed::<&[f64], D>(axes).and_then(|a| {
                Fitter::<D>::with_boundary_degrees(a, fixed(bc)?, fixed(degrees)?)
            })
        )
    }

    /// The degree of each axis.
    pub fn degrees(&self) -> Vec<Degree> {
        dispatch!(DynFitter, self, f => f.degrees().to_vec())
    }

    /// The boundary condition of each axis.
    pub fn boundary(&self) -> Vec<BoundaryCondition> {
        dispatch!(DynFitter, self, f => f.boundary().to_vec())
    }

    /// The shape of the coefficient array (see [`Fitter::coef_shape`]).
    pub fn coef_shape(&self) -> Vec<usize> {
        dispatch!(DynFitter, self, f => f.coef_shape().to_vec())
    }

    /// The shape of the derivative values an explicit end of `axis` takes
    /// (see [`Fitter::end_values_shape`]).
    pub fn end_values_shape(&self, axis: usize) -> Vec<usize> {
        dispatch!(DynFitter, self, f => f.end_values_shape(axis))
    }

    /// [`fit_into_with`](Self::fit_into_with) with explicit end values (see
    /// [`Fitter::fit_into_ends`]).
    ///
    /// Errors: as [`Fitter::fit_into_ends`].
    pub fn fit_into_ends(
        &self,
        values: &[f64],
        ends: [&[f64]; 2],
        out: &mut [f64],
        ws: &mut Workspace,
    ) -> Result<(), FitError> {
        dispatch!(DynFitter, self, f => f.fit_into_ends(values, ends, out, ws))
    }

    /// [`fit`](Self::fit) with explicit end values (see [`Fitter::fit_into_ends`]).
    ///
    /// Errors: as [`Fitter::fit_into_ends`].
    pub fn fit_with_ends(&self, values: &[f64], ends: [&[f64]; 2]) -> Result<DynSpline, FitError> {
        dispatch!(DynFitter, self, f => f.fit_slice(values, ends).map(DynSpline::from))
    }

    /// The number of dimensions (1–6).
    pub fn ndim(&self) -> usize {
        dispatch!(DynFitter, self, _f => D)
    }

    /// The grid's shape.
    pub fn shape(&self) -> Vec<usize> {
        dispatch!(DynFitter, self, f => f.shape().to_vec())
    }

    /// The number of grid points (values per fit).
    pub fn len(&self) -> usize {
        dispatch!(DynFitter, self, f => f.shape().iter().product())
    }

    /// Always `false`: a valid grid has at least 4 points per axis.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Knot vector of `axis`.
    ///
    /// Errors: [`FitError::InvalidParameter`] if `axis >= ndim`.
    pub fn knots(&self, axis: usize) -> Result<&[f64], FitError> {
        if axis >= self.ndim() {
            return Err(FitError::InvalidParameter {
                name: "axis",
                reason: format!("axis {axis} of a {}-dimensional grid", self.ndim()),
            });
        }
        Ok(dispatch!(DynFitter, self, f => f.knots(axis)))
    }

    /// A workspace sized for this plan: refits through
    /// [`fit_into_with`](Self::fit_into_with) then allocate nothing.
    pub fn workspace(&self) -> Workspace {
        dispatch!(DynFitter, self, f => f.workspace())
    }

    /// Fits row-major `values` and writes the row-major coefficients
    /// ([`coef_shape`](Self::coef_shape)) to `out`, with scratch from `ws`
    /// (see [`Fitter::fit_into_with`]).
    ///
    /// Errors: as [`Fitter::fit_into_with`].
    pub fn fit_into_with(
        &self,
        values: &[f64],
        out: &mut [f64],
        ws: &mut Workspace,
    ) -> Result<(), FitError> {
        dispatch!(DynFitter, self, f => f.fit_into_with(values, out, ws))
    }

    /// Fits row-major `values` into a new spline.
    ///
    /// Errors: as [`Fitter::fit_into_with`].
    pub fn fit(&self, values: &[f64]) -> Result<DynSpline, FitError> {
        dispatch!(DynFitter, self, f => f.fit_slice(values, [&[], &[]]).map(DynSpline::from))
    }

    /// Fits vector values (row-major, shape `(n_0, …, n_{ndim-1}, *vshape)`)
    /// into a new spline (see [`Fitter::fit_into_vector`]).
    ///
    /// Errors: as [`Fitter::fit_into_vector`].
    pub fn fit_vector(&self, values: &[f64], vshape: &[usize]) -> Result<DynSpline, FitError> {
        self.fit_vector_with_ends(values, vshape, [&[], &[]])
    }

    /// [`fit_vector`](Self::fit_vector) with explicit end values.
    ///
    /// Errors: as [`Fitter::fit_into_vector`].
    pub fn fit_vector_with_ends(
        &self,
        values: &[f64],
        vshape: &[usize],
        ends: [&[f64]; 2],
    ) -> Result<DynSpline, FitError> {
        dispatch!(DynFitter, self, f => f.fit_slice_vector(values, vshape, ends).map(DynSpline::from))
    }

    /// Fits vector values into `out` (`Π coef_shape · Π vshape` values) with
    /// scratch from `ws` (see [`Fitter::fit_into_vector`]).
    ///
    /// Errors: as [`Fitter::fit_into_vector`].
    pub fn fit_into_vector(
        &self,
        values: &[f64],
        vshape: &[usize],
        ends: [&[f64]; 2],
        out: &mut [f64],
        ws: &mut Workspace,
    ) -> Result<(), FitError> {
        dispatch!(DynFitter, self, f => f.fit_into_vector(values, vshape, ends, out, ws))
    }

    /// The spline on this plan's knots with value shape `vshape` and
    /// row-major coefficients `coefs` (e.g. written by
    /// [`fit_into_vector`](Self::fit_into_vector)).
    ///
    /// Errors: [`FitError::InvalidParameter`] for a wrong length,
    /// [`FitError::InvalidData`] for a non-finite coefficient.
    pub fn spline_from_vector(
        &self,
        coefs: Vec<f64>,
        vshape: &[usize],
    ) -> Result<DynSpline, FitError> {
        let nc: usize = vshape.iter().product();
        check_len(
            "coefs",
            coefs.len(),
            self.coef_shape().iter().product::<usize>() * nc,
        )?;
        if let Some(i) = coefs.iter().position(|c| !c.is_finite()) {
            return Err(FitError::InvalidData(format!(
                "coefficient {i} is not finite ({})",
                coefs[i]
            )));
        }
        Ok(
            dispatch!(DynFitter, self, f => DynSpline::from(f.spline_unchecked(coefs).with_vshape_unchecked(vshape.to_vec()))),
        )
    }

    /// The spline on this plan's knots with row-major coefficients `coefs`
    /// (e.g. written by [`fit_into_with`](Self::fit_into_with)).
    ///
    /// Errors: [`FitError::InvalidParameter`] for a wrong length,
    /// [`FitError::InvalidData`] for a non-finite coefficient.
    pub fn spline_from(&self, coefs: Vec<f64>) -> Result<DynSpline, FitError> {
        check_len("coefs", coefs.len(), self.coef_shape().iter().product())?;
        if let Some(i) = coefs.iter().position(|c| !c.is_finite()) {
            return Err(FitError::InvalidData(format!(
                "coefficient {i} is not finite ({})",
                coefs[i]
            )));
        }
        Ok(dispatch!(DynFitter, self, f => DynSpline::from(f.spline_unchecked(coefs))))
    }
}

macro_rules! from_impls {
    ($($d:literal => $v:ident),*) => {$(
        impl From<TensorSpline<$d>> for DynSpline {
            fn from(s: TensorSpline<$d>) -> Self {
                DynSpline::$v(s)
            }
        }
        impl From<Fitter<$d>> for DynFitter {
            fn from(f: Fitter<$d>) -> Self {
                DynFitter::$v(f)
            }
        }
    )*};
}
from_impls!(1 => D1, 2 => D2, 3 => D3, 4 => D4, 5 => D5, 6 => D6);

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(n: usize, scale: f64) -> Vec<f64> {
        (0..n)
            .map(|i| scale * (i as f64 + 0.1 * (i * i) as f64))
            .collect()
    }

    #[test]
    fn every_dimension_reproduces_a_cubic() {
        for ndim in 1..=6 {
            let axes: Vec<Vec<f64>> = (0..ndim).map(|k| grid(4 + k % 2, 1.0)).collect();
            let refs: Vec<&[f64]> = axes.iter().map(|a| &a[..]).collect();
            let shape: Vec<usize> = axes.iter().map(Vec::len).collect();
            let total: usize = shape.iter().product();
            let f = |x: &[f64]| {
                x.iter()
                    .enumerate()
                    .map(|(k, &v)| (k + 1) as f64 * v * v * v)
                    .sum::<f64>()
            };
            let mut values = vec![0.0; total];
            for (flat, v) in values.iter_mut().enumerate() {
                let mut rem = flat;
                let mut x = vec![0.0; ndim];
                for k in (0..ndim).rev() {
                    x[k] = axes[k][rem % shape[k]];
                    rem /= shape[k];
                }
                *v = f(&x);
            }
            let s = DynSpline::fit(&refs, &values).unwrap();
            assert_eq!(s.ndim(), ndim);
            assert_eq!(s.shape(), shape);
            let x: Vec<f64> = (0..ndim).map(|k| 0.3 + 0.1 * k as f64).collect();
            assert!((s.eval(&x).unwrap() - f(&x)).abs() < 1e-10);
            let mut pts = x.clone();
            pts.extend(x.iter().map(|v| v + 100.0));
            let mut out = [0.0; 2];
            s.eval_many_into(&pts, None, false, &mut out).unwrap();
            assert!((out[0] - f(&x)).abs() < 1e-10);
            assert!(out[1].is_nan());
            let rebuilt = DynSpline::from_parts(
                (0..ndim).map(|k| s.knots(k).unwrap().to_vec()).collect(),
                s.coefficients().to_vec(),
            )
            .unwrap();
            assert_eq!(rebuilt, s);
        }
    }

    #[test]
    fn lengths_and_dimensions_are_errors() {
        let x = grid(5, 1.0);
        assert!(matches!(
            DynSpline::fit(&[], &[]),
            Err(FitError::InvalidParameter { .. })
        ));
        let seven = vec![&x[..]; 7];
        assert!(DynFitter::new(&seven).is_err());
        let s = DynSpline::fit(&[&x[..], &x[..]], &[1.0; 25]).unwrap();
        assert!(matches!(
            s.eval(&[0.0]),
            Err(FitError::DimensionMismatch {
                expected: 2,
                got: 1
            })
        ));
        assert!(s.eval_deriv(&[0.0, 0.0], &[1]).is_err());
        assert!(s.grad_into(&[0.0, 0.0], &mut [0.0; 3]).is_err());
        assert!(s.hessian_into(&[0.0, 0.0], &mut [0.0; 3]).is_err());
        assert!(
            s.eval_many_into(&[0.0; 3], None, true, &mut [0.0; 1])
                .is_err()
        );
        assert!(
            s.eval_many_into(&[0.0; 4], None, true, &mut [0.0; 1])
                .is_err()
        );
        assert!(s.knots(2).is_err());
        assert!(DynSpline::fit(&[&x[..], &x[..]], &[1.0; 24]).is_err());
        let f = DynFitter::new(&[&x[..]]).unwrap();
        assert!(f.spline_from(vec![0.0; 4]).is_err());
        assert!(f.spline_from(vec![f64::NAN; 5]).is_err());
    }
}
