//! AVX-512F kernels (8 × f64 in `zmm` registers), written with `core::arch`
//! intrinsics (see [`super::simd`] for why not `wide`).
//!
//! Every function is `#[target_feature(enable = "avx512f,avx2,fma")] unsafe fn`;
//! the only callers are the dispatchers in [`super`], which hold an
//! [`Isa::Avx512`](super::Isa::Avx512) that passed
//! [`Isa::is_available`](super::Isa::is_available) (AVX-512F, AVX2 and FMA)
//! and which check every pointer range first. The 4 × 4 transpose and the
//! single-point contraction keep the AVX2 (`ymm`) kernels: their data come in
//! rows of four.

use super::simd::{self, Vf64};
use core::arch::x86_64::*;

/// Eight f64 lanes in a `zmm` register.
#[derive(Clone, Copy)]
pub(crate) struct V8(__m512d);

// SAFETY (all methods): AVX-512F intrinsics; only reached from functions that
// enable that feature, on a CPU that has it. Pointers are checked by the caller.
impl Vf64 for V8 {
    const W: usize = 8;
    #[inline(always)]
    unsafe fn load(p: *const f64) -> Self {
        unsafe { V8(_mm512_loadu_pd(p)) }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f64) {
        unsafe { _mm512_storeu_pd(p, self.0) }
    }
    #[inline(always)]
    unsafe fn splat(v: f64) -> Self {
        unsafe { V8(_mm512_set1_pd(v)) }
    }
    #[inline(always)]
    unsafe fn add(self, b: Self) -> Self {
        unsafe { V8(_mm512_add_pd(self.0, b.0)) }
    }
    #[inline(always)]
    unsafe fn mul(self, b: Self) -> Self {
        unsafe { V8(_mm512_mul_pd(self.0, b.0)) }
    }
    #[inline(always)]
    unsafe fn div(self, b: Self) -> Self {
        unsafe { V8(_mm512_div_pd(self.0, b.0)) }
    }
    #[inline(always)]
    unsafe fn sub(self, b: Self) -> Self {
        unsafe { V8(_mm512_sub_pd(self.0, b.0)) }
    }
    #[inline(always)]
    unsafe fn mul_add(self, b: Self, c: Self) -> Self {
        unsafe { V8(_mm512_fmadd_pd(self.0, b.0, c.0)) }
    }
    #[inline(always)]
    fn prefetch(p: *const f64) {
        // SAFETY: a prefetch is a hint; it never faults, whatever the address.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(p as *const i8) }
    }
    #[inline(always)]
    unsafe fn neg_mul_add(self, b: Self, c: Self) -> Self {
        unsafe { V8(_mm512_fnmadd_pd(self.0, b.0, c.0)) }
    }
}

/// See [`simd::lu_forward`]; lanes `0..m`.
#[target_feature(enable = "avx512f,avx2,fma")]
pub(crate) unsafe fn lu_forward(
    l: &[[f64; 2]],
    src: *const f64,
    ss: usize,
    dst: *mut f64,
    ds: usize,
    m: usize,
) {
    let main = m - m % 8;
    // SAFETY: ranges checked by the dispatcher; features enabled here.
    unsafe {
        simd::lu_forward::<V8>(l, src, ss, dst, ds, 0, main);
        simd::lu_forward::<f64>(l, src, ss, dst, ds, main, m);
    }
}

/// See [`simd::lu_backward`]; lanes `0..m`. Returns whether all results are finite.
#[target_feature(enable = "avx512f,avx2,fma")]
pub(crate) unsafe fn lu_backward(
    u: &[[f64; 3]],
    src: *const f64,
    ss: usize,
    dst: *mut f64,
    ds: usize,
    m: usize,
) -> bool {
    let main = m - m % 8;
    // SAFETY: as above.
    unsafe {
        let a = simd::lu_backward::<V8>(u, src, ss, dst, ds, 0, main);
        let b = simd::lu_backward::<f64>(u, src, ss, dst, ds, main, m);
        _mm512_reduce_add_pd(a.0) + b == 0.0
    }
}

/// See [`simd::basis_batch`] (lanes = 8 points).
#[target_feature(enable = "avx512f,avx2,fma")]
pub(crate) unsafe fn basis_batch(
    t: &[f64],
    spans: &[usize],
    x: &[f64],
    nd: usize,
    out: &mut [[[f64; 4]; 3]],
) {
    // SAFETY: the dispatcher checked spans and lengths.
    unsafe { simd::basis_batch::<V8>(t, spans, x, nd, out) }
}

/// See [`simd::basis_axes`] (lanes = axes, `D ≤ 8`).
#[target_feature(enable = "avx512f,avx2,fma")]
pub(crate) unsafe fn basis_axes<const D: usize>(
    knots: &[&[f64]; D],
    spans: &[usize; D],
    x: &[f64; D],
    nd: usize,
) -> [[[f64; 4]; 3]; D] {
    // SAFETY: the dispatcher checked the spans.
    unsafe { simd::basis_axes::<V8, D>(knots, spans, x, nd) }
}
