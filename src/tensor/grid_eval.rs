//! Evaluation on the outer product of per-axis coordinate lists.
//!
//! On the grid `g[k] ∈ coords[k]` the spline is
//! `s(g) = Σ_i c[i] Π_k B_{i_k}(g_k) = (c ×_0 W_0 ×_1 W_1 … ×_{D-1} W_{D-1})`,
//! where `W_k` (`m_k × n_k`) holds the basis (or derivative basis) of axis `k`
//! at its `m_k` coordinates: 4 non-zeros per row, stored as a span and four
//! weights. The contraction runs one axis at a time, each step costing 4
//! multiply-adds per element of its output, so an output point costs
//! O(4·D) instead of the O(4^D) of the per-point evaluator.
//!
//! Axis order: contracting axis `k` scales the intermediate by
//! `r_k = m_k / n_k`, and the work is the sum of the intermediates' sizes;
//! taking the axes by increasing `r_k` minimises it (an exchange argument),
//! ties broken towards the innermost axis (its step is a 4-term dot product
//! per element, the others are row updates, so it is best run on the
//! smallest array).
//!
//! Refining grids (more coordinates than coefficients on some axes, the
//! common case) would make the intermediates after those axes the largest
//! arrays of the computation: each written once and read once, tens of MB
//! for a 4D table, freshly faulted in. Those axes are therefore contracted
//! last and fused: the other axes are contracted first (the innermost
//! always among them), then the output is produced row by row in its own
//! order, each expanding axis `k` keeping only the slab of its current
//! output index, `Σ_r W_k[i_k, j+r] · slab_{k-1}[j+r]` (the size of the
//! axes behind it, in cache), recomputed only when `i_k` changes. The
//! multiply-adds are the same as axis by axis in natural order; the memory
//! traffic is the output and the reads of cached slabs.

use super::query::{Partial, Query};
use super::{Extrapolate, TensorSpline};
use crate::FitError;
use crate::bspline::{
    ORDER,
    basis::{basis, basis_derivs},
    knots::find_span,
};
use ndarray::{Array, Dim, Dimension};
use rayon::prelude::*;

/// Outputs of one contraction step above which it runs in parallel.
const PAR_MIN: usize = 1 << 15;

/// Outputs per parallel task in the contraction of the innermost axis.
const PAR_BLOCK: usize = 1 << 13;

/// Columns per block in the contraction of an outer axis (4 KiB per row).
const COL_BLOCK: usize = 512;

/// Axis `k`'s sparse matrix `W_k`: per coordinate, the first coefficient
/// index `span − 3` and the four weights.
type AxisWeights = Vec<(usize, [f64; ORDER])>;

impl<const D: usize> TensorSpline<D> {
    /// Values on the grid `coords[0] × … × coords[D-1]`: element
    /// `[i_0, …, i_{D-1}]` is `eval([coords[0][i_0], …])` (up to rounding,
    /// within 1e-13 relative), computed separably in O(4·D) per output point.
    /// Coordinates need not be sorted; outside the domain: see
    /// [`extrapolate`](Self::extrapolate).
    ///
    /// Allocates the result and the partial contractions of the axes that
    /// do not refine (see the module docs): on refining grids, arrays of the
    /// coefficients' size and per-task slabs, not of the output's.
    ///
    /// Errors: [`FitError::InvalidParameter`] if the number of grid points
    /// overflows `usize`.
    ///
    /// ```
    /// use bsfit::TensorSpline;
    /// use ndarray::Array2;
    ///
    /// let x = [0.0, 1.0, 2.0, 3.0, 4.0];
    /// let y = [0.0, 0.5, 1.0, 1.5];
    /// let v = Array2::from_shape_fn((5, 4), |(i, j)| x[i] * x[i] * y[j]);
    /// let s = TensorSpline::fit([&x[..], &y[..]], v.view())?;
    /// let gx = [0.25, 1.75, 3.0];
    /// let gy = [0.1, 1.2];
    /// let g = s.eval_grid([&gx[..], &gy[..]])?;
    /// assert_eq!(g.shape(), &[3, 2]);
    /// for i in 0..3 {
    ///     for j in 0..2 {
    ///         assert!((g[[i, j]] - s.eval([gx[i], gy[j]])).abs() < 1e-13);
    ///     }
    /// }
    /// # Ok::<(), bsfit::FitError>(())
    /// ```
    pub fn eval_grid(&self, coords: [&[f64]; D]) -> Result<Array<f64, Dim<[usize; D]>>, FitError>
    where
        Dim<[usize; D]>: Dimension,
    {
        self.eval_grid_deriv(coords, [0; D])
    }

