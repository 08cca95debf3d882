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
//! **Layout.** Two memory round trips instead of three:
//!
//! 1. Axis 0 (the leading one): the `n₁n₂` lines are contiguous lanes. A block of `L`
//!    lanes (`n₀ · L` elements, ~256 KiB) is copied into a per-task buffer, solved there
//!    (forward and backward sweeps on whole rows of lanes, in L2) and written to the output.
//! 2. Axes 1 and 2, one `n₁ × n₂` plane at a time, in place in the output (a plane is
//!    128 KiB at 128² f64, so it stays in L2): axis 1 with the `n₂` contiguous lines in
//!    lanes, axis 2 by gathering 32 rows at a time into a `[n₂][32]` buffer (a transpose),
//!    solving with 32 lanes and scattering back (8 lanes measured 5.8 ms for this step
//!    at 128³ on one thread, 32 lanes 3.6 ms, 64 lanes 4.4 ms).
//!
//! Blocks of lanes (step 1) and planes (step 2) are split across rayon tasks. (A first
//! version rotated the axes through three leading-axis passes with transposed writes; at
//! 128³ it was an order of magnitude slower here, dominated by the strided writes.)
//!
//! Small sizes: `n = 1` gives `c = f` for `Periodic` and `Mirror` (all neighbours are the
//! sample itself, the weights sum to 1) and `c = 3f/2` for `Zero` (`b = [2/3]`).
//! `n = 2` is the same system `[[2/3, 1/3], [1/3, 2/3]]` for `Periodic` and `Mirror`.

use super::Boundary;
use super::band::fold_index;
use super::operator::BSPLINE_TAPS;
use crate::error::panic_short;
use crate::isa::{Kernels, Vf64, WithSimd};
use crate::workspace::{DisjointWriter, MAX_WORKERS, ScratchReq, Workspace};
use crate::{FitError, Isa, Par, Real};
use rayon::prelude::*;
use std::sync::Mutex;

/// Elements (`n · L`) per lane block of the axis-0 pass: 256 KiB in f64.
const BLOCK_ELEMS: usize = 32 * 1024;

/// Lanes of the gathered axis-2 solve.
const GATHER: usize = 32;

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

/// The factors of the 1D solves of the three axes of one grid shape, and
/// the plan's own workspace for [`solve`](DirectPlan::solve).
#[derive(Debug)]
pub struct DirectPlan<T: Real> {
    shape: [usize; 3],
    axes: [AxisSolver<T>; 3],
    par: Par,
    kernels: Kernels,
    workspace: Mutex<Workspace>,
}

