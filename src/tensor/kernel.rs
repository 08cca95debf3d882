//! Fused evaluation kernels: for each point the span search, the basis of
//! every axis and the `4^D` contraction are compiled together inside one
//! `#[target_feature]` function of the spline's ISA
//! ([`Kernels::dispatch`](crate::isa::Kernels)), entered once per call for a
//! single point and once per chunk of points for the batches, so nothing in
//! between is an out-of-line call and the weights stay in registers.
//!
//! What is computed per point is written down once, as a [`PointOp`]; the
//! scalar ISA instantiates the same op with the reference kernels
//! ([`basis`], [`basis_derivs`], the scalar contraction), which every fast
//! path is tested against.

use super::contract::contract_vec;
use super::general::{grad_orders, hessian_orders};
use super::tree::Tree;
use super::{Extrapolate, TensorSpline};
use crate::bspline::{
    ORDER,
    basis::{basis, basis_derivs},
    power::PowerSpan,
};
use crate::isa::{Simd, Vf64, WithSimd, contract_scalar, simd_basis_axes, simd_basis_axes_values};
use ndarray::ArrayView2;

/// One evaluation at one point, generic over the vector ISA.
pub(super) trait PointOp<const D: usize>: Copy {
    /// The result at one point.
    type Out: Copy;
    /// The result where the extrapolation policy gives NaN.
    const NAN: Self::Out;
    /// The result at `x` (boundary polynomials outside the domain).
    ///
    /// # Safety
    /// `V`'s ISA is available on this CPU.
    unsafe fn at<V: Vf64>(self, s: &TensorSpline<D>, x: [f64; D]) -> Self::Out;
    /// [`at`](Self::at) for a spline with an axis that is not cubic (the
    /// general-width kernels of `super::general`).
    ///
    /// # Safety
    /// `V`'s ISA is available on this CPU.
    unsafe fn at_general<V: Vf64>(self, s: &TensorSpline<D>, x: [f64; D]) -> Self::Out;
}

/// The value.
#[derive(Clone, Copy)]
pub(super) struct Value;

/// The mixed partial derivative of the given orders.
#[derive(Clone, Copy)]
pub(super) struct Deriv<const D: usize>(pub(super) [usize; D]);

/// The gradient.
#[derive(Clone, Copy)]
pub(super) struct Grad;

/// The Hessian.
#[derive(Clone, Copy)]
pub(super) struct Hessian;

impl<const D: usize> TensorSpline<D> {
    /// Basis values of every axis at `x` (spans from [`span`](Self::span)).
    ///
    /// # Safety
    /// `V`'s ISA is available; the spans are valid.
    #[inline(always)]
    unsafe fn values_v<V: Vf64>(&self, spans: &[usize; D], x: &[f64; D]) -> [[f64; ORDER]; D] {
        if V::W > 1 && <V::Quad as Vf64>::W == 4 && self.power_all {
            // SAFETY: the caller's contract.
            if let Some(w) = unsafe { self.power_v::<V::Quad, 0>(spans, x) } {
                return std::array::from_fn(|k| w[k][0]);
            }
        }
        let knots: [&[f64]; D] = std::array::from_fn(|k| &self.knots[k][..]);
        // SAFETY: the caller's contract; D is within the lanes used.
        unsafe {
            if V::W > 1 && D <= 4 && <V::Quad as Vf64>::W == 4 {
                simd_basis_axes_values::<V::Quad, D>(&knots, spans, x)
            } else if V::W > 1 && D <= V::W {
                simd_basis_axes_values::<V, D>(&knots, spans, x)
            } else {
                std::array::from_fn(|k| basis(knots[k], spans[k], x[k]))
            }
        }
    }

