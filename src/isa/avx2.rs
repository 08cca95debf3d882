//! AVX2 + FMA kernels (4 × f64 in `ymm` registers), written with
//! `core::arch` intrinsics (see [`super::simd`] for why not `wide`).
//!
//! Every kernel is a `#[target_feature(enable = "avx2,fma")]` function whose
//! first argument is an [`Avx2Token`]: only detection creates one, so
//! holding it proves the CPU support. The kernels stay `unsafe` for their
//! raw pointers, whose ranges the dispatchers in [`super`] check first.

use super::Avx2Token;
use super::simd::{self, Vf64};
use core::arch::x86_64::*;

/// Four f64 lanes in a `ymm` register.
#[derive(Clone, Copy)]
pub(crate) struct V4(pub(crate) __m256d);

// SAFETY (all methods): AVX2/FMA intrinsics; only reached from functions that
// enable those features, on a CPU that has them. Pointers are checked by the caller.
impl Vf64 for V4 {
    const W: usize = 4;
    type Quad = V4;
    #[inline(always)]
    unsafe fn contract_block<const D: usize>(
        c: &[f64],
        strides: &[usize; D],
        base: usize,
        w: &[[f64; 4]; D],
    ) -> f64 {
        unsafe { contract_body(c.as_ptr(), strides, base, w) }
    }
    #[inline(always)]
    unsafe fn contract_grad_block<const D: usize>(
        c: &[f64],
        strides: &[usize; D],
        base: usize,
        w: &[[f64; 4]; D],
        d: &[[f64; 4]; D],
    ) -> [f64; D] {
        unsafe { contract_grad_body(c.as_ptr(), strides, base, w, d) }
    }
    #[inline(always)]
    unsafe fn load(p: *const f64) -> Self {
        unsafe { V4(_mm256_loadu_pd(p)) }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f64) {
        unsafe { _mm256_storeu_pd(p, self.0) }
    }
    #[inline(always)]
    unsafe fn splat(v: f64) -> Self {
        unsafe { V4(_mm256_set1_pd(v)) }
    }
    #[inline(always)]
    unsafe fn add(self, b: Self) -> Self {
        unsafe { V4(_mm256_add_pd(self.0, b.0)) }
    }
    #[inline(always)]
    unsafe fn mul(self, b: Self) -> Self {
        unsafe { V4(_mm256_mul_pd(self.0, b.0)) }
    }
    #[inline(always)]
    unsafe fn div(self, b: Self) -> Self {
        unsafe { V4(_mm256_div_pd(self.0, b.0)) }
    }
    #[inline(always)]
    unsafe fn sub(self, b: Self) -> Self {
        unsafe { V4(_mm256_sub_pd(self.0, b.0)) }
    }
    #[inline(always)]
    unsafe fn mul_add(self, b: Self, c: Self) -> Self {
        unsafe { V4(_mm256_fmadd_pd(self.0, b.0, c.0)) }
    }
    #[inline(always)]
    fn prefetch(p: *const f64) {
        // SAFETY: a prefetch is a hint; it never faults, whatever the address.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(p as *const i8) }
    }
    #[inline(always)]
    unsafe fn neg_mul_add(self, b: Self, c: Self) -> Self {
        unsafe { V4(_mm256_fnmadd_pd(self.0, b.0, c.0)) }
    }
    #[inline(always)]
    unsafe fn reduce_add(self) -> f64 {
        unsafe { hsum(self.0) }
    }
    #[inline(always)]
    unsafe fn transpose_block(
        src: *const f64,
        ss: usize,
        dst: *mut f64,
        ds: usize,
        rows: usize,
        cols: usize,
    ) {
        // SAFETY: V4 is only instantiated under a checked AVX2 token.
        unsafe { transpose(Avx2Token(()), src, ss, dst, ds, rows, cols) }
    }
}

