//! [`GpuSpline`]: a fitted tensor spline resident on the device, and its
//! batch evaluation.

use std::sync::Arc;

use super::array::{Ctx, DeviceArray, GpuReal, check_precision};
use super::wgsl::{self, EVAL_WG, EvalSpec};
use crate::FitError;
use crate::gpu::context::Counters;
use crate::gpu::{GpuContext, GpuTuning};
use crate::tensor::{Extrapolate, MAX_DIM, Points, Query, TensorSpline};

/// Most outputs per point of one evaluation ([`Derivs`]).
pub const MAX_OUTPUTS: usize = 64;

/// Largest expanded table, in bytes, that [`RowLayout::Auto`] builds: 32 MiB
/// (up to 2²¹ coefficients in `f32`, 2²⁰ in `f64`), within the L2 cache of
/// a large current GPU (50 MB on an H200), where the one-load rows pay.
pub const EXPANDED_AUTO_MAX_BYTES: usize = 32 << 20;

/// How a [`GpuSpline`]'s evaluation reads the rows of four consecutive
/// coefficients along the last axis (`4^(D−1)` rows per point).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RowLayout {
    /// [`Expanded`](Self::Expanded) for a spline that owns its coefficients
    /// ([`GpuSpline::new`]) when the expanded table takes at most
    /// [`EXPANDED_AUTO_MAX_BYTES`] and fits one storage binding;
    /// [`Packed`](Self::Packed) otherwise (larger tables, and splines
    /// evaluating a fitter's coefficients in place,
    /// [`GpuFitter::spline`](super::GpuFitter::spline), which would rebuild
    /// the expanded table at every evaluation).
    #[default]
    Auto,
    /// The coefficient table alone: in `f32` a row is read as the two aligned
    /// `vec4`s that hold it, dotted with weights shifted by its alignment;
    /// in `f64` as four scalars.
    Packed,
    /// A second table holding, for every flat offset `j`, the row
    /// `(c[j], c[j+1], c[j+2], c[j+3])` as one aligned vector: one load per
    /// row, four times the coefficients' memory. Built on the device from the
    /// coefficients; on a spline that evaluates a fitter's coefficients in
    /// place it is rebuilt before every evaluation (one more dispatch), so a
    /// later fit is still seen. On an H200 (4D 50×30×20×10 table, 10⁷
    /// random points, `docs/gpu.md`) the value took 4.5 ms against 5.5 ms
    /// packed in `f32` and 6.0 ms against 7.7 ms in `f64`.
    Expanded,
}

/// Which partial derivatives an evaluation computes at every point: a list
/// of order tuples (one order per axis), each giving one output per point.
/// Outputs are stored point-major: point `p`'s output `m` at `p·len + m`.
///
/// Orders up to 3 per axis are exact (the third is piecewise constant); any
/// order above 3 gives 0, as on the CPU
/// ([`TensorSpline::eval_deriv`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Derivs<const D: usize> {
    orders: Vec<[usize; D]>,
}

impl<const D: usize> Derivs<D> {
    /// The value (all orders 0).
    pub fn value() -> Self {
        Self {
            orders: vec![[0; D]],
        }
    }

    /// One mixed partial derivative.
    pub fn partial(orders: [usize; D]) -> Self {
        Self {
            orders: vec![orders],
        }
    }

    /// The gradient: `D` outputs, `∂/∂x_0 … ∂/∂x_{D-1}`.
    pub fn gradient() -> Self {
        Self {
            orders: (0..D)
                .map(|k| std::array::from_fn(|j| usize::from(j == k)))
                .collect(),
        }
    }

    /// The value followed by the gradient (`D + 1` outputs).
    pub fn value_and_gradient() -> Self {
        let mut d = Self::value();
        d.orders.extend(Self::gradient().orders);
        d
    }

    /// Any list of order tuples.
    ///
    /// # Errors
    /// [`FitError::InvalidParameter`] for an empty list or one longer than
    /// [`MAX_OUTPUTS`].
    pub fn list(orders: &[[usize; D]]) -> Result<Self, FitError> {
        if orders.is_empty() || orders.len() > MAX_OUTPUTS {
            return Err(FitError::InvalidParameter {
                name: "orders",
                reason: format!(
                    "{} order tuples; 1 to {MAX_OUTPUTS} are supported",
                    orders.len()
                ),
            });
        }
        Ok(Self {
            orders: orders.to_vec(),
        })
    }

    /// Outputs per point.
    pub fn len(&self) -> usize {
        self.orders.len()
    }

    /// Never true (a list has at least one tuple).
    pub fn is_empty(&self) -> bool {
        self.orders.is_empty()
    }

    /// The order tuples.
    pub fn orders(&self) -> &[[usize; D]] {
        &self.orders
    }
}

