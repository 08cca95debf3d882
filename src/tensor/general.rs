//! General-width evaluation: splines with an axis of degree 1, 2, 4 or 5.
//!
//! At a point each axis `a` of degree `k_a` contributes its knot span
//! ([`find_span_k`]) and `k_a + 1` basis weights ([`basis_k`],
//! [`basis_derivs_k`]); the result is the contraction of the
//! `(k_0+1) × … × (k_{D-1}+1)` coefficient block. The tuned cubic kernels
//! ([`super::kernel`]) are untouched: the driver, the single-point entry and
//! the grid path branch here once per call (or per run of points) when
//! [`TensorSpline::degrees`] has an axis that is not cubic, and everything
//! around the kernel (policies, periodic wrapping, runs in parallel, cell
//! order, value shapes, outputs) is the same.
//!
//! The contraction runs with the ISA's vectors along the innermost axis
//! ([`contract_lanes`](TensorSpline::contract_lanes)): per row of the
//! outer axes one fused multiply-add of the row's product weight with the
//! row's `k + 1` contiguous coefficients (one or two vector loads), and one
//! dot product with the innermost weights at the end. The scalar reference
//! ([`contract_ref`](TensorSpline::contract_ref)) is the same sum in the
//! natural order; it serves value shapes, blocks at the end of the array,
//! and the scalar ISA.
//!
//! Partial derivatives of order above the degree of their axis are 0.

use super::TensorSpline;
use super::kernel::{Batch, Multi, PointWrite, Src};
use crate::bspline::{
    MAX_ORDER,
    basis::{basis_derivs_k, basis_k},
    knots::find_span_k,
};
use crate::isa::Vf64;

/// Basis rows of every axis: `rows[a][o][r]`, derivative order `o`.
pub(super) type Rows<const D: usize> = [[[f64; MAX_ORDER]; MAX_ORDER]; D];

/// Lanes of a row of a power-form table (the `k + 1 ≤ 6` basis functions,
/// padded to one AVX-512 vector, two AVX2 vectors).
const LANES: usize = 8;

/// The basis of one knot span in power form: with `u = (x − t0)·inv_h`,
/// `B_{s−k+r}(x) = Σ_j c[j][r] u^j` (the Taylor coefficients at the span's
/// left end, `c[j][r] = B^{(j)}(t0) h^j / j!`).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct PowerSpanK {
    t0: f64,
    inv_h: f64,
    c: [[f64; LANES]; MAX_ORDER],
}

/// What the general-width kernels know about one axis: its degree, the
/// O(1) span lookup of uniformly spaced sites, and the power form of every
/// span.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct GenAxis {
    k: usize,
    /// `(x_0, 1/h, m)` for uniformly spaced sites, `m = (k − 1)/2`.
    uniform: Option<(f64, f64, usize)>,
    /// Spans `k ..= n − 1`, entry `s − k`.
    power: Vec<PowerSpanK>,
}

impl GenAxis {
    /// The tables of an axis of degree `k` with the clamped not-a-knot
    /// knot vector `t`.
    pub(super) fn new(t: &[f64], k: usize) -> GenAxis {
        let n = t.len() - k - 1;
        let m = (k.max(1) - 1) / 2;
        // Uniform sites: the interior knots t[i] = x_0 + (i − k + m)·h.
        let (x0, x1) = (t[k], t[n]);
        let h = (x1 - x0) / (n - 1) as f64;
        let tol = 1e-9 * h;
        let uniform = if h > 0.0
            && h.is_finite()
            && (k + 1..n).all(|i| (t[i] - (x0 + (i + m - k) as f64 * h)).abs() <= tol)
        {
            Some((x0, 1.0 / h, m))
        } else {
            None
        };
        let power = (k..n)
            .map(|s| {
                let (a, b) = (t[s], t[s + 1]);
                let h = b - a;
                let d = basis_derivs_k(t, k, s, a, k);
                let mut c = [[0.0; LANES]; MAX_ORDER];
                let mut hp = 1.0;
                let mut fact = 1.0;
                for (j, cj) in c.iter_mut().enumerate().take(k + 1) {
                    if j > 0 {
                        hp *= h;
                        fact *= j as f64;
                    }
                    for (v, &dr) in cj.iter_mut().zip(&d[j]).take(k + 1) {
                        *v = dr * hp / fact;
                    }
                }
                PowerSpanK {
                    t0: a,
                    inv_h: 1.0 / h,
                    c,
                }
            })
            .collect();
        GenAxis { k, uniform, power }
    }

