//! The evaluation request: *which* outputs, *where*, under *which* policy.
//!
//! Every evaluation of a fitted spline — one point or a batch, values or
//! any set of partial derivatives, points or a grid, in Rust, C, Python or
//! on the device — is one [`Query`] run by one driver
//! ([`TensorSpline::evaluate_into`](super::TensorSpline::evaluate_into),
//! [`DynSpline::evaluate_into`](super::DynSpline::evaluate_into)).
//!
//! * **Outputs** are mixed partial derivatives ([`Partial`]): the value,
//!   `∂/∂x_k`, `∂²/∂x_j∂x_k`, any orders. [`Query::gradient`] and
//!   [`Query::hessian`] append the `D` first or the `D × D` second partials.
//!   Per point the knot spans and the basis rows of every axis are computed
//!   once, and each output is one contraction of the `4^D` coefficient block.
//! * **Where**: points as an `(n, D)` view of any memory layout
//!   ([`Query::at`]), or the outer product of per-axis coordinate lists
//!   ([`Query::grid`], evaluated separably in O(4·D) per output point).
//! * **Policy** per axis outside the domain ([`Extrapolate`]); by default
//!   the spline's own.
//!
//! The result is row-major with shape `(points…, outputs, *vshape)`:
//! `(n, outputs, *vshape)` for points, `(m_0, …, m_{D-1}, outputs, *vshape)`
//! for a grid, where `vshape` is the spline's value shape (empty for scalar
//! values).
//!
//! ```
//! use bsfit::tensor::{Partial, Query};
//! use bsfit::{Extrapolate, TensorSpline};
//! use ndarray::{Array2, array};
//!
//! let x = [0.0, 1.0, 2.0, 3.0, 4.0];
//! let v = Array2::from_shape_fn((5, 5), |(i, j)| x[i] * x[i] * x[j]);
//! let s = TensorSpline::fit([&x[..], &x[..]], v.view())?;
//! let pts = array![[1.5, 2.0], [3.0, 0.5], [9.0, 1.0]];
//! // Value, ∂/∂x0 and ∂²/∂x0² at three points; NaN outside the domain.
//! let q = Query::at(pts.view())
//!     .outputs(&[Partial::VALUE, Partial::d(0), Partial::d2(0, 0)])
//!     .policy(Extrapolate::Nan);
//! let r = s.evaluate(&q)?; // shape (3, 3)
//! assert!((r[[0, 0]] - 4.5).abs() < 1e-12);
//! assert!((r[[0, 1]] - 6.0).abs() < 1e-12);
//! assert!((r[[1, 2]] - 1.0).abs() < 1e-12);
//! assert!(r[[2, 0]].is_nan());
//! # Ok::<(), bsfit::FitError>(())
//! ```

use super::{Extrapolate, MAX_DIM};
use crate::FitError;
use ndarray::ArrayView2;

/// One mixed partial derivative: the order of differentiation along each
/// axis (`[0; D]` is the value). Orders above 3 along an axis give 0 (the
/// spline is cubic); outside the domain the policy applies to them too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Partial {
    orders: [u8; MAX_DIM],
}

impl Partial {
    /// The value (no derivative).
    pub const VALUE: Partial = Partial {
        orders: [0; MAX_DIM],
    };

    /// `∂/∂x_axis`. An axis at or beyond the spline's dimension is reported
    /// by the evaluation ([`FitError::InvalidParameter`]).
    pub fn d(axis: usize) -> Partial {
        let mut p = Partial::VALUE;
        p.bump(axis);
        p
    }

    /// `∂²/∂x_a∂x_b` (`a == b` for the second derivative along one axis).
    pub fn d2(a: usize, b: usize) -> Partial {
        let mut p = Partial::VALUE;
        p.bump(a);
        p.bump(b);
        p
    }

    /// The partial of the given per-axis orders (missing trailing axes are
    /// 0).
    ///
    /// Errors: [`FitError::InvalidParameter`] for more than 6 axes or an
    /// order above 255.
    pub fn new(orders: &[usize]) -> Result<Partial, FitError> {
        if orders.len() > MAX_DIM {
            return Err(FitError::InvalidParameter {
                name: "orders",
                reason: format!("{} orders; at most {MAX_DIM} axes", orders.len()),
            });
        }
        let mut p = Partial::VALUE;
        for (axis, &o) in orders.iter().enumerate() {
            p.orders[axis] = u8::try_from(o).map_err(|_| FitError::InvalidParameter {
                name: "orders",
                reason: format!("axis {axis}: order {o} (at most 255)"),
            })?;
        }
        Ok(p)
    }

