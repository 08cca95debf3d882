//! Portable kernels: the same generic bodies as the SIMD ISAs with one lane,
//! unfused arithmetic. They run on every target.

use super::simd;
use crate::bspline::ORDER;

/// See [`simd::lu_forward`]; lanes `0..m`.
///
/// # Safety
/// Rows `0..l.len()` of lanes `0..m` are in bounds for `src` (stride `ss`)
/// and `dst` (stride `ds`).
pub(crate) unsafe fn lu_forward(
    l: &[[f64; 2]],
    src: *const f64,
    ss: usize,
    dst: *mut f64,
    ds: usize,
    m: usize,
) {
    // SAFETY: forwarded contract.
    unsafe { simd::lu_forward::<f64>(l, src, ss, dst, ds, 0, m) }
}

/// See [`simd::lu_backward`]; returns whether all results are finite.
///
/// # Safety
/// As [`lu_forward`].
pub(crate) unsafe fn lu_backward(
    u: &[[f64; 3]],
    src: *const f64,
    ss: usize,
    dst: *mut f64,
    ds: usize,
    m: usize,
) -> bool {
    // SAFETY: forwarded contract.
    unsafe { simd::lu_backward::<f64>(u, src, ss, dst, ds, 0, m) == 0.0 }
}

/// `dst[c*ds + r] = src[r*ss + c]` for a `rows × cols` block.
///
/// # Safety
/// The block is in bounds for both pointers.
pub(crate) unsafe fn transpose(
    src: *const f64,
    ss: usize,
    dst: *mut f64,
    ds: usize,
    rows: usize,
    cols: usize,
) {
    // SAFETY: forwarded contract.
    unsafe { simd::transpose_scalar(src, ss, dst, ds, 0, rows, 0, cols) }
}

/// Scalar reference basis for a batch: [`crate::bspline::basis::basis`] and
/// [`crate::bspline::basis::basis_derivs`] per point.
pub(crate) fn basis_batch(
    t: &[f64],
    spans: &[usize],
    x: &[f64],
    nd: usize,
    out: &mut [[[f64; 4]; 3]],
) {
    use crate::bspline::basis::{basis, basis_derivs};
    for ((o, &s), &xv) in out.iter_mut().zip(spans).zip(x) {
        if nd == 0 {
            o[0] = basis(t, s, xv);
        } else {
            let d = basis_derivs(t, s, xv, nd.min(2));
            o.copy_from_slice(&d[..3]);
        }
    }
}

/// Scalar reference of the tensor evaluation's `4^D` contraction: odometer
/// over the first `D − 1` digits, rows of four coefficients at the innermost
/// stride `strides[D−1]` (1 for scalar values; the number of components for
/// one component of a vector-valued spline).
pub(crate) fn contract<const D: usize>(
    coefs: &[f64],
    strides: &[usize; D],
    base: usize,
    w: &[[f64; ORDER]; D],
) -> f64 {
    let last = D - 1;
    let sl = strides[last];
    let outer = 1usize << (2 * last); // 4^(D-1) rows of 4 coefficients
    let mut digits = [0usize; D];
    let mut total = 0.0;
    for _ in 0..outer {
        let mut weight = 1.0;
        let mut off = base;
        for k in 0..last {
            weight *= w[k][digits[k]];
            off += digits[k] * strides[k];
        }
        let row = [
            coefs[off],
            coefs[off + sl],
            coefs[off + 2 * sl],
            coefs[off + 3 * sl],
        ];
        let wl = &w[last];
        let inner = row[0] * wl[0] + row[1] * wl[1] + row[2] * wl[2] + row[3] * wl[3];
        total += weight * inner;
        // Odometer over the first D-1 digits (last digit fastest).
        for k in (0..last).rev() {
            digits[k] += 1;
            if digits[k] < ORDER {
                break;
            }
            digits[k] = 0;
        }
    }
    total
}

/// Lanes of the independent accumulators of [`all_finite`] and
/// [`comb_checked`]: enough for the check to vectorise.
const CHECK_LANES: usize = 8;

/// Whether every value is finite, with [`CHECK_LANES`] independent
/// accumulators of `v · 0` (NaN as soon as one value is not finite), so
/// that the check costs a vector add per vector of values rather than a
/// serial chain of scalar adds.
#[inline]
pub(crate) fn all_finite(vals: &[f64]) -> bool {
    let mut acc = [0.0f64; CHECK_LANES];
    let mut chunks = vals.chunks_exact(CHECK_LANES);
    for c in &mut chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a += v * 0.0;
        }
    }
    for (a, &v) in acc.iter_mut().zip(chunks.remainder()) {
        *a += v * 0.0;
    }
    acc.iter().sum::<f64>() == 0.0
}

/// `o[k] = a·x[k] + b·y[k]` (unfused, identical on every ISA) for
/// `k < o.len()`; returns whether every result is finite (see
/// [`all_finite`]). `x` and `y` hold at least `o.len()` values.
#[inline]
pub(crate) fn comb_checked(o: &mut [f64], a: f64, x: &[f64], b: f64, y: &[f64]) -> bool {
    let n = o.len();
    let (x, y) = (&x[..n], &y[..n]);
    let mut acc = [0.0f64; CHECK_LANES];
    let split = n - n % CHECK_LANES;
    for ((oc, xc), yc) in o[..split]
        .chunks_exact_mut(CHECK_LANES)
        .zip(x[..split].chunks_exact(CHECK_LANES))
        .zip(y[..split].chunks_exact(CHECK_LANES))
    {
        for k in 0..CHECK_LANES {
            let v = a * xc[k] + b * yc[k];
            oc[k] = v;
            acc[k] += v * 0.0;
        }
    }
    for k in split..n {
        let v = a * x[k] + b * y[k];
        o[k] = v;
        acc[k - split] += v * 0.0;
    }
    acc.iter().sum::<f64>() == 0.0
}
