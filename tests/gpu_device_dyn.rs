//! The dynamic device front with its results kept on the device:
//! `DynDeviceArray`, `DynGpuSpline::evaluate_device[_into]` and
//! `DynGpuFitter::fit_device` (lavapipe in CI).
//!
//! Oracles: the host-path evaluation of the same device spline
//! (`DynGpuSpline::evaluate`, the same kernel on the same rounded points:
//! equal to the last bit), the CPU evaluation of the same spline
//! (`DynSpline::evaluate`: f64 within 1e-13, f32 within 1e-5, relative to
//! `1 + scale`, the output's largest magnitude) and the CPU fit of the same
//! values (`DynFitter::fit_with_ends`).
//!
//! Without an adapter the tests skip with a printed reason, unless
//! `BSFIT_REQUIRE_GPU=1` (CI), where they fail. The f64 cases skip (with a
//! message) on adapters without `SHADER_F64`.
#![cfg(feature = "gpu")]

use std::sync::Arc;

use bsfit::gpu::GpuContext;
use bsfit::tensor::gpu::{DynDeviceArray, DynGpuFitter, DynGpuSpline, GpuPrecision};
use bsfit::tensor::{DynFitter, DynSpline, Partial, Query};
use bsfit::{BoundaryCondition as Bc, EndCondition as E, Extrapolate, FitError};
use bsfit_testkit::SplitMix64;

fn context() -> Option<Arc<GpuContext>> {
    match GpuContext::new() {
        Ok(c) => Some(Arc::new(c)),
        Err(e) => {
            if std::env::var("BSFIT_REQUIRE_GPU").is_ok_and(|v| v == "1") {
                panic!("BSFIT_REQUIRE_GPU=1 but no GPU context: {e}");
            }
            eprintln!("skipping GPU test: {e}");
            None
        }
    }
}

/// The precisions the adapter runs, with their tolerance against the CPU.
fn precisions(ctx: &GpuContext) -> Vec<(GpuPrecision, f64)> {
    let mut p = vec![(GpuPrecision::F32, 1e-5)];
    if ctx.supports_f64() {
        p.push((GpuPrecision::F64, 1e-13));
    } else {
        eprintln!(
            "skipping f64 cases: adapter {} has no SHADER_F64",
            ctx.name()
        );
    }
    p
}

/// Rounds to the device precision (what the device sees of a host `f64`).
fn rounded(p: GpuPrecision, v: &[f64]) -> Vec<f64> {
    match p {
        GpuPrecision::F32 => v.iter().map(|&x| x as f32 as f64).collect(),
        _ => v.to_vec(),
    }
}

fn close(got: &[f64], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let scale = want
        .iter()
        .filter(|v| v.is_finite())
        .fold(0.0f64, |m, v| m.max(v.abs()));
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        if w.is_nan() {
            assert!(g.is_nan(), "{what}[{i}]: {g}, expected NaN");
            continue;
        }
        assert!(
            (g - w).abs() <= tol * (1.0 + scale),
            "{what}[{i}]: {g} vs {w} (scale {scale:e}, tol {tol:e})"
        );
    }
}

fn axes(shape: &[usize], rng: &mut SplitMix64) -> Vec<Vec<f64>> {
    shape
        .iter()
        .map(|&n| {
            let mut v = -0.6;
            (0..n)
                .map(|_| {
                    v += rng.uniform(0.2, 1.0);
                    v
                })
                .collect()
        })
        .collect()
}

/// A 3-D spline with values of shape `[2]` fitted to random values.
fn spline(rng: &mut SplitMix64) -> DynSpline {
    let ax = axes(&[6, 5, 7], rng);
    let refs: Vec<&[f64]> = ax.iter().map(|a| &a[..]).collect();
    let values = rng.uniform_vec(6 * 5 * 7 * 2, -1.0, 1.0);
    DynSpline::fit_vector(&refs, &values, &[2]).unwrap()
}

