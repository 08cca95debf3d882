//! [`GpuFitter`]: the separable collocation fit on the device.

use std::sync::Arc;

use super::array::{DeviceArray, GpuReal, check_precision};
use super::spline::GpuSpline;
use super::wgsl::{self, FIT_WG, PassSpec};
use crate::FitError;
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

struct Pass {
    pipeline: Arc<wgpu::ComputePipeline>,
    groups: (u32, u32),
}

/// A fit plan on the device: the separable solve of [`Fitter`] with each
/// axis' factored collocation matrix ([`BandLu`](crate::banded::BandLu))
/// uploaded once, the passes compiled once and the coefficient array and
/// read-back buffer allocated once, in precision `T`.
///
/// A refit ([`fit`](Self::fit)) uploads the values (the only transfer),
/// records one dispatch per axis that solves every line of that axis in
/// place, and submits without waiting; it creates no buffer or bind group.
/// Axes whose lines are interleaved far apart (stride ≥ 32) run one line per
/// thread from global memory (neighbouring threads read neighbouring
/// addresses); the short-stride axes, the contiguous one included, load
/// whole blocks of lines into workgroup memory with coalesced reads, solve
/// them there and write them back.
///
/// The coefficients stay on the device ([`coefficients`](Self::coefficients),
/// [`spline`](Self::spline) to evaluate them there) until read
/// ([`read_coefficients`](Self::read_coefficients),
/// [`to_spline`](Self::to_spline)).
pub struct GpuFitter<'c, const D: usize, T: GpuReal> {
    ctx: &'c GpuContext,
    shape: [usize; D],
    total: usize,
    knots: [Vec<f64>; D],
    uniform: [Option<(f64, f64)>; D],
    condition: [f64; D],
    fac_bg: wgpu::BindGroup,
    _fac: wgpu::Buffer,
    passes: Vec<Pass>,
    coefs: DeviceArray<T>,
    /// Coefficient arrays of [`fit_batch`](Self::fit_batch), grown to the
    /// largest batch seen and reused.
    batch: Vec<DeviceArray<T>>,
    /// Value sets of the last batch.
    batch_len: usize,
    staging: wgpu::Buffer,
    host: Vec<T>,
}

impl<const D: usize, T: GpuReal> std::fmt::Debug for GpuFitter<'_, D, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuFitter")
            .field("shape", &self.shape)
            .field("precision", &T::WGSL)
            .finish_non_exhaustive()
    }
}

