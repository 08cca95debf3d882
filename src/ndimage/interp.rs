//! `map_coordinates`: the value of the B-spline of order 0–5 whose
//! coefficients are an array (or the prefilter of it), at arbitrary points,
//! with scipy.ndimage's boundary modes.
//!
//! Per point and axis, scipy's steps (`NI_GeometricTransform` in
//! `ni_interpolation.c`): shift the coordinate by the pre-padding, map it
//! into the array with the mode ([`map_coordinate`]; `nearest` and
//! `grid-constant` leave it alone, `constant` sends points outside
//! `[0, n − 1]` to `cval`), find the first of its `order + 1` taps
//! (`⌊x⌋ − order/2` for odd orders, `⌊x + ½⌋ − order/2` for even ones),
//! compute the B-spline weights (`spline_weights`), and map the taps that
//! fall outside the array with the mode's tap rule ([`Mode::tap_ext`]) or,
//! for `grid-constant`, read `cval` there. The value is the tensor-product
//! sum over the `(order + 1)^D` taps.
//!
//! Points are split across rayon tasks in chunks; each point's taps are
//! read straight from the coefficient array (any layout with non-negative
//! strides, f64 or f32), with no per-point allocation. Many points in an
//! array beyond the caches are first ordered by their place in it
//! (`eval_sorted`: one counting sort per call; scratch of `14 + 8·D`
//! bytes per point: the keys, the permutation, the coordinates and the
//! values in that order).

use super::filter::{copy_any, spline_filter_in_place};
use super::mode::{Ext, Mode, map_coordinate};
use crate::{FitError, Par, Real};
use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, Axis, IxDyn, Slice};
use rayon::prelude::*;

/// Most dimensions of the input (numpy's limit).
pub const MAX_DIMS: usize = 64;

/// Points per rayon task.
const CHUNK: usize = 2048;

/// Largest number of taps per axis (order 5).
const MAX_TAPS: usize = 6;

/// The B-spline weights of the `order + 1` taps of coordinate `x`
/// (`get_spline_interpolation_weights` in scipy's `ni_splines.c`; the last
/// weight is one minus the others, as there).
#[inline(always)]
pub(crate) fn spline_weights(x: f64, order: usize, w: &mut [f64; MAX_TAPS]) {
    let x = x - if order & 1 == 1 {
        x.floor()
    } else {
        (x + 0.5).floor()
    };
    let (y, z) = (x, 1.0 - x);
    match order {
        0 => {
            w[0] = 1.0;
            return;
        }
        1 => w[0] = 1.0 - x,
        2 => {
            w[1] = 0.75 - x * x;
            let y = 0.5 - x;
            w[0] = 0.5 * y * y;
        }
        3 => {
            w[1] = (y * y * (y - 2.0) * 3.0 + 4.0) / 6.0;
            w[2] = (z * z * (z - 2.0) * 3.0 + 4.0) / 6.0;
            w[0] = z * z * z / 6.0;
        }
        4 => {
            let t = x * x;
            w[2] = t * (t * 0.25 - 0.625) + 115.0 / 192.0;
            let y = 1.0 + x;
            w[1] = y * (y * (y * (5.0 - y) / 6.0 - 1.25) + 5.0 / 24.0) + 55.0 / 96.0;
            w[3] = z * (z * (z * (5.0 - z) / 6.0 - 1.25) + 5.0 / 24.0) + 55.0 / 96.0;
            let y = 0.5 - x;
            let t = y * y;
            w[0] = t * t / 24.0;
        }
        _ => {
            let t = y * y;
            w[2] = t * (t * (0.25 - y / 12.0) - 0.5) + 0.55;
            let t = z * z;
            w[3] = t * (t * (0.25 - z / 12.0) - 0.5) + 0.55;
            let y = y + 1.0;
            w[1] = y * (y * (y * (y * (y / 24.0 - 0.375) + 1.25) - 1.75) + 0.625) + 0.425;
            let z = z + 1.0;
            w[4] = z * (z * (z * (z * (z / 24.0 - 0.375) + 1.25) - 1.75) + 0.625) + 0.425;
            let y = 1.0 - x;
            let t = y * y;
            w[0] = y * t * t / 120.0;
        }
    }
    let mut last = 1.0;
    for &v in &w[..order] {
        last -= v;
    }
    w[order] = last;
}

