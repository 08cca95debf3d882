//! Instruction-set selection.
//!
//! The best available instruction set is detected once ([`Isa::detect`]) and
//! stored in every fitter, evaluator and operator at construction; kernels never
//! re-detect. A caller or a benchmark can pin one with [`Isa::require`], and the
//! environment variable `BSFIT_ISA` (`scalar`, `avx2`, `avx512`) overrides the
//! default for whole-program runs.
//!
//! [`Isa`] is a plain choice: anyone can name one, so it proves nothing.
//! Plans, splines and operators turn it once into `Kernels`, which holds a
//! zero-sized *token* (`Avx2Token`, `Avx512Token`) that only this module
//! creates, after runtime feature detection (RustFFT's and pulp's scheme).
//! Every SIMD kernel takes the token as its first argument, so the CPU
//! support of a kernel call is proven by the type system, not by a re-check
//! at the call site. The kernels remain `unsafe` only for their raw pointers;
//! the dispatchers here document and check those ranges.
//!
//! Two ways in, one mechanism:
//! * hand-written kernels per ISA (`avx2.rs`, `avx512.rs`, `scalar.rs`, all
//!   thin instantiations of the generic bodies in `simd.rs`), reached
//!   through the `*_raw` methods of `Kernels`;
//! * any code written once over the vector trait (or plain loops left to the
//!   auto-vectoriser, as in the 3D path) runs through
//!   `Kernels::dispatch`, which compiles it inside a `#[target_feature]`
//!   function of the chosen ISA.

use crate::FitError;
use std::fmt;

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
pub(crate) mod scalar;
mod simd;
pub(crate) use scalar::contract as contract_scalar;
pub(crate) use simd::{
    Simd, Vf64, WithSimd, basis_axes as simd_basis_axes,
    basis_axes_values as simd_basis_axes_values,
};
use std::sync::OnceLock;

// Checked single-kernel entry points: the kernel tests in this crate and,
// with the `bench-internals` feature (not part of the API), the kernel
// benchmarks.
#[cfg(feature = "bench-internals")]
#[doc(hidden)]
pub mod checked;
#[cfg(not(feature = "bench-internals"))]
pub(crate) mod checked;

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

/// Proof that this CPU has AVX2 and FMA. Only [`Kernels::new`] creates one
/// (the field is private to this module), after detection.
#[cfg(target_arch = "x86_64")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Avx2Token(());

/// Proof that this CPU has AVX-512F, AVX2 and FMA. Only [`Kernels::new`]
/// creates one, after detection.
#[cfg(target_arch = "x86_64")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Avx512Token(());

#[cfg(target_arch = "x86_64")]
impl Avx512Token {
    /// AVX-512 detection includes AVX2 and FMA.
    #[inline(always)]
    pub(crate) fn avx2(self) -> Avx2Token {
        Avx2Token(())
    }
}

/// The kernels a plan, spline or operator runs: an [`Isa`] turned into its
/// proof of CPU support, once, at construction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kernels {
    /// The portable reference.
    Scalar,
    /// AVX2 + FMA, proven.
    #[cfg(target_arch = "x86_64")]
    Avx2(Avx2Token),
    /// AVX-512F (+ AVX2, FMA), proven.
    #[cfg(target_arch = "x86_64")]
    Avx512(Avx512Token),
}

/// Vectors per strip of the AVX-512 solve-and-transpose kernel (64 lanes).
const STRIP_K: usize = 8;

/// Vectors per strip of the AVX2 solve-and-transpose kernel (16 lanes; the
/// two carried rows of 4 vectors fill half of the 16 `ymm` registers).
const STRIP_K_AVX2: usize = 4;

impl Kernels {
    /// The kernels of `isa`, or [`FitError::IsaUnavailable`]: the only place
    /// where tokens are created, right after detection.
    pub(crate) fn new(isa: Isa) -> Result<Kernels, FitError> {
        if !isa.is_available() {
            return Err(FitError::IsaUnavailable { isa: isa.name() });
        }
        Ok(match isa {
            Isa::Scalar => Kernels::Scalar,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => Kernels::Avx2(Avx2Token(())),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => Kernels::Avx512(Avx512Token(())),
            #[cfg(not(target_arch = "x86_64"))]
            _ => Kernels::Scalar,
        })
    }

    /// The kernels of [`Isa::detect`] (always available).
    pub(crate) fn detect() -> Kernels {
        Kernels::new(Isa::detect()).unwrap_or(Kernels::Scalar)
    }

    /// The instruction set these kernels use.
    pub(crate) fn isa(self) -> Isa {
        match self {
            Kernels::Scalar => Isa::Scalar,
            #[cfg(target_arch = "x86_64")]
            Kernels::Avx2(_) => Isa::Avx2,
            #[cfg(target_arch = "x86_64")]
            Kernels::Avx512(_) => Isa::Avx512,
        }
    }

