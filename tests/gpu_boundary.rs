//! Every boundary condition and vector values on the device, against the
//! CPU (small sizes; lavapipe in CI).
//!
//! Oracles: the CPU fit of the same values (`Fitter::fit_into_vector`, with
//! the same explicit end values) and the CPU evaluation of the same spline
//! (`TensorSpline::evaluate` of the same `Query`). Tolerances: the device
//! fit in f64 within 1e-13 of the CPU's coefficients relative to their
//! largest magnitude (the same factors and operations; only the order of
//! rounding may differ); f32 within 2e-5 (the CPU fits the values as rounded
//! to f32); evaluation in f64 within 1e-12 relative to `|cpu| + scale`.
//!
//! Without an adapter the tests skip with a printed reason, unless
//! `BSFIT_REQUIRE_GPU=1` (CI), where they fail. The f64 cases skip (with a
//! message) on adapters without `SHADER_F64`.
#![cfg(feature = "gpu")]

use bsfit::gpu::{GpuContext, GpuOptions};
use bsfit::tensor::gpu::{GpuFitter, GpuReal, GpuSpline};
use bsfit::tensor::{Partial, Query};
use bsfit::{BoundaryCondition as Bc, EndCondition as E, Extrapolate, FitError, Fitter, Workspace};
use bsfit_testkit::SplitMix64;
use ndarray::Array2;

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

/// Sites with random steps in [0.2, 1] from −0.7.
fn sites(n: usize, rng: &mut SplitMix64) -> Vec<f64> {
    let mut v = -0.7;
    (0..n)
        .map(|_| {
            let x = v;
            v += rng.uniform(0.2, 1.0);
            x
        })
        .collect()
}

/// Random values of shape `(shape…, nc)`, equal at both ends of every
/// periodic axis.
fn values(shape: &[usize], nc: usize, bc: &[Bc], rng: &mut SplitMix64) -> Vec<f64> {
    let total: usize = shape.iter().product::<usize>() * nc;
    let mut v = rng.uniform_vec(total, -1.0, 1.0);
    for (k, b) in bc.iter().enumerate() {
        if !b.is_periodic() {
            continue;
        }
        let n = shape[k];
        let outer: usize = shape[..k].iter().product();
        let inner: usize = shape[k + 1..].iter().product::<usize>() * nc;
        for o in 0..outer {
            for i in 0..inner {
                v[(o * n + n - 1) * inner + i] = v[o * n * inner + i];
            }
        }
    }
    v
}

/// The boundary-condition sets tried for `D` axes: each condition on every
/// axis, explicit ends on one axis with others mixed, and a mix of all.
fn bc_sets<const D: usize>() -> Vec<[Bc; D]> {
    let d1 = E::Derivative { order: 1 };
    let d2 = E::Derivative { order: 2 };
    let mixed = [
        Bc::PERIODIC,
        Bc::ends(d1, d2),
        Bc::NATURAL,
        Bc::CLAMPED,
        Bc::NOT_A_KNOT,
        Bc::ends(E::Natural, E::Clamped),
    ];
    let mut sets = vec![
        [Bc::NATURAL; D],
        [Bc::CLAMPED; D],
        [Bc::PERIODIC; D],
        std::array::from_fn(|k| mixed[k % mixed.len()]),
        std::array::from_fn(|k| mixed[(k + 1) % mixed.len()]),
    ];
    // Explicit ends (one value each) on the last axis.
    sets.push(std::array::from_fn(|k| {
        if k + 1 == D {
            Bc::ends(d2, d1)
        } else {
            mixed[(k + 2) % mixed.len()]
        }
    }));
    // Only the left end takes values.
    sets.push(std::array::from_fn(|k| {
        if k == 0 {
            Bc::ends(d1, E::Natural)
        } else {
            Bc::NOT_A_KNOT
        }
    }));
    sets
}

