//! The finiteness check of values already on the device.
//!
//! A fit from host memory checks its values on the host before uploading
//! them; a fit from a [`DeviceArray`] ([`GpuFitter::fit_device`]) checks
//! them here, on the device, before any pass is recorded: one kernel finds
//! the first element whose exponent bits are all ones (±∞ or NaN) and one
//! 4-byte read brings its index back.
//!
//! The test is on the bits, not on the value: WGSL lets an implementation
//! assume that floating-point values are finite, so `x != x` or `x - x`
//! may be folded away. A `f32` is one 32-bit word with the exponent in bits
//! 23–30; a `f64` is two little-endian words, the exponent in bits 20–30 of
//! the high (second) word. The kernel reads the buffer as `array<u32>`
//! whatever its precision, one word per element.
//!
//! Each thread walks the elements with a grid stride and stops at its first
//! non-finite one, recording it with `atomicMin`: every thread's first is
//! the smallest of its own, so the minimum over the threads is the first
//! non-finite element of the array.
//!
//! [`GpuFitter::fit_device`]: super::GpuFitter::fit_device

use std::sync::Arc;

use super::array::{DeviceArray, GpuReal};
use crate::FitError;
use crate::gpu::GpuContext;
use crate::gpu::context::Counters;

/// Threads per workgroup of the check.
const WORKGROUP: u32 = 256;
/// Most workgroups of one check (the rest is the grid stride).
const MAX_GROUPS: u32 = 4096;
/// "No non-finite element" in the result word.
const NONE: u32 = u32::MAX;

/// The check kernel of one precision with its result word and read-back
/// buffer (made once per fitter; the pipeline is cached by the context).
pub(crate) struct FiniteCheck {
    pipeline: Arc<wgpu::ComputePipeline>,
    /// One `u32`: the index of the first non-finite element, or [`NONE`].
    result: wgpu::Buffer,
    result_rw: wgpu::BindGroup,
    /// Read-back of the result word, then of the element at fault.
    staging: wgpu::Buffer,
    /// Bytes per element (4 or 8).
    elem: usize,
}

impl FiniteCheck {
    /// The check of `T` values on `ctx`.
    ///
    /// # Errors
    /// [`FitError::Gpu`] if a buffer cannot be allocated.
    pub(crate) fn new<T: GpuReal>(ctx: &GpuContext) -> Result<Self, FitError> {
        let elem = size_of::<T>();
        let source = source(elem);
        // SAFETY: the shader reads `words[i * step + hi]` for `i < p.count`
        // only, and `record` sets `p.count` to at most the length of the
        // array it binds as `words`, whose buffer holds at least that many
        // elements of `step` words each (`hi < step`); it writes only
        // `result[0]`, a binding of 8 bytes. The loop advances `i` by
        // `p.stride ≥ 256` until `i ≥ p.count < 2^31`, so it ends without
        // overflow.
        let pipeline =
            unsafe { ctx.pipeline_unchecked(&source, &[&ctx.layouts.ro, &ctx.layouts.rw], 8) };
        let result = ctx.storage_bytes(8, "finiteness check")?;
        let result_rw = ctx.bind_one(&ctx.layouts.rw, &result);
        let staging = ctx.staging(8);
        Ok(Self {
            pipeline,
            result,
            result_rw,
            staging,
            elem,
        })
    }

    /// The first of the first `count` elements of `array` that is not
    /// finite, as its flat index and value, or `None`. Waits for the work
    /// submitted before it and for the check (one 4-byte round trip; a
    /// second one reads the value at fault).
    ///
    /// # Errors
    /// [`FitError::InvalidParameter`] for `count` beyond the array (or
    /// beyond 2³¹ elements); [`FitError::Gpu`] if the device fails.
    pub(crate) fn first_non_finite<T: GpuReal>(
        &self,
        ctx: &GpuContext,
        array: &DeviceArray<T>,
        count: usize,
    ) -> Result<Option<(usize, f64)>, FitError> {
        if count > array.len || count >= 1 << 31 || size_of::<T>() != self.elem {
            return Err(FitError::InvalidParameter {
                name: "values",
                reason: format!(
                    "a check of {count} elements of {} bytes on an array of {} elements of {}",
                    size_of::<T>(),
                    array.len,
                    self.elem
                ),
            });
        }
        if count == 0 {
            return Ok(None);
        }
        let count32 = count as u32;
        let groups = count32.div_ceil(WORKGROUP).min(MAX_GROUPS);
        ctx.upload_pod(&self.result, 0, &[NONE, 0]);
        let mut enc = ctx.encoder();
        {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
            pass.set_pipeline(&self.pipeline);
            pass.set_bind_group(0, &array.ro, &[]);
            pass.set_bind_group(1, &self.result_rw, &[]);
            pass.set_immediates(0, bytemuck::bytes_of(&[count32, groups * WORKGROUP]));
            pass.dispatch_workgroups(groups, 1, 1);
            Counters::bump(&ctx.counters.dispatches, 1);
        }
        enc.copy_buffer_to_buffer(&self.result, 0, &self.staging, 0, 4);
        let after = ctx.submit_indexed(enc);
        let mut first = [NONE];
        ctx.read_after::<u32, u32>(&self.staging, after, &mut first, |w| w)?;
        let k = first[0] as usize;
        if first[0] == NONE || k >= count {
            return Ok(None);
        }
        // The value at fault, for the error message.
        let mut enc = ctx.encoder();
        let bytes = self.elem as u64;
        enc.copy_buffer_to_buffer(&array.buffer, k as u64 * bytes, &self.staging, 0, bytes);
        let after = ctx.submit_indexed(enc);
        let mut value = [0.0f64];
        ctx.read_after::<T, f64>(&self.staging, after, &mut value, |v| v.to_f64())?;
        Ok(Some((k, value[0])))
    }
}

/// The WGSL of the check for elements of `elem` bytes (4 or 8).
fn source(elem: usize) -> String {
    // Words per element, the word holding the exponent, its mask.
    let (step, hi, mask) = if elem == 8 {
        (2u32, 1u32, 0x7ff0_0000u32)
    } else {
        (1, 0, 0x7f80_0000)
    };
    format!(
        "struct P {{ count: u32, stride: u32 }}\n\
         var<immediate> p: P;\n\
         @group(0) @binding(0) var<storage, read> words: array<u32>;\n\
         @group(1) @binding(0) var<storage, read_write> result: array<atomic<u32>>;\n\
         @compute @workgroup_size({WORKGROUP})\n\
         fn main(@builtin(global_invocation_id) gid: vec3<u32>) {{\n\
         \x20   var i = gid.x;\n\
         \x20   loop {{\n\
         \x20       if i >= p.count {{ break; }}\n\
         \x20       let w = words[i * {step}u + {hi}u];\n\
         \x20       if (w & {mask}u) == {mask}u {{\n\
         \x20           atomicMin(&result[0], i);\n\
         \x20           break;\n\
         \x20       }}\n\
         \x20       i = i + p.stride;\n\
         \x20   }}\n\
         }}\n"
    )
}
