//! Portable kernels: the same generic bodies as the SIMD ISAs with one lane,
//! unfused arithmetic. They run on every target.

use super::simd;

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
