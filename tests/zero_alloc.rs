//! Refitting on a fixed grid with a sized [`Workspace`] performs no heap
//! allocation, and neither do the 3D direct solve, the stencil operator and
//! the iterations of an iterative solver, nor batch evaluation on ndarray
//! views of any layout: counted by a global allocator that wraps the system
//! one.

use bsfit::grid3::backend::Residual;
use bsfit::grid3::cpu::CpuOps;
use bsfit::grid3::direct::DirectPlan;
use bsfit::grid3::operator::StencilOp;
use bsfit::grid3::solvers::{Common, cg};
use bsfit::grid3::{Boundary, StencilForm};
use bsfit::tensor::FitScheme;
use bsfit::{BoundaryCondition as Bc, EndCondition, Extrapolate, FitError, Fitter, Par, Workspace};
use ndarray::{Array1, Array2, ShapeBuilder, s};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::SeqCst);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(l) }
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::SeqCst);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::SeqCst);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(p, l, n) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn setup(par: Par) -> (Fitter<4>, Vec<f64>) {
    // 50×30×20×10 would do as well; this keeps the test fast in debug builds
    // while staying above the parallel threshold (2^14 points).
    let shape = [25usize, 16, 10, 6];
    let axes: Vec<Vec<f64>> = shape
        .iter()
        .map(|&n| (0..n).map(|i| (i as f64).powf(1.1)).collect())
        .collect();
    let f = Fitter::new([&axes[0][..], &axes[1][..], &axes[2][..], &axes[3][..]])
        .unwrap()
        .with_par(par);
    let total: usize = shape.iter().product();
    let v = (0..total).map(|i| ((i * 31) % 97) as f64 * 0.01).collect();
    (f, v)
}

/// Allocations made by `n` refits after warm-up refits.
fn count_refits(f: &Fitter<4>, v: &[f64], n: usize) -> usize {
    let mut out = vec![0.0; v.len()];
    let mut ws = f.workspace();
    // Warm-up: besides sizing, lets every worker thread make its one-time
    // registration with crossbeam's epoch GC (a thread-local handle,
    // allocated on a thread's first steal).
    for _ in 0..20 {
        f.fit_into_with(v, &mut out, &mut ws).unwrap();
    }
    let before = ALLOCS.load(Ordering::SeqCst);
    for _ in 0..n {
        f.fit_into_with(v, &mut out, &mut ws).unwrap();
    }
    ALLOCS.load(Ordering::SeqCst) - before
}

/// Allocations made by `n` refits of a fitter with every boundary
/// condition (natural, periodic, clamped, explicit second derivatives on
/// the last axis) under `scheme`.
fn count_bc_refits(par: Par, scheme: FitScheme, n: usize) -> usize {
    let shape = [25usize, 16, 10, 6];
    let axes: Vec<Vec<f64>> = shape
        .iter()
        .map(|&n| (0..n).map(|i| (i as f64).powf(1.1)).collect())
        .collect();
    let d2 = Bc::ends(EndCondition::Derivative { order: 2 }, EndCondition::Natural);
    let f = Fitter::with_boundary(
        [&axes[0][..], &axes[1][..], &axes[2][..], &axes[3][..]],
        [Bc::NATURAL, Bc::PERIODIC, Bc::CLAMPED, d2],
    )
    .unwrap()
    .with_par(par)
    .with_scheme(scheme);
    let total: usize = shape.iter().product();
    let mut v: Vec<f64> = (0..total).map(|i| ((i * 31) % 97) as f64 * 0.01).collect();
    // Equal ends on the periodic axis 1.
    let inner = 10 * 6;
    for o in 0..25 {
        for j in 0..inner {
            v[(o * 16 + 15) * inner + j] = v[o * 16 * inner + j];
        }
    }
    let left: Vec<f64> = (0..25 * 16 * 10).map(|i| (i % 7) as f64).collect();
    let mut out = vec![0.0; f.coef_shape().iter().product()];
    let mut ws = f.workspace();
    count(n, || {
        f.fit_into_ends(&v, [&left, &[]], &mut out, &mut ws)
            .unwrap();
    })
}

/// Allocations made by `n` calls of `f` after 20 warm-up calls.
fn count(n: usize, mut f: impl FnMut()) -> usize {
    for _ in 0..20 {
        f();
    }
    let before = ALLOCS.load(Ordering::SeqCst);
    for _ in 0..n {
        f();
    }
    ALLOCS.load(Ordering::SeqCst) - before
}

