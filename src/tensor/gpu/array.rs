//! The element precision of the device kernels ([`GpuReal`]) and arrays
//! resident on the device ([`DeviceArray`]).

use crate::FitError;
use crate::gpu::GpuContext;
use std::sync::Arc;

/// The context a device spline or plan records on: borrowed (the typed
/// API, `GpuSpline<'c, …>` on a `&'c GpuContext`) or shared (the
/// dynamic-dimension front, the C ABI and Python, which own their device
/// handle: `GpuSpline<'static, …>` on an `Arc<GpuContext>`).
#[derive(Clone)]
pub(crate) enum Ctx<'c> {
    /// A context the caller keeps alive for `'c`.
    Borrowed(&'c GpuContext),
    /// A context kept alive by this reference.
    Shared(Arc<GpuContext>),
}

impl std::ops::Deref for Ctx<'_> {
    type Target = GpuContext;
    fn deref(&self) -> &GpuContext {
        match self {
            Ctx::Borrowed(c) => c,
            Ctx::Shared(c) => c,
        }
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// The precision a device spline or fitter computes in: `f64` (needs an
/// adapter with `SHADER_F64`, [`GpuContext::supports_f64`]) or `f32`.
///
/// Knots, coefficients, points and results are all stored in this type on
/// the device; the host side converts from and to `f64`.
pub trait GpuReal:
    sealed::Sealed + bytemuck::Pod + Copy + PartialEq + std::fmt::Debug + Send + Sync
{
    /// The WGSL scalar type.
    const WGSL: &'static str;
    /// Whether the kernels need `SHADER_F64`.
    const NEEDS_F64: bool;
    /// Rounds an `f64` to this type.
    fn from_f64(v: f64) -> Self;
    /// Widens to `f64`.
    fn to_f64(self) -> f64;
}

impl GpuReal for f32 {
    const WGSL: &'static str = "f32";
    const NEEDS_F64: bool = false;
    #[inline]
    fn from_f64(v: f64) -> Self {
        v as f32
    }
    #[inline]
    fn to_f64(self) -> f64 {
        self as f64
    }
}

impl GpuReal for f64 {
    const WGSL: &'static str = "f64";
    const NEEDS_F64: bool = true;
    #[inline]
    fn from_f64(v: f64) -> Self {
        v
    }
    #[inline]
    fn to_f64(self) -> f64 {
        self
    }
}

/// [`FitError::Gpu`] unless the context can run kernels in `T`.
pub(crate) fn check_precision<T: GpuReal>(ctx: &GpuContext) -> Result<(), FitError> {
    if T::NEEDS_F64 && !ctx.supports_f64() {
        return Err(FitError::Gpu(format!(
            "adapter {} has no f64 shader arithmetic (SHADER_F64): use f32",
            ctx.name()
        )));
    }
    Ok(())
}

/// A flat array of `T` resident on the device: points to evaluate at
/// (`D` coordinates per point), evaluation results, grid values to fit, or
/// the coefficients of a fit.
///
/// Created once and reused: evaluation and fitting calls that take device
/// arrays record work on them without allocating or uploading. An array
/// remembers its length and context; a call handed an array that is too
/// short or of another context returns an error before recording anything.
#[derive(Debug)]
pub struct DeviceArray<T: GpuReal> {
    pub(crate) buffer: wgpu::Buffer,
    pub(crate) ro: wgpu::BindGroup,
    pub(crate) rw: wgpu::BindGroup,
    pub(crate) len: usize,
    /// The id of the context that created it.
    pub(crate) ctx: u64,
    _t: std::marker::PhantomData<T>,
}

impl<T: GpuReal> DeviceArray<T> {
    /// A zeroed array of `len` elements.
    ///
    /// # Errors
    /// [`FitError::Gpu`] if `T` is `f64` on an adapter without f64 shaders or
    /// the array exceeds the device's storage-binding limit;
    /// [`FitError::InvalidParameter`] if the byte size overflows.
    pub fn zeroed(ctx: &GpuContext, len: usize) -> Result<Self, FitError> {
        check_precision::<T>(ctx)?;
        // Rounded up to a multiple of four elements plus four zeroed ones:
        // evaluation reads a coefficient row as aligned vectors of up to four
        // elements, the last of which may start at the row's last element.
        let bytes = len
            .checked_add(4)
            .map(|l| l.next_multiple_of(4))
            .and_then(|l| l.checked_mul(size_of::<T>()))
            .ok_or_else(|| FitError::InvalidParameter {
                name: "len",
                reason: format!("{len} elements overflow the address space"),
            })?;
        let buffer = ctx.storage_bytes(bytes as u64, "device array")?;
        let ro = ctx.bind_one(&ctx.layouts.ro, &buffer);
        let rw = ctx.bind_one(&ctx.layouts.rw, &buffer);
        Ok(Self {
            buffer,
            ro,
            rw,
            len,
            ctx: ctx.id(),
            _t: std::marker::PhantomData,
        })
    }

    /// An array holding a copy of `data` (one upload).
    ///
    /// # Errors
    /// As [`zeroed`](Self::zeroed).
    pub fn from_slice(ctx: &GpuContext, data: &[T]) -> Result<Self, FitError> {
        let a = Self::zeroed(ctx, data.len())?;
        ctx.stream_upload(&a.buffer, 0, data)?;
        Ok(a)
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Overwrites the first `data.len()` elements (one upload, streamed
    /// through the staging memory by all threads, queued behind the work
    /// already submitted).
    ///
    /// # Errors
    /// [`FitError::InvalidParameter`] if `data` is longer than the array or
    /// `ctx` is not the array's context; [`FitError::Gpu`] if wgpu cannot
    /// provide staging memory.
    pub fn write(&self, ctx: &GpuContext, data: &[T]) -> Result<(), FitError> {
        self.check_context(ctx, "data")?;
        if data.len() > self.len {
            return Err(FitError::InvalidParameter {
                name: "data",
                reason: format!("{} elements for a device array of {}", data.len(), self.len),
            });
        }
        ctx.stream_upload(&self.buffer, 0, data)
    }

    /// Copies the array to the host after all submitted work (one round
    /// trip; allocates a read-back buffer).
    ///
    /// # Errors
    /// [`FitError::InvalidParameter`] if `ctx` is not the array's context;
    /// [`FitError::Gpu`] if the device fails.
    pub fn read(&self, ctx: &GpuContext) -> Result<Vec<T>, FitError> {
        self.check_context(ctx, "ctx")?;
        let mut out = vec![T::from_f64(0.0); self.len];
        let staging = ctx.staging((self.len * size_of::<T>()) as u64);
        self.read_into(ctx, &staging, &mut out)?;
        Ok(out)
    }

    /// Copies the first `out.len()` elements through `staging` (a read-back
    /// buffer at least that large).
    pub(crate) fn read_into(
        &self,
        ctx: &GpuContext,
        staging: &wgpu::Buffer,
        out: &mut [T],
    ) -> Result<(), FitError> {
        let n = out.len().min(self.len);
        let bytes = (n * size_of::<T>()) as u64;
        if bytes == 0 {
            return Ok(());
        }
        let mut enc = ctx.encoder();
        enc.copy_buffer_to_buffer(&self.buffer, 0, staging, 0, bytes);
        ctx.submit(enc);
        ctx.read_mapped_pod(staging, bytes, &mut out[..n])
    }

    /// [`FitError::InvalidParameter`] naming `name` unless the array was
    /// created on `ctx`.
    pub(crate) fn check_context(
        &self,
        ctx: &GpuContext,
        name: &'static str,
    ) -> Result<(), FitError> {
        if self.ctx == ctx.id() {
            Ok(())
        } else {
            Err(FitError::InvalidParameter {
                name,
                reason: "a device array of another GPU context".into(),
            })
        }
    }

    /// Records a copy of `src` into this array (same length) on `enc`.
    pub(crate) fn copy_from(&self, enc: &mut wgpu::CommandEncoder, src: &Self) {
        let bytes = (self.len.min(src.len) * size_of::<T>()) as u64;
        if bytes > 0 {
            enc.copy_buffer_to_buffer(&src.buffer, 0, &self.buffer, 0, bytes);
        }
    }
}
