//! The fitted spline: knots per axis and a row-major coefficient array.

use super::Extrapolate;
use super::fit::Fitter;
#[cfg(feature = "serde")]
use super::fit::vec_to_array;
use crate::bspline::Degree;
use crate::bspline::power::{PowerSpan, power_table};
use crate::isa::Kernels;
use crate::{FitError, Isa};
use ndarray::{ArrayView, ArrayViewD, Dim, Dimension};

/// A tensor-product B-spline in `D` dimensions (1 ≤ D ≤ 6), cubic unless
/// an axis was given a degree other than 3 ([`degrees`](Self::degrees)).
///
/// Built by [`TensorSpline::fit`] (interpolation of values on a rectilinear
/// grid) or [`Fitter::fit`]. The coefficient array has the shape of the grid
/// and is stored row-major.
///
/// # Outside the domain
/// Evaluation never fails. Outside `[x_0, x_{n-1}]` along an axis the spline
/// by default continues with the polynomial of its boundary piece (scipy's
/// `extrapolate=True`); [`with_extrapolate`](Self::with_extrapolate) picks
/// clamping or NaN instead ([`Extrapolate`]), and
/// [`eval_checked`](Self::eval_checked) reports such points as errors. A NaN
/// coordinate gives NaN.
#[derive(Debug, Clone)]
pub struct TensorSpline<const D: usize> {
    pub(super) knots: [Vec<f64>; D],
    pub(super) shape: [usize; D],
    /// Flat strides of the coefficient axes (the last one is `ncomp`).
    pub(super) strides: [usize; D],
    pub(super) coefs: Vec<f64>,
    /// The value shape (empty for scalar values): coefficients are
    /// `(shape…, *vshape)`, row-major.
    pub(super) vshape: Vec<usize>,
    /// `Π vshape`: components per coefficient.
    pub(super) ncomp: usize,
    /// `(x_0, 1/h)` for axes with uniformly spaced sites (O(1) span lookup).
    pub(super) uniform: [Option<(f64, f64)>; D],
    /// Per axis, the basis of every span in power form
    /// ([`crate::bspline::power`]); empty where the axis has none.
    pub(super) power: [Vec<PowerSpan>; D],
    /// Whether every axis has its power-form table.
    pub(super) power_all: bool,
    pub(super) kernels: Kernels,
    /// What evaluation returns outside the domain.
    pub(super) extrapolate: Extrapolate,
    /// Axes whose coordinates evaluation wraps into the domain.
    pub(super) periodic: [bool; D],
    /// The degree of each axis.
    pub(super) degrees: [Degree; D],
    /// Whether an axis is not cubic: evaluation then runs the
    /// general-width kernels (`super::general`).
    pub(super) general: bool,
    /// `[x_0, x_{n-1}]` per axis: the knots `t_k` and `t_{len-1-k}`.
    pub(super) domain: [(f64, f64); D],
    /// The general-width kernels' tables of every axis (empty unless
    /// `general`).
    pub(super) gen_axes: Vec<super::general::GenAxis>,
}

/// Diagnostics of a fit, from [`TensorSpline::fit_with_report`].
#[derive(Debug, Clone, PartialEq)]
pub struct FitReport<const D: usize> {
    /// `max |spline(x_i) − value_i|` over all grid points.
    pub max_abs_residual: f64,
    /// The same, divided by `max |value_i|` (0 when all values are 0).
    pub max_rel_residual: f64,
    /// 1-norm condition number of each axis' collocation matrix.
    pub condition: [f64; D],
}

impl<const D: usize> PartialEq for TensorSpline<D> {
    /// Splines are equal when they are the same function under the same
    /// policy: knots, coefficients, value shape, extrapolation policy and
    /// periodic axes (not the instruction set chosen for evaluation).
    fn eq(&self, other: &Self) -> bool {
        self.knots == other.knots
            && self.shape == other.shape
            && self.vshape == other.vshape
            && self.coefs == other.coefs
            && self.extrapolate == other.extrapolate
            && self.periodic == other.periodic
            && self.degrees == other.degrees
    }
}

