//! The B-spline prefilter of any order 2–5 along any axis of an array of
//! any dimension: scipy's `spline_filter1d` / `spline_filter`.
//!
//! **Math** (Unser, Aldroubi & Eden 1991; scipy's `ni_splines.c`). The
//! samples of a B-spline of order `k` with coefficients `c` are `b * c`,
//! where `b` is the symmetric kernel of the B-spline's values at the
//! integers. Its inverse factors into `k / 2` pairs of first-order
//! recursive filters with poles `z` (`√3 − 2` for `k = 3`, two poles for
//! `k = 4, 5`), times the gain `Π (1 − z)(1 − 1/z)`. Per pole, a causal
//! sweep `c⁺ᵢ = cᵢ + z c⁺ᵢ₋₁` and an anticausal sweep
//! `c⁻ᵢ = z (c⁻ᵢ₊₁ − c⁺ᵢ)`, started from initial values that encode the
//! boundary ([`Init`]): scipy's formulas, written here as weighted sums over
//! the line (`Weights`), exact for short lines and truncated once
//! `|z|^j` falls below `1e-18` (30 terms at `k = 3`, 48 at `k = 5`), far
//! below the rounding of the sums themselves. A line of one sample is left
//! as it is (scipy does not filter it, gain included); orders 0 and 1 are
//! the identity.
//!
//! **Layout.** Lines are filtered many at a time, in *lanes*: a block of
//! `w` lines stored as rows of `w` contiguous values, so that every step of
//! a sweep is one pass over a contiguous row (vectorised for the CPU's
//! instruction set through `Kernels::dispatch`). An axis with at least 8
//! contiguous values behind it already has its lines in lanes; the last
//! axis (and one followed by fewer than 8 values) gathers up to 32 lines
//! into a transposed buffer, filters them and scatters them back.
//!
//! [`spline_filter`] makes two passes over memory, as the uniform 3D
//! solver does ([`crate::grid3`]): the leading axis, in blocks of lanes of
//! ~256 KiB read from the input, filtered in a per-task buffer and written
//! to the output; then every other axis, chunk by chunk of consecutive
//! sub-arrays (~256 KiB, at least one), in place while the chunk is in
//! cache. Scratch per task is one block (`n₀` rows of up to 4096 lanes,
//! ~256 KiB) or one gather buffer (`n × 32`), whichever is larger.

use super::mode::{Init, Mode};
use crate::isa::{Kernels, Simd, Vf64, WithSimd};
use crate::workspace::{ScratchReq, Workspace};
use crate::{FitError, Par, Real};
use ndarray::{ArrayD, ArrayView2, ArrayViewD, ArrayViewMut2, ArrayViewMutD, Axis, IxDyn, Zip};
use rayon::prelude::*;

/// Elements of one block of lanes (leading-axis pass) or one chunk of
/// sub-arrays (in-place passes): 256 KiB of f64.
const BLOCK_ELEMS: usize = 32 * 1024;

/// Most lines gathered into one transposed buffer.
const GATHER: usize = 32;

/// Most lines of the contiguous last axis transposed into one buffer.
const MAX_TRANSPOSED: usize = 256;

/// Axes followed by at least this many contiguous values are filtered with
/// those values as lanes; others are gathered.
const MIN_LANES: usize = 8;

/// Most lanes per block of the leading-axis pass.
const MAX_LANES: usize = 4096;

/// Arrays below this many values are filtered on the calling thread.
const PAR_MIN: usize = 1 << 15;

/// Terms of the initial-value sums below this magnitude are dropped.
const TINY: f64 = 1e-18;

/// The poles of the B-spline prefilter of `order` (scipy's values).
pub(crate) fn poles(order: usize) -> &'static [f64] {
    match order {
        // √8 − 3
        2 => &[-0.171_572_875_253_809_9],
        // √3 − 2
        3 => &[-0.267_949_192_431_122_7],
        4 => &[-0.361_341_225_900_220_2, -0.013_725_429_297_339_121],
        5 => &[-0.430_575_347_099_973_8, -0.043_096_288_203_264_65],
        _ => &[],
    }
}

/// A weighted sum over the rows of a line: `Σ w · row[i]`.
#[derive(Debug, Clone, Default)]
struct Weights(Vec<(usize, f64)>);

impl Weights {
    /// The terms `(i, w(i))` with `|w(i)| > TINY`, for `i` among the first
    /// and the last `terms` of `0..n` (every initial sum is a combination of
    /// `z^i` and `z^(m − i)` terms with `m ≥ n − 1`, so the others vanish).
    fn collect(n: usize, terms: usize, w: impl Fn(usize) -> f64) -> Self {
        let head = n.min(terms);
        let tail = head.max(n.saturating_sub(terms));
        Weights(
            (0..head)
                .chain(tail..n)
                .map(|i| (i, w(i)))
                .filter(|&(_, v)| v.abs() > TINY)
                .collect(),
        )
    }