    /// Knot span of `x` (equal to [`find_span_k`]; O(1) on uniform sites).
    #[inline(always)]
    fn span(&self, t: &[f64], x: f64) -> usize {
        let k = self.k;
        match self.uniform {
            Some((x0, inv_h, m)) => {
                let n = t.len() - k - 1;
                // ⌊(x − x0)/h⌋ − m + k clamped to [k, n − 1]; one corrective
                // step each way for the rounding of the multiply.
                let g = ((x - x0) * inv_h) as i64 - m as i64;
                let s = k + g.clamp(0, (n - 1 - k) as i64) as usize;
                let up = (s < n - 1) && (x >= t[s + 1]);
                let down = (s > k) && (x < t[s]);
                s + up as usize - down as usize
            }
            None => find_span_k(t, k, x),
        }
    }
}

impl<const D: usize> TensorSpline<D> {
    /// Spans of all axes (degree-aware) and the flat offset of the block.
    #[inline(always)]
    pub(super) fn locate_general(&self, x: &[f64; D]) -> ([usize; D], usize) {
        let mut spans = [0usize; D];
        let mut base = 0usize;
        for a in 0..D {
            let g = &self.gen_axes[a];
            let s = if self.kernels == crate::isa::Kernels::Scalar {
                find_span_k(&self.knots[a], g.k, x[a])
            } else {
                g.span(&self.knots[a], x[a])
            };
            spans[a] = s;
            base += (s - g.k) * self.strides[a];
        }
        (spans, base)
    }

    /// Basis rows `0..=nd` of every axis at `x` by the recurrence (the
    /// reference; rows above `nd` are not written).
    #[inline(always)]
    fn rows_ref(&self, spans: &[usize; D], x: &[f64; D], nd: usize, rows: &mut Rows<D>) {
        for a in 0..D {
            let (t, k) = (&self.knots[a][..], self.degrees[a].get());
            if nd == 0 {
                rows[a][0] = basis_k(t, k, spans[a], x[a]);
            } else {
                rows[a] = basis_derivs_k(t, k, spans[a], x[a], nd);
            }
        }
    }

