//! [`GpuFitter`]: the separable collocation fit on the device.

use std::sync::Arc;

use super::array::{Ctx, DeviceArray, GpuReal, check_precision};
use super::finite::FiniteCheck;
use super::spline::GpuSpline;
use super::wgsl::{self, EndsSpec, FIT_WG, FixStep, PassSpec, PostSpec};
use crate::FitError;
use crate::bspline::boundary::FixOp;
use crate::gpu::GpuContext;
use crate::gpu::context::Counters;
use crate::tensor::{Extrapolate, Fitter, TensorSpline};
use ndarray::{ArrayView, Dim, Dimension};

/// Workgroup memory a fit tile may use (bytes): small enough for several
/// workgroups per multiprocessor.
const TILE_BYTES: usize = 32 * 1024;

/// Loads in flight per thread on the global-memory passes
/// ([`GpuTuning::fit_chunk`](crate::gpu::GpuTuning::fit_chunk) overrides, for measurements).
const CHUNK: usize = 8;

/// Lines along axes whose elements are at least this many apart are solved
/// one per thread straight from global memory: neighbouring threads touch
/// neighbouring addresses, so every access is coalesced.
const DIRECT_MIN_STRIDE: usize = 32;

/// How an axis pass moves its data.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Solves the lines in place (not-a-knot: the solution is the
    /// coefficients).
    InPlace,
    /// Reads the lines from one array and writes their `n_out`
    /// coefficients to the other (the other conditions).
    Post,
}

struct Pass {
    pipeline: Arc<wgpu::ComputePipeline>,
    groups: (u32, u32),
    kind: Kind,
}

/// The explicit end values of one axis: the kernel that adds them, the
/// device array their fits over the other axes go to, and host buffers.
struct EndsPlan<T: GpuReal> {
    pipeline: Arc<wgpu::ComputePipeline>,
    groups: (u32, u32),
    /// `G_l` then `G_r` (each `glen` values; an end without values unused).
    array: DeviceArray<T>,
    glen: usize,
    /// Scratch of `Fitter::end_fit`.
    scratch: Vec<f64>,
    /// `G_l, G_r` rounded to `T` (f32 only).
    host: Vec<T>,
}

/// A fit plan on the device: the separable solve of [`Fitter`] with each
/// axis' factored system uploaded once, the passes compiled once and the
/// coefficient array and read-back buffer allocated once, in precision `T`.
///
/// Every boundary condition of the CPU fit is solved on the device, with
/// the same factors and the same operations: not-a-knot axes in place
/// (below), the other conditions (natural, clamped, explicit derivative
/// ends, periodic) by an out-of-place pass per axis that solves each line's
/// banded system, applies the periodic Sherman–Morrison correction and
/// forms the `n + 2` coefficients from the solution rows
/// ([`crate::bspline::boundary`]). Explicit end values enter as on the CPU:
/// their fit over the other axes (`1/n_k` of the grid) on the host, then
/// `ρ_e ⊗ G_e` added on the device. Vector values
/// ([`with_value_shape`](Self::with_value_shape)) ride along as the
/// innermost elements of every line.
///
/// A refit ([`fit_slice`](Self::fit_slice)) uploads the values (the only
/// transfer, plus the end values' fits where an axis takes them), records
/// one dispatch per axis and submits without waiting; it creates no buffer
/// or bind group. Not-a-knot axes whose lines are interleaved far apart
/// (stride ≥ 32) run one line per thread from global memory (neighbouring
/// threads read neighbouring addresses); the short-stride ones, the
/// contiguous one included, load whole blocks of lines into workgroup
/// memory with coalesced reads, solve them there and write them back.
///
/// The coefficients stay on the device ([`coefficients`](Self::coefficients),
/// [`spline`](Self::spline) to evaluate them there) until read
/// ([`read_coefficients`](Self::read_coefficients),
/// [`to_spline`](Self::to_spline)).
pub struct GpuFitter<'c, const D: usize, T: GpuReal> {
    ctx: Ctx<'c>,
    plan: Fitter<D>,
    shape: [usize; D],
    coef_shape: [usize; D],
    vshape: Vec<usize>,
    nc: usize,
    /// Values of a fit (sites × components).
    total_in: usize,
    /// Coefficients of a fit (coefficients × components).
    total: usize,
    knots: [Vec<f64>; D],
    uniform: [Option<(f64, f64)>; D],
    periodic: [bool; D],
    condition: [f64; D],
    fac_bg: wgpu::BindGroup,
    _fac: wgpu::Buffer,
    passes: Vec<Pass>,
    /// Out-of-place passes: the values start in the coefficient array when
    /// their count is even, in `swap` when odd, and the last pass ends in
    /// the coefficient array.
    posts: usize,
    ends: Option<EndsPlan<T>>,
    coefs: DeviceArray<T>,
    /// The second array of the out-of-place passes (`None` without any).
    swap: Option<DeviceArray<T>>,
    /// Coefficient arrays of [`fit_batch`](Self::fit_batch), grown to the
    /// largest batch seen and reused.
    batch: Vec<DeviceArray<T>>,
    /// Value sets of the last batch.
    batch_len: usize,
    staging: wgpu::Buffer,
    /// The finiteness check of [`fit_device`](Self::fit_device)'s values.
    finite: FiniteCheck,
    /// One upload chunk of `f32` values, converted on the host (empty in
    /// `f64`, grown on the first fit).
    host: Vec<T>,
}

