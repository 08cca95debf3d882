//! Stencil operators on the device: the B-spline operator `B` (fused 27-point
//! or separable), `B²`, and general separable stencils (the SPAI preconditioner).

use crate::grid3::BSPLINE_TAPS;
use std::sync::Arc;

use bytemuck::{Pod, Zeroable};

use super::bc_code;
use super::ops::{GpuOps, GpuVector};
use super::shaders;
use crate::FitError;
use crate::gpu::context::GpuContext;
use crate::grid3::Boundary;
use crate::grid3::backend::{LinearOperator, Preconditioner, VectorOps};
use crate::grid3::band::{fold_index, mirror_scale};

/// Largest stencil width per axis of [`GpuBand`].
pub const MAX_TAPS: usize = 9;

/// How the B-spline operator is applied on the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GpuForm {
    /// One pass, 27 loads per output (cached), one read and one write of the grid.
    #[default]
    Fused27,
    /// Three 3-tap passes through a temporary: 9 multiply-adds per output but
    /// three read+write sweeps.
    Separable,
}

/// Rows `(column, weight)` of the 1D stencil `taps` (odd length, centred) on an
/// axis of length `n`, folded by the CPU operator's boundary rule; with `sym` a
/// mirror axis is symmetrised by `s_i / s_c` (the CPU band's similarity
/// transform), so both backends apply the same matrix.
pub(crate) fn band_rows(taps: &[f64], n: usize, bc: Boundary, sym: bool) -> Vec<Vec<(usize, f64)>> {
    let h = (taps.len() / 2) as isize;
    let s = if sym {
        mirror_scale(n, bc)
    } else {
        vec![1.0; n]
    };
    (0..n)
        .map(|i| {
            let mut r: Vec<(usize, f64)> = Vec::with_capacity(taps.len());
            for (t, &w) in taps.iter().enumerate() {
                if let Some(c) = fold_index(i as isize + t as isize - h, n, bc) {
                    let w = w * s[i] / s[c];
                    match r.iter_mut().find(|e| e.0 == c) {
                        Some(e) => e.1 += w,
                        None => r.push((c, w)),
                    }
                }
            }
            r
        })
        .collect()
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct BandImm {
    n0: u32,
    n1: u32,
    n2: u32,
    axis: u32,
    w: u32,
    off: u32,
}

/// A separable stencil `M₀ ⊗ M₁ ⊗ M₂` on the device, each factor given by its
/// rows; applied as three one-axis passes through a temporary.
///
/// It remembers the shape and context of the [`GpuOps`] it was built on, and
/// its `apply` refuses other backends and vectors with an error before
/// recording anything.
pub struct GpuBand {
    shape: [usize; 3],
    ctx: u64,
    table: GpuVector,
    width: [u32; 3],
    offsets: [u32; 3],
    pipeline: Arc<wgpu::ComputePipeline>,
    tmp: [GpuVector; 2],
    diagonal: f64,
    bounds: (f64, f64),
}

impl std::fmt::Debug for GpuBand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuBand")
            .field("shape", &self.shape)
            .field("width", &self.width)
            .finish_non_exhaustive()
    }
}

impl GpuBand {
    /// The separable stencil with the same symmetric 1D `taps` on every axis
    /// (e.g. a SPAI preconditioner); mirror axes symmetrised when `symmetric`.
    /// Spectrum bounds are unknown and reported as NaN.
    ///
    /// # Errors
    /// [`FitError::InvalidParameter`] for an even count or more than
    /// [`MAX_TAPS`] taps; [`FitError::Gpu`] if a buffer cannot be created.
    pub fn separable(
        ops: &GpuOps<'_>,
        taps: &[f64],
        boundary: [Boundary; 3],
        symmetric: bool,
    ) -> Result<Self, FitError> {
        Self::new(ops, taps, boundary, symmetric, (f64::NAN, f64::NAN))
    }

