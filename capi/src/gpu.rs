//! The GPU across the C ABI: a device handle, device fit plans and device
//! splines (the library's `DynGpuFitter` / `DynGpuSpline`). Evaluation
//! takes the same request arguments as `bsfit_spline_evaluate` and builds
//! one `Query`; nothing here loops over points or applies a policy.
//!
//! Device arrays (`bsfit_gpu_array`) keep points, results and values on
//! the device between calls: `bsfit_gpu_spline_evaluate_device` and
//! `bsfit_gpu_fitter_fit_device` read and write them there.
//!
//! Every `bsfit_gpu_*` function exists in every build; in a build without
//! the cargo feature `gpu` each returns `BSFIT_STATUS_UNSUPPORTED` (the
//! `*_free` functions do nothing).

use crate::Status;
use crate::fitter::Fitter;
#[cfg(feature = "gpu")]
use crate::ptr::{Out, check_ptr, get};
use crate::spline::Spline;
use crate::status::{Error, gated, guard};

/// The precision a device spline or fit plan computes in
/// (`bsfit_gpu_spline_upload`, `bsfit_gpu_fitter_new`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// Double precision (needs an adapter with 64-bit shader arithmetic,
    /// `bsfit_gpu_supports_f64`).
    F64 = 0,
    /// Single precision: knots, coefficients, points and results rounded to
    /// float on the device (results are still returned as double).
    F32 = 1,
}

#[cfg(feature = "gpu")]
mod imp {
    pub(crate) type Context = std::sync::Arc<bsfit_core::gpu::GpuContext>;
    pub(crate) type DevSpline = bsfit_core::tensor::gpu::DynGpuSpline;
    pub(crate) type DevFitter = bsfit_core::tensor::gpu::DynGpuFitter;
    pub(crate) type DevArray = bsfit_core::tensor::gpu::DynDeviceArray;
}

#[cfg(not(feature = "gpu"))]
mod imp {
    /// Never built without the `gpu` feature.
    pub(crate) type Context = std::convert::Infallible;
    /// Never built without the `gpu` feature.
    pub(crate) type DevSpline = std::convert::Infallible;
    /// Never built without the `gpu` feature.
    pub(crate) type DevFitter = std::convert::Infallible;
    /// Never built without the `gpu` feature.
    pub(crate) type DevArray = std::convert::Infallible;
}

/// An opened GPU (`bsfit_gpu_open`): the adapter, its device and the
/// compiled kernels. Device splines and fit plans keep it alive: it may be
/// freed before them.
pub struct GpuDevice {
    #[cfg_attr(not(feature = "gpu"), allow(dead_code))]
    ctx: imp::Context,
}

/// A spline resident on the GPU (`bsfit_gpu_spline_upload`,
/// `bsfit_gpu_fitter_fit`): knots and coefficients uploaded once.
pub struct GpuSpline {
    #[cfg_attr(not(feature = "gpu"), allow(dead_code))]
    inner: imp::DevSpline,
}

/// A fit plan on the GPU (`bsfit_gpu_fitter_new`): the factored per-axis
/// systems uploaded once; each fit uploads the values and solves on the
/// device.
pub struct GpuFitter {
    #[cfg_attr(not(feature = "gpu"), allow(dead_code))]
    inner: imp::DevFitter,
}

/// A flat array resident on the GPU (`bsfit_gpu_array_new`), of double or
/// float elements there (its precision) and double on the host side:
/// points to evaluate at, evaluation results kept on the device, or grid
/// values to fit. It keeps its device alive.
pub struct GpuArray {
    #[cfg_attr(not(feature = "gpu"), allow(dead_code))]
    inner: imp::DevArray,
}

/// The error of every `bsfit_gpu_*` call in a build without GPU support.
#[cfg(not(feature = "gpu"))]
fn unsupported<T>() -> Result<T, Error> {
    Err(Error::Unsupported(
        "bsfit was built without GPU support (cargo feature `gpu` of bsfit-capi)".into(),
    ))
}

#[cfg(feature = "gpu")]
fn precision(code: u32) -> Result<bsfit_core::tensor::gpu::GpuPrecision, Error> {
    use bsfit_core::tensor::gpu::GpuPrecision;
    match code {
        0 => Ok(GpuPrecision::F64),
        1 => Ok(GpuPrecision::F32),
        _ => crate::status::arg_err(format!(
            "precision = {code} is not a bsfit_precision (0 or 1)"
        )),
    }
}

