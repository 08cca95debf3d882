//! Public entry points of the exact solve: [`prefilter`] and its generic form.

use super::Boundary;
use super::direct::DirectPlan;
use crate::{FitError, Par, Real};
use ndarray::{Array3, ArrayView3};

/// Checks that no extent is zero.
fn validate_shape<T: Real>(values: &ArrayView3<'_, T>) -> Result<(), FitError> {
    for (axis, &len) in values.shape().iter().enumerate() {
        if len == 0 {
            return Err(FitError::AxisTooShort { axis, len, min: 1 });
        }
    }
    Ok(())
}

/// Checks that no extent is zero and every value is finite.
pub(crate) fn validate<T: Real>(values: &ArrayView3<'_, T>) -> Result<(), FitError> {
    validate_shape(values)?;
    // Fast path: one branch-free pass over contiguous memory (any order);
    // the index of an offending value is looked up only when there is one.
    if let Some(flat) = values.as_slice_memory_order()
        && flat.iter().fold(true, |ok, v| ok & v.is_finite())
    {
        return Ok(());
    }
    if let Some(((i, j, k), v)) = values.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(FitError::NonFiniteValue {
            index: vec![i, j, k],
            value: v.to_f64(),
        });
    }
    Ok(())
}

/// Checks that a solve produced only finite coefficients.
///
/// Per axis `‖B⁻¹‖∞ ≤ 3` (the 1D operator `[1/6, 2/3, 1/6]` is diagonally
/// dominant with margin 1/3), so coefficients can only overflow when
/// `max |f| · 3^(k+1)` exceeds the largest finite `T` after pass `k`: the
/// error names the first such axis and the per-axis condition bound 3.
pub(crate) fn check_finite<T: Real>(f: &[T], c: &[T]) -> Result<(), FitError> {
    if c.iter().all(|v| v.is_finite()) {
        return Ok(());
    }
    let t_max = if T::BYTES == 4 {
        f32::MAX as f64
    } else {
        f64::MAX
    };
    let fmax = f.iter().fold(0.0f64, |m, v| m.max(v.to_f64().abs()));
    let axis = (0..3)
        .find(|&k| fmax * 3f64.powi(k as i32 + 1) > t_max)
        .unwrap_or(2);
    Err(FitError::NonFiniteResult {
        axis,
        condition: 3.0,
    })
}

/// Cubic B-spline coefficients `c` with `B c = values` (exact separable solve), f64.
///
/// Periodic axes give `scipy.ndimage.spline_filter(values, order=3, mode='grid-wrap')`
/// and mirror axes `mode='mirror'` (to rounding); `Zero` axes solve the tridiagonal
/// system with `c[-1] = c[n] = 0`. Any extent ≥ 1 is accepted (see
/// [`super::direct`] for `n = 1, 2`), in any memory layout.
///
/// # Errors
/// [`FitError::AxisTooShort`] for an empty axis, [`FitError::NonFiniteValue`] (with the
/// index) for a NaN or infinite sample, [`FitError::NonFiniteResult`] when the
/// coefficients overflow (samples within a factor 27 of the largest float).
///
/// # Example
/// ```
/// use bsfit::grid3::{prefilter, Boundary};
/// let f = ndarray::Array3::<f64>::from_elem((4, 5, 6), 2.5);
/// let c = prefilter(f.view(), [Boundary::Periodic; 3]).unwrap();
/// // Constants are reproduced: the weights of B sum to 1.
/// assert!(c.iter().all(|&v| (v - 2.5).abs() < 1e-12));
/// ```
pub fn prefilter(
    values: ArrayView3<'_, f64>,
    boundary: [Boundary; 3],
) -> Result<Array3<f64>, FitError> {
    prefilter_generic(values, boundary, Par::auto())
}

/// [`prefilter`] for `f32`.
///
/// # Errors
/// As [`prefilter`].
pub fn prefilter_f32(
    values: ArrayView3<'_, f32>,
    boundary: [Boundary; 3],
) -> Result<Array3<f32>, FitError> {
    prefilter_generic(values, boundary, Par::auto())
}

/// [`prefilter`] for any [`Real`], with explicit parallelism.
///
/// # Errors
/// As [`prefilter`].
pub fn prefilter_generic<T: Real>(
    values: ArrayView3<'_, T>,
    boundary: [Boundary; 3],
    par: Par,
) -> Result<Array3<T>, FitError> {
    let (n0, n1, n2) = values.dim();
    let mut out = crate::recycle::zeroed(n0 * n1 * n2);
    prefilter_into_generic(values, boundary, &mut out, par)?;
    Array3::from_shape_vec((n0, n1, n2), out)
        .map_err(|e| FitError::InvalidData(format!("output shape: {e}")))
}

/// [`prefilter`] (f64 or f32) into a caller's row-major buffer of
/// `n0 · n1 · n2` values, without allocating the output.
///
/// # Errors
/// As [`prefilter`], and [`FitError::InvalidParameter`] if `out` has the
/// wrong length. Non-finite samples are detected by the solve's own
/// finiteness check, so after [`FitError::NonFiniteValue`] (as after
/// [`FitError::NonFiniteResult`]) `out` holds unspecified values; the other
/// errors are returned before anything is written.
///
/// # Example
/// ```
/// use bsfit::grid3::{prefilter_into, Boundary};
/// let f = ndarray::Array3::<f32>::from_elem((3, 4, 5), 1.5);
/// let mut c = vec![0.0f32; 60];
/// prefilter_into(f.view(), [Boundary::Mirror; 3], &mut c).unwrap();
/// assert!(c.iter().all(|&v| (v - 1.5).abs() < 1e-6));
/// ```
pub fn prefilter_into<T: Real>(
    values: ArrayView3<'_, T>,
    boundary: [Boundary; 3],
    out: &mut [T],
) -> Result<(), FitError> {
    prefilter_into_generic(values, boundary, out, Par::auto())
}

/// [`prefilter_into`] with explicit parallelism.
///
/// # Errors
/// As [`prefilter_into`].
pub fn prefilter_into_generic<T: Real>(
    values: ArrayView3<'_, T>,
    boundary: [Boundary; 3],
    out: &mut [T],
    par: Par,
) -> Result<(), FitError> {
    validate_shape(&values)?;
    let (n0, n1, n2) = values.dim();
    if out.len() != n0 * n1 * n2 {
        return Err(FitError::InvalidParameter {
            name: "out",
            reason: format!(
                "length {}, expected {} (grid {n0}×{n1}×{n2})",
                out.len(),
                n0 * n1 * n2
            ),
        });
    }
    let std = values.as_standard_layout();
    let src = std
        .as_slice()
        .ok_or_else(|| FitError::InvalidData("standard layout is not contiguous".into()))?;
    let ws = crate::recycle::take_workspace();
    let plan = DirectPlan::<T>::with_workspace([n0, n1, n2], boundary, par, ws);
    // The finiteness of the result is checked plane by plane inside the
    // solve's last sweep, while each plane is cache-resident. That check
    // covers the input too: every coefficient c_i depends on f_i with a
    // nonzero weight (the diagonal of B⁻¹ per axis), so a NaN or infinite
    // sample always leaves a non-finite coefficient. Only then are the
    // samples searched, to name the one at fault.
    let finite = plan.solve_checked(src, out);
    crate::recycle::give_workspace(plan.into_workspace());
    if finite {
        Ok(())
    } else {
        validate(&values)?;
        check_finite(src, out)
    }
}
