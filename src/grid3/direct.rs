//! The exact separable direct solve of `B c = F`: one 1D solve per grid line per axis.
//!
//! `B⁻¹ = b₀⁻¹ ⊗ b₁⁻¹ ⊗ b₂⁻¹`, so `c` is obtained by solving `b c = f` along every line of
//! axis 0, then of axis 1, then of axis 2. The 1D factors are computed once per axis
//! ([`DirectPlan::new`]):
//!
//! * `Zero` and `Mirror`: `b` is tridiagonal (mirror: rows `[2/3, 1/3]` at both ends).
//!   It is strictly diagonally dominant, so LU without pivoting is stable. We store the
//!   multipliers `l_i`, the reciprocal pivots `1/d_i` and the super-diagonal `u_i`;
//!   a line costs one forward and one backward sweep (Thomas).
//! * `Periodic`: `b` is circulant with symbol `(z⁻¹ + 4 + z)/6 = (1 − p z⁻¹)(1 − p z)/(−6p)`,
//!   `p = √3 − 2` (the pole of Unser's recursive filter). So
//!   `y_i = f_i + p y_{i−1}` (causal) and `c_i = p c_{i+1} − 6p y_i` (anticausal), with the
//!   exact periodic initial values `y_0 = Σ_j p^j f_{−j mod n} / (1 − pⁿ)` and
//!   `c_{n−1} = −6p Σ_j p^j y_{(n−1+j) mod n} / (1 − pⁿ)`. The sums run over all `n` terms
//!   when `n` is small and are truncated once `|p|^j` is below a tenth of the precision's
//!   epsilon (30 terms in f64, 14 in f32), which changes nothing at that precision.
//!
//! **Layout.** Every pass solves along the *leading* axis of its input `[n][m]`, with the
//! `m` contiguous lines in lanes (blocks of `L` lanes so that a block's forward and
//! backward sweeps stay in L2), and writes its output rotated, `[m][n]`: after three
//! passes the axes are back in their original order and every pass has run on the fast
//! leading axis. Blocks of lanes are split across rayon tasks.
//!
//! Small sizes: `n = 1` gives `c = f` for `Periodic` and `Mirror` (all neighbours are the
//! sample itself, the weights sum to 1) and `c = 3f/2` for `Zero` (`b = [2/3]`).
//! `n = 2` is the same system `[[2/3, 1/3], [1/3, 2/3]]` for `Periodic` and `Mirror`.

use super::Boundary;
use super::band::fold_index;
use super::operator::BSPLINE_TAPS;
use crate::{Par, Real};
use rayon::prelude::*;

/// Elements (`n · L`) per lane block: ~128 KiB in f64, so a block and its source stay in L2.
const BLOCK_ELEMS: usize = 16 * 1024;

#[derive(Debug, Clone)]
enum AxisSolver<T> {
    Periodic {
        p: T,
        gain: T,
        /// `p^j`, `j < terms`, times `1/(1 − pⁿ)` when the sum is exact.
        powers: Vec<T>,
    },
    Thomas {
        l: Vec<T>,
        inv_d: Vec<T>,
        u: Vec<T>,
    },
}

/// The factors of the 1D solves of the three axes of one grid shape.
#[derive(Debug, Clone)]
pub struct DirectPlan<T: Real> {
    shape: [usize; 3],
    axes: [AxisSolver<T>; 3],
    par: Par,
}