/// Whether this library was built with GPU support (the `bsfit_gpu_*`
/// functions work; without it they return `BSFIT_STATUS_UNSUPPORTED`).
#[unsafe(no_mangle)]
pub extern "C" fn bsfit_gpu_built() -> bool {
    cfg!(feature = "gpu")
}

/// Opens the GPU: finds an adapter (Vulkan unless the environment variable
/// `WGPU_BACKEND` names another backend) and creates its device, into
/// `*out` (about 100 ms; open once and share the handle).
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_MISALIGNED_POINTER`,
/// `BSFIT_STATUS_GPU_ERROR` (no adapter, or the device cannot be created),
/// `BSFIT_STATUS_UNSUPPORTED` (built without GPU support).
///
/// # Safety
/// `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_gpu_open(out: *mut *mut GpuDevice) -> Status {
    gated(|| {
        #[cfg(feature = "gpu")]
        {
            let out = Out::new(out, "out")?;
            let ctx = std::sync::Arc::new(bsfit_core::gpu::GpuContext::new()?);
            let p = Box::into_raw(Box::new(GpuDevice { ctx }));
            // SAFETY: `out` checked by `Out::new`; writable per the contract.
            unsafe { out.write(p) };
            Ok(())
        }
        #[cfg(not(feature = "gpu"))]
        {
            let _ = out;
            unsupported()
        }
    })
}

/// Frees a device handle (NULL: nothing). Splines and fit plans made on it
/// stay usable until freed themselves.
///
/// # Safety
/// `gpu` NULL or a live handle from `bsfit_gpu_open`, not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_gpu_free(gpu: *mut GpuDevice) {
    if gpu.is_null() {
        return;
    }
    let _ = gated(|| {
        // SAFETY: created by `Box::into_raw` here and not yet freed (contract).
        drop(unsafe { Box::from_raw(gpu) });
        Ok(())
    });
}

/// Waits until the device has finished all work submitted to it. Fits and
/// evaluations whose results stay on the device
/// (`bsfit_gpu_fitter_fit_device`, `bsfit_gpu_spline_evaluate_device`)
/// return once their work is queued; `bsfit_gpu_array_read` waits by
/// itself. Use this to time device work or to learn of a device error at a
/// known point.
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_UNSUPPORTED`; a
/// device that was lost, or reported an error since the last wait, gives
/// the device-error status of `bsfit_gpu_open`.
///
/// # Safety
/// `gpu` NULL or a live handle from `bsfit_gpu_open`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_gpu_synchronize(gpu: *const GpuDevice) -> Status {
    guard(|| {
        #[cfg(feature = "gpu")]
        {
            // SAFETY: a live handle (contract).
            let g = unsafe { get(gpu, "gpu") }?;
            g.ctx.wait()?;
            Ok(())
        }
        #[cfg(not(feature = "gpu"))]
        {
            let _ = gpu;
            unsupported()
        }
    })
}

/// Writes the adapter's name (NUL-terminated, truncated to `len - 1` bytes)
/// to `name[0 .. len]`.
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_INVALID_ARGUMENT`
/// (`len == 0`), `BSFIT_STATUS_UNSUPPORTED`.
///
/// # Safety
/// `gpu` NULL or live; `name` NULL or writable for `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_gpu_name(
    gpu: *const GpuDevice,
    name: *mut std::ffi::c_char,
    len: usize,
) -> Status {
    guard(|| {
        #[cfg(feature = "gpu")]
        {
            // SAFETY: a live handle (contract).
            let g = unsafe { get(gpu, "gpu") }?;
            check_ptr(name.cast_const(), "name")?;
            if len == 0 {
                return crate::status::arg_err("len is 0".into());
            }
            let bytes = g.ctx.name().as_bytes();
            let n = bytes.len().min(len - 1);
            // SAFETY: `name` writable for `len > n` bytes (contract).
            let dst = unsafe { crate::ptr::slice_mut(name.cast::<u8>(), len, "name") }?;
            dst[..n].copy_from_slice(&bytes[..n]);
            dst[n] = 0;
            Ok(())
        }
        #[cfg(not(feature = "gpu"))]
        {
            let _ = (gpu, name, len);
            unsupported()
        }
    })
}