    /// The mixed partial derivative of `orders` (as
    /// [`eval_deriv`](Self::eval_deriv)) on the grid
    /// `coords[0] × … × coords[D-1]`; see [`eval_grid`](Self::eval_grid).
    ///
    /// Errors: as [`eval_grid`](Self::eval_grid); [`FitError::InvalidParameter`]
    /// for a vector-valued spline (use [`evaluate`](Self::evaluate) with
    /// [`Query::grid`](super::Query::grid)).
    pub fn eval_grid_deriv(
        &self,
        coords: [&[f64]; D],
        orders: [usize; D],
    ) -> Result<Array<f64, Dim<[usize; D]>>, FitError>
    where
        Dim<[usize; D]>: Dimension,
    {
        if self.ncomp != 1 {
            return Err(FitError::InvalidParameter {
                name: "value_shape",
                reason: format!(
                    "the spline has values of shape {:?}; evaluate a grid of them with `evaluate`",
                    self.vshape
                ),
            });
        }
        let q = Query::grid(&coords).outputs(&[Partial::new(&orders)?]);
        let total = self.output_shape(&q)?.iter().product();
        let mut out = crate::recycle::zeroed::<f64>(total);
        self.evaluate_into(&q, &mut out)?;
        let mut dim = Dim::<[usize; D]>::default();
        dim.slice_mut()
            .iter_mut()
            .zip(&coords)
            .for_each(|(d, c)| *d = c.len());
        Array::from_shape_vec(dim, out).map_err(|e| FitError::InvalidParameter {
            name: "coords",
            reason: e.to_string(),
        })
    }

    /// [`eval_grid`](Self::eval_grid) written into `out`, row-major (the
    /// last axis fastest, then the components of a vector-valued spline),
    /// `out.len() == Π coords[k].len() · n_components`.
    ///
    /// Errors: [`FitError::InvalidParameter`] if the length of `out` differs.
    pub fn eval_grid_into(&self, coords: [&[f64]; D], out: &mut [f64]) -> Result<(), FitError> {
        self.eval_grid_deriv_into(coords, [0; D], out)
    }

    /// [`eval_grid_deriv`](Self::eval_grid_deriv) written into `out`,
    /// row-major; errors as [`eval_grid_into`](Self::eval_grid_into).
    pub fn eval_grid_deriv_into(
        &self,
        coords: [&[f64]; D],
        orders: [usize; D],
        out: &mut [f64],
    ) -> Result<(), FitError> {
        let q = Query::grid(&coords).outputs(&[Partial::new(&orders)?]);
        self.evaluate_into(&q, out)
    }