/// The first tap of coordinate `x`: `⌊x⌋ − order/2` (odd orders) or
/// `⌊x + ½⌋ − order/2` (even). As in scipy's C code on x86-64, where the
/// integer conversion is out of range (NaN, ±∞, |x| ≥ 2⁶³) the result is
/// `i64::MIN`, so that every tap lies below the array.
#[inline(always)]
fn first_tap(x: f64, order: usize) -> i64 {
    let f = if order & 1 == 1 {
        x.floor()
    } else {
        (x + 0.5).floor()
    };
    const LIM: f64 = 9_223_372_036_854_775_808.0; // 2^63
    if (-LIM..LIM).contains(&f) {
        f as i64 - (order / 2) as i64
    } else {
        i64::MIN
    }
}

/// One axis of the coefficient array as evaluation sees it.
#[derive(Debug, Clone, Copy)]
struct AxisInfo {
    len: usize,
    stride: usize,
}

/// Per-point scratch: the taps' weights and element offsets per axis, and
/// for `grid-constant` whether each tap lies inside the array.
struct PointScratch {
    w: [[f64; MAX_TAPS]; MAX_DIMS],
    off: [[usize; MAX_TAPS]; MAX_DIMS],
    inside: [[bool; MAX_TAPS]; MAX_DIMS],
}

impl PointScratch {
    /// Scratch for one task's points (on its stack).
    fn new() -> Self {
        PointScratch {
            w: [[0.0; MAX_TAPS]; MAX_DIMS],
            off: [[0; MAX_TAPS]; MAX_DIMS],
            inside: [[true; MAX_TAPS]; MAX_DIMS],
        }
    }
}

/// What evaluation needs besides the data.
#[derive(Debug, Clone, Copy)]
struct Plan {
    order: usize,
    ext: Ext,
    tap_ext: Ext,
    cval: f64,
    npad: f64,
}

/// Sets up axis `a` for coordinate `x` (already shifted by the padding):
/// returns `false` when the point takes `cval`, and whether any tap needs
/// `cval` (`grid-constant`) in `*partial`.
#[inline(always)]
fn setup_axis(
    plan: &Plan,
    ax: AxisInfo,
    x: f64,
    a: usize,
    s: &mut PointScratch,
    partial: &mut bool,
) -> bool {
    let order = plan.order;
    let grid_const = plan.ext == Ext::GridConstant;
    let x = if grid_const || plan.ext == Ext::Nearest {
        x
    } else {
        map_coordinate(x, ax.len, plan.ext)
    };
    // `!(x > -1)` also sends NaN to cval, as scipy does.
    if !(x > -1.0 || grid_const || plan.ext == Ext::Nearest) {
        return false;
    }
    let start = first_tap(x, order);
    let len = ax.len as i64;
    spline_weights(x, order, &mut s.w[a]);
    let last = start.saturating_add(order as i64);
    if start >= 0 && last < len {
        for k in 0..=order {
            s.off[a][k] = (start as usize + k) * ax.stride;
            s.inside[a][k] = true;
        }
    } else if grid_const {
        for k in 0..=order {
            let i = start.saturating_add(k as i64);
            let inside = i >= 0 && i < len;
            s.inside[a][k] = inside;
            s.off[a][k] = if inside { i as usize * ax.stride } else { 0 };
            *partial |= !inside;
        }
    } else {
        for k in 0..=order {
            let i = start.saturating_add(k as i64) as f64;
            // In range for every tap rule; the clamp only guards memory.
            let m = map_coordinate(i, ax.len, plan.tap_ext).clamp(0.0, (ax.len - 1) as f64);
            s.off[a][k] = m as usize * ax.stride;
            s.inside[a][k] = true;
        }
    }
    true
}

/// `Σ Π w · c` over the `K^D` taps, all inside the array.
#[inline(always)]
fn contract_fixed<T: Real, const K: usize, const D: usize>(c: &[T], s: &PointScratch) -> f64 {
    let (w, o) = (&s.w, &s.off);
    match D {
        1 => {
            let mut t = 0.0;
            for i in 0..K {
                t += c[o[0][i]].to_f64() * w[0][i];
            }
            t
        }
        2 => {
            let mut t = 0.0;
            for i in 0..K {
                let b = o[0][i];
                let mut u = 0.0;
                for j in 0..K {
                    u += c[b + o[1][j]].to_f64() * w[1][j];
                }
                t += u * w[0][i];
            }
            t
        }
        3 => {
            let mut t = 0.0;
            for i in 0..K {
                let mut u = 0.0;
                for j in 0..K {
                    let b = o[0][i] + o[1][j];
                    let mut v = 0.0;
                    for k in 0..K {
                        v += c[b + o[2][k]].to_f64() * w[2][k];
                    }
                    u += v * w[1][j];
                }
                t += u * w[0][i];
            }
            t
        }
        _ => contract_dyn(c, s, D, K, None),
    }
}