    fn scaled(mut self, s: f64) -> Self {
        self.0.iter_mut().for_each(|t| t.1 *= s);
        self
    }
}

/// One pole's sweeps on lines of one length.
#[derive(Debug, Clone)]
struct Pole {
    z: f64,
    /// The causal initial value `c⁺₀` from the line.
    causal: Weights,
    /// The anticausal initial value `c⁻ₙ₋₁` from the causal output.
    anticausal: Weights,
}

/// The prefilter of lines of one length `n ≥ 2`: the gain and the sweeps
/// of each pole (the gain folded into the first pole's causal sweep).
#[derive(Debug, Clone)]
pub(crate) struct LineFilter {
    n: usize,
    gain: f64,
    poles: Vec<Pole>,
}

impl LineFilter {
    /// The filter of `order` on lines of `n` samples with `init`, or `None`
    /// where it is the identity (`order < 2` or `n < 2`).
    pub(crate) fn new(order: usize, n: usize, init: Init) -> Option<Self> {
        let zs = poles(order);
        if zs.is_empty() || n < 2 {
            return None;
        }
        let gain: f64 = zs.iter().map(|&z| (1.0 - z) * (1.0 - 1.0 / z)).product();
        let poles =
            zs.iter()
                .enumerate()
                .map(|(p, &z)| {
                    // Powers beyond `terms` are below TINY (and 0 in f64 long before i32 overflows).
                    let terms = (TINY.ln() / z.abs().ln()).ceil() as usize + 2;
                    let pw = |k: usize| if k > 4 * terms { 0.0 } else { z.powi(k as i32) };
                    let (causal, anticausal) = match init {
                        // _init_causal_mirror / _init_anticausal_mirror
                        Init::Mirror => {
                            let den = 1.0 - pw(2 * n - 2);
                            let c = Weights::collect(n, terms, |j| {
                                let mirrored = if j >= 1 && j + 2 <= n {
                                    pw(2 * n - 2 - j)
                                } else {
                                    0.0
                                };
                                (pw(j) + mirrored) / den
                            });
                            let q = z / (z * z - 1.0);
                            (c, Weights(vec![(n - 2, z * q), (n - 1, q)]))
                        }
                        // _init_causal_reflect / _init_anticausal_reflect. scipy's
                        // loop adds `z^(n-1) (c[n-1] + z^n c[0])` last, reading the
                        // partly summed c[0]: its sum is `(1 + z^(2n-1)) A + z^(n-1)
                        // c[n-1]`, with `A` the other terms, where the half-sample
                        // extension has `A + z^(2n-1) c[0] + z^(n-1) c[n-1]`. The
                        // two differ by O(z^(2n)): visible on short lines only
                        // (3e-7 at n = 9, order 5). We follow scipy.
                        Init::Reflect => {
                            let s = z / (1.0 - pw(2 * n));
                            let scale = s * (1.0 + pw(2 * n - 1));
                            let c = Weights::collect(n, terms, |j| {
                                let a = if j == n - 1 {
                                    pw(n)
                                } else if j == 0 {
                                    1.0
                                } else {
                                    pw(j) + pw(2 * n - 1 - j)
                                };
                                let last = if j == n - 1 { s * pw(n - 1) } else { 0.0 };
                                scale * a + last + if j == 0 { 1.0 } else { 0.0 }
                            });
                            (c, Weights(vec![(n - 1, z / (z - 1.0))]))
                        }
                        // _init_causal_wrap / _init_anticausal_wrap
                        Init::Wrap => {
                            let zn = pw(n);
                            let c = Weights::collect(
                                n,
                                terms,
                                |j| if j == 0 { 1.0 } else { pw(n - j) } / (1.0 - zn),
                            );
                            let s = z / (zn - 1.0);
                            let a = Weights::collect(n, terms, |j| {
                                if j == n - 1 { s } else { s * pw(j + 1) }
                            });
                            (c, a)
                        }
                    };
                    let causal = if p == 0 { causal.scaled(gain) } else { causal };
                    Pole {
                        z,
                        causal,
                        anticausal,
                    }
                })
                .collect();
        Some(LineFilter { n, gain, poles })
    }

    /// Line length.
    pub(crate) fn len(&self) -> usize {
        self.n
    }
}