/// Fits random values (and end values) under `bc` with value shape
/// `vshape` on the device and on the CPU; compares the coefficients, then
/// the device spline of the plan's coefficients against the CPU spline.
fn fit_case<const D: usize, T: GpuReal>(
    ctx: &GpuContext,
    shape: [usize; D],
    bc: [Bc; D],
    vshape: &[usize],
    tol: f64,
    seed: u64,
) {
    let mut rng = SplitMix64::new(seed);
    let axes: Vec<Vec<f64>> = (0..D).map(|k| sites(shape[k], &mut rng)).collect();
    let refs: [&[f64]; D] = std::array::from_fn(|k| &axes[k][..]);
    let fitter = Fitter::with_boundary(refs, bc).unwrap();
    let nc: usize = vshape.iter().product();
    let what = format!(
        "D={D} {} shape {shape:?} bc {bc:?} vshape {vshape:?}",
        T::WGSL
    );
    let mut plan = GpuFitter::<D, T>::with_value_shape(ctx, &fitter, vshape).unwrap();
    assert_eq!(plan.coef_shape(), fitter.coef_shape(), "{what}");
    let total_out: usize = fitter.coef_shape().iter().product::<usize>() * nc;
    let round = |v: &[f64]| -> Vec<f64> { v.iter().map(|&x| T::from_f64(x).to_f64()).collect() };
    for rep in 0..2 {
        let vals = values(&shape, nc, &bc, &mut rng);
        let ends: Vec<Vec<f64>> = (0..2)
            .map(|e| {
                let takes = bc.iter().enumerate().find(|(_, b)| b.explicit_ends()[e]);
                match takes {
                    Some((k, _)) => {
                        let n = fitter.end_values_shape(k).iter().product::<usize>() * nc;
                        rng.uniform_vec(n, -2.0, 2.0)
                    }
                    None => Vec::new(),
                }
            })
            .collect();
        let mut cpu = vec![0.0; total_out];
        fitter
            .fit_into_vector(
                &round(&vals),
                vshape,
                [&round(&ends[0]), &round(&ends[1])],
                &mut cpu,
                &mut Workspace::new(),
            )
            .unwrap();
        plan.fit_slice_ends(&vals, [&ends[0], &ends[1]]).unwrap();
        let mut gpu = vec![T::from_f64(0.0); total_out];
        plan.read_coefficients(&mut gpu).unwrap();
        let scale = cpu.iter().fold(0.0f64, |a, v| a.max(v.abs()));
        for (i, (g, c)) in gpu.iter().zip(&cpu).enumerate() {
            let err = (g.to_f64() - c).abs();
            assert!(
                err <= tol * scale,
                "fit {what} rep {rep}: coefficient {i}: gpu {:e} cpu {c:e} (err {err:e}, scale {scale:e})",
                g.to_f64()
            );
        }
        // The host spline of the device fit has the CPU spline's layout.
        let host = plan.to_spline().unwrap();
        assert_eq!(host.shape(), fitter.coef_shape(), "{what}");
        assert_eq!(host.value_shape(), vshape, "{what}");
        assert_eq!(
            host.periodic_axes(),
            std::array::from_fn::<bool, D, _>(|k| bc[k].is_periodic()),
            "{what}"
        );
        // The plan's coefficients evaluated in place on the device, against
        // the CPU spline of the CPU coefficients.
        let spline = fitter.spline_from_vector(cpu, vshape).unwrap();
        let dev = plan.spline(Extrapolate::Polynomial).unwrap();
        eval_compare(&spline, &dev, 10.0 * tol.max(1e-12), &mut rng, &what);
    }
}

/// Compares the device evaluation of a query (value, gradient, one second
/// partial; points inside, outside and past a period) with the CPU's.
fn eval_compare<const D: usize, T: GpuReal>(
    spline: &bsfit::TensorSpline<D>,
    dev: &GpuSpline<'_, D, T>,
    tol: f64,
    rng: &mut SplitMix64,
    what: &str,
) {
    let dom = spline.domain();
    let n = 40;
    let pts = Array2::from_shape_fn((n, D), |(_, k)| {
        let (lo, hi) = dom[k];
        let w = hi - lo;
        // Rounded to T so that both evaluate at the same point.
        T::from_f64(rng.uniform(lo - 1.3 * w, hi + 1.3 * w)).to_f64()
    });
    for policy in [None, Some(Extrapolate::Clamp), Some(Extrapolate::Nan)] {
        let mut q = Query::at(pts.view())
            .value()
            .gradient()
            .outputs(&[Partial::d2(0, D - 1)]);
        if let Some(p) = policy {
            q = q.policy(p);
        }
        let cpu = spline.evaluate(&q).unwrap();
        let gpu = dev.evaluate(&q).unwrap();
        assert_eq!(cpu.shape(), gpu.shape(), "{what}");
        let scale = cpu
            .iter()
            .filter(|v| v.is_finite())
            .fold(0.0f64, |a, v| a.max(v.abs()));
        for (i, (g, c)) in gpu.iter().zip(cpu.iter()).enumerate() {
            if c.is_nan() {
                assert!(
                    g.is_nan(),
                    "{what} {policy:?}: output {i}: cpu NaN, gpu {g}"
                );
                continue;
            }
            let err = (g - c).abs();
            assert!(
                err <= tol * (c.abs() + scale),
                "{what} {policy:?}: output {i}: gpu {g:e} cpu {c:e} (err {err:e})"
            );
        }
    }
}