    /// One partial of `orders` on the grid `coords` under per-axis
    /// `policy` (no axis under [`Extrapolate::Error`] has a coordinate
    /// outside), into `out` (`Π m_k · ncomp` values, checked by the
    /// driver).
    pub(super) fn grid_partial(
        &self,
        coords: [&[f64]; D],
        policy: &[Extrapolate; D],
        orders: [usize; D],
        out: &mut [f64],
    ) {
        let nc = self.ncomp;
        let total = out.len();
        if total == 0 {
            return;
        }
        // Above order 3 the derivative is 0 (NaN outside the domain under
        // `Extrapolate::Nan`): all-zero weight rows give exactly that.
        let zero = orders.iter().any(|&o| o > 3);
        let weights: [AxisWeights; D] =
            std::array::from_fn(|k| self.axis_weights(k, coords[k], orders[k], zero, policy[k]));

        // Axis order: increasing m_k / n_k, ties towards the last axis.
        let mut order: [usize; D] = std::array::from_fn(|k| k);
        order.sort_by(|&a, &b| {
            let ra = coords[a].len() as f64 / self.shape[a] as f64;
            let rb = coords[b].len() as f64 / self.shape[b] as f64;
            ra.total_cmp(&rb).then(b.cmp(&a))
        });

        // Axes other than the last whose coordinate lists are longer than
        // their coefficient count: contracted last, fused (see
        // `contract_fused`), so that their large intermediates never exist.
        // The others are contracted one at a time in `order`; without
        // refining axes the last of those steps writes the output.
        let expanding: [bool; D] =
            std::array::from_fn(|k| k + 1 < D && coords[k].len() > self.shape[k]);
        let fused = expanding.contains(&true);
        let steps = D - expanding.iter().filter(|&&e| e).count();
        let mut dims = self.shape;
        let mut cur: Vec<f64> = Vec::new();
        for (step, &k) in order.iter().filter(|&&k| !expanding[k]).enumerate() {
            let outer: usize = dims[..k].iter().product();
            let inner: usize = dims[k + 1..].iter().product::<usize>() * nc;
            let m = coords[k].len();
            let src: &[f64] = if step == 0 { &self.coefs } else { &cur };
            if !fused && step + 1 == steps {
                contract_axis(src, outer, dims[k], inner, &weights[k], out);
            } else {
                // A fresh zeroed allocation: large ones come from the OS
                // already zeroed, with no pass over the memory.
                let mut next = vec![0.0; outer * m * inner];
                contract_axis(src, outer, dims[k], inner, &weights[k], &mut next);
                cur = next;
            }
            dims[k] = m;
        }
        if fused {
            contract_fused(&cur, dims, nc, &weights, expanding, out);
        }
        if !zero {
            self.rescue_non_finite(&coords, policy, orders, out);
        }
    }

    /// Recomputes, point by point with exponent tracking, the outputs that
    /// the separable contraction could not represent although their
    /// coordinates are finite (extreme knot spacings, points far outside
    /// the domain): one pass that finds none in the common case.
    fn rescue_non_finite(
        &self,
        coords: &[&[f64]; D],
        policy: &[Extrapolate; D],
        orders: [usize; D],
        out: &mut [f64],
    ) {
        if out.iter().all(|v| v.is_finite()) {
            return;
        }
        let nc = self.ncomp;
        let mut one = vec![0.0; nc];
        for (flat, v) in out.iter_mut().enumerate() {
            if v.is_finite() {
                continue;
            }
            let (point, comp) = (flat / nc, flat % nc);
            let mut rest = point;
            let mut p = [0.0; D];
            for k in (0..D).rev() {
                let m = coords[k].len();
                p[k] = coords[k][rest % m];
                rest /= m;
            }
            if p.iter().all(|c| c.is_finite()) {
                self.point_into(policy, &[orders], p, &mut one);
                *v = one[comp];
            }
        }
    }

    /// `W_k` at `xs` for derivative order `order`, under the spline's
    /// extrapolation policy; all-zero rows when `zero` (NaN rows stay NaN).
    fn axis_weights(
        &self,
        k: usize,
        xs: &[f64],
        order: usize,
        zero: bool,
        policy: Extrapolate,
    ) -> AxisWeights {
        let t = &self.knots[k][..];
        xs.iter()
            .map(|&x| {
                let Some(x) = self.apply_policy(k, policy, x) else {
                    return (0, [f64::NAN; ORDER]);
                };
                if zero {
                    return (0, [0.0; ORDER]);
                }
                if x.is_nan() {
                    // (Third-derivative weights do not depend on x.)
                    return (0, [f64::NAN; ORDER]);
                }
                let s = find_span(t, x);
                let w = match order {
                    0 => basis(t, s, x),
                    o => basis_derivs(t, s, x, o)[o],
                };
                (s - 3, w)
            })
            .collect()
    }
}