    /// Basis rows `0..=ND` (`ND ≤ 2`; rows above `ND` are zero) of every
    /// axis from the power-form span tables ([`crate::bspline::power`]):
    /// per axis three fused multiply-adds on a vector of the four basis
    /// functions. `None` where a coordinate is not inside its span
    /// (`v ∉ [0, 1]`: outside the domain, or NaN), which the recurrence
    /// handles.
    ///
    /// # Safety
    /// `Q`'s ISA is available and `Q::W == 4`; every axis has its table
    /// (`power_all`); the spans are valid.
    #[inline(always)]
    unsafe fn power_v<Q: Vf64, const ND: usize>(
        &self,
        spans: &[usize; D],
        x: &[f64; D],
    ) -> Option<[[[f64; ORDER]; 3]; D]> {
        let mut inside = true;
        let mut vs = [0.0; D];
        let mut ps: [&PowerSpan; D] = [&self.power[0][0]; D];
        for k in 0..D {
            // A valid span s has its table entry at s − 3 (the table holds
            // every span of the axis).
            let p = &self.power[k][spans[k] - 3];
            let v = (x[k] - p.t0) * p.inv_h;
            inside &= (0.0..=1.0).contains(&v);
            vs[k] = v;
            ps[k] = p;
        }
        if !inside {
            return None;
        }
        let mut out = [[[0.0; ORDER]; 3]; D];
        // SAFETY: the caller's contract (ISA, Q::W == 4); every row of
        // `c` holds four values, as does every output row.
        unsafe {
            for k in 0..D {
                let p = ps[k];
                let v = Q::splat(vs[k]);
                let c0 = Q::load(p.c[0].as_ptr());
                let c1 = Q::load(p.c[1].as_ptr());
                let c2 = Q::load(p.c[2].as_ptr());
                let c3 = Q::load(p.c[3].as_ptr());
                c3.mul_add(v, c2)
                    .mul_add(v, c1)
                    .mul_add(v, c0)
                    .store(out[k][0].as_mut_ptr());
                if ND >= 1 {
                    let ih = Q::splat(p.inv_h);
                    let two = Q::splat(2.0);
                    let d2 = c2.mul(two);
                    let d3 = c3.mul(Q::splat(3.0));
                    d3.mul_add(v, d2)
                        .mul_add(v, c1)
                        .mul(ih)
                        .store(out[k][1].as_mut_ptr());
                    if ND >= 2 {
                        let e3 = c3.mul(Q::splat(6.0));
                        e3.mul_add(v, d2)
                            .mul(ih.mul(ih))
                            .store(out[k][2].as_mut_ptr());
                    }
                }
            }
        }
        Some(out)
    }

    /// Basis rows `0..=nd` (`1 ≤ nd ≤ 2`) of every axis at `x`.
    ///
    /// # Safety
    /// As [`values_v`](Self::values_v).
    #[inline(always)]
    unsafe fn derivs_v<V: Vf64>(
        &self,
        spans: &[usize; D],
        x: &[f64; D],
        nd: usize,
    ) -> [[[f64; ORDER]; 3]; D] {
        if V::W > 1 && <V::Quad as Vf64>::W == 4 && self.power_all {
            // SAFETY: the caller's contract.
            let w = unsafe {
                if nd == 1 {
                    self.power_v::<V::Quad, 1>(spans, x)
                } else {
                    self.power_v::<V::Quad, 2>(spans, x)
                }
            };
            if let Some(w) = w {
                return w;
            }
        }
        let knots: [&[f64]; D] = std::array::from_fn(|k| &self.knots[k][..]);
        // SAFETY: the caller's contract; D is within the lanes used.
        unsafe {
            if V::W > 1 && D <= 4 && <V::Quad as Vf64>::W == 4 {
                simd_basis_axes::<V::Quad, D>(&knots, spans, x, nd)
            } else if V::W > 1 && D <= V::W {
                simd_basis_axes::<V, D>(&knots, spans, x, nd)
            } else {
                std::array::from_fn(|k| {
                    let d = basis_derivs(knots[k], spans[k], x[k], nd);
                    [d[0], d[1], d[2]]
                })
            }
        }
    }

    /// The `4^D` contraction at `base` with `V`'s kernel.
    ///
    /// # Safety
    /// `V`'s ISA is available.
    #[inline(always)]
    unsafe fn contract_v<V: Vf64>(&self, base: usize, w: &[[f64; ORDER]; D]) -> f64 {
        let last = base + (0..D).map(|k| 3 * self.strides[k]).sum::<usize>();
        // (Vector-valued splines: component 0, at innermost stride nc, by
        // the scalar reference.)
        if self.ncomp == 1 && V::W > 1 && last < self.coefs.len() {
            // SAFETY: the block's last element is in bounds (checked just
            // above); the ISA by the caller's contract.
            unsafe { V::contract_block(&self.coefs, &self.strides, base, w) }
        } else {
            contract_scalar(&self.coefs, &self.strides, base, w)
        }
    }
}

