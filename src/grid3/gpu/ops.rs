//! [`VectorOps`] over wgpu storage buffers.

use std::cell::{Cell, RefCell};
use std::sync::Arc;

use bytemuck::{Pod, Zeroable};

use super::shaders;
use crate::FitError;
use crate::gpu::context::{Counters, GpuContext};
use crate::grid3::backend::{Coef, MIN_SLOTS, Slot, VectorOps, check_coef, check_slot};

/// Number of scalar slots on the device buffer (the operations accept slots
/// below [`MIN_SLOTS`]; slot `NSLOTS` itself holds NaN).
pub const NSLOTS: usize = 32;
const _: () = assert!(NSLOTS >= MIN_SLOTS);

/// Dispatches recorded before the pending commands are submitted (without waiting).
const FLUSH_EVERY: u64 = 256;

/// A grid-shaped f32 vector resident on the device.
///
/// It remembers its length and its context: every operation, operator and
/// plan refuses a vector of another length or context with an error before
/// recording anything.
#[derive(Debug)]
pub struct GpuVector {
    pub(crate) buffer: wgpu::Buffer,
    pub(crate) ro: wgpu::BindGroup,
    pub(crate) rw: wgpu::BindGroup,
    pub(crate) len: usize,
    /// [`GpuContext::id`] of the context that created it.
    pub(crate) ctx: u64,
}

impl GpuVector {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the vector has no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(crate) fn new(ctx: &GpuContext, len: usize, label: &str) -> Result<Self, FitError> {
        let buffer = ctx.storage(len, label)?;
        let ro = ctx.bind_one(&ctx.layouts.ro, &buffer);
        let rw = ctx.bind_one(&ctx.layouts.rw, &buffer);
        Ok(Self {
            buffer,
            ro,
            rw,
            len,
            ctx: ctx.id(),
        })
    }
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct AxpbyImm {
    total: u32,
    ka: u32,
    sa0: u32,
    sa1: u32,
    ca: f32,
    kb: u32,
    sb0: u32,
    sb1: u32,
    cb: f32,
}

struct Kernels {
    axpby: Arc<wgpu::ComputePipeline>,
    dot1: Arc<wgpu::ComputePipeline>,
    dot2: Arc<wgpu::ComputePipeline>,
    set_slot: Arc<wgpu::ComputePipeline>,
}

/// The GPU backend of the 3D solvers: vectors of one grid shape in device
/// buffers, scalars in a small device buffer of [`NSLOTS`] slots.
///
/// Every operation records compute passes into one pending command encoder;
/// nothing waits for the device except [`VectorOps::read_slot`] and downloads.
/// Every buffer and bind group is created by [`GpuOps::new`] or
/// [`VectorOps::alloc`]; operations allocate nothing, upload nothing (their
/// coefficients travel as immediate data) and read nothing back.
pub struct GpuOps<'c> {
    pub(crate) ctx: &'c GpuContext,
    shape: [usize; 3],
    total: usize,
    partial_count: u32,
    slots_bg: wgpu::BindGroup,
    partials_bg: wgpu::BindGroup,
    slots: wgpu::Buffer,
    readback: wgpu::Buffer,
    kernels: Kernels,
    encoder: RefCell<Option<wgpu::CommandEncoder>>,
    recorded: Cell<u64>,
    flush_every: Cell<u64>,
    bytes: Cell<u64>,
}

impl std::fmt::Debug for GpuOps<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuOps")
            .field("shape", &self.shape)
            .field("partials", &self.partial_count)
            .finish_non_exhaustive()
    }
}

fn groups_1d(total: usize) -> (u32, u32) {
    let nwg = total.div_ceil(shaders::WG as usize).max(1);
    let gx = nwg.min(32_768);
    (gx as u32, nwg.div_ceil(gx) as u32)
}

