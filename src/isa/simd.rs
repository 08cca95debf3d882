//! Generic kernel bodies over a small vector trait, instantiated once per ISA
//! inside `#[target_feature]` entry points (`scalar.rs`, `avx2.rs`, `avx512.rs`).
//!
//! The vector types are raw `core::arch` registers rather than `wide`'s types:
//! `wide` picks its implementation from compile-time target features, so in a
//! crate built for baseline x86-64 its `f64x4`/`f64x8` are pairs of SSE2 halves
//! even inside `#[target_feature(enable = "avx512f")]` functions. Here every
//! operation is one intrinsic, marked `#[inline(always)]`, so it is inlined
//! into the `#[target_feature]` entry point and compiled with that ISA (the
//! disassembly of the release build shows `ymm` + `vfmadd` for AVX2 and `zmm`
//! for AVX-512).
//!
//! All functions here are `unsafe`: they take raw pointers whose ranges the
//! safe wrappers in [`super`] check, and the vector impls require their ISA.
//! Off x86-64 only the one-lane (`f64`) instances are used.
#![cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]

/// A vector of `W` f64 lanes.
pub(crate) trait Vf64: Copy {
    /// Number of lanes.
    const W: usize;
    /// Loads `W` values from `p` (unaligned).
    unsafe fn load(p: *const f64) -> Self;
    /// Stores `W` values to `p` (unaligned).
    unsafe fn store(self, p: *mut f64);
    /// All lanes `v`.
    unsafe fn splat(v: f64) -> Self;
    /// `self + b`.
    unsafe fn add(self, b: Self) -> Self;
    /// `self * b`.
    unsafe fn mul(self, b: Self) -> Self;
    /// `self / b`.
    unsafe fn div(self, b: Self) -> Self;
    /// `self - b`.
    unsafe fn sub(self, b: Self) -> Self;
    /// `self * b + c` (fused where the ISA has FMA).
    unsafe fn mul_add(self, b: Self, c: Self) -> Self;
    /// `c - self * b` (fused where the ISA has FMA).
    unsafe fn neg_mul_add(self, b: Self, c: Self) -> Self;
    /// Sum of the lanes.
    unsafe fn reduce_add(self) -> f64;
    /// `dst[c*ds + r] = src[r*ss + c]` for a `rows × cols` block, with this
    /// ISA's tiled kernel (pointers as in [`transpose_scalar`]).
    unsafe fn transpose_block(
        src: *const f64,
        ss: usize,
        dst: *mut f64,
        ds: usize,
        rows: usize,
        cols: usize,
    );
    /// Hints that the cache line holding `p` will be read soon (no-op by
    /// default; never faults).
    #[inline(always)]
    fn prefetch(_p: *const f64) {}
    /// The four-lane vectors of this ISA (AVX2's for AVX-512; the portable
    /// lane for the scalar ISA): the lanes = axes basis of `D ≤ 4` axes
    /// runs on them.
    type Quad: Vf64;
    /// `Σ_r Π_k w[k][r_k] · c[base + Σ_k r_k s_k]` over the `4^D` block at
    /// `base` (the tensor evaluation's contraction). The default is the
    /// scalar reference, [`super::scalar::contract`].
    ///
    /// # Safety
    /// `base + Σ_k 3·strides[k] < c.len()`; the ISA is available.
    #[inline(always)]
    unsafe fn contract_block<const D: usize>(
        c: &[f64],
        strides: &[usize; D],
        base: usize,
        w: &[[f64; 4]; D],
    ) -> f64 {
        super::scalar::contract(c, strides, base, w)
    }
    /// The gradient contractions: entry `k` is [`contract_block`](Self::contract_block)
    /// with axis `k`'s weights `w[k]` replaced by its derivative weights
    /// `d[k]`. The default is the scalar reference (one contraction per
    /// axis).
    ///
    /// # Safety
    /// As [`contract_block`](Self::contract_block).
    #[inline(always)]
    unsafe fn contract_grad_block<const D: usize>(
        c: &[f64],
        strides: &[usize; D],
        base: usize,
        w: &[[f64; 4]; D],
        d: &[[f64; 4]; D],
    ) -> [f64; D] {
        std::array::from_fn(|k| {
            let mut wk = *w;
            wk[k] = d[k];
            super::scalar::contract(c, strides, base, &wk)
        })
    }
}