/// `Σ Π w · c` over the `k^d` taps for any `d`, reading `cval` for taps
/// outside the array when `cval` is given (`grid-constant`).
fn contract_dyn<T: Real>(c: &[T], s: &PointScratch, d: usize, k: usize, cval: Option<f64>) -> f64 {
    // Odometer over the taps, last axis fastest; the sum is taken over the
    // last axis first, then scaled by the partial products of the others.
    let mut idx = [0usize; MAX_DIMS];
    let mut total = 0.0;
    loop {
        // Partial product and offset of axes 0..d-1 at `idx`.
        let mut wp = 1.0;
        let mut off = 0usize;
        let mut inside = true;
        for a in 0..d - 1 {
            wp *= s.w[a][idx[a]];
            off += s.off[a][idx[a]];
            inside &= s.inside[a][idx[a]];
        }
        let la = d - 1;
        let mut line = 0.0;
        for j in 0..k {
            let v = match cval {
                Some(cv) if !(inside && s.inside[la][j]) => cv,
                _ => c[off + s.off[la][j]].to_f64(),
            };
            line += v * s.w[la][j];
        }
        total += line * wp;
        // Next index over axes 0..d-1.
        let mut a = d - 1;
        loop {
            if a == 0 {
                return total;
            }
            a -= 1;
            idx[a] += 1;
            if idx[a] < k {
                break;
            }
            idx[a] = 0;
        }
    }
}

/// The value at one point: `coords(a)` is its coordinate on axis `a`.
#[inline(always)]
fn eval_point<T: Real, const K: usize, const D: usize>(
    c: &[T],
    axes: &[AxisInfo],
    plan: &Plan,
    coords: impl Fn(usize) -> f64,
    s: &mut PointScratch,
) -> f64 {
    let d = if D > 0 && D <= 3 { D } else { axes.len() };
    let mut partial = false;
    for (a, &ax) in axes.iter().enumerate().take(d) {
        if !setup_axis(plan, ax, coords(a) + plan.npad, a, s, &mut partial) {
            return plan.cval;
        }
    }
    if partial {
        contract_dyn(c, s, d, K, Some(plan.cval))
    } else if D > 0 && D <= 3 {
        contract_fixed::<T, K, D>(c, s)
    } else {
        contract_dyn(c, s, d, K, None)
    }
}

/// Evaluates every point: `coords` is `(D, npts)` in C order, `out` has `npts` values.
fn eval_all<T: Real>(
    c: &[T],
    axes: &[AxisInfo],
    plan: &Plan,
    coords: &[f64],
    out: &mut [f64],
    par: Par,
) {
    macro_rules! go {
        ($k:literal) => {
            match axes.len() {
                1 => eval_chunks::<T, $k, 1>(c, axes, plan, coords, out, par),
                2 => eval_chunks::<T, $k, 2>(c, axes, plan, coords, out, par),
                3 => eval_chunks::<T, $k, 3>(c, axes, plan, coords, out, par),
                _ => eval_chunks::<T, $k, 0>(c, axes, plan, coords, out, par),
            }
        };
    }
    match plan.order {
        0 => go!(1),
        1 => go!(2),
        2 => go!(3),
        3 => go!(4),
        4 => go!(5),
        _ => go!(6),
    }
}

fn eval_chunks<T: Real, const K: usize, const D: usize>(
    c: &[T],
    axes: &[AxisInfo],
    plan: &Plan,
    coords: &[f64],
    out: &mut [f64],
    par: Par,
) {
    let npts = out.len();
    let d = axes.len();
    let run = |p0: usize, o: &mut [f64]| {
        let mut s = PointScratch::new();
        for (i, v) in o.iter_mut().enumerate() {
            let p = p0 + i;
            *v = eval_point::<T, K, D>(c, axes, plan, |a| coords[a * npts + p], &mut s);
        }
    };
    debug_assert_eq!(coords.len(), d * npts);
    if npts >= SORT_MIN_POINTS && npts <= u32::MAX as usize && size_of_val(c) >= SORT_MIN_BYTES {
        return eval_sorted::<T, K, D>(c, axes, plan, coords, out, par);
    }
    if par.degree() <= 1 || npts <= CHUNK {
        run(0, out);
    } else {
        out.par_chunks_mut(CHUNK)
            .enumerate()
            .for_each(|(i, o)| run(i * CHUNK, o));
    }
}