/// Every boundary-condition set in 1–4 dimensions with scalar values; vector
/// values (shape `[2]` and `[3, 2]`) in 1 and 2 dimensions; long lines.
/// `full = false`: the 2D sets alone (the bounds-checked run).
fn all_cases<T: GpuReal>(ctx: &GpuContext, tol: f64, full: bool) {
    let mut seed = 11;
    for bc in bc_sets::<2>() {
        seed += 1;
        fit_case::<2, T>(ctx, [7, 5], bc, &[], tol, seed);
        fit_case::<2, T>(ctx, [7, 5], bc, &[2], tol, seed);
    }
    if !full {
        return;
    }
    for bc in bc_sets::<1>() {
        seed += 1;
        fit_case::<1, T>(ctx, [9], bc, &[3, 2], tol, seed);
    }
    for bc in bc_sets::<3>() {
        seed += 1;
        fit_case::<3, T>(ctx, [6, 5, 8], bc, &[], tol, seed);
    }
    for bc in bc_sets::<4>() {
        seed += 1;
        fit_case::<4, T>(ctx, [5, 6, 4, 7], bc, &[], tol, seed);
    }
    // Long lines (tiled not-a-knot passes beside out-of-place ones).
    let d1 = E::Derivative { order: 1 };
    for bc in [
        [Bc::PERIODIC, Bc::NOT_A_KNOT],
        [Bc::NOT_A_KNOT, Bc::ends(d1, d1)],
    ] {
        seed += 1;
        fit_case::<2, T>(ctx, [40, 37], bc, &[], tol, seed);
    }
}

#[test]
fn device_fit_every_boundary_condition_matches_cpu_f64() {
    for checked in [false, true] {
        let Some(ctx) = context(checked) else { return };
        if !ctx.supports_f64() {
            eprintln!("skipping f64 device fit: {} has no SHADER_F64", ctx.name());
            return;
        }
        all_cases::<f64>(&ctx, 1e-13, !checked);
    }
}

#[test]
fn device_fit_every_boundary_condition_matches_cpu_f32() {
    let Some(ctx) = context(false) else { return };
    all_cases::<f32>(&ctx, 2e-5, true);
}

/// A CPU spline with periodic axes and vector values uploaded as it is
/// evaluates as on the CPU, also under a query's per-axis policy and on a
/// grid; `Extrapolate::Error` is reported before anything runs.
#[test]
fn uploaded_periodic_vector_spline_matches_cpu() {
    let Some(ctx) = context(false) else { return };
    if !ctx.supports_f64() {
        eprintln!("skipping: {} has no SHADER_F64", ctx.name());
        return;
    }
    let mut rng = SplitMix64::new(77);
    let x = sites(9, &mut rng);
    let y = sites(6, &mut rng);
    let bc = [Bc::PERIODIC, Bc::NATURAL];
    let fitter = Fitter::with_boundary([&x[..], &y[..]], bc).unwrap();
    let vals = values(&[9, 6], 3, &bc, &mut rng);
    let v = ndarray::ArrayD::from_shape_vec(vec![9, 6, 3], vals).unwrap();
    let spline = fitter.fit_vector(v.view()).unwrap();
    let dev = GpuSpline::<2, f64>::new(&ctx, &spline).unwrap();
    assert_eq!(dev.value_shape(), &[3]);
    assert_eq!(dev.periodic_axes(), [true, false]);
    eval_compare(&spline, &dev, 1e-12, &mut rng, "uploaded periodic vector");
    // Per-axis policy and a grid.
    let gx = [x[0] - 3.0, x[2], x[8] + 0.5];
    let gy = [y[0] - 0.5, y[3], y[5]];
    let q = Query::grid(&[&gx[..], &gy[..]])
        .value()
        .outputs(&[Partial::d(1)])
        .policy_axes(&[Extrapolate::Periodic, Extrapolate::Clamp]);
    let cpu = spline.evaluate(&q).unwrap();
    let gpu = dev.evaluate(&q).unwrap();
    assert_eq!(cpu.shape(), gpu.shape());
    for (g, c) in gpu.iter().zip(cpu.iter()) {
        assert!(
            (g - c).abs() <= 1e-12 * (1.0 + c.abs()),
            "grid: gpu {g} cpu {c}"
        );
    }
    // Error policy: the first point outside on a non-periodic axis.
    let pts = ndarray::array![[x[1], y[1]], [x[1], y[5] + 1.0]];
    let q = Query::at(pts.view()).policy(Extrapolate::Error);
    match dev.evaluate(&q) {
        Err(FitError::OutsideDomain {
            point: Some(1),
            axis: 1,
            ..
        }) => {}
        other => panic!("expected OutsideDomain at point 1, axis 1: {other:?}"),
    }
}