impl<const D: usize> PointOp<D> for Value {
    type Out = f64;
    const NAN: f64 = f64::NAN;
    #[inline(always)]
    unsafe fn at_general<V: Vf64>(self, s: &TensorSpline<D>, x: [f64; D]) -> f64 {
        let mut o = [0.0];
        // SAFETY: forwarded contract.
        unsafe { s.general_point::<V>(x, &[[0; D]], 1, &mut o) };
        o[0]
    }
    #[inline(always)]
    unsafe fn at<V: Vf64>(self, s: &TensorSpline<D>, x: [f64; D]) -> f64 {
        let (spans, base) = s.locate(&x);
        // SAFETY: the caller's contract; spans from `locate`.
        let v = unsafe {
            let w = s.values_v::<V>(&spans, &x);
            s.contract_v::<V>(base, &w)
        };
        s.finite_or_scaled(v, &x, [0; D])
    }
}

impl<const D: usize> PointOp<D> for Deriv<D> {
    type Out = f64;
    const NAN: f64 = f64::NAN;
    #[inline(always)]
    unsafe fn at_general<V: Vf64>(self, s: &TensorSpline<D>, x: [f64; D]) -> f64 {
        let mut o = [0.0];
        // SAFETY: forwarded contract.
        unsafe { s.general_point::<V>(x, &[self.0], 1, &mut o) };
        o[0]
    }
    #[inline(always)]
    unsafe fn at<V: Vf64>(self, s: &TensorSpline<D>, x: [f64; D]) -> f64 {
        let orders = self.0;
        if orders.iter().any(|&o| o > 3) {
            return 0.0;
        }
        let nd = orders.iter().copied().max().unwrap_or(0);
        if nd == 0 {
            // SAFETY: forwarded contract.
            return unsafe { Value.at::<V>(s, x) };
        }
        let (spans, base) = s.locate(&x);
        let w: [[f64; ORDER]; D] = if nd <= 2 {
            // SAFETY: the caller's contract; spans from `locate`.
            let w = unsafe { s.derivs_v::<V>(&spans, &x, nd) };
            std::array::from_fn(|k| w[k][orders[k]])
        } else {
            // Third-derivative weights do not depend on x: a NaN coordinate
            // must still give NaN.
            if x.iter().any(|c| c.is_nan()) {
                return f64::NAN;
            }
            std::array::from_fn(|k| {
                let t = &s.knots[k];
                match orders[k] {
                    0 => basis(t, spans[k], x[k]),
                    o => basis_derivs(t, spans[k], x[k], o)[o],
                }
            })
        };
        // SAFETY: the caller's contract.
        let v = unsafe { s.contract_v::<V>(base, &w) };
        s.finite_or_scaled(v, &x, orders)
    }
}

impl<const D: usize> PointOp<D> for Grad {
    type Out = [f64; D];
    const NAN: [f64; D] = [f64::NAN; D];
    #[inline(always)]
    unsafe fn at_general<V: Vf64>(self, s: &TensorSpline<D>, x: [f64; D]) -> [f64; D] {
        let mut o = [0.0; D];
        // SAFETY: forwarded contract.
        unsafe { s.general_point::<V>(x, &grad_orders::<D>(), 1, &mut o) };
        o
    }
    #[inline(always)]
    unsafe fn at<V: Vf64>(self, s: &TensorSpline<D>, x: [f64; D]) -> [f64; D] {
        let (spans, base) = s.locate(&x);
        // SAFETY: the caller's contract; spans from `locate`.
        let w = unsafe { s.derivs_v::<V>(&spans, &x, 1) };
        let w0: [[f64; ORDER]; D] = std::array::from_fn(|k| w[k][0]);
        let w1: [[f64; ORDER]; D] = std::array::from_fn(|k| w[k][1]);
        let last = base + (0..D).map(|k| 3 * s.strides[k]).sum::<usize>();
        let g = if s.ncomp != 1 {
            std::array::from_fn(|k| {
                let mut wk = w0;
                wk[k] = w1[k];
                contract_scalar(&s.coefs, &s.strides, base, &wk)
            })
        } else if V::W > 1 && last < s.coefs.len() {
            // SAFETY: the block is in bounds (checked just above); the ISA
            // by the caller's contract.
            unsafe { V::contract_grad_block(&s.coefs, &s.strides, base, &w0, &w1) }
        } else {
            // SAFETY: the scalar reference (f64's default method).
            unsafe { f64::contract_grad_block(&s.coefs, &s.strides, base, &w0, &w1) }
        };
        std::array::from_fn(|k| {
            let mut orders = [0; D];
            orders[k] = 1;
            s.finite_or_scaled(g[k], &x, orders)
        })
    }
}

