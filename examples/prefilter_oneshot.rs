//! The 3D prefilter through the one-shot API vs a reused plan:
//! `cargo run --release --example prefilter_oneshot [-- 128]`.

use bsfit::Par;
use bsfit::grid3::direct::DirectPlan;
use bsfit::grid3::{Boundary, prefilter};
use bsfit_testkit::workloads::grid3_field;
use ndarray::ArrayView3;
use std::time::Instant;

fn median(mut f: impl FnMut(), reps: usize) -> f64 {
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

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map_or(128, |s| s.parse().expect("n"));
    let f = grid3_field(n * n * n, 1);
    let v = ArrayView3::from_shape((n, n, n), &f).unwrap();
    let bc = [Boundary::Periodic; 3];
    let t = Instant::now();
    let c = prefilter(v, bc).unwrap();
    println!(
        "{n}^3 f64 periodic, {} threads",
        rayon::current_num_threads()
    );
    println!(
        "one-shot prefilter, first call  {:8.3} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    drop(c);
    let one = median(|| drop(std::hint::black_box(prefilter(v, bc).unwrap())), 21);
    println!("one-shot prefilter, repeated    {:8.3} ms", one * 1e3);
    let plan = DirectPlan::<f64>::new([n, n, n], bc, Par::auto());
    let mut out = vec![0.0; f.len()];
    let solve = median(|| plan.solve(&f, &mut out), 21);
    println!("DirectPlan::solve, reused       {:8.3} ms", solve * 1e3);
}