    /// Adds one order along `axis`; an axis beyond [`MAX_DIM`] is kept as a
    /// marker that evaluation rejects.
    fn bump(&mut self, axis: usize) {
        match self.orders.get_mut(axis) {
            Some(o) => *o = o.saturating_add(1),
            // Marker: rejected by `check`.
            None => self.orders = [u8::MAX; MAX_DIM],
        }
    }

    /// The order along each axis.
    pub fn orders(&self) -> [usize; MAX_DIM] {
        self.orders.map(usize::from)
    }

    /// The order along `axis` (0 beyond [`MAX_DIM`]).
    pub fn order(&self, axis: usize) -> usize {
        self.orders.get(axis).map_or(0, |&o| usize::from(o))
    }

    /// Checks that the partial only differentiates along axes `< ndim`.
    fn check(&self, ndim: usize) -> Result<(), FitError> {
        match self.orders[ndim.min(MAX_DIM)..].iter().position(|&o| o > 0) {
            None if self.orders != [u8::MAX; MAX_DIM] => Ok(()),
            _ => Err(FitError::InvalidParameter {
                name: "outputs",
                reason: format!(
                    "a partial derivative along an axis the {ndim}-dimensional spline does not have"
                ),
            }),
        }
    }
}

/// What an output list entry stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Output {
    /// One partial.
    One(Partial),
    /// `∂/∂x_0 … ∂/∂x_{D-1}`.
    Gradient,
    /// `∂²/∂x_i∂x_j` for `i, j < D`, row-major.
    Hessian,
}

/// Where a [`Query`] evaluates.
#[derive(Debug, Clone)]
pub enum Points<'a> {
    /// Points as the rows of an `(n, D)` view (any memory layout).
    Rows(ArrayView2<'a, f64>),
    /// The outer product of per-axis coordinate lists (unsorted allowed).
    Grid(Vec<&'a [f64]>),
}

/// The policy a query asks for.
#[derive(Debug, Clone, PartialEq)]
enum Policy {
    /// The spline's own.
    Spline,
    /// One policy on every axis that is not periodic.
    All(Extrapolate),
    /// One policy per axis.
    Axes(Vec<Extrapolate>),
}

/// An evaluation request (see the [module docs](self)).
#[derive(Debug, Clone)]
pub struct Query<'a> {
    points: Points<'a>,
    outputs: Vec<Output>,
    policy: Policy,
}