/// Whether the adapter computes in double precision (`BSFIT_PRECISION_F64`
/// works), into `*out`.
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_UNSUPPORTED`.
///
/// # Safety
/// `gpu` NULL or live; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_gpu_supports_f64(gpu: *const GpuDevice, out: *mut bool) -> Status {
    guard(|| {
        #[cfg(feature = "gpu")]
        {
            // SAFETY: a live handle (contract).
            let g = unsafe { get(gpu, "gpu") }?;
            let out = Out::new(out, "out")?;
            // SAFETY: checked slot (contract).
            unsafe { out.write(g.ctx.supports_f64()) };
            Ok(())
        }
        #[cfg(not(feature = "gpu"))]
        {
            let _ = (gpu, out);
            unsupported()
        }
    })
}

/// Uploads a host spline (knots, coefficients rounded to `precision`, its
/// periodic axes, value shape and extrapolation policy) to the GPU, into
/// `*out`.
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_MISALIGNED_POINTER`,
/// `BSFIT_STATUS_INVALID_ARGUMENT` (an unknown precision code, a spline of
/// 2^32 coefficients or more, a policy the device does not apply:
/// `BSFIT_POLICY_ERROR` as the spline's own), `BSFIT_STATUS_GPU_ERROR`
/// (`BSFIT_PRECISION_F64` on an adapter without it, a table over a device
/// limit), `BSFIT_STATUS_UNSUPPORTED`.
///
/// # Safety
/// `gpu`, `spline` NULL or live; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_gpu_spline_upload(
    gpu: *const GpuDevice,
    spline: *const Spline,
    precision: u32,
    out: *mut *mut GpuSpline,
) -> Status {
    gated(|| {
        #[cfg(feature = "gpu")]
        {
            // SAFETY: live handles (contract).
            let g = unsafe { get(gpu, "gpu") }?;
            // SAFETY: as above.
            let s = unsafe { get(spline, "spline") }?;
            let out = Out::new(out, "out")?;
            let inner = bsfit_core::tensor::gpu::DynGpuSpline::new(
                g.ctx.clone(),
                &s.inner,
                self::precision(precision)?,
            )?;
            let p = Box::into_raw(Box::new(GpuSpline { inner }));
            // SAFETY: checked slot (contract).
            unsafe { out.write(p) };
            Ok(())
        }
        #[cfg(not(feature = "gpu"))]
        {
            let _ = (gpu, spline, precision, out);
            unsupported()
        }
    })
}

/// Frees a device spline (NULL: nothing).
///
/// # Safety
/// `spline` NULL or a live device spline, not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_gpu_spline_free(spline: *mut GpuSpline) {
    if spline.is_null() {
        return;
    }
    let _ = gated(|| {
        // SAFETY: created by `Box::into_raw` here and not yet freed (contract).
        drop(unsafe { Box::from_raw(spline) });
        Ok(())
    });
}