impl<const D: usize> PointOp<D> for Hessian {
    type Out = [[f64; D]; D];
    const NAN: [[f64; D]; D] = [[f64::NAN; D]; D];
    #[inline(always)]
    unsafe fn at_general<V: Vf64>(self, s: &TensorSpline<D>, x: [f64; D]) -> [[f64; D]; D] {
        let mut o = [0.0; 36];
        // SAFETY: forwarded contract.
        unsafe { s.general_point::<V>(x, &hessian_orders::<D>()[..D * D], 1, &mut o[..D * D]) };
        std::array::from_fn(|i| std::array::from_fn(|j| o[i * D + j]))
    }
    #[inline(always)]
    unsafe fn at<V: Vf64>(self, s: &TensorSpline<D>, x: [f64; D]) -> [[f64; D]; D] {
        let (spans, base) = s.locate(&x);
        // SAFETY: the caller's contract; spans from `locate`.
        let w = unsafe { s.derivs_v::<V>(&spans, &x, 2) };
        let w0: [[f64; ORDER]; D] = std::array::from_fn(|k| w[k][0]);
        let mut h = [[0.0; D]; D];
        for i in 0..D {
            for j in i..D {
                let mut wk = w0;
                let mut orders = [0; D];
                if i == j {
                    wk[i] = w[i][2];
                } else {
                    wk[i] = w[i][1];
                    wk[j] = w[j][1];
                }
                orders[i] += 1;
                orders[j] += 1;
                // SAFETY: the caller's contract.
                let v = unsafe { s.contract_v::<V>(base, &wk) };
                h[i][j] = s.finite_or_scaled(v, &x, orders);
                h[j][i] = h[i][j];
            }
        }
        h
    }
}

/// One point under the spline's policy (or raw: boundary polynomials).
pub(super) struct One<'a, const D: usize, P> {
    pub(super) s: &'a TensorSpline<D>,
    pub(super) op: P,
    pub(super) x: [f64; D],
    /// Skip the extrapolation policy (the caller has applied it).
    pub(super) raw: bool,
}

impl<const D: usize, P: PointOp<D>> WithSimd for One<'_, D, P> {
    type Output = P::Out;
    #[inline(always)]
    fn run<V: Vf64>(self, simd: Simd<V>) -> P::Out {
        let _proof = simd;
        // The caller, compiled for the baseline ISA, stores the point in
        // 16-byte halves; a 32-byte load of it would stall on store
        // forwarding, so the coordinates are read one at a time, and the
        // default policy's path makes no copy of them.
        let x: [f64; D] = std::array::from_fn(|k| {
            // SAFETY: `k < D`: a read of one initialised element.
            unsafe { std::ptr::read_volatile(&self.x[k]) }
        });
        if self.s.general {
            let x = if self.raw || self.s.plain() {
                Some(x)
            } else {
                self.s.project_other(x)
            };
            return match x {
                // SAFETY: as below.
                Some(x) => unsafe { self.op.at_general::<V>(self.s, x) },
                None => P::NAN,
            };
        }
        if !self.raw && !self.s.plain() {
            return match self.s.project_other(x) {
                // SAFETY: as below.
                Some(x) => unsafe { self.op.at::<V>(self.s, x) },
                None => P::NAN,
            };
        }
        // SAFETY: `simd` proves V's ISA is available (`run` is instantiated
        // by `Kernels::dispatch` inside a function compiled for it).
        unsafe { self.op.at::<V>(self.s, x) }
    }
}

/// What a batch writes per point: `width()` values into the point's slot
/// of the output.
pub(super) trait PointWrite<const D: usize>: Copy {
    /// Values per point on `s`.
    fn width(&self, s: &TensorSpline<D>) -> usize;
    /// The results at `x` (boundary polynomials outside the domain) into
    /// `dst` (`width()` values).
    ///
    /// # Safety
    /// `V`'s ISA is available on this CPU.
    unsafe fn write<V: Vf64>(&self, s: &TensorSpline<D>, x: [f64; D], dst: &mut [f64]);
    /// [`write`](Self::write) for a spline with an axis that is not cubic.
    ///
    /// # Safety
    /// `V`'s ISA is available on this CPU.
    unsafe fn write_general<V: Vf64>(&self, s: &TensorSpline<D>, x: [f64; D], dst: &mut [f64]);
}