impl<'c> GpuOps<'c> {
    /// Creates the backend for grids of `shape`, its slot, partial-sum and
    /// read-back buffers, and compiles (or fetches) the vector kernels.
    ///
    /// # Errors
    /// [`FitError::InvalidParameter`] for an empty shape or one whose element
    /// count overflows `u32`; [`FitError::Gpu`] when a vector would exceed the
    /// device's storage binding limit.
    pub fn new(ctx: &'c GpuContext, shape: [usize; 3]) -> Result<Self, FitError> {
        let total = shape
            .iter()
            .try_fold(1usize, |a, &n| a.checked_mul(n))
            .filter(|&t| t > 0 && t <= u32::MAX as usize)
            .ok_or_else(|| FitError::InvalidParameter {
                name: "shape",
                reason: format!("{shape:?}: every axis must be ≥ 1 and the total < 2^32"),
            })?;
        let vec_bytes = (total * 4) as u64;
        if vec_bytes > ctx.max_binding() {
            return Err(FitError::Gpu(format!(
                "grid {shape:?} needs {vec_bytes} bytes per vector, above the device's storage \
                 binding limit of {} bytes",
                ctx.max_binding()
            )));
        }
        let partial_count = ctx.reduction_partials();
        let slots = ctx.storage(NSLOTS + 1, "slots")?;
        let mut init = [0.0f32; NSLOTS + 1];
        init[NSLOTS] = f32::NAN;
        ctx.upload(&slots, 0, &init);
        let partials = ctx.storage(partial_count as usize, "partials")?;
        let slots_bg = ctx.bind_one(&ctx.layouts.rw, &slots);
        let partials_bg = ctx.bind_one(&ctx.layouts.rw, &partials);
        Counters::bump(&ctx.counters.allocations, 1);
        let readback = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("slot readback"),
            size: 256,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let l = &ctx.layouts;
        // SAFETY: these kernels are recorded only by the `VectorOps` methods
        // below, which check first that every vector bound holds `total`
        // elements of this context (`check`) and every slot is below
        // MIN_SLOTS ≤ NSLOTS (`check_slot`, `check_coef`). With that, axpby
        // and dot stage 1 index `x`, `y` below the immediate `total` (the
        // vectors' length), `slots` below NSLOTS + 1 (its length) and
        // `partials` by workgroup id below the dispatched `partial_count`
        // (its length); dot stage 2 reads `partials` below the immediate
        // `count` = `partial_count`; set_slot writes a checked slot. Loops
        // are bounded by `total`, `count` and constants.
        let kernels = unsafe {
            Kernels {
                axpby: ctx.pipeline_unchecked(&shaders::axpby(), &[&l.rw, &l.ro, &l.rw], 36),
                dot1: ctx.pipeline_unchecked(&shaders::dot_stage1(), &[&l.rw, &l.ro, &l.ro], 4),
                dot2: ctx.pipeline_unchecked(&shaders::dot_stage2(), &[&l.rw, &l.rw], 8),
                set_slot: ctx.pipeline_unchecked(&shaders::set_slot(), &[&l.rw], 8),
            }
        };
        Ok(Self {
            ctx,
            shape,
            total,
            partial_count,
            slots_bg,
            partials_bg,
            slots,
            readback,
            kernels,
            encoder: RefCell::new(None),
            recorded: Cell::new(0),
            flush_every: Cell::new(FLUSH_EVERY),
            bytes: Cell::new(0),
        })
    }