/// Number of dimensions of a device spline into `*out`.
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_MISALIGNED_POINTER`,
/// `BSFIT_STATUS_UNSUPPORTED`.
///
/// # Safety
/// `spline` NULL or live; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_gpu_spline_ndim(
    spline: *const GpuSpline,
    out: *mut usize,
) -> Status {
    guard(|| {
        #[cfg(feature = "gpu")]
        {
            // SAFETY: a live handle (contract).
            let s = unsafe { get(spline, "spline") }?;
            let out = Out::new(out, "out")?;
            // SAFETY: checked slot (contract).
            unsafe { out.write(s.inner.ndim()) };
            Ok(())
        }
        #[cfg(not(feature = "gpu"))]
        {
            let _ = (spline, out);
            unsupported()
        }
    })
}

/// `bsfit_spline_evaluate` on the GPU: the same arguments, outputs and
/// layout `(point, output, component)`; points and results travel as double
/// and are rounded to the spline's precision on the device. At most 64
/// outputs per call. `BSFIT_POLICY_ERROR` is checked on the host before
/// anything is uploaded.
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_MISALIGNED_POINTER`,
/// `BSFIT_STATUS_DIMENSION_MISMATCH`, `BSFIT_STATUS_INVALID_ARGUMENT` (as
/// `bsfit_spline_evaluate`, and more than 64 outputs),
/// `BSFIT_STATUS_BUFFER_TOO_SMALL`, `BSFIT_STATUS_OUTSIDE_DOMAIN`,
/// `BSFIT_STATUS_UNSUPPORTED`; a device that fails mid-call gives the
/// device-error status of `bsfit_gpu_open`.
///
/// # Safety
/// As `bsfit_spline_evaluate`, with `spline` a live device spline.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)] // the request of bsfit_spline_evaluate
pub unsafe extern "C" fn bsfit_gpu_spline_evaluate(
    spline: *const GpuSpline,
    points: *const f64,
    n: usize,
    ndim: usize,
    orders: *const usize,
    n_outputs: usize,
    policy: *const u32,
    out: *mut f64,
    out_len: usize,
) -> Status {
    gated(|| {
        #[cfg(feature = "gpu")]
        {
            // SAFETY: a live handle (contract).
            let s = unsafe { get(spline, "spline") }?;
            use crate::ptr::{slice, slice_mut};
            use bsfit_core::tensor::Query;
            // SAFETY: `orders`, `policy` as documented (contract).
            let (partials, policy) = unsafe { request(&s.inner, ndim, orders, n_outputs, policy) }?;
            if n == 0 {
                return Ok(());
            }
            let Some(len) = n.checked_mul(ndim) else {
                return crate::status::arg_err(format!("n * ndim = {n} * {ndim} overflows size_t"));
            };
            // SAFETY: `n * ndim` values (contract).
            let pts = unsafe { slice(points, len, "points") }?;
            check_ptr(out.cast_const(), "out")?;
            // SAFETY: `out_len` writable elements, disjoint from the inputs.
            let out = unsafe { slice_mut(out, out_len, "out") }?;
            let q = Query::at_slice(pts, ndim)?.outputs(&partials);
            run(&s.inner, q, policy, out)
        }
        #[cfg(not(feature = "gpu"))]
        {
            let _ = (
                spline, points, n, ndim, orders, n_outputs, policy, out, out_len,
            );
            unsupported()
        }
    })
}

/// `bsfit_spline_evaluate_grid` on the GPU: the same arguments and layout
/// `(i_0, ..., i_(ndim-1), output, component)`; the grid is expanded to
/// its points on the host.
///
/// Errors: as `bsfit_gpu_spline_evaluate`.
///
/// # Safety
/// As `bsfit_spline_evaluate_grid`, with `spline` a live device spline.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)] // the request of bsfit_spline_evaluate_grid
pub unsafe extern "C" fn bsfit_gpu_spline_evaluate_grid(
    spline: *const GpuSpline,
    coords: *const *const f64,
    lens: *const usize,
    ndim: usize,
    orders: *const usize,
    n_outputs: usize,
    policy: *const u32,
    out: *mut f64,
    out_len: usize,
) -> Status {
    gated(|| {
        #[cfg(feature = "gpu")]
        {
            // SAFETY: a live handle (contract).
            let s = unsafe { get(spline, "spline") }?;
            use crate::ptr::{axes, checked_product, slice_mut};
            use bsfit_core::tensor::Query;
            // SAFETY: `orders`, `policy` as documented (contract).
            let (partials, policy) = unsafe { request(&s.inner, ndim, orders, n_outputs, policy) }?;
            // SAFETY: `ndim` lists of `lens[k]` coordinates (contract).
            let grid = unsafe { axes(ndim, coords, lens, ("coords", "lens"), true) }?;
            let lens: Vec<usize> = grid.iter().map(|a| a.len()).collect();
            if checked_product(&lens, "lens")? == 0 {
                return Ok(());
            }
            check_ptr(out.cast_const(), "out")?;
            // SAFETY: `out_len` writable elements (contract).
            let out = unsafe { slice_mut(out, out_len, "out") }?;
            let q = Query::grid(&grid).outputs(&partials);
            run(&s.inner, q, policy, out)
        }
        #[cfg(not(feature = "gpu"))]
        {
            let _ = (
                spline, coords, lens, ndim, orders, n_outputs, policy, out, out_len,
            );
            unsupported()
        }
    })
}

/// The partials and per-axis policies of a request, checked against the
/// device spline's dimension.
///
/// # Safety
/// As `bsfit_spline_evaluate`'s `orders` and `policy`.
#[cfg(feature = "gpu")]
unsafe fn request(
    s: &imp::DevSpline,
    ndim: usize,
    orders: *const usize,
    n_outputs: usize,
    policy: *const u32,
) -> Result<
    (
        Vec<bsfit_core::tensor::Partial>,
        Option<[bsfit_core::Extrapolate; bsfit_core::tensor::MAX_DIM]>,
    ),
    Error,