/// The fewest points for which [`eval_sorted`] orders them.
const SORT_MIN_POINTS: usize = 1 << 16;
/// The smallest coefficient array (bytes) for which points are ordered:
/// below it their taps are last-level-cache hits in any order.
const SORT_MIN_BYTES: usize = 8 << 20;
/// Buckets of the counting sort.
const SORT_BUCKETS: usize = 1 << 16;

/// [`eval_chunks`] in the order of the points' places in the array: a
/// counting sort of all points on the flat offset of their nearest element
/// (`SORT_BUCKETS` contiguous ranges of the array), the values computed in
/// that order by the rayon tasks, then scattered to the points' own
/// indices. Random points in an array far beyond the caches otherwise pay
/// a cache and TLB miss for almost every row of taps; in array order,
/// neighbouring points share pages and lines. Every value is the one the
/// point gives alone.
fn eval_sorted<T: Real, const K: usize, const D: usize>(
    c: &[T],
    axes: &[AxisInfo],
    plan: &Plan,
    coords: &[f64],
    out: &mut [f64],
    par: Par,
) {
    let npts = out.len();
    let d = axes.len();
    let mut shift = 0u32;
    while (c.len() >> shift) >= SORT_BUCKETS {
        shift += 1;
    }
    let key = |p: usize| -> usize {
        let mut off = 0usize;
        for (a, ax) in axes.iter().enumerate().take(d) {
            let x = coords[a * npts + p] + plan.npad;
            // NaN and infinities land in bucket 0 or the last: any place will do.
            let i = x.clamp(0.0, (ax.len - 1) as f64) as usize;
            off = off.saturating_add(i.saturating_mul(ax.stride));
        }
        (off >> shift).min(SORT_BUCKETS - 1)
    };
    let keys: Vec<u16> = if par.degree() <= 1 {
        (0..npts).map(|p| key(p) as u16).collect()
    } else {
        (0..npts).into_par_iter().map(|p| key(p) as u16).collect()
    };
    let mut start = vec![0u32; SORT_BUCKETS + 1];
    for &k in &keys {
        start[k as usize + 1] += 1;
    }
    for b in 0..SORT_BUCKETS {
        start[b + 1] += start[b];
    }
    // The permutation and the coordinates in sorted order, point-major: the
    // evaluation then reads them in sequence (read in place through the
    // permutation, each coordinate would be a cache miss of its own).
    let mut order = vec![0u32; npts];
    let mut sorted_coords = vec![0.0f64; npts * d];
    for (p, &k) in keys.iter().enumerate() {
        let slot = &mut start[k as usize];
        let i = *slot as usize;
        order[i] = p as u32;
        for a in 0..d {
            sorted_coords[i * d + a] = coords[a * npts + p];
        }
        *slot += 1;
    }
    drop(keys);
    let mut sorted = vec![0.0f64; npts];
    let run = |i0: usize, o: &mut [f64]| {
        let mut s = PointScratch::new();
        for (j, v) in o.iter_mut().enumerate() {
            let x = &sorted_coords[(i0 + j) * d..(i0 + j + 1) * d];
            *v = eval_point::<T, K, D>(c, axes, plan, |a| x[a], &mut s);
        }
    };
    if par.degree() <= 1 {
        run(0, &mut sorted);
    } else {
        sorted
            .par_chunks_mut(CHUNK)
            .enumerate()
            .for_each(|(i, o)| run(i * CHUNK, o));
    }
    for (&p, &v) in order.iter().zip(&sorted) {
        out[p as usize] = v;
    }
}

/// Checks the arguments of [`map_coordinates`] and returns the output shape.
fn check_args(ndim: usize, coords_shape: &[usize], order: usize) -> Result<Vec<usize>, FitError> {
    if order > 5 {
        return Err(FitError::InvalidParameter {
            name: "order",
            reason: format!("spline order {order} not supported (0 to 5)"),
        });
    }
    if ndim == 0 || ndim > MAX_DIMS {
        return Err(FitError::InvalidParameter {
            name: "input",
            reason: format!("{ndim} dimensions; 1 to {MAX_DIMS} are supported"),
        });
    }
    if coords_shape.len() < 2 {
        return Err(FitError::InvalidParameter {
            name: "coordinates",
            reason: format!(
                "shape {coords_shape:?}: expected (ndim, *output_shape) with at least one output dimension"
            ),
        });
    }
    if coords_shape[0] != ndim {
        return Err(FitError::DimensionMismatch {
            expected: ndim,
            got: coords_shape[0],
        });
    }
    Ok(coords_shape[1..].to_vec())
}