    /// The separable stencil with the same symmetric `taps` on every axis
    /// (mirror axes symmetrised when `sym`).
    ///
    /// # Errors
    /// [`FitError::InvalidParameter`] for an even or too long `taps`;
    /// [`FitError::Gpu`] if a buffer cannot be created.
    pub(crate) fn new(
        ops: &GpuOps<'_>,
        taps: &[f64],
        bc: [Boundary; 3],
        sym: bool,
        bounds: (f64, f64),
    ) -> Result<Self, FitError> {
        if taps.len().is_multiple_of(2) || taps.len() > MAX_TAPS {
            return Err(FitError::InvalidParameter {
                name: "taps",
                reason: format!("{} taps: need an odd count ≤ {MAX_TAPS}", taps.len()),
            });
        }
        let rows: [Vec<Vec<(usize, f64)>>; 3] =
            std::array::from_fn(|a| band_rows(taps, ops.shape()[a], bc[a], sym));
        let h = taps.len() / 2;
        let diagonal = taps[h].powi(3);
        Self::from_rows(ops, &rows, diagonal, bounds)
    }

    /// From explicit rows per axis (`rows[a][i]` = entries of row `i` of `M_a`).
    pub(crate) fn from_rows(
        ops: &GpuOps<'_>,
        rows: &[Vec<Vec<(usize, f64)>>; 3],
        diagonal: f64,
        bounds: (f64, f64),
    ) -> Result<Self, FitError> {
        let ctx: &GpuContext = ops.context();
        let shape = ops.shape();
        let mut table: Vec<f32> = Vec::new();
        let mut width = [0u32; 3];
        let mut offsets = [0u32; 3];
        for a in 0..3 {
            let n = shape[a];
            // Columns travel as f32 in the table: exact integers up to 2^24.
            if n > 1 << 24 {
                return Err(FitError::InvalidParameter {
                    name: "shape",
                    reason: format!(
                        "axis {a} of {n} points; a separable stencil takes at most 2^24"
                    ),
                });
            }
            if rows[a].len() != n {
                return Err(FitError::InvalidParameter {
                    name: "rows",
                    reason: format!("axis {a}: {} rows for length {n}", rows[a].len()),
                });
            }
            let w = rows[a].iter().map(Vec::len).max().unwrap_or(1).max(1);
            if w > MAX_TAPS {
                return Err(FitError::InvalidParameter {
                    name: "rows",
                    reason: format!("axis {a}: {w} entries in a row (at most {MAX_TAPS})"),
                });
            }
            width[a] = w as u32;
            offsets[a] = table.len() as u32;
            for (i, r) in rows[a].iter().enumerate() {
                let mut cols = vec![i as f32; w];
                let mut ws = vec![0.0f32; w];
                for (t, &(c, x)) in r.iter().enumerate() {
                    if c >= n {
                        return Err(FitError::InvalidParameter {
                            name: "rows",
                            reason: format!("axis {a}, row {i}: column {c} ≥ {n}"),
                        });
                    }
                    cols[t] = c as f32;
                    ws[t] = x as f32;
                }
                table.extend_from_slice(&cols);
                table.extend_from_slice(&ws);
            }
        }
        let tv = GpuVector::new(ctx, table.len(), "band table")?;
        ctx.upload(&tv.buffer, 0, &table);
        let l = &ctx.layouts;
        // SAFETY: recorded only by `run`, which first checks (`check`) that
        // the backend has this band's shape and context and that `x` and `y`
        // hold n0·n1·n2 elements of it; the temporaries are allocated here
        // with that length. A thread returns unless its (i0, i1, i2) is inside
        // the shape passed as immediates (this band's shape), so `o` is below
        // n0·n1·n2; the table index `off + i·2w + t` (t < w, i < the axis
        // length) stays inside the table built above with exactly w entries of
        // each kind per row, and every column in it is below the axis length
        // (checked above), so `line + col·stride` is below n0·n1·n2 too.
        let pipeline =
            unsafe { ctx.pipeline_unchecked(&shaders::band_axis(), &[&l.ro, &l.ro, &l.rw], 24) };
        Ok(Self {
            shape,
            ctx: ctx.id(),
            table: tv,
            width,
            offsets,
            pipeline,
            tmp: [ops.alloc()?, ops.alloc()?],
            diagonal,
            bounds,
        })
    }