/// Filters the `w` lines (lanes) of `data`: line `l` is
/// `data[l], data[stride + l], …, data[(n−1)·stride + l]`; `acc` holds `w`
/// values of scratch. Runs through [`Kernels::dispatch`], so the loops are
/// compiled (and auto-vectorised) for the chosen instruction set; there is
/// no `mul_add`, so results are the same on every instruction set.
///
/// # Panics
/// If `data` is shorter than `(n − 1)·stride + w` or `acc` than `w`
/// (callers size them).
pub(crate) fn filter_lanes(
    kernels: Kernels,
    f: &LineFilter,
    data: &mut [f64],
    stride: usize,
    w: usize,
    acc: &mut [f64],
) {
    struct Job<'a> {
        f: &'a LineFilter,
        data: &'a mut [f64],
        stride: usize,
        w: usize,
        acc: &'a mut [f64],
    }
    impl WithSimd for Job<'_> {
        type Output = ();
        #[inline(always)]
        fn run<V: Vf64>(self, simd: Simd<V>) {
            filter_lanes_generic(simd, self.f, self.data, self.stride, self.w, self.acc)
        }
    }
    kernels.dispatch(Job {
        f,
        data,
        stride,
        w,
        acc,
    })
}

#[inline(always)]
fn filter_lanes_generic<V: Vf64>(
    simd: Simd<V>,
    f: &LineFilter,
    data: &mut [f64],
    stride: usize,
    w: usize,
    acc: &mut [f64],
) {
    let n = f.n;
    let acc = &mut acc[..w];
    let row = |i: usize| i * stride..i * stride + w;
    // Weighted sum of rows into `acc`.
    let sum_into = |acc: &mut [f64], data: &[f64], wts: &Weights| {
        acc.fill(0.0);
        for &(i, c) in &wts.0 {
            for (a, &v) in acc.iter_mut().zip(&data[row(i)]) {
                *a += c * v;
            }
        }
    };
    for (p, pole) in f.poles.iter().enumerate() {
        let z = pole.z;
        sum_into(acc, data, &pole.causal);
        data[row(0)].copy_from_slice(acc);
        // The first pole's causal sweep carries the gain; `1 · y` is exact.
        let g = if p == 0 { f.gain } else { 1.0 };
        for i in 1..n {
            let (prev, cur) = data.split_at_mut(i * stride);
            causal_row(simd, g, &mut cur[..w], z, &prev[row(i - 1)]);
        }
        sum_into(acc, data, &pole.anticausal);
        data[row(n - 1)].copy_from_slice(acc);
        for i in (0..n - 1).rev() {
            let (cur, next) = data.split_at_mut((i + 1) * stride);
            anticausal_row(simd, z, &mut cur[row(i)], &next[..w]);
        }
    }
}

/// One row of a causal sweep: `y = g·y + z·prev`, lane by lane (two
/// products and a sum, no fused multiply-add: the same rounding on every
/// instruction set).
#[inline(always)]
fn causal_row<V: Vf64>(_simd: Simd<V>, g: f64, y: &mut [f64], z: f64, prev: &[f64]) {
    let mut yc = y.chunks_exact_mut(V::W);
    let mut pc = prev.chunks_exact(V::W);
    // SAFETY: the `Simd<V>` token proves V's instructions are available.
    let (gv, zv) = unsafe { (V::splat(g), V::splat(z)) };
    for (yv, pv) in (&mut yc).zip(&mut pc) {
        // SAFETY: V's instructions are available (token); both chunks hold
        // exactly `V::W` values.
        unsafe {
            let r = gv
                .mul(V::load(yv.as_ptr()))
                .add(zv.mul(V::load(pv.as_ptr())));
            r.store(yv.as_mut_ptr());
        }
    }
    for (y, &p) in yc.into_remainder().iter_mut().zip(pc.remainder()) {
        *y = g * *y + z * p;
    }
}

/// One row of an anticausal sweep: `c = z·(next − c)`, lane by lane.
#[inline(always)]
fn anticausal_row<V: Vf64>(_simd: Simd<V>, z: f64, c: &mut [f64], next: &[f64]) {
    let mut cc = c.chunks_exact_mut(V::W);
    let mut nc = next.chunks_exact(V::W);
    // SAFETY: the `Simd<V>` token proves V's instructions are available.
    let zv = unsafe { V::splat(z) };
    for (cv, nv) in (&mut cc).zip(&mut nc) {
        // SAFETY: V's instructions are available (token); both chunks hold
        // exactly `V::W` values.
        unsafe {
            let r = zv.mul(V::load(nv.as_ptr()).sub(V::load(cv.as_ptr())));
            r.store(cv.as_mut_ptr());
        }
    }
    for (c, &x) in cc.into_remainder().iter_mut().zip(nc.remainder()) {
        *c = z * (x - *c);
    }
}

/// Lanes per block of the leading-axis pass over `n` rows of `m` lanes.
fn leading_lanes(n: usize, m: usize) -> usize {
    (BLOCK_ELEMS / n.max(1))
        .clamp(MIN_LANES, MAX_LANES)
        .min(m)
        .max(1)
}