/// Interpolates `input` at `coordinates`: scipy's
/// `ndimage.map_coordinates(input, coordinates, order=order, mode=mode,
/// cval=cval, prefilter=prefilter)` with a float64 output.
///
/// `coordinates` has shape `(input.ndim(), *output_shape)`: entry
/// `[a, j…]` is the coordinate on axis `a` (in samples) of output point
/// `j…`. With `prefilter` and `order > 1` the input is first padded (12
/// samples for `nearest` and `grid-constant`, as scipy does) and turned into
/// B-spline coefficients by [`spline_filter`](super::spline_filter) with
/// `mode`; otherwise `input` itself holds the coefficients. Points are
/// evaluated with `mode` (see [`Mode`]) on the current rayon pool. NaN
/// coordinates give `cval` (NaN for `nearest` and `grid-constant`), NaN
/// samples propagate. An input with an empty axis gives `cval` everywhere
/// (scipy reads out of bounds there); no points give an empty result.
///
/// `input`: f64 or f32, any dimension from 1 to [`MAX_DIMS`], any layout
/// (copied only when it is not contiguous with non-negative strides).
///
/// # Errors
/// [`FitError::InvalidParameter`] for `order > 5`, a 0-d input or
/// coordinates with fewer than 2 dimensions; [`FitError::DimensionMismatch`]
/// when `coordinates.shape()[0] != input.ndim()`.
///
/// # Example
/// ```
/// use bsfit::ndimage::{map_coordinates, Mode};
/// use ndarray::{array, Array2};
/// // At the samples themselves the prefiltered spline interpolates them.
/// let f = Array2::from_shape_fn((5, 6), |(i, j)| (i * j) as f64 + 0.5 * j as f64).into_dyn();
/// let pts = array![[0.0, 2.0, 4.0], [1.0, 5.0, 3.0]].into_dyn();
/// let v = map_coordinates(f.view(), pts.view(), 3, Mode::Mirror, 0.0, true).unwrap();
/// for (p, &got) in v.iter().enumerate() {
///     let (i, j) = (pts[[0, p]], pts[[1, p]]);
///     assert!((got - (i * j + 0.5 * j)).abs() < 1e-12);
/// }
/// ```
pub fn map_coordinates<T: Real>(
    input: ArrayViewD<'_, T>,
    coordinates: ArrayViewD<'_, f64>,
    order: usize,
    mode: Mode,
    cval: f64,
    prefilter: bool,
) -> Result<ArrayD<f64>, FitError> {
    let shape = check_args(input.ndim(), coordinates.shape(), order)?;
    let mut out = ArrayD::<f64>::zeros(IxDyn(&shape));
    map_coordinates_into(
        input,
        coordinates,
        order,
        mode,
        cval,
        prefilter,
        out.view_mut(),
        Par::auto(),
    )?;
    Ok(out)
}