> {
    if ndim != s.ndim() {
        return Err(bsfit_core::FitError::DimensionMismatch {
            expected: s.ndim(),
            got: ndim,
        }
        .into());
    }
    // SAFETY: forwarded contract.
    let partials = unsafe { crate::query::partials(orders, n_outputs, ndim) }?;
    // SAFETY: forwarded contract.
    let policy =
        unsafe { crate::query::policies_for(&s.periodic_axes(), s.extrapolate(), policy, ndim) }?;
    Ok((partials, policy))
}

/// Runs `q` (with the per-axis policies, if any) on the device into `out`.
#[cfg(feature = "gpu")]
fn run(
    s: &imp::DevSpline,
    q: bsfit_core::tensor::Query<'_>,
    policy: Option<[bsfit_core::Extrapolate; bsfit_core::tensor::MAX_DIM]>,
    out: &mut [f64],
) -> Result<(), Error> {
    let q = match policy {
        Some(p) => q.policy_axes(&p[..s.ndim()]),
        None => q,
    };
    let need = q
        .len()?
        .checked_mul(q.partials(s.ndim())?.len())
        .and_then(|m| m.checked_mul(s.value_shape().iter().product()))
        .ok_or_else(|| Error::Arg("the result's size overflows size_t".into()))?;
    crate::ptr::check_capacity(out.len(), need, "out")?;
    let r = s.evaluate(&q)?;
    for (o, v) in out.iter_mut().zip(r.iter()) {
        *o = *v;
    }
    Ok(())
}

/// A fit plan on the GPU for the grid and boundary conditions of the host
/// plan `fitter`, for values of shape `vshape[0 .. vndim]` per site
/// (`vndim == 0`, `vshape` may be NULL: scalar values), in `precision`,
/// into `*out`. Uploads the factored systems once.
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_MISALIGNED_POINTER`,
/// `BSFIT_STATUS_INVALID_ARGUMENT` (an unknown precision code, a value
/// shape with no component, 2^31 coefficients or more),
/// `BSFIT_STATUS_GPU_ERROR`, `BSFIT_STATUS_UNSUPPORTED`.
///
/// # Safety
/// `gpu`, `fitter` NULL or live; `vshape` NULL or `vndim` readable values;
/// `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_gpu_fitter_new(
    gpu: *const GpuDevice,
    fitter: *const Fitter,
    vshape: *const usize,
    vndim: usize,
    precision: u32,
    out: *mut *mut GpuFitter,
) -> Status {
    gated(|| {
        #[cfg(feature = "gpu")]
        {
            // SAFETY: live handles (contract).
            let g = unsafe { get(gpu, "gpu") }?;
            // SAFETY: as above.
            let f = unsafe { get(fitter, "fitter") }?;
            let out = Out::new(out, "out")?;
            let vs: &[usize] = if vndim == 0 {
                &[]
            } else {
                // SAFETY: `vndim` values (contract).
                unsafe { crate::ptr::slice(vshape, vndim, "vshape") }?
            };
            let inner = bsfit_core::tensor::gpu::DynGpuFitter::new(
                g.ctx.clone(),
                &f.plan,
                vs,
                self::precision(precision)?,
            )?;
            let p = Box::into_raw(Box::new(GpuFitter { inner }));
            // SAFETY: checked slot (contract).
            unsafe { out.write(p) };
            Ok(())
        }
        #[cfg(not(feature = "gpu"))]
        {
            let _ = (gpu, fitter, vshape, vndim, precision, out);
            unsupported()
        }
    })
}

/// Frees a device fit plan (NULL: nothing).
///
/// # Safety
/// `fitter` NULL or a live device plan, not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_gpu_fitter_free(fitter: *mut GpuFitter) {
    if fitter.is_null() {
        return;
    }
    let _ = gated(|| {
        // SAFETY: created by `Box::into_raw` here and not yet freed (contract).
        drop(unsafe { Box::from_raw(fitter) });
        Ok(())
    });
}

