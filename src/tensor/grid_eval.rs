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

use super::TensorSpline;
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
    /// Allocates the result and two intermediate arrays (at most the size
    /// of the largest partial contraction).
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
    pub fn eval_grid_deriv(
        &self,
        coords: [&[f64]; D],
        orders: [usize; D],
    ) -> Result<Array<f64, Dim<[usize; D]>>, FitError>
    where
        Dim<[usize; D]>: Dimension,
    {
        let total = grid_len(&coords)?;
        if total > isize::MAX as usize / size_of::<f64>() {
            return Err(FitError::InvalidParameter {
                name: "coords",
                reason: format!(
                    "the grid of shape {:?} has more points than fit in memory",
                    coords.map(|c| c.len())
                ),
            });
        }
        let mut out = vec![0.0; total];
        self.eval_grid_deriv_into(coords, orders, &mut out)?;
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
    /// last axis fastest), `out.len() == Π coords[k].len()`.
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
        let total = grid_len(&coords)?;
        if out.len() != total {
            return Err(FitError::InvalidParameter {
                name: "out",
                reason: format!(
                    "length {} for a grid of shape {:?}",
                    out.len(),
                    coords.map(|c| c.len())
                ),
            });
        }
        if total == 0 {
            return Ok(());
        }
        // Above order 3 the derivative is 0 (NaN outside the domain under
        // `Extrapolate::Nan`): all-zero weight rows give exactly that.
        let zero = orders.iter().any(|&o| o > 3);
        let weights: [AxisWeights; D] =
            std::array::from_fn(|k| self.axis_weights(k, coords[k], orders[k], zero));

        // Axis order: increasing m_k / n_k, ties towards the last axis.
        let mut order: [usize; D] = std::array::from_fn(|k| k);
        order.sort_by(|&a, &b| {
            let ra = coords[a].len() as f64 / self.shape[a] as f64;
            let rb = coords[b].len() as f64 / self.shape[b] as f64;
            ra.total_cmp(&rb).then(b.cmp(&a))
        });

        let mut dims = self.shape;
        let mut cur: Vec<f64> = Vec::new();
        for (step, &k) in order.iter().enumerate() {
            let outer: usize = dims[..k].iter().product();
            let inner: usize = dims[k + 1..].iter().product();
            let m = coords[k].len();
            let src: &[f64] = if step == 0 { &self.coefs } else { &cur };
            if step + 1 == D {
                contract_axis(src, outer, dims[k], inner, &weights[k], out);
                if !zero {
                    self.rescue_non_finite(&coords, orders, out);
                }
            } else {
                // A fresh zeroed allocation: large ones come from the OS
                // already zeroed, with no pass over the memory.
                let mut next = vec![0.0; outer * m * inner];
                contract_axis(src, outer, dims[k], inner, &weights[k], &mut next);
                cur = next;
            }
            dims[k] = m;
        }
        Ok(())
    }

    /// Recomputes, point by point with exponent tracking, the outputs that
    /// the separable contraction could not represent although their
    /// coordinates are finite (extreme knot spacings, points far outside
    /// the domain): one pass that finds none in the common case.
    fn rescue_non_finite(&self, coords: &[&[f64]; D], orders: [usize; D], out: &mut [f64]) {
        if out.iter().all(|v| v.is_finite()) {
            return;
        }
        for (flat, v) in out.iter_mut().enumerate() {
            if v.is_finite() {
                continue;
            }
            let mut rest = flat;
            let mut p = [0.0; D];
            for k in (0..D).rev() {
                let m = coords[k].len();
                p[k] = coords[k][rest % m];
                rest /= m;
            }
            if p.iter().all(|c| c.is_finite()) {
                *v = self.eval_deriv(p, orders);
            }
        }
    }

    /// `W_k` at `xs` for derivative order `order`, under the spline's
    /// extrapolation policy; all-zero rows when `zero` (NaN rows stay NaN).
    fn axis_weights(&self, k: usize, xs: &[f64], order: usize, zero: bool) -> AxisWeights {
        let t = &self.knots[k][..];
        let (lo, hi) = self.axis_domain(k);
        xs.iter()
            .map(|&x| {
                let x = self.wrap(k, x);
                let x = match self.extrapolate {
                    super::Extrapolate::Polynomial => x,
                    super::Extrapolate::Clamp => x.clamp(lo, hi),
                    super::Extrapolate::Nan => {
                        if !(x >= lo && x <= hi) {
                            return (0, [f64::NAN; ORDER]);
                        }
                        x
                    }
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

/// Number of grid points, checked for overflow.
fn grid_len<const D: usize>(coords: &[&[f64]; D]) -> Result<usize, FitError> {
    coords
        .iter()
        .try_fold(1usize, |a, c| a.checked_mul(c.len()))
        .ok_or_else(|| FitError::InvalidParameter {
            name: "coords",
            reason: format!(
                "the grid of shape {:?} has more points than fit in memory",
                coords.map(|c| c.len())
            ),
        })
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