/// A kernel written once over the vector trait and run by
/// [`Kernels::dispatch`](super::Kernels::dispatch), which instantiates
/// [`run`](Self::run) inside a `#[target_feature]` function of the chosen
/// ISA (pulp's `WithSimd`). `run` must be `#[inline(always)]` so that its
/// body is compiled with that ISA's features; code that does not use `V`
/// (auto-vectorised loops over `f32`/`f64` slices) is compiled with them
/// all the same.
///
/// The body receives the proof that `V`'s ISA is available as a value
/// ([`Simd`]): no kernel can be run with a vector type whose instructions
/// this CPU lacks, and the `unsafe` vector operations inside cite it.
pub(crate) trait WithSimd {
    /// What the kernel returns.
    type Output;
    /// The kernel body for vectors `V`, with the proof of their ISA.
    fn run<V: Vf64>(self, simd: Simd<V>) -> Self::Output;
}

/// Proof, as a zero-sized value, that the instructions of the vector type
/// `V` are available on this CPU. Only the ISA module builds one: from a
/// detection token ([`super::Avx2Token`], [`super::Avx512Token`]) when it
/// dispatches a kernel, or for the one-lane `f64`, which needs nothing.
pub(crate) struct Simd<V: Vf64> {
    _v: std::marker::PhantomData<V>,
}

impl<V: Vf64> Clone for Simd<V> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<V: Vf64> Copy for Simd<V> {}

impl<V: Vf64> Simd<V> {
    /// The proof for `V`.
    ///
    /// # Safety
    /// `V`'s ISA is available on this CPU (the caller holds its detection
    /// token).
    #[inline(always)]
    pub(super) const unsafe fn assume() -> Self {
        Simd {
            _v: std::marker::PhantomData,
        }
    }
}

impl Simd<f64> {
    /// The one-lane `f64` needs no instruction beyond the baseline.
    #[inline(always)]
    pub(crate) const fn scalar() -> Self {
        Simd {
            _v: std::marker::PhantomData,
        }
    }
}

impl Vf64 for f64 {
    const W: usize = 1;
    type Quad = f64;
    #[inline(always)]
    unsafe fn load(p: *const f64) -> Self {
        // SAFETY: the caller guarantees `p` is valid for one read.
        unsafe { *p }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f64) {
        // SAFETY: the caller guarantees `p` is valid for one write.
        unsafe { *p = self }
    }
    #[inline(always)]
    unsafe fn splat(v: f64) -> Self {
        v
    }
    #[inline(always)]
    unsafe fn add(self, b: Self) -> Self {
        self + b
    }
    #[inline(always)]
    unsafe fn mul(self, b: Self) -> Self {
        self * b
    }
    #[inline(always)]
    unsafe fn div(self, b: Self) -> Self {
        self / b
    }
    #[inline(always)]
    unsafe fn sub(self, b: Self) -> Self {
        self - b
    }
    // Unfused on purpose: `f64::mul_add` is a libm call without FMA hardware.
    #[inline(always)]
    unsafe fn mul_add(self, b: Self, c: Self) -> Self {
        self * b + c
    }
    #[inline(always)]
    unsafe fn neg_mul_add(self, b: Self, c: Self) -> Self {
        c - self * b
    }
    #[inline(always)]
    unsafe fn reduce_add(self) -> f64 {
        self
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
        // SAFETY: forwarded contract.
        unsafe { transpose_scalar(src, ss, dst, ds, 0, rows, 0, cols) }
    }
}

