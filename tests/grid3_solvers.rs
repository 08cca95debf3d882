//! The iterative solvers: convergence to the exact (direct) solution on every boundary,
//! iteration counts against the theory of `grid3::theory` (DESIGN.md §3), divergence of
//! unweighted Jacobi, non-convergence reporting, f32 vs f64.

use bsfit::FitError;
use bsfit::grid3::Boundary::{self, *};
use bsfit::grid3::{Formulation, Method, SolveOptions, prefilter, solve, theory};
use ndarray::Array3;

use crate::common;
use common::rng;

fn field(shape: [usize; 3], seed: u64) -> Array3<f64> {
    let mut r = rng(seed);
    Array3::from_shape_fn((shape[0], shape[1], shape[2]), |_| r())
}

const ITERATIVE: [Method; 6] = [
    Method::Relaxation,
    Method::Jacobi,
    Method::Chebyshev,
    Method::Cg,
    Method::Pcg3,
    Method::Pcg5,
];

fn opts(m: Method, f: Formulation, tol: f64) -> SolveOptions {
    let mut o = SolveOptions::new(m, f);
    o.common.tol = tol;
    o.common.max_iter = 50_000;
    o
}

/// Every iterative method and formulation reaches the direct solution on every boundary type.
#[test]
fn all_methods_converge_to_the_direct_solution() {
    let shape = [7, 6, 5];
    let f = field(shape, 1);
    for bc in [
        [Periodic; 3],
        [Zero; 3],
        [Mirror; 3],
        [Periodic, Periodic, Zero],
        [Mirror, Zero, Periodic],
    ] {
        let exact = prefilter(f.view(), bc).unwrap();
        let norm = exact.iter().map(|v| v * v).sum::<f64>().sqrt();
        for m in ITERATIVE {
            for form in [Formulation::Interpolate, Formulation::NormalEquations] {
                let (c, rep) = solve(f.view(), bc, &opts(m, form, 1e-9)).unwrap_or_else(|e| {
                    panic!("{m:?} {form:?} {bc:?}: {e}");
                });
                assert!(rep.info.iterations > 0 && rep.info.history.len() > 1);
                assert!(
                    rep.data_residual < 1e-8,
                    "{m:?} {form:?} {bc:?}: {}",
                    rep.data_residual
                );
                let err = c
                    .iter()
                    .zip(exact.iter())
                    .map(|(a, b)| (a - b).powi(2))
                    .sum::<f64>()
                    .sqrt();
                assert!(err / norm < 1e-7, "{m:?} {form:?} {bc:?}: {}", err / norm);
            }
        }
    }
}

/// The worst case of the stationary and Chebyshev iterations: all the energy in the two
/// extreme eigenvectors of the periodic `B`, the constant (λ = 1) and the checkerboard
/// (λ = 1/27). A random field puts only ~2/N of its energy there and converges faster.
fn extreme_modes(shape: [usize; 3]) -> Array3<f64> {
    Array3::from_shape_fn((shape[0], shape[1], shape[2]), |(i, j, k)| {
        1.0 + if (i + j + k) % 2 == 0 { 1.0 } else { -1.0 }
    })
}

fn iterations_on(f: &Array3<f64>, m: Method, form: Formulation) -> usize {
    let (_, rep) = solve(f.view(), [Periodic; 3], &opts(m, form, 1e-6)).unwrap();
    rep.info.iterations
}

fn iterations(m: Method, form: Formulation, shape: [usize; 3]) -> usize {
    let f = field(shape, 2);
    let (_, rep) = solve(f.view(), [Periodic; 3], &opts(m, form, 1e-6)).unwrap();
    rep.info.iterations
}

/// Periodic, even sizes: spectrum exactly [1/27, 1] (B) and [1/729, 1] (B²). Measured
/// counts to 1e-6 against DESIGN.md §3: Jacobi 186 / 5036 and Chebyshev 35 / 186 within
/// 25%; CG at or below its bound 35 / 186; relaxation near its predicted ≈ 6000 on B².
#[test]
fn periodic_iteration_counts_match_theory() {
    let shape = [16, 16, 16];
    let b = theory::bspline_bounds(shape, [Periodic; 3]);
    let a = (b.0 * b.0, b.1 * b.1);
    let within = |got: usize, want: f64, what: &str| {
        let r = got as f64 / want;
        assert!(
            (0.75..=1.25).contains(&r),
            "{what}: measured {got}, theory {want}"
        );
    };
    use Formulation::*;
    let w = extreme_modes(shape);
    within(
        iterations_on(&w, Method::Jacobi, Interpolate),
        theory::richardson_iterations(b, 1e-6).unwrap(),
        "jacobi B",
    );
    within(
        iterations_on(&w, Method::Chebyshev, Interpolate),
        theory::chebyshev_iterations(b, 1e-6).unwrap(),
        "chebyshev B",
    );
    // On a random field they need fewer (the theory is the worst case).
    assert!(iterations(Method::Jacobi, Interpolate, shape) <= 186);
    let cg = iterations(Method::Cg, Interpolate, shape);
    assert!(cg as f64 <= 35.0, "cg B: {cg}");
    within(
        iterations_on(&w, Method::Chebyshev, NormalEquations),
        186.0,
        "chebyshev B2",
    );
    let cg2 = iterations(Method::Cg, NormalEquations, shape);
    assert!(cg2 as f64 <= 186.0, "cg B2: {cg2}");
    within(
        iterations_on(&w, Method::Jacobi, NormalEquations),
        5036.0,
        "jacobi B2",
    );
    let lf = theory::leapfrog_iterations(a, 0.5, 0.15, 1e-6).unwrap();
    within(
        iterations_on(&w, Method::Relaxation, NormalEquations),
        lf,
        "relaxation B2",
    );
    // PCG with the 5³ SPAI stencil: at least 3× fewer iterations than CG.
    let p5 = iterations(Method::Pcg5, Interpolate, shape);
    assert!(3 * p5 <= cg, "pcg5 {p5} vs cg {cg}");
    let p5n = iterations(Method::Pcg5, NormalEquations, shape);
    assert!(3 * p5n <= cg2, "pcg5 B2 {p5n} vs cg B2 {cg2}");
}