/// A cubic tensor spline on the device: its knots and coefficients uploaded
/// once, in precision `T` (`f64` needs [`GpuContext::supports_f64`]), with
/// the spline's [`Extrapolate`] policy.
///
/// Evaluates values, any mixed partial derivatives ([`Derivs`]) and
/// gradients at batches of points, from host slices (results to the host,
/// [`eval`](Self::eval), [`eval_derivs`](Self::eval_derivs), …) or from a
/// [`DeviceArray`] of points into one of results, left on the device
/// ([`eval_device`](Self::eval_device): records and submits, allocates and
/// uploads nothing).
///
/// Each point costs one thread: a span per axis (O(1) on uniformly spaced
/// axes, a branch-free binary search over the knots, held in workgroup
/// memory, elsewhere), the basis rows of the requested orders, and the
/// `4^D` contraction with rows of four contiguous coefficients; outputs with
/// a common prefix of orders share their partial weight products.
///
/// ```no_run
/// use bsfit::gpu::GpuContext;
/// use bsfit::tensor::gpu::GpuSpline;
/// use bsfit::TensorSpline;
/// use ndarray::Array2;
///
/// let x = [0.0, 1.0, 2.0, 3.0, 4.0];
/// let v = Array2::from_shape_fn((5, 5), |(i, j)| x[i] * x[j]);
/// let spline = TensorSpline::fit([&x[..], &x[..]], v.view())?;
/// let ctx = GpuContext::new()?;
/// let dev = GpuSpline::<2, f32>::new(&ctx, &spline)?;
/// let values = dev.eval(&[[1.5f32, 2.5], [0.25, 3.0]])?;
/// assert!((values[0] - 3.75).abs() < 1e-5);
/// # Ok::<(), bsfit::FitError>(())
/// ```
pub struct GpuSpline<'c, const D: usize, T: GpuReal> {
    ctx: Ctx<'c>,
    shape: [usize; D],
    strides: [usize; D],
    knot_off: [usize; D],
    uniform: [Option<usize>; D],
    nan_at: usize,
    nk: usize,
    domain: [(f64, f64); D],
    policy: Extrapolate,
    /// Axes that wrap whatever the policy (fitted periodic).
    periodic: [bool; D],
    /// The value shape and its number of components.
    vshape: Vec<usize>,
    nc: usize,
    knots_bg: wgpu::BindGroup,
    coefs_bg: wgpu::BindGroup,
    /// The coefficient array's buffer (an output must not be it).
    coefs_buffer: wgpu::Buffer,
    _knots: wgpu::Buffer,
    unroll: bool,
    lanes: usize,
    /// The coefficients are a fitter's array, changed by later fits.
    shared: bool,
    rows: Option<ExpandedRows<T>>,
    _t: std::marker::PhantomData<T>,
}

/// The expanded table of [`RowLayout::Expanded`] and the kernel that builds
/// it from the coefficients.
struct ExpandedRows<T: GpuReal> {
    table: DeviceArray<T>,
    expand: Arc<wgpu::ComputePipeline>,
}

impl<const D: usize, T: GpuReal> std::fmt::Debug for GpuSpline<'_, D, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuSpline")
            .field("shape", &self.shape)
            .field("precision", &T::WGSL)
            .field("extrapolate", &self.policy)
            .field("rows", &self.row_layout())
            .finish_non_exhaustive()
    }
}

/// The knot table of a spline in `T`: per axis its knots, then `(x0, 1/h)`
/// per uniform axis, then one NaN. Returns the table, the knot offsets, the
/// uniform-parameter offsets and the NaN's offset.
pub(crate) fn knot_table<const D: usize, T: GpuReal>(
    knots: &[Vec<f64>; D],
    uniform: &[Option<(f64, f64)>; D],
) -> (Vec<T>, [usize; D], [Option<usize>; D], usize) {
    let mut table: Vec<T> = Vec::new();
    let mut off = [0usize; D];
    for k in 0..D {
        off[k] = table.len();
        table.extend(knots[k].iter().map(|&v| T::from_f64(v)));
    }
    let mut uoff = [None; D];
    for k in 0..D {
        if let Some((x0, ih)) = uniform[k] {
            uoff[k] = Some(table.len());
            table.push(T::from_f64(x0));
            table.push(T::from_f64(ih));
        }
    }
    let nan_at = table.len();
    table.push(T::from_f64(f64::NAN));
    (table, off, uoff, nan_at)
}

/// Coefficients per load in the evaluation kernel of [`RowLayout::Packed`]:
/// `vec4` rows in f32,
/// scalar loads in f64. On an H200 (4D 50×30×20×10 table, 10⁷ random points)
/// `vec4<f32>` loads took the f32 value from 6.28–6.32 ms to 5.46–5.49 ms,
/// while `vec2<f64>` and `vec4<f64>` loads made the f64 kernels slower
/// (9.1 ms against 7.7 ms; two or three vectors per row read 48–64 bytes
/// for 32 used). [`GpuTuning::eval_lanes`] (1, 2 or 4) overrides the choice,
/// for comparing the layouts on one device (and selects
/// [`RowLayout::Packed`] under [`RowLayout::Auto`]).
fn eval_lanes<T: GpuReal>(tuning: &GpuTuning) -> usize {
    let native = if size_of::<T>() == 4 { 4 } else { 1 };
    match tuning.eval_lanes {
        Some(l @ (1 | 2 | 4)) => l,
        _ => native,
    }
}

/// What [`RowLayout::Auto`] resolves to, before the size checks:
/// [`GpuTuning::eval_expanded`] if set, packed rows if
/// [`GpuTuning::eval_lanes`] is set (for comparing the layouts on one
/// device); otherwise expanded for a spline owning its coefficients.
fn auto_expanded(tuning: &GpuTuning, shared: bool) -> bool {
    match (tuning.eval_expanded, tuning.eval_lanes) {
        (Some(e), _) => e,
        (None, Some(1 | 2 | 4)) => false,
        _ => !shared,
    }
}