fn axis_solver<T: Real>(n: usize, bc: Boundary) -> AxisSolver<T> {
    match bc {
        Boundary::Periodic => {
            let p = 3f64.sqrt() - 2.0;
            let eps = T::EPSILON.to_f64() * 0.1;
            let tmax = (eps.ln() / p.abs().ln()).ceil() as usize;
            let (terms, factor) = if n <= tmax {
                (n, 1.0 / (1.0 - p.powi(n as i32)))
            } else {
                (tmax, 1.0)
            };
            AxisSolver::Periodic {
                p: T::from_f64(p),
                gain: T::from_f64(-6.0 * p),
                powers: (0..terms)
                    .map(|j| T::from_f64(p.powi(j as i32) * factor))
                    .collect(),
            }
        }
        Boundary::Zero | Boundary::Mirror => {
            // Tridiagonal rows from the boundary's folding of the taps.
            let (mut a, mut d, mut c) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
            for i in 0..n {
                for (t, &w) in BSPLINE_TAPS.iter().enumerate() {
                    let j = i as isize + t as isize - 1;
                    match fold_index(j, n, bc) {
                        Some(col) if col + 1 == i => a[i] += w,
                        Some(col) if col == i => d[i] += w,
                        Some(col) if col == i + 1 => c[i] += w,
                        Some(_) => unreachable!("cubic B-spline rows are tridiagonal"),
                        None => {}
                    }
                }
            }
            let (mut l, mut inv_d) = (vec![0.0; n], vec![0.0; n]);
            let mut piv = d[0];
            inv_d[0] = 1.0 / piv;
            for i in 1..n {
                l[i] = a[i] / piv;
                piv = d[i] - l[i] * c[i - 1];
                inv_d[i] = 1.0 / piv;
            }
            let cv = |v: Vec<f64>| v.into_iter().map(T::from_f64).collect();
            AxisSolver::Thomas {
                l: cv(l),
                inv_d: cv(inv_d),
                u: cv(c),
            }
        }
    }
}

impl<T: Real> DirectPlan<T> {
    /// Factors for `shape` (every extent ≥ 1) and `boundary` per axis.
    pub fn new(shape: [usize; 3], boundary: [Boundary; 3], par: Par) -> Self {
        DirectPlan {
            shape,
            axes: std::array::from_fn(|a| axis_solver(shape[a], boundary[a])),
            par,
        }
    }

    /// Grid shape.
    pub fn shape(&self) -> [usize; 3] {
        self.shape
    }

    /// Number of elements of the scratch [`Self::solve`] needs (one grid).
    pub fn scratch_len(&self) -> usize {
        self.shape.iter().product()
    }

    /// `out = B⁻¹ f` on row-major slices; `scratch` is overwritten.
    ///
    /// # Panics
    /// If a slice is shorter than the grid.
    pub fn solve(&self, f: &[T], out: &mut [T], scratch: &mut [T]) {
        let [n0, n1, n2] = self.shape;
        let len = n0 * n1 * n2;
        assert!(
            f.len() >= len && out.len() >= len && scratch.len() >= len,
            "grid length"
        );
        let (f, out, scratch) = (&f[..len], &mut out[..len], &mut scratch[..len]);
        solve_pass(&self.axes[0], f, out, n0, n1 * n2, self.par);
        solve_pass(&self.axes[1], out, scratch, n1, n2 * n0, self.par);
        solve_pass(&self.axes[2], scratch, out, n2, n0 * n1, self.par);
    }
}

/// Lanes per block for lines of length `n` and `m` lines.
fn lanes_for(n: usize, m: usize) -> usize {
    let l = (BLOCK_ELEMS / n.max(1)).clamp(8, 512) / 8 * 8;
    l.min(m).max(1)
}

/// Solves along the leading axis of `src: [n][m]`, writing `dst: [m][n]`.
fn solve_pass<T: Real>(ax: &AxisSolver<T>, src: &[T], dst: &mut [T], n: usize, m: usize, par: Par) {
    let lanes = lanes_for(n, m);
    let blocks = m.div_ceil(lanes);
    let tasks = if n * m < 1 << 15 {
        1
    } else {
        par.degree().min(blocks)
    };
    let per = blocks.div_ceil(tasks);
    let run = |t: usize, out: &mut [T]| {
        // One scratch per task (lane block + one accumulator row), reused by its blocks.
        let mut scratch = vec![T::ZERO; (n + 1) * lanes];
        let (tmp, acc) = scratch.split_at_mut(n * lanes);
        for b in t * per..((t + 1) * per).min(blocks) {
            let m0 = b * lanes;
            let w = lanes.min(m - m0);
            let o = &mut out[(m0 - t * per * lanes) * n..(m0 - t * per * lanes + w) * n];
            solve_block(ax, src, m, m0, w, &mut tmp[..n * w], &mut acc[..w], o, n);
        }
    };
    if tasks <= 1 {
        run(0, dst);
    } else {
        dst.par_chunks_mut(per * lanes * n)
            .enumerate()
            .for_each(|(t, out)| run(t, out));
    }
}

