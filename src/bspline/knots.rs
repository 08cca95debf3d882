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

use super::Degree;
use crate::FitError;

/// Minimum number of sites per axis for a cubic not-a-knot spline.
pub const MIN_SITES: usize = 4;

/// Checks that `x` can be an axis of a fit: at least 4 sites, all finite and
/// strictly increasing. `axis` is only used to label the error.
pub fn validate_sites(axis: usize, x: &[f64]) -> Result<(), FitError> {
    validate_sites_k(axis, x, Degree::Cubic)
}

/// [`validate_sites`] for an axis of degree `k`: at least `k + 1` sites
/// (scipy's `make_interp_spline` minimum), finite and strictly increasing.
pub fn validate_sites_k(axis: usize, x: &[f64], k: Degree) -> Result<(), FitError> {
    if x.len() < k.min_sites() {
        return Err(FitError::AxisTooShort {
            axis,
            len: x.len(),
            min: k.min_sites(),
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

/// scipy's not-a-knot knot vector of degree `k` on validated sites
/// (`_not_a_knot(x, k)` in `scipy/interpolate/_bsplines.py`,
/// [`super::interp::default_knots`]): `k + 1` copies of each end around,
/// at odd `k`, the sites `x_{(k+1)/2} … x_{n-(k+1)/2-1}`, at even `k` the
/// midpoints `(x_i + x_{i+1})/2`, `i = k/2 … n − k/2 − 2`: `n + k + 1`
/// knots, `n` coefficients.
/// `k = 1`: `[x_0, x_0, x_1, …, x_{n-2}, x_{n-1}, x_{n-1}]`;
/// `k = 5`: `[x_0 ×6, x_3, …, x_{n-4}, x_{n-1} ×6]`.
pub fn not_a_knot_k(x: &[f64], k: Degree) -> Vec<f64> {
    super::interp::default_knots(x, k.get())
}

/// Knot span of `x` for a clamped knot vector `t` of degree `k` with
/// `n = t.len() − k − 1` coefficients: the index `i ∈ [k, n−1]` with
/// `t[i] ≤ x < t[i+1]`, clamped at the ends as [`find_span`] (which is
/// this function at `k = 3`).
#[inline]
pub fn find_span_k(t: &[f64], k: usize, x: f64) -> usize {
    let n = t.len() - k - 1;
    k + t[k + 1..n].partition_point(|&v| v <= x)
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
    fn odd_degree_knots_follow_scipy() {
        let x = [0.0, 1.0, 2.5, 3.0, 4.0, 7.0, 8.0, 9.5];
        assert_eq!(
            not_a_knot_k(&x, Degree::Linear),
            vec![0.0, 0.0, 1.0, 2.5, 3.0, 4.0, 7.0, 8.0, 9.5, 9.5]
        );
        assert_eq!(not_a_knot_k(&x, Degree::Cubic), not_a_knot(&x));
        let t5 = not_a_knot_k(&x, Degree::Quintic);
        let mut want = vec![0.0; 6];
        want.extend([3.0, 4.0]);
        want.extend([9.5; 6]);
        assert_eq!(t5, want);
        // Even degrees: midpoints of the sites (scipy's `_not_a_knot`).
        assert_eq!(
            not_a_knot_k(&x, Degree::Quadratic),
            vec![0.0, 0.0, 0.0, 1.75, 2.75, 3.5, 5.5, 7.5, 9.5, 9.5, 9.5]
        );
        assert_eq!(
            not_a_knot_k(&x, Degree::Quartic),
            [vec![0.0; 5], vec![2.75, 3.5, 5.5], vec![9.5; 5]].concat()
        );
        for k in [1, 2, 3, 4, 5] {
            let t = not_a_knot_k(&x, Degree::try_from(k).unwrap());
            let n = t.len() - k - 1;
            assert_eq!(n, x.len());
            for s in [-1.0, 0.0, 0.5, 3.0, 9.4, 9.5, 20.0] {
                let i = find_span_k(&t, k, s);
                assert!((k..n).contains(&i));
                if s >= t[k] && s < t[n] {
                    assert!(t[i] <= s && s < t[i + 1]);
                }
            }
            if k == 3 {
                for s in [-1.0, 0.5, 3.0, 9.5] {
                    assert_eq!(find_span_k(&t, 3, s), find_span(&t, s));
                }
            }
        }
        // The fewest sites: k + 1.
        let t = not_a_knot_k(&x[..6], Degree::Quintic);
        assert_eq!(t, [vec![0.0; 6], vec![7.0; 6]].concat());
        assert!(matches!(
            validate_sites_k(1, &x[..5], Degree::Quintic),
            Err(FitError::AxisTooShort {
                axis: 1,
                len: 5,
                min: 6
            })
        ));
        assert!(validate_sites_k(0, &x[..2], Degree::Linear).is_ok());
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