impl<'c, const D: usize, T: GpuReal> GpuSpline<'c, D, T> {
    /// Uploads `spline` (knots and coefficients, rounded to `T`), with its
    /// periodic axes (which wrap), its value shape and its policy.
    ///
    /// # Errors
    /// [`FitError::Gpu`] if `T` is `f64` and the adapter lacks `SHADER_F64`,
    /// or a table exceeds a device limit; [`FitError::InvalidParameter`] if
    /// the grid has 2³² coefficients or more.
    pub fn new(ctx: &'c GpuContext, spline: &TensorSpline<D>) -> Result<Self, FitError> {
        Self::new_in(Ctx::Borrowed(ctx), spline)
    }

    fn new_in(ctx: Ctx<'c>, spline: &TensorSpline<D>) -> Result<Self, FitError> {
        if let Some(axis) = spline
            .degrees
            .iter()
            .position(|&k| k != crate::Degree::Cubic)
        {
            return Err(FitError::Unsupported {
                feature: format!(
                    "device evaluation of degree {} (axis {axis}); the device evaluates cubic splines",
                    spline.degrees[axis]
                ),
            });
        }
        check_precision::<T>(&ctx)?;
        let coefs: Vec<T> = spline.coefs.iter().map(|&v| T::from_f64(v)).collect();
        let c = DeviceArray::from_slice(&ctx, &coefs)?;
        let mut dev = Self::with_coefficients(
            ctx,
            &spline.knots,
            spline.uniform,
            spline.periodic,
            &spline.vshape,
            spline.extrapolate,
            &c,
        )?;
        dev.shared = false;
        dev.with_row_layout(RowLayout::Auto).map(Self::warmed)
    }

    /// Compiles the value kernel now (it is cached by the context), so that
    /// the first evaluation costs what the next ones do: the expanded rows
    /// are already built when the layout is chosen, and this is the rest of
    /// what a first call would otherwise pay.
    fn warmed(self) -> Self {
        let _ = self.pipeline(&Derivs::value());
        self
    }

