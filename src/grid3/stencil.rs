//! Separable 3D stencils `M = M₀ ⊗ M₁ ⊗ M₂` on a grid: the B-spline operator
//! `B = b ⊗ b ⊗ b` and the sparse-approximate-inverse preconditioners.
//!
//! Two implementations of the same operator:
//!
//! * [`StencilForm::Direct`]: the full `(2h+1)³`-point stencil (27 points for `B`, as
//!   in the source OpenCL kernel): every output row `(i, j, ·)` sums `(2h+1)²` input rows,
//!   each filtered with the `2h+1` taps along axis 2, i.e. `(2h+1)³` multiply-adds per point.
//! * [`StencilForm::Separable`]: `M₂` along rows, then `M₁` within each plane, then `M₀`
//!   across planes: `3(2h+1)` multiply-adds per point (9 for `B`). The filtered planes are
//!   kept in a small per-task cache so the input is read once and the output written once.
//!
//! Both take any boundary per axis ([`super::band::Band1d`]) and split the outer axis
//! across rayon tasks. [`apply_reference`] is the scalar triple-loop oracle.

use super::band::Band1d;
use crate::isa::{Kernels, Simd, Vf64, WithSimd};
use crate::{Par, Real};
use rayon::prelude::*;

/// How a stencil is applied (same result up to rounding).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StencilForm {
    /// All `(2h+1)³` points per output (27 for the B-spline operator).
    Direct,
    /// One axis at a time: `3(2h+1)` multiply-adds per output (9 for the B-spline operator).
    #[default]
    Separable,
}

/// One axis of a stencil in the working precision.
#[derive(Debug, Clone)]
pub(crate) struct AxisT<T> {
    pub n: usize,
    pub h: usize,
    pub lo: usize,
    pub hi: usize,
    pub taps: Vec<T>,
    pub rows: Vec<Vec<(usize, T)>>,
}

impl<T: Real> AxisT<T> {
    /// # Panics
    /// If the band is wider than [`MAX_ROW`] (an internal invariant: the
    /// crate's stencils have at most 5 taps).
    pub fn from_band(b: &Band1d) -> Self {
        assert!(
            2 * b.h < MAX_ROW && b.rows.iter().all(|r| r.len() <= MAX_ROW),
            "stencil wider than {MAX_ROW} taps"
        );
        AxisT {
            n: b.n,
            h: b.h,
            lo: b.lo,
            hi: b.hi,
            taps: b.taps.iter().map(|&w| T::from_f64(w)).collect(),
            rows: b
                .rows
                .iter()
                .map(|r| r.iter().map(|&(c, w)| (c, T::from_f64(w))).collect())
                .collect(),
        }
    }

    #[inline]
    fn edge_row(&self, i: usize) -> &[(usize, T)] {
        if i < self.lo {
            &self.rows[i]
        } else {
            &self.rows[self.lo + (i - self.hi)]
        }
    }

    /// Row `i` as `(column, weight)`, interior rows included (at most
    /// [`MAX_ROW`] entries: checked when the axis is built).
    #[inline(always)]
    fn row_into(&self, i: usize, out: &mut RowBuf<T>) {
        out.len = 0;
        if i < self.lo || i >= self.hi {
            for &e in self.edge_row(i).iter().take(MAX_ROW) {
                out.items[out.len] = e;
                out.len += 1;
            }
        } else {
            for (t, &w) in self.taps.iter().enumerate().take(MAX_ROW) {
                out.items[out.len] = (i + t - self.h, w);
                out.len += 1;
            }
        }
    }
}

/// Most entries of one stencil row (`2h + 1 ≤ 7`: the B-spline taps have
/// `h = 1`, the widest SPAI preconditioner `h = 2`).
pub(crate) const MAX_ROW: usize = 7;

/// Planes kept by the separable form's cache (`2h + 2`).
const MAX_CACHE: usize = MAX_ROW + 1;

/// One stencil row on the stack.
#[derive(Clone, Copy)]
pub(crate) struct RowBuf<T> {
    items: [(usize, T); MAX_ROW],
    len: usize,
}

impl<T: Real> RowBuf<T> {
    fn new() -> Self {
        RowBuf {
            items: [(0, T::ZERO); MAX_ROW],
            len: 0,
        }
    }

    fn as_slice(&self) -> &[(usize, T)] {
        &self.items[..self.len]
    }
}

