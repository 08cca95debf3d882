//! GPU kernels against an f64 CPU reference (small grids; lavapipe in CI).
//!
//! Without an adapter the tests skip with a printed reason, unless
//! `BSFIT_REQUIRE_GPU=1` (CI), where they fail.
#![cfg(feature = "gpu")]

use bsfit::FitError;
use bsfit::grid3::Boundary as Bc;
use bsfit::grid3::backend::{Coef, LinearOperator, Preconditioner, Slot, VectorOps};
use bsfit::grid3::gpu::{
    ContiguousLoad, ContiguousPass, DirectKernel, DirectOptions, DirectPlan, GpuBand, GpuContext,
    GpuForm, GpuOps, GpuOptions, GpuStencil,
};
use bsfit_testkit::SplitMix64;

fn context(checked: bool) -> Option<GpuContext> {
    match GpuContext::with_options(&GpuOptions {
        checked,
        ..Default::default()
    }) {
        Ok(c) => Some(c),
        Err(e) => {
            if std::env::var("BSFIT_REQUIRE_GPU").is_ok_and(|v| v == "1") {
                panic!("BSFIT_REQUIRE_GPU=1 but no GPU context: {e}");
            }
            eprintln!("skipping GPU test: {e}");
            None
        }
    }
}

/// Both a context with bounds checks off (the fast path) and one with them on.
fn contexts() -> Vec<GpuContext> {
    [false, true].into_iter().filter_map(context).collect()
}

/// The direct solve of a flat row-major grid with `kernel`, through the
/// public plan: upload, record, download.
fn direct(
    ctx: &GpuContext,
    shape: [usize; 3],
    bc: [Bc; 3],
    kernel: DirectKernel,
    data: &[f32],
) -> Result<Vec<f32>, FitError> {
    let ops = GpuOps::new(ctx, shape)?;
    let mut options = DirectOptions::default();
    options.kernel = kernel;
    let plan = DirectPlan::with_options(ctx, shape, bc, &options)?;
    let v = ops.upload(data)?;
    plan.record(&ops, &v)?;
    ops.download(&v)
}

const ALL: [Bc; 3] = [Bc::Periodic, Bc::Zero, Bc::Mirror];
fn idx(b: Bc) -> usize {
    ALL.iter().position(|&x| x == b).unwrap()
}

/// Dense 1D matrix of the stencil `taps` under boundary `bc`, from the
/// definitions: periodic wraps, zero drops, mirror reflects about the end
/// samples (period 2n − 2), optionally symmetrised by S M S⁻¹ with
/// S = diag(1/√2, 1, …, 1, 1/√2) on mirror axes.
fn dense(taps: &[f64], n: usize, bc: Bc, sym: bool) -> Vec<Vec<f64>> {
    let h = (taps.len() / 2) as i64;
    let mut m = vec![vec![0.0; n]; n];
    for (i, row) in m.iter_mut().enumerate() {
        for (t, &w) in taps.iter().enumerate() {
            let j = i as i64 + t as i64 - h;
            let n_ = n as i64;
            let c = match bc {
                Bc::Periodic => Some(j.rem_euclid(n_)),
                Bc::Zero => (0..n_).contains(&j).then_some(j),
                Bc::Mirror => {
                    if n == 1 {
                        Some(0)
                    } else {
                        let mut k = j;
                        while !(0..n_).contains(&k) {
                            k = if k < 0 { -k } else { 2 * (n_ - 1) - k };
                        }
                        Some(k)
                    }
                }
            };
            if let Some(c) = c {
                row[c as usize] += w;
            }
        }
    }
    if sym && bc == Bc::Mirror && n >= 2 {
        let s = |i: usize| {
            if i == 0 || i == n - 1 {
                0.5f64.sqrt()
            } else {
                1.0
            }
        };
        for (i, row) in m.iter_mut().enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                *v *= s(i) / s(j);
            }
        }
    }
    m
}

