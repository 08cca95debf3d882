//! The B-spline operator `B = b ⊗ b ⊗ b`: direct 27-point form vs separable 3×3-tap form,
//! f64 and f32, sequential vs all threads, periodic and mixed boundaries, on the random
//! field of `workloads::grid3_field`.

use bsfit::Par;
use bsfit::grid3::Boundary::*;
use bsfit::grid3::StencilForm;
use bsfit::grid3::operator::StencilOp;
use bsfit_testkit::workloads;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("grid3_apply");
    g.sample_size(20);
    for n in workloads::GRID3_SIZES {
        let len = n * n * n;
        let x = workloads::grid3_field(len, workloads::GRID3_SEED);
        let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        let mut y = vec![0.0; len];
        let mut y32 = vec![0.0f32; len];
        g.throughput(Throughput::Bytes((len * 16) as u64));
        for (pname, par) in [("seq", Par::Seq), ("par", Par::auto())] {
            for (fname, form) in [
                ("direct27", StencilForm::Direct),
                ("separable", StencilForm::Separable),
            ] {
                for (bname, bc) in [
                    ("periodic", [Periodic; 3]),
                    ("ppz", [Periodic, Periodic, Zero]),
                ] {
                    let op = StencilOp::<f64>::bspline([n; 3], bc, false, form, par);
                    g.bench_with_input(
                        BenchmarkId::new(format!("f64_{fname}_{bname}_{pname}"), n),
                        &n,
                        |b, _| b.iter(|| op.apply_slice(black_box(&x), &mut y)),
                    );
                }
            }
        }
        let op = StencilOp::<f32>::bspline(
            [n; 3],
            [Periodic; 3],
            false,
            StencilForm::Separable,
            Par::auto(),
        );
        g.bench_with_input(
            BenchmarkId::new("f32_separable_periodic_par", n),
            &n,
            |b, _| b.iter(|| op.apply_slice(black_box(&x32), &mut y32)),
        );
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
