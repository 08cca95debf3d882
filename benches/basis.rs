//! Cox–de Boor kernels per ISA: batch (lanes = points, values and values with
//! two derivatives) and single point (lanes = the four basis functions).
use bsfit::Isa;
use bsfit::bspline::knots::{find_span, not_a_knot};
use bsfit::isa::checked;
use bsfit_testkit::workloads;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

fn basis(c: &mut Criterion) {
    let t = not_a_knot(&workloads::basis_sites());
    for n in workloads::BASIS_POINTS {
        let xs = workloads::basis_points(n);
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