/// Lines gathered at once on an axis of `n` samples (1: filtered in place, alone).
fn gather_width(n: usize) -> usize {
    (BLOCK_ELEMS / n.max(1)).clamp(1, GATHER)
}

/// Lines transposed at once on the contiguous last axis of `n` samples:
/// wider than a gather, since the sweeps' recurrences run row after row
/// and only the lanes of one row hide their latency.
fn transpose_width(n: usize) -> usize {
    (BLOCK_ELEMS / n.max(1)).clamp(1, MAX_TRANSPOSED)
}

/// Scratch values one task needs for the in-place passes over an axis of
/// `n` samples followed by `inner` values.
fn inplace_scratch(n: usize, inner: usize) -> usize {
    if inner >= MIN_LANES {
        MAX_LANES.min(inner)
    } else if inner == 1 && gather_width(n) > 1 {
        (n + 1) * transpose_width(n)
    } else {
        let g = gather_width(n);
        if g == 1 { 1 } else { (n + 1) * g }
    }
}

/// Filters, in place, every line along the middle axis of `chunk`, a
/// C-ordered `(outer, n, inner)` array. `scratch` holds
/// [`inplace_scratch`]`(n, inner)` values.
fn pass_inplace(
    kernels: Kernels,
    f: &LineFilter,
    chunk: &mut [f64],
    inner: usize,
    scratch: &mut [f64],
) {
    let n = f.len();
    let slab = n * inner;
    if inner >= MIN_LANES {
        let acc = &mut scratch[..MAX_LANES.min(inner)];
        for s in chunk.chunks_exact_mut(slab) {
            let mut l0 = 0;
            while l0 < inner {
                let w = MAX_LANES.min(inner - l0);
                filter_lanes(kernels, f, &mut s[l0..], inner, w, acc);
                l0 += w;
            }
        }
        return;
    }
    let g = gather_width(n);
    if g == 1 {
        // Long lines, alone: in place (`inner` of them per slab, stride `inner`).
        let acc = &mut scratch[..1];
        for s in chunk.chunks_exact_mut(slab) {
            for l in 0..inner {
                filter_lanes(kernels, f, &mut s[l..], inner, 1, acc);
            }
        }
        return;
    }
    // Gather `g` lines `q = o·inner + r` (start `o·slab + r`, stride `inner`)
    // into `buf: [n][g]`, filter them as lanes, scatter them back.
    let lines = chunk.len() / n;
    if inner == 1 {
        // The lines are the rows of the `lines × n` matrix `chunk`: gather
        // and scatter are transposes of `w × n` blocks (vectorised).
        let g = transpose_width(n);
        let (buf, acc) = scratch[..(n + 1) * g].split_at_mut(n * g);
        let mut q0 = 0;
        while q0 < lines {
            let w = g.min(lines - q0);
            let block = &mut chunk[q0 * n..(q0 + w) * n];
            let buf = &mut buf[..n * w];
            // SAFETY: `block` and `buf` both hold exactly `w·n` values and
            // are distinct slices (the chunk and the task's scratch); the
            // `w × n` block of row stride `n` is read and the `n × w` block of
            // row stride `w` written, then the reverse.
            unsafe {
                kernels.transpose_raw(block.as_ptr(), n, buf.as_mut_ptr(), w, w, n);
            }
            filter_lanes(kernels, f, buf, w, w, acc);
            // SAFETY: as above, in the other direction.
            unsafe {
                kernels.transpose_raw(buf.as_ptr(), w, block.as_mut_ptr(), n, n, w);
            }
            q0 += w;
        }
        return;
    }
    let (buf, acc) = scratch[..(n + 1) * g].split_at_mut(n * g);
    let mut starts = [0usize; GATHER];
    let mut q0 = 0;
    while q0 < lines {
        let w = g.min(lines - q0);
        for (l, s) in starts[..w].iter_mut().enumerate() {
            let q = q0 + l;
            *s = (q / inner) * slab + q % inner;
        }
        let buf = &mut buf[..n * w];
        for (i, r) in buf.chunks_exact_mut(w).enumerate() {
            for (v, &s) in r.iter_mut().zip(&starts[..w]) {
                *v = chunk[s + i * inner];
            }
        }
        filter_lanes(kernels, f, buf, w, w, acc);
        for (i, r) in buf.chunks_exact(w).enumerate() {
            for (&v, &s) in r.iter().zip(&starts[..w]) {
                chunk[s + i * inner] = v;
            }
        }
        q0 += w;
    }
}

/// Where the leading-axis pass reads its lines.
enum Source<'a, T> {
    /// A C-ordered array of the output's shape.
    Slice(&'a [T]),
    /// The output itself (in place).
    Output,
}