/// Solves lanes `m0..m0+w` of `src: [n][m]` into `out: [w][n]` through `tmp: [n][w]`.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
fn solve_block<T: Real>(
    ax: &AxisSolver<T>,
    src: &[T],
    m: usize,
    m0: usize,
    w: usize,
    tmp: &mut [T],
    acc: &mut [T],
    out: &mut [T],
    n: usize,
) {
    let row = |i: usize| &src[i * m + m0..i * m + m0 + w];
    match ax {
        AxisSolver::Periodic { p, gain, powers } => {
            let (p, gain) = (*p, *gain);
            // Causal init: y0 = Σ_j p^j f[(n - j) mod n].
            {
                let y0 = &mut tmp[..w];
                for (j, &pj) in powers.iter().enumerate() {
                    let fr = row((n - j) % n);
                    if j == 0 {
                        for (y, &f) in y0.iter_mut().zip(fr) {
                            *y = pj * f;
                        }
                    } else {
                        for (y, &f) in y0.iter_mut().zip(fr) {
                            *y += pj * f;
                        }
                    }
                }
            }
            for i in 1..n {
                let (prev, cur) = tmp[(i - 1) * w..(i + 1) * w].split_at_mut(w);
                for ((y, &yp), &f) in cur.iter_mut().zip(prev.iter()).zip(row(i)) {
                    *y = f + p * yp;
                }
            }
            // Anticausal init: c[n-1] = gain Σ_j p^j y[(n-1+j) mod n], kept in a lane
            // accumulator so y[n-1] is not overwritten before it is read.
            acc.fill(T::ZERO);
            for (j, &pj) in powers.iter().enumerate() {
                let yr = &tmp[((n - 1 + j) % n) * w..((n - 1 + j) % n + 1) * w];
                for (a, &y) in acc.iter_mut().zip(yr) {
                    *a += pj * y;
                }
            }
            for (c, a) in tmp[(n - 1) * w..n * w].iter_mut().zip(acc.iter()) {
                *c = gain * *a;
            }
            for i in (0..n.saturating_sub(1)).rev() {
                let (cur, next) = tmp[i * w..(i + 2) * w].split_at_mut(w);
                for (c, &cn) in cur.iter_mut().zip(next.iter()) {
                    *c = p * cn + gain * *c;
                }
            }
        }
        AxisSolver::Thomas { l, inv_d, u } => {
            tmp[..w].copy_from_slice(row(0));
            for i in 1..n {
                let li = l[i];
                let (prev, cur) = tmp[(i - 1) * w..(i + 1) * w].split_at_mut(w);
                for ((y, &yp), &f) in cur.iter_mut().zip(prev.iter()).zip(row(i)) {
                    *y = f - li * yp;
                }
            }
            let dl = inv_d[n - 1];
            for c in tmp[(n - 1) * w..n * w].iter_mut() {
                *c *= dl;
            }
            for i in (0..n.saturating_sub(1)).rev() {
                let (ui, di) = (u[i], inv_d[i]);
                let (cur, next) = tmp[i * w..(i + 2) * w].split_at_mut(w);
                for (c, &cn) in cur.iter_mut().zip(next.iter()) {
                    *c = (*c - ui * cn) * di;
                }
            }
        }
    }
    // Rotated write: out[l][i] = tmp[i][l], in 8×8 tiles.
    const TB: usize = 8;
    for l0 in (0..w).step_by(TB) {
        let l1 = (l0 + TB).min(w);
        for i0 in (0..n).step_by(TB) {
            let i1 = (i0 + TB).min(n);
            for l in l0..l1 {
                let o = &mut out[l * n + i0..l * n + i1];
                for (k, ov) in o.iter_mut().enumerate() {
                    *ov = tmp[(i0 + k) * w + l];
                }
            }
        }
    }
}