impl<'a> Query<'a> {
    /// Evaluates at the rows of `points` (`(n, D)`, any layout); the outputs
    /// default to the value.
    pub fn at(points: ArrayView2<'a, f64>) -> Query<'a> {
        Query {
            points: Points::Rows(points),
            outputs: Vec::new(),
            policy: Policy::Spline,
        }
    }

    /// Evaluates at the rows of a row-major slice of `n · ndim` coordinates.
    ///
    /// Errors: [`FitError::InvalidParameter`] if `ndim` is 0 or does not
    /// divide the length.
    pub fn at_slice(points: &'a [f64], ndim: usize) -> Result<Query<'a>, FitError> {
        if ndim == 0 || !points.len().is_multiple_of(ndim) {
            return Err(FitError::InvalidParameter {
                name: "points",
                reason: format!(
                    "{} coordinates are not a whole number of {ndim}-dimensional points",
                    points.len()
                ),
            });
        }
        let view = ArrayView2::from_shape((points.len() / ndim, ndim), points).map_err(|e| {
            FitError::InvalidParameter {
                name: "points",
                reason: e.to_string(),
            }
        })?;
        Ok(Query::at(view))
    }

    /// Evaluates on the grid `axes[0] × … × axes[D-1]`.
    pub fn grid(axes: &[&'a [f64]]) -> Query<'a> {
        Query {
            points: Points::Grid(axes.to_vec()),
            outputs: Vec::new(),
            policy: Policy::Spline,
        }
    }

    /// Appends the given partials to the outputs.
    #[must_use]
    pub fn outputs(mut self, partials: &[Partial]) -> Self {
        self.outputs
            .extend(partials.iter().copied().map(Output::One));
        self
    }

    /// Appends the value to the outputs.
    #[must_use]
    pub fn value(self) -> Self {
        self.outputs(&[Partial::VALUE])
    }

    /// Appends the gradient `∂/∂x_0, …, ∂/∂x_{D-1}` to the outputs.
    #[must_use]
    pub fn gradient(mut self) -> Self {
        self.outputs.push(Output::Gradient);
        self
    }

    /// Appends the Hessian `∂²/∂x_i∂x_j` (`D × D`, row-major) to the outputs.
    #[must_use]
    pub fn hessian(mut self) -> Self {
        self.outputs.push(Output::Hessian);
        self
    }

    /// The same policy on every axis (periodic axes of the spline keep
    /// wrapping unless the policy is set per axis).
    #[must_use]
    pub fn policy(mut self, policy: Extrapolate) -> Self {
        self.policy = Policy::All(policy);
        self
    }

    /// One policy per axis (`policies.len()` must be the spline's
    /// dimension).
    #[must_use]
    pub fn policy_axes(mut self, policies: &[Extrapolate]) -> Self {
        self.policy = Policy::Axes(policies.to_vec());
        self
    }

    /// Where the query evaluates.
    pub fn points(&self) -> &Points<'a> {
        &self.points
    }

    /// The outputs as partials for a spline of `ndim` dimensions (the
    /// value if none was asked for).
    ///
    /// Errors: [`FitError::InvalidParameter`] for a partial along an axis
    /// the spline does not have.
    pub fn partials(&self, ndim: usize) -> Result<Vec<Partial>, FitError> {
        let mut out = Vec::new();
        if self.outputs.is_empty() {
            out.push(Partial::VALUE);
        }
        for o in &self.outputs {
            match *o {
                Output::One(p) => {
                    p.check(ndim)?;
                    out.push(p);
                }
                Output::Gradient => out.extend((0..ndim).map(Partial::d)),
                Output::Hessian => {
                    for i in 0..ndim {
                        out.extend((0..ndim).map(|j| Partial::d2(i, j)));
                    }
                }
            }
        }
        Ok(out)
    }

    /// The number of evaluation points (the product of the grid's lengths).
    ///
    /// Errors: [`FitError::InvalidParameter`] if it overflows.
    pub fn len(&self) -> Result<usize, FitError> {
        match &self.points {
            Points::Rows(p) => Ok(p.nrows()),
            Points::Grid(axes) => axes
                .iter()
                .try_fold(1usize, |a, c| a.checked_mul(c.len()))
                .ok_or_else(|| FitError::InvalidParameter {
                    name: "coords",
                    reason: format!(
                        "the grid of shape {:?} has more points than fit in memory",
                        axes.iter().map(|a| a.len()).collect::<Vec<_>>()
                    ),
                }),
        }
    }

    /// Whether the query has no points.
    pub fn is_empty(&self) -> bool {
        self.len().is_ok_and(|n| n == 0)
    }

    /// The shape of the points part of the result: `[n]` or the grid's
    /// lengths.
    pub fn points_shape(&self) -> Vec<usize> {
        match &self.points {
            Points::Rows(p) => vec![p.nrows()],
            Points::Grid(axes) => axes.iter().map(|a| a.len()).collect(),
        }
    }

    /// The effective per-axis policies for a spline of `ndim` axes whose
    /// own policy is `own` and whose fitted periodic axes are `periodic`.
    ///
    /// Errors: [`FitError::DimensionMismatch`] for a per-axis list of
    /// another length.
    pub(crate) fn resolve_policy(
        &self,
        own: Extrapolate,
        periodic: &[bool],
    ) -> Result<[Extrapolate; MAX_DIM], FitError> {
        let ndim = periodic.len();
        let mut out = [Extrapolate::Polynomial; MAX_DIM];
        let all = match &self.policy {
            Policy::Spline => own,
            Policy::All(p) => *p,
            Policy::Axes(list) => {
                if list.len() != ndim {
                    return Err(FitError::DimensionMismatch {
                        expected: ndim,
                        got: list.len(),
                    });
                }
                out[..ndim].copy_from_slice(list);
                return Ok(out);
            }
        };
        for k in 0..ndim {
            out[k] = if periodic[k] {
                Extrapolate::Periodic
            } else {
                all
            };
        }
        Ok(out)
    }
}
