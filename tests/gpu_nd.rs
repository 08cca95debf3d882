//! Device tensor splines and the device fit against the CPU (small sizes;
//! lavapipe in CI).
//!
//! Oracles: the CPU evaluation of the same spline (`TensorSpline::eval_deriv`
//! under each extrapolation policy) and the CPU fit (`Fitter::fit_into`).
//! Tolerances: f64 1e-12, f32 1e-5, each relative to `|cpu| + scale`, where
//! `scale` is the largest finite magnitude of that output over the batch (a
//! derivative that crosses zero is compared at the scale of its neighbours).
//!
//! Without an adapter the tests skip with a printed reason, unless
//! `BSFIT_REQUIRE_GPU=1` (CI), where they fail. The f64 cases skip (with a
//! message) on adapters without `SHADER_F64`.
#![cfg(feature = "gpu")]

use bsfit::gpu::{GpuContext, GpuOptions};
use bsfit::tensor::gpu::{Derivs, DeviceArray, GpuFitter, GpuReal, GpuSpline, RowLayout};
use bsfit::{Extrapolate, FitError, Fitter, TensorSpline};
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

/// Sites of one axis: uniform (step 0.5 from −1) or random steps in [0.2, 1].
fn sites(n: usize, uniform: bool, rng: &mut SplitMix64) -> Vec<f64> {
    let mut x = Vec::with_capacity(n);
    let mut v = -0.7;
    for i in 0..n {
        if uniform {
            x.push(-1.0 + 0.5 * i as f64);
        } else {
            x.push(v);
            v += rng.uniform(0.2, 1.0);
        }
    }
    x
}

/// A CPU spline fitted to random values on a grid of `shape`; axis `k` is
/// uniform when bit `k` of `uniform_mask` is set.
fn cpu_spline<const D: usize>(shape: [usize; D], uniform_mask: u32, seed: u64) -> TensorSpline<D> {
    let mut rng = SplitMix64::new(seed);
    let axes: Vec<Vec<f64>> = (0..D)
        .map(|k| sites(shape[k], uniform_mask >> k & 1 == 1, &mut rng))
        .collect();
    let refs: [&[f64]; D] = std::array::from_fn(|k| &axes[k][..]);
    let fitter = Fitter::new(refs).unwrap();
    let total: usize = shape.iter().product();
    let values = rng.uniform_vec(total, -1.0, 1.0);
    let mut coefs = vec![0.0; total];
    fitter.fit_into(&values, &mut coefs).unwrap();
    let knots = std::array::from_fn(|k| fitter.knots(k).to_vec());
    TensorSpline::from_parts(knots, coefs).unwrap()
}

/// Random points reaching 30% of the extent outside each side, each axis'
/// end sites exactly, points far outside on each side of each axis, and a
/// NaN coordinate.
///
/// `near` is the relative distance of the "just outside" points: it must
/// survive rounding the points to the evaluation's precision.
fn points<const D: usize>(
    s: &TensorSpline<D>,
    count: usize,
    seed: u64,
    near: f64,
) -> Vec<[f64; D]> {
    let mut rng = SplitMix64::new(seed);
    let dom = s.domain();
    let inside = |rng: &mut SplitMix64, k: usize| rng.uniform(dom[k].0, dom[k].1);
    let mut p: Vec<[f64; D]> = (0..count)
        .map(|_| {
            std::array::from_fn(|k| {
                let (lo, hi) = dom[k];
                let w = hi - lo;
                rng.uniform(lo - 0.3 * w, hi + 0.3 * w)
            })
        })
        .collect();
    for k in 0..D {
        let (lo, hi) = dom[k];
        let w = hi - lo;
        for v in [
            lo,
            hi,
            lo - 0.75 * w,
            hi + 0.75 * w,
            lo - near * w,
            hi + near * w,
        ] {
            let mut q: [f64; D] = std::array::from_fn(|j| inside(&mut rng, j));
            q[k] = v;
            p.push(q);
        }
    }
    let mut q: [f64; D] = std::array::from_fn(|j| inside(&mut rng, j));
    q[D - 1] = f64::NAN;
    p.push(q);
    p
}