impl<'c, const D: usize, T: GpuReal> GpuFitter<'c, D, T> {
    /// Builds the device plan of `fitter`: uploads its factors, compiles the
    /// passes and allocates the coefficient array and its read-back buffer.
    ///
    /// # Errors
    /// [`FitError::Gpu`] if `T` is `f64` and the adapter lacks `SHADER_F64`
    /// or the grid exceeds the storage-binding limit;
    /// [`FitError::InvalidParameter`] for grids of 2³¹ points or more and
    /// for fitters with an axis whose boundary condition is not not-a-knot.
    pub fn new(ctx: &'c GpuContext, fitter: &Fitter<D>) -> Result<Self, FitError> {
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
        if let Some(axis) = fitter
            .boundary()
            .iter()
            .position(|b| *b != crate::BoundaryCondition::NOT_A_KNOT)
        {
            return Err(FitError::InvalidParameter {
                name: "fitter",
                reason: format!(
                    "axis {axis} has the boundary condition {:?}; the device fit supports \
                     not-a-knot axes only (fit on the CPU and move the spline with GpuSpline)",
                    fitter.boundary()[axis]
                ),
            });
        }
        let shape = fitter.shape();
        let total: usize = shape.iter().product();
        if total > (u32::MAX / 2) as usize {
            return Err(FitError::InvalidParameter {
                name: "shape",
                reason: format!("{shape:?}: {total} points, at most 2^31 - 1 on the device"),
            });
        }
        let mut table: Vec<T> = Vec::new();
        let mut offsets = [0usize; D];
        for k in 0..D {
            let lu = fitter.lu(k);
            offsets[k] = table.len();
            table.extend(lu.lower().iter().flatten().map(|&v| T::from_f64(v)));
            table.extend(lu.upper().iter().flatten().map(|&v| T::from_f64(v)));
        }
        let fac = ctx.storage_bytes((table.len() * size_of::<T>()) as u64, "fit factors")?;
        ctx.upload_pod(&fac, 0, &table);
        let fac_bg = ctx.bind_one(&ctx.layouts.ro, &fac);
        let mut strides = [1usize; D];
        for k in (0..D.saturating_sub(1)).rev() {
            strides[k] = strides[k + 1] * shape[k + 1];
        }
        let budget = (ctx.limits().max_compute_workgroup_storage_size as usize).min(TILE_BYTES);
        let l = &ctx.layouts;
        let passes = (0..D)
            .map(|k| {
                let (n, st) = (shape[k], strides[k]);
                let blk_bytes = n * st * size_of::<T>();
                let blocks = total / (n * st);
                let tile_blocks = if st >= DIRECT_MIN_STRIDE || blk_bytes > budget {
                    0
                } else {
                    (budget / blk_bytes).clamp(1, blocks)
                };
                let spec = PassSpec {
                    ty: T::WGSL,
                    n,
                    stride: st,
                    total,
                    fac_off: offsets[k],
                    tile_blocks,
                    chunk: ctx.tuning().fit_chunk.unwrap_or(CHUNK).clamp(1, 32),
                };
                let nwg = if tile_blocks == 0 {
                    (total / n).div_ceil(FIT_WG as usize)
                } else {
                    blocks.div_ceil(tile_blocks)
                };
                let gx = nwg.clamp(1, 32_768);
                // SAFETY: the passes are recorded only on this plan's
                // coefficient and batch arrays, allocated here with `total`
                // elements (and padding), and after `fit_device` has checked
                // that its values hold `total` elements of this context: a
                // line `g < lines` and a tile of blocks stay below `total`,
                // and factor reads below the offsets of the table built here
                // (`wgsl` module note, "Fit passes").
                Pass {
                    pipeline: unsafe {
                        ctx.pipeline_unchecked(&wgsl::pass(&spec), &[&l.ro, &l.rw], 4)
                    },
                    groups: (gx as u32, nwg.div_ceil(gx).max(1) as u32),
                }
            })
            .collect();
        let coefs = DeviceArray::zeroed(ctx, total)?;
        let staging = ctx.staging((total * size_of::<T>()) as u64);
        let knots = fitter.knot_vectors();
        let uniform = std::array::from_fn(|k| crate::tensor::spline::uniform_axis(&knots[k]));
        Ok(Self {
            ctx,
            shape,
            total,
            uniform,
            knots,
            condition: fitter.condition_estimates(),
            fac_bg,
            _fac: fac,
            passes,
            coefs,
            batch: Vec::new(),
            batch_len: 0,
            staging,
            host: if size_of::<T>() == 8 {
                Vec::new()
            } else {
                vec![T::from_f64(0.0); total]
            },
        })
    }

    /// Grid shape.
    pub fn shape(&self) -> [usize; D] {
        self.shape
    }

