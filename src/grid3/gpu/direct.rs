//! The exact separable direct solve `B c = F` on the device.
//!
//! `B = b ⊗ b ⊗ b` is separable, so `c = (T₀⁻¹ ⊗ T₁⁻¹ ⊗ T₂⁻¹) F`: one solve with the
//! 1D matrix `T_a` (rows `[1, 4, 1]/6`, boundary rows per [`Boundary`]) along every line
//! of every axis. Each `T_a` is factored once on the host in f64 (`T = L U` without
//! pivoting; `T` is strictly diagonally dominant, so the factors are bounded), and
//! the factors are uploaded once per plan. A periodic axis with `n ≥ 3` is cyclic
//! tridiagonal: it is written `T = T' + u vᵀ` with `u = (γ, 0, …, 0, 1)`,
//! `v = (1, 0, …, 0, 1/γ)`, `γ = −4`, and solved by Sherman–Morrison,
//! `c = y − q (vᵀy)/(1 + vᵀq)` with `T' y = 6 f` on the device and `T' q = u`
//! precomputed. For `n ≤ 2` the periodic matrix is itself tridiagonal.
//!
//! Cost: one read and one write of the grid per axis (the line lives in
//! workgroup memory between them), i.e. three read+write sweeps.

use std::sync::Arc;

use super::ops::{GpuOps, GpuVector};
use super::shaders;
use crate::FitError;
use crate::gpu::context::GpuContext;
use crate::grid3::Boundary;

/// Factors of one axis: `l`, `1/u`, `e`, `q` (each `n`), then `kq`, `bg`.
pub(crate) fn axis_factors(n: usize, bc: Boundary) -> Vec<f64> {
    let mut d = vec![4.0f64; n];
    let mut sub = vec![1.0f64; n];
    let mut sup = vec![1.0f64; n];
    let cyclic = bc == Boundary::Periodic && n >= 3;
    match bc {
        _ if n == 1 => d[0] = if bc == Boundary::Zero { 4.0 } else { 6.0 },
        Boundary::Mirror | Boundary::Periodic if n == 2 => {
            sup[0] = 2.0;
            sub[1] = 2.0;
        }
        Boundary::Mirror => {
            sup[0] = 2.0;
            sub[n - 1] = 2.0;
        }
        Boundary::Periodic => {
            let gamma = -4.0;
            d[0] -= gamma;
            d[n - 1] -= 1.0 / gamma;
        }
        Boundary::Zero => {}
    }
    let mut l = vec![0.0f64; n];
    let mut u = vec![0.0f64; n];
    u[0] = d[0];
    for i in 1..n {
        l[i] = sub[i] / u[i - 1];
        u[i] = d[i] - l[i] * sup[i - 1];
    }
    let solve = |g: &[f64]| -> Vec<f64> {
        let mut y = g.to_vec();
        for i in 1..n {
            y[i] -= l[i] * y[i - 1];
        }
        y[n - 1] /= u[n - 1];
        for i in (0..n - 1).rev() {
            y[i] = (y[i] - sup[i] * y[i + 1]) / u[i];
        }
        y
    };
    let (q, kq, bg) = if cyclic {
        let gamma = -4.0;
        let mut uvec = vec![0.0; n];
        uvec[0] = gamma;
        uvec[n - 1] = 1.0;
        let q = solve(&uvec);
        let vq = q[0] + q[n - 1] / gamma;
        (q, 1.0 / (1.0 + vq), 1.0 / gamma)
    } else {
        (vec![0.0; n], 0.0, 0.0)
    };
    let mut t = Vec::with_capacity(4 * n + 2);
    t.extend_from_slice(&l);
    t.extend(u.iter().map(|x| 1.0 / x));
    t.extend_from_slice(&sup);
    t.extend_from_slice(&q);
    t.push(kq);
    t.push(bg);
    t
}

