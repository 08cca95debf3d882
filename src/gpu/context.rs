//! Adapter and device selection, bind-group layouts, the pipeline cache and the
//! offload counters.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::FitError;

/// Options for [`GpuContext::with_options`].
///
/// Build from the default and change what you need
/// (`GpuOptions { checked: true, ..Default::default() }`).
#[derive(Debug, Clone, Default)]
pub struct GpuOptions {
    /// Backends to search. `None`: the `WGPU_BACKEND` environment variable if set,
    /// else Vulkan only (the GL backend fails on the machines this was measured on).
    pub backends: Option<wgpu::Backends>,
    /// Keep wgpu's runtime bounds checks in every shader. By default the
    /// shaders whose every index the host has checked (each pipeline's
    /// `SAFETY` note says how) are compiled without them, 2–2.5× faster on an
    /// H100. Also turned on for every context of the process by the
    /// environment variable `BSFIT_GPU_CHECKED=1` (read once, when the first
    /// context is created), which is how CI runs the GPU tests a second time
    /// with every check on.
    pub checked: bool,
    /// Caps the storage-binding size the plans assume (bytes), below the
    /// device's own limit. Grids above it are solved in slabs; tests use a
    /// small cap to exercise that path on small grids.
    pub max_binding: Option<u64>,
    /// Kernel variants of the tensor-spline device paths, for comparing them
    /// on one device; the defaults are the measured best.
    pub tuning: GpuTuning,
}

/// Kernel variants of the tensor-spline device paths
/// ([`GpuSpline`](crate::tensor::gpu::GpuSpline),
/// [`GpuFitter`](crate::tensor::gpu::GpuFitter)): every field `None` (the
/// default) picks what was measured fastest (`docs/gpu.md`); the others exist
/// to repeat those comparisons. They change speed, never results beyond
/// rounding.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GpuTuning {
    /// Loads in flight per thread on the fit passes that run from global
    /// memory (clamped to `1..=32`; default 8).
    pub fit_chunk: Option<usize>,
    /// Coefficients per load when evaluation reads packed rows: 1, 2 or 4
    /// (default 4 in f32, 1 in f64). Setting it also makes
    /// [`RowLayout::Auto`](crate::tensor::gpu::RowLayout::Auto) choose packed
    /// rows.
    pub eval_lanes: Option<usize>,
    /// Evaluation with expanded rows under
    /// [`RowLayout::Auto`](crate::tensor::gpu::RowLayout::Auto) whenever they
    /// fit (`Some(true)`) or never (`Some(false)`); default: for a spline
    /// that owns its coefficients, up to
    /// [`EXPANDED_AUTO_MAX_BYTES`](crate::tensor::gpu::EXPANDED_AUTO_MAX_BYTES).
    pub eval_expanded: Option<bool>,
    /// Straight-line code for the evaluation contraction (`true`) or loops
    /// (`false`); default: straight-line up to 4 dimensions.
    pub eval_unroll: Option<bool>,
}

/// Whether `BSFIT_GPU_CHECKED=1` is set (read once per process).
fn checked_from_env() -> bool {
    static CHECKED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *CHECKED.get_or_init(|| std::env::var("BSFIT_GPU_CHECKED").is_ok_and(|v| v == "1"))
}

/// Counters of the operations that matter for offload discipline.
///
/// All counts are cumulative since the context was created; compare two
/// [`GpuContext::counters`] snapshots to count what a piece of code did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GpuCounters {
    /// Device buffers and bind groups created.
    pub allocations: u64,
    /// Host round trips: waits for the device followed by a read-back.
    pub round_trips: u64,
    /// Command-buffer submissions.
    pub submissions: u64,
    /// Compute dispatches recorded.
    pub dispatches: u64,
    /// Host-to-device uploads (`write_buffer`).
    pub uploads: u64,
    /// Bytes of device buffers created (storage, staging and read-back).
    pub bytes: u64,
}

#[derive(Default)]
pub(crate) struct Counters {
    pub allocations: AtomicU64,
    pub round_trips: AtomicU64,
    pub submissions: AtomicU64,
    pub dispatches: AtomicU64,
    pub uploads: AtomicU64,
    pub bytes: AtomicU64,
}