/// Asserts `gpu` (point-major, one column per order tuple) equals the CPU
/// evaluation under `policy` at the points (as rounded to `T`).
fn compare<const D: usize, T: GpuReal>(
    s: &TensorSpline<D>,
    pts: &[[T; D]],
    orders: &[[usize; D]],
    gpu: &[T],
    tol: f64,
    what: &str,
) {
    let m = orders.len();
    assert_eq!(gpu.len(), pts.len() * m, "{what}: output length");
    for (j, o) in orders.iter().enumerate() {
        let cpu: Vec<f64> = pts
            .iter()
            .map(|p| s.eval_deriv(p.map(|v| v.to_f64()), *o))
            .collect();
        let scale = cpu
            .iter()
            .filter(|v| v.is_finite())
            .fold(0.0f64, |a, v| a.max(v.abs()));
        for (i, c) in cpu.iter().enumerate() {
            let g = gpu[i * m + j].to_f64();
            if c.is_nan() {
                assert!(
                    g.is_nan(),
                    "{what}: orders {o:?} point {:?}: cpu NaN, gpu {g} (domain {:?})",
                    pts[i],
                    s.domain()
                );
                continue;
            }
            let err = (g - c).abs();
            assert!(
                err <= tol * (c.abs() + scale),
                "{what}: orders {o:?} point {:?}: gpu {g:e} cpu {c:e} (err {err:e}, scale {scale:e})",
                pts[i]
            );
        }
    }
}

/// The order tuples tested for `D`: every tuple in 0..=3 up to D = 3 (and an
/// order 4); for D = 4 every single-axis order and a spread of mixed ones.
fn order_set<const D: usize>() -> Vec<[usize; D]> {
    if D <= 3 {
        let mut v: Vec<[usize; D]> = (0..4usize.pow(D as u32))
            .map(|mut i| {
                std::array::from_fn(|_| {
                    let d = i % 4;
                    i /= 4;
                    d
                })
            })
            .collect();
        if D < 3 {
            v.push(std::array::from_fn(|k| if k == 0 { 4 } else { 0 }));
        }
        v
    } else {
        let mut v = vec![[0; D]];
        for k in 0..D {
            for o in 1..=3 {
                let mut t = [0; D];
                t[k] = o;
                v.push(t);
            }
        }
        for t in [
            [1, 1, 1, 1],
            [2, 2, 2, 2],
            [3, 3, 3, 3],
            [3, 0, 2, 1],
            [0, 3, 1, 2],
            [1, 2, 3, 0],
            [2, 1, 0, 3],
            [4, 0, 1, 0],
        ] {
            v.push(std::array::from_fn(|k| t[k % 4]));
        }
        v
    }
}

fn near<T: GpuReal>() -> f64 {
    if T::NEEDS_F64 { 1e-9 } else { 1e-5 }
}

/// A short list for the other policies and the bounds-checked context: the
/// value, the gradient, all third orders, a mixed order and an order 4.
fn short_set<const D: usize>() -> Vec<[usize; D]> {
    let mut v = vec![[0; D]];
    v.extend_from_slice(Derivs::<D>::gradient().orders());
    v.push([3; D]);
    v.push(std::array::from_fn(|k| [2, 1, 0, 3][k % 4]));
    v.push(std::array::from_fn(|k| if k == D - 1 { 4 } else { 1 }));
    v
}

/// How much of the matrix one case covers (shader compiles dominate the
/// test's time on a software rasteriser, so the full matrix runs once per D).
#[derive(Clone, Copy, PartialEq)]
enum Cover {
    /// Every policy; the full order set under the default one; the
    /// convenience calls.
    Full,
    /// Every policy with the short order list.
    Policies,
    /// The default policy with the short order list.
    Short,
}

