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
//! **Bounded scratch, whatever the shape.** No worker buffer exceeds `WORKER_CAP`
//! values (1 MiB in f64), so the scratch is at most `threads × 1 MiB` and the plan's
//! factors a few hundred values, also for degenerate shapes such as `1 × 1 × 4·2²⁰`:
//! * a leading axis so long that a block of 32 lanes would not fit is solved in place in
//!   the output instead (the forward sweep reads the samples and writes the output rows,
//!   the backward sweep runs on the output), on blocks of at most `LANE_CAP` (4096) lanes;
//! * the axis-1 solve runs on blocks of at most `LANE_CAP` of the plane's columns;
//! * the axis-2 solve gathers fewer rows when they are long, and solves each row in
//!   place when even two would not fit;
//! * the tridiagonal factors (`Zero`, `Mirror`) become constant after a few dozen rows
//!   (the pivot recurrence reaches its fixed point exactly): only the rows up to that
//!   point and the last row are stored.
//!
//! Small sizes: `n = 1` gives `c = f` for `Periodic` and `Mirror` (all neighbours are the
//! sample itself, the weights sum to 1) and `c = 3f/2` for `Zero` (`b = [2/3]`).
//! `n = 2` is the same system `[[2/3, 1/3], [1/3, 2/3]]` for `Periodic` and `Mirror`.

use super::Boundary;
use super::band::fold_index;
use super::operator::BSPLINE_TAPS;
use crate::error::panic_short;
use crate::isa::{Kernels, Simd, Vf64, WithSimd};
use crate::workspace::{DisjointWriter, MAX_WORKERS, ScratchReq, Workspace};
use crate::{FitError, Isa, Par, Real};
use rayon::prelude::*;
use std::sync::Mutex;

/// Elements (`n · L`) per lane block of the axis-0 pass: 256 KiB in f64.
const BLOCK_ELEMS: usize = 32 * 1024;

/// Lanes of the gathered axis-2 solve.
const GATHER: usize = 32;

/// Most values in one worker's block or gather buffer (1 MiB in f64): beyond it the
/// passes solve in place in the output (see the module docs).
const WORKER_CAP: usize = 4 * BLOCK_ELEMS;

/// Most lanes per block of the passes that solve in place (axis 1, and axis 0 when its
/// lines are too long for a buffered block): the size of their accumulator row.
const LANE_CAP: usize = 4096;

#[derive(Debug, Clone)]
enum AxisSolver<T> {
    Periodic {
        p: T,
        gain: T,
        /// `p^j`, `j < terms`, times `1/(1 − pⁿ)` when the sum is exact.
        powers: Vec<T>,
    },
    Thomas(Thomas<T>),
}

/// The LU factors of a tridiagonal axis, row `i` stored at [`Thomas::at`]`(i)`: every
/// row up to the one where the pivot recurrence reaches its fixed point, then the
/// last row (the rows in between equal the fixed-point row), so long axes store a
/// few dozen rows instead of `3n` values.
#[derive(Debug, Clone)]
struct Thomas<T> {
    /// Multipliers `l_i` (`l_0` unused).
    l: Vec<T>,
    /// Reciprocal pivots `1/d_i`.
    inv_d: Vec<T>,
    /// Super-diagonal `u_i` (`u_{n-1}` unused).
    u: Vec<T>,
    /// Rows stored one by one (`n` when nothing repeats).
    head: usize,
    /// Rows of the axis.
    n: usize,
}

impl<T> Thomas<T> {
    /// Index of row `i < n` in the stored vectors.
    #[inline(always)]
    fn at(&self, i: usize) -> usize {
        if i < self.head {
            i
        } else if i + 1 == self.n {
            self.head
        } else {
            self.head - 1
        }
    }
}