/// `dst = M src` along one contiguous line.
#[inline(always)]
fn filter_line<T: Real>(ax: &AxisT<T>, src: &[T], dst: &mut [T]) {
    let (lo, hi, h) = (ax.lo, ax.hi, ax.h);
    if hi > lo {
        match h {
            1 => {
                let (t0, t1, t2) = (ax.taps[0], ax.taps[1], ax.taps[2]);
                for (o, w) in dst[lo..hi].iter_mut().zip(src[lo - 1..hi + 1].windows(3)) {
                    *o = t0 * w[0] + t1 * w[1] + t2 * w[2];
                }
            }
            2 => {
                let t = [ax.taps[0], ax.taps[1], ax.taps[2], ax.taps[3], ax.taps[4]];
                for (o, w) in dst[lo..hi].iter_mut().zip(src[lo - 2..hi + 2].windows(5)) {
                    *o = t[0] * w[0] + t[1] * w[1] + t[2] * w[2] + t[3] * w[3] + t[4] * w[4];
                }
            }
            _ => {
                for (k, o) in dst[lo..hi].iter_mut().enumerate() {
                    let w = &src[lo + k - h..lo + k + h + 1];
                    *o = w.iter().zip(&ax.taps).map(|(&a, &b)| a * b).sum();
                }
            }
        }
    }
    for i in (0..lo).chain(hi..ax.n) {
        let mut acc = T::ZERO;
        for &(c, w) in ax.edge_row(i) {
            acc += w * src[c];
        }
        dst[i] = acc;
    }
}

/// `dst += w · (M src)` along one contiguous line (the direct form's inner step).
#[inline(always)]
fn filter_line_acc<T: Real>(ax: &AxisT<T>, wgt: T, src: &[T], dst: &mut [T]) {
    let (lo, hi, h) = (ax.lo, ax.hi, ax.h);
    if hi > lo {
        for t in 0..2 * h + 1 {
            let c = wgt * ax.taps[t];
            for (o, &s) in dst[lo..hi].iter_mut().zip(&src[lo + t - h..hi + t - h]) {
                *o += c * s;
            }
        }
    }
    for i in (0..lo).chain(hi..ax.n) {
        let mut acc = T::ZERO;
        for &(c, w) in ax.edge_row(i) {
            acc += w * src[c];
        }
        dst[i] += wgt * acc;
    }
}

