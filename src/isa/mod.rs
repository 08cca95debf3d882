//! Instruction-set selection.
//!
//! The best available instruction set is detected once ([`Isa::detect`]) and
//! stored in every fitter, evaluator and operator at construction; kernels never
//! re-detect. A caller or a benchmark can pin one with [`Isa::require`], and the
//! environment variable `BSFIT_ISA` (`scalar`, `avx2`, `avx512`) overrides the
//! default for whole-program runs.
//!
//! Kernels for an ISA are `#[target_feature]` functions that are only reachable
//! through a value of [`Isa`] that passed [`Isa::is_available`]; holding such a
//! value is the proof that the CPU supports the instructions.

use crate::FitError;
use crate::banded::BandLu;
use std::fmt;

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
mod scalar;
mod simd;
use std::sync::OnceLock;

/// An instruction set the SIMD kernels are compiled for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Isa {
    /// Portable scalar code: the reference every fast path is tested against.
    Scalar,
    /// x86-64 AVX2 + FMA (4 × f64 lanes).
    Avx2,
    /// x86-64 AVX-512F (8 × f64 lanes).
    Avx512,
}

impl Isa {
    /// All instruction sets, slowest first.
    pub const ALL: [Isa; 3] = [Isa::Scalar, Isa::Avx2, Isa::Avx512];