fn eval_case<const D: usize, T: GpuReal>(
    ctx: &GpuContext,
    shape: [usize; D],
    mask: u32,
    tol: f64,
    cover: Cover,
    layout: RowLayout,
) {
    let s = cpu_spline(shape, mask, 7 + D as u64 + mask as u64);
    let pts64 = points(&s, 200, 11, near::<T>());
    let pts: Vec<[T; D]> = pts64.iter().map(|p| p.map(T::from_f64)).collect();
    let dev = GpuSpline::<D, T>::new(ctx, &s)
        .unwrap()
        .with_row_layout(layout)
        .unwrap();
    assert_eq!(dev.row_layout(), layout);
    // The device holds knots and coefficients rounded to T: so does the
    // reference (in f32 an end site rounds up or down, which moves the domain).
    let s = TensorSpline::from_parts(
        std::array::from_fn(|k| {
            s.knots(k)
                .iter()
                .map(|&v| T::from_f64(v).to_f64())
                .collect()
        }),
        s.coefficients_slice()
            .iter()
            .map(|&v| T::from_f64(v).to_f64())
            .collect(),
    )
    .unwrap();
    let policies: &[Extrapolate] = if cover == Cover::Short {
        &[Extrapolate::Polynomial]
    } else {
        &[
            Extrapolate::Polynomial,
            Extrapolate::Clamp,
            Extrapolate::Nan,
        ]
    };
    for &policy in policies {
        let orders = if cover == Cover::Full && policy == Extrapolate::Polynomial {
            order_set::<D>()
        } else {
            short_set::<D>()
        };
        let dev = GpuSpline::<D, T>::new(ctx, &s)
            .unwrap()
            .with_row_layout(layout)
            .unwrap()
            .with_extrapolate(policy)
            .unwrap();
        let cpu = s.clone().with_extrapolate(policy);
        let what = format!(
            "D={D} {} shape {shape:?} uniform mask {mask:#b} {policy:?} {layout:?} rows",
            T::WGSL
        );
        let out = dev
            .eval_derivs(&pts, &Derivs::list(&orders).unwrap())
            .unwrap();
        compare(&cpu, &pts, &orders, &out, tol, &what);
    }
    if cover != Cover::Full {
        return;
    }
    // The convenience calls agree with the general one.
    let v = dev.eval(&pts).unwrap();
    compare(&s, &pts, &[[0; D]], &v, tol, "eval");
    let g = dev.eval_grad(&pts).unwrap();
    let flat: Vec<T> = g.iter().flatten().copied().collect();
    compare(
        &s,
        &pts,
        Derivs::<D>::gradient().orders(),
        &flat,
        tol,
        "eval_grad",
    );
    let mut o = [0; D];
    o[0] = 2;
    let d = dev.eval_deriv(&pts, o).unwrap();
    compare(&s, &pts, &[o], &d, tol, "eval_deriv");
}

/// Mixed uniform / non-uniform axes with the full matrix; all non-uniform
/// and all uniform axes with the short list; D = 1..=4, and 6 once.
fn eval_all<T: GpuReal>(ctx: &GpuContext, tol: f64, full: bool, layout: RowLayout) {
    for (mask, cover) in [
        (0b0101, Cover::Full),
        (0, Cover::Policies),
        (0b1111, Cover::Short),
    ] {
        let cover = if full { cover } else { Cover::Short };
        eval_case::<1, T>(ctx, [7], mask, tol, cover, layout);
        eval_case::<1, T>(ctx, [40], mask, tol, cover, layout);
        eval_case::<2, T>(ctx, [5, 9], mask, tol, cover, layout);
        eval_case::<3, T>(ctx, [4, 6, 5], mask, tol, cover, layout);
        eval_case::<4, T>(ctx, [5, 4, 6, 7], mask, tol, cover, layout);
    }
    eval_case::<6, T>(ctx, [4, 5, 4, 4, 5, 4], 0b101010, tol, Cover::Short, layout);
    // Rows are read as aligned vectors of 2 or 4: tables of 30 and 35
    // coefficients (≡ 2 and 3 mod 4) put the last row's vectors in the
    // padding, and odd strides give every row every alignment.
    eval_case::<2, T>(ctx, [6, 5], 0b01, tol, Cover::Short, layout);
    eval_case::<2, T>(ctx, [5, 7], 0b10, tol, Cover::Short, layout);
    eval_case::<3, T>(ctx, [4, 4, 5], 0, tol, Cover::Short, layout);
}

#[test]
fn device_eval_matches_cpu_f32() {
    let Some(ctx) = context(false) else { return };
    for layout in [RowLayout::Packed, RowLayout::Expanded] {
        eval_all::<f32>(&ctx, 1e-5, true, layout);
    }
}

#[test]
fn device_eval_matches_cpu_f64() {
    for checked in [false, true] {
        let Some(ctx) = context(checked) else { return };
        if !ctx.supports_f64() {
            eprintln!("skipping f64: {} has no SHADER_F64", ctx.name());
            return;
        }
        // With bounds checks on: the short order lists.
        for layout in [RowLayout::Packed, RowLayout::Expanded] {
            eval_all::<f64>(&ctx, 1e-12, !checked, layout);
        }
    }
}