impl<const D: usize, T: GpuReal> std::fmt::Debug for GpuFitter<'_, D, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuFitter")
            .field("shape", &self.shape)
            .field("boundary", &self.plan.boundary())
            .field("value_shape", &self.vshape)
            .field("precision", &T::WGSL)
            .finish_non_exhaustive()
    }
}

/// What an out-of-place pass needs from its axis: the rows of the banded
/// system, the offsets of the periodic correction (`z`, `(g_0, g_1)`) and
/// the row steps.
type PostParts = (usize, Option<(usize, usize)>, Vec<FixStep>);

/// Workgroups `(x, y)` for `n` threads of `FIT_WG`.
fn groups_for(n: usize) -> (u32, u32) {
    let nwg = n.div_ceil(FIT_WG as usize).max(1);
    let gx = nwg.clamp(1, 32_768);
    (gx as u32, nwg.div_ceil(gx).max(1) as u32)
}

impl<'c, const D: usize, T: GpuReal> GpuFitter<'c, D, T> {
    /// Builds the device plan of `fitter` for scalar values: uploads its
    /// factors, compiles the passes and allocates the coefficient array
    /// and its read-back buffer.
    ///
    /// # Errors
    /// [`FitError::Gpu`] if `T` is `f64` and the adapter lacks `SHADER_F64`
    /// or the grid exceeds the storage-binding limit;
    /// [`FitError::InvalidParameter`] for grids of 2³¹ coefficients or more.
    pub fn new(ctx: &'c GpuContext, fitter: &Fitter<D>) -> Result<Self, FitError> {
        Self::with_value_shape(ctx, fitter, &[])
    }

    /// [`new`](Self::new) for vector values of shape `vshape` per site
    /// (scipy's trailing dimensions; `&[]` for scalar values): the values
    /// of a fit are row-major `(n_0, …, n_{D-1}, *vshape)`, the
    /// coefficients `(coef_shape…, *vshape)`.
    ///
    /// # Errors
    /// As [`new`](Self::new); [`FitError::InvalidParameter`] for a value
    /// shape with no component.
    pub fn with_value_shape(
        ctx: &'c GpuContext,
        fitter: &Fitter<D>,
        vshape: &[usize],
    ) -> Result<Self, FitError> {
        Self::build(Ctx::Borrowed(ctx), fitter, vshape)
    }