    /// Basis rows `0..=nd` of every axis at `x`: Horner on the power form
    /// of each span with `V`'s lanes over the basis functions, or the
    /// recurrence ([`rows_ref`](Self::rows_ref)) on the scalar ISA and where
    /// a coordinate is outside its span (outside the domain).
    ///
    /// # Safety
    /// `V`'s ISA is available on this CPU.
    #[inline(always)]
    unsafe fn rows_general<V: Vf64>(
        &self,
        spans: &[usize; D],
        x: &[f64; D],
        nd: usize,
        rows: &mut Rows<D>,
    ) {
        if V::W == 1 {
            return self.rows_ref(spans, x, nd, rows);
        }
        let mut ps: [&PowerSpanK; D] = std::array::from_fn(|a| &self.gen_axes[a].power[0]);
        let mut us = [0.0; D];
        let mut inside = true;
        for a in 0..D {
            let p = &self.gen_axes[a].power[spans[a] - self.gen_axes[a].k];
            let u = (x[a] - p.t0) * p.inv_h;
            inside &= (0.0..=1.0).contains(&u);
            us[a] = u;
            ps[a] = p;
        }
        if !inside {
            return self.rows_ref(spans, x, nd, rows);
        }
        let mut buf = [0.0f64; LANES];
        for a in 0..D {
            let (p, k) = (ps[a], self.gen_axes[a].k);
            let chunks = (k + 1).div_ceil(V::W);
            // SAFETY: the ISA by the caller's contract; every row of `c`
            // holds LANES ≥ chunks·W values, as does `buf`.
            unsafe {
                let u = V::splat(us[a]);
                let mut scale = 1.0;
                for o in 0..=nd.min(k) {
                    for ch in 0..chunks {
                        let off = ch * V::W;
                        // Σ_{j ≥ o} j!/(j−o)! c_j u^{j−o}, by Horner.
                        let mut acc = V::splat(0.0);
                        for j in (o..=k).rev() {
                            let mut f = 1.0;
                            for i in 0..o {
                                f *= (j - i) as f64;
                            }
                            let cj = V::load(p.c[j].as_ptr().add(off));
                            acc = acc.mul_add(u, cj.mul(V::splat(f)));
                        }
                        acc.mul(V::splat(scale)).store(buf.as_mut_ptr().add(off));
                    }
                    rows[a][o].copy_from_slice(&buf[..MAX_ORDER]);
                    scale *= p.inv_h;
                }
            }
        }
    }

    /// The scalar reference contraction of the block at `base` (component
    /// offset included) with the weights `w`: `Σ_r Π_a w[a][r_a] ·
    /// c[base + Σ_a r_a·strides[a]]`.
    #[inline(always)]
    pub(super) fn contract_ref(&self, base: usize, w: &[[f64; MAX_ORDER]; D]) -> f64 {
        let widths: [usize; D] = std::array::from_fn(|a| self.degrees[a].order());
        let total: usize = widths.iter().product();
        let mut sum = 0.0;
        for q in 0..total {
            let mut rem = q;
            let mut weight = 1.0;
            let mut off = base;
            for a in (0..D).rev() {
                let r = rem % widths[a];
                rem /= widths[a];
                weight *= w[a][r];
                off += r * self.strides[a];
            }
            sum += weight * self.coefs[off];
        }
        sum
    }

    /// The contraction at `base` of a scalar spline with `V`'s lanes along
    /// the innermost axis (see the module docs); the scalar reference where
    /// the block's padded rows would read past the array.
    ///
    /// # Safety
    /// `V`'s ISA is available on this CPU.
    #[inline(always)]
    pub(super) unsafe fn contract_lanes<V: Vf64>(
        &self,
        base: usize,
        w: &[[f64; MAX_ORDER]; D],
    ) -> f64 {
        let last = D - 1;
        let wl = self.degrees[last].order();
        let nv = wl.div_ceil(V::W);
        // The last element a padded row reads.
        let end = base
            + (0..last)
                .map(|a| self.degrees[a].get() * self.strides[a])
                .sum::<usize>()
            + nv * V::W;
        if self.ncomp != 1 || end > self.coefs.len() || nv > 8 {
            return self.contract_ref(base, w);
        }
        let mut wpad = [0.0f64; 8];
        wpad[..wl].copy_from_slice(&w[last][..wl]);
        // SAFETY: forwarded contract; the rows read lie in [base, end).
        unsafe {
            match nv {
                1 => self.contract_nv::<V, 1>(base, w, &wpad),
                2 => self.contract_nv::<V, 2>(base, w, &wpad),
                _ => self.contract_ref(base, w),
            }
        }
    }