impl<T: Real> Clone for DirectPlan<T> {
    fn clone(&self) -> Self {
        DirectPlan {
            shape: self.shape,
            axes: self.axes.clone(),
            par: self.par,
            kernels: self.kernels,
            workspace: Mutex::new(Workspace::with_scratch(self.scratch())),
        }
    }
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
        Self::with_workspace(shape, boundary, par, Workspace::new())
    }

    /// [`new`](Self::new) with its workspace grown from `ws` (the one-shot
    /// calls pass one from the process-wide cache, [`crate::recycle`]).
    pub(crate) fn with_workspace(
        shape: [usize; 3],
        boundary: [Boundary; 3],
        par: Par,
        ws: Workspace,
    ) -> Self {
        let plan = DirectPlan {
            shape,
            axes: std::array::from_fn(|a| axis_solver(shape[a], boundary[a])),
            par,
            kernels: Kernels::detect(),
            workspace: Mutex::new(ws),
        };
        plan.workspace
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .reserve(plan.scratch());
        plan
    }

    /// The same plan running its kernels with `isa` ([`FitError::IsaUnavailable`] if this
    /// CPU lacks it). Results are bit-identical across instruction sets.
    pub fn with_isa(mut self, isa: Isa) -> Result<Self, FitError> {
        self.kernels = Kernels::new(isa)?;
        Ok(self)
    }

    /// Grid shape.
    pub fn shape(&self) -> [usize; 3] {
        self.shape
    }

    /// The plan's workspace, for reuse.
    pub(crate) fn into_workspace(self) -> Workspace {
        self.workspace
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Lanes per block of the axis-0 pass.
    fn lanes0(&self) -> usize {
        let [n0, n1, n2] = self.shape;
        (BLOCK_ELEMS / n0.max(1))
            .clamp(GATHER, 4096)
            .min(n1 * n2)
            .max(1)
    }

    /// Tasks a solve is split into (1 below 2¹⁵ points).
    fn tasks(&self) -> usize {
        let len: usize = self.shape.iter().product();
        if len >= 1 << 15 {
            self.par.degree().clamp(1, MAX_WORKERS)
        } else {
            1
        }
    }

    /// Values of `T` per worker: the axis-0 block (`(n₀ + 1) · L`) or the
    /// plane pass's gather buffer (`(n₂ + 1) · 32 + n₂`), whichever is larger.
    fn per_worker(&self) -> usize {
        let [n0, _, n2] = self.shape;
        ((n0 + 1) * self.lanes0()).max((n2 + 1) * GATHER + n2.max(1))
    }

    /// Scratch of [`solve_with`](Self::solve_with): one block per task.
    pub fn scratch(&self) -> ScratchReq {
        ScratchReq::per_worker::<T>(self.tasks(), self.per_worker())
    }

    /// `out = B⁻¹ f` on row-major slices of the grid's length, with the
    /// plan's own workspace (sized when the plan was built; a second thread
    /// solving with the same plan at the same time gets a temporary one).
    ///
    /// # Panics
    /// If a slice is shorter than the grid.
    pub fn solve(&self, f: &[T], out: &mut [T]) {
        match self.workspace.try_lock() {
            Ok(mut ws) => self.solve_with(f, out, &mut ws),
            Err(_) => self.solve_with(f, out, &mut Workspace::new()),
        }
    }

    /// `out = B⁻¹ f` with scratch from `ws`: once `ws` holds
    /// [`scratch`](Self::scratch), no heap allocation (with `Par::Seq`, or
    /// called from inside a rayon worker).
    ///
    /// # Panics
    /// If a slice is shorter than the grid.
    pub fn solve_with(&self, f: &[T], out: &mut [T], ws: &mut Workspace) {
        self.solve_impl(f, out, ws);
    }

    /// [`solve`](Self::solve), returning whether every coefficient is finite
    /// (checked per plane in the last sweep, while the plane is in cache).
    pub(crate) fn solve_checked(&self, f: &[T], out: &mut [T]) -> bool {
        match self.workspace.try_lock() {
            Ok(mut ws) => self.solve_impl(f, out, &mut ws),
            Err(_) => self.solve_impl(f, out, &mut Workspace::new()),
        }
    }

    /// The solve; returns whether every coefficient is finite.
    fn solve_impl(&self, f: &[T], out: &mut [T], ws: &mut Workspace) -> bool {
        let [n0, n1, n2] = self.shape;
        let len = n0 * n1 * n2;
        if f.len() < len || out.len() < len {
            panic_short(&"DirectPlan::solve", len, f.len().min(out.len()));
        }
        let (f, out) = (&f[..len], &mut out[..len]);
        let isa = self.kernels;
        let (mut slots, _) = ws.split(self.scratch(), self.per_worker(), T::ZERO);
        let bufs = slots.as_mut_slice();
        // Step 1: axis 0, blocks of lanes; task t owns blocks t·per.. and
        // writes their (strided) lanes of every row.
        let m = n1 * n2;
        let lanes = self.lanes0();
        let blocks = m.div_ceil(lanes);
        let tasks = bufs.len().min(blocks).max(1);
        let per = blocks.div_ceil(tasks);
        let ax0 = &self.axes[0];
        let writer = DisjointWriter::new(out);
        let step1 = |t: usize, buf: &mut [T]| {
            let (tmp, acc) = buf[..(n0 + 1) * lanes].split_at_mut(n0 * lanes);
            for b in t * per..((t + 1) * per).min(blocks) {
                let m0 = b * lanes;
                let w = lanes.min(m - m0);
                let tmp = &mut tmp[..n0 * w];
                solve_lanes(isa, ax0, tmp, n0, w, acc, Some((&f[m0..], m)));
                for (i, r) in tmp.chunks_exact(w).enumerate() {
                    // SAFETY: `i < n0` and `m0 + w <= m`, so `[i·m + m0, i·m + m0 + w)` lies
                    // in the output (length `n0·m`); the lanes `[m0, m0 + w)` of block `b`
                    // belong to this task alone, and the writer borrows the output, so the
                    // writes neither overlap nor alias.
                    unsafe { writer.write(i * m + m0, r) };
                }
            }
        };
        if tasks <= 1 {
            step1(0, &mut bufs[0][..]);
        } else {
            bufs[..tasks]
                .par_iter_mut()
                .enumerate()
                .for_each(|(t, buf)| step1(t, &mut buf[..]));
        }
        // Step 2: axes 1 and 2, plane by plane, on contiguous chunks of planes.
        let (ax1, ax2) = (&self.axes[1], &self.axes[2]);
        let plane = n1 * n2;
        let step2 = |planes: &mut [T], buf: &mut [T]| -> bool {
            let mut finite = true;
            let (g, rest) = buf[..(n2 + 1) * GATHER + n2.max(1)].split_at_mut(n2 * GATHER);
            let (acc_g, acc_r) = rest.split_at_mut(GATHER);
            for p in planes.chunks_exact_mut(plane) {
                solve_lanes(isa, ax1, p, n1, n2, acc_r, None);
                for j0 in (0..n1).step_by(GATHER) {
                    let w = GATHER.min(n1 - j0);
                    let g = &mut g[..n2 * w];
                    for k in 0..n2 {
                        for l in 0..w {
                            g[k * w + l] = p[(j0 + l) * n2 + k];
                        }
                    }
                    solve_lanes(isa, ax2, g, n2, w, acc_g, None);
                    for l in 0..w {
                        let row = &mut p[(j0 + l) * n2..(j0 + l + 1) * n2];
                        for (k, v) in row.iter_mut().enumerate() {
                            *v = g[k * w + l];
                        }
                    }
                }
                finite &= p.iter().fold(true, |ok, v| ok & v.is_finite());
            }
            finite
        };
        let tasks = bufs.len().min(n0).max(1);
        if tasks <= 1 {
            step2(out, &mut bufs[0][..])
        } else {
            out.par_chunks_mut(n0.div_ceil(tasks) * plane)
                .zip(bufs.par_iter_mut())
                .map(|(chunk, buf)| step2(chunk, &mut buf[..]))
                .reduce(|| true, |a, b| a & b)
        }
    }
}