/// Segment carry factors of one axis for [`shaders::direct_axis_seg`]: `g_k`
/// (`n` values) then `h_k` (`n` values), from the factors `f` of [`axis_factors`].
///
/// With segments `[a, b)` of length `seg`, `g_k = Π_{j=a..k} (−l_j)` and
/// `h_k = Π_{j=k..b−1} (−e_j/u_j)`: the response of the forward (backward) sweep
/// at `k` to a unit state entering the segment. Both decay like `0.27^m`, so
/// they stay bounded and the corrections are well conditioned.
pub(crate) fn seg_factors(n: usize, seg: usize, f: &[f64]) -> Vec<f64> {
    let (l, iu, e) = (&f[..n], &f[n..2 * n], &f[2 * n..3 * n]);
    let mut gh = vec![0.0f64; 2 * n];
    for a in (0..n).step_by(seg) {
        let b = (a + seg).min(n);
        let mut g = 1.0;
        for k in a..b {
            g *= -l[k];
            gh[k] = g;
        }
        let mut h = 1.0;
        for k in (a..b).rev() {
            h *= -e[k] * iu[k];
            gh[n + k] = h;
        }
    }
    gh
}

/// Segment length of [`shaders::direct_axis_seg`] for a line of `n` points.
///
/// With `want == 0`: the whole line up to 32 points; 16 points while that
/// makes at most 16 segments (lines up to 256 points: with 256 threads a
/// workgroup still spans ≥ 16 lines, so a warp's strided reads are ≥ 64-byte
/// runs); beyond, 32–64 points so that a line has about eight segments (a
/// multiple of 4, 64 registers per thread at most). Measured on the H200 at
/// 256³: the strided passes take 0.067–0.070 ms with 16-point segments against
/// 0.074–0.075 ms with 32; at 512³ 16-point segments (32 per line, warps over
/// 8 lines) slow them down to 0.54–0.76 ms from 0.36–0.39 ms.
/// Otherwise `want` clamped to `[4, 64]`, a multiple of 4, at most `n`.
fn seg_len(n: usize, want: u32) -> usize {
    if want == 0 {
        if n <= 32 {
            n
        } else if n <= 256 {
            16
        } else {
            n.div_ceil(8).next_multiple_of(4).clamp(32, 64)
        }
    } else {
        (want as usize).clamp(4, 64).next_multiple_of(4).min(n)
    }
}

/// How the segmented kernel moves lines along the contiguous axis (axis 2)
/// between global memory and its registers (a tuning option of
/// [`DirectOptions`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ContiguousLoad {
    /// Through an `f32` workgroup-memory tile of odd row stride, loaded and
    /// stored with coalesced `vec4` global accesses; each `vec4` is scattered
    /// into four scalar tile stores (4-way bank conflicts on the fill and the
    /// drain, conflict-free reads into registers).
    Tile,
    /// Through a `vec4` workgroup-memory tile whose row stride (in `vec4`s) is
    /// odd: the fill and the drain move whole `vec4`s between global and
    /// workgroup memory, and each thread reads its segment as `vec4`s; eight
    /// consecutive lines then hit eight distinct 16-byte bank groups, so no
    /// access conflicts. Needs lines and segments of a multiple of 4 points
    /// (else [`Tile`](Self::Tile)).
    Vec4Tile,
    /// No tile: each thread reads and writes its own segment as `vec4`s
    /// (lines and segments of a multiple of 4 points; else [`Tile`](Self::Tile)).
    Registers,
}

/// Geometry and load path of the segmented kernel's pass along the contiguous
/// axis (axis 2), chosen apart from the strided axes': its lines pass through
/// workgroup memory, and on the H200 it runs fastest with 16-point segments at
/// every size (256³: 0.077–0.079 ms against 0.096 with 32; 512³: 0.577 ms
/// against 0.752 with 64), where the strided passes want long segments on
/// long lines (see [`DirectKernel::Segmented`]). Start from the default and
/// change fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ContiguousPass {
    /// How lines reach the registers.
    pub load: ContiguousLoad,
    /// Target threads per workgroup.
    pub threads: u32,
    /// Points per thread (0: as the strided axes' automatic choice; else
    /// clamped to `[4, 64]`, a multiple of 4).
    pub seg: u32,
}