    /// Short lowercase name (`scalar`, `avx2`, `avx512`), as accepted by `BSFIT_ISA`.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
        }
    }

    /// Parses a name as accepted by `BSFIT_ISA` (case-insensitive; `avx-512` and `avx512f` also work).
    pub fn from_name(name: &str) -> Option<Isa> {
        match name.trim().to_ascii_lowercase().as_str() {
            "scalar" | "none" => Some(Isa::Scalar),
            "avx2" | "avx2+fma" => Some(Isa::Avx2),
            "avx512" | "avx-512" | "avx512f" => Some(Isa::Avx512),
            _ => None,
        }
    }

    /// Whether this CPU can run the kernels of `self`.
    pub fn is_available(self) -> bool {
        match self {
            Isa::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => {
                std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The instruction sets available on this CPU, slowest first.
    pub fn available() -> Vec<Isa> {
        Isa::ALL.into_iter().filter(|i| i.is_available()).collect()
    }

    /// The best instruction set of this CPU, without looking at `BSFIT_ISA`.
    pub fn best() -> Isa {
        *Isa::available().last().unwrap_or(&Isa::Scalar)
    }

    /// The default instruction set: `BSFIT_ISA` if set to an available ISA,
    /// otherwise [`Isa::best`]. Computed once per process.
    ///
    /// An unknown or unavailable `BSFIT_ISA` value falls back to the best ISA
    /// and prints one warning on stderr.
    pub fn detect() -> Isa {
        static CHOSEN: OnceLock<Isa> = OnceLock::new();
        *CHOSEN.get_or_init(|| match std::env::var("BSFIT_ISA") {
            Ok(v) if !v.trim().is_empty() => match Isa::from_name(&v).map(Isa::require) {
                Some(Ok(isa)) => isa,
                _ => {
                    eprintln!(
                        "bsfit: BSFIT_ISA={v:?} is unknown or unavailable on this CPU; using {}",
                        Isa::best()
                    );
                    Isa::best()
                }
            },
            _ => Isa::best(),
        })
    }

    /// Returns `self` if available, else [`FitError::IsaUnavailable`].
    pub fn require(self) -> Result<Isa, FitError> {
        if self.is_available() {
            Ok(self)
        } else {
            Err(FitError::IsaUnavailable { isa: self.name() })
        }
    }

    /// Number of f64 lanes of this ISA's vectors.
    pub fn f64_lanes(self) -> usize {
        match self {
            Isa::Scalar => 1,
            Isa::Avx2 => 4,
            Isa::Avx512 => 8,
        }
    }
}

/// Kernel dispatch. The `pub(crate) unsafe fn *_raw` entry points may only be
/// called with an `Isa` that passed [`Isa::is_available`] (fitters and
/// splines store one obtained from [`Isa::detect`] or [`Isa::require`]); the
/// public methods check availability themselves.
/// Vectors per strip of the AVX-512 solve-and-transpose kernel (64 lanes).
const STRIP_K: usize = 8;

/// Vectors per strip of the AVX2 solve-and-transpose kernel (16 lanes; the
/// two carried rows of 4 vectors fill half of the 16 `ymm` registers).
const STRIP_K_AVX2: usize = 4;

impl Isa {
    /// Forward elimination of the band `LU` for lanes `0..m` (see
    /// `simd::lu_forward`).
    ///
    /// # Safety
    /// `self` is available; rows `0..l.len()` of lanes `0..m` are in bounds
    /// for `src` (row stride `ss`) and `dst` (row stride `ds`); either
    /// `src == dst` (in place) or the two blocks do not overlap at all.
    #[inline]
    pub(crate) unsafe fn lu_forward_raw(
        self,
        l: &[[f64; 2]],
        src: *const f64,
        ss: usize,
        dst: *mut f64,
        ds: usize,
        m: usize,
    ) {
        // SAFETY: forwarded contract; the ISA arm is only taken when available.
        unsafe {
            match self {
                #[cfg(target_arch = "x86_64")]
                Isa::Avx512 => avx512::lu_forward(l, src, ss, dst, ds, m),
                #[cfg(target_arch = "x86_64")]
                Isa::Avx2 => avx2::lu_forward(l, src, ss, dst, ds, m),
                _ => scalar::lu_forward(l, src, ss, dst, ds, m),
            }
        }
    }

    /// Back substitution for lanes `0..m`; returns whether every result is finite.
    ///
    /// # Safety
    /// As [`lu_forward_raw`](Self::lu_forward_raw).
    #[inline]
    pub(crate) unsafe fn lu_backward_raw(
        self,
        u: &[[f64; 3]],
        src: *const f64,
        ss: usize,
        dst: *mut f64,
        ds: usize,
        m: usize,
    ) -> bool {
        // SAFETY: forwarded contract.
        unsafe {
            match self {
                #[cfg(target_arch = "x86_64")]
                Isa::Avx512 => avx512::lu_backward(u, src, ss, dst, ds, m),
                #[cfg(target_arch = "x86_64")]
                Isa::Avx2 => avx2::lu_backward(u, src, ss, dst, ds, m),
                _ => scalar::lu_backward(u, src, ss, dst, ds, m),
            }
        }
    }

    /// Solves `lu` for lanes `0..m` of the rows `src[i*ss ..]` and writes the
    /// result transposed, `dst[c*n + i] = x_i[c]` (`n = lu.len()`); returns
    /// whether every result is finite. `scratch` holds the intermediate
    /// rows (`n * m` values, or one strip of at most `n * 64` for the SIMD
    /// ISAs).
    ///
    /// # Safety
    /// `self` is available; rows `0..n` of lanes `0..m` are in bounds for
    /// `src`; `dst` holds `n * m` values; `scratch` holds `n * max(m, 64)`
    /// values; the three ranges do not overlap.
    #[inline]
    #[allow(clippy::too_many_arguments)] // two factors, two strided blocks and scratch
    pub(crate) unsafe fn lu_solve_transpose_raw(
        self,
        l: &[[f64; 2]],
        u: &[[f64; 3]],
        src: *const f64,
        ss: usize,
        dst: *mut f64,
        m: usize,
        scratch: *mut f64,
    ) -> bool {
        let n = l.len();
        // SAFETY: forwarded contract; the strip arms need m ≥ one strip and
        // one strip of n rows (≤ n*64 values) of buffer, which lie in scratch.
        unsafe {
            #[cfg(target_arch = "x86_64")]
            match self {
                Isa::Avx512 if m >= 8 * STRIP_K => {
                    return avx512::lu_solve_transpose::<STRIP_K>(l, u, src, ss, dst, m, scratch);
                }
                Isa::Avx2 if m >= 4 * STRIP_K_AVX2 => {
                    return avx2::lu_solve_transpose::<STRIP_K_AVX2>(
                        l, u, src, ss, dst, m, scratch,
                    );
                }
                _ => {}
            }
            self.lu_forward_raw(l, src, ss, scratch, m, m);
            let ok = self.lu_backward_raw(u, scratch, m, scratch, m, m);
            self.transpose_raw(scratch, m, dst, n, n, m);
            ok
        }
    }

    /// `dst[c*ds + r] = src[r*ss + c]` for a `rows × cols` block.
    ///
    /// # Safety
    /// `self` is available; the block is in bounds for both pointers, which
    /// do not overlap.
    #[inline]
    pub(crate) unsafe fn transpose_raw(
        self,
        src: *const f64,
        ss: usize,
        dst: *mut f64,
        ds: usize,
        rows: usize,
        cols: usize,
    ) {
        // SAFETY: forwarded contract (AVX-512 implies AVX2 + FMA here).
        unsafe {
            match self {
                #[cfg(target_arch = "x86_64")]
                Isa::Avx512 => avx512::transpose(src, ss, dst, ds, rows, cols),
                #[cfg(target_arch = "x86_64")]
                Isa::Avx2 => avx2::transpose(src, ss, dst, ds, rows, cols),
                _ => scalar::transpose(src, ss, dst, ds, rows, cols),
            }
        }
    }

    /// Solves `A X = B` in place for `m` lines held side by side (row `i` of
    /// the lines is `b[i*row_stride .. i*row_stride + m]`) with this ISA's
    /// kernels; returns whether every result is finite. The scalar reference
    /// is [`BandLu::solve_strided`].
    ///
    /// Errors: [`FitError::IsaUnavailable`]; [`FitError::InvalidParameter`]
    /// if `m > row_stride` or `b` is too short.
    pub fn solve_lanes(
        self,
        lu: &BandLu,
        b: &mut [f64],
        row_stride: usize,
        m: usize,
    ) -> Result<bool, FitError> {
        self.require()?;
        let n = lu.len();
        if n == 0 || m == 0 {
            return Ok(true);
        }
        let need = (n - 1) * row_stride + m;
        if m > row_stride || b.len() < need {
            return Err(FitError::InvalidParameter {
                name: "b",
                reason: format!(
                    "{} values for {n} rows of {m} lanes with row stride {row_stride}",
                    b.len()
                ),
            });
        }
        let p = b.as_mut_ptr();
        // SAFETY: available (checked above); rows 0..n of lanes 0..m lie in b[..need].
        unsafe {
            self.lu_forward_raw(lu.lower(), p, row_stride, p, row_stride, m);
            Ok(self.lu_backward_raw(lu.upper(), p, row_stride, p, row_stride, m))
        }
    }

    /// Transposes the row-major `rows × cols` matrix `src` into `dst`
    /// (`cols × rows`, row-major) with this ISA's kernel.
    ///
    /// Errors: [`FitError::IsaUnavailable`]; [`FitError::InvalidParameter`]
    /// if a length is not `rows * cols`.
    pub fn transpose(
        self,
        src: &[f64],
        rows: usize,
        cols: usize,
        dst: &mut [f64],
    ) -> Result<(), FitError> {
        self.require()?;
        let len = rows.checked_mul(cols);
        if len != Some(src.len()) || len != Some(dst.len()) {
            return Err(FitError::InvalidParameter {
                name: "transpose",
                reason: format!(
                    "{rows} x {cols} with buffers of {} and {}",
                    src.len(),
                    dst.len()
                ),
            });
        }
        // SAFETY: available; both buffers hold exactly rows * cols values.
        unsafe { self.transpose_raw(src.as_ptr(), cols, dst.as_mut_ptr(), rows, rows, cols) };
        Ok(())
    }

    /// Cubic basis values (`nd = 0`) or values with first and second
    /// derivatives (`nd ≥ 1`; orders above 2 are not computed) at the points
    /// `x` of one axis with knot vector `t`, several points per SIMD vector
    /// (lanes = points, 4 per `ymm` for both SIMD ISAs):
    /// `out[p][k][r] = d^k B_{spans[p]−3+r}(x[p])`.
    /// `spans[p]` must be the span of `x[p]`
    /// ([`find_span`](crate::bspline::knots::find_span)). The scalar
    /// reference is [`basis`](crate::bspline::basis::basis) /
    /// [`basis_derivs`](crate::bspline::basis::basis_derivs).
    ///
    /// Errors: [`FitError::IsaUnavailable`]; [`FitError::InvalidParameter`]
    /// for unequal lengths, fewer than 8 knots or a span outside `3..=t.len()−5`.
    pub fn basis_batch(
        self,
        t: &[f64],
        spans: &[usize],
        x: &[f64],
        nd: usize,
        out: &mut [[[f64; 4]; 3]],
    ) -> Result<(), FitError> {
        self.require()?;
        check_spans(t, spans)?;
        if spans.len() != x.len() || out.len() != x.len() {
            return Err(FitError::InvalidParameter {
                name: "basis_batch",
                reason: format!(
                    "{} spans, {} points, {} outputs",
                    spans.len(),
                    x.len(),
                    out.len()
                ),
            });
        }
        // SAFETY: available; spans and lengths checked above.
        unsafe {
            match self {
                // AVX-512 runs the AVX2 kernel: the 8-lane version measured
                // slower (4.0 vs 3.6 ns per point for values, 7.4 vs 7.0 with
                // derivatives, repeated runs) because its knot gathers and
                // output transposes grow with the lane count.
                #[cfg(target_arch = "x86_64")]
                Isa::Avx512 | Isa::Avx2 => avx2::basis_batch(t, spans, x, nd, out),
                _ => scalar::basis_batch(t, spans, x, nd, out),
            }
        }
        Ok(())
    }

    /// The four cubic basis values at one point, computed with lanes = the
    /// four basis functions (AVX2 `ymm` kernel for both SIMD ISAs; the scalar
    /// ISA uses [`basis`](crate::bspline::basis::basis)).
    ///
    /// Errors: [`FitError::IsaUnavailable`]; [`FitError::InvalidParameter`]
    /// for a span outside `3..=t.len()−5`.
    pub fn basis_single(self, t: &[f64], span: usize, x: f64) -> Result<[f64; 4], FitError> {
        self.require()?;
        check_spans(t, &[span])?;
        Ok(self.basis_single_unchecked(t, span, x))
    }

    /// [`basis_single`](Self::basis_single) for a span known to be valid and
    /// an available ISA.
    #[inline]
    pub(crate) fn basis_single_unchecked(self, t: &[f64], span: usize, x: f64) -> [f64; 4] {
        debug_assert!(span >= 3 && span + 5 <= t.len());
        match self {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: available (caller's contract); 3 ≤ span ≤ t.len() − 5
            // so t[span − 2 .. span + 5] is in bounds.
            Isa::Avx512 | Isa::Avx2 => unsafe { avx2::basis_single(t.as_ptr(), span, x) },
            _ => crate::bspline::basis::basis(t, span, x),
        }
    }

    /// Basis rows for one point on every axis (lanes = axes). Returns `None`
    /// when this ISA has no such kernel for `D` (scalar, or `D` above the
    /// lane count).
    ///
    /// # Safety
    /// `self` is available and every span is valid for its knot vector.
    #[inline]
    pub(crate) unsafe fn basis_axes_raw<const D: usize>(
        self,
        knots: &[&[f64]; D],
        spans: &[usize; D],
        x: &[f64; D],
        nd: usize,
    ) -> Option<[[[f64; 4]; 3]; D]> {
        // SAFETY: forwarded contract.
        unsafe {
            match self {
                #[cfg(target_arch = "x86_64")]
                Isa::Avx512 if D <= 4 => Some(avx2::basis_axes(knots, spans, x, nd)),
                #[cfg(target_arch = "x86_64")]
                Isa::Avx512 if D <= 8 => Some(avx512::basis_axes(knots, spans, x, nd)),
                #[cfg(target_arch = "x86_64")]
                Isa::Avx2 if D <= 4 => Some(avx2::basis_axes(knots, spans, x, nd)),
                _ => None,
            }
        }
    }

    /// Basis values for one point on every axis (lanes = axes), or `None`
    /// when this ISA has no such kernel for `D`.
    ///
    /// # Safety
    /// `self` is available and every span is valid for its knot vector.
    #[inline(always)]
    pub(crate) unsafe fn basis_axes_values_raw<const D: usize>(
        self,
        knots: &[&[f64]; D],
        spans: &[usize; D],
        x: &[f64; D],
    ) -> Option<[[f64; 4]; D]> {
        // SAFETY: forwarded contract.
        unsafe {
            match self {
                #[cfg(target_arch = "x86_64")]
                Isa::Avx512 | Isa::Avx2 if D <= 4 => Some(avx2::basis_axes_values(knots, spans, x)),
                #[cfg(target_arch = "x86_64")]
                Isa::Avx512 if D <= 8 => Some(avx512::basis_axes_values(knots, spans, x)),
                _ => None,
            }
        }
    }

    /// The `4^D` contraction `Σ_r Π_k w[k][r_k] c[base + Σ r_k s_k]`, or
    /// `None` for the scalar ISA.
    ///
    /// # Safety
    /// `self` is available and the block is in bounds of `c`.
    #[inline]
    pub(crate) unsafe fn contract_raw<const D: usize>(
        self,
        c: *const f64,
        strides: &[usize; D],
        base: usize,
        w: &[[f64; 4]; D],
    ) -> Option<f64> {
        // SAFETY: forwarded contract.
        unsafe {
            match self {
                #[cfg(target_arch = "x86_64")]
                Isa::Avx512 | Isa::Avx2 => Some(avx2::contract(c, strides, base, w)),
                _ => None,
            }
        }
    }
}

/// Checks that every span is a valid cubic span of `t` (`3 ≤ s ≤ t.len() − 5`).
fn check_spans(t: &[f64], spans: &[usize]) -> Result<(), FitError> {
    if t.len() < 8 {
        return Err(FitError::InvalidParameter {
            name: "t",
            reason: format!("{} knots, at least 8 needed", t.len()),
        });
    }
    if let Some((i, s)) = spans
        .iter()
        .enumerate()
        .find(|&(_, &s)| s < 3 || s + 5 > t.len())
    {
        return Err(FitError::InvalidParameter {
            name: "spans",
            reason: format!("span {i} is {s}, outside 3..={}", t.len() - 5),
        });
    }
    Ok(())
}

impl fmt::Display for Isa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for isa in Isa::ALL {
            assert_eq!(Isa::from_name(isa.name()), Some(isa));
        }
        assert_eq!(Isa::from_name("sse9"), None);
    }

    #[test]
    fn scalar_always_available_and_detect_is_available() {
        assert!(Isa::Scalar.is_available());
        assert!(Isa::detect().is_available());
        assert!(Isa::available().contains(&Isa::best()));
    }

    #[test]
    fn require_reports_unavailable() {
        for isa in Isa::ALL {
            match isa.require() {
                Ok(i) => assert!(i.is_available()),
                Err(e) => assert_eq!(e, FitError::IsaUnavailable { isa: isa.name() }),
            }
        }
    }
}