/// Fits row-major `values` (`n_values` = the host plan's `bsfit_fitter_len`
/// times the number of components) on the GPU, with the explicit end values
/// `left[0 .. n_left]`, `right[0 .. n_right]` where an axis takes them (as
/// `bsfit_fitter_refit_ends`; NULL with 0 otherwise), and hands the fitted
/// device spline (a copy of the coefficients, evaluated with the boundary
/// polynomial outside the domain; periodic axes wrap) to `*out`.
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_MISALIGNED_POINTER`,
/// `BSFIT_STATUS_INVALID_ARGUMENT` (`n_values` is not the plan's),
/// `BSFIT_STATUS_NON_FINITE_VALUE`, `BSFIT_STATUS_PERIODIC_MISMATCH`,
/// `BSFIT_STATUS_END_VALUES_SHAPE`, `BSFIT_STATUS_UNSUPPORTED`; a device
/// that fails mid-call gives the device-error status of `bsfit_gpu_open`.
///
/// Thread safety: use a device plan from one thread at a time.
///
/// # Safety
/// `fitter` NULL or live and not used concurrently; `values` NULL or
/// `n_values` readable values; `left`/`right` NULL or readable for
/// `n_left`/`n_right` values; `out` NULL or writable.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)] // values, two end arrays, each with its length, and the output
pub unsafe extern "C" fn bsfit_gpu_fitter_fit(
    fitter: *mut GpuFitter,
    values: *const f64,
    n_values: usize,
    left: *const f64,
    n_left: usize,
    right: *const f64,
    n_right: usize,
    out: *mut *mut GpuSpline,
) -> Status {
    gated(|| {
        #[cfg(feature = "gpu")]
        {
            // SAFETY: a live handle used by this thread only (contract).
            let f = unsafe { crate::ptr::get_mut(fitter, "fitter") }?;
            let out = Out::new(out, "out")?;
            use crate::ptr::slice;
            // SAFETY: `n_values` values (contract).
            let v = unsafe { slice(values, n_values, "values") }?;
            let end = |p: *const f64, n: usize, name| -> Result<&[f64], Error> {
                if n == 0 {
                    Ok(&[])
                } else {
                    // SAFETY: `n` values (contract).
                    unsafe { slice(p, n, name) }
                }
            };
            let l = end(left, n_left, "left")?;
            let r = end(right, n_right, "right")?;
            f.inner.fit(v, [l, r])?;
            let inner = f.inner.spline(bsfit_core::Extrapolate::Polynomial)?;
            let p = Box::into_raw(Box::new(GpuSpline { inner }));
            // SAFETY: checked slot (contract).
            unsafe { out.write(p) };
            Ok(())
        }
        #[cfg(not(feature = "gpu"))]
        {
            let _ = (fitter, values, n_values, left, n_left, right, n_right, out);
            unsupported()
        }
    })
}

/// A zeroed array of `len` elements of `precision` on the device of `gpu`,
/// into `*out`.
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_MISALIGNED_POINTER`,
/// `BSFIT_STATUS_INVALID_ARGUMENT` (an unknown precision code),
/// `BSFIT_STATUS_GPU_ERROR` (`BSFIT_PRECISION_F64` on an adapter without
/// it, an array over a device limit), `BSFIT_STATUS_UNSUPPORTED`.
///
/// # Safety
/// `gpu` NULL or live; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_gpu_array_new(
    gpu: *const GpuDevice,
    len: usize,
    precision: u32,
    out: *mut *mut GpuArray,
) -> Status {
    gated(|| {
        #[cfg(feature = "gpu")]
        {
            // SAFETY: a live handle (contract).
            let g = unsafe { get(gpu, "gpu") }?;
            let out = Out::new(out, "out")?;
            let inner = imp::DevArray::zeroed(g.ctx.clone(), self::precision(precision)?, len)?;
            let p = Box::into_raw(Box::new(GpuArray { inner }));
            // SAFETY: checked slot (contract).
            unsafe { out.write(p) };
            Ok(())
        }
        #[cfg(not(feature = "gpu"))]
        {
            let _ = (gpu, len, precision, out);
            unsupported()
        }
    })
}

/// Frees a device array (NULL: nothing).
///
/// # Safety
/// `array` NULL or a live device array, not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_gpu_array_free(array: *mut GpuArray) {
    if array.is_null() {
        return;
    }
    let _ = gated(|| {
        // SAFETY: created by `Box::into_raw` here and not yet freed (contract).
        drop(unsafe { Box::from_raw(array) });
        Ok(())
    });
}