    /// Runs `kernel` with this ISA's vector type, compiled with its target
    /// features (scalar: one `f64` lane, baseline code).
    #[inline]
    pub(crate) fn dispatch<K: WithSimd>(self, kernel: K) -> K::Output {
        match self {
            Kernels::Scalar => kernel.run::<f64>(simd::Simd::scalar()),
            #[cfg(target_arch = "x86_64")]
            Kernels::Avx2(t) => avx2::dispatch(t, kernel),
            #[cfg(target_arch = "x86_64")]
            Kernels::Avx512(t) => avx512::dispatch(t, kernel),
        }
    }

    /// Forward elimination of the band `LU` for lanes `0..m` (see
    /// `simd::lu_forward`).
    ///
    /// # Safety
    /// Rows `0..l.len()` of lanes `0..m` are in bounds for `src` (row stride
    /// `ss`) and `dst` (row stride `ds`); either `src == dst` (in place) or
    /// the two blocks do not overlap at all.
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
        // SAFETY: forwarded pointer contract; the tokens prove the ISA.
        unsafe {
            match self {
                #[cfg(target_arch = "x86_64")]
                Kernels::Avx512(t) => avx512::lu_forward(t, l, src, ss, dst, ds, m),
                #[cfg(target_arch = "x86_64")]
                Kernels::Avx2(t) => avx2::lu_forward(t, l, src, ss, dst, ds, m),
                Kernels::Scalar => scalar::lu_forward(l, src, ss, dst, ds, m),
            }
        }
    }

    /// Back substitution for lanes `0..m`; returns whether every result is finite.
    ///
    /// # Safety
    /// As [`lu_forward_raw`](Self::lu_forward_raw), with `u.len()` rows.
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
        // SAFETY: forwarded pointer contract; the tokens prove the ISA.
        unsafe {
            match self {
                #[cfg(target_arch = "x86_64")]
                Kernels::Avx512(t) => avx512::lu_backward(t, u, src, ss, dst, ds, m),
                #[cfg(target_arch = "x86_64")]
                Kernels::Avx2(t) => avx2::lu_backward(t, u, src, ss, dst, ds, m),
                Kernels::Scalar => scalar::lu_backward(u, src, ss, dst, ds, m),
            }
        }
    }

    /// Solves `lu` for lanes `0..m` of the rows `src[i*ss ..]` and writes the
    /// result transposed, `dst[c*n + i] = x_i[c]` (`n = l.len()`); returns
    /// whether every result is finite. `scratch` holds the intermediate
    /// rows (`n * m` values, or one strip of at most `n * 64` for the SIMD
    /// ISAs).
    ///
    /// # Safety
    /// `u.len() == l.len() == n`; rows `0..n` of lanes `0..m` are in bounds
    /// for `src`; `dst` holds `n * m` values; `scratch` holds
    /// `n * max(m, 64)` values; the three ranges do not overlap.
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
        debug_assert_eq!(l.len(), u.len());
        /// The strip kernel as a [`WithSimd`] body.
        struct Strip<'a, const K: usize> {
            l: &'a [[f64; 2]],
            u: &'a [[f64; 3]],
            src: *const f64,
            ss: usize,
            dst: *mut f64,
            m: usize,
            buf: *mut f64,
        }
        impl<const K: usize> WithSimd for Strip<'_, K> {
            type Output = bool;
            #[inline(always)]
            fn run<V: simd::Vf64>(self, _: simd::Simd<V>) -> bool {
                // SAFETY: the caller's contract (checked m ≥ K·V::W below
                // by the dispatcher's guard).
                unsafe {
                    simd::lu_solve_transpose::<V, K>(
                        self.l, self.u, self.src, self.ss, self.dst, self.m, self.buf,
                    )
                }
            }
        }
        let n = l.len();
        #[cfg(target_arch = "x86_64")]
        match self {
            Kernels::Avx512(_) if m >= 8 * STRIP_K => {
                return self.dispatch(Strip::<STRIP_K> {
                    l,
                    u,
                    src,
                    ss,
                    dst,
                    m,
                    buf: scratch,
                });
            }
            Kernels::Avx2(_) if m >= 4 * STRIP_K_AVX2 => {
                return self.dispatch(Strip::<STRIP_K_AVX2> {
                    l,
                    u,
                    src,
                    ss,
                    dst,
                    m,
                    buf: scratch,
                });
            }
            _ => {}
        }
        // SAFETY: forwarded contract: scratch holds n*m values.
        unsafe {
            self.lu_forward_raw(l, src, ss, scratch, m, m);
            let ok = self.lu_backward_raw(u, scratch, m, scratch, m, m);
            self.transpose_raw(scratch, m, dst, n, n, m);
            ok
        }
    }

    /// [`lu_solve_transpose_raw`](Self::lu_solve_transpose_raw) with a step
    /// between the solve and the transpose: per strip of `w` lanes the
    /// `n = l.len()` solution rows are written to rows `1..=n` of a buffer
    /// of `n_out > n` rows (row stride `w`), `post(buf, w)` turns it into
    /// the `n_out` output rows in place, and those are written transposed,
    /// `dst[c*n_out + r]`. Returns whether every result is finite (the
    /// solve's check and `post`'s).
    ///
    /// # Safety
    /// As [`lu_solve_transpose_raw`](Self::lu_solve_transpose_raw), with
    /// `dst` holding `n_out * m` values and `scratch` `n_out * max(m, 64)`,
    /// disjoint; `post` touches only the `n_out × w` block it is given.
    #[inline]
    #[allow(clippy::too_many_arguments)] // two factors, two strided blocks, two buffers and the step
    pub(crate) unsafe fn lu_solve_post_transpose_raw(
        self,
        l: &[[f64; 2]],
        u: &[[f64; 3]],
        src: *const f64,
        ss: usize,
        dst: *mut f64,
        m: usize,
        scratch: *mut f64,
        n_out: usize,
        post: &(dyn Fn(*mut f64, usize) -> bool + Sync),
    ) -> bool {
        debug_assert_eq!(l.len(), u.len());
        /// The strip kernel with a post step as a [`WithSimd`] body.
        struct Strip<'a, const K: usize> {
            l: &'a [[f64; 2]],
            u: &'a [[f64; 3]],
            src: *const f64,
            ss: usize,
            dst: *mut f64,
            m: usize,
            buf: *mut f64,
            n_out: usize,
            post: &'a (dyn Fn(*mut f64, usize) -> bool + Sync),
        }
        impl<const K: usize> WithSimd for Strip<'_, K> {
            type Output = bool;
            #[inline(always)]
            fn run<V: simd::Vf64>(self, _: simd::Simd<V>) -> bool {
                let sw = K * V::W;
                // SAFETY: the caller's contract (m ≥ K·V::W checked by the
                // dispatcher's guard): each strip c..c+sw lies in 0..m, its
                // rows in `src`, its n_out×sw block of dst in the n_out×m
                // block; buf holds n_out rows of one strip.
                unsafe {
                    let mut acc = V::splat(0.0);
                    let mut ok = true;
                    let mut c0 = 0;
                    while c0 < self.m {
                        let c = c0.min(self.m - sw);
                        acc = acc.add(simd::lu_strip::<V, K>(
                            self.l,
                            self.u,
                            self.src.add(c),
                            self.ss,
                            self.buf.add(sw),
                        ));
                        ok &= (self.post)(self.buf, sw);
                        V::transpose_block(
                            self.buf,
                            sw,
                            self.dst.add(c * self.n_out),
                            self.n_out,
                            self.n_out,
                            sw,
                        );
                        c0 += sw;
                    }
                    ok & (acc.reduce_add() == 0.0)
                }
            }
        }
        #[cfg(target_arch = "x86_64")]
        match self {
            Kernels::Avx512(_) if m >= 8 * STRIP_K => {
                return self.dispatch(Strip::<STRIP_K> {
                    l,
                    u,
                    src,
                    ss,
                    dst,
                    m,
                    buf: scratch,
                    n_out,
                    post,
                });
            }
            Kernels::Avx2(_) if m >= 4 * STRIP_K_AVX2 => {
                return self.dispatch(Strip::<STRIP_K_AVX2> {
                    l,
                    u,
                    src,
                    ss,
                    dst,
                    m,
                    buf: scratch,
                    n_out,
                    post,
                });
            }
            _ => {}
        }
        // SAFETY: forwarded contract: scratch holds n_out*m ≥ (n+1)*m values.
        unsafe {
            let y = scratch.add(m);
            self.lu_forward_raw(l, src, ss, y, m, m);
            let ok = self.lu_backward_raw(u, y, m, y, m, m);
            let ok2 = post(scratch, m);
            self.transpose_raw(scratch, m, dst, n_out, n_out, m);
            ok & ok2
        }
    }

    /// `y_i[j] −= z_i · f[j]` for the rows `i < z.len()` (row stride `ys`)
    /// and lanes `j < w` (the periodic Sherman–Morrison correction);
    /// returns whether every result is finite. The scalar ISA computes
    /// `y − z·f` unfused, the SIMD ISAs with one FMA.
    ///
    /// # Safety
    /// `f` holds `w` values; rows `0..z.len()` of lanes `0..w` are in bounds
    /// for `y` and do not overlap `f`.
    #[inline]
    pub(crate) unsafe fn sub_outer_raw(
        self,
        z: &[f64],
        f: *const f64,
        y: *mut f64,
        ys: usize,
        w: usize,
    ) -> bool {
        /// The update as a [`WithSimd`] body.
        struct SubOuter<'a> {
            z: &'a [f64],
            f: *const f64,
            y: *mut f64,
            ys: usize,
            w: usize,
        }
        impl WithSimd for SubOuter<'_> {
            type Output = bool;
            #[inline(always)]
            fn run<V: simd::Vf64>(self, _: simd::Simd<V>) -> bool {
                let main = self.w - self.w % V::W;
                // SAFETY: the caller's contract, split into whole vectors
                // and the scalar remainder.
                unsafe {
                    let a = simd::sub_outer::<V>(self.z, self.f, self.y, self.ys, 0, main);
                    let b = simd::sub_outer::<f64>(self.z, self.f, self.y, self.ys, main, self.w);
                    a.reduce_add() + b == 0.0
                }
            }
        }
        self.dispatch(SubOuter { z, f, y, ys, w })
    }

    /// `dst[c*ds + r] = src[r*ss + c]` for a `rows × cols` block.
    ///
    /// # Safety
    /// The block is in bounds for both pointers, which do not overlap.
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
        // SAFETY: forwarded pointer contract; the tokens prove the ISA.
        unsafe {
            match self {
                #[cfg(target_arch = "x86_64")]
                Kernels::Avx512(t) => avx512::transpose(t, src, ss, dst, ds, rows, cols),
                #[cfg(target_arch = "x86_64")]
                Kernels::Avx2(t) => avx2::transpose(t, src, ss, dst, ds, rows, cols),
                Kernels::Scalar => scalar::transpose(src, ss, dst, ds, rows, cols),
            }
        }
    }

    /// Basis values (`nd = 0`) or values with first and second derivatives
    /// at the points `x` of one axis, lanes = points; see
    /// [`checked::basis_batch`].
    ///
    /// # Safety
    /// Every span is valid for `t` (`3 ≤ s ≤ t.len() − 5`) and
    /// `spans.len() == x.len() == out.len()`.
    pub(crate) unsafe fn basis_batch_raw(
        self,
        t: &[f64],
        spans: &[usize],
        x: &[f64],
        nd: usize,
        out: &mut [[[f64; 4]; 3]],
    ) {
        // SAFETY: forwarded contract; the tokens prove the ISA.
        unsafe {
            match self {
                // AVX-512 runs the AVX2 kernel: the 8-lane version measured
                // slower (4.0 vs 3.6 ns per point for values, 7.4 vs 7.0 with
                // derivatives, repeated runs) because its knot gathers and
                // output transposes grow with the lane count.
                #[cfg(target_arch = "x86_64")]
                Kernels::Avx512(t5) => avx2::basis_batch(t5.avx2(), t, spans, x, nd, out),
                #[cfg(target_arch = "x86_64")]
                Kernels::Avx2(t2) => avx2::basis_batch(t2, t, spans, x, nd, out),
                Kernels::Scalar => scalar::basis_batch(t, spans, x, nd, out),
            }
        }
    }

    /// The four cubic basis values at one point, lanes = the four basis
    /// functions (AVX2 `ymm` kernel for both SIMD ISAs; the scalar ISA uses
    /// [`basis`](crate::bspline::basis::basis)).
    ///
    /// # Safety
    /// `3 ≤ span ≤ t.len() − 5`.
    #[inline]
    pub(crate) unsafe fn basis_single_raw(self, t: &[f64], span: usize, x: f64) -> [f64; 4] {
        debug_assert!(span >= 3 && span + 5 <= t.len());
        match self {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: t[span − 2 .. span + 5] is in bounds (contract).
            Kernels::Avx512(t5) => unsafe { avx2::basis_single(t5.avx2(), t.as_ptr(), span, x) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as above.
            Kernels::Avx2(t2) => unsafe { avx2::basis_single(t2, t.as_ptr(), span, x) },
            Kernels::Scalar => crate::bspline::basis::basis(t, span, x),
        }
    }
}

/// Checks that every span is a valid cubic span of `t` (`3 ≤ s ≤ t.len() − 5`).
pub(crate) fn check_spans(t: &[f64], spans: &[usize]) -> Result<(), FitError> {
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
    fn kernels_exist_exactly_for_available_isas() {
        for isa in Isa::ALL {
            match Kernels::new(isa) {
                Ok(k) => {
                    assert!(isa.is_available());
                    assert_eq!(k.isa(), isa);
                }
                Err(e) => {
                    assert!(!isa.is_available());
                    assert_eq!(e, FitError::IsaUnavailable { isa: isa.name() });
                }
            }
        }
        assert!(Kernels::detect().isa().is_available());
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
