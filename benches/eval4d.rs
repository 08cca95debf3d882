//! 4D evaluation on 50×30×20×10 (`workloads::EVAL4D_SHAPE`) at random points: single-point latency of
//! values, gradients and Hessians (1 thread), batch throughput (2 threads).
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

criterion_group!(benches, eval4d);
criterion_main!(benches);