/// Filters along axis 0 of the C-ordered `(n, m)` array `out` (`n = f.len()`),
/// reading from `src`, in blocks of lanes split across `tasks` tasks.
/// Scratch per task: [`leading_scratch`]`(n, m)` values from `bufs`.
fn pass_leading<T: Real>(
    kernels: Kernels,
    f: &LineFilter,
    src: Source<'_, T>,
    out: &mut [f64],
    m: usize,
    bufs: &mut [&mut [f64]],
) {
    let n = f.len();
    if m < MIN_LANES {
        // Few lines: copy, then filter them in place on this thread.
        if let Source::Slice(s) = src {
            convert(s, out);
        }
        filter_lanes(kernels, f, out, m, m, &mut bufs[0][..m]);
        return;
    }
    let lanes = leading_lanes(n, m);
    let Ok(mut out2) = ArrayViewMut2::from_shape((n, m), out) else {
        unreachable!("the caller passes n·m values")
    };
    let mut blocks: Vec<ArrayViewMut2<'_, f64>> =
        out2.axis_chunks_iter_mut(Axis(1), lanes).collect();
    let tasks = bufs.len().min(blocks.len()).max(1);
    let per = blocks.len().div_ceil(tasks);
    let src = match src {
        Source::Slice(s) => Some(
            ArrayView2::from_shape((n, m), s)
                .unwrap_or_else(|_| unreachable!("same shape as the output")),
        ),
        Source::Output => None,
    };
    let job = |t: usize, group: &mut [ArrayViewMut2<'_, f64>], buf: &mut [f64]| {
        let (tmp, acc) = buf[..(n + 1) * lanes].split_at_mut(n * lanes);
        for (k, block) in group.iter_mut().enumerate() {
            let m0 = (t * per + k) * lanes;
            let w = block.ncols();
            let tmp = &mut tmp[..n * w];
            // Rows of a block of columns are contiguous: copied as slices.
            match &src {
                Some(s) => {
                    let s = s.slice(ndarray::s![.., m0..m0 + w]);
                    for (r, row) in tmp.chunks_exact_mut(w).zip(s.rows()) {
                        match row.as_slice() {
                            Some(row) => convert_run(row, r),
                            None => r.iter_mut().zip(row.iter()).for_each(|(d, &v)| {
                                *d = v.to_f64();
                            }),
                        }
                    }
                }
                None => {
                    for (r, row) in tmp.chunks_exact_mut(w).zip(block.rows()) {
                        match row.as_slice() {
                            Some(row) => r.copy_from_slice(row),
                            None => r.iter_mut().zip(row.iter()).for_each(|(d, &v)| *d = v),
                        }
                    }
                }
            }
            filter_lanes(kernels, f, tmp, w, w, acc);
            for (r, mut row) in tmp.chunks_exact(w).zip(block.rows_mut()) {
                match row.as_slice_mut() {
                    Some(row) => row.copy_from_slice(r),
                    None => row.iter_mut().zip(r).for_each(|(d, &v)| *d = v),
                }
            }
        }
    };
    if tasks <= 1 {
        job(0, &mut blocks, &mut bufs[0][..]);
    } else {
        blocks
            .par_chunks_mut(per)
            .zip(bufs.par_iter_mut())
            .enumerate()
            .for_each(|(t, (group, buf))| job(t, group, &mut buf[..]));
    }
}

/// Scratch values one task needs for [`pass_leading`] over `(n, m)`.
fn leading_scratch(n: usize, m: usize) -> usize {
    if m < MIN_LANES {
        m.max(1)
    } else {
        (n + 1) * leading_lanes(n, m)
    }
}

/// `out = src` converted to f64 (same length), on this thread.
#[inline]
fn convert_run<T: Real>(src: &[T], out: &mut [f64]) {
    for (d, &v) in out.iter_mut().zip(src) {
        *d = v.to_f64();
    }
}

/// `out = src` converted to f64 (same length), in parallel for large arrays.
fn convert<T: Real>(src: &[T], out: &mut [f64]) {
    let copy = |(o, s): (&mut [f64], &[T])| convert_run(s, o);
    if out.len() >= PAR_MIN * 4 {
        out.par_chunks_mut(PAR_MIN)
            .zip(src.par_chunks(PAR_MIN))
            .for_each(copy);
    } else {
        copy((out, src));
    }
}

/// Checks `order` and returns the shape of `input`.
fn check_order(order: usize) -> Result<(), FitError> {
    if order > 5 {
        return Err(FitError::InvalidParameter {
            name: "order",
            reason: format!("spline order {order} not supported (0 to 5)"),
        });
    }
    Ok(())
}

