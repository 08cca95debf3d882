//! Several partials at one point from one pass over its `4^D` block.
//!
//! A partial with per-axis orders `p` at a point whose block starts at
//! `base` is
//!
//! ```text
//! v_p = Σ_{r ∈ {0..3}^D} Π_k w_k[p_k][r_k] · c[base + Σ_k r_k s_k]
//! ```
//!
//! with `w_k[o]` axis `k`'s basis row of derivative order `o`. Contracting
//! the outer axes `0, 1, …, D−2` one at a time gives, for a prefix
//! `(p_0, …, p_ℓ)`, the partial sums
//!
//! ```text
//! T_{p_0…p_ℓ}[r_{ℓ+1}, …, r_{D−1}] = Σ_{r_0…r_ℓ} Π_{k≤ℓ} w_k[p_k][r_k] · c[…],
//! ```
//!
//! and every partial that shares the prefix shares them: the requested
//! partials form a trie over their orders, and each node of the trie is
//! one contraction of its parent's sums along one axis. The last axis (four
//! contiguous coefficients) stays in the lanes of a vector to the end, where
//! each partial is one four-term dot product.
//!
//! Value + gradient + Hessian in 4D (15 distinct partials) costs
//! 192 + 96 + 40 four-lane FMAs and 15 dot products this way, against
//! 21 × 64 FMAs for one contraction per output; the block is read once.
//!
//! The plan ([`Tree`]) is built once per request, outside the loop over
//! points; the scalar ISA runs the same code with one lane, which is the
//! reference the vector ISAs are tested against.

use super::MAX_DIM;
use crate::bspline::ORDER;
use crate::isa::Vf64;
use std::mem::MaybeUninit;

/// Most outputs (and distinct partials) a plan holds; larger requests use
/// one contraction per output.
pub(super) const TREE_MAX: usize = 64;

/// Rows of four values in the largest level of partial sums: a level of
/// the trie holds at most `min(4^(ℓ+1), TREE_MAX)` nodes of `4^(D−2−ℓ)`
/// rows each, at most `4^(D−1)`.
const MAX_ROWS: usize = 1 << (2 * (MAX_DIM - 1));

/// Marks an output whose order exceeds 3 along some axis (it is 0).
const ZERO: u8 = u8::MAX;

/// The shared-contraction plan of a list of partials (scalar splines).
#[derive(Clone, Debug)]
pub(super) struct Tree<const D: usize> {
    /// The distinct partials with every order ≤ 3, sorted
    /// lexicographically (so each trie node's partials are consecutive).
    uniq: [[u8; D]; TREE_MAX],
    n_uniq: usize,
    /// Per output: its index in `uniq`, or [`ZERO`].
    map: [u8; TREE_MAX],
    n_out: usize,
    /// `nodes[ℓ]` for prefix length `ℓ ≥ 1`: `(parent node at ℓ − 1, order
    /// along axis ℓ − 1)`, in trie order (children of a parent consecutive).
    nodes: [[(u8, u8); TREE_MAX]; MAX_DIM],
    n_nodes: [usize; MAX_DIM],
    /// Per distinct partial: its node at prefix length `D − 1`.
    leaf: [u8; TREE_MAX],
    /// Flat offset of row `q < 4^(D−2)` of axes `1..D−1` (digits of `q` in
    /// base 4, axis 1 slowest): `Σ_k r_k s_k`.
    off: [usize; MAX_ROWS / 4],
    /// Offset of the block's last element from `base`: `Σ_k 3 s_k`.
    span: usize,
    /// Stride of axis 0.
    s0: usize,
}

impl<const D: usize> Tree<D> {
    /// The plan of `partials` on coefficients with flat `strides` (the last
    /// one 1), or `None` if there are more than [`TREE_MAX`] outputs or the
    /// innermost stride is not 1.
    pub(super) fn new(partials: &[[usize; D]], strides: &[usize; D]) -> Option<Self> {
        if D == 0 || D > MAX_DIM || partials.len() > TREE_MAX || strides[D - 1] != 1 {
            return None;
        }
        let mut t = Tree {
            uniq: [[0; D]; TREE_MAX],
            n_uniq: 0,
            map: [ZERO; TREE_MAX],
            n_out: partials.len(),
            nodes: [[(0, 0); TREE_MAX]; MAX_DIM],
            n_nodes: [0; MAX_DIM],
            leaf: [0; TREE_MAX],
            off: [0; MAX_ROWS / 4],
            span: strides.iter().map(|s| 3 * s).sum(),
            s0: strides[0],
        };
        let small = |p: &[usize; D]| p.iter().all(|&o| o < ORDER);
        let mut n = 0;
        for p in partials.iter().filter(|p| small(p)) {
            t.uniq[n] = std::array::from_fn(|k| p[k] as u8);
            n += 1;
        }
        t.uniq[..n].sort_unstable();
        let mut m = 0;
        for i in 0..n {
            if m == 0 || t.uniq[i] != t.uniq[m - 1] {
                t.uniq[m] = t.uniq[i];
                m += 1;
            }
        }
        t.n_uniq = m;
        let uniq = &t.uniq[..m];
        for (j, p) in partials.iter().enumerate() {
            if small(p) {
                let key: [u8; D] = std::array::from_fn(|k| p[k] as u8);
                // Present by construction.
                t.map[j] = uniq.binary_search(&key).map_or(ZERO, |u| u as u8);
            }
        }
        // The trie: a node per distinct prefix of each length 1..D−1.
        for u in 0..m {
            let mut parent = 0u8;
            for len in 1..D {
                let p = t.uniq[u];
                let fresh = u == 0 || t.uniq[u - 1][..len] != p[..len];
                if fresh {
                    let i = t.n_nodes[len];
                    t.nodes[len][i] = (parent, p[len - 1]);
                    t.n_nodes[len] += 1;
                }
                parent = (t.n_nodes[len] - 1) as u8;
            }
            t.leaf[u] = parent;
        }
        if D >= 2 {
            let rows = 1usize << (2 * (D - 2));
            for (q, o) in t.off[..rows].iter_mut().enumerate() {
                *o = (1..D - 1)
                    .map(|k| ((q >> (2 * (D - 2 - k))) & 3) * strides[k])
                    .sum();
            }
        }
        Some(t)
    }