    /// [`with_value_shape`](Self::with_value_shape) on a shared context:
    /// the plan keeps the context alive (the form the dynamic-dimension, C
    /// and Python fronts hold).
    ///
    /// # Errors
    /// As [`with_value_shape`](Self::with_value_shape).
    pub fn new_shared(
        ctx: Arc<GpuContext>,
        fitter: &Fitter<D>,
        vshape: &[usize],
    ) -> Result<GpuFitter<'static, D, T>, FitError> {
        GpuFitter::build(Ctx::Shared(ctx), fitter, vshape)
    }

    fn build(holder: Ctx<'c>, fitter: &Fitter<D>, vshape: &[usize]) -> Result<Self, FitError> {
        let ctx: &GpuContext = &holder;
        if let Some(axis) = fitter
            .degrees()
            .iter()
            .position(|&k| k != crate::Degree::Cubic)
        {
            return Err(FitError::Unsupported {
                feature: format!(
                    "device fit of degree {} (axis {axis}); the device fits cubic splines",
                    fitter.degrees()[axis]
                ),
            });
        }
        check_precision::<T>(ctx)?;
        let nc = vshape
            .iter()
            .try_fold(1usize, |a, &v| a.checked_mul(v))
            .filter(|&n| n > 0)
            .ok_or_else(|| FitError::InvalidParameter {
                name: "vshape",
                reason: format!("value shape {vshape:?}: at least one component per site"),
            })?;
        let shape = fitter.shape();
        let coef_shape = fitter.coef_shape();
        let total = coef_shape
            .iter()
            .try_fold(nc, |a, &n| a.checked_mul(n))
            .filter(|&t| t <= (u32::MAX / 2) as usize)
            .ok_or_else(|| FitError::InvalidParameter {
                name: "shape",
                reason: format!(
                    "coefficients {coef_shape:?} × {nc} components: at most 2^31 - 1 on the device"
                ),
            })?;
        let total_in = shape.iter().product::<usize>() * nc;
        // The factor table: per axis its lower and upper factors, then for
        // the conditions with end rows the correction and the row-step factors.
        let mut table: Vec<T> = Vec::new();
        let push = |table: &mut Vec<T>, v: f64| {
            table.push(T::from_f64(v));
            table.len() - 1
        };
        let mut posts_spec: Vec<Option<PostParts>> = Vec::with_capacity(D);
        let mut offsets = [0usize; D];
        for k in 0..D {
            let sys = fitter.system(k);
            let lu = &sys.lu;
            offsets[k] = table.len();
            table.extend(lu.lower().iter().flatten().map(|&v| T::from_f64(v)));
            table.extend(lu.upper().iter().flatten().map(|&v| T::from_f64(v)));
            if !sys.has_post() {
                posts_spec.push(None);
                continue;
            }
            let correction = sys.correction_parts().map(|(z, g0, g1)| {
                let zo = table.len();
                table.extend(z.iter().map(|&v| T::from_f64(v)));
                let go = push(&mut table, g0);
                push(&mut table, g1);
                (zo, go)
            });
            let fix = sys
                .fix_ops()
                .iter()
                .map(|op| match *op {
                    FixOp::Copy { to, from } => FixStep::Copy { to, from },
                    FixOp::Comb { to, i, a, j, b } => FixStep::Comb {
                        to,
                        i,
                        a: push(&mut table, a),
                        j,
                        b: push(&mut table, b),
                    },
                })
                .collect();
            posts_spec.push(Some((sys.n_sys(), correction, fix)));
        }
        // ρ of the explicit ends.
        let explicit = fitter.explicit_axis();
        let mut rho_off = [None; 2];
        if let Some(k) = explicit {
            for (e, slot) in rho_off.iter_mut().enumerate() {
                if let Some(rho) = fitter.system(k).response(e) {
                    *slot = Some(table.len());
                    table.extend(rho.iter().map(|&v| T::from_f64(v)));
                }
            }
        }
        if table.is_empty() {
            table.push(T::from_f64(0.0));
        }
        let fac = ctx.storage_bytes((table.len() * size_of::<T>()) as u64, "fit factors")?;
        ctx.upload_pod(&fac, 0, &table);
        let fac_bg = ctx.bind_one(&ctx.layouts.ro, &fac);
        let budget = (ctx.limits().max_compute_workgroup_storage_size as usize).min(TILE_BYTES);
        let l = &ctx.layouts;
        let mut passes = Vec::with_capacity(D);
        // The array's current extents: axes before k at their coefficients.
        let mut cur: [usize; D] = shape;
        for k in 0..D {
            let n = shape[k];
            let inner: usize = cur[k + 1..].iter().product::<usize>() * nc;
            let outer: usize = cur[..k].iter().product();
            let cur_total = outer * n * inner;
            match posts_spec[k].take() {
                None => {
                    let st = inner;
                    let blk_bytes = n * st * size_of::<T>();
                    let blocks = cur_total / (n * st);
                    let tile_blocks = if st >= DIRECT_MIN_STRIDE || blk_bytes > budget {
                        0
                    } else {
                        (budget / blk_bytes).clamp(1, blocks)
                    };
                    let spec = PassSpec {
                        ty: T::WGSL,
                        n,
                        stride: st,
                        total: cur_total,
                        fac_off: offsets[k],
                        tile_blocks,
                        chunk: ctx.tuning().fit_chunk.unwrap_or(CHUNK).clamp(1, 32),
                    };
                    let nwg = if tile_blocks == 0 {
                        (cur_total / n).div_ceil(FIT_WG as usize)
                    } else {
                        blocks.div_ceil(tile_blocks)
                    };
                    let gx = nwg.clamp(1, 32_768);
                    // SAFETY: the passes are recorded only on this plan's
                    // coefficient, swap and batch arrays, allocated here
                    // with `total ≥ cur_total` elements (and padding), and
                    // after `fit_device` has checked that its values hold
                    // `total_in` elements of this context: a line
                    // `g < lines` and a tile of blocks stay below
                    // `cur_total`, and factor reads below the offsets of
                    // the table built here (`wgsl` module note, "Fit passes").
                    passes.push(Pass {
                        pipeline: unsafe {
                            ctx.pipeline_unchecked(&wgsl::pass(&spec), &[&l.ro, &l.rw], 4)
                        },
                        groups: (gx as u32, nwg.div_ceil(gx).max(1) as u32),
                        kind: Kind::InPlace,
                    });
                }
                Some((n_sys, correction, fix)) => {
                    let spec = PostSpec {
                        ty: T::WGSL,
                        n_sys,
                        n_in: n,
                        n_out: coef_shape[k],
                        inner,
                        lines: outer * inner,
                        fac_off: offsets[k],
                        correction,
                        fix,
                    };
                    // SAFETY: recorded only from one of this plan's arrays
                    // into the other (each of `total` elements, at least
                    // the `outer·n_out·inner` written and the
                    // `outer·n·inner` read), with the factor table built
                    // here (`wgsl::post_pass`'s note).
                    passes.push(Pass {
                        pipeline: unsafe {
                            ctx.pipeline_unchecked(
                                &wgsl::post_pass(&spec),
                                &[&l.ro, &l.ro, &l.rw],
                                4,
                            )
                        },
                        groups: groups_for(outer * inner),
                        kind: Kind::Post,
                    });
                }
            }
            cur[k] = coef_shape[k];
        }
        let posts = passes.iter().filter(|p| p.kind == Kind::Post).count();
        let ends = match explicit {
            None => None,
            Some(k) => {
                let glen: usize = (0..D)
                    .filter(|&j| j != k)
                    .map(|j| coef_shape[j])
                    .product::<usize>()
                    * nc;
                let ends = std::array::from_fn(|e| rho_off[e].map(|r| (r, e * glen)));
                let spec = EndsSpec {
                    ty: T::WGSL,
                    nk: coef_shape[k],
                    inner: coef_shape[k + 1..].iter().product::<usize>() * nc,
                    total,
                    ends,
                };
                // SAFETY: recorded only on this plan's coefficient and batch
                // arrays (`total` elements) with its end array (`2·glen`)
                // and factor table (`wgsl::ends`' note).
                let pipeline = unsafe {
                    ctx.pipeline_unchecked(&wgsl::ends(&spec), &[&l.ro, &l.ro, &l.rw], 4)
                };
                Some(EndsPlan {
                    pipeline,
                    groups: groups_for(total),
                    array: DeviceArray::zeroed(ctx, 2 * glen)?,
                    glen,
                    scratch: vec![0.0; fitter.end_fit_len(nc)],
                    host: if size_of::<T>() == 8 {
                        Vec::new()
                    } else {
                        vec![T::from_f64(0.0); 2 * glen]
                    },
                })
            }
        };
        let coefs = DeviceArray::zeroed(ctx, total)?;
        let swap = if posts > 0 {
            Some(DeviceArray::zeroed(ctx, total)?)
        } else {
            None
        };
        let staging = ctx.staging((total * size_of::<T>()) as u64);
        let finite = FiniteCheck::new::<T>(ctx)?;
        let knots = fitter.knot_vectors();
        let uniform = std::array::from_fn(|k| crate::tensor::spline::uniform_axis(&knots[k]));
        let periodic = std::array::from_fn(|k| fitter.boundary()[k].is_periodic());
        let condition = fitter.condition_estimates();
        Ok(Self {
            ctx: holder,
            plan: fitter.clone(),
            shape,
            coef_shape,
            vshape: vshape.to_vec(),
            nc,
            total_in,
            total,
            uniform,
            knots,
            periodic,
            condition,
            fac_bg,
            _fac: fac,
            passes,
            posts,
            ends,
            coefs,
            swap,
            batch: Vec::new(),
            batch_len: 0,
            staging,
            finite,
            host: Vec::new(),
        })
    }

    /// Grid shape (sites per axis).
    pub fn shape(&self) -> [usize; D] {
        self.shape
    }

    /// Coefficients per axis (`n + 2` on the axes whose condition is not
    /// not-a-knot).
    pub fn coef_shape(&self) -> [usize; D] {
        self.coef_shape
    }

    /// The value shape (empty for scalar values).
    pub fn value_shape(&self) -> &[usize] {
        &self.vshape
    }

    /// The CPU plan this device plan was built from.
    pub fn fitter(&self) -> &Fitter<D> {
        &self.plan
    }

    /// The context the plan lives on.
    pub fn context(&self) -> &GpuContext {
        &self.ctx
    }

    /// The array the values of a fit ending in `target` start in.
    fn start<'a>(&'a self, target: &'a DeviceArray<T>) -> &'a DeviceArray<T> {
        match &self.swap {
            Some(s) if self.posts % 2 == 1 => s,
            _ => target,
        }
    }

    /// Records the axis passes over the coefficient array on `enc` (the
    /// values must be in place: see [`fit_device`](Self::fit_device)).
    pub fn record_passes(&self, enc: &mut wgpu::CommandEncoder) {
        self.record_passes_on(enc, &self.coefs, false);
    }

    /// Records the axis passes whose result lands in `target` (of the
    /// coefficients' length), the values being in `self.start(target)`;
    /// with `ends`, the addition of the end values' fits.
    fn record_passes_on(
        &self,
        enc: &mut wgpu::CommandEncoder,
        target: &DeviceArray<T>,
        ends: bool,
    ) {
        let mut cur = self.start(target);
        for p in &self.passes {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
            pass.set_pipeline(&p.pipeline);
            pass.set_bind_group(0, &self.fac_bg, &[]);
            match (p.kind, &self.swap) {
                (Kind::Post, Some(swap)) => {
                    let dst = if cur.buffer == target.buffer {
                        swap
                    } else {
                        target
                    };
                    pass.set_bind_group(1, &cur.ro, &[]);
                    pass.set_bind_group(2, &dst.rw, &[]);
                    cur = dst;
                }
                _ => pass.set_bind_group(1, &cur.rw, &[]),
            }
            pass.set_immediates(0, bytemuck::bytes_of(&p.groups.0));
            pass.dispatch_workgroups(p.groups.0, p.groups.1, 1);
            Counters::bump(&self.ctx.counters.dispatches, 1);
        }
        if let (true, Some(e)) = (ends, &self.ends) {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
            pass.set_pipeline(&e.pipeline);
            pass.set_bind_group(0, &self.fac_bg, &[]);
            pass.set_bind_group(1, &e.array.ro, &[]);
            pass.set_bind_group(2, &target.rw, &[]);
            pass.set_immediates(0, bytemuck::bytes_of(&e.groups.0));
            pass.dispatch_workgroups(e.groups.0, e.groups.1, 1);
            Counters::bump(&self.ctx.counters.dispatches, 1);
        }
    }

    /// Fits row-major `values` (`(n_0, …, n_{D-1}, *vshape)`) on the
    /// device: checks them (finite, right length, equal ends of periodic
    /// axes), uploads them and submits the passes without waiting. Creates
    /// no buffer or bind group.
    ///
    /// # Errors
    /// [`FitError::InvalidParameter`] for a wrong length,
    /// [`FitError::NonFiniteValue`] naming the first non-finite value,
    /// [`FitError::PeriodicMismatch`], [`FitError::EndValuesShape`] if an
    /// axis takes end values (use [`fit_slice_ends`](Self::fit_slice_ends)).
    pub fn fit_slice(&mut self, values: &[f64]) -> Result<(), FitError> {
        self.fit_slice_ends(values, [&[], &[]])
    }

    /// [`fit_slice`](Self::fit_slice) with the derivative values of the
    /// axis whose ends are
    /// [`EndCondition::Derivative`](crate::EndCondition::Derivative), as
    /// [`Fitter::fit_into_vector`] takes them (`ends[0]` left, `ends[1]`
    /// right, each row-major `(end_values_shape…, *vshape)`; an end without
    /// values takes an empty slice). Their fit over the other axes runs on
    /// the host (`1/n_k` of the grid) and is uploaded with the values.
    ///
    /// # Errors
    /// As [`fit_slice`](Self::fit_slice); [`FitError::EndValuesShape`] for
    /// end values of the wrong length, missing, or given to an end that
    /// takes none; [`FitError::NonFiniteValue`] for a non-finite end value.
    pub fn fit_slice_ends(&mut self, values: &[f64], ends: [&[f64]; 2]) -> Result<(), FitError> {
        self.check_values(values)?;
        self.plan.check_ends(&ends, self.nc)?;
        if let (Some(k), Some(e)) = (self.plan.explicit_axis(), &mut self.ends) {
            for (end, vals) in ends.iter().enumerate() {
                if self.plan.system(k).response(end).is_none() {
                    continue;
                }
                let g = self.plan.end_fit(k, vals, self.nc, &mut e.scratch);
                let at = end * e.glen;
                if size_of::<T>() == 8 {
                    self.ctx
                        .upload_pod(&e.array.buffer, (at * size_of::<T>()) as u64, g);
                } else {
                    for (h, &v) in e.host[at..at + e.glen].iter_mut().zip(g) {
                        *h = T::from_f64(v);
                    }
                }
            }
            if size_of::<T>() != 8 {
                self.ctx.upload_pod(&e.array.buffer, 0, &e.host);
            }
        }
        let start = self.start(&self.coefs).buffer.clone();
        upload_values::<T>(&self.ctx, &start, values, &mut self.host)?;
        let mut enc = self.ctx.encoder();
        self.record_passes_on(&mut enc, &self.coefs, true);
        self.ctx.submit(enc);
        Ok(())
    }

    /// Fits several value sets of this grid (row-major each) in one
    /// submission: checks every set first (as [`fit_slice`](Self::fit_slice);
    /// nothing is uploaded if one fails), uploads set `i` into the `i`-th
    /// batch coefficient array, records every set's axis passes into one
    /// command encoder and submits it once, without waiting.
    ///
    /// The batch arrays are allocated on the first call that needs them and
    /// reused: a later batch of no more sets creates no buffer or bind group.
    /// Read the results with [`batch_coefficients`](Self::batch_coefficients),
    /// [`read_batch_coefficients`](Self::read_batch_coefficients) or
    /// [`batch_spline`](Self::batch_spline); [`coefficients`](Self::coefficients)
    /// keeps the last single fit.
    ///
    /// # Errors
    /// As [`fit_slice`](Self::fit_slice), for the first set at fault
    /// (a plan whose axis takes end values fits one set at a time);
    /// [`FitError::Gpu`] if a batch array cannot be allocated.
    pub fn fit_batch(&mut self, values: &[&[f64]]) -> Result<(), FitError> {
        self.plan.check_ends(&[&[], &[]], self.nc)?;
        for v in values {
            self.check_values(v)?;
        }
        while self.batch.len() < values.len() {
            self.batch.push(DeviceArray::zeroed(&self.ctx, self.total)?);
        }
        let mut enc = self.ctx.encoder();
        for (i, v) in values.iter().enumerate() {
            let target = &self.batch[i];
            // Every set is uploaded into its own array (uploads run before
            // the submission's commands); a plan starting in the swap array
            // copies it there first.
            upload_values::<T>(&self.ctx, &target.buffer, v, &mut self.host)?;
            let start = self.start(target);
            if start.buffer != target.buffer {
                start.copy_from(&mut enc, target);
            }
            self.record_passes_on(&mut enc, target, false);
        }
        self.batch_len = values.len();
        self.ctx.submit(enc);
        Ok(())
    }

    /// Value sets of the last [`fit_batch`](Self::fit_batch).
    pub fn batch_len(&self) -> usize {
        self.batch_len
    }

    /// Coefficients of set `i` of the last [`fit_batch`](Self::fit_batch), on
    /// the device (`None` for `i ≥` [`batch_len`](Self::batch_len)).
    pub fn batch_coefficients(&self, i: usize) -> Option<&DeviceArray<T>> {
        self.batch[..self.batch_len].get(i)
    }

    /// [`read_coefficients`](Self::read_coefficients) of set `i` of the last
    /// [`fit_batch`](Self::fit_batch).
    ///
    /// # Errors
    /// [`FitError::InvalidParameter`] for `i ≥` [`batch_len`](Self::batch_len),
    /// and as [`read_coefficients`](Self::read_coefficients).
    pub fn read_batch_coefficients(&self, i: usize, out: &mut [T]) -> Result<(), FitError> {
        let array = self.batch_array(i)?;
        self.read_array(array, out)
    }

    /// [`spline`](Self::spline) of set `i` of the last
    /// [`fit_batch`](Self::fit_batch): evaluates that batch array in place.
    ///
    /// # Errors
    /// [`FitError::InvalidParameter`] for `i ≥` [`batch_len`](Self::batch_len);
    /// [`FitError::Gpu`] if the knot table exceeds a device limit.
    pub fn batch_spline(
        &self,
        i: usize,
        policy: Extrapolate,
    ) -> Result<GpuSpline<'c, D, T>, FitError> {
        let array = self.batch_array(i)?;
        self.spline_on(array, policy)
    }

    fn batch_array(&self, i: usize) -> Result<&DeviceArray<T>, FitError> {
        self.batch_coefficients(i)
            .ok_or_else(|| FitError::InvalidParameter {
                name: "i",
                reason: format!("set {i} of a batch of {}", self.batch_len),
            })
    }

    /// The length, finiteness and periodic-ends checks of a fit's values.
    fn check_values(&self, values: &[f64]) -> Result<(), FitError> {
        if values.len() != self.total_in {
            return Err(FitError::InvalidParameter {
                name: "values",
                reason: format!(
                    "length {}, expected {} (grid {:?}, value shape {:?})",
                    values.len(),
                    self.total_in,
                    self.shape,
                    self.vshape
                ),
            });
        }
        let bad = if size_of_val(values) < crate::gpu::context::PAR_MIN_BYTES {
            values.iter().position(|v| !v.is_finite())
        } else {
            use rayon::prelude::*;
            values.par_iter().position_first(|v| !v.is_finite())
        };
        if let Some(k) = bad {
            return Err(self.non_finite_value(k, values[k]));
        }
        self.plan.check_periodic(values, self.nc)
    }

    /// [`fit_slice`](Self::fit_slice) of scalar values given as any ndarray
    /// view (a non-contiguous view is copied first).
    ///
    /// # Errors
    /// [`FitError::ShapeMismatch`] naming the axis, and as
    /// [`fit_slice`](Self::fit_slice).
    pub fn fit(&mut self, values: ArrayView<'_, f64, Dim<[usize; D]>>) -> Result<(), FitError>
    where
        Dim<[usize; D]>: Dimension,
    {
        self.fit_slice(&crate::tensor::fit::row_major(&values, self.shape)?)
    }

    /// Fits values already on the device (row-major, `T`, the grid's
    /// sites × components): checks on the device that every value is
    /// finite (one kernel and a 4-byte read: this waits for the work
    /// submitted before it), then copies them into the array the passes
    /// start from and submits the passes without waiting. Nothing is
    /// uploaded or allocated. Equal values at both ends of a periodic axis
    /// are not checked (the fit uses them as given).
    ///
    /// `values` may be [`coefficients`](Self::coefficients) itself (values
    /// written there by the caller are then solved in place).
    ///
    /// # Errors
    /// [`FitError::InvalidParameter`] if `values` has the wrong length or
    /// belongs to another context; [`FitError::NonFiniteValue`] naming the
    /// first value that is ±∞ or NaN (its index over the grid's axes and
    /// value components); [`FitError::EndValuesShape`] if an axis takes end
    /// values; [`FitError::Gpu`] if the device fails. No pass is recorded
    /// when it errs.
    pub fn fit_device(&self, values: &DeviceArray<T>) -> Result<(), FitError> {
        values.check_context(&self.ctx, "values")?;
        self.plan.check_ends(&[&[], &[]], self.nc)?;
        if values.len != self.total_in && values.buffer != self.coefs.buffer {
            return Err(FitError::InvalidParameter {
                name: "values",
                reason: format!("length {}, expected {}", values.len, self.total_in),
            });
        }
        if let Some((k, v)) = self
            .finite
            .first_non_finite(&self.ctx, values, self.total_in)?
        {
            return Err(self.non_finite_value(k, v));
        }
        let mut enc = self.ctx.encoder();
        let start = self.start(&self.coefs);
        if values.buffer != start.buffer {
            let bytes = (self.total_in * size_of::<T>()) as u64;
            enc.copy_buffer_to_buffer(&values.buffer, 0, &start.buffer, 0, bytes);
        }
        self.record_passes_on(&mut enc, &self.coefs, false);
        self.ctx.submit(enc);
        Ok(())
    }

    /// Submits the axis passes alone over the coefficient array as it is
    /// (the timed core of a fit, for benchmarks: repeated calls keep
    /// solving the previous result).
    #[doc(hidden)]
    pub fn run_passes(&self) {
        let mut enc = self.ctx.encoder();
        self.record_passes(&mut enc);
        self.ctx.submit(enc);
    }

    /// The coefficients of the last fit, on the device (row-major,
    /// `(coef_shape…, *vshape)`).
    pub fn coefficients(&self) -> &DeviceArray<T> {
        &self.coefs
    }

    /// Waits for the last fit and copies its coefficients into `out`
    /// through the plan's read-back buffer (one round trip, no allocation).
    ///
    /// # Errors
    /// [`FitError::InvalidParameter`] if `out` has the wrong length;
    /// [`FitError::NonFiniteResult`] if a coefficient is not finite (values
    /// so large that the solve overflows `T`); [`FitError::Gpu`] if the
    /// device fails.
    pub fn read_coefficients(&self, out: &mut [T]) -> Result<(), FitError> {
        self.read_array(&self.coefs, out)
    }

    fn read_array(&self, array: &DeviceArray<T>, out: &mut [T]) -> Result<(), FitError> {
        if out.len() != self.total {
            return Err(FitError::InvalidParameter {
                name: "out",
                reason: format!("length {}, expected {}", out.len(), self.total),
            });
        }
        array.read_into(&self.ctx, &self.staging, out)?;
        let finite = |v: &T| v.to_f64().is_finite();
        let all_finite = if size_of_val(out) < crate::gpu::context::PAR_MIN_BYTES {
            out.iter().all(finite)
        } else {
            use rayon::prelude::*;
            out.par_iter().all(finite)
        };
        if !all_finite {
            let axis = (0..D)
                .max_by(|&a, &b| self.condition[a].total_cmp(&self.condition[b]))
                .unwrap_or(0);
            return Err(FitError::NonFiniteResult {
                axis,
                condition: self.condition[axis],
            });
        }
        Ok(())
    }

    /// The fitted spline on the host (coefficients widened to `f64`; the
    /// fitter's knots, periodic axes and value shape).
    ///
    /// # Errors
    /// As [`read_coefficients`](Self::read_coefficients).
    pub fn to_spline(&self) -> Result<TensorSpline<D>, FitError> {
        let mut c = vec![T::from_f64(0.0); self.total];
        self.read_coefficients(&mut c)?;
        let coefs = c.iter().map(|v| v.to_f64()).collect();
        Ok(self
            .plan
            .spline_unchecked(coefs)
            .with_vshape_unchecked(self.vshape.clone()))
    }

    /// A device spline evaluating this plan's coefficient array in place
    /// (uploads the knot table once; every later fit changes what it
    /// evaluates), with `policy` outside the domain on the axes that are
    /// not periodic (periodic axes wrap).
    ///
    /// # Errors
    /// [`FitError::Gpu`] if the knot table exceeds a device limit;
    /// [`FitError::InvalidParameter`] for a policy the device does not
    /// apply.
    pub fn spline(&self, policy: Extrapolate) -> Result<GpuSpline<'c, D, T>, FitError> {
        self.spline_on(&self.coefs, policy)
    }

    /// A device spline of a copy of this plan's coefficients (one
    /// device-to-device copy, queued behind the last fit; later fits do not
    /// change it), with `policy` outside the domain on the axes that are not
    /// periodic, its rows laid out by [`RowLayout::Auto`](super::RowLayout::Auto).
    ///
    /// # Errors
    /// As [`spline`](Self::spline); [`FitError::Gpu`] if the copy cannot be
    /// allocated.
    pub fn spline_copy(&self, policy: Extrapolate) -> Result<GpuSpline<'c, D, T>, FitError> {
        let copy = DeviceArray::zeroed(&self.ctx, self.total)?;
        let mut enc = self.ctx.encoder();
        copy.copy_from(&mut enc, &self.coefs);
        self.ctx.submit(enc);
        GpuSpline::with_coefficients(
            self.ctx.clone(),
            &self.knots,
            self.uniform,
            self.periodic,
            &self.vshape,
            policy,
            &copy,
        )?
        .into_owned()
    }

    fn spline_on(
        &self,
        array: &DeviceArray<T>,
        policy: Extrapolate,
    ) -> Result<GpuSpline<'c, D, T>, FitError> {
        GpuSpline::with_coefficients(
            self.ctx.clone(),
            &self.knots,
            self.uniform,
            self.periodic,
            &self.vshape,
            policy,
            array,
        )
    }

    fn non_finite_value(&self, flat: usize, value: f64) -> FitError {
        let mut shape = self.shape.to_vec();
        shape.extend_from_slice(&self.vshape);
        let mut index = vec![0; shape.len()];
        let mut rem = flat;
        for axis in (0..shape.len()).rev() {
            index[axis] = rem % shape[axis];
            rem /= shape[axis];
        }
        FitError::NonFiniteValue { index, value }
    }
}