    /// The context this backend runs on.
    pub fn context(&self) -> &'c GpuContext {
        self.ctx
    }

    /// Elements per vector.
    pub fn len(&self) -> usize {
        self.total
    }

    /// Always false (shapes are non-empty).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Device bytes held by the vectors allocated so far plus the fixed buffers.
    pub fn memory_bytes(&self) -> u64 {
        self.bytes.get() + ((NSLOTS + 1) as u64 + self.partial_count as u64) * 4 + 256
    }

    /// Allocates a vector and fills it with `data` (one upload).
    ///
    /// # Errors
    /// [`FitError::InvalidParameter`] if `data.len()` is not the grid size.
    pub fn upload(&self, data: &[f32]) -> Result<GpuVector, FitError> {
        if data.len() != self.total {
            return Err(FitError::InvalidParameter {
                name: "data",
                reason: format!("{} values for a grid of {} points", data.len(), self.total),
            });
        }
        let v = self.alloc()?;
        self.flush();
        self.ctx.upload(&v.buffer, 0, data);
        Ok(v)
    }

    /// Overwrites `v` with `data` (one upload).
    ///
    /// # Errors
    /// [`FitError::InvalidParameter`] if `data.len()` is not the grid size
    /// or `v` is not a vector of this backend.
    pub fn write(&self, v: &GpuVector, data: &[f32]) -> Result<(), FitError> {
        self.check("v", v)?;
        if data.len() != self.total {
            return Err(FitError::InvalidParameter {
                name: "data",
                reason: format!("{} values for a grid of {} points", data.len(), self.total),
            });
        }
        self.flush();
        self.ctx.upload(&v.buffer, 0, data);
        Ok(())
    }

    /// Copies `v` to the host (waits for all queued work: one round trip).
    ///
    /// # Errors
    /// [`FitError::InvalidParameter`] if `v` is not a vector of this backend;
    /// [`FitError::Gpu`] if the device fails.
    pub fn download(&self, v: &GpuVector) -> Result<Vec<f32>, FitError> {
        self.check("v", v)?;
        self.flush();
        let mut out = vec![0.0f32; v.len];
        self.ctx.download(&v.buffer, 0, v.len, &mut out)?;
        Ok(out)
    }

    /// Sets after how many recorded dispatches the pending commands are submitted
    /// (default 256; `u64::MAX`: only at [`Self::flush`], a read or a download —
    /// what a benchmark wants, to time the device alone).
    pub fn set_flush_every(&self, dispatches: u64) {
        self.flush_every.set(dispatches.max(1));
    }

    /// Submits the recorded commands without waiting.
    pub fn flush(&self) {
        if let Some(enc) = self.encoder.borrow_mut().take() {
            self.ctx.submit(enc);
        }
    }

    /// Waits until the device has finished all submitted work.
    ///
    /// # Errors
    /// [`FitError::Gpu`] if the device fails.
    pub fn finish(&self) -> Result<(), FitError> {
        self.flush();
        self.ctx.wait()
    }

    /// Records one compute dispatch into the pending encoder.
    pub(crate) fn dispatch(
        &self,
        pipeline: &wgpu::ComputePipeline,
        groups: &[&wgpu::BindGroup],
        immediates: &[u8],
        workgroups: (u32, u32, u32),
    ) {
        {
            let mut slot = self.encoder.borrow_mut();
            let enc = slot.get_or_insert_with(|| self.ctx.encoder());
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: None,
                timestamp_writes: None,
            });
            pass.set_pipeline(pipeline);
            for (i, g) in groups.iter().enumerate() {
                pass.set_bind_group(i as u32, Some(*g), &[]);
            }
            if !immediates.is_empty() {
                pass.set_immediates(0, immediates);
            }
            pass.dispatch_workgroups(workgroups.0, workgroups.1, workgroups.2);
        }
        Counters::bump(&self.ctx.counters.dispatches, 1);
        let r = self.recorded.get() + 1;
        self.recorded.set(r);
        if r.is_multiple_of(self.flush_every.get()) {
            self.flush();
        }
    }

    /// Records `y ← x` by a compute shader (`vec4` loads and stores); falls back to
    /// a transfer command when the length is not a multiple of 4. Used to
    /// measure the bandwidth a kernel can reach.
    ///
    /// # Errors
    /// [`FitError::InvalidParameter`] if `x` or `y` is not a vector of this
    /// backend (nothing is recorded then).
    pub fn shader_copy(&self, x: &GpuVector, y: &mut GpuVector) -> Result<(), FitError> {
        self.check("x", x)?;
        self.check("y", y)?;
        let n = self.total;
        if !n.is_multiple_of(4) {
            self.copy_buffer(&x.buffer, &y.buffer, (n * 4) as u64);
            return Ok(());
        }
        let l = &self.ctx.layouts;
        // SAFETY: thread i copies vec4 i < len4 = total / 4 of `x` into `y`;
        // both were checked above to hold `total` f32, so 4·len4 ≤ total.
        let pipe = unsafe {
            self.ctx
                .pipeline_unchecked(&shaders::copy4(), &[&l.ro, &l.rw], 4)
        };
        let (gx, gy) = groups_1d(n / 4);
        let len4 = (n / 4) as u32;
        self.dispatch(
            &pipe,
            &[&x.ro, &y.rw],
            bytemuck::bytes_of(&len4),
            (gx, gy, 1),
        );
        Ok(())
    }

    /// [`FitError::InvalidParameter`] naming `name` unless `v` is a vector
    /// of this backend: of its context, holding the grid's length.
    pub(crate) fn check(&self, name: &'static str, v: &GpuVector) -> Result<(), FitError> {
        self.ctx.check_buffer(
            name,
            v.ctx,
            v.len,
            self.total,
            &format_args!("vectors of shape {:?}", self.shape),
        )
    }

    /// Records a copy of `len` f32 from `src[src_off..]` to `dst[dst_off..]`.
    pub(crate) fn copy_region(
        &self,
        src: &wgpu::Buffer,
        src_off: usize,
        dst: &wgpu::Buffer,
        dst_off: usize,
        len: usize,
    ) {
        let mut slot = self.encoder.borrow_mut();
        let enc = slot.get_or_insert_with(|| self.ctx.encoder());
        enc.copy_buffer_to_buffer(
            src,
            (src_off * 4) as u64,
            dst,
            (dst_off * 4) as u64,
            (len * 4) as u64,
        );
    }

    /// Records a buffer-to-buffer copy into the pending encoder.
    pub(crate) fn copy_buffer(&self, src: &wgpu::Buffer, dst: &wgpu::Buffer, bytes: u64) {
        let mut slot = self.encoder.borrow_mut();
        let enc = slot.get_or_insert_with(|| self.ctx.encoder());
        enc.copy_buffer_to_buffer(src, 0, dst, 0, bytes);
    }

    /// Workgroup counts for a one-thread-per-point 3D kernel (`@workgroup_size(64, 4, 1)`).
    pub(crate) fn groups_3d(&self) -> (u32, u32, u32) {
        let [n0, n1, n2] = self.shape;
        (n2.div_ceil(64) as u32, n1.div_ceil(4) as u32, n0 as u32)
    }

    /// The slot's index (checked below MIN_SLOTS by the caller; the NaN
    /// slot otherwise).
    fn slot_index(s: Slot) -> u32 {
        if s.0 < MIN_SLOTS {
            s.0 as u32
        } else {
            NSLOTS as u32
        }
    }

    fn coef(c: Coef) -> (u32, f32, u32, u32) {
        match c {
            Coef::Const(v) => (0, v as f32, 0, 0),
            Coef::Slot(s) => (1, 0.0, Self::slot_index(s), 0),
            Coef::Ratio(a, b) => (2, 0.0, Self::slot_index(a), Self::slot_index(b)),
            Coef::NegRatio(a, b) => (3, 0.0, Self::slot_index(a), Self::slot_index(b)),
        }
    }
}