/// `y_i[j] = y_i[j] − z_i f[j]` for rows `i < z.len()` (row `i` at
/// `y[i*ys ..]`) and lanes `j0..j1` (a multiple of `V::W` apart); returns
/// the finiteness accumulator `Σ y·0`.
#[inline(always)]
pub(crate) unsafe fn sub_outer<V: Vf64>(
    z: &[f64],
    f: *const f64,
    y: *mut f64,
    ys: usize,
    j0: usize,
    j1: usize,
) -> V {
    // SAFETY (whole body): the caller guarantees `f[j0..j1]` and rows
    // `0..z.len()` of lanes `j0..j1` of `y` are in bounds.
    unsafe {
        let zero = V::splat(0.0);
        let mut acc = zero;
        for (i, &zi) in z.iter().enumerate() {
            let zv = V::splat(zi);
            let row = y.add(i * ys);
            let mut j = j0;
            while j < j1 {
                let v = zv.neg_mul_add(V::load(f.add(j)), V::load(row.add(j)));
                v.store(row.add(j));
                acc = v.mul_add(zero, acc);
                j += V::W;
            }
        }
        acc
    }
}

/// Forward elimination `y_i = b_i − L_{i,i−1} y_{i−1} − L_{i,i−2} y_{i−2}`
/// for lanes `j0..j1` (a multiple of `V::W` apart) of `n = l.len()` rows:
/// row `i` of the right-hand sides is `src[i*ss ..]`, of `y` is `dst[i*ds ..]`.
/// `dst` may equal `src` (in place).
///
/// Rows are the outer loop: the lanes of one row are independent, so the
/// out-of-order core overlaps them, and each row is a contiguous stream.
#[inline(always)]
pub(crate) unsafe fn lu_forward<V: Vf64>(
    l: &[[f64; 2]],
    src: *const f64,
    ss: usize,
    dst: *mut f64,
    ds: usize,
    j0: usize,
    j1: usize,
) {
    let n = l.len();
    // SAFETY (whole body): the caller guarantees rows 0..n of lanes j0..j1 are
    // in bounds for both pointers.
    unsafe {
        let mut j = j0;
        while j < j1 {
            V::load(src.add(j)).store(dst.add(j));
            j += V::W;
        }
        if n < 2 {
            return;
        }
        let l1 = V::splat(l[1][1]);
        let mut j = j0;
        while j < j1 {
            let p1 = V::load(dst.add(j));
            l1.neg_mul_add(p1, V::load(src.add(ss + j)))
                .store(dst.add(ds + j));
            j += V::W;
        }
        for i in 2..n {
            let [a2, a1] = l[i];
            let (l2, l1) = (V::splat(a2), V::splat(a1));
            let s = src.add(i * ss);
            let d = dst.add(i * ds);
            let d1 = dst.add((i - 1) * ds);
            let d2 = dst.add((i - 2) * ds);
            // Rows of a block are far apart in the grid (stride `ss`), too
            // short for the hardware prefetcher to lock on: fetch two rows ahead.
            let ahead = if i + 2 < n { 2 * ss } else { 0 };
            let mut j = j0;
            while j < j1 {
                V::prefetch(s.wrapping_add(ahead + j));
                let v = l1.neg_mul_add(V::load(d1.add(j)), V::load(s.add(j)));
                l2.neg_mul_add(V::load(d2.add(j)), v).store(d.add(j));
                j += V::W;
            }
        }
    }
}

