//! AVX-512F kernels (8 × f64 in `zmm` registers), written with `core::arch`
//! intrinsics (see [`super::simd`] for why not `wide`).
//!
//! Every kernel is a `#[target_feature(enable = "avx512f,avx2,fma")]`
//! function whose first argument is an [`Avx512Token`] (created only by
//! detection of AVX-512F, AVX2 and FMA); the dispatchers in [`super`] check
//! every pointer range first. The 4 × 4 transpose, the
//! single-point contraction and the Cox–de Boor kernels for up to four lanes
//! keep the AVX2 (`ymm`) kernels: their data come in rows or groups of four,
//! and the 8-lane batch basis measured slower than the 4-lane one.

use super::Avx512Token;
use super::simd::{self, Vf64};
use core::arch::x86_64::*;

/// Eight f64 lanes in a `zmm` register.
#[derive(Clone, Copy)]
pub(crate) struct V8(__m512d);

// SAFETY (all methods): AVX-512F intrinsics; only reached from functions that
// enable that feature, on a CPU that has it. Pointers are checked by the caller.
impl Vf64 for V8 {
    const W: usize = 8;
    type Quad = super::avx2::V4;
    #[inline(always)]
    unsafe fn contract_block<const D: usize>(
        c: &[f64],
        strides: &[usize; D],
        base: usize,
        w: &[[f64; 4]; D],
    ) -> f64 {
        // AVX-512F implies AVX2 and FMA.
        unsafe { super::avx2::contract_body(c.as_ptr(), strides, base, w) }
    }
    #[inline(always)]
    unsafe fn contract_grad_block<const D: usize>(
        c: &[f64],
        strides: &[usize; D],
        base: usize,
        w: &[[f64; 4]; D],
        d: &[[f64; 4]; D],
    ) -> [f64; D] {
        unsafe { super::avx2::contract_grad_body(c.as_ptr(), strides, base, w, d) }
    }
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
    #[inline(always)]
    unsafe fn reduce_add(self) -> f64 {
        unsafe { _mm512_reduce_add_pd(self.0) }
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
        // SAFETY: the AVX-512 token was checked by whoever instantiated V8.
        unsafe { transpose(Avx512Token(()), src, ss, dst, ds, rows, cols) }
    }
}

/// See [`simd::lu_forward`]; lanes `0..m`.
#[target_feature(enable = "avx512f,avx2,fma")]
pub(crate) unsafe fn lu_forward(
    _: Avx512Token,
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
        if main < m && main >= 8 && !std::ptr::eq(src, dst) {
            // Out of place: redo the last 8 lanes as one vector (the lanes
            // shared with the previous vector get the same values again).
            simd::lu_forward::<V8>(l, src, ss, dst, ds, m - 8, m);
        } else {
            simd::lu_forward::<f64>(l, src, ss, dst, ds, main, m);
        }
    }
}

/// See [`simd::lu_backward`]; lanes `0..m`. Returns whether all results are finite.
#[target_feature(enable = "avx512f,avx2,fma")]
pub(crate) unsafe fn lu_backward(
    _: Avx512Token,
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
        let b = if main < m && main >= 8 && !std::ptr::eq(src, dst) {
            // Out of place: the last 8 lanes as one (overlapping) vector.
            let t = simd::lu_backward::<V8>(u, src, ss, dst, ds, m - 8, m);
            _mm512_reduce_add_pd(t.0)
        } else {
            simd::lu_backward::<f64>(u, src, ss, dst, ds, main, m)
        };
        _mm512_reduce_add_pd(a.0) + b == 0.0
    }
}