impl<const D: usize> Drop for TensorSpline<D> {
    /// Keeps a large coefficient array for the next one-shot fit
    /// (bounded: see [`fit`](Self::fit) and [`crate::release_cached_memory`]).
    fn drop(&mut self) {
        crate::recycle::give_buffer(std::mem::take(&mut self.coefs));
    }
}

impl<const D: usize> TensorSpline<D> {
    /// Assembles a spline from parts already known to be consistent.
    pub(super) fn from_parts_unchecked(
        knots: [Vec<f64>; D],
        shape: [usize; D],
        coefs: Vec<f64>,
        degrees: [Degree; D],
    ) -> Self {
        let strides = flat_strides(shape, 1);
        let general = degrees.iter().any(|&k| k != Degree::Cubic);
        // The tuned cubic paths' tables (unused when an axis is not cubic).
        let uniform = std::array::from_fn(|k| {
            if general {
                None
            } else {
                uniform_axis(&knots[k])
            }
        });
        let power: [Vec<PowerSpan>; D] = std::array::from_fn(|k| {
            if general {
                Vec::new()
            } else {
                power_table(&knots[k])
            }
        });
        let power_all = power.iter().all(|p| !p.is_empty());
        let domain = std::array::from_fn(|a| {
            let (t, k) = (&knots[a], degrees[a].get());
            (t[k], t[t.len() - 1 - k])
        });
        TensorSpline {
            shape,
            strides,
            coefs,
            vshape: Vec::new(),
            ncomp: 1,
            uniform,
            power,
            power_all,
            kernels: Kernels::detect(),
            extrapolate: Extrapolate::Polynomial,
            periodic: [false; D],
            gen_axes: if general {
                (0..D)
                    .map(|a| super::general::GenAxis::new(&knots[a], degrees[a].get()))
                    .collect()
            } else {
                Vec::new()
            },
            knots,
            degrees,
            general,
            domain,
        }
    }

    /// The degree of each axis (3 unless fitted or built with another).
    pub fn degrees(&self) -> [Degree; D] {
        self.degrees
    }

    /// Gives the coefficients (already of length `Π shape · Π vshape`) the
    /// value shape `vshape`.
    pub(super) fn with_vshape_unchecked(mut self, vshape: Vec<usize>) -> Self {
        self.ncomp = vshape.iter().product();
        self.strides = flat_strides(self.shape, self.ncomp);
        self.vshape = vshape;
        self
    }

    /// The value shape: `[]` for scalar values, else the trailing
    /// dimensions of the fitted values (scipy's `NdBSpline` semantics).
    pub fn value_shape(&self) -> &[usize] {
        &self.vshape
    }

    /// Components per value (`Π value_shape`, 1 for scalar values).
    pub fn n_components(&self) -> usize {
        self.ncomp
    }

    /// Marks the periodic axes (knots already checked or built for them).
    pub(super) fn with_periodic_unchecked(mut self, periodic: [bool; D]) -> Self {
        for k in 0..D {
            if periodic[k] {
                self.uniform[k] = None;
            }
        }
        self.periodic = periodic;
        self
    }

    /// Which axes are periodic: evaluation wraps their coordinates into the
    /// domain, `x_0 + (x − x_0) mod (x_{n-1} − x_0)` (scipy's
    /// `extrapolate="periodic"`), before the extrapolation policy applies
    /// to the other axes.
    pub fn periodic_axes(&self) -> [bool; D] {
        self.periodic
    }

    /// Runs the evaluation with `kernels`.
    pub(super) fn with_kernels(mut self, kernels: Kernels) -> Self {
        self.kernels = kernels;
        self
    }