/// Back substitution `x_i = (y_i − U_{i,i+1} x_{i+1} − U_{i,i+2} x_{i+2}) / U_ii`
/// for lanes `j0..j1`; rows of `y` at `src[i*ss ..]`, of `x` at `dst[i*ds ..]`
/// (`dst` may equal `src`). Returns `Σ x·0` over the lanes written: `0` when
/// every result is finite, NaN otherwise (a branch-free finiteness check).
#[inline(always)]
pub(crate) unsafe fn lu_backward<V: Vf64>(
    u: &[[f64; 3]],
    src: *const f64,
    ss: usize,
    dst: *mut f64,
    ds: usize,
    j0: usize,
    j1: usize,
) -> V {
    let n = u.len();
    // SAFETY (whole body): as in `lu_forward`.
    unsafe {
        let zero = V::splat(0.0);
        let mut acc = zero;
        let i = n - 1;
        let inv = V::splat(u[i][0]);
        let mut j = j0;
        while j < j1 {
            let x = V::load(src.add(i * ss + j)).mul(inv);
            x.store(dst.add(i * ds + j));
            acc = x.mul_add(zero, acc);
            j += V::W;
        }
        if n < 2 {
            return acc;
        }
        let i = n - 2;
        let (inv, u1) = (V::splat(u[i][0]), V::splat(u[i][1]));
        let mut j = j0;
        while j < j1 {
            let y = V::load(src.add(i * ss + j));
            let x = u1
                .neg_mul_add(V::load(dst.add((i + 1) * ds + j)), y)
                .mul(inv);
            x.store(dst.add(i * ds + j));
            acc = x.mul_add(zero, acc);
            j += V::W;
        }
        for i in (0..n - 2).rev() {
            let [a0, a1, a2] = u[i];
            let (inv, u1, u2) = (V::splat(a0), V::splat(a1), V::splat(a2));
            let s = src.add(i * ss);
            let d = dst.add(i * ds);
            let x1 = dst.add((i + 1) * ds);
            let x2 = dst.add((i + 2) * ds);
            let mut j = j0;
            while j < j1 {
                let v = u1.neg_mul_add(V::load(x1.add(j)), V::load(s.add(j)));
                let x = u2.neg_mul_add(V::load(x2.add(j)), v).mul(inv);
                x.store(d.add(j));
                acc = x.mul_add(zero, acc);
                j += V::W;
            }
        }
        acc
    }
}

/// Forward elimination and back substitution of one strip of `K` vectors
/// (`K·V::W` lanes) of the rows `src[i*ss ..]`, `i < n = l.len()`, into
/// `buf` (row `i` at `buf[i·K·V::W ..]`). Each sweep carries the two
/// previous rows of all `K` vectors in registers, so only the right-hand
/// side is loaded; `K` independent recurrences hide the FMA latency. Per
/// lane the arithmetic is exactly that of [`lu_forward`] and
/// [`lu_backward`]; returns their finiteness accumulator.
#[inline(always)]
pub(crate) unsafe fn lu_strip<V: Vf64, const K: usize>(
    l: &[[f64; 2]],
    u: &[[f64; 3]],
    src: *const f64,
    ss: usize,
    buf: *mut f64,
) -> V {
    let n = l.len();
    let w = V::W;
    let sw = K * w;
    // SAFETY (whole body): the caller guarantees rows 0..n of lanes 0..sw
    // in bounds for `src` (stride `ss`) and n*sw values at `buf`.
    unsafe {
        let zero = V::splat(0.0);
        // Forward: y_i = b_i − l1 y_{i−1} − l2 y_{i−2}.
        let mut y1 = [zero; K];
        let mut y2 = [zero; K];
        for k in 0..K {
            y1[k] = V::load(src.add(k * w));
            y1[k].store(buf.add(k * w));
        }
        if n >= 2 {
            let l1 = V::splat(l[1][1]);
            for k in 0..K {
                let y = l1.neg_mul_add(y1[k], V::load(src.add(ss + k * w)));
                y.store(buf.add(sw + k * w));
                y2[k] = y1[k];
                y1[k] = y;
            }
        }
        for i in 2..n {
            let [a2, a1] = l[i];
            let (l2, l1) = (V::splat(a2), V::splat(a1));
            let si = src.add(i * ss);
            let ahead = if i + 2 < n { 2 * ss } else { 0 };
            let bi = buf.add(i * sw);
            for k in 0..K {
                V::prefetch(si.wrapping_add(ahead + k * w));
                let v = l1.neg_mul_add(y1[k], V::load(si.add(k * w)));
                let y = l2.neg_mul_add(y2[k], v);
                y.store(bi.add(k * w));
                y2[k] = y1[k];
                y1[k] = y;
            }
        }
        // Backward: x_i = (y_i − u1 x_{i+1} − u2 x_{i+2}) · (1/U_ii).
        let mut acc = zero;
        let mut x1 = [zero; K];
        let mut x2 = [zero; K];
        let i = n - 1;
        let inv = V::splat(u[i][0]);
        for k in 0..K {
            let p = buf.add(i * sw + k * w);
            let x = V::load(p).mul(inv);
            x.store(p);
            acc = x.mul_add(zero, acc);
            x1[k] = x;
        }
        if n >= 2 {
            let i = n - 2;
            let (inv, u1) = (V::splat(u[i][0]), V::splat(u[i][1]));
            for k in 0..K {
                let p = buf.add(i * sw + k * w);
                let x = u1.neg_mul_add(x1[k], V::load(p)).mul(inv);
                x.store(p);
                acc = x.mul_add(zero, acc);
                x2[k] = x1[k];
                x1[k] = x;
            }
        }
        for i in (0..n.saturating_sub(2)).rev() {
            let [a0, a1, a2] = u[i];
            let (inv, u1, u2) = (V::splat(a0), V::splat(a1), V::splat(a2));
            let bi = buf.add(i * sw);
            for k in 0..K {
                let p = bi.add(k * w);
                let v = u1.neg_mul_add(x1[k], V::load(p));
                let x = u2.neg_mul_add(x2[k], v).mul(inv);
                x.store(p);
                acc = x.mul_add(zero, acc);
                x2[k] = x1[k];
                x1[k] = x;
            }
        }
        acc
    }
}

