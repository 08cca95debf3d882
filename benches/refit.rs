//! Refit on a fixed 50×30×20×10 grid with a reused workspace (no allocation).
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use std::hint::black_box;

mod common;

fn refit(c: &mut Criterion) {
    let shape = [50, 30, 20, 10];
    let total: usize = shape.iter().product();
    let mut rng = common::Rng(3);
    let sets: Vec<Vec<f64>> = (0..4)
        .map(|_| (0..total).map(|_| rng.f64()).collect())
        .collect();
    let mut out = vec![0.0; total];
    let mut g = c.benchmark_group("refit/50x30x20x10");
    for threads in [1usize, 2] {
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