/// `(M₀ ⊗ M₁ ⊗ M₂) x` by the full triple sum over the dense factors.
fn apply_ref(m: &[Vec<Vec<f64>>; 3], shape: [usize; 3], x: &[f64]) -> Vec<f64> {
    let [n0, n1, n2] = shape;
    let mut y = vec![0.0; n0 * n1 * n2];
    for i0 in 0..n0 {
        for i1 in 0..n1 {
            for i2 in 0..n2 {
                let mut s = 0.0;
                for j0 in 0..n0 {
                    let a = m[0][i0][j0];
                    if a == 0.0 {
                        continue;
                    }
                    for j1 in 0..n1 {
                        let b = m[1][i1][j1];
                        if b == 0.0 {
                            continue;
                        }
                        for j2 in 0..n2 {
                            s += a * b * m[2][i2][j2] * x[(j0 * n1 + j1) * n2 + j2];
                        }
                    }
                }
                y[(i0 * n1 + i1) * n2 + i2] = s;
            }
        }
    }
    y
}

const B: [f64; 3] = [1.0 / 6.0, 2.0 / 3.0, 1.0 / 6.0];

fn max_rel(a: &[f32], b: &[f64]) -> f64 {
    let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-30);
    a.iter()
        .zip(b)
        .map(|(x, y)| (*x as f64 - y).abs())
        .fold(0.0, f64::max)
        / scale
}

fn f32s(x: &[f64]) -> Vec<f32> {
    x.iter().map(|&v| v as f32).collect()
}

/// Shapes: odd and even, 1–3 per axis, and extents that are not multiples of
/// the 64×4 workgroup or of the direct solve's tile width.
const SHAPES: [[usize; 3]; 6] = [
    [4, 6, 8],
    [5, 7, 9],
    [1, 2, 3],
    [3, 1, 67],
    [17, 6, 70],
    [9, 33, 5],
];