    /// Pins the instruction set of the evaluation kernels.
    ///
    /// Errors: [`FitError::IsaUnavailable`] if this CPU lacks it.
    pub fn with_isa(mut self, isa: Isa) -> Result<Self, FitError> {
        self.kernels = Kernels::new(isa)?;
        Ok(self)
    }

    /// The instruction set the evaluation kernels use.
    pub fn isa(&self) -> Isa {
        self.kernels.isa()
    }

    /// Whether each axis was detected as uniformly spaced (O(1) span lookup).
    pub fn uniform_axes(&self) -> [bool; D] {
        self.uniform.map(|u| u.is_some())
    }

    /// Builds a spline from knot vectors and row-major coefficients, checking
    /// that they describe a clamped cubic spline: every knot vector has
    /// `n + 4 ≥ 8` finite, non-decreasing knots with four equal knots at each
    /// end and non-empty interior spans, `coefs.len()` is the product of the
    /// `n`s, and every coefficient is finite.
    ///
    /// Errors: [`FitError::InvalidData`] naming the inconsistency.
    pub fn from_parts(knots: [Vec<f64>; D], coefs: Vec<f64>) -> Result<Self, FitError> {
        Self::from_parts_periodic(knots, coefs, [false; D])
    }

    /// [`from_parts`](Self::from_parts) with periodic axes: the knot vector
    /// of a periodic axis need not be clamped (its three outer knots at each
    /// end only non-decreasing), and evaluation wraps its coordinates into
    /// the domain `[t_3, t_{n}]` (see [`periodic_axes`](Self::periodic_axes)).
    ///
    /// Errors: [`FitError::InvalidData`] naming the inconsistency.
    pub fn from_parts_periodic(
        knots: [Vec<f64>; D],
        coefs: Vec<f64>,
        periodic: [bool; D],
    ) -> Result<Self, FitError> {
        Self::from_parts_vector(knots, coefs, periodic, &[])
    }

    /// [`from_parts_periodic`](Self::from_parts_periodic) for vector values:
    /// `coefs` holds `(n_0, …, n_{D-1}, *vshape)` row-major
    /// (`Π n_k · Π vshape` values; scipy's `NdBSpline` layout).
    ///
    /// Errors: [`FitError::InvalidData`] naming the inconsistency.
    pub fn from_parts_vector(
        knots: [Vec<f64>; D],
        coefs: Vec<f64>,
        periodic: [bool; D],
        vshape: &[usize],
    ) -> Result<Self, FitError> {
        Self::from_parts_degrees(knots, coefs, periodic, vshape, [Degree::Cubic; D])
    }