/// Number of elements of a device array into `*out`.
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_MISALIGNED_POINTER`,
/// `BSFIT_STATUS_UNSUPPORTED`.
///
/// # Safety
/// `array` NULL or live; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_gpu_array_len(array: *const GpuArray, out: *mut usize) -> Status {
    guard(|| {
        #[cfg(feature = "gpu")]
        {
            // SAFETY: a live handle (contract).
            let a = unsafe { get(array, "array") }?;
            let out = Out::new(out, "out")?;
            // SAFETY: checked slot (contract).
            unsafe { out.write(a.inner.len()) };
            Ok(())
        }
        #[cfg(not(feature = "gpu"))]
        {
            let _ = (array, out);
            unsupported()
        }
    })
}

/// Overwrites the whole device array with `data[0 .. len]` (`len` = the
/// array's length; rounded to float in a `BSFIT_PRECISION_F32` array),
/// queued behind the work already submitted. `data` may be NULL when `len`
/// is 0.
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_MISALIGNED_POINTER`,
/// `BSFIT_STATUS_INVALID_ARGUMENT` (`len` is not the array's length),
/// `BSFIT_STATUS_UNSUPPORTED`.
///
/// # Safety
/// `array` NULL or live; `data` NULL or `len` readable values.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_gpu_array_upload(
    array: *mut GpuArray,
    data: *const f64,
    len: usize,
) -> Status {
    gated(|| {
        #[cfg(feature = "gpu")]
        {
            // SAFETY: a live handle (contract).
            let a = unsafe { get(array.cast_const(), "array") }?;
            let v: &[f64] = if len == 0 && data.is_null() {
                &[]
            } else {
                // SAFETY: `len` values (contract).
                unsafe { crate::ptr::slice(data, len, "data") }?
            };
            a.inner.write(v)?;
            Ok(())
        }
        #[cfg(not(feature = "gpu"))]
        {
            let _ = (array, data, len);
            unsupported()
        }
    })
}

/// Copies the device array to `out[0 .. n]` (`n` = its length, at most
/// `out_len`; widened from float in a `BSFIT_PRECISION_F32` array) after
/// all submitted work: the one place its contents reach host memory. `out`
/// may be NULL when the array is empty.
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_MISALIGNED_POINTER`,
/// `BSFIT_STATUS_BUFFER_TOO_SMALL`, `BSFIT_STATUS_UNSUPPORTED`; a device
/// that fails mid-call gives the device-error status of `bsfit_gpu_open`.
///
/// # Safety
/// `array` NULL or live; `out` NULL or writable for `out_len` values.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_gpu_array_read(
    array: *const GpuArray,
    out: *mut f64,
    out_len: usize,
) -> Status {
    gated(|| {
        #[cfg(feature = "gpu")]
        {
            // SAFETY: a live handle (contract).
            let a = unsafe { get(array, "array") }?;
            let n = a.inner.len();
            if n == 0 && out.is_null() {
                return Ok(());
            }
            check_ptr(out.cast_const(), "out")?;
            crate::ptr::check_capacity(out_len, n, "out")?;
            // SAFETY: `out_len >= n` writable values (contract).
            let dst = unsafe { crate::ptr::slice_mut(out, n, "out") }?;
            a.inner.read_into(dst)?;
            Ok(())
        }
        #[cfg(not(feature = "gpu"))]
        {
            let _ = (array, out, out_len);
            unsupported()
        }
    })
}

/// `bsfit_gpu_spline_evaluate` at the points of the device array `points`
/// (`ndim` coordinates per point, row-major, the spline's precision), its
/// results written to the device array `out` (the spline's precision, at
/// least `n * n_outputs * components` elements for `n` points, layout
/// `(point, output, component)`; elements past them are left as they were)
/// and kept on the device: nothing is read back or allocated once the
/// kernel for these outputs is compiled. The request (`orders`,
/// `n_outputs`, `policy`) is `bsfit_gpu_spline_evaluate`'s;
/// `BSFIT_POLICY_ERROR` reads the points back to check them first.
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_MISALIGNED_POINTER`,
/// `BSFIT_STATUS_DIMENSION_MISMATCH`, `BSFIT_STATUS_INVALID_ARGUMENT` (as
/// `bsfit_spline_evaluate`, more than 64 outputs, an array of another
/// precision or device, points that are not a whole number of `ndim`
/// coordinates, `out` the same array as `points`),
/// `BSFIT_STATUS_BUFFER_TOO_SMALL`, `BSFIT_STATUS_OUTSIDE_DOMAIN`,
/// `BSFIT_STATUS_UNSUPPORTED`; a device that fails mid-call gives the
/// device-error status of `bsfit_gpu_open`.
///
/// # Safety
/// `spline`, `points`, `out` NULL or live; `orders`, `policy` as
/// `bsfit_spline_evaluate`'s.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_gpu_spline_evaluate_device(
    spline: *const GpuSpline,
    points: *const GpuArray,
    ndim: usize,
    orders: *const usize,
    n_outputs: usize,
    policy: *const u32,
    out: *mut GpuArray,
) -> Status {
    gated(|| {
        #[cfg(feature = "gpu")]
        {
            use bsfit_core::tensor::Query;
            // SAFETY: live handles (contract).
            let s = unsafe { get(spline, "spline") }?;
            // SAFETY: as above.
            let p = unsafe { get(points, "points") }?;
            // SAFETY: as above; only read through a shared reference (the
            // device writes it), so `out == points` is caught, not UB.
            let o = unsafe { get(out.cast_const(), "out") }?;
            // SAFETY: `orders`, `policy` as documented (contract).
            let (partials, policy) = unsafe { request(&s.inner, ndim, orders, n_outputs, policy) }?;
            let q = Query::at_slice(&[], ndim)?.outputs(&partials);
            let q = match policy {
                Some(pol) => q.policy_axes(&pol[..ndim]),
                None => q,
            };
            if !p.inner.len().is_multiple_of(ndim) {
                return crate::status::arg_err(format!(
                    "the points array has {} elements: not a whole number of {ndim}-dimensional points",
                    p.inner.len()
                ));
            }
            let need = s.inner.result_len(&q, p.inner.len() / ndim)?;
            crate::ptr::check_capacity(o.inner.len(), need, "out")?;
            s.inner.evaluate_device_into(&p.inner, &q, &o.inner)?;
            Ok(())
        }
        #[cfg(not(feature = "gpu"))]
        {
            let _ = (spline, points, ndim, orders, n_outputs, policy, out);
            unsupported()
        }
    })
}

