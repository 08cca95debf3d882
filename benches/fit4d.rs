//! 4D fit per ISA at every `workloads::FIT4D_SHAPES` shape, 1 and 2 threads
//! (`BSFIT_PIN=1` pins the workers).
use bsfit_testkit::workloads::{self, FIT4D_SHAPES, THREADS};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use std::hint::black_box;

mod common;

fn fit4d(c: &mut Criterion) {
    for shape in FIT4D_SHAPES {
        let total: usize = shape.iter().product();
        let mut g = c.benchmark_group(format!(
            "fit4d/{}x{}x{}x{}",
            shape[0], shape[1], shape[2], shape[3]
        ));
        if total > 1_000_000 {
            g.sample_size(10);
        }
        let v = workloads::grid_values(shape);
        let mut out = vec![0.0; total];
        for threads in THREADS {
            let pool = common::pool(threads);
            for isa in bsfit::Isa::available() {
                let f = common::fitter(shape, isa, threads);
                let mut ws = f.workspace();
                g.bench_function(BenchmarkId::new(isa.name(), format!("{threads}t")), |b| {
                    pool.install(|| {
                        b.iter(|| {
                            f.fit_into_with(black_box(&v), &mut out, &mut ws)
                                .expect("fit")
                        })
                    })
                });
            }
        }
        g.finish();
    }
}

criterion_group!(benches, fit4d);
criterion_main!(benches);