    /// Number of outputs.
    pub(super) fn outputs(&self) -> usize {
        self.n_out
    }

    /// The outputs at the block `base` of `c` with basis rows `rows[k][o]`
    /// (axis `k`, order `o`): output `j` to `out[j]` (0 for an order above
    /// 3), before any rescaling. Returns `false`, writing nothing, if the
    /// block is not in bounds.
    ///
    /// # Safety
    /// `Q`'s ISA is available on this CPU, and `Q::W` divides 4.
    #[inline(always)]
    pub(super) unsafe fn contract<Q: Vf64>(
        &self,
        c: &[f64],
        base: usize,
        rows: &[[[f64; ORDER]; ORDER]; D],
        out: &mut [f64],
    ) -> bool {
        let inside = base.checked_add(self.span).is_some_and(|e| e < c.len());
        if !inside || out.len() < self.n_out || 4 % Q::W != 0 {
            return false;
        }
        let nl = 4 / Q::W;
        let cp = c.as_ptr();
        let mut buf = [MaybeUninit::<[f64; 4 * MAX_ROWS]>::uninit(); 2];
        let pb: [*mut f64; 2] = [buf[0].as_mut_ptr().cast(), buf[1].as_mut_ptr().cast()];
        let mut res = [0.0f64; TREE_MAX];
        // SAFETY: every coefficient read is `base + r·s0 + off[q] + i` with
        // `r ≤ 3`, `i ≤ 3`: an element of the block, whose last element
        // `base + span` is below `c.len()` (checked above). Level ℓ writes
        // rows `((child·nq + q)·4 + i` of buffer `ℓ % 2`, below
        // `n_nodes[ℓ+1]·nq·4 ≤ 4·MAX_ROWS`, and reads only rows of buffer
        // `(ℓ−1) % 2` that level ℓ − 1 wrote (the parents' `4·nq` rows).
        // Vector loads and stores cover `Q::W` of those four lanes. The ISA
        // by the caller's contract.
        unsafe {
            let mut src: *const f64 = cp.add(base);
            for l in 0..D.saturating_sub(1) {
                let nq = 1usize << (2 * (D - 2 - l));
                let dst = pb[l % 2];
                let kids = &self.nodes[l + 1][..self.n_nodes[l + 1]];
                let w = &rows[l];
                let mut i = 0;
                while i < kids.len() {
                    let parent = kids[i].0 as usize;
                    let mut j = i + 1;
                    while j < kids.len() && kids[j].0 as usize == parent {
                        j += 1;
                    }
                    let mut ws = [[Q::splat(0.0); ORDER]; ORDER];
                    for (wk, &(_, o)) in ws.iter_mut().zip(&kids[i..j]) {
                        for r in 0..ORDER {
                            wk[r] = Q::splat(w[o as usize][r]);
                        }
                    }
                    for q in 0..nq {
                        for lane in 0..nl {
                            let at = |r: usize| -> *const f64 {
                                if l == 0 {
                                    src.add(r * self.s0 + self.off[q] + lane * Q::W)
                                } else {
                                    src.add(((parent * 4 + r) * nq + q) * 4 + lane * Q::W)
                                }
                            };
                            let v = [
                                Q::load(at(0)),
                                Q::load(at(1)),
                                Q::load(at(2)),
                                Q::load(at(3)),
                            ];
                            for (ci, wk) in ws[..j - i].iter().enumerate() {
                                let a = v[1].mul_add(wk[1], v[0].mul(wk[0]));
                                let b = v[3].mul_add(wk[3], v[2].mul(wk[2]));
                                a.add(b)
                                    .store(dst.add(((i + ci) * nq + q) * 4 + lane * Q::W));
                            }
                        }
                    }
                    i = j;
                }
                src = dst;
            }
            // The last axis: one dot product per distinct partial.
            let wl = &rows[D - 1];
            for u in 0..self.n_uniq {
                let row = src.add(self.leaf[u] as usize * 4);
                let wu = &wl[self.uniq[u][D - 1] as usize];
                let mut acc = Q::splat(0.0);
                for lane in 0..nl {
                    acc = Q::load(row.add(lane * Q::W))
                        .mul_add(Q::load(wu.as_ptr().add(lane * Q::W)), acc);
                }
                res[u] = acc.reduce_add();
            }
        }
        for (o, &m) in out.iter_mut().zip(&self.map[..self.n_out]) {
            *o = if m == ZERO { 0.0 } else { res[m as usize] };
        }
        true
    }
}