/// Cubic Cox–de Boor triangle for `V::W` independent evaluations at once
/// (lanes = points, or lanes = axes). `kl[r]` holds `t[span − r]` and
/// `kr[r]` holds `t[span + 1 + r]` (r = 0..3) per lane; returns the four basis
/// values per lane, the same recurrence as [`crate::bspline::basis::basis`]
/// with `left[j] = x − kl[j−1]`, `right[j] = kr[j−1] − x`.
#[inline(always)]
pub(crate) unsafe fn basis_lanes<V: Vf64>(x: V, kl: [V; 3], kr: [V; 3]) -> [V; 4] {
    // SAFETY (whole body): pure register arithmetic of the caller's ISA.
    unsafe {
        let left = [x.sub(kl[0]), x.sub(kl[1]), x.sub(kl[2])];
        let right = [kr[0].sub(x), kr[1].sub(x), kr[2].sub(x)];
        // j = 1
        let t = V::splat(1.0).div(kr[0].sub(kl[0]));
        let n0 = right[0].mul(t);
        let n1 = left[0].mul(t);
        // j = 2
        let t = n0.div(kr[0].sub(kl[1]));
        let m0 = right[0].mul(t);
        let s = left[1].mul(t);
        let t = n1.div(kr[1].sub(kl[0]));
        let m1 = right[1].mul_add(t, s);
        let m2 = left[0].mul(t);
        // j = 3
        let t = m0.div(kr[0].sub(kl[2]));
        let b0 = right[0].mul(t);
        let s = left[2].mul(t);
        let t = m1.div(kr[1].sub(kl[1]));
        let b1 = right[1].mul_add(t, s);
        let s = left[1].mul(t);
        let t = m2.div(kr[2].sub(kl[0]));
        let b2 = right[2].mul_add(t, s);
        let b3 = left[0].mul(t);
        [b0, b1, b2, b3]
    }
}

