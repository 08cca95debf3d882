//! Not-a-knot cubic knot vectors and knot-span search.
//!
//! For strictly increasing sites `x_0 < … < x_{n-1}` (n ≥ 4) the not-a-knot
//! cubic knot vector is
//!
//! ```text
//! t = [x_0, x_0, x_0, x_0, x_2, x_3, …, x_{n-3}, x_{n-1}, x_{n-1}, x_{n-1}, x_{n-1}]
//! ```
//!
//! (n + 4 knots, n basis functions). The sites `x_1` and `x_{n-2}` are not
//! knots, so the third derivative is continuous there: the first two and the
//! last two polynomial pieces merge. This is exactly the knot vector of
//! scipy's `make_interp_spline(x, y, k=3)`.

use crate::FitError;

/// Minimum number of sites per axis for a cubic not-a-knot spline.
pub const MIN_SITES: usize = 4;

/// Checks that `x` can be an axis of a fit: at least 4 sites, all finite and
/// strictly increasing. `axis` is only used to label the error.
pub fn validate_sites(axis: usize, x: &[f64]) -> Result<(), FitError> {
    if x.len() < MIN_SITES {
        return Err(FitError::AxisTooShort {
            axis,
            len: x.len(),
            min: MIN_SITES,
        });
    }
    for (index, &value) in x.iter().enumerate() {
        if !value.is_finite() {
            return Err(FitError::NonFiniteSite { axis, index, value });
        }
    }
    for index in 1..x.len() {
        if x[index] <= x[index - 1] {
            return Err(FitError::NonIncreasingSites {
                axis,
                index,
                prev: x[index - 1],
                value: x[index],
            });
        }
    }
    // Knot differences up to x[n-1] - x[0] appear in the basis recurrence.
    if !(x[x.len() - 1] - x[0]).is_finite() {
        return Err(FitError::InvalidParameter {
            name: "axes",
            reason: format!(
                "axis {axis}: the extent x[{}] - x[0] = {} - {} overflows f64",
                x.len() - 1,
                x[x.len() - 1],
                x[0]
            ),
        });
    }
    Ok(())
}

/// The not-a-knot cubic knot vector of validated sites (n + 4 knots).
pub fn not_a_knot(x: &[f64]) -> Vec<f64> {
    let n = x.len();
    debug_assert!(n >= MIN_SITES);
    let mut t = Vec::with_capacity(n + 4);
    t.extend_from_slice(&[x[0]; 4]);
    t.extend_from_slice(&x[2..n - 2]);
    t.extend_from_slice(&[x[n - 1]; 4]);
    t
}

/// Knot span of `x` for a clamped cubic knot vector `t` with `n = t.len() - 4`
/// coefficients: the index `i ∈ [3, n-1]` with `t[i] ≤ x < t[i+1]`.
///
/// Points left of the domain map to span 3 and points at or right of its end
/// map to span `n-1`, so evaluation there extrapolates with the boundary
/// polynomial pieces (scipy's `extrapolate=True`). NaN maps to span 3; the
/// result of evaluating at NaN is NaN.
///
/// Binary search over the interior knots, branch-light: `O(log n)`.
#[inline]
pub fn find_span(t: &[f64], x: f64) -> usize {
    let n = t.len() - 4;
    // Interior breakpoints t[4..n] (the knots strictly between the end knots).
    // span = 3 + #{k in 4..n : t[k] <= x}.
    let interior = &t[4..n];
    3 + interior.partition_point(|&k| k <= x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knots_match_definition() {
        let x = [0.0, 1.0, 2.5, 3.0, 4.0, 7.0];
        let t = not_a_knot(&x);
        assert_eq!(t, vec![0.0, 0.0, 0.0, 0.0, 2.5, 3.0, 7.0, 7.0, 7.0, 7.0]);
        let t4 = not_a_knot(&[0.0, 1.0, 2.0, 3.0]);
        assert_eq!(t4, vec![0.0, 0.0, 0.0, 0.0, 3.0, 3.0, 3.0, 3.0]);
    }

    #[test]
    fn span_search() {
        let x = [0.0, 1.0, 2.5, 3.0, 4.0, 7.0];
        let t = not_a_knot(&x); // n = 6, spans 3..=5
        assert_eq!(find_span(&t, -1.0), 3);
        assert_eq!(find_span(&t, 0.0), 3);
        assert_eq!(find_span(&t, 2.49), 3);
        assert_eq!(find_span(&t, 2.5), 4);
        assert_eq!(find_span(&t, 3.0), 5);
        assert_eq!(find_span(&t, 7.0), 5);
        assert_eq!(find_span(&t, 1e300), 5);
        assert_eq!(find_span(&t, f64::NAN), 3);
        for s in [-1.0, 0.5, 2.7, 3.5, 6.9] {
            let i = find_span(&t, s);
            assert!((3..=5).contains(&i));
        }
    }

    #[test]
    fn validation_errors() {
        assert_eq!(
            validate_sites(2, &[0.0, 1.0, 2.0]),
            Err(FitError::AxisTooShort {
                axis: 2,
                len: 3,
                min: 4
            })
        );
        assert!(matches!(
            validate_sites(1, &[0.0, 1.0, f64::NAN, 3.0]),
            Err(FitError::NonFiniteSite {
                axis: 1,
                index: 2,
                ..
            })
        ));
        assert!(matches!(
            validate_sites(0, &[0.0, 1.0, 1.0, 3.0]),
            Err(FitError::NonIncreasingSites {
                axis: 0,
                index: 2,
                ..
            })
        ));
        assert!(matches!(
            validate_sites(0, &[0.0, 2.0, 1.0, 3.0]),
            Err(FitError::NonIncreasingSites {
                axis: 0,
                index: 2,
                ..
            })
        ));
        assert!(matches!(
            validate_sites(3, &[-1.7e308, 0.0, 1.0, 1.7e308]),
            Err(FitError::InvalidParameter { name: "axes", .. })
        ));
        assert!(validate_sites(0, &[0.0, 1.0, 2.0, 3.0]).is_ok());
    }
}
