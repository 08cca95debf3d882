//! The `4^D` block contraction for vector-valued coefficients.
//!
//! A spline with value shape `vshape` stores its coefficients row-major as
//! `(m_0, …, m_{D-1}, *vshape)`: the `nc = Π vshape` components of one
//! coefficient are contiguous, and the flat stride of the last axis is `nc`.
//! At a point with per-axis weights `w_k`, component `j` of the result is
//! `Σ_{r ∈ {0..3}^D} Π_k w_k[r_k] · c[base + Σ_k r_k·stride_k + j]`: the same
//! weights for every component, so the basis is computed once per point and
//! the components are contracted together with the lanes of a vector
//! holding consecutive components ([`contract_vec`]).
//!
//! The scalar reference is `crate::isa::contract_scalar`, one component
//! at any innermost stride.

use crate::bspline::ORDER;
use crate::isa::{Vf64, contract_scalar as contract_strided};

/// Every component of the contraction at `base`: `dst[j]` for `j < nc =
/// dst.len()`, the components of one coefficient contiguous
/// (`strides[D-1] == nc`), with the lanes of `V` over components. Equal to
/// the scalar reference at `base + j` up to rounding (a different
/// summation order).
///
/// # Safety
/// `V`'s ISA is available on this CPU.
///
/// Bounds are checked here: if the block's last element
/// `base + Σ_k 3·strides[k] + nc − 1` is not below `c.len()`, or the
/// innermost stride is not `nc`, the scalar reference runs instead.
#[inline(always)]
pub(crate) unsafe fn contract_vec<V: Vf64, const D: usize>(
    c: &[f64],
    strides: &[usize; D],
    base: usize,
    w: &[[f64; ORDER]; D],
    dst: &mut [f64],
) {
    let nc = dst.len();
    let last = D - 1;
    let end = base + (0..D).map(|k| 3 * strides[k]).sum::<usize>() + nc;
    if nc == 0 || end > c.len() || strides[last] != nc {
        for (j, d) in dst.iter_mut().enumerate() {
            *d = contract_strided(c, strides, base + j, w);
        }
        return;
    }
    let wl = w[last];
    let rows = 1usize << (2 * last);
    // The weight and flat offset of outer row `q` (digits of `q` in base 4,
    // the last outer axis fastest).
    let row_at = |q: usize| -> (f64, usize) {
        let mut weight = 1.0;
        let mut o = base;
        for k in 0..last {
            let d = (q >> (2 * (last - 1 - k))) & 3;
            weight *= w[k][d];
            o += d * strides[k];
        }
        (weight, o)
    };
    // The weights and offsets of the outer rows, tabulated once per point
    // where there are at most 64 of them (D ≤ 4); beyond, per row.
    let mut wq = [0.0f64; 64];
    let mut oq = [0usize; 64];
    let tabled = rows <= wq.len();
    if tabled {
        wq[0] = 1.0;
        oq[0] = base;
        let mut n = 1;
        for k in 0..last {
            // Expand in place from the end: row `i` becomes rows
            // `4i..4i+4` (the new axis fastest), read before it is written.
            for i in (0..n).rev() {
                let (wi, oi) = (wq[i], oq[i]);
                for d in (0..ORDER).rev() {
                    wq[4 * i + d] = wi * w[k][d];
                    oq[4 * i + d] = oi + d * strides[k];
                }
            }
            n *= 4;
        }
    }
    let row = |q: usize| -> (f64, usize) {
        if tabled {
            return (wq[q], oq[q]);
        }
        row_at(q)
    };
    let cp = c.as_ptr();
    let dp = dst.as_mut_ptr();
    let mut j = 0;
    // SAFETY (every load below): element `oq + r·nc + j + i` with
    // `r ≤ 3`, `j + i < nc`, lies in the block whose last element
    // `base + Σ 3·strides[k] + nc − 1 < c.len()` (checked above);
    // stores go to `dst[j..j + lanes]` with `j + lanes ≤ nc`; the ISA by the
    // caller's contract.
    unsafe {
        while j + 4 * V::W <= nc {
            let mut acc = [V::splat(0.0); 4];
            for q in 0..rows {
                let (wq, oq) = row(q);
                for (r, &wr) in wl.iter().enumerate() {
                    let wv = V::splat(wq * wr);
                    let p = cp.add(oq + r * nc + j);
                    for (b, a) in acc.iter_mut().enumerate() {
                        *a = V::load(p.add(b * V::W)).mul_add(wv, *a);
                    }
                }
            }
            for (b, a) in acc.iter().enumerate() {
                a.store(dp.add(j + b * V::W));
            }
            j += 4 * V::W;
        }
        while j + V::W <= nc {
            // One accumulator per digit of the last axis (four independent
            // FMA chains weighted by the outer rows only); the last axis's
            // weights are applied once at the end.
            let mut acc = [V::splat(0.0); 4];
            for q in 0..rows {
                let (wq, oq) = row(q);
                let wv = V::splat(wq);
                let p = cp.add(oq + j);
                for (r, a) in acc.iter_mut().enumerate() {
                    *a = V::load(p.add(r * nc)).mul_add(wv, *a);
                }
            }
            let v = acc[1].mul_add(V::splat(wl[1]), acc[0].mul(V::splat(wl[0])));
            let v = acc[2].mul_add(V::splat(wl[2]), v);
            acc[3].mul_add(V::splat(wl[3]), v).store(dp.add(j));
            j += V::W;
        }
    }
    for (jj, d) in dst.iter_mut().enumerate().skip(j) {
        let mut acc = 0.0;
        for q in 0..rows {
            let (wq, oq) = row(q);
            for (r, &wr) in wl.iter().enumerate() {
                acc += wq * wr * c[oq + r * nc + jj];
            }
        }
        *d = acc;
    }
}