#[test]
fn stencil_matches_reference_every_boundary_and_form() {
    let mut rng = SplitMix64(1);
    for ctx in contexts() {
        // Besides SHAPES, contiguous axes of a multiple of 4 (four outputs per
        // thread): one quad, both ends in one quad, a partial workgroup of
        // quads, with rows and planes that leave partial workgroups and marches.
        for shape in SHAPES
            .into_iter()
            .chain([[17, 9, 132], [1, 1, 4], [18, 3, 12], [2, 2, 8]])
        {
            let ops = GpuOps::new(&ctx, shape).unwrap();
            let total = ops.len();
            let x = rng.uniform_vec(total, -1.0, 1.0);
            let xv = ops.upload(&f32s(&x)).unwrap();
            let mut yv = ops.alloc().unwrap();
            for b0 in ALL {
                for b2 in ALL {
                    let bc = [b0, ALL[(idx(b0) + 1) % 3], b2];
                    for sym in [false, true] {
                        let m = std::array::from_fn(|a| dense(&B, shape[a], bc[a], sym));
                        let want = apply_ref(&m, shape, &x);
                        for form in [GpuForm::Fused27, GpuForm::Separable] {
                            let op = GpuStencil::bspline(&ops, bc, sym, form).unwrap();
                            op.apply(&ops, &xv, &mut yv).unwrap();
                            let got = ops.download(&yv).unwrap();
                            let err = max_rel(&got, &want);
                            assert!(
                                err < 2e-6,
                                "{shape:?} {bc:?} sym={sym} {form:?} checked={}: {err:e}",
                                ctx.checked()
                            );
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn five_tap_band_preconditioner_matches_reference() {
    let taps = [-0.05, 0.2, 0.7, 0.2, -0.05];
    let mut rng = SplitMix64(2);
    for ctx in contexts() {
        for shape in [[6, 5, 7], [2, 3, 9], [1, 4, 1]] {
            let ops = GpuOps::new(&ctx, shape).unwrap();
            let x = rng.uniform_vec(ops.len(), -1.0, 1.0);
            let xv = ops.upload(&f32s(&x)).unwrap();
            let mut zv = ops.alloc().unwrap();
            for bc in [
                [Bc::Periodic; 3],
                [Bc::Zero, Bc::Mirror, Bc::Periodic],
                [Bc::Mirror; 3],
            ] {
                let m = std::array::from_fn(|a| dense(&taps, shape[a], bc[a], true));
                let want = apply_ref(&m, shape, &x);
                let k = GpuBand::separable(&ops, &taps, bc, true).unwrap();
                Preconditioner::apply(&k, &ops, &xv, &mut zv).unwrap();
                let err = max_rel(&ops.download(&zv).unwrap(), &want);
                assert!(err < 2e-6, "{shape:?} {bc:?}: {err:e}");
            }
        }
    }
}

/// The exact solve inverts B: with F = B c computed in f64, the device must
/// return c to f32 accuracy (B⁻¹ amplifies by at most 27 = cond(B)).
#[test]
fn direct_solve_recovers_coefficients_every_boundary() {
    let mut rng = SplitMix64(3);
    for ctx in contexts() {
        for shape in SHAPES.iter().copied().chain([
            [32, 32, 32],
            [31, 2, 29],
            [2, 3, 150],
            [131, 2, 3],
            [3, 97, 2],
            [2, 3, 152],
            [132, 2, 4],
            [3, 68, 4],
        ]) {
            for b0 in ALL {
                for b1 in ALL {
                    let bc = [b0, b1, ALL[(idx(b0) + 2 * idx(b1)) % 3]];
                    let c = rng.uniform_vec(shape.iter().product(), -1.0, 1.0);
                    let m = std::array::from_fn(|a| dense(&B, shape[a], bc[a], false));
                    let f = apply_ref(&m, shape, &c);
                    let got = direct(&ctx, shape, bc, DirectKernel::default(), &f32s(&f)).unwrap();
                    let err = max_rel(&got, &c);
                    assert!(
                        err < 2e-5,
                        "{shape:?} {bc:?} checked={}: {err:e}",
                        ctx.checked()
                    );
                }
            }
        }
    }
}

/// Both direct kernels, every contiguous-axis load path, several workgroup
/// sizes and segment lengths, at shapes that leave partial tiles and short last
/// segments (33, 65, 68, 100, 300 points; single-point axes; contiguous lines of
/// a multiple of 4 for the `vec4` paths and of other lengths for their
/// fallback), every boundary on every axis: c recovered from F = B c to f32 accuracy.
#[test]
fn direct_kernels_recover_coefficients_at_remainder_shapes() {
    let mut rng = SplitMix64(13);
    let seg = |threads, seg, load, ct, cs| {
        let mut contiguous = ContiguousPass::default();
        (contiguous.load, contiguous.threads, contiguous.seg) = (load, ct, cs);
        DirectKernel::Segmented {
            threads,
            seg,
            contiguous,
        }
    };
    let (tile, vec4, regs) = (
        ContiguousLoad::Tile,
        ContiguousLoad::Vec4Tile,
        ContiguousLoad::Registers,
    );
    let kernels = [
        DirectKernel::Tiled,
        seg(256, 0, tile, 256, 0),
        seg(64, 0, regs, 64, 0),
        DirectKernel::default(),
        seg(128, 12, vec4, 64, 8),
        // 4-point segments: lines of more than 256 points exceed the unrolled
        // carry scans (the loop form).
        seg(256, 4, tile, 512, 4),
    ];
    let Some(ctx) = context(true) else { return };
    let fast = context(false);
    for (i, shape) in [
        [17, 33, 65],
        [1, 24, 24],
        [24, 1, 1],
        [1, 1, 300],
        [3, 100, 2],
        [300, 2, 5],
        [5, 7, 36],
        [2, 3, 100],
        [3, 2, 68],
        [2, 1, 4],
    ]
    .into_iter()
    .enumerate()
    {
        // Every boundary on every axis across the three triples.
        for bc in [
            [Bc::Periodic, Bc::Zero, Bc::Mirror],
            [Bc::Mirror, Bc::Periodic, Bc::Zero],
            [Bc::Zero, Bc::Mirror, Bc::Periodic],
        ] {
            let c = rng.uniform_vec(shape.iter().product(), -1.0, 1.0);
            let m = std::array::from_fn(|a| dense(&B, shape[a], bc[a], false));
            let f = f32s(&apply_ref(&m, shape, &c));
            for (ki, k) in kernels.into_iter().enumerate() {
                // The vec4 load paths (kernels 3, 4) fall back to the tile of
                // kernel 1 unless the contiguous lines are a multiple of 4 long.
                if (ki == 3 || ki == 4) && !shape[2].is_multiple_of(4) {
                    continue;
                }
                // Bounds checks on for every case, off (the fast path) for some.
                let ctxs: Vec<&GpuContext> = if i % 3 == 0 {
                    std::iter::once(&ctx).chain(fast.as_ref()).collect()
                } else {
                    vec![&ctx]
                };
                for cx in ctxs {
                    let got = direct(cx, shape, bc, k, &f).unwrap();
                    let err = max_rel(&got, &c);
                    assert!(
                        err < 2e-5,
                        "{shape:?} {bc:?} {k:?} checked={}: {err:e}",
                        cx.checked()
                    );
                }
            }
        }
    }
}

#[test]
fn vector_ops_and_slots() {
    let mut rng = SplitMix64(4);
    for ctx in contexts() {
        let shape = [3, 17, 23];
        let ops = GpuOps::new(&ctx, shape).unwrap();
        let n = ops.len();
        let x = rng.uniform_vec(n, -1.0, 1.0);
        let y = rng.uniform_vec(n, -1.0, 1.0);
        let xv = ops.upload(&f32s(&x)).unwrap();
        let yv = ops.upload(&f32s(&y)).unwrap();
        let dot: f64 = x.iter().zip(&y).map(|(a, b)| a * b).sum();
        let (s0, s1, s2) = (Slot(0), Slot(1), Slot(2));
        ops.dot(&xv, &yv, s0).unwrap();
        let got = ops.read_slot(s0).unwrap();
        assert!((got - dot).abs() < 1e-5 * n as f64, "dot {got} vs {dot}");
        ops.set_slot(s1, 2.5).unwrap();
        ops.set_slot(s2, -0.5).unwrap();
        assert_eq!(ops.read_slot(s1).unwrap(), 2.5);
        let cases = [
            (Coef::Const(0.75), Coef::Const(-1.25), 0.75, -1.25),
            (Coef::Slot(s1), Coef::Const(0.0), 2.5, 0.0),
            (Coef::Ratio(s1, s2), Coef::Slot(s2), -5.0, -0.5),
            (Coef::NegRatio(s1, s2), Coef::Const(1.0), 5.0, 1.0),
        ];
        for (a, b, av, bv) in cases {
            let mut w = ops.upload(&f32s(&y)).unwrap();
            ops.axpby(a, &xv, b, &mut w).unwrap();
            let want: Vec<f64> = x.iter().zip(&y).map(|(p, q)| av * p + bv * q).collect();
            let err = max_rel(&ops.download(&w).unwrap(), &want);
            assert!(err < 1e-6, "{a:?} {b:?}: {err:e}");
        }
        let mut w = ops.alloc().unwrap();
        ops.copy(&xv, &mut w).unwrap();
        assert_eq!(ops.download(&w).unwrap(), f32s(&x));
        let mut c = ops.alloc().unwrap();
        ops.shader_copy(&xv, &mut c).unwrap();
        assert_eq!(ops.download(&c).unwrap(), f32s(&x));
        // An out-of-range slot is an error, not an access to other memory.
        assert!(matches!(
            ops.read_slot(Slot(10_000)),
            Err(FitError::InvalidParameter { .. })
        ));
    }
}

/// `gpu::prefilter` against scipy's `ndimage.spline_filter` (the committed
/// fixtures of `tools/gen_grid3_fixtures.py`), every case in one batch.
#[test]
fn prefilter_matches_scipy_fixtures() {
    let text = include_str!("fixtures/grid3/spline_filter.json");
    let v: serde_json::Value = serde_json::from_str(text).unwrap();
    let nums = |x: &serde_json::Value| -> Vec<f64> {
        x.as_array()
            .unwrap()
            .iter()
            .map(|e| e.as_f64().unwrap())
            .collect()
    };
    for ctx in contexts() {
        for case in v["cases"].as_array().unwrap() {
            let shape: Vec<usize> = nums(&case["shape"]).iter().map(|&s| s as usize).collect();
            let bc = Bc::from_name(case["boundary"].as_str().unwrap()).unwrap();
            let f = ndarray::Array3::from_shape_vec(
                (shape[0], shape[1], shape[2]),
                f32s(&nums(&case["values"])),
            )
            .unwrap();
            let want = nums(&case["coefficients"]);
            let got =
                bsfit::grid3::gpu::prefilter_batch(&ctx, &[f.view(), f.view()], [bc; 3]).unwrap();
            for g in &got {
                let err = max_rel(g.as_slice().unwrap(), &want);
                assert!(err < 2e-5, "{shape:?} {bc:?}: {err:e}");
            }
        }
    }
}

#[test]
fn prefilter_rejects_bad_input_with_errors() {
    let Some(ctx) = context(false) else { return };
    let mut f = ndarray::Array3::<f32>::zeros((3, 4, 5));
    f[[1, 2, 3]] = f32::NAN;
    match bsfit::grid3::gpu::prefilter(&ctx, f.view(), [Bc::Periodic; 3]) {
        Err(bsfit::FitError::NonFiniteValue { index, .. }) => assert_eq!(index, vec![1, 2, 3]),
        other => panic!("expected NonFiniteValue, got {other:?}"),
    }
    let e = ndarray::Array3::<f32>::zeros((3, 0, 5));
    assert!(matches!(
        bsfit::grid3::gpu::prefilter(&ctx, e.view(), [Bc::Zero; 3]),
        Err(bsfit::FitError::AxisTooShort { axis: 1, .. })
    ));
    // A grid beyond the storage binding limit is an error, not a panic.
    let too_big = ctx.limits().max_storage_buffer_binding_size as usize / 4 + 1;
    assert!(matches!(
        GpuOps::new(&ctx, [too_big, 1, 1]),
        Err(bsfit::FitError::Gpu(_))
    ));
}

fn field(shape: [usize; 3], seed: u64) -> ndarray::Array3<f32> {
    let mut rng = SplitMix64(seed);
    ndarray::Array3::from_shape_fn((shape[0], shape[1], shape[2]), |_| {
        rng.uniform(-1.0, 1.0) as f32
    })
}

/// The shared solvers on the device against the same solvers on the CPU (f32):
/// both converge, iteration counts agree within a few (f32 reductions are
/// summed in a different order), and the coefficients agree with the exact f64
/// solve to what the tolerance allows (cond(B) ≤ 27, cond(B²) ≤ 729).
#[test]
fn gpu_solvers_match_cpu_solvers() {
    use bsfit::grid3::{Formulation, Method, SolveOptions, StencilForm};
    let Some(ctx) = context(false) else { return };
    let shape = [12, 10, 14];
    for bc in [[Bc::Periodic; 3], [Bc::Periodic, Bc::Zero, Bc::Mirror]] {
        let f = field(shape, 7);
        let f64v = f.mapv(|v| v as f64);
        let exact = bsfit::grid3::prefilter(f64v.view(), bc).unwrap();
        let cases = [
            (Method::Jacobi, Formulation::Interpolate),
            (Method::Chebyshev, Formulation::Interpolate),
            (Method::Cg, Formulation::Interpolate),
            (Method::Pcg3, Formulation::Interpolate),
            (Method::Pcg5, Formulation::Interpolate),
            (Method::Cg, Formulation::NormalEquations),
            (Method::Pcg5, Formulation::NormalEquations),
            (Method::Relaxation, Formulation::Interpolate),
            (Method::Direct, Formulation::Interpolate),
        ];
        for (m, form) in cases {
            for sf in [StencilForm::Direct, StencilForm::Separable] {
                let mut o = SolveOptions::new(m, form);
                o.common.tol = 1e-5;
                o.common.check_every = 3;
                o.form = sf;
                let (cg, rg) = bsfit::grid3::gpu::solve(&ctx, f.view(), bc, &o)
                    .unwrap_or_else(|e| panic!("gpu {m:?} {form:?} {bc:?}: {e}"));
                let (_, rc) = bsfit::grid3::solve(f.view(), bc, &o)
                    .unwrap_or_else(|e| panic!("cpu {m:?} {form:?} {bc:?}: {e}"));
                let (ig, ic) = (rg.info.iterations, rc.info.iterations);
                assert!(
                    ig.abs_diff(ic) <= 3 + ic / 20,
                    "{m:?} {form:?} {bc:?}: gpu {ig} vs cpu {ic} iterations"
                );
                // ‖c − c*‖/‖c*‖ ≤ cond · (data residual); data residual ≲ 4·tol here.
                let bound: f64 = 27.0 * 4e-5;
                let want = exact.as_slice().unwrap();
                let err = max_rel(cg.as_slice().unwrap(), want);
                assert!(
                    err < bound.max(3e-6),
                    "{m:?} {form:?} {bc:?}: coefficient error {err:e}"
                );
                assert!(rg.data_residual < 2e-5, "{m:?}: {}", rg.data_residual);
            }
        }
    }
}

/// Offload discipline: an iteration records dispatches only. Two CG solves that
/// differ only in their iteration count create the same number of buffers and
/// bind groups and upload the same number of times; the host reads exactly one
/// scalar at the start, one per convergence check and the result once.
#[test]
fn iterations_allocate_nothing_and_read_one_scalar_per_check() {
    use bsfit::grid3::{Method, SolveOptions};
    let Some(ctx) = context(false) else { return };
    let f = field([16, 16, 16], 9);
    let mut runs = Vec::new();
    for (tol, method) in [(1e-2, Method::Cg), (1e-6, Method::Cg), (1e-6, Method::Pcg5)] {
        let mut o = SolveOptions::new(method, Default::default());
        o.common.tol = tol;
        o.common.check_every = 4;
        // Warm the pipeline cache so compilation is not counted.
        bsfit::grid3::gpu::solve(&ctx, f.view(), [Bc::Periodic; 3], &o).unwrap();
        let before = ctx.counters();
        let (_, rep) = bsfit::grid3::gpu::solve(&ctx, f.view(), [Bc::Periodic; 3], &o).unwrap();
        let after = ctx.counters();
        let checks = rep.info.history.len() as u64;
        assert_eq!(checks, rep.info.iterations.div_ceil(4) as u64 + 1);
        assert_eq!(
            after.round_trips - before.round_trips,
            1 + checks + 1,
            "reads: initial norm, one per check, the download"
        );
        runs.push((
            rep.info.iterations,
            after.allocations - before.allocations,
            after.dispatches - before.dispatches,
            after.uploads - before.uploads,
        ));
    }
    let (it_lo, alloc_lo, disp_lo, up_lo) = runs[0];
    let (it_hi, alloc_hi, disp_hi, up_hi) = runs[1];
    assert!(it_hi > it_lo + 8, "{runs:?}");
    assert_eq!(
        alloc_lo, alloc_hi,
        "allocations must not grow with iterations"
    );
    // Slot initialisation, the data, the separable operator's table: set-up only.
    assert_eq!(
        (up_lo, up_hi),
        (3, 3),
        "uploads must not grow with iterations"
    );
    assert!(disp_hi > disp_lo);
    // PCG builds its preconditioner's table and temporaries once, at set-up.
    assert!(
        runs[2].1 > alloc_hi && runs[2].1 < alloc_hi + 16,
        "{runs:?}"
    );
}

/// Grids above the storage-binding limit are solved in slabs: with the limit
/// capped at 4 KiB, grids of 5–6 KiB go through the slab path and must still
/// invert B exactly (every boundary); a grid whose single plane exceeds the cap
/// is an error.
#[test]
fn direct_solve_in_slabs_above_the_binding_limit_and_batches_in_one_submission() {
    let Some(ctx) = (match GpuContext::with_options(&GpuOptions {
        max_binding: Some(4096),
        ..Default::default()
    }) {
        Ok(c) => Some(c),
        Err(e) => {
            assert!(
                !std::env::var("BSFIT_REQUIRE_GPU").is_ok_and(|v| v == "1"),
                "{e}"
            );
            eprintln!("skipping GPU test: {e}");
            None
        }
    }) else {
        return;
    };
    let mut rng = SplitMix64(11);
    for shape in [[20, 6, 10], [9, 33, 5], [40, 4, 8]] {
        for bc in [
            [Bc::Periodic; 3],
            [Bc::Zero, Bc::Mirror, Bc::Periodic],
            [Bc::Mirror, Bc::Periodic, Bc::Zero],
        ] {
            let c = rng.uniform_vec(shape.iter().product(), -1.0, 1.0);
            assert!(c.len() * 4 > 4096);
            let m = std::array::from_fn(|a| dense(&B, shape[a], bc[a], false));
            let f = apply_ref(&m, shape, &c);
            let fa =
                ndarray::Array3::from_shape_vec((shape[0], shape[1], shape[2]), f32s(&f)).unwrap();
            let got = bsfit::grid3::gpu::prefilter(&ctx, fa.view(), bc).unwrap();
            let err = max_rel(got.as_slice().unwrap(), &c);
            assert!(err < 2e-5, "{shape:?} {bc:?}: {err:e}");
        }
    }
    // A batch mixing grids solved in slabs and whole: one submission, each
    // result equal to its grid's reference.
    let shapes = [[20, 6, 10], [3, 4, 5], [9, 33, 5], [1, 1, 1]];
    let bc = [Bc::Mirror, Bc::Zero, Bc::Periodic];
    let mut want = Vec::new();
    let mut inputs = Vec::new();
    for shape in shapes {
        let c = rng.uniform_vec(shape.iter().product(), -1.0, 1.0);
        let m = std::array::from_fn(|a| dense(&B, shape[a], bc[a], false));
        let f = apply_ref(&m, shape, &c);
        inputs.push(
            ndarray::Array3::from_shape_vec((shape[0], shape[1], shape[2]), f32s(&f)).unwrap(),
        );
        want.push(c);
    }
    let views: Vec<_> = inputs.iter().map(|a| a.view()).collect();
    let before = ctx.counters();
    let got = bsfit::grid3::gpu::prefilter_batch(&ctx, &views, bc).unwrap();
    assert_eq!(
        ctx.counters().submissions - before.submissions,
        1,
        "one submission"
    );
    for ((g, c), shape) in got.iter().zip(&want).zip(shapes) {
        assert_eq!(g.dim(), (shape[0], shape[1], shape[2]));
        let err = max_rel(g.as_slice().unwrap(), c);
        assert!(err < 2e-5, "batch {shape:?}: {err:e}");
    }
    // A bad grid fails the batch with the CPU prefilter's error.
    let mut bad = inputs[1].clone();
    bad[[1, 2, 3]] = f32::NAN;
    assert!(matches!(
        bsfit::grid3::gpu::prefilter_batch(&ctx, &[inputs[0].view(), bad.view()], bc),
        Err(bsfit::FitError::NonFiniteValue { .. })
    ));
    let big_plane = ndarray::Array3::<f32>::zeros((2, 40, 40));
    assert!(matches!(
        bsfit::grid3::gpu::prefilter(&ctx, big_plane.view(), [Bc::Periodic; 3]),
        Err(bsfit::FitError::Gpu(_))
    ));
}

/// Every public device entry point of the 3D path handed a vector of another
/// size, a vector of another context, or a backend of another shape or
/// context returns `InvalidParameter` before recording anything: no dispatch
/// is counted and the vector handed in keeps its contents. (A `DirectPlan`
/// for 16³ recorded on a 64-element vector used to rewrite it.)
#[test]
fn device_plans_and_operators_refuse_vectors_of_another_size() {
    use bsfit::grid3::backend::{Residual, Squared};
    use bsfit::grid3::solvers::cg;
    let (Some(ctx), Some(other)) = (context(false), context(false)) else {
        return;
    };
    let small = GpuOps::new(&ctx, [4, 4, 4]).unwrap();
    let ops = GpuOps::new(&ctx, [16, 16, 16]).unwrap();
    let foreign = GpuOps::new(&other, [16, 16, 16]).unwrap();
    let data: Vec<f32> = (0..64).map(|i| i as f32 * 0.25 - 3.0).collect();
    let full: Vec<f32> = (0..4096).map(|i| (i % 17) as f32 - 8.0).collect();
    let mut short = small.upload(&data).unwrap();
    let x = ops.upload(&full).unwrap();
    let mut y = ops.upload(&full).unwrap();
    let mut alien = foreign.upload(&full).unwrap();
    let invalid = |r: Result<(), FitError>, what: &str| {
        assert!(
            matches!(r, Err(FitError::InvalidParameter { .. })),
            "{what}: {r:?}"
        );
    };
    // Refusals must record nothing: dispatches are counted per context.
    let quiet = |what: &str, f: &mut dyn FnMut()| {
        let before = ctx.counters().dispatches;
        f();
        assert_eq!(ctx.counters().dispatches, before, "{what} recorded work");
    };

    let plan = DirectPlan::new(&ctx, [16, 16, 16], [Bc::Periodic; 3]).unwrap();
    quiet("direct plan", &mut || {
        invalid(plan.record(&ops, &short), "64 values for 16³");
        invalid(plan.record(&ops, &alien), "a vector of another context");
        invalid(plan.record(&foreign, &x), "a backend of another context");
    });
    // Not a panic: an empty axis, a grid of 2^32 points.
    for shape in [[0, 4, 4], [1 << 16, 1 << 16, 1]] {
        assert!(matches!(
            DirectPlan::new(&ctx, shape, [Bc::Zero; 3]),
            Err(FitError::InvalidParameter { .. })
        ));
    }

    for form in [GpuForm::Fused27, GpuForm::Separable] {
        let b = GpuStencil::bspline(&ops, [Bc::Mirror; 3], true, form).unwrap();
        let band = GpuBand::separable(&ops, &[0.1, 0.8, 0.1], [Bc::Zero; 3], false).unwrap();
        quiet("operators", &mut || {
            invalid(b.apply(&ops, &short, &mut y), "stencil x");
            invalid(b.apply(&ops, &x, &mut short), "stencil y");
            invalid(
                b.apply(&ops, &alien, &mut y),
                "stencil x of another context",
            );
            invalid(b.apply(&small, &x, &mut y), "stencil on another shape");
            invalid(b.apply(&foreign, &x, &mut y), "stencil on another context");
            invalid(LinearOperator::apply(&band, &ops, &short, &mut y), "band x");
            invalid(Preconditioner::apply(&band, &ops, &x, &mut short), "band z");
            invalid(
                Preconditioner::apply(&band, &small, &x, &mut y),
                "band shape",
            );
            invalid(
                Preconditioner::apply(&band, &ops, &x, &mut alien),
                "band context",
            );
        });
        let sq = Squared::new(&ops, &b, 0.125).unwrap();
        quiet("squared", &mut || {
            invalid(sq.apply(&ops, &short, &mut y), "B² x");
        });
        // The same vectors of the right size and context work.
        b.apply(&ops, &x, &mut y).unwrap();
    }

    quiet("vector operations", &mut || {
        invalid(ops.copy(&short, &mut y), "copy src");
        invalid(ops.copy(&x, &mut short), "copy dst");
        invalid(ops.copy(&alien, &mut y), "copy of another context");
        invalid(
            ops.axpby(Coef::Const(1.0), &short, Coef::Const(1.0), &mut y),
            "axpby x",
        );
        invalid(
            ops.axpby(Coef::Const(1.0), &x, Coef::Const(1.0), &mut short),
            "axpby y",
        );
        invalid(
            ops.axpby(Coef::Slot(Slot(99)), &x, Coef::Const(1.0), &mut y),
            "axpby slot",
        );
        invalid(ops.dot(&x, &short, Slot(0)), "dot y");
        invalid(ops.dot(&alien, &x, Slot(0)), "dot of another context");
        invalid(ops.dot(&x, &y, Slot(99)), "dot slot");
        invalid(ops.set_slot(Slot(99), 1.0), "set_slot");
        invalid(ops.shader_copy(&short, &mut y), "shader_copy x");
        invalid(ops.shader_copy(&x, &mut alien), "shader_copy y");
        invalid(ops.write(&short, &full), "write to a short vector");
        invalid(ops.write(&y, &data), "write of 64 values");
    });
    assert!(matches!(
        ops.upload(&data),
        Err(FitError::InvalidParameter { .. })
    ));
    assert!(ops.download(&short).is_err());
    assert!(ops.download(&alien).is_err());
    assert!(ops.read_slot(Slot(99)).is_err());

    // The shared solvers stop at the first refused operation.
    let b = GpuStencil::bspline(&ops, [Bc::Periodic; 3], true, GpuForm::Fused27).unwrap();
    quiet("solver", &mut || {
        let r = cg::solve(
            &ops,
            &b,
            None,
            &short,
            &mut y,
            &Residual::System,
            &cg::Params::default(),
        );
        assert!(matches!(r, Err(FitError::InvalidParameter { .. })), "{r:?}");
    });

    // Nothing refused above touched the vectors.
    assert_eq!(small.download(&short).unwrap(), data);
    assert_eq!(ops.download(&x).unwrap(), full);
    assert_eq!(foreign.download(&alien).unwrap(), full);
}
