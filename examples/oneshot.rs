//! One-shot fit vs refit, in this fresh process and after a pattern of
//! unrelated allocations: `cargo run --release --example oneshot [-- 50x30x20x10]`.

use bsfit::{Fitter, TensorSpline};
use bsfit_testkit::workloads::{grid_values, unit_axes};
use ndarray::ArrayView4;
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let shape: [usize; 4] = std::env::args()
        .nth(1)
        .map(|s| {
            let v: Vec<usize> = s.split('x').map(|p| p.parse().expect("NxNxNxN")).collect();
            [v[0], v[1], v[2], v[3]]
        })
        .unwrap_or([50, 30, 20, 10]);
    let axes = unit_axes(shape);
    let values = grid_values(shape);
    let view = ArrayView4::from_shape(shape, &values).unwrap();
    let ax = [&axes[0][..], &axes[1][..], &axes[2][..], &axes[3][..]];
    let reps = if values.len() > 1 << 22 { 7 } else { 51 };
    let t = Instant::now();
    let s = TensorSpline::fit(ax, view).unwrap();
    let first = t.elapsed().as_secs_f64();
    std::hint::black_box(&s);
    drop(s);
    let oneshot = |label: &str| {
        let t: Vec<f64> = (0..reps)
            .map(|_| {
                let t = Instant::now();
                let s = TensorSpline::fit(ax, view).unwrap();
                let e = t.elapsed().as_secs_f64();
                std::hint::black_box(&s);
                e
            })
            .collect();
        println!("{label:<34} {:8.3} ms", median(t) * 1e3);
    };
    println!("shape {shape:?}, {} threads", rayon::current_num_threads());
    println!("{:<34} {:8.3} ms", "one-shot, first call", first * 1e3);
    oneshot("one-shot, repeated");
    // Unrelated allocations of assorted sizes, some kept alive.
    let mut keep = Vec::new();
    for i in 0..2000usize {
        let v = vec![i as u8; 1 + (i * 7919) % (3 << 20)];
        if i % 7 == 0 {
            keep.push(v);
        }
    }
    oneshot("one-shot, after other allocations");
    std::hint::black_box(&keep);
    let f = Fitter::new(ax).unwrap();
    let mut out = vec![0.0; values.len()];
    let mut ws = f.workspace();
    let t: Vec<f64> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            f.fit_into_with(&values, &mut out, &mut ws).unwrap();
            t.elapsed().as_secs_f64()
        })
        .collect();
    println!(
        "{:<34} {:8.3} ms",
        "refit (plan + workspace)",
        median(t) * 1e3
    );
}
