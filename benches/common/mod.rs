//! Shared setup of the criterion benches: fitters and splines built on the
//! workloads of `bsfit_testkit::workloads` (the inputs `bsfit bench` measures
//! too), and pinned pools.
#![allow(dead_code)]

use bsfit::{Fitter, Isa, Par, TensorSpline};
use bsfit_testkit::workloads;

/// A fitter on the bench grid of `shape` with the given ISA and thread count.
pub fn fitter(shape: [usize; 4], isa: Isa, threads: usize) -> Fitter<4> {
    let ax = workloads::unit_axes(shape);
    Fitter::new([&ax[0][..], &ax[1][..], &ax[2][..], &ax[3][..]])
        .expect("valid axes")
        .with_par(Par::with_threads(threads))
        .with_isa(isa)
        .expect("available ISA")
}

/// The spline fitted to the bench values on `workloads::EVAL4D_SHAPE`.
pub fn eval_spline() -> TensorSpline<4> {
    let shape = workloads::EVAL4D_SHAPE;
    let f = fitter(shape, Isa::detect(), 1);
    let v = ndarray::Array4::from_shape_vec(
        (shape[0], shape[1], shape[2], shape[3]),
        workloads::grid_values(shape),
    )
    .expect("shape");
    f.fit(v.view()).expect("fit")
}

/// A rayon pool of `n` threads; with `BSFIT_PIN=1` each worker is pinned
/// to one core through `core_affinity`.
pub fn pool(n: usize) -> rayon::ThreadPool {
    let pin = std::env::var("BSFIT_PIN").is_ok_and(|v| v == "1");
    bsfit::par::thread_pool(n, pin).expect("thread pool")
}
