//! Evaluation cost per degree: batches of 10⁶ random points on the 4D
//! 50×30×20×10 bench grid (`workloads::EVAL4D_SHAPE`), fitted with degree
//! 3 on every axis and with degree 5 on every axis, through the public API
//! (`eval_many_into`), on 1 and 2 threads, for every available ISA; prints
//! the median time per point of each and the ratio k = 5 / k = 3 (the bar:
//! at most 2.5). Run: `cargo bench --bench degrees`.
use bsfit::{Degree, Fitter, Isa, TensorSpline};
use bsfit_testkit::workloads;
use std::hint::black_box;
use std::time::{Duration, Instant};

mod common;

fn spline(k: Degree) -> TensorSpline<4> {
    let shape = workloads::EVAL4D_SHAPE;
    let ax = workloads::unit_axes(shape);
    let f = Fitter::with_degrees([&ax[0][..], &ax[1][..], &ax[2][..], &ax[3][..]], [k; 4])
        .expect("valid axes");
    let v = ndarray::Array4::from_shape_vec(
        (shape[0], shape[1], shape[2], shape[3]),
        workloads::grid_values(shape),
    )
    .expect("shape");
    f.fit(v.view()).expect("fit")
}

fn median(reps: usize, mut f: impl FnMut()) -> Duration {
    let mut t: Vec<Duration> = (0..reps)
        .map(|_| {
            let t0 = Instant::now();
            f();
            t0.elapsed()
        })
        .collect();
    t.sort();
    t[reps / 2]
}

fn main() {
    let n = 1_000_000;
    let pts: Vec<[f64; 4]> = workloads::unit_points(n);
    let s3 = spline(Degree::Cubic);
    let s5 = spline(Degree::Quintic);
    let mut out = vec![0.0; n];
    for threads in [1usize, 2] {
        let pool = common::pool(threads);
        for isa in Isa::available() {
            let a = s3.clone().with_isa(isa).expect("available");
            let b = s5.clone().with_isa(isa).expect("available");
            let mut ns = [0.0f64; 2];
            for (j, s) in [&a, &b].into_iter().enumerate() {
                pool.install(|| s.eval_many_into(&pts, &mut out).expect("lengths"));
                let t = median(7, || {
                    pool.install(|| {
                        s.eval_many_into(black_box(&pts), &mut out)
                            .expect("lengths")
                    })
                });
                ns[j] = t.as_secs_f64() * 1e9 / n as f64;
            }
            println!(
                "degrees/{isa:?}/{threads}t: k=3 {:.1} ns/point, k=5 {:.1} ns/point, ratio {:.2}",
                ns[0],
                ns[1],
                ns[1] / ns[0]
            );
        }
    }
}