fn fit_case<const D: usize, T: GpuReal>(ctx: &GpuContext, shape: [usize; D], mask: u32, tol: f64) {
    let mut rng = SplitMix64::new(3 + mask as u64);
    let axes: Vec<Vec<f64>> = (0..D)
        .map(|k| sites(shape[k], mask >> k & 1 == 1, &mut rng))
        .collect();
    let refs: [&[f64]; D] = std::array::from_fn(|k| &axes[k][..]);
    let fitter = Fitter::new(refs).unwrap();
    let total: usize = shape.iter().product();
    let mut plan = GpuFitter::<D, T>::new(ctx, &fitter).unwrap();
    for rep in 0..2 {
        let values = rng.uniform_vec(total, -1.0, 1.0);
        // f32: the CPU fits the values as rounded to f32.
        let rounded: Vec<f64> = values.iter().map(|&v| T::from_f64(v).to_f64()).collect();
        let mut cpu = vec![0.0; total];
        fitter.fit_into(&rounded, &mut cpu).unwrap();
        plan.fit_slice(&values).unwrap();
        let mut gpu = vec![T::from_f64(0.0); total];
        plan.read_coefficients(&mut gpu).unwrap();
        let scale = cpu.iter().fold(0.0f64, |a, v| a.max(v.abs()));
        for (i, (g, c)) in gpu.iter().zip(&cpu).enumerate() {
            let err = (g.to_f64() - c).abs();
            assert!(
                err <= tol * scale,
                "fit D={D} {} shape {shape:?} mask {mask:#b} rep {rep}: coefficient {i}: gpu {:e} cpu {c:e} (err {err:e}, scale {scale:e})",
                T::WGSL,
                g.to_f64()
            );
        }
        // The plan's coefficients evaluated in place on the device.
        let spline =
            TensorSpline::from_parts(std::array::from_fn(|k| fitter.knots(k).to_vec()), cpu)
                .unwrap();
        let pts: Vec<[T; D]> = points(&spline, 50, 5, near::<T>())
            .iter()
            .map(|p| p.map(T::from_f64))
            .collect();
        // The plan's own layout, then expanded rows rebuilt from its array.
        for (layout, what) in [
            (None, "device fit, device eval"),
            (
                Some(RowLayout::Expanded),
                "device fit, device eval, expanded rows",
            ),
        ] {
            let mut dev = plan.spline(Extrapolate::Polynomial).unwrap();
            if let Some(layout) = layout {
                dev = dev.with_row_layout(layout).unwrap();
            }
            let v = dev.eval(&pts).unwrap();
            compare(&spline, &pts, &[[0; D]], &v, 10.0 * tol, what);
        }
        let host = plan.to_spline().unwrap();
        assert_eq!(host.shape(), shape);
    }
}