/// Queues the upload of checked `values` into `buffer` in precision `T`,
/// streamed ([`GpuContext::stream_upload`]: chunk by chunk straight into
/// the staging memory, each chunk's transfer overlapping the copy of the
/// next); `f32` is converted by all threads through `tmp`, a buffer of one
/// chunk kept by the plan.
fn upload_values<T: GpuReal>(
    ctx: &GpuContext,
    buffer: &wgpu::Buffer,
    values: &[f64],
    tmp: &mut Vec<T>,
) -> Result<(), FitError> {
    match same_type::<f64, T>(values) {
        // T is f64: the values go up as they are.
        Some(same) => ctx.stream_upload(buffer, 0, same),
        None => ctx.stream_upload_converted(buffer, 0, values, tmp, |src, dst| {
            for (d, &v) in dst.iter_mut().zip(src) {
                *d = T::from_f64(v);
            }
        }),
    }
}

/// `src` as a slice of `T` when `S` and `T` are the same type (equal size:
/// both `f64`, or both `f32`), else `None` (a conversion is needed).
pub(super) fn same_type<S: bytemuck::Pod, T: bytemuck::Pod>(src: &[S]) -> Option<&[T]> {
    if size_of::<S>() == size_of::<T>() {
        bytemuck::try_cast_slice(src).ok()
    } else {
        None
    }
}