/// `y += a · x` on slices.
#[inline(always)]
fn axpy<T: Real>(a: T, x: &[T], y: &mut [T]) {
    for (yi, &xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

/// `y = a · x` on slices.
#[inline(always)]
fn scale<T: Real>(a: T, x: &[T], y: &mut [T]) {
    for (yi, &xi) in y.iter_mut().zip(x) {
        *yi = a * xi;
    }
}

/// `dst = Σ w · src(key)` over `(key, w)` in `terms`; 3- and 5-term sums run fused
/// (one pass), others as scale + axpy passes.
#[inline(always)]
fn combine<'a, T: Real + 'a>(terms: &[(usize, T)], src: impl Fn(usize) -> &'a [T], dst: &mut [T]) {
    match terms {
        [(a, wa), (b, wb), (c, wc)] => {
            let (sa, sb, sc) = (src(*a), src(*b), src(*c));
            for (((d, &x), &y), &z) in dst.iter_mut().zip(sa).zip(sb).zip(sc) {
                *d = *wa * x + *wb * y + *wc * z;
            }
        }
        [(a, wa), (b, wb), (c, wc), (e, we), (f, wf)] => {
            let (sa, sb, sc, se, sf) = (src(*a), src(*b), src(*c), src(*e), src(*f));
            for (((((d, &x), &y), &z), &u), &v) in
                dst.iter_mut().zip(sa).zip(sb).zip(sc).zip(se).zip(sf)
            {
                *d = *wa * x + *wb * y + *wc * z + *we * u + *wf * v;
            }
        }
        [] => dst.fill(T::ZERO),
        [(a, wa), rest @ ..] => {
            scale(*wa, src(*a), dst);
            for &(k, w) in rest {
                axpy(w, src(k), dst);
            }
        }
    }
}

/// Per-task cache of planes filtered along axes 2 and 1, keyed by plane index,
/// in scratch borrowed from the workspace (`cap + 1` planes).
struct PlaneCache<'a, T> {
    tags: [Option<usize>; MAX_CACHE],
    stamp: [u64; MAX_CACHE],
    cap: usize,
    plane: usize,
    planes: &'a mut [T],
    tmp: &'a mut [T],
    clock: u64,
}

impl<'a, T: Real> PlaneCache<'a, T> {
    /// `cap ≤ MAX_CACHE` planes of `plane` values, and one temporary plane,
    /// from `scratch` (at least `(cap + 1) · plane` values).
    fn new(cap: usize, plane: usize, scratch: &'a mut [T]) -> Self {
        let cap = cap.min(MAX_CACHE);
        let (planes, rest) = scratch.split_at_mut(cap * plane);
        PlaneCache {
            tags: [None; MAX_CACHE],
            stamp: [0; MAX_CACHE],
            cap,
            plane,
            planes,
            tmp: &mut rest[..plane],
            clock: 0,
        }
    }

    /// Cached plane `s`.
    fn plane(&self, s: usize) -> &[T] {
        &self.planes[s * self.plane..(s + 1) * self.plane]
    }

    /// Index of the cached `(M₁ ⊗ M₂)`-filtered plane `c` of `x`, computing it on a miss.
    #[inline(always)]
    fn get(
        &mut self,
        c: usize,
        x: &[T],
        a1: &AxisT<T>,
        a2: &AxisT<T>,
        rows: &mut RowBuf<T>,
    ) -> usize {
        self.clock += 1;
        if let Some(s) = self.tags[..self.cap].iter().position(|&t| t == Some(c)) {
            self.stamp[s] = self.clock;
            return s;
        }
        let s = (0..self.cap).min_by_key(|&s| self.stamp[s]).unwrap_or(0);
        let (n1, n2) = (a1.n, a2.n);
        let src = &x[c * n1 * n2..(c + 1) * n1 * n2];
        for (sr, tr) in src.chunks_exact(n2).zip(self.tmp.chunks_exact_mut(n2)) {
            filter_line(a2, sr, tr);
        }
        let dst = &mut self.planes[s * self.plane..(s + 1) * self.plane];
        let tmp = &*self.tmp;
        for (j, dr) in dst.chunks_exact_mut(n2).enumerate() {
            a1.row_into(j, rows);
            combine(rows.as_slice(), |cj| &tmp[cj * n2..(cj + 1) * n2], dr);
        }
        self.tags[s] = Some(c);
        self.stamp[s] = self.clock;
        s
    }
}

/// Scratch of one task of the separable form: `2h + 3` planes.
pub(crate) fn separable_scratch_len<T>(axes: &[AxisT<T>; 3]) -> usize {
    (2 * axes[0].h + 3) * axes[1].n * axes[2].n
}

/// Tasks an application is split into.
pub(crate) fn plane_tasks(n0: usize, plane: usize, par: Par) -> usize {
    if n0 * plane < 1 << 14 {
        1
    } else {
        par.degree().clamp(1, crate::workspace::MAX_WORKERS).min(n0)
    }
}

/// Splits `0..n0` planes into contiguous ranges, one per scratch buffer, and
/// runs `f(first_plane, out_chunk, scratch)`.
fn for_plane_blocks<T: Real>(
    y: &mut [T],
    n0: usize,
    plane: usize,
    bufs: &mut [&mut [T]],
    f: impl Fn(usize, &mut [T], &mut [T]) + Sync,
) {
    let tasks = bufs.len().min(n0).max(1);
    let per = n0.div_ceil(tasks).max(1);
    if tasks <= 1 {
        match bufs.first_mut() {
            Some(b) => f(0, y, b),
            None => f(0, y, &mut []),
        }
    } else {
        y.par_chunks_mut(per * plane)
            .zip(bufs.par_iter_mut())
            .enumerate()
            .for_each(|(t, (chunk, buf))| f(t * per, chunk, buf));
    }
}

/// One block of output planes, run through [`Kernels::dispatch`] so that the
/// block's loops are compiled for the operator's ISA (same arithmetic on every
/// ISA: no `mul_add`, and Rust does not contract `a * b + c`).
/// `DIRECT` picks the form at compile time, so each body is inlined into the
/// `#[target_feature]` instance.
struct Block<'a, T: Real, const DIRECT: bool> {
    axes: &'a [AxisT<T>; 3],
    x: &'a [T],
    i0: usize,
    out: &'a mut [T],
    scratch: &'a mut [T],
}