/// Random points reaching outside the domain on every side.
fn points(s: &DynSpline, n: usize, rng: &mut SplitMix64) -> Vec<f64> {
    let dom = s.domain();
    (0..n)
        .flat_map(|_| {
            dom.iter()
                .map(|&(lo, hi)| rng.uniform(lo - 0.3 * (hi - lo), hi + 0.3 * (hi - lo)))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn is_invalid<T: std::fmt::Debug>(r: Result<T, FitError>, what: &str) {
    assert!(
        matches!(r, Err(FitError::InvalidParameter { .. })),
        "{what}: {r:?}"
    );
}

#[test]
fn device_evaluation_matches_host_path_and_cpu() {
    let Some(ctx) = context() else { return };
    let mut rng = SplitMix64::new(11);
    let s = spline(&mut rng);
    let n = 40;
    let host_points = points(&s, n, &mut rng);
    let d = |o: &[usize]| Partial::new(o).unwrap();
    let all = |e| Pol::All(e);
    let hessian: Vec<Partial> = (0..3)
        .flat_map(|i| (0..3).map(move |j| (i, j)))
        .map(|(i, j)| {
            let mut o = [0; 3];
            o[i] += 1;
            o[j] += 1;
            d(&o)
        })
        .collect();
    let cases: Vec<(&str, Vec<Partial>, Pol)> = vec![
        ("value", vec![Partial::VALUE], Pol::Own),
        (
            "gradient",
            vec![Partial::VALUE, d(&[1, 0, 0]), d(&[0, 1, 0]), d(&[0, 0, 1])],
            Pol::Own,
        ),
        ("partials", vec![d(&[1, 0, 2]), d(&[0, 3, 0])], Pol::Own),
        ("nan", vec![Partial::VALUE], all(Extrapolate::Nan)),
        (
            "per axis",
            hessian,
            Pol::Axes(vec![
                Extrapolate::Clamp,
                Extrapolate::Polynomial,
                Extrapolate::Nan,
            ]),
        ),
    ];
    let queries: Vec<(&str, Query<'static>, Vec<Partial>, Pol)> = cases
        .into_iter()
        .map(|(w, o, p)| (w, request(&[], &o, &p), o, p))
        .collect();
    for (p, tol) in precisions(&ctx) {
        let dev = DynGpuSpline::new(ctx.clone(), &s, p).unwrap();
        let pts = DynDeviceArray::from_slice(ctx.clone(), p, &host_points).unwrap();
        assert_eq!(pts.precision(), p);
        assert_eq!(pts.len(), n * 3);
        let xr = rounded(p, &host_points);
        assert_eq!(pts.read().unwrap(), xr, "{p:?} points round trip");
        for (what, q, outs, pol) in &queries {
            let r = dev.evaluate_device(&pts, q).unwrap();
            assert_eq!(r.precision(), p);
            let outputs = q.partials(3).unwrap().len();
            assert_eq!(r.len(), n * outputs * 2, "{what}");
            assert_eq!(dev.result_len(q, n).unwrap(), r.len());
            let got = r.read().unwrap();

            // The host path of the same request: the same bits.
            let hq = request(&xr, outs, pol);
            let host = dev.evaluate(&hq).unwrap();
            assert_eq!(host.shape(), &[n, outputs, 2]);
            let host = host.iter().copied().collect::<Vec<_>>();
            for (i, (a, b)) in got.iter().zip(&host).enumerate() {
                assert!(
                    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
                    "{p:?} {what}[{i}]: device {a} vs host path {b}"
                );
            }
            // The CPU spline at the rounded points.
            let cpu = s.evaluate(&hq).unwrap().iter().copied().collect::<Vec<_>>();
            let order_tol = if *what == "value" || *what == "nan" {
                tol
            } else {
                100.0 * tol
            };
            close(&got, &cpu, order_tol, &format!("{p:?} {what} vs CPU"));

            // Into an existing, longer array: the tail is left alone.
            let out = DynDeviceArray::from_slice(ctx.clone(), p, &vec![7.0; r.len() + 3]).unwrap();
            dev.evaluate_device_into(&pts, q, &out).unwrap();
            let again = out.read().unwrap();
            assert_eq!(&again[r.len()..], &[7.0; 3]);
            assert_eq!(
                again[..r.len()]
                    .iter()
                    .map(|v| v.to_bits())
                    .collect::<Vec<_>>(),
                got.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                "{p:?} {what}: into"
            );
        }
        // No points: an empty result.
        let none = DynDeviceArray::zeroed(ctx.clone(), p, 0).unwrap();
        let r = dev.evaluate_device(&none, &queries[1].1).unwrap();
        assert_eq!(dev.result_len(&queries[1].1, 0).unwrap(), 0);
        assert!(r.is_empty());
        assert_eq!(r.read().unwrap(), Vec::<f64>::new());
    }
}

/// A query's policy, kept beside it (`Query` keeps its own private).
#[derive(Clone)]
enum Pol {
    Own,
    All(Extrapolate),
    Axes(Vec<Extrapolate>),
}

/// The request of `outputs` under `policy` at the rows of `points`
/// (3-D; no points: the device form).
fn request<'a>(points: &'a [f64], outputs: &[Partial], policy: &Pol) -> Query<'a> {
    let q = Query::at_slice(points, 3).unwrap().outputs(outputs);
    match policy {
        Pol::Own => q,
        Pol::All(e) => q.policy(*e),
        Pol::Axes(list) => q.policy_axes(list),
    }
}

#[test]
fn error_policy_checks_device_points_on_the_host() {
    let Some(ctx) = context() else { return };
    let mut rng = SplitMix64::new(12);
    let s = spline(&mut rng);
    let dom = s.domain();
    let inside: Vec<f64> = dom.iter().map(|&(lo, hi)| 0.5 * (lo + hi)).collect();
    let mut outside = inside.clone();
    outside.extend_from_slice(&inside);
    outside[4] = dom[1].1 + 1.0;
    let q = Query::at_slice(&[], 3).unwrap().policy(Extrapolate::Error);
    for (p, _) in precisions(&ctx) {
        let dev = DynGpuSpline::new(ctx.clone(), &s, p).unwrap();
        let ok = DynDeviceArray::from_slice(ctx.clone(), p, &inside).unwrap();
        let got = dev.evaluate_device(&ok, &q).unwrap().read().unwrap();
        let want = dev
            .evaluate(&request(
                &rounded(p, &inside),
                &[Partial::VALUE],
                &Pol::All(Extrapolate::Error),
            ))
            .unwrap()
            .iter()
            .copied()
            .collect::<Vec<_>>();
        assert_eq!(got, want);
        let bad = DynDeviceArray::from_slice(ctx.clone(), p, &outside).unwrap();
        match dev.evaluate_device(&bad, &q) {
            Err(FitError::OutsideDomain {
                point: Some(1),
                axis: 1,
                ..
            }) => {}
            other => panic!("{p:?}: {other:?}"),
        }
    }
}

#[test]
fn device_fit_matches_host_fit_and_cpu() {
    let Some(ctx) = context() else { return };
    let mut rng = SplitMix64::new(13);
    let ax = axes(&[7, 6], &mut rng);
    let refs: Vec<&[f64]> = ax.iter().map(|a| &a[..]).collect();
    let fitter = DynFitter::with_boundary(&refs, &[Bc::NATURAL, Bc::PERIODIC]).unwrap();
    let mut values = rng.uniform_vec(7 * 6 * 3, -1.0, 1.0);
    // Periodic along axis 1: equal ends.
    for i in 0..7 {
        for c in 0..3 {
            values[(i * 6 + 5) * 3 + c] = values[(i * 6) * 3 + c];
        }
    }
    let xi: Vec<f64> = (0..30)
        .flat_map(|_| [rng.uniform(-1.0, 5.0), rng.uniform(-1.0, 5.0)])
        .collect();
    for (p, tol) in precisions(&ctx) {
        let vr = rounded(p, &values);
        let cpu = fitter
            .fit_vector(&vr, &[3])
            .unwrap()
            .with_extrapolate(Extrapolate::Polynomial);
        let mut plan = DynGpuFitter::new(ctx.clone(), &fitter, &[3], p).unwrap();
        assert_eq!(plan.len(), values.len());
        let dv = DynDeviceArray::from_slice(ctx.clone(), p, &values).unwrap();
        plan.fit_device(&dv).unwrap();
        let from_device = plan.to_spline().unwrap();
        let dev_spline = plan.spline(Extrapolate::Polynomial).unwrap();
        plan.fit(&values, [&[], &[]]).unwrap();
        let from_host = plan.to_spline().unwrap();
        assert_eq!(
            from_device.coefficients(),
            from_host.coefficients(),
            "{p:?}: device fit vs host-path fit"
        );
        close(
            from_device.coefficients(),
            cpu.coefficients(),
            tol * 10.0,
            &format!("{p:?} coefficients vs CPU"),
        );
        // The fitted spline evaluated at device points, kept there.
        let pts = DynDeviceArray::from_slice(ctx.clone(), p, &xi).unwrap();
        let q = Query::at_slice(&[], 2).unwrap();
        let got = dev_spline
            .evaluate_device(&pts, &q)
            .unwrap()
            .read()
            .unwrap();
        let xr = rounded(p, &xi);
        let want = cpu
            .evaluate(&Query::at_slice(&xr, 2).unwrap())
            .unwrap()
            .iter()
            .copied()
            .collect::<Vec<_>>();
        close(
            &got,
            &want,
            tol * 10.0,
            &format!("{p:?} fitted values vs CPU"),
        );
    }
}

#[test]
fn evaluation_results_feed_the_next_fit_on_the_device() {
    let Some(ctx) = context() else { return };
    let mut rng = SplitMix64::new(14);
    let s = spline(&mut rng);
    // Resample the spline on another grid inside its domain, on the device,
    // and fit those samples without leaving it.
    let dom = s.domain();
    let grid: Vec<Vec<f64>> = dom
        .iter()
        .zip([5usize, 6, 4])
        .map(|(&(lo, hi), n)| {
            (0..n)
                .map(|i| lo + (hi - lo) * i as f64 / (n - 1) as f64)
                .collect()
        })
        .collect();
    let refs: Vec<&[f64]> = grid.iter().map(|a| &a[..]).collect();
    let mut sites = Vec::new();
    for &a in &grid[0] {
        for &b in &grid[1] {
            for &c in &grid[2] {
                sites.extend([a, b, c]);
            }
        }
    }
    let fitter = DynFitter::new(&refs).unwrap();
    for (p, tol) in precisions(&ctx) {
        let dev = DynGpuSpline::new(ctx.clone(), &s, p).unwrap();
        let pts = DynDeviceArray::from_slice(ctx.clone(), p, &sites).unwrap();
        let samples = dev
            .evaluate_device(&pts, &Query::at_slice(&[], 3).unwrap())
            .unwrap();
        let mut plan = DynGpuFitter::new(ctx.clone(), &fitter, &[2], p).unwrap();
        assert_eq!(samples.len(), plan.len());
        plan.fit_device(&samples).unwrap();
        let got = plan.to_spline().unwrap();
        let host_samples = samples.read().unwrap();
        let want = fitter.fit_vector(&host_samples, &[2]).unwrap();
        close(
            got.coefficients(),
            want.coefficients(),
            10.0 * tol,
            &format!("{p:?} refit of device samples"),
        );
    }
}

#[test]
fn device_arrays_round_trip_and_refuse_what_does_not_fit() {
    let Some(ctx) = context() else { return };
    let other = context().unwrap();
    let mut rng = SplitMix64::new(15);
    let s = spline(&mut rng);
    let host = [0.1, -2.5, 3.25, 1e-3, 7.0, 0.0];
    for (p, _) in precisions(&ctx) {
        let a = DynDeviceArray::from_slice(ctx.clone(), p, &host).unwrap();
        assert_eq!(a.read().unwrap(), rounded(p, &host));
        let mut out = [0.0; 6];
        a.read_into(&mut out).unwrap();
        assert_eq!(out.to_vec(), rounded(p, &host));
        a.write(&[1.0; 6]).unwrap();
        assert_eq!(a.read().unwrap(), vec![1.0; 6]);
        assert!(Arc::ptr_eq(a.context(), &ctx));
        assert_eq!(a.as_f32().is_some(), p == GpuPrecision::F32);
        assert_eq!(a.as_f64().is_some(), p == GpuPrecision::F64);
        is_invalid(a.write(&[1.0; 5]), "write of 5 into 6");
        is_invalid(a.write(&[1.0; 7]), "write of 7 into 6");
        is_invalid(a.read_into(&mut [0.0; 5]), "read of 6 into 5");
        let z = DynDeviceArray::zeroed(ctx.clone(), p, 4).unwrap();
        assert_eq!(z.read().unwrap(), vec![0.0; 4]);

        let dev = DynGpuSpline::new(ctx.clone(), &s, p).unwrap();
        let q = Query::at_slice(&[], 3).unwrap();
        let pts = DynDeviceArray::from_slice(ctx.clone(), p, &host).unwrap();
        let out = DynDeviceArray::from_slice(ctx.clone(), p, &[5.0; 3]).unwrap();
        let before = ctx.counters().dispatches;
        is_invalid(
            dev.evaluate_device(&DynDeviceArray::zeroed(ctx.clone(), p, 5).unwrap(), &q),
            "5 coordinates",
        );
        is_invalid(
            dev.evaluate_device_into(&pts, &q, &out),
            "3 elements for 2 points × 2",
        );
        is_invalid(
            dev.evaluate_device_into(&pts, &q, &pts),
            "out is the points",
        );
        let alien = DynDeviceArray::from_slice(other.clone(), p, &host).unwrap();
        is_invalid(dev.evaluate_device(&alien, &q), "points of another context");
        let alien_out = DynDeviceArray::zeroed(other.clone(), p, 4).unwrap();
        is_invalid(
            dev.evaluate_device_into(&pts, &q, &alien_out),
            "out of another context",
        );
        is_invalid(
            dev.evaluate_device(&pts, &Query::at_slice(&host, 3).unwrap()),
            "a query with points",
        );
        let many: Vec<Partial> = (0..65).map(|_| Partial::VALUE).collect();
        is_invalid(
            dev.evaluate_device(&pts, &Query::at_slice(&[], 3).unwrap().outputs(&many)),
            "65 outputs",
        );
        assert!(matches!(
            dev.evaluate_device(
                &pts,
                &Query::at_slice(&[], 3)
                    .unwrap()
                    .policy_axes(&[Extrapolate::Nan; 2])
            ),
            Err(FitError::DimensionMismatch { .. })
        ));
        assert_eq!(ctx.counters().dispatches, before, "work recorded");
        assert_eq!(out.read().unwrap(), vec![5.0; 3], "out touched");

        // Fits.
        let x = [0.0, 1.0, 2.0, 3.0, 4.0];
        let fitter = DynFitter::new(&[&x[..], &x[..]]).unwrap();
        let mut plan = DynGpuFitter::new(ctx.clone(), &fitter, &[], p).unwrap();
        is_invalid(
            plan.fit_device(&DynDeviceArray::zeroed(ctx.clone(), p, 24).unwrap()),
            "24 values for 25",
        );
        is_invalid(
            plan.fit_device(&DynDeviceArray::zeroed(other.clone(), p, 25).unwrap()),
            "values of another context",
        );
        let ends = DynFitter::with_boundary(
            &[&x[..], &x[..]],
            &[
                Bc::NATURAL,
                Bc::ends(E::Derivative { order: 1 }, E::Natural),
            ],
        )
        .unwrap();
        let mut with_ends = DynGpuFitter::new(ctx.clone(), &ends, &[], p).unwrap();
        assert!(matches!(
            with_ends.fit_device(&DynDeviceArray::zeroed(ctx.clone(), p, 25).unwrap()),
            Err(FitError::EndValuesShape { .. })
        ));
    }

    // Precision mismatches (an f64 array needs an adapter with f64).
    if ctx.supports_f64() {
        let f32s = DynGpuSpline::new(ctx.clone(), &s, GpuPrecision::F32).unwrap();
        let f64s = DynGpuSpline::new(ctx.clone(), &s, GpuPrecision::F64).unwrap();
        let q = Query::at_slice(&[], 3).unwrap();
        let p32 = DynDeviceArray::from_slice(ctx.clone(), GpuPrecision::F32, &host).unwrap();
        let p64 = DynDeviceArray::from_slice(ctx.clone(), GpuPrecision::F64, &host).unwrap();
        is_invalid(f32s.evaluate_device(&p64, &q), "f64 points, f32 spline");
        is_invalid(f64s.evaluate_device(&p32, &q), "f32 points, f64 spline");
        let o64 = DynDeviceArray::zeroed(ctx.clone(), GpuPrecision::F64, 4).unwrap();
        is_invalid(
            f32s.evaluate_device_into(&p32, &q, &o64),
            "f64 out, f32 spline",
        );
        match f32s.evaluate_device(&p64, &q) {
            Err(e) => assert!(e.to_string().contains("float64 device array"), "{e}"),
            Ok(_) => unreachable!(),
        }
        let x = [0.0, 1.0, 2.0, 3.0, 4.0];
        let fitter = DynFitter::new(&[&x[..]]).unwrap();
        let mut plan = DynGpuFitter::new(ctx.clone(), &fitter, &[], GpuPrecision::F32).unwrap();
        is_invalid(
            plan.fit_device(&DynDeviceArray::zeroed(ctx.clone(), GpuPrecision::F64, 5).unwrap()),
            "f64 values, f32 plan",
        );
    } else {
        assert!(matches!(
            DynDeviceArray::zeroed(ctx.clone(), GpuPrecision::F64, 4),
            Err(FitError::Gpu(_))
        ));
    }
}

/// `fit_device` checks the device values for finiteness (a bit test on the
/// device) and names the first value at fault, over the grid's axes and the
/// value components; the plan's previous coefficients are left as they
/// were. A grid of more than 4096 × 256 values also covers the kernel's
/// grid-stride loop.
#[test]
fn device_fit_refuses_non_finite_values_and_names_the_first() {
    let Some(ctx) = context() else { return };
    let mut rng = SplitMix64::new(21);
    for &(shape, nc) in &[(&[9usize, 8][..], 2usize), (&[1100, 1000][..], 1)] {
        let ax = axes(shape, &mut rng);
        let refs: Vec<&[f64]> = ax.iter().map(|a| &a[..]).collect();
        let fitter = DynFitter::new(&refs).unwrap();
        let vshape: &[usize] = if nc == 1 { &[] } else { &[2] };
        let len = shape.iter().product::<usize>() * nc;
        let values = rng.uniform_vec(len, -1.0, 1.0);
        for (p, _) in precisions(&ctx) {
            let mut plan = DynGpuFitter::new(ctx.clone(), &fitter, vshape, p).unwrap();
            let good = DynDeviceArray::from_slice(ctx.clone(), p, &values).unwrap();
            plan.fit_device(&good).unwrap();
            let before = plan.to_spline().unwrap();
            // Two bad values: the error names the first in row-major order.
            let (first, later) = (len - 3 - len / 3, len - 2);
            for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
                let mut v = values.clone();
                v[later] = f64::NAN;
                v[first] = bad;
                let dv = DynDeviceArray::from_slice(ctx.clone(), p, &v).unwrap();
                match plan.fit_device(&dv) {
                    Err(FitError::NonFiniteValue { index, value }) => {
                        let mut flat = 0;
                        let mut full = shape.to_vec();
                        full.extend_from_slice(vshape);
                        for (i, n) in index.iter().zip(&full) {
                            flat = flat * n + i;
                        }
                        assert_eq!(flat, first, "{p:?} {shape:?}: index {index:?}");
                        assert_eq!(index.len(), full.len());
                        assert!(
                            value.is_nan() && bad.is_nan() || value == bad,
                            "{p:?}: value {value} for {bad}"
                        );
                    }
                    other => {
                        panic!("{p:?} {shape:?} {bad}: expected NonFiniteValue, got {other:?}")
                    }
                }
            }
            // Nothing was recorded: the last good fit stands.
            assert_eq!(
                plan.to_spline().unwrap().coefficients(),
                before.coefficients(),
                "{p:?}: coefficients after a refused fit"
            );
            // The largest finite values pass.
            let big = match p {
                GpuPrecision::F32 => f32::MAX as f64,
                _ => f64::MAX,
            };
            let mut v = values.clone();
            v[first] = big;
            v[later] = -big;
            let dv = DynDeviceArray::from_slice(ctx.clone(), p, &v).unwrap();
            assert!(
                !matches!(plan.fit_device(&dv), Err(FitError::NonFiniteValue { .. })),
                "{p:?}: ±MAX refused"
            );
        }
    }
}