/// `dst[o, i, :] = Σ_r w_i[r] · src[o, j_i + r, :]` with `src` of shape
/// `(outer, n, inner)` and `dst` of shape `(outer, w.len(), inner)`.
fn contract_axis(
    src: &[f64],
    outer: usize,
    n: usize,
    inner: usize,
    w: &[(usize, [f64; ORDER])],
    dst: &mut [f64],
) {
    let m = w.len();
    debug_assert_eq!(src.len(), outer * n * inner);
    debug_assert_eq!(dst.len(), outer * m * inner);
    if dst.is_empty() {
        return;
    }
    if inner == 1 {
        // Innermost axis: one 4-term dot product per output, in flat blocks
        // of `PAR_BLOCK` outputs (so a long single row splits as well).
        let run = |start: usize, d: &mut [f64]| {
            let (mut o, mut i) = (start / m, start % m);
            for v in d {
                let (j, wi) = w[i];
                let c = &src[o * n + j..o * n + j + ORDER];
                *v = wi[0] * c[0] + wi[1] * c[1] + wi[2] * c[2] + wi[3] * c[3];
                i += 1;
                if i == m {
                    i = 0;
                    o += 1;
                }
            }
        };
        if dst.len() >= PAR_MIN {
            dst.par_chunks_mut(PAR_BLOCK)
                .enumerate()
                .for_each(|(t, d)| run(t * PAR_BLOCK, d));
        } else {
            run(0, dst);
        }
        return;
    }
    // Other axes: each output row of length `inner` is a combination of
    // four source rows. Rows are long (up to the whole array behind the
    // axis), so they are processed in column blocks of `COL_BLOCK`: the
    // block of all `n` source rows then stays in cache while the output
    // rows that read it are written, and the source is read from memory
    // once. Tasks own contiguous runs of output rows of one outer index.
    let rows_per_task = (PAR_MIN / inner).clamp(1, m);
    let task = |o: usize, i0: usize, d: &mut [f64]| {
        let src_o = &src[o * n * inner..(o + 1) * n * inner];
        let mut c0 = 0;
        while c0 < inner {
            let c1 = (c0 + COL_BLOCK).min(inner);
            for (drow, &(j, wi)) in d.chunks_mut(inner).zip(&w[i0..]) {
                let at = |r: usize| &src_o[(j + r) * inner + c0..(j + r) * inner + c1];
                let (r0, r1, r2, r3) = (at(0), at(1), at(2), at(3));
                for ((((v, a), b), c), e) in drow[c0..c1].iter_mut().zip(r0).zip(r1).zip(r2).zip(r3)
                {
                    *v = wi[0] * a + wi[1] * b + wi[2] * c + wi[3] * e;
                }
            }
            c0 = c1;
        }
    };
    if dst.len() >= PAR_MIN {
        dst.par_chunks_mut(m * inner)
            .enumerate()
            .for_each(|(o, d_o)| {
                d_o.par_chunks_mut(rows_per_task * inner)
                    .enumerate()
                    .for_each(|(t, d)| task(o, t * rows_per_task, d));
            });
    } else {
        dst.chunks_mut(m * inner)
            .enumerate()
            .for_each(|(o, d_o)| task(o, 0, d_o));
    }
}

/// The source of one level of [`contract_fused`]: the pre-contracted array,
/// or the slab kept by an earlier expanding level.
#[derive(Clone, Copy)]
enum Slab {
    Source,
    Kept(usize),
}

/// `dst[c] = w[0]·s[c] + w[1]·s[n+c] + w[2]·s[2n+c] + w[3]·s[3n+c]` for
/// `c < n = dst.len()`: one output row from four source rows `n` apart.
#[inline]
fn combine_rows(dst: &mut [f64], w: &[f64; ORDER], s: &[f64]) {
    let n = dst.len();
    let (r0, rest) = s.split_at(n);
    let (r1, rest) = rest.split_at(n);
    let (r2, r3) = rest.split_at(n);
    for ((((v, a), b), c), e) in dst.iter_mut().zip(r0).zip(r1).zip(r2).zip(&r3[..n]) {
        *v = w[0] * a + w[1] * b + w[2] * c + w[3] * e;
    }
}

