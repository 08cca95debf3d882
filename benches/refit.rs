//! Refit on a fixed 50×30×20×10 grid (`workloads::EVAL4D_SHAPE`) with a reused workspace (no allocation).
use bsfit_testkit::workloads::{self, THREADS};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use std::hint::black_box;

mod common;

fn refit(c: &mut Criterion) {
    let shape = workloads::EVAL4D_SHAPE;
    let total: usize = shape.iter().product();
    let sets = workloads::refit_value_sets(shape, 4);
    let mut out = vec![0.0; total];
    let mut g = c.benchmark_group(format!(
        "refit/{}x{}x{}x{}",
        shape[0], shape[1], shape[2], shape[3]
    ));
    for threads in THREADS {
        let pool = common::pool(threads);
        for isa in bsfit::Isa::available() {
            let f = common::fitter(shape, isa, threads);
            let mut ws = f.workspace();
            let mut k = 0;
            g.bench_function(BenchmarkId::new(isa.name(), format!("{threads}t")), |b| {
                pool.install(|| {
                    b.iter(|| {
                        k = (k + 1) % sets.len();
                        f.fit_into_with(black_box(&sets[k]), &mut out, &mut ws)
                            .expect("fit")
                    })
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, refit);
criterion_main!(benches);