    fn pass(&self, ops: &GpuOps<'_>, axis: usize, x: &GpuVector, y: &GpuVector) {
        let [n0, n1, n2] = self.shape;
        let imm = BandImm {
            n0: n0 as u32,
            n1: n1 as u32,
            n2: n2 as u32,
            axis: axis as u32,
            w: self.width[axis],
            off: self.offsets[axis],
        };
        ops.dispatch(
            &self.pipeline,
            &[&self.table.ro, &x.ro, &y.rw],
            bytemuck::bytes_of(&imm),
            ops.groups_3d(),
        );
    }

    /// Checks the backend and both vectors, then records the three passes.
    fn run(&self, ops: &GpuOps<'_>, x: &GpuVector, y: &GpuVector) -> Result<(), FitError> {
        check_backend(ops, self.ctx, self.shape, "the separable stencil")?;
        ops.check("x", x)?;
        ops.check("y", y)?;
        self.pass(ops, 2, x, &self.tmp[0]);
        self.pass(ops, 1, &self.tmp[0], &self.tmp[1]);
        self.pass(ops, 0, &self.tmp[1], y);
        Ok(())
    }
}

impl<'c> LinearOperator<GpuOps<'c>> for GpuBand {
    fn apply(&self, ops: &GpuOps<'c>, x: &GpuVector, y: &mut GpuVector) -> Result<(), FitError> {
        self.run(ops, x, y)
    }

    fn diagonal(&self) -> f64 {
        self.diagonal
    }

    fn spectrum_bounds(&self) -> (f64, f64) {
        self.bounds
    }
}

impl<'c> Preconditioner<GpuOps<'c>> for GpuBand {
    fn apply(&self, ops: &GpuOps<'c>, r: &GpuVector, z: &mut GpuVector) -> Result<(), FitError> {
        self.run(ops, r, z)
    }
}

/// [`FitError::InvalidParameter`] unless `ops` is a backend of context `ctx`
/// and shape `shape` (those of the operator `what` was built on).
fn check_backend(
    ops: &GpuOps<'_>,
    ctx: u64,
    shape: [usize; 3],
    what: &str,
) -> Result<(), FitError> {
    if ops.context().id() != ctx {
        return Err(FitError::InvalidParameter {
            name: "ops",
            reason: format!("a backend of another GPU context than {what}"),
        });
    }
    if ops.shape() != shape {
        return Err(FitError::InvalidParameter {
            name: "ops",
            reason: format!(
                "a backend of shape {:?} for {what} of shape {shape:?}",
                ops.shape()
            ),
        });
    }
    Ok(())
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct StencilImm {
    n0: u32,
    n1: u32,
    n2: u32,
    bc0: u32,
    bc1: u32,
    bc2: u32,
    sym: u32,
}

/// The B-spline operator `B = b ⊗ b ⊗ b` on the device.
///
/// It remembers the shape and context of the [`GpuOps`] it was built on, and
/// its `apply` refuses other backends and vectors with an error before
/// recording anything.
pub struct GpuStencil {
    shape: [usize; 3],
    ctx: u64,
    imm: StencilImm,
    form: GpuForm,
    fused: Arc<wgpu::ComputePipeline>,
    /// Four outputs per thread ([`shaders::stencil27x4`]) where axis 2 is a
    /// multiple of 4 points long.
    fused4: Option<Arc<wgpu::ComputePipeline>>,
    band: Option<GpuBand>,
    bounds: (f64, f64),
}

impl std::fmt::Debug for GpuStencil {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuStencil")
            .field("form", &self.form)
            .finish_non_exhaustive()
    }
}