    /// The context the plan lives on.
    pub fn context(&self) -> &'c GpuContext {
        self.ctx
    }

    /// Records the axis passes over the coefficient array on `enc`.
    pub fn record_passes(&self, enc: &mut wgpu::CommandEncoder) {
        self.record_passes_on(enc, &self.coefs);
    }

    /// Records the axis passes over `array` (of the grid's length) on `enc`.
    fn record_passes_on(&self, enc: &mut wgpu::CommandEncoder, array: &DeviceArray<T>) {
        for p in &self.passes {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
            pass.set_pipeline(&p.pipeline);
            pass.set_bind_group(0, &self.fac_bg, &[]);
            pass.set_bind_group(1, &array.rw, &[]);
            pass.set_immediates(0, bytemuck::bytes_of(&p.groups.0));
            pass.dispatch_workgroups(p.groups.0, p.groups.1, 1);
            Counters::bump(&self.ctx.counters.dispatches, 1);
        }
    }

    /// Fits row-major `values` on the device: checks them (finite, right
    /// length), uploads them into the coefficient array and submits the
    /// passes without waiting. Creates no buffer or bind group.
    ///
    /// # Errors
    /// [`FitError::InvalidParameter`] for a wrong length,
    /// [`FitError::NonFiniteValue`] naming the first non-finite value.
    pub fn fit_slice(&mut self, values: &[f64]) -> Result<(), FitError> {
        self.check_values(values)?;
        upload_values(self.ctx, &mut self.host, &self.coefs.buffer, values);
        let mut enc = self.ctx.encoder();
        self.record_passes(&mut enc);
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
    /// As [`fit_slice`](Self::fit_slice), for the first set at fault;
    /// [`FitError::Gpu`] if a batch array cannot be allocated.
    pub fn fit_batch(&mut self, values: &[&[f64]]) -> Result<(), FitError> {
        for v in values {
            self.check_values(v)?;
        }
        while self.batch.len() < values.len() {
            self.batch.push(DeviceArray::zeroed(self.ctx, self.total)?);
        }
        let mut enc = self.ctx.encoder();
        for (i, v) in values.iter().enumerate() {
            upload_values(self.ctx, &mut self.host, &self.batch[i].buffer, v);
            self.record_passes_on(&mut enc, &self.batch[i]);
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
        GpuSpline::with_coefficients(self.ctx, &self.knots, self.uniform, policy, array)
    }

    fn batch_array(&self, i: usize) -> Result<&DeviceArray<T>, FitError> {
        self.batch_coefficients(i)
            .ok_or_else(|| FitError::InvalidParameter {
                name: "i",
                reason: format!("set {i} of a batch of {}", self.batch_len),
            })
    }

    /// The length and finiteness checks of a fit's values.
    fn check_values(&self, values: &[f64]) -> Result<(), FitError> {
        if values.len() != self.total {
            return Err(FitError::InvalidParameter {
                name: "values",
                reason: format!(
                    "length {}, expected {} (grid {:?})",
                    values.len(),
                    self.total,
                    self.shape
                ),
            });
        }
        if let Some(k) = values.iter().position(|v| !v.is_finite()) {
            return Err(self.non_finite_value(k, values[k]));
        }
        Ok(())
    }

    /// [`fit_slice`](Self::fit_slice) of values given as any ndarray view
    /// (a non-contiguous view is copied first).
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

    /// Fits values already on the device (row-major, `T`): copies them into
    /// the coefficient array and submits the passes. Nothing is uploaded or
    /// allocated, and the values are not checked for finiteness.
    ///
    /// `values` may be [`coefficients`](Self::coefficients) itself (values
    /// written there by the caller are then solved in place).
    ///
    /// # Errors
    /// [`FitError::InvalidParameter`] if `values` has the wrong length or
    /// belongs to another context (nothing is recorded).
    pub fn fit_device(&self, values: &DeviceArray<T>) -> Result<(), FitError> {
        values.check_context(self.ctx, "values")?;
        if values.len != self.total {
            return Err(FitError::InvalidParameter {
                name: "values",
                reason: format!("length {}, expected {}", values.len, self.total),
            });
        }
        let mut enc = self.ctx.encoder();
        if values.buffer != self.coefs.buffer {
            self.coefs.copy_from(&mut enc, values);
        }
        self.record_passes(&mut enc);
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

    /// The coefficients of the last fit, on the device (row-major).
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
        array.read_into(self.ctx, &self.staging, out)?;
        if out.iter().any(|v| !v.to_f64().is_finite()) {
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

    /// The fitted spline on the host (coefficients widened to `f64`).
    ///
    /// # Errors
    /// As [`read_coefficients`](Self::read_coefficients).
    pub fn to_spline(&self) -> Result<TensorSpline<D>, FitError> {
        let mut c = vec![T::from_f64(0.0); self.total];
        self.read_coefficients(&mut c)?;
        let coefs = c.iter().map(|v| v.to_f64()).collect();
        Ok(TensorSpline::from_parts_unchecked(
            self.knots.clone(),
            self.shape,
            coefs,
            [crate::bspline::Degree::Cubic; D],
        ))
    }

    /// A device spline evaluating this plan's coefficient array in place
    /// (uploads the knot table once; every later fit changes what it
    /// evaluates), with `policy` outside the domain.
    ///
    /// # Errors
    /// [`FitError::Gpu`] if the knot table exceeds a device limit.
    pub fn spline(&self, policy: Extrapolate) -> Result<GpuSpline<'c, D, T>, FitError> {
        GpuSpline::with_coefficients(self.ctx, &self.knots, self.uniform, policy, &self.coefs)
    }

    fn non_finite_value(&self, flat: usize, value: f64) -> FitError {
        let mut index = vec![0; D];
        let mut rem = flat;
        for axis in (0..D).rev() {
            index[axis] = rem % self.shape[axis];
            rem /= self.shape[axis];
        }
        FitError::NonFiniteValue { index, value }
    }
}

/// Queues the upload of checked `values` into `buffer` in precision `T` (f32
/// converted through `host`, the plan's buffer of the grid's length: no
/// allocation).
fn upload_values<T: GpuReal>(
    ctx: &GpuContext,
    host: &mut [T],
    buffer: &wgpu::Buffer,
    values: &[f64],
) {
    if size_of::<T>() == 8 {
        // T is f64: the values go up as they are.
        ctx.upload_pod(buffer, 0, values);
    } else {
        for (h, &v) in host.iter_mut().zip(values) {
            *h = T::from_f64(v);
        }
        ctx.upload_pod(buffer, 0, host);
    }
}