impl<const D: usize> PointWrite<D> for Value {
    fn width(&self, _: &TensorSpline<D>) -> usize {
        1
    }
    #[inline(always)]
    unsafe fn write_general<V: Vf64>(&self, s: &TensorSpline<D>, x: [f64; D], dst: &mut [f64]) {
        // SAFETY: forwarded contract.
        dst[0] = unsafe { self.at_general::<V>(s, x) };
    }
    #[inline(always)]
    unsafe fn write<V: Vf64>(&self, s: &TensorSpline<D>, x: [f64; D], dst: &mut [f64]) {
        // SAFETY: forwarded contract.
        dst[0] = unsafe { self.at::<V>(s, x) };
    }
}

impl<const D: usize> PointWrite<D> for Deriv<D> {
    fn width(&self, _: &TensorSpline<D>) -> usize {
        1
    }
    #[inline(always)]
    unsafe fn write_general<V: Vf64>(&self, s: &TensorSpline<D>, x: [f64; D], dst: &mut [f64]) {
        // SAFETY: forwarded contract.
        dst[0] = unsafe { self.at_general::<V>(s, x) };
    }
    #[inline(always)]
    unsafe fn write<V: Vf64>(&self, s: &TensorSpline<D>, x: [f64; D], dst: &mut [f64]) {
        // SAFETY: forwarded contract.
        dst[0] = unsafe { self.at::<V>(s, x) };
    }
}

impl<const D: usize> PointWrite<D> for Grad {
    fn width(&self, _: &TensorSpline<D>) -> usize {
        D
    }
    #[inline(always)]
    unsafe fn write_general<V: Vf64>(&self, s: &TensorSpline<D>, x: [f64; D], dst: &mut [f64]) {
        // SAFETY: forwarded contract.
        dst[..D].copy_from_slice(&unsafe { self.at_general::<V>(s, x) });
    }
    #[inline(always)]
    unsafe fn write<V: Vf64>(&self, s: &TensorSpline<D>, x: [f64; D], dst: &mut [f64]) {
        // SAFETY: forwarded contract.
        dst[..D].copy_from_slice(&unsafe { self.at::<V>(s, x) });
    }
}

impl<const D: usize> PointWrite<D> for Hessian {
    fn width(&self, _: &TensorSpline<D>) -> usize {
        D * D
    }
    #[inline(always)]
    unsafe fn write_general<V: Vf64>(&self, s: &TensorSpline<D>, x: [f64; D], dst: &mut [f64]) {
        // SAFETY: forwarded contract.
        unsafe { s.general_point::<V>(x, &hessian_orders::<D>()[..D * D], 1, &mut dst[..D * D]) };
    }
    #[inline(always)]
    unsafe fn write<V: Vf64>(&self, s: &TensorSpline<D>, x: [f64; D], dst: &mut [f64]) {
        // SAFETY: forwarded contract.
        let h = unsafe { self.at::<V>(s, x) };
        for (row, hr) in dst.chunks_exact_mut(D).zip(&h) {
            row.copy_from_slice(hr);
        }
    }
}

/// Any list of mixed partials, every component of a vector-valued spline:
/// per point the spans and the basis rows up to the highest order asked
/// for are computed once, then each output is one contraction. The result
/// of a point is `(outputs, components)`, row-major.
#[derive(Clone, Copy)]
pub(super) struct Multi<'a, const D: usize> {
    /// Per-axis orders of each output.
    pub(super) partials: &'a [[usize; D]],
    /// The shared-contraction plan of `partials` (scalar splines; see
    /// [`Tree`]), or one contraction per output.
    pub(super) tree: Option<&'a Tree<D>>,
    /// The highest order of any output along any axis (capped at 3: above
    /// it every weight is 0).
    pub(super) max_order: usize,
}

impl<'a, const D: usize> Multi<'a, D> {
    /// The op for `partials` (orders per axis).
    pub(super) fn new(partials: &'a [[usize; D]]) -> Self {
        let max_order = partials
            .iter()
            .flat_map(|p| p.iter().copied())
            .filter(|&o| o <= 3)
            .max()
            .unwrap_or(0);
        Multi {
            partials,
            tree: None,
            max_order,
        }
    }