/// Unweighted Jacobi (ω = 1) diverges on both systems (ρ = 2.375 and 7) and says so.
#[test]
fn unweighted_jacobi_is_reported_divergent() {
    let f = field([8, 8, 8], 3);
    for form in [Formulation::Interpolate, Formulation::NormalEquations] {
        let mut o = opts(Method::Jacobi, form, 1e-6);
        o.omega = Some(1.0);
        match solve(f.view(), [Periodic; 3], &o) {
            Err(FitError::Diverged {
                solver,
                iteration,
                residual,
            }) => {
                assert_eq!(solver, "jacobi");
                assert!(residual > 1e3 || residual.is_nan());
                assert!(iteration < 100, "{iteration}");
            }
            other => panic!("{form:?}: {other:?}"),
        }
    }
}

#[test]
fn iteration_limit_is_reported() {
    let f = field([8, 8, 8], 4);
    let mut o = opts(Method::Jacobi, Formulation::NormalEquations, 1e-10);
    o.common.max_iter = 50;
    match solve(f.view(), [Periodic; 3], &o) {
        Err(FitError::NoConvergence {
            iterations,
            residual,
            tolerance,
            ..
        }) => {
            assert_eq!(iterations, 50);
            assert!(residual > tolerance && residual < 1.0);
        }
        other => panic!("{other:?}"),
    }
    let mut o = opts(Method::Cg, Formulation::Interpolate, 1e-6);
    o.common.check_every = 0;
    assert!(matches!(
        solve(f.view(), [Periodic; 3], &o),
        Err(FitError::InvalidParameter { .. })
    ));
}

/// Checking only every k iterations (as a GPU backend would) changes nothing but the
/// granularity of the count.
#[test]
fn sparse_checks() {
    let f = field([10, 12, 8], 5);
    let (c1, r1) = solve(
        f.view(),
        [Periodic, Zero, Mirror],
        &opts(Method::Cg, Formulation::Interpolate, 1e-8),
    )
    .unwrap();
    let mut o = opts(Method::Cg, Formulation::Interpolate, 1e-8);
    o.common.check_every = 10;
    let (c10, r10) = solve(f.view(), [Periodic, Zero, Mirror], &o).unwrap();
    assert_eq!(r10.info.iterations % 10, 0);
    assert!(
        r10.info.iterations >= r1.info.iterations && r10.info.iterations < r1.info.iterations + 10
    );
    let d = c1
        .iter()
        .zip(c10.iter())
        .map(|(a, b)| (a - b).powi(2))
        .sum::<f64>()
        .sqrt();
    let n = c1.iter().map(|a| a * a).sum::<f64>().sqrt();
    assert!(d / n < 1e-6, "{}", d / n);
}

/// f32 solves agree with f64 to f32 precision (tolerance above the f32 floor ~1e-7).
#[test]
fn f32_agrees_with_f64() {
    let f = field([9, 8, 7], 6);
    let f32v = f.mapv(|v| v as f32);
    let bc: [Boundary; 3] = [Mirror, Periodic, Zero];
    let exact = prefilter(f.view(), bc).unwrap();
    let norm = exact.iter().map(|v| v * v).sum::<f64>().sqrt();
    for m in [Method::Chebyshev, Method::Cg, Method::Pcg5, Method::Direct] {
        let mut o = SolveOptions::new(m, Formulation::Interpolate);
        o.common.tol = 1e-5;
        let (c, rep) = solve(f32v.view(), bc, &o).unwrap();
        assert!(rep.data_residual < 2e-5, "{m:?}: {}", rep.data_residual);
        // ‖c − c*‖ ≤ ‖B⁻¹‖ ‖F − B c‖ ≤ 27 · 1e-5 ‖F‖, and ‖F‖ ≤ ‖c*‖.
        let err = c
            .iter()
            .zip(exact.iter())
            .map(|(a, b)| (*a as f64 - b).powi(2))
            .sum::<f64>()
            .sqrt();
        assert!(err / norm < 3e-4, "{m:?}: {}", err / norm);
    }
}