/// How many rows ahead the strided source rows of the axis-0 pass are prefetched: the
/// hardware prefetchers do not follow a 2 KiB-per-row, 128 KiB-stride pattern.
const PREFETCH_ROWS: usize = 4;

/// Hints the cache to load `s[at..at + w]` (no-op outside the slice or off x86-64).
#[inline(always)]
fn prefetch_row<T>(s: &[T], at: usize, w: usize) {
    #[cfg(target_arch = "x86_64")]
    if at + w <= s.len() {
        let line = 64 / std::mem::size_of::<T>().max(1);
        let mut k = 0;
        while k < w {
            // SAFETY: `at + k < s.len()`, so the pointer is inside the slice; a prefetch
            // never faults and has no architectural effect.
            unsafe {
                std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                    s.as_ptr().add(at + k) as *const i8,
                )
            };
            k += line;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (s, at, w);
}

/// Rows of the right-hand side of [`solve_lanes`]: `Some((src, stride))` reads row `i` from
/// `src[i·stride..i·stride + w]`; `None` means they are already in the buffer.
type Rows<'a, T> = Option<(&'a [T], usize)>;

/// Solves `b c = f` for the `w` lines (lanes) of `buf: [n][w]`, where `f` is `src` or, if
/// `src` is `None`, the buffer itself. `acc` is a `w`-element scratch row. Runs through
/// [`Kernels::dispatch`], so the loops are compiled (and auto-vectorised) for the plan's
/// ISA: AVX-512 code for AVX-512, AVX2+FMA for AVX2. The generic code has no `mul_add`
/// and Rust does not contract `a * b + c`, so results are bit-identical across ISAs.
#[inline]
fn solve_lanes<T: Real>(
    kernels: Kernels,
    ax: &AxisSolver<T>,
    buf: &mut [T],
    n: usize,
    w: usize,
    acc: &mut [T],
    src: Rows<'_, T>,
) {
    struct Job<'a, T: Real> {
        ax: &'a AxisSolver<T>,
        buf: &'a mut [T],
        n: usize,
        w: usize,
        acc: &'a mut [T],
        src: Rows<'a, T>,
    }
    impl<T: Real> WithSimd for Job<'_, T> {
        type Output = ();
        #[inline(always)]
        fn run<V: Vf64>(self) {
            solve_lanes_generic(self.ax, self.buf, self.n, self.w, self.acc, self.src)
        }
    }
    kernels.dispatch(Job {
        ax,
        buf,
        n,
        w,
        acc,
        src,
    })
}