/// A spline evaluating a plan's coefficients through expanded rows sees
/// every later fit (the rows are rebuilt before each evaluation); an owned
/// spline's layouts agree; `Auto` picks expanded rows for a small owned f32
/// table and packed rows for a plan's.
#[test]
fn expanded_rows_follow_device_fits() {
    let Some(ctx) = context(false) else { return };
    let shape = [6, 5, 7];
    let mut rng = SplitMix64::new(21);
    let axes: Vec<Vec<f64>> = (0..3).map(|k| sites(shape[k], k == 1, &mut rng)).collect();
    let fitter = Fitter::new([&axes[0][..], &axes[1][..], &axes[2][..]]).unwrap();
    let knots: [Vec<f64>; 3] = std::array::from_fn(|k| fitter.knots(k).to_vec());
    let total: usize = shape.iter().product();
    let plan = GpuFitter::<3, f32>::new(&ctx, &fitter).unwrap();
    assert_eq!(
        plan.spline(Extrapolate::Polynomial).unwrap().row_layout(),
        RowLayout::Packed
    );
    let dev = plan
        .spline(Extrapolate::Polynomial)
        .unwrap()
        .with_row_layout(RowLayout::Expanded)
        .unwrap();
    let cpu0 = cpu_spline(shape, 0b010, 4);
    let pts: Vec<[f32; 3]> = points(&cpu0, 60, 8, near::<f32>())
        .iter()
        .map(|p| p.map(|v| v as f32))
        .collect();
    for rep in 0..3 {
        let values: Vec<f32> = rng
            .uniform_vec(total, -1.0, 1.0)
            .iter()
            .map(|&v| v as f32)
            .collect();
        let rounded: Vec<f64> = values.iter().map(|&v| f64::from(v)).collect();
        let mut cpu = vec![0.0; total];
        fitter.fit_into(&rounded, &mut cpu).unwrap();
        let spline = TensorSpline::from_parts(knots.clone(), cpu).unwrap();
        plan.fit_device(&DeviceArray::from_slice(&ctx, &values).unwrap())
            .unwrap();
        let v = dev.eval(&pts).unwrap();
        compare(
            &spline,
            &pts,
            &[[0; 3]],
            &v,
            1e-4,
            &format!("expanded rows after device fit {rep}"),
        );
    }
    let owned = GpuSpline::<3, f32>::new(&ctx, &cpu0).unwrap();
    assert_eq!(owned.row_layout(), RowLayout::Expanded);
    let a = owned.eval(&pts).unwrap();
    let packed = owned.with_row_layout(RowLayout::Packed).unwrap();
    assert_eq!(packed.row_layout(), RowLayout::Packed);
    let b = packed.eval(&pts).unwrap();
    for (x, y) in a.iter().zip(&b) {
        assert!(
            (x - y).abs() <= 1e-5 * (1.0 + y.abs()) || (x.is_nan() && y.is_nan()),
            "{x} vs {y}"
        );
    }
}

fn fit_all<T: GpuReal>(ctx: &GpuContext, tol: f64) {
    for mask in [0, 0b1111] {
        fit_case::<1, T>(ctx, [4], mask, tol);
        fit_case::<1, T>(ctx, [33], mask, tol);
        // A contiguous line too long for a workgroup tile: the direct pass.
        fit_case::<1, T>(ctx, [9000], mask, tol);
        // A direct pass (stride 33) with full load chunks and a remainder.
        fit_case::<2, T>(ctx, [20, 33], mask, tol);
        fit_case::<2, T>(ctx, [37, 5], mask, tol);
        fit_case::<2, T>(ctx, [6, 40], mask, tol);
        fit_case::<3, T>(ctx, [7, 5, 9], mask, tol);
        // Strides 360 and 72 (direct), 9 and 1 (tiles).
        fit_case::<4, T>(ctx, [6, 5, 8, 9], mask, tol);
        fit_case::<4, T>(ctx, [4, 4, 4, 4], mask, tol);
        fit_case::<5, T>(ctx, [4, 5, 4, 6, 4], mask, tol);
    }
}

#[test]
fn device_fit_matches_cpu_f32() {
    let Some(ctx) = context(false) else { return };
    fit_all::<f32>(&ctx, 1e-5);
}

#[test]
fn device_fit_matches_cpu_f64() {
    for checked in [false, true] {
        let Some(ctx) = context(checked) else { return };
        if !ctx.supports_f64() {
            eprintln!("skipping f64: {} has no SHADER_F64", ctx.name());
            return;
        }
        fit_all::<f64>(&ctx, 1e-12);
    }
}