/// Checks that `out` has `shape`.
fn check_out(shape: &[usize], out: &ArrayViewMutD<'_, f64>) -> Result<(), FitError> {
    if out.shape() != shape {
        return Err(FitError::InvalidParameter {
            name: "out",
            reason: format!(
                "shape {:?}, expected the input's shape {shape:?}",
                out.shape()
            ),
        });
    }
    Ok(())
}

/// Tasks for an array of `len` values.
fn tasks_for(par: Par, len: usize) -> usize {
    if len >= PAR_MIN {
        par.degree().clamp(1, crate::workspace::MAX_WORKERS)
    } else {
        1
    }
}

/// The axes of `shape` that are filtered (length ≥ 2), with the products
/// of the lengths before and after each: `(outer, n, inner)`.
fn split_at(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    let outer = shape[..axis].iter().product();
    let inner = shape[axis + 1..].iter().product();
    (outer, shape[axis], inner)
}

/// Runs `body` on a C-ordered f64 output of `input`'s shape: `out` itself
/// when it is in standard layout, else a temporary copied into it after.
fn with_standard_out(
    out: &mut ArrayViewMutD<'_, f64>,
    body: impl FnOnce(&mut [f64]) -> Result<(), FitError>,
) -> Result<(), FitError> {
    if let Some(s) = out.as_slice_mut() {
        return body(s);
    }
    let mut tmp = ArrayD::<f64>::zeros(IxDyn(out.shape()));
    body(
        tmp.as_slice_mut()
            .unwrap_or_else(|| unreachable!("a new array is contiguous")),
    )?;
    out.assign(&tmp);
    Ok(())
}

/// `src` as a C-ordered slice, if it is one.
fn standard_slice<'a, T: Real>(input: &'a ArrayViewD<'_, T>) -> Option<&'a [T]> {
    if input.is_standard_layout() {
        input.as_slice()
    } else {
        None
    }
}

/// Copies `input` (any layout) into the C-ordered `out`.
pub(crate) fn copy_any<T: Real>(input: &ArrayViewD<'_, T>, out: &mut [f64]) {
    match standard_slice(input) {
        Some(s) => convert(s, out),
        None => {
            let Ok(mut o) = ArrayViewMutD::from_shape(IxDyn(input.shape()), out) else {
                unreachable!("the caller sizes `out` from the input's shape")
            };
            Zip::from(&mut o)
                .and(input)
                .for_each(|d, &v| *d = v.to_f64());
        }
    }
}

/// One-dimensional B-spline prefilter along `axis`: scipy's
/// `ndimage.spline_filter1d(input, order, axis, output=np.float64, mode)`.
///
/// `input` has any dimension and memory layout (f64 or f32); the result is
/// a new C-ordered f64 array of the same shape. Orders 0 and 1 return the
/// input unchanged; orders 2–5 run the recursive filter with scipy's poles
/// and `mode`'s boundary initialisation (see [`Mode`]). NaN and infinite
/// samples propagate along their lines as in scipy; an empty array gives
/// an empty result.
///
/// # Errors
/// [`FitError::InvalidParameter`] for `order > 5` or `axis >= input.ndim()`.
///
/// # Example
/// ```
/// use bsfit::ndimage::{spline_filter1d, Mode};
/// let f = ndarray::Array2::<f64>::from_elem((4, 6), 2.5).into_dyn();
/// let c = spline_filter1d(f.view(), 3, 1, Mode::Mirror).unwrap();
/// // Constants are reproduced: the B-spline's weights sum to 1.
/// assert!(c.iter().all(|&v| (v - 2.5).abs() < 1e-12));
/// ```
pub fn spline_filter1d<T: Real>(
    input: ArrayViewD<'_, T>,
    order: usize,
    axis: usize,
    mode: Mode,
) -> Result<ArrayD<f64>, FitError> {
    let mut out = new_output(input.shape());
    spline_filter1d_into(input, order, axis, mode, out.view_mut(), Par::auto())?;
    Ok(out)
}

/// A new C-ordered f64 array of `shape` (huge-page advice from 4 MiB on).
fn new_output(shape: &[usize]) -> ArrayD<f64> {
    let len = shape.iter().product();
    ArrayD::from_shape_vec(IxDyn(shape), crate::recycle::zeroed::<f64>(len))
        .unwrap_or_else(|_| ArrayD::zeros(IxDyn(shape)))
}