impl Counters {
    pub(crate) fn bump(c: &AtomicU64, n: u64) {
        c.fetch_add(n, Ordering::Relaxed);
    }
}

/// The bind-group layouts every kernel is built from.
pub(crate) struct Layouts {
    /// One read-only storage buffer at binding 0.
    pub ro: wgpu::BindGroupLayout,
    /// One read-write storage buffer at binding 0.
    pub rw: wgpu::BindGroupLayout,
}

/// A wgpu device with its compiled pipelines, shared by the 3D path and the
/// tensor-spline device paths.
///
/// Creating a context costs ~0.1 s (instance, adapter, device): create one and
/// reuse it. Pipelines are compiled on first use and cached by their generated
/// source, so a repeated solve on the same shape compiles nothing.
///
/// # Soundness
/// Every device plan, operator and spline remembers its context and sizes,
/// and returns [`FitError::InvalidParameter`] *before recording anything*
/// when it is handed a vector or array of another length or of another
/// context. Shaders are compiled without wgpu's runtime bounds checks only
/// where those host checks bound every index they form (see
/// [`GpuOptions::checked`] to keep the checks on). Errors wgpu reports
/// after the fact (a lost device, an allocation that fails on the device)
/// are collected instead of panicking and returned as [`FitError::Gpu`] by
/// the next call that waits for the device.
pub struct GpuContext {
    pub(crate) device: wgpu::Device,
    pub(crate) queue: wgpu::Queue,
    id: u64,
    info: wgpu::AdapterInfo,
    limits: wgpu::Limits,
    checked: bool,
    tuning: GpuTuning,
    errors: Arc<Mutex<Option<String>>>,
    f64_ok: bool,
    binding_cap: Option<u64>,
    pub(crate) layouts: Layouts,
    /// Compiled pipelines by source: with bounds checks, without.
    pipelines: Mutex<[HashMap<String, Arc<wgpu::ComputePipeline>>; 2]>,
    pub(crate) counters: Counters,
}

impl std::fmt::Debug for GpuContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuContext")
            .field("adapter", &self.info.name)
            .field("backend", &self.info.backend)
            .field("checked", &self.checked)
            .field("tuning", &self.tuning)
            .finish_non_exhaustive()
    }
}

/// Bytes per chunk of a streamed upload ([`GpuContext::stream_upload`]):
/// each chunk is one submission whose transfer overlaps the filling of the
/// next; small enough that a converted chunk stays in the last-level cache
/// on its way to the staging memory.
pub(crate) const STREAM_CHUNK: usize = 8 << 20;
/// Bytes per thread's task when a chunk is filled or read back in parallel.
const FILL_TASK: usize = 1 << 18;
/// Below this many bytes a conversion or copy runs on the calling thread
/// (waking the pool costs more than it saves).
pub(crate) const PAR_MIN_BYTES: usize = 4 << 20;

fn gpu_err(what: impl std::fmt::Display) -> FitError {
    FitError::Gpu(what.to_string())
}

/// A pointer into mapped staging memory handed to the threads of one
/// [`copy_to_staging`], each of which writes its own disjoint run of bytes.
#[derive(Clone, Copy)]
struct StagingPtr(*mut u8);
// SAFETY: the pointer is only dereferenced inside `copy_to_staging`, whose
// tasks write disjoint byte ranges of one live mapping while the view that
// owns it is mutably borrowed for the whole parallel copy.
unsafe impl Send for StagingPtr {}
// SAFETY: as for `Send`: shared only to compute disjoint destinations.
unsafe impl Sync for StagingPtr {}