/// Horizontal sum of four lanes.
#[inline(always)]
pub(crate) unsafe fn hsum(v: __m256d) -> f64 {
    // SAFETY: AVX intrinsics under the caller's enabled features.
    unsafe {
        let lo = _mm256_castpd256_pd128(v);
        let hi = _mm256_extractf128_pd::<1>(v);
        let s = _mm_add_pd(lo, hi);
        _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)))
    }
}

/// See [`simd::lu_forward`]; lanes `0..m`.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn lu_forward(
    _: Avx2Token,
    l: &[[f64; 2]],
    src: *const f64,
    ss: usize,
    dst: *mut f64,
    ds: usize,
    m: usize,
) {
    let main = m - m % 4;
    // SAFETY: ranges checked by the dispatcher; features enabled here.
    unsafe {
        simd::lu_forward::<V4>(l, src, ss, dst, ds, 0, main);
        simd::lu_forward::<f64>(l, src, ss, dst, ds, main, m);
    }
}

/// See [`simd::lu_backward`]; lanes `0..m`. Returns whether all results are finite.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn lu_backward(
    _: Avx2Token,
    u: &[[f64; 3]],
    src: *const f64,
    ss: usize,
    dst: *mut f64,
    ds: usize,
    m: usize,
) -> bool {
    let main = m - m % 4;
    // SAFETY: as above.
    unsafe {
        let a = simd::lu_backward::<V4>(u, src, ss, dst, ds, 0, main);
        let b = simd::lu_backward::<f64>(u, src, ss, dst, ds, main, m);
        hsum(a.0) + b == 0.0
    }
}

/// `dst[c*ds + r] = src[r*ss + c]` for a `rows × cols` block, in 4 × 4 tiles
/// (two `unpack` and two `permute2f128` steps per tile).
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn transpose(
    _: Avx2Token,
    src: *const f64,
    ss: usize,
    dst: *mut f64,
    ds: usize,
    rows: usize,
    cols: usize,
) {
    let (r4, c4) = (rows - rows % 4, cols - cols % 4);
    // SAFETY: every access is inside the rows × cols block, which the
    // dispatcher checked against both buffers.
    unsafe {
        // Columns outer: the destination rows c..c+4 are written front to
        // back as four sequential streams (the destination is the large,
        // cold side; the source block is an L2-resident scratch).
        let mut c = 0;
        while c < c4 {
            let mut r = 0;
            while r < r4 {
                let s = src.add(r * ss + c);
                let a0 = _mm256_loadu_pd(s);
                let a1 = _mm256_loadu_pd(s.add(ss));
                let a2 = _mm256_loadu_pd(s.add(2 * ss));
                let a3 = _mm256_loadu_pd(s.add(3 * ss));
                let t0 = _mm256_unpacklo_pd(a0, a1);
                let t1 = _mm256_unpackhi_pd(a0, a1);
                let t2 = _mm256_unpacklo_pd(a2, a3);
                let t3 = _mm256_unpackhi_pd(a2, a3);
                let d = dst.add(c * ds + r);
                _mm256_storeu_pd(d, _mm256_permute2f128_pd::<0x20>(t0, t2));
                _mm256_storeu_pd(d.add(ds), _mm256_permute2f128_pd::<0x20>(t1, t3));
                _mm256_storeu_pd(d.add(2 * ds), _mm256_permute2f128_pd::<0x31>(t0, t2));
                _mm256_storeu_pd(d.add(3 * ds), _mm256_permute2f128_pd::<0x31>(t1, t3));
                r += 4;
            }
            // Rows r4..rows of these four columns.
            simd::transpose_scalar(src, ss, dst, ds, r4, rows, c, c + 4);
            c += 4;
        }
        simd::transpose_scalar(src, ss, dst, ds, 0, rows, c4, cols);
    }
}

