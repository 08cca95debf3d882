//! Cox–de Boor kernels per ISA: batch (lanes = points, values and values with
//! two derivatives) and single point (lanes = the four basis functions).
use bsfit::Isa;
use bsfit::bspline::knots::{find_span, not_a_knot};
use bsfit::isa::checked;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

mod common;

fn basis(c: &mut Criterion) {
    let mut rng = common::Rng(5);
    let sites: Vec<f64> = (0..50).map(|i| i as f64 + 0.5 * rng.f64()).collect();
    let t = not_a_knot(&sites);
    for n in [8usize, 256, 4096] {
        let xs: Vec<f64> = (0..n).map(|_| 49.0 * rng.f64()).collect();
        let spans: Vec<usize> = xs.iter().map(|&x| find_span(&t, x)).collect();
        let mut out = vec![[[0.0; 4]; 3]; n];
        let mut g = c.benchmark_group(format!("basis/n{n}"));
        g.throughput(Throughput::Elements(n as u64));
        for isa in Isa::available() {
            g.bench_function(BenchmarkId::new(isa.name(), "batch-values"), |b| {
                b.iter(|| {
                    checked::basis_batch(isa, &t, &spans, black_box(&xs), 0, &mut out)
                        .expect("valid")
                })
            });
            g.bench_function(BenchmarkId::new(isa.name(), "batch-d2"), |b| {
                b.iter(|| {
                    checked::basis_batch(isa, &t, &spans, black_box(&xs), 2, &mut out)
                        .expect("valid")
                })
            });
            g.bench_function(BenchmarkId::new(isa.name(), "single-values"), |b| {
                b.iter(|| {
                    xs.iter()
                        .zip(&spans)
                        .map(|(&x, &s)| {
                            checked::basis_single(isa, &t, s, black_box(x)).map_or(0.0, |v| v[1])
                        })
                        .sum::<f64>()
                })
            });
        }
        g.finish();
    }
}

criterion_group!(benches, basis);
criterion_main!(benches);