    /// The op with the shared-contraction plan `tree` (built for the same
    /// partials).
    pub(super) fn with_tree(mut self, tree: Option<&'a Tree<D>>) -> Self {
        self.tree = tree.filter(|t| t.outputs() == self.partials.len());
        self
    }
}

impl<const D: usize> PointWrite<D> for Multi<'_, D> {
    fn width(&self, s: &TensorSpline<D>) -> usize {
        self.partials.len() * s.ncomp
    }
    #[inline(always)]
    unsafe fn write_general<V: Vf64>(&self, s: &TensorSpline<D>, x: [f64; D], dst: &mut [f64]) {
        // SAFETY: forwarded contract.
        unsafe { s.general_point::<V>(x, self.partials, s.ncomp, dst) };
    }
    #[inline(always)]
    unsafe fn write<V: Vf64>(&self, s: &TensorSpline<D>, x: [f64; D], dst: &mut [f64]) {
        let nc = s.ncomp;
        let (spans, base) = s.locate(&x);
        // rows[k][o]: axis k's basis row of derivative order o.
        let mut rows = [[[0.0f64; ORDER]; ORDER]; D];
        match self.max_order {
            0 => {
                // SAFETY: the caller's contract; spans from `locate`.
                let w = unsafe { s.values_v::<V>(&spans, &x) };
                for k in 0..D {
                    rows[k][0] = w[k];
                }
            }
            nd @ (1 | 2) => {
                // SAFETY: the caller's contract; spans from `locate`.
                let w = unsafe { s.derivs_v::<V>(&spans, &x, nd) };
                for k in 0..D {
                    rows[k][..3].copy_from_slice(&w[k]);
                }
            }
            _ => {
                if x.iter().any(|c| c.is_nan()) {
                    // Third-derivative weights do not depend on x: a NaN
                    // coordinate must still give NaN.
                    for (j, p) in self.partials.iter().enumerate() {
                        let v = if p.iter().any(|&o| o > 3) {
                            0.0
                        } else {
                            f64::NAN
                        };
                        dst[j * nc..(j + 1) * nc].fill(v);
                    }
                    return;
                }
                for k in 0..D {
                    rows[k] = basis_derivs(&s.knots[k], spans[k], x[k], 3);
                }
            }
        }
        if nc == 1
            && let Some(tree) = self.tree
            // SAFETY: the caller's contract; `Quad` has 1 or 4 lanes.
            && unsafe { tree.contract::<V::Quad>(&s.coefs, base, &rows, dst) }
        {
            for (v, p) in dst.iter_mut().zip(self.partials) {
                *v = s.finite_or_scaled(*v, &x, *p);
            }
            return;
        }
        for (j, p) in self.partials.iter().enumerate() {
            let out = &mut dst[j * nc..(j + 1) * nc];
            if p.iter().any(|&o| o > 3) {
                out.fill(0.0);
                continue;
            }
            let w: [[f64; ORDER]; D] = std::array::from_fn(|k| rows[k][p[k]]);
            if nc == 1 {
                // SAFETY: the caller's contract.
                let v = unsafe { s.contract_v::<V>(base, &w) };
                out[0] = s.finite_or_scaled(v, &x, *p);
            } else {
                // SAFETY: the caller's contract (bounds checked inside).
                unsafe { contract_vec::<V, D>(&s.coefs, &s.strides, base, &w, out) };
                for (c, v) in out.iter_mut().enumerate() {
                    *v = s.finite_or_scaled_comp(*v, &x, *p, c);
                }
            }
        }
    }
}

/// Where a batch reads its points.
#[derive(Clone, Copy)]
pub(super) enum Src<'a, const D: usize> {
    /// Contiguous row-major points.
    Slice(&'a [[f64; D]]),
    /// The rows of an `(n, D)` view of any layout (`ncols == D`, checked
    /// by the driver).
    View(ArrayView2<'a, f64>),
}

impl<const D: usize> Src<'_, D> {
    /// Number of points.
    pub(super) fn len(&self) -> usize {
        match self {
            Src::Slice(p) => p.len(),
            Src::View(v) => v.nrows(),
        }
    }

    /// Point `i < len()`.
    #[inline(always)]
    fn get(&self, i: usize) -> [f64; D] {
        match self {
            // Coordinates read one at a time: a 32-byte copy of the point
            // through the stack, read back per coordinate, stalls on store
            // forwarding (see `One::run`).
            Src::Slice(p) => {
                let p = &p[i];
                std::array::from_fn(|k| {
                    // SAFETY: `k < D`: a read of one initialised element.
                    unsafe { std::ptr::read_volatile(&p[k]) }
                })
            }
            Src::View(v) => std::array::from_fn(|k| v[[i, k]]),
        }
    }
}