    /// [`from_parts_vector`](Self::from_parts_vector) with the degree of
    /// each axis: a knot vector of degree `k` has `n + k + 1 ≥ 2k + 2`
    /// knots, `k + 1` equal knots at each end and strictly increasing
    /// interior knots. Periodic axes are cubic.
    ///
    /// Errors: [`FitError::InvalidData`] naming the inconsistency.
    pub fn from_parts_degrees(
        knots: [Vec<f64>; D],
        coefs: Vec<f64>,
        periodic: [bool; D],
        vshape: &[usize],
        degrees: [Degree; D],
    ) -> Result<Self, FitError> {
        if D == 0 || D > super::MAX_DIM {
            return Err(FitError::InvalidData(format!(
                "{D} dimensions; 1 to 6 are supported"
            )));
        }
        let mut shape = [0usize; D];
        for (axis, t) in knots.iter().enumerate() {
            let k = degrees[axis].get();
            if periodic[axis] && k != 3 {
                return Err(FitError::InvalidData(format!(
                    "axis {axis}: a periodic axis must be cubic, not of degree {k}"
                )));
            }
            if t.len() < 2 * k + 2 {
                return Err(FitError::InvalidData(format!(
                    "axis {axis}: {} knots, at least {} needed for degree {k}",
                    t.len(),
                    2 * k + 2
                )));
            }
            if let Some(i) = t.iter().position(|v| !v.is_finite()) {
                return Err(FitError::InvalidData(format!(
                    "axis {axis}: knot {i} is not finite"
                )));
            }
            let n = t.len() - k - 1;
            if periodic[axis] {
                if (0..3).any(|i| t[i + 1] < t[i]) || (n..n + 3).any(|i| t[i + 1] < t[i]) {
                    return Err(FitError::InvalidData(format!(
                        "axis {axis}: outer knots of a periodic axis must not decrease"
                    )));
                }
                if !(t[n + 3] - t[0]).is_finite() {
                    return Err(FitError::InvalidData(format!(
                        "axis {axis}: the knot extent overflows"
                    )));
                }
            } else if t[..=k].iter().any(|&v| v != t[0]) || t[n..].iter().any(|&v| v != t[n]) {
                return Err(FitError::InvalidData(format!(
                    "axis {axis}: end knots are not clamped ({}-fold)",
                    k + 1
                )));
            }
            // Interior knots strictly increasing and strictly inside (t[k], t[n]).
            for i in k + 1..=n {
                if t[i] <= t[i - 1] {
                    return Err(FitError::InvalidData(format!(
                        "axis {axis}: knots must increase strictly between the end knots (t[{i}] = {} <= t[{}] = {})",
                        t[i],
                        i - 1,
                        t[i - 1]
                    )));
                }
                // Cox–de Boor divides by knot differences: a subnormal
                // spacing has an infinite reciprocal and gives NaN inside
                // the domain.
                let h = t[i] - t[i - 1];
                if h < f64::MIN_POSITIVE {
                    return Err(FitError::InvalidData(format!(
                        "axis {axis}: knot spacing t[{i}] - t[{}] = {h:e} is below the smallest normal f64",
                        i - 1
                    )));
                }
            }
            if !(t[n] - t[k]).is_finite() {
                return Err(FitError::InvalidData(format!(
                    "axis {axis}: the knot extent overflows"
                )));
            }
            shape[axis] = n;
        }
        let total = shape
            .iter()
            .chain(vshape)
            .try_fold(1usize, |a, &n| a.checked_mul(n));
        if total != Some(coefs.len()) {
            return Err(FitError::InvalidData(format!(
                "{} coefficients for a grid of shape {shape:?} and value shape {vshape:?}",
                coefs.len()
            )));
        }
        if let Some(i) = coefs.iter().position(|c| !c.is_finite()) {
            return Err(FitError::InvalidData(format!(
                "coefficient {i} is not finite ({})",
                coefs[i]
            )));
        }
        Ok(Self::from_parts_unchecked(knots, shape, coefs, degrees)
            .with_periodic_unchecked(periodic)
            .with_vshape_unchecked(vshape.to_vec()))
    }

    /// Fits the interpolating cubic spline (not-a-knot end conditions on
    /// every axis) to `values` on the grid `axes[0] × … × axes[D-1]`.
    ///
    /// `values` may have any memory layout.
    ///
    /// One-shot calls are as fast as a reused [`Fitter`] plan from the second
    /// call on: the fit's workspace and the coefficient arrays of dropped
    /// splines (from 512 KiB; at most 4 arrays and 64 MiB together by
    /// default, see [`crate::set_cache_limit`]) are kept for the next call,
    /// and [`crate::release_cached_memory`] lets them go.
    /// Fresh arrays from 4 MiB get transparent huge pages on Linux.
    ///
    /// Errors: [`FitError::AxisTooShort`],
    /// [`FitError::NonFiniteSite`], [`FitError::NonIncreasingSites`],
    /// [`FitError::ShapeMismatch`], [`FitError::NonFiniteValue`],
    /// [`FitError::SingularMatrix`], [`FitError::NonFiniteResult`].
    pub fn fit(
        axes: [&[f64]; D],
        values: ArrayView<'_, f64, Dim<[usize; D]>>,
    ) -> Result<Self, FitError>
    where
        Dim<[usize; D]>: Dimension,
    {
        Fitter::new(axes)?.fit(values)
    }