/// Copies `src` into the mapped staging memory of `view` (the same
/// length): on the calling thread below [`PAR_MIN_BYTES`], else by all
/// threads of the current rayon pool in disjoint runs of [`FILL_TASK`]
/// bytes. Staging memory may be write-combining memory behind the PCIe
/// BAR (wgpu places `MAP_WRITE` staging in device-local host-visible memory
/// where the adapter has it, as NVIDIA's does), where one core's stores
/// reach a fraction of the link's rate; several cores writing at once
/// raise it. Nothing is read from the mapping.
fn copy_to_staging(view: &mut wgpu::QueueWriteBufferView, src: &[u8]) {
    use rayon::prelude::*;
    // wgpu sized the view from the same byte count, so the lengths agree;
    // `n` keeps every write inside both whatever happens.
    let n = view.len().min(src.len());
    debug_assert_eq!(view.len(), src.len());
    let src = &src[..n];
    let mut dst = view.slice(..n);
    if n < PAR_MIN_BYTES {
        dst.copy_from_slice(src);
        return;
    }
    let base = StagingPtr(dst.as_raw_element_ptr().as_ptr());
    src.par_chunks(FILL_TASK)
        .enumerate()
        .for_each(move |(i, run)| {
            let base = base;
            // SAFETY: `dst` is a live mapping of `n = src.len()` bytes that stays mapped and exclusively borrowed
            // until this parallel loop returns; run `i` covers bytes
            // `i * FILL_TASK .. i * FILL_TASK + run.len()` of `src`, so the
            // runs are disjoint and inside the mapping, and `src` (host
            // memory) cannot overlap it. Bytes need no alignment.
            unsafe {
                std::ptr::copy_nonoverlapping(run.as_ptr(), base.0.add(i * FILL_TASK), run.len());
            }
        });
}

impl GpuContext {
    /// Finds an adapter with default [`GpuOptions`] (bounds checks on if the
    /// environment variable `BSFIT_GPU_CHECKED=1` is set).
    ///
    /// # Errors
    /// [`FitError::Gpu`] when no adapter exists or the device cannot be created.
    pub fn new() -> Result<Self, FitError> {
        Self::with_options(&GpuOptions::default())
    }