    /// [`contract_lanes`](Self::contract_lanes) with `NV` vectors per
    /// innermost row: per index of the axes `0..D−2` (odometer, prefix
    /// weights), the `k + 1` rows along axis `D−2` in two independent
    /// multiply-add chains, then one multiply-add into one of two
    /// alternating accumulators, so that no chain is longer than a few
    /// dependent operations per row.
    ///
    /// # Safety
    /// `V`'s ISA is available; every padded row of the block
    /// (`NV·W` values from each row start) lies inside `coefs`.
    #[inline(always)]
    #[allow(clippy::needless_range_loop)] // several arrays indexed in lockstep
    unsafe fn contract_nv<V: Vf64, const NV: usize>(
        &self,
        base: usize,
        w: &[[f64; MAX_ORDER]; D],
        wpad: &[f64; 8],
    ) -> f64 {
        let c = self.coefs.as_ptr();
        // SAFETY: the caller's contract (ISA; rows in bounds).
        unsafe {
            let zero = V::splat(0.0);
            let finish = |acc: [V; NV]| -> f64 {
                let mut sum = 0.0;
                for (v, a) in acc.iter().enumerate() {
                    sum += a.mul(V::load(wpad.as_ptr().add(v * V::W))).reduce_add();
                }
                sum
            };
            if D == 1 {
                let acc: [V; NV] = std::array::from_fn(|v| V::load(c.add(base + v * V::W)));
                return finish(acc);
            }
            let pen = D - 2;
            let (w2, s2) = (self.degrees[pen].order(), self.strides[pen]);
            let wp = &w[pen];
            let widths: [usize; D] = std::array::from_fn(|a| self.degrees[a].order());
            let mut idx = [0usize; D];
            let mut pw = [1.0f64; 8];
            let mut po = [base; 8];
            for j in 0..pen {
                pw[j + 1] = pw[j] * w[j][0];
                po[j + 1] = po[j];
            }
            let mut acc0 = [zero; NV];
            let mut acc1 = [zero; NV];
            let mut odd = false;
            loop {
                let p = c.add(po[pen]);
                let mut t0 = [zero; NV];
                let mut t1 = [zero; NV];
                let mut j = 0;
                while j + 1 < w2 {
                    let (wa, wb) = (V::splat(wp[j]), V::splat(wp[j + 1]));
                    let (ra, rb) = (p.add(j * s2), p.add((j + 1) * s2));
                    for v in 0..NV {
                        t0[v] = V::load(ra.add(v * V::W)).mul_add(wa, t0[v]);
                        t1[v] = V::load(rb.add(v * V::W)).mul_add(wb, t1[v]);
                    }
                    j += 2;
                }
                if j < w2 {
                    let wa = V::splat(wp[j]);
                    let ra = p.add(j * s2);
                    for v in 0..NV {
                        t0[v] = V::load(ra.add(v * V::W)).mul_add(wa, t0[v]);
                    }
                }
                let wo = V::splat(pw[pen]);
                let acc = if odd { &mut acc1 } else { &mut acc0 };
                for v in 0..NV {
                    acc[v] = t0[v].add(t1[v]).mul_add(wo, acc[v]);
                }
                odd = !odd;
                // Next index of the axes 0..pen (the last of them fastest).
                let mut j = pen;
                loop {
                    if j == 0 {
                        let acc: [V; NV] = std::array::from_fn(|v| acc0[v].add(acc1[v]));
                        return finish(acc);
                    }
                    j -= 1;
                    idx[j] += 1;
                    if idx[j] < widths[j] {
                        break;
                    }
                    idx[j] = 0;
                }
                pw[j + 1] = pw[j] * w[j][idx[j]];
                po[j + 1] = po[j] + idx[j] * self.strides[j];
                for jj in j + 1..pen {
                    pw[jj + 1] = pw[jj] * w[jj][0];
                    po[jj + 1] = po[jj];
                }
            }
        }
    }

