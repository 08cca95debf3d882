//! Safe, fully checked entry points to single kernels, for the ISA
//! equivalence tests below and (behind the `bench-internals` feature) the
//! kernel benchmarks. Not part of the API: users call the fitter and the
//! spline.
//!
//! Every function turns the [`Isa`] into its proven `Kernels` first and
//! checks every length its kernel reads or writes, so no input reaches a
//! kernel out of bounds.

// Without `bench-internals` only the tests below call these functions.
#![cfg_attr(not(feature = "bench-internals"), allow(dead_code))]

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

/// Every available ISA against the scalar reference through the checked
/// entry points (remainder-heavy sizes, dirty NaN-filled buffers, seeded
/// inputs; an ISA this CPU lacks is skipped with a message), and hostile
/// lengths that must come back as errors.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::bspline::basis::{basis, basis_derivs};
    use crate::bspline::knots::{find_span, not_a_knot};
    use bsfit_testkit::SplitMix64 as Rng;

    /// `n` strictly increasing, non-uniform sites starting at `start`, steps in [0.3, 1.7]·h.
    fn random_sites(rng: &mut Rng, n: usize, start: f64, h: f64) -> Vec<f64> {
        let mut x = Vec::with_capacity(n);
        let mut v = start;
        for _ in 0..n {
            x.push(v);
            v += h * rng.uniform(0.3, 1.7);
        }
        x
    }

    const SIZES: [usize; 12] = [1, 2, 3, 7, 8, 9, 15, 16, 17, 255, 256, 257];

    /// The ISAs to compare with scalar; logs the ones this CPU lacks.
    fn fast_isas() -> Vec<Isa> {
        Isa::ALL
            .into_iter()
            .filter(|&i| i != Isa::Scalar)
            .filter(|&i| {
                let ok = i.is_available();
                if !ok {
                    eprintln!("skipping {i}: not available on this CPU");
                }
                ok
            })
            .collect()
    }

    /// `|a − b| ≤ tol · scale` with `scale = max(1, |b|)` unless given.
    fn close(a: f64, b: f64, tol: f64, scale: f64) -> bool {
        (a - b).abs() <= tol * scale.max(1.0)
    }

    #[test]
    fn solve_lanes_matches_scalar_strided_solve() {
        let mut rng = Rng(1);
        for isa in fast_isas() {
            for &n in &[4usize, 5, 9, 17, 50] {
                let x = random_sites(&mut rng, n, 0.0, 1.0);
                let lu = BandLu::collocation(0, &x, &not_a_knot(&x)).unwrap();
                for &m in &SIZES {
                    let stride = m + 3;
                    // Dirty padding lanes: NaN must neither be read into nor be
                    // overwritten in the lanes outside 0..m.
                    let mut b = vec![f64::NAN; (n - 1) * stride + m + 2];
                    for i in 0..n {
                        for j in 0..m {
                            b[i * stride + j] = rng.uniform(-1.0, 1.0);
                        }
                    }
                    let orig = b.clone();
                    assert!(
                        solve_lanes(isa, &lu, &mut b, stride, m).unwrap(),
                        "{isa} n={n} m={m}"
                    );
                    for j in 0..m {
                        let mut line: Vec<f64> = (0..n).map(|i| orig[i * stride + j]).collect();
                        lu.solve_strided(&mut line, 1);
                        let scale = line.iter().fold(0.0f64, |a, v| a.max(v.abs()));
                        for i in 0..n {
                            assert!(
                                close(b[i * stride + j], line[i], 1e-14, scale),
                                "{isa} n={n} m={m} lane {j} row {i}: {} vs {}",
                                b[i * stride + j],
                                line[i]
                            );
                        }
                    }
                    for (k, (v, o)) in b.iter().zip(&orig).enumerate() {
                        if k % stride >= m || k >= (n - 1) * stride + m {
                            assert!(v.is_nan() && o.is_nan(), "{isa}: padding {k} touched");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn solve_lanes_reports_non_finite() {
        let x: Vec<f64> = (0..6).map(|i| i as f64).collect();
        let lu = BandLu::collocation(0, &x, &not_a_knot(&x)).unwrap();
        for isa in Isa::available() {
            for m in [1usize, 9, 17] {
                let mut b = vec![1.0; 6 * m];
                b[3 * m + m - 1] = f64::INFINITY;
                assert!(!solve_lanes(isa, &lu, &mut b, m, m).unwrap(), "{isa} m={m}");
            }
        }
    }

    #[test]
    fn transpose_matches_definition() {
        let mut rng = Rng(2);
        for isa in Isa::available() {
            for &r in &SIZES {
                for &c in &[1usize, 3, 4, 5, 8, 9, 17] {
                    let src: Vec<f64> = (0..r * c).map(|_| rng.next_f64()).collect();
                    let mut dst = vec![f64::NAN; r * c];
                    transpose(isa, &src, r, c, &mut dst).unwrap();
                    for i in 0..r {
                        for j in 0..c {
                            assert_eq!(dst[j * r + i], src[i * c + j], "{isa} {r}x{c}");
                        }
                    }
                }
            }
        }
    }

    /// Knots of a non-uniform axis and random points in and slightly outside its domain.
    fn axis_and_points(rng: &mut Rng, n: usize, npts: usize) -> (Vec<f64>, Vec<f64>, Vec<usize>) {
        let x = random_sites(rng, n, -1.0, 0.3);
        let t = not_a_knot(&x);
        let (lo, hi) = (x[0], x[n - 1]);
        let mut pts: Vec<f64> = (0..npts)
            .map(|_| rng.uniform(lo - 0.1 * (hi - lo), hi + 0.1 * (hi - lo)))
            .collect();
        // Some points exactly on knots.
        for (k, p) in pts.iter_mut().enumerate().step_by(5) {
            *p = t[3 + k % (t.len() - 6)];
        }
        let spans = pts.iter().map(|&p| find_span(&t, p)).collect();
        (t, pts, spans)
    }

    #[test]
    fn basis_batch_matches_scalar_reference() {
        let mut rng = Rng(3);
        for isa in fast_isas() {
            for &len in &SIZES {
                for &n in &[4usize, 7, 40] {
                    let (t, pts, spans) = axis_and_points(&mut rng, n, len);
                    for nd in [0usize, 2] {
                        let mut out = vec![[[f64::NAN; 4]; 3]; len];
                        basis_batch(isa, &t, &spans, &pts, nd, &mut out).unwrap();
                        for p in 0..len {
                            let want = basis_derivs(&t, spans[p], pts[p], 2);
                            for k in 0..=nd {
                                let scale = want[k].iter().fold(0.0f64, |a, v| a.max(v.abs()));
                                for r in 0..4 {
                                    assert!(
                                        close(out[p][k][r], want[k][r], 1e-14, scale),
                                        "{isa} len={len} n={n} p={p} k={k} r={r}: {} vs {}",
                                        out[p][k][r],
                                        want[k][r]
                                    );
                                }
                            }
                            if nd == 0 {
                                let b = basis(&t, spans[p], pts[p]);
                                let scale = b.iter().fold(0.0f64, |a, v| a.max(v.abs()));
                                for r in 0..4 {
                                    assert!(close(out[p][0][r], b[r], 1e-14, scale));
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn basis_single_matches_scalar_reference() {
        let mut rng = Rng(4);
        for isa in Isa::available() {
            for &n in &[4usize, 5, 8, 33] {
                let (t, pts, spans) = axis_and_points(&mut rng, n, 257);
                for (&p, &s) in pts.iter().zip(&spans) {
                    let got = basis_single(isa, &t, s, p).unwrap();
                    let want = basis(&t, s, p);
                    for r in 0..4 {
                        assert!(
                            close(got[r], want[r], 1e-14, 1.0),
                            "{isa} {got:?} vs {want:?}"
                        );
                    }
                }
                assert!(basis_single(isa, &t, 2, 0.0).is_err());
                assert!(basis_single(isa, &t, t.len() - 4, 0.0).is_err());
            }
        }
    }

    /// A factored collocation matrix of `n` uniform sites.
    fn lu(n: usize) -> BandLu {
        let x: Vec<f64> = (0..n).map(|i| i as f64).collect();
        BandLu::collocation(0, &x, &not_a_knot(&x)).unwrap()
    }

    #[test]
    fn checked_kernels_reject_every_short_buffer() {
        let lu = lu(9);
        for isa in Isa::available() {
            for (len, stride, m) in [(0, 4, 4), (8 * 4 + 3, 4, 4), (8 * 16, 8, 9)] {
                let mut b = vec![1.0; len];
                let guard = b.clone();
                let r = solve_lanes(isa, &lu, &mut b, stride, m);
                assert!(
                    matches!(r, Err(FitError::InvalidParameter { .. })),
                    "{isa}: {len} values, stride {stride}, {m} lanes"
                );
                assert_eq!(b, guard, "{isa}: buffer touched on error");
            }
            // Exactly sized buffers inside a larger allocation: the guard values
            // after the last lane stay untouched.
            for m in [1, 3, 4, 7, 8, 9, 16, 17, 64, 65] {
                let stride = m + 2;
                let need = 8 * stride + m;
                let mut b = vec![1.0; need + 16];
                solve_lanes(isa, &lu, &mut b[..need], stride, m).unwrap();
                assert!(b[need..].iter().all(|&v| v == 1.0), "{isa} m={m}");
            }
            let mut dst = vec![0.0; 11];
            assert!(transpose(isa, &[0.0; 12], 3, 4, &mut dst).is_err());
            assert!(transpose(isa, &[0.0; 12], usize::MAX, 2, &mut dst).is_err());
            let t = not_a_knot(&[0.0, 1.0, 2.0, 3.0, 4.0]);
            let mut out = vec![[[0.0; 4]; 3]; 2];
            assert!(basis_batch(isa, &t, &[3, 4], &[0.5], 0, &mut out).is_err());
            assert!(basis_batch(isa, &t, &[3, 99], &[0.5, 1.0], 0, &mut out).is_err());
            assert!(basis_single(isa, &t[..7], 3, 0.5).is_err());
        }
    }

    #[test]
    fn unavailable_isa_is_an_error_not_a_kernel_call() {
        for isa in Isa::ALL.into_iter().filter(|i| !i.is_available()) {
            let mut b = vec![0.0; 9];
            assert_eq!(
                solve_lanes(isa, &lu(9), &mut b, 1, 1),
                Err(FitError::IsaUnavailable { isa: isa.name() })
            );
        }
    }
}