/// Basis values at one point with lanes = the four basis functions:
/// level `j` of the triangle is `temp = N / (R + L_j)`,
/// `N ← R·temp + shift_up(L_j·temp)` with `R = t[s+1..s+4] − x` and
/// `L_j = x − t[s+1−j..s+5−j]` (contiguous loads); lanes `≥ j` of the
/// denominator are set to 1 so they stay 0.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn basis_single(_: Avx2Token, t: *const f64, s: usize, x: f64) -> [f64; 4] {
    // SAFETY: the dispatcher checked 2 ≤ s and s + 5 ≤ t.len().
    unsafe {
        let xv = _mm256_set1_pd(x);
        let tr = _mm256_loadu_pd(t.add(s + 1));
        let r = _mm256_sub_pd(tr, xv);
        let one = _mm256_set1_pd(1.0);
        let zero = _mm256_setzero_pd();
        let mut n = _mm256_set_pd(0.0, 0.0, 0.0, 1.0);
        // j = 1: only lane 0 of the denominator is real.
        let tl = _mm256_loadu_pd(t.add(s));
        let l = _mm256_sub_pd(xv, tl);
        let den = _mm256_blend_pd::<0b1110>(_mm256_sub_pd(tr, tl), one);
        let tmp = _mm256_div_pd(n, den);
        let sh = _mm256_blend_pd::<0b0001>(
            _mm256_permute4x64_pd::<0b10_01_00_00>(_mm256_mul_pd(l, tmp)),
            zero,
        );
        n = _mm256_fmadd_pd(r, tmp, sh);
        // j = 2
        let tl = _mm256_loadu_pd(t.add(s - 1));
        let l = _mm256_sub_pd(xv, tl);
        let den = _mm256_blend_pd::<0b1100>(_mm256_sub_pd(tr, tl), one);
        let tmp = _mm256_div_pd(n, den);
        let sh = _mm256_blend_pd::<0b0001>(
            _mm256_permute4x64_pd::<0b10_01_00_00>(_mm256_mul_pd(l, tmp)),
            zero,
        );
        n = _mm256_fmadd_pd(r, tmp, sh);
        // j = 3
        let tl = _mm256_loadu_pd(t.add(s - 2));
        let l = _mm256_sub_pd(xv, tl);
        let den = _mm256_blend_pd::<0b1000>(_mm256_sub_pd(tr, tl), one);
        let tmp = _mm256_div_pd(n, den);
        let sh = _mm256_blend_pd::<0b0001>(
            _mm256_permute4x64_pd::<0b10_01_00_00>(_mm256_mul_pd(l, tmp)),
            zero,
        );
        n = _mm256_fmadd_pd(r, tmp, sh);
        let mut out = [0.0; 4];
        _mm256_storeu_pd(out.as_mut_ptr(), n);
        out
    }
}

/// See [`simd::basis_batch`] (lanes = points).
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn basis_batch(
    _: Avx2Token,
    t: &[f64],
    spans: &[usize],
    x: &[f64],
    nd: usize,
    out: &mut [[[f64; 4]; 3]],
) {
    // SAFETY: the dispatcher checked spans and lengths.
    unsafe { simd::basis_batch::<V4>(t, spans, x, nd, out) }
}