/// Values, first and second derivatives of the four cubic basis functions
/// for `V::W` independent evaluations (same lane layout as [`basis_lanes`]).
///
/// With `m_r` the quadratic and `n_r` the linear basis values of the same
/// triangle, `B'_r = 3 (q_{r−1} − q_r)` with `q_r = m_r / (t[s+1+r] − t[s−2+r])`
/// and `N'_r = 2 (p_{r−1} − p_r)` with `p_r = n_r / (t[s+1+r] − t[s−1+r])`
/// (`q_{−1} = q_3 = p_{−1} = p_2 = 0`), so `B''_r = 3 (g_{r−1} − g_r)` with
/// `g_r = N'_r / (t[s+1+r] − t[s−2+r])` (de Boor's derivative formula applied
/// twice; the denominators are the ones of the recurrence itself).
#[inline(always)]
pub(crate) unsafe fn basis_lanes_d2<V: Vf64>(x: V, kl: [V; 3], kr: [V; 3]) -> [[V; 4]; 3] {
    // SAFETY (whole body): pure register arithmetic of the caller's ISA.
    unsafe {
        let left = [x.sub(kl[0]), x.sub(kl[1]), x.sub(kl[2])];
        let right = [kr[0].sub(x), kr[1].sub(x), kr[2].sub(x)];
        let t = V::splat(1.0).div(kr[0].sub(kl[0]));
        let n0 = right[0].mul(t);
        let n1 = left[0].mul(t);
        let p0 = n0.div(kr[0].sub(kl[1]));
        let m0 = right[0].mul(p0);
        let s = left[1].mul(p0);
        let p1 = n1.div(kr[1].sub(kl[0]));
        let m1 = right[1].mul_add(p1, s);
        let m2 = left[0].mul(p1);
        let d0 = kr[0].sub(kl[2]);
        let d1 = kr[1].sub(kl[1]);
        let d2 = kr[2].sub(kl[0]);
        let q0 = m0.div(d0);
        let b0 = right[0].mul(q0);
        let s = left[2].mul(q0);
        let q1 = m1.div(d1);
        let b1 = right[1].mul_add(q1, s);
        let s = left[1].mul(q1);
        let q2 = m2.div(d2);
        let b2 = right[2].mul_add(q2, s);
        let b3 = left[0].mul(q2);
        let three = V::splat(3.0);
        let zero = V::splat(0.0);
        let der = [
            zero.sub(three.mul(q0)),
            three.mul(q0.sub(q1)),
            three.mul(q1.sub(q2)),
            three.mul(q2),
        ];
        let two = V::splat(2.0);
        let e0 = zero.sub(two.mul(p0));
        let e1 = two.mul(p0.sub(p1));
        let e2 = two.mul(p1);
        let g0 = e0.div(d0);
        let g1 = e1.div(d1);
        let g2 = e2.div(d2);
        let sec = [
            zero.sub(three.mul(g0)),
            three.mul(g0.sub(g1)),
            three.mul(g1.sub(g2)),
            three.mul(g2),
        ];
        [[b0, b1, b2, b3], der, sec]
    }
}

/// Transposes a `rows × cols` block: `dst[c*ds + r] = src[r*ss + c]`, one
/// element at a time (the remainder path of the tiled versions).
#[inline(always)]
#[allow(clippy::too_many_arguments)] // two pointers with strides and a 2-D range
pub(crate) unsafe fn transpose_scalar(
    src: *const f64,
    ss: usize,
    dst: *mut f64,
    ds: usize,
    r0: usize,
    r1: usize,
    c0: usize,
    c1: usize,
) {
    for r in r0..r1 {
        for c in c0..c1 {
            // SAFETY: the caller guarantees the block is in bounds for both pointers.
            unsafe { *dst.add(c * ds + r) = *src.add(r * ss + c) };
        }
    }
}

/// Gathers `t[spans[p] + off]` for the lanes `p0 .. p0 + V::W` into a vector.
#[inline(always)]
unsafe fn gather<V: Vf64>(t: &[f64], spans: &[usize], p0: usize, off: isize) -> V {
    let mut a = [0.0f64; 8];
    for q in 0..V::W {
        // SAFETY: the caller guarantees valid spans, so `span + off` is in bounds
        // for −2 ≤ off ≤ 3.
        a[q] = unsafe { *t.as_ptr().offset(spans[p0 + q] as isize + off) };
    }
    // SAFETY: `a` holds 8 ≥ W values.
    unsafe { V::load(a.as_ptr()) }
}

/// Basis values (`nd = 0`) or values and first two derivatives (`nd ≥ 1`) at
/// the points `x` of one axis, `V::W` points per step (lanes = points):
/// `out[p][k][r] = d^k B_{spans[p]−3+r}(x[p])` for `k ≤ min(nd, 2)`. The
/// remainder points use the scalar lanes of the same recurrence.
#[inline(always)]
pub(crate) unsafe fn basis_batch<V: Vf64>(
    t: &[f64],
    spans: &[usize],
    x: &[f64],
    nd: usize,
    out: &mut [[[f64; 4]; 3]],
) {
    let len = x.len();
    let main = len - len % V::W;
    // SAFETY (whole body): spans valid (3 ≤ s ≤ t.len() − 5); `spans`, `x`
    // and `out` have `len` entries (checked by the dispatcher).
    unsafe {
        let mut p = 0;
        while p < len {
            let step = if p < main { V::W } else { 1 };
            if step == 1 {
                basis_point::<f64>(t, spans, x, nd, out, p);
            } else {
                basis_point::<V>(t, spans, x, nd, out, p);
            }
            p += step;
        }
    }
}