/// The 3D path with `par`: direct solve, both stencil forms, and an
/// iterative solve whose allocations must not depend on its iteration count.
fn grid3_counts(par: Par) -> [usize; 4] {
    let shape = [40usize, 36, 30];
    let bc = [Boundary::Periodic, Boundary::Mirror, Boundary::Zero];
    let len: usize = shape.iter().product();
    let f: Vec<f64> = (0..len).map(|i| ((i * 37) % 101) as f64 * 0.01).collect();
    let mut c = vec![0.0; len];
    let plan = DirectPlan::<f64>::new(shape, bc, par);
    let mut ws = Workspace::with_scratch(plan.scratch());
    let direct = count(10, || plan.solve_with(&f, &mut c, &mut ws));
    let mut applies = [0usize; 2];
    for (k, form) in [StencilForm::Separable, StencilForm::Direct]
        .into_iter()
        .enumerate()
    {
        let op = StencilOp::<f64>::bspline(shape, bc, false, form, par);
        let mut ws = Workspace::with_scratch(op.scratch());
        applies[k] = count(10, || op.apply_with(&f, &mut c, &mut ws));
    }
    // CG stopped by its iteration limit (tolerance unreachable): 5 and 25
    // iterations must allocate the same (the vectors, before the loop).
    let ops = CpuOps::<f64>::new(shape, par);
    let op = StencilOp::<f64>::bspline(shape, bc, true, StencilForm::Separable, par);
    let b = f.clone();
    let solve_allocs = |iters: usize| {
        let mut params = cg::Params::default();
        params.common = Common {
            tol: 1e-300,
            max_iter: iters,
            ..Common::default()
        };
        let mut x = vec![0.0; len];
        let before = ALLOCS.load(Ordering::SeqCst);
        let r = cg::solve(&ops, &op, None, &b, &mut x, &Residual::System, &params);
        let n = ALLOCS.load(Ordering::SeqCst) - before;
        assert!(matches!(r, Err(FitError::NoConvergence { .. })), "{r:?}");
        n
    };
    solve_allocs(5);
    let iter_allocs = solve_allocs(25).abs_diff(solve_allocs(5));
    [direct, applies[0], applies[1], iter_allocs]
}

/// Allocations of the view-based batch calls (`eval_into`,
/// `eval_deriv_into`, `eval_grad_into`) on C-order, F-order and strided
/// points, 5000 points (parallel), under every extrapolation policy: the
/// request's output list and, for outputs that are not contiguous, one
/// result buffer per call; nothing per point.
fn eval_view_counts() -> usize {
    let (f, v) = setup(Par::Seq);
    let base = f
        .fit(ndarray::ArrayView4::from_shape((25, 16, 10, 6), &v).unwrap())
        .unwrap();
    let n = 5000;
    let c = Array2::from_shape_fn((n, 4), |(i, k)| ((i * 7 + k * 13) % 101) as f64 * 0.3 - 2.0);
    let fo = Array2::from_shape_fn((n, 4).f(), |(i, k)| c[[i, k]]);
    let mut big = Array2::zeros((n, 8));
    big.slice_mut(s![.., ..;2]).assign(&c);
    let mut out = Array1::zeros(n);
    let mut grad = Array2::zeros((n, 4).f());
    let mut total = 0;
    for policy in [
        Extrapolate::Polynomial,
        Extrapolate::Clamp,
        Extrapolate::Nan,
    ] {
        let sp = base.clone().with_extrapolate(policy);
        for p in [c.view(), fo.view(), big.slice(s![.., ..;2])] {
            total += count(5, || {
                sp.eval_into(p, out.view_mut()).unwrap();
                sp.eval_deriv_into(p, [1, 0, 2, 0], out.slice_mut(s![..;-1]))
                    .unwrap();
                sp.eval_grad_into(p, grad.view_mut()).unwrap();
            });
        }
    }
    total
}

/// Runs without the libtest harness (`harness = false`): the counter is
/// global, and the harness's own threads allocate while tests run.
fn main() {
    // `Fitter::new` asks rayon for its thread count, which starts the global
    // pool; its threads make one-time registrations (crossbeam's epoch
    // handle) when they first look for work. Let that finish before counting.
    rayon::broadcast(|_| ());
    std::thread::sleep(std::time::Duration::from_millis(100));
    let (f, v) = setup(Par::Seq);
    assert_eq!(count_refits(&f, &v, 20), 0, "sequential");
    for scheme in [FitScheme::Rotate, FitScheme::InPlace, FitScheme::Blocked] {
        assert_eq!(
            count_bc_refits(Par::Seq, scheme, 20),
            0,
            "boundary conditions, {scheme:?}"
        );
    }
    assert_eq!(grid3_counts(Par::Seq), [0; 4], "grid3, sequential");

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    pool.broadcast(|_| ());
    std::thread::sleep(std::time::Duration::from_millis(100));
    let (f, v) = setup(Par::with_threads(2));
    let n = pool.install(|| count_refits(&f, &v, 200));
    assert_eq!(n, 0, "two workers, called inside the pool");
    for scheme in [FitScheme::Rotate, FitScheme::InPlace, FitScheme::Blocked] {
        let n = pool.install(|| count_bc_refits(Par::with_threads(2), scheme, 100));
        assert_eq!(n, 0, "boundary conditions, {scheme:?}, two workers");
    }
    let g = pool.install(|| grid3_counts(Par::with_threads(2)));
    assert_eq!(
        g, [0; 4],
        "grid3 [direct, separable, 27-point, per CG iteration], two workers"
    );
    // 3 policies × 3 layouts × 5 repetitions × 3 calls, each a bounded
    // number of allocations whatever the number of points.
    let e = pool.install(eval_view_counts);
    let calls = 3 * 3 * 5 * 3;
    assert!(
        e <= 12 * calls,
        "eval_into / eval_deriv_into / eval_grad_into, two workers: {e} allocations for {calls} calls"
    );

    // From outside the pool each fit hands one job to rayon's injector
    // queue, whose linked blocks of 63 slots cost one allocation per 63
    // jobs: amortised, not zero.
    let refits = 630;
    let n = count_refits(&f, &v, refits);
    assert!(
        n <= refits / 63 + 2,
        "{n} allocations in {refits} refits from outside the pool"
    );
    println!(
        "zero_alloc: ok (0 allocations per refit; {n} in {refits} refits called from outside the pool)"
    );
}