/// `dst[c*ds + r] = src[r*ss + c]` for a `rows × cols` block in 8 × 8 tiles
/// (`unpack` of row pairs, then two rounds of 128-bit lane shuffles). When a
/// side is not a multiple of 8 (but at least 8) its last tile is shifted back
/// to end at the edge and overlaps the previous one, rewriting a few elements
/// with the same values (the buffers do not overlap); blocks narrower than 8
/// use the AVX2 kernel.
#[target_feature(enable = "avx512f,avx2,fma")]
pub(crate) unsafe fn transpose(
    t: Avx512Token,
    src: *const f64,
    ss: usize,
    dst: *mut f64,
    ds: usize,
    rows: usize,
    cols: usize,
) {
    const LO: i32 = 0b10_00_10_00;
    const HI: i32 = 0b11_01_11_01;
    if rows < 8 || cols < 8 {
        // SAFETY: same block and contract; AVX2 + FMA come with this ISA.
        unsafe { super::avx2::transpose(t.avx2(), src, ss, dst, ds, rows, cols) };
        return;
    }
    // SAFETY: every tile lies inside the rows × cols block (starts are
    // clamped to rows − 8 and cols − 8), which the dispatcher checked against
    // both buffers; src and dst do not overlap.
    unsafe {
        let mut c0 = 0;
        while c0 < cols {
            let c = c0.min(cols - 8);
            let mut r0 = 0;
            while r0 < rows {
                let r = r0.min(rows - 8);
                let s = src.add(r * ss + c);
                let a: [__m512d; 8] = std::array::from_fn(|k| _mm512_loadu_pd(s.add(k * ss)));
                let t0 = _mm512_unpacklo_pd(a[0], a[1]);
                let t1 = _mm512_unpackhi_pd(a[0], a[1]);
                let t2 = _mm512_unpacklo_pd(a[2], a[3]);
                let t3 = _mm512_unpackhi_pd(a[2], a[3]);
                let t4 = _mm512_unpacklo_pd(a[4], a[5]);
                let t5 = _mm512_unpackhi_pd(a[4], a[5]);
                let t6 = _mm512_unpacklo_pd(a[6], a[7]);
                let t7 = _mm512_unpackhi_pd(a[6], a[7]);
                let u0 = _mm512_shuffle_f64x2::<LO>(t0, t2);
                let u1 = _mm512_shuffle_f64x2::<HI>(t0, t2);
                let u2 = _mm512_shuffle_f64x2::<LO>(t1, t3);
                let u3 = _mm512_shuffle_f64x2::<HI>(t1, t3);
                let u4 = _mm512_shuffle_f64x2::<LO>(t4, t6);
                let u5 = _mm512_shuffle_f64x2::<HI>(t4, t6);
                let u6 = _mm512_shuffle_f64x2::<LO>(t5, t7);
                let u7 = _mm512_shuffle_f64x2::<HI>(t5, t7);
                let d = dst.add(c * ds + r);
                _mm512_storeu_pd(d, _mm512_shuffle_f64x2::<LO>(u0, u4));
                _mm512_storeu_pd(d.add(ds), _mm512_shuffle_f64x2::<LO>(u2, u6));
                _mm512_storeu_pd(d.add(2 * ds), _mm512_shuffle_f64x2::<LO>(u1, u5));
                _mm512_storeu_pd(d.add(3 * ds), _mm512_shuffle_f64x2::<LO>(u3, u7));
                _mm512_storeu_pd(d.add(4 * ds), _mm512_shuffle_f64x2::<HI>(u0, u4));
                _mm512_storeu_pd(d.add(5 * ds), _mm512_shuffle_f64x2::<HI>(u2, u6));
                _mm512_storeu_pd(d.add(6 * ds), _mm512_shuffle_f64x2::<HI>(u1, u5));
                _mm512_storeu_pd(d.add(7 * ds), _mm512_shuffle_f64x2::<HI>(u3, u7));
                r0 += 8;
            }
            c0 += 8;
        }
    }
}

/// Runs `kernel` with `V8` vectors, compiled with the features avx512f,avx2,fma.
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn run_kernel<K: simd::WithSimd>(kernel: K) -> K::Output {
    // SAFETY: this function's target features are the ISA's (the
    // caller's contract).
    kernel.run::<V8>(unsafe { simd::Simd::assume() })
}

/// [`super::Kernels::dispatch`] for this ISA.
#[inline]
pub(crate) fn dispatch<K: simd::WithSimd>(_: Avx512Token, kernel: K) -> K::Output {
    // SAFETY: the token proves that this CPU has the features.
    unsafe { run_kernel(kernel) }
}