/// The fused contraction of the expanding axes (see the module docs).
///
/// `src` has shape `dims`: `n_k` on the axes with `expanding[k]`, already
/// the output length `m_k` elsewhere. `out` is the row-major output of
/// shape `m`. With `last` the last expanding axis, the output is a run of
/// `Π_{k≤last} m_k` rows of `R = Π_{k>last} m_k` values; row `(i_0, …,
/// i_last)` reads, through the levels `k ≤ last`, either a sub-slab
/// (`i_k`-th, on axes already contracted) or the slab `Σ_r w · slab[j+r]`
/// (expanding axes, kept per level and recomputed only when a digit at or
/// above it changes). Rows are split into contiguous runs across tasks.
fn contract_fused<const D: usize>(
    src: &[f64],
    dims: [usize; D],
    nc: usize,
    w: &[AxisWeights; D],
    expanding: [bool; D],
    out: &mut [f64],
) {
    let Some(last) = (0..D).rev().find(|&k| expanding[k]) else {
        return;
    };
    let m: [usize; D] = std::array::from_fn(|k| w[k].len());
    // Values behind one index of axis k in the level-k source.
    let inner: [usize; D] = std::array::from_fn(|k| dims[k + 1..].iter().product::<usize>() * nc);
    let row = inner[last];
    let rows: usize = m[..=last].iter().product();
    debug_assert_eq!(src.len(), dims.iter().product::<usize>() * nc);
    debug_assert_eq!(out.len(), rows * row);
    if out.is_empty() {
        return;
    }
    let run = |first: usize, dst: &mut [f64]| {
        let mut kept: Vec<Vec<f64>> = (0..last)
            .map(|k| {
                if expanding[k] {
                    vec![0.0; inner[k]]
                } else {
                    Vec::new()
                }
            })
            .collect();
        let mut digit = [0usize; D];
        let mut q = first;
        for k in (0..=last).rev() {
            digit[k] = q % m[k];
            q /= m[k];
        }
        // level_src[k]: where level k reads (slab, offset of its slab).
        let mut level_src = [(Slab::Source, 0usize); D];
        let mut from = 0;
        for dst_row in dst.chunks_exact_mut(row) {
            for k in from..last {
                let (slab, off) = level_src[k];
                level_src[k + 1] = if expanding[k] {
                    let (j, wk) = w[k][digit[k]];
                    let (below, here) = kept.split_at_mut(k);
                    let s: &[f64] = match slab {
                        Slab::Source => src,
                        Slab::Kept(b) => &below[b],
                    };
                    let n = inner[k];
                    combine_rows(&mut here[0], &wk, &s[off + j * n..off + (j + ORDER) * n]);
                    (Slab::Kept(k), 0)
                } else {
                    (slab, off + digit[k] * inner[k])
                };
            }
            let (slab, off) = level_src[last];
            let s: &[f64] = match slab {
                Slab::Source => src,
                Slab::Kept(b) => &kept[b],
            };
            let (j, wk) = w[last][digit[last]];
            combine_rows(dst_row, &wk, &s[off + j * row..off + (j + ORDER) * row]);
            // Next row: the odometer; levels from the highest changed digit
            // on are recomputed.
            let mut k = last;
            loop {
                digit[k] += 1;
                if digit[k] < m[k] || k == 0 {
                    break;
                }
                digit[k] = 0;
                k -= 1;
            }
            from = k;
        }
    };
    let tasks = if out.len() >= PAR_MIN {
        (8 * rayon::current_num_threads()).clamp(1, rows)
    } else {
        1
    };
    if tasks == 1 {
        run(0, out);
        return;
    }
    let rows_per_task = rows.div_ceil(tasks);
    out.par_chunks_mut(rows_per_task * row)
        .enumerate()
        .for_each(|(t, d)| run(t * rows_per_task, d));
}