impl Default for ContiguousPass {
    fn default() -> Self {
        Self {
            load: ContiguousLoad::Vec4Tile,
            threads: 256,
            seg: 16,
        }
    }
}

/// How [`DirectPlan`] runs the solve along one axis (the tuning option of
/// [`DirectOptions`]). Every kernel gives the same coefficients to f32
/// rounding; the default is the one measured fastest on an H100 and an H200
/// from 64³ to 512³ (`docs/gpu.md`), the others exist to repeat that
/// comparison (`bsfit gpu-bench --direct-kernels`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DirectKernel {
    /// Whole lines in workgroup memory, 256 threads per workgroup; each thread
    /// solves a 32-point segment after a 20-point warm-up over its neighbour's
    /// points (a truncation ~1e-11 relative, below f32 rounding).
    Tiled,
    /// Each thread holds a segment of a line in registers; the segments are
    /// joined exactly by a carry scan through workgroup memory. `threads` is the
    /// target workgroup size (rounded down to whole lines, capped by the device).
    ///
    /// Every second pass of a plan numbers its workgroups from the end of the
    /// grid, so it starts on the part of the grid the previous pass wrote last,
    /// much of which is still in the L2 cache when the grid is not much larger
    /// than it. On an H200 this made the 256³ f32 periodic solve 2–7% faster
    /// (binaries with and without it alternating in each of three calls:
    /// 0.205–0.224 ms → 0.190–0.209 ms); 512³ is unchanged (1.28 ms).
    Segmented {
        /// Target threads per workgroup of the strided axes (e.g. 256).
        threads: u32,
        /// Points per thread on the strided axes; 0 picks 16 for lines of up to
        /// 256 points, else 32–64 so that a line has about eight segments (a
        /// whole line of up to 32 points is one segment). Other values are
        /// clamped to `[4, 64]` and rounded up to a multiple of 4.
        seg: u32,
        /// The contiguous axis' pass.
        contiguous: ContiguousPass,
    },
}

impl Default for DirectKernel {
    fn default() -> Self {
        Self::Segmented {
            threads: 256,
            seg: 0,
            contiguous: ContiguousPass::default(),
        }
    }
}

/// Options of a [`DirectPlan`] ([`DirectPlan::with_options`]); start from
/// the default and change fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct DirectOptions {
    /// How each axis' lines are solved (default: [`DirectKernel::default`],
    /// the measured fastest).
    pub kernel: DirectKernel,
}

struct AxisPass {
    pipeline: Arc<wgpu::ComputePipeline>,
    groups: (u32, u32),
}

/// A compiled direct solve for one grid shape and boundary triple: factor
/// tables on the device and one pipeline per axis. Solving records three
/// dispatches and allocates nothing.
///
/// The plan remembers its shape and context: [`record`](Self::record)
/// refuses a vector of another length or context with an error before
/// recording anything (its kernels run without runtime bounds checks, so
/// that check is what keeps them inside the vector).
pub struct DirectPlan {
    shape: [usize; 3],
    total: usize,
    ctx: u64,
    table: GpuVector,
    passes: Vec<AxisPass>,
}

impl std::fmt::Debug for DirectPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectPlan")
            .field("shape", &self.shape)
            .finish_non_exhaustive()
    }
}

pub(crate) fn groups_2d(n: u32) -> (u32, u32) {
    let gx = n.clamp(1, 32_768);
    (gx, n.div_ceil(gx).max(1))
}