impl GpuStencil {
    /// `B` on `ops`' shape with boundary codes `bc`; `sym` symmetrises mirror axes.
    ///
    /// # Errors
    /// [`FitError::Gpu`] if a buffer cannot be created.
    pub(crate) fn new(
        ops: &GpuOps<'_>,
        bc: [Boundary; 3],
        sym: bool,
        form: GpuForm,
        bounds: (f64, f64),
    ) -> Result<Self, FitError> {
        let ctx = ops.context();
        let [n0, n1, n2] = ops.shape();
        let mut mask = 0u32;
        if sym {
            for (a, b) in bc.iter().enumerate() {
                if *b == Boundary::Mirror {
                    mask |= 1 << a;
                }
            }
        }
        let imm = StencilImm {
            n0: n0 as u32,
            n1: n1 as u32,
            n2: n2 as u32,
            bc0: bc_code(bc[0]),
            bc1: bc_code(bc[1]),
            bc2: bc_code(bc[2]),
            sym: mask,
        };
        let l = &ctx.layouts;
        // SAFETY: recorded only by `apply`, which first checks that the
        // backend has this operator's shape and context and that `x` and `y`
        // hold n0·n1·n2 elements of it; the immediates carry that shape. Each
        // thread returns unless its output point lies inside the shape, and
        // every neighbour index comes from `nb`, which maps it into [0, n) on
        // its axis (wrap, reflection, or the centre itself with weight 0), so
        // every flat index is below n0·n1·n2 (`shaders` module note). The
        // four-output kernel is used only when n2 is a multiple of 4, so its
        // quads never straddle a row.
        let fused = unsafe { ctx.pipeline_unchecked(&shaders::stencil27(), &[&l.ro, &l.rw], 28) };
        let fused4 = n2.is_multiple_of(4).then(|| {
            // SAFETY: as `fused` above.
            unsafe { ctx.pipeline_unchecked(&shaders::stencil27x4(), &[&l.ro, &l.rw], 28) }
        });
        let band = match form {
            GpuForm::Fused27 => None,
            GpuForm::Separable => Some(GpuBand::new(ops, &BSPLINE_TAPS, bc, sym, bounds)?),
        };
        Ok(Self {
            shape: [n0, n1, n2],
            ctx: ctx.id(),
            imm,
            form,
            fused,
            fused4,
            band,
            bounds,
        })
    }

    /// The B-spline operator on `ops`' shape with `boundary` per axis and the
    /// analytic spectrum bounds of [`crate::grid3::theory::bspline_bounds`].
    /// With `symmetric`, mirror axes apply `S B S⁻¹` (the symmetrised matrix the
    /// Krylov solvers iterate on, as the CPU operator does).
    ///
    /// # Errors
    /// [`FitError::Gpu`] if a buffer cannot be created.
    pub fn bspline(
        ops: &GpuOps<'_>,
        boundary: [Boundary; 3],
        symmetric: bool,
        form: GpuForm,
    ) -> Result<Self, FitError> {
        let bounds = crate::grid3::theory::bspline_bounds(ops.shape(), boundary);
        Self::new(ops, boundary, symmetric, form, bounds)
    }

    /// The form this operator applies.
    pub fn form(&self) -> GpuForm {
        self.form
    }
}

impl<'c> LinearOperator<GpuOps<'c>> for GpuStencil {
    fn apply(&self, ops: &GpuOps<'c>, x: &GpuVector, y: &mut GpuVector) -> Result<(), FitError> {
        check_backend(ops, self.ctx, self.shape, "the B-spline operator")?;
        ops.check("x", x)?;
        ops.check("y", y)?;
        match &self.band {
            Some(b) => b.run(ops, x, y),
            None => {
                let gz = (self.imm.n0).div_ceil(shaders::MARCH);
                let (pipe, gx, gy) = match &self.fused4 {
                    Some(f4) => {
                        let (wx, wy) = shaders::QUAD_WG;
                        (f4, (self.imm.n2 / 4).div_ceil(wx), self.imm.n1.div_ceil(wy))
                    }
                    None => {
                        let (gx, gy, _) = ops.groups_3d();
                        (&self.fused, gx, gy)
                    }
                };
                ops.dispatch(
                    pipe,
                    &[&x.ro, &y.rw],
                    bytemuck::bytes_of(&self.imm),
                    (gx, gy, gz),
                );
                Ok(())
            }
        }
    }

    fn diagonal(&self) -> f64 {
        8.0 / 27.0
    }

    fn spectrum_bounds(&self) -> (f64, f64) {
        self.bounds
    }
}