/// [`map_coordinates`] into `out` (shape `coordinates.shape()[1..]`, any
/// layout), with explicit parallelism.
///
/// # Errors
/// As [`map_coordinates`], and [`FitError::InvalidParameter`] if `out` has
/// another shape.
#[allow(clippy::too_many_arguments)]
pub fn map_coordinates_into<T: Real>(
    input: ArrayViewD<'_, T>,
    coordinates: ArrayViewD<'_, f64>,
    order: usize,
    mode: Mode,
    cval: f64,
    prefilter: bool,
    mut out: ArrayViewMutD<'_, f64>,
    par: Par,
) -> Result<(), FitError> {
    let shape = check_args(input.ndim(), coordinates.shape(), order)?;
    if out.shape() != &shape[..] {
        return Err(FitError::InvalidParameter {
            name: "out",
            reason: format!(
                "shape {:?}, expected {shape:?} (coordinates.shape[1:])",
                out.shape()
            ),
        });
    }
    if out.is_empty() {
        return Ok(());
    }
    if input.is_empty() {
        out.fill(cval);
        return Ok(());
    }
    let npts = out.len();
    let coords = coordinates.as_standard_layout();
    let coords = coords
        .as_slice()
        .unwrap_or_else(|| unreachable!("standard layout is contiguous"));
    let mut plan = Plan {
        order,
        ext: mode.ext(),
        tap_ext: mode.tap_ext(),
        cval,
        npad: 0.0,
    };
    let mut run = |o: &mut [f64]| {
        if prefilter && order > 1 {
            let npad = mode.prepad();
            plan.npad = npad as f64;
            let (mut coef, dims) = padded(&input, npad, mode, cval);
            spline_filter_in_place(&mut coef, &dims, order, mode, par);
            let axes = c_axes(&dims);
            eval_all(&coef, &axes, &plan, coords, o, par);
            crate::recycle::give_buffer(coef);
        } else {
            match contiguous(&input) {
                Some((c, axes)) => eval_all(c, &axes, &plan, coords, o, par),
                None => {
                    let std = input.as_standard_layout();
                    let c = std
                        .as_slice()
                        .unwrap_or_else(|| unreachable!("standard layout is contiguous"));
                    eval_all(c, &c_axes(input.shape()), &plan, coords, o, par);
                }
            }
        }
    };
    match out.as_slice_mut() {
        Some(o) => run(o),
        None => {
            let mut tmp = vec![0.0; npts];
            run(&mut tmp);
            let Ok(t) = ArrayViewD::from_shape(IxDyn(&shape), &tmp[..]) else {
                unreachable!("npts values of the output's shape")
            };
            out.assign(&t);
        }
    }
    Ok(())
}

/// Axes of a C-ordered array of `shape`.
fn c_axes(shape: &[usize]) -> Vec<AxisInfo> {
    let mut stride = 1;
    let mut axes = vec![AxisInfo { len: 0, stride: 0 }; shape.len()];
    for (a, &n) in shape.iter().enumerate().rev() {
        axes[a] = AxisInfo { len: n, stride };
        stride *= n;
    }
    axes
}

/// The data of `input` in memory order with its (non-negative) strides,
/// when it is contiguous in some order.
fn contiguous<'a, T: Real>(input: &'a ArrayViewD<'_, T>) -> Option<(&'a [T], Vec<AxisInfo>)> {
    let s = input.as_slice_memory_order()?;
    let strides = input.strides();
    if strides.iter().any(|&st| st < 0) {
        return None;
    }
    let axes = input
        .shape()
        .iter()
        .zip(strides)
        .map(|(&len, &st)| AxisInfo {
            len,
            stride: st as usize,
        })
        .collect();
    Some((s, axes))
}

/// `input` as a C-ordered f64 buffer, padded by `npad` samples on both
/// sides of every axis: edge values for `nearest`, `cval` otherwise
/// (numpy's `pad(mode='edge')` / `pad(mode='constant')`, which scipy uses).
/// Returns the buffer and its shape.
fn padded<T: Real>(
    input: &ArrayViewD<'_, T>,
    npad: usize,
    mode: Mode,
    cval: f64,
) -> (Vec<f64>, Vec<usize>) {
    let dims: Vec<usize> = input.shape().iter().map(|&n| n + 2 * npad).collect();
    let len = dims.iter().product();
    let mut buf = crate::recycle::take_buffer(len);
    if npad == 0 {
        copy_any(input, &mut buf);
        return (buf, dims);
    }
    let Ok(mut p) = ArrayViewMutD::from_shape(IxDyn(&dims), &mut buf[..]) else {
        unreachable!("len values of shape dims")
    };
    p.fill(cval);
    p.slice_each_axis_mut(|ax| Slice::from(npad..ax.len - npad))
        .zip_mut_with(input, |d, &v| *d = v.to_f64());
    if mode == Mode::Nearest {
        // Axes in turn, so that corners take the corner value, as numpy does.
        for (a, &n) in dims.iter().enumerate() {
            let (mut lo, rest) = p.view_mut().split_at(Axis(a), npad);
            let edge = rest.index_axis(Axis(a), 0);
            lo.axis_iter_mut(Axis(a)).for_each(|mut l| l.assign(&edge));
            let (rest, mut hi) = p.view_mut().split_at(Axis(a), n - npad);
            let edge = rest.index_axis(Axis(a), n - npad - 1);
            hi.axis_iter_mut(Axis(a)).for_each(|mut l| l.assign(&edge));
        }
    }
    (buf, dims)
}