/// [`spline_filter1d`] into `out` (the input's shape, any layout; C order
/// is written directly), with explicit parallelism.
///
/// # Errors
/// As [`spline_filter1d`], and [`FitError::InvalidParameter`] if `out` has
/// another shape.
pub fn spline_filter1d_into<T: Real>(
    input: ArrayViewD<'_, T>,
    order: usize,
    axis: usize,
    mode: Mode,
    mut out: ArrayViewMutD<'_, f64>,
    par: Par,
) -> Result<(), FitError> {
    check_order(order)?;
    if axis >= input.ndim() {
        return Err(FitError::InvalidParameter {
            name: "axis",
            reason: format!(
                "axis {axis} is out of bounds for an array of dimension {}",
                input.ndim()
            ),
        });
    }
    let shape = input.shape().to_vec();
    check_out(&shape, &out)?;
    with_standard_out(&mut out, |out| {
        let (outer, n, inner) = split_at(&shape, axis);
        let Some(f) = LineFilter::new(order, n, mode.filter_init()) else {
            copy_any(&input, out);
            return Ok(());
        };
        if out.is_empty() {
            return Ok(());
        }
        let kernels = Kernels::detect();
        let tasks = tasks_for(par, out.len());
        let mut ws = crate::recycle::take_workspace();
        if outer == 1 {
            let per = leading_scratch(n, inner);
            let req = ScratchReq::per_worker::<f64>(tasks, per);
            let (mut slots, _) = ws.split(req, per, 0.0);
            match standard_slice(&input) {
                Some(s) => pass_leading(
                    kernels,
                    &f,
                    Source::Slice(s),
                    out,
                    inner,
                    slots.as_mut_slice(),
                ),
                None => {
                    copy_any(&input, out);
                    pass_leading::<f64>(
                        kernels,
                        &f,
                        Source::Output,
                        out,
                        inner,
                        slots.as_mut_slice(),
                    )
                }
            }
        } else {
            copy_any(&input, out);
            let per = inplace_scratch(n, inner);
            let req = ScratchReq::per_worker::<f64>(tasks, per);
            let (mut slots, _) = ws.split(req, per, 0.0);
            inplace_parallel(kernels, &f, out, outer, inner, slots.as_mut_slice());
        }
        crate::recycle::give_workspace(ws);
        Ok(())
    })
}

/// [`pass_inplace`] over the `outer` slabs of `data`, split across tasks.
fn inplace_parallel(
    kernels: Kernels,
    f: &LineFilter,
    data: &mut [f64],
    outer: usize,
    inner: usize,
    bufs: &mut [&mut [f64]],
) {
    let slab = f.len() * inner;
    let tasks = bufs.len().min(outer).max(1);
    if tasks <= 1 {
        pass_inplace(kernels, f, data, inner, bufs[0]);
    } else {
        data.par_chunks_mut(outer.div_ceil(tasks) * slab)
            .zip(bufs.par_iter_mut())
            .for_each(|(c, b)| pass_inplace(kernels, f, c, inner, b));
    }
}

/// Multidimensional B-spline prefilter: scipy's
/// `ndimage.spline_filter(input, order, output=np.float64, mode)`, the
/// one-dimensional filter along every axis in turn.
///
/// `input` has any dimension (0-d included) and memory layout (f64 or
/// f32); the result is a new C-ordered f64 array of the same shape. Orders
/// 0 and 1 return the input unchanged (scipy's `spline_filter` refuses
/// them; its `spline_filter1d` does not). NaN and infinite samples
/// propagate; an empty array gives an empty result.
///
/// # Errors
/// [`FitError::InvalidParameter`] for `order > 5`.
///
/// # Example
/// ```
/// use bsfit::ndimage::{spline_filter, Mode};
/// // A linear ramp is its own cubic B-spline interpolant's coefficient
/// // array away from the edges; with `grid-wrap` on a periodic signal the
/// // filter inverts the sampling exactly.
/// let f = ndarray::Array1::from_iter((0..8).map(|i| (i as f64 * std::f64::consts::PI / 4.0).sin()));
/// let c = spline_filter(f.view().into_dyn(), 3, Mode::GridWrap).unwrap();
/// for i in 0..8 {
///     let s = (c[(i + 7) % 8] + 4.0 * c[i] + c[(i + 1) % 8]) / 6.0;
///     assert!((s - f[i]).abs() < 1e-14);
/// }
/// ```
pub fn spline_filter<T: Real>(
    input: ArrayViewD<'_, T>,
    order: usize,
    mode: Mode,
) -> Result<ArrayD<f64>, FitError> {
    let mut out = new_output(input.shape());
    spline_filter_into(input, order, mode, out.view_mut(), Par::auto())?;
    Ok(out)
}

