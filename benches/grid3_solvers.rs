//! Whole solves of `B c = F` to a relative residual of 1e-6 on a periodic 48³ f64 grid
//! (the random field of `workloads::grid3_field`, as in the `bsfit grid3` report):
//! Chebyshev, CG and PCG (3³, 5³ SPAI stencils) on `B`, CG on `B²`, and the exact direct
//! solve. (Jacobi and the relaxation need hundreds to thousands of iterations; the
//! `bsfit grid3` report measures them.)

use bsfit::Par;
use bsfit::grid3::Boundary::*;
use bsfit::grid3::{Formulation, Method, SolveOptions, solve};
use bsfit_testkit::workloads;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use ndarray::Array3;
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let n = workloads::GRID3_SOLVER_SIZE;
    let f = Array3::from_shape_vec(
        (n, n, n),
        workloads::grid3_field(n * n * n, workloads::GRID3_SEED),
    )
    .expect("the field has the grid's length");
    let mut g = c.benchmark_group("grid3_solvers");
    g.sample_size(10);
    for (m, form) in [
        (Method::Chebyshev, Formulation::Interpolate),
        (Method::Cg, Formulation::Interpolate),
        (Method::Pcg3, Formulation::Interpolate),
        (Method::Pcg5, Formulation::Interpolate),
        (Method::Cg, Formulation::NormalEquations),
        (Method::Direct, Formulation::Interpolate),
    ] {
        let mut o = SolveOptions::new(m, form);
        o.common.tol = 1e-6;
        o.par = Par::auto();
        g.bench_with_input(
            BenchmarkId::new(format!("{}_{}", m.name(), form.name()), n),
            &n,
            |b, _| b.iter(|| solve(black_box(f.view()), [Periodic; 3], &o).unwrap()),
        );
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