/// A refit creates nothing and uploads only the values; a device-array
/// evaluation creates and uploads nothing; device points give the same
/// results as host points.
#[test]
fn refit_and_device_eval_allocate_nothing() {
    let Some(ctx) = context(false) else { return };
    let s = cpu_spline([6, 5, 7], 0b010, 1);
    let fitter = Fitter::new([
        &[0.0, 1.0, 2.0, 3.5, 4.0, 5.0][..],
        &[0.0, 1.0, 2.0, 3.0, 4.0][..],
        &[0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0][..],
    ])
    .unwrap();
    let mut plan = GpuFitter::<3, f32>::new(&ctx, &fitter).unwrap();
    let values = vec![0.5; 6 * 5 * 7];
    plan.fit_slice(&values).unwrap();
    let mut out = vec![0.0f32; values.len()];
    plan.read_coefficients(&mut out).unwrap();
    let before = ctx.counters();
    for _ in 0..3 {
        plan.fit_slice(&values).unwrap();
    }
    plan.read_coefficients(&mut out).unwrap();
    let after = ctx.counters();
    assert_eq!(after.allocations, before.allocations, "refits allocated");
    assert_eq!(after.uploads - before.uploads, 3, "one upload per refit");
    // Constant values give constant coefficients (partition of unity).
    assert!(out.iter().all(|&c| (c - 0.5).abs() < 1e-6));

    let dev = GpuSpline::<3, f32>::new(&ctx, &s).unwrap();
    let pts: Vec<[f32; 3]> = points(&s, 100, 2, 1e-5)
        .iter()
        .map(|p| p.map(|v| v as f32))
        .collect();
    let host = dev
        .eval_derivs(&pts, &Derivs::value_and_gradient())
        .unwrap();
    let dp = DeviceArray::from_slice(&ctx, pts.as_flattened()).unwrap();
    let dout = DeviceArray::<f32>::zeroed(&ctx, pts.len() * 4).unwrap();
    dev.eval_device(&dp, &Derivs::value_and_gradient(), &dout)
        .unwrap();
    let before = ctx.counters();
    dev.eval_device(&dp, &Derivs::value_and_gradient(), &dout)
        .unwrap();
    let after = ctx.counters();
    assert_eq!(after.allocations, before.allocations);
    assert_eq!(after.uploads, before.uploads);
    let read = dout.read(&ctx).unwrap();
    for (a, b) in read.iter().zip(&host) {
        assert!(a == b || (a.is_nan() && b.is_nan()), "{a} vs {b}");
    }
}