/// `Σ_r Π_k w[k][r_k] · c[base + Σ_k r_k s_k]` over the `4^D` block, with
/// the innermost (contiguous) four coefficients of each row in one `ymm`
/// register: rows of axis `D−2` are combined with broadcast weights by FMA,
/// four independent accumulators (one per digit of axis `D−3`) hide the FMA
/// latency, and the last axis' weights are applied by one final dot product.
///
/// Inlined into whichever `#[target_feature]` function (AVX2 or AVX-512)
/// calls it.
///
/// # Safety
/// The `4^D` block at `base` is in bounds of `c`; AVX2 and FMA are available.
#[inline(always)]
pub(crate) unsafe fn contract_body<const D: usize>(
    c: *const f64,
    strides: &[usize; D],
    base: usize,
    w: &[[f64; 4]; D],
) -> f64 {
    // SAFETY: the caller guarantees the 4^D block at `base` is in bounds
    // and the features.
    unsafe {
        let wl = _mm256_loadu_pd(w[D - 1].as_ptr());
        if D == 1 {
            return hsum(_mm256_mul_pd(_mm256_loadu_pd(c.add(base)), wl));
        }
        let s2 = strides[D - 2];
        let w2 = &w[D - 2];

        if D == 2 {
            return hsum(_mm256_mul_pd(rows4(c.add(base), s2, w2), wl));
        }
        let s3 = strides[D - 3];
        let w3 = w[D - 3];
        let mut acc = [_mm256_setzero_pd(); 4];
        // Odometer over the digits of axes 0..D−3.
        let outer = 1usize << (2 * (D - 3));
        let mut digits = [0usize; D];
        for _ in 0..outer {
            let mut weight = 1.0;
            let mut off = base;
            for k in 0..D - 3 {
                weight *= w[k][digits[k]];
                off += digits[k] * strides[k];
            }
            for (d, a) in acc.iter_mut().enumerate() {
                *a = _mm256_fmadd_pd(
                    _mm256_set1_pd(weight * w3[d]),
                    rows4(c.add(off + d * s3), s2, w2),
                    *a,
                );
            }
            for k in (0..D - 3).rev() {
                digits[k] += 1;
                if digits[k] < 4 {
                    break;
                }
                digits[k] = 0;
            }
        }
        let sum = _mm256_add_pd(_mm256_add_pd(acc[0], acc[1]), _mm256_add_pd(acc[2], acc[3]));
        hsum(_mm256_mul_pd(sum, wl))
    }
}

/// `Σ_r w[r] · row_r` over the four rows `p + r·s` (four coefficients each).
/// A function rather than a closure: `#[inline(always)]` puts it inside the
/// `#[target_feature]` caller, so the intrinsics are inlined too.
///
/// # Safety
/// The rows are in bounds; AVX2 and FMA are available.
#[inline(always)]
unsafe fn rows4(p: *const f64, s: usize, w: &[f64; 4]) -> __m256d {
    // SAFETY: the caller's contract.
    unsafe {
        let a = _mm256_mul_pd(_mm256_set1_pd(w[0]), _mm256_loadu_pd(p));
        let a = _mm256_fmadd_pd(_mm256_set1_pd(w[1]), _mm256_loadu_pd(p.add(s)), a);
        let a = _mm256_fmadd_pd(_mm256_set1_pd(w[2]), _mm256_loadu_pd(p.add(2 * s)), a);
        _mm256_fmadd_pd(_mm256_set1_pd(w[3]), _mm256_loadu_pd(p.add(3 * s)), a)
    }
}

/// [`rows4`] with two weight sets over the same rows (each row loaded once).
///
/// # Safety
/// As [`rows4`].
#[inline(always)]
unsafe fn rows4_pair(p: *const f64, s: usize, w: &[f64; 4], d: &[f64; 4]) -> (__m256d, __m256d) {
    // SAFETY: the caller's contract.
    unsafe {
        let r0 = _mm256_loadu_pd(p);
        let r1 = _mm256_loadu_pd(p.add(s));
        let r2 = _mm256_loadu_pd(p.add(2 * s));
        let r3 = _mm256_loadu_pd(p.add(3 * s));
        let a = _mm256_mul_pd(_mm256_set1_pd(w[0]), r0);
        let a = _mm256_fmadd_pd(_mm256_set1_pd(w[1]), r1, a);
        let a = _mm256_fmadd_pd(_mm256_set1_pd(w[2]), r2, a);
        let a = _mm256_fmadd_pd(_mm256_set1_pd(w[3]), r3, a);
        let b = _mm256_mul_pd(_mm256_set1_pd(d[0]), r0);
        let b = _mm256_fmadd_pd(_mm256_set1_pd(d[1]), r1, b);
        let b = _mm256_fmadd_pd(_mm256_set1_pd(d[2]), r2, b);
        let b = _mm256_fmadd_pd(_mm256_set1_pd(d[3]), r3, b);
        (a, b)
    }
}