impl DirectPlan {
    /// Factors the three axes, uploads the factors and compiles the passes
    /// (default [`DirectOptions`]).
    ///
    /// # Errors
    /// [`FitError::InvalidParameter`] for an empty axis or a grid of 2³² points
    /// or more; [`FitError::Gpu`] if a line does not fit in workgroup memory or
    /// a buffer exceeds a device limit.
    pub fn new(ctx: &GpuContext, shape: [usize; 3], bc: [Boundary; 3]) -> Result<Self, FitError> {
        Self::with_options(ctx, shape, bc, &DirectOptions::default())
    }

    /// [`new`](Self::new) with `options`.
    ///
    /// # Errors
    /// As [`new`](Self::new).
    pub fn with_options(
        ctx: &GpuContext,
        shape: [usize; 3],
        bc: [Boundary; 3],
        options: &DirectOptions,
    ) -> Result<Self, FitError> {
        Self::with_axes(ctx, shape, bc, &[2, 1, 0], options)
    }

    /// A plan that solves along `axes` only (in that order): `&[2, 1, 0]` is
    /// the whole solve; a single axis is one pass (for timing the passes
    /// separately, or for grids solved in blocks).
    ///
    /// # Errors
    /// As [`new`](Self::new); [`FitError::InvalidParameter`] for an axis > 2.
    pub fn with_axes(
        ctx: &GpuContext,
        shape: [usize; 3],
        bc: [Boundary; 3],
        axes: &[usize],
        options: &DirectOptions,
    ) -> Result<Self, FitError> {
        let kernel = options.kernel;
        if let Some(&a) = axes.iter().find(|&&a| a > 2) {
            return Err(FitError::InvalidParameter {
                name: "axes",
                reason: format!("axis {a} of a 3D grid"),
            });
        }
        let total = shape
            .iter()
            .try_fold(1usize, |a, &n| a.checked_mul(n))
            .filter(|&t| t > 0 && t <= u32::MAX as usize)
            .ok_or_else(|| FitError::InvalidParameter {
                name: "shape",
                reason: format!("{shape:?}: every axis must be ≥ 1 and the total < 2^32"),
            })?;
        let mut table: Vec<f32> = Vec::new();
        let mut offsets = [0usize; 3];
        let mut factors: [Vec<f64>; 3] = Default::default();
        for a in 0..3 {
            offsets[a] = table.len();
            factors[a] = axis_factors(shape[a], bc[a]);
            table.extend(factors[a].iter().map(|&x| x as f32));
        }
        // Requested segment length and threads per axis (contiguous: axis 2).
        let geometry = |a: usize| match kernel {
            DirectKernel::Segmented { contiguous, .. } if a == 2 => {
                (contiguous.seg, contiguous.threads)
            }
            DirectKernel::Segmented { seg, threads, .. } => (seg, threads),
            DirectKernel::Tiled => (0, 256),
        };
        let mut goffs = [0usize; 3];
        for a in 0..3 {
            goffs[a] = table.len();
            let gh = seg_factors(shape[a], seg_len(shape[a], geometry(a).0), &factors[a]);
            table.extend(gh.iter().map(|&x| x as f32));
        }
        let tbuf = GpuVector::new(ctx, table.len(), "direct factors")?;
        ctx.upload(&tbuf.buffer, 0, &table);
        let lim = ctx.limits();
        let ws = lim.max_compute_workgroup_storage_size as usize;
        let max_threads = lim
            .max_compute_invocations_per_workgroup
            .min(lim.max_compute_workgroup_size_x) as usize;
        let mut passes = Vec::with_capacity(3);
        for (pos, &a) in axes.iter().enumerate() {
            let n = shape[a];
            let contig = a == 2;
            let (inner, outer) = if contig {
                (total / n, 1)
            } else {
                (
                    shape[a + 1..].iter().product::<usize>(),
                    shape[..a].iter().product::<usize>(),
                )
            };
            let cyclic = bc[a] == Boundary::Periodic && n >= 3;
            let (want, threads) = geometry(a);
            let seg = seg_len(n, want);
            let p = n.div_ceil(seg);
            // The contiguous axis' load path: vec4 forms need whole vec4s per
            // line and per segment.
            let aligned = n.is_multiple_of(4) && seg.is_multiple_of(4);
            let load = match kernel {
                DirectKernel::Segmented { contiguous, .. } if contig && aligned => {
                    Some(contiguous.load)
                }
                _ if contig => Some(ContiguousLoad::Tile),
                _ => None,
            };
            // Workgroup memory of a segmented pass with `cols` lines.
            let seg_ws = |cols: usize| {
                4 * (2 * cols * p
                    + 2 * cols
                    + match load {
                        Some(ContiguousLoad::Tile) => cols * (n | 1),
                        Some(ContiguousLoad::Vec4Tile) => cols * 4 * ((n / 4) | 1),
                        _ => 0,
                    })
            };
            let segmented = match kernel {
                DirectKernel::Segmented { .. } if p <= max_threads => {
                    let mut cols = ((threads as usize).min(max_threads) / p).clamp(1, inner.max(1));
                    while cols > 1 && seg_ws(cols) > ws {
                        cols /= 2;
                    }
                    (seg_ws(cols) <= ws).then_some(cols)
                }
                _ => None,
            };
            let (src, tiles) = if let Some(cols) = segmented {
                let (tpo, tiles) = if contig {
                    (1, inner.div_ceil(cols))
                } else {
                    let tpo = inner.div_ceil(cols);
                    (tpo, outer * tpo)
                };
                let spec = shaders::SegSpec {
                    n: n as u32,
                    seg: seg as u32,
                    cols: cols as u32,
                    contiguous: contig,
                    inner: inner as u32,
                    tiles_per_outer: tpo as u32,
                    tiles: tiles as u32,
                    off: offsets[a] as u32,
                    goff: goffs[a] as u32,
                    cyclic,
                    load,
                    // Every second pass of the plan runs from the end of the
                    // grid (see `DirectKernel::Segmented`).
                    reverse: pos % 2 == 1,
                };
                (shaders::direct_axis_seg(&spec), tiles)
            } else {
                let s = n | 1;
                let mut cols = 64usize;
                while cols > 1 && (cols * s + cols) * 4 > ws {
                    cols /= 2;
                }
                if (cols * s + cols) * 4 > ws {
                    return Err(FitError::Gpu(format!(
                        "axis {a}: a line of {n} points does not fit in {ws} bytes of workgroup memory"
                    )));
                }
                let (tpo, tiles) = if contig {
                    (1, inner.div_ceil(cols))
                } else {
                    let tpo = inner.div_ceil(cols);
                    (tpo, outer * tpo)
                };
                let src = shaders::direct_axis(
                    n as u32,
                    cols as u32,
                    contig,
                    inner as u32,
                    tpo as u32,
                    tiles as u32,
                    offsets[a] as u32,
                );
                (src, tiles)
            };
            let l = &ctx.layouts;
            // SAFETY: the pass is recorded only by `record`, which first
            // checks that the vector bound holds `total` = n0·n1·n2 elements
            // of this context. The kernel's line length, tile shape, line
            // counts and table offsets are baked from this plan's shape, so a
            // workgroup touches only elements of its own tiles (tile <
            // `tiles`, line < `cols`, k < n: all below `total`), its
            // workgroup arrays by line < `cols` and k < n (sized from those),
            // and the factor table below the offsets computed here for a
            // table built with exactly those entries (`shaders` module note).
            let pipeline = unsafe { ctx.pipeline_unchecked(&src, &[&l.ro, &l.rw], 0) };
            passes.push(AxisPass {
                pipeline,
                groups: groups_2d(tiles as u32),
            });
        }
        Ok(Self {
            shape,
            total,
            ctx: ctx.id(),
            table: tbuf,
            passes,
        })
    }