#[inline(always)]
unsafe fn basis_point<V: Vf64>(
    t: &[f64],
    spans: &[usize],
    x: &[f64],
    nd: usize,
    out: &mut [[[f64; 4]; 3]],
    p: usize,
) {
    // SAFETY: see `basis_batch`.
    unsafe {
        let kl = [
            gather::<V>(t, spans, p, 0),
            gather::<V>(t, spans, p, -1),
            gather::<V>(t, spans, p, -2),
        ];
        let kr = [
            gather::<V>(t, spans, p, 1),
            gather::<V>(t, spans, p, 2),
            gather::<V>(t, spans, p, 3),
        ];
        let xv = V::load(x.as_ptr().add(p));
        let mut tmp = [[[0.0f64; 8]; 4]; 3];
        let rows = if nd == 0 {
            let b = basis_lanes::<V>(xv, kl, kr);
            for r in 0..4 {
                b[r].store(tmp[0][r].as_mut_ptr());
            }
            1
        } else {
            let b = basis_lanes_d2::<V>(xv, kl, kr);
            for k in 0..3 {
                for r in 0..4 {
                    b[k][r].store(tmp[k][r].as_mut_ptr());
                }
            }
            nd.min(2) + 1
        };
        for q in 0..V::W {
            for k in 0..rows {
                for r in 0..4 {
                    out[p + q][k][r] = tmp[k][r][q];
                }
            }
        }
    }
}

/// Lane `k < D` holds `knots[k][spans[k] + off]`; the spare lanes hold the
/// dummy knots `k + off` (around `x = k + 0.5`, non-zero denominators).
/// A function rather than a closure, so that `#[inline(always)]` puts it in
/// the `#[target_feature]` caller.
///
/// # Safety
/// `V`'s ISA is available; `spans[k] + off` is a valid knot index; `D ≤ 8`.
#[inline(always)]
unsafe fn knot_lanes<V: Vf64, const D: usize>(
    knots: &[&[f64]; D],
    spans: &[usize; D],
    off: isize,
) -> V {
    let mut a = [0.0f64; 8];
    for (k, v) in a.iter_mut().enumerate() {
        *v = if k < D {
            // SAFETY: the caller's contract (a valid knot index).
            unsafe { *knots[k].as_ptr().offset(spans[k] as isize + off) }
        } else {
            k as f64 + off as f64
        };
    }
    // SAFETY: `a` holds 8 ≥ V::W values; the ISA by the caller's contract.
    unsafe { V::load(a.as_ptr()) }
}

/// Basis values (and first two derivatives when `nd ≥ 1`) for one point,
/// lanes = axes (`D ≤ V::W`; the spare lanes evaluate a dummy span with
/// non-zero denominators).
#[inline(always)]
pub(crate) unsafe fn basis_axes<V: Vf64, const D: usize>(
    knots: &[&[f64]; D],
    spans: &[usize; D],
    x: &[f64; D],
    nd: usize,
) -> [[[f64; 4]; 3]; D] {
    let mut out = [[[0.0; 4]; 3]; D];
    // SAFETY (whole body): spans valid per axis; D ≤ V::W ≤ 8 (checked by the dispatcher).
    unsafe {
        let mut xa = [0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5];
        xa[..D].copy_from_slice(&x[..]);
        let xv = V::load(xa.as_ptr());
        let kl = [
            knot_lanes::<V, D>(knots, spans, 0),
            knot_lanes::<V, D>(knots, spans, -1),
            knot_lanes::<V, D>(knots, spans, -2),
        ];
        let kr = [
            knot_lanes::<V, D>(knots, spans, 1),
            knot_lanes::<V, D>(knots, spans, 2),
            knot_lanes::<V, D>(knots, spans, 3),
        ];
        let mut tmp = [[[0.0f64; 8]; 4]; 3];
        let rows = if nd == 0 {
            let b = basis_lanes::<V>(xv, kl, kr);
            for r in 0..4 {
                b[r].store(tmp[0][r].as_mut_ptr());
            }
            1
        } else {
            let b = basis_lanes_d2::<V>(xv, kl, kr);
            for k in 0..3 {
                for r in 0..4 {
                    b[k][r].store(tmp[k][r].as_mut_ptr());
                }
            }
            nd.min(2) + 1
        };
        for (a, o) in out.iter_mut().enumerate() {
            for k in 0..rows {
                for r in 0..4 {
                    o[k][r] = tmp[k][r][a];
                }
            }
        }
    }
    out
}