    /// Finds an adapter on the chosen backends and creates a device with the
    /// adapter's own limits (the defaults cap a storage binding at 128 MiB).
    ///
    /// # Errors
    /// [`FitError::Gpu`] when no adapter exists, it lacks immediate data (push
    /// constants), or the device cannot be created.
    pub fn with_options(opts: &GpuOptions) -> Result<Self, FitError> {
        let backends = opts
            .backends
            .or_else(wgpu::Backends::from_env)
            .unwrap_or(wgpu::Backends::VULKAN);
        let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
        desc.backends = backends;
        let instance = wgpu::Instance::new(desc);
        let adapter = pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            ..Default::default()
        }))
        .map_err(|e| gpu_err(format!("no GPU adapter on backends {backends:?}: {e}")))?;
        let info = adapter.get_info();
        if !adapter.features().contains(wgpu::Features::IMMEDIATES) {
            return Err(gpu_err(format!(
                "adapter {} ({:?}) lacks immediate data (push constants)",
                info.name, info.backend
            )));
        }
        let limits = adapter.limits();
        // f64 in shaders where the adapter has it (the tensor path's f64 kernels).
        let f64_ok = adapter.features().contains(wgpu::Features::SHADER_F64);
        let mut features = wgpu::Features::IMMEDIATES;
        if f64_ok {
            features |= wgpu::Features::SHADER_F64;
        }
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("bsfit"),
            required_features: features,
            required_limits: limits.clone(),
            ..Default::default()
        }))
        .map_err(|e| gpu_err(format!("request_device on {}: {e}", info.name)))?;
        let checked = opts.checked || checked_from_env();
        // wgpu's default for an error it reports after the fact is a panic;
        // keep the first one and return it from the next wait instead.
        let errors: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
        let sink = errors.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            let mut first = sink.lock().unwrap_or_else(|p| p.into_inner());
            first.get_or_insert_with(|| e.to_string());
        }));
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let entry = |read_only| wgpu::BindGroupLayoutEntry {
            binding: 0,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Storage { read_only },
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        };
        let ro = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("ro"),
            entries: &[entry(true)],
        });
        let rw = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("rw"),
            entries: &[entry(false)],
        });
        Ok(Self {
            device,
            queue,
            id,
            info,
            limits,
            checked,
            tuning: opts.tuning,
            errors,
            f64_ok,
            binding_cap: opts.max_binding,
            layouts: Layouts { ro, rw },
            pipelines: Mutex::new([HashMap::new(), HashMap::new()]),
            counters: Counters::default(),
        })
    }

    /// Adapter name, e.g. `NVIDIA H100 80GB HBM3` or `llvmpipe (LLVM …)`.
    pub fn name(&self) -> &str {
        &self.info.name
    }

    /// Backend in use (Vulkan unless `WGPU_BACKEND` chose another).
    pub fn backend(&self) -> wgpu::Backend {
        self.info.backend
    }

    /// Adapter type (discrete, integrated, CPU, …).
    pub fn device_type(&self) -> wgpu::DeviceType {
        self.info.device_type
    }

    /// The device limits (the adapter's own).
    pub fn limits(&self) -> &wgpu::Limits {
        &self.limits
    }

    /// Whether the device runs f64 arithmetic in shaders (`SHADER_F64`),
    /// which the f64 tensor kernels need.
    pub fn supports_f64(&self) -> bool {
        self.f64_ok
    }

    /// Whether shaders keep their runtime bounds checks
    /// ([`GpuOptions::checked`] or `BSFIT_GPU_CHECKED=1`).
    pub fn checked(&self) -> bool {
        self.checked
    }

    /// The kernel variants chosen at creation ([`GpuOptions::tuning`]).
    pub fn tuning(&self) -> GpuTuning {
        self.tuning
    }

    /// A number unique to this context in the process: vectors and arrays
    /// record it, and plans refuse those of another context.
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// [`FitError::InvalidParameter`] naming `name` unless a buffer made on
    /// context `owner` with `len` elements is one of this context with
    /// `want` elements.
    pub(crate) fn check_buffer(
        &self,
        name: &'static str,
        owner: u64,
        len: usize,
        want: usize,
        what: &dyn std::fmt::Display,
    ) -> Result<(), FitError> {
        if owner != self.id {
            return Err(FitError::InvalidParameter {
                name,
                reason: format!("a buffer of another GPU context, handed to {what}"),
            });
        }
        if len != want {
            return Err(FitError::InvalidParameter {
                name,
                reason: format!("{len} elements, but {what} needs {want}"),
            });
        }
        Ok(())
    }

    /// The first error wgpu reported since the last call, as [`FitError::Gpu`].
    fn take_error(&self) -> Result<(), FitError> {
        match self.errors.lock().unwrap_or_else(|p| p.into_inner()).take() {
            Some(e) => Err(gpu_err(e)),
            None => Ok(()),
        }
    }

    /// One line: name, backend, type, driver and the limits that size the plans.
    pub fn describe(&self) -> String {
        format!(
            "{} ({:?}, {:?}, driver {} {}); max storage binding {} MiB, max buffer {} MiB, \
             workgroup storage {} KiB, f64 {}, bounds checks {}",
            self.info.name,
            self.info.backend,
            self.info.device_type,
            self.info.driver,
            self.info.driver_info,
            self.limits.max_storage_buffer_binding_size >> 20,
            self.limits.max_buffer_size >> 20,
            self.limits.max_compute_workgroup_storage_size >> 10,
            if self.f64_ok { "yes" } else { "no" },
            if self.checked { "on" } else { "off" }
        )
    }

    /// Snapshot of the offload counters.
    pub fn counters(&self) -> GpuCounters {
        let c = &self.counters;
        GpuCounters {
            allocations: c.allocations.load(Ordering::Relaxed),
            round_trips: c.round_trips.load(Ordering::Relaxed),
            submissions: c.submissions.load(Ordering::Relaxed),
            dispatches: c.dispatches.load(Ordering::Relaxed),
            uploads: c.uploads.load(Ordering::Relaxed),
            bytes: c.bytes.load(Ordering::Relaxed),
        }
    }

    /// Number of partial sums for the first stage of a reduction: lavapipe slows
    /// down with the number of workgroups that synchronise, a discrete GPU needs
    /// enough of them to fill its multiprocessors.
    pub(crate) fn reduction_partials(&self) -> u32 {
        match self.info.device_type {
            wgpu::DeviceType::Cpu => 16,
            _ => 1024,
        }
    }

    /// Largest storage binding in bytes.
    pub(crate) fn max_binding(&self) -> u64 {
        self.limits
            .max_storage_buffer_binding_size
            .min(self.limits.max_buffer_size)
            .min(self.binding_cap.unwrap_or(u64::MAX))
    }

    /// Compiles (or fetches from the cache) the pipeline for `source`,
    /// without wgpu's runtime bounds checks unless the context is
    /// [`checked`](Self::checked). `layouts` are the bind-group layouts of
    /// groups 0.., `immediate_size` the bytes of `var<immediate>` data.
    ///
    /// # Safety
    /// Every buffer and workgroup-array index the shader forms must be in
    /// range, and every loop bounded, for every binding and every immediate
    /// value any caller records it with: the caller checks the length of
    /// each buffer it binds against the sizes baked into `source` or passed
    /// as immediates, and says so in a `SAFETY` comment. An index out of
    /// range would otherwise read or write memory outside the binding.
    pub(crate) unsafe fn pipeline_unchecked(
        &self,
        source: &str,
        layouts: &[&wgpu::BindGroupLayout],
        immediate_size: u32,
    ) -> Arc<wgpu::ComputePipeline> {
        self.pipeline_impl(source, layouts, immediate_size, !self.checked)
    }

    fn pipeline_impl(
        &self,
        source: &str,
        layouts: &[&wgpu::BindGroupLayout],
        immediate_size: u32,
        unchecked: bool,
    ) -> Arc<wgpu::ComputePipeline> {
        let mut cache = self.pipelines.lock().unwrap_or_else(|p| p.into_inner());
        let cache = &mut cache[usize::from(unchecked)];
        if let Some(p) = cache.get(source) {
            return p.clone();
        }
        let desc = wgpu::ShaderModuleDescriptor {
            label: None,
            source: wgpu::ShaderSource::Wgsl(source.into()),
        };
        let module = if unchecked {
            // SAFETY: only `pipeline_unchecked` asks for this, whose callers
            // have checked every index the shader forms against the lengths
            // they bind (its `# Safety`; each call site's SAFETY comment says
            // how), and bound every loop by a constant or a checked size.
            unsafe {
                self.device
                    .create_shader_module_trusted(desc, wgpu::ShaderRuntimeChecks::unchecked())
            }
        } else {
            self.device.create_shader_module(desc)
        };
        let bgls: Vec<Option<&wgpu::BindGroupLayout>> = layouts.iter().map(|l| Some(*l)).collect();
        let layout = self
            .device
            .create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: None,
                bind_group_layouts: &bgls,
                immediate_size,
            });
        let pipeline = Arc::new(self.device.create_compute_pipeline(
            &wgpu::ComputePipelineDescriptor {
                label: None,
                layout: Some(&layout),
                module: &module,
                entry_point: Some("main"),
                compilation_options: Default::default(),
                cache: None,
            },
        ));
        cache.insert(source.to_owned(), pipeline.clone());
        pipeline
    }

    /// Creates a storage buffer of `len` f32 (zeroed), counted as an allocation.
    pub(crate) fn storage(&self, len: usize, label: &str) -> Result<wgpu::Buffer, FitError> {
        self.storage_bytes((len.max(1) * 4) as u64, label)
    }

    /// Creates a storage buffer of `bytes` bytes (zeroed, at least 8), counted
    /// as an allocation.
    ///
    /// # Errors
    /// [`FitError::Gpu`] above the storage-binding limit.
    pub(crate) fn storage_bytes(&self, bytes: u64, label: &str) -> Result<wgpu::Buffer, FitError> {
        let bytes = bytes.max(8).next_multiple_of(wgpu::COPY_BUFFER_ALIGNMENT);
        if bytes > self.max_binding() {
            return Err(gpu_err(format!(
                "{label}: {bytes} bytes exceed the device's storage binding limit of {} bytes",
                self.max_binding()
            )));
        }
        Counters::bump(&self.counters.allocations, 1);
        Counters::bump(&self.counters.bytes, bytes);
        Ok(self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: bytes,
            usage: wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        }))
    }

    /// Creates a bind group of one buffer for `layout`, counted as an allocation.
    pub(crate) fn bind_one(
        &self,
        layout: &wgpu::BindGroupLayout,
        buffer: &wgpu::Buffer,
    ) -> wgpu::BindGroup {
        Counters::bump(&self.counters.allocations, 1);
        self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout,
            entries: &[wgpu::BindGroupEntry {
                binding: 0,
                resource: buffer.as_entire_binding(),
            }],
        })
    }

    /// Writes `data` into `buffer` (queued; counted as an upload).
    pub(crate) fn upload(&self, buffer: &wgpu::Buffer, offset: u64, data: &[f32]) {
        self.upload_pod(buffer, offset, data);
    }

    /// Writes `data` (any plain-old-data element type) into `buffer` at byte
    /// `offset` (queued; counted as an upload).
    pub(crate) fn upload_pod<T: bytemuck::Pod>(
        &self,
        buffer: &wgpu::Buffer,
        offset: u64,
        data: &[T],
    ) {
        Counters::bump(&self.counters.uploads, 1);
        if !data.is_empty() {
            self.queue
                .write_buffer(buffer, offset, bytemuck::cast_slice(data));
        }
    }

    /// Creates a host-mappable read-back buffer of `bytes` bytes, counted as
    /// an allocation.
    pub(crate) fn staging(&self, bytes: u64) -> wgpu::Buffer {
        let bytes = bytes.max(8).next_multiple_of(wgpu::COPY_BUFFER_ALIGNMENT);
        Counters::bump(&self.counters.allocations, 1);
        Counters::bump(&self.counters.bytes, bytes);
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("read-back"),
            size: bytes,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    }

    /// Submits `encoder` (counted).
    pub(crate) fn submit(&self, encoder: wgpu::CommandEncoder) {
        self.submit_indexed(encoder);
    }

    /// [`submit`](Self::submit), returning the submission's index (for
    /// [`read_after`](Self::read_after)).
    pub(crate) fn submit_indexed(&self, encoder: wgpu::CommandEncoder) -> wgpu::SubmissionIndex {
        Counters::bump(&self.counters.submissions, 1);
        self.queue.submit([encoder.finish()])
    }

    /// Writes `src` into `buffer` at byte `offset`, streamed: in chunks of
    /// [`STREAM_CHUNK`] bytes, each copied straight into wgpu's staging
    /// memory (`write_buffer_with`: no intermediate host buffer) by all
    /// threads of the current rayon pool ([`copy_to_staging`]) and
    /// submitted at once, so that the transfer of one chunk overlaps the
    /// copy of the next (the last chunk goes with the caller's next
    /// submission). Counted as one upload. `offset` must be a multiple of 4.
    ///
    /// # Errors
    /// [`FitError::Gpu`] if wgpu cannot provide staging memory (the write
    /// would reach past the buffer, or the allocation fails).
    pub(crate) fn stream_upload<T: bytemuck::Pod>(
        &self,
        buffer: &wgpu::Buffer,
        offset: u64,
        src: &[T],
    ) -> Result<(), FitError> {
        self.stream_chunks::<T, T>(buffer, offset, src, |part, view| {
            copy_to_staging(view, bytemuck::cast_slice(part));
        })
    }

    /// [`stream_upload`](Self::stream_upload) of `src` converted to the
    /// device type `T` by `conv` (which fills a run of `T`s from the same
    /// run of source elements): each chunk is converted by all threads of
    /// the current rayon pool into `tmp` (grown to one chunk, kept by the
    /// caller across calls), then copied into the staging memory by all
    /// threads.
    ///
    /// # Errors
    /// As [`stream_upload`](Self::stream_upload).
    pub(crate) fn stream_upload_converted<S: Sync, T: bytemuck::Pod + Send>(
        &self,
        buffer: &wgpu::Buffer,
        offset: u64,
        src: &[S],
        tmp: &mut Vec<T>,
        conv: impl Fn(&[S], &mut [T]) + Sync,
    ) -> Result<(), FitError> {
        use rayon::prelude::*;
        let per_chunk = (STREAM_CHUNK / size_of::<T>()).max(1);
        tmp.resize(per_chunk.min(src.len()), T::zeroed());
        let per_task = (FILL_TASK / size_of::<T>()).max(1);
        self.stream_chunks::<S, T>(buffer, offset, src, |part, view| {
            let t = &mut tmp[..part.len()];
            if part.len() * size_of::<T>() < PAR_MIN_BYTES {
                conv(part, t);
            } else {
                t.par_chunks_mut(per_task)
                    .zip(part.par_chunks(per_task))
                    .for_each(|(d, s)| conv(s, d));
            }
            copy_to_staging(view, bytemuck::cast_slice(t));
        })
    }

    /// The chunk loop of the streamed uploads: `fill(part, view)` writes
    /// the bytes of the `T`s of `part` into `view`, then the chunk is
    /// submitted.
    fn stream_chunks<S, T>(
        &self,
        buffer: &wgpu::Buffer,
        offset: u64,
        src: &[S],
        mut fill: impl FnMut(&[S], &mut wgpu::QueueWriteBufferView),
    ) -> Result<(), FitError> {
        Counters::bump(&self.counters.uploads, 1);
        let tsize = size_of::<T>();
        let per_chunk = (STREAM_CHUNK / tsize).max(1);
        let chunks = src.len().div_ceil(per_chunk);
        for (i, part) in src.chunks(per_chunk).enumerate() {
            let at = offset + (i * per_chunk * tsize) as u64;
            let Some(size) = wgpu::BufferSize::new((part.len() * tsize) as u64) else {
                continue;
            };
            let Some(mut view) = self.queue.write_buffer_with(buffer, at, size) else {
                // wgpu reported why to the error sink.
                self.take_error()?;
                return Err(gpu_err(
                    "write_buffer_with: no staging memory for an upload",
                ));
            };
            fill(part, &mut view);
            drop(view);
            if i + 1 < chunks {
                // An empty submission (no command buffer: not counted)
                // flushes this chunk's copy to the device while the next is
                // filled; the last goes with the caller's next submission.
                self.queue.submit(std::iter::empty::<wgpu::CommandBuffer>());
            }
        }
        Ok(())
    }

    /// Maps `staging` once submission `after` has completed (and only that:
    /// later submissions keep running), hands its first `out.len()`
    /// elements of type `T` through `conv` into `out` on all threads of the
    /// current rayon pool, and unmaps it.
    ///
    /// # Errors
    /// [`FitError::Gpu`] if the device is lost or the mapping fails.
    pub(crate) fn read_after<T: bytemuck::Pod + Sync, U: Send>(
        &self,
        staging: &wgpu::Buffer,
        after: wgpu::SubmissionIndex,
        out: &mut [U],
        conv: impl Fn(T) -> U + Sync,
    ) -> Result<(), FitError> {
        use rayon::prelude::*;
        Counters::bump(&self.counters.round_trips, 1);
        let bytes = (out.len() * size_of::<T>()) as u64;
        if bytes == 0 {
            return Ok(());
        }
        let (tx, rx) = std::sync::mpsc::channel();
        staging.map_async(wgpu::MapMode::Read, 0..bytes, move |r| {
            let _ = tx.send(r);
        });
        self.device
            .poll(wgpu::PollType::Wait {
                submission_index: Some(after),
                timeout: None,
            })
            .map_err(|e| gpu_err(format!("device poll: {e}")))?;
        self.take_error()?;
        match rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(gpu_err(format!("map_async: {e}"))),
            Err(_) => return Err(gpu_err("map_async callback dropped")),
        }
        {
            let view = staging
                .get_mapped_range(0..bytes)
                .map_err(|e| gpu_err(format!("get_mapped_range: {e}")))?;
            let src: &[T] = bytemuck::try_cast_slice(&view[..])
                .map_err(|e| gpu_err(format!("mapped read-back memory: {e}")))?;
            let per_task = (FILL_TASK / size_of::<T>()).max(1);
            let task = |(o, s): (&mut [U], &[T])| {
                for (o, &v) in o.iter_mut().zip(s) {
                    *o = conv(v);
                }
            };
            if bytes < PAR_MIN_BYTES as u64 {
                task((out, src));
            } else {
                out.par_chunks_mut(per_task)
                    .zip(src.par_chunks(per_task))
                    .for_each(task);
            }
        }
        staging.unmap();
        Ok(())
    }

    /// Waits for all work submitted to the device (e.g. by
    /// [`GpuSpline::eval_device`](crate::tensor::gpu::GpuSpline::eval_device)
    /// or [`GpuFitter::fit_device`](crate::tensor::gpu::GpuFitter::fit_device)).
    ///
    /// # Errors
    /// [`FitError::Gpu`] if the device is lost, or with the first error wgpu
    /// reported since the last wait.
    pub fn wait(&self) -> Result<(), FitError> {
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| gpu_err(format!("device poll: {e}")))?;
        self.take_error()
    }

    /// Copies `len` f32 from `src` (at element `offset`) to the host: one round trip.
    ///
    /// Allocates a staging buffer; used for final results, never inside iterations.
    pub(crate) fn download(
        &self,
        src: &wgpu::Buffer,
        offset: usize,
        len: usize,
        out: &mut [f32],
    ) -> Result<(), FitError> {
        let bytes = (len * 4) as u64;
        Counters::bump(&self.counters.allocations, 1);
        Counters::bump(&self.counters.bytes, bytes.max(4));
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("download"),
            size: bytes.max(4),
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut enc = self.encoder();
        enc.copy_buffer_to_buffer(src, (offset * 4) as u64, &staging, 0, bytes);
        self.submit(enc);
        self.read_mapped(&staging, bytes, out)
    }

    /// Maps `staging` after the queued work, copies `bytes` of it into `out`, unmaps.
    pub(crate) fn read_mapped(
        &self,
        staging: &wgpu::Buffer,
        bytes: u64,
        out: &mut [f32],
    ) -> Result<(), FitError> {
        self.read_mapped_pod(staging, bytes, out)
    }

    /// [`read_mapped`](Self::read_mapped) for any plain-old-data element type.
    pub(crate) fn read_mapped_pod<T: bytemuck::Pod + Send + Sync>(
        &self,
        staging: &wgpu::Buffer,
        bytes: u64,
        out: &mut [T],
    ) -> Result<(), FitError> {
        Counters::bump(&self.counters.round_trips, 1);
        let (tx, rx) = std::sync::mpsc::channel();
        staging.map_async(wgpu::MapMode::Read, 0..bytes.max(4), move |r| {
            let _ = tx.send(r);
        });
        self.wait()?;
        match rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(gpu_err(format!("map_async: {e}"))),
            Err(_) => return Err(gpu_err("map_async callback dropped")),
        }
        {
            let view = staging
                .get_mapped_range(0..bytes.max(4))
                .map_err(|e| gpu_err(format!("get_mapped_range: {e}")))?;
            let src: &[T] = bytemuck::try_cast_slice(&view[..bytes as usize])
                .map_err(|e| gpu_err(format!("mapped read-back memory: {e}")))?;
            let n = out.len().min(src.len());
            if n * size_of::<T>() < PAR_MIN_BYTES {
                out[..n].copy_from_slice(&src[..n]);
            } else {
                use rayon::prelude::*;
                let per_task = (FILL_TASK / size_of::<T>().max(1)).max(1);
                out[..n]
                    .par_chunks_mut(per_task)
                    .zip(src[..n].par_chunks(per_task))
                    .for_each(|(o, s)| o.copy_from_slice(s));
            }
        }
        staging.unmap();
        Ok(())
    }

    pub(crate) fn encoder(&self) -> wgpu::CommandEncoder {
        self.device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None })
    }
}