    /// Grid shape of the plan.
    pub fn shape(&self) -> [usize; 3] {
        self.shape
    }

    /// Records `v ← B⁻¹ v` (in place) into `ops`' pending commands: three
    /// dispatches, no allocation, no upload, no wait. `ops` only carries the
    /// commands (its shape does not matter; its context must be the plan's).
    ///
    /// # Errors
    /// [`FitError::InvalidParameter`] if `v` does not hold exactly the plan's
    /// grid or `ops` or `v` belongs to another context (nothing is recorded).
    pub fn record(&self, ops: &GpuOps<'_>, v: &GpuVector) -> Result<(), FitError> {
        let ctx = ops.context();
        if ctx.id() != self.ctx {
            return Err(FitError::InvalidParameter {
                name: "ops",
                reason: "a backend of another GPU context than the direct plan".into(),
            });
        }
        ctx.check_buffer(
            "v",
            v.ctx,
            v.len,
            self.total,
            &format_args!("the direct plan of shape {:?}", self.shape),
        )?;
        for p in &self.passes {
            ops.dispatch(
                &p.pipeline,
                &[&self.table.ro, &v.rw],
                &[],
                (p.groups.0, p.groups.1, 1),
            );
        }
        Ok(())
    }
}

/// The direct solve of a grid too large for one storage binding, recorded on
/// `drv` (nothing submitted): returns the slabs `(first plane, end plane,
/// vector)` that hold the result once `drv`'s commands have run.
///
/// The grid lives in slabs of whole axis-0 planes, each within the binding
/// limit; axes 2 and 1 are solved slab by slab. For axis 0 the slabs are
/// regrouped by copy commands into blocks of whole axis-1 columns
/// (`[n0, w, n2]`, again within the limit), solved along axis 0 and copied
/// back. The extra cost is two device copies of the grid.
pub(crate) fn record_slabs(
    ctx: &GpuContext,
    drv: &GpuOps<'_>,
    shape: [usize; 3],
    bc: [Boundary; 3],
    data: &[f32],
) -> Result<Vec<(usize, usize, GpuVector)>, FitError> {
    let [n0, n1, n2] = shape;
    let cap = (ctx.max_binding() / 4) as usize;
    let plane = n1 * n2;
    let s0 = cap / plane.max(1);
    let s1 = cap / (n0 * n2).max(1);
    if s0 == 0 || s1 == 0 {
        return Err(FitError::Gpu(format!(
            "grid {shape:?}: neither an axis-0 plane ({plane} values) nor an axis-1 column \
             block ({} values) fits the storage binding limit of {cap} values",
            n0 * n2
        )));
    }
    let mut slabs = Vec::new();
    for a in (0..n0).step_by(s0) {
        let b = (a + s0).min(n0);
        let v = GpuVector::new(ctx, (b - a) * plane, "slab")?;
        ctx.upload(&v.buffer, 0, &data[a * plane..b * plane]);
        DirectPlan::with_axes(ctx, [b - a, n1, n2], bc, &[2, 1], &DirectOptions::default())?
            .record(drv, &v)?;
        slabs.push((a, b, v));
    }
    for c in (0..n1).step_by(s1) {
        let d = (c + s1).min(n1);
        let w = d - c;
        let blk = GpuVector::new(ctx, n0 * w * n2, "column block")?;
        for (a, b, v) in &slabs {
            for i0 in *a..*b {
                drv.copy_region(
                    &v.buffer,
                    ((i0 - a) * n1 + c) * n2,
                    &blk.buffer,
                    i0 * w * n2,
                    w * n2,
                );
            }
        }
        DirectPlan::with_axes(ctx, [n0, w, n2], bc, &[0], &DirectOptions::default())?
            .record(drv, &blk)?;
        for (a, b, v) in &slabs {
            for i0 in *a..*b {
                drv.copy_region(
                    &blk.buffer,
                    i0 * w * n2,
                    &v.buffer,
                    ((i0 - a) * n1 + c) * n2,
                    w * n2,
                );
            }
        }
    }
    Ok(slabs)
}