/// The points of `src` under per-axis policies, `op.width()` results per
/// point to `out[i·width..]`: one dispatch for the whole run.
pub(super) struct Batch<'a, const D: usize, P: PointWrite<D>> {
    pub(super) s: &'a TensorSpline<D>,
    /// The per-axis extrapolation policies applied.
    pub(super) policy: [Extrapolate; D],
    pub(super) op: P,
    pub(super) src: Src<'a, D>,
    /// `src.len() · op.width()` values.
    pub(super) out: &'a mut [f64],
}

impl<const D: usize, P: PointWrite<D>> Batch<'_, D, P> {
    /// Point `i` under the policy (`plain`: every axis polynomial), results
    /// to its slot. A method, not a closure: an `#[inline(always)]`
    /// function is compiled inside the `#[target_feature]` caller, a
    /// closure that LLVM declines to inline is not.
    #[inline(always)]
    fn at<V: Vf64>(&mut self, _simd: Simd<V>, plain: bool, width: usize, i: usize) {
        let x = self.src.get(i);
        let dst = &mut self.out[i * width..(i + 1) * width];
        if plain {
            // SAFETY: `_simd` proves V's ISA is available.
            unsafe { self.op.write::<V>(self.s, x, dst) };
        } else {
            match self.s.project_with(&self.policy, x) {
                // SAFETY: `_simd` proves V's ISA is available.
                Some(x) => unsafe { self.op.write::<V>(self.s, x, dst) },
                None => dst.fill(f64::NAN),
            }
        }
    }
}

impl<const D: usize, P: PointWrite<D>> Batch<'_, D, P> {
    /// [`at`](Self::at) with the general-width kernels.
    #[inline(always)]
    fn at_general<V: Vf64>(&mut self, _simd: Simd<V>, plain: bool, width: usize, i: usize) {
        let x = self.src.get(i);
        let dst = &mut self.out[i * width..(i + 1) * width];
        let x = if plain {
            Some(x)
        } else {
            self.s.project_with(&self.policy, x)
        };
        match x {
            // SAFETY: `_simd` proves V's ISA is available.
            Some(x) => unsafe { self.op.write_general::<V>(self.s, x, dst) },
            None => dst.fill(f64::NAN),
        }
    }

    /// The run with the general-width kernels (a spline with an axis that
    /// is not cubic), cell-ordered as the cubic run.
    #[inline(always)]
    fn run_general<V: Vf64>(mut self, simd: Simd<V>, plain: bool, width: usize) {
        let n = self.src.len();
        let Some(shift) = self.s.locality_shift(n) else {
            for i in 0..n {
                self.at_general(simd, plain, width, i);
            }
            return;
        };
        let mut key = [0u16; LOCAL_CHUNK];
        let mut order = [0u16; LOCAL_CHUNK];
        let mut start = 0;
        while start < n {
            let m = LOCAL_CHUNK.min(n - start);
            let mut count = [0u16; LOCAL_BUCKETS + 1];
            for (i, k) in key[..m].iter_mut().enumerate() {
                let (_, base) = self.s.locate_general(&self.src.get(start + i));
                *k = (base >> shift).min(LOCAL_BUCKETS - 1) as u16;
                count[*k as usize + 1] += 1;
            }
            for b in 0..LOCAL_BUCKETS {
                count[b + 1] += count[b];
            }
            for (i, &k) in key[..m].iter().enumerate() {
                let slot = &mut count[k as usize];
                order[*slot as usize] = i as u16;
                *slot += 1;
            }
            for &i in &order[..m] {
                self.at_general(simd, plain, width, start + i as usize);
            }
            start += m;
        }
    }
}