    /// The outputs `orders` at `x` (boundary polynomials outside the
    /// domain), `comps` components each (the first `comps` of the value
    /// shape), into `dst` (`orders.len() · comps` values, output-major).
    ///
    /// # Safety
    /// `V`'s ISA is available on this CPU.
    #[inline(always)]
    pub(super) unsafe fn general_point<V: Vf64>(
        &self,
        x: [f64; D],
        orders: &[[usize; D]],
        comps: usize,
        dst: &mut [f64],
    ) {
        let degree = |a: usize| self.degrees[a].get();
        let above = |p: &[usize; D]| (0..D).any(|a| p[a] > degree(a));
        if x.iter().any(|c| c.is_nan()) {
            // The weights of the top order do not depend on x: a NaN
            // coordinate must still give NaN.
            for (j, p) in orders.iter().enumerate() {
                let v = if above(p) { 0.0 } else { f64::NAN };
                dst[j * comps..(j + 1) * comps].fill(v);
            }
            return;
        }
        let nd = orders
            .iter()
            .filter(|p| !above(p))
            .flat_map(|p| p.iter().copied())
            .max()
            .unwrap_or(0);
        let (spans, base) = self.locate_general(&x);
        let mut rows: Rows<D> = [[[0.0; MAX_ORDER]; MAX_ORDER]; D];
        // SAFETY: the caller's contract.
        unsafe { self.rows_general::<V>(&spans, &x, nd, &mut rows) };
        for (j, p) in orders.iter().enumerate() {
            let out = &mut dst[j * comps..(j + 1) * comps];
            if above(p) {
                out.fill(0.0);
                continue;
            }
            let w: [[f64; MAX_ORDER]; D] = std::array::from_fn(|a| rows[a][p[a]]);
            if self.ncomp == 1 {
                // SAFETY: the caller's contract.
                out[0] = unsafe { self.contract_lanes::<V>(base, &w) };
            } else {
                for (c, o) in out.iter_mut().enumerate() {
                    *o = self.contract_ref(base + c, &w);
                }
            }
        }
    }
}

/// The orders of the gradient: the unit vectors.
#[inline(always)]
pub(super) fn grad_orders<const D: usize>() -> [[usize; D]; D] {
    std::array::from_fn(|k| std::array::from_fn(|j| usize::from(j == k)))
}

/// The orders of the Hessian, row-major (the first `D·D` entries).
#[inline(always)]
pub(super) fn hessian_orders<const D: usize>() -> [[usize; D]; 36] {
    std::array::from_fn(|q| {
        let (i, j) = (q / D, q % D);
        std::array::from_fn(|a| usize::from(a == i) + usize::from(a == j))
    })
}

/// Grid points per task of [`TensorSpline::grid_general`].
const GRID_CHUNK: usize = 256;

impl<const D: usize> TensorSpline<D> {
    /// The grid `coords` into `out` (`(grid, outputs, components)`,
    /// non-empty) for a spline with an axis that is not cubic: runs of
    /// [`GRID_CHUNK`] grid points (row-major) in parallel, each one batch
    /// of the multi-output op under `policy`.
    pub(super) fn grid_general(
        &self,
        coords: [&[f64]; D],
        policy: &[super::Extrapolate; D],
        orders: &[[usize; D]],
        out: &mut [f64],
    ) {
        use rayon::prelude::*;
        let op = Multi::new(orders);
        let width = op.width(self);
        if width == 0 {
            return;
        }
        let lens: [usize; D] = std::array::from_fn(|a| coords[a].len());
        out.par_chunks_mut(GRID_CHUNK * width)
            .enumerate()
            .for_each(|(c, o)| {
                let m = o.len() / width;
                let mut pts = [[0.0f64; D]; GRID_CHUNK];
                for (i, p) in pts.iter_mut().enumerate().take(m) {
                    let mut rem = c * GRID_CHUNK + i;
                    for a in (0..D).rev() {
                        p[a] = coords[a][rem % lens[a]];
                        rem /= lens[a];
                    }
                }
                self.kernels.dispatch(Batch {
                    s: self,
                    policy: *policy,
                    op,
                    src: Src::Slice(&pts[..m]),
                    out: o,
                });
            });
    }
}