    /// [`new`](Self::new) on a shared context: the spline keeps the
    /// context alive (the form the dynamic-dimension, C and Python fronts
    /// hold).
    ///
    /// # Errors
    /// As [`new`](Self::new).
    pub fn new_shared(
        ctx: Arc<GpuContext>,
        spline: &TensorSpline<D>,
    ) -> Result<GpuSpline<'static, D, T>, FitError> {
        GpuSpline::new_in(Ctx::Shared(ctx), spline)
    }

    /// Marks the coefficients as this spline's own (no fit writes them)
    /// and lays the rows out by [`RowLayout::Auto`].
    pub(crate) fn into_owned(mut self) -> Result<Self, FitError> {
        self.shared = false;
        self.with_row_layout(RowLayout::Auto).map(Self::warmed)
    }

    /// The same spline evaluated with rows laid out as `layout` (builds or
    /// drops the expanded table; [`RowLayout::Auto`] chooses by precision,
    /// size and ownership as documented there).
    ///
    /// # Errors
    /// [`FitError::Gpu`] if [`RowLayout::Expanded`] is asked for and the
    /// expanded table (16 or 32 bytes per coefficient) exceeds the device's
    /// storage-binding limit or its allocation fails.
    pub fn with_row_layout(mut self, layout: RowLayout) -> Result<Self, FitError> {
        let total = self.total();
        if self.nc > 1 {
            // Vector values: scalar loads of each component.
            if layout == RowLayout::Expanded {
                return Err(FitError::InvalidParameter {
                    name: "layout",
                    reason: format!(
                        "expanded rows are for scalar values; this spline has value shape {:?}",
                        self.vshape
                    ),
                });
            }
            self.rows = None;
            return Ok(self);
        }
        let bytes = total.checked_mul(4 * size_of::<T>());
        let fits = bytes.is_some_and(|b| b as u64 + 64 <= self.ctx.max_binding());
        let expanded = match layout {
            RowLayout::Packed => false,
            RowLayout::Expanded => {
                if !fits {
                    return Err(FitError::Gpu(format!(
                        "expanded coefficient rows of {total} coefficients exceed the storage-binding \
                         limit of {} bytes",
                        self.ctx.max_binding()
                    )));
                }
                true
            }
            RowLayout::Auto => {
                auto_expanded(&self.ctx.tuning(), self.shared)
                    && fits
                    && bytes.is_some_and(|b| b <= EXPANDED_AUTO_MAX_BYTES)
            }
        };
        if !expanded {
            self.rows = None;
            return Ok(self);
        }
        if self.rows.is_none() {
            let table = DeviceArray::<T>::zeroed(&self.ctx, 4 * total)?;
            let l = &self.ctx.layouts;
            // SAFETY: recorded only by `record_expand` with the count `total`
            // of this spline, from its coefficient array (checked to hold
            // `total` elements plus the padding of at least 3 that every
            // `DeviceArray` has) into the table allocated here with 4·total:
            // the reads `j..=j + 3` and the write `j` of thread `j < total`
            // are in range (`wgsl` module note).
            let expand = unsafe {
                self.ctx
                    .pipeline_unchecked(&wgsl::expand(T::WGSL), &[&l.ro, &l.rw], 8)
            };
            self.rows = Some(ExpandedRows { table, expand });
            if !self.shared {
                // Built once: the coefficients never change.
                let mut enc = self.ctx.encoder();
                self.record_expand(&mut enc);
                self.ctx.submit(enc);
            }
        }
        Ok(self)
    }

    /// The layout the evaluation uses: [`RowLayout::Packed`] or
    /// [`RowLayout::Expanded`] (never `Auto`).
    pub fn row_layout(&self) -> RowLayout {
        if self.rows.is_some() {
            RowLayout::Expanded
        } else {
            RowLayout::Packed
        }
    }

    /// Coefficients in the table (grid × components).
    fn total(&self) -> usize {
        self.shape.iter().product::<usize>() * self.nc
    }

    /// Records the build of the expanded table from the coefficients (a
    /// no-op without one).
    fn record_expand(&self, enc: &mut wgpu::CommandEncoder) {
        let Some(rows) = &self.rows else {
            return;
        };
        let total = self.total();
        let nwg = total.div_ceil(EVAL_WG as usize);
        let gx = nwg.clamp(1, 32_768);
        let gy = nwg.div_ceil(gx);
        let imm = [total as u32, gx as u32];
        let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
        pass.set_pipeline(&rows.expand);
        pass.set_bind_group(0, &self.coefs_bg, &[]);
        pass.set_bind_group(1, &rows.table.rw, &[]);
        pass.set_immediates(0, bytemuck::cast_slice(&imm));
        pass.dispatch_workgroups(gx as u32, gy as u32, 1);
        Counters::bump(&self.ctx.counters.dispatches, 1);
    }

    /// A device spline on `knots` whose coefficients are the device array
    /// `coefs` (shared, not copied: a later fit into it changes this spline).
    pub(crate) fn with_coefficients(
        ctx: Ctx<'c>,
        knots: &[Vec<f64>; D],
        uniform: [Option<(f64, f64)>; D],
        periodic: [bool; D],
        vshape: &[usize],
        policy: Extrapolate,
        coefs: &DeviceArray<T>,
    ) -> Result<Self, FitError> {
        check_precision::<T>(&ctx)?;
        device_policy(policy)?;
        let nc: usize = vshape.iter().product();
        if D == 0 || D > MAX_DIM {
            return Err(FitError::InvalidParameter {
                name: "D",
                reason: format!("{D} dimensions; 1 to {MAX_DIM} are supported"),
            });
        }
        let shape: [usize; D] = std::array::from_fn(|k| knots[k].len() - 4);
        let total = shape.iter().try_fold(nc, |a, &n| a.checked_mul(n));
        if nc == 0 || total.is_none_or(|t| t > u32::MAX as usize || t != coefs.len) {
            return Err(FitError::InvalidParameter {
                name: "coefs",
                reason: format!(
                    "{} device coefficients for a grid of shape {shape:?} and value shape \
                     {vshape:?} (at most 2^32 - 1)",
                    coefs.len
                ),
            });
        }
        let mut strides = [nc; D];
        for k in (0..D - 1).rev() {
            strides[k] = strides[k + 1] * shape[k + 1];
        }
        let (table, knot_off, uoff, nan_at) = knot_table::<D, T>(knots, &uniform);
        let c: &GpuContext = &ctx;
        let kbuf = c.storage_bytes((table.len() * size_of::<T>()) as u64, "knots")?;
        c.upload_pod(&kbuf, 0, &table);
        let knots_bg = c.bind_one(&c.layouts.ro, &kbuf);
        let coefs_bg = c.bind_one(&c.layouts.ro, &coefs.buffer);
        let unroll = c.tuning().eval_unroll.unwrap_or(D <= 4);
        let lanes = if nc > 1 {
            1
        } else {
            eval_lanes::<T>(&c.tuning())
        };
        let domain = std::array::from_fn(|k| (knots[k][3], knots[k][knots[k].len() - 4]));
        Ok(Self {
            ctx,
            shape,
            strides,
            knot_off,
            uniform: uoff,
            nan_at,
            nk: table.len(),
            domain,
            policy,
            periodic,
            vshape: vshape.to_vec(),
            nc,
            knots_bg,
            coefs_bg,
            coefs_buffer: coefs.buffer.clone(),
            _knots: kbuf,
            unroll,
            lanes,
            shared: true,
            rows: None,
            _t: std::marker::PhantomData,
        })
    }

    /// The same device tables evaluated with another extrapolation policy
    /// on the axes that are not periodic.
    ///
    /// Errors: [`FitError::InvalidParameter`] for [`Extrapolate::Error`],
    /// which the device evaluator applies only to queries
    /// ([`evaluate`](Self::evaluate)) that ask for it.
    pub fn with_extrapolate(mut self, policy: Extrapolate) -> Result<Self, FitError> {
        device_policy(policy)?;
        self.policy = policy;
        Ok(self)
    }

    /// The extrapolation policy.
    pub fn extrapolate(&self) -> Extrapolate {
        self.policy
    }

    /// The value shape (empty for scalar values).
    pub fn value_shape(&self) -> &[usize] {
        &self.vshape
    }

    /// Which axes wrap (fitted periodic).
    pub fn periodic_axes(&self) -> [bool; D] {
        self.periodic
    }

    /// Grid shape (coefficients per axis).
    pub fn shape(&self) -> [usize; D] {
        self.shape
    }

    /// `[x_0, x_{n-1}]` per axis.
    pub fn domain(&self) -> [(f64, f64); D] {
        self.domain
    }

    /// The context the tables live on.
    pub fn context(&self) -> &GpuContext {
        &self.ctx
    }

    /// The spline's own per-axis policy codes (periodic axes wrap).
    fn own_policy(&self) -> [u32; D] {
        // Checked when the policy was set.
        let code = device_policy(self.policy).unwrap_or(0);
        std::array::from_fn(|k| if self.periodic[k] { 3 } else { code })
    }

    fn pipeline(&self, derivs: &Derivs<D>) -> Arc<wgpu::ComputePipeline> {
        self.pipeline_with(derivs, &self.own_policy())
    }

    fn pipeline_with(&self, derivs: &Derivs<D>, policy: &[u32; D]) -> Arc<wgpu::ComputePipeline> {
        let outputs: Vec<Vec<usize>> = derivs.orders.iter().map(|o| o.to_vec()).collect();
        let ws = self.ctx.limits().max_compute_workgroup_storage_size as usize;
        let spec = EvalSpec {
            ty: T::WGSL,
            n: &self.shape,
            strides: &self.strides,
            knot_off: &self.knot_off,
            uniform: &self.uniform,
            nan_at: self.nan_at,
            nk: self.nk,
            knots_in_workgroup: self.nk * size_of::<T>() <= ws.min(8192),
            policy,
            nc: self.nc,
            outputs: &outputs,
            unroll: self.unroll,
            lanes: self.lanes,
            expanded: self.rows.is_some(),
        };
        let l = &self.ctx.layouts;
        // SAFETY: recorded only by `record` with a point count that
        // `check_sizes` bounded by the points bound (at least count·D
        // coordinates) and the outputs bound (at least count·M), both checked
        // to be of this context, and with this spline's own knot table and
        // coefficient (or expanded) array; spans, knot and coefficient
        // indices stay in range whatever the points hold (`wgsl` module note,
        // "Evaluation").
        unsafe {
            self.ctx
                .pipeline_unchecked(&wgsl::eval(&spec), &[&l.ro, &l.ro, &l.ro, &l.rw], 8)
        }
    }

    /// Records the evaluation of `derivs` at the first `count` points of
    /// `points` into `out` on `enc`.
    fn record(
        &self,
        enc: &mut wgpu::CommandEncoder,
        pipeline: &wgpu::ComputePipeline,
        points: &wgpu::BindGroup,
        out: &wgpu::BindGroup,
        count: usize,
    ) {
        if count == 0 {
            return;
        }
        if self.shared {
            // The coefficients may have changed since the last evaluation.
            self.record_expand(enc);
        }
        let coefs = self.rows.as_ref().map_or(&self.coefs_bg, |r| &r.table.ro);
        let nwg = count.div_ceil(EVAL_WG as usize);
        let gx = nwg.min(32_768);
        let gy = nwg.div_ceil(gx);
        let imm = [count as u32, gx as u32];
        let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
        pass.set_pipeline(pipeline);
        pass.set_bind_group(0, &self.knots_bg, &[]);
        pass.set_bind_group(1, coefs, &[]);
        pass.set_bind_group(2, points, &[]);
        pass.set_bind_group(3, out, &[]);
        pass.set_immediates(0, bytemuck::cast_slice(&imm));
        pass.dispatch_workgroups(gx as u32, gy as u32, 1);
        Counters::bump(&self.ctx.counters.dispatches, 1);
    }

    /// Evaluates `derivs` at the points of `points` (`D` coordinates per
    /// point, so `points.len() / D` points) into `out` (`derivs.len()` per
    /// point), on the device: records one dispatch and submits it without
    /// waiting. Allocates and uploads nothing once the kernel for `derivs`
    /// is compiled (the first call compiles it).
    ///
    /// # Errors
    /// [`FitError::InvalidParameter`] if `points.len()` is not a multiple of
    /// `D`, `out` is too short, the count overflows `u32`, an array belongs
    /// to another context, or `out` is `points` or the array this spline
    /// evaluates (nothing is recorded then).
    pub fn eval_device(
        &self,
        points: &DeviceArray<T>,
        derivs: &Derivs<D>,
        out: &DeviceArray<T>,
    ) -> Result<(), FitError> {
        let mut enc = self.ctx.encoder();
        self.record_device(&mut enc, points, derivs, out)?;
        self.ctx.submit(enc);
        Ok(())
    }

    /// [`eval_device`](Self::eval_device) recorded on `enc` (submitted by the
    /// caller, e.g. with other work in one submission).
    ///
    /// # Errors
    /// As [`eval_device`](Self::eval_device).
    pub fn record_device(
        &self,
        enc: &mut wgpu::CommandEncoder,
        points: &DeviceArray<T>,
        derivs: &Derivs<D>,
        out: &DeviceArray<T>,
    ) -> Result<(), FitError> {
        self.check_arrays(points, out)?;
        let count = self.check_sizes(points.len, derivs, out.len)?;
        let pipeline = self.pipeline(derivs);
        self.record(enc, &pipeline, &points.ro, &out.rw, count);
        Ok(())
    }

    fn check_sizes(
        &self,
        coords: usize,
        derivs: &Derivs<D>,
        out: usize,
    ) -> Result<usize, FitError> {
        if !coords.is_multiple_of(D) {
            return Err(FitError::InvalidParameter {
                name: "points",
                reason: format!("{coords} coordinates is not a multiple of D = {D}"),
            });
        }
        let count = coords / D;
        let most = u32::MAX as usize / MAX_OUTPUTS / self.nc;
        if count > most {
            return Err(FitError::InvalidParameter {
                name: "points",
                reason: format!("{count} points; at most {most} per call"),
            });
        }
        if derivs.orders.is_empty() || derivs.orders.len() > MAX_OUTPUTS {
            return Err(FitError::InvalidParameter {
                name: "derivs",
                reason: format!("{} outputs; 1 to {MAX_OUTPUTS}", derivs.orders.len()),
            });
        }
        if out < count * derivs.len() * self.nc {
            return Err(FitError::InvalidParameter {
                name: "out",
                reason: format!(
                    "{out} elements for {count} points × {} outputs × {} components",
                    derivs.len(),
                    self.nc
                ),
            });
        }
        Ok(count)
    }

    /// Evaluates `derivs` at host `points` and returns the results
    /// (`derivs.len()` per point, point-major). Uploads the points, runs,
    /// waits and downloads, in chunks that fit the device's binding limit.
    /// Allocates device buffers per call: for repeated batches keep
    /// [`DeviceArray`]s and use [`eval_device`](Self::eval_device).
    ///
    /// # Errors
    /// [`FitError::Gpu`] if the device fails; [`FitError::InvalidParameter`]
    /// as [`eval_device`](Self::eval_device).
    pub fn eval_derivs(&self, points: &[[T; D]], derivs: &Derivs<D>) -> Result<Vec<T>, FitError> {
        let coords = points.as_flattened();
        let count = self.check_sizes(coords.len(), derivs, usize::MAX)?;
        let mut out = vec![T::from_f64(0.0); count * derivs.len() * self.nc];
        self.eval_flat(coords, derivs, &self.own_policy(), &mut out, |v| v, |v| v)?;
        Ok(out)
    }

    /// Evaluates `derivs` at the `coords.len() / D` points of `coords`
    /// (row-major, converted to `T` by `up`) under the per-axis policy
    /// codes `policy`, the results converted by `down` into `out`
    /// (`derivs.len() · nc` per point). Pipelined over chunks of at most
    /// [`EVAL_CHUNK_POINTS`] points in two sets of buffers: the points of
    /// chunk `j` are converted and streamed up
    /// ([`GpuContext::stream_upload`]) while the device evaluates chunk
    /// `j − 1`, whose results are read back (by all threads, converted on
    /// the way) while chunk `j` runs.
    fn eval_flat<S: bytemuck::Pod + Sync, U: Send>(
        &self,
        coords: &[S],
        derivs: &Derivs<D>,
        policy: &[u32; D],
        out: &mut [U],
        up: impl Fn(S) -> T + Sync,
        down: impl Fn(T) -> U + Sync,
    ) -> Result<(), FitError> {
        let count = self.check_sizes(coords.len(), derivs, usize::MAX)?;
        let m = derivs.len() * self.nc;
        if out.len() != count * m {
            return Err(FitError::InvalidParameter {
                name: "out",
                reason: format!("{} elements for {count} points × {m} outputs", out.len()),
            });
        }
        if count == 0 {
            return Ok(());
        }
        let per_point = size_of::<T>() * D.max(m);
        // Less the padding `DeviceArray` adds past its elements.
        let room = (self.ctx.max_binding() as usize).saturating_sub(8 * size_of::<T>());
        let chunk = (room / per_point).clamp(1, EVAL_CHUNK_POINTS).min(count);
        let nchunks = count.div_ceil(chunk);
        let mut sets = Vec::with_capacity(2);
        for _ in 0..nchunks.min(2) {
            sets.push((
                DeviceArray::<T>::zeroed(&self.ctx, chunk * D)?,
                DeviceArray::<T>::zeroed(&self.ctx, chunk * m)?,
                self.ctx.staging((chunk * m * size_of::<T>()) as u64),
            ));
        }
        let pipeline = self.pipeline_with(derivs, policy);
        let mut tmp: Vec<T> = Vec::new();
        let mut pending: Option<(usize, usize, wgpu::SubmissionIndex)> = None;
        for j in 0..nchunks {
            let (lo, hi) = (j * chunk, ((j + 1) * chunk).min(count));
            let (pts, res, staging) = &sets[j % sets.len()];
            let p = &coords[lo * D..hi * D];
            match super::fit::same_type::<S, T>(p) {
                Some(same) => self.ctx.stream_upload(&pts.buffer, 0, same)?,
                None => self
                    .ctx
                    .stream_upload_converted(&pts.buffer, 0, p, &mut tmp, |s, d| {
                        for (d, &v) in d.iter_mut().zip(s) {
                            *d = up(v);
                        }
                    })?,
            }
            let mut enc = self.ctx.encoder();
            self.record(&mut enc, &pipeline, &pts.ro, &res.rw, hi - lo);
            let bytes = ((hi - lo) * m * size_of::<T>()) as u64;
            enc.copy_buffer_to_buffer(&res.buffer, 0, staging, 0, bytes);
            let idx = self.ctx.submit_indexed(enc);
            if let Some((pj, set, pidx)) = pending.take() {
                let (plo, phi) = (pj * chunk, ((pj + 1) * chunk).min(count));
                self.ctx
                    .read_after(&sets[set].2, pidx, &mut out[plo * m..phi * m], &down)?;
            }
            pending = Some((j, j % sets.len(), idx));
        }
        if let Some((pj, set, pidx)) = pending {
            let (plo, phi) = (pj * chunk, ((pj + 1) * chunk).min(count));
            self.ctx
                .read_after(&sets[set].2, pidx, &mut out[plo * m..phi * m], &down)?;
        }
        Ok(())
    }

    /// Runs an evaluation request ([`Query`]) on the device, as
    /// [`TensorSpline::evaluate`] does on the CPU: the outputs are the
    /// query's partials (at most [`MAX_OUTPUTS`]), the points its rows or
    /// its grid (expanded to points), the policy the query's or the
    /// spline's own (periodic axes wrap). The coordinates are rounded to
    /// `T` and the results widened to `f64`; shape
    /// `(points…, outputs, *vshape)`.
    ///
    /// [`Extrapolate::Error`] is checked on the host before anything is
    /// uploaded.
    ///
    /// # Errors
    /// [`FitError::DimensionMismatch`] for points or grid axes of another
    /// dimension or a per-axis policy list of another length;
    /// [`FitError::OutsideDomain`] under [`Extrapolate::Error`];
    /// [`FitError::InvalidParameter`] for more than [`MAX_OUTPUTS`] outputs
    /// or a partial along an axis the spline does not have;
    /// [`FitError::Gpu`] if the device fails.
    pub fn evaluate(&self, query: &Query<'_>) -> Result<ndarray::ArrayD<f64>, FitError> {
        let (derivs, codes, checked) = self.request(query)?;
        let coords: std::borrow::Cow<'_, [f64]> = match query.points() {
            Points::Rows(p) => {
                if p.ncols() != D {
                    return Err(FitError::DimensionMismatch {
                        expected: D,
                        got: p.ncols(),
                    });
                }
                match p.as_slice() {
                    Some(s) => std::borrow::Cow::Borrowed(s),
                    None => std::borrow::Cow::Owned(p.iter().copied().collect()),
                }
            }
            Points::Grid(axes) => {
                if axes.len() != D {
                    return Err(FitError::DimensionMismatch {
                        expected: D,
                        got: axes.len(),
                    });
                }
                let n = query.len()?;
                let mut c = Vec::with_capacity(n.saturating_mul(D));
                let mut idx = [0usize; D];
                for _ in 0..n {
                    c.extend((0..D).map(|k| axes[k][idx[k]]));
                    for k in (0..D).rev() {
                        idx[k] += 1;
                        if idx[k] < axes[k].len() {
                            break;
                        }
                        idx[k] = 0;
                    }
                }
                std::borrow::Cow::Owned(c)
            }
        };
        self.check_domain(&coords[..], &checked, |v| v)?;
        let count = coords.len() / D;
        let mut flat = vec![0.0f64; count * derivs.len() * self.nc];
        self.eval_flat(&coords, &derivs, &codes, &mut flat, T::from_f64, |v: T| {
            v.to_f64()
        })?;
        let mut shape = query.points_shape();
        shape.push(derivs.len());
        shape.extend_from_slice(&self.vshape);
        ndarray::ArrayD::from_shape_vec(shape, flat).map_err(|e| FitError::InvalidParameter {
            name: "query",
            reason: e.to_string(),
        })
    }

    /// Errors unless `points` and `out` are arrays of this spline's
    /// context and `out` is neither the points nor the coefficients (which
    /// the evaluation reads).
    fn check_arrays(&self, points: &DeviceArray<T>, out: &DeviceArray<T>) -> Result<(), FitError> {
        points.check_context(&self.ctx, "points")?;
        out.check_context(&self.ctx, "out")?;
        if out.buffer == points.buffer || out.buffer == self.coefs_buffer {
            return Err(FitError::InvalidParameter {
                name: "out",
                reason: "the output array is also read by the evaluation (the points or the \
                         spline's coefficients)"
                    .into(),
            });
        }
        Ok(())
    }

    /// The outputs of `query` as [`Derivs`], its per-axis device policy
    /// codes and the axes whose policy is [`Extrapolate::Error`] (checked on
    /// the host; code 0 on the device).
    fn request(&self, query: &Query<'_>) -> Result<(Derivs<D>, [u32; D], [bool; D]), FitError> {
        let partials = query.partials(D)?;
        let orders: Vec<[usize; D]> = partials
            .iter()
            .map(|p| {
                let o = p.orders();
                std::array::from_fn(|k| o[k])
            })
            .collect();
        let derivs = Derivs::list(&orders)?;
        let resolved = query.resolve_policy(self.policy, &self.periodic)?;
        let mut codes = [0u32; D];
        let mut checked = [false; D];
        for k in 0..D {
            codes[k] = match resolved[k] {
                Extrapolate::Error => {
                    checked[k] = true;
                    0
                }
                Extrapolate::Periodic => 3,
                p => device_policy(p)?,
            };
        }
        Ok((derivs, codes, checked))
    }

    /// [`FitError::OutsideDomain`] for the first point of `coords` (`D`
    /// coordinates each, widened by `wide`) outside the domain along an axis
    /// marked in `checked`.
    fn check_domain<S: Copy>(
        &self,
        coords: &[S],
        checked: &[bool; D],
        wide: impl Fn(S) -> f64,
    ) -> Result<(), FitError> {
        if !checked.iter().any(|&c| c) {
            return Ok(());
        }
        for (i, p) in coords.chunks_exact(D).enumerate() {
            for k in (0..D).filter(|&k| checked[k]) {
                let (lo, hi) = self.domain[k];
                let value = wide(p[k]);
                if !(value >= lo && value <= hi) {
                    return Err(FitError::OutsideDomain {
                        point: Some(i),
                        axis: k,
                        value,
                        lo,
                        hi,
                    });
                }
            }
        }
        Ok(())
    }

    /// Elements of the result of `query` at `count` points: `count ×
    /// outputs × components`, in the layout of [`evaluate`](Self::evaluate)
    /// (point, output, component).
    ///
    /// # Errors
    /// As [`evaluate`](Self::evaluate) for the outputs;
    /// [`FitError::InvalidParameter`] if the size overflows.
    pub fn result_len(&self, query: &Query<'_>, count: usize) -> Result<usize, FitError> {
        let outputs = query.partials(D)?.len();
        count
            .checked_mul(outputs)
            .and_then(|m| m.checked_mul(self.nc))
            .ok_or_else(|| FitError::InvalidParameter {
                name: "points",
                reason: format!("{count} points × {outputs} outputs overflow the address space"),
            })
    }

    /// Runs the outputs and policy of `query` ([`evaluate`](Self::evaluate)'s
    /// request) at the points of the device array `points` (`D` coordinates
    /// per point, row-major) into the device array `out`, laid out (point,
    /// output, component): the results stay on the device for the next
    /// call. Records one dispatch and submits it without waiting; allocates
    /// nothing once the kernel is compiled.
    ///
    /// The query names no points of its own (build it on an empty slice,
    /// `Query::at_slice(&[], D)`). [`Extrapolate::Error`] reads the points
    /// back to check them on the host first (one round trip).
    ///
    /// # Errors
    /// [`FitError::InvalidParameter`] if the query has points, for more than
    /// [`MAX_OUTPUTS`] outputs, a partial along an axis the spline does not
    /// have, and as [`eval_device`](Self::eval_device) (lengths, contexts,
    /// aliasing); [`FitError::DimensionMismatch`] for a per-axis policy list
    /// of another length; [`FitError::OutsideDomain`] under
    /// [`Extrapolate::Error`]; [`FitError::Gpu`] if the device fails.
    pub fn evaluate_device(
        &self,
        points: &DeviceArray<T>,
        query: &Query<'_>,
        out: &DeviceArray<T>,
    ) -> Result<(), FitError> {
        if !query.is_empty() {
            return Err(FitError::InvalidParameter {
                name: "query",
                reason: "the points are the device array's: build the request on no points \
                         (Query::at_slice(&[], ndim))"
                    .into(),
            });
        }
        let (derivs, codes, checked) = self.request(query)?;
        self.check_arrays(points, out)?;
        let count = self.check_sizes(points.len, &derivs, out.len)?;
        if checked.iter().any(|&c| c) {
            let host = points.read(&self.ctx)?;
            self.check_domain(&host, &checked, T::to_f64)?;
        }
        let pipeline = self.pipeline_with(&derivs, &codes);
        let mut enc = self.ctx.encoder();
        self.record(&mut enc, &pipeline, &points.ro, &out.rw, count);
        self.ctx.submit(enc);
        Ok(())
    }

    /// Values at host `points`.
    ///
    /// # Errors
    /// As [`eval_derivs`](Self::eval_derivs).
    pub fn eval(&self, points: &[[T; D]]) -> Result<Vec<T>, FitError> {
        self.eval_derivs(points, &Derivs::value())
    }

    /// One mixed partial derivative at host `points`.
    ///
    /// # Errors
    /// As [`eval_derivs`](Self::eval_derivs).
    pub fn eval_deriv(&self, points: &[[T; D]], orders: [usize; D]) -> Result<Vec<T>, FitError> {
        self.eval_derivs(points, &Derivs::partial(orders))
    }

    /// Gradients at host `points`.
    ///
    /// # Errors
    /// As [`eval_derivs`](Self::eval_derivs).
    pub fn eval_grad(&self, points: &[[T; D]]) -> Result<Vec<[T; D]>, FitError> {
        if self.nc > 1 {
            return Err(FitError::InvalidParameter {
                name: "spline",
                reason: format!(
                    "value shape {:?}: gradients of vector values come from eval_derivs",
                    self.vshape
                ),
            });
        }
        let flat = self.eval_derivs(points, &Derivs::gradient())?;
        Ok(flat
            .chunks_exact(D)
            .map(|c| std::array::from_fn(|k| c[k]))
            .collect())
    }
}

/// Points per chunk of a host evaluation ([`GpuSpline::eval_derivs`],
/// [`GpuSpline::evaluate`]): the transfers of one chunk overlap the device
/// work of the next.
pub const EVAL_CHUNK_POINTS: usize = 1 << 20;

/// The shader's code for `policy`, or an error for the policies the device
/// evaluator does not apply.
fn device_policy(policy: Extrapolate) -> Result<u32, FitError> {
    match policy {
        Extrapolate::Polynomial => Ok(0),
        Extrapolate::Clamp => Ok(1),
        Extrapolate::Nan => Ok(2),
        Extrapolate::Periodic => Ok(3),
        other => Err(FitError::InvalidParameter {
            name: "extrapolate",
            reason: format!(
                "policy {:?} is not applied by the device kernels (polynomial, clamp, nan or \
                 periodic; `error` through GpuSpline::evaluate)",
                other.name()
            ),
        }),
    }
}