/// The tridiagonal factors of an axis of `n` points: the rows of `b` under the
/// boundary's folding of the taps, eliminated without pivoting (strictly diagonally
/// dominant). Interior rows are all `[1/6, 2/3, 1/6]`, so once two consecutive
/// interior pivots are equal (in f64) every later interior row repeats: the loop stops
/// there and adds the last row.
fn thomas<T: Real>(n: usize, bc: Boundary) -> Thomas<T> {
    // (sub-diagonal, diagonal, super-diagonal) of row i.
    let row = |i: usize| {
        let (mut a, mut d, mut c) = (0.0, 0.0, 0.0);
        for (t, &w) in BSPLINE_TAPS.iter().enumerate() {
            let j = i as isize + t as isize - 1;
            match fold_index(j, n, bc) {
                Some(col) if col + 1 == i => a += w,
                Some(col) if col == i => d += w,
                Some(col) if col == i + 1 => c += w,
                Some(_) => unreachable!("cubic B-spline rows are tridiagonal"),
                None => {}
            }
        }
        (a, d, c)
    };
    let (_, d0, c0) = row(0);
    let (mut l, mut inv_d, mut u) = (vec![0.0], vec![1.0 / d0], vec![c0]);
    let (mut piv, mut c_prev, mut head) = (d0, c0, n);
    let mut i = 1;
    while i < n {
        let (a, d, c) = row(i);
        let li = a / piv;
        let p = d - li * c_prev;
        l.push(li);
        inv_d.push(1.0 / p);
        u.push(c);
        // Rows i-1 and i are interior (1 <= i-1, i <= n-2) with the same pivot:
        // rows i+1 .. n-2 repeat row i exactly; only row n-1 is left.
        let fixed = i >= 2 && i + 2 < n && p == piv && (a, d, c) == row(i - 1);
        piv = p;
        c_prev = c;
        if fixed {
            head = i + 1;
            let (a, d, c) = row(n - 1);
            let li = a / piv;
            l.push(li);
            inv_d.push(1.0 / (d - li * c_prev));
            u.push(c);
            break;
        }
        i += 1;
    }
    let cv = |v: Vec<f64>| v.into_iter().map(T::from_f64).collect();
    Thomas {
        l: cv(l),
        inv_d: cv(inv_d),
        u: cv(u),
        head,
        n,
    }
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
        Boundary::Zero | Boundary::Mirror => AxisSolver::Thomas(thomas(n, bc)),
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

    /// Lanes per block of the buffered axis-0 pass.
    fn lanes0(&self) -> usize {
        let [n0, n1, n2] = self.shape;
        (BLOCK_ELEMS / n0.max(1))
            .clamp(GATHER, 4096)
            .min(n1 * n2)
            .max(1)
    }

    /// Whether the axis-0 pass copies blocks of lanes into worker buffers (else it
    /// solves in place in the output: lines too long for a block of 32 lanes).
    fn buffered0(&self) -> bool {
        (self.shape[0] + 1) * self.lanes0() <= WORKER_CAP
    }

    /// Lanes per block of the in-place axis-0 pass: enough blocks for every task.
    fn lanes0_in_place(&self) -> usize {
        let m = self.shape[1] * self.shape[2];
        m.div_ceil(self.tasks()).clamp(1, LANE_CAP)
    }

    /// Rows of a plane gathered at once for the axis-2 solve (1: each row is solved
    /// in place, no gather).
    fn gather_rows(&self) -> usize {
        let [_, n1, n2] = self.shape;
        (WORKER_CAP / n2.max(1)).clamp(1, GATHER).min(n1.max(1))
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

    /// Values of `T` per worker, at most `WORKER_CAP + LANE_CAP + 32`: the
    /// axis-0 block (`(n₀ + 1) · L`, or an accumulator row in place) or the
    /// plane pass's gather buffer and accumulator rows, whichever is larger.
    fn per_worker(&self) -> usize {
        let [n0, _, n2] = self.shape;
        let step1 = if self.buffered0() {
            (n0 + 1) * self.lanes0()
        } else {
            self.lanes0_in_place()
        };
        let g = self.gather_rows();
        let gather = if g > 1 { n2 * g } else { 0 };
        step1.max(gather + g + n2.clamp(1, LANE_CAP))
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
        let buffered = self.buffered0();
        let lanes = if buffered {
            self.lanes0()
        } else {
            self.lanes0_in_place()
        };
        let blocks = m.div_ceil(lanes);
        let tasks = bufs.len().min(blocks).max(1);
        let per = blocks.div_ceil(tasks);
        let ax0 = &self.axes[0];
        let writer = DisjointWriter::new(out);
        let step1 = |t: usize, buf: &mut [T]| {
            for b in t * per..((t + 1) * per).min(blocks) {
                let m0 = b * lanes;
                let w = lanes.min(m - m0);
                if buffered {
                    let (tmp, acc) = buf[..(n0 + 1) * lanes].split_at_mut(n0 * lanes);
                    let tmp = &mut tmp[..n0 * w];
                    solve_lanes(isa, ax0, Dense::new(tmp, n0, w), acc, Some((&f[m0..], m)));
                    for (i, r) in tmp.chunks_exact(w).enumerate() {
                        // SAFETY: `i < n0` and `m0 + w <= m`, so `[i·m + m0, i·m + m0 + w)` lies
                        // in the output (length `n0·m`); the lanes `[m0, m0 + w)` of block `b`
                        // belong to this task alone, and the writer borrows the output, so the
                        // writes neither overlap nor alias.
                        unsafe { writer.write(i * m + m0, r) };
                    }
                } else {
                    // SAFETY: row `i < n0` of the block is `[i·m + m0, i·m + m0 + w)`, inside
                    // the output (`m0 + w <= m`, length `n0·m`) and disjoint from the other
                    // rows (`w <= m`); the lanes `[m0, m0 + w)` of block `b` belong to this
                    // task alone for the whole solve, and the writer borrows the output.
                    let rows = unsafe { Lines::from_raw(writer.at(m0), n0, m, w) };
                    solve_lanes(isa, ax0, rows, &mut buf[..w], Some((&f[m0..], m)));
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
        let rows = self.gather_rows();
        let step2 = |planes: &mut [T], buf: &mut [T]| -> bool {
            let mut finite = true;
            let gathered = if rows > 1 { n2 * rows } else { 0 };
            let (g, rest) = buf[..gathered + rows + n2.clamp(1, LANE_CAP)].split_at_mut(gathered);
            let (acc_g, acc_r) = rest.split_at_mut(rows);
            for p in planes.chunks_exact_mut(plane) {
                for c0 in (0..n2).step_by(LANE_CAP) {
                    let w = LANE_CAP.min(n2 - c0);
                    if w == n2 {
                        solve_lanes(isa, ax1, Dense::new(p, n1, n2), acc_r, None);
                    } else {
                        solve_lanes(isa, ax1, Lines::of(p, n1, n2, c0, w), acc_r, None);
                    }
                }
                if rows == 1 {
                    // Rows too long to gather: each is one line, solved where it is.
                    for r in p.chunks_exact_mut(n2) {
                        solve_lanes(isa, ax2, Dense::new(r, n2, 1), acc_g, None);
                    }
                } else {
                    for j0 in (0..n1).step_by(rows) {
                        let w = rows.min(n1 - j0);
                        let g = &mut g[..n2 * w];
                        let lines = &mut p[j0 * n2..(j0 + w) * n2];
                        // Rows `j0..j0 + w` as lanes: `g[k·w + l] = lines[l·n2 + k]`.
                        transpose_block(isa, lines, n2, g, w, w, n2);
                        solve_lanes(isa, ax2, Dense::new(g, n2, w), acc_g, None);
                        transpose_block(isa, g, w, lines, n2, n2, w);
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

/// `dst[c·ds + r] = src[r·ss + c]` for a `rows × cols` block: the
/// vectorised transpose of `kernels` for `f64`, a scalar loop for `f32`.
/// Does nothing if the block does not fit either slice (callers size them).
fn transpose_block<T: Real>(
    kernels: Kernels,
    src: &[T],
    ss: usize,
    dst: &mut [T],
    ds: usize,
    rows: usize,
    cols: usize,
) {
    if rows == 0 || cols == 0 {
        return;
    }
    // The last element of a block of `r` rows of stride `stride` and `c`
    // columns is at `(r − 1)·stride + c − 1`.
    let fits = |len: usize, stride: usize, r: usize, c: usize| {
        (r - 1)
            .checked_mul(stride)
            .and_then(|v| v.checked_add(c))
            .is_some_and(|end| end <= len)
    };
    if !fits(src.len(), ss, rows, cols) || !fits(dst.len(), ds, cols, rows) {
        debug_assert!(false, "transpose_block: the block exceeds a slice");
        return;
    }
    if std::any::TypeId::of::<T>() == std::any::TypeId::of::<f64>() {
        // SAFETY: `T` is `f64` (same type id), so the casts keep the element
        // type; the block's last element of each slice lies inside it
        // (checked above), and `src` and `dst` are distinct borrows.
        unsafe {
            kernels.transpose_raw(
                src.as_ptr().cast::<f64>(),
                ss,
                dst.as_mut_ptr().cast::<f64>(),
                ds,
                rows,
                cols,
            );
        }
    } else {
        for r in 0..rows {
            for c in 0..cols {
                dst[c * ds + r] = src[r * ss + c];
            }
        }
    }
}

/// The rows of the right-hand sides of a line solve: `n` rows of `w` lanes.
trait Lanes<T> {
    /// Rows.
    fn n(&self) -> usize;
    /// Lanes per row.
    fn w(&self) -> usize;
    /// Row `i`.
    fn row(&mut self, i: usize) -> &mut [T];
    /// Rows `i` and `i + 1`.
    fn pair(&mut self, i: usize) -> (&mut [T], &mut [T]);
}

/// A contiguous `[n][w]` buffer (the blocks, the gathered rows, a whole plane).
struct Dense<'a, T> {
    buf: &'a mut [T],
    w: usize,
}

impl<'a, T> Dense<'a, T> {
    /// The first `n · w` values of `buf` as `n` rows of `w`.
    fn new(buf: &'a mut [T], n: usize, w: usize) -> Self {
        Dense {
            buf: &mut buf[..n * w],
            w,
        }
    }
}

impl<T> Lanes<T> for Dense<'_, T> {
    #[inline(always)]
    fn n(&self) -> usize {
        self.buf.len().checked_div(self.w).unwrap_or(0)
    }
    #[inline(always)]
    fn w(&self) -> usize {
        self.w
    }
    #[inline(always)]
    fn row(&mut self, i: usize) -> &mut [T] {
        &mut self.buf[i * self.w..(i + 1) * self.w]
    }
    #[inline(always)]
    fn pair(&mut self, i: usize) -> (&mut [T], &mut [T]) {
        self.buf[i * self.w..(i + 2) * self.w].split_at_mut(self.w)
    }
}

/// `n` lines of `w` lanes at a fixed stride: row `i` holds lanes `[i·stride, i·stride + w)`
/// from `ptr`, for `i < n`, with `w <= stride` (rows never overlap): the in-place axis-0
/// pass (columns of the output that other tasks interleave) and column blocks of a plane.
struct Lines<'a, T> {
    ptr: *mut T,
    n: usize,
    stride: usize,
    w: usize,
    _borrow: std::marker::PhantomData<&'a mut [T]>,
}

impl<'a, T> Lines<'a, T> {
    /// Rows `[i·stride + c0, i·stride + c0 + w)`, `i < n`, of `buf`.
    ///
    /// # Panics
    /// If they do not lie in `buf`, or `w > stride` with more than one row.
    fn of(buf: &'a mut [T], n: usize, stride: usize, c0: usize, w: usize) -> Self {
        assert!(n == 0 || (n - 1) * stride + c0 + w <= buf.len());
        assert!(n <= 1 || w <= stride);
        // SAFETY: checked above: every row lies in `buf`, which this borrows exclusively
        // for `'a`, and rows do not overlap (`w <= stride`).
        unsafe { Self::from_raw(buf.as_mut_ptr().add(c0.min(buf.len())), n, stride, w) }
    }

    /// # Safety
    /// For `i < n`, `[ptr + i·stride, ptr + i·stride + w)` is valid for reads and writes
    /// and accessed through nothing else for `'a`; `w <= stride` if `n > 1`.
    unsafe fn from_raw(ptr: *mut T, n: usize, stride: usize, w: usize) -> Self {
        Lines {
            ptr,
            n,
            stride,
            w,
            _borrow: std::marker::PhantomData,
        }
    }
}

impl<T> Lanes<T> for Lines<'_, T> {
    #[inline(always)]
    fn n(&self) -> usize {
        self.n
    }
    #[inline(always)]
    fn w(&self) -> usize {
        self.w
    }
    #[inline(always)]
    fn row(&mut self, i: usize) -> &mut [T] {
        assert!(i < self.n);
        // SAFETY: `i < n`: a row of the view (valid and exclusive by construction);
        // `&mut self` prevents a second live borrow.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(i * self.stride), self.w) }
    }
    #[inline(always)]
    fn pair(&mut self, i: usize) -> (&mut [T], &mut [T]) {
        assert!(i + 1 < self.n);
        // SAFETY: two distinct rows of the view: valid, exclusive, and disjoint
        // (`w <= stride`); `&mut self` prevents a second live borrow.
        unsafe {
            (
                std::slice::from_raw_parts_mut(self.ptr.add(i * self.stride), self.w),
                std::slice::from_raw_parts_mut(self.ptr.add((i + 1) * self.stride), self.w),
            )
        }
    }
}

// SAFETY: a `Lines` is an exclusive borrow of its rows (like `&mut [T]`).
unsafe impl<T: Send> Send for Lines<'_, T> {}

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

/// Solves `b c = f` for the `w` lines (lanes) of `buf`, `n` rows of `w` lanes, where `f`
/// is `src` or, if `src` is `None`, the rows themselves. `acc` is a scratch row of at
/// least `w` elements. Runs through [`Kernels::dispatch`], so the loops are compiled (and
/// auto-vectorised) for the plan's ISA: AVX-512 code for AVX-512, AVX2+FMA for AVX2. The
/// generic code has no `mul_add` and Rust does not contract `a * b + c`, so results are
/// bit-identical across ISAs (and between the buffered and in-place layouts).
#[inline]
fn solve_lanes<T: Real, L: Lanes<T>>(
    kernels: Kernels,
    ax: &AxisSolver<T>,
    buf: L,
    acc: &mut [T],
    src: Rows<'_, T>,
) {
    struct Job<'a, T: Real, L> {
        ax: &'a AxisSolver<T>,
        buf: L,
        acc: &'a mut [T],
        src: Rows<'a, T>,
    }
    impl<T: Real, L: Lanes<T>> WithSimd for Job<'_, T, L> {
        type Output = ();
        #[inline(always)]
        fn run<V: Vf64>(self, _simd: Simd<V>) {
            solve_lanes_generic(self.ax, self.buf, self.acc, self.src)
        }
    }
    kernels.dispatch(Job { ax, buf, acc, src })
}

#[inline(always)]
fn solve_lanes_generic<T: Real, L: Lanes<T>>(
    ax: &AxisSolver<T>,
    mut buf: L,
    acc: &mut [T],
    src: Rows<'_, T>,
) {
    let (n, w) = (buf.n(), buf.w());
    if n == 0 {
        return;
    }
    let acc = &mut acc[..w];
    match ax {
        AxisSolver::Periodic { p, gain, powers } => {
            let (p, gain) = (*p, *gain);
            // Causal init y0 = Σ_j p^j f[(n - j) mod n], read before any row is overwritten.
            acc.fill(T::ZERO);
            for (j, &pj) in powers.iter().enumerate() {
                let r = (n - j) % n;
                let fr = match src {
                    Some((s, stride)) => &s[r * stride..r * stride + w],
                    None => &*buf.row(r),
                };
                for (a, &f) in acc.iter_mut().zip(fr) {
                    *a += pj * f;
                }
            }
            buf.row(0).copy_from_slice(acc);
            match src {
                Some((s, stride)) => {
                    for i in 1..n {
                        prefetch_row(s, (i + PREFETCH_ROWS) * stride, w);
                        let (prev, cur) = buf.pair(i - 1);
                        let fr = &s[i * stride..i * stride + w];
                        for ((y, &yp), &f) in cur.iter_mut().zip(prev.iter()).zip(fr) {
                            *y = f + p * yp;
                        }
                    }
                }
                None => {
                    for i in 1..n {
                        let (prev, cur) = buf.pair(i - 1);
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
                for (a, &y) in acc.iter_mut().zip(buf.row(r).iter()) {
                    *a += pj * y;
                }
            }
            for (c, &a) in buf.row(n - 1).iter_mut().zip(acc.iter()) {
                *c = gain * a;
            }
            for i in (0..n - 1).rev() {
                let (cur, next) = buf.pair(i);
                for (c, &cn) in cur.iter_mut().zip(next.iter()) {
                    *c = p * cn + gain * *c;
                }
            }
        }
        AxisSolver::Thomas(t) => {
            let (l, inv_d, u) = (&t.l, &t.inv_d, &t.u);
            // y_i = f_i - l_i y_{i-1}: the multiplier depends on the row, so index it.
            match src {
                Some((s, stride)) => {
                    buf.row(0).copy_from_slice(&s[..w]);
                    for i in 1..n {
                        prefetch_row(s, (i + PREFETCH_ROWS) * stride, w);
                        let li = l[t.at(i)];
                        let (prev, cur) = buf.pair(i - 1);
                        let fr = &s[i * stride..i * stride + w];
                        for ((y, &yp), &f) in cur.iter_mut().zip(prev.iter()).zip(fr) {
                            *y = f - li * yp;
                        }
                    }
                }
                None => {
                    for i in 1..n {
                        let li = l[t.at(i)];
                        let (prev, cur) = buf.pair(i - 1);
                        for (y, &yp) in cur.iter_mut().zip(prev.iter()) {
                            *y -= li * yp;
                        }
                    }
                }
            }
            let dl = inv_d[t.at(n - 1)];
            for c in buf.row(n - 1).iter_mut() {
                *c *= dl;
            }
            for i in (0..n - 1).rev() {
                let k = t.at(i);
                let (ui, di) = (u[k], inv_d[k]);
                let (cur, next) = buf.pair(i);
                for (c, &cn) in cur.iter_mut().zip(next.iter()) {
                    *c = (*c - ui * cn) * di;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 1D operator `b` applied along `axis` of a row-major grid, each boundary's
    /// neighbour rule written out (the oracle: independent of the solver's factors).
    fn apply_axis(c: &[f64], shape: [usize; 3], axis: usize, bc: Boundary) -> Vec<f64> {
        let n = shape[axis];
        let stride: usize = shape[axis + 1..].iter().product();
        let neighbour = |i: isize| -> Option<usize> {
            let ni = n as isize;
            if (0..ni).contains(&i) {
                return Some(i as usize);
            }
            match bc {
                Boundary::Periodic => Some(i.rem_euclid(ni) as usize),
                Boundary::Zero => None,
                // c[-1] = c[1], c[n] = c[n-2]; a single point mirrors onto itself.
                Boundary::Mirror if n == 1 => Some(0),
                Boundary::Mirror => Some(if i < 0 {
                    (-i) as usize
                } else {
                    (2 * ni - 2 - i) as usize
                }),
            }
        };
        let mut out = vec![0.0; c.len()];
        for (flat, o) in out.iter_mut().enumerate() {
            let i = (flat / stride) % n;
            let base = flat - i * stride;
            for (d, w) in [(-1isize, 1.0 / 6.0), (0, 2.0 / 3.0), (1, 1.0 / 6.0)] {
                if let Some(j) = neighbour(i as isize + d) {
                    *o += w * c[base + j * stride];
                }
            }
        }
        out
    }

    fn residual(c: &[f64], f: &[f64], shape: [usize; 3], bc: [Boundary; 3]) -> f64 {
        let mut bcv = c.to_vec();
        for axis in 0..3 {
            bcv = apply_axis(&bcv, shape, axis, bc[axis]);
        }
        let scale = f.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        bcv.iter()
            .zip(f)
            .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()))
            / scale
    }

    fn samples(len: usize, seed: u64) -> Vec<f64> {
        let mut s = seed;
        (0..len)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5
            })
            .collect()
    }

    const BCS: [Boundary; 3] = [Boundary::Periodic, Boundary::Zero, Boundary::Mirror];

    #[test]
    fn scratch_stays_bounded_whatever_the_shape() {
        let big = 4 << 20;
        let shapes = [
            [1, 1, big],
            [big, 1, 1],
            [1, big, 1],
            [2, 3, big / 6],
            [big / 6, 2, 3],
            [64, big / 64, 1],
            [1, 64, big / 64],
            [128, 128, 256],
            [7, 9, 10],
        ];
        for shape in shapes {
            for bc in BCS {
                for threads in [1, 2, 8] {
                    let plan = DirectPlan::<f64>::new(shape, [bc; 3], Par::with_threads(threads));
                    let bound = threads * (WORKER_CAP + LANE_CAP + GATHER) * 8;
                    let got = plan.scratch().bytes();
                    assert!(got <= bound, "{shape:?} {bc:?} {threads}: {got} > {bound}");
                    for ax in &plan.axes {
                        if let AxisSolver::Thomas(t) = ax {
                            assert!(t.l.len() <= 64, "{shape:?}: {} stored rows", t.l.len());
                        }
                    }
                }
            }
        }
        // The grid a user reported: 1 x 1 x 4,194,304 f64 samples (32 MiB) now needs
        // at most 2 MiB per thread.
        let plan = DirectPlan::<f64>::new([1, 1, big], [Boundary::Mirror; 3], Par::with_threads(2));
        assert!(plan.scratch().bytes() < 4 << 20);
    }

    #[test]
    fn stored_tridiagonal_factors_equal_the_full_elimination() {
        for bc in [Boundary::Zero, Boundary::Mirror] {
            for n in [1, 2, 3, 4, 5, 8, 40, 1000] {
                let t = thomas::<f64>(n, bc);
                // Full elimination of the rows, written out here.
                let (mut a, mut d, mut c) =
                    (vec![1.0 / 6.0; n], vec![2.0 / 3.0; n], vec![1.0 / 6.0; n]);
                a[0] = 0.0;
                c[n - 1] = 0.0;
                match bc {
                    // Every tap folds onto the single point (summed in tap order).
                    Boundary::Mirror if n == 1 => d[0] = 1.0 / 6.0 + 2.0 / 3.0 + 1.0 / 6.0,
                    Boundary::Mirror => {
                        c[0] = 1.0 / 3.0;
                        a[n - 1] = 1.0 / 3.0;
                    }
                    _ => {}
                }
                let mut piv = d[0];
                assert_eq!(t.inv_d[t.at(0)], 1.0 / piv);
                for i in 1..n {
                    let l = a[i] / piv;
                    piv = d[i] - l * c[i - 1];
                    let k = t.at(i);
                    assert_eq!((t.l[k], t.inv_d[k]), (l, 1.0 / piv), "{bc:?} n={n} row {i}");
                    if i + 1 < n {
                        assert_eq!(t.u[k], c[i], "{bc:?} n={n} row {i}");
                    }
                }
                assert!(t.l.len() <= n.min(64));
            }
        }
    }

    #[test]
    fn degenerate_and_long_shapes_solve_exactly() {
        // 70,000 > WORKER_CAP / 2: the in-place axis-0 pass, and rows solved in place.
        let n = 70_000;
        for shape in [
            [1, 1, n],
            [n, 1, 1],
            [1, n, 1],
            [3, 2, n],
            [n, 2, 3],
            [2, n, 2],
            [5000, 7, 3],
        ] {
            let len: usize = shape.iter().product();
            let f = samples(len, len as u64);
            for bc in BCS {
                let b = [bc, BCS[(bc as usize + 1) % 3], bc];
                let plan = DirectPlan::<f64>::new(shape, b, Par::Seq);
                let mut c = vec![f64::NAN; len];
                assert!(plan.solve_checked(&f, &mut c));
                let r = residual(&c, &f, shape, b);
                assert!(r < 1e-13, "{shape:?} {b:?}: residual {r:e}");
                let par = DirectPlan::<f64>::new(shape, b, Par::with_threads(3));
                let mut c2 = vec![f64::NAN; len];
                par.solve(&f, &mut c2);
                assert!(c == c2, "{shape:?} {b:?}: threads change the result");
            }
        }
    }
}