/// Bad input to the device fit is the CPU fit's typed error, before
/// anything is uploaded.
#[test]
fn device_fit_errors_name_the_fault() {
    let Some(ctx) = context(false) else { return };
    let x = [0.0, 1.0, 2.5, 3.0, 4.0, 5.5];
    let d1 = E::Derivative { order: 1 };
    // Periodic ends that differ.
    let fitter = Fitter::with_boundary([&x[..], &x[..]], [Bc::PERIODIC, Bc::NATURAL]).unwrap();
    let mut plan = GpuFitter::<2, f32>::new(&ctx, &fitter).unwrap();
    let mut v = vec![0.5; 36];
    v[5 * 6 + 2] = 1.5;
    assert!(matches!(
        plan.fit_slice(&v),
        Err(FitError::PeriodicMismatch { axis: 0, .. })
    ));
    v[5 * 6 + 2] = f64::NAN;
    match plan.fit_slice(&v) {
        Err(FitError::NonFiniteValue { index, .. }) => assert_eq!(index, vec![5, 2]),
        other => panic!("expected NonFiniteValue: {other:?}"),
    }
    // Explicit ends: missing, wrong length, non-finite; no batch.
    let fitter =
        Fitter::with_boundary([&x[..], &x[..]], [Bc::NOT_A_KNOT, Bc::ends(d1, d1)]).unwrap();
    let mut plan = GpuFitter::<2, f32>::with_value_shape(&ctx, &fitter, &[2]).unwrap();
    let v = vec![0.25; 72];
    assert!(matches!(
        plan.fit_slice(&v),
        Err(FitError::EndValuesShape { axis: 1, .. })
    ));
    assert!(matches!(
        plan.fit_slice_ends(&v, [&[0.0; 12], &[0.0; 11]]),
        Err(FitError::EndValuesShape {
            axis: 1,
            end: "right",
            ..
        })
    ));
    let mut bad = [0.0; 12];
    bad[3] = f64::INFINITY;
    assert!(matches!(
        plan.fit_slice_ends(&v, [&bad, &[0.0; 12]]),
        Err(FitError::NonFiniteValue { .. })
    ));
    assert!(matches!(
        plan.fit_batch(&[&v]),
        Err(FitError::EndValuesShape { .. })
    ));
    assert!(matches!(
        plan.fit_slice(&v[..70]),
        Err(FitError::InvalidParameter { name: "values", .. })
    ));
    plan.fit_slice_ends(&v, [&[0.0; 12], &[0.0; 12]]).unwrap();
    // A vector spline has no `[T; D]` gradient form.
    let dev = plan.spline(Extrapolate::Polynomial).unwrap();
    assert!(matches!(
        dev.eval_grad(&[[1.0, 1.0]]),
        Err(FitError::InvalidParameter { .. })
    ));
    assert!(matches!(
        plan.spline(Extrapolate::Error),
        Err(FitError::InvalidParameter { .. })
    ));
}

/// A batch of fits under boundary conditions with an odd number of
/// out-of-place passes lands every set in its own array.
#[test]
fn batch_fit_with_end_rows_matches_cpu() {
    let Some(ctx) = context(false) else { return };
    let mut rng = SplitMix64::new(5);
    let x = sites(7, &mut rng);
    let y = sites(6, &mut rng);
    for bc in [[Bc::NATURAL, Bc::NOT_A_KNOT], [Bc::PERIODIC, Bc::CLAMPED]] {
        let fitter = Fitter::with_boundary([&x[..], &y[..]], bc).unwrap();
        let mut plan = GpuFitter::<2, f32>::new(&ctx, &fitter).unwrap();
        let sets: Vec<Vec<f64>> = (0..3).map(|_| values(&[7, 6], 1, &bc, &mut rng)).collect();
        let refs: Vec<&[f64]> = sets.iter().map(|s| &s[..]).collect();
        plan.fit_batch(&refs).unwrap();
        let n: usize = fitter.coef_shape().iter().product();
        for (i, s) in sets.iter().enumerate() {
            let rounded: Vec<f64> = s.iter().map(|&v| v as f32 as f64).collect();
            let mut cpu = vec![0.0; n];
            fitter.fit_into(&rounded, &mut cpu).unwrap();
            let mut gpu = vec![0.0f32; n];
            plan.read_batch_coefficients(i, &mut gpu).unwrap();
            let scale = cpu.iter().fold(0.0f64, |a, v| a.max(v.abs()));
            for (g, c) in gpu.iter().zip(&cpu) {
                assert!(
                    ((*g as f64) - c).abs() <= 2e-5 * scale,
                    "{bc:?} set {i}: {g} vs {c}"
                );
            }
        }
    }
}