#[inline(always)]
fn solve_lanes_generic<T: Real>(
    ax: &AxisSolver<T>,
    buf: &mut [T],
    n: usize,
    w: usize,
    acc: &mut [T],
    src: Rows<'_, T>,
) {
    let (buf, acc) = (&mut buf[..n * w], &mut acc[..w]);
    match ax {
        AxisSolver::Periodic { p, gain, powers } => {
            let (p, gain) = (*p, *gain);
            // Causal init y0 = Σ_j p^j f[(n - j) mod n], read before any row is overwritten.
            acc.fill(T::ZERO);
            for (j, &pj) in powers.iter().enumerate() {
                let r = (n - j) % n;
                let fr = match src {
                    Some((s, stride)) => &s[r * stride..r * stride + w],
                    None => &buf[r * w..(r + 1) * w],
                };
                for (a, &f) in acc.iter_mut().zip(fr) {
                    *a += pj * f;
                }
            }
            buf[..w].copy_from_slice(acc);
            match src {
                Some((s, stride)) => {
                    for i in 1..n {
                        prefetch_row(s, (i + PREFETCH_ROWS) * stride, w);
                        let (prev, cur) = buf[(i - 1) * w..(i + 1) * w].split_at_mut(w);
                        let fr = &s[i * stride..i * stride + w];
                        for ((y, &yp), &f) in cur.iter_mut().zip(prev.iter()).zip(fr) {
                            *y = f + p * yp;
                        }
                    }
                }
                None => {
                    for i in 1..n {
                        let (prev, cur) = buf[(i - 1) * w..(i + 1) * w].split_at_mut(w);
                        for (y, &yp) in cur.iter_mut().zip(prev.iter()) {
                            *y += p * yp;
                        }
                    }
                }
            }
            // Anticausal init c[n-1] = gain Σ_j p^j y[(n-1+j) mod n].
            acc.fill(T::ZERO);
            for (j, &pj) in powers.iter().enumerate() {
                let r = (n - 1 + j) % n;
                for (a, &y) in acc.iter_mut().zip(&buf[r * w..(r + 1) * w]) {
                    *a += pj * y;
                }
            }
            for (c, &a) in buf[(n - 1) * w..n * w].iter_mut().zip(acc.iter()) {
                *c = gain * a;
            }
            for i in (0..n.saturating_sub(1)).rev() {
                let (cur, next) = buf[i * w..(i + 2) * w].split_at_mut(w);
                for (c, &cn) in cur.iter_mut().zip(next.iter()) {
                    *c = p * cn + gain * *c;
                }
            }
        }
        AxisSolver::Thomas { l, inv_d, u } => {
            // y_i = f_i - l_i y_{i-1}: the multiplier depends on the row, so index it.
            match src {
                Some((s, stride)) => {
                    buf[..w].copy_from_slice(&s[..w]);
                    for i in 1..n {
                        prefetch_row(s, (i + PREFETCH_ROWS) * stride, w);
                        let li = l[i];
                        let (prev, cur) = buf[(i - 1) * w..(i + 1) * w].split_at_mut(w);
                        let fr = &s[i * stride..i * stride + w];
                        for ((y, &yp), &f) in cur.iter_mut().zip(prev.iter()).zip(fr) {
                            *y = f - li * yp;
                        }
                    }
                }
                None => {
                    for i in 1..n {
                        let li = l[i];
                        let (prev, cur) = buf[(i - 1) * w..(i + 1) * w].split_at_mut(w);
                        for (y, &yp) in cur.iter_mut().zip(prev.iter()) {
                            *y -= li * yp;
                        }
                    }
                }
            }
            let dl = inv_d[n - 1];
            for c in buf[(n - 1) * w..n * w].iter_mut() {
                *c *= dl;
            }
            for i in (0..n.saturating_sub(1)).rev() {
                let (ui, di) = (u[i], inv_d[i]);
                let (cur, next) = buf[i * w..(i + 2) * w].split_at_mut(w);
                for (c, &cn) in cur.iter_mut().zip(next.iter()) {
                    *c = (*c - ui * cn) * di;
                }
            }
        }
    }
}