    /// Like [`fit`](Self::fit), and also reports the grid residual and the
    /// per-axis condition numbers.
    pub fn fit_with_report(
        axes: [&[f64]; D],
        values: ArrayView<'_, f64, Dim<[usize; D]>>,
    ) -> Result<(Self, FitReport<D>), FitError>
    where
        Dim<[usize; D]>: Dimension,
    {
        let fitter = Fitter::new(axes)?;
        let spline = fitter.fit(values.view())?;
        let max_abs_residual = spline.max_grid_residual(axes, values.view())?;
        let vmax = values.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let report = FitReport {
            max_abs_residual,
            max_rel_residual: if vmax > 0.0 {
                max_abs_residual / vmax
            } else {
                0.0
            },
            condition: fitter.condition_estimates(),
        };
        Ok((spline, report))
    }

    /// `max |spline(x) − value|` over the grid points `axes[0] × … × axes[D-1]`
    /// (evaluated in parallel).
    ///
    /// Errors: [`FitError::ShapeMismatch`] if `values` does not have the grid's shape.
    pub fn max_grid_residual(
        &self,
        axes: [&[f64]; D],
        values: ArrayView<'_, f64, Dim<[usize; D]>>,
    ) -> Result<f64, FitError>
    where
        Dim<[usize; D]>: Dimension,
    {
        for (axis, a) in axes.iter().enumerate() {
            if a.len() != values.shape()[axis] {
                return Err(FitError::ShapeMismatch {
                    axis,
                    axis_len: a.len(),
                    values_len: values.shape()[axis],
                });
            }
        }
        // The spline on the grid, through the driver (component 0 of a
        // vector-valued spline, as `eval`).
        let on_grid = self.evaluate(&super::Query::grid(&axes))?;
        let nc = self.ncomp;
        Ok(values
            .iter()
            .zip(on_grid.iter().step_by(nc))
            .map(|(v, s)| (s - v).abs())
            .fold(0.0, |a: f64, b: f64| {
                if a.is_nan() || b.is_nan() {
                    f64::NAN
                } else {
                    a.max(b)
                }
            }))
    }

    /// Knot vector of `axis`: coefficients + k + 1 knots (k the axis'
    /// degree), as scipy's `make_interp_spline(x, y, k, bc_type=...)`.
    ///
    /// # Panics
    /// If `axis >= D`.
    pub fn knots(&self, axis: usize) -> &[f64] {
        if axis >= D {
            crate::error::panic_index("axis", axis, D);
        }
        &self.knots[axis]
    }

    /// The coefficient array, of shape `(m_0, …, m_{D-1}, *value_shape)`
    /// (per axis the fitted sites, with `n + 2` coefficients on the axes
    /// whose condition is not not-a-knot).
    pub fn coefficients(&self) -> ArrayViewD<'_, f64> {
        let dims: Vec<usize> = self.shape.iter().chain(&self.vshape).copied().collect();
        match ArrayViewD::from_shape(dims, &self.coefs) {
            Ok(v) => v,
            // The length is checked at construction.
            Err(_) => crate::error::panic_index("coefficient", self.coefs.len(), self.coefs.len()),
        }
    }

    /// Row-major coefficients as a flat slice.
    pub fn coefficients_slice(&self) -> &[f64] {
        &self.coefs
    }

    /// Grid shape (coefficients per axis).
    pub fn shape(&self) -> [usize; D] {
        self.shape
    }

    /// Domain `[x_0, x_{n-1}]` of each axis (the knots `t_k` and `t_{n}`,
    /// k the axis' degree).
    pub fn domain(&self) -> [(f64, f64); D] {
        std::array::from_fn(|k| self.axis_domain(k))
    }
}

