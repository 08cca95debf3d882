//! Exact separable solve of `B c = F` (grid3::direct) against the machine's memory
//! bandwidth, measured in the same run with a large `copy_from_slice`.
//!
//! The bar: three read+write sweeps over the grid, i.e. `3 ×` the time of one copy of
//! the grid; the solve should take at most 2× that. The ratio is printed at the end.

use bsfit::{Isa, Par};
use bsfit::grid3::Boundary::{self, *};
use bsfit::grid3::direct::DirectPlan;
use bsfit_testkit::workloads;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Instant;

/// Median seconds of `f` over `reps` runs.
fn median(reps: usize, mut f: impl FnMut()) -> f64 {
    let mut t: Vec<f64> = (0..reps)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[reps / 2]
}

fn bench(c: &mut Criterion) {
    let par = Par::auto();
    let mut g = c.benchmark_group("grid3_direct");
    g.sample_size(20);
    let mut summary = Vec::new();
    for n in workloads::GRID3_SIZES {
        let len = n * n * n;
        let f = workloads::grid3_field(len, workloads::GRID3_SEED);
        let mut out = vec![0.0; len];
        g.throughput(Throughput::Bytes((len * 8 * 2 * 3) as u64));
        // Bandwidth: a copy of the grid (read + write), in parallel halves like the solve.
        let mut dst = vec![0.0; len];
        g.bench_with_input(BenchmarkId::new("copy_f64", n), &n, |b, _| {
            b.iter(|| copy_par(black_box(&f), &mut dst, par))
        });
        for (name, bc) in [
            ("periodic", [Periodic; 3]),
            ("mirror", [Mirror; 3]),
            ("ppz", [Periodic, Periodic, Zero]),
        ] {
            let plan = DirectPlan::<f64>::new([n, n, n], bc, par);
            g.bench_with_input(
                BenchmarkId::new(format!("solve_f64_{name}"), n),
                &n,
                |b, _| b.iter(|| plan.solve(black_box(&f), &mut out)),
            );
        }
        let f32v: Vec<f32> = f.iter().map(|&v| v as f32).collect();
        let mut o32 = vec![0f32; len];
        let plan = DirectPlan::<f32>::new([n, n, n], [Periodic; 3], par);
        g.bench_with_input(BenchmarkId::new("solve_f32_periodic", n), &n, |b, _| {
            b.iter(|| plan.solve(black_box(&f32v), &mut o32))
        });
        // The same solve with each available instruction set (AVX-512 runs
        // AVX-512-compiled code; the results are bit-identical).
        for isa in Isa::available() {
            let plan = DirectPlan::<f64>::new([n, n, n], [Periodic; 3], par)
                .with_isa(isa)
                .expect("available");
            g.bench_with_input(
                BenchmarkId::new(format!("solve_f64_periodic_{isa}"), n),
                &n,
                |b, _| b.iter(|| plan.solve(black_box(&f), &mut out)),
            );
        }
        // The ratio, from medians taken here (same process, same moment).
        let t_copy = median(31, || copy_par(&f, &mut dst, par));
        let plan = DirectPlan::<f64>::new([n, n, n], [Periodic; 3], par);
        let t_solve = median(31, || plan.solve(&f, &mut out));
        summary.push((n, t_copy, t_solve, bc_name([Periodic; 3])));
    }
    g.finish();
    for (n, t_copy, t_solve, bc) in summary {
        let gbs = (n * n * n * 16) as f64 / t_copy / 1e9;
        println!(
            "grid3_direct {n}^3 f64 {bc}: copy {:.3} ms ({gbs:.1} GB/s read+write), solve {:.3} ms, \
             solve / (3 copies) = {:.2}",
            t_copy * 1e3,
            t_solve * 1e3,
            t_solve / (3.0 * t_copy)
        );
    }
}

fn bc_name(b: [Boundary; 3]) -> String {
    b.iter().map(|x| x.name()).collect::<Vec<_>>().join(",")
}

fn copy_par(src: &[f64], dst: &mut [f64], par: Par) {
    use rayon::prelude::*;
    let chunk = src.len().div_ceil(par.degree()).max(1);
    dst.par_chunks_mut(chunk)
        .zip(src.par_chunks(chunk))
        .for_each(|(d, s)| d.copy_from_slice(s));
}

criterion_group!(benches, bench);
criterion_main!(benches);