/// `bsfit_gpu_fitter_fit` from values already on the device: the device
/// array `values` (row-major, the plan's precision, exactly the plan's
/// `bsfit_fitter_len` times the number of components, e.g. the results of
/// `bsfit_gpu_spline_evaluate_device` at the grid's sites) is solved without
/// a trip through host memory, and the fitted device spline (a copy of the
/// coefficients) is handed to `*out`. The values are checked for
/// finiteness on the device first (this waits for that check); equal
/// periodic ends are not checked. A plan with an axis that takes explicit
/// end values refuses (fit from the host with `bsfit_gpu_fitter_fit`).
///
/// Errors: `BSFIT_STATUS_NULL_POINTER`, `BSFIT_STATUS_MISALIGNED_POINTER`,
/// `BSFIT_STATUS_INVALID_ARGUMENT` (an array of another length, precision
/// or device), `BSFIT_STATUS_NON_FINITE_VALUE` (the message names the
/// index), `BSFIT_STATUS_END_VALUES_SHAPE`, `BSFIT_STATUS_UNSUPPORTED`;
/// a device that fails mid-call gives the device-error status of
/// `bsfit_gpu_open`.
///
/// Thread safety: use a device plan from one thread at a time.
///
/// # Safety
/// `fitter` NULL or live and not used concurrently; `values` NULL or live;
/// `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsfit_gpu_fitter_fit_device(
    fitter: *mut GpuFitter,
    values: *const GpuArray,
    out: *mut *mut GpuSpline,
) -> Status {
    gated(|| {
        #[cfg(feature = "gpu")]
        {
            // SAFETY: a live handle used by this thread only (contract).
            let f = unsafe { crate::ptr::get_mut(fitter, "fitter") }?;
            // SAFETY: a live handle (contract).
            let v = unsafe { get(values, "values") }?;
            let out = Out::new(out, "out")?;
            f.inner.fit_device(&v.inner)?;
            let inner = f.inner.spline(bsfit_core::Extrapolate::Polynomial)?;
            let p = Box::into_raw(Box::new(GpuSpline { inner }));
            // SAFETY: checked slot (contract).
            unsafe { out.write(p) };
            Ok(())
        }
        #[cfg(not(feature = "gpu"))]
        {
            let _ = (fitter, values, out);
            unsupported()
        }
    })
}