impl<T: Real, const DIRECT: bool> WithSimd for Block<'_, T, DIRECT> {
    type Output = ();
    #[inline(always)]
    fn run<V: Vf64>(self, _simd: Simd<V>) {
        if DIRECT {
            direct_block(self.axes, self.x, self.i0, self.out)
        } else {
            separable_block(self.axes, self.x, self.i0, self.out, self.scratch)
        }
    }
}

/// `y = (M₀ ⊗ M₁ ⊗ M₂) x` in the direct `(2h+1)³`-point form (`DIRECT`) or
/// the separable form, one block of planes per scratch buffer.
pub(crate) fn apply<T: Real, const DIRECT: bool>(
    axes: &[AxisT<T>; 3],
    x: &[T],
    y: &mut [T],
    bufs: &mut [&mut [T]],
    isa: Kernels,
) {
    let plane = axes[1].n * axes[2].n;
    for_plane_blocks(y, axes[0].n, plane, bufs, |i0, out, scratch| {
        isa.dispatch(Block::<T, DIRECT> {
            axes,
            x,
            i0,
            out,
            scratch,
        })
    });
}

/// Output planes `i0..` (as many as `out` holds) of the separable form.
#[inline(always)]
fn separable_block<T: Real>(
    axes: &[AxisT<T>; 3],
    x: &[T],
    i0: usize,
    out: &mut [T],
    scratch: &mut [T],
) {
    let [a0, a1, a2] = axes;
    let plane = a1.n * a2.n;
    let mut cache = PlaneCache::new(2 * a0.h + 2, plane, scratch);
    let mut rows = RowBuf::new();
    let mut r0 = RowBuf::new();
    for (di, op) in out.chunks_exact_mut(plane).enumerate() {
        a0.row_into(i0 + di, &mut r0);
        // Make sure every plane of this row is cached before borrowing them together.
        // (A row has at most 2h+1 <= 5 entries; the cache holds 2h+2 planes, so fetching
        // them in turn never evicts one fetched for this row.)
        let mut wrow = [(0usize, T::ZERO); MAX_ROW];
        for (k, &(c, w)) in r0.as_slice().iter().enumerate() {
            wrow[k] = (cache.get(c, x, a1, a2, &mut rows), w);
        }
        let cache = &cache;
        combine(&wrow[..r0.len], |s| cache.plane(s), op);
    }
}

/// Output planes `i0..` of the direct form.
#[inline(always)]
fn direct_block<T: Real>(axes: &[AxisT<T>; 3], x: &[T], i0: usize, out: &mut [T]) {
    let [a0, a1, a2] = axes;
    let (n1, n2) = (a1.n, a2.n);
    let plane = n1 * n2;
    let mut r0 = RowBuf::new();
    let mut r1 = RowBuf::new();
    for (di, op) in out.chunks_exact_mut(plane).enumerate() {
        a0.row_into(i0 + di, &mut r0);
        for (j, orow) in op.chunks_exact_mut(n2).enumerate() {
            a1.row_into(j, &mut r1);
            orow.fill(T::ZERO);
            for &(ci, wi) in r0.as_slice() {
                for &(cj, wj) in r1.as_slice() {
                    let src = &x[(ci * n1 + cj) * n2..(ci * n1 + cj + 1) * n2];
                    filter_line_acc(a2, wi * wj, src, orow);
                }
            }
        }
    }
}

/// `y = (M₀ ⊗ M₁ ⊗ M₂) x` by the scalar triple loop over all stencil points: the oracle.
pub(crate) fn apply_reference<T: Real>(axes: &[AxisT<T>; 3], x: &[T], y: &mut [T]) {
    let [a0, a1, a2] = axes;
    let (n0, n1, n2) = (a0.n, a1.n, a2.n);
    let (mut r0, mut r1, mut r2) = (RowBuf::new(), RowBuf::new(), RowBuf::new());
    for i in 0..n0 {
        a0.row_into(i, &mut r0);
        for j in 0..n1 {
            a1.row_into(j, &mut r1);
            for k in 0..n2 {
                a2.row_into(k, &mut r2);
                let mut acc = T::ZERO;
                for &(ci, wi) in r0.as_slice() {
                    for &(cj, wj) in r1.as_slice() {
                        for &(ck, wk) in r2.as_slice() {
                            acc += wi * wj * wk * x[(ci * n1 + cj) * n2 + ck];
                        }
                    }
                }
                y[(i * n1 + j) * n2 + k] = acc;
            }
        }
    }
}