/// Row-major flat strides of `shape` with `ncomp` values per element.
pub(super) fn flat_strides<const D: usize>(shape: [usize; D], ncomp: usize) -> [usize; D] {
    let mut strides = [ncomp; D];
    for k in (0..D.saturating_sub(1)).rev() {
        strides[k] = strides[k + 1] * shape[k + 1];
    }
    strides
}

/// `(x_0, 1/h)` if the sites behind the not-a-knot knot vector `t` are
/// uniform: every interior knot `t[k]` (`4 ≤ k < n`) is within `1e-9·h` of
/// `x_0 + (k − 2)·h` with `h = (t[n] − t[0]) / (n − 1)`. Then
/// `⌊(x − x_0)/h⌋ − 1`, clamped, is the span index up to one step, which
/// [`TensorSpline::span`] corrects by comparing with the knots.
pub(super) fn uniform_axis(t: &[f64]) -> Option<(f64, f64)> {
    let n = t.len().checked_sub(4)?;
    if n < 4 {
        return None;
    }
    let x0 = t[0];
    let h = (t[n] - x0) / (n - 1) as f64;
    if !(h > 0.0 && h.is_finite()) {
        return None;
    }
    let tol = 1e-9 * h;
    let ok = (4..n).all(|k| (t[k] - (x0 + (k - 2) as f64 * h)).abs() <= tol);
    ok.then_some((x0, 1.0 / h))
}

#[cfg(feature = "serde")]
mod serde_impl {
    use super::*;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Serialised form: knots per axis, row-major coefficients and the
    /// extrapolation policy (absent in data written before it existed: the
    /// default, [`Extrapolate::Polynomial`]).
    #[derive(Serialize, Deserialize)]
    struct SplineData {
        knots: Vec<Vec<f64>>,
        coefficients: Vec<f64>,
        #[serde(default)]
        extrapolate: Extrapolate,
        /// Periodic axes (absent in data written before periodic axes
        /// existed, and when no axis is periodic).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        periodic: Option<Vec<bool>>,
        /// The value shape (absent for scalar values).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        value_shape: Vec<usize>,
        /// The degree of each axis (absent in data written before degrees
        /// other than 3 existed, and when every axis is cubic).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        degrees: Option<Vec<Degree>>,
    }

    impl<const D: usize> Serialize for TensorSpline<D> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            SplineData {
                knots: self.knots.to_vec(),
                coefficients: self.coefs.clone(),
                extrapolate: self.extrapolate,
                periodic: self
                    .periodic
                    .iter()
                    .any(|&p| p)
                    .then(|| self.periodic.to_vec()),
                value_shape: self.vshape.clone(),
                degrees: self.general.then(|| self.degrees.to_vec()),
            }
            .serialize(s)
        }
    }

    impl<'de, const D: usize> Deserialize<'de> for TensorSpline<D> {
        fn deserialize<De: Deserializer<'de>>(d: De) -> Result<Self, De::Error> {
            let data = SplineData::deserialize(d)?;
            if data.knots.len() != D {
                return Err(serde::de::Error::custom(FitError::DimensionMismatch {
                    expected: D,
                    got: data.knots.len(),
                }));
            }
            let periodic = match data.periodic {
                None => [false; D],
                Some(p) if p.len() == D => vec_to_array(p),
                Some(p) => {
                    return Err(serde::de::Error::custom(FitError::InvalidData(format!(
                        "{} periodic flags for {D} axes",
                        p.len()
                    ))));
                }
            };
            let degrees = match data.degrees {
                None => [Degree::Cubic; D],
                Some(k) if k.len() == D => vec_to_array(k),
                Some(k) => {
                    return Err(serde::de::Error::custom(FitError::InvalidData(format!(
                        "{} degrees for {D} axes",
                        k.len()
                    ))));
                }
            };
            TensorSpline::from_parts_degrees(
                vec_to_array(data.knots),
                data.coefficients,
                periodic,
                &data.value_shape,
                degrees,
            )
            .map(|s| s.with_extrapolate(data.extrapolate))
            .map_err(serde::de::Error::custom)
        }
    }
}