impl<const D: usize, P: PointWrite<D>> WithSimd for Batch<'_, D, P> {
    type Output = ();
    #[inline(always)]
    fn run<V: Vf64>(mut self, simd: Simd<V>) {
        let n = self.src.len();
        let width = self.op.width(self.s);
        let plain = self.policy.iter().all(|&p| p == Extrapolate::Polynomial);
        if self.s.general {
            return self.run_general(simd, plain, width);
        }
        let Some(shift) = self.s.locality_shift(n) else {
            for i in 0..n {
                self.at(simd, plain, width, i);
            }
            return;
        };
        // Cell-ordered evaluation (see `locality_shift`): per run of up to
        // LOCAL_CHUNK points, a counting sort on the block's flat offset
        // `base >> shift`, then the points in bucket order; each result
        // still goes to its own index.
        let mut key = [0u16; LOCAL_CHUNK];
        let mut order = [0u16; LOCAL_CHUNK];
        let mut start = 0;
        while start < n {
            let m = LOCAL_CHUNK.min(n - start);
            let mut count = [0u16; LOCAL_BUCKETS + 1];
            for (i, k) in key[..m].iter_mut().enumerate() {
                let (_, base) = self.s.locate(&self.src.get(start + i));
                // `base < coefs.len()`, so the bucket is below LOCAL_BUCKETS.
                *k = (base >> shift).min(LOCAL_BUCKETS - 1) as u16;
                count[*k as usize + 1] += 1;
            }
            for b in 0..LOCAL_BUCKETS {
                count[b + 1] += count[b];
            }
            for (i, &k) in key[..m].iter().enumerate() {
                let slot = &mut count[k as usize];
                order[*slot as usize] = i as u16;
                *slot += 1;
            }
            for &i in &order[..m] {
                self.at(simd, plain, width, start + i as usize);
            }
            start += m;
        }
    }
}

/// Points per counting sort of a cell-ordered batch (the sort's scratch is
/// two `u16` arrays of this length on the stack, 32 KiB, plus 4 KiB of
/// bucket counts).
pub(super) const LOCAL_CHUNK: usize = 8192;
/// Buckets of the counting sort: contiguous ranges of the coefficient
/// array's flat offsets.
const LOCAL_BUCKETS: usize = 2048;
/// The smallest coefficient array (in values) for which batches are
/// cell-ordered: 512 KiB, this class of machine's L2; below it the 4^D
/// blocks of random points are cache hits anyway.
const LOCAL_MIN_COEFS: usize = 1 << 16;
/// The fewest points per run for which batches are cell-ordered.
const LOCAL_MIN_POINTS: usize = 2048;

impl<const D: usize> TensorSpline<D> {
    /// Whether a batch of `n` points is evaluated in cell order, and the
    /// bucket shift: `Some(s)` with `coefs.len() >> s ≤ LOCAL_BUCKETS`.
    ///
    /// Random points touch a `4^D` block of coefficients each, tens of cache
    /// lines scattered over the whole array; beyond L2 each is a miss. In
    /// the order of their blocks' flat offsets, consecutive points share
    /// most of their blocks' lines (the leading axes' rows move slowly), so
    /// the lines come from L1 and L2. The order is internal: results go to
    /// the caller's indices, and every value is the one the point gives
    /// alone.
    #[inline(always)]
    pub(super) fn locality_shift(&self, n: usize) -> Option<u32> {
        let len = self.coefs.len();
        if n < LOCAL_MIN_POINTS || len < LOCAL_MIN_COEFS {
            return None;
        }
        let mut shift = 0;
        while (len >> shift) > LOCAL_BUCKETS {
            shift += 1;
        }
        Some(shift)
    }

    /// Points per parallel task in batch evaluation: [`BATCH_MIN`] for
    /// small tables, [`LOCAL_CHUNK`] where batches are cell-ordered.
    pub(super) fn batch_chunk(&self, n: usize) -> usize {
        if self.locality_shift(n).is_some() {
            LOCAL_CHUNK
        } else {
            super::eval::BATCH_MIN
        }
    }
}

impl<const D: usize> TensorSpline<D> {
    /// `op` at `x` under the spline's policy, in one dispatch.
    #[inline]
    pub(super) fn one<P: PointOp<D>>(&self, op: P, x: [f64; D]) -> P::Out {
        self.kernels.dispatch(One {
            s: self,
            op,
            x,
            raw: false,
        })
    }

    /// `op` at `x` with the boundary polynomials outside, in one dispatch.
    #[inline]
    pub(super) fn one_raw<P: PointOp<D>>(&self, op: P, x: [f64; D]) -> P::Out {
        self.kernels.dispatch(One {
            s: self,
            op,
            x,
            raw: true,
        })
    }
}
