//! 4D evaluation on 50×30×20×10 (`workloads::EVAL4D_SHAPE`) at random points: single-point latency of
//! values, gradients and Hessians (1 thread), batch throughput (2 threads);
//! `eval_grid` on a 100×60×40×20 output grid against `eval_many` over the
//! same 4.8 M points (2 threads), with the ratio of the medians printed.
use bsfit_testkit::workloads;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

mod common;

fn eval4d(c: &mut Criterion) {
    let spline = common::eval_spline();
    let n = 10_000;
    let pts: Vec<[f64; 4]> = workloads::unit_points(n);
    let mut g = c.benchmark_group("eval4d");
    g.throughput(Throughput::Elements(n as u64));
    let pool1 = common::pool(1);
    let pool2 = common::pool(2);
    for isa in bsfit::Isa::available() {
        let s = spline.clone().with_isa(isa).expect("available");
        g.bench_function(BenchmarkId::new(isa.name(), "value"), |b| {
            pool1.install(|| b.iter(|| pts.iter().map(|p| s.eval(black_box(*p))).sum::<f64>()))
        });
        g.bench_function(BenchmarkId::new(isa.name(), "grad"), |b| {
            pool1.install(|| {
                b.iter(|| {
                    pts.iter()
                        .map(|p| s.eval_grad(black_box(*p))[0])
                        .sum::<f64>()
                })
            })
        });
        g.bench_function(BenchmarkId::new(isa.name(), "hess"), |b| {
            pool1.install(|| {
                b.iter(|| {
                    pts.iter()
                        .map(|p| s.eval_hessian(black_box(*p))[0][1])
                        .sum::<f64>()
                })
            })
        });
        let mut out = vec![0.0; n];
        g.bench_function(BenchmarkId::new(isa.name(), "batch-2t"), |b| {
            pool2.install(|| {
                b.iter(|| {
                    s.eval_many_into(black_box(&pts), &mut out)
                        .expect("lengths")
                })
            })
        });
    }
    g.finish();
}

/// Median wall time of `f` over `reps` runs.
fn median_time(reps: usize, mut f: impl FnMut()) -> std::time::Duration {
    let mut t: Vec<_> = (0..reps)
        .map(|_| {
            let t0 = std::time::Instant::now();
            f();
            t0.elapsed()
        })
        .collect();
    t.sort();
    t[reps / 2]
}

fn eval_grid(c: &mut Criterion) {
    let spline = common::eval_spline();
    let dom = spline.domain();
    let m = [100usize, 60, 40, 20];
    let coords: [Vec<f64>; 4] = std::array::from_fn(|k| {
        let (lo, hi) = dom[k];
        (0..m[k])
            .map(|i| lo + (hi - lo) * i as f64 / (m[k] - 1) as f64)
            .collect()
    });
    let refs: [&[f64]; 4] = std::array::from_fn(|k| &coords[k][..]);
    let mut pts: Vec<[f64; 4]> = Vec::with_capacity(m.iter().product());
    for &a in &coords[0] {
        for &b in &coords[1] {
            for &c in &coords[2] {
                for &d in &coords[3] {
                    pts.push([a, b, c, d]);
                }
            }
        }
    }
    let pool2 = common::pool(2);
    // Same numbers, to 1e-13 relative to the largest value.
    let grid = pool2.install(|| spline.eval_grid(refs).expect("grid"));
    let many = pool2.install(|| spline.eval_many(&pts));
    let scale = many.iter().fold(0.0f64, |a, v| a.max(v.abs()));
    let err = grid
        .iter()
        .zip(&many)
        .fold(0.0f64, |a, (g, e)| a.max((g - e).abs()));
    assert!(
        err <= 1e-13 * scale,
        "grid differs by {err:e} (scale {scale:e})"
    );

    let mut g = c.benchmark_group("eval_grid");
    g.sample_size(10);
    g.throughput(Throughput::Elements(pts.len() as u64));
    g.bench_function("grid-2t", |b| {
        pool2.install(|| b.iter(|| spline.eval_grid(black_box(refs)).expect("grid")))
    });
    let mut buf = vec![0.0; pts.len()];
    g.bench_function("grid_into-2t", |b| {
        pool2.install(|| {
            b.iter(|| {
                spline
                    .eval_grid_into(black_box(refs), &mut buf)
                    .expect("grid")
            })
        })
    });
    g.bench_function("eval_many-2t", |b| {
        pool2.install(|| b.iter(|| spline.eval_many(black_box(&pts))))
    });
    g.bench_function("eval_many_into-2t", |b| {
        pool2.install(|| {
            b.iter(|| {
                spline
                    .eval_many_into(black_box(&pts), &mut buf)
                    .expect("lengths")
            })
        })
    });
    g.finish();
    // Medians of the allocating calls (both pay for faulting in a fresh
    // 38 MB result) and of the `_into` calls (the evaluation alone).
    let tg = pool2.install(|| median_time(9, || drop(black_box(spline.eval_grid(refs)))));
    let tm = pool2.install(|| median_time(5, || drop(black_box(spline.eval_many(&pts)))));
    let tgi = pool2.install(|| {
        median_time(9, || {
            spline.eval_grid_into(refs, &mut buf).expect("grid");
        })
    });
    let tmi = pool2.install(|| {
        median_time(5, || {
            spline.eval_many_into(&pts, &mut buf).expect("lengths");
        })
    });
    println!(
        "{} points, max difference {:.1e} relative\n  \
         eval_grid {tg:?} vs eval_many {tm:?}: {:.1}x faster\n  \
         eval_grid_into {tgi:?} vs eval_many_into {tmi:?}: {:.1}x faster",
        pts.len(),
        err / scale,
        tm.as_secs_f64() / tg.as_secs_f64(),
        tmi.as_secs_f64() / tgi.as_secs_f64(),
    );
}

criterion_group!(benches, eval4d, eval_grid);
criterion_main!(benches);
