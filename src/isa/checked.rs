//! Safe, fully checked entry points to single kernels, for the ISA
//! equivalence tests and the kernel benchmarks. Not part of the supported
//! API (hidden from the docs): users call the fitter and the spline.
//!
//! Every function turns the [`Isa`] into its proven `Kernels` first and
//! checks every length its kernel reads or writes, so no input reaches a
//! kernel out of bounds.

use super::{Isa, Kernels, check_spans};
use crate::FitError;
use crate::banded::BandLu;

fn bad(name: &'static str, reason: String) -> FitError {
    FitError::InvalidParameter { name, reason }
}

/// Solves `lu` in place for `m` lines held side by side (row `i` of the
/// lines is `b[i*row_stride .. i*row_stride + m]`) with the kernels of
/// `isa`; returns whether every result is finite. The scalar reference is
/// [`BandLu::solve_strided`].
///
/// Errors: [`FitError::IsaUnavailable`]; [`FitError::InvalidParameter`] if
/// `m > row_stride` or `b` is too short.
pub fn solve_lanes(
    isa: Isa,
    lu: &BandLu,
    b: &mut [f64],
    row_stride: usize,
    m: usize,
) -> Result<bool, FitError> {
    let k = Kernels::new(isa)?;
    let (l, u) = (lu.lower(), lu.upper());
    let n = u.len();
    if l.len() != n {
        return Err(bad("lu", format!("{} lower and {n} upper rows", l.len())));
    }
    if n == 0 || m == 0 {
        return Ok(true);
    }
    let need = (n - 1)
        .checked_mul(row_stride)
        .and_then(|v| v.checked_add(m));
    if m > row_stride || need.is_none_or(|need| b.len() < need) {
        return Err(bad(
            "b",
            format!(
                "{} values for {n} rows of {m} lanes with row stride {row_stride}",
                b.len()
            ),
        ));
    }
    let p = b.as_mut_ptr();
    // SAFETY: rows 0..n (= l.len() = u.len()) of lanes 0..m lie in
    // b[..(n-1)*row_stride + m], checked above; in place.
    unsafe {
        k.lu_forward_raw(l, p, row_stride, p, row_stride, m);
        Ok(k.lu_backward_raw(u, p, row_stride, p, row_stride, m))
    }
}

/// Transposes the row-major `rows × cols` matrix `src` into `dst`
/// (`cols × rows`, row-major) with the kernel of `isa`.
///
/// Errors: [`FitError::IsaUnavailable`]; [`FitError::InvalidParameter`] if a
/// length is not `rows * cols`.
pub fn transpose(
    isa: Isa,
    src: &[f64],
    rows: usize,
    cols: usize,
    dst: &mut [f64],
) -> Result<(), FitError> {
    let k = Kernels::new(isa)?;
    let len = rows.checked_mul(cols);
    if len != Some(src.len()) || len != Some(dst.len()) {
        return Err(bad(
            "transpose",
            format!(
                "{rows} x {cols} with buffers of {} and {}",
                src.len(),
                dst.len()
            ),
        ));
    }
    // SAFETY: both buffers hold exactly rows * cols values and are distinct
    // (one shared, one exclusive borrow).
    unsafe { k.transpose_raw(src.as_ptr(), cols, dst.as_mut_ptr(), rows, rows, cols) };
    Ok(())
}

/// Cubic basis values (`nd = 0`) or values with first and second
/// derivatives (`nd ≥ 1`) at the points `x` of one axis with knot vector
/// `t`, lanes = points: `out[p][k][r] = d^k B_{spans[p]−3+r}(x[p])`. The
/// scalar reference is [`basis`](crate::bspline::basis::basis) /
/// [`basis_derivs`](crate::bspline::basis::basis_derivs).
///
/// Errors: [`FitError::IsaUnavailable`]; [`FitError::InvalidParameter`] for
/// unequal lengths, fewer than 8 knots or a span outside `3..=t.len()−5`.
pub fn basis_batch(
    isa: Isa,
    t: &[f64],
    spans: &[usize],
    x: &[f64],
    nd: usize,
    out: &mut [[[f64; 4]; 3]],
) -> Result<(), FitError> {
    let k = Kernels::new(isa)?;
    check_spans(t, spans)?;
    if spans.len() != x.len() || out.len() != x.len() {
        return Err(bad(
            "basis_batch",
            format!(
                "{} spans, {} points, {} outputs",
                spans.len(),
                x.len(),
                out.len()
            ),
        ));
    }
    // SAFETY: spans and lengths checked above.
    unsafe { k.basis_batch_raw(t, spans, x, nd, out) };
    Ok(())
}

/// The four cubic basis values at one point with the kernel of `isa`.
///
/// Errors: [`FitError::IsaUnavailable`]; [`FitError::InvalidParameter`] for
/// fewer than 8 knots or a span outside `3..=t.len()−5`.
pub fn basis_single(isa: Isa, t: &[f64], span: usize, x: f64) -> Result<[f64; 4], FitError> {
    let k = Kernels::new(isa)?;
    check_spans(t, &[span])?;
    // SAFETY: span checked above.
    Ok(unsafe { k.basis_single_raw(t, span, x) })
}