/// Basis values only for one point, lanes = axes (see [`basis_axes`]).
#[inline(always)]
pub(crate) unsafe fn basis_axes_values<V: Vf64, const D: usize>(
    knots: &[&[f64]; D],
    spans: &[usize; D],
    x: &[f64; D],
) -> [[f64; 4]; D] {
    // SAFETY (whole body): spans valid per axis; D ≤ V::W ≤ 8 (checked by the dispatcher).
    unsafe {
        let mut xa = [0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5];
        xa[..D].copy_from_slice(&x[..]);
        let b = basis_lanes::<V>(
            V::load(xa.as_ptr()),
            [
                knot_lanes::<V, D>(knots, spans, 0),
                knot_lanes::<V, D>(knots, spans, -1),
                knot_lanes::<V, D>(knots, spans, -2),
            ],
            [
                knot_lanes::<V, D>(knots, spans, 1),
                knot_lanes::<V, D>(knots, spans, 2),
                knot_lanes::<V, D>(knots, spans, 3),
            ],
        );
        let mut tmp = [[0.0f64; 8]; 4];
        for r in 0..4 {
            b[r].store(tmp[r].as_mut_ptr());
        }
        std::array::from_fn(|a| [tmp[0][a], tmp[1][a], tmp[2][a], tmp[3][a]])
    }
}

/// Solves the band system for lanes `0..m` (`m ≥ K·V::W`) of the rows
/// `src[i*ss ..]` (`i < n = l.len()`) and writes the result transposed,
/// `dst[c*n + i] = x_i[c]`, in strips of `K·V::W` lanes: per strip
/// [`lu_strip`] solves into `buf` (`n × K·V::W` values, L1-resident) and the
/// ISA's tiled [`Vf64::transpose_block`] moves the strip into `dst`. The last
/// strip is shifted back to end at lane `m` and recomputes a few lanes with
/// the same operations, hence the same values. Returns whether every result
/// is finite.
///
/// # Safety
/// `V`'s ISA is available; `m ≥ K·V::W`; rows `0..n` of lanes `0..m` are in
/// bounds for `src`; `dst` holds `n·m` values and `buf` `n·K·V::W`; the
/// three ranges do not overlap; `u.len() == n`.
#[inline(always)]
#[allow(clippy::too_many_arguments)] // two factors, two strided blocks and a buffer
pub(crate) unsafe fn lu_solve_transpose<V: Vf64, const K: usize>(
    l: &[[f64; 2]],
    u: &[[f64; 3]],
    src: *const f64,
    ss: usize,
    dst: *mut f64,
    m: usize,
    buf: *mut f64,
) -> bool {
    let n = l.len();
    let sw = K * V::W;
    // SAFETY (whole body): each strip c..c+sw lies inside 0..m (m ≥ sw), so
    // its rows are in bounds for src and its n×sw block of dst lies in the
    // n×m block; buf holds one strip.
    unsafe {
        let mut acc = V::splat(0.0);
        let mut c0 = 0;
        while c0 < m {
            let c = c0.min(m - sw);
            acc = acc.add(lu_strip::<V, K>(l, u, src.add(c), ss, buf));
            V::transpose_block(buf, sw, dst.add(c * n), n, n, sw);
            c0 += sw;
        }
        acc.reduce_add() == 0.0
    }
}