/// [`spline_filter`] into `out` (the input's shape, any layout; C order is
/// written directly), with explicit parallelism.
///
/// # Errors
/// As [`spline_filter`], and [`FitError::InvalidParameter`] if `out` has
/// another shape.
pub fn spline_filter_into<T: Real>(
    input: ArrayViewD<'_, T>,
    order: usize,
    mode: Mode,
    mut out: ArrayViewMutD<'_, f64>,
    par: Par,
) -> Result<(), FitError> {
    check_order(order)?;
    let shape = input.shape().to_vec();
    check_out(&shape, &out)?;
    with_standard_out(&mut out, |out| {
        match standard_slice(&input) {
            Some(s) => filter_all(Source::Slice(s), out, &shape, order, mode, par),
            None => {
                copy_any(&input, out);
                filter_all::<f64>(Source::Output, out, &shape, order, mode, par)
            }
        }
        Ok(())
    })
}

/// [`spline_filter`] of the C-ordered `data` of `shape`, in place.
pub(crate) fn spline_filter_in_place(
    data: &mut [f64],
    shape: &[usize],
    order: usize,
    mode: Mode,
    par: Par,
) {
    filter_all::<f64>(Source::Output, data, shape, order, mode, par)
}

/// The multidimensional filter from `src` into the C-ordered `out`.
fn filter_all<T: Real>(
    src: Source<'_, T>,
    out: &mut [f64],
    shape: &[usize],
    order: usize,
    mode: Mode,
    par: Par,
) {
    // Axes of length 1 are not filtered and do not change a C layout.
    let dims: Vec<usize> = shape.iter().copied().filter(|&n| n > 1).collect();
    let filters: Vec<Option<LineFilter>> = dims
        .iter()
        .map(|&n| LineFilter::new(order, n, mode.filter_init()))
        .collect();
    let (Some(Some(f0)), false) = (filters.first(), out.is_empty()) else {
        // 0-d, empty, all axes of length 1, or order 0/1: a copy.
        if let Source::Slice(s) = src {
            convert(s, out);
        }
        return;
    };
    let kernels = Kernels::detect();
    let tasks = tasks_for(par, out.len());
    let n0 = dims[0];
    let plane: usize = dims[1..].iter().product();
    // Sub-arrays per in-place chunk, and the scratch of each pass.
    let k = (BLOCK_ELEMS / plane.max(1)).max(1);
    let mut per = leading_scratch(n0, plane);
    for a in 1..dims.len() {
        per = per.max(inplace_scratch(dims[a], dims[a + 1..].iter().product()));
    }
    let mut ws: Workspace = crate::recycle::take_workspace();
    let req = ScratchReq::per_worker::<f64>(tasks, per);
    let (mut slots, _) = ws.split(req, per, 0.0);
    let bufs = slots.as_mut_slice();
    pass_leading(kernels, f0, src, out, plane, bufs);
    if dims.len() > 1 {
        let rest = |planes: &mut [f64], buf: &mut [f64]| {
            for c in planes.chunks_mut(k * plane) {
                for a in 1..dims.len() {
                    if let Some(f) = &filters[a] {
                        pass_inplace(kernels, f, c, dims[a + 1..].iter().product(), buf);
                    }
                }
            }
        };
        let t = bufs.len().min(n0).max(1);
        if t <= 1 {
            rest(out, bufs[0]);
        } else {
            out.par_chunks_mut(n0.div_ceil(t) * plane)
                .zip(bufs.par_iter_mut())
                .for_each(|(c, b)| rest(c, b));
        }
    }
    crate::recycle::give_workspace(ws);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::isa::Isa;

    /// The sweeps of every available instruction set give the scalar
    /// reference's results bit for bit (no fused multiply-add anywhere):
    /// every order and boundary, lane counts with and without a remainder,
    /// rows wider than the lanes.
    #[test]
    fn filter_lanes_is_bit_identical_across_instruction_sets() {
        let scalar = Kernels::new(Isa::Scalar).unwrap();
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        for isa in Isa::available() {
            let k = Kernels::new(isa).unwrap();
            for order in 2..=5 {
                for init in [Init::Mirror, Init::Reflect, Init::Wrap] {
                    for &(n, w, stride) in
                        &[(2, 1, 1), (5, 3, 4), (37, 8, 8), (64, 19, 21), (9, 33, 40)]
                    {
                        let Some(f) = LineFilter::new(order, n, init) else {
                            continue;
                        };
                        let data: Vec<f64> = (0..(n - 1) * stride + w).map(|_| next()).collect();
                        let (mut a, mut b) = (data.clone(), data);
                        let (mut acc_a, mut acc_b) = (vec![0.0; w], vec![0.0; w]);
                        filter_lanes(scalar, &f, &mut a, stride, w, &mut acc_a);
                        filter_lanes(k, &f, &mut b, stride, w, &mut acc_b);
                        let same = a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits());
                        assert!(
                            same,
                            "{isa:?} order {order} {init:?} n {n} w {w} stride {stride}"
                        );
                    }
                }
            }
        }
    }
}