#[test]
fn bad_input_is_an_error() {
    let Some(ctx) = context(false) else { return };
    let s = cpu_spline([5, 6], 0, 4);
    let dev = GpuSpline::<2, f32>::new(&ctx, &s).unwrap();
    let p = DeviceArray::<f32>::zeroed(&ctx, 7).unwrap();
    let out = DeviceArray::<f32>::zeroed(&ctx, 10).unwrap();
    assert!(matches!(
        dev.eval_device(&p, &Derivs::value(), &out),
        Err(FitError::InvalidParameter { name: "points", .. })
    ));
    let p = DeviceArray::<f32>::zeroed(&ctx, 8).unwrap();
    let small = DeviceArray::<f32>::zeroed(&ctx, 3).unwrap();
    assert!(matches!(
        dev.eval_device(&p, &Derivs::gradient(), &small),
        Err(FitError::InvalidParameter { name: "out", .. })
    ));
    assert!(matches!(
        Derivs::<2>::list(&[]),
        Err(FitError::InvalidParameter { .. })
    ));
    assert!(dev.eval(&[]).unwrap().is_empty());

    let x = [0.0, 1.0, 2.0, 3.0, 4.0];
    let fitter = Fitter::new([&x[..], &x[..]]).unwrap();
    let mut plan = GpuFitter::<2, f32>::new(&ctx, &fitter).unwrap();
    assert!(matches!(
        plan.fit_slice(&[0.0; 24]),
        Err(FitError::InvalidParameter { .. })
    ));
    let mut v = vec![0.0; 25];
    v[7] = f64::NAN;
    assert!(matches!(
        plan.fit_slice(&v),
        Err(FitError::NonFiniteValue { ref index, value }) if *index == [1, 2] && value.is_nan()
    ));
    let wrong = ndarray::Array2::<f64>::zeros((5, 4));
    assert!(matches!(
        plan.fit(wrong.view()),
        Err(FitError::ShapeMismatch { axis: 1, .. })
    ));
    // Values that overflow the solve in f32 are reported, not returned.
    plan.fit_slice(
        &[3e38; 25]
            .iter()
            .enumerate()
            .map(|(i, v)| if i % 2 == 0 { *v } else { -v })
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let mut c = vec![0.0f32; 25];
    assert!(matches!(
        plan.read_coefficients(&mut c),
        Err(FitError::NonFiniteResult { .. })
    ));
    if !ctx.supports_f64() {
        assert!(matches!(
            GpuSpline::<2, f64>::new(&ctx, &s),
            Err(FitError::Gpu(_))
        ));
    }
}

/// `fit_batch`: several value sets of one grid in one submission, each equal
/// to the CPU fit of that set (f64 ≤ 1e-12, f32 ≤ 1e-5 of the largest
/// coefficient) and evaluated in place; a second batch of no more sets
/// creates nothing, uploads one array per set and submits once; bad sets are
/// rejected before anything is uploaded, with the single fit's errors.
fn batch_case<T: GpuReal>(ctx: &GpuContext, tol: f64) {
    let mut rng = SplitMix64::new(41);
    let shape = [6, 5, 9];
    let axes: Vec<Vec<f64>> = (0..3).map(|k| sites(shape[k], k == 1, &mut rng)).collect();
    let fitter = Fitter::new([&axes[0][..], &axes[1][..], &axes[2][..]]).unwrap();
    let total: usize = shape.iter().product();
    let mut plan = GpuFitter::<3, T>::new(ctx, &fitter).unwrap();
    for (round, sets) in [3usize, 2, 3].into_iter().enumerate() {
        let values: Vec<Vec<f64>> = (0..sets)
            .map(|_| rng.uniform_vec(total, -1.0, 1.0))
            .collect();
        let refs: Vec<&[f64]> = values.iter().map(|v| &v[..]).collect();
        let before = ctx.counters();
        plan.fit_batch(&refs).unwrap();
        let after = ctx.counters();
        assert_eq!(after.submissions - before.submissions, 1, "one submission");
        assert_eq!(
            after.uploads - before.uploads,
            sets as u64,
            "one upload per set"
        );
        if round > 0 {
            assert_eq!(
                after.allocations, before.allocations,
                "batch {round} allocated"
            );
        }
        assert_eq!(plan.batch_len(), sets);
        assert!(plan.batch_coefficients(sets).is_none());
        for (i, v) in values.iter().enumerate() {
            let rounded: Vec<f64> = v.iter().map(|&x| T::from_f64(x).to_f64()).collect();
            let mut cpu = vec![0.0; total];
            fitter.fit_into(&rounded, &mut cpu).unwrap();
            let mut gpu = vec![T::from_f64(0.0); total];
            plan.read_batch_coefficients(i, &mut gpu).unwrap();
            let scale = cpu.iter().fold(0.0f64, |a, c| a.max(c.abs()));
            for (k, (g, c)) in gpu.iter().zip(&cpu).enumerate() {
                let err = (g.to_f64() - c).abs();
                assert!(
                    err <= tol * scale,
                    "batch {round} set {i} {}: coefficient {k}: gpu {:e} cpu {c:e}",
                    T::WGSL,
                    g.to_f64()
                );
            }
            let spline =
                TensorSpline::from_parts(std::array::from_fn(|k| fitter.knots(k).to_vec()), cpu)
                    .unwrap();
            let pts: Vec<[T; 3]> = points(&spline, 20, 3, near::<T>())
                .iter()
                .map(|p| p.map(T::from_f64))
                .collect();
            let dev = plan.batch_spline(i, Extrapolate::Polynomial).unwrap();
            let got = dev.eval(&pts).unwrap();
            compare(
                &spline,
                &pts,
                &[[0; 3]],
                &got,
                10.0 * tol,
                "batch fit, device eval",
            );
        }
    }
    // Errors: checked before any upload, as the single fit's.
    let good = vec![0.25; total];
    let mut bad = good.clone();
    bad[5 * 9 + 2] = f64::INFINITY;
    let before = ctx.counters();
    assert!(matches!(
        plan.fit_batch(&[&good, &bad]),
        Err(FitError::NonFiniteValue { ref index, value }) if *index == [1, 0, 2] && value.is_infinite()
    ));
    assert!(matches!(
        plan.fit_batch(&[&good, &good[1..]]),
        Err(FitError::InvalidParameter { name: "values", .. })
    ));
    assert_eq!(
        ctx.counters().uploads,
        before.uploads,
        "a rejected batch uploaded"
    );
    assert!(matches!(
        plan.read_batch_coefficients(3, &mut vec![T::from_f64(0.0); total]),
        Err(FitError::InvalidParameter { name: "i", .. })
    ));
    // An empty batch submits nothing to solve and leaves no sets.
    plan.fit_batch(&[]).unwrap();
    assert_eq!(plan.batch_len(), 0);
}

#[test]
fn batch_fit_matches_cpu_in_one_submission() {
    let Some(ctx) = context(false) else { return };
    batch_case::<f32>(&ctx, 1e-5);
    if ctx.supports_f64() {
        batch_case::<f64>(&ctx, 1e-12);
    } else {
        eprintln!("skipping f64: {} has no SHADER_F64", ctx.name());
    }
    // Bounds checks on.
    if let Some(checked) = context(true) {
        batch_case::<f32>(&checked, 1e-5);
    }
}

/// The device-array entry points of the tensor paths refuse, before
/// recording anything, arrays of another context, outputs that are too
/// short, outputs that are also read (the points, or the coefficients a
/// fitter's spline evaluates) and values of another length; fitting the
/// plan's own coefficient array solves it in place.
#[test]
fn device_arrays_of_another_size_or_context_are_refused() {
    let (Some(ctx), Some(other)) = (context(false), context(false)) else {
        return;
    };
    let invalid = |r: Result<(), FitError>, what: &str| {
        assert!(
            matches!(r, Err(FitError::InvalidParameter { .. })),
            "{what}: {r:?}"
        );
    };
    let s = cpu_spline([5, 6], 0, 4);
    let dev = GpuSpline::<2, f32>::new(&ctx, &s).unwrap();
    let pts = DeviceArray::<f32>::from_slice(&ctx, &[0.5, 0.5, 1.0, 2.0]).unwrap();
    let out = DeviceArray::<f32>::from_slice(&ctx, &[7.0; 6]).unwrap();
    let alien_pts = DeviceArray::<f32>::from_slice(&other, &[0.5, 0.5, 1.0, 2.0]).unwrap();
    let alien_out = DeviceArray::<f32>::zeroed(&other, 6).unwrap();
    let before = ctx.counters();
    invalid(
        dev.eval_device(&alien_pts, &Derivs::value(), &out),
        "points of another context",
    );
    invalid(
        dev.eval_device(&pts, &Derivs::value(), &alien_out),
        "out of another context",
    );
    invalid(
        dev.eval_device(&pts, &Derivs::value(), &pts),
        "out is the points",
    );
    let short = DeviceArray::<f32>::zeroed(&ctx, 5).unwrap();
    invalid(
        dev.eval_device(&pts, &Derivs::value_and_gradient(), &short),
        "5 outputs for 2 points × 3",
    );
    assert_eq!(
        ctx.counters().dispatches,
        before.dispatches,
        "work recorded"
    );
    assert!(out.write(&ctx, &[0.0; 7]).is_err());
    assert!(alien_out.write(&ctx, &[1.0]).is_err());
    assert!(alien_out.read(&ctx).is_err());
    assert_eq!(out.read(&ctx).unwrap(), vec![7.0; 6], "out touched");

    // A fitter's in-place spline: its coefficient array is not an output.
    let x = [0.0, 1.0, 2.0, 3.0, 4.0];
    let fitter = Fitter::new([&x[..], &x[..]]).unwrap();
    let mut plan = GpuFitter::<2, f32>::new(&ctx, &fitter).unwrap();
    let inplace = plan.spline(Extrapolate::Polynomial).unwrap();
    let coefs_pts = DeviceArray::<f32>::zeroed(&ctx, 50).unwrap();
    invalid(
        inplace.eval_device(&coefs_pts, &Derivs::value(), plan.coefficients()),
        "out is the evaluated coefficients",
    );
    let before = ctx.counters();
    invalid(
        plan.fit_device(&DeviceArray::<f32>::zeroed(&ctx, 24).unwrap()),
        "24 values for 25",
    );
    invalid(
        plan.fit_device(&DeviceArray::<f32>::zeroed(&other, 25).unwrap()),
        "values of another context",
    );
    assert_eq!(
        ctx.counters().dispatches,
        before.dispatches,
        "work recorded"
    );
    assert!(matches!(
        plan.read_coefficients(&mut [0.0f32; 24]),
        Err(FitError::InvalidParameter { .. })
    ));

    // Values written into the plan's own coefficient array are fitted in
    // place: the same coefficients as a fit of those values from the host.
    let values: Vec<f32> = (0..25).map(|i| ((i * 7) % 11) as f32 - 5.0).collect();
    let host: Vec<f64> = values.iter().map(|&v| f64::from(v)).collect();
    plan.fit_slice(&host).unwrap();
    let mut want = vec![0.0f32; 25];
    plan.read_coefficients(&mut want).unwrap();
    plan.coefficients().write(&ctx, &values).unwrap();
    plan.fit_device(plan.coefficients()).unwrap();
    let mut got = vec![0.0f32; 25];
    plan.read_coefficients(&mut got).unwrap();
    assert_eq!(got, want);
}