impl Drop for GpuOps<'_> {
    fn drop(&mut self) {
        self.flush();
    }
}

impl VectorOps for GpuOps<'_> {
    type Vector = GpuVector;

    fn shape(&self) -> [usize; 3] {
        self.shape
    }

    fn alloc(&self) -> Result<GpuVector, FitError> {
        let v = GpuVector::new(self.ctx, self.total, "vector")?;
        self.bytes.set(self.bytes.get() + (self.total * 4) as u64);
        Ok(v)
    }

    fn copy(&self, src: &GpuVector, dst: &mut GpuVector) -> Result<(), FitError> {
        self.check("src", src)?;
        self.check("dst", dst)?;
        self.copy_buffer(&src.buffer, &dst.buffer, (self.total * 4) as u64);
        Ok(())
    }

    fn axpby(&self, a: Coef, x: &GpuVector, b: Coef, y: &mut GpuVector) -> Result<(), FitError> {
        self.check("x", x)?;
        self.check("y", y)?;
        check_coef(a)?;
        check_coef(b)?;
        let (ka, ca, sa0, sa1) = Self::coef(a);
        let (kb, cb, sb0, sb1) = Self::coef(b);
        let imm = AxpbyImm {
            total: self.total as u32,
            ka,
            sa0,
            sa1,
            ca,
            kb,
            sb0,
            sb1,
            cb,
        };
        let (gx, gy) = groups_1d(self.total);
        self.dispatch(
            &self.kernels.axpby,
            &[&self.slots_bg, &x.ro, &y.rw],
            bytemuck::bytes_of(&imm),
            (gx, gy, 1),
        );
        Ok(())
    }

    fn dot(&self, x: &GpuVector, y: &GpuVector, slot: Slot) -> Result<(), FitError> {
        self.check("x", x)?;
        self.check("y", y)?;
        check_slot(slot)?;
        let total = self.total as u32;
        self.dispatch(
            &self.kernels.dot1,
            &[&self.partials_bg, &x.ro, &y.ro],
            bytemuck::bytes_of(&total),
            (self.partial_count, 1, 1),
        );
        let imm = [self.partial_count, Self::slot_index(slot)];
        self.dispatch(
            &self.kernels.dot2,
            &[&self.partials_bg, &self.slots_bg],
            bytemuck::cast_slice(&imm),
            (1, 1, 1),
        );
        Ok(())
    }

    fn set_slot(&self, slot: Slot, value: f64) -> Result<(), FitError> {
        check_slot(slot)?;
        let imm: [u32; 2] = [Self::slot_index(slot), (value as f32).to_bits()];
        self.dispatch(
            &self.kernels.set_slot,
            &[&self.slots_bg],
            bytemuck::cast_slice(&imm),
            (1, 1, 1),
        );
        Ok(())
    }

    fn read_slot(&self, slot: Slot) -> Result<f64, FitError> {
        check_slot(slot)?;
        let i = Self::slot_index(slot) as u64;
        {
            let mut pending = self.encoder.borrow_mut();
            let enc = pending.get_or_insert_with(|| self.ctx.encoder());
            enc.copy_buffer_to_buffer(&self.slots, i * 4, &self.readback, 0, 4);
        }
        self.flush();
        let mut v = [f32::NAN];
        self.ctx.read_mapped(&self.readback, 4, &mut v)?;
        Ok(v[0] as f64)
    }
}