/// Runs `kernel` with `V4` vectors, compiled with the features avx2,fma.
#[target_feature(enable = "avx2,fma")]
unsafe fn run_kernel<K: simd::WithSimd>(kernel: K) -> K::Output {
    // SAFETY: this function's target features are the ISA's (the
    // caller's contract).
    kernel.run::<V4>(unsafe { simd::Simd::assume() })
}

/// [`super::Kernels::dispatch`] for this ISA.
#[inline]
pub(crate) fn dispatch<K: simd::WithSimd>(_: Avx2Token, kernel: K) -> K::Output {
    // SAFETY: the token proves that this CPU has the features.
    unsafe { run_kernel(kernel) }
}

/// All `D` partials of the gradient in one pass over the `4^D` block: the
/// four rows of axis `D−2` under each prefix of digits are combined twice,
/// with that axis' weights (`P`) and its derivative weights (`P'`); `P`
/// feeds one accumulator for the value chain and one per prefix axis `k`
/// (weighted by the prefix product with `w_k` replaced by `d_k`), `P'` one
/// for axis `D−2`; the last axis' weights or derivative weights are applied
/// by one final dot product each. Every row is loaded once (instead of once
/// per partial).
///
/// # Safety
/// As [`contract_body`].
#[inline(always)]
pub(crate) unsafe fn contract_grad_body<const D: usize>(
    c: *const f64,
    strides: &[usize; D],
    base: usize,
    w: &[[f64; 4]; D],
    d: &[[f64; 4]; D],
) -> [f64; D] {
    let mut g = [0.0; D];
    // SAFETY: the caller guarantees the 4^D block at `base` is in bounds
    // and the features.
    unsafe {
        let wl = _mm256_loadu_pd(w[D - 1].as_ptr());
        let dl = _mm256_loadu_pd(d[D - 1].as_ptr());
        if D == 1 {
            g[0] = hsum(_mm256_mul_pd(_mm256_loadu_pd(c.add(base)), dl));
            return g;
        }
        let s2 = strides[D - 2];
        let (w2, d2) = (&w[D - 2], &d[D - 2]);

        if D == 2 {
            let (p, pd) = rows4_pair(c.add(base), s2, w2, d2);
            g[0] = hsum(_mm256_mul_pd(pd, wl));
            g[1] = hsum(_mm256_mul_pd(p, dl));
            return g;
        }
        // Prefix axes 0..D−2: accumulators for the value chain, for axis
        // D−2 and for each prefix axis.
        let zero = _mm256_setzero_pd();
        let mut acc_v = zero;
        let mut acc_2 = zero;
        let mut acc = [zero; D];
        let outer = 1usize << (2 * (D - 2));
        let mut digits = [0usize; D];
        for _ in 0..outer {
            let mut pw = 1.0;
            let mut off = base;
            for k in 0..D - 2 {
                pw *= w[k][digits[k]];
                off += digits[k] * strides[k];
            }
            let (p, pd) = rows4_pair(c.add(off), s2, w2, d2);
            acc_v = _mm256_fmadd_pd(_mm256_set1_pd(pw), p, acc_v);
            acc_2 = _mm256_fmadd_pd(_mm256_set1_pd(pw), pd, acc_2);
            for k in 0..D - 2 {
                let mut q = d[k][digits[k]];
                for j in 0..D - 2 {
                    if j != k {
                        q *= w[j][digits[j]];
                    }
                }
                acc[k] = _mm256_fmadd_pd(_mm256_set1_pd(q), p, acc[k]);
            }
            for k in (0..D - 2).rev() {
                digits[k] += 1;
                if digits[k] < 4 {
                    break;
                }
                digits[k] = 0;
            }
        }
        for k in 0..D - 2 {
            g[k] = hsum(_mm256_mul_pd(acc[k], wl));
        }
        g[D - 2] = hsum(_mm256_mul_pd(acc_2, wl));
        g[D - 1] = hsum(_mm256_mul_pd(acc_v, dl));
        g
    }
}
